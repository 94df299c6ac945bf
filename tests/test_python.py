"""The Python module (python/siren, ctypes + numpy) against the library and
the CLI, at tiny sizes so the whole file runs in a few seconds.

What can fail: the ctypes structures against the C compiler's layout; fits
from a path and from arrays (uint8, float32 shared in place) against
`siren fit` bit for bit; renderings against `siren render` (.npy exactly,
.png to the 8-bit step); exact gradients against central differences of
the values and Laplacians against central differences of the gradients;
save/load round trips; views of library memory; progress callbacks that
stop training or raise; errors raised as SirenError with the library's
message naming the file; examples/fit_camera.py. Run with Debian's
/usr/bin/python3; skips when numpy is missing.
"""
import ctypes
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
CLI = os.path.join(BUILD, "siren")
LIB = os.path.join(BUILD, "libsiren.so")
CAMERA = os.path.join(ROOT, "data", "camera.png")
failed = 0


def report(ok, what):
    global failed
    print(("ok - " if ok else "not ok - ") + what)
    sys.stdout.flush()
    if not ok:
        failed += 1


try:
    import numpy as np
except ImportError:
    print("# skip tests/test_python.py: numpy is not installed (python3-numpy)")
    sys.exit(0)

# A sanitizer build's library needs its runtime loaded before Python's own
# libraries: run again with it preloaded (leak checks off: CPython keeps
# memory until exit by design).
if "asan" in os.path.basename(BUILD) and "LD_PRELOAD" not in os.environ:
    asan = subprocess.run(["cc", "-print-file-name=libasan.so"],
                          capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, LD_PRELOAD=asan,
               ASAN_OPTIONS="detect_leaks=0:" + os.environ.get("ASAN_OPTIONS", ""))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

if not os.path.exists(LIB):
    report(False, "%s exists (make shared)" % LIB)
    sys.exit(1)
os.environ["SIREN_LIB"] = LIB
sys.path.insert(0, os.path.join(ROOT, "python"))
import siren  # noqa: E402
from siren import _lib  # noqa: E402

report(os.path.realpath(siren.library_path) == os.path.realpath(LIB),
       "the module loads $SIREN_LIB (%s)" % siren.library_path)

tmp = tempfile.TemporaryDirectory()
T = tmp.name
TINY = dict(size=(32, 32), steps=20, hidden=32, threads=1)


def cli(*args):
    return subprocess.run([CLI] + [str(a) for a in args], capture_output=True,
                          text=True)


def raises(exc, f, *a, **k):
    try:
        f(*a, **k)
    except exc as e:
        return e
    return None


# ------------------------------------------------------------ struct layout
# The compiler's sizeof/offsetof of every mirrored structure.
src = ['#include <stddef.h>', '#include <stdio.h>', '#include "siren.h"',
       'int main(void) {']
for s in _lib.STRUCTS:
    n = s.__name__
    src.append('printf("%s %%zu\\n", sizeof(%s));' % (n, n))
    for f, _ in s._fields_:
        src.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (n, f, n, f))
src.append("return 0; }")
with open(os.path.join(T, "layout.c"), "w") as f:
    f.write("\n".join(src))
exe = os.path.join(T, "layout")
r = subprocess.run(["cc", "-std=c11", "-I", os.path.join(ROOT, "include"), "-o",
                    exe, os.path.join(T, "layout.c")], capture_output=True,
                   text=True)
if r.returncode:
    report(False, "layout program compiles: " + r.stderr.strip()[:300])
else:
    c_layout = dict(line.split() for line in
                    subprocess.run([exe], capture_output=True,
                                   text=True).stdout.splitlines())
    py_layout = {}
    for s in _lib.STRUCTS:
        py_layout[s.__name__] = str(ctypes.sizeof(s))
        for f, _ in s._fields_:
            py_layout["%s.%s" % (s.__name__, f)] = str(getattr(s, f).offset)
    bad = [k for k in c_layout if py_layout.get(k) != c_layout[k]]
    report(not bad and len(c_layout) == len(py_layout),
           "ctypes structures match the C layout (%d sizes and offsets)%s"
           % (len(c_layout), "; differ: %s" % bad if bad else ""))

# ----------------------------------------------------------------- fitting
m = siren.fit(CAMERA, **TINY)
c = m.config
report(m.result["steps"] == 20 and m.result["task"] == "image" and
       np.isfinite(m.result["psnr_db"]) and m.result["loss"] > 0,
       "fit(path): 20 steps, finite PSNR (%.2f dB)" % m.result["psnr_db"])
report(c == {"in_features": 2, "out_features": 1, "hidden_features": 32,
             "hidden_layers": 3, "first_omega_0": 30.0, "hidden_omega_0": 30.0,
             "activation": "sine"}, "Model.config %s" % c)
report(m.metadata.get("task") == "image" and m.size == (32, 32),
       "Model.metadata records the task and the size")
report(m.params.shape == (32 * 2 + 32 + 3 * (32 * 32 + 32) + 32 + 1,),
       "Model.params has every parameter")

# The same options as `siren fit` give the same model, bit for bit.
cli_model = os.path.join(T, "cli.safetensors")
r = cli("fit", "image", CAMERA, "--size", "32x32", "--steps", 20, "--hidden", 32,
        "--threads", 1, "--json", "--quiet", "-o", cli_model)
js = json.loads(r.stdout) if r.returncode == 0 else {}
mc = siren.load(cli_model) if r.returncode == 0 else None
report(mc is not None and np.array_equal(mc.params, m.params) and
       js.get("psnr_db") == m.result["psnr_db"] and js.get("loss") == m.result["loss"],
       "fit() and `siren fit` give the same parameters, loss and PSNR")

# Arrays: float32 read by the library, and uint8 of the same pixels.
full = siren.load_image(CAMERA)
report(full.shape == (512, 512) and full.dtype == np.float32 and
       not full.flags.owndata, "load_image: (512, 512) float32, the library's buffer")
m_f = siren.fit(full, **TINY)
u8 = np.round(full * 255).astype(np.uint8)
m_u = siren.fit(u8, **TINY)
report(np.array_equal(m_f.params, m.params) and np.array_equal(m_u.params, m.params),
       "fit(float32 array) and fit(uint8 array) equal fit(path)")
small = siren.load_image(CAMERA, size=(32, 32))
im = siren._Image(small)
report(ctypes.cast(im.c.data, ctypes.c_void_p).value == small.ctypes.data, "a C-contiguous float32 array is passed without a copy")
im.free()
m_64 = siren.fit(small.astype(np.float64), size=None, steps=20, hidden=32, threads=1)
report(np.array_equal(m_64.params, m.params),
       "a float64 array is converted (same model)")

rgb = np.stack([small, small[::-1], small[:, ::-1]], axis=-1)
m_rgb = siren.fit(rgb, steps=10, hidden=16, threads=1)
r_rgb = m_rgb.render()
report(m_rgb.config["out_features"] == 3 and r_rgb.shape == (32, 32, 3),
       "RGB: 3 outputs, render (32, 32, 3)")

# ---------------------------------------------------------------- rendering
img = m.render((64, 64))
report(img.shape == (64, 64) and img.dtype == np.float32 and
       0 <= img.min() and img.max() <= 1 and not img.flags.owndata and
       isinstance(img.base, siren._CBuffer),
       "render((64, 64)): (64, 64) float32 in [0, 1], the library's buffer")
report(m.render().shape == (32, 32) and m.render("48x16").shape == (16, 48),
       "render() at the fitted size; size as 'WxH' is (width, height)")
g64 = siren.grid((64, 64))
vals = m.values(g64)
report(vals.shape == (64, 64, 1) and np.array_equal(vals, m.render_values((64, 64))),
       "values(grid) equals render_values bit for bit")
report(np.abs(np.clip((vals[..., 0] + 1) / 2, 0, 1) - img).max() < 1e-6,
       "render is the values mapped to [0, 1]")
npy, png = os.path.join(T, "r.npy"), os.path.join(T, "r.png")
r1 = cli("render", cli_model, "-o", npy, "--size", "64x64")
r2 = cli("render", cli_model, "-o", png, "--size", "64x64")
ok = r1.returncode == 0 and r2.returncode == 0
report(ok and np.array_equal(np.load(npy), vals),
       "render_values equals `siren render -o x.npy` exactly")
if ok:
    d = np.abs(siren.load_image(png) - img).max()
    report(d <= 0.5 / 255 + 1e-6, "render equals `siren render -o x.png` to the "
           "8-bit step (max diff %.2g)" % d)
else:
    report(False, "siren render: " + r1.stderr + r2.stderr)
out_png = os.path.join(T, "mine.png")
siren.save_png(out_png, img)
back = siren.load_image(out_png)
report(back.shape == (64, 64) and np.abs(back - img).max() <= 0.5 / 255 + 1e-6,
       "save_png / load_image round trip")

# -------------------------------------------------------------- derivatives
rng = np.random.default_rng(1)
x = rng.uniform(-0.9, 0.9, (64, 2)).astype(np.float32)
y, g, d2, lp = m.derivatives(x)
# One jet pass for everything, or only what is asked: the same numbers up to
# float32 rounding (the passes order their sums differently).
report(g.shape == (64, 1, 2) and lp.shape == (64, 1) and
       np.allclose(m.grad(x), g, rtol=1e-5, atol=1e-6 * np.abs(g).max()) and
       np.allclose(m.laplacian(x), lp, rtol=1e-5, atol=1e-6 * np.abs(lp).max()) and
       np.allclose(m.values(x), y, rtol=1e-5, atol=1e-6),
       "grad (n, m, d), laplacian (n, m), derivatives() agree")
h = 1e-3
fd = np.empty_like(g)
fdl = np.zeros_like(lp)
for j in range(2):
    xp, xm = x.astype(np.float64), x.astype(np.float64)
    xp[:, j] += h
    xm[:, j] -= h
    xp, xm = xp.astype(np.float32), xm.astype(np.float32)
    step = (xp[:, j] - xm[:, j])[:, None]
    fd[:, :, j] = (m.values(xp) - m.values(xm)) / step
    fdl += (m.grad(xp)[:, :, j] - m.grad(xm)[:, :, j]) / step
eg = np.abs(fd - g).max() / np.abs(g).max()
el = np.abs(fdl - lp).max() / np.abs(lp).max()
report(eg < 5e-3, "grad against central differences of values "
       "(max error %.1e of max |grad|)" % eg)
report(el < 5e-3, "laplacian against central differences of grad "
       "(max error %.1e of max |laplacian|)" % el)
report(np.abs(d2.sum(-1) - lp).max() <= 1e-5 * np.abs(lp).max(),
       "laplacian is the sum of the per-axis second derivatives")
gv, gg, gl = m.render_derivatives((16, 16))
g16 = siren.grid((16, 16))
report(np.array_equal(gg, m.grad(g16)) and np.array_equal(gl, m.laplacian(g16)),
       "render_derivatives equals grad/laplacian on the grid")
report(m.values(np.zeros(2, np.float32)).shape == (1,) and
       m.grad(np.zeros((0, 2))).shape == (0, 1, 2),
       "a single point and zero points")

# --------------------------------------------------------- save and load
path = os.path.join(T, "m.safetensors")
m.save(path)
m2 = siren.load(path)
report(m2.config == m.config and m2.metadata == m.metadata and
       np.array_equal(m2.params, m.params) and
       np.array_equal(m2.values(x), m.values(x)) and
       np.array_equal(m2.render((64, 64)), img) and m2.result is None,
       "save/load round trip: config, metadata, parameters, values, rendering")
r = cli("info", path, "--json")
report(r.returncode == 0 and json.loads(r.stdout)["params"] == m.params.size,
       "`siren info` reads a model saved from Python")

p = m2.params
p[-1] += 0.5  # the output bias: every value moves by 0.5
report(np.allclose(m2.values(x), m.values(x) + 0.5, atol=1e-5),
       "Model.params is a writable view of the model")
del m2
report(np.isfinite(p).all() and p.base._owner is not None,
       "a params view keeps its model alive")
del p

# ---------------------------------------------------- Poisson tasks
mg = siren.fit(small, task="grad", steps=20, hidden=32, omega0=10, threads=1)
rg = mg.render()
report(mg.metadata.get("task") == "grad" and rg.shape == (32, 32) and
       np.isfinite(mg.result["psnr_db"]) and 0 <= rg.min() and rg.max() <= 1,
       "fit(task='grad'): a reconstruction (%.1f dB)" % mg.result["psnr_db"])
gpath = os.path.join(T, "g.safetensors")
r = cli("fit", "grad", CAMERA, "--size", "32x32", "--steps", 20, "--hidden", 32,
        "--omega0", 10, "--threads", 1, "--quiet", "-o", gpath)
report(r.returncode == 0 and np.array_equal(siren.load(gpath).params, mg.params),
       "fit(task='grad') equals `siren fit grad`")
ml = siren.fit(small, task="lapl", steps=10, hidden=32, omega0=10, threads=1)
report(ml.metadata.get("task") == "lapl" and ml.render().shape == (32, 32),
       "fit(task='lapl')")
mk = siren.fit(small, task="compose", b=small[::-1], steps=5, hidden=16,
               omega0=10, threads=1)
report(mk.metadata.get("task") == "compose" and np.isnan(mk.result["psnr_db"]),
       "fit(task='compose', b=...)")

# ------------------------------------------------------------- progress
seen = []
m3 = siren.fit(small, steps=7, hidden=16, threads=1,
               progress=lambda p: seen.append(p) and False)
report([p.step for p in seen] == list(range(1, 8)) and
       all(p.steps == 7 and p.loss > 0 and p.seconds >= 0 for p in seen) and
       seen[-1].loss == m3.result["loss"],
       "progress is called after every step with step, steps, loss")
m4 = siren.fit(small, steps=50, hidden=16, threads=1,
               progress=lambda p: p.step >= 5)
report(m4.result["steps"] == 5, "progress returning True stops training "
       "(%d steps)" % m4.result["steps"])
calls = []


def boom(p):
    calls.append(p.step)
    if p.step == 3:
        raise KeyError("from the callback")


e = raises(KeyError, siren.fit, small, steps=50, hidden=16, threads=1, progress=boom)
report(e is not None and calls == [1, 2, 3],
       "an exception in progress stops training and propagates")

# ------------------------------------------------------------- precision
if "avx512_bf16" in open("/proc/cpuinfo").read().split():
    mb = siren.fit(small, steps=30, hidden=32, threads=1, precision="bf16")
    mf = siren.fit(small, steps=30, hidden=32, threads=1)
    report(abs(mb.result["psnr_db"] - mf.result["psnr_db"]) < 0.5 and
           mb.result["loss"] != mf.result["loss"],
           "fit(precision='bf16') trains with other arithmetic to fp32's PSNR "
           "(%.2f vs %.2f dB)" % (mb.result["psnr_db"], mf.result["psnr_db"]))
else:
    print("ok - fit(precision='bf16') # SKIP no AVX512_BF16 on this CPU")
report(raises(ValueError, siren.fit, small, steps=1, precision="fp16") is not None,
       "fit(precision='fp16') is a ValueError")

# ---------------------------------------------------------------- errors
missing = os.path.join(T, "missing.png")
e = raises(siren.SirenError, siren.fit, missing, steps=1)
report(e is not None and missing in str(e) and e.status_name == "SIREN_EIO",
       "fit(missing file) raises SirenError naming it: %s" % e)
e = raises(siren.SirenError, siren.load, os.path.join(T, "none.safetensors"))
report(e is not None and "none.safetensors" in str(e), "load(missing): %s" % e)
e = raises(siren.SirenError, siren.load, CAMERA)
report(e is not None and "camera.png" in str(e) and e.status != 0,
       "load(not a model): %s" % e)
bad = os.path.join(T, "bad.png")
with open(bad, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 10)
e = raises(siren.SirenError, siren.fit, bad, steps=1)
report(e is not None and "bad.png" in str(e), "fit(truncated PNG): %s" % e)
e = raises(siren.SirenError, m.save, os.path.join(T, "no", "dir", "m.safetensors"))
report(e is not None and "m.safetensors" in str(e), "save(bad path): %s" % e)
e = raises(siren.SirenError, m.render, (0, 10))
report(e is not None and e.status_name == "SIREN_EINVAL", "render((0, 10)): %s" % e)
e = raises(siren.SirenError, siren.fit, small, steps=1, hidden=0)
report(e is not None, "fit(hidden=0): %s" % e)
report(raises(ValueError, m.values, np.zeros((4, 3))) is not None and
       raises(ValueError, siren.fit, small, task="audio") is not None and
       raises(ValueError, siren.fit, np.zeros((4, 4, 2))) is not None and
       raises(TypeError, siren.fit, np.zeros((4, 4), np.int32)) is not None,
       "bad shapes, dtypes and tasks raise ValueError/TypeError")

# ----------------------------------------------------------------- example
env = dict(os.environ, STEPS="20", SIZE="32", HIDDEN="32", OUT=T,
           PYTHONPATH=os.path.join(ROOT, "python"))
r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "fit_camera.py")],
                   capture_output=True, text=True, env=env, cwd=T)
ok = r.returncode == 0 and os.path.exists(os.path.join(T, "camera_2x.png"))
report(ok and siren.load_image(os.path.join(T, "camera_2x.png")).shape == (64, 64),
       "examples/fit_camera.py writes the model rendered at twice the size%s"
       % ("" if ok else ": " + r.stderr[-500:]))

sys.exit(1 if failed else 0)

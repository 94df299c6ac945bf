#!/bin/sh
# siren render --what value|dx|dy|grad|gradmag|lapl|all (CLI.md): .npy shapes;
# dx, dy, grad and gradmag consistent with each other; the exact derivatives
# against finite differences of the rendered values; the .png pictures
# (sizes, the documented scaling, the value | gradmag | lapl panel); RGB
# models; and the bad command lines and inputs (exit 2 / exit 1, no output).
. "$(dirname "$0")/lib.sh"

# Renders run on one thread: the grids are small, and on a loaded machine
# OpenMP's spinning threads can make them many times slower; one check below
# compares with two threads.
render() { # render NAME ARGS...: a render that must succeed
    name=$1; shift
    if $S render "$@" --threads 1 2>"$T/render.err"; then ok "$name"
    else notok "$name: $(head -c 300 "$T/render.err")"; fi
}

check "render --help exits 0 and explains every --what" sh -c "
    $S render --help >'$T/help' &&
    for w in value dx dy grad gradmag lapl all --size --threads --output 'd/dcol' 'd/drow' 99.5; do
        grep -q -- \"\$w\" '$T/help' || exit 1; done"

M=$T/m.safetensors
$S fit image data/camera.png --size 32x32 --steps 30 --hidden 32 --layers 2 -o "$M" --quiet --threads 1
check "a tiny model to render" test -s "$M"

# Exact .npy maps on a grid fine enough for finite differences; W != H so a
# swapped axis or step shows.
W=448 H=512
for w in value dx dy grad gradmag lapl; do
    render "--what $w to .npy" "$M" -o "$T/$w.npy" --what $w --size ${W}x$H
done

# Pictures small enough to compare pixel by pixel, with their .npy maps.
PW=96 PH=64
for w in value dx dy grad gradmag lapl all; do
    render "--what $w to .png" "$M" -o "$T/p_$w.png" --what $w --size ${PW}x$PH
done
for w in value dx dy grad gradmag lapl; do
    $S render "$M" -o "$T/p_$w.npy" --what $w --size ${PW}x$PH --threads 1
done
# Two threads give the same maps (several blocks of points).
for w in grad lapl; do
    $S render "$M" -o "$T/t2_$w.npy" --what $w --size 200x150 --threads 2 &&
        ok "--what $w with 2 threads" || notok "--what $w with 2 threads"
    $S render "$M" -o "$T/t1_$w.npy" --what $w --size 200x150 --threads 1
done

# An RGB model: three outputs; derivative pictures show their mean.
$PY -c "
import numpy as np; from PIL import Image
y, x = np.mgrid[0:16, 0:16] / 15.0
Image.fromarray((np.stack([x, y, 0.5 + 0.4 * np.sin(6 * x * y)], -1) * 255).astype(np.uint8)).save('$T/rgb.png')"
$S fit image "$T/rgb.png" --steps 5 --hidden 16 --layers 1 -o "$T/rgb.safetensors" --quiet --threads 1
render "RGB model: --what grad to .npy" "$T/rgb.safetensors" -o "$T/rgb_grad.npy" --what grad --size 20x10
render "RGB model: --what gradmag to .npy" "$T/rgb.safetensors" -o "$T/rgb_mag.npy" --what gradmag --size 20x10
render "RGB model: --what dx to .png" "$T/rgb.safetensors" -o "$T/rgb_dx.png" --what dx --size 20x10
render "RGB model: --what gradmag to .png" "$T/rgb.safetensors" -o "$T/rgb_mag.png" --what gradmag --size 20x10
$S render "$T/rgb.safetensors" -o "$T/rgb_lapl.png" --what lapl --size 20x10 --threads 1
render "RGB model: --what all to .png" "$T/rgb.safetensors" -o "$T/rgb_all.png" --what all --size 20x10
$S render "$T/rgb.safetensors" -o "$T/rgb_value.png" --size 20x10 --threads 1

$PY - "$T" "$W" "$H" "$PW" "$PH" <<'PYEOF'
import sys, traceback
import numpy as np
from PIL import Image
T, W, H, PW, PH = sys.argv[1], *map(int, sys.argv[2:])

def check(name, fn):
    try:
        res = fn()
        good, info = res if isinstance(res, tuple) else (res, "")
    except Exception:
        good, info = False, traceback.format_exc().strip().splitlines()[-1]
    print(("ok - " if good else "not ok - ") + name + (f" ({info})" if info else ""))

npy = lambda w: np.load(f"{T}/{w}.npy")
png = lambda p: Image.open(f"{T}/{p}.png")

# Shapes and dtype.
shapes = {"value": (H, W, 1), "dx": (H, W, 1), "dy": (H, W, 1), "grad": (H, W, 1, 2),
          "gradmag": (H, W, 1), "lapl": (H, W, 1)}
for w, s in shapes.items():
    check(f".npy --what {w} is {s} float32",
          lambda w=w, s=s: (npy(w).shape == s and npy(w).dtype == np.float32,
                            f"got {npy(w).shape} {npy(w).dtype}"))

# dx = d/dcol = grad[..., 1], dy = d/drow = grad[..., 0], gradmag = |grad|.
check("dx == grad[..., 1] and dy == grad[..., 0]",
      lambda: np.array_equal(npy("dx"), npy("grad")[..., 1]) and
              np.array_equal(npy("dy"), npy("grad")[..., 0]))
def mag():
    e = np.abs(npy("gradmag") - np.sqrt(npy("dx") ** 2 + npy("dy") ** 2)).max()
    return e <= 1e-6 * np.abs(npy("gradmag")).max(), f"max error {e:.2e}"
check("gradmag == sqrt(dx^2 + dy^2)", mag)

# Finite differences of the rendered values (float64 arithmetic on the
# float32 values), grid steps 2/(H-1) down and 2/(W-1) across. The central
# difference's error is h^2/6 f''' — O(h^2): for this model it measured
# 1.3%, 0.34%, 0.085% of max |dy| at 256, 512, 1024 rows — so it is checked
# at 1.5% of the maximum. Richardson's (4 D(h) - D(2h)) / 3 cancels the h^2
# term, leaving O(h^4) (measured 7e-5 at 512 rows) and exposes a derivative
# off by a factor like (n-1)/n, which the plain difference cannot: checked
# at 1e-3. The 5-point Laplacian has the same O(h^2) error (0.35% at 512)
# plus float32 rounding of the values amplified by 8/h^2 (~1e-6 * 8 / h^2,
# a few tenths of a percent of max |lapl| here): 2% plain, 0.5% Richardson.
v = npy("value")[..., 0].astype(np.float64)
hr, hc = 2 / (H - 1), 2 / (W - 1)
def fd(exact, axis, h):
    d = npy(exact)[..., 0].astype(np.float64)
    a = np.moveaxis(v, axis, 0); d = np.moveaxis(d, axis, 0)
    d1 = (a[2:] - a[:-2]) / (2 * h)
    d2 = (a[4:] - a[:-4]) / (4 * h)
    rich = (4 * d1[1:-1] - d2) / 3
    m = np.abs(d).max()
    return np.abs(d1 - d[1:-1]).max() / m, np.abs(rich - d[2:-2]).max() / m
for name, axis, h in (("dy", 0, hr), ("dx", 1, hc)):
    e1, er = fd(name, axis, h)
    check(f"{name} matches the central difference of the values along "
          f"{'rows' if axis == 0 else 'columns'} (1.5% of max)",
          (lambda e1=e1: (e1 < 0.015, f"max error {100 * e1:.3f}% of max |{name}|")))
    check(f"{name} matches the Richardson-extrapolated difference (0.1% of max)",
          (lambda er=er: (er < 1e-3, f"max error {100 * er:.4f}% of max |{name}|")))
def lap5(a, k):
    c = a[k:-k, k:-k]
    return ((a[2 * k:, k:-k] - 2 * c + a[:-2 * k, k:-k]) / (k * hr) ** 2 +
            (a[k:-k, 2 * k:] - 2 * c + a[k:-k, :-2 * k]) / (k * hc) ** 2)
L = npy("lapl")[..., 0].astype(np.float64); mL = np.abs(L).max()
l1, l2 = lap5(v, 1), lap5(v, 2)
el = np.abs(l1 - L[1:-1, 1:-1]).max() / mL
elr = np.abs((4 * l1[1:-1, 1:-1] - l2) / 3 - L[2:-2, 2:-2]).max() / mL
check("lapl matches the 5-point Laplacian of the values (2% of max)",
      lambda: (el < 0.02, f"max error {100 * el:.3f}% of max |lapl|"))
check("lapl matches the Richardson-extrapolated 5-point Laplacian (0.5% of max)",
      lambda: (elr < 5e-3, f"max error {100 * elr:.4f}% of max |lapl|"))

for w in ("grad", "lapl"):
    def same(w=w):
        a, b = np.load(f"{T}/t1_{w}.npy"), np.load(f"{T}/t2_{w}.npy")
        e = np.abs(a - b).max() / np.abs(a).max()
        return a.shape == b.shape and e <= 1e-6, f"max difference {e:.1e} of max"
    check(f"{w} with 2 threads equals 1 thread's", same)

# Pictures: sizes, modes, and the documented scaling.
for w, mode in (("value", "L"), ("dx", "L"), ("dy", "L"), ("grad", "RGB"),
                ("gradmag", "L"), ("lapl", "L")):
    check(f".png --what {w} is {PW}x{PH} {mode}",
          lambda w=w, mode=mode: (png("p_" + w).size == (PW, PH) and png("p_" + w).mode == mode,
                                  f"got {png('p_' + w).size} {png('p_' + w).mode}"))
check(f".png --what all is {3 * PW + 8}x{PH} RGB",
      lambda: (png("p_all").size == (3 * PW + 8, PH) and png("p_all").mode == "RGB",
               f"got {png('p_all').size} {png('p_all').mode}"))
def px(name): return np.asarray(png(name)).astype(int)
def signed(x, s=None):
    s = s or np.percentile(np.abs(x), 99.5) or 1
    return np.rint(np.clip(0.5 + 0.5 * x / s, 0, 1) * 255).astype(int)
def close(a, b): e = np.abs(a - b).max(); return e <= 1, f"max difference {e} levels"
pn = lambda w: np.load(f"{T}/p_{w}.npy")
for w in ("dx", "dy", "lapl"):
    check(f".png {w}: 0 at 128, v / (99.5th percentile of |v|) over [-1, 1] to black..white",
          lambda w=w: close(px("p_" + w), signed(pn(w)[..., 0])))
def magpic(g): s = np.percentile(g, 99.5) or 1; return np.rint(np.clip(g / s, 0, 1) * 255).astype(int)
check(".png gradmag: 0 black, 99.5th percentile white",
      lambda: close(px("p_gradmag"), magpic(pn("gradmag")[..., 0])))
def gradpic(g):  # g (H, W, 2) [row, col] -> R = col, G = row, B = 128
    s = np.percentile(np.abs(g), 99.5) or 1
    return np.stack([signed(g[..., 1], s), signed(g[..., 0], s), np.full(g.shape[:2], 128)], -1)
check(".png grad: R = d/dcol, G = d/drow (one scale), B = 128",
      lambda: close(px("p_grad"), gradpic(pn("grad")[:, :, 0])))
def panel(name, value, mag, lapl, w):
    a = px(name); rgb = lambda x: x if x.ndim == 3 else np.repeat(x[..., None], 3, -1)
    gaps = np.concatenate([a[:, w:w + 4], a[:, 2 * w + 4:2 * w + 8]], 1)
    good = (np.array_equal(a[:, :w], rgb(px(value))) and (gaps == 255).all() and
            np.array_equal(a[:, w + 4:2 * w + 4], rgb(px(mag))) and
            np.array_equal(a[:, 2 * w + 8:], rgb(px(lapl))))
    return good
check(".png all: value | gradmag | lapl with 4-pixel white gaps",
      lambda: panel("p_all", "p_value", "p_gradmag", "p_lapl", PW))

# RGB model: grad (H, W, 3, 2); pictures of the mean over the outputs.
rg, rm = np.load(f"{T}/rgb_grad.npy"), np.load(f"{T}/rgb_mag.npy")
check("RGB model: grad .npy is (10, 20, 3, 2), gradmag (10, 20, 3)",
      lambda: (rg.shape == (10, 20, 3, 2) and rm.shape == (10, 20, 3), f"got {rg.shape} {rm.shape}"))
check("RGB model: dx .png is the mean over the 3 outputs",
      lambda: close(px("rgb_dx"), signed(rg[..., 1].mean(-1))))
check("RGB model: gradmag .png is the mean of the 3 outputs' magnitudes",
      lambda: close(px("rgb_mag"), magpic(rm.mean(-1))))
check("RGB model: all .png is 68x10 RGB: RGB value | gradmag | lapl",
      lambda: png("rgb_all").size == (68, 10) and png("rgb_all").mode == "RGB" and
              png("rgb_value").mode == "RGB" and
              panel("rgb_all", "rgb_value", "rgb_mag", "rgb_lapl", 20))
PYEOF

# A model with 3 inputs and one with 2 outputs, from the tiny model.
$PY - "$M" "$T" <<'PYEOF'
import json, struct, sys
import numpy as np
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
meta = h.pop("__metadata__")
t = {k: np.frombuffer(b, "<f4", int(np.prod(v["shape"])), 8 + n + v["data_offsets"][0]).reshape(v["shape"])
     for k, v in h.items()}
def save(path, meta, t):
    hdr, off, blobs = {"__metadata__": meta}, 0, []
    for k, a in t.items():
        raw = np.ascontiguousarray(a, "<f4").tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw); blobs.append(raw)
    hb = json.dumps(hdr).encode(); hb += b" " * (-len(hb) % 8)
    open(path, "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
rng = np.random.default_rng(0)
t3 = dict(t); t3["net.0.linear.weight"] = rng.uniform(-0.3, 0.3, (32, 3))
save(sys.argv[2] + "/in3.safetensors", dict(meta, in_features="3"), t3)
last = [k for k in t if k.endswith(".weight")][-1]
t2 = dict(t); t2[last] = rng.uniform(-0.1, 0.1, (2, 32)); t2[last[:-6] + "bias"] = np.zeros(2)
save(sys.argv[2] + "/out2.safetensors", dict(meta, out_features="2"), t2)
PYEOF
render "a 2-output model: --what lapl .png (mean over the outputs)" "$T/out2.safetensors" -o "$T/o2.png" --what lapl --size 8x8
render "a 2-output model: --what grad .npy" "$T/out2.safetensors" -o "$T/o2.npy" --what grad --size 8x6
check "a 2-output model: grad .npy is (6, 8, 2, 2)" $PY -c "import numpy as n,sys; sys.exit(0 if n.load(sys.argv[1]).shape==(6,8,2,2) else 1)" "$T/o2.npy"

# Bad command lines (exit 2) and inputs (exit 1); never an output file.
expect_fail "--what all to .npy" 2 .png "$T/x.npy" -- $S render "$M" -o "$T/x.npy" --what all
expect_fail "unknown --what" 2 --what "$T/x.png" -- $S render "$M" -o "$T/x.png" --what curl
expect_fail "--what without a value" 2 --what - -- $S render "$M" -o "$T/x.png" --what
expect_fail "--what all panel over the pixel limit" 2 --size "$T/x.png" -- $S render "$M" -o "$T/x.png" --what all --size 16384x16384
expect_fail "missing model" 1 nosuch.safetensors "$T/x.png" -- $S render "$T/nosuch.safetensors" -o "$T/x.png" --what lapl
expect_fail "missing model (.npy)" 1 nosuch.safetensors "$T/x.npy" -- $S render "$T/nosuch.safetensors" -o "$T/x.npy" --what grad
expect_fail "a model with 3 inputs" 1 in3.safetensors "$T/x.npy" -- $S render "$T/in3.safetensors" -o "$T/x.npy" --what dx
expect_fail "a 2-output model's values as a picture" 1 out2.safetensors "$T/x.png" -- $S render "$T/out2.safetensors" -o "$T/x.png" --what all
expect_fail "output directory missing" 1 nodir "$T/nodir/x.npy" -- $S render "$M" -o "$T/nodir/x.npy" --what gradmag --size 8x8
exit 0

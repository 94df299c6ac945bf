#!/bin/sh
# `siren spectrum`: the picture of an image's spectrum equals the one
# numpy's FFT gives under the documented mapping (log10 |F| over 6 decades,
# zero frequency in the middle), for a power-of-two size (our FFT) and
# another (our direct DFT); a cosine lands on its bin; a model fitted with
# --init-first tuner gets its band limit drawn and reported.
. "$(dirname "$0")/lib.sh"
"$PY" - "$T" "$S" <<'PYEOF'
import json, subprocess, sys
import numpy as np
from PIL import Image
t, s = sys.argv[1], sys.argv[2]
def ok(c, m):
    print(("ok - " if c else "not ok - ") + m)
rng = np.random.default_rng(3)
for (h, w) in ((32, 64), (40, 48)):
    y, x = np.mgrid[0:h, 0:w]
    a = 0.5 + 0.3 * np.cos(2 * np.pi * 5 * x / w) + 0.05 * rng.standard_normal((h, w))
    u8 = np.clip(np.round(a * 255), 0, 255).astype(np.uint8)
    Image.fromarray(u8).save(f"{t}/img.png")
    r = subprocess.run([s, "spectrum", f"{t}/img.png", "-o", f"{t}/sp.png", "--json"],
                       capture_output=True, text=True)
    o = json.loads(r.stdout)
    got = np.asarray(Image.open(f"{t}/sp.png"))[..., 0].astype(float)
    v = u8 / 255.0 * 2 - 1
    e = np.abs(np.fft.fft2(v)) ** 2
    top = 0.5 * np.log10(e.max())
    with np.errstate(divide="ignore"):
        want = np.clip((0.5 * np.log10(e) - top) / 6 + 1, 0, 1)
    want = np.round(np.fft.fftshift(want) * 255)
    diff = np.abs(got - want)
    ok(got.shape == (h, w) and (diff <= 1).mean() > 0.999,
       f"{w}x{h}: the picture matches numpy's FFT under the documented mapping "
       f"({(diff <= 1).mean() * 100:.2f}% of pixels within 1 level)")
    c = got.copy()
    c[h // 2, w // 2] = 0
    peak = np.unravel_index(np.argmax(c), c.shape)
    ok(peak[0] == h // 2 and abs(peak[1] - w // 2) == 5 and o["energy_outside"] == 0,
       f"{w}x{h}: the cosine of 5 cycles is the brightest bin off the centre {peak}")
# a tuner model: its band limit is drawn and reported
subprocess.run([s, "fit", "image", "data/camera.png", "--size", "32x32", "--steps", "30",
                "--hidden", "32", "--init-first", "tuner", "--bandlimit", "6", "--threads", "1",
                "--quiet", "-o", f"{t}/m.safetensors"], check=True)
r = subprocess.run([s, "spectrum", f"{t}/m.safetensors", "-o", f"{t}/ms.png", "--json"],
                   capture_output=True, text=True)
o = json.loads(r.stdout)
p = np.asarray(Image.open(f"{t}/ms.png")).astype(int)
red = (p[..., 0] == 255) & (p[..., 1] == 0)
ys, xs = np.nonzero(red)
ok(o["tuner_band"] and o["band"] == 6 and p.shape[:2] == (64, 64) and
   ys.min() == 32 - 6 and ys.max() == 32 + 6 and xs.min() == 32 - 6 and xs.max() == 32 + 6,
   f"a tuner model: 64x64 samples over its period, the band limit 6 drawn as a square, "
   f"{o['energy_outside'] * 100:.2f}% of the energy outside it")
green = (p[..., 1] == 255) & (p[..., 0] == 0) & (p[..., 2] == 0)
ys, xs = np.nonzero(green)
ok(o["nyquist"] == 16 and len(ys) and ys.min() == 32 - 16 and ys.max() == 32 + 16 and
   xs.min() == 32 - 16 and xs.max() == 32 + 16 and
   0 <= o["energy_above_nyquist"] <= o["energy_outside"],
   f"the fitted Nyquist band (16 of the 32x32 fit) drawn green; energy above it "
   f"{o['energy_above_nyquist'] * 100:.3f}% <= above the band limit")
# both fractions against numpy: the model read from its file, sampled over
# its period with the SIREN forward pass written here, FFT, bins counted
import json as _j, struct
b = open(f"{t}/m.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
hdr = _j.loads(b[8:8 + n]); meta = hdr.pop("__metadata__"); base = 8 + n
def ten(k):
    a, e = hdr[k]["data_offsets"]
    return np.frombuffer(b[base + a:base + e], "<f4").reshape(hdr[k]["shape"]).astype(np.float64)
per, L = float(meta["tuner_period"]), int(meta["hidden_layers"])
g = -1 + per * np.arange(64) / 64
x = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
h = x
for l in range(L + 1):
    w0 = float(meta["first_omega_0"] if l == 0 else meta["hidden_omega_0"])
    h = np.sin(w0 * (h @ ten(f"net.{l}.linear.weight").T + ten(f"net.{l}.linear.bias")))
y = (h @ ten(f"net.{L + 1}.weight").T + ten(f"net.{L + 1}.bias")).mean(1).reshape(64, 64)
e = np.abs(np.fft.fft2(y)) ** 2
k = np.fft.fftfreq(64, 1 / 64)
kr, kc = np.abs(k)[:, None], np.abs(k)[None, :]
e[0, 0] = 0
out6 = e[(kr > 6) | (kc > 6)].sum() / e.sum()
out16 = e[(kr > 16) | (kc > 16)].sum() / e.sum()
ok(abs(out6 - o["energy_outside"]) < 1e-3 * out6 + 1e-9 and
   abs(out16 - o["energy_above_nyquist"]) < 1e-3 * out16 + 1e-9,
   f"the energies outside the band and above Nyquist match numpy's ({out6:.5f} vs "
   f"{o['energy_outside']:.5f}, {out16:.6f} vs {o['energy_above_nyquist']:.6f})")
PYEOF
r=$("$S" spectrum data/camera.png -o "$T/x.jpg" 2>&1); [ $? -eq 2 ] && echo "ok - a non-PNG output is refused ($r)" || echo "not ok - a non-PNG output: $r"
# --band-penalty: a fit with it puts less energy above Nyquist than the same
# fit without (measured by `siren spectrum`); refused without a period
for bp in 0 10; do
    extra=""; [ "$bp" != 0 ] && extra="--band-penalty $bp"
    "$S" fit image data/camera.png --size 32x32 --steps 150 --lr 1e-3 --hidden 32 --init-first tuner \
        --freeze-first --threads 1 --quiet $extra -o "$T/bp$bp.safetensors" || echo "not ok - fit $extra"
    eval "e$bp=\$(\"\$S\" spectrum \"\$T/bp$bp.safetensors\" -o \"\$T/bp.png\" --json | \"\$PY\" -c 'import json,sys; print(json.load(sys.stdin)[\"energy_above_nyquist\"])')"
done
"$PY" -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(('ok - ' if b < a / 5 else 'not ok - ') + 'fit --band-penalty 10: energy above Nyquist %.4g%% against %.4g%% without' % (100 * b, 100 * a))" "$e0" "$e10"
r=$("$S" fit image data/camera.png --size 32x32 --steps 1 --band-penalty 1 -o "$T/x.safetensors" 2>&1)
[ $? -eq 2 ] && echo "ok - --band-penalty without --init-first tuner is a usage error ($r)" || echo "not ok - --band-penalty without tuner: $r"
r=$("$S" fit image data/camera.png --size 32x32 --steps 1 --band-lines 4 -o "$T/x.safetensors" 2>&1)
[ $? -eq 2 ] && echo "ok - --band-lines without --band-penalty is a usage error ($r)" || echo "not ok - --band-lines alone: $r"
# a band-penalty fit resumed from its checkpoint is the uninterrupted one,
# bit for bit (the lines are drawn from the checkpointed RNG)
A="fit image data/camera.png --size 32x32 --hidden 32 --init-first tuner --band-penalty 10 --lr 1e-3 --threads 1 --quiet"
$S $A --steps 20 -o "$T/bfull.st" && $S $A --steps 10 --checkpoint "$T/bck.st" -o "$T/bhalf.st" &&
    $S $A --steps 20 --resume "$T/bck.st" -o "$T/bres.st" && cmp -s "$T/bfull.st" "$T/bres.st" &&
    echo "ok - a band-penalty fit resumed at step 10 equals the uninterrupted one bit for bit" ||
    echo "not ok - band-penalty resume differs from the uninterrupted fit"
r=$("$S" fit image data/camera.png --size 32x32 --steps 1 --add-prune 5 -o "$T/x.safetensors" 2>&1)
[ $? -eq 2 ] && echo "ok - --add-prune without --init-first tuner is a usage error ($r)" || echo "not ok - --add-prune without tuner: $r"

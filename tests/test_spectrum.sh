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
PYEOF
r=$("$S" spectrum data/camera.png -o "$T/x.jpg" 2>&1); [ $? -eq 2 ] && echo "ok - a non-PNG output is refused ($r)" || echo "not ok - a non-PNG output: $r"

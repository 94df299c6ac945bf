"""Our PSNR and SSIM against scikit-image's on the same pixels.

Image pairs (gray and RGB, square and not, down to 11x11 and 16x16, noisy,
blurred, shifted) are written as 8-bit PNG (PIL) or 16-bit PGM (our own
writer), read by tests/tools/metrics_tool through siren_image_load, and the
numbers compared with skimage.metrics on exactly the values the C code sees
(the stored integers divided by 255 or 65535 in float32, as the loader
does). Run with Debian's /usr/bin/python3 (numpy, scikit-image, PIL).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

BUILD = os.environ.get("BUILD", "build")
TOOL = os.path.join(BUILD, "tools", "metrics_tool")
failed = 0


def report(ok, what):
    global failed
    print(("ok - " if ok else "not ok - ") + what)
    sys.stdout.flush()
    if not ok:
        failed += 1


def write_pgm16(path, a):
    """a: uint16 array (H, W) or (H, W, 3) -> binary PGM/PPM, maxval 65535."""
    magic = b"P5" if a.ndim == 2 else b"P6"
    h, w = a.shape[:2]
    with open(path, "wb") as f:
        f.write(magic + b"\n%d %d\n65535\n" % (w, h))
        f.write(a.astype(">u2").tobytes())


def write_png8(path, a):
    Image.fromarray(a, "L" if a.ndim == 2 else "RGB").save(path)


def as_loaded(a):
    """The float32 values siren_image_load produces, widened to float64."""
    scale = np.float32(65535 if a.dtype == np.uint16 else 255)
    return (a.astype(np.float32) / scale).astype(np.float64)


def smooth(rng, h, w, c):
    """A smooth random image in [0, 1] (upsampled noise)."""
    small = rng.random((h // 4 + 2, w // 4 + 2) + ((c,) if c > 1 else ()))
    big = np.kron(small, np.ones((4, 4) + ((1,) if c > 1 else ())))
    return np.clip(big[:h, :w], 0, 1)


def blur(a):
    """3x3 box blur with edge replication."""
    p = np.pad(a, [(1, 1), (1, 1)] + [(0, 0)] * (a.ndim - 2), mode="edge")
    out = np.zeros_like(a, dtype=np.float64)
    for dy in range(3):
        for dx in range(3):
            out += p[dy:dy + a.shape[0], dx:dx + a.shape[1]]
    return out / 9


def quantize(a, bits):
    m = 65535 if bits == 16 else 255
    return np.round(np.clip(a, 0, 1) * m).astype(np.uint16 if bits == 16 else np.uint8)


def pairs():
    rng = np.random.default_rng(1234)
    cam = np.asarray(Image.open("data/camera.png").convert("L"), dtype=np.float64) / 255
    yield "camera vs noisy camera (512x512 gray)", cam, cam + rng.normal(0, 0.05, cam.shape), 8
    yield "camera vs blurred camera", cam, blur(cam), 8
    yield "camera vs camera shifted by 1 row", cam, np.roll(cam, 1, axis=0), 8
    yield "camera vs itself", cam, cam, 8
    for (h, w) in [(16, 16), (11, 11), (23, 37), (64, 48)]:
        a = smooth(rng, h, w, 1)
        yield "gray %dx%d smooth vs noisy (16-bit)" % (w, h), a, a + rng.normal(0, 0.03, a.shape), 16
        b = smooth(rng, h, w, 3)
        yield "RGB %dx%d smooth vs noisy (8-bit)" % (w, h), b, b + rng.normal(0, 0.1, b.shape), 8
        yield "RGB %dx%d smooth vs blurred (16-bit)" % (w, h), b, blur(b), 16
    yield "RGB 40x30 unrelated noise", rng.random((30, 40, 3)), rng.random((30, 40, 3)), 8
    c = smooth(rng, 100, 70, 3)
    yield "RGB 70x100 dark, low contrast", c * 0.05, c * 0.05 + 0.002, 16


def main():
    if not os.access(TOOL, os.X_OK):
        report(False, "%s is built (add the tests/tools rule to the Makefile)" % TOOL)
        return
    with tempfile.TemporaryDirectory(prefix="siren_test_metrics.") as tmp:
        for i, (name, a, b, bits) in enumerate(pairs()):
            qa, qb = quantize(a, bits), quantize(b, bits)
            ext = "png" if bits == 8 else ("pgm" if qa.ndim == 2 else "ppm")
            pa = os.path.join(tmp, "a%d.%s" % (i, ext))
            pb = os.path.join(tmp, "b%d.%s" % (i, ext))
            (write_png8 if bits == 8 else write_pgm16)(pa, qa)
            (write_png8 if bits == 8 else write_pgm16)(pb, qb)
            r = subprocess.run([TOOL, pa, pb], capture_output=True, text=True)
            if r.returncode != 0:
                report(False, "%s: metrics_tool failed: %s" % (name, r.stderr.strip()))
                continue
            psnr, ssim = (float(x) for x in r.stdout.split())
            fa, fb = as_loaded(qa), as_loaded(qb)
            ch = -1 if fa.ndim == 3 else None
            ref_ssim = structural_similarity(fa, fb, gaussian_weights=True, sigma=1.5,
                                             use_sample_covariance=False, data_range=1.0,
                                             channel_axis=ch)
            if np.array_equal(fa, fb):
                ref_psnr = float("inf")
            else:
                ref_psnr = peak_signal_noise_ratio(fa, fb, data_range=1.0)
            report(abs(ssim - ref_ssim) < 1e-5,
                   "%s: SSIM %.9f (skimage %.9f)" % (name, ssim, ref_ssim))
            if np.isinf(ref_psnr):
                report(np.isinf(psnr) and psnr > 0, "%s: PSNR inf (got %g)" % (name, psnr))
            else:
                report(abs(psnr - ref_psnr) <= 1e-6 * abs(ref_psnr),
                       "%s: PSNR %.9f dB (skimage %.9f)" % (name, psnr, ref_psnr))


main()
sys.exit(1 if failed else 0)

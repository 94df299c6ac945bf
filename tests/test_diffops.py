"""siren_sobel, siren_laplace and siren_image_gray against SciPy.

Images (random of many shapes down to 1x1, constant, ramps) go as float32
raw files through tests/tools/diffops_tool; its outputs are compared with
scipy.ndimage.sobel(axis=0/1, mode='reflect') and scipy.ndimage.laplace(
mode='reflect') in float64 on exactly the float32 values the C code saw.
Run with Debian's /usr/bin/python3 (numpy, scipy); without scipy it prints
a "# skip" line and exits 0.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

try:
    import scipy.ndimage as ndi
except ImportError:
    print("# skip: scipy not installed (apt-get install python3-scipy)")
    sys.exit(0)

BUILD = os.environ.get("BUILD", "build")
TOOL = os.path.join(BUILD, "tools", "diffops_tool")
failed = 0


def report(ok, what):
    global failed
    print(("ok - " if ok else "not ok - ") + what)
    sys.stdout.flush()
    if not ok:
        failed += 1


def read_raw(path, shape):
    return np.fromfile(path, dtype="<f4").astype(np.float64).reshape(shape)


def images():
    rng = np.random.default_rng(2020)
    # (rows, columns); printed as width x height
    for (h, w) in [(1, 1), (1, 7), (7, 1), (2, 2), (3, 5), (5, 3), (2, 9),
                   (64, 48), (48, 64), (37, 101)]:
        yield "random %dx%d" % (w, h), rng.random((h, w)) * 2 - 1
    yield "constant 13x9", np.full((9, 13), 0.3712)
    yield "constant 1x5", np.full((5, 1), -0.25)
    r, c = np.mgrid[0:20, 0:31]
    yield "ramp 31x20", 0.01 * r - 0.02 * c + 0.5
    yield "row ramp 1x20", 0.05 * r[:, :1]
    yield "large values 40x30", rng.normal(0, 1e3, (30, 40))


def check_filters(tmp, i, name, img):
    img = img.astype(np.float32)
    h, w = img.shape
    src = os.path.join(tmp, "in%d.raw" % i)
    prefix = os.path.join(tmp, "out%d" % i)
    img.astype("<f4").tofile(src)
    r = subprocess.run([TOOL, src, str(w), str(h), prefix], capture_output=True, text=True)
    if r.returncode != 0:
        report(False, "%s: diffops_tool failed: %s" % (name, r.stderr.strip()))
        return
    x = img.astype(np.float64)
    refs = {"drow": ndi.sobel(x, axis=0, mode="reflect"),
            "dcol": ndi.sobel(x, axis=1, mode="reflect"),
            "lapl": ndi.laplace(x, mode="reflect")}
    what = {"drow": "sobel axis=0", "dcol": "sobel axis=1", "lapl": "laplace"}
    const = np.all(img == img.flat[0])
    for key, ref in refs.items():
        got = read_raw("%s.%s.raw" % (prefix, key), (h, w))
        if const:
            report(np.all(got == 0), "%s: %s is exactly 0 (max |value| %g)"
                   % (name, what[key], np.abs(got).max()))
            continue
        scale = max(np.abs(ref).max(), np.abs(x).max())
        err = np.abs(got - ref).max()
        # stricter, and what the C code aims at: each value is scipy's
        # float64 one rounded once to float32 (within one float32 ulp)
        ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        in_ulp = np.all(np.abs(got - ref) <= ulp)
        report(err <= 1e-5 * scale and in_ulp,
               "%s: %s matches scipy (max err %.2e of %.2e%s)"
               % (name, what[key], err, scale, "" if in_ulp else "; not within 1 ulp"))


def check_gray(tmp):
    rng = np.random.default_rng(601)
    for (h, w, c) in [(1, 1, 3), (5, 7, 3), (33, 20, 3), (6, 4, 1)]:
        img = rng.random((h, w, c)).astype(np.float32)
        src = os.path.join(tmp, "rgb.raw")
        out = os.path.join(tmp, "gray.raw")
        img.astype("<f4").tofile(src)
        r = subprocess.run([TOOL, "gray", src, str(w), str(h), str(c), out],
                           capture_output=True, text=True)
        name = "gray of %dx%d, %d channel%s" % (w, h, c, "s" if c > 1 else "")
        if r.returncode != 0:
            report(False, "%s: diffops_tool failed: %s" % (name, r.stderr.strip()))
            continue
        got = read_raw(out, (h, w))
        x = img.astype(np.float64)
        if c == 1:
            report(np.array_equal(got, x[..., 0]), "%s: copied exactly" % name)
        else:
            ref = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
            err = np.abs(got - ref).max()
            report(err <= 1e-6, "%s: ITU-R 601-2 luma (max err %.2e)" % (name, err))


def main():
    if not os.access(TOOL, os.X_OK):
        report(False, "%s is built (make %s)" % (TOOL, TOOL))
        return
    with tempfile.TemporaryDirectory(prefix="siren_test_diffops.") as tmp:
        for i, (name, img) in enumerate(images()):
            check_filters(tmp, i, name, img)
        check_gray(tmp)


main()
sys.exit(1 if failed else 0)

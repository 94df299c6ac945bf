#!/usr/bin/env python3
"""The energy of image models by frequency, as a line per model.

    scripts/spectrum_profile.py OUT.png MODEL[=LABEL] ... [--oversample N]

Each model (fitted by `siren fit image`) is sampled over exactly one period
of its coordinates (a TUNER model's tuner_period, else the pixels of the
longer side as one period, as `siren spectrum` does) at N times its fitted
side (8: frequencies up to 4x the image's Nyquist are seen without
aliasing), the outputs' mean is transformed by a 2-D FFT, and the energy
(mean left out) is summed over the square rings max(|k_row|, |k_col|) = k
and drawn as a fraction of the total, log scale, against k in cycles per
period; the fitted Nyquist frequency (half the side) is the dashed line.
Needs numpy and matplotlib (python3-numpy, python3-matplotlib) and the
siren Python module (python/ in the source tree, or installed).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np  # noqa: E402

import siren  # noqa: E402


def profile(path, oversample):
    m = siren.load(path)
    md = m.metadata
    side = max(int(md.get("image_width", 256)), int(md.get("image_height", 256)))
    p = float(md.get("tuner_period", 2.0 * side / (side - 1)))
    M = oversample * side
    ax = -1 + p * np.arange(M) / M
    R, C = np.meshgrid(ax, ax, indexing="ij")
    pts = np.stack([R.ravel(), C.ravel()], 1).astype(np.float32)
    v = np.asarray(m.values(pts), dtype=np.float64).reshape(M, M, -1).mean(-1)
    E = np.abs(np.fft.fft2(v)) ** 2
    E[0, 0] = 0
    k = np.abs(np.fft.fftfreq(M, 1.0 / M)).astype(int)
    ring = np.maximum(k[:, None], k[None, :])
    prof = np.bincount(ring.ravel(), weights=E.ravel(), minlength=M // 2 + 1)
    return side, prof / E.sum()


def main(argv):
    oversample = 8
    if "--oversample" in argv:
        i = argv.index("--oversample")
        oversample = int(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) < 2:
        sys.exit(__doc__)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out, models = argv[0], argv[1:]
    fig, axes = plt.subplots(figsize=(7, 4))
    side = None
    for spec in models:
        path, _, label = spec.partition("=")
        side, prof = profile(path, oversample)
        above = prof[side // 2 + 1:].sum()
        axes.semilogy(np.arange(len(prof)), np.maximum(prof, 1e-16),
                      label="%s (%.3g%% above Nyquist)" % (label or path, 100 * above), lw=1)
    axes.axvline(side // 2, color="k", ls="--", lw=0.8)
    axes.set_xlabel("frequency max(|k_row|, |k_col|), cycles per period (Nyquist %d)" % (side // 2))
    axes.set_ylabel("fraction of the energy")
    axes.set_ylim(1e-12, 1)
    axes.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1:])

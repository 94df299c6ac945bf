#!/usr/bin/python3
"""PyTorch reference for the libsiren benchmark: the official SIREN recipe.

Image fit of data/camera.png at 256x256 (2x2 area average of the 512x512
original), values in [-1, 1], coordinates linspace(-1, 1, 256) per axis in
(row, col) order, flattened row-major. Net: SineLayer(2, 256, first) + 3 x
SineLayer(256, 256) + Linear(256, 1), omega_0 = 30, SIREN init, PyTorch's
default biases. Adam(lr 1e-4), MSE, full batch (65536 points).

Prints one JSON line with the median per-step wall time (forward, backward,
optimizer step; the first --warmup steps excluded) and the PSNR of the whole
image, 10*log10(4/MSE), computed after the last update.

Run it with Debian's python (/usr/bin/python3) and, for its best speed,
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset and glibc's
MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ raised (bench/run does so).
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image


class SineLayer(torch.nn.Module):
    """sin(omega_0 * (W x + b)) with the SIREN initialisation."""

    def __init__(self, in_features, out_features, is_first=False, omega_0=30.0):
        super().__init__()
        self.omega_0 = omega_0
        self.linear = torch.nn.Linear(in_features, out_features)  # default bias init
        with torch.no_grad():
            if is_first:
                bound = 1.0 / in_features
            else:
                bound = math.sqrt(6.0 / in_features) / omega_0
            self.linear.weight.uniform_(-bound, bound)

    def forward(self, x):
        return torch.sin(self.omega_0 * self.linear(x))


class Siren(torch.nn.Module):
    def __init__(self, in_features=2, hidden=256, hidden_layers=3, out_features=1,
                 omega_0=30.0):
        super().__init__()
        layers = [SineLayer(in_features, hidden, is_first=True, omega_0=omega_0)]
        for _ in range(hidden_layers):
            layers.append(SineLayer(hidden, hidden, is_first=False, omega_0=omega_0))
        last = torch.nn.Linear(hidden, out_features)  # outermost_linear=True
        with torch.no_grad():
            bound = math.sqrt(6.0 / hidden) / omega_0
            last.weight.uniform_(-bound, bound)
        layers.append(last)
        # state_dict names: net.0.linear.weight, ..., net.4.weight (DESIGN §5)
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def load_image(path, size):
    """Gray image in [-1, 1], shrunk by exact box (area) averaging to size x size."""
    img = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
    h, w = img.shape
    if h % size or w % size:
        raise SystemExit(f"torch_ref.py: {path}: {w}x{h} is not a multiple of {size}")
    fy, fx = h // size, w // size
    img = img.reshape(size, fy, size, fx).mean(axis=(1, 3))
    return (img - 0.5) / 0.5


def make_coords(n):
    t = torch.linspace(-1.0, 1.0, n)
    rr, cc = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([rr, cc], dim=-1).reshape(-1, 2)


def blas_summary():
    """Which BLAS library torch uses, and OpenBLAS's core type if it says."""
    line = ""
    for l in torch.__config__.show().splitlines():
        if "BLAS_INFO" in l:
            for part in l.split(","):
                if "BLAS_INFO" in part:
                    line = part[part.index("BLAS_INFO"):].strip()
    lib = None
    try:
        with open("/proc/self/maps") as f:
            for m in f:
                p = m.split()[-1]
                if ("libblas.so" in p or "libopenblas" in p) and lib is None:
                    lib = p
    except OSError:
        pass
    core = ""
    if lib:
        try:
            dll = ctypes.CDLL(lib)
            dll.openblas_get_corename.restype = ctypes.c_char_p
            dll.openblas_get_config.restype = ctypes.c_char_p
            core = "OpenBLAS core " + dll.openblas_get_corename().decode()
            core += " (" + dll.openblas_get_config().decode().strip() + ")"
        except (OSError, AttributeError):
            pass
    return "; ".join(x for x in (line, lib and os.path.realpath(lib), core) if x)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default=os.path.join(here, "..", "data", "camera.png"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=5,
                    help="steps left out of the timing (still trained)")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--omega0", type=float, default=30.0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--json", action="store_true",
                    help="print only the JSON line (default: also a summary on stderr)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    gt = torch.from_numpy(load_image(a.image, a.size)).reshape(-1, 1).contiguous()
    coords = make_coords(a.size)
    model = Siren(2, a.hidden, a.layers, 1, a.omega0)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)

    times = []
    for step in range(a.steps):
        t0 = time.perf_counter()
        out = model(coords)
        loss = ((out - gt) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if step >= a.warmup:
            times.append(t1 - t0)
        if not a.json and (step + 1) % 50 == 0:
            print(f"step {step + 1}: loss {loss.item():.6g} "
                  f"({(t1 - t0) * 1e3:.0f} ms)", file=sys.stderr)

    with torch.no_grad():
        mse = ((model(coords) - gt) ** 2).mean().item()
    psnr = 10.0 * math.log10(4.0 / mse) if mse > 0 else float("inf")
    if not times:  # fewer steps than warm-up: nothing timed
        times = [float("nan")]
    res = {
        "impl": "pytorch",
        "steps": a.steps,
        "timed_steps": len(times) if not math.isnan(times[0]) else 0,
        "ms_per_step": statistics.median(times) * 1e3,
        "ms_per_step_mean": statistics.fmean(times) * 1e3,
        "loss": mse,
        "psnr_db": psnr,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
        "torch_version": torch.__version__,
        "blas": blas_summary(),
    }
    if not a.json:
        print(f"{a.steps} steps: {res['ms_per_step']:.1f} ms/step (median), "
              f"PSNR {psnr:.2f} dB", file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()

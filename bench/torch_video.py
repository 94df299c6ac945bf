#!/usr/bin/python3
"""PyTorch reference for the video benchmark: the official train_video.py
recipe at a given width. Reads the first --frames frames of a folder (PIL,
sorted by name), maps (t, row, col), each linspace(-1, 1), to values in
[-1, 1], and fits SineLayer(3, H, first, omega_0 30) + 3 x SineLayer(H, H)
+ Linear(H, C), SIREN initialisation, Adam(lr 1e-4), MSE, each step on
ceil(--sample-frac x voxels) voxels drawn uniformly with replacement
(torch.randint, as the official Implicit3DWrapper).

Prints one JSON line: "task": "video", "steps", "ms_per_step" (median
step, the first --warmup left out), "psnr_db" (10 log10(4 / MSE) over all
voxels after the last step).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from torch_ref import SineLayer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--sample-frac", type=float, default=0.0038)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    names = sorted(n for n in os.listdir(a.dir)
                   if n.lower().endswith((".png", ".pgm", ".ppm", ".jpg")))[: a.frames]
    vid = np.stack([np.asarray(Image.open(os.path.join(a.dir, n)), np.float32) / 255
                    for n in names])
    if vid.ndim == 3:
        vid = vid[..., None]
    F, H, W, C = vid.shape
    grid = torch.stack(torch.meshgrid(torch.linspace(-1, 1, F), torch.linspace(-1, 1, H),
                                      torch.linspace(-1, 1, W), indexing="ij"), -1)
    coords = grid.reshape(-1, 3)
    vals = torch.from_numpy(vid.reshape(-1, C) * 2 - 1)
    n = coords.shape[0]
    batch = math.ceil(a.sample_frac * n)
    h = a.hidden
    layers = [SineLayer(3, h, is_first=True, omega_0=30.0)]
    layers += [SineLayer(h, h, omega_0=30.0) for _ in range(3)]
    last = torch.nn.Linear(h, C)
    with torch.no_grad():
        bound = math.sqrt(6.0 / h) / 30.0
        last.weight.uniform_(-bound, bound)
    model = torch.nn.Sequential(*layers, last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for step in range(a.steps):
        t0 = time.perf_counter()
        idx = torch.randint(0, n, (batch,))
        loss = ((model(coords[idx]) - vals[idx]) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    se = 0.0
    with torch.no_grad():
        for i in range(0, n, 65536):
            se += ((model(coords[i:i + 65536]) - vals[i:i + 65536]) ** 2).sum().item()
    mse = se / (n * C)
    print(json.dumps({"impl": "pytorch", "task": "video", "steps": a.steps, "frames": F,
                      "width": W, "height": H, "batch": batch,
                      "ms_per_step": statistics.median(times) * 1e3 if times else float("nan"),
                      "psnr_db": 10 * math.log10(4 / mse), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()

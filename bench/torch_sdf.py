#!/usr/bin/python3
"""PyTorch reference for the SDF benchmark: the official SIREN shape recipe.

Reads an oriented point cloud (.xyz: x y z nx ny nz per line, as the
official code's point clouds), normalises it as the official
dataio.PointCloud (keep_aspect_ratio=True: coords -= mean; then the range
[amin, amax] over all axes mapped onto [-1, 1]) and fits
SingleBVPNet(type='sine', in_features=3): SineLayer(3, 256, first) + 3 x
SineLayer(256, 256) + Linear(256, 1), omega_0 30, SIREN initialisation;
Adam(lr 1e-4).

Each step draws --batch on-surface points with replacement
(np.random.choice, as PointCloud.__getitem__) and as many off-surface
points uniform in [-1, 1]^3, and minimises the official sdf_loss:
  3e3 mean(|Phi| on the surface, 0 off it)
  1e2 mean(exp(-100 |Phi|) off the surface, 0 on it)
  1e2 mean(1 - cos(grad Phi, n) on the surface, 0 off it)
  5e1 mean(| |grad Phi| - 1 |)
grad Phi by torch.autograd.grad(create_graph=True) (diff_operators.gradient).

Prints one JSON line: "task": "sdf", "steps", "ms_per_step" (median per-step
wall time: sampling, forward, gradient, loss, backward, optimizer step; the
first --warmup steps excluded), "ms_per_step_mean" (their mean), "loss" (last step), "surface_mean_abs"
(mean |Phi| over all cloud points after the last step, in normalised units).
"""
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, __import__("os").path.dirname(__file__))
from torch_ref import Siren, gradient  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xyz", required=True)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=10000,
                    help="on-surface points per step (as many off-surface added)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    pc = np.loadtxt(a.xyz, dtype=np.float64)
    coords, normals = pc[:, :3], pc[:, 3:6]
    coords = coords - np.mean(coords, axis=0, keepdims=True)
    cmax, cmin = np.amax(coords), np.amin(coords)
    coords = ((coords - cmin) / (cmax - cmin) - 0.5) * 2.0
    coords = torch.from_numpy(coords.astype(np.float32))
    normals = torch.from_numpy(normals.astype(np.float32))
    n = coords.shape[0]

    model = Siren(3, 256, 3, 1, 30.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    loss = torch.tensor(float("nan"))
    B = a.batch
    for step in range(a.steps):
        t0 = time.perf_counter()
        idx = torch.from_numpy(rng.choice(n, size=B))
        off = torch.from_numpy(rng.uniform(-1, 1, size=(B, 3)).astype(np.float32))
        x = torch.cat([coords[idx], off], 0).requires_grad_(True)
        nrm = torch.cat([normals[idx], torch.full((B, 3), -1.0)], 0)
        on = torch.cat([torch.ones(B, 1, dtype=torch.bool),
                        torch.zeros(B, 1, dtype=torch.bool)], 0)
        out = model(x)
        g = gradient(out, x)
        sdf = torch.where(on, out, torch.zeros_like(out))
        inter = torch.where(on, torch.zeros_like(out), torch.exp(-1e2 * torch.abs(out)))
        normal = torch.where(on, 1 - F.cosine_similarity(g, nrm, dim=-1)[..., None],
                             torch.zeros_like(g[..., :1]))
        eik = torch.abs(g.norm(dim=-1) - 1)
        loss = (torch.abs(sdf).mean() * 3e3 + inter.mean() * 1e2 +
                normal.mean() * 1e2 + eik.mean() * 5e1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if step >= a.warmup:
            times.append(t1 - t0)
        if not a.json and ((step + 1) % 20 == 0 or step < 5):
            print(f"step {step + 1}: loss {loss.item():.6g} ({(t1 - t0) * 1e3:.0f} ms)",
                  file=sys.stderr)
    with torch.no_grad():
        surf = torch.cat([model(coords[i:i + 65536]) for i in range(0, n, 65536)])
        surf = surf.abs().mean().item()
    if not times:
        times = [float("nan")]
    res = {"impl": "pytorch", "task": "sdf", "steps": a.steps, "batch": B,
           "points": n, "timed_steps": len(times),
           "ms_per_step": statistics.median(times) * 1e3,
           "ms_per_step_mean": statistics.fmean(times) * 1e3,
           "loss": loss.item(), "surface_mean_abs": surf,
           "threads": torch.get_num_threads(), "torch_version": torch.__version__}
    print(json.dumps(res))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch reference for the libsiren benchmark: the official SIREN recipes.

Fits data/camera.png at 256x256 (2x2 area average of the 512x512 original),
gray values img' in [-1, 1], coordinates linspace(-1, 1, 256) per axis in
(row, col) order, flattened row-major. Net: SineLayer(2, 256, first) + 3 x
SineLayer(256, 256) + Linear(256, 1), omega_0 = 30, SIREN initialisation,
PyTorch's default biases. Adam(lr 1e-4), full batch (65536 points).

--task picks what the network Phi is fitted to (the SIREN paper's image fit
and its two Poisson image reconstructions; targets as the official code,
dataio.Implicit2DWrapper(compute_diff=...), builds them for a square image
of side n; scipy's filters with their default mode='reflect', computed in
double on the image, then float32):

  image  Phi(x) = img'(x);  loss = mean((Phi - img')^2).
  grad   grad Phi = (t_row, t_col) with t_row = 10 * sobel(img', axis=0),
         t_col = 10 * sobel(img', axis=1); grad Phi taken like the official
         diff_operators.gradient, torch.autograd.grad(Phi, x,
         grad_outputs=ones, create_graph=True) with x the coordinates
         (requires_grad); loss = mean over the points of the sum over the
         two axes of (grad Phi - t)^2 (the official gradients_mse).
  lapl   lapl Phi = 1e4 * laplace(img'); lapl Phi taken like the official
         diff_operators.laplace = divergence(gradient(Phi, x), x), the
         divergence summing, for each axis i, autograd.grad(g[..., i], x,
         ones, create_graph=True)[0][..., i]; loss = mean((lapl Phi - t)^2).

Prints one JSON line: "task", "steps", "ms_per_step" (median per-step wall
time: forward, derivatives, loss, backward, optimizer step; the first
--warmup steps excluded), "ms_per_step_mean", "loss", "psnr_db", ...

Time to quality (image only): --target-psnr DB stops after the first step
whose training PSNR reaches DB (--steps is then the cap), as `siren fit
image --target-psnr DB` does. The training PSNR of step k is siren's:
10*log10(4 / the step's full-batch loss), i.e. the MSE over all pixels of
the model as it was before step k's update, which the step computes anyway
(no separate evaluation, nothing to exclude from the clock on either side).
For each mark of --psnr-marks (default 30,40) the JSON's "marks" gives the
first such step and the seconds from the start of the first step to the
end of that step (its update included; siren's --log "seconds" column
measures the same), or null when not reached; "seconds" is the whole loop.

PSNR = 10*log10(4 / mean((rec - img')^2)) over the whole image (range
[-1, 1]), with the parameters after the last update:
  image  rec = Phi on the grid; "loss" is that MSE.
  grad   rec = Phi / s + mean(img' - Phi / s), s = 160/(n-1): the targets
         are the image's derivatives times 10 * 8 (Sobel's gain) * the pixel
         spacing 2/(n-1), so Phi ~ s * img' + const; the constant, which no
         gradient sees, is taken from the image.
  lapl   rec = Phi / s + P, s = 4e4/(n-1)^2 (1e4 * (2/(n-1))^2), P the
         least-squares fit to (img' - Phi / s) over the grid of the harmonic
         polynomials of degree <= 4: 1, Re and Im of (row + i col)^k,
         k = 1..4 (harmonic functions are what a Laplacian does not see;
         siren removes the same ones).
  For grad and lapl "loss" is the last step's loss.

Run it with Debian's python (/usr/bin/python3; scipy from python3-scipy)
and, for its best speed, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset and
glibc's MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ raised (bench/run
does so).
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


def derivative_targets(img, task):
    """The official SIREN targets (dataio.Implicit2DWrapper, compute_diff)
    for a square image img' in [-1, 1]: for "grad" an (n*n, 2) array of
    10 * Sobel along rows and along columns, for "lapl" an (n*n, 1) array of
    1e4 * the 5-point Laplacian; scipy's default mode='reflect', computed in
    double, returned as float32."""
    import scipy.ndimage  # only the derivative tasks need scipy
    im = img.astype(np.float64)
    if task == "grad":
        t = np.stack([10.0 * scipy.ndimage.sobel(im, axis=0, mode="reflect"),
                      10.0 * scipy.ndimage.sobel(im, axis=1, mode="reflect")], axis=-1)
        return t.reshape(-1, 2).astype(np.float32)
    t = 1e4 * scipy.ndimage.laplace(im, mode="reflect")
    return t.reshape(-1, 1).astype(np.float32)


def gradient(y, x):
    """The official diff_operators.gradient."""
    return torch.autograd.grad(y, [x], grad_outputs=torch.ones_like(y),
                               create_graph=True)[0]


def divergence(g, x):
    """The official diff_operators.divergence."""
    div = 0.0
    for i in range(g.shape[-1]):
        div = div + torch.autograd.grad(g[..., i], x, torch.ones_like(g[..., i]),
                                        create_graph=True)[0][..., i:i + 1]
    return div


def recon_scale(task, n):
    """Phi ~ s * img' (+ what the derivatives cannot see) when Phi's
    derivatives match the targets: grad 10 * 8 (Sobel) * 2/(n-1),
    lapl 1e4 * (2/(n-1))^2."""
    h = 2.0 / (n - 1)
    return 10.0 * 8.0 * h if task == "grad" else 1e4 * h * h


def recon_psnr(phi, img, task):
    """PSNR (dB, range [-1, 1]) of the reconstruction from the model's values
    phi (n*n) against img' (n x n), as the module docstring says."""
    n = img.shape[0]
    ref = img.astype(np.float64).reshape(-1)
    rec = phi.astype(np.float64).reshape(-1) / recon_scale(task, n)
    if task == "grad":
        rec = rec + np.mean(ref - rec)
    else:
        t = np.linspace(-1.0, 1.0, n)
        rr, cc = np.meshgrid(t, t, indexing="ij")
        z = (rr + 1j * cc).reshape(-1)
        cols = [np.ones(n * n)]
        for k in range(1, 5):
            cols += [np.real(z ** k), np.imag(z ** k)]
        a = np.stack(cols, axis=1)
        coef, *_ = np.linalg.lstsq(a, ref - rec, rcond=None)
        rec = rec + a @ coef
    mse = float(np.mean((rec - ref) ** 2))
    return 10.0 * math.log10(4.0 / mse) if mse > 0 else float("inf")


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
    ap.add_argument("--task", choices=("image", "grad", "lapl"), default="image",
                    help="image fit (default), or Poisson reconstruction from the "
                         "gradient (grad) or the Laplacian (lapl)")
    ap.add_argument("--target-psnr", type=float, default=0.0,
                    help="image: stop after the first step whose training PSNR "
                         "(of the step's full-batch loss) reaches this (0: off)")
    ap.add_argument("--psnr-marks", default="30,40",
                    help="image: comma-separated PSNRs whose first step and time "
                         "are reported in \"marks\"")
    a = ap.parse_args()
    marks = [float(m) for m in a.psnr_marks.split(",") if m.strip()]
    if a.target_psnr > 0 and a.task != "image":
        ap.error("--target-psnr is for the image task only")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    img = load_image(a.image, a.size)
    gt = torch.from_numpy(img).reshape(-1, 1).contiguous()
    coords = make_coords(a.size)
    if a.task != "image":
        target = torch.from_numpy(derivative_targets(img, a.task)).contiguous()
    model = Siren(2, a.hidden, a.layers, 1, a.omega0)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)

    times = []
    reached = {m: None for m in marks}   # mark -> (step, seconds)
    done = 0
    t_start = time.perf_counter()
    for step in range(a.steps):
        t0 = time.perf_counter()
        if a.task == "image":
            out = model(coords)
            loss = ((out - gt) ** 2).mean()
        else:
            # as the official training loop: the coordinates are a fresh leaf
            # that requires grad, the model's input derivatives taken by autograd
            x = coords.clone().detach().requires_grad_(True)
            out = model(x)
            g = gradient(out, x)
            if a.task == "grad":
                loss = (g - target).pow(2).sum(-1).mean()
            else:
                loss = ((divergence(g, x) - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        done = step + 1
        if step >= a.warmup:
            times.append(t1 - t0)
        if a.task == "image":
            # siren's training PSNR: of this step's full-batch loss, the model
            # before the update (the loss is computed by the step anyway)
            lv = loss.item()
            tp = 10.0 * math.log10(4.0 / lv) if lv > 0 else float("inf")
            for m in marks:
                if reached[m] is None and tp >= m:
                    reached[m] = (done, t1 - t_start)
            if a.target_psnr > 0 and tp >= a.target_psnr:
                break
        if not a.json and ((step + 1) % 50 == 0 or a.task == "lapl" or step < 10):
            print(f"step {step + 1}: loss {loss.item():.6g} "
                  f"({(t1 - t0) * 1e3:.0f} ms)", file=sys.stderr)

    seconds = time.perf_counter() - t_start
    with torch.no_grad():
        phi = model(coords)
        if a.task == "image":
            mse = ((phi - gt) ** 2).mean().item()
            last_loss = mse
            psnr = 10.0 * math.log10(4.0 / mse) if mse > 0 else float("inf")
        else:
            last_loss = loss.item() if done > 0 else float("nan")
            psnr = recon_psnr(phi.numpy(), img, a.task)
    if not times:  # fewer steps than warm-up: nothing timed
        times = [float("nan")]
    res = {
        "impl": "pytorch",
        "task": a.task,
        "steps": done,
        "seconds": seconds,
        "timed_steps": len(times) if not math.isnan(times[0]) else 0,
        "ms_per_step": statistics.median(times) * 1e3,
        "ms_per_step_mean": statistics.fmean(times) * 1e3,
        "loss": last_loss,
        "psnr_db": psnr,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
        "torch_version": torch.__version__,
        "blas": blas_summary(),
    }
    if a.task == "image":
        res["marks"] = {f"{m:g}": (None if reached[m] is None else
                                   {"step": reached[m][0], "seconds": reached[m][1]})
                        for m in marks}
        if a.target_psnr > 0:
            res["target_psnr"] = a.target_psnr
            res["step_cap"] = a.steps
    if a.task != "image":
        res["recon_scale"] = recon_scale(a.task, a.size)
    if not a.json:
        print(f"{a.task}, {a.steps} steps: {res['ms_per_step']:.1f} ms/step (median), "
              f"PSNR {psnr:.2f} dB", file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()

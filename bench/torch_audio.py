#!/usr/bin/python3
"""PyTorch reference for the audio benchmark: the official train_audio.py
recipe. Reads a sound file (Python's wave module: 16-bit PCM WAV), takes
the first channel as the official AudioFile does when there are two (here:
the mean over channels, to match `siren fit audio --channels mix`; the
benchmark files are mono), divides by the largest magnitude, and fits
t = linspace(-1, 1, frames) -> samples with SineLayer(1, 256, first,
omega_0 3000) + 3 x SineLayer(256, 256, omega_0 30) + Linear(256, 1), SIREN
initialisation, Adam(lr 1e-4), full batch, MSE.

Prints one JSON line: "task": "audio", "steps", "ms_per_step" (median
step, the first --warmup left out), "ms_per_step_mean" (their mean), "psnr_db" (10 log10(4 / MSE) over all
samples after the last step).
"""
import argparse
import json
import math
import statistics
import sys
import time
import wave

import numpy as np
import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
from torch_ref import SineLayer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wav", required=True)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    w = wave.open(a.wav)
    if w.getsampwidth() != 2:
        raise SystemExit(f"{a.wav}: 16-bit PCM expected")
    x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    x = x.reshape(-1, w.getnchannels()).mean(1)
    x = x / np.max(np.abs(x))
    n = len(x)
    t = torch.linspace(-1, 1, n).view(-1, 1)
    y = torch.from_numpy(x.astype(np.float32)).view(-1, 1)
    layers = [SineLayer(1, 256, is_first=True, omega_0=3000.0)]
    layers += [SineLayer(256, 256, omega_0=30.0) for _ in range(3)]
    last = torch.nn.Linear(256, 1)
    with torch.no_grad():
        bound = math.sqrt(6.0 / 256) / 30.0
        last.weight.uniform_(-bound, bound)
    model = torch.nn.Sequential(*layers, last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for step in range(a.steps):
        t0 = time.perf_counter()
        loss = ((model(t) - y) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    with torch.no_grad():
        mse = ((model(t) - y) ** 2).mean().item()
    print(json.dumps({"impl": "pytorch", "task": "audio", "steps": a.steps, "frames": n,
                      "ms_per_step": statistics.median(times) * 1e3 if times else float("nan"),
                      "ms_per_step_mean": statistics.fmean(times) * 1e3 if times else float("nan"),
                      "psnr_db": 10 * math.log10(4 / mse), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()

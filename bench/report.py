#!/usr/bin/python3
"""Turns the raw results of bench/run into the Markdown report.

usage: report.py RAWDIR

RAWDIR holds fma.json and fma2.json (bench/fma_peak's output before and
after the runs; the best of the two is used), meta.json (what bench/run
knows: date, cpu, commands, steps, runs, ...) and one JSON file per run,
named IMPL.R.json with IMPL in siren, siren_ob, torch. Prints the report and
exits 0; exits 1 if a run's JSON is missing or lacks a key the report needs.
"""
import json
import os
import statistics
import sys

IMPLS = [
    ("siren", "siren (env as is)"),
    ("siren_ob", "siren (OpenBLAS AVX-512, same env as torch)"),
    ("torch", "PyTorch (best config)"),
]
NEEDED = {
    "siren": ["task", "steps", "seconds", "ms_per_step", "ms_per_step_median", "loss",
              "params", "psnr_db"],
    "siren_ob": ["task", "steps", "seconds", "ms_per_step", "ms_per_step_median", "loss",
                 "params", "psnr_db"],
    "torch": ["steps", "ms_per_step", "ms_per_step_mean", "psnr_db", "params"],
}


def flops_per_step(n, sizes):
    """DESIGN §7: per linear layer, forward 2*N*in*out, backward 4*N*in*out
    (dW and the gradient of the input), except the first layer whose input
    gradient is not needed: backward 2*N*in*out. Element-wise work (sin, cos,
    Adam, loss) is not counted."""
    total = 0
    for i, (fin, fout) in enumerate(zip(sizes[:-1], sizes[1:])):
        total += 2 * n * fin * fout                       # forward
        total += (2 if i == 0 else 4) * n * fin * fout    # backward
    return total


def load(path):
    with open(path) as f:
        text = f.read().strip()
    try:
        return json.loads(text)
    except ValueError:
        # a run prints one JSON object; tolerate stray lines before it
        return json.loads(text.splitlines()[-1])


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    raw = sys.argv[1]
    meta = load(os.path.join(raw, "meta.json"))
    fma = load(os.path.join(raw, "fma.json"))
    p2 = os.path.join(raw, "fma2.json")  # measured again after the runs
    if os.path.exists(p2):
        fma2 = load(p2)
        for k in ("gflops_1core", "gflops_all"):
            fma[k] = max(float(fma[k]), float(fma2[k]))
    runs = int(meta["runs"])
    steps = int(meta["steps"])
    n = int(meta["points"])
    sizes = [int(s) for s in meta["sizes"].split(",")]
    flops = flops_per_step(n, sizes)
    flops_simple = sum(6 * n * a * b for a, b in zip(sizes[:-1], sizes[1:]))

    res = {}
    bad = []
    for key, _ in IMPLS:
        res[key] = []
        for r in range(1, runs + 1):
            p = os.path.join(raw, f"{key}.{r}.json")
            try:
                j = load(p)
            except (OSError, ValueError, IndexError) as e:
                bad.append(f"{p}: cannot read one JSON object ({e})")
                continue
            miss = [k for k in NEEDED[key] if k not in j]
            if miss:
                bad.append(f"{p}: missing keys {', '.join(miss)}")
                continue
            if int(j["steps"]) != steps:
                bad.append(f"{p}: ran {j['steps']} steps, not {steps}")
            res[key].append(j)
    if bad:
        for b in bad:
            print("report: " + b, file=sys.stderr)
        return 1

    peak = float(fma["gflops_all"])
    med = {}
    mean = {}
    # Like for like: both sides' ms/step is the median step of a run with
    # its first 5 steps left out; the mean (siren: whole fit / steps, so
    # the first steps included; torch: mean of its timed steps) beside it.
    for key, _ in IMPLS:
        step_key = "ms_per_step" if key == "torch" else "ms_per_step_median"
        mean_key = "ms_per_step_mean" if key == "torch" else "ms_per_step"
        ms = statistics.median(float(j[step_key]) for j in res[key])
        ps = statistics.median(float(j["psnr_db"]) for j in res[key])
        med[key] = (ms, ps)
        mean[key] = statistics.median(float(j[mean_key]) for j in res[key])
    torch_ms, torch_psnr = med["torch"]

    out = []
    w = out.append
    w(f"# libsiren vs PyTorch: image fit, camera {meta['size']}, {steps} steps\n")
    w(f"- date: {meta['date']}")
    w(f"- CPU: {meta['cpu']} ({meta['nproc']} cores); measured FMA peak "
      f"({fma['isa']}, fp32, best before/after the runs): "
      f"{fma['gflops_1core']:.1f} GFLOP/s on 1 core, "
      f"{fma['gflops_all']:.1f} GFLOP/s on {fma['threads']} threads")
    w(f"- PyTorch {res['torch'][0].get('torch_version', '?')}, "
      f"{res['torch'][0].get('threads', '?')} threads; BLAS: "
      f"{res['torch'][0].get('blas', '?')}")
    w(f"- siren: {meta.get('siren_version', '?')}; git {meta.get('git', '?')}")
    w(f"- recipe: {meta['recipe']}")
    w(f"- FLOPs per step: {flops / 1e9:.3f} GFLOP (N = {n} points, layers "
      f"{' -> '.join(map(str, sizes))}; forward 2·N·in·out, backward 4·N·in·out, "
      f"first layer backward 2·N·in·out as its input gradient is not needed; "
      f"sin/cos/Adam not counted; 6·N·in·out for every layer would give "
      f"{flops_simple / 1e9:.3f})")
    w(f"- each figure is the median of {runs} runs, interleaved "
      f"(siren, siren same-env, torch, then again), on the same machine; "
      f"ms/step is, for both, the median per-step wall time of a run with its "
      f"first {meta['torch_warmup']} steps left out; 'mean' is siren's whole fit "
      f"time / steps (first steps included) and torch's mean over its timed steps\n")

    w(f"| implementation | ms/step | GFLOP/s | % of FMA peak ({fma['threads']} cores) "
      f"| PSNR after {steps} steps (dB) | torch ms / this ms | mean ms/step | torch mean / this mean |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, label in IMPLS:
        ms, ps = med[key]
        gf = flops / (ms * 1e-3) / 1e9
        w(f"| {label} | {ms:.1f} | {gf:.1f} | {100 * gf / peak:.1f}% | "
          f"{ps:.2f} | {torch_ms / ms:.2f} | {mean[key]:.1f} | "
          f"{mean['torch'] / mean[key]:.2f} |")
    w("")

    w("Per run (ms/step; PSNR dB):\n")
    w("| run | " + " | ".join(label for _, label in IMPLS) + " |")
    w("|---|" + "---|" * len(IMPLS))
    for r in range(runs):
        cells = []
        for key, _ in IMPLS:
            j = res[key][r]
            if key == "torch":
                c = (f"{float(j['ms_per_step']):.1f} ms; {float(j['psnr_db']):.2f} dB"
                     f" (mean {float(j['ms_per_step_mean']):.1f} ms)")
            else:
                c = (f"{float(j['ms_per_step_median']):.1f} ms; {float(j['psnr_db']):.2f} dB"
                     f" (mean {float(j['ms_per_step']):.1f} ms, {float(j['seconds']):.1f} s total)")
            cells.append(c)
        w(f"| {r + 1} (seed {meta['seeds'].split(',')[r]}) | " + " | ".join(cells) + " |")
    w("")

    best_ms = min(med["siren"][0], med["siren_ob"][0])
    gap = torch_psnr - med["siren"][1]  # > 0: siren below torch
    speed = torch_ms / best_ms
    ok_psnr = gap <= 0.5
    ok_speed = speed >= 2.0
    w("Goals (issue): PSNR at most 0.5 dB below PyTorch's: "
      f"{'met' if ok_psnr else 'NOT met'} (siren {med['siren'][1]:.2f} dB, "
      f"torch {torch_psnr:.2f} dB, torch - siren = {gap:+.2f} dB); "
      f"ms/step at most half of PyTorch's: {'met' if ok_speed else 'NOT met'} "
      f"(torch / siren = {torch_ms / med['siren'][0]:.2f} env as is, "
      f"{torch_ms / med['siren_ob'][0]:.2f} same env as torch; judged on the "
      f"better, {speed:.2f}).\n")

    w("Commands (R = run number, seed = R - 1):\n")
    w("```")
    w(f"# siren (env as is)\n{meta['cmd_siren']}")
    w(f"# siren (same env as torch)\n{meta['cmd_siren_ob']}")
    w(f"# torch\n{meta['cmd_torch']}")
    w(f"# FMA peak\n{meta['cmd_fma']}")
    w("```")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(raw, "..", "results.md"), "w") as f:
        f.write(text)
    if os.environ.get("BENCH_STRICT") == "1" and not (ok_psnr and ok_speed):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Turns the raw results of bench/run into the Markdown report.

usage: report.py RAWDIR

RAWDIR holds fma.json and fma2.json (bench/fma_peak's output before and
after the runs; the best of the two is used), meta.json (what bench/run
knows: date, cpu, tasks, steps per task, runs, commands, ...) and one JSON
file per run, named IMPL.TASK.R.json: TASK in image, grad, lapl (those of
meta's "tasks"), IMPL in siren, siren_ob (image only), torch, R = 1..runs.
Prints the report (also written to RAWDIR/../results.md) and exits 0; exits
1 if a run's JSON is missing or lacks a key the report needs; 3 with
BENCH_STRICT=1 in the environment if a goal is not met.
"""
import json
import os
import statistics
import sys

TASK_ORDER = ["image", "grad", "lapl"]
LABELS = {
    "siren": "siren (env as is)",
    "siren_ob": "siren (OpenBLAS AVX-512, same env as torch)",
    "torch": "PyTorch (best config)",
}
SIREN_KEYS = ["task", "steps", "seconds", "ms_per_step", "ms_per_step_median", "loss",
              "params", "psnr_db"]
NEEDED = {
    "siren": SIREN_KEYS,
    "siren_ob": SIREN_KEYS,
    "torch": ["steps", "ms_per_step", "ms_per_step_mean", "psnr_db", "params"],
}
TITLES = {
    "image": "image fit",
    "grad": "Poisson reconstruction from the gradient",
    "lapl": "Poisson reconstruction from the Laplacian",
}
TARGETS = {
    "image": "the network Phi fits the gray values img' in [-1, 1]; loss mean((Phi - img')^2); "
             "PSNR = 10 log10(4/MSE) of Phi over the whole image",
    "grad": "grad Phi (w.r.t. (row, col)) fits 10·Sobel(img') along rows and along "
            "columns (scipy, mode 'reflect'; the official SIREN targets); loss = mean over "
            "the points of the sum over the 2 axes of the squared error; PSNR of the "
            "reconstruction Phi/s + mean(img' - Phi/s), s = 160/(n-1), against img'",
    "lapl": "the Laplacian of Phi fits 1e4·laplace(img') (scipy, mode 'reflect'; the "
            "official SIREN target); loss = mean squared error; PSNR of the reconstruction "
            "Phi/s + the least-squares fit to img' - Phi/s of the harmonic polynomials of degree <= 4, "
            "s = 4e4/(n-1)^2, against img'",
}
# FLOPs per step as multiples of the image step's (README: siren's grad step
# is an explicit double-backward, 6 GEMM units per hidden layer instead of 3;
# its lapl step forward jets of 4 channels).
FLOP_FACTOR = {"image": 1, "grad": 2, "lapl": 4}
# goals of the issue: siren's step cost against its image step's
STEP_RATIO_GOAL = {"grad": 2.5, "lapl": 4.5}
SPEED_GOAL = 2.0        # PyTorch ms / siren ms, each task
PSNR_GAP_GOAL = 0.5     # image: siren's PSNR at most this far below PyTorch's


def impls_of(task):
    return ["siren", "siren_ob", "torch"] if task == "image" else ["siren", "torch"]


def flops_per_step(n, sizes):
    """DESIGN §7, the image step: per linear layer, forward 2*N*in*out,
    backward 4*N*in*out (dW and the gradient of the input), except the first
    layer whose input gradient is not needed: backward 2*N*in*out.
    Element-wise work (sin, cos, Adam, loss) is not counted."""
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


def ms_of(key, j):
    """Like for like: the median step of a run (siren's ms_per_step_median,
    torch's ms_per_step, its first warm-up steps left out)."""
    return float(j["ms_per_step"] if key == "torch" else j["ms_per_step_median"])


def mean_ms_of(key, j):
    """siren: whole fit / steps (first steps included); torch: mean of its
    timed steps."""
    return float(j["ms_per_step_mean"] if key == "torch" else j["ms_per_step"])


def met(ok):
    return "met" if ok else "NOT met"


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
    tasks = [t for t in meta["tasks"].split(",") if t]
    for t in tasks:
        if t not in TASK_ORDER:
            print(f"report: meta.json: unknown task {t!r}", file=sys.stderr)
            return 1
    runs = int(meta["runs"])
    steps = {t: int(meta["steps_" + t]) for t in tasks}
    n = int(meta["points"])
    side = int(meta["size"].split("x")[0])
    sizes = [int(s) for s in meta["sizes"].split(",")]
    flops_image = flops_per_step(n, sizes)
    flops_simple = sum(6 * n * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    thin = (flops_per_step(n, sizes[:2]) + 6 * n * sizes[-2] * sizes[-1]) / flops_image
    flops = {t: FLOP_FACTOR[t] * flops_image for t in tasks}

    res = {}
    bad = []
    for t in tasks:
        for key in impls_of(t):
            res[(key, t)] = []
            for r in range(1, runs + 1):
                p = os.path.join(raw, f"{key}.{t}.{r}.json")
                try:
                    j = load(p)
                except (OSError, ValueError, IndexError) as e:
                    bad.append(f"{p}: cannot read one JSON object ({e})")
                    continue
                if not isinstance(j, dict):
                    bad.append(f"{p}: not a JSON object")
                    continue
                miss = [k for k in NEEDED[key] if k not in j]
                if miss:
                    bad.append(f"{p}: missing keys {', '.join(miss)}")
                    continue
                if "task" in j and j["task"] != t:
                    bad.append(f"{p}: task {j['task']!r}, not {t!r}")
                if int(j["steps"]) != steps[t]:
                    bad.append(f"{p}: ran {j['steps']} steps, not {steps[t]}")
                res[(key, t)].append(j)
    if bad:
        for b in bad:
            print("report: " + b, file=sys.stderr)
        return 1

    peak = float(fma["gflops_all"])
    med = {}    # (impl, task) -> (median ms/step, median PSNR)
    mean = {}   # (impl, task) -> median of the runs' mean ms/step
    for t in tasks:
        for key in impls_of(t):
            rs = res[(key, t)]
            med[(key, t)] = (statistics.median(ms_of(key, j) for j in rs),
                             statistics.median(float(j["psnr_db"]) for j in rs))
            mean[(key, t)] = statistics.median(mean_ms_of(key, j) for j in rs)

    # --- goals ---------------------------------------------------------------
    goals = []      # (description, ok or None when it cannot be judged)
    speed = {}      # task -> (torch / siren env as is, the figure judged)
    for t in tasks:
        torch_ms = med[("torch", t)][0]
        as_is = torch_ms / med[("siren", t)][0]
        if t == "image":  # judged on the better of the two siren rows
            judged = torch_ms / min(med[("siren", t)][0], med[("siren_ob", t)][0])
        else:
            judged = as_is
        speed[t] = (as_is, judged)
        goals.append((f"{t}: siren at least {SPEED_GOAL:g}x faster than PyTorch "
                      f"(torch / siren = {judged:.2f}"
                      + (", the better of the two siren rows" if t == "image" else "")
                      + ")", judged >= SPEED_GOAL))
    if "image" in tasks:
        gap = med[("torch", "image")][1] - med[("siren", "image")][1]
        goals.insert(1, (f"image: PSNR at most {PSNR_GAP_GOAL} dB below PyTorch's "
                         f"(torch - siren = {gap:+.2f} dB)", gap <= PSNR_GAP_GOAL))
    step_ratio = {}
    for t in tasks:
        if t == "image":
            continue
        if "image" in tasks:
            step_ratio[t] = med[("siren", t)][0] / med[("siren", "image")][0]
            goals.append((f"{t}: siren's {t} step at most {STEP_RATIO_GOAL[t]:g}x its image "
                          f"step ({step_ratio[t]:.2f}x)", step_ratio[t] <= STEP_RATIO_GOAL[t]))
        else:
            goals.append((f"{t}: siren's {t} step at most {STEP_RATIO_GOAL[t]:g}x its image "
                          f"step (the image task was not run)", None))

    # --- the report ------------------------------------------------------------
    out = []
    w = out.append
    w(f"# libsiren vs PyTorch: camera {meta['size']}, "
      + ", ".join(f"{t} ({steps[t]} steps)" for t in tasks) + "\n")
    w(f"- date: {meta['date']}")
    w(f"- CPU: {meta['cpu']} ({meta['nproc']} cores); measured FMA peak "
      f"({fma['isa']}, fp32, best before/after the runs): "
      f"{fma['gflops_1core']:.1f} GFLOP/s on 1 core, "
      f"{fma['gflops_all']:.1f} GFLOP/s on {fma['threads']} threads")
    j0 = res[("torch", tasks[0])][0]
    w(f"- PyTorch {j0.get('torch_version', '?')}, {j0.get('threads', '?')} threads; "
      f"BLAS: {j0.get('blas', '?')}")
    w(f"- siren: {meta.get('siren_version', '?')}; git {meta.get('git', '?')}")
    w(f"- recipe: {meta['recipe']}")
    w(f"- FLOPs per step (matrix products only; sin/cos/Adam/loss not counted; N = {n} "
      f"points, layers {' -> '.join(map(str, sizes))}): image "
      f"{flops_image / 1e9:.3f} GFLOP (forward 2·N·in·out, backward 4·N·in·out, first "
      f"layer backward 2·N·in·out as its input gradient is not needed; 6·N·in·out for "
      f"every layer would give {flops_simple / 1e9:.3f}); grad 2x image "
      f"({2 * flops_image / 1e9:.3f}: siren's double-backward step, forward 1 + gradient "
      f"pass 1 + its backward 4 GEMM units per hidden layer against 3 for the image "
      f"step); lapl 4x image ({4 * flops_image / 1e9:.3f}: forward jets of 4 channels, "
      f"value, d/drow, d/dcol, Laplacian); the thin first and last layers "
      f"({100 * thin:.1f}% of the image step) scaled by the same factor. The same "
      f"nominal count is used for PyTorch's rows")
    w(f"- each figure is the median of {runs} runs per task, interleaved "
      f"(for each task: siren, [siren same-env,] torch, then again; seeds "
      f"{meta['seeds']}), on the same machine; ms/step is, for both, the median "
      f"per-step wall time of a run with its first {meta['torch_warmup']} steps left out; "
      f"'mean' is siren's whole fit time / steps (first steps included) and torch's "
      f"mean over its timed steps\n")

    # summary
    w("## Summary\n")
    w("| task | siren ms/step | PyTorch ms/step | speed-up (PyTorch / siren) "
      "| siren step / siren image step (goal) | PSNR siren (dB) | PSNR PyTorch (dB) |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for t in tasks:
        s_ms, s_ps = med[("siren", t)]
        t_ms, t_ps = med[("torch", t)]
        as_is, judged = speed[t]
        if t == "image":
            sp = (f"{as_is:.2f} ({judged:.2f} best siren row; goal ≥ {SPEED_GOAL:g}: "
                  f"{met(judged >= SPEED_GOAL)})")
            ratio = "1"
        else:
            sp = f"{as_is:.2f} (goal ≥ {SPEED_GOAL:g}: {met(as_is >= SPEED_GOAL)})"
            if t in step_ratio:
                ratio = (f"{step_ratio[t]:.2f} (≤ {STEP_RATIO_GOAL[t]:g}: "
                         f"{met(step_ratio[t] <= STEP_RATIO_GOAL[t])})")
            else:
                ratio = f"n/a, image not run (≤ {STEP_RATIO_GOAL[t]:g})"
        w(f"| {t} ({steps[t]} steps) | {s_ms:.1f} | {t_ms:.1f} | {sp} | {ratio} | "
          f"{s_ps:.2f} | {t_ps:.2f} |")
    w("")
    w("siren: env as is. PSNR: image, of the fit; grad and lapl, of the "
      "reconstruction (see each task). Each after the task's last step.\n")

    # one section per task
    for t in tasks:
        torch_ms = med[("torch", t)][0]
        w(f"## {t}: {TITLES[t]}, {steps[t]} steps\n")
        w(f"Target: {TARGETS[t]} (n = {side}). FLOPs per step: "
          f"{flops[t] / 1e9:.3f} GFLOP.\n")
        w(f"| implementation | ms/step | GFLOP/s | % of FMA peak ({fma['threads']} cores) "
          f"| PSNR after {steps[t]} steps (dB) | torch ms / this ms | mean ms/step "
          f"| torch mean / this mean |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for key in impls_of(t):
            ms, ps = med[(key, t)]
            gf = flops[t] / (ms * 1e-3) / 1e9
            w(f"| {LABELS[key]} | {ms:.1f} | {gf:.1f} | {100 * gf / peak:.1f}% | "
              f"{ps:.2f} | {torch_ms / ms:.2f} | {mean[(key, t)]:.1f} | "
              f"{mean[('torch', t)] / mean[(key, t)]:.2f} |")
        w("")
        w("Per run (ms/step; PSNR dB; loss after the last step):\n")
        w("| run | " + " | ".join(LABELS[k] for k in impls_of(t)) + " |")
        w("|---|" + "---|" * len(impls_of(t)))
        for r in range(runs):
            cells = []
            for key in impls_of(t):
                j = res[(key, t)][r]
                loss = f"; loss {float(j['loss']):.4g}" if "loss" in j else ""
                if key == "torch":
                    c = (f"{float(j['ms_per_step']):.1f} ms; {float(j['psnr_db']):.2f} dB"
                         f"{loss} (mean {float(j['ms_per_step_mean']):.1f} ms)")
                else:
                    c = (f"{float(j['ms_per_step_median']):.1f} ms; "
                         f"{float(j['psnr_db']):.2f} dB{loss} (mean "
                         f"{float(j['ms_per_step']):.1f} ms, {float(j['seconds']):.1f} s total)")
                cells.append(c)
            w(f"| {r + 1} (seed {meta['seeds'].split(',')[r]}) | " + " | ".join(cells) + " |")
        w("")

    w("## Goals (issue)\n")
    for desc, ok in goals:
        w(f"- {desc}: " + ("not checked" if ok is None else met(ok)))
    w("")

    w("## Commands (R = run number, seed = R - 1)\n")
    w("```")
    for t in tasks:
        for key in impls_of(t):
            w(f"# {t}, {LABELS[key]}\n{meta['cmd_' + key + '_' + t]}")
    w(f"# FMA peak\n{meta['cmd_fma']}")
    w("```")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(raw, "..", "results.md"), "w") as f:
        f.write(text)
    if os.environ.get("BENCH_STRICT") == "1" and any(ok is False for _, ok in goals):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Turns the raw results of bench/run into the Markdown report.

usage: report.py RAWDIR

RAWDIR holds fma.json and fma2.json (bench/fma_peak's output before and
after the runs; the best of the two is used; with AVX512_BF16 they also
hold the bf16 dot-product peak), meta.json (what bench/run knows: date,
cpu, tasks, steps per task, runs, bf16, commands, ...) and per run
IMPL.TASK.R.json (its stdout: one JSON object) and IMPL.TASK.R.rss
(bench/maxrss.py: its peak RSS), with TASK in image, grad, lapl, sdf,
audio, ttq (those of meta's "tasks"), IMPL in siren, siren_ob (image only),
siren_tuner (ttq only), siren_bf16 (not ttq) and siren_tuner_bf16 (ttq
only) when meta's "bf16" is "1", torch, R = 1..runs (ttq: 1..ttq_runs);
for ttq the siren runs' --log CSV as IMPL.ttq.R.csv.
Prints the report (also written to RAWDIR/../results.md) and exits 0; exits
1 if a run's file is missing or lacks a key the report needs; 3 with
BENCH_STRICT=1 in the environment if a goal is not met.
"""
import csv
import json
import math
import os
import statistics
import sys

TASK_ORDER = ["image", "grad", "lapl", "sdf", "audio", "ttq"]
STEP_TASKS = ["image", "grad", "lapl", "sdf", "audio"]
LABELS = {
    "siren": "siren (env as is)",
    "siren_ob": "siren (OpenBLAS AVX-512, same env as torch)",
    "siren_tuner": "siren, TUNER first layer (--init-first tuner)",
    "siren_bf16": "siren, bf16 products (--precision bf16)",
    "siren_tuner_bf16": "siren, TUNER first layer, bf16 products (--init-first tuner "
                        "--precision bf16)",
    "torch": "PyTorch (best config)",
}
TTQ_LABELS = {
    "siren": "siren, SIREN init (the official recipe)",
    "siren_tuner": "siren, TUNER first layer (--init-first tuner)",
    "siren_tuner_bf16": "siren, TUNER first layer, bf16 products (--init-first tuner "
                        "--precision bf16)",
    "torch": "PyTorch, the official recipe (best config)",
}
# the bf16 implementations and the fp32 one each is compared with (same
# command less --precision bf16, same seeds, same steps)
FP32_OF = {"siren_bf16": "siren", "siren_tuner_bf16": "siren_tuner"}
TITLES = {
    "image": "image fit",
    "grad": "Poisson reconstruction from the gradient",
    "lapl": "Poisson reconstruction from the Laplacian",
    "sdf": "signed distance function of the horse scan",
    "audio": "audio fit",
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
    "sdf": "the official sdf_loss (3e3 |Phi| and 1e2 (1 - cos(grad Phi, n)) on the surface, "
           "1e2 exp(-100 |Phi|) off it, 5e1 | |grad Phi| - 1 | everywhere) on a batch of "
           "surface points drawn with replacement plus as many uniform in [-1, 1]^3; "
           "quality: that loss at the last step (lower is better; a random batch, so noisy)",
    "audio": "Phi(t) fits the samples divided by their largest magnitude, t = linspace(-1, 1, "
             "frames), first-layer omega_0 3000 (train_audio.py); full batch; PSNR = "
             "10 log10(4/MSE) over all samples",
}
# FLOPs per step as multiples of a value-fit step of the same net and points
# (README: siren's grad and sdf steps are an explicit double backward, 6 GEMM
# units per hidden layer instead of 3; its lapl step forward jets of 4
# channels).
FLOP_FACTOR = {"image": 1, "grad": 2, "lapl": 4, "sdf": 2, "audio": 1}
# the goals (issue 9, "done when"): PyTorch ms / siren ms per task,
# siren's image step's fraction of the FMA peak, time to 40 dB
SPEED_GOAL = {"image": 3.0, "grad": 3.0, "lapl": 5.0, "sdf": 3.0}
PEAK_GOAL = 0.70
TTQ_GOAL = 10.0
TTQ_GOAL_MARK = 40.0
# earlier goals, kept: siren's step cost against its image step's, and the
# image PSNR against PyTorch's
STEP_RATIO_GOAL = {"grad": 2.5, "lapl": 4.5}
PSNR_GAP_GOAL = 0.5
# issue 9 keeps --precision bf16 only if it costs less than this much PSNR
# against siren fp32 at the same steps
BF16_PSNR_LOSS_MAX = 0.5

BF16 = False   # meta's "bf16": the bf16 implementations were run


def impls_of(task):
    """The implementations of a task, in each round's order (bench/run's)."""
    if task == "image":
        return ["siren", "siren_ob"] + (["siren_bf16"] if BF16 else []) + ["torch"]
    if task == "ttq":
        return ["siren", "siren_tuner"] + (["siren_tuner_bf16"] if BF16 else []) + ["torch"]
    return ["siren"] + (["siren_bf16"] if BF16 else []) + ["torch"]


def is_bf16(key):
    return key in FP32_OF


def needed(key, task):
    if key.startswith("siren"):
        k = ["task", "steps", "seconds", "ms_per_step", "ms_per_step_median", "loss", "params"]
        if task != "sdf":
            k.append("psnr_db")
        if task == "audio":
            k.append("frames")
        return k
    k = ["steps", "ms_per_step", "ms_per_step_mean"]
    k.append("loss" if task == "sdf" else "psnr_db")
    if task == "ttq":
        k += ["marks", "seconds"]
    return k


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


def quality_of(task, j):
    return float(j["loss"] if task == "sdf" else j["psnr_db"])


def fmt_quality(task, v):
    return f"loss {v:.4g}" if task == "sdf" else f"{v:.2f} dB"


def siren_marks(path, marks):
    """First (step, seconds) of siren's --log CSV whose training PSNR (the
    'metric' column) reaches each mark; None where not reached."""
    got = {m: None for m in marks}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                psnr = float(row["metric"])
            except (TypeError, ValueError):
                continue
            for m in marks:
                if got[m] is None and psnr >= m:
                    got[m] = (int(row["step"]), float(row["seconds"]))
    return got


def met(ok):
    return "met" if ok else "NOT met"


def dB(v):
    """A PSNR difference, +0.00 rather than -0.00."""
    return f"{round(v, 2) + 0.0:+.2f}"


def mib(kib):
    return f"{kib / 1024:.0f}"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    global BF16
    raw = sys.argv[1]
    meta = load(os.path.join(raw, "meta.json"))
    BF16 = meta.get("bf16", "0") == "1"
    fma = load(os.path.join(raw, "fma.json"))
    p2 = os.path.join(raw, "fma2.json")  # measured again after the runs
    fma2 = load(p2) if os.path.exists(p2) else {}
    for k in ("gflops_1core", "gflops_all", "bf16_gflops_1core", "bf16_gflops_all"):
        v = [float(f[k]) for f in (fma, fma2) if f.get(k) is not None]
        fma[k] = max(v) if v else None
    tasks = [t for t in meta["tasks"].split(",") if t]
    for t in tasks:
        if t not in TASK_ORDER:
            print(f"report: meta.json: unknown task {t!r}", file=sys.stderr)
            return 1
    step_tasks = [t for t in tasks if t in STEP_TASKS]
    runs = int(meta["runs"])
    ttq_runs = int(meta.get("ttq_runs", runs))
    runs_of = {t: (ttq_runs if t == "ttq" else runs) for t in tasks}
    steps = {t: int(meta["steps_" + t]) for t in tasks}
    n = int(meta["points"])
    side = int(meta["size"].split("x")[0])
    sizes = [int(s) for s in meta["sizes"].split(",")]
    hidden = sizes[1:-1]
    flops_image = flops_per_step(n, sizes)
    flops_simple = sum(6 * n * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    thin = (flops_per_step(n, sizes[:2]) + 6 * n * sizes[-2] * sizes[-1]) / flops_image
    marks = [float(m) for m in meta.get("ttq_marks", "30,40").split(",") if m]

    res = {}
    rss = {}
    bad = []
    for t in tasks:
        for key in impls_of(t):
            res[(key, t)] = []
            rss[(key, t)] = []
            for r in range(1, runs_of[t] + 1):
                p = os.path.join(raw, f"{key}.{t}.{r}.json")
                try:
                    j = load(p)
                except (OSError, ValueError, IndexError) as e:
                    bad.append(f"{p}: cannot read one JSON object ({e})")
                    continue
                if not isinstance(j, dict):
                    bad.append(f"{p}: not a JSON object")
                    continue
                miss = [k for k in needed(key, t) if k not in j]
                if miss:
                    bad.append(f"{p}: missing keys {', '.join(miss)}")
                    continue
                want = "image" if t == "ttq" else t
                if "task" in j and j["task"] != want:
                    bad.append(f"{p}: task {j['task']!r}, not {want!r}")
                if t == "ttq":
                    if int(j["steps"]) > steps[t]:
                        bad.append(f"{p}: ran {j['steps']} steps, over the cap {steps[t]}")
                    if key != "torch":
                        try:
                            j["marks_"] = siren_marks(os.path.join(raw, f"{key}.{t}.{r}.csv"),
                                                      marks)
                        except (OSError, KeyError, ValueError) as e:
                            bad.append(f"{key}.{t}.{r}.csv: {e}")
                    else:
                        j["marks_"] = {}
                        for m in marks:
                            v = j["marks"].get(f"{m:g}")
                            j["marks_"][m] = None if v is None else (int(v["step"]),
                                                                     float(v["seconds"]))
                elif int(j["steps"]) != steps[t]:
                    bad.append(f"{p}: ran {j['steps']} steps, not {steps[t]}")
                res[(key, t)].append(j)
                q = os.path.join(raw, f"{key}.{t}.{r}.rss")
                try:
                    rss[(key, t)].append(int(load(q)["maxrss_kib"]))
                except (OSError, ValueError, KeyError, IndexError) as e:
                    bad.append(f"{q}: no peak RSS ({e})")
    if bad:
        for b in bad:
            print("report: " + b, file=sys.stderr)
        return 1

    # FLOPs per step of each step task
    flops = {}
    flop_note = {}
    for t in step_tasks:
        if t in ("image", "grad", "lapl"):
            flops[t] = FLOP_FACTOR[t] * flops_image
        elif t == "sdf":
            pts = 2 * int(meta["sdf_batch"])
            flops[t] = FLOP_FACTOR[t] * flops_per_step(pts, [3] + hidden + [1])
            flop_note[t] = (f"2x a value step of 3 -> {' -> '.join(map(str, hidden))} -> 1 on "
                            f"N = {pts} points (surface + uniform): the double backward, as grad")
        elif t == "audio":
            frames = {int(j["frames"]) for j in res[("siren", t)]}
            if len(frames) != 1:
                print(f"report: audio runs disagree on the frame count {sorted(frames)}",
                      file=sys.stderr)
                return 1
            pts = frames.pop()
            flops[t] = flops_per_step(pts, [1] + hidden + [1])
            flop_note[t] = (f"a value step of 1 -> {' -> '.join(map(str, hidden))} -> 1 on "
                            f"N = {pts} samples (full batch)")

    peak = float(fma["gflops_all"])
    peak_bf16 = fma["bf16_gflops_all"]   # None when not measured

    def peak_of(key):
        """The peak a row's GFLOP/s is a fraction of: the bf16 dot-product
        peak for the bf16 rows (None if not measured), else the FMA peak."""
        return peak_bf16 if is_bf16(key) else peak

    def peak_name(key):
        return "bf16 dot-product peak" if is_bf16(key) else "FMA peak"

    def gflops(key, t):
        return flops[t] / (med[(key, t)][0] * 1e-3) / 1e9

    def pct(key, t):
        pk = peak_of(key)
        return "n/a" if pk is None else f"{100 * gflops(key, t) / pk:.1f}%"

    med = {}    # (impl, task) -> (median ms/step, median quality)
    mean = {}   # (impl, task) -> median of the runs' mean ms/step
    for t in step_tasks:
        for key in impls_of(t):
            rs = res[(key, t)]
            med[(key, t)] = (statistics.median(ms_of(key, j) for j in rs),
                             statistics.median(quality_of(t, j) for j in rs))
            mean[(key, t)] = statistics.median(mean_ms_of(key, j) for j in rs)

    # time to quality: per implementation and mark, the median (step,
    # seconds) over the runs, or None when a run did not reach it
    ttq = {}
    if "ttq" in tasks:
        for key in impls_of("ttq"):
            rs = res[(key, "ttq")]
            for m in marks:
                got = [j["marks_"][m] for j in rs]
                if any(g is None for g in got):
                    ttq[(key, m)] = (None, sum(g is not None for g in got))
                else:
                    ttq[(key, m)] = ((statistics.median(g[0] for g in got),
                                      statistics.median(g[1] for g in got)), len(got))
    top = max(marks) if marks else None

    def ttq_ratio(key, m):
        """PyTorch's seconds to m / key's, or None. When no PyTorch run
        reached m within the cap, (a lower bound, True): its median loop
        time over siren's."""
        a, na = ttq.get(("torch", m), (None, 0))
        b = ttq.get((key, m), (None, 0))[0]
        if b is None:
            return None
        if a is None:
            if na == 0:
                cap_s = statistics.median(float(j["seconds"]) for j in res[("torch", "ttq")])
                return (cap_s / b[1], True)
            return None
        return (a[1] / b[1], False)

    def fmt_ratio(r):
        return "n/a" if r is None else (f"> {r[0]:.2f}" if r[1] else f"{r[0]:.2f}")

    # --- bf16 against fp32 -------------------------------------------------------
    # per step task: bf16 quality - siren fp32 quality, run by run (same
    # seed, same steps), and its median; PSNR in dB, sdf its last loss
    bf16_diff = {}   # task -> (median of the per-run differences, [per run])
    if BF16:
        for t in step_tasks:
            d = [quality_of(t, b) - quality_of(t, f)
                 for b, f in zip(res[("siren_bf16", t)], res[("siren", t)])]
            bf16_diff[t] = (statistics.median(d), d)

    def bf16_line(t):
        d, per = bf16_diff[t]
        runs_s = ", ".join(dB(x) if t != "sdf" else f"{x:+.4g}" for x in per)
        if t == "sdf":
            return (f"bf16 last loss - fp32 last loss: {d:+.4g} (median of the per-seed "
                    f"differences; per run {runs_s}; the loss of a random batch, noisy; "
                    f"lower is better)")
        return (f"bf16 PSNR - fp32 PSNR: {dB(d)} dB (siren, same seeds and steps; median "
                f"of the per-seed differences; per run {runs_s}; issue 9 keeps bf16 only if "
                f"it loses less than {BF16_PSNR_LOSS_MAX} dB: "
                + ("yes" if -d < BF16_PSNR_LOSS_MAX else "NO") + ")")

    def bf16_note(key, t):
        """A remark for a goal met by a bf16 row of a task where bf16 loses
        too much PSNR."""
        if is_bf16(key) and t in bf16_diff and t != "sdf" \
                and -bf16_diff[t][0] >= BF16_PSNR_LOSS_MAX:
            return (f"; but bf16 loses {-bf16_diff[t][0]:.2f} dB of PSNR on {t}, not under "
                    f"the {BF16_PSNR_LOSS_MAX} dB issue 9 allows")
        return ""

    # --- goals ---------------------------------------------------------------
    # (description, ok or None when it cannot be judged, the implementation
    # judged: the one that met it, or the best when none did)
    goals = []
    speed = {}      # task -> (torch / siren env as is, the figure judged, its impl)
    for t in step_tasks:
        torch_ms = med[("torch", t)][0]
        as_is = torch_ms / med[("siren", t)][0]
        best_k = min((k for k in impls_of(t) if k != "torch"), key=lambda k: med[(k, t)][0])
        speed[t] = (as_is, torch_ms / med[(best_k, t)][0], best_k)
    if "image" in step_tasks:
        fr = {k: gflops(k, "image") / peak_of(k) for k in impls_of("image")
              if k != "torch" and peak_of(k) is not None}
        best_k = max(fr, key=fr.get)
        others = "; ".join(f"{LABELS[k]} {100 * fr[k]:.1f}% of the {peak_name(k)}"
                           for k in fr if k != best_k)
        goals.append((f"image: siren's step at least {100 * PEAK_GOAL:.0f}% of the peak "
                      f"measured in this run (fp32 rows: the FMA peak, {peak:.1f} GFLOP/s; "
                      + (f"bf16 rows: the bf16 dot-product peak, {peak_bf16:.1f} GFLOP/s; "
                         if BF16 and peak_bf16 is not None else "")
                      + f"best {100 * fr[best_k]:.1f}% of the {peak_name(best_k)}"
                      + (f"; {others}" if others else "") + ")" + bf16_note(best_k, "image"),
                      fr[best_k] >= PEAK_GOAL, best_k))
    for t in step_tasks:
        if t in SPEED_GOAL:
            _, judged, best_k = speed[t]
            others = "; ".join(f"{LABELS[k]} {med[('torch', t)][0] / med[(k, t)][0]:.2f}"
                               for k in impls_of(t) if k not in ("torch", best_k))
            goals.append((f"{t}: siren at least {SPEED_GOAL[t]:g}x faster than PyTorch "
                          f"(PyTorch / siren = {judged:.2f} for the fastest siren row"
                          + (f"; {others}" if others else "") + ")" + bf16_note(best_k, t),
                          None if math.isnan(judged) else judged >= SPEED_GOAL[t], best_k))
    if "ttq" in tasks:
        sk = [k for k in impls_of("ttq") if k != "torch"]
        if TTQ_GOAL_MARK in marks:
            rr = {k: ttq_ratio(k, TTQ_GOAL_MARK) for k in sk}
            ok_r = {k: v for k, v in rr.items() if v is not None}
            best_k = max(ok_r, key=lambda k: ok_r[k][0]) if ok_r else None
            best_r = ok_r[best_k] if ok_r else None
            desc = "; ".join(f"{TTQ_LABELS[k]} "
                             + ("n/a (not reached)" if v is None else fmt_ratio(v))
                             for k, v in rr.items())
            if best_r is None:
                ok = None
            elif best_r[1]:   # a lower bound: PyTorch never reached the mark
                ok = True if best_r[0] >= TTQ_GOAL else None
            else:
                ok = best_r[0] >= TTQ_GOAL
            goals.append((f"ttq: siren's seconds to {TTQ_GOAL_MARK:g} dB at most 1/{TTQ_GOAL:g} "
                          f"of PyTorch's official recipe's (PyTorch / siren = {desc}; judged "
                          f"on the best)", ok, best_k))
        else:
            goals.append((f"ttq: seconds to {TTQ_GOAL_MARK:g} dB at most 1/{TTQ_GOAL:g} of "
                          f"PyTorch's (this run's target was {meta['ttq_target']} dB)", None,
                          None))
    earlier = []
    if "image" in step_tasks:
        gap = med[("torch", "image")][1] - med[("siren", "image")][1]
        earlier.append((f"image: PSNR at most {PSNR_GAP_GOAL} dB below PyTorch's "
                        f"(torch - siren = {gap:+.2f} dB)", gap <= PSNR_GAP_GOAL, "siren"))
    step_ratio = {}
    for t in step_tasks:
        if t not in STEP_RATIO_GOAL:
            continue
        if "image" in step_tasks:
            step_ratio[t] = med[("siren", t)][0] / med[("siren", "image")][0]
            earlier.append((f"{t}: siren's {t} step at most {STEP_RATIO_GOAL[t]:g}x its image "
                            f"step ({step_ratio[t]:.2f}x)", step_ratio[t] <= STEP_RATIO_GOAL[t],
                            "siren"))
        else:
            earlier.append((f"{t}: siren's {t} step at most {STEP_RATIO_GOAL[t]:g}x its image "
                            f"step (the image task was not run)", None, None))
    # issue 9 keeps --precision bf16 only if it loses less than 0.5 dB
    bf16_goals = []
    for t in bf16_diff:
        d = bf16_diff[t][0]
        if t == "sdf":
            bf16_goals.append((f"sdf: not judged (its quality is a loss, not a PSNR; bf16 - "
                               f"fp32 last loss {d:+.4g})", None, None))
        else:
            bf16_goals.append((f"{t}: bf16 PSNR - fp32 PSNR = {dB(d)} dB, a loss under "
                               f"{BF16_PSNR_LOSS_MAX} dB", -d < BF16_PSNR_LOSS_MAX, "siren_bf16"))

    # --- the report ------------------------------------------------------------
    out = []
    w = out.append
    parts = []
    for t in tasks:
        if t == "ttq":
            parts.append(f"ttq (to {meta['ttq_target']} dB, cap {steps[t]} steps)")
        else:
            parts.append(f"{t} ({steps[t]} steps)")
    w("# libsiren vs PyTorch: " + ", ".join(parts) + "\n")
    w(f"- date: {meta['date']}")
    w(f"- CPU: {meta['cpu']} ({meta['nproc']} cores); measured FMA peak "
      f"({fma['isa']}, fp32, best before/after the runs): "
      f"{fma['gflops_1core']:.1f} GFLOP/s on 1 core, "
      f"{fma['gflops_all']:.1f} GFLOP/s on {fma['threads']} threads"
      + (f"; measured bf16 dot-product peak (VDPBF16PS, 64 FLOP an instruction, best "
         f"before/after): {fma['bf16_gflops_1core']:.1f} GFLOP/s on 1 core, "
         f"{fma['bf16_gflops_all']:.1f} GFLOP/s on {fma['threads']} threads"
         if fma["bf16_gflops_all"] is not None else ""))
    if BF16:
        w("- siren bf16 rows: the same commands with `--precision bf16` (the big matrix "
          "products on bf16 operands with fp32 sums, AVX512_BF16); same seeds, same steps, "
          "same nominal FLOP count; their % of peak is against the bf16 dot-product peak")
    j0 = res[("torch", tasks[0])][0]
    w(f"- PyTorch {j0.get('torch_version', '?')}, {j0.get('threads', '?')} threads"
      + (f"; BLAS: {j0['blas']}" if "blas" in j0 else ""))
    w(f"- siren: {meta.get('siren_version', '?')}; git {meta.get('git', '?')}")
    w(f"- image recipe (image, grad, lapl, ttq): camera {meta['size']}, {meta['recipe']}")
    if "sdf" in tasks:
        w(f"- sdf: {meta.get('sdf_input', '?')} ({meta['sdf_points']} oriented points sampled "
          f"from the horse scan), {meta['sdf_batch']} surface + {meta['sdf_batch']} uniform "
          f"points per step, 3x256, omega_0 30, Adam 1e-4, the official sdf_loss")
    if "audio" in tasks:
        w(f"- audio: {meta.get('audio_input', '?')}, official train_audio recipe (3x256, "
          f"first omega_0 3000, hidden 30, Adam 1e-4, full batch)")
    w(f"- FLOPs per step (matrix products only; sin/cos/Adam/loss not counted): image "
      f"{flops_image / 1e9:.3f} GFLOP on N = {n} points, layers {' -> '.join(map(str, sizes))} "
      f"(forward 2·N·in·out, backward 4·N·in·out, first layer backward 2·N·in·out as its "
      f"input gradient is not needed; 6·N·in·out for every layer would give "
      f"{flops_simple / 1e9:.3f}); grad 2x image ({2 * flops_image / 1e9:.3f}: siren's "
      f"double-backward step, forward 1 + gradient pass 1 + its backward 4 GEMM units per "
      f"hidden layer against 3 for the image step); lapl 4x image "
      f"({4 * flops_image / 1e9:.3f}: forward jets of 4 channels, value, d/drow, d/dcol, "
      f"Laplacian); the thin first and last layers ({100 * thin:.1f}% of the image step) "
      f"scaled by the same factor"
      + "".join(f"; {t} {flops[t] / 1e9:.3f} ({flop_note[t]})" for t in ("sdf", "audio")
                if t in flops)
      + ". The same nominal count is used for PyTorch's rows")
    order = ", ".join(k for k in impls_of("image") if "image" in tasks or k != "siren_ob")
    if "image" in tasks:
        order += " (siren_ob: image only)"
    w(f"- each step-task figure is the median of {runs} runs, interleaved (for each task: "
      f"{order}, then again; seeds {meta['seeds']}), on the same "
      f"machine; ms/step is, for both, the median per-step wall time of a run with its first "
      f"{meta['torch_warmup']} steps left out")
    w(f"- peak RSS: {meta.get('rss', 'bench/maxrss.py')}; the largest of the runs, in MiB "
      f"(2^20 bytes)\n")

    # the one table
    if step_tasks:
        w("## Summary\n")
        w(f"| task | siren ms/step | PyTorch ms/step | PyTorch / siren | siren GFLOP/s "
          f"| siren % of peak{'¹' if BF16 else ''} ({fma['threads']} cores) "
          f"| peak RSS siren (MiB) "
          f"| peak RSS PyTorch (MiB) | siren quality | PyTorch quality |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for t in step_tasks:
            t_ms, t_q = med[("torch", t)]
            for key in impls_of(t):
                if key == "torch":
                    continue
                s_ms, s_q = med[(key, t)]
                gf = gflops(key, t)
                name = f"{t} ({steps[t]} steps)"
                if key == "siren_ob":
                    name = f"{t}, siren in PyTorch's env"
                elif key == "siren_bf16":
                    name = f"{t}, siren bf16 products (--precision bf16)"
                w(f"| {name} | {s_ms:.1f} | {t_ms:.1f} | {t_ms / s_ms:.2f} | {gf:.1f} | "
                  f"{pct(key, t)} | {mib(max(rss[(key, t)]))} | "
                  f"{mib(max(rss[('torch', t)]))} | {fmt_quality(t, s_q)} | "
                  f"{fmt_quality(t, t_q)} |")
        w("")
        w("siren: env as is unless the row says otherwise. Quality after the task's last "
          "step: image and audio the PSNR of the fit; grad and lapl the PSNR of the "
          "reconstruction; sdf the last step's loss (lower is better)."
          + (f" ¹ fp32 rows: % of the FMA peak ({peak:.1f} GFLOP/s); bf16 rows: % of the "
             f"bf16 dot-product peak ("
             + ("not measured" if peak_bf16 is None else f"{peak_bf16:.1f} GFLOP/s")
             + ", VDPBF16PS, 64 FLOP an instruction), both measured in this run on "
             f"{fma['threads']} threads." if BF16 else "") + "\n")
        over = sorted({f"{t} ({LABELS[k]})" for t in step_tasks for k in impls_of(t)
                       if peak_of(k) is not None and gflops(k, t) > peak_of(k)})
        if over:
            w(f"**Warning**: {', '.join(over)} above 100% of its peak (FMA {peak:.1f}"
              + (f", bf16 {peak_bf16:.1f}" if BF16 and peak_bf16 is not None else "")
              + " GFLOP/s): the peak probe must have run while the machine was busy; the "
              "fractions of this run are not meaningful.\n")
        if BF16:
            w(f"### siren bf16 products (--precision bf16) against siren fp32\n")
            w(f"Same command, seeds and steps; the quality columns side by side. Issue 9 "
              f"keeps bf16 only if it loses less than {BF16_PSNR_LOSS_MAX} dB of PSNR.\n")
            w("| task | fp32 ms/step | bf16 ms/step | fp32 / bf16 | fp32 GFLOP/s (% of FMA "
              "peak) | bf16 GFLOP/s (% of bf16 peak) | fp32 quality | bf16 quality "
              "| bf16 - fp32 (per-seed median) |")
            w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for t in step_tasks:
                f_ms, f_q = med[("siren", t)]
                b_ms, b_q = med[("siren_bf16", t)]
                d = bf16_diff[t][0]
                w(f"| {t} ({steps[t]} steps) | {f_ms:.1f} | {b_ms:.1f} | {f_ms / b_ms:.2f} | "
                  f"{gflops('siren', t):.1f} ({pct('siren', t)}) | "
                  f"{gflops('siren_bf16', t):.1f} ({pct('siren_bf16', t)}) | "
                  f"{fmt_quality(t, f_q)} | {fmt_quality(t, b_q)} | "
                  + (f"loss {d:+.4g}" if t == "sdf" else f"{dB(d)} dB") + " |")
            w("")
            for t in step_tasks:
                w(f"- {t}: {bf16_line(t)}")
            w("")

    # time to quality
    if "ttq" in tasks:
        w(f"## Time to quality: camera {meta['size']}, official recipe (full batch, Adam "
          f"1e-4), until {meta['ttq_target']} dB or {steps['ttq']} steps\n")
        w(f"Seconds from the start of the first step to the end of the first step whose "
          f"training PSNR (10 log10(4 / that step's full-batch loss), i.e. the model before "
          f"its update; no separate evaluation on either side) reaches the mark; median of "
          f"{ttq_runs} run(s) (seeds {meta['ttq_seeds']}), interleaved as: "
          + "; ".join(TTQ_LABELS[k] for k in impls_of("ttq")) + ".\n")
        head = "| implementation | " + " | ".join(f"s to {m:g} dB (step)" for m in marks)
        head += (f" | ms/step | peak RSS (MiB) | PyTorch s to {top:g} dB / this |")
        w(head)
        w("|---|" + "---:|" * (len(marks) + 3))
        for key in impls_of("ttq"):
            cells = []
            for m in marks:
                v, k = ttq[(key, m)]
                cells.append(f"not reached (reached in {k} of {ttq_runs} runs)" if v is None
                             else f"{v[1]:.1f} ({v[0]:g})")
            ms = statistics.median(ms_of(key, j) for j in res[(key, "ttq")])
            r = ttq_ratio(key, top)
            w(f"| {TTQ_LABELS[key]} | " + " | ".join(cells)
              + f" | {ms:.1f} | {mib(max(rss[(key, 'ttq')]))} | " + fmt_ratio(r) + " |")
        w("")
        ttq_siren = [k for k in impls_of("ttq") if k != "torch"]
        ttq_short = {"siren": "SIREN init", "siren_tuner": "TUNER first layer",
                     "siren_tuner_bf16": "TUNER first layer, bf16 products"}
        for key in ttq_siren:
            r = ttq_ratio(key, top)
            w(f"**PyTorch official seconds to {top:g} dB / siren seconds to {top:g} dB "
              f"({ttq_short[key]}): "
              + ("n/a (a side did not reach it in every run)" if r is None else fmt_ratio(r))
              + "**  ")
        if BF16:
            b = ttq[("siren_tuner_bf16", top)][0]
            f = ttq[("siren_tuner", top)][0]
            w("")
            w(f"TUNER first layer, bf16 products against fp32: "
              + (f"seconds to {top:g} dB {b[1]:.1f} against {f[1]:.1f} (fp32 / bf16 = "
                 f"{f[1] / b[1]:.2f}), steps {b[0]:g} against {f[0]:g}"
                 if b is not None and f is not None else
                 f"n/a (a side did not reach {top:g} dB in every run)"))
        if any((r := ttq_ratio(k, top)) is not None and r[1] for k in ttq_siren):
            w("")
            w(f"'> x': PyTorch did not reach {top:g} dB within {steps['ttq']} steps; x uses "
              f"its whole run's time, a lower bound.")
        w("")
        if ttq_runs > 1:
            w("Per run (seconds to each mark, step):\n")
            w("| run | " + " | ".join(TTQ_LABELS[k] for k in impls_of("ttq")) + " |")
            w("|---|" + "---|" * len(impls_of("ttq")))
            for r in range(ttq_runs):
                cells = []
                for key in impls_of("ttq"):
                    mk = res[(key, "ttq")][r]["marks_"]
                    cells.append("; ".join(f"{m:g} dB: " + ("—" if mk[m] is None else
                                                            f"{mk[m][1]:.1f} s ({mk[m][0]})")
                                           for m in marks))
                w(f"| {r + 1} (seed {meta['ttq_seeds'].split(',')[r]}) | "
                  + " | ".join(cells) + " |")
            w("")

    # one section per step task
    for t in step_tasks:
        torch_ms = med[("torch", t)][0]
        w(f"## {t}: {TITLES[t]}, {steps[t]} steps\n")
        w(f"Target: {TARGETS[t]}" + (f" (n = {side})" if t in ("image", "grad", "lapl") else "")
          + f". FLOPs per step: {flops[t] / 1e9:.3f} GFLOP.\n")
        qname = f"last loss" if t == "sdf" else f"PSNR after {steps[t]} steps (dB)"
        pk_head = ("% of peak (fp32 rows: FMA; bf16 rows: bf16 dot product; "
                   f"{fma['threads']} cores)" if BF16 else f"% of FMA peak ({fma['threads']} cores)")
        w(f"| implementation | ms/step | GFLOP/s | {pk_head} "
          f"| {qname} | torch ms / this ms | mean ms/step | torch mean / this mean "
          f"| peak RSS (MiB) |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for key in impls_of(t):
            ms, qv = med[(key, t)]
            gf = gflops(key, t)
            w(f"| {LABELS[key]} | {ms:.1f} | {gf:.1f} | {pct(key, t)} | "
              f"{qv:.4g} | {torch_ms / ms:.2f} | {mean[(key, t)]:.1f} | "
              f"{mean[('torch', t)] / mean[(key, t)]:.2f} | {mib(max(rss[(key, t)]))} |")
        w("")
        if BF16:
            w(f"**{bf16_line(t)}**\n")
        w("Per run (ms/step; quality; loss after the last step; peak RSS):\n")
        w("| run | " + " | ".join(LABELS[k] for k in impls_of(t)) + " |")
        w("|---|" + "---|" * len(impls_of(t)))
        for r in range(runs):
            cells = []
            for key in impls_of(t):
                j = res[(key, t)][r]
                loss = f"; loss {float(j['loss']):.4g}" if "loss" in j and t != "sdf" else ""
                qv = fmt_quality(t, quality_of(t, j))
                mem = f"; {mib(rss[(key, t)][r])} MiB"
                if key == "torch":
                    c = (f"{float(j['ms_per_step']):.1f} ms; {qv}{loss}{mem} "
                         f"(mean {float(j['ms_per_step_mean']):.1f} ms)")
                else:
                    c = (f"{float(j['ms_per_step_median']):.1f} ms; {qv}{loss}{mem} (mean "
                         f"{float(j['ms_per_step']):.1f} ms, {float(j['seconds']):.1f} s total)")
                cells.append(c)
            w(f"| {r + 1} (seed {meta['seeds'].split(',')[r]}) | " + " | ".join(cells) + " |")
        w("")

    def verdict(ok, who, lab=LABELS):
        if ok is None:
            return "not checked"
        if who is None:
            return met(ok)
        return f"met by {lab[who]}" if ok else f"NOT met (best: {lab[who]})"

    w("## Goals\n")
    w("Issue 9 (done when; same run, same machine; each judged on the best siren row, "
      "named):\n")
    for desc, ok, who in goals:
        w(f"- {desc}: " + verdict(ok, who, TTQ_LABELS if desc.startswith("ttq") else LABELS))
    if bf16_goals:
        w(f"\nIssue 9's condition for keeping --precision bf16 (PSNR less than "
          f"{BF16_PSNR_LOSS_MAX} dB below siren fp32's, same seeds and steps; median of the "
          f"per-seed differences):\n")
        for desc, ok, who in bf16_goals:
            w(f"- {desc}: " + ("not checked" if ok is None else met(ok)))
    if earlier:
        w("\nEarlier goals, kept (siren, env as is, fp32):\n")
        for desc, ok, who in earlier:
            w(f"- {desc}: " + verdict(ok, who))
    w("")

    w("## Commands (R = run number, seed = R - 1)\n")
    w("Each run under `bench/maxrss.py RAW/IMPL.TASK.R.rss ...` (its peak RSS).\n")
    w("```")
    for t in tasks:
        for key in impls_of(t):
            lab = TTQ_LABELS[key] if t == "ttq" else LABELS[key]
            w(f"# {t}, {lab}\n{meta['cmd_' + key + '_' + t]}")
    w(f"# FMA peak" + (" and bf16 dot-product peak" if fma["bf16_gflops_all"] is not None
                       else "") + f"\n{meta['cmd_fma']}")
    w("```")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(raw, "..", "results.md"), "w") as f:
        f.write(text)
    if os.environ.get("BENCH_STRICT") == "1" and any(ok is False for _, ok, _ in goals + earlier + bf16_goals):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

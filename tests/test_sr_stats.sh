#!/bin/sh
# siren sr (super-resolution against bicubic) and siren stats (per-layer
# activation statistics): the files and sizes they write, the bicubic
# baseline against PIL's, the grid alignment of the SIREN render, the
# statistics against an independent NumPy forward pass and the SIREN
# paper's claims about its initialisation, and the usage errors.
. "$(dirname "$0")/lib.sh"


$PY -c "from PIL import Image; Image.open('data/camera.png').convert('L').resize((64, 64), Image.BOX).save('$T/cam64.png')"
$PY -c "from PIL import Image; Image.new('L', (40, 40), 128).save('$T/flat40.png')"

# ------------------------------------------------------------------- sr
check "sr --help" sh -c "$S sr --help | grep -q -- --scale"
$S sr "$T/cam64.png" --scale 2,4 --steps 200 --hidden 64 --threads 1 --quiet --json \
    -o "$T/sr" >"$T/sr.json" 2>"$T/sr.err"
check "sr --scale 2,4 succeeds quietly with one JSON line" sh -c \
    "test \$(wc -l <'$T/sr.json') -eq 1 && test ! -s '$T/sr.err'"
check "sr writes every file with the stated sizes" $PY - "$T/sr" <<'EOF'
import os, sys
from PIL import Image
d = sys.argv[1]
want = {"lowres.png": None, "bicubic.png": (64, 64), "siren.png": (64, 64),
        "side_by_side.png": (4 * 64 + 3 * 4, 64)}
for s in (2, 4):
    sub = os.path.join(d, "x%d" % s)
    for f in ("model.safetensors", "sr.csv", "sr.md"):
        assert os.path.getsize(os.path.join(sub, f)) > 0, f
    for f, size in want.items():
        size = size or (64 // s, 64 // s)
        got = Image.open(os.path.join(sub, f)).size
        assert got == size, (s, f, got, size)
    # side by side: white gaps, the original first
    sbs = Image.open(os.path.join(sub, "side_by_side.png")).convert("L")
    assert all(sbs.getpixel((64 + k, y)) == 255 for k in range(4) for y in range(64))
for f in ("sr.csv", "sr.md"):
    assert os.path.getsize(os.path.join(d, f)) > 0, f
assert not [f for f in os.listdir(d) if ".tmp." in f]
EOF
check "sr.csv parses: header, a bicubic and a siren row per scale" $PY - "$T/sr" <<'EOF'
import csv, math, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "sr.csv"))))
assert [(r["scale"], r["method"]) for r in rows] == [
    ("2", "bicubic"), ("2", "siren"), ("4", "bicubic"), ("4", "siren")], rows
for r in rows:
    assert 10 < float(r["psnr_db"]) < 60 and 0 < float(r["ssim"]) <= 1, r
    assert (int(r["width"]), int(r["height"])) == (64, 64)
    assert int(r["lowres_width"]) * int(r["scale"]) == 64
    assert int(r["steps"]) == (200 if r["method"] == "siren" else 0)
    assert math.isfinite(float(r["seconds"]))
sub = list(csv.DictReader(open(os.path.join(d, "x4", "sr.csv"))))
assert sub == rows[2:], (sub, rows[2:])
md = open(os.path.join(d, "sr.md")).read()
assert "| x2 | 32x32 |" in md and "| x4 | 16x16 |" in md, md
EOF
check "sr --json has the numbers of sr.csv" $PY - "$T/sr.json" "$T/sr/sr.csv" <<'EOF'
import csv, json, sys
o = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert [r["scale"] for r in o["results"]] == [2, 4]
for k, r in enumerate(o["results"]):
    for m in ("bicubic", "siren"):
        row = rows[2 * k + (m == "siren")]
        assert abs(r[m]["psnr_db"] - float(row["psnr_db"])) < 1e-3
        assert abs(r[m]["ssim"] - float(row["ssim"])) < 1e-5
    assert r["lowres_width"] == 64 // r["scale"] and r["siren"]["steps"] == 200
EOF
# Bicubic: stb's Catmull-Rom on pixel centres is PIL's BICUBIC (Keys
# a = -0.5) with the same geometry; they differ only at the borders (stb
# repeats the edge pixel, PIL renormalises the cut kernel) and in rounding.
check "bicubic PSNR within 0.5 dB of PIL's Image.resize(BICUBIC)" $PY - "$T" <<'EOF'
import csv, os, sys
import numpy as np
from PIL import Image
t = sys.argv[1]
orig = np.asarray(Image.open(os.path.join(t, "cam64.png")), dtype=float) / 255
rows = {(r["scale"], r["method"]): r for r in csv.DictReader(open(os.path.join(t, "sr", "sr.csv")))}
for s in (2, 4):
    lo = Image.open(os.path.join(t, "sr", "x%d" % s, "lowres.png"))
    up = np.asarray(lo.resize((64, 64), Image.BICUBIC), dtype=float) / 255
    pil = 10 * np.log10(1 / np.mean((orig - up) ** 2))
    ours = float(rows[(str(s), "bicubic")]["psnr_db"])
    assert abs(pil - ours) < 0.5, (s, pil, ours)
    print("# x%d: bicubic %.3f dB, PIL %.3f dB" % (s, ours, pil))
EOF
# The SIREN render samples the full-resolution pixel centres in the frame
# where each low-res pixel is centred on the block it averages: area-
# averaging the render gives back the low-res image, far better than the
# render shifted by one full-res pixel.
check "siren.png is aligned with the low-res pixels" $PY - "$T/sr/x2" <<'EOF'
import os, sys
import numpy as np
from PIL import Image
d = sys.argv[1]
sr = np.asarray(Image.open(os.path.join(d, "siren.png")), dtype=float) / 255
lo = np.asarray(Image.open(os.path.join(d, "lowres.png")), dtype=float)[1:-1, 1:-1] / 255
def psnr(img):
    a = img.reshape(32, 2, 32, 2).mean((1, 3))[1:-1, 1:-1]
    return 10 * np.log10(1 / np.mean((a - lo) ** 2))
aligned = psnr(sr)
shifted = max(psnr(np.roll(sr, k, (0, 1))) for k in (-1, 1))
assert aligned > 30 and aligned > shifted + 5, (aligned, shifted)
EOF
$S render "$T/sr/x4/model.safetensors" -o "$T/render4.png"
check "model.safetensors renders siren.png at its default (full) size" cmp -s "$T/render4.png" "$T/sr/x4/siren.png"
$S eval "$T/sr/x4/model.safetensors" "$T/cam64.png" --json >"$T/eval4.json"
check "eval of model.safetensors against the original gives sr's siren PSNR" $PY -c "
import json, sys
e = json.load(open(sys.argv[1])); o = json.load(open(sys.argv[2]))
sys.exit(0 if abs(e['psnr_db'] - o['results'][1]['siren']['psnr_db']) < 0.01 else 1)" "$T/eval4.json" "$T/sr.json"

# One scale: the files in DIR itself; a size not a multiple is cropped.
$PY -c "from PIL import Image; Image.open('$T/cam64.png').crop((0, 0, 62, 61)).save('$T/cam62x61.png')"
$S sr "$T/cam62x61.png" --scale 4 --steps 20 --hidden 32 --threads 1 --quiet -o "$T/one" >/dev/null
check "one scale: flat DIR, cropped to 60x60 from 15x15" $PY -c "
import os, sys
from PIL import Image
d = sys.argv[1]
ok = (Image.open(d + '/lowres.png').size == (15, 15) and Image.open(d + '/siren.png').size == (60, 60)
      and Image.open(d + '/side_by_side.png').size == (252, 60) and os.path.isfile(d + '/model.safetensors')
      and not os.path.exists(d + '/x4'))
sys.exit(0 if ok else 1)" "$T/one"

expect_fail "sr without IMG" 2 "IMG" - -- $S sr --scale 2 -o "$T/e"
expect_fail "sr without --scale" 2 "scale" - -- $S sr "$T/cam64.png" -o "$T/e"
expect_fail "sr --scale 1" 2 "scale" - -- $S sr "$T/cam64.png" --scale 1 -o "$T/e"
expect_fail "sr --scale x" 2 "scale" - -- $S sr "$T/cam64.png" --scale x -o "$T/e"
expect_fail "sr --scale 2,,4" 2 "scale" - -- $S sr "$T/cam64.png" --scale 2,,4 -o "$T/e"
expect_fail "sr --scale 2 --scale 2" 2 "twice" - -- $S sr "$T/cam64.png" --scale 2 --scale 2 -o "$T/e"
expect_fail "sr without -o" 2 "-o" - -- $S sr "$T/cam64.png" --scale 2
expect_fail "sr on a missing image" 1 "nothere.png" - -- $S sr "$T/nothere.png" --scale 2 -o "$T/e"
expect_fail "sr scale too large for the image" 1 "too small" - -- $S sr "$T/flat40.png" --scale 32 -o "$T/e"
check "failed sr runs wrote nothing" test ! -e "$T/e"

# ---------------------------------------------------------------- stats
check "stats --help" sh -c "$S stats --help | grep -q -- --points"
$S stats --arch siren --points 8192 --threads 1 --json -o "$T/hist.png" >"$T/st.json"
$S stats --arch siren --points 8192 --threads 1 >"$T/st.txt"
check "stats: SIREN init, every hidden layer's activation std in [0.6, 0.8], pre-activation std in [0.8, 2.5]" $PY - "$T/st.json" "$T/st.txt" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
L = o["layers"]
assert [l["kind"] for l in L] == ["sine"] * 4 + ["linear"], L
for l in L[1:-1]:
    assert 0.6 <= l["act_std"] <= 0.8 and 0.8 <= l["pre_std"] <= 2.5, l
    assert abs(l["act_mean"]) < 0.1 and abs(l["pre_mean"]) < 0.3, l
assert 0.6 <= L[0]["act_std"] <= 0.8
# the printed table: the same numbers, one line per layer
rows = [r.split() for r in open(sys.argv[2]) if r.split() and r.split()[0].isdigit()]
assert len(rows) == 5, rows
for l, r in zip(L[:-1], rows):
    assert abs(float(r[-1]) - l["act_std"]) < 1e-3 and abs(float(r[-3]) - l["pre_std"]) < 1e-3, (l, r)
EOF
check "stats -o: one row of two panels per layer" $PY -c "
from PIL import Image; import sys
sys.exit(0 if Image.open(sys.argv[1]).size == (2 * 256 + 3 * 4, 5 * 96 + 6 * 4) else 1)" "$T/hist.png"
# N(0, 1) weights: omega_0 W x is hundreds wide; sin wraps that back onto
# the arcsine law, so the activations' std does not show it, the
# pre-activations' does.
$S stats --arch siren --init normal --points 8192 --threads 1 --json >"$T/st_normal.json"
check "stats --init normal: hidden pre-activation std > 50 (SIREN init: < 2.5)" $PY -c "
import json, sys
L = json.load(open(sys.argv[1]))['layers']
sys.exit(0 if all(l['pre_std'] > 50 for l in L[1:-1]) else 1)" "$T/st_normal.json"
# A uniform init without omega_0 in it and hidden omega_0 1: the
# activations shrink layer after layer instead of keeping their law.
$S stats --arch siren --init xavier-uniform --omega0-hidden 1 --layers 6 --points 4096 \
    --threads 1 --json >"$T/st_xu.json"
check "stats --init xavier-uniform --omega0-hidden 1: activation std decays through depth below 0.45" $PY -c "
import json, sys
a = [l['act_std'] for l in json.load(open(sys.argv[1]))['layers'][1:-1]]
sys.exit(0 if all(x > y for x, y in zip(a, a[1:])) and a[-1] < 0.45 else 1)" "$T/st_xu.json"

# A model file, checked against a forward pass in NumPy on its own points.
for arch in siren relu-pe; do
    $S fit image "$T/cam64.png" --arch $arch --hidden 32 --steps 3 --threads 1 --quiet -o "$T/$arch.safetensors"
    $S stats "$T/$arch.safetensors" --points 20000 --threads 1 --json >"$T/st_$arch.json"
    check "stats MODEL ($arch) matches a NumPy forward pass" $PY - "$T/$arch.safetensors" "$T/st_$arch.json" <<'EOF'
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
meta = head.pop("__metadata__")
def tensor(name):
    t = head[name]
    a, b = t["data_offsets"]
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(t["shape"]).astype(np.float64)
names = sorted({k.rsplit(".", 1)[0] for k in head}, key=lambda k: int(k.split(".")[1]))
enc = meta.get("encoding", "none") != "none"
act = meta["activation"]
o = json.load(open(sys.argv[2]))["layers"]
assert len(o) == len(names), (len(o), names)
h = np.random.default_rng(1).uniform(-1, 1, (40000, 2))
for l, name in enumerate(names):
    z = h @ tensor(name + ".weight").T + tensor(name + ".bias")
    last = l == len(names) - 1
    if last:
        pre = a = z
    elif enc and l == 0:
        pre = z; a = np.sin(z)
    elif act == "sine":
        pre = float(meta["first_omega_0" if l == enc else "hidden_omega_0"]) * z; a = np.sin(pre)
    elif act == "relu":
        pre = z; a = np.maximum(z, 0)
    else:
        pre = z; a = np.tanh(z)
    for key, v in (("pre", pre), ("act", a)):
        m, s = o[l][key + "_mean"], o[l][key + "_std"]
        assert abs(s - v.std()) < 0.03 * v.std() + 1e-3, (l, key, s, v.std())
        assert abs(m - v.mean()) < 0.03 * v.std() + 1e-3, (l, key, m, v.mean())
    h = a
EOF
done

expect_fail "stats without MODEL or --arch" 2 "MODEL" - -- $S stats
expect_fail "stats MODEL with --arch" 2 "MODEL" - -- $S stats "$T/siren.safetensors" --arch relu
expect_fail "stats on a missing model" 1 "nothere.safetensors" - -- $S stats "$T/nothere.safetensors"
expect_fail "stats --points 0" 2 "points" - -- $S stats --arch siren --points 0
expect_fail "stats --arch bogus" 2 "bogus" - -- $S stats --arch bogus
expect_fail "stats -o not a PNG" 2 "png" - -- $S stats --arch siren -o "$T/h.jpg"

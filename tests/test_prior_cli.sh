#!/bin/sh
# `siren prior train|complete|eval` end to end on a small set made here (an
# IDX file of 100 16x16 images of rectangles, and a folder of pictures):
# the JSON of each command, the PSNR rising with the context, the panel's
# size, the generated SIREN as a model siren eval reads, resume from a
# checkpoint giving the same prior file as a run never stopped, and the
# exit status and message of bad files (1) and bad command lines (2).
. "$(dirname "$0")/lib.sh"

"$PY" - "$T" <<'PYEOF'
import random, struct, sys, os
from PIL import Image
t = sys.argv[1]
random.seed(5)
n, s = 100, 16
data = bytearray()
for i in range(n):
    img = [[0] * s for _ in range(s)]
    r0, c0 = random.randint(1, 5), random.randint(1, 5)
    r1, c1 = r0 + random.randint(5, 9), c0 + random.randint(4, 9)
    v = random.randint(120, 255)
    for y in range(r0, min(r1, s)):
        for x in range(c0, min(c1, s)):
            img[y][x] = v
    for row in img:
        data += bytes(row)
with open(f"{t}/set.idx", "wb") as f:
    f.write(b"\0\0\x08\x03" + struct.pack(">III", n, s, s) + data)
os.mkdir(f"{t}/pics")
for i in range(3):
    im = Image.frombytes("L", (s, s), bytes(data[i * s * s:(i + 1) * s * s]))
    im.resize((24 + 8 * i, 20)).convert("RGB" if i else "L").save(f"{t}/pics/{i}.png")
    if i == 0:
        im.save(f"{t}/img.png")
os.mkdir(f"{t}/rgb")
Image.new("RGB", (s, s), (200, 10, 10)).save(f"{t}/rgb/a.png")
mask = Image.new("L", (s, s), 0)
mask.paste(255, (0, 0, s, s // 2))
mask.save(f"{t}/mask.png")
PYEOF

SMALL="--hidden 16 --layers 1 --latent 32 --encoder-hidden 32 --encoder-layers 1 --hyper-hidden 32 --batch 20 --lr 1e-3 --threads 1"
# shellcheck disable=SC2086
if "$S" prior train "$T/set.idx" $SMALL --epochs 20 --json -o "$T/p.safetensors" >"$T/train.json" 2>"$T/err" &&
   "$S" prior eval "$T/p.safetensors" "$T/set.idx" --context 10,100,200 --threads 1 --json \
       --panel "$T/panel.png" --panel-images 3 >"$T/eval.json" 2>>"$T/err" &&
   "$PY" - "$T" <<'PYEOF'
import json, struct, sys
t = sys.argv[1]
tr, ev = json.load(open(f"{t}/train.json")), json.load(open(f"{t}/eval.json"))
assert tr["images"] == 100 and tr["size"] == 16 and tr["steps"] == 100 and tr["epochs"] == 20, tr
assert tr["images_per_s"] > 0 and tr["siren_params"] == 16 * 2 + 16 + 16 * 16 + 16 + 16 + 1, tr
assert ev["context"] == [10, 100, 200] and ev["images"] == 100, ev
p = ev["psnr_db"]
assert p[0] + 1 < p[1] <= p[2] + 0.5, p
w, h = struct.unpack(">II", open(f"{t}/panel.png", "rb").read()[16:24])
assert (w, h) == (7 * 64 + 8 * 4, 3 * 64 + 4 * 4), (w, h)
print(f"ok - prior train/eval: {tr['images_per_s']:.0f} images/s; PSNR {p[0]:.2f}, {p[1]:.2f}, "
      f"{p[2]:.2f} dB from 10, 100, 200 context pixels; panel {w}x{h}")
PYEOF
then :; else notok "prior train/eval: $(cat "$T/err" "$T/train.json" "$T/eval.json")"; fi

# siren info on a prior: the parameter counts against the file's own tensors
# (every element of every tensor; the generated SIREN's from its shapes)
if "$S" info "$T/p.safetensors" --json >"$T/info.json" && "$PY" - "$T" <<'PYEOF'
import json, struct, sys
t = sys.argv[1]
o = json.load(open(f"{t}/info.json"))
b = open(f"{t}/p.safetensors", "rb").read()
h = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]]); h.pop("__metadata__")
n = 0
for v in h.values():
    k = 1
    for d in v["shape"]: k *= d
    n += k
H, L, C = o["hidden_features"], o["hidden_layers"], o["channels"]
sp = 2 * H + H + L * (H * H + H) + H * C + C
assert o["kind"] == "prior" and o["params"] == n and o["siren_params"] == sp, (o, n, sp)
print(f"ok - siren info on a prior: {n} parameters as in its tensors, a generated SIREN of {sp}")
PYEOF
then :; else notok "siren info on a prior: $(cat "$T/info.json")"; fi

# complete: random context, a mask, the generated SIREN as a model
if "$S" prior complete "$T/p.safetensors" "$T/img.png" --context 120 --seed 2 -o "$T/c.png" \
       --context-out "$T/ctx.png" --model "$T/m.safetensors" --size 32x32 --json >"$T/c.json" &&
   "$S" eval "$T/m.safetensors" "$T/img.png" --json >"$T/e.json" &&
   "$S" prior complete "$T/p.safetensors" "$T/img.png" --mask "$T/mask.png" -o "$T/cm.png" \
       --json >"$T/cm.json" &&
   "$PY" - "$T" <<'PYEOF'
import json, struct, sys
t = sys.argv[1]
c, e, cm = (json.load(open(f"{t}/{n}.json")) for n in ("c", "e", "cm"))
size = lambda f: struct.unpack(">II", open(f"{t}/{f}", "rb").read()[16:24])
assert c["context"] == 120 and c["psnr_db"] > 10, c
assert cm["context"] == 128, cm
assert size("c.png") == (32, 32) and size("ctx.png") == (16, 16), (size("c.png"), size("ctx.png"))
# siren eval's PSNR is on [-1, 1] with the output unclamped: close to ours
assert abs(e["psnr_db"] - c["psnr_db"]) < 1.0, (e, c)
print(f"ok - prior complete: {c['psnr_db']:.2f} dB from 120 pixels, {cm['psnr_db']:.2f} dB "
      f"from the top half (--mask); the generated SIREN is a model siren eval reads "
      f"({e['psnr_db']:.2f} dB)")
PYEOF
then :; else notok "prior complete: $(cat "$T"/c.json "$T"/e.json "$T"/cm.json 2>&1)"; fi

# a folder of pictures of other sizes, gray and RGB, as a set
# shellcheck disable=SC2086
if "$S" prior train "$T/pics" --size 16 $SMALL --json -o "$T/f.safetensors" >"$T/f.json" &&
   grep -q '"images":3,"size":16,"channels":1' "$T/f.json"; then
    ok "prior train on a folder of pictures (resized, RGB to gray)"
else notok "prior train on a folder: $(cat "$T/f.json")"; fi

# resume: 2 epochs with a checkpoint, then on to 4, is the 4-epoch run
# shellcheck disable=SC2086
if "$S" prior train "$T/set.idx" $SMALL --epochs 4 --quiet -o "$T/r4.safetensors" &&
   "$S" prior train "$T/set.idx" $SMALL --epochs 2 --quiet --checkpoint "$T/ck" -o "$T/r2.safetensors" &&
   "$S" prior train "$T/set.idx" $SMALL --epochs 4 --quiet --resume "$T/ck" -o "$T/rr.safetensors" &&
   cmp -s "$T/r4.safetensors" "$T/rr.safetensors"; then
    ok "prior train --resume from the checkpoint of 2 epochs to 4 writes the 4-epoch prior byte for byte"
else notok "prior train --resume"; fi

# errors: files (exit 1, naming the file) and command lines (exit 2), one
# line on stderr and no output
head -c 100 "$T/p.safetensors" >"$T/trunc.safetensors"
X=$T/x.safetensors
expect_fail "a truncated prior is refused, naming it" 1 trunc.safetensors - -- \
    "$S" prior eval "$T/trunc.safetensors" "$T/set.idx"
expect_fail "a model file is not a prior" 1 "not a siren prior" - -- \
    "$S" prior eval "$T/m.safetensors" "$T/set.idx"
expect_fail "a missing dataset is named" 1 nothere "$X" -- \
    "$S" prior train "$T/nothere" -o "$X"
expect_fail "a set of RGB images is refused by a gray prior" 1 channel - -- \
    "$S" prior eval "$T/p.safetensors" "$T/rgb" --context 5
# shellcheck disable=SC2086
expect_fail "resuming another run's checkpoint is refused" 1 "another run" "$X" -- \
    "$S" prior train "$T/set.idx" $SMALL --seed 9 --resume "$T/ck" -o "$X"
expect_fail "complete with a mask that keeps nothing is refused" 1 "keeps no pixel" "$T/x.png" -- \
    "$S" prior complete "$T/p.safetensors" "$T/img.png" --mask "$T/rgb/a.png" -o "$T/x.png"
"$S" prior >/dev/null 2>&1
[ $? -eq 2 ] && ok "prior without a command is a usage error" ||
    notok "prior without a command: not exit 2"
expect_fail "an unknown prior command is a usage error" 2 "unknown command" - -- "$S" prior fit
expect_fail "prior train without -o is a usage error" 2 "missing -o" - -- \
    "$S" prior train "$T/set.idx"
expect_fail "--context MIN above MAX is a usage error" 2 "above MAX" "$X" -- \
    "$S" prior train "$T/set.idx" --context 50,10 -o "$X"
expect_fail "--context past the image's pixels is a usage error" 2 pixels "$X" -- \
    "$S" prior train "$T/set.idx" --context 10,300 -o "$X"
expect_fail "complete with both --context and --mask is a usage error" 2 "one of" "$T/x.png" -- \
    "$S" prior complete "$T/p.safetensors" "$T/img.png" --context 5 --mask "$T/mask.png" -o "$T/x.png"
expect_fail "eval --context with a bad number is a usage error" 2 "not an integer" - -- \
    "$S" prior eval "$T/p.safetensors" "$T/set.idx" --context 10,x
expect_fail "an unknown option is a usage error" 2 "unknown option" - -- \
    "$S" prior eval "$T/p.safetensors" "$T/set.idx" --bogus

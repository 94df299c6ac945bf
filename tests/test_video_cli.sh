#!/bin/sh
# The video commands end to end (CLI.md): `siren fit video` on a folder of
# PNG frames made by Python (PIL), `siren eval` (psnr_db, per frame),
# `siren render` to a frame pattern at twice the frame rate and a larger
# size (read back by PIL, the even frames compared with the fitted frames'
# renders), `.npy` renders, and bad inputs and command lines.
. "$(dirname "$0")/lib.sh"
# 6 RGB frames of 20x16: a red disc moving right over a blue gradient
"$PY" - "$T" <<'PYEOF'
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
import os
os.makedirs(f"{d}/frames")
H, W, F = 16, 20, 6
y, x = np.mgrid[0:H, 0:W]
for f in range(F):
    img = np.zeros((H, W, 3))
    img[..., 2] = x / (W - 1)
    cx = 4 + 2.4 * f
    inside = (x - cx) ** 2 + (y - 8) ** 2 < 16
    img[inside] = [0.9, 0.1, 0.1]
    Image.fromarray((img * 255).round().astype(np.uint8)).save(f"{d}/frames/f{f}.png")
os.makedirs(f"{d}/mixed")
Image.new("L", (8, 8)).save(f"{d}/mixed/a1.png")
Image.new("L", (8, 9)).save(f"{d}/mixed/a2.png")
PYEOF
SMALL="--hidden 64 --layers 2 --threads 1 --quiet"
if "$S" fit video "$T/frames" -o "$T/v.safetensors" --steps 300 --lr 1e-3 --sample-frac 0.5 $SMALL --json >"$T/fit.json" 2>"$T/err" &&
   "$PY" -c "import json,sys; o=json.load(open('$T/fit.json')); sys.exit(0 if o['task']=='video' and o['frames']==6 and o['channels']==3 and o['psnr_db']>28 else 1)"; then
    ok "fit video, 6 RGB frames, 300 steps at half the voxels per step, PSNR above 28 dB: $(cut -c1-240 "$T/fit.json")"
else
    notok "fit video: $(cat "$T/err" "$T/fit.json")"
fi
if "$S" eval "$T/v.safetensors" "$T/frames" --json >"$T/ev.json" 2>"$T/err" &&
   "$PY" -c "
import json, sys
o = json.load(open('$T/ev.json')); f = json.load(open('$T/fit.json'))
p = o['psnr_db_per_frame']
sys.exit(0 if len(p) == 6 and abs(sum(p) / 6 - o['psnr_db']) < 1e-9 and o['psnr_all_db'] >= f['psnr_db'] - 1e-6 else 1)"; then
    ok "eval video: 6 per-frame PSNRs, their mean, overall at least the fit's (clamping to [0, 1] only helps): $(cut -c1-200 "$T/ev.json")"
else
    notok "eval video: $(cat "$T/err" "$T/ev.json")"
fi
# twice the frame rate (11 frames) at twice the size; the odd-numbered files
# (frames 0, 2, ... counted from 0) are the fitted frames at 40x32
if "$S" render "$T/v.safetensors" -o "$T/out/%03d.png" --frames 11 --size 40x32 2>"$T/err" &&
   "$S" render "$T/v.safetensors" -o "$T/same/%03d.png" --size 40x32 2>>"$T/err" &&
   "$PY" - "$T" <<'PYEOF'
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
import os
names = sorted(os.listdir(f"{d}/out"))
assert names == ["%03d.png" % k for k in range(1, 12)], names
for k in range(6):
    a = np.asarray(Image.open(f"{d}/out/%03d.png" % (2 * k + 1)), dtype=float)
    b = np.asarray(Image.open(f"{d}/same/%03d.png" % (k + 1)), dtype=float)
    assert a.shape == (32, 40, 3), a.shape
    assert np.abs(a - b).max() <= 1, (k, np.abs(a - b).max())
PYEOF
then
    ok "render video: 11 frames at 40x32, the odd files equal the 6 fitted frames' renders"
else
    notok "render video: $(cat "$T/err")"
fi
if "$S" render "$T/v.safetensors" -o "$T/v.npy" --frames 3 2>"$T/err" &&
   "$PY" -c "
import numpy as np, sys
a = np.load('$T/v.npy'); sys.exit(0 if a.shape == (3, 16, 20, 3) and a.min() >= 0 and a.max() <= 1 else 1)"; then
    ok "render video to .npy: (frames, H, W, 3) in [0, 1]"
else
    notok "render video to .npy: $(cat "$T/err")"
fi
expect_fail "frames of different sizes" 1 "a2.png" "$T/m.safetensors" -- "$S" fit video "$T/mixed" -o "$T/m.safetensors" --steps 1 --quiet
expect_fail "a missing folder" 1 "cannot open" "$T/m.safetensors" -- "$S" fit video "$T/nothing_here" -o "$T/m.safetensors" --steps 1 --quiet
mkdir "$T/empty"
expect_fail "a folder without frames" 1 "no PNG" "$T/m.safetensors" -- "$S" fit video "$T/empty" -o "$T/m.safetensors" --steps 1 --quiet
printf 'no video' >"$T/clip.mp4"
expect_fail "a video file and no ffmpeg on PATH" 1 "needs ffmpeg" "$T/m.safetensors" -- env PATH="$T/empty" "$S" fit video "$T/clip.mp4" -o "$T/m.safetensors" --steps 1 --quiet
expect_fail "--sample-frac for an image task" 2 "video task" "$T/m.safetensors" -- "$S" fit image "$T/frames/f0.png" -o "$T/m.safetensors" --sample-frac 0.1
expect_fail "--sample-frac and --batch together" 2 "give one" "$T/m.safetensors" -- "$S" fit video "$T/frames" -o "$T/m.safetensors" --sample-frac 0.1 --batch 10
expect_fail "--sample-frac above 1" 2 "sample-frac" "$T/m.safetensors" -- "$S" fit video "$T/frames" -o "$T/m.safetensors" --sample-frac 2
expect_fail "a frame pattern for an image model" 1 "video model" - -- sh -c "'$S' fit image '$T/frames/f0.png' -o '$T/img.safetensors' --steps 2 --hidden 16 --quiet && '$S' render '$T/img.safetensors' -o '$T/x/%04d.png'"
expect_fail "a bad frame pattern" 2 "pattern" - -- "$S" render "$T/v.safetensors" -o "$T/x/%s.png"

#!/bin/sh
# Inpainting end to end (siren fit image --keep-frac/--mask/--prior): on the
# camera at 64x64, a fit of 10% of the pixels is good on them and poor on
# the rest (the PSNR over all pixels, which fit --json and `siren eval`
# report, is far below the kept pixels'); the metadata records it; the
# priors run; --save-mask writes the kept pixels and --mask reads them back
# to the same model; a mask keeps exactly its white pixels (pixels outside
# it change nothing, one inside does); bad fractions, masks and priors
# fail with exit 1 or 2 and a message naming the problem, leaving no model.
BUILD=${BUILD:-build}
S=$BUILD/siren
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
expect_fail() { # NAME CODE WORD OUTFILE -- CMD...
    name=$1 code=$2 word=$3 out=$4; shift 5
    "$@" >"$T/stdout" 2>"$T/stderr"
    rc=$?
    if [ "$rc" -ne "$code" ]; then notok "$name: exit $rc, expected $code ($(head -c 300 "$T/stderr"))"
    elif ! grep -q -- "$word" "$T/stderr"; then notok "$name: stderr lacks '$word': $(cat "$T/stderr")"
    elif [ "$out" != "-" ] && [ -e "$out" ]; then notok "$name: left $out behind"
    else ok "$name (exit $code: $(head -n1 "$T/stderr"))"; fi
}
CAM=data/camera.png
FAST="--threads 1 --quiet"

# 10% of the camera at 64x64, no prior
if "$S" fit image "$CAM" --size 64x64 --keep-frac 0.1 --steps 300 $FAST --json \
        -o "$T/k.safetensors" --save-mask "$T/kept.png" >"$T/fit.json" 2>"$T/err" &&
   "$PY" -c "
import json, sys
o = json.load(open('$T/fit.json'))
ok = (o['kept'] == 410 and o['pixels'] == 4096 and abs(o['keep_frac'] - 410 / 4096) < 1e-12
      and o['prior'] == 'none' and o['prior_weight'] is None and o['kept_from'] == 'random'
      and o['psnr_kept_db'] > 40 and o['psnr_db'] < o['psnr_kept_db'] - 15 and o['psnr_db'] > 12)
sys.exit(0 if ok else 1)"; then
    ok "fit 10% of camera 64x64: PSNR on the kept pixels far above that on all: $(cut -c1-400 "$T/fit.json" | sed 's/.*"psnr_db"/"psnr_db"/')"
else
    notok "fit --keep-frac 0.1: $(cat "$T/err" "$T/fit.json")"
fi
if "$S" eval "$T/k.safetensors" "$CAM" --size 64x64 --json >"$T/ev.json" 2>"$T/err" &&
   "$PY" -c "
import json, sys
e = json.load(open('$T/ev.json')); f = json.load(open('$T/fit.json'))
# eval clamps the render to [0, 1], which can only help
sys.exit(0 if f['psnr_db'] - 1e-6 <= e['psnr_db'] < f['psnr_kept_db'] - 15 and 0 < e['ssim'] < 0.9 else 1)"; then
    ok "eval against the whole image: $(cat "$T/ev.json")"
else
    notok "eval: $(cat "$T/err" "$T/ev.json")"
fi
if "$S" info "$T/k.safetensors" --json >"$T/info.json" 2>"$T/err" &&
   "$PY" -c "
import json, sys
m = json.load(open('$T/info.json'))['metadata']
sys.exit(0 if m['task'] == 'image' and m['keep_frac'] == '0.100097656' and m['kept'] == '410'
         and m['prior'] == 'none' and m['kept_from'] == 'random' else 1)"; then
    ok "the model's metadata: task image, keep_frac, kept, prior"
else
    notok "metadata: $(cat "$T/err" "$T/info.json")"
fi
if "$S" render "$T/k.safetensors" -o "$T/k.png" 2>"$T/err" &&
   "$PY" -c "
import sys, numpy as np
from PIL import Image
m = np.asarray(Image.open('$T/kept.png'))
r = Image.open('$T/k.png')
sys.exit(0 if m.shape == (64, 64) and (m == 255).sum() == 410 and (m == 0).sum() == 4096 - 410 and r.size == (64, 64) else 1)"; then
    ok "--save-mask writes the 410 kept pixels white, the others black; render works"
else
    notok "--save-mask or render: $(cat "$T/err")"
fi
# the saved mask read back: the same pixels, the same model
if "$S" fit image "$CAM" --size 64x64 --mask "$T/kept.png" --steps 300 $FAST --json \
        -o "$T/m.safetensors" >"$T/fitm.json" 2>"$T/err" &&
   "$S" render "$T/k.safetensors" -o "$T/k.npy" 2>>"$T/err" &&
   "$S" render "$T/m.safetensors" -o "$T/m.npy" 2>>"$T/err" && cmp -s "$T/k.npy" "$T/m.npy" &&
   "$PY" -c "
import json, sys
o = json.load(open('$T/fitm.json'))
sys.exit(0 if o['kept'] == 410 and o['kept_from'] == 'mask' else 1)"; then
    ok "--mask with the saved mask: 410 pixels kept, the same model (renders equal byte for byte)"
else
    notok "--mask from --save-mask: $(cat "$T/err" "$T/fitm.json")"
fi

# the priors run, record themselves and lower their own term
for p in tv hessian; do
    if "$S" fit image "$CAM" --size 64x64 --keep-frac 0.1 --prior $p --prior-weight 1e-4 \
            --prior-points 256 --steps 40 $FAST --json -o "$T/$p.safetensors" >"$T/$p.json" 2>"$T/err" &&
       "$S" info "$T/$p.safetensors" --json >"$T/$p.info" 2>>"$T/err" &&
       "$PY" -c "
import json, sys
o = json.load(open('$T/$p.json')); m = json.load(open('$T/$p.info'))['metadata']
sys.exit(0 if o['prior'] == '$p' and o['prior_weight'] == 1e-4 and o['prior_points'] == 256
         and o['prior_loss'] > 0 and m['prior'] == '$p' and m['prior_weight'] == '0.0001'
         and m['prior_points'] == '256' else 1)"; then
        ok "--prior $p --prior-weight 1e-4 --prior-points 256: in the JSON and the metadata"
    else
        notok "--prior $p: $(cat "$T/err" "$T/$p.json")"
    fi
done

# a mask keeps exactly its white pixels: a 40x30 image and a copy that
# differs everywhere outside the mask give the same model; one pixel inside
# changed gives another
"$PY" - "$T" <<'PYEOF'
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
H, W = 30, 40
y, x = np.mgrid[0:H, 0:W]
img = 0.5 + 0.4 * np.sin(0.4 * x) * np.cos(0.3 * y)
mask = ((x // 4 + y // 3) % 3 == 0)
out = img.copy(); out[~mask] = 1 - img[~mask]
one = img.copy(); r, c = np.argwhere(mask)[5]; one[r, c] = 0.05 if img[r, c] > 0.5 else 0.95
for name, a in (("a", img), ("b", out), ("c", one)):
    Image.fromarray((a * 255).round().astype(np.uint8)).save(f"{d}/{name}.png")
Image.fromarray((mask * 255).astype(np.uint8)).save(f"{d}/mask.png")
rgb = np.stack([mask * 255, mask * 200, mask * 255], -1).astype(np.uint8)
Image.fromarray(rgb).save(f"{d}/mask_rgb.png")
Image.fromarray(np.zeros((H, W), np.uint8)).save(f"{d}/black.png")
Image.fromarray(np.zeros((H + 1, W), np.uint8)).save(f"{d}/tall.png")
open(f"{d}/count", "w").write(str(int(mask.sum())))
PYEOF
K=$(cat "$T/count")
SMALL="--hidden 32 --layers 1 --steps 30 --lr 1e-3 $FAST"
for v in a b c; do
    "$S" fit image "$T/$v.png" --mask "$T/mask.png" $SMALL --json -o "$T/$v.safetensors" >"$T/$v.json" 2>"$T/err$v" &&
        "$S" render "$T/$v.safetensors" -o "$T/$v.npy" 2>>"$T/err$v"
done
if cmp -s "$T/a.npy" "$T/b.npy" && ! cmp -s "$T/a.npy" "$T/c.npy" &&
   "$PY" -c "
import json, sys
a = json.load(open('$T/a.json')); b = json.load(open('$T/b.json'))
sys.exit(0 if a['kept'] == $K and a['kept_from'] == 'mask' and a['psnr_kept_db'] == b['psnr_kept_db'] and a['psnr_db'] != b['psnr_db'] else 1)"; then
    ok "--mask keeps exactly its $K white pixels: every other pixel changed, the same model; one white pixel changed, another"
else
    notok "--mask keeps its pixels: $(cat "$T/erra" "$T/errb" "$T/errc" "$T/a.json" "$T/b.json")"
fi
if "$S" fit image "$T/a.png" --mask "$T/mask_rgb.png" $SMALL --json -o "$T/rgb.safetensors" >"$T/rgb.json" 2>"$T/err" &&
   "$PY" -c "import json, sys; sys.exit(0 if json.load(open('$T/rgb.json'))['kept'] == $K else 1)"; then
    ok "an RGB mask: white where the channels' mean is at least 0.5 ($K pixels)"
else
    notok "RGB mask: $(cat "$T/err" "$T/rgb.json")"
fi

M="$T/bad.safetensors"
expect_fail "--keep-frac 0" 2 "keep-frac 0: need 0 < F <= 1" "$M" -- "$S" fit image "$T/a.png" --keep-frac 0 -o "$M" --steps 1 --quiet
expect_fail "--keep-frac above 1" 2 "keep-frac 1.5: need 0 < F <= 1" "$M" -- "$S" fit image "$T/a.png" --keep-frac 1.5 -o "$M" --steps 1 --quiet
expect_fail "--keep-frac not a number" 2 "keep-frac ten" "$M" -- "$S" fit image "$T/a.png" --keep-frac ten -o "$M" --steps 1 --quiet
expect_fail "a mask of the wrong size" 1 "the mask is 40x31 but the image" "$M" -- "$S" fit image "$T/a.png" --mask "$T/tall.png" -o "$M" --steps 1 --quiet
expect_fail "a mask of the wrong size after --size" 1 "after --size" "$M" -- "$S" fit image "$T/a.png" --size 20x15 --mask "$T/mask.png" -o "$M" --steps 1 --quiet
expect_fail "a black mask" 1 "keeps no pixels" "$M" -- "$S" fit image "$T/a.png" --mask "$T/black.png" -o "$M" --steps 1 --quiet
expect_fail "a missing mask" 1 "nothing.png" "$M" -- "$S" fit image "$T/a.png" --mask "$T/nothing.png" -o "$M" --steps 1 --quiet
expect_fail "an unknown prior" 2 "prior laplace: not one of none, tv, hessian" "$M" -- "$S" fit image "$T/a.png" --keep-frac 0.1 --prior laplace -o "$M" --steps 1 --quiet
expect_fail "a negative prior weight" 2 "prior-weight" "$M" -- "$S" fit image "$T/a.png" --keep-frac 0.1 --prior tv --prior-weight -1 -o "$M" --steps 1 --quiet
expect_fail "--prior-weight without a prior" 2 "need --prior" "$M" -- "$S" fit image "$T/a.png" --keep-frac 0.1 --prior-weight 2 -o "$M" --steps 1 --quiet
expect_fail "--keep-frac and --mask together" 2 "give one" "$M" -- "$S" fit image "$T/a.png" --keep-frac 0.1 --mask "$T/mask.png" -o "$M" --steps 1 --quiet
expect_fail "--keep-frac for another task" 2 "image task" "$M" -- "$S" fit lapl "$T/a.png" --keep-frac 0.1 -o "$M" --steps 1 --quiet
expect_fail "--save-mask without kept pixels to save" 2 "needs --keep-frac or --mask" "$M" -- "$S" fit image "$T/a.png" --save-mask "$T/x.png" -o "$M" --steps 1 --quiet

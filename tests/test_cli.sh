#!/bin/sh
# The siren command line as a user meets it (CLI.md): a small fit, render,
# eval, info and log; and every kind of bad input giving exit status 1 (bad
# input) or 2 (bad command line), one line on stderr naming the file and the
# problem, and no output file left behind.
. "$(dirname "$0")/lib.sh"

json_has() { # json_has FILE KEY...
    f=$1; shift
    $PY -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if all(k in o for k in sys.argv[2:]) else 1)' "$f" "$@"
}

check "--version prints the version" sh -c "$S --version | grep -q '^siren [0-9]'"
check "--help exits 0" sh -c "$S --help >/dev/null && $S fit --help | grep -q -- --steps && $S render --help >/dev/null && $S eval --help >/dev/null && $S info --help >/dev/null"

# A small real run.
$S fit image data/camera.png --size 32x32 --hidden 32 --layers 2 --steps 40 --lr 1e-3 \
    --seed 1 --threads 2 -o "$T/m.safetensors" --json --quiet --log "$T/log.csv" >"$T/fit.json" 2>"$T/fit.err"
check "fit writes a model" test -s "$T/m.safetensors"
check "fit --json has the CLI.md keys" json_has "$T/fit.json" task steps seconds ms_per_step loss params psnr_db
check "fit --json is the only stdout output" test "$(wc -l <"$T/fit.json")" -eq 1
check "fit --quiet prints nothing on stderr" test ! -s "$T/fit.err"
check "--log has a header and one row per step" sh -c "head -n1 '$T/log.csv' | grep -qx 'step,seconds,loss,metric' && test \$(wc -l <'$T/log.csv') -eq 41"
$S render "$T/m.safetensors" -o "$T/r.png" --size 64x48 && ok "render .png" || notok "render .png"
check "render writes a 64x48 PNG" $PY -c "from PIL import Image; import sys; sys.exit(0 if Image.open(sys.argv[1]).size == (64, 48) else 1)" "$T/r.png"
$S render "$T/m.safetensors" -o "$T/r.npy" && ok "render .npy at the fitted size" || notok "render .npy"
check "the .npy is (32, 32, 1) float32" $PY -c "import numpy as n,sys; a=n.load(sys.argv[1]); sys.exit(0 if a.shape==(32,32,1) and a.dtype==n.float32 else 1)" "$T/r.npy"
$S eval "$T/m.safetensors" data/camera.png --size 32x32 --json >"$T/eval.json"
check "eval --json has psnr_db and ssim" json_has "$T/eval.json" psnr_db ssim
check "eval's PSNR equals fit's" $PY -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if abs(a['psnr_db']-b['psnr_db'])<1e-3 else 1)" "$T/eval.json" "$T/fit.json"
$S info "$T/m.safetensors" --json >"$T/info.json"
check "info --json has the CLI.md keys" json_has "$T/info.json" arch in_features out_features hidden_features hidden_layers params metadata
check "same seed and threads give the same model file" sh -c "$S fit image data/camera.png --size 32x32 --hidden 32 --layers 2 --steps 40 --lr 1e-3 --seed 1 --threads 2 -o '$T/m2.safetensors' --quiet && cmp -s '$T/m.safetensors' '$T/m2.safetensors'"

check "fit and solve take --lr-schedule, --lr-final, --warmup" sh -c "$S fit image data/camera.png --size 16x16 --hidden 16 --layers 1 --steps 6 --lr-schedule cosine --lr-final 1e-6 --warmup 2 --threads 1 -o '$T/sch.safetensors' --quiet && $S solve wave --steps 3 --batch 64 --hidden 8 --layers 1 --res 9 --frames 2 --lr-schedule exp --warmup 1 --threads 1 -o '$T/schw' --quiet"

# A colour image: three outputs, fitted, rendered and evaluated.
$PY -c "
import numpy as np; from PIL import Image
y, x = np.mgrid[0:24, 0:24] / 23.0
Image.fromarray((np.stack([x, y, 0.5 + 0.4 * np.sin(6 * x * y)], -1) * 255).astype(np.uint8)).save('$T/rgb24.png')"
$S fit image "$T/rgb24.png" --hidden 32 --layers 2 --steps 200 --lr 1e-3 -o "$T/rgb.safetensors" --json --quiet >"$T/rgbfit.json"
$S eval "$T/rgb.safetensors" "$T/rgb24.png" --json >"$T/rgbeval.json"
check "RGB image: 3 outputs, fit above 30 dB, eval agrees with fit" $PY -c "
import json,sys; f=json.load(open(sys.argv[1])); e=json.load(open(sys.argv[2]))
sys.exit(0 if f['psnr_db'] > 30 and abs(f['psnr_db'] - e['psnr_db']) < 1e-3 and e['ssim'] > 0.9 else 1)" "$T/rgbfit.json" "$T/rgbeval.json"
$S render "$T/rgb.safetensors" -o "$T/rgb.npy" --size 10x6
check "RGB render .npy is (6, 10, 3)" $PY -c "import numpy as n,sys; sys.exit(0 if n.load(sys.argv[1]).shape==(6,10,3) else 1)" "$T/rgb.npy"

# Poisson tasks: gradients, Laplacian, compose; eval reads them back. On a
# 32x32 grid omega_0 = 30 lets the network oscillate between the pixels it
# is fitted at (gradient PSNR 130 dB, reconstruction 13 dB), so omega_0 10.
$S fit grad data/camera.png --size 32x32 --omega0 10 --hidden 64 --layers 2 --steps 200 --lr 1e-3 \
    -o "$T/g.safetensors" --json --quiet >"$T/gfit.json"
check "fit grad --json has the CLI.md keys and a reconstruction PSNR above 20 dB" $PY -c "
import json,sys; f=json.load(open(sys.argv[1]))
sys.exit(0 if f['task'] == 'grad' and f['psnr_db'] > 20 and all(k in f for k in ('steps','seconds','ms_per_step','loss','params')) else 1)" "$T/gfit.json"
$S eval "$T/g.safetensors" data/camera.png --size 32x32 --json >"$T/geval.json"
check "eval of a grad model: reconstruction PSNR equals fit's, gradient and Laplacian PSNRs present" $PY -c "
import json,sys; f=json.load(open(sys.argv[1])); e=json.load(open(sys.argv[2]))
sys.exit(0 if abs(f['psnr_db'] - e['psnr_db']) < 1e-3 and e['grad_psnr_db'] > 20 and 'lapl_psnr_db' in e and 0 < e['ssim'] <= 1 else 1)" "$T/gfit.json" "$T/geval.json"
$S fit lapl data/camera.png --size 24x24 --hidden 32 --layers 2 --steps 30 -o "$T/l.safetensors" --quiet \
    && ok "fit lapl runs" || notok "fit lapl runs"
$PY -c "from PIL import Image; Image.new('L',(32,32),255).save('$T/white.png')"
$S fit compose data/camera.png "$T/white.png" --size 32x32 --mask "$T/white.png" --hidden 16 --layers 1 \
    --steps 5 -o "$T/c.safetensors" --json --quiet >"$T/cfit.json" \
    && ok "fit compose with a mask (B resized to A's size)" || notok "fit compose with a mask"
check "compose --json has psnr_db null (no original)" $PY -c "
import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))['psnr_db'] is None else 1)" "$T/cfit.json"
expect_fail "compose with one image" 2 compose "$T/c2.safetensors" -- $S fit compose data/camera.png -o "$T/c2.safetensors"
expect_fail "--mask outside compose" 2 --mask "$T/c2.safetensors" -- $S fit grad data/camera.png --mask "$T/white.png" -o "$T/c2.safetensors"
expect_fail "--target-psnr on a derivative task" 2 --target-psnr "$T/c2.safetensors" -- $S fit grad data/camera.png --target-psnr 30 -o "$T/c2.safetensors"
$PY -c "from PIL import Image; Image.new('L',(1,8),0).save('$T/thin.png')"
expect_fail "grad of a 1-pixel-wide image" 1 2x2 "$T/c2.safetensors" -- $S fit grad "$T/thin.png" -o "$T/c2.safetensors" --steps 1

# Bad inputs.
M=$T/out.safetensors
FIT="$S fit image"
expect_fail "missing input file" 1 nosuch.png "$M" -- $FIT "$T/nosuch.png" -o "$M" --steps 1
echo "hello, not an image" >"$T/text.png"
expect_fail "not an image" 1 text.png "$M" -- $FIT "$T/text.png" -o "$M" --steps 1
head -c 2000 data/camera.png >"$T/trunc.png"
expect_fail "truncated PNG" 1 trunc.png "$M" -- $FIT "$T/trunc.png" -o "$M" --steps 1
printf 'P5\n0 0\n255\n' >"$T/empty.pgm"
expect_fail "image with 0 pixels" 1 empty.pgm "$M" -- $FIT "$T/empty.pgm" -o "$M" --steps 1
expect_fail "absurd --size" 2 --size "$M" -- $FIT data/camera.png -o "$M" --size 100000x100000
expect_fail "zero --size" 2 --size "$M" -- $FIT data/camera.png -o "$M" --size 0x10
expect_fail "malformed --size" 2 --size "$M" -- $FIT data/camera.png -o "$M" --size big
expect_fail "non-numeric --steps" 2 --steps "$M" -- $FIT data/camera.png -o "$M" --steps ten
expect_fail "negative --lr" 2 --lr "$M" -- $FIT data/camera.png -o "$M" --lr -1
expect_fail "unknown --lr-schedule" 2 --lr-schedule "$M" -- $FIT data/camera.png -o "$M" --lr-schedule linear
expect_fail "zero --lr-final" 2 --lr-final "$M" -- $FIT data/camera.png -o "$M" --lr-schedule exp --lr-final 0
expect_fail "negative --warmup" 2 --warmup "$M" -- $FIT data/camera.png -o "$M" --warmup -5
expect_fail "--hidden out of range" 2 --hidden "$M" -- $FIT data/camera.png -o "$M" --hidden 0
expect_fail "trailing junk in a number" 2 --seed "$M" -- $FIT data/camera.png -o "$M" --seed 12abc
expect_fail "unknown option" 2 --frobnicate "$M" -- $FIT data/camera.png -o "$M" --frobnicate
expect_fail "unknown command" 2 frobnicate - -- $S frobnicate
expect_fail "missing -o" 2 -o - -- $FIT data/camera.png
expect_fail "output directory missing" 1 nodir "$T/nodir/m.safetensors" -- $FIT data/camera.png --size 8x8 --steps 1 --hidden 8 --layers 1 -o "$T/nodir/m.safetensors" --quiet
head -c 100 "$T/m.safetensors" >"$T/trunc.safetensors"
expect_fail "truncated model" 1 trunc.safetensors "$T/x.png" -- $S render "$T/trunc.safetensors" -o "$T/x.png"
expect_fail "model that is not safetensors" 1 camera.png "$T/x.png" -- $S render data/camera.png -o "$T/x.png"
expect_fail "model file missing" 1 nosuch.safetensors - -- $S info "$T/nosuch.safetensors"
# A model whose metadata disagrees with its tensor shapes.
$PY - "$T/m.safetensors" "$T/liar.safetensors" <<'PYEOF'
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
h['__metadata__']['hidden_features'] = '31'
hb = json.dumps(h).encode()
hb += b' ' * (-len(hb) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(hb)) + hb + b[8 + n:])
PYEOF
expect_fail "shapes disagree with the metadata" 1 liar.safetensors "$T/x.png" -- $S render "$T/liar.safetensors" -o "$T/x.png"
expect_fail "render to an unknown format" 2 .tiff "$T/x.tiff" -- $S render "$T/m.safetensors" -o "$T/x.tiff"
expect_fail "eval against an RGB image with a gray model" 1 channels - -- sh -c "$PY -c \"from PIL import Image; Image.new('RGB',(8,8)).save('$T/rgb.png')\" && $S eval '$T/m.safetensors' '$T/rgb.png'"
exit 0

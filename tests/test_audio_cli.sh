#!/bin/sh
# The audio commands end to end (CLI.md): `siren fit audio` on a WAV made
# by Python's wave module, `siren eval` (psnr_db, snr_db), `siren render` to
# WAV at the fitted and at another rate (read back by Python's wave
# module), `--channels mix`, and bad inputs and command lines.
. "$(dirname "$0")/lib.sh"
"$PY" - "$T" <<'PYEOF'
import math, struct, sys, wave
d = sys.argv[1]
rate, n = 8000, 3000
with wave.open(f"{d}/st.wav", "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate)
    fr = b""
    for i in range(n):
        t = i / rate
        l = 0.6 * math.sin(2 * math.pi * 330 * t)
        r = 0.4 * math.sin(2 * math.pi * (150 * t + 1000 * t * t))
        fr += struct.pack("<hh", int(l * 32767), int(r * 32767))
    w.writeframes(fr)
PYEOF
SMALL="--hidden 64 --layers 2 --threads 2 --quiet"
if "$S" fit audio "$T/st.wav" -o "$T/a.safetensors" --steps 300 $SMALL --json >"$T/fit.json" 2>"$T/err" &&
   "$PY" -c "import json,sys; o=json.load(open('$T/fit.json')); sys.exit(0 if o['task']=='audio' and o['channels']==2 and o['psnr_db']>25 else 1)"; then
    ok "fit audio, stereo WAV, 300 steps, PSNR above 25 dB: $(cut -c1-220 "$T/fit.json")"
else
    notok "fit audio: $(cat "$T/err" "$T/fit.json")"
fi
if "$S" eval "$T/a.safetensors" "$T/st.wav" --json >"$T/ev.json" 2>"$T/err" &&
   "$PY" -c "import json,sys; o=json.load(open('$T/ev.json')); f=json.load(open('$T/fit.json')); sys.exit(0 if abs(o['psnr_db']-f['psnr_db'])<0.05 and o['snr_db']>12 else 1)"; then
    ok "eval audio: $(cat "$T/ev.json")"
else
    notok "eval audio: $(cat "$T/err" "$T/ev.json")"
fi
if "$S" render "$T/a.safetensors" -o "$T/back.wav" 2>"$T/err" &&
   "$S" render "$T/a.safetensors" -o "$T/up.wav" --rate 24000 2>>"$T/err" &&
   "$PY" - "$T" <<'PYEOF'
import sys, wave
d = sys.argv[1]
a, b = wave.open(f"{d}/back.wav"), wave.open(f"{d}/up.wav")
ok = (a.getnchannels(), a.getframerate(), a.getnframes()) == (2, 8000, 3000) and \
     (b.getnchannels(), b.getframerate(), b.getnframes()) == (2, 24000, 8998)
print(a.getparams(), b.getparams(), file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF
then
    ok "render to WAV at 8000 Hz (3000 frames) and at 24000 Hz (8998 frames), read back by Python's wave"
else
    notok "render audio: $(cat "$T/err")"
fi
if "$S" fit audio "$T/st.wav" -o "$T/m.safetensors" --steps 2 --channels mix $SMALL 2>"$T/err" &&
   "$S" info "$T/m.safetensors" --json | "$PY" -c "import json,sys; o=json.load(sys.stdin); sys.exit(0 if o['out_features']==1 else 1)"; then
    ok "--channels mix: one output"
else
    notok "--channels mix: $(cat "$T/err")"
fi
printf 'RIFF....WAVEnothing' >"$T/bad.wav"
expect_fail "a broken WAV" 1 "bad.wav" "$T/x.safetensors" -- "$S" fit audio "$T/bad.wav" -o "$T/x.safetensors"
: >"$T/empty.wav"
expect_fail "an empty file" 1 "empty.wav" "$T/x.safetensors" -- "$S" fit audio "$T/empty.wav" -o "$T/x.safetensors"
expect_fail "--channels both" 2 "--channels" "$T/x.safetensors" -- "$S" fit audio "$T/st.wav" --channels both -o "$T/x.safetensors"
expect_fail "over --max-samples" 1 "max-samples" "$T/x.safetensors" -- "$S" fit audio "$T/st.wav" --max-samples 100 -o "$T/x.safetensors"
"$S" fit image data/camera.png --size 8x8 --steps 1 --hidden 8 --layers 1 --quiet -o "$T/img.safetensors" 2>/dev/null
expect_fail "a WAV from an image model" 1 "audio model" "$T/x.wav" -- "$S" render "$T/img.safetensors" -o "$T/x.wav"
expect_fail "--rate for a picture" 2 "--rate" "$T/x.png" -- "$S" render "$T/img.safetensors" -o "$T/x.png" --rate 100

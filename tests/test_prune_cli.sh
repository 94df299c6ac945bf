#!/bin/sh
# `siren prune` end to end: --keep 0.3 keeps at most 30% of the parameters
# (the file's count, from siren info), fine-tuning raises the PSNR of the
# pruned model, and siren eval of the written model gives the reported PSNR.
. "$(dirname "$0")/lib.sh"
"$S" fit image data/camera.png --size 32x32 --steps 150 --hidden 48 --threads 1 --quiet -o "$T/m.safetensors" || echo "not ok - fit"
if "$S" prune "$T/m.safetensors" data/camera.png --keep 0.3 --finetune-steps 100 --threads 1 --quiet --json -o "$T/p.safetensors" >"$T/p.json" &&
   "$S" info "$T/p.safetensors" --json >"$T/i.json" && "$S" info "$T/m.safetensors" --json >"$T/i0.json" &&
   "$S" eval "$T/p.safetensors" data/camera.png --size 32x32 --json >"$T/e.json" &&
   "$PY" - "$T" <<'PYEOF'
import json, sys
t = sys.argv[1]
p, i, i0, e = (json.load(open(f"{t}/{n}.json")) for n in ("p", "i", "i0", "e"))
assert i["params"] == p["params"] and i["params"] <= 0.3 * i0["params"], (i["params"], i0["params"])
assert i["hidden_features"] == p["width"] < i0["hidden_features"]
assert p["psnr_db"] > p["psnr_pruned_db"] + 1, p
assert abs(e["psnr_db"] - p["psnr_db"]) < 0.01, (e, p)
print(f"ok - prune --keep 0.3: {i0['params']} -> {i['params']} parameters, width "
      f"{i0['hidden_features']} -> {p['width']}, PSNR {p['psnr_before_db']:.2f} -> "
      f"{p['psnr_pruned_db']:.2f} pruned -> {p['psnr_db']:.2f} dB fine-tuned (siren eval agrees)")
PYEOF
then :; else echo "not ok - prune --keep 0.3: $(cat "$T/p.json")"; fi
"$S" prune "$T/m.safetensors" data/camera.png -o "$T/x.safetensors" >/dev/null 2>&1
[ $? -eq 2 ] && echo "ok - prune without --keep/--width/--psnr-drop is a usage error" || echo "not ok - prune without a mode"
"$S" prune "$T/m.safetensors" data/camera.png --keep 0.5 --width 3 -o "$T/x.safetensors" >/dev/null 2>&1
[ $? -eq 2 ] && echo "ok - prune with two modes is a usage error" || echo "not ok - prune with two modes"
# --stages: the same final width and parameter count as one shot, the
# fine-tuning steps shared out over the stages, and the result improved by them
if "$S" prune "$T/m.safetensors" data/camera.png --keep 0.3 --stages 3 --finetune-steps 100 --threads 1 --quiet --json -o "$T/s.safetensors" >"$T/s.json" &&
   "$S" info "$T/s.safetensors" --json >"$T/si.json" &&
   "$PY" - "$T" <<'PYEOF'
import json, sys
t = sys.argv[1]
p, s, si = (json.load(open(f"{t}/{n}.json")) for n in ("p", "s", "si"))
assert s["width"] == p["width"] and s["params"] == p["params"] and s["stages"] == 3, (s, p)
assert s["finetune_steps"] == 100, s
assert s["psnr_db"] > s["psnr_pruned_db"], s
assert si["hidden_features"] == s["width"] and si["params"] == s["params"], si
print(f"ok - prune --stages 3: width {s['width']} as one shot, 100 steps shared, "
      f"{s['psnr_db']:.2f} dB (one shot {p['psnr_db']:.2f} dB), the file as reported")
PYEOF
then :; else echo "not ok - prune --stages: $(cat "$T/s.json")"; fi

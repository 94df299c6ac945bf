#!/bin/sh
# `siren compare` end to end: three architectures times two omega_0 on a
# small image write a results table that parses as CSV (and matches the
# models it names: their PSNR recomputed by `siren eval`), a well-formed
# SVG with one line per configuration, a panel of the stated size, and the
# per-step curves; ReLU's Laplacian column is zero; bad command lines are
# refused.
. "$(dirname "$0")/lib.sh"
IMG=data/camera.png
if "$S" compare "$IMG" --size 32x24 --arch siren,relu,relu-pe --sweep omega0=10,30 --steps 40 \
       --hidden 32 --layers 2 --threads 1 --quiet --json -o "$T/c" >"$T/out.json" 2>"$T/err"; then
    ok "compare ran 6 configurations"
else
    notok "compare: $(cat "$T/err")"
fi
"$PY" - "$T" "$S" <<'PYEOF'
import csv, json, subprocess, sys
import xml.etree.ElementTree as ET
import numpy as np
from PIL import Image
t, s = sys.argv[1], sys.argv[2]
d = f"{t}/c"
def ok(c, m):
    print(("ok - " if c else "not ok - ") + m)
rows = list(csv.DictReader(open(f"{d}/results.csv")))
names = [r["config"] for r in rows]
ok(len(rows) == 6 and names[0] == "siren omega0=10" and names[-1] == "relu-pe omega0=30"
   and all(r["steps"] == "40" for r in rows),
   f"results.csv parses: 6 rows, arch x sweep in order: {names}")
js = json.load(open(f"{t}/out.json"))
ok([j["config"] for j in js] == names and
   all(abs(j["psnr_db"] - float(r["psnr_db"])) < 1e-3 for j, r in zip(js, rows)),
   "--json agrees with results.csv")
# each model's PSNR recomputed by siren eval at the compared size
bad = []
for r in rows:
    out = subprocess.run([s, "eval", f"{d}/{r['model']}", "data/camera.png", "--size", "32x24",
                          "--json"], capture_output=True, text=True)
    e = json.loads(out.stdout)
    if abs(e["psnr_db"] - float(r["psnr_db"])) > 0.01 or abs(e["ssim"] - float(r["ssim"])) > 1e-3:
        bad.append((r["config"], e["psnr_db"], r["psnr_db"]))
ok(not bad, f"every model file gives the table's PSNR and SSIM under siren eval {bad}")
root = ET.parse(f"{d}/psnr.svg").getroot()
ns = "{http://www.w3.org/2000/svg}"
lines = root.findall(f"{ns}polyline")
texts = [x.text for x in root.iter(f"{ns}text")]
ok(len(lines) == 12 and "step" in texts and "seconds" in texts and "PSNR (dB)" in texts
   and all(n in texts for n in names),
   f"psnr.svg is well-formed XML: 2 panels x 6 lines, axis labels and a legend ({len(lines)} lines)")
pts = [len(l.get("points").split()) for l in lines]
ok(min(pts) == 40, f"each line has a point per step ({min(pts)}..{max(pts)})")
cur = list(csv.DictReader(open(f"{d}/curves.csv")))
ok(len(cur) == 240 and all(float(c["seconds"]) >= 0 for c in cur), f"curves.csv: 6 x 40 steps")
p = np.asarray(Image.open(f"{d}/panel.png"))
ok(p.shape == (6 * 24 + 5 * 4, 3 * 32 + 8, 3), f"panel.png: 6 rows of value | gradmag | lapl ({p.shape})")
# rows 3-4 are relu: their Laplacian third is flat mid-gray (zero)
for k in (2, 3):
    y0 = k * (24 + 4)
    lap = p[y0:y0 + 24, 2 * 36:2 * 36 + 32].astype(int)
    ok(np.all(lap == lap[0, 0]), f"row {k + 1} ({names[k]}): the Laplacian picture is constant (zero)")
sirenlap = p[0:24, 72:104].astype(int)
ok(sirenlap.std() > 1, "row 1 (siren): its Laplacian picture is not constant")
PYEOF
rc_case() { name=$1; want=$2; shift 2; "$@" >/dev/null 2>"$T/e"; rc=$?
    if [ $rc -eq "$want" ]; then ok "$name (exit $rc: $(head -n1 "$T/e"))"; else notok "$name: exit $rc"; fi; }
rc_case "an unknown architecture" 2 "$S" compare "$IMG" --arch siren,mlp -o "$T/x"
rc_case "an unknown sweep key" 2 "$S" compare "$IMG" --sweep depth=1,2 -o "$T/x"
rc_case "a sweep without values" 2 "$S" compare "$IMG" --sweep omega0= -o "$T/x"
rc_case "a task compare does not take" 2 "$S" compare "$IMG" --task sdf -o "$T/x"
rc_case "a missing input" 1 "$S" compare "$T/nothing.png" --steps 1 -o "$T/x"

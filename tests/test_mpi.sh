#!/bin/sh
# Many signals and data parallelism (README: Scale). Without mpirun: a
# folder fitted one model per image with a summary, a broken file reported
# and the others fitted, resume skipping what is done. Under
# `mpirun -np 2 --oversubscribe` (skipped, saying so, when the CLI was built
# without MPI or mpirun is missing): the same shared between two ranks; a
# run killed part way and resumed, refitting nothing that was done; one
# image trained data-parallel on two ranks against one process with the
# same seed: the parameters agree within 1e-4 of the largest update after
# 20 steps (full batch and minibatches), and the two ranks' models are the
# same bit for bit (the CLI checks that before writing).
BUILD=${BUILD:-build}
S=$BUILD/siren
PY=/usr/bin/python3
T=$(mktemp -d)
BG=
trap '[ -n "$BG" ] && kill -9 $BG 2>/dev/null; rm -rf "$T"' EXIT
# where the fits' outputs are caught: nothing may be left there
mkdir -p "$T/tmp"
export TMPDIR="$T/tmp"

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
check() { # check NAME COMMAND...
    name=$1; shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}

# Six small images and a broken PNG.
mkdir -p "$T/imgs"
$PY -c "
import numpy as np; from PIL import Image
for k in range(6):
    y, x = np.mgrid[0:24, 0:24] / 23.0
    Image.fromarray((255 * (0.5 + 0.4 * np.sin(3 * x * (k + 1) + 2 * y))).astype(np.uint8)).save('$T/imgs/img%d.png' % k)
open('$T/imgs/broken.png', 'wb').write(b'\x89PNG\r\n\x1a\nnot really a PNG')
open('$T/imgs/notes.txt', 'w').write('not an image: ignored')
"
# summary_ok CSV N_OK BROKEN: N_OK rows "ok" with a PSNR, params and a model
# file, one "failed" row for BROKEN naming it, nothing else.
summary_ok() {
    $PY - "$@" <<'EOF'
import csv, os, sys
path, n_ok, broken = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = list(csv.DictReader(open(path)))
ok = [r for r in rows if r["status"] == "ok"]
bad = [r for r in rows if r["status"] == "failed"]
good = (len(rows) == n_ok + 1 and len(ok) == n_ok and len(bad) == 1
        and bad[0]["input"].endswith(broken) and broken in bad[0]["error"]
        and not os.path.exists(bad[0]["model"])
        and all(float(r["psnr_db"]) > 10 and int(r["params"]) > 0
                and float(r["seconds"]) > 0 and os.path.exists(r["model"])
                for r in ok))
if not good:
    print(open(path).read(), file=sys.stderr)
sys.exit(0 if good else 1)
EOF
}
FIT="--hidden 32 --layers 2 --steps 60 --lr 1e-3 --threads 1"

# ------------------------------------------------------------- one process
$S fit image "$T/imgs" -o "$T/serial/" $FIT --json >"$T/serial.json" 2>"$T/serial.err"
rc=$?
check "many inputs without MPI: exit 1 when an input failed (was $rc)" test "$rc" -eq 1
check "many inputs: the summary has 6 fitted rows and the broken file's error" \
    summary_ok "$T/serial/summary.csv" 6 broken.png
check "many inputs: --json counts them" $PY -c "
import json,sys; o=json.load(open('$T/serial.json'))
sys.exit(0 if (o['inputs'], o['fitted'], o['failed'], o['skipped']) == (7, 6, 1, 0) else 1)"
cp "$T/serial/img0.safetensors" "$T/img0.before"
rm "$T/serial/img3.safetensors"
$S fit image "$T/imgs" -o "$T/serial/" $FIT --json >"$T/serial2.json" 2>/dev/null
check "many inputs, run again: only the input whose model is gone is fitted" $PY -c "
import json,sys; o=json.load(open('$T/serial2.json'))
sys.exit(0 if (o['fitted'], o['failed'], o['skipped']) == (1, 0, 6) else 1)"
check "many inputs, run again: a finished model is not rewritten" \
    cmp -s "$T/serial/img0.safetensors" "$T/img0.before"
$S fit image "$T/imgs/img*.png" -o "$T/glob/" $FIT --quiet
check "a glob works as a folder does (exit 0: every input fitted)" \
    test $? -eq 0 -a -f "$T/glob/img5.safetensors" -a ! -e "$T/glob/broken.safetensors"
$S fit image "$T/imgs" -o "$T/m.safetensors" $FIT >/dev/null 2>"$T/err"
check "many inputs need -o DIR/: exit 2" test $? -eq 2
$S fit image "$T/imgs" -o "$T/x/" --log "$T/l.csv" $FIT >/dev/null 2>"$T/err"
check "--log with many inputs: exit 2" test $? -eq 2
$S fit image "$T/imgs" -o "$T/y/" --steps nope --quiet >/dev/null 2>"$T/err"
rc=$?
check "a bad option stops a many-inputs run with exit 2 and fit's message (was $rc)" \
    sh -c "test $rc -eq 2 && grep -q -- '--steps' '$T/err'"

# --------------------------------------------------------------------- MPI
if ! readelf -d "$S" 2>/dev/null | grep -q 'libmpi'; then
    echo "ok - MPI tests # SKIP MPI not built (install libopenmpi-dev and rebuild)"
    exit 0
fi
if ! command -v mpirun >/dev/null 2>&1; then
    echo "ok - MPI tests # SKIP mpirun not found (install openmpi-bin)"
    exit 0
fi
# Open MPI refuses root unless told; containers often forbid its
# single-copy shared memory (CMA), and a leak check on Open MPI's own
# allocations at exit is noise in the ASan build.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN="mpirun -np 2 --oversubscribe"

$MPIRUN "$S" fit image "$T/imgs" -o "$T/mpi/" $FIT --json >"$T/mpi.json" 2>"$T/mpi.err"
check "mpirun -np 2: the summary has 6 fitted rows and the broken file's error" \
    summary_ok "$T/mpi/summary.csv" 6 broken.png
check "mpirun -np 2: both ranks fitted inputs" $PY -c "
import csv,sys; r={x['rank'] for x in csv.DictReader(open('$T/mpi/summary.csv'))}
sys.exit(0 if r == {'0', '1'} else 1)"
check "mpirun -np 2: one JSON line on stdout" $PY -c "
import json,sys; o=json.load(open('$T/mpi.json')); sys.exit(0 if o['ranks'] == 2 and o['fitted'] == 6 else 1)"

# Killed part way (SIGTERM to mpirun, as a batch system does), resumed.
SLOW="--size 48x48 --hidden 64 --layers 2 --steps 1500 --threads 1 --quiet"
$MPIRUN "$S" fit image "$T/imgs" -o "$T/kill/" $SLOW >/dev/null 2>&1 &
BG=$!
i=0
until [ -f "$T/kill/summary.csv" ] && [ "$(grep -c ',ok,' "$T/kill/summary.csv")" -ge 1 ]; do
    i=$((i + 1)); [ $i -gt 300 ] && break
    sleep 0.1
done
kill -TERM $BG
wait $BG 2>/dev/null
BG=
sleep 0.5
done_before=$(grep -c ',ok,' "$T/kill/summary.csv")
models_before=$(ls "$T/kill" | grep -c safetensors)
check "killed part way: some models written ($models_before), not all" \
    test "$models_before" -ge 1 -a "$models_before" -lt 6
check "killed: no fit left running" sh -c "! ps -eo args | grep -v grep | grep -q -- '$T/kill/'"
check "killed: no temporary file left in the folder or in TMPDIR" \
    sh -c "! ls -a '$T/kill' | grep -q tmp && test -z \"\$(ls -A '$T/tmp')\""
mkdir -p "$T/kept"
cp "$T"/kill/*.safetensors "$T/kept/"
$MPIRUN "$S" fit image "$T/imgs" -o "$T/kill/" $SLOW --json >"$T/resume.json" 2>/dev/null
check "resumed: the summary is complete" summary_ok "$T/kill/summary.csv" 6 broken.png
check "resumed: models done before the kill were skipped, not refitted" sh -c "
    for f in '$T'/kept/*.safetensors; do cmp -s \"\$f\" '$T/kill/'\$(basename \"\$f\") || exit 1; done"
check "resumed: --json says $models_before done before" $PY -c "
import json,sys; o=json.load(open('$T/resume.json'))
sys.exit(0 if o['skipped'] == $models_before and o['fitted'] + o['skipped'] == 6 else 1)"

# Data parallel: one image on two ranks against one process, same seed.
ONE="data/camera.png --size 32x32 --hidden 32 --layers 2 --lr 1e-3 --seed 4"
"$S" fit image $ONE --steps 0 -o "$T/init.safetensors" --quiet
# params_close A B INIT: max |A - B| <= 1e-4 of max |A - INIT| (how far
# training moved the parameters), every tensor.
params_close() {
    $PY - "$@" <<'EOF'
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    d = b[8 + n:]
    return np.concatenate([np.frombuffer(d[v["data_offsets"][0]:v["data_offsets"][1]], "<f4")
                           for k, v in sorted(h.items())])
a, b, a0 = (load(p) for p in sys.argv[1:4])
d = np.abs(a - b).max() / np.abs(a - a0).max()
print("# max |diff| = %.3g of the largest update" % d)
sys.exit(0 if d <= 1e-4 else 1)
EOF
}
for batch in full 300; do
    "$S" fit image $ONE --steps 20 --batch $batch --threads 1 -o "$T/one.safetensors" --quiet
    $MPIRUN "$S" fit image $ONE --steps 20 --batch $batch -o "$T/two.safetensors" \
        --json >"$T/two.json" 2>"$T/two.err"
    check "data parallel, batch $batch: rank 0 wrote the model and one JSON line" \
        sh -c "test -s '$T/two.safetensors' && test \$(wc -l <'$T/two.json') -eq 1"
    check "data parallel, batch $batch: the 2 ranks' models are the same bit for bit" \
        grep -q "2 ranks ended with the same model, bit for bit" "$T/two.err"
    check "data parallel, batch $batch: 2 ranks match 1 process within 1e-4 of the largest update" \
        params_close "$T/one.safetensors" "$T/two.safetensors" "$T/init.safetensors"
done
# A checkpoint of a two-rank run (written by rank 0) resumes under mpirun,
# bit for bit the uninterrupted run.
$MPIRUN "$S" fit image $ONE --steps 20 -o "$T/full.safetensors" --quiet
$MPIRUN "$S" fit image $ONE --steps 10 --checkpoint "$T/ck" -o "$T/half.safetensors" --quiet
$MPIRUN "$S" fit image $ONE --steps 20 --resume "$T/ck" -o "$T/resumed.safetensors" --quiet
check "data parallel: rank 0's checkpoint resumes to the uninterrupted run's model, bit for bit" \
    cmp -s "$T/full.safetensors" "$T/resumed.safetensors"
exit 0

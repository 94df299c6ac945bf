#!/bin/sh
# Reliability (issue 10): a fit killed with SIGKILL mid-run, or stopped with
# SIGINT, continues from its last checkpoint to the same model, bit for bit,
# as an uninterrupted run with the same seed and threads; a checkpoint that
# does not belong to the run, or is broken, is refused; a full disk (a file
# size limit) gives a clear error and leaves the previous output intact.
. "$(dirname "$0")/lib.sh"

# ~1 ms a step: long enough to be killed in the middle.
A="fit image data/camera.png --size 64x64 --hidden 64 --layers 2 --lr 1e-3 --batch 1000 --seed 3 --threads 2 --quiet"
STEPS=3000
ck_step() { # the step recorded in a checkpoint
    $PY -c '
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]
print(json.loads(b[8:8 + n])["__metadata__"]["step"])' "$1"
}
wait_for() { # wait_for FILE: up to 120 s (a loaded machine is slow to start)
    i=0
    while [ ! -s "$1" ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i + 1)); done
}

$S $A --steps $STEPS -o "$T/full.st" || notok "uninterrupted run"

# SIGKILL: nothing runs after the signal; the last periodic checkpoint is
# what survives (written atomically, so it is whole).
$S $A --steps $STEPS --checkpoint "$T/ck.st" --checkpoint-every 100 -o "$T/k.st" &
pid=$!
wait_for "$T/ck.st"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
at=$(ck_step "$T/ck.st")
if [ -n "$at" ] && [ "$at" -lt $STEPS ] && [ ! -e "$T/k.st" ]; then
    ok "SIGKILL mid-run leaves a whole checkpoint (step $at of $STEPS) and no model"
else
    notok "SIGKILL mid-run: checkpoint step '$at', model file present: $(test -e "$T/k.st" && echo yes || echo no)"
fi
ls "$T" | grep -q '\.tmp\.' && notok "SIGKILL left a temporary file" || ok "SIGKILL left no temporary file"
$S $A --steps $STEPS --resume "$T/ck.st" -o "$T/resumed.st"
cmp -s "$T/full.st" "$T/resumed.st" && ok "resumed from step $at: the same model file, bit for bit, as the uninterrupted run" \
    || notok "resumed from step $at: the model differs from the uninterrupted run"

# SIGINT: the fit stops at the end of the step, writes its final checkpoint,
# says so and exits 130.
rm -f "$T/ck.st"
$S $A --steps $STEPS --checkpoint "$T/ck.st" --checkpoint-every 200 -o "$T/i.st" 2>"$T/int.err" &
pid=$!
wait_for "$T/ck.st"
kill -INT $pid
wait $pid
rc=$?
at=$(ck_step "$T/ck.st")
if [ $rc -eq 130 ] && grep -q "interrupted at step $at of $STEPS; checkpoint written" "$T/int.err" && [ ! -e "$T/i.st" ]; then
    ok "SIGINT: exit 130, final checkpoint at step $at, one message, no model"
else
    notok "SIGINT: exit $rc, checkpoint step '$at': $(cat "$T/int.err")"
fi
$S $A --steps $STEPS --resume "$T/ck.st" -o "$T/resumed2.st"
cmp -s "$T/full.st" "$T/resumed2.st" && ok "resumed after SIGINT: the same model, bit for bit" \
    || notok "resumed after SIGINT: the model differs"

# Derivative fitting (per-thread chunks, the double backward) resumes exactly too.
G="fit grad data/camera.png --size 32x32 --omega0 10 --hidden 32 --layers 2 --lr 1e-3 --threads 2 --quiet"
$S $G --steps 40 -o "$T/gfull.st" && $S $G --steps 15 --checkpoint "$T/gck.st" -o "$T/gpart.st" &&
    $S $G --steps 40 --resume "$T/gck.st" -o "$T/gres.st"
cmp -s "$T/gfull.st" "$T/gres.st" && ok "fit grad: 15 steps, checkpoint, resume to 40 = 40 steps" \
    || notok "fit grad: resumed model differs"

# Refusals: another run's checkpoint, a broken one, a missing one.
$S $A --steps 10 --seed 4 --resume "$T/ck.st" -o "$T/x.st" 2>"$T/e1"
rc=$?
[ $rc -eq 1 ] && grep -q 'seed' "$T/e1" && [ ! -e "$T/x.st" ] && ok "a checkpoint of another seed is refused: $(cat "$T/e1")" \
    || notok "another seed: exit $rc: $(cat "$T/e1")"
head -c 3000 "$T/ck.st" >"$T/trunc.st"
$S $A --steps 10 --resume "$T/trunc.st" -o "$T/x.st" 2>"$T/e2"
rc=$?
[ $rc -eq 1 ] && grep -q 'trunc.st' "$T/e2" && [ ! -e "$T/x.st" ] && ok "a truncated checkpoint is refused: $(cat "$T/e2")" \
    || notok "truncated checkpoint: exit $rc: $(cat "$T/e2")"
$S $A --steps 10 --resume "$T/full.st" -o "$T/x.st" 2>"$T/e3"
rc=$?
[ $rc -eq 1 ] && grep -q 'not a siren training checkpoint' "$T/e3" && ok "a model file is not a checkpoint: $(cat "$T/e3")" \
    || notok "model as checkpoint: exit $rc: $(cat "$T/e3")"
$S $A --steps 10 --checkpoint-every 5 -o "$T/x.st" 2>"$T/e4"
[ $? -eq 2 ] && ok "--checkpoint-every without --checkpoint is a usage error" || notok "--checkpoint-every alone: $(cat "$T/e4")"
# A full disk, simulated by a file size limit: the write fails with a clear
# error, the previous model stays as it was, no temporary file is left.
$S fit image data/camera.png --size 16x16 --hidden 8 --layers 1 --steps 2 --quiet -o "$T/keep.st"
cp "$T/keep.st" "$T/keep.bak"
( ulimit -f 40; $S fit image data/camera.png --size 16x16 --hidden 256 --layers 2 --steps 1 --quiet -o "$T/keep.st" ) 2>"$T/e5"
rc=$?
if [ $rc -eq 1 ] && grep -q 'keep.st' "$T/e5" && cmp -s "$T/keep.st" "$T/keep.bak" && ! ls "$T" | grep -q 'keep\.st\.tmp\.'; then
    ok "file size limit while writing a model: exit 1, old model intact, no temporary file ($(cat "$T/e5"))"
else
    notok "file size limit: exit $rc, old model intact: $(cmp -s "$T/keep.st" "$T/keep.bak" && echo yes || echo no): $(cat "$T/e5")"
fi
( ulimit -f 40; $S render "$T/full.st" -o "$T/big.png" --size 2048x2048 ) 2>"$T/e6"
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/big.png" ] && ! ls "$T" | grep -q 'big\.png\.tmp\.' && ok "file size limit while writing a PNG: exit 1, nothing left ($(cat "$T/e6"))" \
    || notok "file size limit, PNG: exit $rc: $(cat "$T/e6")"
# A pipe or device as the output (-o /dev/null, a FIFO) is written in
# place, not replaced by a regular file through the rename (as root that
# would destroy /dev/null). A FIFO stands in for the device here, so a
# regression cannot harm the machine running the test.
mkfifo "$T/fifo"
cat "$T/fifo" > "$T/fromfifo" &
cpid=$!
$S fit image data/camera.png --size 16x16 --hidden 8 --layers 1 --steps 2 --quiet -o "$T/fifo" 2>"$T/e7"
rc=$?
wait $cpid
if [ $rc -eq 0 ] && [ -p "$T/fifo" ] && $S info "$T/fromfifo" >/dev/null 2>&1 && ! ls "$T" | grep -q 'fifo\.tmp\.'; then
    ok "a FIFO as the output: written through it, still a FIFO, the model read back whole"
else
    notok "FIFO output: exit $rc, still a FIFO: $([ -p "$T/fifo" ] && echo yes || echo no): $(cat "$T/e7")"
fi
mkdir "$T/adir.safetensors"
$S fit image data/camera.png --size 16x16 --hidden 8 --layers 1 --steps 1 --quiet -o "$T/adir.safetensors" 2>"$T/e8"
rc=$?
[ $rc -eq 1 ] && grep -q 'is a directory' "$T/e8" && ok "a directory as the output: exit 1 ($(cat "$T/e8"))" \
    || notok "directory output: exit $rc: $(cat "$T/e8")"
exit 0

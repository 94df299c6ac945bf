#!/bin/sh
# Runs every test program in $BUILD/tests, every tests/test_*.py (Debian's
# python3) and every tests/test_*.sh; counts "ok"/"not ok" lines and prints
# the closing "N passed, N failed" line. A program that crashes or exits
# nonzero without a "not ok" line counts as one failure.
BUILD=${BUILD:-build}
export BUILD
PY=/usr/bin/python3
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0; fail=0
run_one() {
    name=$1; shift
    echo "# $name"
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^not ok - ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $name exited with status $rc"
        f=1
    fi
    pass=$((pass + p)); fail=$((fail + f))
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] && run_one "$t" "$t"
done
for t in tests/test_*.py; do
    [ -f "$t" ] && run_one "$t" "$PY" "$t"
done
for t in tests/test_*.sh; do
    [ -f "$t" ] && run_one "$t" sh "$t"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

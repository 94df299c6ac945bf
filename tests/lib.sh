# Shared by the shell tests (sourced, not run: tests/run.sh runs only
# tests/test_*.sh). Sets BUILD, S (the CLI), PY (Debian's python3) and T (a
# scratch folder removed on exit), and defines the TAP-style helpers.
BUILD=${BUILD:-build}
S=$BUILD/siren
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
check() { # check NAME COMMAND...: passes when the command succeeds
    name=$1; shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}
# expect_fail NAME CODE WORD OUTFILE -- CMD...: exit status CODE, exactly one
# stderr line containing WORD (CLI.md: one line naming the file and the
# problem; "Try ..." hints aside), OUTFILE (if not "-") not created, and no
# temporary file left in $T.
expect_fail() {
    name=$1 code=$2 word=$3 out=$4; shift 5
    "$@" >"$T/stdout" 2>"$T/stderr"
    rc=$?
    lines=$(grep -vc '^Try ' "$T/stderr")
    if [ "$rc" -ne "$code" ]; then
        notok "$name: exit status $rc, expected $code ($(head -c 300 "$T/stderr"))"
    elif [ "$lines" -ne 1 ]; then
        notok "$name: $lines lines on stderr, expected 1: $(head -c 300 "$T/stderr")"
    elif ! grep -q -- "$word" "$T/stderr"; then
        notok "$name: stderr does not name '$word': $(cat "$T/stderr")"
    elif [ "$out" != "-" ] && [ -e "$out" ]; then
        notok "$name: left $out behind"
    elif ls "$T" | grep -q '\.tmp\.'; then
        notok "$name: left a temporary file behind"
    else
        ok "$name (exit $code: $(head -n1 "$T/stderr"))"
    fi
}

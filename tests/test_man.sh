#!/bin/sh
# man/siren.1 against the CLI: every option that any `siren [CMD] --help`
# prints (every --long and -x option), every command of `siren --help`,
# every fit task and every render --what value must be in the page, or this
# prints "not ok" naming it. Also: the page formats without warnings and
# carries the CLI's version.
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
S=$BUILD/siren
MAN=man/siren.1
fails=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; fails=$((fails + 1)); }
if [ ! -x "$S" ] || [ ! -f "$MAN" ]; then
    nok "$S and $MAN exist"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The page's source with roff's escaped hyphens and font changes undone.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$MAN" >"$tmp/man.txt"
# in_man OPT FILE: OPT appears as a whole word in FILE.
in_man() { grep -qE -- "(^|[^A-Za-z0-9_-])$1([^A-Za-z0-9_-]|\$)" "$2"; }

# Options: --long and single-letter -x words of each --help, each in the
# page's section for that command (siren's own in the whole page).
for cmd in "" fit render eval info mesh compare spectrum prune sr stats solve \
           "prior train" "prior complete" "prior eval"; do
    if [ -n "$cmd" ]; then
        sed -n "/^\.SS \"siren $cmd /,/^\.S[HS] /p" "$tmp/man.txt" | sed '1d;$d' >"$tmp/section"
    else
        cp "$tmp/man.txt" "$tmp/section"
    fi
    # shellcheck disable=SC2086
    if ! "$S" $cmd --help >"$tmp/help" 2>&1; then
        nok "siren $cmd --help exits 0"
        continue
    fi
    grep -oE -- '(^|[^A-Za-z0-9_-])(--[a-z0-9][a-z0-9-]*|-[A-Za-z])([^A-Za-z0-9_-]|$)' "$tmp/help" |
        grep -oE -- '--?[A-Za-z0-9][a-z0-9-]*' | sort -u >"$tmp/opts"
    if [ ! -s "$tmp/opts" ]; then
        nok "siren $cmd --help lists options"
        continue
    fi
    while read -r opt; do
        if in_man "$opt" "$tmp/section"; then ok "man page has siren${cmd:+ $cmd} $opt"
        else nok "man page lacks siren${cmd:+ $cmd} $opt"; fi
    done <"$tmp/opts"
done

# Commands: a section "siren CMD ..." for each command of `siren --help`.
"$S" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' | sort -u >"$tmp/cmds"
[ -s "$tmp/cmds" ] || nok "siren --help lists commands"
while read -r c; do
    if grep -q "^\.SS \"siren $c " "$MAN"; then ok "man page has a section for siren $c"
    else nok "man page lacks a section for siren $c"; fi
done <"$tmp/cmds"

# Fit tasks (fit's usage lines) and render's --what values (from its own
# error message), each an item of the page.
"$S" fit --help | sed -n 's/^ *\(Usage:\)\{0,1\} *siren fit \([a-z][a-z]*\) .*/\2/p' >"$tmp/tasks"
[ -s "$tmp/tasks" ] || nok "siren fit --help lists tasks"
what=$("$S" render none.safetensors -o none.npy --what '?' 2>&1 |
       sed -n 's/.*not one of \(.*\)$/\1/p' | tr -d ',')
[ -n "$what" ] || nok "siren render --what ? lists the values"
for t in $(cat "$tmp/tasks") $what; do
    if grep -qE "^\.B $t\$" "$MAN"; then ok "man page describes $t"
    else nok "man page lacks an item for $t"; fi
done

v=$("$S" --version | sed 's/^siren //')
if grep -q "^\.TH SIREN 1 .*\"siren $v\"" "$MAN"; then ok "man page is for siren $v"
else nok "man page's .TH names siren $v"; fi
if command -v groff >/dev/null 2>&1; then
    w=$(groff -man -ww -z "$MAN" 2>&1)
    if [ -z "$w" ]; then ok "man page formats without warnings (groff -ww)"
    else nok "groff warns: $w"; fi
else
    echo "# skip formatting check: groff is not installed"
fi
[ "$fails" -eq 0 ]

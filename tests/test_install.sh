#!/bin/sh
# `make install` into a temporary PREFIX (and a DESTDIR staging tree): the
# files, the shared library's soname and links, siren.pc; a program built
# against the installed library with `pkg-config --cflags --libs siren`,
# linked dynamically and statically, fits camera at 32x32 (20 steps, hidden
# 32) and renders it at 64x64; examples/fit_camera.c builds; the Python
# module installs with pip (offline) and finds the installed library; then
# `make uninstall` leaves no file behind.
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
P=$tmp/prefix
fails=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }

# Called from `make test`: drop the parent's jobserver (its pipes are not
# ours) but keep its variables (SANITIZE=1 builds into build-asan).
MAKEFLAGS=$(printf '%s' "${MAKEFLAGS:-}" | sed 's/--jobserver-[a-z]*=[^ ]*//g')
export MAKEFLAGS
mk() { make -s --no-print-directory BUILD="$BUILD" LDCONFIG=: "$@" >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; return 1; }; }
# Sanitizer builds: the test programs need the same runtime.
SAN=
case "$BUILD" in *asan*) SAN="-fsanitize=address,undefined" ;; esac

VERSION=$(sed -n 's/.*define SIREN_VERSION "\(.*\)".*/\1/p' include/siren.h)
MAJOR=${VERSION%%.*}

check "make install PREFIX=$P" mk install PREFIX="$P"
for f in bin/siren lib/libsiren.a lib/libsiren.so.$VERSION include/siren.h \
         lib/pkgconfig/siren.pc share/man/man1/siren.1; do
    check "installed $f" test -f "$P/$f" -a ! -L "$P/$f"
done
check "bin/siren is executable" test -x "$P/bin/siren"
check "lib/libsiren.so.$MAJOR -> libsiren.so.$VERSION" \
    test "$(readlink "$P/lib/libsiren.so.$MAJOR")" = "libsiren.so.$VERSION"
check "lib/libsiren.so -> libsiren.so.$MAJOR" \
    test "$(readlink "$P/lib/libsiren.so")" = "libsiren.so.$MAJOR"
soname=$(readelf -d "$P/lib/libsiren.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "soname libsiren.so.$MAJOR ($soname)" test "$soname" = "libsiren.so.$MAJOR"
check "the shared library is position-independent (no text relocations)" \
    sh -c "! readelf -d '$P/lib/libsiren.so.$VERSION' | grep -q TEXTREL"
check "installed siren --version is $VERSION" \
    test "$("$P/bin/siren" --version)" = "siren $VERSION"
check "installed siren.h is include/siren.h" cmp -s include/siren.h "$P/include/siren.h"

export PKG_CONFIG_PATH="$P/lib/pkgconfig"
check "pkg-config --modversion siren is $VERSION" \
    test "$(pkg-config --modversion siren)" = "$VERSION"
cflags=$(pkg-config --cflags siren)
libs=$(pkg-config --libs siren)
slibs=$(pkg-config --static --libs siren)
case " $cflags " in *" -I$P/include "*) ok "pkg-config --cflags: $cflags" ;;
    *) nok "pkg-config --cflags has -I$P/include: $cflags" ;; esac
case " $libs " in *" -L$P/lib -lsiren "*) ok "pkg-config --libs: $libs" ;;
    *) nok "pkg-config --libs has -L$P/lib -lsiren: $libs" ;; esac
case " $slibs " in *" -fopenmp "*-lopenblas*-lsleef*-lcjson*) ok "pkg-config --static --libs: $slibs" ;;
    *) nok "pkg-config --static --libs has the private dependencies: $slibs" ;; esac
grep -q "^prefix=$P\$" "$P/lib/pkgconfig/siren.pc" &&
    grep -q '^libdir=${prefix}/lib$' "$P/lib/pkgconfig/siren.pc"
check "siren.pc: prefix=$P, libdir=\${prefix}/lib" test $? -eq 0

cat >"$tmp/prog.c" <<'PROG'
/* Fit camera at 32x32 through the installed library, render at 64x64,
 * read the PNG back; prints "WxH PSNR". */
#include <siren.h>
#include <stdio.h>

int main(int argc, char **argv) {
    siren_image photo, img, big, back;
    siren_net *net, *again;
    siren_fit_result res;
    siren_config cfg = siren_config_default(2, 1);
    siren_train_opts opt = siren_train_opts_default();
    cfg.hidden_features = 32;
    opt.steps = 20;
    opt.threads = 1;
    if (argc != 4) return 2;
    if (siren_image_load(argv[1], &photo, NULL) ||
        siren_image_resize(&photo, 32, 32, &img) ||
        siren_fit_image(&img, &cfg, &opt, &net, &res) ||
        siren_net_save(net, argv[3]) || siren_net_load(argv[3], &again) ||
        siren_render_image(again, 2 * img.width, 2 * img.height, 1, &big) ||
        siren_image_write_png(argv[2], &big) ||
        siren_image_load(argv[2], &back, NULL)) {
        fprintf(stderr, "%s\n", siren_last_error());
        return 1;
    }
    printf("%dx%d %.6f\n", back.width, back.height, res.psnr_db);
    siren_image_free(&photo); siren_image_free(&img); siren_image_free(&big);
    siren_image_free(&back); siren_net_free(net); siren_net_free(again);
    return 0;
}
PROG
CC=${CC:-cc}
# shellcheck disable=SC2086
check "a program builds against the installed shared library (pkg-config --cflags --libs siren)" \
    $CC -std=c11 -Wall -Wextra -Werror $SAN -o "$tmp/prog_shared" "$tmp/prog.c" $cflags $libs
check "it needs libsiren.so.$MAJOR" sh -c "readelf -d '$tmp/prog_shared' | grep -q 'NEEDED.*\[libsiren.so.$MAJOR\]'"
out_shared=$(LD_LIBRARY_PATH="$P/lib" "$tmp/prog_shared" data/camera.png "$tmp/shared.png" "$tmp/shared.safetensors")
check "it runs with LD_LIBRARY_PATH=PREFIX/lib: fit 32x32, render 64x64 ($out_shared)" \
    test "${out_shared%% *}" = "64x64"
check "it loads the installed libsiren.so.$MAJOR" \
    sh -c "LD_LIBRARY_PATH='$P/lib' ldd '$tmp/prog_shared' | grep -q '$P/lib/libsiren.so.$MAJOR'"
# -l:libsiren.a: the static archive although libsiren.so sits beside it.
# shellcheck disable=SC2086
check "a program links statically (pkg-config --static --libs siren, -l:libsiren.a)" \
    $CC -std=c11 -Wall -Wextra -Werror $SAN -o "$tmp/prog_static" "$tmp/prog.c" $cflags \
    $(echo "$slibs" | sed 's/-lsiren\b/-l:libsiren.a/')
check "it does not need libsiren.so" sh -c "! readelf -d '$tmp/prog_static' | grep -q 'libsiren'"
out_static=$("$tmp/prog_static" data/camera.png "$tmp/static.png" "$tmp/static.safetensors")
check "it runs: the same rendering size and PSNR as the shared one ($out_static)" \
    test -n "$out_static" -a "$out_static" = "$out_shared"
check "the installed siren renders its model" \
    "$P/bin/siren" render "$tmp/static.safetensors" -o "$tmp/cli.png" --size 64x64
# shellcheck disable=SC2086
check "examples/fit_camera.c builds against the installed library" \
    $CC -std=c11 -Wall -Wextra -Werror $SAN -o "$tmp/fit_camera" examples/fit_camera.c $cflags $libs

# The Python module: pip install (offline, no build isolation needed), then
# the installed library found through the dynamic linker alone.
PY=/usr/bin/python3
if $PY -c 'import numpy' 2>/dev/null && $PY -m pip --version >/dev/null 2>&1 && [ -z "$SAN" ]; then
    cp -r python "$tmp/pysrc" && rm -rf "$tmp/pysrc/build" "$tmp/pysrc"/*.egg-info
    check "pip install ./python (offline, --no-index)" \
        sh -c "$PY -m pip install -q --no-index --no-deps --target '$tmp/site' '$tmp/pysrc' >'$tmp/pip.log' 2>&1 || { cat '$tmp/pip.log'; exit 1; }"
    pyout=$(cd "$tmp" && env -u SIREN_LIB PYTHONPATH="$tmp/site" LD_LIBRARY_PATH="$P/lib" $PY -c '
import siren
m = siren.fit("'"$ROOT"'/data/camera.png", size=32, steps=20, hidden=32, threads=1)
print(siren.library_path, m.render(64).shape, siren.__file__)' 2>&1)
    case "$pyout" in
        "libsiren.so.$MAJOR (64, 64) $tmp/site/siren/__init__.py") ok "the pip-installed module finds the installed library: $pyout" ;;
        *) nok "the pip-installed module finds the installed library: $pyout" ;;
    esac
else
    echo "# skip pip install: needs python3-numpy and python3-pip (and no sanitizer build)"
fi

check "make uninstall PREFIX=$P" mk uninstall PREFIX="$P"
left=$(find "$P" ! -type d)
check "uninstall leaves no file in PREFIX${left:+: $left}" test -z "$left"

# DESTDIR: files staged under DESTDIR, paths inside them without it.
D=$tmp/stage
check "make install DESTDIR=... PREFIX=/opt/siren" mk install DESTDIR="$D" PREFIX=/opt/siren
check "staged under DESTDIR/opt/siren" test -f "$D/opt/siren/lib/libsiren.so.$VERSION" \
    -a -L "$D/opt/siren/lib/libsiren.so" -a -f "$D/opt/siren/share/man/man1/siren.1"
check "siren.pc says prefix=/opt/siren" grep -q '^prefix=/opt/siren$' "$D/opt/siren/lib/pkgconfig/siren.pc"
check "make uninstall DESTDIR=... PREFIX=/opt/siren" mk uninstall DESTDIR="$D" PREFIX=/opt/siren
left=$(find "$D" ! -type d)
check "uninstall leaves no file in DESTDIR${left:+: $left}" test -z "$left"
[ "$fails" -eq 0 ]

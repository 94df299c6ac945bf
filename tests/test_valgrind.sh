#!/bin/sh
# Short runs of the CLI under valgrind's memcheck (issue 10): no invalid
# read or write, no use of uninitialised memory, no definite leak, in a fit
# of each loop (values, gradients through the double backward, the SDF
# loss), meshing and the shape evaluation. valgrind does not emulate
# AVX-512, so this checks the plain and AVX2 paths (CPUID under valgrind
# reports no AVX-512); ASan covers the AVX-512 ones (make SANITIZE=1 test).
# Skipped, with a message, where valgrind is not installed.
BUILD=${BUILD:-build}
S=$BUILD/siren
if ! command -v valgrind >/dev/null 2>&1; then
    echo "# skipped: valgrind is not installed (apt-get install valgrind)"
    exit 0
fi
case "$BUILD" in *asan*) echo "# skipped: valgrind does not run ASan builds"; exit 0;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
printf '0 0 1 0 0 1\n0 1 0 0 1 0\n1 0 0 1 0 0\n0 0 -1 0 0 -1\n0 -1 0 0 -1 0\n-1 0 0 -1 0 0\n' >"$T/c.xyz"
VG="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite"
SMALL="--hidden 16 --layers 1 --quiet"
run() { # NAME CMD...
    name=$1; shift
    if $VG "$@" >"$T/out" 2>"$T/err"; then
        echo "ok - valgrind clean: $name"
    else
        echo "not ok - valgrind: $name: $(head -c 600 "$T/err")"
    fi
}
run "fit image, 2 threads" $S fit image data/camera.png --size 24x24 --steps 3 --threads 2 $SMALL -o "$T/i.safetensors"
run "fit grad (double backward)" $S fit grad data/camera.png --size 24x24 --steps 3 --threads 2 $SMALL -o "$T/g.safetensors"
run "fit lapl (jets)" $S fit lapl data/camera.png --size 16x16 --steps 2 --threads 1 $SMALL -o "$T/l.safetensors"
run "fit sdf with checkpoints" $S fit sdf "$T/c.xyz" --steps 3 --batch 6 --threads 2 $SMALL \
    --checkpoint "$T/ck" --checkpoint-every 1 -o "$T/s.safetensors"
run "mesh to PLY" $S mesh "$T/s.safetensors" -o "$T/m.ply" --res 12 --threads 2 --quiet
run "eval a shape" $S eval "$T/s.safetensors" "$T/c.xyz" --res 12 --samples 500 --threads 2
run "render all derivatives" $S render "$T/i.safetensors" -o "$T/a.png" --what all --size 16x16

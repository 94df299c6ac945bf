#!/bin/sh
# Installs the Debian packages siren needs to build and test (DESIGN §6),
# skipping what is already there. Run as root on Debian 12. Open MPI
# (libopenmpi-dev, openmpi-bin) is optional for the build: with it the CLI
# runs under mpirun (README: Scale) and tests/test_mpi.sh runs its MPI part.
# dataset-fashion-mnist (Fashion-MNIST's IDX files, MIT) is for the prior's
# measurement (README: hypernetwork prior) and tests/test_idx.c's check of
# Debian's files; the tests make their own data without it.
set -e
PKGS="build-essential pkg-config libopenblas-dev libsleef-dev libstb-dev \
libcjson-dev libsndfile1-dev zlib1g-dev python3 python3-numpy python3-scipy python3-skimage python3-pil \
python3-pip python3-setuptools valgrind libopenmpi-dev openmpi-bin dataset-fashion-mnist"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: need root to install:$missing" >&2
        exit 1
    fi
    echo "install-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
fi

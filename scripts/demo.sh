#!/bin/sh
# The main job on a fresh Debian 12 machine: install what is missing, build,
# fit the bundled cameraman photo at 256x256 with the official recipe, and
# write the model, the reconstruction and the PSNR.
#   out/camera.safetensors   the model (loads into PyTorch, see README)
#   out/camera.png           the model rendered at 256x256
#   out/camera_512.png       the same model rendered at 512x512
set -e
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
make -j2
mkdir -p out
STEPS=${STEPS:-500}
build/siren fit image data/camera.png --size 256x256 --steps "$STEPS" \
    -o out/camera.safetensors
build/siren render out/camera.safetensors -o out/camera.png
build/siren render out/camera.safetensors -o out/camera_512.png --size 512x512
build/siren eval out/camera.safetensors data/camera.png --size 256x256

# bench/lib.sh: what bench/run, bench/sdf_run and bench/audio_run share.
# Sourced (not run) by them, after they have defined die() and cd'd to the
# repository root. Defines:
#
#   BIG, TORCH_ENV        PyTorch's best configuration (bench/README.md)
#   bench_horse OUT       HORSE=the horse scan (the HORSE given, or fetched
#                         from Debian's libpetsc3.18-dev-examples into OUT)
#   bench_horse_xyz OUT POINTS
#                         XYZ=OUT/horseNk.xyz (with HORSE given: OUT/NAMENk.xyz,
#                         NAME its base name), POINTS oriented points sampled
#                         from the scan by bench/sample_ply.py (seed 0); when
#                         HORSE is not given and OUT/horse.ply is not there,
#                         an existing OUT/horseNk.xyz is reused (the sampling
#                         is deterministic)
#   bench_wav OUT         WAV=the speech recording (the WAV given, or
#                         codec2-examples' speech_orig_16k.wav fetched into OUT)
#   sdf_siren_args XYZ STEPS BATCH         SIREN_ARGS: `siren` args, less --seed and -o
#   sdf_torch_args XYZ STEPS BATCH NPROC   TORCH_ARGS: `python3` args, less --seed
#   audio_siren_args WAV STEPS             SIREN_ARGS
#   audio_torch_args WAV STEPS NPROC       TORCH_ARGS
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source it

BIG=17179869184   # 16 GiB: glibc malloc then never unmaps nor trims big blocks

# The environment PyTorch gets. The machine's environment sets
# OPENBLAS_CORETYPE=Haswell and OPENBLAS_L2_SIZE, which hold OpenBLAS to its
# AVX2 kernels; PyTorch gets them unset (OpenBLAS then picks its AVX-512
# kernel), glibc malloc thresholds raised (otherwise every step maps and
# unmaps its 64 MiB activations and spends its time in page faults) and
# ATen's AVX-512 element-wise kernels (sin/cos twice as fast as the default
# AVX2 ones on this CPU).
TORCH_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
           "MALLOC_MMAP_THRESHOLD_=$BIG" "MALLOC_TRIM_THRESHOLD_=$BIG"
           ATEN_CPU_CAPABILITY=avx512)

bench_horse() {
    local out=$1 deb
    if [ -n "${HORSE:-}" ]; then
        [ -f "$HORSE" ] || die "HORSE=$HORSE: no such file"
        return 0
    fi
    HORSE=$out/horse.ply
    [ -f "$HORSE" ] && return 0
    echo "bench: fetching libpetsc3.18-dev-examples for horse.ply" >&2
    ( cd "$out" && apt-get download libpetsc3.18-dev-examples >&2 ) || die "apt-get download failed"
    deb=$(ls "$out"/libpetsc3.18-dev-examples_*.deb | head -n 1)
    dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*/datafiles/meshes/horse.ply.bz2' \
        | bunzip2 > "$HORSE.tmp" && mv "$HORSE.tmp" "$HORSE" || die "cannot extract horse.ply"
}

bench_horse_xyz() {
    local out=$1 points=$2 name=horse
    # a HORSE given gets its own file name, so that OUT/horseNk.xyz is only
    # ever sampled from the Debian package's scan
    if [ -n "${HORSE:-}" ]; then name=$(basename "${HORSE%.*}"); fi
    XYZ=$out/$name$((points / 1000))k.xyz
    [ $((points % 1000)) -eq 0 ] || XYZ=$out/$name$points.xyz
    if [ -z "${HORSE:-}" ] && [ -s "$XYZ" ] && [ ! -f "$out/horse.ply" ]; then
        echo "bench: reusing $XYZ (sampled from the horse scan earlier; seed 0)" >&2
        return 0
    fi
    bench_horse "$out"
    "${PY:-/usr/bin/python3}" bench/sample_ply.py "$HORSE" "$points" "$XYZ" --seed 0 \
        || die "sampling $HORSE failed"
}

bench_wav() {
    local out=$1 deb
    if [ -n "${WAV:-}" ]; then
        [ -f "$WAV" ] || die "WAV=$WAV: no such file"
        return 0
    fi
    WAV=$out/speech_orig_16k.wav
    [ -f "$WAV" ] && return 0
    echo "bench: fetching codec2-examples for speech_orig_16k.wav" >&2
    ( cd "$out" && apt-get download codec2-examples >&2 ) || die "apt-get download failed"
    deb=$(ls "$out"/codec2-examples_*.deb | head -n 1)
    dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*/speech_orig_16k.wav' > "$WAV.tmp" \
        && mv "$WAV.tmp" "$WAV" || die "cannot extract speech_orig_16k.wav"
}

# The official shape recipe: 3x256, omega_0 30, Adam 1e-4, sdf_loss, BATCH
# surface points + as many uniform ones per step.
sdf_siren_args() {
    SIREN_ARGS=(fit sdf "$1" --steps "$2" --batch "$3" --hidden 256 --layers 3
                --omega0 30 --lr 1e-4 --json --quiet)
}
sdf_torch_args() {
    TORCH_ARGS=(bench/torch_sdf.py --xyz "$1" --steps "$2" --batch "$3" --threads "$4" --json)
}

# The official train_audio.py recipe: 3x256, first omega_0 3000, full batch.
audio_siren_args() {
    SIREN_ARGS=(fit audio "$1" --steps "$2" --channels mix --json --quiet)
}
audio_torch_args() {
    TORCH_ARGS=(bench/torch_audio.py --wav "$1" --steps "$2" --threads "$3")
}

/* The three GEMM shapes the network uses, and the choice of path for each
 * call: our packed kernel of the selected ISA (siren_isa_select: AVX-512,
 * gemm_avx512.c, or AVX2, gemm_avx2.c; plain means CBLAS) when the shape
 * is big enough to pay for packing, else CBLAS; with bf16 precision on
 * (siren_gemm_set_precision) the big shapes go to gemm_bf16_avx512.c. Named shapes keep src/net
 * reading as the math of DESIGN §3. */
#include <cblas.h>
#include <omp.h>

#include "kernels/kernels.h"

static _Thread_local int gemm_threads; /* 0: not set, use OpenMP's default */
static int force_blas;
static siren_gemm_precision precision = SIREN_GEMM_FP32;
static _Thread_local int blas_threads_set; /* what OpenBLAS was last told, 0: nothing */

static void blas_threads(int n) {
    if (n != blas_threads_set) openblas_set_num_threads(n);
    blas_threads_set = n;
}

void siren_gemm_set_threads(int threads) {
    gemm_threads = threads > 0 ? threads : 1;
    blas_threads(gemm_threads);
}

int siren_gemm_threads(void) {
    return gemm_threads > 0 ? gemm_threads : omp_get_max_threads();
}

void siren_gemm_use_blas(int on) { force_blas = on; }

int siren_gemm_bf16_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bf16");
}

siren_gemm_precision siren_gemm_set_precision(siren_gemm_precision p) {
    precision = p == SIREN_GEMM_BF16 && siren_gemm_bf16_supported()
                    ? SIREN_GEMM_BF16
                    : SIREN_GEMM_FP32;
    return precision;
}

siren_gemm_precision siren_gemm_precision_current(void) { return precision; }

void siren_gemm_blas(siren_gemm_op op, int M, int N, int K, const float *A,
                     const float *B, float beta, float *C) {
    switch (op) {
    case SIREN_GEMM_ABT:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A,
                    K, B, K, beta, C, N);
        break;
    case SIREN_GEMM_ATB:
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A,
                    M, B, N, beta, C, N);
        break;
    case SIREN_GEMM_AB:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f,
                    A, K, B, N, beta, C, N);
        break;
    }
}

/* Ours, when it is on, for shapes with no tiny side: the first layer
 * (K = 2) and the last (N or M = 1..3) waste most of a 14x32 (AVX-512) or
 * 6x16 (AVX2) tile, are memory-bound, and CBLAS measured faster on them
 * with the AVX-512 kernel (with the AVX2 one, only where N or M is 1..3). */
static int use_ours(int M, int N, int K) {
    return M >= 16 && N >= 16 && K >= 16 && (double)M * N * K >= 1e5;
}

/* While our kernel does the big GEMMs, the small ones left to CBLAS run
 * on one thread: they are memory-bound, and OpenBLAS's idle workers spin
 * (sched_yield) after each call, taking a core from the OpenMP team that
 * runs next. On 2 cores that cost a fifth of a training step (375 -> 300
 * ms at 256x256 points). */
static void gemm(siren_gemm_op op, int M, int N, int K, const float *A,
                 const float *B, float beta, float *C) {
    if (M <= 0 || N <= 0) return;
    siren_isa isa = force_blas ? SIREN_ISA_PLAIN : siren_isa_current();
    int ours = isa == SIREN_ISA_AVX512 || isa == SIREN_ISA_AVX2;
    if (ours && use_ours(M, N, K)) {
        if (isa == SIREN_ISA_AVX512 && precision == SIREN_GEMM_BF16)
            siren_gemm_bf16(op, M, N, K, A, B, beta, C, siren_gemm_threads());
        else if (isa == SIREN_ISA_AVX512)
            siren_gemm_avx512(op, M, N, K, A, B, beta, C, siren_gemm_threads());
        else
            siren_gemm_avx2(op, M, N, K, A, B, beta, C, siren_gemm_threads());
    } else {
        blas_threads(ours ? 1 : siren_gemm_threads());
        siren_gemm_blas(op, M, N, K, A, B, beta, C);
    }
}

void siren_gemm_abt(int M, int N, int K, const float *A, const float *B,
                    float beta, float *C) {
    gemm(SIREN_GEMM_ABT, M, N, K, A, B, beta, C);
}

void siren_gemm_atb(int M, int N, int K, const float *A, const float *B,
                    float beta, float *C) {
    gemm(SIREN_GEMM_ATB, M, N, K, A, B, beta, C);
}

void siren_gemm_ab(int M, int N, int K, const float *A, const float *B,
                   float beta, float *C) {
    gemm(SIREN_GEMM_AB, M, N, K, A, B, beta, C);
}

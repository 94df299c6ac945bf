/* GEMM through CBLAS. Thin on purpose: the row-major shapes the network
 * uses get names, so src/net reads as the math of DESIGN §3. */
#include <cblas.h>

#include "kernels/kernels.h"

void siren_gemm_abt(int M, int N, int K, const float *A, const float *B,
                    float beta, float *C) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K,
                B, K, beta, C, N);
}

void siren_gemm_atb(int M, int N, int K, const float *A, const float *B,
                    float beta, float *C) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M,
                B, N, beta, C, N);
}

void siren_gemm_ab(int M, int N, int K, const float *A, const float *B,
                   float beta, float *C) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A,
                K, B, N, beta, C, N);
}

void siren_gemm_set_threads(int threads) { openblas_set_num_threads(threads); }

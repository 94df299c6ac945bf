/* The reference GEMM: straightforward loops, double accumulation, one
 * thread. Slow on purpose; tests hold the fast paths against it. */
#include "kernels/kernels.h"

void siren_gemm_plain(siren_gemm_op op, int M, int N, int K, const float *A,
                      const float *B, float beta, float *C) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                /* op(A)(i,k) and op(B)(k,j) in each layout */
                float a = op == SIREN_GEMM_ATB ? A[(size_t)k * M + i]
                                               : A[(size_t)i * K + k];
                float b = op == SIREN_GEMM_ABT ? B[(size_t)j * K + k]
                                               : B[(size_t)k * N + j];
                s += (double)a * b;
            }
            float *c = &C[(size_t)i * N + j];
            /* beta == 0 must not read C: it may hold NaN. */
            *c = beta == 0.0f ? (float)s : (float)(s + (double)beta * *c);
        }
}

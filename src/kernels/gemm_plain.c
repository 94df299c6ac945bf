/* The reference GEMMs: straightforward loops, double accumulation, one
 * thread. Slow on purpose; tests hold the fast paths against them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

float siren_bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu))
        u |= 0x00400000u; /* NaN: keep it one (quiet) after truncation */
    else
        u += 0x7fffu + ((u >> 16) & 1u); /* to nearest, ties to even */
    u &= 0xffff0000u;
    memcpy(&x, &u, sizeof u);
    return x;
}

/* op(A)(i,k) · op(B)(k,j) summed over k in double; C = s + beta C. */
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

/* The same on rounded copies of A and B (falls back to rounding nothing
 * if the copies cannot be had: the caller, a test, sees the difference). */
void siren_gemm_plain_bf16(siren_gemm_op op, int M, int N, int K,
                           const float *A, const float *B, float beta,
                           float *C) {
    size_t na = (size_t)M * (K > 0 ? K : 0), nb = (size_t)N * (K > 0 ? K : 0);
    float *a = malloc((na ? na : 1) * sizeof(float));
    float *b = malloc((nb ? nb : 1) * sizeof(float));
    if (a && b) {
        for (size_t i = 0; i < na; i++) a[i] = siren_bf16_round(A[i]);
        for (size_t i = 0; i < nb; i++) b[i] = siren_bf16_round(B[i]);
        A = a, B = b;
    }
    siren_gemm_plain(op, M, N, K, A, B, beta, C);
    free(a), free(b);
}

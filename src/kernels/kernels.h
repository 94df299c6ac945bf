/* Kernels: pure functions on float arrays with shape comments. No I/O, no
 * allocation, no knowledge of tasks or threads: the caller (src/net) splits
 * rows between threads. GEMM goes through CBLAS (OpenBLAS); the sine layer's
 * element-wise work has a plain C path and SLEEF AVX2/AVX-512 paths chosen
 * once at run time from what the CPU supports. */
#ifndef SIREN_KERNELS_H
#define SIREN_KERNELS_H

#include <stddef.h>

/* All matrices row-major. */

/* C (M,N) = A (M,K) · B (N,K)ᵀ + beta·C   — a linear layer's forward,
 * with B the PyTorch weight [out][in]. */
void siren_gemm_abt(int M, int N, int K, const float *A, const float *B,
                    float beta, float *C);
/* C (M,N) = A (K,M)ᵀ · B (K,N) + beta·C   — a weight gradient gzᵀ·h. */
void siren_gemm_atb(int M, int N, int K, const float *A, const float *B,
                    float beta, float *C);
/* C (M,N) = A (M,K) · B (K,N) + beta·C    — the input gradient gz·W. */
void siren_gemm_ab(int M, int N, int K, const float *A, const float *B,
                   float beta, float *C);

/* Threads used by the BLAS library (OpenBLAS has its own pool). */
void siren_gemm_set_threads(int threads);

/* One row of a sine layer, n = layer width:
 *   zh[j] in: z = (W h)[j]   out: sin(omega (z + b[j]))
 *   d[j]  out: omega cos(omega (z + b[j]))   (skipped when d == NULL)
 * d is f'(z), all the backward pass of the value channel needs. */
typedef void (*siren_sine_row_fn)(int n, const float *b, float omega,
                                  float *zh, float *d);

void siren_sine_row_plain(int n, const float *b, float omega, float *zh,
                          float *d);
void siren_sine_row_avx2(int n, const float *b, float omega, float *zh,
                         float *d);
void siren_sine_row_avx512(int n, const float *b, float omega, float *zh,
                           float *d);

typedef enum {
    SIREN_ISA_PLAIN = 0,
    SIREN_ISA_AVX2 = 1,
    SIREN_ISA_AVX512 = 2
} siren_isa;

/* The best ISA this CPU runs. */
siren_isa siren_isa_best(void);
/* Use `isa` from now on (clamped to what the CPU supports); returns the
 * one in use. Tests use it to run the plain path beside the SIMD ones. */
siren_isa siren_isa_select(siren_isa isa);
const char *siren_isa_name(siren_isa isa);
/* The sine-row kernel of the selected ISA. */
siren_sine_row_fn siren_sine_row(void);

#endif

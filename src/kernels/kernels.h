/* Kernels: pure functions on float arrays with shape comments. No I/O, no
 * knowledge of tasks. The caller (src/net) splits rows between threads for
 * the element-wise work; the GEMMs thread themselves (ours with OpenMP,
 * CBLAS with its own pool) and keep their packing buffers. The sine layer's
 * element-wise work has a plain C path and SLEEF AVX2/AVX-512 paths chosen
 * once at run time from what the CPU supports. */
#ifndef SIREN_KERNELS_H
#define SIREN_KERNELS_H

#include <stddef.h>

/* All matrices row-major. The three GEMMs run our packed kernel of the
 * selected ISA (gemm_avx512.c or gemm_avx2.c, OpenMP inside) when the
 * shape is not tiny, else CBLAS (and CBLAS for the plain ISA). Same shape,
 * ISA and thread count give bit-identical results. */

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

/* Threads for the GEMMs: ours (OpenMP) and the BLAS library's pool. While
 * ours is on, the small shapes left to CBLAS run on one thread (gemm.c
 * says why). */
void siren_gemm_set_threads(int threads);
int siren_gemm_threads(void);
/* Nonzero: always use CBLAS, on all the threads (tests, a `--kernels blas`
 * switch); the sine kernels keep their ISA. */
void siren_gemm_use_blas(int on);

/* The paths behind the three GEMMs, for tests and benchmarks. `op` names
 * the shape as above; all compute op(A)·op(B) + beta·C. */
typedef enum {
    SIREN_GEMM_ABT = 0,
    SIREN_GEMM_ATB = 1,
    SIREN_GEMM_AB = 2
} siren_gemm_op;

/* Plain C loops accumulating in double: the reference, one thread. */
void siren_gemm_plain(siren_gemm_op op, int M, int N, int K, const float *A,
                      const float *B, float beta, float *C);
/* CBLAS, on the threads set for the BLAS library. */
void siren_gemm_blas(siren_gemm_op op, int M, int N, int K, const float *A,
                     const float *B, float beta, float *C);
/* Packed AVX-512 micro-kernel on `threads` OpenMP threads. Only call it on
 * a CPU with AVX-512F. Any size; fast for large multiples of the tile.
 * The packing buffers are per calling thread, kept and grown between
 * calls, so two caller threads may run it at once. */
void siren_gemm_avx512(siren_gemm_op op, int M, int N, int K, const float *A,
                       const float *B, float beta, float *C, int threads);
/* The same with AVX2 + FMA and a 6x16 tile, for CPUs without AVX-512.
 * Only call it on a CPU with AVX2 and FMA. Its own packing buffers, kept
 * as siren_gemm_avx512's are. */
void siren_gemm_avx2(siren_gemm_op op, int M, int N, int K, const float *A,
                     const float *B, float beta, float *C, int threads);

/* What the packed drivers share (gemm_driver.c). A packing buffer of one
 * calling thread (each driver keeps a _Thread_local one): at least `bytes`,
 * page-aligned, grown when needed and touched once, so a call does not
 * allocate or page-fault in the steady state; NULL when out of memory. */
typedef struct {
    void *buf;
    size_t bytes;
} siren_gemm_ws;
void *siren_gemm_ws_get(siren_gemm_ws *ws, size_t bytes);
/* beta other than 0 and 1, or K <= 0: C = beta·C now and *beta = 1, so
 * the product is then added. Returns 1 when K <= 0 (nothing to add). */
int siren_gemm_prescale(int M, int N, int K, float *beta, float *C);
/* The end of a K split: thread t of nt adds the partial products of
 * threads 1..nt-1 (M x N floats each, one after the other at part) to its
 * share of C's rows, in that order (so the result does not depend on
 * timing). Call after a barrier. */
void siren_gemm_add_partials(float *C, const float *part, int M, int N, int t,
                             int nt);

/* Mixed precision: op(A) and op(B) rounded to bf16 (nearest even) as
 * they are packed, products summed in fp32 (AVX512_BF16's VDPBF16PS, twice
 * the FMA rate), C fp32. Only call it on a CPU where
 * siren_gemm_bf16_supported(). Packing buffers per calling thread, as
 * siren_gemm_avx512's. */
void siren_gemm_bf16(siren_gemm_op op, int M, int N, int K, const float *A,
                     const float *B, float beta, float *C, int threads);
/* Its reference: the plain loops on bf16-rounded operands, summed in
 * double. */
void siren_gemm_plain_bf16(siren_gemm_op op, int M, int N, int K,
                           const float *A, const float *B, float beta,
                           float *C);
/* x rounded to the nearest bf16 (ties to even; NaN stays NaN), as a
 * float. */
float siren_bf16_round(float x);

/* The arithmetic of the big GEMMs, process-wide like the ISA: fp32 (the
 * default) or bf16 (siren_gemm_bf16 for the shapes our kernels take, when
 * the ISA is AVX-512 and the CPU has AVX512_BF16; CBLAS's small shapes
 * stay fp32). Returns the precision in use: fp32 when bf16 is asked on a
 * CPU without it. */
typedef enum {
    SIREN_GEMM_FP32 = 0,
    SIREN_GEMM_BF16 = 1
} siren_gemm_precision;
int siren_gemm_bf16_supported(void);
siren_gemm_precision siren_gemm_set_precision(siren_gemm_precision p);
siren_gemm_precision siren_gemm_precision_current(void);

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
/* The ISA in use (the best one until siren_isa_select says otherwise). */
siren_isa siren_isa_current(void);
/* The sine-row kernel of the selected ISA. */
siren_sine_row_fn siren_sine_row(void);

/* The same row kernel for the other activations (omega unused):
 * relu: max(v, 0), d = [v > 0];  tanh: tanh(v), d = 1 - tanh(v)^2,
 * with v = z + b. */
void siren_relu_row(int n, const float *b, float omega, float *zh, float *d);
void siren_tanh_row(int n, const float *b, float omega, float *zh, float *d);
/* The row kernel of a siren_activation (SIREN_ACT_SINE picks the ISA's). */
siren_sine_row_fn siren_act_row(int activation);

#endif

/* gemm_bench.c: GFLOP/s of our AVX-512 GEMM, of its bf16 variant (when the
 * CPU has AVX512_BF16) and of CBLAS at the network's shapes (256x256
 * layers over 65536 points), 1 and 2 threads, median of 7.
 * Not a test. Build and run from the repository root, after `make`:
 *
 *   cc -O2 -fopenmp -Iinclude -Isrc bench/gemm_bench.c build/libsiren.a $(pkg-config --libs openblas sleef stb libcjson) -lm -o build/gemm_bench && ./build/gemm_bench
 *
 * Optional arguments: P (points, default 65536) and W (width, 256).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

enum { REPS = 7 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of REPS calls, after one warm-up call; *best gets the
 * fastest (the machine is shared: the best shows what the code can do). */
enum { OURS, BLAS, BF16 };
static double time_op(int path, siren_gemm_op op, int M, int N, int K,
                      const float *A, const float *B, float *C, int T,
                      double *best) {
    double t[REPS];
    for (int r = -1; r < REPS; r++) {
        double t0 = now();
        if (path == BLAS)
            siren_gemm_blas(op, M, N, K, A, B, 0.0f, C);
        else if (path == BF16)
            siren_gemm_bf16(op, M, N, K, A, B, 0.0f, C, T);
        else
            siren_gemm_avx512(op, M, N, K, A, B, 0.0f, C, T);
        if (r >= 0) t[r] = now() - t0;
    }
    qsort(t, REPS, sizeof *t, cmp_double);
    *best = t[0];
    return t[REPS / 2];
}

int main(int argc, char **argv) {
    int P = argc > 1 ? atoi(argv[1]) : 65536, W = argc > 2 ? atoi(argv[2]) : 256;
    __builtin_cpu_init();
    int have = __builtin_cpu_supports("avx512f");
    int have_bf16 = siren_gemm_bf16_supported();
    size_t big = (size_t)P * W;
    float *A = malloc(big * 4), *B = malloc(big * 4), *C = malloc(big * 4);
    for (size_t i = 0; i < big; i++) {
        A[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
        B[i] = (float)((i * 40503u) % 1000) * 1e-3f - 0.5f;
    }
    memset(C, 0, big * 4);
    struct { siren_gemm_op op; const char *name; int M, N, K; } ops[] = {
        {SIREN_GEMM_ABT, "abt (forward)", P, W, W},
        {SIREN_GEMM_ATB, "atb (weight grad)", W, W, P},
        {SIREN_GEMM_AB, "ab (input grad)", P, W, W},
    };
    printf("GFLOP/s, median of %d (best in brackets)\n", REPS);
    printf("%-18s %2s %16s %16s %6s %16s %6s\n", "op", "T", "ours", "cblas",
           "ratio", "ours bf16", "/ours");
    for (int o = 0; o < 3; o++)
        for (int T = 1; T <= 2; T++) {
            int M = ops[o].M, N = ops[o].N, K = ops[o].K;
            double flop = 2.0 * M * N * K;
            siren_gemm_set_threads(T);
            double bo = 1, bb = 1, bh = 1;
            double ours = have ? flop / time_op(OURS, ops[o].op, M, N, K, A, B, C, T, &bo) * 1e-9 : 0;
            double blas = flop / time_op(BLAS, ops[o].op, M, N, K, A, B, C, T, &bb) * 1e-9;
            double half = have_bf16 ? flop / time_op(BF16, ops[o].op, M, N, K, A, B, C, T, &bh) * 1e-9 : 0;
            printf("%-18s %2d %7.1f [%6.1f] %7.1f [%6.1f] %6.2f %7.1f [%6.1f] %6.2f\n",
                   ops[o].name, T, ours, flop / bo * 1e-9, blas, flop / bb * 1e-9,
                   ours / blas, half, flop / bh * 1e-9, ours > 0 ? half / ours : 0);
        }
    free(A), free(B), free(C);
    return 0;
}

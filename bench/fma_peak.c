/* fma_peak.c: measure this machine's single-precision FMA peak in GFLOP/s.
 *
 * A loop of independent fused multiply-adds on vector registers, long enough
 * to hide FMA latency (16 accumulators: latency 4 cycles x 2 FMA pipes needs
 * at least 8 in flight). One FMA on a 512-bit vector = 16 lanes x 2 FLOP.
 * Run on one thread and on all threads (OpenMP), best of 10 repetitions
 * 50 ms apart.
 * Falls back to AVX2 (8 lanes) if the CPU has no AVX-512 (run-time check).
 *
 * On a CPU with AVX512_BF16 (run-time check) it also measures the bf16
 * dot-product peak the same way: a loop of independent VDPBF16PS
 * (_mm512_dpbf16_ps: per 32-bit lane, two bf16 products added to an fp32
 * accumulator) on 24 accumulators; one instruction = 32 multiplies + 32 adds
 * = 64 FLOP. This is the peak of `siren fit --precision bf16`'s products.
 *
 * Build: cc -O2 -fopenmp bench/fma_peak.c -o build/bench/fma_peak
 * (the ISA-specific code is selected per function with target attributes,
 * so the binary also runs on a CPU without AVX-512; -mavx512f is not needed).
 * Output: one JSON line {"isa","gflops_1core","gflops_all","threads"}, plus
 * "bf16_gflops_1core" and "bf16_gflops_all" when the CPU has AVX512_BF16.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ITERS 20000000L /* iterations of the inner loop per timed call */
#define REPS 10 /* spread over ~1 s, so a busy spell of the machine misses some */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Each returns a value derived from all accumulators so nothing is elided. */

__attribute__((target("avx512f,fma"), noinline))
static float run_avx512(long iters, float seed)
{
    __m512 a = _mm512_set1_ps(0.999999f);
    __m512 b = _mm512_set1_ps(1e-7f * seed);
    __m512 c0 = _mm512_set1_ps(seed + 0.0f), c1 = _mm512_set1_ps(seed + 1.0f);
    __m512 c2 = _mm512_set1_ps(seed + 2.0f), c3 = _mm512_set1_ps(seed + 3.0f);
    __m512 c4 = _mm512_set1_ps(seed + 4.0f), c5 = _mm512_set1_ps(seed + 5.0f);
    __m512 c6 = _mm512_set1_ps(seed + 6.0f), c7 = _mm512_set1_ps(seed + 7.0f);
    __m512 c8 = _mm512_set1_ps(seed + 8.0f), c9 = _mm512_set1_ps(seed + 9.0f);
    __m512 ca = _mm512_set1_ps(seed + 10.f), cb = _mm512_set1_ps(seed + 11.f);
    __m512 cc = _mm512_set1_ps(seed + 12.f), cd = _mm512_set1_ps(seed + 13.f);
    __m512 ce = _mm512_set1_ps(seed + 14.f), cf = _mm512_set1_ps(seed + 15.f);
    for (long i = 0; i < iters; i++) {
        c0 = _mm512_fmadd_ps(c0, a, b); c1 = _mm512_fmadd_ps(c1, a, b);
        c2 = _mm512_fmadd_ps(c2, a, b); c3 = _mm512_fmadd_ps(c3, a, b);
        c4 = _mm512_fmadd_ps(c4, a, b); c5 = _mm512_fmadd_ps(c5, a, b);
        c6 = _mm512_fmadd_ps(c6, a, b); c7 = _mm512_fmadd_ps(c7, a, b);
        c8 = _mm512_fmadd_ps(c8, a, b); c9 = _mm512_fmadd_ps(c9, a, b);
        ca = _mm512_fmadd_ps(ca, a, b); cb = _mm512_fmadd_ps(cb, a, b);
        cc = _mm512_fmadd_ps(cc, a, b); cd = _mm512_fmadd_ps(cd, a, b);
        ce = _mm512_fmadd_ps(ce, a, b); cf = _mm512_fmadd_ps(cf, a, b);
        /* keep the compiler from turning the loop into something else */
        __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3),
                              "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7));
        __asm__ volatile("" : "+v"(c8), "+v"(c9), "+v"(ca), "+v"(cb),
                              "+v"(cc), "+v"(cd), "+v"(ce), "+v"(cf));
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    __m512 t = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(ca, cb)),
                             _mm512_add_ps(_mm512_add_ps(cc, cd), _mm512_add_ps(ce, cf)));
    return _mm512_reduce_add_ps(_mm512_add_ps(s, t));
}

__attribute__((target("avx2,fma"), noinline))
static float run_avx2(long iters, float seed)
{
    __m256 a = _mm256_set1_ps(0.999999f);
    __m256 b = _mm256_set1_ps(1e-7f * seed);
    __m256 c0 = _mm256_set1_ps(seed + 0.0f), c1 = _mm256_set1_ps(seed + 1.0f);
    __m256 c2 = _mm256_set1_ps(seed + 2.0f), c3 = _mm256_set1_ps(seed + 3.0f);
    __m256 c4 = _mm256_set1_ps(seed + 4.0f), c5 = _mm256_set1_ps(seed + 5.0f);
    __m256 c6 = _mm256_set1_ps(seed + 6.0f), c7 = _mm256_set1_ps(seed + 7.0f);
    __m256 c8 = _mm256_set1_ps(seed + 8.0f), c9 = _mm256_set1_ps(seed + 9.0f);
    __m256 ca = _mm256_set1_ps(seed + 10.f), cb = _mm256_set1_ps(seed + 11.f);
    for (long i = 0; i < iters; i++) {
        c0 = _mm256_fmadd_ps(c0, a, b); c1 = _mm256_fmadd_ps(c1, a, b);
        c2 = _mm256_fmadd_ps(c2, a, b); c3 = _mm256_fmadd_ps(c3, a, b);
        c4 = _mm256_fmadd_ps(c4, a, b); c5 = _mm256_fmadd_ps(c5, a, b);
        c6 = _mm256_fmadd_ps(c6, a, b); c7 = _mm256_fmadd_ps(c7, a, b);
        c8 = _mm256_fmadd_ps(c8, a, b); c9 = _mm256_fmadd_ps(c9, a, b);
        ca = _mm256_fmadd_ps(ca, a, b); cb = _mm256_fmadd_ps(cb, a, b);
        __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3),
                              "+x"(c4), "+x"(c5), "+x"(c6), "+x"(c7));
        __asm__ volatile("" : "+x"(c8), "+x"(c9), "+x"(ca), "+x"(cb));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(ca, cb)));
    float v[8];
    _mm256_storeu_ps(v, s);
    return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}

/* 24 accumulators: more than enough to cover the dot product's latency
 * (5-6 cycles) times its issue rate (2 per cycle) on current CPUs. */
#define BF16_ACC 24
__attribute__((target("avx512f,avx512bf16"), noinline))
static float run_bf16(long iters, float seed)
{
    /* the operands: pairs of bf16 (near 1 and near 1e-7 * seed) */
    __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.999999f), _mm512_set1_ps(0.999999f));
    __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-7f * seed), _mm512_set1_ps(1e-7f * seed));
#define ACC(k) __m512 c##k = _mm512_set1_ps(seed + (float)(k))
    ACC(0); ACC(1); ACC(2); ACC(3); ACC(4); ACC(5); ACC(6); ACC(7);
    ACC(8); ACC(9); ACC(10); ACC(11); ACC(12); ACC(13); ACC(14); ACC(15);
    ACC(16); ACC(17); ACC(18); ACC(19); ACC(20); ACC(21); ACC(22); ACC(23);
#undef ACC
#define DP(k) c##k = _mm512_dpbf16_ps(c##k, a, b)
    for (long i = 0; i < iters; i++) {
        DP(0); DP(1); DP(2); DP(3); DP(4); DP(5); DP(6); DP(7);
        DP(8); DP(9); DP(10); DP(11); DP(12); DP(13); DP(14); DP(15);
        DP(16); DP(17); DP(18); DP(19); DP(20); DP(21); DP(22); DP(23);
        __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3),
                              "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7));
        __asm__ volatile("" : "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11),
                              "+v"(c12), "+v"(c13), "+v"(c14), "+v"(c15));
        __asm__ volatile("" : "+v"(c16), "+v"(c17), "+v"(c18), "+v"(c19),
                              "+v"(c20), "+v"(c21), "+v"(c22), "+v"(c23));
    }
#undef DP
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    __m512 t = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)),
                             _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15)));
    __m512 u = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c16, c17), _mm512_add_ps(c18, c19)),
                             _mm512_add_ps(_mm512_add_ps(c20, c21), _mm512_add_ps(c22, c23)));
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s, t), u));
}

enum kind { FP32, BF16 };
static int use512;
static volatile float sink;

/* FLOPs done by one call of the kernel with `iters` iterations. */
static double flops_per_call(enum kind kind, long iters)
{
    if (kind == BF16) return (double)iters * BF16_ACC * 64; /* 32 mul + 32 add */
    return use512 ? (double)iters * 16 * 16 * 2 : (double)iters * 12 * 8 * 2;
}

static float kernel(enum kind kind, long iters, float seed)
{
    if (kind == BF16) return run_bf16(iters, seed);
    return use512 ? run_avx512(iters, seed) : run_avx2(iters, seed);
}

/* Best GFLOP/s over REPS repetitions with `nt` threads each running the
 * kernel once; the time is from a barrier before to a barrier after. */
static double measure(enum kind kind, int nt, long iters)
{
    double best = 0.0;
    for (int r = 0; r < REPS; r++) {
        double t0 = 0, t1 = 0;
        float acc = 0.0f;
#pragma omp parallel num_threads(nt) reduction(+ : acc)
        {
#pragma omp barrier
#pragma omp single
            t0 = now();
            acc += kernel(kind, iters, (float)(omp_get_thread_num() + 1));
#pragma omp barrier
#pragma omp single
            t1 = now();
        }
        sink = acc;
        double g = flops_per_call(kind, iters) * nt / (t1 - t0) * 1e-9;
        if (g > best) best = g;
        usleep(50000);
    }
    return best;
}

int main(int argc, char **argv)
{
    long iters = ITERS;
    if (argc > 1) iters = atol(argv[1]);
    if (iters <= 0) iters = ITERS;

    __builtin_cpu_init();
    use512 = __builtin_cpu_supports("avx512f");
    if (!use512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        fprintf(stderr, "fma_peak: CPU has neither AVX-512F nor AVX2+FMA\n");
        return 1;
    }
    int nt = omp_get_num_procs();
    if (getenv("OMP_NUM_THREADS")) nt = omp_get_max_threads();
    if (nt < 1) nt = 1;

    measure(FP32, 1, iters / 10); /* warm up: clocks, page in */
    double g1 = measure(FP32, 1, iters);
    double gall = measure(FP32, nt, iters);
    printf("{\"isa\":\"%s\",\"gflops_1core\":%.1f,\"gflops_all\":%.1f,\"threads\":%d",
           use512 ? "avx512" : "avx2", g1, gall, nt);
    if (__builtin_cpu_supports("avx512bf16")) {
        /* a bf16 instruction does 2x the FLOPs of an FMA: half the iterations
         * for about the same time */
        double b1 = measure(BF16, 1, iters / 2);
        double ball = measure(BF16, nt, iters / 2);
        printf(",\"bf16_gflops_1core\":%.1f,\"bf16_gflops_all\":%.1f", b1, ball);
    }
    printf("}\n");
    return 0;
}

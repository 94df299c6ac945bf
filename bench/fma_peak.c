/* fma_peak.c: measure this machine's single-precision FMA peak in GFLOP/s.
 *
 * A loop of independent fused multiply-adds on vector registers, long enough
 * to hide FMA latency (16 accumulators: latency 4 cycles x 2 FMA pipes needs
 * at least 8 in flight). One FMA on a 512-bit vector = 16 lanes x 2 FLOP.
 * Run on one thread and on all threads (OpenMP), best of 10 repetitions
 * 50 ms apart.
 * Falls back to AVX2 (8 lanes) if the CPU has no AVX-512 (run-time check).
 *
 * Build: cc -O2 -fopenmp bench/fma_peak.c -o build/bench/fma_peak
 * (the ISA-specific code is selected per function with target attributes,
 * so the binary also runs on a CPU without AVX-512; -mavx512f is not needed).
 * Output: one JSON line {"isa","gflops_1core","gflops_all","threads"}.
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

static int use512;
static volatile float sink;

/* FLOPs done by one call of the kernel with `iters` iterations. */
static double flops_per_call(long iters)
{
    return use512 ? (double)iters * 16 * 16 * 2 : (double)iters * 12 * 8 * 2;
}

static float kernel(long iters, float seed)
{
    return use512 ? run_avx512(iters, seed) : run_avx2(iters, seed);
}

/* Best GFLOP/s over REPS repetitions with `nt` threads each running the
 * kernel once; the time is from a barrier before to a barrier after. */
static double measure(int nt, long iters)
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
            acc += kernel(iters, (float)(omp_get_thread_num() + 1));
#pragma omp barrier
#pragma omp single
            t1 = now();
        }
        sink = acc;
        double g = flops_per_call(iters) * nt / (t1 - t0) * 1e-9;
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

    measure(1, iters / 10); /* warm up: clocks, page in */
    double g1 = measure(1, iters);
    double gall = measure(nt, iters);
    printf("{\"isa\":\"%s\",\"gflops_1core\":%.1f,\"gflops_all\":%.1f,\"threads\":%d}\n",
           use512 ? "avx512" : "avx2", g1, gall, nt);
    return 0;
}

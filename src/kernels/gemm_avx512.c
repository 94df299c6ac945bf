/* Single-precision GEMM for AVX-512, in the GotoBLAS/BLIS way: op(B) is
 * packed into KC x NR micro-panels, op(A) into MR x KC micro-panels (the
 * packing absorbs the transposes, so one micro-kernel serves all three
 * shapes; where op(A) is A itself, abt and ab, full micro-panels are read
 * in place instead), and a 14x32 register tile does the FMAs. Threads split the rows
 * of C (sharing one packed B) or, for a long reduction, the K range (each
 * its own partial C, summed in a fixed order). CPU checks are the
 * caller's (gemm.c). */
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/avx512_util.h"
#include "kernels/kernels.h"

/* 14 x 32: 28 zmm accumulators + 2 for the row of B, the A elements come
 * as embedded broadcasts. Per k: 2 loads + 14 broadcasts for 28 FMAs, well
 * inside two loads a cycle at two FMAs a cycle. */
enum { MR = 14, NR = 32 };
/* KC: one A micro-panel (MR x KC, 21 KiB at 384) stays in L1 while the
 * micro-kernel sweeps every B micro-panel of the block from L2. */
enum { KC_MAX = 384 };
/* Floats in one packed B block (KC x NC): 512 KiB, half of L2. */
enum { B_BLOCK = 128 * 1024 };
/* Floats of a packed A block, all of op(A)'s rows for one K block, when a
 * thread owns every row (K split): 288 KiB, so with its B block and its
 * partial C (256 KiB at 256 x 256) it stays within L2. */
enum { A_BLOCK = 72 * 1024 };
/* Where the micro-kernel's prefetches go (T0 measured the same). */
#define PF_HINT _MM_HINT_T1

/* ------------------------------------------------------------ micro-kernel */

/* c (MR,NR) (+)= a · b over kc, a packed [k][MR] (direct: row r at
 * a + r*lda, k contiguous), b [k][ldb] (packed: ldb = NR). `add` 0 stores,
 * 1 adds to c; C is not read when add is 0 (it may hold NaN). Every 4 k
 * it prefetches the next of pfn >= 1 cache lines from pf into L2
 * (then repeats the last): data for later calls streamed in among the
 * FMAs, where bursts of prefetches between calls stall. */
static inline __attribute__((always_inline)) void
kernel_a(int kc, const float *restrict a, size_t lda, int direct,
         const float *restrict b, size_t ldb, float *restrict c, size_t ldc,
         int add, const char *pf, int pfn) {
#define ACC(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps()
    ACC(0); ACC(1); ACC(2); ACC(3); ACC(4); ACC(5); ACC(6);
    ACC(7); ACC(8); ACC(9); ACC(10); ACC(11); ACC(12); ACC(13);
#undef ACC
    for (int r = 0; r < MR; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_T0);
    }
#define FMA(r)                                                                \
    do {                                                                      \
        __m512 ar = _mm512_set1_ps(direct ? a[(r) * lda] : a[r]);             \
        c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);                           \
        c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);                           \
    } while (0)
#define STEP                                                                  \
    do {                                                                      \
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);         \
        FMA(0); FMA(1); FMA(2); FMA(3); FMA(4); FMA(5); FMA(6);               \
        FMA(7); FMA(8); FMA(9); FMA(10); FMA(11); FMA(12); FMA(13);           \
        a += direct ? 1 : MR;                                                 \
        b += ldb;                                                             \
    } while (0)
    int k = 0;
    for (int i = 0; k + 4 <= kc; i++, k += 4) {
        _mm_prefetch(pf + 64 * (i < pfn ? i : pfn - 1), PF_HINT);
        STEP; STEP; STEP; STEP;
    }
    for (; k < kc; k++) STEP;
#undef STEP
#undef FMA
#define OUT(r)                                                                \
    do {                                                                      \
        float *cr = c + (r) * ldc;                                            \
        if (add) {                                                            \
            c##r##0 = _mm512_add_ps(_mm512_loadu_ps(cr), c##r##0);            \
            c##r##1 = _mm512_add_ps(_mm512_loadu_ps(cr + 16), c##r##1);       \
        }                                                                     \
        _mm512_storeu_ps(cr, c##r##0);                                        \
        _mm512_storeu_ps(cr + 16, c##r##1);                                   \
    } while (0)
    OUT(0); OUT(1); OUT(2); OUT(3); OUT(4); OUT(5); OUT(6);
    OUT(7); OUT(8); OUT(9); OUT(10); OUT(11); OUT(12); OUT(13);
#undef OUT
}

static inline __attribute__((always_inline)) void
kernel(int kc, const float *restrict a, const float *restrict b, size_t ldb,
       float *restrict c, size_t ldc, int add, const char *pf, int pfn) {
    kernel_a(kc, a, MR, 0, b, ldb, c, ldc, add, pf, pfn);
}

/* A tile of MR full rows, nr <= NR columns real, with A read in place:
 * row r of the micro-panel at a + r*lda, k contiguous (abt, ab), b packed.
 * lda == 256 gets its own copy, each row a constant displacement from one
 * pointer. Edge columns go through a buffer, as in tile(). */
static void tile_direct(int kc, const float *a, size_t lda, const float *b,
                        float *c, size_t ldc, int nr, int add, const char *pf,
                        int pfn) {
    if (pfn <= 0) pf = (const char *)b, pfn = 1;
    if (nr == NR) {
        if (lda == 256)
            kernel_a(kc, a, 256, 1, b, NR, c, ldc, add, pf, pfn);
        else
            kernel_a(kc, a, lda, 1, b, NR, c, ldc, add, pf, pfn);
        return;
    }
    float tmp[MR * NR] __attribute__((aligned(64)));
    kernel_a(kc, a, lda, 1, b, NR, tmp, NR, 0, pf, pfn);
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < nr; j++)
            c[r * ldc + j] = add ? c[r * ldc + j] + tmp[r * NR + j]
                                 : tmp[r * NR + j];
}

/* One tile of C, mr x nr of it real: full tiles straight to C, edge tiles
 * through a buffer. Either way C gets C + (a · b), the same arithmetic. */
static void tile(int kc, const float *a, const float *b, size_t ldb, float *c,
                 size_t ldc, int mr, int nr, int add, const char *pf, int pfn) {
    if (pfn <= 0) pf = (const char *)b, pfn = 1;
    if (mr == MR && nr == NR) {
        kernel(kc, a, b, ldb, c, ldc, add, pf, pfn);
        return;
    }
    float tmp[MR * NR] __attribute__((aligned(64)));
    kernel(kc, a, b, ldb, tmp, NR, 0, pf, pfn);
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++)
            c[r * ldc + j] = add ? c[r * ldc + j] + tmp[r * NR + j]
                                 : tmp[r * NR + j];
}

/* ---------------------------------------------------------------- packing */

/* The A micro-panel of rows i0..i0+mr-1, k0..k0+kc-1 as ap[k][MR], rows
 * past mr zero. op(A)(i,k) is A[i*K + k] (abt, ab) or A[k*M + i] (atb). */
static void pack_a(siren_gemm_op op, const float *A, int M, int K, int i0,
                   int mr, int k0, int kc, float *ap) {
    if (op == SIREN_GEMM_ATB) {
        __mmask16 m = first_n(mr);
        const float *src = A + (size_t)k0 * M + i0;
        for (int k = 0; k < kc; k++)
            _mm512_mask_storeu_ps(ap + k * MR, first_n(MR),
                                  _mm512_maskz_loadu_ps(m, src + (size_t)k * M));
    } else {
        const float *src = A + (size_t)i0 * K + k0;
        for (int k = 0; k < kc; k += 16)
            transpose16(src + k, K, mr, kc - k < 16 ? kc - k : 16, ap + k * MR,
                        MR, first_n(MR));
    }
}

/* For atb: the A micro-panels of rows panel p0.. to M, k0..k0+kc-1, one
 * after the other (MR*kc floats each), reading A row by row, a sequential
 * stream the hardware prefetcher follows. */
static void pack_a_block_atb(const float *A, int M, int p0, int k0, int kc,
                             float *ap) {
    int np = (M - p0 * MR + MR - 1) / MR;
    __mmask16 last = first_n(M - (p0 + np - 1) * MR);
    for (int k = 0; k < kc; k++) {
        const float *row = A + (size_t)(k0 + k) * M + p0 * MR;
        for (int p = 0; p < np; p++)
            _mm512_mask_storeu_ps(
                ap + (size_t)p * MR * kc + k * MR, first_n(MR),
                _mm512_maskz_loadu_ps(p + 1 < np ? first_n(MR) : last,
                                      row + p * MR));
    }
}

/* The B micro-panel of columns j0..j0+nr-1, k0..k0+kc-1 as bp[k][NR],
 * columns past nr zero. op(B)(k,j) is B[j*K + k] (abt) or B[k*N + j]. */
static void pack_b(siren_gemm_op op, const float *B, int N, int K, int j0,
                   int nr, int k0, int kc, float *bp) {
    if (op == SIREN_GEMM_ABT) {
        for (int h = 0; h < NR; h += 16) {
            int rows = nr - h < 0 ? 0 : nr - h > 16 ? 16 : nr - h;
            const float *src = B + (size_t)(j0 + h) * K + k0;
            for (int k = 0; k < kc; k += 16)
                transpose16(src + k, K, rows, kc - k < 16 ? kc - k : 16,
                            bp + k * NR + h, NR, 0xFFFF);
        }
    } else {
        __mmask16 m0 = first_n(nr < 16 ? nr : 16);
        __mmask16 m1 = first_n(nr > 16 ? nr - 16 : 0);
        const float *src = B + (size_t)k0 * N + j0;
        for (int k = 0; k < kc; k++, src += N) {
            _mm512_store_ps(bp + k * NR, _mm512_maskz_loadu_ps(m0, src));
            _mm512_store_ps(bp + k * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
        }
    }
}

/* Prefetch the A micro-panel rows i0..i0+mr-1, k0..k0+kc-1: the next one,
 * while the micro-kernel works on the current one. Without any prefetch
 * packing (or reading in place) A waits on memory (14 rows 1 KiB apart are more streams than the
 * hardware prefetcher follows): 15% of the time at 65536 x 256 x 256. When
 * the panel is one contiguous range the micro-kernels stream it in instead
 * (faster again); this is for the other cases. */
static void prefetch_a(siren_gemm_op op, const float *A, int M, int K, int i0,
                       int mr, int k0, int kc) {
    if (op == SIREN_GEMM_ATB) { /* kc rows, mr floats each: both ends */
        for (int k = 0; k < kc; k++) {
            const float *row = A + (size_t)(k0 + k) * M + i0;
            _mm_prefetch((const char *)row, _MM_HINT_T0);
            _mm_prefetch((const char *)(row + mr - 1), _MM_HINT_T0);
        }
    } else { /* mr rows, kc floats each: every line */
        for (int r = 0; r < mr; r++) {
            const float *row = A + (size_t)(i0 + r) * K + k0;
            for (int k = 0; k < kc; k += 16)
                _mm_prefetch((const char *)(row + k), _MM_HINT_T0);
            _mm_prefetch((const char *)(row + kc - 1), _MM_HINT_T0);
        }
    }
}

/* -------------------------------------------------------------- workspace */

/* Packing buffers of the calling thread (siren_gemm_ws_get). */
static _Thread_local siren_gemm_ws ws_tls;

/* K blocks of at most kmax, as even as possible. */
static int k_block(int K, int kmax) {
    int n = (K + kmax - 1) / kmax;
    return (K + n - 1) / n;
}

/* Columns of a B block for this kc: B_BLOCK floats, whole micro-panels. */
static int n_block(int N, int kc) {
    int nc = B_BLOCK / kc / NR * NR;
    return N < nc ? N : nc;
}

/* ---------------------------------------------------------------- drivers */

typedef struct {
    siren_gemm_op op;
    int M, N, K;
    const float *A, *B;
    float *C;
} gemm_args;

/* C rows i in panels [p0,p1), k in [k0,k1), all columns; bp is this
 * thread's B block (shared: the threads of the team pack slices of it).
 * add0: add to C on the first K block (beta = 1) rather than store. */
static void gemm_rows(const gemm_args *g, float *C, int p0, int p1, int k0,
                      int k1, int add0, float *bp, float *ap, int shared) {
    const int M = g->M, N = g->N, K = g->K;
    /* A thread with all rows of atb packs a whole A block at once (see
     * pack_a_block_atb); otherwise one micro-panel at a time. */
    const int kfit = p1 > p0 ? A_BLOCK / ((p1 - p0) * MR) : 0;
    const int whole_a = g->op == SIREN_GEMM_ATB && !shared && p1 == (M + MR - 1) / MR
                        && kfit >= 64;
    const int kcb = k_block(k1 - k0, whole_a && kfit < KC_MAX ? kfit : KC_MAX);
    /* atb's op(B) is row-major: with whole NR-wide panels the micro-kernel
     * can read it in place (rows N apart) and skip packing B, measured
     * 3-10% faster there; B's block stays in L2 either way. */
    const int direct_b = whole_a && N % NR == 0;
    /* abt, ab: op(A) is row-major, K contiguous, so the micro-kernel reads
     * full micro-panels in place, MR rows lda = K apart (edge panels are
     * packed): the same FMAs in the same order, without the transposes of
     * pack_a, measured 5-7% faster at 65536 x 256 x 256. */
    const int direct_a = g->op != SIREN_GEMM_ATB;
    for (int pc = k0; pc < k1; pc += kcb) {
        int kc = k1 - pc < kcb ? k1 - pc : kcb;
        int add = pc > k0 || add0;
        int ncb = n_block(N, kc);
        if (whole_a) pack_a_block_atb(g->A, M, p0, pc, kc, ap);
        for (int jc = 0; jc < N; jc += ncb) {
            int nc = N - jc < ncb ? N - jc : ncb;
            int nq = (nc + NR - 1) / NR, q0 = 0, q1 = nq;
            if (shared) {
                int t = omp_get_thread_num(), nt = omp_get_num_threads();
                q0 = nq * t / nt, q1 = nq * (t + 1) / nt;
            }
            for (int q = q0; q < q1 && !direct_b; q++) {
                int j0 = jc + q * NR, nr = N - j0 < NR ? N - j0 : NR;
                pack_b(g->op, g->B, N, K, j0, nr, pc, kc, bp + (size_t)q * kc * NR);
            }
            if (shared) {
#pragma omp barrier
            }
            /* With a whole A block (atb), the next K block of A and B are
             * two contiguous ranges: the micro-kernels prefetch them, a
             * share each, so packing them does not wait on memory. */
            int kc2 = k1 - pc - kc < kcb ? k1 - pc - kc : kcb;
            const char *pf[2] = {(const char *)(g->B + (size_t)(pc + kc) * N),
                                 (const char *)(g->A + (size_t)(pc + kc) * M)};
            size_t pfn[2] = {0, 0};
            if (whole_a && kc2 > 0 && nc == N)
                pfn[0] = ((size_t)kc2 * N + 15) / 16, pfn[1] = ((size_t)kc2 * M + 15) / 16;
            for (int p = p0; p < p1; p++) {
                int i0 = p * MR, mr = M - i0 < MR ? M - i0 : MR;
                const float *a = ap;
                /* abt, ab: a full micro-panel is read in place */
                const int in_place = direct_a && mr == MR;
                if (whole_a) {
                    a = ap + (size_t)(p - p0) * MR * kc;
                } else {
                    if (p + 1 < p1) {
                        int i1 = i0 + MR, mr1 = M - i1 < MR ? M - i1 : MR;
                        /* rows of the whole K: one contiguous range */
                        if (g->op != SIREN_GEMM_ATB && kc == K) {
                            pf[0] = (const char *)(g->A + (size_t)i1 * K);
                            pfn[0] = ((size_t)mr1 * K + 15) / 16;
                        } else
                            prefetch_a(g->op, g->A, M, K, i1, mr1, pc, kc);
                    }
                    if (!in_place)
                        pack_a(g->op, g->A, M, K, i0, mr, pc, kc, ap);
                }
                for (int q = 0; q < nq; q++) {
                    int j0 = jc + q * NR, nr = N - j0 < NR ? N - j0 : NR;
                    int r = pfn[0] ? 0 : 1, n = 0;
                    if (pfn[r]) { /* this call's share: kc/4 lines */
                        n = pfn[r] < (size_t)kc / 4 ? (int)pfn[r] : kc / 4;
                    }
                    if (in_place)
                        tile_direct(kc, g->A + (size_t)i0 * K + pc, K,
                                    bp + (size_t)q * kc * NR,
                                    C + (size_t)i0 * N + j0, N, nr, add, pf[r], n);
                    else if (direct_b)
                        tile(kc, a, g->B + (size_t)pc * N + j0, N,
                             C + (size_t)i0 * N + j0, N, mr, nr, add, pf[r], n);
                    else
                        tile(kc, a, bp + (size_t)q * kc * NR, NR,
                             C + (size_t)i0 * N + j0, N, mr, nr, add, pf[r], n);
                    pf[r] += (size_t)n * 64, pfn[r] -= n;
                }
            }
            if (shared) {
#pragma omp barrier
            }
        }
    }
}

/* A long reduction with few rows (the weight gradient: M = N = 256,
 * K = 65536) is split along K: each thread owns all rows of its own C,
 * which also lets it pack whole A blocks. */
static int split_k(int M, int N, int K, int T) {
    return K >= 2 * M && K >= 2 * KC_MAX * T &&
           (size_t)M * N * (T - 1) <= (size_t)64 << 20;
}

void siren_gemm_avx512(siren_gemm_op op, int M, int N, int K, const float *A,
                       const float *B, float beta, float *C, int threads) {
    if (M <= 0 || N <= 0) return;
    const size_t MN = (size_t)M * N;
    if (siren_gemm_prescale(M, N, K, &beta, C)) return;
    const int T = threads > 0 ? threads : 1;
    const int add0 = beta != 0.0f;
    const gemm_args g = {op, M, N, K, A, B, C};
    const int npanels = (M + MR - 1) / MR;
    /* Per thread: an A block (or micro-panel), a B block; then the partial
     * Cs of threads 1.. when K is split. */
    const size_t per = (size_t)A_BLOCK + B_BLOCK;
    const int sk = split_k(M, N, K, T);
    float *ws = siren_gemm_ws_get(
        &ws_tls, (per * T + (sk ? MN * (T - 1) : 0)) * sizeof(float));
    if (!ws) { /* no memory for the buffers: let the BLAS library do it */
        siren_gemm_blas(op, M, N, K, A, B, beta, C);
        return;
    }
    if (!sk) {
        /* Split the row panels; one B block packed by all, shared. */
#pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            gemm_rows(&g, C, npanels * t / nt, npanels * (t + 1) / nt, 0, K,
                      add0, ws + A_BLOCK, ws + (size_t)t * per, 1);
        }
        return;
    }
    /* Split K: thread t sums its range into its own C (thread 0: C itself,
     * with beta), then C += partial 1 + partial 2 ... in that order. */
    float *part = ws + per * T;
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int k0 = (int)((long long)K * t / nt), k1 = (int)((long long)K * (t + 1) / nt);
        float *Ct = t == 0 ? C : part + MN * (t - 1);
        float *ap = ws + (size_t)t * per, *bp = ap + A_BLOCK;
        if (k1 > k0)
            gemm_rows(&g, Ct, 0, npanels, k0, k1, t == 0 && add0, bp, ap, 0);
        else if (t > 0 || !add0)
            memset(Ct, 0, MN * sizeof(float));
#pragma omp barrier
        siren_gemm_add_partials(C, part, M, N, t, nt);
    }
}

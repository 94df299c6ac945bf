/* Single-precision GEMM for AVX2 + FMA, for CPUs without AVX-512: the
 * scheme of gemm_avx512.c (op(B) packed into KC x NR micro-panels shared by
 * the threads, op(A) read in place or packed into MR x KC micro-panels, so
 * one micro-kernel serves all three shapes; threads split the rows of C
 * or, for a long reduction, the K range) around a 6x16 register tile, the
 * most that 16 ymm registers hold. CPU checks are the caller's (gemm.c). */
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

/* 6 x 16: 12 ymm accumulators, 2 for the row of B, 1 for the broadcast A
 * element. Per k: 2 loads + 6 broadcasts for 12 FMAs, 6 cycles at two FMAs
 * a cycle, with room for the loads. */
enum { MR = 6, NR = 16 };
/* K blocks: one A micro-panel (MR x KC) stays in L1 while the B
 * micro-panels stream past it. Read in place (abt, ab), up to 512: K = 512
 * in one block measured 7% faster than two of 256. Packed (atb), up to
 * 256: packing reads a cache line per k, and with more the lines of A,
 * its panel and the B panel overflow L1 (7% slower at 1024 x 1024 x 4096).
 * Both on the 2-core Zen 5 machine, one thread. */
enum { KC_MAX = 512, KC_PACK = 256 };
/* Floats in one packed B block (KC x NC): 256 KiB, so that a whole
 * 256 x 256 layer is one block and stays in L2 on the CPUs of this class
 * (512 KiB to 2 MiB); a smaller L2 only costs more trips to L3. */
enum { B_BLOCK = 64 * 1024 };
/* Floats of a packed A block, all of op(A)'s rows for one K block, when a
 * thread owns every row (K split): 256 KiB, kc ~ 250 for 256 rows. */
enum { A_BLOCK = 64 * 1024 };
#define PF_HINT _MM_HINT_T1

/* ------------------------------------------------------------ micro-kernel */

/* c (MR,NR) (+)= a · b over kc, a packed [k][MR] (direct: row r at
 * a + r*lda, k contiguous), b [k][ldb] (packed: ldb = NR). `add` 0 stores,
 * 1 adds to c; C is not read when add is 0 (it may hold NaN). Every 4 k
 * it prefetches the next of pfn >= 1 cache lines from pf (then repeats the
 * last): data for later calls streamed in among the FMAs rather than in
 * bursts between calls. */
static inline __attribute__((always_inline)) void
kernel_a(int kc, const float *restrict a, size_t lda, int direct,
         const float *restrict b, size_t ldb, float *restrict c, size_t ldc,
         int add, const char *pf, int pfn) {
#define ACC(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps()
    ACC(0); ACC(1); ACC(2); ACC(3); ACC(4); ACC(5);
#undef ACC
    for (int r = 0; r < MR; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + NR - 1), _MM_HINT_T0);
    }
#define FMA(r)                                                                \
    do {                                                                      \
        __m256 ar = _mm256_broadcast_ss(direct ? a + (r) * lda : a + (r));    \
        c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);                           \
        c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);                           \
    } while (0)
#define STEP                                                                  \
    do {                                                                      \
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);          \
        FMA(0); FMA(1); FMA(2); FMA(3); FMA(4); FMA(5);                       \
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
            c##r##0 = _mm256_add_ps(_mm256_loadu_ps(cr), c##r##0);            \
            c##r##1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), c##r##1);        \
        }                                                                     \
        _mm256_storeu_ps(cr, c##r##0);                                        \
        _mm256_storeu_ps(cr + 8, c##r##1);                                    \
    } while (0)
    OUT(0); OUT(1); OUT(2); OUT(3); OUT(4); OUT(5);
#undef OUT
}

static inline __attribute__((always_inline)) void
kernel(int kc, const float *restrict a, const float *restrict b, size_t ldb,
       float *restrict c, size_t ldc, int add, const char *pf, int pfn) {
    kernel_a(kc, a, MR, 0, b, ldb, c, ldc, add, pf, pfn);
}

/* Edge tiles are computed into a buffer, then stored or added: C gets
 * C + (a · b) either way, the arithmetic of a full tile. */
static void flush(const float *tmp, float *c, size_t ldc, int mr, int nr,
                  int add) {
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++)
            c[r * ldc + j] = add ? c[r * ldc + j] + tmp[r * NR + j]
                                 : tmp[r * NR + j];
}

/* A tile of MR full rows, nr <= NR columns real, with A read in place:
 * row r of the micro-panel at a + r*lda, k contiguous (abt, ab), b packed.
 * lda == 256 gets its own copy, each row a constant displacement from one
 * pointer. */
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
    float tmp[MR * NR] __attribute__((aligned(32)));
    kernel_a(kc, a, lda, 1, b, NR, tmp, NR, 0, pf, pfn);
    flush(tmp, c, ldc, MR, nr, add);
}

/* One tile of C, mr x nr of it real, a packed. */
static void tile(int kc, const float *a, const float *b, size_t ldb, float *c,
                 size_t ldc, int mr, int nr, int add, const char *pf, int pfn) {
    if (pfn <= 0) pf = (const char *)b, pfn = 1;
    if (mr == MR && nr == NR) {
        kernel(kc, a, b, ldb, c, ldc, add, pf, pfn);
        return;
    }
    float tmp[MR * NR] __attribute__((aligned(32)));
    kernel(kc, a, b, ldb, tmp, NR, 0, pf, pfn);
    flush(tmp, c, ldc, mr, nr, add);
}

/* ---------------------------------------------------------------- packing */

/* Lanes 0..n-1 set (0 <= n <= 8), for masked loads. */
static __m256i first_n(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Transpose a block of src: `rows` (<= 8) rows of `cols` (<= 8) floats,
 * row stride ld; column k goes to dst + k*dst_ld as one vector (row r in
 * lane r, lanes >= rows zero). */
static void transpose8(const float *src, size_t ld, int rows, int cols,
                       float *dst, size_t dst_ld) {
    __m256 r[8], t[8];
    __m256i cm = first_n(cols);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        r[i] = i >= rows   ? _mm256_setzero_ps()
               : cols == 8 ? _mm256_loadu_ps(src + i * ld)
                           : _mm256_maskload_ps(src + i * ld, cm);
    /* t[2p], t[2p+1]: rows 2p, 2p+1 interleaved, per 128-bit lane */
#pragma GCC unroll 4
    for (int p = 0; p < 4; p++) {
        t[2 * p] = _mm256_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm256_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    /* r[4g+c], lane L: rows 4g..4g+3 of column 4L+c */
#pragma GCC unroll 2
    for (int g = 0; g < 2; g++) {
        r[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    /* column c: the low lanes of groups 0 and 1; column 4+c: the high */
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        t[c] = _mm256_permute2f128_ps(r[c], r[4 + c], 0x20);
        t[4 + c] = _mm256_permute2f128_ps(r[c], r[4 + c], 0x31);
    }
    for (int k = 0; k < cols; k++) _mm256_storeu_ps(dst + k * dst_ld, t[k]);
}

/* The A micro-panel of rows i0..i0+mr-1, k0..k0+kc-1 as ap[k][MR], rows
 * past mr zero. op(A)(i,k) is A[i*K + k] (abt, ab) or A[k*M + i] (atb).
 * Full abt/ab panels are read in place, so this packs edge panels and
 * atb's, which are MR floats in a row of A per k. */
static void pack_a(siren_gemm_op op, const float *A, int M, int K, int i0,
                   int mr, int k0, int kc, float *ap) {
    if (op == SIREN_GEMM_ATB) {
        const float *src = A + (size_t)k0 * M + i0;
        for (int k = 0; k < kc; k++, src += M) {
            float *d = ap + k * MR;
            if (mr == MR) {
                memcpy(d, src, MR * sizeof(float));
            } else {
                for (int r = 0; r < MR; r++) d[r] = r < mr ? src[r] : 0.0f;
            }
        }
    } else {
        for (int r = 0; r < MR; r++) {
            if (r >= mr) {
                for (int k = 0; k < kc; k++) ap[k * MR + r] = 0.0f;
                continue;
            }
            const float *src = A + (size_t)(i0 + r) * K + k0;
            for (int k = 0; k < kc; k++) ap[k * MR + r] = src[k];
        }
    }
}

/* For atb: the A micro-panels of rows panel p0.. to M, k0..k0+kc-1, one
 * after the other (MR*kc floats each), reading A row by row, a sequential
 * stream the hardware prefetcher follows. */
static void pack_a_block_atb(const float *A, int M, int p0, int k0, int kc,
                             float *ap) {
    int np = (M - p0 * MR + MR - 1) / MR;
    int last = M - (p0 + np - 1) * MR;
    for (int k = 0; k < kc; k++) {
        const float *row = A + (size_t)(k0 + k) * M + p0 * MR;
        float *d = ap + k * MR;
        for (int p = 0; p + 1 < np; p++, row += MR, d += (size_t)MR * kc)
            memcpy(d, row, MR * sizeof(float));
        for (int r = 0; r < MR; r++) d[r] = r < last ? row[r] : 0.0f;
    }
}

/* The B micro-panel of columns j0..j0+nr-1, k0..k0+kc-1 as bp[k][NR],
 * columns past nr zero. op(B)(k,j) is B[j*K + k] (abt) or B[k*N + j]. */
static void pack_b(siren_gemm_op op, const float *B, int N, int K, int j0,
                   int nr, int k0, int kc, float *bp) {
    if (op == SIREN_GEMM_ABT) {
        for (int h = 0; h < NR; h += 8) {
            int rows = nr - h > 8 ? 8 : nr - h;
            if (rows <= 0) { /* past column N: zeros */
                for (int k = 0; k < kc; k++)
                    _mm256_store_ps(bp + k * NR + h, _mm256_setzero_ps());
                continue;
            }
            const float *src = B + (size_t)(j0 + h) * K + k0;
            for (int k = 0; k < kc; k += 8)
                transpose8(src + k, K, rows, kc - k < 8 ? kc - k : 8,
                           bp + k * NR + h, NR);
        }
    } else {
        const float *src = B + (size_t)k0 * N + j0;
        if (nr == NR) {
            for (int k = 0; k < kc; k++, src += N) {
                _mm256_store_ps(bp + k * NR, _mm256_loadu_ps(src));
                _mm256_store_ps(bp + k * NR + 8, _mm256_loadu_ps(src + 8));
            }
            return;
        }
        __m256i m0 = first_n(nr < 8 ? nr : 8), m1 = first_n(nr > 8 ? nr - 8 : 0);
        for (int k = 0; k < kc; k++, src += N) {
            _mm256_store_ps(bp + k * NR, _mm256_maskload_ps(src, m0));
            _mm256_store_ps(bp + k * NR + 8, _mm256_maskload_ps(src + 8, m1));
        }
    }
}

/* Prefetch the A micro-panel rows i0..i0+mr-1, k0..k0+kc-1: the next one,
 * while the micro-kernel works on the current one, where the panel is not
 * one contiguous range the micro-kernels can stream in (gemm_rows). */
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
} gemm_args;

/* C rows i in panels [p0,p1), k in [k0,k1), all columns; bp is the B
 * block (shared: the threads of the team pack slices of it, between
 * barriers), ap this thread's A buffer. add0: add to C on the first K
 * block (beta = 1) rather than store. The K blocks depend only on the
 * shape and [k0,k1), so the sums are done in the same order every call. */
static void gemm_rows(const gemm_args *g, float *C, int p0, int p1, int k0,
                      int k1, int add0, float *bp, float *ap, int shared) {
    const int M = g->M, N = g->N, K = g->K;
    /* A thread with all rows of atb packs a whole A block at once (see
     * pack_a_block_atb); otherwise one micro-panel at a time. */
    const int kfit = p1 > p0 ? A_BLOCK / ((p1 - p0) * MR) : 0;
    const int whole_a = g->op == SIREN_GEMM_ATB && !shared &&
                        p1 == (M + MR - 1) / MR && kfit >= 64;
    const int kmax = g->op != SIREN_GEMM_ATB ? KC_MAX : KC_PACK;
    const int kcb = k_block(k1 - k0, whole_a && kfit < kmax ? kfit : kmax);
    /* atb's op(B) is row-major: with whole NR-wide panels and a whole A
     * block the micro-kernel reads it in place (rows N apart) instead of
     * packing it; its block stays in L2 either way. */
    const int direct_b = whole_a && N % NR == 0;
    /* abt, ab: op(A) is row-major, K contiguous, so full micro-panels are
     * read in place, MR rows lda = K apart: the same FMAs in the same
     * order without packing. */
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
            /* What the micro-kernels stream in (pf[r], pfn[r] lines):
             * with a whole A block, the next K block of B and of A, two
             * contiguous ranges; otherwise the next A micro-panel when it
             * is one contiguous range (abt, ab with kc = K). */
            int kc2 = k1 - pc - kc < kcb ? k1 - pc - kc : kcb;
            const char *pf[2] = {(const char *)(g->B + (size_t)(pc + kc) * N),
                                 (const char *)(g->A + (size_t)(pc + kc) * M)};
            size_t pfn[2] = {0, 0};
            if (whole_a && kc2 > 0 && nc == N)
                pfn[0] = ((size_t)kc2 * N + 15) / 16, pfn[1] = ((size_t)kc2 * M + 15) / 16;
            for (int p = p0; p < p1; p++) {
                int i0 = p * MR, mr = M - i0 < MR ? M - i0 : MR;
                const float *a = ap;
                const int in_place = direct_a && mr == MR;
                if (whole_a) {
                    a = ap + (size_t)(p - p0) * MR * kc;
                } else {
                    if (p + 1 < p1) {
                        int i1 = i0 + MR, mr1 = M - i1 < MR ? M - i1 : MR;
                        if (direct_a && kc == K) {
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
                    if (pfn[r]) /* this call's share: kc/4 lines */
                        n = pfn[r] < (size_t)kc / 4 ? (int)pfn[r] : kc / 4;
                    float *c = C + (size_t)i0 * N + j0;
                    if (in_place)
                        tile_direct(kc, g->A + (size_t)i0 * K + pc, K,
                                    bp + (size_t)q * kc * NR, c, N, nr, add,
                                    pf[r], n);
                    else if (direct_b)
                        tile(kc, a, g->B + (size_t)pc * N + j0, N, c, N, mr,
                             nr, add, pf[r], n);
                    else
                        tile(kc, a, bp + (size_t)q * kc * NR, NR, c, N, mr,
                             nr, add, pf[r], n);
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

void siren_gemm_avx2(siren_gemm_op op, int M, int N, int K, const float *A,
                     const float *B, float beta, float *C, int threads) {
    if (M <= 0 || N <= 0) return;
    const size_t MN = (size_t)M * N;
    if (siren_gemm_prescale(M, N, K, &beta, C)) return;
    const int T = threads > 0 ? threads : 1;
    const int add0 = beta != 0.0f;
    const gemm_args g = {op, M, N, K, A, B};
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

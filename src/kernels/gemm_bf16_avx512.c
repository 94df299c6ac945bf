/* Mixed-precision GEMM for AVX512_BF16: op(A) and op(B) rounded to bf16
 * (round to nearest even) while they are packed, products summed in fp32
 * by VDPBF16PS, which does two multiply-adds per fp32 lane, twice the FMA
 * rate of the fp32 kernel (gemm_avx512.c). C, the caller's data and the
 * master weights stay fp32; only the operands of the product lose bits
 * (8 significant bits instead of 24).
 *
 * Packed layout: K goes in pairs. A 32-bit word holds bf16(x[k]) in its low
 * half and bf16(x[k+1]) in its high half; an A micro-panel is ap[kp][MR]
 * words, a B micro-panel bp[kp][NR] words, kp = k/2 (an odd K ends with a
 * zero half). One VDPBF16PS with row r's word of A broadcast and 16 words
 * of B adds a[r][2kp] b[2kp][j] + a[r][2kp+1] b[2kp+1][j] to lane j.
 *
 * Where a row of the operand runs along K the pairs are neighbours in
 * memory: op(A) of abt and ab is converted row by row into a row layout
 * the micro-kernel reads as the fp32 kernel reads A in place, op(B) of abt
 * (the weights, small) converted and transposed into panels. Where it runs
 * across K (op(A) of atb, op(B) of ab and atb) two rows of memory are
 * interleaved, read as streams. Blocking and threading as the fp32
 * kernel's, in a simpler form: every A micro-panel is converted (needed
 * anyway), threads split the row panels sharing one packed B block, or
 * for a long reduction the K range (each its own partial C, summed in a
 * fixed order). CPU checks are the caller's (gemm.c). */
#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/avx512_util.h"
#include "kernels/kernels.h"

/* 14 x 32 register tile, as the fp32 kernel's: 28 accumulators, 2 vectors
 * of B, A words as embedded broadcasts. */
enum { MR = 14, NR = 32 };
/* K per block, in floats (KC/2 words of each row). */
enum { KC_MAX = 512 };
/* Words in one packed B block: 256 KiB, a quarter of L2, so the block,
 * the A micro-panel and the rows being packed stay there. */
enum { B_BLOCK = 64 * 1024 };
/* Words for A: one micro-panel (MR rows of KC_MAX/2 words), or for atb
 * all of a thread's panels of one K block when they fit (288 KiB). */
enum { A_BLOCK = 72 * 1024 };

/* ------------------------------------------------------------ micro-kernel */

/* c (MR,NR) (+)= a · b over kp word pairs; b [kp][NR] words; a packed
 * [kp][MR] (direct 0) or row r at a + r*lda, kp contiguous (direct 1).
 * `add` 0 stores (C not read), 1 adds. Every second kp it prefetches the
 * next of pfn (<= kp/2) cache lines from pf into L2: data of later calls
 * streamed in among the dot products, where bursts between calls stall
 * on the load queue. */
static inline __attribute__((always_inline)) void
kernel_a(int kp, const uint32_t *restrict a, size_t lda, int direct,
         const uint32_t *restrict b, float *restrict c, size_t ldc, int add,
         const char *pf, int pfn) {
#define ACC(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps()
    ACC(0); ACC(1); ACC(2); ACC(3); ACC(4); ACC(5); ACC(6);
    ACC(7); ACC(8); ACC(9); ACC(10); ACC(11); ACC(12); ACC(13);
#undef ACC
#define DOT(r)                                                                \
    do {                                                                      \
        __m512bh ar = (__m512bh)_mm512_set1_epi32(                            \
            (int)(direct ? a[(r) * lda] : a[r]));                             \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, ar, b0);                          \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, ar, b1);                          \
    } while (0)
    for (int k = 0; k < kp; k++) {
        if (!(k & 1) && k / 2 < pfn) _mm_prefetch(pf + 32 * k, _MM_HINT_T1);
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
        DOT(0); DOT(1); DOT(2); DOT(3); DOT(4); DOT(5); DOT(6);
        DOT(7); DOT(8); DOT(9); DOT(10); DOT(11); DOT(12); DOT(13);
        a += direct ? 1 : MR;
        b += NR;
    }
#undef DOT
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

static void kernel_packed(int kp, const uint32_t *a, const uint32_t *b,
                          float *c, size_t ldc, int add, const char *pf,
                          int pfn) {
    kernel_a(kp, a, MR, 0, b, c, ldc, add, pf, pfn);
}

/* A in rows of KC_MAX/2 words (the row-converted panel, see pack_a) */
static void kernel_rows(int kp, const uint32_t *a, const uint32_t *b,
                        float *c, size_t ldc, int add, const char *pf,
                        int pfn) {
    kernel_a(kp, a, KC_MAX / 2, 1, b, c, ldc, add, pf, pfn);
}

/* One tile of C, mr x nr of it real: full tiles straight to C, edge tiles
 * through a buffer (the same arithmetic either way). rows: a is in the
 * row layout (kernel_rows), else packed. */
static void tile(int kp, const uint32_t *a, int rows, const uint32_t *b,
                 float *c, size_t ldc, int mr, int nr, int add, const char *pf,
                 int pfn) {
    float tmp[MR * NR] __attribute__((aligned(64)));
    int full = mr == MR && nr == NR;
    float *cc = full ? c : tmp;
    size_t ld = full ? ldc : NR;
    if (rows)
        kernel_rows(kp, a, b, cc, ld, full && add, pf, pfn);
    else
        kernel_packed(kp, a, b, cc, ld, full && add, pf, pfn);
    if (full) return;
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++)
            c[r * ldc + j] = add ? c[r * ldc + j] + tmp[r * NR + j]
                                 : tmp[r * NR + j];
}

/* ---------------------------------------------------------------- packing */

/* n (0..32) floats of x as 16 words of bf16 pairs, zero past n. */
static inline __m512i pairs_along(const float *x, int n) {
    int lo = n < 16 ? n : 16, hi = n > 16 ? n - 16 : 0;
    __m512 vlo = _mm512_maskz_loadu_ps(first_n(lo), x);
    __m512 vhi = _mm512_maskz_loadu_ps(first_n(hi), x + 16);
    /* the second operand gives the low 16 halves */
    return (__m512i)_mm512_cvtne2ps_pbh(vhi, vlo);
}

/* Rows running along K: `rows` (<= 16) rows of src, row stride ld, floats
 * 0..kc-1 of each, to dst[kp * dld + r] (kp < (kc+1)/2), lanes r >= rows
 * zero, each kp's 16 words stored under `keep`. */
static void pack_along(const float *src, size_t ld, int rows, int kc,
                       uint32_t *dst, size_t dld, __mmask16 keep) {
    uint32_t tmp[16 * 16] __attribute__((aligned(64)));
    for (int k = 0; k < kc; k += 32) {
        int n = kc - k < 32 ? kc - k : 32;
        for (int r = 0; r < 16; r++)
            _mm512_store_si512(tmp + r * 16, r < rows
                                                 ? pairs_along(src + r * ld + k, n)
                                                 : _mm512_setzero_si512());
        transpose16((const float *)tmp, 16, 16, (n + 1) / 2,
                    (float *)(dst + (size_t)(k / 2) * dld), dld, keep);
    }
}

/* 16 floats of rows r0 and r1 (r1 NULL: zeros) under mask m, interleaved:
 * word j = bf16(r0[j]) | bf16(r1[j]) << 16. */
static inline __m512i pairs_across(const float *r0, const float *r1,
                                   __mmask16 m) {
    __m256i a = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, r0));
    __m512i w = _mm512_cvtepu16_epi32(a);
    if (r1) {
        __m256i b = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, r1));
        w = _mm512_or_si512(w, _mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
    }
    return w;
}

/* Rows running across K: src row k (stride ld) holds element k of `cols`
 * columns; dst[kp * width + c] = the pair (k = 2kp, 2kp+1) of column c,
 * for c < width (columns >= cols zero), kp < (kc+1)/2. */
static void pack_across(const float *src, size_t ld, int cols, int kc,
                        uint32_t *dst, int width) {
    for (int k = 0; k < kc; k += 2) {
        const float *r0 = src + (size_t)k * ld;
        const float *r1 = k + 1 < kc ? r0 + ld : NULL;
        uint32_t *d = dst + (size_t)(k / 2) * width;
        for (int c = 0; c < width; c += 16) {
            int n = cols - c < 0 ? 0 : cols - c > 16 ? 16 : cols - c;
            int w = width - c > 16 ? 16 : width - c;
            _mm512_mask_storeu_epi32(d + c, first_n(w),
                                     pairs_across(r0 + c, r1 ? r1 + c : NULL,
                                                  first_n(n)));
        }
    }
}

/* The A micro-panel of rows i0..i0+mr-1, k0..k0+kc-1. op(A)(i,k) is
 * A[i*K + k] (abt, ab): converted row by row, no transpose, into the row
 * layout ap[r * KC_MAX/2 + kp] (rows past mr zero), which the micro-kernel
 * reads as the fp32 kernel reads A in place; or A[k*M + i] (atb): packed
 * ap[kp][MR]. */
static void pack_a(siren_gemm_op op, const float *A, int M, int K, int i0,
                   int mr, int k0, int kc, uint32_t *ap) {
    if (op == SIREN_GEMM_ATB) {
        pack_across(A + (size_t)k0 * M + i0, M, mr, kc, ap, MR);
        return;
    }
    for (int r = 0; r < MR; r++) {
        const float *src = A + (size_t)(i0 + r) * K + k0;
        uint32_t *d = ap + (size_t)r * (KC_MAX / 2);
        for (int k = 0; k < kc; k += 32) {
            int n = kc - k < 32 ? kc - k : 32;
            __m512i w = r < mr ? pairs_along(src + k, n) : _mm512_setzero_si512();
            _mm512_mask_storeu_epi32(d + k / 2, first_n((n + 1) / 2), w);
        }
    }
}

/* atb: the A micro-panels of rows panel p0..p1-1, k0..k0+kc-1, each
 * [kp][MR] words, one after the other (MR * kp words each), reading two
 * rows of A at a time from start to end: a stream the hardware prefetcher
 * follows, where a panel at a time reads 14 floats of rows 1 KiB apart. */
static void pack_a_block_atb(const float *A, int M, int p0, int p1, int k0,
                             int kc, uint32_t *ap) {
    const int kp = (kc + 1) / 2;
    for (int k = 0; k < kc; k += 2) {
        const float *r0 = A + (size_t)(k0 + k) * M;
        const float *r1 = k + 1 < kc ? r0 + M : NULL;
        for (int p = p0; p < p1; p++) {
            int i0 = p * MR, mr = M - i0 < MR ? M - i0 : MR;
            _mm512_mask_storeu_epi32(
                ap + (size_t)(p - p0) * MR * kp + (size_t)(k / 2) * MR, first_n(MR),
                pairs_across(r0 + i0, r1 ? r1 + i0 : NULL, first_n(mr)));
        }
    }
}

/* The B micro-panels q0..q1-1 of the block of columns jc..jc+nc-1,
 * k0..k0+kc-1, each bp[kp][NR] words (columns past the block's end zero),
 * panel q at bp + q*kp*NR. op(B)(k,j) is B[j*K + k] (abt: rows along K,
 * a panel at a time) or B[k*N + j] (ab, atb: two rows of B at a time,
 * every panel's part of them, so B is read as a stream). */
static void pack_b(siren_gemm_op op, const float *B, int N, int K, int jc,
                   int nc, int q0, int q1, int k0, int kc, uint32_t *bp) {
    const int kp = (kc + 1) / 2;
    if (op == SIREN_GEMM_ABT) {
        for (int q = q0; q < q1; q++) {
            int j0 = jc + q * NR, nr = jc + nc - j0 < NR ? jc + nc - j0 : NR;
            for (int h = 0; h < NR; h += 16) {
                int rows = nr - h < 0 ? 0 : nr - h > 16 ? 16 : nr - h;
                pack_along(B + (size_t)(j0 + h) * K + k0, K, rows, kc,
                           bp + (size_t)q * kp * NR + h, NR, 0xFFFF);
            }
        }
        return;
    }
    for (int k = 0; k < kc; k += 2) {
        const float *r0 = B + (size_t)(k0 + k) * N;
        const float *r1 = k + 1 < kc ? r0 + N : NULL;
        for (int q = q0; q < q1; q++) {
            int j0 = jc + q * NR, nr = jc + nc - j0 < NR ? jc + nc - j0 : NR;
            uint32_t *d = bp + (size_t)q * kp * NR + (size_t)(k / 2) * NR;
            for (int h = 0; h < NR; h += 16) {
                int n = nr - h < 0 ? 0 : nr - h > 16 ? 16 : nr - h;
                _mm512_storeu_si512(d + h, pairs_across(r0 + j0 + h,
                                                        r1 ? r1 + j0 + h : NULL,
                                                        first_n(n)));
            }
        }
    }
}

/* -------------------------------------------------------------- workspace */

/* Packing buffers of the calling thread (siren_gemm_ws_get). */
static _Thread_local siren_gemm_ws ws_tls;

/* K blocks of at most kmax, as even as possible, and even (whole pairs)
 * but for the last. */
static int k_block(int K, int kmax) {
    int n = (K + kmax - 1) / kmax;
    int kc = (K + n - 1) / n;
    return (kc + 1) & ~1;
}

/* Columns of a B block for kp word rows: B_BLOCK words, whole panels. */
static int n_block(int N, int kp) {
    int nc = B_BLOCK / kp / NR * NR;
    if (nc < NR) nc = NR;
    return N < nc ? N : nc;
}

/* ---------------------------------------------------------------- drivers */

typedef struct {
    siren_gemm_op op;
    int M, N, K;
    const float *A, *B;
} gemm_args;

/* C rows in panels [p0,p1), k in [k0,k1), all columns. bp: the B block,
 * shared by the team when `shared` (each thread packs a slice), ap: this
 * thread's A words (A_BLOCK). add0: add to C on the first K block
 * (beta = 1). */
static void gemm_rows(const gemm_args *g, float *C, int p0, int p1, int k0,
                      int k1, int add0, uint32_t *bp, uint32_t *ap,
                      int shared) {
    const int M = g->M, N = g->N, K = g->K;
    const int atb = g->op == SIREN_GEMM_ATB;
    /* atb packs all its panels of a K block at once when they fit with
     * kc >= 128 (see pack_a_block_atb) */
    const int kfit = p1 > p0 ? 2 * (A_BLOCK / ((p1 - p0) * MR)) : 0;
    const int whole_a = atb && kfit >= 128;
    const int kmax = whole_a && kfit < KC_MAX ? kfit : KC_MAX;
    const int kcb = k_block(k1 - k0, kmax);
    for (int pc = k0; pc < k1; pc += kcb) {
        int kc = k1 - pc < kcb ? k1 - pc : kcb, kp = (kc + 1) / 2;
        int add = pc > k0 || add0;
        int ncb = n_block(N, kp);
        if (whole_a) pack_a_block_atb(g->A, M, p0, p1, pc, kc, ap);
        for (int jc = 0; jc < N; jc += ncb) {
            int nc = N - jc < ncb ? N - jc : ncb;
            int nq = (nc + NR - 1) / NR, q0 = 0, q1 = nq;
            if (shared) {
                int t = omp_get_thread_num(), nt = omp_get_num_threads();
                q0 = nq * t / nt, q1 = nq * (t + 1) / nt;
            }
            pack_b(g->op, g->B, N, K, jc, nc, q0, q1, pc, kc, bp);
            if (shared) {
#pragma omp barrier
            }
            for (int p = p0; p < p1; p++) {
                int i0 = p * MR, mr = M - i0 < MR ? M - i0 : MR;
                const uint32_t *a = ap;
                /* Prefetch streams for this panel's tiles, into L2: atb,
                 * its share of the next K block of A and B (two contiguous
                 * ranges); abt, ab with the whole K in one block, the next
                 * panel's rows (contiguous); else the next panel's rows
                 * at once here. */
                const char *pf[2] = {NULL, NULL};
                size_t pfl[2] = {0, 0};
                if (whole_a) {
                    a = ap + (size_t)(p - p0) * MR * kp;
                    int kn = k1 - pc - kc < kcb ? k1 - pc - kc : kcb;
                    if (kn > 0 && jc == 0) {
                        const size_t la = ((size_t)kn * M + 15) / 16,
                                     lb = ((size_t)kn * N + 15) / 16;
                        const size_t np = (size_t)(p1 - p0), u = (size_t)(p - p0);
                        pf[0] = (const char *)(g->A + (size_t)(pc + kc) * M) + 64 * (la * u / np);
                        pfl[0] = la * (u + 1) / np - la * u / np;
                        pf[1] = (const char *)(g->B + (size_t)(pc + kc) * N) + 64 * (lb * u / np);
                        pfl[1] = lb * (u + 1) / np - lb * u / np;
                    }
                } else {
                    pack_a(g->op, g->A, M, K, i0, mr, pc, kc, ap);
                }
                if (!atb && p + 1 < p1) {
                    int i1 = i0 + MR, mr1 = M - i1 < MR ? M - i1 : MR;
                    if (kc == K) {
                        pf[0] = (const char *)(g->A + (size_t)i1 * K);
                        pfl[0] = ((size_t)mr1 * K + 15) / 16;
                    } else {
                        for (int r = 0; r < mr1; r++) {
                            const float *row = g->A + (size_t)(i1 + r) * K + pc;
                            for (int k = 0; k < kc; k += 16)
                                _mm_prefetch((const char *)(row + k), _MM_HINT_T1);
                        }
                    }
                }
                for (int q = 0; q < nq; q++) {
                    int j0 = jc + q * NR, nr = N - j0 < NR ? N - j0 : NR;
                    int r = pfl[0] ? 0 : 1;
                    int n = pfl[r] < (size_t)(kp / 2) ? (int)pfl[r] : kp / 2;
                    tile(kp, a, !atb, bp + (size_t)q * kp * NR,
                         C + (size_t)i0 * N + j0, N, mr, nr, add, pf[r], n);
                    if (n) pf[r] += (size_t)n * 64, pfl[r] -= (size_t)n;
                }
                /* what the tiles did not take */
                for (int r = 0; r < 2; r++)
                    for (size_t l = 0; l < pfl[r]; l++)
                        _mm_prefetch(pf[r] + 64 * l, _MM_HINT_T1);
            }
            if (shared) {
#pragma omp barrier
            }
        }
    }
}

/* A long reduction with few rows (the weight gradient: M = N = 256,
 * K = 65536) is split along K, each thread with its own C. */
static int split_k(int M, int N, int K, int T) {
    return T > 1 && K >= 2 * M && K >= 2 * KC_MAX * T &&
           (size_t)M * N * (T - 1) <= (size_t)64 << 20;
}

void siren_gemm_bf16(siren_gemm_op op, int M, int N, int K, const float *A,
                     const float *B, float beta, float *C, int threads) {
    if (M <= 0 || N <= 0) return;
    const size_t MN = (size_t)M * N;
    if (siren_gemm_prescale(M, N, K, &beta, C)) return;
    const int T = threads > 0 ? threads : 1;
    const int add0 = beta != 0.0f;
    const gemm_args g = {op, M, N, K, A, B};
    const int npanels = (M + MR - 1) / MR;
    /* Per thread an A panel and a B block (only thread 0's B block is
     * used when the threads share one); then the partial Cs of threads
     * 1.. when K is split (floats, stored in the same words). */
    const size_t per = (size_t)A_BLOCK + B_BLOCK;
    const int sk = split_k(M, N, K, T);
    uint32_t *ws = siren_gemm_ws_get(
        &ws_tls, (per * T + (sk ? MN * (T - 1) : 0)) * sizeof(uint32_t));
    if (!ws) { /* no memory for the buffers: the fp32 kernel instead */
        siren_gemm_avx512(op, M, N, K, A, B, beta, C, T);
        return;
    }
    if (!sk) {
#pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            gemm_rows(&g, C, npanels * t / nt, npanels * (t + 1) / nt, 0, K,
                      add0, ws + A_BLOCK, ws + (size_t)t * per, 1);
        }
        return;
    }
    float *part = (float *)(ws + per * T);
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int k0 = (int)((long long)K * t / nt), k1 = (int)((long long)K * (t + 1) / nt);
        k0 &= ~1, k1 = t + 1 == nt ? K : k1 & ~1; /* whole pairs */
        float *Ct = t == 0 ? C : part + MN * (t - 1);
        uint32_t *ap = ws + (size_t)t * per, *bp = ap + A_BLOCK;
        if (k1 > k0)
            gemm_rows(&g, Ct, 0, npanels, k0, k1, t == 0 && add0, bp, ap, 0);
        else if (t > 0 || !add0)
            memset(Ct, 0, MN * sizeof(float));
#pragma omp barrier
        siren_gemm_add_partials(C, part, M, N, t, nt);
    }
}

/* AVX-512 helpers shared by the fp32 and bf16 GEMMs (gemm_avx512.c,
 * gemm_bf16_avx512.c): a lane mask and a 16 x 16 transpose of 32-bit
 * elements (floats, or pairs of bf16 moved as their bits). Only for files
 * compiled with AVX-512. */
#ifndef SIREN_AVX512_UTIL_H
#define SIREN_AVX512_UTIL_H

#include <immintrin.h>
#include <stddef.h>

static inline __mmask16 first_n(int n) { return (__mmask16)((1u << n) - 1); }

/* Transpose a block of src: `rows` (<= 16) rows of `cols` (<= 16) floats,
 * row stride ld; column k goes to dst + k*dst_ld as one vector (row r in
 * lane r, lanes >= rows zero), stored under `keep`. Four shuffle stages of
 * 16 ops each. */
static inline void transpose16(const float *src, size_t ld, int rows, int cols,
                        float *dst, size_t dst_ld, __mmask16 keep) {
    __m512 r[16], t[16];
    __mmask16 cm = first_n(cols);
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * ld)
                        : _mm512_setzero_ps();
    /* t[2p], t[2p+1]: rows 2p, 2p+1 interleaved, per 128-bit lane */
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) {
        t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    /* r[4g+c], lane L: rows 4g..4g+3 of column 4L+c */
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        __m512d a0 = _mm512_castps_pd(t[4 * g]), a1 = _mm512_castps_pd(t[4 * g + 1]);
        __m512d a2 = _mm512_castps_pd(t[4 * g + 2]), a3 = _mm512_castps_pd(t[4 * g + 3]);
        r[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
        r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
        r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
        r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    /* gather lanes L of groups 0..3 into column 4L+c */
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 va = _mm512_shuffle_f32x4(r[c], r[4 + c], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 vb = _mm512_shuffle_f32x4(r[c], r[4 + c], _MM_SHUFFLE(3, 1, 3, 1));
        __m512 wa = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 wb = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], _MM_SHUFFLE(3, 1, 3, 1));
        t[c] = _mm512_shuffle_f32x4(va, wa, _MM_SHUFFLE(2, 0, 2, 0));
        t[8 + c] = _mm512_shuffle_f32x4(va, wa, _MM_SHUFFLE(3, 1, 3, 1));
        t[4 + c] = _mm512_shuffle_f32x4(vb, wb, _MM_SHUFFLE(2, 0, 2, 0));
        t[12 + c] = _mm512_shuffle_f32x4(vb, wb, _MM_SHUFFLE(3, 1, 3, 1));
    }
    for (int k = 0; k < cols; k++)
        _mm512_mask_storeu_ps(dst + k * dst_ld, keep, t[k]);
}

#endif

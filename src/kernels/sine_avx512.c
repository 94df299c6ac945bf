/* Sine-layer row with SLEEF's 16-wide sincos (1 ulp). Compiled with
 * -mavx512f; called only when the CPU has it (sine.c). */
#include <immintrin.h>
#include <sleef.h>

#include "kernels/kernels.h"

void siren_sine_row_avx512(int n, const float *b, float omega, float *zh,
                           float *d) {
    const __m512 w = _mm512_set1_ps(omega);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 a = _mm512_mul_ps(
            w, _mm512_add_ps(_mm512_loadu_ps(zh + j), _mm512_loadu_ps(b + j)));
        Sleef___m512_2 sc = Sleef_sincosf16_u10avx512f(a);
        _mm512_storeu_ps(zh + j, sc.x);
        if (d) _mm512_storeu_ps(d + j, _mm512_mul_ps(w, sc.y));
    }
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1);
        __m512 a = _mm512_mul_ps(w, _mm512_add_ps(_mm512_maskz_loadu_ps(m, zh + j),
                                                  _mm512_maskz_loadu_ps(m, b + j)));
        Sleef___m512_2 sc = Sleef_sincosf16_u10avx512f(a);
        _mm512_mask_storeu_ps(zh + j, m, sc.x);
        if (d) _mm512_mask_storeu_ps(d + j, m, _mm512_mul_ps(w, sc.y));
    }
}

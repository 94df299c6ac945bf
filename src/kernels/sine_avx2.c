/* Sine-layer row with SLEEF's 8-wide sincos (1 ulp). Compiled with -mavx2;
 * called only when the CPU has it (sine.c). The tail goes to the plain
 * path, which computes the same function. */
#include <immintrin.h>
#include <sleef.h>

#include "kernels/kernels.h"

void siren_sine_row_avx2(int n, const float *b, float omega, float *zh,
                         float *d) {
    const __m256 w = _mm256_set1_ps(omega);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 a = _mm256_mul_ps(
            w, _mm256_add_ps(_mm256_loadu_ps(zh + j), _mm256_loadu_ps(b + j)));
        Sleef___m256_2 sc = Sleef_sincosf8_u10avx2(a);
        _mm256_storeu_ps(zh + j, sc.x);
        if (d) _mm256_storeu_ps(d + j, _mm256_mul_ps(w, sc.y));
    }
    if (j < n)
        siren_sine_row_plain(n - j, b + j, omega, zh + j, d ? d + j : NULL);
}

/* The sine layer's element-wise work, plain C path, and the run-time choice
 * between it and the SLEEF paths (sine_avx2.c, sine_avx512.c). The plain
 * path is the reference the SIMD paths are tested against. */
#include <math.h>

#include "kernels/kernels.h"

void siren_sine_row_plain(int n, const float *b, float omega, float *zh,
                          float *d) {
    for (int j = 0; j < n; j++) {
        float a = omega * (zh[j] + b[j]);
        zh[j] = sinf(a);
        if (d) d[j] = omega * cosf(a);
    }
}

static siren_isa current = (siren_isa)-1;

siren_isa siren_isa_best(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return SIREN_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return SIREN_ISA_AVX2;
    return SIREN_ISA_PLAIN;
}

siren_isa siren_isa_select(siren_isa isa) {
    siren_isa best = siren_isa_best();
    current = isa > best ? best : isa;
    return current;
}

const char *siren_isa_name(siren_isa isa) {
    switch (isa) {
    case SIREN_ISA_AVX512: return "avx512";
    case SIREN_ISA_AVX2: return "avx2";
    default: return "plain";
    }
}

siren_isa siren_isa_current(void) {
    if ((int)current < 0) siren_isa_select(SIREN_ISA_AVX512);
    return current;
}

siren_sine_row_fn siren_sine_row(void) {
    siren_isa_current();
    switch (current) {
    case SIREN_ISA_AVX512: return siren_sine_row_avx512;
    case SIREN_ISA_AVX2: return siren_sine_row_avx2;
    default: return siren_sine_row_plain;
    }
}

/* The baselines' activations, row kernels with the sine row's signature so
 * the network runs any of them through one code path. Plain C: the loops
 * are simple enough for the compiler to vectorise, and neither activation
 * is on the path of the paper's recipes. */
#include <math.h>

#include "kernels/kernels.h"

void siren_relu_row(int n, const float *b, float omega, float *zh, float *d) {
    (void)omega;
    /* Two loops without a branch inside, so both vectorise (the set
     * encoder of the hypernetwork prior runs this on every context pixel). */
    if (d) {
#pragma omp simd
        for (int j = 0; j < n; j++) {
            const float v = zh[j] + b[j];
            d[j] = v > 0 ? 1.0f : 0.0f;
            zh[j] = v > 0 ? v : 0;
        }
    } else {
#pragma omp simd
        for (int j = 0; j < n; j++) {
            const float v = zh[j] + b[j];
            zh[j] = v > 0 ? v : 0;
        }
    }
}

void siren_tanh_row(int n, const float *b, float omega, float *zh, float *d) {
    (void)omega;
    for (int j = 0; j < n; j++) {
        float t = tanhf(zh[j] + b[j]);
        zh[j] = t;
        if (d) d[j] = 1.0f - t * t;
    }
}

siren_sine_row_fn siren_act_row(int activation) {
    switch (activation) {
    case 1: return siren_relu_row;
    case 2: return siren_tanh_row;
    default: return siren_sine_row();
    }
}

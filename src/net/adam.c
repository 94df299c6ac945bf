/* Adam with PyTorch's arithmetic (torch.optim.Adam, no weight decay):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g²
 *   p -= (lr / (1-b1^t)) · m / (sqrt(v) / sqrt(1-b2^t) + eps)
 * Moments live in blocks of the parameters' layout. */
#include <math.h>
#include <stdlib.h>

#include "net/net.h"
#include "util/error.h"

siren_status siren_adam_init(siren_adam *a, size_t n) {
    a->n = n;
    a->t = 0;
    a->m = calloc(n, sizeof(float));
    a->v = calloc(n, sizeof(float));
    if (!a->m || !a->v) {
        siren_adam_free(a);
        return siren_fail(SIREN_ENOMEM, "out of memory for Adam moments");
    }
    return SIREN_OK;
}

void siren_adam_free(siren_adam *a) {
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
}

void siren_adam_step(siren_adam *a, float *p, const float *g, float lr,
                     float beta1, float beta2, float eps, int threads) {
    a->t++;
    double bc1 = 1.0 - pow(beta1, (double)a->t);
    double bc2 = 1.0 - pow(beta2, (double)a->t);
    const float step = (float)(lr / bc1);
    const float rbc2 = (float)(1.0 / sqrt(bc2));
    float *m = a->m, *v = a->v;
    const size_t n = a->n;
#pragma omp parallel for simd schedule(static) num_threads(threads)
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf(v[i]) * rbc2 + eps);
    }
}

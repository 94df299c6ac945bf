/* Network construction, the official SIREN initialisation, metadata, and
 * the forward/backward passes of the value channel. GEMMs and the sine
 * element-wise work come from src/kernels; this file only splits rows
 * between OpenMP threads and keeps the buffers. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "net/net.h"
#include "util/error.h"
#include "util/rng.h"

siren_config siren_config_default(int in_features, int out_features) {
    siren_config c;
    c.in_features = in_features;
    c.out_features = out_features;
    c.hidden_features = 256;
    c.hidden_layers = 3;
    c.first_omega_0 = 30.0f;
    c.hidden_omega_0 = 30.0f;
    c.activation = SIREN_ACT_SINE;
    return c;
}

siren_status siren_config_check(const siren_config *c) {
    if (c->in_features < 1 || c->in_features > 16)
        return siren_fail(SIREN_EINVAL, "in_features %d is not in [1, 16]",
                          c->in_features);
    if (c->out_features < 1 || c->out_features > 1024)
        return siren_fail(SIREN_EINVAL, "out_features %d is not in [1, 1024]",
                          c->out_features);
    if (c->hidden_features < 1 || c->hidden_features > SIREN_MAX_FEATURES)
        return siren_fail(SIREN_EINVAL,
                          "hidden_features %d is not in [1, %d]",
                          c->hidden_features, SIREN_MAX_FEATURES);
    if (c->hidden_layers < 0 || c->hidden_layers > SIREN_MAX_HIDDEN_LAYERS)
        return siren_fail(SIREN_EINVAL, "hidden_layers %d is not in [0, %d]",
                          c->hidden_layers, SIREN_MAX_HIDDEN_LAYERS);
    if (!(c->first_omega_0 > 0) || !isfinite(c->first_omega_0) ||
        !(c->hidden_omega_0 > 0) || !isfinite(c->hidden_omega_0))
        return siren_fail(SIREN_EINVAL, "omega_0 must be positive and finite");
    if (c->activation != SIREN_ACT_SINE)
        return siren_fail(SIREN_EINVAL, "unknown activation %d",
                          (int)c->activation);
    return SIREN_OK;
}

siren_status siren_net_alloc(const siren_config *cfg, siren_net **out) {
    *out = NULL;
    siren_status st = siren_config_check(cfg);
    if (st) return st;
    siren_net *net = calloc(1, sizeof *net);
    if (!net) return siren_fail(SIREN_ENOMEM, "out of memory");
    net->cfg = *cfg;
    net->n_linear = cfg->hidden_layers + 2;
    net->dims[0] = cfg->in_features;
    for (int l = 1; l < net->n_linear; l++) net->dims[l] = cfg->hidden_features;
    net->dims[net->n_linear] = cfg->out_features;
    size_t off = 0;
    for (int l = 0; l < net->n_linear; l++) {
        net->w_off[l] = off;
        off += (size_t)net->dims[l + 1] * net->dims[l];
        net->b_off[l] = off;
        off += (size_t)net->dims[l + 1];
    }
    net->n_params = off;
    net->params = calloc(off, sizeof(float));
    if (!net->params) {
        free(net);
        return siren_fail(SIREN_ENOMEM, "out of memory for %zu parameters", off);
    }
    *out = net;
    return SIREN_OK;
}

/* Official SIREN init (Sitzmann et al., DESIGN §4): first layer
 * W ~ U(-1/in, 1/in); every later layer, the last linear one included,
 * W ~ U(-sqrt(6/in)/omega_hidden, +sqrt(6/in)/omega_hidden), which keeps the
 * pre-activations' distribution the same through depth. Biases keep
 * PyTorch's nn.Linear default U(-1/sqrt(in), 1/sqrt(in)). */
siren_status siren_net_create(const siren_config *cfg, uint64_t seed,
                              siren_net **out) {
    siren_status st = siren_net_alloc(cfg, out);
    if (st) return st;
    siren_net *net = *out;
    siren_rng rng;
    siren_rng_seed(&rng, seed);
    for (int l = 0; l < net->n_linear; l++) {
        int in = net->dims[l], nout = net->dims[l + 1];
        double wb = l == 0 ? 1.0 / in
                           : sqrt(6.0 / in) / cfg->hidden_omega_0;
        double bb = 1.0 / sqrt((double)in);
        float *W = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        for (size_t i = 0; i < (size_t)nout * in; i++)
            W[i] = (float)((2 * siren_rng_uniform(&rng) - 1) * wb);
        for (int i = 0; i < nout; i++)
            b[i] = (float)((2 * siren_rng_uniform(&rng) - 1) * bb);
    }
    return SIREN_OK;
}

void siren_net_free(siren_net *net) {
    if (!net) return;
    for (int i = 0; i < net->n_meta; i++) {
        free(net->meta_key[i]);
        free(net->meta_val[i]);
    }
    free(net->meta_key);
    free(net->meta_val);
    free(net->params);
    free(net);
}

const siren_config *siren_net_config(const siren_net *net) { return &net->cfg; }
size_t siren_net_param_count(const siren_net *net) { return net->n_params; }
float *siren_net_params(siren_net *net) { return net->params; }

siren_status siren_net_set_meta(siren_net *net, const char *key,
                                const char *value) {
    for (int i = 0; i < net->n_meta; i++) {
        if (strcmp(net->meta_key[i], key) == 0) {
            char *v = strdup(value);
            if (!v) return siren_fail(SIREN_ENOMEM, "out of memory");
            free(net->meta_val[i]);
            net->meta_val[i] = v;
            return SIREN_OK;
        }
    }
    char **k = realloc(net->meta_key, (net->n_meta + 1) * sizeof *k);
    if (!k) return siren_fail(SIREN_ENOMEM, "out of memory");
    net->meta_key = k;
    char **v = realloc(net->meta_val, (net->n_meta + 1) * sizeof *v);
    if (!v) return siren_fail(SIREN_ENOMEM, "out of memory");
    net->meta_val = v;
    k[net->n_meta] = strdup(key);
    v[net->n_meta] = strdup(value);
    if (!k[net->n_meta] || !v[net->n_meta]) {
        free(k[net->n_meta]);
        free(v[net->n_meta]);
        return siren_fail(SIREN_ENOMEM, "out of memory");
    }
    net->n_meta++;
    return SIREN_OK;
}

const char *siren_net_get_meta(const siren_net *net, const char *key) {
    for (int i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta_key[i], key) == 0) return net->meta_val[i];
    return NULL;
}

int siren_net_meta_count(const siren_net *net) { return net->n_meta; }

void siren_net_meta_at(const siren_net *net, int i, const char **key,
                       const char **value) {
    SIREN_ASSERT(i >= 0 && i < net->n_meta);
    *key = net->meta_key[i];
    *value = net->meta_val[i];
}

int siren_threads_resolve(int threads) {
    return threads > 0 ? threads : omp_get_num_procs();
}

/* ------------------------------------------------------------ work buffers */

static int widest(const siren_net *net) {
    int w = 0;
    for (int l = 0; l <= net->n_linear; l++)
        if (net->dims[l] > w) w = net->dims[l];
    return w;
}

siren_status siren_work_create(const siren_net *net, size_t cap, int threads,
                               siren_work **out) {
    *out = NULL;
    siren_work *w = calloc(1, sizeof *w);
    if (!w) return siren_fail(SIREN_ENOMEM, "out of memory");
    w->cap = cap;
    w->channels = 1;
    w->threads = siren_threads_resolve(threads);
    w->n_linear = net->n_linear;
    int L = net->n_linear;
    size_t rows = cap * (size_t)w->channels, total = 0, sz;
    /* act[1..L], dact[0..L-2], g, gb; every piece 64-byte aligned. */
    size_t sizes[2 * SIREN_MAX_LINEAR + 2];
    int k = 0;
    for (int l = 1; l <= L; l++) sizes[k++] = rows * net->dims[l];
    for (int l = 0; l < L - 1; l++) sizes[k++] = rows * net->dims[l + 1];
    sizes[k++] = rows * widest(net);
    sizes[k++] = (size_t)w->threads * widest(net);
    for (int i = 0; i < k; i++) {
        if (!siren_mul_size(sizes[i], 1, &sz) ||
            !siren_add_size(total, (sizes[i] + 15) & ~(size_t)15, &total))
            goto nomem;
    }
    if (!siren_mul_size(total, sizeof(float), &sz)) goto nomem;
    w->block = aligned_alloc(64, sz);
    if (!w->block) goto nomem;
    /* Touch every page now, once, instead of page-faulting in step 1. */
    memset(w->block, 0, sz);
    float *p = w->block;
    k = 0;
    for (int l = 1; l <= L; l++) { w->act[l] = p; p += (sizes[k++] + 15) & ~(size_t)15; }
    for (int l = 0; l < L - 1; l++) { w->dact[l] = p; p += (sizes[k++] + 15) & ~(size_t)15; }
    w->g = p; p += (sizes[k++] + 15) & ~(size_t)15;
    w->gb = p;
    *out = w;
    return SIREN_OK;
nomem:
    free(w);
    return siren_fail(SIREN_ENOMEM,
                      "out of memory for the work buffers of %zu points", cap);
}

void siren_work_free(siren_work *w) {
    if (!w) return;
    free(w->block);
    free(w);
}

/* ------------------------------------------------------ forward / backward */

void siren_net_forward(const siren_net *net, siren_work *w, const float *x,
                       size_t n, int keep_derivs) {
    SIREN_ASSERT(n <= w->cap && w->n_linear == net->n_linear);
    siren_gemm_set_threads(w->threads);
    siren_sine_row_fn sine_row = siren_sine_row();
    const int L = net->n_linear;
    const float *in = x;
    w->act0 = x;
    for (int l = 0; l < L; l++) {
        const int din = net->dims[l], dout = net->dims[l + 1];
        const float *W = net->params + net->w_off[l];
        const float *b = net->params + net->b_off[l];
        float *z = w->act[l + 1];
        siren_gemm_abt((int)n, dout, din, in, W, 0.0f, z);
        if (l < L - 1) {
            float omega = siren_layer_omega(net, l);
            float *d = keep_derivs ? w->dact[l] : NULL;
#pragma omp parallel for schedule(static) num_threads(w->threads)
            for (size_t r = 0; r < n; r++)
                sine_row(dout, b, omega, z + r * dout, d ? d + r * dout : NULL);
        } else {
#pragma omp parallel for schedule(static) num_threads(w->threads)
            for (size_t r = 0; r < n; r++)
                for (int j = 0; j < dout; j++) z[r * dout + j] += b[j];
        }
        in = z;
    }
}

/* With d == NULL: gb (cols) = column sums of g (n, cols). With d: first
 * g ⊙= d element-wise (the sine layer's gz = g f'(z)), in the same pass.
 * Deterministic for a fixed thread count: each thread sums a fixed row
 * range, and the partials are added in thread order. */
static void column_sums(const siren_work *w, float *restrict g,
                        const float *restrict d, size_t n, int cols,
                        float *gb) {
    const int T = w->threads;
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *restrict part = w->gb + (size_t)t * cols;
        memset(part, 0, cols * sizeof(float));
        size_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
        for (size_t r = r0; r < r1; r++) {
            float *restrict gr = g + r * cols;
            if (d) {
                const float *restrict dr = d + r * cols;
#pragma omp simd
                for (int j = 0; j < cols; j++) {
                    gr[j] *= dr[j];
                    part[j] += gr[j];
                }
            } else {
#pragma omp simd
                for (int j = 0; j < cols; j++) part[j] += gr[j];
            }
        }
#pragma omp barrier
#pragma omp for schedule(static)
        for (int j = 0; j < cols; j++) {
            float s = 0;
            for (int u = 0; u < nt; u++) s += w->gb[(size_t)u * cols + j];
            gb[j] = s;
        }
    }
}

void siren_net_backward(const siren_net *net, siren_work *w, size_t n,
                        const float *gy, float *grad) {
    SIREN_ASSERT(n <= w->cap);
    siren_gemm_set_threads(w->threads);
    const int L = net->n_linear;
    /* Last linear layer: no activation. */
    {
        int l = L - 1, din = net->dims[l], dout = net->dims[l + 1];
        const float *in = l == 0 ? w->act0 : w->act[l];
        siren_gemm_atb(dout, din, (int)n, gy, in, 0.0f, grad + net->w_off[l]);
        column_sums(w, (float *)gy, NULL, n, dout, grad + net->b_off[l]);
        if (l > 0)
            siren_gemm_ab((int)n, din, dout, gy, net->params + net->w_off[l],
                          0.0f, w->g);
    }
    for (int l = L - 2; l >= 0; l--) {
        int din = net->dims[l], dout = net->dims[l + 1];
        const float *in = l == 0 ? w->act0 : w->act[l];
        /* gz = g ⊙ f'(z), in place over g, and gb = Σ_rows gz. */
        float *gz = w->g;
        column_sums(w, gz, w->dact[l], n, dout, grad + net->b_off[l]);
        siren_gemm_atb(dout, din, (int)n, gz, in, 0.0f, grad + net->w_off[l]);
        /* g for the layer below; f'(z) of this layer is spent, so its
         * buffer takes the result and the two swap roles. */
        if (l > 0) {
            siren_gemm_ab((int)n, din, dout, gz, net->params + net->w_off[l],
                          0.0f, w->dact[l]);
            float *tmp = w->g;
            w->g = w->dact[l];
            w->dact[l] = tmp;
        }
    }
}

/* ------------------------------------------------------------- evaluation */

siren_status siren_net_eval(const siren_net *net, const float *x, size_t n,
                            float *y, int threads) {
    size_t cap = n < 16384 ? n : 16384;
    if (cap == 0) return SIREN_OK;
    siren_work *w;
    siren_status st = siren_work_create(net, cap, threads, &w);
    if (st) return st;
    const int din = net->cfg.in_features, dout = net->cfg.out_features;
    for (size_t i = 0; i < n; i += cap) {
        size_t m = n - i < cap ? n - i : cap;
        siren_net_forward(net, w, x + i * din, m, 0);
        memcpy(y + i * dout, w->act[net->n_linear], m * dout * sizeof(float));
    }
    siren_work_free(w);
    return SIREN_OK;
}

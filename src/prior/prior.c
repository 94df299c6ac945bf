/* The hypernetwork prior: layout and official initialisation, the batched
 * passes (set encoder -> mean-pooled latent -> one hypernetwork MLP per
 * tensor of the generated SIREN -> that SIREN over every pixel, one image
 * per thread through src/net), the official loss with its exact gradient,
 * and inference (generate, complete, eval). Training is prior_train.c's,
 * the file format prior_file.c's, image sets dataset.c's. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "prior/prior.h"
#include "util/error.h"
#include "util/rng.h"

siren_prior_config siren_prior_config_default(int size, int channels) {
    siren_prior_config c;
    memset(&c, 0, sizeof c);
    c.size = size;
    c.channels = channels;
    c.hidden_features = 64;
    c.hidden_layers = 3;
    c.omega_0 = 30.0f;
    c.latent = 256;
    c.encoder_hidden = 256;
    c.encoder_layers = 2;
    c.encoder_activation = SIREN_ACT_RELU;
    c.hyper_hidden = 256;
    c.hyper_layers = 1;
    return c;
}

static siren_status width_ok(const char *what, int v) {
    if (v < 1 || v > SIREN_PRIOR_MAX_WIDTH)
        return siren_fail(SIREN_EINVAL, "prior: %s %d is not in [1, %d]", what, v,
                          SIREN_PRIOR_MAX_WIDTH);
    return SIREN_OK;
}

static siren_status layers_ok(const char *what, int v) {
    if (v < 0 || v > SIREN_PRIOR_MAX_LAYERS)
        return siren_fail(SIREN_EINVAL, "prior: %s %d is not in [0, %d]", what, v,
                          SIREN_PRIOR_MAX_LAYERS);
    return SIREN_OK;
}

siren_status siren_prior_config_check(const siren_prior_config *c) {
    siren_status st;
    if (c->size < 2 || c->size > SIREN_PRIOR_MAX_SIZE)
        return siren_fail(SIREN_EINVAL, "prior: image size %d is not in [2, %d]", c->size,
                          SIREN_PRIOR_MAX_SIZE);
    if (c->channels != 1 && c->channels != 3)
        return siren_fail(SIREN_EINVAL, "prior: %d channels (1 gray or 3 RGB)", c->channels);
    if ((st = width_ok("hidden_features", c->hidden_features)) ||
        (st = layers_ok("hidden_layers", c->hidden_layers)) ||
        (st = width_ok("latent", c->latent)) ||
        (st = width_ok("encoder_hidden", c->encoder_hidden)) ||
        (st = layers_ok("encoder_layers", c->encoder_layers)) ||
        (st = width_ok("hyper_hidden", c->hyper_hidden)) ||
        (st = layers_ok("hyper_layers", c->hyper_layers)))
        return st;
    if (!(c->omega_0 > 0 && c->omega_0 <= 1e4f))
        return siren_fail(SIREN_EINVAL, "prior: omega_0 %g is not in (0, 1e4]",
                          (double)c->omega_0);
    if (c->encoder_activation != SIREN_ACT_RELU && c->encoder_activation != SIREN_ACT_SINE)
        return siren_fail(SIREN_EINVAL, "prior: the encoder's activation is relu or sine");
    return SIREN_OK;
}

/* The MLP in -> hidden (x layers + 1) -> out starting at *off; 0 when the
 * parameter count overflows. */
static int mlp_layout(siren_prior_mlp *m, int in, int hidden, int layers, int out,
                      siren_activation act, int act_last, size_t *off) {
    m->n_linear = layers + 2;
    m->dims[0] = in;
    for (int l = 1; l <= layers + 1; l++) m->dims[l] = hidden;
    m->dims[m->n_linear] = out;
    m->act = act;
    m->omega = 30.0f;
    m->act_last = act_last;
    for (int l = 0; l < m->n_linear; l++) {
        size_t w;
        if (!siren_mul_size((size_t)m->dims[l + 1], (size_t)m->dims[l], &w)) return 0;
        m->w_off[l] = *off;
        if (!siren_add_size(*off, w, off)) return 0;
        m->b_off[l] = *off;
        if (!siren_add_size(*off, (size_t)m->dims[l + 1], off)) return 0;
    }
    return 1;
}

siren_status siren_prior_layout(const siren_prior_config *cfg, siren_prior *p) {
    siren_status st = siren_prior_config_check(cfg);
    if (st) return st;
    p->cfg = *cfg;
    siren_config s = siren_config_default(2, cfg->channels);
    s.hidden_features = cfg->hidden_features;
    s.hidden_layers = cfg->hidden_layers;
    s.first_omega_0 = s.hidden_omega_0 = cfg->omega_0;
    p->siren = s;
    /* The generated SIREN's tensors in siren_net's order (weight then
     * bias per linear layer), so its parameter block is the heads'
     * outputs one after the other. */
    const int nl = cfg->hidden_layers + 2;
    int dims[SIREN_PRIOR_MAX_LINEAR + 1];
    dims[0] = 2;
    for (int l = 1; l < nl; l++) dims[l] = cfg->hidden_features;
    dims[nl] = cfg->channels;
    size_t off = 0;
    p->n_tensors = 2 * nl;
    for (int l = 0; l < nl; l++) {
        p->t_off[2 * l] = off;
        p->t_len[2 * l] = (size_t)dims[l + 1] * dims[l];
        p->t_in[2 * l] = dims[l];
        off += p->t_len[2 * l];
        p->t_off[2 * l + 1] = off;
        p->t_len[2 * l + 1] = (size_t)dims[l + 1];
        p->t_in[2 * l + 1] = 0;
        off += p->t_len[2 * l + 1];
    }
    p->n_siren = off;
    size_t n = 0;
    int ok = mlp_layout(&p->enc, 2 + cfg->channels, cfg->encoder_hidden,
                        cfg->encoder_layers, cfg->latent, cfg->encoder_activation, 1, &n);
    for (int t = 0; ok && t < p->n_tensors; t++)
        ok = mlp_layout(&p->hyper[t], cfg->latent, cfg->hyper_hidden, cfg->hyper_layers,
                        (int)p->t_len[t], SIREN_ACT_RELU, 0, &n);
    /* 2^31 floats (8 GiB) is far past anything that trains on a CPU. */
    if (!ok || n > ((size_t)1 << 31))
        return siren_fail(SIREN_ELIMIT, "prior: too many parameters for this configuration");
    p->n_params = n;
    return SIREN_OK;
}

siren_status siren_prior_alloc(const siren_prior_config *cfg, siren_prior **out) {
    *out = NULL;
    siren_prior *p = calloc(1, sizeof *p);
    if (!p) return siren_fail(SIREN_ENOMEM, "out of memory");
    siren_status st = siren_prior_layout(cfg, p);
    if (st) {
        free(p);
        return st;
    }
    p->params = calloc(p->n_params, sizeof(float));
    if (!p->params) {
        const size_t n = p->n_params;
        free(p);
        return siren_fail(SIREN_ENOMEM, "out of memory for %zu prior parameters", n);
    }
    *out = p;
    return SIREN_OK;
}

static double rng_normal(siren_rng *r) {
    double u = siren_rng_uniform(r), v = siren_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2 * M_PI * v);
}

static float rng_sym(siren_rng *r, double a) {
    return (float)((2 * siren_rng_uniform(r) - 1) * a);
}

siren_status siren_prior_create(const siren_prior_config *cfg, uint64_t seed,
                                siren_prior **out) {
    siren_prior *p;
    siren_status st = siren_prior_alloc(cfg, &p);
    if (st) {
        *out = NULL;
        return st;
    }
    siren_rng r;
    siren_rng_seed(&r, seed);
    float *P = p->params;
    /* Set encoder: modules.SetEncoder, init_weights_normal (Kaiming normal,
     * fan_in) for ReLU or sine_init for sine, in every layer; biases
     * nn.Linear's U(-1/sqrt(in), 1/sqrt(in)). */
    for (int l = 0; l < p->enc.n_linear; l++) {
        const int in = p->enc.dims[l], o = p->enc.dims[l + 1];
        for (size_t i = 0; i < (size_t)o * in; i++)
            P[p->enc.w_off[l] + i] = p->enc.act == SIREN_ACT_RELU
                                         ? (float)(rng_normal(&r) * sqrt(2.0 / in))
                                         : rng_sym(&r, sqrt(6.0 / in) / 30.0);
        for (int j = 0; j < o; j++) P[p->enc.b_off[l] + j] = rng_sym(&r, 1 / sqrt(in));
    }
    /* Hypernetwork: FCBlock(relu) with init_weights_normal, then
     * hyper_weight_init / hyper_bias_init on the last layer (weights
     * Kaiming / 100; biases U(-1/fan_in) of the generated layer for a
     * weight tensor, U(-1/hyper_hidden) for a bias tensor), so the first
     * SIREN it generates is close to a freshly initialised SIREN. */
    for (int t = 0; t < p->n_tensors; t++) {
        const siren_prior_mlp *m = &p->hyper[t];
        for (int l = 0; l < m->n_linear; l++) {
            const int in = m->dims[l], o = m->dims[l + 1];
            const int last = l == m->n_linear - 1;
            const double sd = sqrt(2.0 / in) / (last ? 100.0 : 1.0);
            for (size_t i = 0; i < (size_t)o * in; i++)
                P[m->w_off[l] + i] = (float)(rng_normal(&r) * sd);
            double a = !last ? 1 / sqrt(in) : p->t_in[t] ? 1.0 / p->t_in[t] : 1.0 / in;
            for (int j = 0; j < o; j++) P[m->b_off[l] + j] = rng_sym(&r, a);
        }
    }
    *out = p;
    return SIREN_OK;
}

void siren_prior_free(siren_prior *p) {
    if (!p) return;
    for (int i = 0; i < p->n_meta; i++) {
        free(p->meta_key[i]);
        free(p->meta_val[i]);
    }
    free(p->meta_key);
    free(p->meta_val);
    free(p->params);
    free(p);
}

const siren_prior_config *siren_prior_get_config(const siren_prior *p) { return &p->cfg; }
size_t siren_prior_param_count(const siren_prior *p) { return p->n_params; }
float *siren_prior_params(siren_prior *p) { return p->params; }
size_t siren_prior_siren_param_count(const siren_prior *p) { return p->n_siren; }

siren_status siren_prior_set_meta(siren_prior *p, const char *key, const char *value) {
    for (int i = 0; i < p->n_meta; i++)
        if (!strcmp(p->meta_key[i], key)) {
            char *v = strdup(value);
            if (!v) return siren_fail(SIREN_ENOMEM, "out of memory");
            free(p->meta_val[i]);
            p->meta_val[i] = v;
            return SIREN_OK;
        }
    char **k = realloc(p->meta_key, (p->n_meta + 1) * sizeof *k);
    if (k) p->meta_key = k;
    char **v = realloc(p->meta_val, (p->n_meta + 1) * sizeof *v);
    if (v) p->meta_val = v;
    char *ks = strdup(key), *vs = strdup(value);
    if (!k || !v || !ks || !vs) {
        free(ks);
        free(vs);
        return siren_fail(SIREN_ENOMEM, "out of memory");
    }
    p->meta_key[p->n_meta] = ks;
    p->meta_val[p->n_meta++] = vs;
    return SIREN_OK;
}

const char *siren_prior_get_meta(const siren_prior *p, const char *key) {
    for (int i = 0; i < p->n_meta; i++)
        if (!strcmp(p->meta_key[i], key)) return p->meta_val[i];
    return NULL;
}

int siren_prior_meta_count(const siren_prior *p) { return p->n_meta; }

void siren_prior_meta_at(const siren_prior *p, int i, const char **key, const char **value) {
    *key = p->meta_key[i];
    *value = p->meta_val[i];
}

/* ------------------------------------------------------------ work buffers */

struct siren_prior_work {
    int cap_b, cap_ctx, threads, n_pix;
    float *grid;                  /* (n_pix, 2): (row, col) linspace(-1, 1) */
    float *enc_in;                /* (rows, 2 + C) */
    float *enc_act[SIREN_PRIOR_MAX_LINEAR + 1], *enc_der[SIREN_PRIOR_MAX_LINEAR];
    float *z, *gz;                /* (B, latent) */
    /* per tensor t: hact[t][l + 1] is layer l's output, hder[t][l] f';
     * the last layer's outputs of all tensors form theta, tensor t's
     * (B, t_len[t]) block at cap_b * t_off[t]; gtheta likewise. */
    float *hact[SIREN_PRIOR_MAX_TENSORS][SIREN_PRIOR_MAX_LINEAR + 1];
    float *hder[SIREN_PRIOR_MAX_TENSORS][SIREN_PRIOR_MAX_LINEAR];
    float *theta, *gtheta;
    float *s0, *s1;               /* (rows, widest) backward scratch */
    float *part;                  /* (threads, widest column count) */
    float *block;
    /* one generated SIREN per thread, with its buffers */
    siren_net **nets;
    siren_work **sworks;
    float **gy, **gth;
    double *img_sse, *th_ss;      /* per image of the batch */
    int B, nc;                    /* the batch encoded last */
};

void siren_prior_work_free(siren_prior_work *w) {
    if (!w) return;
    for (int t = 0; t < w->threads; t++) {
        if (w->nets) siren_net_free(w->nets[t]);
        if (w->sworks) siren_work_free(w->sworks[t]);
        if (w->gy) free(w->gy[t]);
        if (w->gth) free(w->gth[t]);
    }
    free(w->nets);
    free(w->sworks);
    free(w->gy);
    free(w->gth);
    free(w->img_sse);
    free(w->th_ss);
    free(w->block);
    free(w);
}

/* Carves 64-byte aligned pieces out of one block: a first pass with
 * base == NULL only adds up the sizes. */
typedef struct {
    float *base;
    size_t used;
    int overflow;
} carver;

static float *carve(carver *c, size_t a, size_t b) {
    size_t n;
    if (!siren_mul_size(a, b, &n) || !siren_add_size(n, 15, &n)) {
        c->overflow = 1;
        return NULL;
    }
    n &= ~(size_t)15;
    float *p = c->base ? c->base + c->used : NULL;
    if (!siren_add_size(c->used, n, &c->used)) c->overflow = 1;
    return p;
}

static int widest_mlp(const siren_prior_mlp *m, int w) {
    for (int l = 0; l <= m->n_linear; l++)
        if (m->dims[l] > w) w = m->dims[l];
    return w;
}

static void carve_all(const siren_prior *p, siren_prior_work *w, carver *c) {
    const size_t rows = (size_t)w->cap_b * w->cap_ctx, B = w->cap_b;
    const siren_prior_mlp *e = &p->enc;
    int wide = widest_mlp(e, 0);
    size_t cols = (size_t)wide;
    for (int t = 0; t < p->n_tensors; t++) {
        const siren_prior_mlp *m = &p->hyper[t];
        if (m->dims[1] > wide) wide = m->dims[1];
        if (p->t_len[t] > cols) cols = p->t_len[t];
    }
    if ((size_t)wide > cols) cols = wide;
    w->grid = carve(c, (size_t)w->n_pix, 2);
    w->enc_in = carve(c, rows, e->dims[0]);
    for (int l = 0; l < e->n_linear; l++) {
        w->enc_act[l + 1] = carve(c, rows, e->dims[l + 1]);
        w->enc_der[l] = carve(c, rows, e->dims[l + 1]);
    }
    w->z = carve(c, B, p->cfg.latent);
    w->gz = carve(c, B, p->cfg.latent);
    w->theta = carve(c, B, p->n_siren);
    w->gtheta = carve(c, B, p->n_siren);
    for (int t = 0; t < p->n_tensors; t++) {
        const siren_prior_mlp *m = &p->hyper[t];
        for (int l = 0; l < m->n_linear - 1; l++) {
            w->hact[t][l + 1] = carve(c, B, m->dims[l + 1]);
            w->hder[t][l] = carve(c, B, m->dims[l + 1]);
        }
        w->hact[t][m->n_linear] = c->base ? w->theta + B * p->t_off[t] : NULL;
        w->hder[t][m->n_linear - 1] = NULL;
    }
    size_t srows = rows > B ? rows : B;
    w->s0 = carve(c, srows, wide);
    w->s1 = carve(c, srows, wide);
    w->part = carve(c, (size_t)w->threads, cols);
}

siren_status siren_prior_work_create(const siren_prior *p, int batch, int ctx, int threads,
                                     siren_prior_work **out) {
    *out = NULL;
    const int S = p->cfg.size;
    if (batch < 1 || ctx < 1 || ctx > S * S)
        return siren_fail(SIREN_EINVAL, "prior: batch %d, context %d out of range", batch, ctx);
    siren_prior_work *w = calloc(1, sizeof *w);
    if (!w) return siren_fail(SIREN_ENOMEM, "out of memory");
    w->cap_b = batch;
    w->cap_ctx = ctx;
    w->threads = siren_threads_resolve(threads);
    w->n_pix = S * S;
    carver c = {NULL, 0, 0};
    carve_all(p, w, &c);
    if (c.overflow) goto nomem;
    w->block = siren_work_alloc(c.used, w->threads);
    if (!w->block) goto nomem;
    c.base = w->block;
    c.used = 0;
    carve_all(p, w, &c);
    for (int r = 0; r < S; r++)
        for (int q = 0; q < S; q++) {
            w->grid[2 * (r * S + q)] = -1.0f + 2.0f * r / (S - 1);
            w->grid[2 * (r * S + q) + 1] = -1.0f + 2.0f * q / (S - 1);
        }
    const int T = w->threads;
    w->nets = calloc(T, sizeof *w->nets);
    w->sworks = calloc(T, sizeof *w->sworks);
    w->gy = calloc(T, sizeof *w->gy);
    w->gth = calloc(T, sizeof *w->gth);
    w->img_sse = calloc(batch, sizeof *w->img_sse);
    w->th_ss = calloc(batch, sizeof *w->th_ss);
    if (!w->nets || !w->sworks || !w->gy || !w->gth || !w->img_sse || !w->th_ss) goto nomem;
    for (int t = 0; t < T; t++) {
        siren_status st;
        if ((st = siren_net_alloc(&p->siren, &w->nets[t])) ||
            (st = siren_work_create(w->nets[t], (size_t)w->n_pix, 1, &w->sworks[t]))) {
            siren_prior_work_free(w);
            return st;
        }
        w->gy[t] = malloc((size_t)w->n_pix * p->cfg.channels * sizeof(float));
        w->gth[t] = malloc(p->n_siren * sizeof(float));
        if (!w->gy[t] || !w->gth[t]) goto nomem;
    }
    *out = w;
    return SIREN_OK;
nomem:
    siren_prior_work_free(w);
    return siren_fail(SIREN_ENOMEM, "out of memory for prior batches of %d images", batch);
}

/* ------------------------------------------------------------ MLP passes */

/* x (rows, dims[0]) -> acts[L] (rows, dims[L]); acts[l + 1] is layer l's
 * output, ders[l] (when not NULL) f' at layer l's activated rows. */
static void mlp_forward(const siren_prior_mlp *m, const float *P, const float *x,
                        size_t rows, float *const *acts, float *const *ders, int threads) {
    const float *in = x;
    for (int l = 0; l < m->n_linear; l++) {
        const int din = m->dims[l], dout = m->dims[l + 1];
        float *z = acts[l + 1];
        const float *b = P + m->b_off[l];
        siren_gemm_abt((int)rows, dout, din, in, P + m->w_off[l], 0.0f, z);
        if (l < m->n_linear - 1 || m->act_last) {
            siren_sine_row_fn row = siren_act_row(m->act);
            float *d = ders ? ders[l] : NULL;
#pragma omp parallel for schedule(static) num_threads(threads)
            for (size_t r = 0; r < rows; r++)
                row(dout, b, m->omega, z + r * dout, d ? d + r * dout : NULL);
        } else {
#pragma omp parallel for schedule(static) num_threads(threads)
            for (size_t r = 0; r < rows; r++)
                for (int j = 0; j < dout; j++) z[r * dout + j] += b[j];
        }
        in = z;
    }
}

/* out[j] = sum over rows of g[r][j], each thread over its own range of
 * rows, then added in thread order (deterministic for a thread count). */
static void colsum(const float *g, size_t rows, int cols, float *out, float *part,
                   int threads) {
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *pt = part + (size_t)t * cols;
        memset(pt, 0, cols * sizeof *pt);
        const size_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
        for (size_t r = r0; r < r1; r++) {
            const float *gr = g + r * cols;
#pragma omp simd
            for (int j = 0; j < cols; j++) pt[j] += gr[j];
        }
#pragma omp barrier
#pragma omp for schedule(static)
        for (int j = 0; j < cols; j++) {
            float s = 0;
            for (int u = 0; u < nt; u++) s += part[(size_t)u * cols + j];
            out[j] = s;
        }
    }
}

/* Backward after mlp_forward with ders: g (rows, dims[L]) is dLoss/d of
 * the MLP's output (changed in place when the last layer is activated);
 * the parameter gradients are written into grad (same layout as P) and,
 * with gx, dLoss/dx added to gx (rows, dims[0]). sa and sb are scratch
 * (rows, widest). */
static void mlp_backward(const siren_prior_mlp *m, const float *P, float *grad,
                         const float *x, size_t rows, float *const *acts,
                         float *const *ders, float *g, float *sa, float *sb,
                         float *gx, float *part, int threads) {
    float *cur = g;
    for (int l = m->n_linear - 1; l >= 0; l--) {
        const int din = m->dims[l], dout = m->dims[l + 1];
        if (l < m->n_linear - 1 || m->act_last) {
            const float *d = ders[l];
#pragma omp parallel for schedule(static) num_threads(threads)
            for (size_t r = 0; r < rows; r++)
                for (int j = 0; j < dout; j++) cur[r * dout + j] *= d[r * dout + j];
        }
        const float *in = l ? acts[l] : x;
        siren_gemm_atb(dout, din, (int)rows, cur, in, 0.0f, grad + m->w_off[l]);
        colsum(cur, rows, dout, grad + m->b_off[l], part, threads);
        const float *W = P + m->w_off[l];
        if (l > 0) {
            float *nxt = cur == sa ? sb : sa;
            siren_gemm_ab((int)rows, din, dout, cur, W, 0.0f, nxt);
            cur = nxt;
        } else if (gx) {
            siren_gemm_ab((int)rows, din, dout, cur, W, 1.0f, gx);
        }
    }
}

/* ------------------------------------------------------------ the passes */

/* Context encoding and the hypernetwork: images (B pointers), nc context
 * pixel indices each -> w->z (B, latent) -> w->theta. */
static void encode(const siren_prior *p, siren_prior_work *w, const float *const *images,
                   int B, const uint32_t *ctx, int nc, int keep) {
    SIREN_ASSERT(B >= 1 && B <= w->cap_b && nc >= 1 && nc <= w->cap_ctx);
    const int C = p->cfg.channels, din = 2 + C, T = w->threads, L = p->cfg.latent;
    const size_t rows = (size_t)B * nc;
    siren_gemm_set_threads(T);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < nc; k++) {
            const uint32_t px = ctx[(size_t)b * nc + k];
            float *in = w->enc_in + ((size_t)b * nc + k) * din;
            in[0] = w->grid[2 * px];
            in[1] = w->grid[2 * px + 1];
            for (int c = 0; c < C; c++) in[2 + c] = 2.0f * images[b][(size_t)px * C + c] - 1.0f;
        }
    mlp_forward(&p->enc, p->params, w->enc_in, rows, w->enc_act, keep ? w->enc_der : NULL, T);
    const float *e = w->enc_act[p->enc.n_linear];
#pragma omp parallel for schedule(static) num_threads(T)
    for (int b = 0; b < B; b++) {
        float *z = w->z + (size_t)b * L;
        for (int j = 0; j < L; j++) z[j] = 0;
        for (int k = 0; k < nc; k++) {
            const float *er = e + ((size_t)b * nc + k) * L;
            for (int j = 0; j < L; j++) z[j] += er[j];
        }
        for (int j = 0; j < L; j++) z[j] /= nc;
    }
    for (int t = 0; t < p->n_tensors; t++)
        mlp_forward(&p->hyper[t], p->params, w->z, (size_t)B, w->hact[t],
                    keep ? w->hder[t] : NULL, T);
    w->B = B;
    w->nc = nc;
}

void siren_prior_theta(const siren_prior *p, const siren_prior_work *w, int b, float *theta) {
    const size_t B = w->cap_b;
    for (int t = 0; t < p->n_tensors; t++)
        memcpy(theta + p->t_off[t], w->theta + B * p->t_off[t] + (size_t)b * p->t_len[t],
               p->t_len[t] * sizeof(float));
}

double siren_prior_batch(const siren_prior *p, siren_prior_work *w,
                         const float *const *images, int B, const uint32_t *ctx, int nc,
                         float kl, float fw, float *grad, double parts[3]) {
    encode(p, w, images, B, ctx, nc, grad != NULL);
    const int C = p->cfg.channels, N = w->n_pix, L = p->cfg.latent, T = w->threads;
    const size_t P = p->n_siren, cap = w->cap_b;
    const double inv_img = 1.0 / ((double)B * N * C), inv_th = 1.0 / ((double)B * P);
    /* One generated SIREN per image, images shared out among the threads,
     * each with its own network and buffers (src/net on one thread). */
#pragma omp parallel num_threads(T)
    {
        const int tid = omp_get_thread_num();
        siren_net *net = w->nets[tid];
        siren_work *sw = w->sworks[tid];
        float *gy = w->gy[tid], *gth = w->gth[tid];
#pragma omp for schedule(static, 1)
        for (int b = 0; b < B; b++) {
            siren_prior_theta(p, w, b, net->params);
            siren_net_forward(net, sw, w->grid, (size_t)N, grad != NULL);
            const float *y = sw->act[net->n_linear], *img = images[b];
            double sse = 0, ss = 0;
            for (size_t i = 0; i < (size_t)N * C; i++) {
                const float d = y[i] - (2.0f * img[i] - 1.0f);
                sse += (double)d * d;
                gy[i] = (float)(2.0 * d * inv_img);
            }
            for (size_t i = 0; i < P; i++) ss += (double)net->params[i] * net->params[i];
            w->img_sse[b] = sse;
            w->th_ss[b] = ss;
            if (grad) {
                siren_net_backward(net, sw, (size_t)N, gy, gth);
                const float k = (float)(2.0 * fw * inv_th);
                for (size_t i = 0; i < P; i++) gth[i] += k * net->params[i];
                for (int t = 0; t < p->n_tensors; t++)
                    memcpy(w->gtheta + cap * p->t_off[t] + (size_t)b * p->t_len[t],
                           gth + p->t_off[t], p->t_len[t] * sizeof(float));
            }
        }
    }
    double sse = 0, ss = 0, zz = 0;
    for (int b = 0; b < B; b++) {
        sse += w->img_sse[b];
        ss += w->th_ss[b];
    }
    for (size_t i = 0; i < (size_t)B * L; i++) zz += (double)w->z[i] * w->z[i];
    const double mse = sse * inv_img, zl = kl * zz / ((double)B * L), wl = fw * ss * inv_th;
    if (parts) {
        parts[0] = mse;
        parts[1] = zl;
        parts[2] = wl;
    }
    if (!grad) return mse + zl + wl;
    /* Back through each tensor's hypernetwork into dLoss/dz, add the
     * latent term, then spread dz / nc over each image's context rows and
     * back through the set encoder. */
    siren_gemm_set_threads(T);
    memset(w->gz, 0, (size_t)B * L * sizeof(float));
    for (int t = 0; t < p->n_tensors; t++)
        mlp_backward(&p->hyper[t], p->params, grad, w->z, (size_t)B, w->hact[t], w->hder[t],
                     w->gtheta + cap * p->t_off[t], w->s0, w->s1, w->gz, w->part, T);
    const float kz = (float)(2.0 * kl / ((double)B * L));
    for (size_t i = 0; i < (size_t)B * L; i++) w->gz[i] += kz * w->z[i];
    float *ge = w->s0;
#pragma omp parallel for schedule(static) num_threads(T)
    for (int b = 0; b < B; b++)
        for (int k = 0; k < nc; k++)
            for (int j = 0; j < L; j++)
                ge[((size_t)b * nc + k) * L + j] = w->gz[(size_t)b * L + j] / nc;
    mlp_backward(&p->enc, p->params, grad, w->enc_in, (size_t)B * nc, w->enc_act,
                 w->enc_der, ge, w->s0, w->s1, NULL, w->part, T);
    return mse + zl + wl;
}

/* ------------------------------------------------------------- inference */

siren_status siren_prior_context(int width, int height, size_t n, uint64_t seed,
                                 uint8_t *mask) {
    if (width < 1 || height < 1 || (size_t)width * height > SIREN_MAX_IMAGE_PIXELS)
        return siren_fail(SIREN_EINVAL, "context: bad grid %dx%d", width, height);
    const size_t N = (size_t)width * height;
    if (n > N)
        return siren_fail(SIREN_EINVAL, "context: %zu pixels of a %dx%d image (%zu)", n,
                          width, height, N);
    uint32_t *idx = malloc(N * sizeof *idx);
    if (!idx) return siren_fail(SIREN_ENOMEM, "out of memory");
    for (size_t i = 0; i < N; i++) idx[i] = (uint32_t)i;
    siren_rng r;
    siren_rng_seed(&r, seed);
    memset(mask, 0, N);
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)siren_rng_below(&r, N - i);
        uint32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        mask[idx[i]] = 1;
    }
    free(idx);
    return SIREN_OK;
}

static siren_status check_image(const siren_prior *p, const siren_image *img) {
    const int S = p->cfg.size;
    if (img->width != S || img->height != S || img->channels != p->cfg.channels)
        return siren_fail(SIREN_EINVAL,
                          "the image is %dx%d with %d channel%s; the prior takes %dx%d "
                          "with %d", img->width, img->height, img->channels,
                          img->channels == 1 ? "" : "s", S, S, p->cfg.channels);
    return SIREN_OK;
}

static siren_status set_image_meta(siren_net *net, int S, size_t nc) {
    char buf[32];
    siren_status st;
    snprintf(buf, sizeof buf, "%d", S);
    if ((st = siren_net_set_meta(net, "task", "image")) ||
        (st = siren_net_set_meta(net, "image_width", buf)) ||
        (st = siren_net_set_meta(net, "image_height", buf)) ||
        (st = siren_net_set_meta(net, "value_scale", "2")) ||
        (st = siren_net_set_meta(net, "value_offset", "-1")) ||
        (st = siren_net_set_meta(net, "coords", "linspace(-1,1) (row, col)")) ||
        (st = siren_net_set_meta(net, "generated_by", "siren-prior")))
        return st;
    snprintf(buf, sizeof buf, "%zu", nc);
    return siren_net_set_meta(net, "context_pixels", buf);
}

siren_status siren_prior_generate(const siren_prior *p, const siren_image *img,
                                  const uint8_t *mask, siren_net **out) {
    *out = NULL;
    siren_status st = check_image(p, img);
    if (st) return st;
    const int N = p->cfg.size * p->cfg.size;
    size_t nc = 0;
    for (int i = 0; i < N; i++) nc += mask[i] != 0;
    if (nc == 0) return siren_fail(SIREN_EINVAL, "the context is empty: no pixel is kept");
    uint32_t *ctx = malloc(nc * sizeof *ctx);
    if (!ctx) return siren_fail(SIREN_ENOMEM, "out of memory");
    for (int i = 0, k = 0; i < N; i++)
        if (mask[i]) ctx[k++] = (uint32_t)i;
    siren_prior_work *w = NULL;
    siren_net *net = NULL;
    if ((st = siren_prior_work_create(p, 1, (int)nc, 1, &w)) ||
        (st = siren_net_alloc(&p->siren, &net)))
        goto done;
    const float *im = img->data;
    encode(p, w, &im, 1, ctx, (int)nc, 0);
    siren_prior_theta(p, w, 0, net->params);
    if ((st = set_image_meta(net, p->cfg.size, nc))) goto done;
    *out = net;
    net = NULL;
done:
    siren_net_free(net);
    siren_prior_work_free(w);
    free(ctx);
    return st;
}

siren_status siren_prior_complete(const siren_prior *p, const siren_image *img,
                                  const uint8_t *mask, int width, int height, int threads,
                                  siren_image *out) {
    out->data = NULL;
    siren_net *net;
    siren_status st = siren_prior_generate(p, img, mask, &net);
    if (st) return st;
    if (width <= 0) width = p->cfg.size;
    if (height <= 0) height = p->cfg.size;
    st = siren_render_image(net, width, height, threads, out);
    siren_net_free(net);
    return st;
}

/* A seed for stream `tag`, item `i` of a run seeded with `seed`. */
uint64_t siren_prior_seed(uint64_t seed, uint64_t tag, uint64_t i) {
    siren_rng r;
    siren_rng_seed(&r, seed ^ (tag * 0x9e3779b97f4a7c15ull));
    uint64_t a = siren_rng_u64(&r);
    siren_rng_seed(&r, a ^ (i * 0xd1b54a32d192ed03ull + 0x632be59bd9b4e019ull));
    return siren_rng_u64(&r);
}

uint64_t siren_prior_context_seed(uint64_t seed, int context, size_t image) {
    return siren_prior_seed(seed, (uint64_t)context, image);
}

/* n distinct pixel indices of N drawn from r into out (idx: N scratch),
 * the same pixels siren_prior_context marks for r's seed. */
void siren_prior_draw(siren_rng *r, int N, int n, uint32_t *idx, uint32_t *out) {
    for (int i = 0; i < N; i++) idx[i] = (uint32_t)i;
    for (int i = 0; i < n; i++) {
        int j = i + (int)siren_rng_below(r, (uint64_t)(N - i));
        uint32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        out[i] = idx[i];
    }
}

siren_status siren_prior_eval(const siren_prior *p, const siren_image_set *set,
                              const int *context, int n, size_t count, uint64_t seed,
                              int threads, double *psnr_db) {
    const int S = p->cfg.size, C = p->cfg.channels, N = S * S;
    if (set->width != S || set->height != S || set->channels != C)
        return siren_fail(SIREN_EINVAL,
                          "the images are %dx%d with %d channel%s; the prior takes %dx%d "
                          "with %d", set->width, set->height, set->channels,
                          set->channels == 1 ? "" : "s", S, S, C);
    if (count == 0 || count > set->count) count = set->count;
    if (count == 0) return siren_fail(SIREN_EINVAL, "no images to evaluate on");
    int cmax = 0;
    for (int i = 0; i < n; i++) {
        if (context[i] < 1 || context[i] > N)
            return siren_fail(SIREN_EINVAL, "context %d is not in [1, %d] (%dx%d pixels)",
                              context[i], N, S, S);
        if (context[i] > cmax) cmax = context[i];
    }
    const int Bmax = count < 64 ? (int)count : 64;
    siren_prior_work *w;
    siren_status st = siren_prior_work_create(p, Bmax, cmax, threads, &w);
    if (st) return st;
    uint32_t *ctx = malloc((size_t)Bmax * cmax * sizeof *ctx);
    uint32_t *idx = malloc((size_t)N * sizeof *idx);
    double *img_psnr = malloc((size_t)Bmax * sizeof *img_psnr);
    if (!ctx || !idx || !img_psnr) {
        st = siren_fail(SIREN_ENOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < n; k++) {
        const int nc = context[k];
        double sum = 0;
        for (size_t i0 = 0; i0 < count; i0 += Bmax) {
            const int B = count - i0 < (size_t)Bmax ? (int)(count - i0) : Bmax;
            const float *ims[64];
            for (int b = 0; b < B; b++) {
                siren_rng r;
                siren_rng_seed(&r, siren_prior_context_seed(seed, nc, i0 + b));
                siren_prior_draw(&r, N, nc, idx, ctx + (size_t)b * nc);
                ims[b] = set->data + (i0 + b) * (size_t)N * C;
            }
            encode(p, w, ims, B, ctx, nc, 0);
#pragma omp parallel num_threads(w->threads)
            {
                const int tid = omp_get_thread_num();
                siren_net *net = w->nets[tid];
                siren_work *sw = w->sworks[tid];
#pragma omp for schedule(static, 1)
                for (int b = 0; b < B; b++) {
                    siren_prior_theta(p, w, b, net->params);
                    siren_net_forward(net, sw, w->grid, (size_t)N, 0);
                    const float *y = sw->act[net->n_linear];
                    double sse = 0;
                    for (size_t i = 0; i < (size_t)N * C; i++) {
                        float v = 0.5f * (y[i] + 1.0f);
                        v = v < 0 ? 0 : v > 1 ? 1 : v;
                        const double d = v - ims[b][i];
                        sse += d * d;
                    }
                    img_psnr[b] = 10 * log10((double)N * C / sse);
                }
            }
            for (int b = 0; b < B; b++) sum += img_psnr[b];
        }
        psnr_db[k] = sum / count;
    }
done:
    free(ctx);
    free(idx);
    free(img_psnr);
    siren_prior_work_free(w);
    return st;
}

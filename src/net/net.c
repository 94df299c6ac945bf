/* Network construction, the official SIREN initialisation, metadata, and
 * the forward/backward passes of the value channel. GEMMs and the sine
 * element-wise work come from src/kernels; this file only splits rows
 * between OpenMP threads and keeps the buffers. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
    c.encoding = SIREN_ENC_NONE;
    c.encoding_features = 0;
    c.ff_scale = 10.0f;
    c.init_first = c.init_hidden = SIREN_INIT_SIREN;
    c.init_std = 1.0f;
    c.tuner_period = 0;
    c.tuner_bandlimit = 0;
    c.freeze_first = 0;
    return c;
}

const char *siren_init_name(siren_init init) {
    switch (init) {
    case SIREN_INIT_SIREN: return "siren";
    case SIREN_INIT_XAVIER_UNIFORM: return "xavier-uniform";
    case SIREN_INIT_XAVIER_NORMAL: return "xavier-normal";
    case SIREN_INIT_KAIMING_UNIFORM: return "kaiming-uniform";
    case SIREN_INIT_KAIMING_NORMAL: return "kaiming-normal";
    case SIREN_INIT_NORMAL: return "normal";
    case SIREN_INIT_TUNER: return "tuner";
    }
    return NULL;
}

int siren_init_parse(const char *name) {
    for (int i = SIREN_INIT_SIREN; i <= SIREN_INIT_TUNER; i++)
        if (strcmp(name, siren_init_name((siren_init)i)) == 0) return i;
    return -1;
}

static const struct {
    const char *name;
    siren_activation act;
    siren_encoding enc;
    siren_init init;
} archs[] = {
    {"siren", SIREN_ACT_SINE, SIREN_ENC_NONE, SIREN_INIT_SIREN},
    {"relu", SIREN_ACT_RELU, SIREN_ENC_NONE, SIREN_INIT_KAIMING_NORMAL},
    {"relu-pe", SIREN_ACT_RELU, SIREN_ENC_PE, SIREN_INIT_KAIMING_NORMAL},
    {"tanh", SIREN_ACT_TANH, SIREN_ENC_NONE, SIREN_INIT_XAVIER_NORMAL},
    {"ffn", SIREN_ACT_RELU, SIREN_ENC_FFN, SIREN_INIT_KAIMING_NORMAL},
};

siren_status siren_config_arch(siren_config *c, const char *arch) {
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
        if (!strcmp(arch, archs[i].name)) {
            c->activation = archs[i].act;
            c->encoding = archs[i].enc;
            c->init_first = c->init_hidden = archs[i].init;
            return SIREN_OK;
        }
    return siren_fail(SIREN_EINVAL, "unknown architecture '%s' (siren, relu, relu-pe, "
                      "tanh, ffn)", arch);
}

const char *siren_config_arch_name(const siren_config *c, char buf[32]) {
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
        if (c->activation == archs[i].act && c->encoding == archs[i].enc)
            return archs[i].name;
    const char *a = siren_activation_name(c->activation);
    snprintf(buf, 32, "%s+%s", a ? a : "?",
             c->encoding == SIREN_ENC_PE ? "pe" : c->encoding == SIREN_ENC_FFN ? "ffn" : "none");
    return buf;
}

int siren_encoding_width(const siren_config *c) {
    switch (c->encoding) {
    case SIREN_ENC_PE:
        return 2 * c->in_features *
               (c->encoding_features > 0 ? c->encoding_features : c->in_features <= 2 ? 4 : 10);
    case SIREN_ENC_FFN: return 2 * (c->encoding_features > 0 ? c->encoding_features : 256);
    default: return 0;
    }
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
    if (!siren_activation_name(c->activation))
        return siren_fail(SIREN_EINVAL, "unknown activation %d",
                          (int)c->activation);
    if (c->encoding < SIREN_ENC_NONE || c->encoding > SIREN_ENC_FFN)
        return siren_fail(SIREN_EINVAL, "unknown encoding %d", (int)c->encoding);
    if (c->encoding_features < 0 || c->encoding_features > 4096 ||
        siren_encoding_width(c) > SIREN_MAX_FEATURES)
        return siren_fail(SIREN_EINVAL, "encoding features %d out of range",
                          c->encoding_features);
    if (c->encoding == SIREN_ENC_PE && c->encoding_features > 30)
        return siren_fail(SIREN_EINVAL, "%d positional-encoding frequencies: at most 30 "
                          "(2^30 pi is past float precision)", c->encoding_features);
    if (c->encoding == SIREN_ENC_FFN && !(c->ff_scale > 0 && isfinite(c->ff_scale)))
        return siren_fail(SIREN_EINVAL, "the Fourier-feature scale must be positive");
    if (!siren_init_name(c->init_first) || !siren_init_name(c->init_hidden))
        return siren_fail(SIREN_EINVAL, "unknown initialisation");
    if (c->init_hidden == SIREN_INIT_TUNER)
        return siren_fail(SIREN_EINVAL, "the tuner initialisation is for the first layer");
    if (c->init_first == SIREN_INIT_TUNER &&
        (c->encoding != SIREN_ENC_NONE || c->activation != SIREN_ACT_SINE))
        return siren_fail(SIREN_EINVAL, "the tuner initialisation is for sine networks "
                          "without an encoding");
    if (!(c->tuner_period >= 0 && isfinite(c->tuner_period)) || c->tuner_bandlimit < 0 ||
        c->tuner_bandlimit > 1 << 20)
        return siren_fail(SIREN_EINVAL, "bad tuner period or band limit");
    if ((c->init_first == SIREN_INIT_NORMAL || c->init_hidden == SIREN_INIT_NORMAL) &&
        !(c->init_std > 0 && isfinite(c->init_std)))
        return siren_fail(SIREN_EINVAL, "the init standard deviation must be positive");
    return SIREN_OK;
}

const char *siren_activation_name(siren_activation act) {
    switch (act) {
    case SIREN_ACT_SINE: return "sine";
    case SIREN_ACT_RELU: return "relu";
    case SIREN_ACT_TANH: return "tanh";
    }
    return NULL;
}

int siren_activation_parse(const char *name) {
    for (int a = SIREN_ACT_SINE; a <= SIREN_ACT_TANH; a++)
        if (strcmp(name, siren_activation_name((siren_activation)a)) == 0)
            return a;
    return -1;
}

siren_status siren_net_alloc(const siren_config *cfg, siren_net **out) {
    *out = NULL;
    siren_status st = siren_config_check(cfg);
    if (st) return st;
    siren_net *net = calloc(1, sizeof *net);
    if (!net) return siren_fail(SIREN_ENOMEM, "out of memory");
    net->cfg = *cfg;
    const int enc = siren_encoding_width(cfg);
    net->n_linear = cfg->hidden_layers + 2 + (enc > 0);
    net->dims[0] = cfg->in_features;
    for (int l = 1; l < net->n_linear; l++) net->dims[l] = cfg->hidden_features;
    if (enc) net->dims[1] = enc;
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

/* A standard normal draw (Box-Muller; one of the pair is dropped, so the
 * stream stays simple to reproduce). */
static double rng_normal(siren_rng *rng) {
    double u = siren_rng_uniform(rng), v = siren_rng_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2 * M_PI * v);
}

/* The fixed encoding layer (siren.h, siren_encoding): W (E, d), b (E). */
static void encoding_init(const siren_config *cfg, siren_rng *rng, int E, float *W,
                          float *b) {
    const int d = cfg->in_features, half = E / 2;
    if (cfg->encoding == SIREN_ENC_PE) {
        for (int s = 0; s < half; s++) { /* s = k d + j */
            const int k = s / d, j = s % d;
            for (int i = 0; i < d; i++)
                W[s * d + i] = W[(half + s) * d + i] = i == j ? (float)(ldexp(M_PI, k)) : 0;
        }
    } else {
        for (int s = 0; s < half; s++)
            for (int i = 0; i < d; i++)
                W[s * d + i] = W[(half + s) * d + i] =
                    (float)(2 * M_PI * cfg->ff_scale * rng_normal(rng));
    }
    /* sin(1 * (z + b)): b = pi/2 makes the cosines */
    for (int s = 0; s < E; s++) b[s] = s < half ? 0.0f : (float)(M_PI / 2);
}

/* Is integer vector k (d entries) the canonical one of the pair +-k (its
 * first nonzero entry positive)? */
static int half_plane(const int *k, int d) {
    for (int i = 0; i < d; i++)
        if (k[i]) return k[i] > 0;
    return 0;
}

/* TUNER's low box [-K, K]^d: the largest whose half fits in half of H
 * rows (and in the band B). */
static int tuner_box(int d, int B, int H) {
    int K = 0;
    for (;;) {
        double box = pow(2 * (K + 1) + 1, d);
        if (K + 1 > B || (box - 1) / 2 > H / 2) break;
        K++;
    }
    return K;
}

/* A high-set frequency for TUNER: uniform in [-B, B]^d outside the box
 * [-K, K]^d, canonical (half_plane), none of the `rows` rows of W (scaled
 * by `scale`) already (checked against them all; H is small); 0 when none
 * was found before *tries_left draws ran out. */
static int tuner_draw_high(siren_rng *rng, int d, int B, int K, double scale,
                           const float *W, int rows, long *tries_left, int *k) {
    while ((*tries_left)-- > 0) {
        int big = 0;
        for (int i = 0; i < d; i++) {
            k[i] = (int)siren_rng_below(rng, 2 * (uint64_t)B + 1) - B;
            if (abs(k[i]) > K) big = 1;
        }
        if (!big || !half_plane(k, d)) continue;
        int dup = 0;
        for (int q = 0; q < rows && !dup; q++) {
            dup = 1;
            for (int i = 0; i < d; i++)
                if (W[q * d + i] != (float)(scale * k[i])) dup = 0;
        }
        if (!dup) return 1;
    }
    return 0;
}

/* TUNER's first layer (siren.h, SIREN_INIT_TUNER): W (H, d), b (H). */
static void tuner_init(const siren_config *cfg, siren_rng *rng, int H, float *W, float *b) {
    const int d = cfg->in_features;
    const double p = cfg->tuner_period > 0 ? cfg->tuner_period : 2.0;
    const int B = cfg->tuner_bandlimit > 0 ? cfg->tuner_bandlimit : 16;
    const double scale = 2 * M_PI / p / cfg->first_omega_0;
    const int K = tuner_box(d, B, H);
    int row = 0, k[16];
    /* the low set: every canonical k in [-K, K]^d, in order */
    long total = 1;
    for (int i = 0; i < d; i++) total *= 2 * K + 1;
    for (long c = 0; c < total && row < H; c++) {
        long r = c;
        for (int i = 0; i < d; i++) {
            k[i] = (int)(r % (2 * K + 1)) - K;
            r /= 2 * K + 1;
        }
        if (!half_plane(k, d)) continue;
        for (int i = 0; i < d; i++) W[row * d + i] = (float)(scale * k[i]);
        row++;
    }
    /* the high set, no repeats, 1000 H draws at most in all */
    long tries = 1000L * H;
    while (row < H && tuner_draw_high(rng, d, B, K, scale, W, row, &tries, k)) {
        for (int i = 0; i < d; i++) W[row * d + i] = (float)(scale * k[i]);
        row++;
    }
    /* a band too narrow for H distinct frequencies: repeat them */
    for (int q = 0; row < H; q++, row++)
        for (int i = 0; i < d; i++) W[row * d + i] = W[q * d + i];
    for (int q = 0; q < H; q++)
        b[q] = (float)((2 * siren_rng_uniform(rng) - 1) * M_PI / cfg->first_omega_0);
}

int siren_net_tuner_resample(siren_net *net, int count, siren_rng *rng, float *m,
                             float *v) {
    const siren_config *cfg = &net->cfg;
    if (cfg->init_first != SIREN_INIT_TUNER || cfg->encoding != SIREN_ENC_NONE ||
        net->n_linear < 2 || count < 1)
        return 0;
    const int d = cfg->in_features, H = net->dims[1], H2 = net->dims[2];
    const double p = cfg->tuner_period > 0 ? cfg->tuner_period : 2.0;
    const int B = cfg->tuner_bandlimit > 0 ? cfg->tuner_bandlimit : 16;
    const double scale = 2 * M_PI / p / cfg->first_omega_0;
    const int K = tuner_box(d, B, H);
    float *W = net->params + net->w_off[0], *b = net->params + net->b_off[0];
    float *W1 = net->params + net->w_off[1]; /* (H2, H): unit j's column j */
    /* the high-set units (outside the box: the low set stays whole), by
     * the norm of their outgoing column, smallest first */
    int *unit = malloc((size_t)H * sizeof *unit);
    double *norm = malloc((size_t)H * sizeof *norm);
    int n = 0, changed = 0, k[16];
    if (!unit || !norm) goto done;
    for (int j = 0; j < H; j++) {
        int big = 0;
        for (int i = 0; i < d; i++) big |= fabs(round(W[j * d + i] / scale)) > K;
        if (!big) continue;
        double s = 0;
        for (int r = 0; r < H2; r++) s += (double)W1[(size_t)r * H + j] * W1[(size_t)r * H + j];
        unit[n] = j;
        norm[n++] = s;
    }
    for (int a = 1; a < n; a++) /* insertion sort: H is small, ties by index */
        for (int c = a; c > 0 && norm[c] < norm[c - 1]; c--) {
            const double t = norm[c]; norm[c] = norm[c - 1]; norm[c - 1] = t;
            const int u = unit[c]; unit[c] = unit[c - 1]; unit[c - 1] = u;
        }
    long tries = 1000L * count;
    for (int a = 0; a < n && a < count; a++) {
        const int j = unit[a];
        if (!tuner_draw_high(rng, d, B, K, scale, W, H, &tries, k)) break;
        for (int i = 0; i < d; i++) W[j * d + i] = (float)(scale * k[i]);
        b[j] = (float)((2 * siren_rng_uniform(rng) - 1) * M_PI / cfg->first_omega_0);
        for (int r = 0; r < H2; r++) W1[(size_t)r * H + j] = 0;
        /* Adam starts afresh on what changed */
        float *mv[2] = {m, v};
        for (int q = 0; q < 2; q++) {
            if (!mv[q]) continue;
            for (int i = 0; i < d; i++) mv[q][net->w_off[0] + j * d + i] = 0;
            mv[q][net->b_off[0] + j] = 0;
            for (int r = 0; r < H2; r++) mv[q][net->w_off[1] + (size_t)r * H + j] = 0;
        }
        changed++;
    }
done:
    free(unit);
    free(norm);
    return changed;
}

/* Initialisation (siren.h, siren_init). The official SIREN init (Sitzmann
 * et al., DESIGN §4): first layer W ~ U(-1/in, 1/in); every later layer, the
 * last linear one included, W ~ U(-sqrt(6/in)/omega_hidden, ...), which
 * keeps the pre-activations' distribution the same through depth. Biases
 * keep PyTorch's nn.Linear default U(-1/sqrt(in), 1/sqrt(in)). With an
 * encoding, layer 0 is the encoding and the MLP starts at layer 1. */
siren_status siren_net_create(const siren_config *cfg, uint64_t seed,
                              siren_net **out) {
    siren_status st = siren_net_alloc(cfg, out);
    if (st) return st;
    siren_net *net = *out;
    siren_rng rng;
    siren_rng_seed(&rng, seed);
    const int l0 = cfg->encoding != SIREN_ENC_NONE;
    if (l0)
        encoding_init(cfg, &rng, net->dims[1], net->params + net->w_off[0],
                      net->params + net->b_off[0]);
    for (int l = l0; l < net->n_linear; l++) {
        const int in = net->dims[l], nout = net->dims[l + 1];
        const siren_init init = l == l0 ? cfg->init_first : cfg->init_hidden;
        if (init == SIREN_INIT_TUNER) {
            tuner_init(cfg, &rng, nout, net->params + net->w_off[l],
                       net->params + net->b_off[l]);
            continue;
        }
        double wb = 0, sd = 0; /* a uniform bound, or a normal's deviation */
        switch (init) {
        case SIREN_INIT_TUNER: break;
        case SIREN_INIT_SIREN:
            wb = l == l0 ? 1.0 / in : sqrt(6.0 / in) / cfg->hidden_omega_0;
            break;
        case SIREN_INIT_XAVIER_UNIFORM: wb = sqrt(6.0 / (in + nout)); break;
        case SIREN_INIT_XAVIER_NORMAL: sd = sqrt(2.0 / (in + nout)); break;
        case SIREN_INIT_KAIMING_UNIFORM: wb = sqrt(6.0 / in); break;
        case SIREN_INIT_KAIMING_NORMAL: sd = sqrt(2.0 / in); break;
        case SIREN_INIT_NORMAL: sd = cfg->init_std; break;
        }
        double bb = 1.0 / sqrt((double)in);
        float *W = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        for (size_t i = 0; i < (size_t)nout * in; i++)
            W[i] = (float)(sd > 0 ? sd * rng_normal(&rng)
                                  : (2 * siren_rng_uniform(&rng) - 1) * wb);
        for (int i = 0; i < nout; i++)
            b[i] = (float)((2 * siren_rng_uniform(&rng) - 1) * bb);
    }
    return SIREN_OK;
}

size_t siren_net_frozen_params(const siren_net *net) {
    /* layer 0: the encoding, or the first sine layer when frozen */
    return net->cfg.encoding != SIREN_ENC_NONE || net->cfg.freeze_first ? net->w_off[1] : 0;
}

void siren_net_project_hidden(siren_net *net, float shrink, float bound) {
    /* hidden-to-hidden: after the first MLP layer, before the last */
    const int l0 = net->cfg.encoding != SIREN_ENC_NONE;
    for (int l = l0 + 1; l < net->n_linear - 1; l++) {
        float *W = net->params + net->w_off[l];
        const size_t n = (size_t)net->dims[l + 1] * net->dims[l];
        for (size_t i = 0; i < n; i++) {
            float w = W[i];
            if (shrink > 0) w = w > shrink ? w - shrink : w < -shrink ? w + shrink : 0.0f;
            if (bound > 0) w = w > bound ? bound : w < -bound ? -bound : w;
            W[i] = w;
        }
    }
}

void siren_net_shrink_units(siren_net *net, float shrink) {
    const int l0 = net->cfg.encoding != SIREN_ENC_NONE;
    for (int l = l0 + 1; l < net->n_linear; l++) {
        float *W = net->params + net->w_off[l];
        const int in = net->dims[l], out = net->dims[l + 1];
        for (int j = 0; j < in; j++) {
            double s = 0;
            for (int i = 0; i < out; i++) s += (double)W[(size_t)i * in + j] * W[(size_t)i * in + j];
            const double norm = sqrt(s);
            const float scale = norm > shrink ? (float)(1 - shrink / norm) : 0.0f;
            for (int i = 0; i < out; i++) W[(size_t)i * in + j] *= scale;
        }
    }
}

void siren_net_zero_frozen(const siren_net *net, float *grad) {
    size_t n = siren_net_frozen_params(net);
    if (n) memset(grad, 0, n * sizeof *grad);
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

#define HUGE_PAGE ((size_t)2 << 20)

static int widest(const siren_net *net) {
    int w = 0;
    for (int l = 0; l <= net->n_linear; l++)
        if (net->dims[l] > w) w = net->dims[l];
    return w;
}

float *siren_work_alloc(size_t n_floats, int threads) {
    size_t sz;
    if (!siren_mul_size(n_floats, sizeof(float), &sz)) return NULL;
    /* 2 MiB aligned and backed by transparent huge pages where the kernel
     * allows it: a 4 KiB page fault costs ~10 us on the VMs this runs on,
     * and a 3x256 image fit touches ~600 MB; huge pages also spare the
     * GEMM TLB misses. */
    sz = (sz + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    if (sz == 0) sz = HUGE_PAGE;
    char *base = aligned_alloc(HUGE_PAGE, sz);
    if (!base) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(base, sz, MADV_HUGEPAGE);
#endif
    /* Touch every page now, once, instead of page-faulting in step 1; each
     * thread the pages it will mostly use. */
    const size_t chunk = 1 << 20, nch = (sz + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (size_t c = 0; c < nch; c++)
        memset(base + c * chunk, 0, c + 1 < nch ? chunk : sz - c * chunk);
    return (float *)base;
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
    /* per-thread partial sums of sine_backward_pass, then W0ᵀ */
    w->part_stride = (((size_t)1 + net->dims[L] + net->dims[0]) * widest(net) +
                      net->dims[L] + 15) & ~(size_t)15;
    sizes[k++] = (size_t)w->threads * w->part_stride;
    sizes[k++] = (size_t)net->dims[0] * net->dims[1];
    for (int i = 0; i < k; i++) {
        if (!siren_mul_size(sizes[i], 1, &sz) ||
            !siren_add_size(total, (sizes[i] + 15) & ~(size_t)15, &total))
            goto nomem;
    }
    w->block = siren_work_alloc(total, w->threads);
    if (!w->block) goto nomem;
    float *p = w->block;
    k = 0;
    for (int l = 1; l <= L; l++) { w->act[l] = p; p += (sizes[k++] + 15) & ~(size_t)15; }
    for (int l = 0; l < L - 1; l++) { w->dact[l] = p; p += (sizes[k++] + 15) & ~(size_t)15; }
    w->g = p; p += (sizes[k++] + 15) & ~(size_t)15;
    w->gb = p; p += (sizes[k++] + 15) & ~(size_t)15;
    w->wt0 = p;
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

/* The first layer (2 or 3 inputs) and the last (1 to 3 outputs) are too
 * thin for a GEMM to pay: they are fused into the row loops of the sine
 * layers next to them, which saves a pass over an N×width matrix each. */
#define SIREN_THIN 4

static int thin_in(const siren_net *net) { return net->dims[0] <= SIREN_THIN; }
static int thin_out(const siren_net *net) {
    return net->dims[net->n_linear] <= SIREN_THIN;
}

void siren_net_forward(const siren_net *net, siren_work *w, const float *x,
                       size_t n, int keep_derivs) {
    SIREN_ASSERT(n <= w->cap && w->n_linear == net->n_linear);
    siren_gemm_set_threads(w->threads);
    const int L = net->n_linear;
    const int fuse_in = thin_in(net), fuse_out = thin_out(net);
    const float *in = x;
    w->act0 = x;
    if (fuse_in) { /* W0ᵀ (in, width): the row loop then runs along j */
        const int din = net->dims[0], dout = net->dims[1];
        const float *W = net->params + net->w_off[0];
        for (int j = 0; j < dout; j++)
            for (int k = 0; k < din; k++) w->wt0[k * dout + j] = W[j * din + k];
    }
    for (int l = 0; l < L - 1; l++) {
        const int din = net->dims[l], dout = net->dims[l + 1];
        const float *W = net->params + net->w_off[l];
        const float *b = net->params + net->b_off[l];
        const float omega = siren_layer_omega(net, l);
        const siren_sine_row_fn sine_row = siren_act_row(siren_layer_act(net, l));
        float *z = w->act[l + 1];
        float *d = keep_derivs ? w->dact[l] : NULL;
        const int first = l == 0 && fuse_in, last = l == L - 2 && fuse_out;
        const int mout = net->dims[L];
        const float *Wl = net->params + net->w_off[L - 1];
        const float *bl = net->params + net->b_off[L - 1];
        float *y = w->act[L];
        const float *wt0 = w->wt0;
        if (!first) siren_gemm_abt((int)n, dout, din, in, W, 0.0f, z);
#pragma omp parallel for schedule(static) num_threads(w->threads)
        for (size_t r = 0; r < n; r++) {
            float *restrict zr = z + r * dout;
            if (first) {
                const float *xr = x + r * din;
#pragma omp simd
                for (int j = 0; j < dout; j++) zr[j] = xr[0] * wt0[j];
                for (int k = 1; k < din; k++) {
                    const float xk = xr[k], *wk = wt0 + k * dout;
#pragma omp simd
                    for (int j = 0; j < dout; j++) zr[j] += xk * wk[j];
                }
            }
            sine_row(dout, b, omega, zr, d ? d + r * dout : NULL);
            if (last) {
                for (int o = 0; o < mout; o++) {
                    const float *wo = Wl + (size_t)o * dout;
                    float s = 0;
#pragma omp simd reduction(+ : s)
                    for (int j = 0; j < dout; j++) s += zr[j] * wo[j];
                    y[r * mout + o] = s + bl[o];
                }
            }
        }
        in = z;
    }
    if (!fuse_out) { /* the last linear layer as a GEMM, plus its bias */
        const int din = net->dims[L - 1], dout = net->dims[L];
        const float *b = net->params + net->b_off[L - 1];
        float *y = w->act[L];
        siren_gemm_abt((int)n, dout, din, in, net->params + net->w_off[L - 1],
                       0.0f, y);
#pragma omp parallel for schedule(static) num_threads(w->threads)
        for (size_t r = 0; r < n; r++)
            for (int j = 0; j < dout; j++) y[r * dout + j] += b[j];
    }
}

/* One pass over the rows for the backward of sine layer l (width `cols`):
 *   g   = gy·W_last when from_gy (the thin last layer, fused), else w->g
 *   gz  = g ⊙ f'(z), written to w->g
 *   gb_l = Σ_rows gz
 *   from_gy:  gW_last = gyᵀ·h, gb_last = Σ_rows gy   (h: this layer's output)
 *   first:    gW_0 = gzᵀ·x                           (the thin first layer)
 * Each thread sums a fixed row range into its own partials, which are then
 * added in thread order: deterministic for a fixed thread count. */
static void sine_backward_pass(const siren_net *net, siren_work *w, int l,
                               size_t n, const float *gy, int from_gy,
                               int first, float *grad) {
    const int T = w->threads, L = net->n_linear;
    const int cols = net->dims[l + 1], din = net->dims[0], mout = net->dims[L];
    const float *Wl = net->params + net->w_off[L - 1];
    const float *h = w->act[l + 1], *x = w->act0, *d = w->dact[l];
    float *g = w->g;
    const size_t P = w->part_stride;
    /* partial areas: gb [cols] | gW_last [mout][cols] | gb_last [mout] |
     * gW_0ᵀ [din][cols] */
    const size_t o_wl = cols, o_bl = o_wl + (size_t)mout * cols,
                 o_w0 = o_bl + mout, o_end = o_w0 + (size_t)din * cols;
    SIREN_ASSERT(o_end <= P);
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *restrict part = w->gb + (size_t)t * P;
        memset(part, 0, o_end * sizeof(float));
        size_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
        for (size_t r = r0; r < r1; r++) {
            float *restrict gr = g + r * cols;
            const float *restrict dr = d + r * cols;
            if (from_gy) {
                const float *restrict hr = h + r * cols;
                const float *gyr = gy + r * mout;
                {
                    const float q = gyr[0];
                    float *restrict pw = part + o_wl;
#pragma omp simd
                    for (int j = 0; j < cols; j++) {
                        gr[j] = q * Wl[j];
                        pw[j] += q * hr[j];
                    }
                }
                for (int o = 1; o < mout; o++) {
                    const float q = gyr[o], *wo = Wl + (size_t)o * cols;
                    float *restrict pw = part + o_wl + (size_t)o * cols;
#pragma omp simd
                    for (int j = 0; j < cols; j++) {
                        gr[j] += q * wo[j];
                        pw[j] += q * hr[j];
                    }
                }
                for (int o = 0; o < mout; o++) part[o_bl + o] += gyr[o];
            }
#pragma omp simd
            for (int j = 0; j < cols; j++) {
                gr[j] *= dr[j];
                part[j] += gr[j];
            }
            if (first) {
                for (int k = 0; k < din; k++) {
                    const float xk = x[r * din + k];
                    float *restrict pk = part + o_w0 + (size_t)k * cols;
#pragma omp simd
                    for (int j = 0; j < cols; j++) pk[j] += xk * gr[j];
                }
            }
        }
#pragma omp barrier
        /* Reduce in thread order, each output element by one thread. */
#pragma omp for schedule(static)
        for (size_t i = 0; i < o_end; i++) {
            if (!from_gy && i >= o_wl && i < o_w0) continue;
            if (!first && i >= o_w0) continue;
            float s = 0;
            for (int u = 0; u < nt; u++) s += w->gb[(size_t)u * P + i];
            if (i < o_wl) {
                grad[net->b_off[l] + i] = s;
            } else if (i < o_bl) {
                grad[net->w_off[L - 1] + (i - o_wl)] = s;
            } else if (i < o_w0) {
                grad[net->b_off[L - 1] + (i - o_bl)] = s;
            } else {
                size_t k = (i - o_w0) / cols, j = (i - o_w0) % cols;
                grad[net->w_off[0] + j * din + k] = s;
            }
        }
    }
}

void siren_net_backward(const siren_net *net, siren_work *w, size_t n,
                        const float *gy, float *grad) {
    SIREN_ASSERT(n <= w->cap);
    siren_gemm_set_threads(w->threads);
    const int L = net->n_linear;
    const int fuse_in = thin_in(net), fuse_out = thin_out(net);
    if (!fuse_out) { /* last linear layer through GEMMs */
        int l = L - 1, din = net->dims[l], dout = net->dims[l + 1];
        siren_gemm_atb(dout, din, (int)n, gy, w->act[l], 0.0f,
                       grad + net->w_off[l]);
        siren_gemm_ab((int)n, din, dout, gy, net->params + net->w_off[l],
                      0.0f, w->g);
        /* gb_last = column sums of gy: the pass with no f' and no gW. */
        const int T = w->threads;
#pragma omp parallel for schedule(static) num_threads(T)
        for (int j = 0; j < dout; j++) {
            float s = 0;
            for (size_t r = 0; r < n; r++) s += gy[r * dout + j];
            grad[net->b_off[l] + j] = s;
        }
    }
    for (int l = L - 2; l >= 0; l--) {
        int din = net->dims[l], dout = net->dims[l + 1];
        const int first = l == 0 && fuse_in;
        sine_backward_pass(net, w, l, n, gy, l == L - 2 && fuse_out, first, grad);
        float *gz = w->g;
        if (!first) {
            const float *in = l == 0 ? w->act0 : w->act[l];
            siren_gemm_atb(dout, din, (int)n, gz, in, 0.0f, grad + net->w_off[l]);
        }
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
    siren_net_zero_frozen(net, grad);
}

/* ------------------------------------------------------------- evaluation */

siren_status siren_net_eval(const siren_net *net, const float *x, size_t n,
                            float *y, int threads) {
    /* 8192 points keep the GEMMs efficient; the buffers (~75 MB at width
     * 256) are allocated per call, so no bigger than that. */
    size_t cap = n < 8192 ? n : 8192;
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

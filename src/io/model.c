/* Model files: a siren_net as safetensors with the tensor names of the
 * reference PyTorch SIREN's state_dict, so a fitted model loads with
 * load_state_dict (DESIGN §5, CLI.md "Model file"):
 *   net.{l}.linear.weight [out, in], net.{l}.linear.bias  sine layers l < L
 *   net.{L}.weight, net.{L}.bias                            last linear layer
 * with L = hidden_layers + 1. The architecture goes in __metadata__ and is
 * checked against every tensor's shape on load. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "net/net.h"
#include "util/error.h"

#define MODEL_FORMAT_VERSION "1"

/* Keys written from the configuration; a model's own metadata cannot
 * override them. */
static const char *const arch_keys[] = {
    "format", "version", "activation", "in_features", "out_features",
    "hidden_features", "hidden_layers", "first_omega_0", "hidden_omega_0",
    "arch", "encoding", "encoding_features", "ff_scale", "init_first", "init_hidden"};
#define N_ARCH_KEYS (int)(sizeof arch_keys / sizeof arch_keys[0])

static int is_arch_key(const char *k) {
    for (int i = 0; i < N_ARCH_KEYS; i++)
        if (strcmp(k, arch_keys[i]) == 0) return 1;
    return 0;
}

static void tensor_name(int n_linear, int l, int bias, char *buf, size_t n) {
    if (l < n_linear - 1)
        snprintf(buf, n, "net.%d.linear.%s", l, bias ? "bias" : "weight");
    else
        snprintf(buf, n, "net.%d.%s", l, bias ? "bias" : "weight");
}

siren_status siren_net_save(const siren_net *net, const char *path) {
    const int nt = 2 * net->n_linear;
    siren_st_tensor t[2 * SIREN_MAX_LINEAR];
    char names[2 * SIREN_MAX_LINEAR][48];
    for (int l = 0; l < net->n_linear; l++) {
        for (int bias = 0; bias < 2; bias++) {
            siren_st_tensor *x = &t[2 * l + bias];
            tensor_name(net->n_linear, l, bias, names[2 * l + bias], sizeof names[0]);
            x->name = names[2 * l + bias];
            x->dtype = SIREN_DT_F32;
            x->ndim = bias ? 1 : 2;
            x->shape[0] = net->dims[l + 1];
            x->shape[1] = net->dims[l];
            x->data = net->params + (bias ? net->b_off[l] : net->w_off[l]);
        }
    }
    char vals[N_ARCH_KEYS][32];
    const siren_config *c = &net->cfg;
    snprintf(vals[0], 32, "siren");
    snprintf(vals[1], 32, MODEL_FORMAT_VERSION);
    snprintf(vals[2], 32, "%s", siren_activation_name(c->activation));
    snprintf(vals[3], 32, "%d", c->in_features);
    snprintf(vals[4], 32, "%d", c->out_features);
    snprintf(vals[5], 32, "%d", c->hidden_features);
    snprintf(vals[6], 32, "%d", c->hidden_layers);
    snprintf(vals[7], 32, "%.9g", c->first_omega_0);
    snprintf(vals[8], 32, "%.9g", c->hidden_omega_0);
    char an[32];
    snprintf(vals[9], 32, "%s", siren_config_arch_name(c, an));
    snprintf(vals[10], 32, "%s", c->encoding == SIREN_ENC_PE ? "pe"
                                 : c->encoding == SIREN_ENC_FFN ? "ffn" : "none");
    /* the resolved count: L frequencies per input, or m Fourier features */
    const int E = siren_encoding_width(c);
    snprintf(vals[11], 32, "%d", c->encoding == SIREN_ENC_PE ? E / (2 * c->in_features) : E / 2);
    snprintf(vals[12], 32, "%.9g", c->ff_scale);
    snprintf(vals[13], 32, "%s", siren_init_name(c->init_first));
    snprintf(vals[14], 32, "%s", siren_init_name(c->init_hidden));
    int nm = 0, cap = N_ARCH_KEYS + net->n_meta + 1;
    const char **keys = malloc(cap * sizeof *keys);
    const char **values = malloc(cap * sizeof *values);
    if (!keys || !values) {
        free(keys); free(values);
        return siren_fail(SIREN_ENOMEM, "out of memory");
    }
    for (int i = 0; i < N_ARCH_KEYS; i++) {
        keys[nm] = arch_keys[i];
        values[nm++] = vals[i];
    }
    if (!siren_net_get_meta(net, "task")) {
        keys[nm] = "task";
        values[nm++] = "none";
    }
    for (int i = 0; i < net->n_meta; i++) {
        if (is_arch_key(net->meta_key[i])) continue;
        keys[nm] = net->meta_key[i];
        values[nm++] = net->meta_val[i];
    }
    siren_status st = siren_st_write(path, t, nt, keys, values, nm);
    free(keys);
    free(values);
    return st;
}

/* A whole decimal integer in [lo, hi]; anything else is a format error. */
static siren_status meta_int(const siren_st_file *f, const char *path,
                             const char *key, long lo, long hi, int *out) {
    const char *s = siren_st_meta(f, key);
    if (!s)
        return siren_fail(SIREN_EFORMAT, "%s: metadata has no \"%s\"", path, key);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return siren_fail(SIREN_EFORMAT,
                          "%s: metadata \"%s\" is \"%s\", not an integer in "
                          "[%ld, %ld]", path, key, s, lo, hi);
    *out = (int)v;
    return SIREN_OK;
}

static siren_status meta_float(const siren_st_file *f, const char *path,
                               const char *key, float *out) {
    const char *s = siren_st_meta(f, key);
    if (!s)
        return siren_fail(SIREN_EFORMAT, "%s: metadata has no \"%s\"", path, key);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || !(v > 0) || v > 1e7)
        return siren_fail(SIREN_EFORMAT,
                          "%s: metadata \"%s\" is \"%s\", not a positive number",
                          path, key, s);
    *out = (float)v;
    return SIREN_OK;
}

siren_status siren_net_load(const char *path, siren_net **out) {
    *out = NULL;
    siren_st_file *f = NULL;
    siren_net *net = NULL;
    siren_status st = siren_st_read(path, &f);
    if (st) return st;
    const char *fmt = siren_st_meta(f, "format");
    if (!fmt || strcmp(fmt, "siren") != 0) {
        st = siren_fail(SIREN_EFORMAT,
                        "%s: not a siren model (metadata \"format\" is %s%s%s)",
                        path, fmt ? "\"" : "", fmt ? fmt : "missing",
                        fmt ? "\"" : "");
        goto fail;
    }
    const char *act = siren_st_meta(f, "activation");
    int act_id = act ? siren_activation_parse(act) : -1;
    if (act_id < 0) {
        st = siren_fail(SIREN_EFORMAT,
                        "%s: activation \"%s\" is not supported (sine, relu "
                        "or tanh)", path, act ? act : "(missing)");
        goto fail;
    }
    siren_config c;
    memset(&c, 0, sizeof c);
    c.activation = (siren_activation)act_id;
    if ((st = meta_int(f, path, "in_features", 1, 16, &c.in_features)) ||
        (st = meta_int(f, path, "out_features", 1, 1024, &c.out_features)) ||
        (st = meta_int(f, path, "hidden_features", 1, SIREN_MAX_FEATURES,
                       &c.hidden_features)) ||
        (st = meta_int(f, path, "hidden_layers", 0, SIREN_MAX_HIDDEN_LAYERS,
                       &c.hidden_layers)) ||
        (st = meta_float(f, path, "first_omega_0", &c.first_omega_0)) ||
        (st = meta_float(f, path, "hidden_omega_0", &c.hidden_omega_0)))
        goto fail;
    /* Baselines' encodings (files before them have none); the
     * initialisations are a record only. */
    const char *enc = siren_st_meta(f, "encoding");
    c.ff_scale = 10.0f;
    c.init_std = 1.0f;
    if (enc && strcmp(enc, "none")) {
        if (!strcmp(enc, "pe")) c.encoding = SIREN_ENC_PE;
        else if (!strcmp(enc, "ffn")) c.encoding = SIREN_ENC_FFN;
        else {
            st = siren_fail(SIREN_EFORMAT, "%s: encoding \"%s\" is not supported (none, "
                            "pe or ffn)", path, enc);
            goto fail;
        }
        if ((st = meta_int(f, path, "encoding_features", 1, 4096, &c.encoding_features)))
            goto fail;
        if (siren_st_meta(f, "ff_scale") &&
            (st = meta_float(f, path, "ff_scale", &c.ff_scale)))
            goto fail;
    }
    const char *ini;
    if ((ini = siren_st_meta(f, "init_first")) && siren_init_parse(ini) >= 0)
        c.init_first = (siren_init)siren_init_parse(ini);
    if ((ini = siren_st_meta(f, "init_hidden")) && siren_init_parse(ini) >= 0)
        c.init_hidden = (siren_init)siren_init_parse(ini);
    if ((st = siren_config_check(&c))) {
        char why[512];
        snprintf(why, sizeof why, "%s", siren_last_error());
        st = siren_fail(SIREN_EFORMAT, "%s: %s", path, why);
        goto fail;
    }
    /* Every tensor is checked against the metadata before the network is
     * allocated, so its size is bounded by the file's own data: metadata
     * alone (hidden 8192, 64 layers) would otherwise have a 1 KB file
     * allocate 17 GB (tests/data/fuzz/safetensors/). */
    const int enc_width = siren_encoding_width(&c);
    int n_linear = c.hidden_layers + 2 + (enc_width > 0);
    int64_t dims[SIREN_MAX_LINEAR + 1];
    dims[0] = c.in_features;
    for (int l = 1; l < n_linear; l++) dims[l] = c.hidden_features;
    if (enc_width) dims[1] = enc_width;
    dims[n_linear] = c.out_features;
    if (siren_st_count(f) != 2 * n_linear) {
        st = siren_fail(SIREN_EFORMAT,
                        "%s: has %d tensors; its metadata (%d hidden layers) "
                        "needs %d", path, siren_st_count(f), c.hidden_layers,
                        2 * n_linear);
        goto fail;
    }
    for (int l = 0; l < n_linear; l++) {
        for (int bias = 0; bias < 2; bias++) {
            char name[48];
            tensor_name(n_linear, l, bias, name, sizeof name);
            const siren_st_tensor *t = siren_st_find(f, name);
            if (!t) {
                st = siren_fail(SIREN_EFORMAT, "%s: tensor %s is missing", path, name);
                goto fail;
            }
            int64_t want0 = dims[l + 1], want1 = dims[l];
            int ok = t->ndim == (bias ? 1 : 2) && t->shape[0] == want0 &&
                     (bias || t->shape[1] == want1);
            if (!ok) {
                char got[96] = "[", *p = got + 1;
                for (int k = 0; k < t->ndim && p < got + 80; k++)
                    p += snprintf(p, got + sizeof got - p, "%s%lld", k ? "," : "",
                                  (long long)t->shape[k]);
                snprintf(p, got + sizeof got - p, "]");
                if (bias)
                    st = siren_fail(SIREN_EFORMAT,
                                    "%s: tensor %s has shape %s; the metadata "
                                    "says [%lld]", path, name, got, (long long)want0);
                else
                    st = siren_fail(SIREN_EFORMAT,
                                    "%s: tensor %s has shape %s; the metadata "
                                    "says [%lld,%lld]", path, name, got,
                                    (long long)want0, (long long)want1);
                goto fail;
            }
        }
    }
    if ((st = siren_net_alloc(&c, &net))) {
        /* copied first: siren_fail writes the buffer siren_last_error reads */
        char why[512];
        snprintf(why, sizeof why, "%s", siren_last_error());
        st = siren_fail(st, "%s: %s", path, why);
        goto fail;
    }
    for (int l = 0; l < net->n_linear; l++) {
        for (int bias = 0; bias < 2; bias++) {
            char name[48];
            tensor_name(net->n_linear, l, bias, name, sizeof name);
            const siren_st_tensor *t = siren_st_find(f, name);
            size_t cnt = bias ? (size_t)dims[l + 1]
                              : (size_t)dims[l + 1] * (size_t)dims[l];
            float *dst = net->params + (bias ? net->b_off[l] : net->w_off[l]);
            if (t->dtype == SIREN_DT_F32) {
                memcpy(dst, t->data, cnt * sizeof(float));
            } else {
                const double *src = t->data;
                for (size_t i = 0; i < cnt; i++) dst[i] = (float)src[i];
            }
            for (size_t i = 0; i < cnt; i++) {
                if (!isfinite(dst[i])) {
                    st = siren_fail(SIREN_EFORMAT,
                                    "%s: tensor %s holds a NaN or infinity", path, name);
                    goto fail;
                }
            }
        }
    }
    for (int i = 0; i < siren_st_meta_count(f); i++) {
        const char *k, *v;
        siren_st_meta_at(f, i, &k, &v);
        if (is_arch_key(k)) continue;
        if ((st = siren_net_set_meta(net, k, v))) goto fail;
    }
    siren_st_free(f);
    *out = net;
    return SIREN_OK;
fail:
    siren_st_free(f);
    siren_net_free(net);
    return st;
}

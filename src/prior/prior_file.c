/* Prior files: a siren_prior as safetensors with the tensor names of the
 * official NeuralProcessImplicit2DHypernet's state_dict (set_encoder.*,
 * hyper_net.nets.{t}.*), its configuration in __metadata__ ("format":
 * "siren-prior"), checked against every tensor on load before anything is
 * allocated. Training checkpoints are the same file plus Adam's moments. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "prior/prior.h"
#include "util/error.h"

#define PRIOR_FORMAT "siren-prior"
#define PRIOR_VERSION "1"

static const char *const cfg_keys[] = {
    "format", "version", "size", "channels", "hidden_features", "hidden_layers",
    "omega_0", "latent", "encoder_hidden", "encoder_layers", "encoder_activation",
    "hyper_hidden", "hyper_layers", "checkpoint_step", "adam_t", "train_fingerprint"};
#define N_CFG_KEYS 13 /* written always; the last three by checkpoints only */
#define N_ALL_KEYS (int)(sizeof cfg_keys / sizeof *cfg_keys)

static int reserved(const char *k) {
    for (int i = 0; i < N_ALL_KEYS; i++)
        if (!strcmp(k, cfg_keys[i])) return 1;
    return 0;
}

/* The official names: SetEncoder's list is [Linear, nl, Seq(Linear, nl) x
 * k, Linear, nl]; FCBlock's is [Seq(Linear, nl), ..., Seq(Linear)]. */
static void enc_name(const siren_prior *p, int l, int bias, char *buf, size_t n) {
    const char *wb = bias ? "bias" : "weight";
    const int k = p->cfg.encoder_layers;
    if (l == 0) snprintf(buf, n, "set_encoder.net.0.%s", wb);
    else if (l <= k) snprintf(buf, n, "set_encoder.net.%d.0.%s", l + 1, wb);
    else snprintf(buf, n, "set_encoder.net.%d.%s", k + 2, wb);
}

static void hyper_name(int t, int l, int bias, char *buf, size_t n) {
    snprintf(buf, n, "hyper_net.nets.%d.net.%d.0.%s", t, l, bias ? "bias" : "weight");
}

/* Every (mlp, layer) of the prior in file order: the encoder, then each
 * tensor's hypernetwork. */
typedef struct {
    const siren_prior_mlp *m;
    int t, l; /* t = -1: the encoder */
} layer_ref;

static int layer_list(const siren_prior *p, layer_ref *out) {
    int n = 0;
    for (int l = 0; l < p->enc.n_linear; l++) out[n++] = (layer_ref){&p->enc, -1, l};
    for (int t = 0; t < p->n_tensors; t++)
        for (int l = 0; l < p->hyper[t].n_linear; l++)
            out[n++] = (layer_ref){&p->hyper[t], t, l};
    return n;
}

#define MAX_LAYERS (SIREN_PRIOR_MAX_LINEAR * (SIREN_PRIOR_MAX_TENSORS + 1))

static void ref_name(const siren_prior *p, const layer_ref *r, int bias, char *buf,
                     size_t n) {
    if (r->t < 0) enc_name(p, r->l, bias, buf, n);
    else hyper_name(r->t, r->l, bias, buf, n);
}

static siren_status write_file(const char *path, const siren_prior *p,
                               const siren_adam *adam, long step, const char *fp) {
    layer_ref *refs = malloc(MAX_LAYERS * sizeof *refs);
    siren_st_tensor *t = malloc((2 * MAX_LAYERS + 2) * sizeof *t);
    char(*names)[64] = malloc(2 * MAX_LAYERS * sizeof *names);
    const int nm_cap = N_ALL_KEYS + p->n_meta;
    const char **keys = malloc(nm_cap * sizeof *keys), **vals = malloc(nm_cap * sizeof *vals);
    siren_status st;
    if (!refs || !t || !names || !keys || !vals) {
        st = siren_fail(SIREN_ENOMEM, "out of memory");
        goto done;
    }
    const int nl = layer_list(p, refs);
    int nt = 0;
    for (int i = 0; i < nl; i++)
        for (int bias = 0; bias < 2; bias++) {
            const siren_prior_mlp *m = refs[i].m;
            const int l = refs[i].l;
            ref_name(p, &refs[i], bias, names[nt], sizeof names[0]);
            t[nt].name = names[nt];
            t[nt].dtype = SIREN_DT_F32;
            t[nt].ndim = bias ? 1 : 2;
            t[nt].shape[0] = m->dims[l + 1];
            t[nt].shape[1] = m->dims[l];
            t[nt].data = p->params + (bias ? m->b_off[l] : m->w_off[l]);
            nt++;
        }
    if (adam) {
        const float *mv[2] = {adam->m, adam->v};
        const char *mn[2] = {"adam.m", "adam.v"};
        for (int k = 0; k < 2; k++) {
            t[nt].name = mn[k];
            t[nt].dtype = SIREN_DT_F32;
            t[nt].ndim = 1;
            t[nt].shape[0] = (int64_t)p->n_params;
            t[nt].data = mv[k];
            nt++;
        }
    }
    const siren_prior_config *c = &p->cfg;
    char v[N_ALL_KEYS][48];
    snprintf(v[0], 48, PRIOR_FORMAT);
    snprintf(v[1], 48, PRIOR_VERSION);
    snprintf(v[2], 48, "%d", c->size);
    snprintf(v[3], 48, "%d", c->channels);
    snprintf(v[4], 48, "%d", c->hidden_features);
    snprintf(v[5], 48, "%d", c->hidden_layers);
    snprintf(v[6], 48, "%.9g", c->omega_0);
    snprintf(v[7], 48, "%d", c->latent);
    snprintf(v[8], 48, "%d", c->encoder_hidden);
    snprintf(v[9], 48, "%d", c->encoder_layers);
    snprintf(v[10], 48, "%s", siren_activation_name(c->encoder_activation));
    snprintf(v[11], 48, "%d", c->hyper_hidden);
    snprintf(v[12], 48, "%d", c->hyper_layers);
    snprintf(v[13], 48, "%ld", step);
    snprintf(v[14], 48, "%ld", adam ? adam->t : 0L);
    int nm = 0;
    for (int i = 0; i < N_CFG_KEYS; i++) {
        keys[nm] = cfg_keys[i];
        vals[nm++] = v[i];
    }
    if (adam) {
        keys[nm] = cfg_keys[13];
        vals[nm++] = v[13];
        keys[nm] = cfg_keys[14];
        vals[nm++] = v[14];
        keys[nm] = cfg_keys[15];
        vals[nm++] = fp;
    }
    for (int i = 0; i < p->n_meta; i++) {
        if (reserved(p->meta_key[i])) continue;
        keys[nm] = p->meta_key[i];
        vals[nm++] = p->meta_val[i];
    }
    st = siren_st_write(path, t, nt, keys, vals, nm);
done:
    free(refs);
    free(t);
    free(names);
    free(keys);
    free(vals);
    return st;
}

siren_status siren_prior_save(const siren_prior *p, const char *path) {
    return write_file(path, p, NULL, 0, NULL);
}

static siren_status meta_int(const siren_st_file *f, const char *path, const char *key,
                             long lo, long hi, long *out) {
    const char *s = siren_st_meta(f, key);
    if (!s) return siren_fail(SIREN_EFORMAT, "%s: metadata has no \"%s\"", path, key);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return siren_fail(SIREN_EFORMAT,
                          "%s: metadata \"%s\" is \"%s\", not an integer in [%ld, %ld]",
                          path, key, s, lo, hi);
    *out = v;
    return SIREN_OK;
}

static siren_status meta_cfg_int(const siren_st_file *f, const char *path, const char *key,
                                 long lo, long hi, int *out) {
    long v = 0;
    siren_status st = meta_int(f, path, key, lo, hi, &v);
    *out = (int)v;
    return st;
}

/* Reads and checks a prior file; with want_adam, also its Adam moments
 * (a checkpoint). On success *out holds the prior and *file the read
 * file (for the caller's extra tensors and metadata). */
static siren_status read_file(const char *path, int want_adam, siren_prior **out,
                              siren_st_file **file) {
    *out = NULL;
    *file = NULL;
    siren_st_file *f = NULL;
    siren_prior *p = NULL;
    layer_ref *refs = NULL;
    siren_status st = siren_st_read(path, &f);
    if (st) return st;
    const char *fmt = siren_st_meta(f, "format");
    if (!fmt || strcmp(fmt, PRIOR_FORMAT)) {
        st = siren_fail(SIREN_EFORMAT, "%s: not a siren prior (metadata \"format\" is %s%s%s)",
                        path, fmt ? "\"" : "", fmt ? fmt : "missing", fmt ? "\"" : "");
        goto fail;
    }
    const char *ver = siren_st_meta(f, "version");
    if (!ver || strcmp(ver, PRIOR_VERSION)) {
        st = siren_fail(SIREN_EFORMAT, "%s: prior format version %s is not supported (%s)",
                        path, ver ? ver : "(missing)", PRIOR_VERSION);
        goto fail;
    }
    siren_prior_config c;
    memset(&c, 0, sizeof c);
    if ((st = meta_cfg_int(f, path, "size", 2, SIREN_PRIOR_MAX_SIZE, &c.size)) ||
        (st = meta_cfg_int(f, path, "channels", 1, 3, &c.channels)) ||
        (st = meta_cfg_int(f, path, "hidden_features", 1, SIREN_PRIOR_MAX_WIDTH,
                           &c.hidden_features)) ||
        (st = meta_cfg_int(f, path, "hidden_layers", 0, SIREN_PRIOR_MAX_LAYERS,
                           &c.hidden_layers)) ||
        (st = meta_cfg_int(f, path, "latent", 1, SIREN_PRIOR_MAX_WIDTH, &c.latent)) ||
        (st = meta_cfg_int(f, path, "encoder_hidden", 1, SIREN_PRIOR_MAX_WIDTH,
                           &c.encoder_hidden)) ||
        (st = meta_cfg_int(f, path, "encoder_layers", 0, SIREN_PRIOR_MAX_LAYERS,
                           &c.encoder_layers)) ||
        (st = meta_cfg_int(f, path, "hyper_hidden", 1, SIREN_PRIOR_MAX_WIDTH,
                           &c.hyper_hidden)) ||
        (st = meta_cfg_int(f, path, "hyper_layers", 0, SIREN_PRIOR_MAX_LAYERS,
                           &c.hyper_layers)))
        goto fail;
    const char *om = siren_st_meta(f, "omega_0"), *ea = siren_st_meta(f, "encoder_activation");
    char *end = NULL;
    double omega = om ? strtod(om, &end) : NAN;
    if (!om || end == om || *end || !(omega > 0 && omega <= 1e4)) {
        st = siren_fail(SIREN_EFORMAT, "%s: metadata \"omega_0\" is %s, not a number in (0, 1e4]",
                        path, om ? om : "missing");
        goto fail;
    }
    c.omega_0 = (float)omega;
    int act = ea ? siren_activation_parse(ea) : -1;
    if (act != SIREN_ACT_RELU && act != SIREN_ACT_SINE) {
        st = siren_fail(SIREN_EFORMAT, "%s: metadata \"encoder_activation\" is %s, not relu or sine",
                        path, ea ? ea : "missing");
        goto fail;
    }
    c.encoder_activation = (siren_activation)act;
    p = calloc(1, sizeof *p);
    refs = malloc(MAX_LAYERS * sizeof *refs);
    if (!p || !refs) {
        st = siren_fail(SIREN_ENOMEM, "out of memory");
        goto fail;
    }
    if ((st = siren_prior_layout(&c, p))) {
        char why[512];
        snprintf(why, sizeof why, "%s", siren_last_error());
        st = siren_fail(SIREN_EFORMAT, "%s: %s", path, why);
        goto fail;
    }
    /* Every tensor is checked against the metadata before the parameters
     * are allocated, so a small file cannot ask for a huge block. */
    const int nl = layer_list(p, refs), want = 2 * nl + (want_adam ? 2 : 0);
    if (siren_st_count(f) != want) {
        st = siren_fail(SIREN_EFORMAT, "%s: has %d tensors; its metadata needs %d%s", path,
                        siren_st_count(f), want, want_adam ? " (a checkpoint)" : "");
        goto fail;
    }
    for (int i = 0; i < nl; i++)
        for (int bias = 0; bias < 2; bias++) {
            char name[64];
            ref_name(p, &refs[i], bias, name, sizeof name);
            const siren_st_tensor *t = siren_st_find(f, name);
            const siren_prior_mlp *m = refs[i].m;
            const int64_t o = m->dims[refs[i].l + 1], in = m->dims[refs[i].l];
            if (!t) {
                st = siren_fail(SIREN_EFORMAT, "%s: tensor %s is missing", path, name);
                goto fail;
            }
            if (t->ndim != (bias ? 1 : 2) || t->shape[0] != o || (!bias && t->shape[1] != in)) {
                if (bias)
                    st = siren_fail(SIREN_EFORMAT, "%s: tensor %s is not of shape [%lld] as the "
                                    "metadata says", path, name, (long long)o);
                else
                    st = siren_fail(SIREN_EFORMAT, "%s: tensor %s is not of shape [%lld,%lld] as "
                                    "the metadata says", path, name, (long long)o, (long long)in);
                goto fail;
            }
        }
    if (want_adam)
        for (int k = 0; k < 2; k++) {
            const char *name = k ? "adam.v" : "adam.m";
            const siren_st_tensor *t = siren_st_find(f, name);
            if (!t || t->ndim != 1 || t->shape[0] != (int64_t)p->n_params) {
                st = siren_fail(SIREN_EFORMAT, "%s: tensor %s is missing or not of shape [%zu]",
                                path, name, p->n_params);
                goto fail;
            }
        }
    p->params = calloc(p->n_params, sizeof(float));
    if (!p->params) {
        st = siren_fail(SIREN_ENOMEM, "%s: out of memory for %zu parameters", path, p->n_params);
        goto fail;
    }
    for (int i = 0; i < nl; i++)
        for (int bias = 0; bias < 2; bias++) {
            char name[64];
            ref_name(p, &refs[i], bias, name, sizeof name);
            const siren_st_tensor *t = siren_st_find(f, name);
            const siren_prior_mlp *m = refs[i].m;
            const int l = refs[i].l;
            const size_t cnt = (size_t)m->dims[l + 1] * (bias ? 1 : m->dims[l]);
            float *dst = p->params + (bias ? m->b_off[l] : m->w_off[l]);
            for (size_t k = 0; k < cnt; k++) {
                dst[k] = t->dtype == SIREN_DT_F32 ? ((const float *)t->data)[k]
                                                  : (float)((const double *)t->data)[k];
                if (!isfinite(dst[k])) {
                    st = siren_fail(SIREN_EFORMAT, "%s: tensor %s holds a NaN or infinity",
                                    path, name);
                    goto fail;
                }
            }
        }
    for (int i = 0; i < siren_st_meta_count(f); i++) {
        const char *k, *v;
        siren_st_meta_at(f, i, &k, &v);
        if (!reserved(k) && (st = siren_prior_set_meta(p, k, v))) goto fail;
    }
    free(refs);
    *out = p;
    *file = f;
    return SIREN_OK;
fail:
    free(refs);
    siren_prior_free(p);
    siren_st_free(f);
    return st;
}

siren_status siren_prior_load(const char *path, siren_prior **out) {
    siren_st_file *f;
    siren_status st = read_file(path, 0, out, &f);
    siren_st_free(f);
    return st;
}

siren_status siren_prior_checkpoint_write(const char *path, const siren_prior *p,
                                          const siren_adam *adam, long step,
                                          const char *fingerprint) {
    return write_file(path, p, adam, step, fingerprint);
}

static int same_config(const siren_prior_config *a, const siren_prior_config *b) {
    return a->size == b->size && a->channels == b->channels &&
           a->hidden_features == b->hidden_features && a->hidden_layers == b->hidden_layers &&
           a->omega_0 == b->omega_0 && a->latent == b->latent &&
           a->encoder_hidden == b->encoder_hidden && a->encoder_layers == b->encoder_layers &&
           a->encoder_activation == b->encoder_activation &&
           a->hyper_hidden == b->hyper_hidden && a->hyper_layers == b->hyper_layers;
}

siren_status siren_prior_checkpoint_read(const char *path, siren_prior *p, siren_adam *adam,
                                         long *step, const char *fingerprint) {
    siren_prior *q;
    siren_st_file *f;
    siren_status st = read_file(path, 1, &q, &f);
    if (st) return st;
    long s = 0, t = 0;
    const char *fp = siren_st_meta(f, "train_fingerprint");
    if (!same_config(&q->cfg, &p->cfg)) {
        st = siren_fail(SIREN_EINVAL, "%s: the checkpoint's architecture differs from this "
                        "prior's", path);
    } else if (!fp || strcmp(fp, fingerprint)) {
        st = siren_fail(SIREN_EINVAL, "%s: the checkpoint was written by another run (%s); "
                        "this one is %s", path, fp ? fp : "no fingerprint", fingerprint);
    } else if (!(st = meta_int(f, path, "checkpoint_step", 0, 1L << 40, &s)) &&
               !(st = meta_int(f, path, "adam_t", 0, 1L << 40, &t))) {
        memcpy(p->params, q->params, p->n_params * sizeof(float));
        const siren_st_tensor *m = siren_st_find(f, "adam.m"), *v = siren_st_find(f, "adam.v");
        for (size_t i = 0; i < p->n_params; i++) {
            adam->m[i] = m->dtype == SIREN_DT_F32 ? ((const float *)m->data)[i]
                                                  : (float)((const double *)m->data)[i];
            adam->v[i] = v->dtype == SIREN_DT_F32 ? ((const float *)v->data)[i]
                                                  : (float)((const double *)v->data)[i];
            if (!isfinite(adam->m[i]) || !(adam->v[i] >= 0) || !isfinite(adam->v[i])) {
                st = siren_fail(SIREN_EFORMAT, "%s: Adam moments hold a bad value", path);
                break;
            }
        }
        adam->t = t;
        *step = s;
        for (int i = 0; !st && i < q->n_meta; i++)
            st = siren_prior_set_meta(p, q->meta_key[i], q->meta_val[i]);
    }
    siren_prior_free(q);
    siren_st_free(f);
    return st;
}

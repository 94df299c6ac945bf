/* Checkpoints: everything a training loop needs to continue exactly where
 * it stopped — parameters, Adam's moments and step count, the step, the
 * sampler's RNG state, permutation and position — in one safetensors file,
 * written atomically (temporary file, fsync, rename: io/safetensors.c), so
 * a crash at any moment leaves the previous checkpoint or the new one.
 *
 * Tensors: "params", "adam.m", "adam.v" (F32, one per parameter) and, for
 * minibatch training, "sampler.perm" (F64: indices below 2^53 are exact).
 * Metadata: "checkpoint" = "siren-train 1", the step, Adam's t, the RNG
 * state (four hex words), the sampler position, and what must match on
 * resume (architecture, points, batch, seed, threads). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "util/error.h"

#define CK_FORMAT "siren-train 1"

/* Keys whose values must agree between the checkpoint and the run that
 * resumes from it, and how to print them. */
static void identity(const siren_net *net, const siren_train_state *s,
                     char vals[][40]) {
    const siren_config *c = &net->cfg;
    snprintf(vals[0], 40, "%d %d %d %d %s", c->in_features, c->out_features,
             c->hidden_features, c->hidden_layers,
             siren_activation_name(c->activation));
    snprintf(vals[1], 40, "%.9g %.9g", c->first_omega_0, c->hidden_omega_0);
    snprintf(vals[2], 40, "%zu", s->n_points);
    snprintf(vals[3], 40, "%zu", s->batch);
    snprintf(vals[4], 40, "%" PRIu64, s->seed);
    snprintf(vals[5], 40, "%d", s->threads);
}
static const char *const id_keys[] = {"arch", "omega_0", "points", "batch",
                                      "seed", "threads"};
#define N_ID 6

siren_status siren_checkpoint_write(const char *path, const siren_net *net,
                                    const siren_adam *adam,
                                    const siren_train_state *s) {
    siren_st_tensor t[4];
    int nt = 0;
    double *perm = NULL;
    const int64_t np = (int64_t)net->n_params;
    t[nt++] = (siren_st_tensor){"params", SIREN_DT_F32, 1, {np}, net->params};
    t[nt++] = (siren_st_tensor){"adam.m", SIREN_DT_F32, 1, {np}, adam->m};
    t[nt++] = (siren_st_tensor){"adam.v", SIREN_DT_F32, 1, {np}, adam->v};
    if (s->perm) {
        perm = malloc(s->n_points * sizeof *perm);
        if (!perm) return siren_fail(SIREN_ENOMEM, "out of memory for a checkpoint");
        for (size_t i = 0; i < s->n_points; i++) perm[i] = (double)s->perm[i];
        t[nt++] = (siren_st_tensor){"sampler.perm", SIREN_DT_F64, 1,
                                    {(int64_t)s->n_points}, perm};
    }
    char vals[N_ID + 7][40], rng[80];
    identity(net, s, vals);
    snprintf(vals[N_ID], 40, "%d", s->step);
    snprintf(vals[N_ID + 1], 40, "%ld", adam->t);
    snprintf(vals[N_ID + 2], 40, "%zu", s->pos);
    snprintf(vals[N_ID + 3], 40, "%d", s->steps);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
             s->rng.s[0], s->rng.s[1], s->rng.s[2], s->rng.s[3]);
    /* the guard's state: %.9g and %.17g give the float and double back */
    snprintf(vals[N_ID + 4], 40, "%.9g", s->lr);
    snprintf(vals[N_ID + 5], 40, "%.17g", s->good_loss);
    snprintf(vals[N_ID + 6], 40, "%d", s->retries);
    const char *keys[N_ID + 9], *values[N_ID + 9];
    for (int i = 0; i < N_ID; i++) {
        keys[i] = id_keys[i];
        values[i] = vals[i];
    }
    keys[N_ID] = "step"; values[N_ID] = vals[N_ID];
    keys[N_ID + 1] = "adam_t"; values[N_ID + 1] = vals[N_ID + 1];
    keys[N_ID + 2] = "sampler_pos"; values[N_ID + 2] = vals[N_ID + 2];
    keys[N_ID + 3] = "steps_planned"; values[N_ID + 3] = vals[N_ID + 3];
    keys[N_ID + 4] = "rng"; values[N_ID + 4] = rng;
    keys[N_ID + 5] = "checkpoint"; values[N_ID + 5] = CK_FORMAT;
    keys[N_ID + 6] = "lr"; values[N_ID + 6] = vals[N_ID + 4];
    keys[N_ID + 7] = "guard_loss"; values[N_ID + 7] = vals[N_ID + 5];
    keys[N_ID + 8] = "guard_retries"; values[N_ID + 8] = vals[N_ID + 6];
    siren_status st = siren_st_write(path, t, nt, keys, values, N_ID + 9);
    free(perm);
    return st;
}

static int parse_long(const char *v, long lo, long hi, long *out) {
    if (!v || !*v) return 0;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) return 0;
    *out = x;
    return 1;
}

static const siren_st_tensor *want(const siren_st_file *f, const char *name,
                                   siren_dtype dt, size_t n) {
    const siren_st_tensor *t = siren_st_find(f, name);
    if (!t || t->dtype != dt || t->ndim != 1 || t->shape[0] != (int64_t)n) return NULL;
    return t;
}

siren_status siren_checkpoint_read(const char *path, siren_net *net,
                                   siren_adam *adam, siren_train_state *s) {
    siren_st_file *f;
    siren_status st = siren_st_read(path, &f);
    if (st) return st;
    const char *fmt = siren_st_meta(f, "checkpoint");
    if (!fmt || strcmp(fmt, CK_FORMAT) != 0) {
        st = siren_fail(SIREN_EFORMAT, "%s: not a siren training checkpoint", path);
        goto done;
    }
    /* The run resuming must be the one that wrote it. */
    char vals[N_ID][40];
    identity(net, s, vals);
    for (int i = 0; i < N_ID; i++) {
        const char *v = siren_st_meta(f, id_keys[i]);
        if (!v || strcmp(v, vals[i]) != 0) {
            st = siren_fail(SIREN_EINVAL,
                            "%s: checkpoint has %s \"%s\", this run \"%s\" (resume "
                            "with the options and input it was written with)",
                            path, id_keys[i], v ? v : "(missing)", vals[i]);
            goto done;
        }
    }
    long step, t, pos;
    const char *rng = siren_st_meta(f, "rng");
    if (!parse_long(siren_st_meta(f, "step"), 0, 1L << 30, &step) ||
        !parse_long(siren_st_meta(f, "adam_t"), 0, 1L << 40, &t) ||
        !parse_long(siren_st_meta(f, "sampler_pos"), 0, (long)s->n_points, &pos) ||
        !rng || strlen(rng) != 64) {
        st = siren_fail(SIREN_EFORMAT, "%s: checkpoint state is malformed", path);
        goto done;
    }
    uint64_t r[4];
    for (int i = 0; i < 4; i++) {
        char w[17];
        memcpy(w, rng + 16 * i, 16);
        w[16] = 0;
        char *end;
        r[i] = strtoull(w, &end, 16);
        if (*end) {
            st = siren_fail(SIREN_EFORMAT, "%s: checkpoint RNG state is malformed", path);
            goto done;
        }
    }
    const size_t np = net->n_params;
    const siren_st_tensor *tp = want(f, "params", SIREN_DT_F32, np),
                          *tm = want(f, "adam.m", SIREN_DT_F32, np),
                          *tv = want(f, "adam.v", SIREN_DT_F32, np);
    const siren_st_tensor *tq = s->perm ? want(f, "sampler.perm", SIREN_DT_F64, s->n_points)
                                        : NULL;
    if (!tp || !tm || !tv || (s->perm && !tq)) {
        st = siren_fail(SIREN_EFORMAT, "%s: checkpoint tensors do not match the "
                        "network (%zu parameters)", path, np);
        goto done;
    }
    if (tq) {
        /* a permutation of 0..n-1, or the sampler would index out of range */
        const double *q = tq->data;
        unsigned char *seen = calloc(s->n_points, 1);
        if (!seen) { st = siren_fail(SIREN_ENOMEM, "out of memory"); goto done; }
        for (size_t i = 0; i < s->n_points; i++) {
            double x = q[i];
            if (!(x >= 0 && x < (double)s->n_points) || x != floor(x) || seen[(size_t)x]) {
                free(seen);
                st = siren_fail(SIREN_EFORMAT, "%s: checkpoint sampler state is "
                                "not a permutation", path);
                goto done;
            }
            seen[(size_t)x] = 1;
            s->perm[i] = (size_t)x;
        }
        free(seen);
    }
    /* the guard's state; absent in checkpoints written before it existed */
    const char *v;
    long retries;
    if ((v = siren_st_meta(f, "lr"))) {
        char *end;
        float lr = strtof(v, &end);
        if (*end || !(lr > 0) || !isfinite(lr)) {
            st = siren_fail(SIREN_EFORMAT, "%s: checkpoint learning rate is malformed", path);
            goto done;
        }
        s->lr = lr;
    }
    if ((v = siren_st_meta(f, "guard_loss"))) {
        char *end;
        double g = strtod(v, &end);
        if (*end) {
            st = siren_fail(SIREN_EFORMAT, "%s: checkpoint guard state is malformed", path);
            goto done;
        }
        s->good_loss = g;
    }
    if ((v = siren_st_meta(f, "guard_retries"))) {
        if (!parse_long(v, 0, 1L << 30, &retries)) {
            st = siren_fail(SIREN_EFORMAT, "%s: checkpoint guard state is malformed", path);
            goto done;
        }
        s->retries = (int)retries;
    }
    memcpy(net->params, tp->data, np * sizeof(float));
    memcpy(adam->m, tm->data, np * sizeof(float));
    memcpy(adam->v, tv->data, np * sizeof(float));
    adam->t = t;
    s->step = (int)step;
    s->pos = (size_t)pos;
    memcpy(s->rng.s, r, sizeof r);
done:
    siren_st_free(f);
    return st;
}

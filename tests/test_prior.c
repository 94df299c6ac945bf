/* The hypernetwork prior (src/prior): the loss and its parameter gradient
 * against a double-precision reference written here from the formulas
 * (central finite differences of it, a few entries of every tensor of the
 * encoder and of every hypernetwork), file round trips and broken files,
 * image sets from IDX files and folders, exact resume from a checkpoint,
 * and a tiny prior trained on 100 synthetic images that reconstructs them
 * better from 200 context pixels than from 10. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/idx.h"
#include "io/safetensors.h"
#include "prior/prior.h"
#include "testhelp.h"
#include "util/rng.h"

static char dir[64];

/* ------------------------------------------------------ double reference */

static void ref_mlp(const siren_prior_mlp *m, const double *P, const double *x, double *y) {
    double h[512], z[512];
    int din = m->dims[0];
    for (int j = 0; j < din; j++) h[j] = x[j];
    for (int l = 0; l < m->n_linear; l++) {
        const int dout = m->dims[l + 1];
        for (int o = 0; o < dout; o++) {
            double s = P[m->b_off[l] + o];
            for (int i = 0; i < din; i++) s += P[m->w_off[l] + (size_t)o * din + i] * h[i];
            z[o] = s;
        }
        const int act = l < m->n_linear - 1 || m->act_last;
        for (int o = 0; o < dout; o++)
            h[o] = !act ? z[o] : m->act == SIREN_ACT_RELU ? (z[o] > 0 ? z[o] : 0)
                                                          : sin(m->omega * z[o]);
        din = dout;
    }
    for (int o = 0; o < din; o++) y[o] = h[o];
}

/* The official loss of one batch, everything in double. */
static double ref_loss(const siren_prior *p, const double *P, const float *const *ims, int B,
                       const uint32_t *ctx, int nc, double kl, double fw) {
    const int S = p->cfg.size, C = p->cfg.channels, L = p->cfg.latent, N = S * S;
    const size_t PS = p->n_siren;
    double sse = 0, zz = 0, ss = 0;
    double *theta = malloc(PS * sizeof *theta);
    for (int b = 0; b < B; b++) {
        double z[512] = {0}, e[512], in[8];
        for (int k = 0; k < nc; k++) {
            const uint32_t px = ctx[b * nc + k];
            in[0] = -1.0 + 2.0 * (px / S) / (S - 1);
            in[1] = -1.0 + 2.0 * (px % S) / (S - 1);
            for (int c = 0; c < C; c++) in[2 + c] = 2.0 * ims[b][px * C + c] - 1.0;
            ref_mlp(&p->enc, P, in, e);
            for (int j = 0; j < L; j++) z[j] += e[j] / nc;
        }
        for (int j = 0; j < L; j++) zz += z[j] * z[j];
        for (int t = 0; t < p->n_tensors; t++) ref_mlp(&p->hyper[t], P, z, theta + p->t_off[t]);
        for (size_t i = 0; i < PS; i++) ss += theta[i] * theta[i];
        /* the generated SIREN: weight then bias per layer, sine but the last */
        const int H = p->cfg.hidden_features, nl = p->cfg.hidden_layers + 2;
        for (int px = 0; px < N; px++) {
            double h[512], hz[512];
            h[0] = -1.0 + 2.0 * (px / S) / (S - 1);
            h[1] = -1.0 + 2.0 * (px % S) / (S - 1);
            int din = 2;
            for (int l = 0; l < nl; l++) {
                const int dout = l == nl - 1 ? C : H;
                const double *W = theta + p->t_off[2 * l], *bb = theta + p->t_off[2 * l + 1];
                for (int o = 0; o < dout; o++) {
                    double s = bb[o];
                    for (int i = 0; i < din; i++) s += W[o * din + i] * h[i];
                    hz[o] = l == nl - 1 ? s : sin(p->cfg.omega_0 * s);
                }
                memcpy(h, hz, dout * sizeof *h);
                din = dout;
            }
            for (int c = 0; c < C; c++) {
                const double d = h[c] - (2.0 * ims[b][px * C + c] - 1.0);
                sse += d * d;
            }
        }
    }
    free(theta);
    return sse / ((double)B * N * C) + kl * zz / ((double)B * L) + fw * ss / ((double)B * PS);
}

static siren_prior_config tiny_config(int C, siren_activation enc) {
    siren_prior_config c = siren_prior_config_default(6, C);
    c.hidden_features = 8;
    c.hidden_layers = 1;
    c.latent = 8;
    c.encoder_hidden = 10;
    c.encoder_layers = 1;
    c.encoder_activation = enc;
    c.hyper_hidden = 9;
    c.hyper_layers = 1;
    return c;
}

static float *random_images(int n, int S, int C, uint64_t seed) {
    siren_rng r;
    siren_rng_seed(&r, seed);
    float *d = malloc((size_t)n * S * S * C * sizeof *d);
    for (size_t i = 0; i < (size_t)n * S * S * C; i++) d[i] = (float)siren_rng_uniform(&r);
    return d;
}

/* One tensor (an MLP layer's weight or bias) checked at a few entries. */
static void check_grad(int C, siren_activation act, int threads) {
    siren_prior_config cfg = tiny_config(C, act);
    siren_prior *p;
    if (siren_prior_create(&cfg, 7, &p)) {
        CHECK(0, "create: %s", siren_last_error());
        return;
    }
    const int B = 3, nc = 5, S = cfg.size, N = S * S;
    const float kl = 0.1f, fw = 100.0f;
    float *data = random_images(B, S, C, 3);
    const float *ims[3];
    uint32_t ctx[15], idx[64];
    siren_rng r;
    siren_rng_seed(&r, 11);
    for (int b = 0; b < B; b++) {
        ims[b] = data + (size_t)b * N * C;
        siren_prior_draw(&r, N, nc, idx, ctx + b * nc);
    }
    siren_prior_work *w;
    if (siren_prior_work_create(p, B, nc, threads, &w)) {
        CHECK(0, "work: %s", siren_last_error());
        return;
    }
    float *grad = malloc(p->n_params * sizeof *grad);
    double parts[3];
    const double loss = siren_prior_batch(p, w, ims, B, ctx, nc, kl, fw, grad, parts);
    double *P = malloc(p->n_params * sizeof *P);
    for (size_t i = 0; i < p->n_params; i++) P[i] = p->params[i];
    const double ref = ref_loss(p, P, ims, B, ctx, nc, kl, fw);
    CHECK(fabs(loss - ref) <= 1e-5 * fabs(ref) + 1e-6,
          "prior loss (C=%d, %s encoder, %d threads) %.9g matches the double reference %.9g "
          "(parts %.4g + %.4g + %.4g)", C, siren_activation_name(act), threads, loss, ref,
          parts[0], parts[1], parts[2]);
    /* Every layer of the encoder and of every tensor's hypernetwork, its
     * weight and its bias, 3 entries each. */
    double worst = 0;
    int checked = 0, bad = 0;
    char where[128] = "";
    for (int m = -1; m < p->n_tensors; m++) {
        const siren_prior_mlp *mm = m < 0 ? &p->enc : &p->hyper[m];
        for (int l = 0; l < mm->n_linear; l++)
            for (int bias = 0; bias < 2; bias++) {
                const size_t off = bias ? mm->b_off[l] : mm->w_off[l];
                const size_t len = (size_t)mm->dims[l + 1] * (bias ? 1 : mm->dims[l]);
                /* the tensor's scale, so tiny entries are judged fairly */
                double gmax = 0;
                for (size_t i = 0; i < len; i++)
                    gmax = fabs(grad[off + i]) > gmax ? fabs(grad[off + i]) : gmax;
                for (int k = 0; k < 3; k++) {
                    const size_t i = off + (size_t)siren_rng_below(&r, len);
                    const double h = 1e-5, p0 = P[i];
                    P[i] = p0 + h;
                    const double lp = ref_loss(p, P, ims, B, ctx, nc, kl, fw);
                    P[i] = p0 - h;
                    const double lm = ref_loss(p, P, ims, B, ctx, nc, kl, fw);
                    P[i] = p0;
                    const double fd = (lp - lm) / (2 * h);
                    const double err = fabs(fd - grad[i]) / (fabs(fd) + 1e-3 * gmax + 1e-9);
                    checked++;
                    if (err > 2e-3) bad++;
                    if (err > worst) {
                        worst = err;
                        snprintf(where, sizeof where, "%s %d layer %d %s [%zu]: fd %.6g, "
                                 "analytic %.6g", m < 0 ? "encoder" : "tensor", m, l,
                                 bias ? "bias" : "weight", i - off, fd, grad[i]);
                    }
                }
            }
    }
    CHECK(bad == 0, "prior gradient (C=%d, %s encoder, %d threads) matches central differences "
          "of the double reference at %d entries of every tensor's layers (worst rel. error "
          "%.2e: %s)", C, siren_activation_name(act), threads, checked, worst, where);
    free(P);
    free(grad);
    free(data);
    siren_prior_work_free(w);
    siren_prior_free(p);
}

/* ------------------------------------------------------------ file tests */

static int file_tests_load_fails(const char *path, const char *expect) {
    siren_prior *q = NULL;
    siren_status st = siren_prior_load(path, &q);
    const char *msg = siren_last_error();
    int ok = st != SIREN_OK && q == NULL && strstr(msg, path) && strstr(msg, expect);
    if (!ok) printf("# load %s: status %d, \"%s\"\n", path, (int)st, msg);
    siren_prior_free(q);
    return ok;
}

/* Rewrites a prior file through the safetensors layer with one change. */
static int rewrite(const char *src, const char *dst, const char *meta_key, const char *meta_val,
                   const char *drop_tensor, int nan_first) {
    siren_st_file *f;
    if (siren_st_read(src, &f)) return 0;
    int nt = 0, nm = siren_st_meta_count(f);
    siren_st_tensor *t = malloc(siren_st_count(f) * sizeof *t);
    const char **k = malloc(nm * sizeof *k), **v = malloc(nm * sizeof *v);
    float *copy = NULL;
    for (int i = 0; i < siren_st_count(f); i++) {
        const siren_st_tensor *x = siren_st_at(f, i);
        if (drop_tensor && !strcmp(x->name, drop_tensor)) continue;
        t[nt] = *x;
        if (nan_first && nt == 0) {
            size_t n = 1;
            for (int d = 0; d < x->ndim; d++) n *= (size_t)x->shape[d];
            copy = malloc(n * sizeof *copy);
            memcpy(copy, x->data, n * sizeof *copy);
            copy[n / 2] = NAN;
            t[nt].data = copy;
        }
        nt++;
    }
    for (int i = 0; i < nm; i++) {
        siren_st_meta_at(f, i, &k[i], &v[i]);
        if (meta_key && !strcmp(k[i], meta_key)) v[i] = meta_val;
    }
    int ok = siren_st_write(dst, t, nt, k, v, nm) == SIREN_OK;
    free(copy);
    free(t);
    free(k);
    free(v);
    siren_st_free(f);
    return ok;
}

static void test_files(void) {
    siren_prior_config cfg = tiny_config(3, SIREN_ACT_SINE);
    cfg.hyper_layers = 2;
    cfg.encoder_layers = 0;
    siren_prior *p, *q = NULL;
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/p.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    if (siren_prior_create(&cfg, 5, &p)) {
        CHECK(0, "create: %s", siren_last_error());
        return;
    }
    siren_prior_set_meta(p, "dataset", "test");
    int ok = siren_prior_save(p, path) == SIREN_OK && siren_prior_load(path, &q) == SIREN_OK;
    ok = ok && q->n_params == p->n_params &&
         !memcmp(q->params, p->params, p->n_params * sizeof(float)) &&
         !memcmp(&q->cfg, &p->cfg, sizeof q->cfg) && siren_prior_get_meta(q, "dataset") &&
         !strcmp(siren_prior_get_meta(q, "dataset"), "test");
    CHECK(ok, "prior file round trip: configuration, %zu parameters bit for bit, metadata",
          p->n_params);
    /* the official names, e.g. the encoder's first and last layer */
    siren_st_file *f = NULL;
    ok = siren_st_read(path, &f) == SIREN_OK && siren_st_find(f, "set_encoder.net.0.weight") &&
         siren_st_find(f, "set_encoder.net.2.bias") &&
         siren_st_find(f, "hyper_net.nets.5.net.3.0.weight") &&
         !strcmp(siren_st_meta(f, "format"), "siren-prior");
    siren_st_free(f);
    CHECK(ok, "prior file: official tensor names and format metadata");
    siren_prior_free(q);

    CHECK(rewrite(path, bad, "latent", "9", NULL, 0) &&
              file_tests_load_fails(bad, "set_encoder.net.2.weight"),
          "a prior whose metadata disagrees with a tensor's shape is refused, naming the tensor");
    CHECK(rewrite(path, bad, NULL, NULL, "hyper_net.nets.2.net.1.0.bias", 0) &&
              file_tests_load_fails(bad, "tensors"),
          "a prior missing a tensor is refused");
    CHECK(rewrite(path, bad, NULL, NULL, NULL, 1) && file_tests_load_fails(bad, "NaN"),
          "a prior holding a NaN is refused");
    CHECK(rewrite(path, bad, "format", "siren", NULL, 0) &&
              file_tests_load_fails(bad, "not a siren prior"),
          "a file of another format is refused");
    CHECK(rewrite(path, bad, "hidden_layers", "100", NULL, 0) &&
              file_tests_load_fails(bad, "hidden_layers"),
          "a prior with an out-of-range configuration is refused");
    CHECK(rewrite(path, bad, "encoder_activation", "tanh", NULL, 0) &&
              file_tests_load_fails(bad, "encoder_activation"),
          "a prior with an unknown encoder activation is refused");
    /* truncated: every proper prefix of the file */
    FILE *in = fopen(path, "rb");
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *buf = malloc(n);
    ok = fread(buf, 1, n, in) == (size_t)n;
    fclose(in);
    for (long cut = 0; ok && cut < n; cut += 1 + cut / 3) {
        FILE *o = fopen(bad, "wb");
        fwrite(buf, 1, cut, o);
        fclose(o);
        ok = file_tests_load_fails(bad, bad);
    }
    free(buf);
    CHECK(ok, "truncated prior files are refused with a message naming the file");
    siren_prior_free(p);
}

/* ------------------------------------------------------------ image sets */

static void test_sets(void) {
    char p[128];
    siren_image_set s;
    /* an IDX file of 5 RGB 4x6 images */
    float v[5 * 4 * 6 * 3];
    for (int i = 0; i < 5 * 4 * 6 * 3; i++) v[i] = (float)((i * 37) % 256);
    size_t dims[4] = {5, 4, 6, 3};
    snprintf(p, sizeof p, "%s/set.idx", dir);
    int ok = siren_idx_write(p, SIREN_IDX_U8, 4, dims, v) == SIREN_OK &&
             siren_image_set_load(p, 0, 0, 3, &s) == SIREN_OK && s.count == 3 && s.width == 6 &&
             s.height == 4 && s.channels == 3 && s.data[1] == 37.0f / 255.0f;
    siren_image_set_free(&s);
    ok = ok && siren_image_set_load(p, 0, 8, 0, &s) == SIREN_OK && s.count == 5 &&
         s.width == 8 && s.height == 8;
    siren_image_set_free(&s);
    CHECK(ok, "image set from an IDX file: limit, values / 255, resampled to --size");
    /* a folder: a gray and an RGB picture of other sizes, and a stray file */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/pics", dir);
    mkdir(sub, 0755);
    float g[12 * 10], rgb[5 * 7 * 3];
    for (int i = 0; i < 120; i++) g[i] = 0.5f;
    for (int i = 0; i < 105; i++) rgb[i] = (i % 3) == 0 ? 1.0f : 0.0f;
    siren_image a = {10, 12, 1, g}, b = {7, 5, 3, rgb};
    char pa[160], pb[160], pc[160];
    snprintf(pa, sizeof pa, "%s/a.png", sub);
    snprintf(pb, sizeof pb, "%s/b.png", sub);
    snprintf(pc, sizeof pc, "%s/notes.txt", sub);
    FILE *o = fopen(pc, "w");
    fputs("x", o);
    fclose(o);
    ok = siren_image_write_png(pa, &a) == SIREN_OK && siren_image_write_png(pb, &b) == SIREN_OK &&
         siren_image_set_load(sub, 0, 9, 0, &s) == SIREN_OK && s.count == 2 && s.width == 9 &&
         s.channels == 1 && fabsf(s.data[0] - 0.5f) < 0.01f &&
         fabsf(s.data[81] - 0.299f) < 0.01f;
    siren_image_set_free(&s);
    CHECK(ok, "image set from a folder: name order, resized, RGB converted to the first's gray");
    snprintf(pc, sizeof pc, "%s/broken.png", sub);
    o = fopen(pc, "w");
    fputs("not a png", o);
    fclose(o);
    siren_status st = siren_image_set_load(sub, 0, 9, 0, &s);
    CHECK(st != SIREN_OK && strstr(siren_last_error(), "broken.png") && !s.data,
          "a folder with a broken picture is refused, naming it: %s", siren_last_error());
    snprintf(pc, sizeof pc, "%s/none", dir);
    st = siren_image_set_load(pc, 0, 0, 0, &s);
    CHECK(st != SIREN_OK && strstr(siren_last_error(), pc), "a missing path is refused: %s",
          siren_last_error());
}

/* ------------------------------------------------------------- training */

/* 100 images a little like clothes on a dark ground: a bright rectangle
 * of random size, place and brightness with a softer band across it. */
static float *shapes(int n, int S, uint64_t seed) {
    siren_rng r;
    siren_rng_seed(&r, seed);
    float *d = calloc((size_t)n * S * S, sizeof *d);
    for (int i = 0; i < n; i++) {
        int r0 = 2 + (int)siren_rng_below(&r, S / 3), c0 = 2 + (int)siren_rng_below(&r, S / 3);
        int r1 = r0 + S / 3 + (int)siren_rng_below(&r, S / 3);
        int c1 = c0 + S / 4 + (int)siren_rng_below(&r, S / 3);
        float v = 0.5f + 0.5f * (float)siren_rng_uniform(&r);
        int band = r0 + (int)siren_rng_below(&r, (uint64_t)(r1 - r0));
        for (int y = r0; y < r1 && y < S; y++)
            for (int x = c0; x < c1 && x < S; x++)
                d[((size_t)i * S + y) * S + x] = abs(y - band) < 2 ? 0.5f * v : v;
    }
    return d;
}

typedef struct {
    int stop_at;
    long last;
} stopper;

static int stop_cb(void *user, const siren_prior_progress *pr) {
    stopper *s = user;
    s->last = pr->step;
    return s->stop_at && pr->step == s->stop_at;
}

static siren_prior_config train_config(void) {
    siren_prior_config c = siren_prior_config_default(20, 1);
    c.hidden_features = 32;
    c.hidden_layers = 2;
    c.latent = 64;
    c.encoder_hidden = 64;
    c.encoder_layers = 1;
    c.hyper_hidden = 64;
    c.hyper_layers = 1;
    return c;
}

static void test_train(void) {
    const int S = 20, n = 100;
    siren_image_set set = {S, S, 1, n, shapes(n, S, 42)};
    siren_prior_config cfg = train_config();
    siren_prior_train_opts o = siren_prior_train_opts_default();
    o.epochs = 40;
    o.batch = 20;
    o.lr = 1e-3f;
    o.threads = 1;
    o.seed = 3;
    siren_prior *p;
    siren_prior_train_result res;
    int ctx[2] = {10, 200};
    double before[2] = {0, 0}, after[2] = {0, 0};
    if (siren_prior_create(&cfg, 1, &p)) {
        CHECK(0, "create: %s", siren_last_error());
        return;
    }
    siren_prior_eval(p, &set, ctx, 2, 0, 9, 1, before);
    siren_status st = siren_prior_train(p, &set, &o, &res);
    CHECK(st == SIREN_OK && res.steps == 200 && res.epochs == 40 && isfinite(res.psnr_db) &&
              res.images_per_s > 0,
          "a tiny prior trains on 100 images: %ld steps, %.0f images/s, last epoch %.2f dB",
          res.steps, res.images_per_s, res.psnr_db);
    st = siren_prior_eval(p, &set, ctx, 2, 0, 9, 1, after);
    CHECK(st == SIREN_OK && after[1] > after[0] + 1.0 && after[1] > before[1] + 3.0,
          "it reconstructs them better from 200 context pixels than from 10: %.2f vs %.2f dB "
          "(untrained %.2f, %.2f)", after[1], after[0], before[1], before[0]);
    /* complete and generate agree with eval's reconstruction */
    uint8_t mask[400];
    siren_image img = {S, S, 1, set.data}, out;
    siren_net *net = NULL;
    st = siren_prior_context(S, S, 200, 4, mask);
    int nk = 0;
    for (int i = 0; i < S * S; i++) nk += mask[i];
    siren_status st2 = siren_prior_complete(p, &img, mask, 40, 40, 1, &out);
    siren_status st3 = siren_prior_generate(p, &img, mask, &net);
    CHECK(!st && nk == 200 && !st2 && out.width == 40 && !st3 && net &&
              !strcmp(siren_net_get_meta(net, "context_pixels"), "200"),
          "context masks, complete at another size, generate a SIREN model");
    siren_image_free(&out);
    siren_net_free(net);
    memset(mask, 0, sizeof mask);
    CHECK(siren_prior_complete(p, &img, mask, 0, 0, 1, &out) == SIREN_EINVAL,
          "an empty context is refused");
    siren_image wrong = {S, S - 1, 1, set.data};
    mask[0] = 1;
    CHECK(siren_prior_complete(p, &wrong, mask, 0, 0, 1, &out) == SIREN_EINVAL,
          "an image of the wrong size is refused: %s", siren_last_error());
    siren_prior_free(p);

    /* Resume: 5 epochs in one go against 2 + a stop after step 13 + the
     * rest from the checkpoint: the same parameters bit for bit. */
    char ck[128];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    siren_prior *a, *b;
    siren_prior_create(&cfg, 1, &a);
    siren_prior_create(&cfg, 1, &b);
    o.epochs = 5;
    st = siren_prior_train(a, &set, &o, NULL);
    stopper sp = {13, 0};
    o.progress = stop_cb;
    o.user = &sp;
    o.checkpoint = ck;
    st2 = siren_prior_train(b, &set, &o, NULL);
    siren_prior_free(b);
    siren_prior_create(&cfg, 99, &b); /* the checkpoint must overwrite all */
    sp.stop_at = 0;
    o.resume = ck;
    st3 = siren_prior_train(b, &set, &o, &res);
    CHECK(!st && st2 == SIREN_ECANCELED && !st3 && res.steps == 25 && sp.last == 25 &&
              !memcmp(a->params, b->params, a->n_params * sizeof(float)),
          "stopped at step 13 and resumed from the checkpoint: the same prior bit for bit");
    o.seed = 4;
    st = siren_prior_train(b, &set, &o, NULL);
    CHECK(st == SIREN_EINVAL && strstr(siren_last_error(), "another run"),
          "resuming with another seed is refused: %s", siren_last_error());
    siren_prior_free(a);
    siren_prior_free(b);
    free(set.data);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/siren_test_prior.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    check_grad(1, SIREN_ACT_RELU, 1);
    check_grad(1, SIREN_ACT_SINE, 2);
    check_grad(3, SIREN_ACT_RELU, 2);
    test_files();
    test_sets();
    test_train();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    TEST_DONE();
}

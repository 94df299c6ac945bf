/* Inpainting (siren_fit_image_inpaint, src/train/inpaint.c) and the
 * Hessian jets it needs (SIREN_JET_HESS in src/net/jet.c):
 *   - the HESS jets' value, gradient and every second derivative, the
 *     mixed ones included, against central differences of a double
 *     forward written here, and a per-point double Hessian jet (the
 *     reference below) against the same differences;
 *   - the parameter gradient of a loss on every HESS channel, and of the
 *     inpainting loss (data + TV on one output: the double backward; on
 *     three: the gradient jets; data + Hessian norm: the HESS jets) against
 *     central differences of the same losses in double precision;
 *   - which pixels are kept: round(f n) from the seed whatever the prior,
 *     exactly the mask's white ones, refusals of bad fractions and masks;
 *   - the fit: pixels that are not kept change nothing (bit for bit), a
 *     kept one does; keeping every pixel without a prior is the plain
 *     image fit bit for bit; a prior that flattens the network; the
 *     metadata; a checkpointed run resumed is the uninterrupted one; two
 *     data-parallel shards agree with each other and with one process.
 * Tolerances as tests/test_jet.c: tol(order k) = 2^(4+3k) eps (layers + 3)
 * sqrt(width), relative to the largest magnitude. */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/jet.h"
#include "net/net.h"
#include "netref.h"
#include "testhelp.h"
#include "train/train.h"

#define MAXW 32
#define MAXD 3
#define MAXM 3

/* Forward-mode jet of one point in double with the whole Hessian:
 * y[o], J[o][j], H[o][j][k], by the chain rule (h'' = f' z'' + f'' z' z'ᵀ). */
static void ref_hess(const siren_net *net, const double *p, const double *x,
                     double y[MAXM], double J[MAXM][MAXD], double H[MAXM][MAXD][MAXD]) {
    const int d = net->dims[0], L = net->n_linear;
    static double h[MAXW], hj[MAXW][MAXD], hh[MAXW][MAXD][MAXD];
    static double z[MAXW], zj[MAXW][MAXD], zh[MAXW][MAXD][MAXD];
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            h[i] = x[i];
            hj[i][j] = i == j;
            for (int k = 0; k < d; k++) hh[i][j][k] = 0;
        }
    int din = d;
    for (int l = 0; l < L; l++) {
        const int dout = net->dims[l + 1];
        const double *W = p + net->w_off[l], *b = p + net->b_off[l];
        for (int o = 0; o < dout; o++) {
            z[o] = b[o];
            for (int j = 0; j < d; j++) {
                zj[o][j] = 0;
                for (int k = 0; k < d; k++) zh[o][j][k] = 0;
            }
            for (int i = 0; i < din; i++) {
                const double w = W[(size_t)o * din + i];
                z[o] += w * h[i];
                for (int j = 0; j < d; j++) {
                    zj[o][j] += w * hj[i][j];
                    for (int k = 0; k < d; k++) zh[o][j][k] += w * hh[i][j][k];
                }
            }
        }
        for (int o = 0; o < dout; o++) {
            double f = z[o], f1 = 1, f2 = 0;
            if (l < L - 1)
                ref_act(net->cfg.activation, siren_layer_omega(net, l), z[o], &f, &f1, &f2);
            h[o] = f;
            for (int j = 0; j < d; j++) {
                hj[o][j] = f1 * zj[o][j];
                for (int k = 0; k < d; k++)
                    hh[o][j][k] = f1 * zh[o][j][k] + f2 * zj[o][j] * zj[o][k];
            }
        }
        din = dout;
    }
    for (int o = 0; o < din; o++) {
        y[o] = h[o];
        for (int j = 0; j < d; j++) {
            J[o][j] = hj[o][j];
            for (int k = 0; k < d; k++) H[o][j][k] = hh[o][j][k];
        }
    }
}

static siren_net *random_net(int d, int m, int width, int layers, float om0, float om,
                             siren_activation act, uint64_t seed) {
    siren_config c = siren_config_default(d, m);
    c.hidden_features = width;
    c.hidden_layers = layers;
    c.first_omega_0 = om0;
    c.hidden_omega_0 = om;
    c.activation = act;
    if (act == SIREN_ACT_TANH) c.init_first = c.init_hidden = SIREN_INIT_XAVIER_NORMAL;
    siren_net *net = NULL;
    return siren_net_create(&c, seed, &net) == SIREN_OK ? net : NULL;
}

/* --------------------------------------------------------- HESS vs FD */

static void test_hess_derivs(int d, int m, int width, int layers, float om0, float om,
                             siren_activation act, int threads) {
    siren_net *net = random_net(d, m, width, layers, om0, om, act, 7 + d + width);
    enum { N = 19 };
    float x[N * MAXD];
    make_points(x, N, d, (unsigned)(width + d));
    siren_jet_work *w, *w2;
    CHECK(siren_jet_work_create(net, SIREN_JET_HESS, N, threads, &w) == SIREN_OK &&
          siren_jet_work_create(net, SIREN_JET_D2, N, threads, &w2) == SIREN_OK &&
          w->channels == 1 + d + d * (d + 1) / 2,
          "HESS jet buffers, %d channels for d = %d", w->channels, d);
    siren_jet_forward(net, w, x, N);
    siren_jet_forward(net, w2, x, N);
    const float *o = w->post[net->n_linear], *o2 = w2->post[net->n_linear];
    double *p = params_double(net);
    double err[3] = {0}, mag[3] = {0}, rerr[3] = {0}, derr = 0;
    for (int i = 0; i < N; i++) {
        double xd[MAXD], y[MAXM], J[MAXM][MAXD], H[MAXM][MAXD][MAXD];
        double yp[MAXM], ym[MAXM], Jt[MAXM][MAXD], Ht[MAXM][MAXD][MAXD];
        for (int j = 0; j < d; j++) xd[j] = x[i * d + j];
        ref_hess(net, p, xd, y, J, H);
        for (int k = 0; k < m; k++) {
            err[0] = fmax(err[0], fabs(o[i * m + k] - y[k]));
            mag[0] = fmax(mag[0], fabs(y[k]));
        }
        const double h1 = 1e-5 / fmax(om0, 1), h2 = 1e-3 / fmax(om0, 1);
        for (int a = 0; a < d; a++) {
            double x2[MAXD];
            memcpy(x2, xd, sizeof x2);
            x2[a] = xd[a] + h1;
            ref_hess(net, p, x2, yp, Jt, Ht);
            x2[a] = xd[a] - h1;
            ref_hess(net, p, x2, ym, Jt, Ht);
            for (int k = 0; k < m; k++) {
                const double fd = (yp[k] - ym[k]) / (2 * h1);
                err[1] = fmax(err[1], fabs(o[((size_t)(1 + a) * N + i) * m + k] - fd));
                mag[1] = fmax(mag[1], fabs(fd));
                rerr[1] = fmax(rerr[1], fabs(J[k][a] - fd));
            }
            for (int b = a; b < d; b++) {
                /* d2/dxa dxb by the 4-point stencil (a == b: the 3-point one
                 * with step 2 h2, the same formula) */
                double f[4][MAXM];
                for (int s = 0; s < 4; s++) {
                    memcpy(x2, xd, sizeof x2);
                    x2[a] += (s & 1 ? -h2 : h2);
                    x2[b] += (s & 2 ? -h2 : h2);
                    ref_hess(net, p, x2, f[s], Jt, Ht);
                }
                const int c = siren_jet_hess_channel(d, a, b);
                for (int k = 0; k < m; k++) {
                    const double fd = (f[0][k] - f[1][k] - f[2][k] + f[3][k]) / (4 * h2 * h2);
                    const double ours = o[((size_t)c * N + i) * m + k];
                    err[2] = fmax(err[2], fabs(ours - fd));
                    mag[2] = fmax(mag[2], fabs(fd));
                    rerr[2] = fmax(rerr[2], fabs(H[k][a][b] - fd));
                    /* symmetric: the channel of (b, a) is the same one */
                    if (siren_jet_hess_channel(d, b, a) != c) derr = INFINITY;
                    if (a == b) /* the diagonal equals the D2 jets' */
                        derr = fmax(derr, fabs(ours - o2[((size_t)(1 + d + a) * N + i) * m + k]));
                }
            }
        }
    }
    char tag[128];
    snprintf(tag, sizeof tag, "%s %d->%dx%d->%d omega %g/%g, %d thr",
             siren_activation_name(act), d, width, layers, m, om0, om, threads);
    CHECK(rerr[1] < 1e-6 * fmax(mag[1], 1) && rerr[2] < 1e-4 * fmax(mag[2], 1),
          "%s: the double Hessian jet matches central differences (grad %.1e, "
          "hess %.1e of %.1e, %.1e)", tag, rerr[1], rerr[2], mag[1], mag[2]);
    for (int k = 0; k < 3; k++)
        CHECK(err[k] <= tol_order(net, k) * fmax(mag[k], 1e-6),
              "%s: HESS jets, order-%d derivatives%s match central differences "
              "(max err %.2e of %.2e, tol %.1e rel)", tag, k,
              k == 2 ? " (mixed ones too)" : "", err[k], mag[k], tol_order(net, k));
    CHECK(derr <= tol_order(net, 2) * fmax(mag[2], 1e-6),
          "%s: the HESS diagonal equals the D2 jets' second derivatives (%.2e)", tag, derr);
    free(p);
    siren_jet_work_free(w);
    siren_jet_work_free(w2);
    siren_net_free(net);
}

/* ------------------------------------------- parameter gradients vs FD */

/* max |ours - central differences of the double loss| over max |grad| */
typedef double (*ref_loss_fn)(const siren_net *net, const double *p, const void *ctx);

static void compare_grads(const siren_net *net, const float *grad, ref_loss_fn f,
                          const void *ctx, int order, const char *tag) {
    double *p = params_double(net), gmax = 0, err = 0;
    for (size_t k = 0; k < net->n_params; k++) {
        const double h = 1e-6 * fmax(1.0, fabs(p[k])), save = p[k];
        p[k] = save + h;
        const double lp = f(net, p, ctx);
        p[k] = save - h;
        const double lm = f(net, p, ctx);
        p[k] = save;
        const double fd = (lp - lm) / (2 * h);
        gmax = fmax(gmax, fabs(fd));
        err = fmax(err, fabs(fd - grad[k]));
    }
    const double tol = tol_order(net, order + 1);
    CHECK(err <= tol * gmax,
          "%s: all %zu parameter gradients match central differences of the "
          "double-precision loss (max err %.2e of max |g| %.2e, tol %.1e rel)",
          tag, net->n_params, err, gmax, tol);
    free(p);
}

/* A loss on every HESS channel: sum over points and outputs of
 * a (y - t)^2 + b sum_j (J_j - t_j)^2 + e sum_{j <= k} (H_jk - t_jk)^2, / n. */
typedef struct {
    const float *x, *t;
    int n;
    double a, b, e;
} hess_loss;

static double tgt_j(double t, int j) { return 0.3 * t + 0.1 * j; }
static double tgt_jk(double t, int j, int k) { return 0.2 * t - 0.05 * j + 0.07 * k; }

static double ref_hess_loss(const siren_net *net, const double *p, const void *ctx) {
    const hess_loss *hl = ctx;
    const int d = net->dims[0], m = net->dims[net->n_linear];
    double s = 0;
    for (int i = 0; i < hl->n; i++) {
        double xd[MAXD], y[MAXM], J[MAXM][MAXD], H[MAXM][MAXD][MAXD];
        for (int j = 0; j < d; j++) xd[j] = hl->x[i * d + j];
        ref_hess(net, p, xd, y, J, H);
        for (int o = 0; o < m; o++) {
            const double t = hl->t[i * m + o];
            s += hl->a * (y[o] - t) * (y[o] - t);
            for (int j = 0; j < d; j++) {
                s += hl->b * (J[o][j] - tgt_j(t, j)) * (J[o][j] - tgt_j(t, j));
                for (int k = j; k < d; k++)
                    s += hl->e * (H[o][j][k] - tgt_jk(t, j, k)) * (H[o][j][k] - tgt_jk(t, j, k));
            }
        }
    }
    return s / hl->n;
}

static void test_hess_param_grads(int d, int m, int width, int layers, float om0,
                                  float om, siren_activation act, int threads) {
    siren_net *net = random_net(d, m, width, layers, om0, om, act, 3 + width + d);
    enum { N = 13 };
    float x[N * MAXD], t[N * MAXM];
    make_points(x, N, d, 5);
    for (int i = 0; i < N * m; i++) t[i] = (float)cos(0.9 * i);
    const double sc = act == SIREN_ACT_SINE ? 1.0 / (om0 * om0) : 1.0;
    hess_loss hl = {x, t, N, 0.7, 1e-2 * sc, 1e-2 * sc * sc};
    siren_jet_work *w;
    if (siren_jet_work_create(net, SIREN_JET_HESS, N, threads, &w)) {
        CHECK(0, "HESS jet work");
        return;
    }
    siren_jet_forward(net, w, x, N);
    const float *o = w->post[net->n_linear];
    float *gout = calloc((size_t)w->channels * N * m, sizeof *gout);
    float *grad = malloc(net->n_params * sizeof *grad);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < m; k++) {
            const double tv = t[i * m + k];
            gout[i * m + k] = (float)(2 * hl.a * (o[i * m + k] - tv) / N);
            for (int j = 0; j < d; j++) {
                const size_t q = ((size_t)(1 + j) * N + i) * m + k;
                gout[q] = (float)(2 * hl.b * (o[q] - tgt_j(tv, j)) / N);
                for (int l = j; l < d; l++) {
                    const size_t r = ((size_t)siren_jet_hess_channel(d, j, l) * N + i) * m + k;
                    gout[r] = (float)(2 * hl.e * (o[r] - tgt_jk(tv, j, l)) / N);
                }
            }
        }
    siren_jet_backward(net, w, N, gout, grad);
    char tag[160];
    snprintf(tag, sizeof tag, "HESS jet loss, %s %d->%dx%d->%d omega %g/%g, %d thr",
             siren_activation_name(act), d, width, layers, m, om0, om, threads);
    compare_grads(net, grad, ref_hess_loss, &hl, 2, tag);
    free(gout);
    free(grad);
    siren_jet_work_free(w);
    siren_net_free(net);
}

/* The inpainting loss in double: data sum |y - t|^2 / data_div over the
 * kept points, k1 mean |J| (TV) or k1 mean ||H||_F (Hessian) at xp. */
typedef struct {
    const float *x, *t, *xp;
    int n, np;
    double data_div, k1;
    siren_inpaint_prior kind;
} inpaint_loss;

static double ref_inpaint_loss(const siren_net *net, const double *p, const void *ctx) {
    const inpaint_loss *il = ctx;
    const int d = net->dims[0], m = net->dims[net->n_linear];
    double data = 0, prior = 0, xd[MAXD], y[MAXM], J[MAXM][MAXD], H[MAXM][MAXD][MAXD];
    for (int i = 0; i < il->n; i++) {
        for (int j = 0; j < d; j++) xd[j] = il->x[i * d + j];
        ref_hess(net, p, xd, y, J, H);
        for (int o = 0; o < m; o++) data += (y[o] - il->t[i * m + o]) * (y[o] - il->t[i * m + o]);
    }
    for (int i = 0; i < il->np; i++) {
        for (int j = 0; j < d; j++) xd[j] = il->xp[i * d + j];
        ref_hess(net, p, xd, y, J, H);
        double ss = 0;
        for (int o = 0; o < m; o++)
            for (int j = 0; j < d; j++) {
                if (il->kind == SIREN_INPAINT_PRIOR_TV) prior += fabs(J[o][j]);
                for (int k = 0; k < d; k++) ss += H[o][j][k] * H[o][j][k];
            }
        if (il->kind == SIREN_INPAINT_PRIOR_HESSIAN) prior += sqrt(ss);
    }
    const double cnt = il->kind == SIREN_INPAINT_PRIOR_TV ? (double)il->np * m * d : il->np;
    return data / il->data_div + (il->kind ? il->k1 * prior / cnt : 0);
}

static void test_inpaint_loss_grads(siren_inpaint_prior kind, int m, int threads) {
    siren_net *net = random_net(2, m, 12, 2, 30, 30, SIREN_ACT_SINE, 21 + m + kind);
    enum { N = 11, NP = 17 };
    float x[N * 2], t[N * MAXM], xp[NP * 2];
    make_points(x, N, 2, 8);
    make_points(xp, NP, 2, 9);
    for (int i = 0; i < N * m; i++) t[i] = (float)(0.8 * sin(1.3 * i));
    /* weights that keep both terms of the same order */
    const double k1 = kind == SIREN_INPAINT_PRIOR_TV ? 0.3 : 1e-2;
    inpaint_loss il = {x, t, xp, N, NP, 3.0 * N * m, k1, kind};
    float *grad = malloc(net->n_params * sizeof *grad);
    double terms[2];
    const double loss = siren_inpaint_loss(net, x, t, N, il.data_div, kind, k1, xp, NP,
                                           threads, grad, terms);
    double *p = params_double(net);
    const double ref = ref_inpaint_loss(net, p, &il);
    free(p);
    char tag[160];
    snprintf(tag, sizeof tag, "inpainting loss, data + %s prior, %d output%s (%s), %d thr",
             siren_inpaint_prior_name(kind), m, m > 1 ? "s" : "",
             kind == SIREN_INPAINT_PRIOR_HESSIAN ? "HESS jets"
             : m == 1 ? "double backward" : "gradient jets", threads);
    CHECK(fabs(loss - ref) <= 1e-4 * fabs(ref) && terms[1] > 0.05 * terms[0] &&
              terms[0] > 0.05 * terms[1],
          "%s: the loss matches the double reference (%.6e vs %.6e; data %.3e, "
          "prior %.3e)", tag, loss, ref, terms[0], terms[1]);
    compare_grads(net, grad, ref_inpaint_loss, &il,
                  kind == SIREN_INPAINT_PRIOR_HESSIAN ? 2 : 1, tag);
    free(grad);
    siren_net_free(net);
}

/* ----------------------------------------------------------- the fits */

static siren_image test_image(int w, int h, int c) {
    siren_image img = {w, h, c, malloc((size_t)w * h * c * sizeof(float))};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                img.data[((size_t)y * w + x) * c + k] =
                    0.5f + 0.4f * sinf(0.5f * x + 0.3f * y * (k + 1)) * cosf(0.2f * x * y / 5);
    return img;
}

static siren_config small_cfg(void) {
    siren_config c = siren_config_default(2, 1);
    c.hidden_features = 24;
    c.hidden_layers = 1;
    return c;
}

static siren_train_opts small_opt(int steps) {
    siren_train_opts o = siren_train_opts_default();
    o.steps = steps;
    o.lr = 1e-3f;
    o.threads = 1;
    o.seed = 3;
    return o;
}

static int same_params(siren_net *a, siren_net *b) {
    return siren_net_param_count(a) == siren_net_param_count(b) &&
           !memcmp(siren_net_params(a), siren_net_params(b),
                   siren_net_param_count(a) * sizeof(float));
}

static void test_keep(void) {
    siren_image img = test_image(20, 15, 1);
    const size_t n = 300;
    unsigned char k1[300], k2[300];
    size_t kept = 0, kept2 = 0;
    siren_inpaint_opts io = siren_inpaint_opts_default();
    io.keep_frac = 0.1;
    int ok = siren_inpaint_keep(&img, &io, 5, k1, &kept) == SIREN_OK;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += k1[i];
    io.prior = SIREN_INPAINT_PRIOR_HESSIAN;
    ok = ok && siren_inpaint_keep(&img, &io, 5, k2, &kept2) == SIREN_OK;
    CHECK(ok && kept == 30 && count == 30 && !memcmp(k1, k2, n),
          "--keep-frac 0.1 of 300 pixels keeps exactly 30, the same ones whatever "
          "the prior (%zu)", kept);
    ok = siren_inpaint_keep(&img, &io, 6, k2, &kept2) == SIREN_OK;
    CHECK(ok && kept2 == 30 && memcmp(k1, k2, n), "another seed keeps other pixels");
    io.keep_frac = 1e-9;
    CHECK(siren_inpaint_keep(&img, &io, 5, k2, &kept2) == SIREN_OK && kept2 == 1,
          "a tiny fraction keeps one pixel");
    io.keep_frac = 1;
    CHECK(siren_inpaint_keep(&img, &io, 5, k2, &kept2) == SIREN_OK && kept2 == n,
          "--keep-frac 1 keeps them all");
    const double bad[] = {0, -0.5, 1.0001, NAN};
    for (int b = 0; b < 4; b++) {
        io.keep_frac = bad[b];
        siren_status st = siren_inpaint_keep(&img, &io, 5, k2, &kept2);
        CHECK(st == SIREN_EINVAL && strstr(siren_last_error(), "keep fraction"),
              "keep fraction %g is refused: %s", bad[b], siren_last_error());
    }
    /* a mask: exactly its white pixels (mean over its channels >= 0.5) */
    siren_image mask = {20, 15, 3, calloc(n * 3, sizeof(float))};
    size_t want = 0;
    for (size_t i = 0; i < n; i++) {
        const int white = (i * 7) % 11 == 0;
        for (int c = 0; c < 3; c++) mask.data[i * 3 + c] = white ? 0.9f : (c == 0 ? 1.0f : 0.2f);
        want += white;
    }
    io.mask = &mask;
    ok = siren_inpaint_keep(&img, &io, 5, k2, &kept2) == SIREN_OK && kept2 == want;
    for (size_t i = 0; i < n; i++) ok = ok && k2[i] == ((i * 7) % 11 == 0);
    CHECK(ok, "a mask keeps exactly its white pixels (%zu of %zu)", want, n);
    siren_image wrong = {15, 20, 1, calloc(n, sizeof(float))};
    io.mask = &wrong;
    siren_status st = siren_inpaint_keep(&img, &io, 5, k2, &kept2);
    CHECK(st == SIREN_EINVAL && strstr(siren_last_error(), "15x20"),
          "a mask of another size is refused: %s", siren_last_error());
    wrong.width = 20;
    wrong.height = 15;
    st = siren_inpaint_keep(&img, &io, 5, k2, &kept2);
    CHECK(st == SIREN_EINVAL && strstr(siren_last_error(), "no pixels"),
          "a black mask is refused: %s", siren_last_error());
    free(wrong.data);
    free(mask.data);
    siren_image_free(&img);
}

static void test_fit(void) {
    siren_image img = test_image(16, 12, 1), img2 = test_image(16, 12, 1);
    const size_t n = 16 * 12;
    siren_config cfg = small_cfg();
    siren_train_opts opt = small_opt(40);
    siren_inpaint_opts io = siren_inpaint_opts_default();
    io.keep_frac = 0.25;
    io.prior = SIREN_INPAINT_PRIOR_TV;
    io.prior_weight = 1e-3;
    io.prior_points = 50;
    unsigned char keep[16 * 12];
    size_t kept;
    siren_inpaint_keep(&img, &io, opt.seed, keep, &kept);
    siren_net *a = NULL, *b = NULL, *c = NULL;
    siren_fit_result ra, rb, rc;
    siren_inpaint_result ia, ib, ic;
    /* every pixel that is not kept changed */
    for (size_t i = 0; i < n; i++)
        if (!keep[i]) img2.data[i] = 1 - img2.data[i];
    int ok = siren_fit_image_inpaint(&img, &io, &cfg, &opt, &a, &ra, &ia) == SIREN_OK &&
             siren_fit_image_inpaint(&img2, &io, &cfg, &opt, &b, &rb, &ib) == SIREN_OK;
    CHECK(ok && ia.kept == 48 && ia.pixels == n && ia.prior_points == 50 &&
              same_params(a, b) && ia.psnr_kept_db == ib.psnr_kept_db &&
              ra.psnr_db != rb.psnr_db,
          "changing every pixel that is not kept changes nothing in the model (only "
          "the PSNR over all pixels: %.2f vs %.2f dB)", ra.psnr_db, rb.psnr_db);
    CHECK(ok && ra.steps == 40 && ia.psnr_kept_db > ra.psnr_db &&
              isfinite(ia.data_loss) && ia.prior_loss > 0,
          "the fit: PSNR over the kept pixels %.2f dB above that over all %.2f dB; "
          "terms %.3e + %.3e", ia.psnr_kept_db, ra.psnr_db, ia.data_loss, ia.prior_loss);
    const char *kf = a ? siren_net_get_meta(a, "keep_frac") : NULL;
    const char *pr = a ? siren_net_get_meta(a, "prior") : NULL;
    const char *tk = a ? siren_net_get_meta(a, "task") : NULL;
    CHECK(kf && !strcmp(kf, "0.25") && pr && !strcmp(pr, "tv") && tk &&
              !strcmp(tk, "image") && siren_net_get_meta(a, "prior_weight") &&
              !strcmp(siren_net_get_meta(a, "kept"), "48"),
          "metadata: task image, keep_frac %s, prior %s, prior_weight, kept",
          kf ? kf : "-", pr ? pr : "-");
    /* one kept pixel changed */
    size_t first = 0;
    while (!keep[first]) first++;
    memcpy(img2.data, img.data, n * sizeof(float));
    img2.data[first] += 0.25f;
    siren_net_free(b);
    b = NULL;
    ok = siren_fit_image_inpaint(&img2, &io, &cfg, &opt, &b, &rb, &ib) == SIREN_OK;
    CHECK(ok && !same_params(a, b), "changing one kept pixel changes the model");
    /* the same pixels through a mask: the same model */
    siren_image mask = {16, 12, 1, malloc(n * sizeof(float))};
    for (size_t i = 0; i < n; i++) mask.data[i] = keep[i];
    siren_inpaint_opts im = io;
    im.mask = &mask;
    im.keep_frac = 0.9; /* ignored with a mask */
    ok = siren_fit_image_inpaint(&img, &im, &cfg, &opt, &c, &rc, &ic) == SIREN_OK;
    CHECK(ok && same_params(a, c) && !strcmp(siren_net_get_meta(c, "kept_from"), "mask"),
          "the kept pixels given as a mask give the same model bit for bit");
    siren_net_free(b);
    siren_net_free(c);
    b = c = NULL;
    /* every pixel, no prior: the plain image fit */
    siren_inpaint_opts all = siren_inpaint_opts_default();
    all.keep_frac = 1;
    ok = siren_fit_image_inpaint(&img, &all, &cfg, &opt, &b, &rb, &ib) == SIREN_OK &&
         siren_fit_image(&img, &cfg, &opt, &c, &rc) == SIREN_OK;
    CHECK(ok && same_params(b, c) && fabs(ib.psnr_kept_db - rc.psnr_db) < 1e-9 &&
              fabs(rb.psnr_db - rc.psnr_db) < 1e-6 && ib.prior_points == 0,
          "keeping every pixel without a prior is the plain image fit bit for bit "
          "(%.4f dB)", rc.psnr_db);
    siren_net_free(a);
    siren_net_free(b);
    siren_net_free(c);
    a = b = c = NULL;
    /* a heavy prior flattens the network: the Hessian prior's term falls */
    io.prior = SIREN_INPAINT_PRIOR_HESSIAN;
    io.prior_weight = 1;
    siren_train_opts o1 = small_opt(1), o60 = small_opt(60);
    ok = siren_fit_image_inpaint(&img, &io, &cfg, &o1, &a, &ra, &ia) == SIREN_OK &&
         siren_fit_image_inpaint(&img, &io, &cfg, &o60, &b, &rb, &ib) == SIREN_OK;
    CHECK(ok && ib.prior_loss < 0.5 * ia.prior_loss,
          "a heavy Hessian prior flattens the network: its term %.3e after 1 step, "
          "%.3e after 60", ia.prior_loss, ib.prior_loss);
    siren_net_free(a);
    siren_net_free(b);
    a = b = NULL;
    /* refusals */
    io.prior = (siren_inpaint_prior)7;
    CHECK(siren_fit_image_inpaint(&img, &io, &cfg, &opt, &a, &ra, &ia) == SIREN_EINVAL &&
              !a && strstr(siren_last_error(), "prior"),
          "an unknown prior is refused: %s", siren_last_error());
    io.prior = SIREN_INPAINT_PRIOR_TV;
    io.prior_weight = -1;
    CHECK(siren_fit_image_inpaint(&img, &io, &cfg, &opt, &a, &ra, &ia) == SIREN_EINVAL &&
              !a && strstr(siren_last_error(), "weight"),
          "a negative prior weight is refused: %s", siren_last_error());
    free(mask.data);
    siren_image_free(&img);
    siren_image_free(&img2);
}

/* A checkpoint at step 15 of 30, resumed: the uninterrupted run's model. */
static void test_resume(void) {
    siren_image img = test_image(12, 12, 3);
    siren_config cfg = small_cfg();
    siren_inpaint_opts io = siren_inpaint_opts_default();
    io.keep_frac = 0.3;
    io.prior = SIREN_INPAINT_PRIOR_HESSIAN;
    io.prior_weight = 1e-5;
    io.prior_points = 40;
    char ck[64];
    snprintf(ck, sizeof ck, "/tmp/siren_inpaint_ck_%d.bin", (int)getpid());
    siren_train_opts full = small_opt(30), half = small_opt(15), rest = small_opt(30);
    half.checkpoint = ck; /* written at its end, step 15 */
    rest.resume = ck;
    siren_net *a = NULL, *b = NULL, *c = NULL;
    siren_fit_result r;
    siren_inpaint_result ir;
    int ok = siren_fit_image_inpaint(&img, &io, &cfg, &full, &a, &r, &ir) == SIREN_OK &&
             siren_fit_image_inpaint(&img, &io, &cfg, &half, &b, &r, &ir) == SIREN_OK &&
             siren_fit_image_inpaint(&img, &io, &cfg, &rest, &c, &r, &ir) == SIREN_OK;
    CHECK(ok && r.steps == 30 && same_params(a, c),
          "15 steps, checkpoint, resumed to 30: the uninterrupted model bit for bit "
          "(RGB, Hessian prior)");
    unlink(ck);
    siren_net_free(a);
    siren_net_free(b);
    siren_net_free(c);
    siren_image_free(&img);
}

/* ------------------------------------------------------------- shards */

typedef struct {
    int count;
    pthread_barrier_t bar;
    float *grad[2];
    double parts[2][8];
} group;

typedef struct {
    group *g;
    int rank;
    const siren_image *img;
    siren_inpaint_opts io;
    siren_config cfg;
    siren_train_opts opt;
    siren_net *net;
    siren_status st;
} shard_job;

/* Both shards publish, wait, sum in rank order, wait, copy out: every
 * shard gets the same bits (an MPI_Allreduce across processes). */
static siren_status barrier_reduce(void *user, float *grad, size_t n, double *parts,
                                   int n_loss) {
    shard_job *j = user;
    group *g = j->g;
    float *sum = n ? malloc(n * sizeof *sum) : NULL;
    double ps[8];
    g->grad[j->rank] = grad;
    memcpy(g->parts[j->rank], parts, n_loss * sizeof *parts);
    pthread_barrier_wait(&g->bar);
    for (size_t i = 0; i < n; i++) sum[i] = g->grad[0][i] + g->grad[1][i];
    for (int k = 0; k < n_loss; k++) ps[k] = g->parts[0][k] + g->parts[1][k];
    pthread_barrier_wait(&g->bar);
    if (n) memcpy(grad, sum, n * sizeof *sum);
    memcpy(parts, ps, n_loss * sizeof *parts);
    free(sum);
    return SIREN_OK;
}

static void test_shards(void) {
    siren_image img = test_image(14, 10, 1);
    siren_config cfg = small_cfg();
    siren_inpaint_opts io = siren_inpaint_opts_default();
    io.keep_frac = 0.4;
    io.prior = SIREN_INPAINT_PRIOR_TV;
    io.prior_weight = 1e-3;
    io.prior_points = 33;
    siren_train_opts opt = small_opt(25);
    opt.batch = 20; /* minibatches of the kept pixels too */
    siren_net *one = NULL, *init = NULL;
    siren_fit_result r;
    siren_inpaint_result ir;
    siren_train_opts o0 = opt;
    o0.steps = 0;
    int ok = siren_fit_image_inpaint(&img, &io, &cfg, &opt, &one, &r, &ir) == SIREN_OK &&
             siren_fit_image_inpaint(&img, &io, &cfg, &o0, &init, &r, &ir) == SIREN_OK;
    group g;
    memset(&g, 0, sizeof g);
    g.count = 2;
    pthread_barrier_init(&g.bar, NULL, 2);
    shard_job jobs[2];
    for (int k = 0; k < 2; k++) {
        jobs[k] = (shard_job){&g, k, &img, io, cfg, opt, NULL, SIREN_OK};
        jobs[k].opt.shard_rank = k;
        jobs[k].opt.shard_count = 2;
        jobs[k].opt.reduce = barrier_reduce;
        jobs[k].opt.reduce_user = &jobs[k];
    }
    int got = 0;
    /* OpenMP's threads (they outlive the fit, as ranks would) */
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        got = omp_get_num_threads();
        if (got == 2) {
            shard_job *j = &jobs[omp_get_thread_num()];
            siren_fit_result rr;
            siren_inpaint_result ii;
            j->st = siren_fit_image_inpaint(j->img, &j->io, &j->cfg, &j->opt, &j->net,
                                            &rr, &ii);
        }
    }
    pthread_barrier_destroy(&g.bar);
    if (got != 2) {
        printf("# skip shards: no second OpenMP thread\n");
    } else {
        ok = ok && !jobs[0].st && !jobs[1].st && same_params(jobs[0].net, jobs[1].net);
        double d = 0, u = 0;
        if (ok) {
            const float *pa = siren_net_params(jobs[0].net), *pb = siren_net_params(one),
                        *p0 = siren_net_params(init);
            for (size_t i = 0; i < siren_net_param_count(one); i++) {
                d = fmax(d, fabs((double)pa[i] - pb[i]));
                u = fmax(u, fabs((double)pa[i] - p0[i]));
            }
        }
        CHECK(ok && d <= 1e-3 * u,
              "two data-parallel shards end with the same parameters, within %.1e of "
              "one process's update (%.1e)", d / u, 1e-3);
    }
    siren_net_free(jobs[0].net);
    siren_net_free(jobs[1].net);
    siren_net_free(one);
    siren_net_free(init);
    siren_image_free(&img);
}

int main(void) {
    test_hess_derivs(2, 1, 16, 2, 30, 30, SIREN_ACT_SINE, 2);
    test_hess_derivs(2, 1, 16, 2, 30, 30, SIREN_ACT_SINE, 1);
    test_hess_derivs(3, 2, 12, 1, 10, 20, SIREN_ACT_SINE, 2);
    test_hess_derivs(2, 3, 10, 2, 1, 1, SIREN_ACT_TANH, 1);
    test_hess_param_grads(2, 1, 12, 2, 30, 30, SIREN_ACT_SINE, 2);
    test_hess_param_grads(3, 2, 10, 1, 15, 30, SIREN_ACT_SINE, 1);
    test_hess_param_grads(2, 2, 10, 1, 1, 1, SIREN_ACT_TANH, 2);
    for (int th = 1; th <= 2; th++) {
        test_inpaint_loss_grads(SIREN_INPAINT_PRIOR_TV, 1, th);
        test_inpaint_loss_grads(SIREN_INPAINT_PRIOR_HESSIAN, 1, th);
    }
    test_inpaint_loss_grads(SIREN_INPAINT_PRIOR_TV, 3, 2);
    test_inpaint_loss_grads(SIREN_INPAINT_PRIOR_HESSIAN, 2, 1);
    test_keep();
    test_fit();
    test_resume();
    test_shards();
    TEST_DONE();
}

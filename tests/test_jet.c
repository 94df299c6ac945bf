/* Exact input derivatives (src/net/jet.c, gradnet.c) against independent
 * references:
 *   - central finite differences of a double-precision forward written here
 *     (first and second derivatives, several depths, widths, omega_0 and
 *     each activation);
 *   - parameter gradients of losses on grad Phi, lapl Phi and the per-axis
 *     second derivatives against central differences of those losses,
 *     computed by a per-point double-precision jet written here from the
 *     chain rule (itself checked against finite differences first);
 *   - the PyTorch float64 golden vectors (tests/data/testvectors);
 *   - ReLU networks have a zero Laplacian, exactly.
 *
 * Tolerances. float32 rounds every sine argument omega*z with a relative
 * error of eps = 2^-24 ~ 6e-8, an absolute error of about eps*|omega z| in
 * the phase; each derivative order multiplies the phase by omega again but
 * also the magnitude, so errors stay relative to each tensor's largest
 * magnitude: a few eps times the number of rounding steps (the depth and
 * the dot products' length sqrt(width)). We allow
 *     tol(order k) = 2^(4+3k) * eps * (layers + 2) * sqrt(width),
 * relative to the largest magnitude of the tensor (~1e-5 for values and ~1e-3
 * for second derivatives at width 32, as the golden vectors' README says). */
#include <math.h>
#include <string.h>

#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "net/jet.h"
#include "net/net.h"
#include "netref.h"
#include "testhelp.h"

#define MAXW 64
#define MAXD 6

/* Per-point forward-mode jet in double: value y[m], J[m][d] = dy/dx_j,
 * H[m][d] = d2y/dx_j2, propagated by the chain rule one point at a time
 * (no channel stacking, no GEMM): the reference for src/net/jet.c. */
static void ref_jet(const siren_net *net, const double *p, const double *x,
                    double *y, double *J, double *H) {
    const int d = net->dims[0], L = net->n_linear;
    double h[MAXW], hj[MAXW][MAXD], hh[MAXW][MAXD];
    double z[MAXW], zj[MAXW][MAXD], zh[MAXW][MAXD];
    for (int i = 0; i < d; i++) {
        h[i] = x[i];
        for (int j = 0; j < d; j++) {
            hj[i][j] = i == j;
            hh[i][j] = 0;
        }
    }
    int din = d;
    for (int l = 0; l < L; l++) {
        const int dout = net->dims[l + 1];
        const double *W = p + net->w_off[l], *b = p + net->b_off[l];
        for (int o = 0; o < dout; o++) {
            z[o] = b[o];
            for (int j = 0; j < d; j++) zj[o][j] = zh[o][j] = 0;
            for (int i = 0; i < din; i++) {
                double wv = W[(size_t)o * din + i];
                z[o] += wv * h[i];
                for (int j = 0; j < d; j++) {
                    zj[o][j] += wv * hj[i][j];
                    zh[o][j] += wv * hh[i][j];
                }
            }
        }
        for (int o = 0; o < dout; o++) {
            if (l == L - 1) {
                h[o] = z[o];
                for (int j = 0; j < d; j++) {
                    hj[o][j] = zj[o][j];
                    hh[o][j] = zh[o][j];
                }
                continue;
            }
            double f, f1, f2;
            ref_act(net->cfg.activation, siren_layer_omega(net, l), z[o], &f, &f1, &f2);
            h[o] = f;
            for (int j = 0; j < d; j++) {
                hj[o][j] = f1 * zj[o][j];
                hh[o][j] = f1 * zh[o][j] + f2 * zj[o][j] * zj[o][j];
            }
        }
        din = dout;
    }
    for (int o = 0; o < din; o++) {
        if (y) y[o] = h[o];
        for (int j = 0; j < d; j++) {
            if (J) J[o * d + j] = hj[o][j];
            if (H) H[o * d + j] = hh[o][j];
        }
    }
}

static siren_net *random_net(int d, int m, int width, int layers, float om0,
                             float om, siren_activation act, uint64_t seed) {
    siren_config c = siren_config_default(d, m);
    c.hidden_features = width;
    c.hidden_layers = layers;
    c.first_omega_0 = om0;
    c.hidden_omega_0 = om;
    c.activation = act;
    siren_net *net = NULL;
    if (siren_net_create(&c, seed, &net) != SIREN_OK) return NULL;
    return net;
}

/* Our float jets against central differences of the double forward, and
 * the double jet against the same differences (so the reference that the
 * parameter-gradient tests rely on is itself checked). */
static void test_input_derivs(int d, int m, int width, int layers, float om0,
                              float om, siren_activation act, int threads) {
    siren_net *net = random_net(d, m, width, layers, om0, om, act, 11 + d + width);
    enum { N = 23 };
    float x[N * MAXD];
    make_points(x, N, d, (unsigned)width);
    float *y = malloc(N * m * sizeof *y), *g = malloc(N * m * d * sizeof *g);
    float *d2 = malloc(N * m * d * sizeof *d2), *lp = malloc(N * m * sizeof *lp);
    float *lp2 = malloc(N * m * sizeof *lp2);
    CHECK(siren_net_eval_derivs(net, x, N, y, g, d2, lp, threads) == SIREN_OK &&
          siren_net_eval_derivs(net, x, N, NULL, NULL, NULL, lp2, threads) == SIREN_OK,
          "eval_derivs runs");
    double *p = params_double(net);
    double emax[3] = {0}, vmax[3] = {0}, rmax[3] = {0}, lerr = 0, lmax = 0;
    for (int i = 0; i < N; i++) {
        double xd[MAXD], yr[8], Jr[8 * MAXD], Hr[8 * MAXD];
        for (int j = 0; j < d; j++) xd[j] = x[i * d + j];
        ref_jet(net, p, xd, yr, Jr, Hr);
        for (int o = 0; o < m; o++) {
            emax[0] = fmax(emax[0], fabs(y[i * m + o] - yr[o]));
            vmax[0] = fmax(vmax[0], fabs(yr[o]));
            double ls = 0;
            for (int j = 0; j < d; j++) ls += d2[(i * m + o) * d + j];
            lerr = fmax(lerr, fabs(ls - lp[i * m + o]) + fabs(lp2[i * m + o] - lp[i * m + o]));
            lmax = fmax(lmax, fabs(ls));
        }
        for (int j = 0; j < d; j++) {
            /* central differences: h1 for the first derivative (truncation
             * h²ω³/6, rounding 1e-16/h), h2 for the second */
            const double h1 = 1e-5 / fmax(om0, 1), h2 = 1e-3 / fmax(om0, 1);
            double yp[8], ym[8], y2p[8], y2m[8], x2[MAXD];
            memcpy(x2, xd, sizeof x2);
            x2[j] = xd[j] + h1; ref_jet(net, p, x2, yp, NULL, NULL);
            x2[j] = xd[j] - h1; ref_jet(net, p, x2, ym, NULL, NULL);
            x2[j] = xd[j] + h2; ref_jet(net, p, x2, y2p, NULL, NULL);
            x2[j] = xd[j] - h2; ref_jet(net, p, x2, y2m, NULL, NULL);
            for (int o = 0; o < m; o++) {
                double fd1 = (yp[o] - ym[o]) / (2 * h1);
                double fd2 = (y2p[o] - 2 * yr[o] + y2m[o]) / (h2 * h2);
                emax[1] = fmax(emax[1], fabs(g[(i * m + o) * d + j] - fd1));
                vmax[1] = fmax(vmax[1], fabs(fd1));
                emax[2] = fmax(emax[2], fabs(d2[(i * m + o) * d + j] - fd2));
                vmax[2] = fmax(vmax[2], fabs(fd2));
                rmax[1] = fmax(rmax[1], fabs(Jr[o * d + j] - fd1));
                rmax[2] = fmax(rmax[2], fabs(Hr[o * d + j] - fd2));
            }
        }
    }
    const char *an = siren_activation_name(act);
    char tag[128];
    snprintf(tag, sizeof tag, "%s %d->%dx%d->%d omega %g/%g, %d thr", an, d,
             width, layers, m, om0, om, threads);
    CHECK(rmax[1] < 1e-6 * fmax(vmax[1], 1) &&
          (act == SIREN_ACT_RELU || rmax[2] < 1e-4 * fmax(vmax[2], 1)),
          "%s: the double reference jet matches central differences "
          "(grad %.1e, d2 %.1e of %.1e, %.1e)", tag, rmax[1], rmax[2], vmax[1], vmax[2]);
    /* A ReLU network is piecewise linear: its second differences see the
     * kinks inside [x-h, x+h], not the (zero) derivative; checked exactly
     * below instead. */
    for (int k = 0; k < (act == SIREN_ACT_RELU ? 2 : 3); k++) {
        double scale = fmax(vmax[k], 1e-6);
        CHECK(emax[k] <= tol_order(net, k) * scale,
              "%s: order-%d derivatives match central differences in double "
              "(max err %.2e of max |.| %.2e, tol %.1e relative)",
              tag, k, emax[k], vmax[k], tol_order(net, k));
    }
    CHECK(lerr <= tol_order(net, 2) * fmax(lmax, 1e-6),
          "%s: the one-channel Laplacian equals the sum of per-axis second "
          "derivatives (err %.2e)", tag, lerr);
    if (act == SIREN_ACT_RELU) {
        int zero = 1;
        for (int i = 0; i < N * m; i++) zero &= lp[i] == 0.0f && lp2[i] == 0.0f;
        for (int i = 0; i < N * m * d; i++) zero &= d2[i] == 0.0f;
        CHECK(zero, "%s: a ReLU network's Laplacian and second derivatives are "
                    "exactly zero", tag);
    }
    free(p); free(y); free(g); free(d2); free(lp); free(lp2);
    siren_net_free(net);
}

/* The losses the parameter-gradient tests differentiate, from the double
 * jet: values MSE weight a, gradient MSE b, Laplacian MSE c, per-axis
 * second derivatives MSE e; targets fixed. */
typedef struct {
    double a, b, c, e;
} loss_mix;

static double ref_loss(const siren_net *net, const double *p, const float *x,
                       int n, const float *tgt, loss_mix lm) {
    const int d = net->dims[0], m = net->dims[net->n_linear];
    double s = 0;
    for (int i = 0; i < n; i++) {
        double xd[MAXD], y[8], J[8 * MAXD], H[8 * MAXD];
        for (int j = 0; j < d; j++) xd[j] = x[i * d + j];
        ref_jet(net, p, xd, y, J, H);
        for (int o = 0; o < m; o++) {
            double t = tgt[i * m + o], lap = 0;
            s += lm.a * (y[o] - t) * (y[o] - t);
            for (int j = 0; j < d; j++) {
                double tj = 0.3 * t + 0.1 * j;
                s += lm.b * (J[o * d + j] - tj) * (J[o * d + j] - tj);
                s += lm.e * (H[o * d + j] - tj) * (H[o * d + j] - tj);
                lap += H[o * d + j];
            }
            s += lm.c * (lap - 2 * t) * (lap - 2 * t);
        }
    }
    return s / n;
}

/* dLoss/d(output jets) for the same loss, in the jet layout. */
static void loss_gout(const siren_jet_work *w, int n, int d, int m,
                      const float *tgt, loss_mix lm, float *gout) {
    const float *o = w->post[w->n_linear];
    memset(gout, 0, (size_t)w->channels * n * m * sizeof *gout);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m; k++) {
            double t = tgt[i * m + k];
            gout[i * m + k] = (float)(2 * lm.a * (o[i * m + k] - t) / n);
            if (w->mode == SIREN_JET_VALUE) continue;
            for (int j = 0; j < d; j++) {
                double tj = 0.3 * t + 0.1 * j;
                size_t q = ((size_t)(1 + j) * n + i) * m + k;
                gout[q] = (float)(2 * lm.b * (o[q] - tj) / n);
            }
            if (w->mode == SIREN_JET_LAPL) {
                size_t q = ((size_t)(1 + d) * n + i) * m + k;
                gout[q] = (float)(2 * lm.c * (o[q] - 2 * t) / n);
            }
            if (w->mode == SIREN_JET_D2) {
                double lap = 0;
                for (int j = 0; j < d; j++) lap += o[((size_t)(1 + d + j) * n + i) * m + k];
                for (int j = 0; j < d; j++) {
                    double tj = 0.3 * t + 0.1 * j;
                    size_t q = ((size_t)(1 + d + j) * n + i) * m + k;
                    gout[q] = (float)(2 * lm.e * (o[q] - tj) / n +
                                      2 * lm.c * (lap - 2 * t) / n);
                }
            }
        }
}

static void compare_param_grads(const siren_net *net, const float *grad,
                                const float *x, int n, const float *tgt,
                                loss_mix lm, int order, const char *tag) {
    double *p = params_double(net);
    double gmax = 0, err = 0;
    for (size_t k = 0; k < net->n_params; k++) {
        double h = 1e-6 * fmax(1.0, fabs(p[k])), save = p[k];
        p[k] = save + h;
        double lp = ref_loss(net, p, x, n, tgt, lm);
        p[k] = save - h;
        double lmn = ref_loss(net, p, x, n, tgt, lm);
        p[k] = save;
        double fd = (lp - lmn) / (2 * h);
        gmax = fmax(gmax, fabs(fd));
        err = fmax(err, fabs(fd - grad[k]));
    }
    double tol = tol_order(net, order + 1);
    CHECK(err <= tol * gmax,
          "%s: all %zu parameter gradients match central differences of the "
          "double-precision loss (max err %.2e of max |g| %.2e, tol %.1e rel)",
          tag, net->n_params, err, gmax, tol);
    free(p);
}

static void test_param_grads(siren_jet_mode mode, int d, int m, int width,
                             int layers, float om0, float om,
                             siren_activation act, int threads) {
    siren_net *net = random_net(d, m, width, layers, om0, om, act, 5 + width + d);
    enum { N = 17 };
    float x[N * MAXD], tgt[N * 8];
    make_points(x, N, d, 3);
    for (int i = 0; i < N * m; i++) tgt[i] = (float)cos(0.9 * i);
    loss_mix lm = {0.7, 0, 0, 0};
    int order = 0;
    if (mode == SIREN_JET_GRAD) { lm.b = 1e-2; order = 1; }
    if (mode == SIREN_JET_LAPL) { lm.b = 1e-3; lm.c = 1e-5; order = 2; }
    if (mode == SIREN_JET_D2) { lm.b = 1e-3; lm.c = 1e-6; lm.e = 1e-5; order = 2; }
    siren_jet_work *w;
    CHECK(siren_jet_work_create(net, mode, N, threads, &w) == SIREN_OK, "jet work");
    float *gout = malloc((size_t)w->channels * N * m * sizeof *gout);
    float *grad = malloc(net->n_params * sizeof *grad);
    siren_jet_forward(net, w, x, N);
    loss_gout(w, N, d, m, tgt, lm, gout);
    siren_jet_backward(net, w, N, gout, grad);
    const char *names[] = {"value", "grad", "lapl", "d2"};
    char tag[160];
    snprintf(tag, sizeof tag, "jet %s loss, %s %d->%dx%d->%d omega %g/%g, %d thr",
             names[mode], siren_activation_name(act), d, width, layers, m, om0,
             om, threads);
    compare_param_grads(net, grad, x, N, tgt, lm, order, tag);
    free(gout); free(grad);
    siren_jet_work_free(w);
    siren_net_free(net);
}

/* ------------------------------------------------------------- goldens */

static double max_rel(const double *ref, const float *ours, size_t n) {
    double m = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs(ref[i]));
        e = fmax(e, fabs(ref[i] - ours[i]));
    }
    return m > 0 ? e / m : e;
}

static void test_golden(const char *name) {
    char mp[256], ep[256];
    snprintf(mp, sizeof mp, "tests/data/testvectors/%s.model.safetensors", name);
    snprintf(ep, sizeof ep, "tests/data/testvectors/%s.expected.safetensors", name);
    siren_net *net;
    siren_st_file *f;
    if (siren_net_load(mp, &net) != SIREN_OK || siren_st_read(ep, &f) != SIREN_OK) {
        CHECK(0, "%s: golden files load: %s", name, siren_last_error());
        return;
    }
    const siren_st_tensor *tx = siren_st_find(f, "x");
    const int n = (int)tx->shape[0], d = net->cfg.in_features, m = net->cfg.out_features;
    float *x = malloc(n * d * sizeof *x);
    for (int i = 0; i < n * d; i++) x[i] = (float)((const double *)tx->data)[i];
    float *y = malloc(n * m * sizeof *y), *g = malloc(n * m * d * sizeof *g);
    float *d2 = malloc(n * m * d * sizeof *d2), *lp = malloc(n * m * sizeof *lp);
    siren_net_eval_derivs(net, x, n, y, g, d2, lp, 2);
    /* omega 3000 (audio): the phase's float rounding is 3000x larger */
    double k = net->cfg.first_omega_0 > 100 ? 10 : 1;
    double ev = max_rel((const double *)siren_st_find(f, "value")->data, y, n * m);
    double eg = max_rel((const double *)siren_st_find(f, "grad")->data, g, n * m * d);
    double e2 = max_rel((const double *)siren_st_find(f, "d2")->data, d2, n * m * d);
    double el = max_rel((const double *)siren_st_find(f, "lapl")->data, lp, n * m);
    CHECK(ev < 1e-5 * k && eg < 1e-4 * k && e2 < 1e-3 * k && el < 1e-3 * k,
          "%s: values, gradients, per-axis second derivatives and Laplacians "
          "match PyTorch float64 (rel err %.1e %.1e %.1e %.1e)", name, ev, eg, e2, el);

    /* loss gradients: loss_grad through GRAD jets and through the double
     * backward (scalar outputs), loss_lapl through LAPL jets */
    const double *tg = (const double *)siren_st_find(f, "grad_target")->data;
    const double *tl = (const double *)siren_st_find(f, "lapl_target")->data;
    float *grad = malloc(net->n_params * sizeof *grad);
    for (int which = 0; which < 3; which++) {
        if (which == 2 && m != 1) continue;
        siren_jet_mode mode = which == 1 ? SIREN_JET_LAPL : SIREN_JET_GRAD;
        const char *loss = which == 1 ? "loss_lapl" : "loss_grad";
        if (which < 2) {
            siren_jet_work *w;
            siren_jet_work_create(net, mode, n, 2, &w);
            siren_jet_forward(net, w, x, n);
            const float *o = w->post[net->n_linear];
            float *gout = calloc((size_t)w->channels * n * m, sizeof *gout);
            for (int i = 0; i < n; i++)
                for (int q = 0; q < m; q++) {
                    if (mode == SIREN_JET_GRAD) {
                        for (int j = 0; j < d; j++) {
                            size_t a = ((size_t)(1 + j) * n + i) * m + q;
                            gout[a] = (float)(2 * (o[a] - tg[(i * m + q) * d + j]) / (n * m));
                        }
                    } else {
                        size_t a = ((size_t)(1 + d) * n + i) * m + q;
                        gout[a] = (float)(2 * (o[a] - tl[i * m + q]) / (n * m));
                    }
                }
            siren_jet_backward(net, w, n, gout, grad);
            free(gout);
            siren_jet_work_free(w);
        } else {
            siren_grad_work *w;
            const float *yv, *gx;
            siren_grad_work_create(net, n, 2, &w);
            siren_grad_forward(net, w, x, n, &yv, &gx);
            float *gg = malloc(n * d * sizeof *gg);
            double eg2 = 0;
            for (int i = 0; i < n * d; i++) {
                gg[i] = (float)(2 * (gx[i] - tg[i]) / n);
                eg2 = fmax(eg2, fabs(gx[i] - g[i]));
            }
            CHECK(max_rel((const double *)siren_st_find(f, "grad")->data, gx, n * d) < 1e-4 * k,
                  "%s: the double-backward gradient matches PyTorch", name);
            siren_grad_backward(net, w, n, NULL, gg, grad);
            free(gg);
            siren_grad_work_free(w);
        }
        double worst = 0;
        for (int l = 0; l < net->n_linear; l++)
            for (int bias = 0; bias < 2; bias++) {
                char tn[96];
                snprintf(tn, sizeof tn, "%s.d.net.%d.%s%s", loss, l,
                         l < net->n_linear - 1 ? "linear." : "", bias ? "bias" : "weight");
                const siren_st_tensor *t = siren_st_find(f, tn);
                size_t cnt = bias ? (size_t)net->dims[l + 1]
                                  : (size_t)net->dims[l + 1] * net->dims[l];
                if (!t) { worst = INFINITY; continue; }
                /* relative to the largest gradient of the whole loss */
                double e = 0;
                const float *ours = grad + (bias ? net->b_off[l] : net->w_off[l]);
                for (size_t q = 0; q < cnt; q++)
                    e = fmax(e, fabs(((const double *)t->data)[q] - ours[q]));
                worst = fmax(worst, e);
            }
        double gm = 0;
        for (int i = 0; i < siren_st_count(f); i++) {
            const siren_st_tensor *t = siren_st_at(f, i);
            if (strncmp(t->name, loss, strlen(loss)) || !strstr(t->name, ".d.")) continue;
            size_t cnt = 1;
            for (int a = 0; a < t->ndim; a++) cnt *= t->shape[a];
            for (size_t q = 0; q < cnt; q++) gm = fmax(gm, fabs(((const double *)t->data)[q]));
        }
        CHECK(worst <= 1e-3 * k * gm,
              "%s: d %s / d params by %s match PyTorch float64 (max err %.1e of "
              "max |g| %.1e)", name, loss,
              which == 2 ? "double backward" : "jets", worst, gm);
    }
    free(x); free(y); free(g); free(d2); free(lp); free(grad);
    siren_st_free(f);
    siren_net_free(net);
}

int main(void) {
    /* input derivatives: depths, widths, omega_0, activations, threads */
    test_input_derivs(2, 1, 16, 2, 30, 30, SIREN_ACT_SINE, 2);
    test_input_derivs(2, 1, 16, 2, 30, 30, SIREN_ACT_SINE, 1);
    test_input_derivs(3, 2, 12, 1, 10, 20, SIREN_ACT_SINE, 2);
    test_input_derivs(1, 1, 8, 0, 30, 30, SIREN_ACT_SINE, 2);
    test_input_derivs(5, 3, 24, 3, 5, 1, SIREN_ACT_SINE, 2);
    test_input_derivs(2, 3, 10, 2, 1, 1, SIREN_ACT_TANH, 2);
    test_input_derivs(3, 1, 20, 2, 1, 1, SIREN_ACT_RELU, 2);
    /* the plain C sine path beside the SIMD one */
    siren_isa isa = siren_isa_current();
    siren_isa_select(SIREN_ISA_PLAIN);
    test_input_derivs(2, 1, 16, 2, 30, 30, SIREN_ACT_SINE, 2);
    siren_isa_select(isa);

    /* parameter gradients of losses on each kind of jet */
    for (int mode = SIREN_JET_VALUE; mode <= SIREN_JET_D2; mode++) {
        test_param_grads((siren_jet_mode)mode, 2, 1, 12, 2, 30, 30, SIREN_ACT_SINE, 2);
        test_param_grads((siren_jet_mode)mode, 3, 2, 10, 1, 15, 30, SIREN_ACT_SINE, 1);
        test_param_grads((siren_jet_mode)mode, 2, 2, 10, 1, 1, 1, SIREN_ACT_TANH, 2);
    }
    test_param_grads(SIREN_JET_GRAD, 2, 1, 10, 2, 1, 1, SIREN_ACT_RELU, 2);

    test_golden("image_gray");
    test_golden("image_rgb");
    test_golden("sdf");
    test_golden("audio");
    TEST_DONE();
}

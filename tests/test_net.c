/* The network against independent references: parameter gradients against
 * central finite differences of a double-precision forward written here
 * from the formulas (not from src/net), the PyTorch float64 golden vectors,
 * the SLEEF sine paths against the plain C path, Adam against its formula,
 * and reproducibility of training. */
#include <math.h>
#include <string.h>

#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "net/net.h"
#include "testhelp.h"
#include "train/train.h"

/* Reference forward in double: same parameter layout as siren_net. */
static void ref_forward(const siren_net *net, const double *p, const float *x,
                        double *y) {
    double h[512], z[512];
    int din = net->dims[0];
    for (int j = 0; j < din; j++) h[j] = x[j];
    for (int l = 0; l < net->n_linear; l++) {
        int dout = net->dims[l + 1];
        const double *W = p + net->w_off[l], *b = p + net->b_off[l];
        for (int o = 0; o < dout; o++) {
            double s = b[o];
            for (int i = 0; i < din; i++) s += W[(size_t)o * din + i] * h[i];
            z[o] = s;
        }
        for (int o = 0; o < dout; o++)
            h[o] = l < net->n_linear - 1 ? sin(siren_layer_omega(net, l) * z[o]) : z[o];
        din = dout;
    }
    for (int o = 0; o < din; o++) y[o] = h[o];
}

static double ref_loss(const siren_net *net, const double *p, const float *x,
                       const float *t, int n) {
    int m = net->cfg.out_features;
    double y[64], s = 0;
    for (int i = 0; i < n; i++) {
        ref_forward(net, p, x + i * net->cfg.in_features, y);
        for (int o = 0; o < m; o++) s += (y[o] - t[i * m + o]) * (y[o] - t[i * m + o]);
    }
    return s / (n * m);
}

/* in <= 4 / out <= 4 take the fused thin first / last layer paths of
 * src/net, wider ones the GEMM paths; layers = 0 makes the first sine
 * layer also the last. */
static void test_gradients(int threads, int in, int out, int layers) {
    siren_config c = siren_config_default(in, out);
    c.hidden_features = 12;
    c.hidden_layers = layers;
    siren_net *net;
    CHECK(siren_net_create(&c, 7, &net) == SIREN_OK, "create small net");
    enum { N = 37 };
    float x[N * 8], t[N * 8];
    for (int i = 0; i < N * 8; i++) {
        x[i] = (float)sin(1.3 * i + 0.2);
        t[i] = (float)cos(0.7 * i);
    }
    siren_work *w;
    CHECK(siren_work_create(net, N, threads, &w) == SIREN_OK, "work buffers");
    siren_net_forward(net, w, x, N, 1);
    /* Forward against the double reference. */
    double maxd = 0;
    for (int i = 0; i < N; i++) {
        double y[8];
        double *pd = malloc(net->n_params * sizeof *pd);
        for (size_t k = 0; k < net->n_params; k++) pd[k] = net->params[k];
        ref_forward(net, pd, x + in * i, y);
        free(pd);
        for (int o = 0; o < out; o++)
            maxd = fmax(maxd, fabs(y[o] - w->act[net->n_linear][out * i + o]));
    }
    CHECK(maxd < 1e-4, "forward matches the double reference (max diff %.2e, "
          "%d -> %d, %d hidden layers, %d threads)", maxd, in, out, layers, threads);
    float gy[N * 8], *grad = malloc(net->n_params * sizeof *grad);
    for (int i = 0; i < N * out; i++)
        gy[i] = 2.0f * (w->act[net->n_linear][i] - t[i]) / (N * out);
    siren_net_backward(net, w, N, gy, grad);
    double *p = malloc(net->n_params * sizeof *p);
    for (size_t k = 0; k < net->n_params; k++) p[k] = net->params[k];
    double gmax = 0, errmax = 0;
    for (size_t k = 0; k < net->n_params; k++) {
        double h = 1e-6, save = p[k];
        p[k] = save + h;
        double lp = ref_loss(net, p, x, t, N);
        p[k] = save - h;
        double lm = ref_loss(net, p, x, t, N);
        p[k] = save;
        double fd = (lp - lm) / (2 * h);
        gmax = fmax(gmax, fabs(fd));
        errmax = fmax(errmax, fabs(fd - grad[k]));
    }
    CHECK(errmax < 1e-3 * gmax,
          "all %zu parameter gradients match central differences (max err %.2e "
          "of max |g| %.2e, %d -> %d, %d hidden layers, %d threads)",
          net->n_params, errmax, gmax, in, out, layers, threads);
    free(p);
    free(grad);
    siren_work_free(w);
    siren_net_free(net);
}

/* PyTorch float64 golden values: forward values and d loss_value / d param. */
static void test_golden(const char *name) {
    char mp[256], ep[256];
    snprintf(mp, sizeof mp, "tests/data/testvectors/%s.model.safetensors", name);
    snprintf(ep, sizeof ep, "tests/data/testvectors/%s.expected.safetensors", name);
    siren_net *net;
    siren_st_file *f;
    if (siren_net_load(mp, &net) != SIREN_OK) {
        CHECK(0, "%s: load golden model: %s", name, siren_last_error());
        return;
    }
    if (siren_st_read(ep, &f) != SIREN_OK) {
        CHECK(0, "%s: read golden expectations: %s", name, siren_last_error());
        siren_net_free(net);
        return;
    }
    const siren_st_tensor *tx = siren_st_find(f, "x"), *tv = siren_st_find(f, "value"),
                          *tt = siren_st_find(f, "target");
    int n = (int)tx->shape[0], din = net->cfg.in_features, m = net->cfg.out_features;
    float *x = malloc(n * din * sizeof *x), *t = malloc(n * m * sizeof *t);
    float *gy = malloc(n * m * sizeof *gy), *grad = malloc(net->n_params * sizeof *grad);
    for (int i = 0; i < n * din; i++) x[i] = (float)((const double *)tx->data)[i];
    for (int i = 0; i < n * m; i++) t[i] = (float)((const double *)tt->data)[i];
    siren_work *w;
    siren_work_create(net, n, 2, &w);
    siren_net_forward(net, w, x, n, 1);
    const float *y = w->act[net->n_linear];
    double vmax = 0, err = 0;
    for (int i = 0; i < n * m; i++) {
        double e = ((const double *)tv->data)[i];
        vmax = fmax(vmax, fabs(e));
        err = fmax(err, fabs(e - y[i]));
    }
    /* float32 rounds the sine argument omega*z: near 3000 (audio's first
     * layer) its ulp is 2.4e-4, so values agree to ~1e-4 there, 1e-5 else. */
    double rel = net->cfg.first_omega_0 > 100 ? 1e-4 : 1e-5;
    CHECK(err < rel * fmax(vmax, 1e-3),
          "%s: values match PyTorch float64 (max err %.2e, max |v| %.2e)", name, err, vmax);
    for (int i = 0; i < n * m; i++) gy[i] = 2.0f * (y[i] - t[i]) / (n * m);
    siren_net_backward(net, w, n, gy, grad);
    double worst = 0;
    int all = 1;
    for (int l = 0; l < net->n_linear; l++) {
        for (int bias = 0; bias < 2; bias++) {
            char tn[96];
            snprintf(tn, sizeof tn, "loss_value.d.net.%d.%s%s", l,
                     l < net->n_linear - 1 ? "linear." : "", bias ? "bias" : "weight");
            const siren_st_tensor *g = siren_st_find(f, tn);
            if (!g) { all = 0; continue; }
            size_t cnt = bias ? (size_t)net->dims[l + 1]
                              : (size_t)net->dims[l + 1] * net->dims[l];
            const float *ours = grad + (bias ? net->b_off[l] : net->w_off[l]);
            double gm = 0, e = 0;
            for (size_t k = 0; k < cnt; k++) {
                double r = ((const double *)g->data)[k];
                gm = fmax(gm, fabs(r));
                e = fmax(e, fabs(r - ours[k]));
            }
            worst = fmax(worst, gm > 0 ? e / gm : e);
        }
    }
    CHECK(all && worst < 1e-4,
          "%s: every d loss_value / d param matches PyTorch (worst rel err %.2e)",
          name, worst);
    siren_work_free(w);
    free(x); free(t); free(gy); free(grad);
    siren_st_free(f);
    siren_net_free(net);
}

static void test_sine_paths(void) {
    enum { N = 4099 };
    static float z[N], b[N], h0[N], d0[N], h1[N], d1[N];
    siren_sine_row_fn paths[2] = {siren_sine_row_avx2, siren_sine_row_avx512};
    const char *names[2] = {"avx2", "avx512"};
    siren_isa best = siren_isa_best();
    for (int k = 0; k < 2; k++) {
        if ((k == 0 && best < SIREN_ISA_AVX2) || (k == 1 && best < SIREN_ISA_AVX512)) {
            printf("# %s path not run: this CPU lacks it\n", names[k]);
            continue;
        }
        float omegas[3] = {1.0f, 30.0f, 3000.0f};
        double worst = 0;
        for (int o = 0; o < 3; o++) {
            for (int i = 0; i < N; i++) {
                z[i] = (float)(3.0 * sin(0.37 * i * i + i));
                b[i] = (float)(0.5 * cos(1.1 * i));
            }
            memcpy(h0, z, sizeof z);
            memcpy(h1, z, sizeof z);
            /* Odd widths exercise the masked / scalar tails. */
            for (int off = 0; off < N; off += 257) {
                int n = N - off < 257 ? N - off : 257 - (off / 257) % 17;
                siren_sine_row_plain(n, b + off, omegas[o], h0 + off, d0 + off);
                paths[k](n, b + off, omegas[o], h1 + off, d1 + off);
                for (int i = off + n; i < off + 257 && i < N; i++) {
                    h0[i] = h1[i] = 0;
                    d0[i] = d1[i] = 0;
                }
            }
            for (int i = 0; i < N; i++) {
                worst = fmax(worst, fabs(h0[i] - h1[i]));
                worst = fmax(worst, fabs(d0[i] - d1[i]) / omegas[o]);
            }
        }
        CHECK(worst < 3e-7, "%s sine/cos path matches plain C within 3e-7 "
                            "(max diff %.2e, omega 1/30/3000)", names[k], worst);
    }
    if (best < SIREN_ISA_AVX512) return;
    /* The AVX-512 path's own polynomial (|a| <= 8192) against double
     * precision sin/cos, densely around quadrant boundaries (multiples of
     * pi/4) and across its hand-over to SLEEF at 8192. */
    enum { M = 1 << 16 };
    static float a[M], zero[M], hs[M], hc[M];
    double worst = 0;
    for (int i = 0; i < M; i++) {
        double k = (i % 2 ? -1 : 1) * (double)(i / 2 % 10500);
        a[i] = (float)(k * 0.785398163397448 + ((i * 7919) % 201 - 100) * 1e-5);
        if (i % 97 == 0) a[i] = (float)(8192.0 + ((i % 5) - 2) * 0.01);
        zero[i] = 0;
        hs[i] = a[i];
    }
    siren_sine_row_avx512(M, zero, 1.0f, hs, hc);
    for (int i = 0; i < M; i++) {
        worst = fmax(worst, fabs(hs[i] - sin((double)a[i])));
        worst = fmax(worst, fabs(hc[i] - cos((double)a[i])));
    }
    CHECK(worst < 2.5e-7, "avx512 sin/cos within 2.5e-7 of double precision on "
          "|a| <= 8250 at quadrant boundaries (max err %.2e)", worst);
    float nanin[16], one[16] = {0}, nd[16];
    for (int i = 0; i < 16; i++) nanin[i] = i == 3 ? NAN : i == 5 ? INFINITY : 0.5f;
    siren_sine_row_avx512(16, one, 1.0f, nanin, nd);
    CHECK(isnan(nanin[3]) && isnan(nanin[5]) && fabs(nanin[0] - sin(0.5)) < 1e-7,
          "avx512 sin of NaN and infinity is NaN, the rest of the vector exact");
}

static void test_adam(void) {
    siren_adam a;
    enum { N = 5 };
    float p[N] = {1, -2, 0.5f, 3, 0}, g[N];
    double rp[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++) rp[i] = p[i];
    siren_adam_init(&a, N);
    for (int t = 1; t <= 20; t++) {
        for (int i = 0; i < N; i++) g[i] = (float)(sin(t * 0.3 + i) * (i + 1));
        siren_adam_step(&a, p, g, 1e-2f, 0.9f, 0.999f, 1e-8f, 1);
        for (int i = 0; i < N; i++) {
            m[i] = 0.9 * m[i] + 0.1 * g[i];
            v[i] = 0.999 * v[i] + 0.001 * (double)g[i] * g[i];
            double mh = m[i] / (1 - pow(0.9, t)), vh = v[i] / (1 - pow(0.999, t));
            rp[i] -= 1e-2 * mh / (sqrt(vh) + 1e-8);
        }
    }
    double err = 0;
    for (int i = 0; i < N; i++) err = fmax(err, fabs(rp[i] - p[i]));
    CHECK(err < 1e-5, "Adam matches its formula over 20 steps (max err %.2e)", err);
    siren_adam_free(&a);
}

static void test_reproducible(void) {
    siren_image img = {24, 20, 1, NULL};
    img.data = malloc(24 * 20 * sizeof(float));
    for (int i = 0; i < 24 * 20; i++) img.data[i] = (float)(0.5 + 0.4 * sin(i * 0.05));
    siren_config c = siren_config_default(2, 1);
    c.hidden_features = 32;
    c.hidden_layers = 2;
    siren_train_opts o = siren_train_opts_default();
    o.steps = 30;
    o.threads = 2;
    o.seed = 3;
    o.batch = 100;
    siren_net *a, *b, *d;
    siren_fit_result ra, rb, rd;
    siren_fit_image(&img, &c, &o, &a, &ra);
    siren_fit_image(&img, &c, &o, &b, &rb);
    o.seed = 4;
    siren_fit_image(&img, &c, &o, &d, &rd);
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0,
          "same seed and threads give a bit-identical model (minibatch)");
    CHECK(memcmp(a->params, d->params, a->n_params * sizeof(float)) != 0,
          "another seed gives another model");
    CHECK(ra.psnr_db > 0 && isfinite(ra.psnr_db), "minibatch fit reports a PSNR (%.2f dB)",
          ra.psnr_db);
    siren_net_free(a); siren_net_free(b); siren_net_free(d);
    free(img.data);
}

int main(void) {
    test_gradients(1, 2, 2, 2);
    test_gradients(2, 2, 2, 2);
    test_gradients(2, 3, 1, 1);
    test_gradients(2, 6, 5, 2);
    test_gradients(1, 1, 7, 0);
    test_gradients(2, 2, 3, 0);
    test_golden("image_gray");
    test_golden("image_rgb");
    test_golden("sdf");
    test_golden("audio");
    test_sine_paths();
    test_adam();
    test_reproducible();
    TEST_DONE();
}

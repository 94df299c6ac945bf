/* Baseline architectures and initialisations (siren.h: siren_config_arch,
 * siren_encoding, siren_init): every architecture trains a few steps
 * without NaN; values and exact derivatives (jets) match an independent
 * double-precision implementation written here and its central finite
 * differences; a ReLU network's Laplacian is zero; the encoding layer
 * never moves in training; models round-trip through the file format; the
 * initialisations draw the stated distributions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "siren.h"
#include "testhelp.h"

static const char *arch_names[] = {"siren", "relu", "relu-pe", "tanh", "ffn"};

/* The layer widths of a config, as the file format lays them out. */
static int widths(const siren_config *c, int *dims) {
    int enc = c->encoding == SIREN_ENC_PE ? 2 * c->in_features * c->encoding_features
              : c->encoding == SIREN_ENC_FFN ? 2 * c->encoding_features : 0;
    int L = c->hidden_layers + 2 + (enc > 0);
    dims[0] = c->in_features;
    for (int l = 1; l < L; l++) dims[l] = c->hidden_features;
    if (enc) dims[1] = enc;
    dims[L] = c->out_features;
    return L;
}

/* Output o of the network at x, in double, from the parameter block
 * (weight [out][in] then bias, per layer). */
static double ref_eval(const siren_config *c, const float *p, const double *x, int o) {
    int dims[80];
    const int L = widths(c, dims), l0 = c->encoding != SIREN_ENC_NONE;
    double h[1024], z[1024];
    for (int i = 0; i < dims[0]; i++) h[i] = x[i];
    size_t off = 0;
    for (int l = 0; l < L; l++) {
        const int in = dims[l], out = dims[l + 1];
        const float *W = p + off, *b = W + (size_t)in * out;
        off += (size_t)in * out + out;
        for (int j = 0; j < out; j++) {
            double s = b[j];
            for (int k = 0; k < in; k++) s += (double)W[j * in + k] * h[k];
            z[j] = s;
        }
        if (l == L - 1) return z[o];
        for (int j = 0; j < out; j++) {
            if (l < l0) h[j] = sin(z[j]); /* the encoding: sin(1 * (Wx + b)) */
            else if (c->activation == SIREN_ACT_SINE)
                h[j] = sin((l == l0 ? c->first_omega_0 : c->hidden_omega_0) * z[j]);
            else if (c->activation == SIREN_ACT_RELU) h[j] = z[j] > 0 ? z[j] : 0;
            else h[j] = tanh(z[j]);
        }
    }
    return NAN;
}

static siren_config small_cfg(const char *arch, int d) {
    siren_config c = siren_config_default(d, 2);
    c.hidden_features = 24;
    c.hidden_layers = 2;
    siren_config_arch(&c, arch);
    c.encoding_features = c.encoding == SIREN_ENC_PE ? 3 : c.encoding == SIREN_ENC_FFN ? 8 : 0;
    c.ff_scale = 1.0f;
    return c;
}

static void test_derivatives(void) {
    for (int d = 2; d <= 3; d++)
        for (size_t a = 0; a < sizeof arch_names / sizeof *arch_names; a++) {
            siren_config c = small_cfg(arch_names[a], d);
            siren_net *net;
            if (siren_net_create(&c, 11 + a, &net)) {
                CHECK(0, "%s: create: %s", arch_names[a], siren_last_error());
                continue;
            }
            const float *p = siren_net_params(net);
            enum { N = 6 };
            float x[N * 3], y[N * 2], g[N * 2 * 3], d2[N * 2 * 3], lap[N * 2];
            for (int i = 0; i < N * d; i++) x[i] = (float)(0.9 * sin(1.7 * i + d));
            siren_status st = siren_net_eval_derivs(net, x, N, y, g, d2, lap, 1);
            double ev = 0, eg = 0, e2 = 0, scale_g = 1e-3, scale_2 = 1e-3;
            int checked = 0, kinks = 0;
            const double h = 1e-4;
            for (int i = 0; i < N && !st; i++)
                for (int o = 0; o < 2; o++) {
                    double xd[3];
                    for (int k = 0; k < d; k++) xd[k] = x[i * d + k];
                    double f0 = ref_eval(&c, p, xd, o);
                    ev = fmax(ev, fabs(f0 - y[i * 2 + o]));
                    for (int j = 0; j < d; j++) {
                        /* central differences at h and h/2: where they
                         * disagree a ReLU kink lies within h, and a
                         * difference across it is no derivative: skipped */
                        double gj[2], sj[2];
                        for (int k = 0; k < 2; k++) {
                            double hk = k ? h / 2 : h, xp[3], xm[3];
                            memcpy(xp, xd, sizeof xd);
                            memcpy(xm, xd, sizeof xd);
                            xp[j] += hk;
                            xm[j] -= hk;
                            double fp = ref_eval(&c, p, xp, o), fm = ref_eval(&c, p, xm, o);
                            gj[k] = (fp - fm) / (2 * hk);
                            sj[k] = (fp - 2 * f0 + fm) / (hk * hk);
                        }
                        checked++;
                        if (fabs(gj[0] - gj[1]) > 1e-6 * (1 + fabs(gj[0])) ||
                            fabs(sj[0] - sj[1]) > 1e-3 * (1 + fabs(sj[0]))) {
                            kinks++;
                            continue;
                        }
                        scale_g = fmax(scale_g, fabs(gj[0]));
                        scale_2 = fmax(scale_2, fabs(sj[0]));
                        eg = fmax(eg, fabs(gj[0] - g[(i * 2 + o) * d + j]));
                        e2 = fmax(e2, fabs(sj[0] - d2[(i * 2 + o) * d + j]));
                    }
                }
            CHECK(!st && ev < 1e-4 && eg / scale_g < 1e-3 && e2 / scale_2 < 2e-3 &&
                      kinks * 4 <= checked,
                  "%s, d = %d: values and exact first and second derivatives match a "
                  "double-precision network and its finite differences (value %.1e, "
                  "grad %.1e, d2 %.1e relative; %d of %d next to a ReLU kink skipped)",
                  arch_names[a], d, ev, eg / scale_g, e2 / scale_2, kinks, checked);
            if (c.activation == SIREN_ACT_RELU && c.encoding == SIREN_ENC_NONE) {
                double mx = 0;
                for (int i = 0; i < N * 2; i++) mx = fmax(mx, fabs(lap[i]));
                for (int i = 0; i < N * 2 * d; i++) mx = fmax(mx, fabs(d2[i]));
                CHECK(mx == 0, "%s, d = %d: the Laplacian and every second derivative "
                      "are exactly 0", arch_names[a], d);
            }
            siren_net_free(net);
        }
}

static void test_train_and_files(void) {
    /* a small image of a disc */
    enum { S = 24 };
    siren_image img = {S, S, 1, malloc(sizeof(float) * S * S)};
    for (int r = 0; r < S; r++)
        for (int q = 0; q < S; q++)
            img.data[r * S + q] = hypot(r - 11.5, q - 9.0) < 7 ? 0.9f : 0.2f;
    char path[64];
    snprintf(path, sizeof path, "/tmp/siren_test_arch_%d.safetensors", (int)getpid());
    for (size_t a = 0; a < sizeof arch_names / sizeof *arch_names; a++) {
        siren_config c = siren_config_default(2, 1);
        c.hidden_features = 32;
        siren_config_arch(&c, arch_names[a]);
        siren_train_opts opt = siren_train_opts_default();
        opt.steps = 30;
        opt.lr = 1e-3f;
        opt.threads = 1;
        siren_net *net, *back = NULL;
        siren_fit_result res;
        siren_status st = siren_fit_image(&img, &c, &opt, &net, &res);
        CHECK(!st && isfinite(res.loss) && isfinite(res.psnr_db) && res.psnr_db > 10,
              "%s trains 30 steps without NaN: PSNR %.2f dB", arch_names[a],
              st ? NAN : res.psnr_db);
        if (st) continue;
        /* the encoding is fixed: layer 0 as siren_net_create drew it */
        if (c.encoding != SIREN_ENC_NONE) {
            siren_net *fresh;
            siren_config fc = *siren_net_config(net);
            siren_net_create(&fc, opt.seed, &fresh);
            int dims[80];
            fc.encoding_features = fc.encoding == SIREN_ENC_PE ? 4 : 256;
            widths(&fc, dims);
            size_t n0 = (size_t)dims[1] * dims[0] + dims[1];
            CHECK(!memcmp(siren_net_params(net), siren_net_params(fresh), n0 * sizeof(float)) &&
                      memcmp(siren_net_params(net) + n0, siren_net_params(fresh) + n0,
                             (siren_net_param_count(net) - n0) * sizeof(float)),
                  "%s: the encoding layer (%zu parameters) is unchanged by training, the "
                  "rest moved", arch_names[a], n0);
            siren_net_free(fresh);
        }
        char an[32];
        st = siren_net_save(net, path);
        if (!st) st = siren_net_load(path, &back);
        int same = !st && siren_net_param_count(back) == siren_net_param_count(net) &&
                   !memcmp(siren_net_params(back), siren_net_params(net),
                           siren_net_param_count(net) * sizeof(float)) &&
                   !strcmp(siren_config_arch_name(siren_net_config(back), an), arch_names[a]);
        float xy[4] = {0.3f, -0.2f, -0.7f, 0.5f}, y1[2], y2[2];
        if (same) {
            siren_net_eval(net, xy, 2, y1, 1);
            siren_net_eval(back, xy, 2, y2, 1);
            same = !memcmp(y1, y2, sizeof y1);
        }
        CHECK(same, "%s: saved and loaded, the same parameters, architecture and values%s%s",
              arch_names[a], st ? ": " : "", st ? siren_last_error() : "");
        siren_net_free(back);
        siren_net_free(net);
    }
    unlink(path);
    free(img.data);
}

static void test_inits(void) {
    /* weights of a 512 -> 512 layer: mean ~ 0, the stated spread */
    const struct { const char *name; double sd, bound; } want[] = {
        {"xavier-uniform", sqrt(6.0 / 1024) / sqrt(3.0), sqrt(6.0 / 1024)},
        {"xavier-normal", sqrt(2.0 / 1024), 0},
        {"kaiming-uniform", sqrt(6.0 / 512) / sqrt(3.0), sqrt(6.0 / 512)},
        {"kaiming-normal", sqrt(2.0 / 512), 0},
        {"normal", 0.05, 0},
        {"siren", sqrt(6.0 / 512) / 30 / sqrt(3.0), sqrt(6.0 / 512) / 30},
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        siren_config c = siren_config_default(2, 1);
        c.hidden_features = 512;
        c.hidden_layers = 1;
        c.init_first = c.init_hidden = (siren_init)siren_init_parse(want[k].name);
        c.init_std = 0.05f;
        siren_net *net;
        if (siren_net_create(&c, 5, &net)) continue;
        /* layer 1: after W0 (512 x 2) and b0 (512) */
        const float *W = siren_net_params(net) + 512 * 2 + 512;
        double s = 0, s2 = 0, mx = 0;
        const size_t n = 512 * 512;
        for (size_t i = 0; i < n; i++) {
            s += W[i];
            s2 += (double)W[i] * W[i];
            mx = fmax(mx, fabs(W[i]));
        }
        double mean = s / n, sd = sqrt(s2 / n - mean * mean);
        CHECK(fabs(mean) < 0.02 * want[k].sd * 10 && fabs(sd / want[k].sd - 1) < 0.02 &&
                  (want[k].bound == 0 || mx <= want[k].bound),
              "init %s: mean %.2g, std %.4g (stated %.4g)%s", want[k].name, mean, sd,
              want[k].sd, want[k].bound ? ", inside its bound" : "");
        siren_net_free(net);
    }
    siren_config c = siren_config_default(2, 1);
    CHECK(siren_config_arch(&c, "mlp") == SIREN_EINVAL && siren_init_parse("he") == -1,
          "unknown architectures and initialisations are refused");
    c.encoding = SIREN_ENC_PE;
    c.encoding_features = 31;
    siren_net *net;
    CHECK(siren_net_create(&c, 0, &net) == SIREN_EINVAL,
          "31 positional-encoding frequencies are refused (2^30 pi is past float)");
}

static void test_tuner(void) {
    siren_config c = siren_config_default(2, 1);
    c.hidden_features = 64;
    c.init_first = SIREN_INIT_TUNER;
    c.tuner_period = 2.1f;
    c.tuner_bandlimit = 20;
    siren_net *net;
    if (siren_net_create(&c, 3, &net)) {
        CHECK(0, "tuner: create: %s", siren_last_error());
        return;
    }
    const float *W = siren_net_params(net);
    int integral = 1, in_band = 1, distinct = 1;
    for (int r = 0; r < 64; r++)
        for (int j = 0; j < 2; j++) {
            double k = W[r * 2 + j] * 30.0 * 2.1 / (2 * M_PI);
            integral &= fabs(k - round(k)) < 1e-3;
            in_band &= fabs(k) <= 20 + 1e-3;
        }
    for (int r = 0; r < 64; r++)
        for (int q = 0; q < r; q++)
            if (W[r * 2] == W[q * 2] && W[r * 2 + 1] == W[q * 2 + 1]) distinct = 0;
    CHECK(integral && in_band && distinct, "tuner: first-layer rows are 2 pi k / p with "
          "distinct integer k inside the band limit");
    /* p-periodic: the same values at x and x + p along each axis */
    enum { N = 16 };
    float x[N * 2], xs[N * 2], y[N], ys[N];
    double worst = 0;
    for (int axis = 0; axis < 2; axis++) {
        for (int i = 0; i < N; i++) {
            x[2 * i] = (float)(0.8 * sin(i + 1.0));
            x[2 * i + 1] = (float)(0.8 * cos(2.0 * i));
            xs[2 * i] = x[2 * i] + (axis == 0 ? 2.1f : 0);
            xs[2 * i + 1] = x[2 * i + 1] + (axis == 1 ? 2.1f : 0);
        }
        siren_net_eval(net, x, N, y, 1);
        siren_net_eval(net, xs, N, ys, 1);
        for (int i = 0; i < N; i++) worst = fmax(worst, fabs(y[i] - ys[i]));
    }
    CHECK(worst < 1e-3, "tuner: the network is p-periodic along each axis (largest "
          "difference %.2g at x and x + p)", worst);
    siren_net_free(net);

    /* --freeze-first: training leaves layer 0 exactly as drawn */
    enum { S = 16 };
    siren_image img = {S, S, 1, malloc(sizeof(float) * S * S)};
    for (int i = 0; i < S * S; i++) img.data[i] = (float)((i * 7) % 11) / 10.0f;
    c.freeze_first = 1;
    c.tuner_period = 0;
    c.tuner_bandlimit = 0;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 20;
    opt.threads = 1;
    siren_fit_result res;
    siren_status st = siren_fit_image(&img, &c, &opt, &net, &res);
    if (!st) {
        siren_config fc = *siren_net_config(net);
        fc.tuner_period = 2.0f * S / (S - 1);
        fc.tuner_bandlimit = S / 4; /* the image fit's default: half Nyquist */
        siren_net *fresh;
        siren_net_create(&fc, opt.seed, &fresh);
        size_t n0 = 64 * 2 + 64;
        CHECK(!memcmp(siren_net_params(net), siren_net_params(fresh), n0 * sizeof(float)) &&
                  memcmp(siren_net_params(net) + n0, siren_net_params(fresh) + n0, 64),
              "freeze_first: 20 steps leave the first layer bit for bit as drawn, and "
              "move the rest");
        siren_net_free(fresh);
        siren_net_free(net);
    } else {
        CHECK(0, "freeze_first fit: %s", siren_last_error());
    }
    free(img.data);
    /* --bound-hidden and --l1 act on the hidden-to-hidden weights only */
    {
        siren_config bc = siren_config_default(2, 1);
        bc.hidden_features = 32;
        siren_image im = {S, S, 1, malloc(sizeof(float) * S * S)};
        for (int i = 0; i < S * S; i++) im.data[i] = (float)((i * 5) % 13) / 12.0f;
        siren_train_opts o = siren_train_opts_default();
        o.steps = 30;
        o.threads = 1;
        o.lr = 1e-3f;
        o.bound_hidden = 0.02f;
        siren_net *bn;
        siren_status bs = siren_fit_image(&im, &bc, &o, &bn, &res);
        double mx = 0, first = 0;
        int zeros = 0;
        if (!bs) {
            const float *P = siren_net_params(bn);
            /* layers: 2->32, 32->32 x3, 32->1; hidden-to-hidden are 1..3 */
            size_t off = 2 * 32 + 32;
            for (int l = 1; l <= 3; l++, off += 32 * 32 + 32)
                for (int i = 0; i < 32 * 32; i++) mx = fmax(mx, fabs(P[off + i]));
            for (int i = 0; i < 64; i++) first = fmax(first, fabs(P[i]));
            siren_net_free(bn);
        }
        CHECK(!bs && mx <= 0.02f && mx > 0.019, "bound_hidden 0.02: after training every "
              "hidden-to-hidden weight is within the bound (largest %.4f)", mx);
        CHECK(!bs && first > 0.1, "bound_hidden leaves the first layer alone (largest "
              "first-layer weight %.4f)", first);
        o.bound_hidden = 0;
        o.l1 = 0.3f;
        bs = siren_fit_image(&im, &bc, &o, &bn, &res);
        if (!bs) {
            const float *P = siren_net_params(bn);
            size_t off = 2 * 32 + 32;
            for (int l = 1; l <= 3; l++, off += 32 * 32 + 32)
                for (int i = 0; i < 32 * 32; i++) zeros += P[off + i] == 0.0f;
            siren_net_free(bn);
        }
        CHECK(!bs && zeros > 100 && zeros < 3 * 32 * 32, "l1 0.3: %d of the 3072 hidden-to-hidden weights are "
              "exactly 0 after 30 steps", zeros);
        free(im.data);
    }
    c = siren_config_default(2, 1);
    c.init_hidden = SIREN_INIT_TUNER;
    CHECK(siren_net_create(&c, 0, &net) == SIREN_EINVAL, "tuner for hidden layers is refused");
    c = siren_config_default(2, 1);
    c.init_first = SIREN_INIT_TUNER;
    siren_config_arch(&c, "relu");
    c.init_first = SIREN_INIT_TUNER;
    CHECK(siren_net_create(&c, 0, &net) == SIREN_EINVAL, "tuner for a ReLU network is refused");
}

/* TUNER's add-prune step: only high-set units change, the weakest first,
 * to distinct integer frequencies in the band; their outgoing columns and
 * Adam's moments are zeroed, so the output is the network's with those
 * units pruned. */
static void test_add_prune(void) {
    siren_config c = siren_config_default(2, 1);
    c.hidden_features = 48;
    c.hidden_layers = 2;
    c.init_first = SIREN_INIT_TUNER;
    c.tuner_period = 2.1f;
    c.tuner_bandlimit = 12;
    siren_net *net;
    if (siren_net_create(&c, 9, &net)) {
        CHECK(0, "add-prune: create: %s", siren_last_error());
        return;
    }
    const int H = 48, d = 2;
    float *P = siren_net_params(net);
    const size_t np = siren_net_param_count(net);
    const size_t w1 = (size_t)H * d + H; /* layer 1's weight (H, H) after W0, b0 */
    /* weaken four high-set units' outgoing columns: they must go first */
    const double scale = 2 * M_PI / 2.1 / 30.0;
    int weak[4], nw = 0;
    for (int j = H - 1; j >= 0 && nw < 4; j--) {
        const double k0 = P[j * d] / scale, k1 = P[j * d + 1] / scale;
        if (fabs(k0) <= 2 && fabs(k1) <= 2) continue; /* the low box here is K = 2 */
        weak[nw++] = j;
        for (int r = 0; r < H; r++) P[w1 + (size_t)r * H + j] *= 1e-3f;
    }
    float *before = malloc(np * sizeof *before), *m = malloc(np * sizeof *m),
          *v = malloc(np * sizeof *v);
    memcpy(before, P, np * sizeof *before);
    for (size_t i = 0; i < np; i++) m[i] = v[i] = 1;
    enum { N = 32 };
    float x[N * 2], y0[N], y1[N];
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)(0.9 * sin(1.3 * i));
        x[2 * i + 1] = (float)(0.9 * cos(0.7 * i));
    }
    /* what it must compute afterwards: this network with the weak units'
     * outgoing columns zeroed (their frequencies then do not matter) */
    siren_net *ref;
    siren_net_create(&c, 9, &ref);
    float *R = siren_net_params(ref);
    memcpy(R, P, np * sizeof *R);
    for (int q = 0; q < nw; q++)
        for (int r = 0; r < H; r++) R[w1 + (size_t)r * H + weak[q]] = 0;
    siren_net_eval(ref, x, N, y0, 1);
    siren_net_free(ref);
    siren_rng rng;
    siren_rng_seed(&rng, 5);
    const int changed = siren_net_tuner_resample(net, 4, &rng, m, v);
    siren_net_eval(net, x, N, y1, 1);
    double dy = 0;
    for (int i = 0; i < N; i++) dy = fmax(dy, fabs(y1[i] - y0[i]));
    int only_weak = 1, integral = 1, zeroed = 1, moments = 1, distinct = 1, moved = 0;
    for (int j = 0; j < H; j++) {
        int is_weak = 0;
        for (int q = 0; q < nw; q++) is_weak |= weak[q] == j;
        const int same = P[j * d] == before[j * d] && P[j * d + 1] == before[j * d + 1];
        if (!is_weak && !same) only_weak = 0;
        if (!is_weak) continue;
        moved += !same;
        for (int i = 0; i < d; i++) {
            const double k = P[j * d + i] / scale;
            integral &= fabs(k - round(k)) < 1e-3 && fabs(k) <= 12 + 1e-3;
            moments &= m[j * d + i] == 0 && v[j * d + i] == 0;
        }
        for (int r = 0; r < H; r++) {
            zeroed &= P[w1 + (size_t)r * H + j] == 0;
            moments &= m[w1 + (size_t)r * H + j] == 0;
        }
        for (int q = 0; q < H; q++)
            if (q != j && P[q * d] == P[j * d] && P[q * d + 1] == P[j * d + 1]) distinct = 0;
    }
    CHECK(changed == 4 && nw == 4 && moved == 4 && only_weak, "add-prune: the 4 weakest "
          "high-set units, and only they, get new frequencies (%d changed)", changed);
    CHECK(integral && distinct && zeroed && moments, "add-prune: the new frequencies are "
          "integral, in the band and not in use; their outgoing columns and Adam's moments "
          "are 0");
    CHECK(dy < 1e-6, "add-prune: the output is the network's with those units' outgoing "
          "weights zeroed (largest difference %.1e)", dy);
    free(before); free(m); free(v);
    siren_net_free(net);
    /* a fit with it: a SIREN first layer is refused */
    enum { S = 16 };
    siren_image img = {S, S, 1, malloc(sizeof(float) * S * S)};
    for (int i = 0; i < S * S; i++) img.data[i] = (float)((i * 7) % 11) / 10.0f;
    siren_train_opts o = siren_train_opts_default();
    o.steps = 2;
    o.threads = 1;
    o.add_prune_every = 1;
    siren_config plain = siren_config_default(2, 1);
    plain.hidden_features = 16;
    siren_fit_result res;
    siren_status st = siren_fit_image(&img, &plain, &o, &net, &res);
    CHECK(st == SIREN_EINVAL && strstr(siren_last_error(), "TUNER"),
          "add-prune on a SIREN first layer is refused: %s", siren_last_error());
    free(img.data);
}

int main(void) {
    test_tuner();
    test_add_prune();
    test_derivatives();
    test_train_and_files();
    test_inits();
    TEST_DONE();
}

/* The band penalty (siren_train_opts.band_penalty, src/train/band.c):
 * the 1-D projection against cosines in and out of the band; the line
 * estimator's mean against the energies above the band from a 2-D DFT
 * written here (an independent computation: direct sums in double); its
 * gradient against central differences, with a control that must fail;
 * a fit with it against one without, measured by that DFT; and the
 * refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "siren.h"
#include "testhelp.h"
#include "train/train.h"

static void test_projection(void) {
    enum { M = 64, K = 10 };
    float *A = malloc(sizeof(float) * M * M);
    siren_band_projection(M, K, A);
    double in_err = 0, out_err = 0, sym = 0, idem = 0;
    for (int k = 0; k < M / 2; k++) {
        float x[M];
        for (int q = 0; q < M; q++) x[q] = (float)cos(2 * M_PI * k * q / M + 0.3 * k);
        for (int i = 0; i < M; i++) {
            double s = 0;
            for (int j = 0; j < M; j++) s += (double)A[i * M + j] * x[j];
            if (k <= K) in_err = fmax(in_err, fabs(s - x[i]));
            else out_err = fmax(out_err, fabs(s));
        }
    }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++) {
            sym = fmax(sym, fabs(A[i * M + j] - A[j * M + i]));
            double s = 0;
            for (int l = 0; l < M; l++) s += (double)A[i * M + l] * A[l * M + j];
            idem = fmax(idem, fabs(s - A[i * M + j]));
        }
    CHECK(in_err < 1e-5 && out_err < 1e-5, "band projection (M %d, K %d): cosines with k "
          "<= K pass unchanged (worst %.1e), those above vanish (worst %.1e)", M, K,
          in_err, out_err);
    CHECK(sym < 1e-7 && idem < 1e-5, "band projection: symmetric (%.1e) and idempotent "
          "(%.1e)", sym, idem);

    /* highpass over lines: two lines, two channels, known mixtures */
    enum { L = 2, C = 2 };
    float y[L * M * C], h[L * M * C], F[M * L], T[M * L];
    for (int l = 0; l < L; l++)
        for (int q = 0; q < M; q++)
            for (int c = 0; c < C; c++) {
                const double t = 2 * M_PI * q / M;
                y[(l * M + q) * C + c] = (float)(0.5 + cos(3 * t + l) + 0.1 * c * sin(K * t) +
                                                 0.2 * cos((K + 1 + c) * t) +
                                                 0.05 * sin(20 * t + l));
            }
    const double e = siren_band_highpass(M, L, C, A, y, h, F, T);
    double worst = 0, want = 0;
    for (int l = 0; l < L; l++)
        for (int q = 0; q < M; q++)
            for (int c = 0; c < C; c++) {
                const double t = 2 * M_PI * q / M;
                const double hi = 0.2 * cos((K + 1 + c) * t) + 0.05 * sin(20 * t + l);
                worst = fmax(worst, fabs(h[(l * M + q) * C + c] - hi));
                want += hi * hi;
            }
    CHECK(worst < 1e-5 && fabs(e - want) < 1e-4 * want, "band highpass: each line's part "
          "above K, per channel (worst %.1e), and its sum of squares (%.6g vs %.6g)", worst,
          e, want);
    free(A);
}

/* The energies above the band |k| <= K of net over one period p, from its
 * values on an M x M grid by a direct 2-D DFT in double: e[0] at |k_col| >
 * K, e[1] at |k_row| > K, e[2] at either, e[3] the total less the mean
 * (mean squares: Parseval with the 1/M^2 DFT). */
static void dft_energies(const siren_net *net, double p, int M, int K, double e[4]) {
    const size_t n = (size_t)M * M;
    float *x = malloc(n * 2 * sizeof *x), *y = malloc(n * sizeof *y);
    double *re = calloc(n, sizeof *re), *im = calloc(n, sizeof *im);
    double *tr = malloc(n * sizeof *tr), *ti = malloc(n * sizeof *ti);
    for (int r = 0; r < M; r++)
        for (int q = 0; q < M; q++) {
            x[2 * (r * M + q)] = (float)(-1 + p * r / M);
            x[2 * (r * M + q) + 1] = (float)(-1 + p * q / M);
        }
    siren_net_eval(net, x, n, y, 1);
    /* along columns within each row, then along rows */
    for (int r = 0; r < M; r++)
        for (int k = 0; k < M; k++) {
            double sr = 0, si = 0;
            for (int q = 0; q < M; q++) {
                const double a = -2 * M_PI * (double)((k * q) % M) / M;
                sr += y[r * M + q] * cos(a);
                si += y[r * M + q] * sin(a);
            }
            tr[r * M + k] = sr / M;
            ti[r * M + k] = si / M;
        }
    for (int k = 0; k < M; k++)
        for (int c = 0; c < M; c++) {
            double sr = 0, si = 0;
            for (int r = 0; r < M; r++) {
                const double a = -2 * M_PI * (double)((k * r) % M) / M;
                sr += tr[r * M + c] * cos(a) - ti[r * M + c] * sin(a);
                si += tr[r * M + c] * sin(a) + ti[r * M + c] * cos(a);
            }
            re[k * M + c] = sr / M;
            im[k * M + c] = si / M;
        }
    memset(e, 0, 4 * sizeof *e);
    for (int k = 0; k < M; k++)
        for (int c = 0; c < M; c++) {
            const int kr = k <= M / 2 ? k : k - M, kc = c <= M / 2 ? c : c - M;
            const double v = re[k * M + c] * re[k * M + c] + im[k * M + c] * im[k * M + c];
            if (abs(kc) > K) e[0] += v;
            if (abs(kr) > K) e[1] += v;
            if (abs(kc) > K || abs(kr) > K) e[2] += v;
            if (kr || kc) e[3] += v;
        }
    free(x); free(y); free(re); free(im); free(tr); free(ti);
}

static siren_net *tuner_net(int side, int band, uint64_t seed) {
    siren_config c = siren_config_default(2, 1);
    c.hidden_features = 32;
    c.hidden_layers = 2;
    c.init_first = SIREN_INIT_TUNER;
    c.tuner_period = 2.0f * side / (side - 1);
    c.tuner_bandlimit = band;
    siren_net *net = NULL;
    if (siren_net_create(&c, seed, &net)) return NULL;
    return net;
}

static void test_estimator(void) {
    enum { SIDE = 16, K = SIDE / 2, DRAWS = 200, LINES = 4 };
    const double p = 2.0 * SIDE / (SIDE - 1);
    /* a first-layer band of 6: two and more of its frequencies summed
     * reach past K = 8, so there is energy above the band to find */
    siren_net *net = tuner_net(SIDE, 6, 5);
    if (!net) {
        CHECK(0, "band estimator: create: %s", siren_last_error());
        return;
    }
    double e[4];
    dft_energies(net, p, 8 * SIDE, K, e);
    double s = 0, s2 = 0;
    for (int d = 0; d < DRAWS; d++) {
        const double v = siren_band_loss(net, p, SIDE, LINES, 1000 + d, 1, NULL);
        s += v;
        s2 += v * v;
    }
    const double mean = s / DRAWS, se = sqrt((s2 / DRAWS - mean * mean) / (DRAWS - 1));
    const double want = (e[0] + e[1]) / 2;
    CHECK(e[2] > 1e-3 * e[3] && fabs(mean - want) < 4 * se && fabs(mean - want) < 0.05 * want,
          "band estimator: the mean over %d draws of %d rows and columns, %.5g (standard "
          "error %.2g), is (E(|k_col| > K) + E(|k_row| > K)) / 2 = %.5g from a 2-D DFT "
          "(above the band: %.2g%% of the energy)", DRAWS, LINES, mean, se, want,
          100 * e[2] / e[3]);
    siren_net_free(net);
}

static void test_gradient(void) {
    enum { SIDE = 16 };
    const double p = 2.0 * SIDE / (SIDE - 1);
    siren_net *net = tuner_net(SIDE, 6, 7);
    if (!net) {
        CHECK(0, "band gradient: create: %s", siren_last_error());
        return;
    }
    const size_t np = siren_net_param_count(net);
    float *P = siren_net_params(net), *g = malloc(np * sizeof *g);
    const double v = siren_band_loss(net, p, SIDE, 3, 42, 1, g);
    /* the 12 largest components, and 12 spread over the vector */
    size_t idx[24];
    for (int k = 0; k < 12; k++) {
        size_t best = 0;
        for (size_t i = 0; i < np; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++) taken |= idx[j] == i;
            if (!taken && fabsf(g[i]) > fabsf(g[best])) best = i;
        }
        idx[k] = best;
        idx[12 + k] = (size_t)(k + 1) * np / 13;
    }
    double worst = 0, worst_ctl = 0, gmax = fabs(g[idx[0]]);
    for (int k = 0; k < 24; k++) {
        const size_t i = idx[k];
        const float keep = P[i], h = 1e-3f * fmaxf(fabsf(keep), 0.05f);
        P[i] = keep + h;
        const double lp = siren_band_loss(net, p, SIDE, 3, 42, 1, NULL);
        P[i] = keep - h;
        const double lm = siren_band_loss(net, p, SIDE, 3, 42, 1, NULL);
        P[i] = keep;
        const double fd = (lp - lm) / (2.0 * ((double)(keep + h) - keep));
        worst = fmax(worst, fabs(fd - g[i]) / gmax);
        worst_ctl = fmax(worst_ctl, fabs(fd - 1.03 * g[i]) / gmax);
    }
    CHECK(v > 0 && worst < 5e-3, "band gradient: 24 components against central "
          "differences (worst error %.1e of the largest component)", worst);
    CHECK(worst_ctl > 5e-3, "band gradient, control: the gradient 3%% off fails the same "
          "test (%.1e)", worst_ctl);
    free(g);
    siren_net_free(net);
}

static void test_fit(void) {
    enum { S = 16 };
    siren_image img = {S, S, 1, malloc(sizeof(float) * S * S)};
    for (int r = 0; r < S; r++)
        for (int q = 0; q < S; q++)
            img.data[r * S + q] = (float)(0.5 + 0.3 * sin(0.9 * r + 0.4 * q) +
                                          0.15 * ((r * 7 + q * 3) % 5 == 0));
    siren_config c = siren_config_default(2, 1);
    c.hidden_features = 32;
    c.hidden_layers = 2;
    c.init_first = SIREN_INIT_TUNER;
    siren_train_opts o = siren_train_opts_default();
    o.steps = 150;
    o.lr = 1e-3f;
    o.threads = 1;
    double frac[2], psnr[2];
    for (int with = 0; with < 2; with++) {
        o.band_penalty = with ? 10 : 0;
        siren_net *net;
        siren_fit_result res;
        if (siren_fit_image(&img, &c, &o, &net, &res)) {
            CHECK(0, "band fit: %s", siren_last_error());
            free(img.data);
            return;
        }
        double e[4];
        dft_energies(net, siren_net_config(net)->tuner_period, 8 * S, S / 2, e);
        frac[with] = e[2] / e[3];
        psnr[with] = res.psnr_db;
        siren_net_free(net);
    }
    CHECK(frac[1] < 0.1 * frac[0] && psnr[1] > 30, "band fit: with the penalty (10) the "
          "energy above Nyquist falls from %.3g%% to %.3g%% (2-D DFT at 8x), the fit still "
          "%.1f dB (without: %.1f dB)", 100 * frac[0], 100 * frac[1], psnr[1], psnr[0]);

    /* refused: a model with no period, a minibatch */
    siren_config plain = siren_config_default(2, 1);
    plain.hidden_features = 16;
    o.band_penalty = 1;
    o.steps = 1;
    siren_net *net = NULL;
    siren_fit_result res;
    siren_status st = siren_fit_image(&img, &plain, &o, &net, &res);
    CHECK(st == SIREN_EINVAL && !net && strstr(siren_last_error(), "period"),
          "band fit: a SIREN model (no period) is refused: %s", siren_last_error());
    o.batch = 10;
    st = siren_fit_image(&img, &c, &o, &net, &res);
    CHECK(st == SIREN_EINVAL && !net && strstr(siren_last_error(), "full batch"),
          "band fit: a minibatch is refused: %s", siren_last_error());
    free(img.data);
}

int main(void) {
    test_projection();
    test_estimator();
    test_gradient();
    test_fit();
    TEST_DONE();
}

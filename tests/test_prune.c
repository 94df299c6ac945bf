/* Pruning (siren_net_prune): the pruned network keeps exactly the units
 * with the largest outgoing-weight norms (recomputed here), has the
 * parameter count of its width, and computes what the original computes
 * with the other units' outgoing weights zeroed. The group shrink of
 * units (siren_train_opts l1_units) against its formula computed here in
 * double, and a fit with it killing whole units, which pruning then
 * removes without changing the output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "siren.h"
#include "testhelp.h"

static void test_shrink_units(void) {
    siren_config c = siren_config_default(2, 3);
    c.hidden_features = 24;
    c.hidden_layers = 2;
    siren_net *net;
    siren_net_create(&c, 4, &net);
    float *P = siren_net_params(net);
    const size_t np = siren_net_param_count(net);
    float *before = malloc(np * sizeof *before);
    memcpy(before, P, np * sizeof *before);
    /* linear layers 2->24, 24->24 x2, 24->3; a shrink that kills some
     * columns (norms of a SIREN init's 24-row columns: about 0.03) */
    const int dims[5] = {2, 24, 24, 24, 3};
    const float s = 0.028f;
    siren_net_shrink_units(net, s);
    size_t off = 0;
    double worst = 0;
    int dead = 0, first_same = 1;
    for (int l = 0; l < 4; l++) {
        const int in = dims[l], out = dims[l + 1];
        if (l == 0) first_same = !memcmp(P, before, (size_t)(in * out + out) * sizeof(float));
        else
            for (int j = 0; j < in; j++) {
                double n2 = 0;
                for (int i = 0; i < out; i++) n2 += (double)before[off + i * in + j] * before[off + i * in + j];
                const double k = sqrt(n2) > s ? 1 - s / sqrt(n2) : 0;
                dead += k == 0;
                for (int i = 0; i < out; i++)
                    worst = fmax(worst, fabs(P[off + i * in + j] - k * before[off + i * in + j]));
            }
        /* biases untouched */
        for (int i = 0; i < out; i++)
            worst = fmax(worst, fabs(P[off + in * out + i] - before[off + in * out + i]));
        off += (size_t)in * out + out;
    }
    CHECK(first_same && worst < 1e-8 && dead > 0 && dead < 72,
          "shrink_units: every hidden unit's outgoing column scaled by max(0, 1 - s/||col||) "
          "(largest difference %.2g, %d of 72 columns to 0), the first layer and biases untouched",
          worst, dead);
    free(before);
    siren_net_free(net);

    /* a fit with l1_units: whole units die, and pruning them away leaves
     * the output exactly as it was */
    enum { S = 16 };
    siren_image im = {S, S, 1, malloc(sizeof(float) * S * S)};
    for (int i = 0; i < S * S; i++) im.data[i] = (float)((i * 5) % 13) / 12.0f;
    c = siren_config_default(2, 1);
    c.hidden_features = 32;
    siren_train_opts o = siren_train_opts_default();
    o.steps = 40;
    o.threads = 1;
    o.lr = 1e-3f;
    o.l1_units = 2;
    siren_fit_result res;
    siren_status st = siren_fit_image(&im, &c, &o, &net, &res);
    free(im.data);
    CHECK(!st, "fit with l1_units: %s", st ? siren_last_error() : "ok");
    if (st) return;
    /* the fewest dead units of any hidden layer: prune to keep the rest */
    P = siren_net_params(net);
    const int L = 5, dd[6] = {2, 32, 32, 32, 32, 1};
    int least = 32;
    off = (size_t)2 * 32 + 32;
    for (int l = 1; l < L; l++) {
        int d = 0;
        for (int j = 0; j < dd[l]; j++) {
            int zero = 1;
            for (int i = 0; i < dd[l + 1]; i++) zero &= P[off + (size_t)i * dd[l] + j] == 0.0f;
            d += zero;
        }
        if (d < least) least = d;
        off += (size_t)dd[l] * dd[l + 1] + dd[l + 1];
    }
    siren_net *small = NULL;
    if (least > 0) st = siren_net_prune(net, 32 - least, &small);
    double w = INFINITY;
    if (least > 0 && !st) {
        enum { N = 50 };
        float x[2 * N], ya[N], yb[N];
        for (int i = 0; i < 2 * N; i++) x[i] = (float)sin(2.1 * i + 0.3);
        siren_net_eval(net, x, N, ya, 1);
        siren_net_eval(small, x, N, yb, 1);
        w = 0;
        for (int i = 0; i < N; i++) w = fmax(w, fabs(ya[i] - yb[i]));
        siren_net_free(small);
    }
    CHECK(least > 0 && w <= 1e-6, "l1_units 2, 40 steps: at least %d dead units in every "
          "hidden layer; pruning them changes the output by %.2g", least, w);
    siren_net_free(net);
}

int main(void) {
    siren_config c = siren_config_default(2, 3);
    c.hidden_features = 40;
    c.hidden_layers = 2;
    siren_net *net, *small;
    siren_net_create(&c, 9, &net);
    const int H = 40, K = 17, L = 4; /* linear layers: 2->40, 40->40 x2, 40->3 */
    siren_status st = siren_net_prune(net, K, &small);
    CHECK(!st, "prune 40 -> 17 units: %s", st ? siren_last_error() : "ok");
    if (st) TEST_DONE();
    size_t want = (2 * K + K) + 2 * (K * K + K) + (K * 3 + 3);
    CHECK(siren_net_param_count(small) == want && siren_net_config(small)->hidden_features == K,
          "the pruned network has %zu parameters, as 17 units per layer need", want);
    /* the original with the dropped units' outgoing columns zeroed */
    siren_net *zero;
    siren_net_create(&c, 9, &zero);
    float *P = siren_net_params(zero);
    const int dims[5] = {2, H, H, H, 3};
    size_t off[5], o = 0;
    for (int l = 0; l < L; l++) {
        off[l] = o;
        o += (size_t)dims[l + 1] * dims[l] + dims[l + 1];
    }
    int kept_ok = 1;
    for (int l = 0; l < L - 1; l++) {
        const float *Wn = P + off[l + 1];
        const int nout = dims[l + 2];
        double norm[40];
        for (int j = 0; j < H; j++) {
            double s = 0;
            for (int q = 0; q < nout; q++) s += (double)Wn[q * H + j] * Wn[q * H + j];
            norm[j] = sqrt(s);
        }
        /* unit j is kept when fewer than K units rank above it */
        int keep[40];
        for (int j = 0; j < H; j++) {
            int above = 0;
            for (int i = 0; i < H; i++)
                above += norm[i] > norm[j] || (norm[i] == norm[j] && i < j);
            keep[j] = above < K;
        }
        /* the pruned layer's rows are the kept units' rows, in order */
        const float *Wp = siren_net_params(small), *Wo = P + off[l];
        size_t poff = 0;
        for (int q = 0; q < l; q++) {
            int pin = q == 0 ? 2 : K;
            poff += (size_t)K * pin + K;
        }
        int r = 0, pin = l == 0 ? 2 : K;
        for (int j = 0; j < H; j++)
            if (keep[j]) {
                /* compare the first input weight for layer 0, the bias for all */
                if (l == 0) kept_ok &= Wp[poff + r * pin] == Wo[j * dims[l]];
                kept_ok &= Wp[poff + (size_t)K * pin + r] == Wo[(size_t)H * dims[l] + j];
                r++;
            }
        for (int j = 0; j < H; j++)
            if (!keep[j])
                for (int q = 0; q < nout; q++) P[off[l + 1] + (size_t)q * H + j] = 0;
    }
    CHECK(kept_ok, "each layer keeps the 17 units of largest outgoing norm, in order");
    enum { N = 64 };
    float x[N * 2], ya[N * 3], yb[N * 3];
    for (int i = 0; i < N * 2; i++) x[i] = (float)sin(0.37 * i + 0.1);
    siren_net_eval(small, x, N, ya, 1);
    siren_net_eval(zero, x, N, yb, 1);
    double worst = 0, scale = 0;
    for (int i = 0; i < N * 3; i++) {
        worst = fmax(worst, fabs(ya[i] - yb[i]));
        scale = fmax(scale, fabs(yb[i]));
    }
    CHECK(worst <= 1e-5 * (1 + scale), "the pruned network computes the original with the "
          "dropped units zeroed (largest difference %.2g)", worst);
    siren_net *same;
    st = siren_net_prune(net, H, &same);
    CHECK(!st && !memcmp(siren_net_params(same), siren_net_params(net),
                         siren_net_param_count(net) * sizeof(float)),
          "pruning to the full width is the identity");
    if (!st) siren_net_free(same);
    CHECK(siren_net_prune(net, 0, &same) == SIREN_EINVAL &&
              siren_net_prune(net, 41, &same) == SIREN_EINVAL,
          "widths 0 and above the model's are refused");
    siren_net_free(zero);
    siren_net_free(small);
    siren_net_free(net);
    test_shrink_units();
    TEST_DONE();
}

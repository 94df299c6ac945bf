/* The audio task, as the official train_audio.py: time t = linspace(-1, 1,
 * frames) -> samples divided by the signal's largest magnitude, one output
 * per channel (or their mean). The model's metadata keeps the sample rate,
 * the frame count and the scale, so renders come back in the input's
 * units at any rate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "tasks/grid.h"
#include "train/train.h"
#include "util/error.h"

/* t of frame i of n: linspace(-1, 1, n) in float, as the images' grid. */
static float audio_t(size_t i, size_t n) {
    return n > 1 ? -1.0f + 2.0f * (float)i / (float)(n - 1) : 0.0f;
}

siren_status siren_fit_audio(const siren_audio *a, int mix, const siren_config *cfg,
                             const siren_train_opts *opt, siren_net **out,
                             siren_fit_result *res) {
    *out = NULL;
    if (!a->data || a->frames == 0 || a->channels < 1)
        return siren_fail(SIREN_EINVAL, "no samples to fit");
    const size_t n = a->frames, C = (size_t)a->channels, m = mix ? 1 : C;
    float *t = malloc(n * sizeof *t), *y = malloc(n * m * sizeof *y);
    siren_net *net = NULL;
    siren_status st = SIREN_OK;
    if (!t || !y) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu samples", n);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        t[i] = audio_t(i, n);
        if (mix) {
            double s = 0;
            for (size_t c = 0; c < C; c++) s += a->data[i * C + c];
            y[i] = (float)(s / (double)C);
        } else {
            memcpy(y + i * C, a->data + i * C, C * sizeof *y);
        }
    }
    double peak = 0;
    for (size_t i = 0; i < n * m; i++) peak = fmax(peak, fabs(y[i]));
    if (!(peak > 0)) {
        st = siren_fail(SIREN_EINVAL, "the signal is silent (every sample is 0)");
        goto fail;
    }
    for (size_t i = 0; i < n * m; i++) y[i] = (float)(y[i] / peak);
    siren_config c = *cfg;
    c.in_features = 1;
    c.out_features = (int)m;
    char buf[48];
    if ((st = siren_net_create(&c, opt->seed, &net))) goto fail;
    snprintf(buf, sizeof buf, "%d", a->rate);
    if ((st = siren_net_set_meta(net, "task", "audio")) ||
        (st = siren_net_set_meta(net, "sample_rate", buf)))
        goto fail;
    snprintf(buf, sizeof buf, "%zu", n);
    if ((st = siren_net_set_meta(net, "frames", buf))) goto fail;
    snprintf(buf, sizeof buf, "%.9g", peak);
    if ((st = siren_net_set_meta(net, "value_scale", buf)) ||
        (st = siren_net_set_meta(net, "channels", mix && C > 1 ? "mix" : "all")) ||
        (st = siren_net_set_meta(net, "coords", "t = linspace(-1,1,frames)")))
        goto fail;
    /* diverged: the model is the last good state, and the caller gets it */
    st = siren_train_values(net, t, y, n, opt, res);
    if (st && st != SIREN_EDIVERGED) goto fail;
    free(t);
    free(y);
    *out = net;
    return st;
fail:
    free(t);
    free(y);
    siren_net_free(net);
    return st;
}

/* The audio metadata of a model, checked. */
static siren_status audio_meta(const siren_net *net, int *rate, size_t *frames,
                               double *scale) {
    const char *task = siren_net_get_meta(net, "task");
    if (!task || strcmp(task, "audio"))
        return siren_fail(SIREN_EINVAL, "not an audio model (task is %s)",
                          task ? task : "missing");
    double r = siren_meta_num(net, "sample_rate", NAN), f = siren_meta_num(net, "frames", NAN);
    *scale = siren_meta_num(net, "value_scale", NAN);
    if (!(r >= 1 && r <= 1e7) || !(f >= 1 && f <= 1e12) || !(*scale > 0) ||
        net->cfg.in_features != 1)
        return siren_fail(SIREN_EFORMAT, "the model's audio metadata (sample_rate, "
                          "frames, value_scale) is missing or bad");
    *rate = (int)r;
    *frames = (size_t)f;
    return SIREN_OK;
}

siren_status siren_render_audio(const siren_net *net, int rate, int threads,
                                siren_audio *out) {
    memset(out, 0, sizeof *out);
    int r0;
    size_t f0;
    double scale;
    siren_status st = audio_meta(net, &r0, &f0, &scale);
    if (st) return st;
    if (rate <= 0) rate = r0;
    /* the fitted duration, (f0 - 1) / r0 seconds between first and last */
    const double n_d = rate == r0 ? (double)f0 : floor((double)(f0 - 1) * rate / r0) + 1;
    if (!(n_d >= 1) || n_d * net->cfg.out_features > (double)SIREN_MAX_AUDIO_SAMPLES)
        return siren_fail(SIREN_ELIMIT, "%.0f frames at %d Hz exceed the sample limit",
                          n_d, rate);
    const size_t n = (size_t)n_d, m = (size_t)net->cfg.out_features;
    float *t = malloc(n * sizeof *t);
    out->data = malloc(n * m * sizeof *out->data);
    if (!t || !out->data) {
        free(t);
        siren_audio_free(out);
        return siren_fail(SIREN_ENOMEM, "out of memory for %zu frames", n);
    }
    /* frame i at time i / rate, i.e. t = -1 + 2 (i / rate) / ((f0 - 1) / r0) */
    const double span = f0 > 1 ? (double)(f0 - 1) / r0 : 1.0;
    for (size_t i = 0; i < n; i++)
        t[i] = rate == r0 ? audio_t(i, n) : (float)(-1.0 + 2.0 * ((double)i / rate) / span);
    st = siren_net_eval(net, t, n, out->data, threads);
    free(t);
    if (st) {
        siren_audio_free(out);
        return st;
    }
    for (size_t i = 0; i < n * m; i++) out->data[i] = (float)(out->data[i] * scale);
    out->channels = (int)m;
    out->rate = rate;
    out->frames = n;
    return SIREN_OK;
}

siren_status siren_eval_audio(const siren_net *net, const siren_audio *ref, int threads,
                              double *psnr_db, double *snr_db) {
    int r0;
    size_t f0;
    double scale;
    siren_status st = audio_meta(net, &r0, &f0, &scale);
    if (st) return st;
    const size_t m = (size_t)net->cfg.out_features, C = (size_t)ref->channels, n = ref->frames;
    const char *ch = siren_net_get_meta(net, "channels");
    const int mix = ch && !strcmp(ch, "mix");
    if (!(mix ? m == 1 : m == C))
        return siren_fail(SIREN_EINVAL, "the model has %zu output channels, the "
                          "reference %zu", m, C);
    float *t = malloc(n * sizeof *t), *y = malloc(n * m * sizeof *y),
          *r = malloc(n * m * sizeof *r);
    if (!t || !y || !r) {
        free(t); free(y); free(r);
        return siren_fail(SIREN_ENOMEM, "out of memory for %zu frames", n);
    }
    for (size_t i = 0; i < n; i++) {
        t[i] = audio_t(i, n);
        if (mix) {
            double s = 0;
            for (size_t c = 0; c < C; c++) s += ref->data[i * C + c];
            r[i] = (float)(s / (double)C);
        } else {
            memcpy(r + i * C, ref->data + i * C, C * sizeof *r);
        }
    }
    double peak = 0;
    for (size_t i = 0; i < n * m; i++) peak = fmax(peak, fabs(r[i]));
    st = siren_net_eval(net, t, n, y, threads);
    if (!st && !(peak > 0)) st = siren_fail(SIREN_EINVAL, "the reference is silent");
    if (!st) {
        double se = 0, sr = 0;
        for (size_t i = 0; i < n * m; i++) {
            double a = r[i] / peak, b = y[i] * scale / peak;
            se += (a - b) * (a - b);
            sr += a * a;
        }
        double mse = se / (double)(n * m);
        *psnr_db = mse > 0 ? 10 * log10(4 / mse) : INFINITY;
        *snr_db = se > 0 ? 10 * log10(sr / se) : INFINITY;
    }
    free(t); free(y); free(r);
    return st;
}

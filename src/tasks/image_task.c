/* The image task: pixels on the linspace(-1, 1) grid, (row, col), values
 * mapped from [0, 1] to [-1, 1] as the official code's Normalize(0.5, 0.5).
 * The model's metadata records how to map them back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "net/net.h"
#include "tasks/grid.h"
#include "tasks/poisson.h"
#include "train/train.h"
#include "util/error.h"

/* In float arithmetic, as the fitted models' coordinates always were. */
float *siren_image_grid(int width, int height) {
    float *c = malloc((size_t)width * height * 2 * sizeof *c);
    if (!c) return NULL;
    for (int r = 0; r < height; r++) {
        float y = height > 1 ? -1.0f + 2.0f * r / (height - 1) : 0.0f;
        for (int q = 0; q < width; q++) {
            float x = width > 1 ? -1.0f + 2.0f * q / (width - 1) : 0.0f;
            c[((size_t)r * width + q) * 2] = y;
            c[((size_t)r * width + q) * 2 + 1] = x;
        }
    }
    return c;
}

double siren_meta_num(const siren_net *net, const char *key, double dflt) {
    const char *s = siren_net_get_meta(net, key);
    if (!s) return dflt;
    char *end;
    double v = strtod(s, &end);
    return (end != s && *end == 0 && isfinite(v)) ? v : dflt;
}

siren_status siren_fit_image(const siren_image *img, const siren_config *cfg,
                             const siren_train_opts *opt, siren_net **out,
                             siren_fit_result *res) {
    *out = NULL;
    if (img->width < 1 || img->height < 1 || !img->data)
        return siren_fail(SIREN_EINVAL, "image has 0 pixels");
    if (img->channels != 1 && img->channels != 3)
        return siren_fail(SIREN_EINVAL, "image has %d channels (1 or 3 expected)",
                          img->channels);
    siren_config c = *cfg;
    c.in_features = 2;
    c.out_features = img->channels;
    if (c.init_first == SIREN_INIT_TUNER) {
        /* the pixels as one period, the band up to half Nyquist (siren.h) */
        const int side = img->width > img->height ? img->width : img->height;
        if (c.tuner_period == 0 && side > 1) c.tuner_period = 2.0f * side / (side - 1);
        if (c.tuner_bandlimit == 0) c.tuner_bandlimit = side / 4 > 1 ? side / 4 : 1;
    }
    size_t n = (size_t)img->width * img->height;
    siren_net *net = NULL;
    siren_status st = siren_net_create(&c, opt->seed, &net);
    if (st) return st;
    float *coords = siren_image_grid(img->width, img->height);
    float *targets = malloc(n * img->channels * sizeof *targets);
    if (!coords || !targets) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
        goto fail;
    }
    for (size_t i = 0; i < n * img->channels; i++)
        targets[i] = 2.0f * img->data[i] - 1.0f;
    char buf[32];
    snprintf(buf, sizeof buf, "%d", img->width);
    if ((st = siren_net_set_meta(net, "task", "image")) ||
        (st = siren_net_set_meta(net, "image_width", buf)))
        goto fail;
    if (c.init_first == SIREN_INIT_TUNER) {
        /* the period and band the first layer was drawn with (siren spectrum) */
        snprintf(buf, sizeof buf, "%.9g", c.tuner_period);
        if ((st = siren_net_set_meta(net, "tuner_period", buf))) goto fail;
        snprintf(buf, sizeof buf, "%d", c.tuner_bandlimit);
        if ((st = siren_net_set_meta(net, "tuner_bandlimit", buf))) goto fail;
    }
    snprintf(buf, sizeof buf, "%d", img->height);
    if ((st = siren_net_set_meta(net, "image_height", buf)) ||
        (st = siren_net_set_meta(net, "value_scale", "2")) ||
        (st = siren_net_set_meta(net, "value_offset", "-1")) ||
        (st = siren_net_set_meta(net, "coords", "linspace(-1,1) (row, col)")))
        goto fail;
    /* diverged: the model is the last good state, and the caller gets it */
    st = siren_train_values(net, coords, targets, n, opt, res);
    if (st && st != SIREN_EDIVERGED) goto fail;
    free(coords);
    free(targets);
    *out = net;
    return st;
fail:
    free(coords);
    free(targets);
    siren_net_free(net);
    return st;
}

siren_status siren_refit_image(siren_net *net, const siren_image *img,
                               const siren_train_opts *opt, siren_fit_result *res) {
    if (img->width < 1 || img->height < 1 || !img->data)
        return siren_fail(SIREN_EINVAL, "image has 0 pixels");
    if (net->cfg.in_features != 2 || net->cfg.out_features != img->channels)
        return siren_fail(SIREN_EINVAL, "the model maps %d inputs to %d outputs; the "
                          "image has 2 coordinates and %d channels", net->cfg.in_features,
                          net->cfg.out_features, img->channels);
    const size_t n = (size_t)img->width * img->height;
    float *coords = siren_image_grid(img->width, img->height);
    float *targets = malloc(n * img->channels * sizeof *targets);
    siren_status st = SIREN_OK;
    char buf[32];
    if (!coords || !targets) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
        goto done;
    }
    for (size_t i = 0; i < n * img->channels; i++) targets[i] = 2.0f * img->data[i] - 1.0f;
    snprintf(buf, sizeof buf, "%d", img->width);
    if ((st = siren_net_set_meta(net, "image_width", buf))) goto done;
    snprintf(buf, sizeof buf, "%d", img->height);
    if ((st = siren_net_set_meta(net, "image_height", buf))) goto done;
    st = siren_train_values(net, coords, targets, n, opt, res);
done:
    free(coords);
    free(targets);
    return st;
}

/* The grid a 2-input model is rendered on, after checking model and size. */
static siren_status render_grid(const siren_net *net, int width, int height,
                                float **coords) {
    *coords = NULL;
    if (net->cfg.in_features != 2)
        return siren_fail(SIREN_EINVAL,
                          "model has %d inputs; an image needs 2 (row, col)",
                          net->cfg.in_features);
    if (width < 1 || height < 1 ||
        (size_t)width * height > SIREN_MAX_IMAGE_PIXELS)
        return siren_fail(SIREN_EINVAL, "size %dx%d is not in 1x1 .. %zu pixels",
                          width, height, (size_t)SIREN_MAX_IMAGE_PIXELS);
    *coords = siren_image_grid(width, height);
    if (!*coords)
        return siren_fail(SIREN_ENOMEM, "out of memory for %dx%d", width, height);
    return SIREN_OK;
}

siren_status siren_render_values(const siren_net *net, int width, int height,
                                 int threads, float *out) {
    float *c;
    siren_status st = render_grid(net, width, height, &c);
    if (st) return st;
    st = siren_net_eval(net, c, (size_t)width * height, out, threads);
    free(c);
    return st;
}

siren_status siren_render_derivs(const siren_net *net, int width, int height,
                                 int threads, float *value, float *grad,
                                 float *lapl) {
    float *c;
    siren_status st = render_grid(net, width, height, &c);
    if (st) return st;
    st = siren_net_eval_derivs(net, c, (size_t)width * height,
                                            value, grad, NULL, lapl, threads);
    free(c);
    return st;
}

siren_status siren_render_image(const siren_net *net, int width, int height,
                                int threads, siren_image *dst) {
    dst->data = NULL;
    int ch = net->cfg.out_features;
    if (ch != 1 && ch != 3)
        return siren_fail(SIREN_EINVAL,
                          "model has %d outputs; an image needs 1 or 3", ch);
    if (width < 1 || height < 1 ||
        (size_t)width * height > SIREN_MAX_IMAGE_PIXELS)
        return siren_fail(SIREN_EINVAL, "size %dx%d is not in 1x1 .. %zu pixels",
                          width, height, (size_t)SIREN_MAX_IMAGE_PIXELS);
    float *v = malloc((size_t)width * height * ch * sizeof *v);
    if (!v) return siren_fail(SIREN_ENOMEM, "out of memory for %dx%d", width, height);
    siren_status st = siren_render_values(net, width, height, threads, v);
    if (st) { free(v); return st; }
    double scale = siren_meta_num(net, "value_scale", 2.0);
    double offset = siren_meta_num(net, "value_offset", -1.0);
    if (scale == 0) scale = 2.0;
    /* Laplacian fits also store the harmonic polynomials their derivatives
     * cannot see (poisson_task.c): "value_null" = "degree k_0 k_1 ...". */
    int degree = 0;
    double k[2 * SIREN_POISSON_MAX_DEGREE + 1] = {0}, phi[2 * SIREN_POISSON_MAX_DEGREE + 1];
    const char *nl = siren_net_get_meta(net, "value_null");
    if (nl) {
        int used = 0;
        if (sscanf(nl, "%d%n", &degree, &used) != 1 || degree < 0 ||
            degree > SIREN_POISSON_MAX_DEGREE)
            degree = 0;
        const char *p = nl + used;
        for (int a = 0; a < 1 + 2 * degree; a++) {
            char *end;
            k[a] = strtod(p, &end);
            if (end == p || !isfinite(k[a])) { degree = 0; break; }
            p = end;
        }
    }
    for (int r = 0; r < height; r++) {
        double u = siren_grid_coord(r, height);
        for (int q = 0; q < width; q++) {
            double x = siren_grid_coord(q, width);
            double h = 0;
            if (degree > 0) {
                siren_poisson_null_basis(u, x, degree, phi);
                for (int a = 1; a < 1 + 2 * degree; a++) h += k[a] * phi[a];
            }
            for (int c = 0; c < ch; c++) {
                size_t i = ((size_t)r * width + q) * ch + c;
                float p = (float)((v[i] - offset - h) / scale);
                v[i] = p < 0 ? 0 : p > 1 ? 1 : p;
            }
        }
    }
    dst->width = width;
    dst->height = height;
    dst->channels = ch;
    dst->data = v;
    return SIREN_OK;
}

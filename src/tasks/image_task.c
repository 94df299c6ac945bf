/* The image task: pixels on the linspace(-1, 1) grid, (row, col), values
 * mapped from [0, 1] to [-1, 1] as the official code's Normalize(0.5, 0.5).
 * The model's metadata records how to map them back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "tasks/grid.h"
#include "tasks/poisson.h"
#include "train/train.h"
#include "util/error.h"
#include "util/rng.h"

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

/* The image model before training: cfg's in/out features set from img,
 * drawn from seed, with the metadata that maps it back to the image. */
static siren_status image_net(const siren_image *img, const siren_config *cfg,
                              uint64_t seed, siren_net **out) {
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
    siren_net *net = NULL;
    siren_status st = siren_net_create(&c, seed, &net);
    if (st) return st;
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
    *out = net;
    return SIREN_OK;
fail:
    siren_net_free(net);
    return st;
}

/* The values fit, or with opt->band_penalty the band-limited one over
 * the model's period (a TUNER model's; others have none). */
static siren_status train_image(siren_net *net, const siren_image *img,
                                const float *coords, const float *targets,
                                const siren_train_opts *opt, siren_fit_result *res) {
    const size_t n = (size_t)img->width * img->height;
    if (opt->band_penalty == 0) return siren_train_values(net, coords, targets, n, opt, res);
    const int side = img->width > img->height ? img->width : img->height;
    return siren_train_band(net, coords, targets, n, siren_meta_num(net, "tuner_period", 0),
                            side, opt, res);
}

siren_status siren_fit_image(const siren_image *img, const siren_config *cfg,
                             const siren_train_opts *opt, siren_net **out,
                             siren_fit_result *res) {
    siren_net *net = NULL;
    siren_status st = image_net(img, cfg, opt->seed, &net);
    *out = NULL;
    if (st) return st;
    size_t n = (size_t)img->width * img->height;
    float *coords = siren_image_grid(img->width, img->height);
    float *targets = malloc(n * img->channels * sizeof *targets);
    if (!coords || !targets) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
        goto fail;
    }
    for (size_t i = 0; i < n * img->channels; i++)
        targets[i] = 2.0f * img->data[i] - 1.0f;
    /* diverged: the model is the last good state, and the caller gets it */
    st = train_image(net, img, coords, targets, opt, res);
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
    st = train_image(net, img, coords, targets, opt, res);
done:
    free(coords);
    free(targets);
    return st;
}

/* ------------------------------------------------------------ inpainting */

siren_inpaint_opts siren_inpaint_opts_default(void) {
    siren_inpaint_opts o;
    memset(&o, 0, sizeof o);
    o.keep_frac = 0.1;
    o.prior = SIREN_INPAINT_PRIOR_NONE;
    o.prior_weight = 1;
    o.prior_points = 0;
    return o;
}

siren_status siren_inpaint_keep(const siren_image *img, const siren_inpaint_opts *io,
                                uint64_t seed, unsigned char *keep, size_t *kept) {
    if (img->width < 1 || img->height < 1)
        return siren_fail(SIREN_EINVAL, "image has 0 pixels");
    const size_t n = (size_t)img->width * img->height;
    size_t k = 0;
    if (io->mask) {
        const siren_image *mk = io->mask;
        if (mk->width != img->width || mk->height != img->height)
            return siren_fail(SIREN_EINVAL, "the mask is %dx%d and the image %dx%d: "
                              "a mask must have the image's size", mk->width,
                              mk->height, img->width, img->height);
        if (mk->channels < 1 || !mk->data)
            return siren_fail(SIREN_EINVAL, "the mask has no pixels");
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (int c = 0; c < mk->channels; c++) s += mk->data[i * mk->channels + c];
            keep[i] = s >= 0.5 * mk->channels;
            k += keep[i];
        }
        if (k == 0)
            return siren_fail(SIREN_EINVAL, "the mask keeps no pixels (white = kept; "
                              "every pixel is below 0.5)");
    } else {
        const double f = io->keep_frac;
        if (!(f > 0 && f <= 1))
            return siren_fail(SIREN_EINVAL, "keep fraction %g: need 0 < f <= 1", f);
        k = (size_t)llround(f * (double)n);
        if (k < 1) k = 1;
        if (k > n) k = n;
        /* the first k of a partial Fisher-Yates shuffle, from a stream of
         * its own: the same pixels whatever the prior or the steps */
        size_t *idx = malloc(n * sizeof *idx);
        if (!idx) return siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
        siren_rng rng;
        siren_rng_seed(&rng, seed ^ 0x1a9a1e7e5eedull);
        for (size_t i = 0; i < n; i++) idx[i] = i;
        memset(keep, 0, n);
        for (size_t i = 0; i < k; i++) {
            const size_t j = i + (size_t)siren_rng_below(&rng, n - i), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            keep[idx[i]] = 1;
        }
        free(idx);
    }
    if (kept) *kept = k;
    return SIREN_OK;
}

static siren_status set_meta_num(siren_net *net, const char *key, double v) {
    char buf[40];
    snprintf(buf, sizeof buf, "%.9g", v);
    return siren_net_set_meta(net, key, buf);
}

siren_status siren_fit_image_inpaint(const siren_image *img,
                                     const siren_inpaint_opts *io,
                                     const siren_config *cfg,
                                     const siren_train_opts *opt, siren_net **out,
                                     siren_fit_result *res, siren_inpaint_result *ir) {
    *out = NULL;
    memset(ir, 0, sizeof *ir);
    ir->psnr_kept_db = ir->data_loss = ir->prior_loss = NAN;
    const char *pname = siren_inpaint_prior_name(io->prior);
    if (!pname) return siren_fail(SIREN_EINVAL, "unknown prior %d", (int)io->prior);
    if (io->prior != SIREN_INPAINT_PRIOR_NONE &&
        !(io->prior_weight >= 0 && isfinite(io->prior_weight)))
        return siren_fail(SIREN_EINVAL, "prior weight %g: need a finite number >= 0",
                          io->prior_weight);
    siren_net *net = NULL;
    siren_status st = image_net(img, cfg, opt->seed, &net);
    if (st) return st;
    const size_t n = (size_t)img->width * img->height;
    const int ch = img->channels;
    unsigned char *keep = malloc(n);
    float *grid = siren_image_grid(img->width, img->height);
    float *targets = malloc(n * ch * sizeof *targets), *kx = NULL, *kt = NULL;
    float *y = malloc(n * ch * sizeof *y);
    size_t k = 0;
    if (!keep || !grid || !targets || !y) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
        goto fail;
    }
    if ((st = siren_inpaint_keep(img, io, opt->seed, keep, &k))) goto fail;
    kx = malloc(k * 2 * sizeof *kx);
    kt = malloc(k * ch * sizeof *kt);
    if (!kx || !kt) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", k);
        goto fail;
    }
    for (size_t i = 0; i < n * ch; i++) targets[i] = 2.0f * img->data[i] - 1.0f;
    /* the kept pixels in raster order, however they were chosen */
    for (size_t i = 0, j = 0; i < n; i++) {
        if (!keep[i]) continue;
        memcpy(kx + 2 * j, grid + 2 * i, 2 * sizeof *kx);
        memcpy(kt + j * ch, targets + i * ch, ch * sizeof *kt);
        j++;
    }
    const size_t np = io->prior == SIREN_INPAINT_PRIOR_NONE ? 0
                      : io->prior_points ? io->prior_points
                      : (n / 2 ? n / 2 : 1);
    if ((st = set_meta_num(net, "keep_frac", (double)k / (double)n)) ||
        (st = set_meta_num(net, "kept", (double)k)) ||
        (st = siren_net_set_meta(net, "kept_from", io->mask ? "mask" : "random")) ||
        (st = siren_net_set_meta(net, "prior", pname)))
        goto fail;
    if (np && ((st = set_meta_num(net, "prior_weight", io->prior_weight)) ||
               (st = set_meta_num(net, "prior_points", (double)np))))
        goto fail;
    double terms[2];
    st = siren_train_inpaint(net, kx, kt, k, n, io->prior, io->prior_weight, np, opt,
                             res, terms);
    if (st && st != SIREN_EDIVERGED) goto fail;
    ir->kept = k;
    ir->pixels = n;
    ir->prior_points = np;
    ir->data_loss = terms[0];
    ir->prior_loss = np ? terms[1] : 0;
    ir->psnr_kept_db = res->psnr_db;
    /* the honest number: every pixel, most of them never seen */
    siren_status es = siren_net_eval(net, grid, n, y, opt->threads);
    if (es) {
        st = es;
        goto fail;
    }
    res->psnr_db = siren_psnr(y, targets, n * ch, 2.0);
    free(keep); free(grid); free(targets); free(kx); free(kt); free(y);
    *out = net;
    return st;
fail:
    free(keep); free(grid); free(targets); free(kx); free(kt); free(y);
    siren_net_free(net);
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

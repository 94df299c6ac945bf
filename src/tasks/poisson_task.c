/* Poisson image tasks: fit a SIREN to an image's gradients (grad), its
 * Laplacian (lapl), or to a blend of two images' gradients (compose, Poisson
 * image editing), never to its values; then read the image back from the
 * network up to what the derivatives cannot see.
 *
 * Targets. The official code multiplies the [-1, 1] image by 10 and takes
 * scipy's Sobel (gradients), or by 1e4 and takes scipy's 5-point Laplacian
 * (Laplacian), in pixel units, for square images. We write the same targets
 * as s times the image's derivatives in the network's coordinate units, so
 * that both axes agree for any aspect ratio and the network converges to
 * Phi = s img' + (what the derivatives cannot see):
 *   grad: t_axis = s (n_axis - 1)/2 · sobel_axis(img') / 8,
 *         s = 160 / (max(W, H) - 1)           (square n: t = 10 sobel)
 *   lapl: t = s Σ_axis ((n_axis - 1)/2)² · [1, -2, 1]_axis(img'),
 *         s = 4e4 / (max(W, H) - 1)²           (square n: t = 1e4 laplace)
 * Null space. Gradients fix Phi up to a constant; the Laplacian only up to
 * a harmonic function, which the interior cannot pin down and the image's
 * borders barely do. We remove the harmonic polynomials of degree <= 4
 * (1, then Re and Im of (row + i col)^k, k = 1..4: 9 functions) for lapl,
 * the constant for grad and compose. Both are fitted by least squares
 * against the image after training and stored in the model ("value_null"),
 * so `siren render` shows the image, and `siren eval` removes them again
 * against its reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "tasks/diffops.h"
#include "tasks/grid.h"
#include "tasks/poisson.h"
#include "train/train.h"
#include "util/error.h"

double siren_poisson_scale(const char *task, int width, int height) {
    int n = width > height ? width : height;
    if (n < 2) return 1.0;
    if (strcmp(task, "lapl") == 0) return 4e4 / ((double)(n - 1) * (n - 1));
    return 160.0 / (n - 1);
}

/* [1, -2, 1] along one axis with scipy's 'reflect' edges (the border pixel
 * repeated), stride `step` between neighbours, n of them. */
static float second_diff(const float *p, size_t i, int n, size_t step) {
    float c = p[0];
    float lo = i > 0 ? p[-(ptrdiff_t)step] : c;
    float hi = (int)i + 1 < n ? p[step] : c;
    return lo - 2 * c + hi;
}

siren_status siren_poisson_targets(const float *gray, int width, int height,
                                   double s, float *grad, float *lapl) {
    const size_t n = (size_t)width * height;
    if (grad) {
        float *dr = malloc(n * sizeof *dr), *dc = malloc(n * sizeof *dc);
        if (!dr || !dc) {
            free(dr); free(dc);
            return siren_fail(SIREN_ENOMEM, "out of memory for %dx%d gradients",
                              width, height);
        }
        siren_sobel(gray, width, height, dr, dc);
        const double kr = s * (height - 1) / 16.0, kc = s * (width - 1) / 16.0;
        for (size_t i = 0; i < n; i++) {
            grad[2 * i] = (float)(kr * dr[i]);
            grad[2 * i + 1] = (float)(kc * dc[i]);
        }
        free(dr);
        free(dc);
    }
    if (lapl) {
        const double kr = s * 0.25 * (height - 1) * (height - 1);
        const double kc = s * 0.25 * (width - 1) * (width - 1);
        for (int r = 0; r < height; r++)
            for (int c = 0; c < width; c++) {
                size_t i = (size_t)r * width + c;
                double v = kr * second_diff(gray + i, r, height, width) +
                           kc * second_diff(gray + i, c, width, 1);
                lapl[i] = (float)v;
            }
    }
    return SIREN_OK;
}

int siren_poisson_null_degree(const char *task) {
    return strcmp(task, "lapl") == 0 ? 4 : 0;
}

void siren_poisson_null_basis(double u, double v, int degree, double *phi) {
    double re = 1, im = 0;
    phi[0] = 1;
    for (int k = 1; k <= degree; k++) {
        double r2 = re * u - im * v, i2 = re * v + im * u;
        re = r2;
        im = i2;
        phi[2 * k - 1] = re;
        phi[2 * k] = im;
    }
}

void siren_poisson_null_fit(const float *e, int width, int height, int degree,
                            double *coef) {
    enum { MAXB = 2 * SIREN_POISSON_MAX_DEGREE + 1 };
    const int nb = 1 + 2 * degree;
    double G[MAXB][MAXB + 1] = {{0}}, phi[MAXB];
    for (int r = 0; r < height; r++)
        for (int q = 0; q < width; q++) {
            siren_poisson_null_basis(siren_grid_coord(r, height), siren_grid_coord(q, width), degree, phi);
            double x = e[(size_t)r * width + q];
            for (int a = 0; a < nb; a++) {
                for (int b = 0; b < nb; b++) G[a][b] += phi[a] * phi[b];
                G[a][nb] += phi[a] * x;
            }
        }
    /* Gaussian elimination with partial pivoting; a basis function that
     * vanishes on this grid (a 1-pixel-wide image) gets coefficient 0. */
    double scale = 0;
    for (int a = 0; a < nb; a++) scale = fmax(scale, G[a][a]);
    int piv_ok[MAXB];
    for (int c = 0; c < nb; c++) {
        int p = c;
        for (int a = c + 1; a < nb; a++)
            if (fabs(G[a][c]) > fabs(G[p][c])) p = a;
        for (int b = 0; b <= nb; b++) {
            double t = G[c][b];
            G[c][b] = G[p][b];
            G[p][b] = t;
        }
        piv_ok[c] = fabs(G[c][c]) > 1e-12 * scale;
        if (!piv_ok[c]) continue;
        for (int a = c + 1; a < nb; a++) {
            double f = G[a][c] / G[c][c];
            for (int b = c; b <= nb; b++) G[a][b] -= f * G[c][b];
        }
    }
    for (int c = nb - 1; c >= 0; c--) {
        if (!piv_ok[c]) { coef[c] = 0; continue; }
        double x = G[c][nb];
        for (int b = c + 1; b < nb; b++) x -= G[c][b] * coef[b];
        coef[c] = x / G[c][c];
    }
}

/* e minus its null-space fit, summed squared, over the grid. */
static double null_sse(const float *e, int width, int height, int degree,
                       const double *coef) {
    double phi[2 * SIREN_POISSON_MAX_DEGREE + 1], sse = 0;
    for (int r = 0; r < height; r++)
        for (int q = 0; q < width; q++) {
            siren_poisson_null_basis(siren_grid_coord(r, height), siren_grid_coord(q, width), degree, phi);
            double x = e[(size_t)r * width + q];
            for (int a = 0; a < 1 + 2 * degree; a++) x -= coef[a] * phi[a];
            sse += x * x;
        }
    return sse;
}

/* Stores how to read the image back: pixel p in [0, 1] is
 * p = (Phi - value_offset - Σ_a k_a phi_a(row, col)) / value_scale, with
 * "value_null" = "degree k_0 k_1 ... k_2degree" (the constant k_0 is kept
 * in value_offset and written as 0 there). */
static siren_status store_readback(siren_net *net, double s, const double *k,
                                   int degree) {
    char buf[512];
    siren_status st;
    snprintf(buf, sizeof buf, "%.9g", 2 * s);
    if ((st = siren_net_set_meta(net, "value_scale", buf))) return st;
    /* Phi = s (2p - 1) + k0 + ...  =>  offset = k0 - s */
    snprintf(buf, sizeof buf, "%.9g", k[0] - s);
    if ((st = siren_net_set_meta(net, "value_offset", buf))) return st;
    if (degree > 0) {
        int len = snprintf(buf, sizeof buf, "%d 0", degree);
        for (int a = 1; a < 1 + 2 * degree; a++)
            len += snprintf(buf + len, sizeof buf - len, " %.9g", k[a]);
        if ((st = siren_net_set_meta(net, "value_null", buf))) return st;
    }
    snprintf(buf, sizeof buf, "%.9g", s);
    if ((st = siren_net_set_meta(net, "deriv_scale", buf))) return st;
    snprintf(buf, sizeof buf, "%d", degree);
    return siren_net_set_meta(net, "deriv_null_degree", buf);
}

/* Fits Phi to the targets, then the null-space part against `ref` (the
 * [-1, 1] image the reconstruction should match: the input, or for compose
 * the blend of the inputs' values); psnr on request. */
static siren_status fit_common(const char *task, const float *ref, int width,
                               int height, const float *gt, const float *lt,
                               double s, const siren_config *cfg,
                               const siren_train_opts *opt, siren_net **out,
                               siren_fit_result *res, int want_psnr) {
    siren_config c = *cfg;
    c.in_features = 2;
    c.out_features = 1;
    const size_t n = (size_t)width * height;
    siren_net *net = NULL;
    float *coords = NULL, *phi = NULL;
    siren_status st = siren_net_create(&c, opt->seed, &net);
    if (st) return st;
    coords = siren_image_grid(width, height);
    phi = malloc(n * sizeof *phi);
    if (!coords || !phi) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
        goto fail;
    }
    char buf[32];
    if ((st = siren_net_set_meta(net, "task", task))) goto fail;
    snprintf(buf, sizeof buf, "%d", width);
    if ((st = siren_net_set_meta(net, "image_width", buf))) goto fail;
    snprintf(buf, sizeof buf, "%d", height);
    if ((st = siren_net_set_meta(net, "image_height", buf)) ||
        (st = siren_net_set_meta(net, "coords", "linspace(-1,1) (row, col)")))
        goto fail;
    /* diverged: the model is the last good state, and the caller gets it */
    const siren_status trained = siren_train_derivs(net, coords, gt, lt, n, opt, res);
    if ((st = trained) && trained != SIREN_EDIVERGED) goto fail;
    if ((st = siren_net_eval(net, coords, n, phi, opt->threads))) goto fail;
    const int degree = siren_poisson_null_degree(task);
    for (size_t i = 0; i < n; i++) phi[i] = (float)(ref[i] - phi[i] / s);
    double k[2 * SIREN_POISSON_MAX_DEGREE + 1], ks[2 * SIREN_POISSON_MAX_DEGREE + 1];
    siren_poisson_null_fit(phi, width, height, degree, k);
    double sse = null_sse(phi, width, height, degree, k);
    res->psnr_db = want_psnr ? (sse > 0 ? 10 * log10(4.0 / (sse / n)) : INFINITY) : NAN;
    /* ref - Phi/s = Σ k_a phi_a  =>  Phi = s ref - s Σ k_a phi_a */
    for (int a = 0; a < 1 + 2 * degree; a++) ks[a] = -s * k[a];
    if ((st = store_readback(net, s, ks, degree))) goto fail;
    free(coords);
    free(phi);
    *out = net;
    return trained;
fail:
    free(coords);
    free(phi);
    siren_net_free(net);
    return st;
}

static siren_status gray_of(const siren_image *img, float **g) {
    *g = NULL;
    if (!img || img->width < 2 || img->height < 2 || !img->data)
        return siren_fail(SIREN_EINVAL, "image must be at least 2x2 pixels");
    if (img->channels != 1 && img->channels != 3)
        return siren_fail(SIREN_EINVAL, "image has %d channels (1 or 3 expected)",
                          img->channels);
    size_t n = (size_t)img->width * img->height;
    *g = malloc(n * sizeof **g);
    if (!*g) return siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
    siren_image_gray(img, *g);
    for (size_t i = 0; i < n; i++) (*g)[i] = 2.0f * (*g)[i] - 1.0f;
    return SIREN_OK;
}

static siren_status fit_one(const char *task, const siren_image *img,
                            const siren_config *cfg, const siren_train_opts *opt,
                            siren_net **out, siren_fit_result *res) {
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->accuracy = NAN;
    float *g, *t = NULL;
    siren_status st = gray_of(img, &g);
    if (st) return st;
    const int W = img->width, H = img->height, lap = !strcmp(task, "lapl");
    const size_t n = (size_t)W * H;
    const double s = siren_poisson_scale(task, W, H);
    t = malloc(n * (lap ? 1 : 2) * sizeof *t);
    if (!t) st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
    else if (!(st = siren_poisson_targets(g, W, H, s, lap ? NULL : t, lap ? t : NULL)))
        st = fit_common(task, g, W, H, lap ? NULL : t, lap ? t : NULL, s, cfg,
                        opt, out, res, 1);
    free(g);
    free(t);
    return st;
}

siren_status siren_fit_grad(const siren_image *img, const siren_config *cfg,
                            const siren_train_opts *opt, siren_net **net,
                            siren_fit_result *res) {
    return fit_one("grad", img, cfg, opt, net, res);
}

siren_status siren_fit_lapl(const siren_image *img, const siren_config *cfg,
                            const siren_train_opts *opt, siren_net **net,
                            siren_fit_result *res) {
    return fit_one("lapl", img, cfg, opt, net, res);
}

siren_status siren_fit_compose(const siren_image *a, const siren_image *b,
                               const siren_image *mask, const siren_config *cfg,
                               const siren_train_opts *opt, siren_net **out,
                               siren_fit_result *res) {
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->accuracy = NAN;
    if (!a || !b || a->width != b->width || a->height != b->height)
        return siren_fail(SIREN_EINVAL, "the two images differ in size");
    if (mask && (mask->width != a->width || mask->height != a->height))
        return siren_fail(SIREN_EINVAL, "the mask differs in size from the images");
    const int W = a->width, H = a->height;
    const size_t n = (size_t)W * H;
    const double s = siren_poisson_scale("grad", W, H);
    float *ga = NULL, *gb = NULL, *gm = NULL, *ta = NULL, *tb = NULL;
    siren_status st;
    if ((st = gray_of(a, &ga)) || (st = gray_of(b, &gb))) goto done;
    if (mask && (st = gray_of(mask, &gm))) goto done;
    ta = malloc(2 * n * sizeof *ta);
    tb = malloc(2 * n * sizeof *tb);
    if (!ta || !tb) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
        goto done;
    }
    if ((st = siren_poisson_targets(ga, W, H, s, ta, NULL)) ||
        (st = siren_poisson_targets(gb, W, H, s, tb, NULL)))
        goto done;
    /* The blend: with a mask m (white = B), t = m tB + (1 - m) tA, as in
     * seamless cloning; without, each pixel takes the stronger gradient
     * (Pérez et al.'s mixed gradients), so the edges of both survive. ga
     * becomes the same blend of the values, which fixes the constant. */
    for (size_t i = 0; i < n; i++) {
        double w;
        if (gm) {
            w = 0.5 * (gm[i] + 1.0);
        } else {
            double ma = ta[2 * i] * ta[2 * i] + ta[2 * i + 1] * ta[2 * i + 1];
            double mb = tb[2 * i] * tb[2 * i] + tb[2 * i + 1] * tb[2 * i + 1];
            w = mb > ma ? 1.0 : 0.0;
        }
        ta[2 * i] = (float)(w * tb[2 * i] + (1 - w) * ta[2 * i]);
        ta[2 * i + 1] = (float)(w * tb[2 * i + 1] + (1 - w) * ta[2 * i + 1]);
        ga[i] = (float)(w * gb[i] + (1 - w) * ga[i]);
    }
    st = fit_common("compose", ga, W, H, ta, NULL, s, cfg, opt, out, res, 0);
done:
    free(ga); free(gb); free(gm); free(ta); free(tb);
    return st;
}

/* PSNR of a against b with peak = b's max - min (1 when b is flat). */
static double psnr_to_target(const float *a, const float *b, size_t n) {
    double lo = INFINITY, hi = -INFINITY, sse = 0;
    for (size_t i = 0; i < n; i++) {
        double t = b[i], e = a[i] - t;
        lo = fmin(lo, t);
        hi = fmax(hi, t);
        sse += e * e;
    }
    double range = hi > lo ? hi - lo : 1.0;
    return sse > 0 ? 10 * log10(range * range / (sse / n)) : INFINITY;
}

siren_status siren_eval_poisson(const siren_net *net, const siren_image *ref,
                                int threads, siren_poisson_eval *ev) {
    ev->psnr_db = ev->ssim = ev->grad_psnr_db = ev->lapl_psnr_db = NAN;
    const char *task = siren_net_get_meta(net, "task");
    if (!task || (strcmp(task, "grad") && strcmp(task, "lapl") && strcmp(task, "compose")))
        return siren_fail(SIREN_EINVAL, "not a grad, lapl or compose model");
    if (siren_net_config(net)->out_features != 1)
        return siren_fail(SIREN_EINVAL, "a Poisson model has one output");
    const int W = ref->width, H = ref->height;
    const size_t n = (size_t)W * H;
    const double s = siren_meta_num(net, "deriv_scale", siren_poisson_scale(task, W, H));
    int degree = (int)siren_meta_num(net, "deriv_null_degree", siren_poisson_null_degree(task));
    if (degree < 0 || degree > SIREN_POISSON_MAX_DEGREE) degree = siren_poisson_null_degree(task);
    float *g = NULL, *phi = malloc(n * sizeof *phi), *grad = malloc(2 * n * sizeof *grad);
    float *lap = malloc(n * sizeof *lap), *tg = malloc(2 * n * sizeof *tg);
    float *tl = malloc(n * sizeof *tl);
    siren_image a = {W, H, 1, NULL}, b = {W, H, 1, NULL};
    siren_status st = SIREN_OK;
    if (!phi || !grad || !lap || !tg || !tl) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu pixels", n);
        goto done;
    }
    if ((st = gray_of(ref, &g)) ||
        (st = siren_render_derivs(net, W, H, threads, phi, grad, lap)) ||
        (st = siren_poisson_targets(g, W, H, s, tg, tl)))
        goto done;
    /* the reconstruction Phi/s, its null-space part fitted to the reference */
    for (size_t i = 0; i < n; i++) phi[i] = (float)(g[i] - phi[i] / s);
    double k[2 * SIREN_POISSON_MAX_DEGREE + 1], sse = 0, pb[2 * SIREN_POISSON_MAX_DEGREE + 1];
    siren_poisson_null_fit(phi, W, H, degree, k);
    a.data = phi;
    b.data = g;
    for (int r = 0; r < H; r++) {
        for (int q = 0; q < W; q++) {
            size_t i = (size_t)r * W + q;
            siren_poisson_null_basis(siren_grid_coord(r, H), siren_grid_coord(q, W), degree, pb);
            double e = phi[i];
            for (int t = 0; t < 1 + 2 * degree; t++) e -= k[t] * pb[t];
            sse += e * e;
            /* both to [0, 1] for SSIM; the reconstruction clamped as a
             * picture would be */
            double rec = g[i] - e;
            double p = 0.5 * (rec + 1);
            phi[i] = (float)(p < 0 ? 0 : p > 1 ? 1 : p);
            g[i] = 0.5f * (g[i] + 1);
        }
    }
    ev->psnr_db = sse > 0 ? 10 * log10(4.0 / (sse / n)) : INFINITY;
    if ((st = siren_ssim(&a, &b, 1.0, &ev->ssim))) goto done;
    /* both gradient components together */
    ev->grad_psnr_db = psnr_to_target(grad, tg, 2 * n);
    ev->lapl_psnr_db = psnr_to_target(lap, tl, n);
done:
    free(g); free(phi); free(grad); free(lap); free(tg); free(tl);
    return st;
}

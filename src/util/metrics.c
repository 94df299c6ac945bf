/* Image quality metrics: PSNR and mean SSIM, computed in double so they
 * match scikit-image's numbers to ~1e-12 (not just "close"). */
#include <math.h>
#include <stdlib.h>

#include "util/error.h"

double siren_psnr(const float *a, const float *b, size_t n, double range) {
    double sum = 0;
    if (n == 0) return NAN;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        sum += d * d;
    }
    if (sum == 0) return INFINITY;
    return 10.0 * log10(range * range / (sum / (double)n));
}

/* SSIM as skimage.metrics.structural_similarity(gaussian_weights=True,
 * sigma=1.5, use_sample_covariance=False): local means, variances and the
 * covariance come from a separable Gaussian filter (scipy's gaussian_filter,
 * truncate 3.5 -> radius 5, 11 taps, weights normalised to sum 1), and the
 * SSIM map is averaged over the pixels at least 5 from every border.
 *
 * skimage filters the whole image with 'reflect' borders and then crops
 * those 5-pixel borders away. A cropped pixel's 11x11 window lies entirely
 * inside the image, so the border mode never reaches the mean; we therefore
 * only compute the valid region, streaming rows through an 11-row ring of
 * horizontally filtered sums (memory O(11 * width), not O(5 * pixels)). */
#define SSIM_R 5
#define SSIM_TAPS (2 * SSIM_R + 1)

siren_status siren_ssim(const siren_image *a, const siren_image *b,
                        double range, double *ssim) {
    double g[SSIM_TAPS], gsum = 0, total = 0;
    double *ring = NULL;
    int W, H, C, Wo, Ho;
    const double C1 = (0.01 * range) * (0.01 * range);
    const double C2 = (0.03 * range) * (0.03 * range);

    SIREN_ASSERT(a && b && ssim);
    *ssim = NAN;
    if (!a->data || !b->data || a->width != b->width || a->height != b->height ||
        a->channels != b->channels || a->channels < 1)
        return siren_fail(SIREN_EINVAL, "SSIM needs two images of the same size "
                          "and channels (%dx%dx%d vs %dx%dx%d)", a->width,
                          a->height, a->channels, b->width, b->height, b->channels);
    if (!(range > 0))
        return siren_fail(SIREN_EINVAL, "SSIM: data range %g must be positive",
                          range);
    W = a->width;
    H = a->height;
    C = a->channels;
    if (W < SSIM_TAPS || H < SSIM_TAPS)
        return siren_fail(SIREN_EINVAL, "SSIM needs images of at least %dx%d "
                          "pixels (got %dx%d)", SSIM_TAPS, SSIM_TAPS, W, H);
    Wo = W - 2 * SSIM_R;
    Ho = H - 2 * SSIM_R;

    for (int k = 0; k < SSIM_TAPS; k++) {
        double x = k - SSIM_R;
        g[k] = exp(-0.5 / (1.5 * 1.5) * x * x);
        gsum += g[k];
    }
    for (int k = 0; k < SSIM_TAPS; k++) g[k] /= gsum;

    /* ring[(row % 11) * 5 + q] holds Wo horizontally filtered values of
     * q = x, y, x*x, y*y, x*y for that image row */
    ring = malloc((size_t)SSIM_TAPS * 5 * (size_t)Wo * sizeof *ring);
    if (!ring) return siren_fail(SIREN_ENOMEM, "SSIM: out of memory");

    for (int c = 0; c < C; c++) {
        double chan = 0;
        for (int r = 0; r < H; r++) {
            const float *xa = a->data + (size_t)r * (size_t)W * (size_t)C + c;
            const float *xb = b->data + (size_t)r * (size_t)W * (size_t)C + c;
            double *q = ring + (size_t)(r % SSIM_TAPS) * 5 * (size_t)Wo;
            for (int j = 0; j < Wo; j++) {
                double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
                for (int k = 0; k < SSIM_TAPS; k++) {
                    double x = xa[(size_t)(j + k) * (size_t)C];
                    double y = xb[(size_t)(j + k) * (size_t)C];
                    sx += g[k] * x;
                    sy += g[k] * y;
                    sxx += g[k] * (x * x);
                    syy += g[k] * (y * y);
                    sxy += g[k] * (x * y);
                }
                q[j] = sx;
                q[Wo + j] = sy;
                q[2 * (size_t)Wo + j] = sxx;
                q[3 * (size_t)Wo + j] = syy;
                q[4 * (size_t)Wo + j] = sxy;
            }
            if (r < SSIM_TAPS - 1) continue;
            /* rows r-10 .. r are in the ring: SSIM of output row r-5 */
            for (int j = 0; j < Wo; j++) {
                double m[5] = {0, 0, 0, 0, 0};
                for (int k = 0; k < SSIM_TAPS; k++) {
                    const double *p = ring + (size_t)((r - 2 * SSIM_R + k) % SSIM_TAPS) * 5 * (size_t)Wo;
                    for (int t = 0; t < 5; t++) m[t] += g[k] * p[(size_t)t * (size_t)Wo + j];
                }
                double ux = m[0], uy = m[1];
                double vx = m[2] - ux * ux, vy = m[3] - uy * uy, vxy = m[4] - ux * uy;
                double num = (2 * ux * uy + C1) * (2 * vxy + C2);
                double den = (ux * ux + uy * uy + C1) * (vx + vy + C2);
                chan += num / den;
            }
        }
        total += chan / ((double)Wo * (double)Ho);
    }
    free(ring);
    *ssim = total / C;
    return SIREN_OK;
}

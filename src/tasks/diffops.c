/* Sobel and Laplace filters with SciPy's 'reflect' edges, for the targets of
 * the Poisson tasks (poisson_task.c). Plain loops, one pass per row: they run
 * once per fit; threads and SIMD would buy nothing worth their code. */
#include <stddef.h>

#include "tasks/diffops.h"

void siren_image_gray(const siren_image *img, float *gray) {
    const size_t n = (size_t)img->width * (size_t)img->height;
    if (img->channels == 1) {
        for (size_t i = 0; i < n; i++) gray[i] = img->data[i];
        return;
    }
    const size_t c = (size_t)img->channels;
    for (size_t i = 0; i < n; i++) {
        const float *p = img->data + i * c;
        /* in double so that the one rounding is the final one */
        gray[i] = (float)(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
    }
}

/* With a reach of one pixel, scipy's 'reflect' (d c b a | a b c d | d c b a)
 * is the border pixel repeated: index -1 reads 0 and n reads n-1, and for
 * n == 1 both read 0. So each pixel's neighbours are found by clamping, and
 * the sums are taken in double: the inputs are floats, so the double sums
 * are exact or nearly, and the float results are scipy's float64 numbers
 * rounded once. */
static size_t below(size_t i) { return i > 0 ? i - 1 : 0; }
static size_t above(size_t i, size_t n) { return i + 1 < n ? i + 1 : n - 1; }

void siren_sobel(const float *img, int w, int h, float *d_row, float *d_col) {
    const size_t W = (size_t)w, H = (size_t)h;
    for (size_t r = 0; r < H; r++) {
        const float *up = img + below(r) * W, *mid = img + r * W,
                    *dn = img + above(r, H) * W;
        for (size_t c = 0; c < W; c++) {
            const size_t l = below(c), x = above(c, W);
            /* scipy correlates [-1, 0, 1] along the axis (so positive where
             * the image grows with the index), then [1, 2, 1] across it */
            if (d_row)
                d_row[r * W + c] = (float)(((double)dn[l] - up[l]) +
                                           2 * ((double)dn[c] - up[c]) +
                                           ((double)dn[x] - up[x]));
            if (d_col)
                d_col[r * W + c] = (float)(((double)up[x] - up[l]) +
                                           2 * ((double)mid[x] - mid[l]) +
                                           ((double)dn[x] - dn[l]));
        }
    }
}

void siren_laplace(const float *img, int w, int h, float *out) {
    const size_t W = (size_t)w, H = (size_t)h;
    for (size_t r = 0; r < H; r++) {
        const float *up = img + below(r) * W, *mid = img + r * W,
                    *dn = img + above(r, H) * W;
        for (size_t c = 0; c < W; c++) {
            const double v = mid[c];
            out[r * W + c] = (float)(((double)up[c] - 2 * v + dn[c]) +
                                     ((double)mid[below(c)] - 2 * v +
                                      mid[above(c, W)]));
        }
    }
}

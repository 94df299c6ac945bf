/* Sobel and Laplace filters with SciPy's 'reflect' edges. Plain loops: they
 * run once per fit, on at most SIREN_MAX_IMAGE_PIXELS pixels. */
#include <stddef.h>

#include "tasks/diffops.h"

void siren_image_gray(const siren_image *img, float *gray) {
    const size_t n = (size_t)img->width * img->height;
    if (img->channels == 1) {
        for (size_t i = 0; i < n; i++) gray[i] = img->data[i];
        return;
    }
    const int c = img->channels;
    for (size_t i = 0; i < n; i++) {
        const float *p = img->data + i * c;
        gray[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    }
}

/* Pixel (r, c) with reflected indices (-1 -> 0, n -> n-1). */
static float at(const float *img, int w, int h, int r, int c) {
    r = r < 0 ? 0 : r >= h ? h - 1 : r;
    c = c < 0 ? 0 : c >= w ? w - 1 : c;
    return img[(size_t)r * w + c];
}

void siren_sobel(const float *img, int w, int h, float *d_row, float *d_col) {
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            size_t i = (size_t)r * w + c;
            if (d_row) {
                float s = 0;
                for (int k = -1; k <= 1; k++) {
                    float wgt = k == 0 ? 2.0f : 1.0f;
                    s += wgt * (at(img, w, h, r + 1, c + k) - at(img, w, h, r - 1, c + k));
                }
                d_row[i] = s;
            }
            if (d_col) {
                float s = 0;
                for (int k = -1; k <= 1; k++) {
                    float wgt = k == 0 ? 2.0f : 1.0f;
                    s += wgt * (at(img, w, h, r + k, c + 1) - at(img, w, h, r + k, c - 1));
                }
                d_col[i] = s;
            }
        }
}

void siren_laplace(const float *img, int w, int h, float *out) {
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            float x = img[(size_t)r * w + c];
            out[(size_t)r * w + c] =
                at(img, w, h, r - 1, c) + at(img, w, h, r + 1, c) +
                at(img, w, h, r, c - 1) + at(img, w, h, r, c + 1) - 4 * x;
        }
}

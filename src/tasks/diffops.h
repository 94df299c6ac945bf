/* Image differential operators of the Poisson tasks, matching SciPy's
 * ndimage filters with mode 'reflect' (half-sample symmetric, d c b a | a b
 * c d | d c b a: with a reach of one pixel, the border pixel repeated),
 * which the official SIREN code uses to make its targets. Images are (h, w)
 * row-major floats; any w, h >= 1 (a side of 1 gives what scipy gives). */
#ifndef SIREN_TASKS_DIFFOPS_H
#define SIREN_TASKS_DIFFOPS_H

#include "siren.h"

/* (h, w) gray from an image of 1 or 3 channels: copied, or ITU-R 601-2
 * luma 0.299 R + 0.587 G + 0.114 B (PIL's convert('L') without its 8-bit
 * rounding). */
void siren_image_gray(const siren_image *img, float *gray);
/* scipy.ndimage.sobel(img, axis=0) -> d_row, axis=1 -> d_col: the
 * difference in[i+1] - in[i-1] along the axis (positive where the image
 * grows downwards / rightwards), smoothed [1, 2, 1] across it; unnormalised,
 * so 8 times the derivative per pixel inside, 4 times at a border. Either
 * output may be NULL. */
void siren_sobel(const float *img, int w, int h, float *d_row, float *d_col);
/* scipy.ndimage.laplace(img): the [1, -2, 1] second differences of both
 * axes, summed (the 5-point stencil). */
void siren_laplace(const float *img, int w, int h, float *out);

#endif

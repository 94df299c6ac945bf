/* What the image-shaped tasks share (image_task.c, poisson_task.c): the
 * linspace(-1, 1) pixel grid in (row, col) order, and numbers read back
 * from a model's metadata. */
#ifndef SIREN_TASKS_GRID_H
#define SIREN_TASKS_GRID_H

#include "siren.h"

/* Coordinate of pixel i of n along one axis: linspace(-1, 1, n); 0 if n == 1. */
static inline double siren_grid_coord(int i, int n) {
    return n > 1 ? -1.0 + 2.0 * i / (n - 1) : 0.0;
}
/* coords (height*width, 2), row-major pixels, (row, col); NULL when out of
 * memory. */
float *siren_image_grid(int width, int height);
/* A finite number from the metadata, or dflt when absent or malformed. */
double siren_meta_num(const siren_net *net, const char *key, double dflt);

#endif

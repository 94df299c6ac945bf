/* The pieces of the Poisson tasks (poisson_task.c) that the evaluation and
 * the tests reuse: the target scale s, the targets, and the least-squares
 * fit of what derivatives cannot see. */
#ifndef SIREN_TASKS_POISSON_H
#define SIREN_TASKS_POISSON_H

/* s for task "grad"/"compose" (160/(n-1)) or "lapl" (4e4/(n-1)^2), n the
 * longer side: the network converges to Phi = s img' + null space. */
double siren_poisson_scale(const char *task, int width, int height);
/* Targets of a (height, width) image in [-1, 1]: grad (n, 2) = s times the
 * Sobel derivatives in coordinate units (row, col); lapl (n) = s times the
 * 5-point Laplacian in coordinate units. Either may be NULL. */
siren_status siren_poisson_targets(const float *gray, int width, int height,
                                   double s, float *grad, float *lapl);
/* What the derivatives cannot see, removed by least squares: harmonic
 * polynomials up to a degree (0: the constant, for grad/compose; 4 for
 * lapl). Basis: 1, then Re, Im of (row + i col)^k for k = 1..degree, so
 * 1 + 2 degree functions. */
#define SIREN_POISSON_MAX_DEGREE 8
int siren_poisson_null_degree(const char *task);
void siren_poisson_null_basis(double row, double col, int degree, double *phi);
/* The coefficients (1 + 2 degree of them) of the least-squares fit of the
 * basis to e (height, width) over the linspace(-1, 1) grid. */
void siren_poisson_null_fit(const float *e, int width, int height, int degree,
                            double *coef);

#endif

/* Double-precision reference pieces shared by the derivative tests
 * (test_jet.c, test_inpaint.c): written from the definitions, independent
 * of src/net's float code. Include after "net/net.h". */
#ifndef SIREN_TESTS_NETREF_H
#define SIREN_TESTS_NETREF_H

#include <math.h>
#include <stdlib.h>

#define EPS32 5.96e-8

/* Tolerance for a k-th derivative of a float network: float rounding
 * grows with depth and with sqrt(width), and each order of derivative
 * multiplies it by about 8. */
static inline double tol_order(const siren_net *net, int k) {
    return ldexp(1.0, 4 + 3 * k) * EPS32 * (net->cfg.hidden_layers + 3) *
           sqrt((double)net->cfg.hidden_features);
}

/* f, f', f'' of the activation in double, from the definitions (om: the
 * layer's omega_0, used by sine only). */
static inline void ref_act(siren_activation a, double om, double z, double *f,
                           double *f1, double *f2) {
    switch (a) {
    case SIREN_ACT_SINE:
        *f = sin(om * z);
        *f1 = om * cos(om * z);
        *f2 = -om * om * sin(om * z);
        break;
    case SIREN_ACT_TANH: {
        double t = tanh(z);
        *f = t;
        *f1 = 1 - t * t;
        *f2 = -2 * t * (1 - t * t);
        break;
    }
    default:
        *f = z > 0 ? z : 0;
        *f1 = z > 0;
        *f2 = 0;
    }
}

/* The network's parameters as doubles (malloc'd). */
static inline double *params_double(const siren_net *net) {
    double *p = malloc(net->n_params * sizeof *p);
    for (size_t k = 0; k < net->n_params; k++) p[k] = net->params[k];
    return p;
}

/* n points of d coordinates spread over (-0.95, 0.95), fixed by seed. */
static inline void make_points(float *x, int n, int d, unsigned seed) {
    for (int i = 0; i < n * d; i++)
        x[i] = (float)(0.95 * sin(12.9898 * (i + 1) + 78.233 * seed));
}

#endif

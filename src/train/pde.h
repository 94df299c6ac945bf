/* The PDE solves of siren.h (Helmholtz with the official PML, the wave
 * equation), factored so that tests can reach each piece: the residual
 * operators on given derivatives (analytic solutions check them), the
 * collocation sampler, and the loss of one batch with its parameter
 * gradient (finite differences check it). pde.c trains with them. */
#ifndef SIREN_TRAIN_PDE_H
#define SIREN_TRAIN_PDE_H

#include <stddef.h>

#include "siren.h"
#include "util/rng.h"

typedef enum { SIREN_PDE_HELMHOLTZ = 0, SIREN_PDE_WAVE = 1 } siren_pde_kind;

/* The official constants (dataio.py SingleHelmholtzSource, WaveSource;
 * loss_functions.py helmholtz_pml, wave_pml). Variances, as the official
 * gaussian() takes its "sigma". */
#define SIREN_HELM_BATCH0 (230 * 230)  /* official points per step */
#define SIREN_HELM_SRC0 100            /* of them near the source */
#define SIREN_HELM_VAR 1e-4
#define SIREN_HELM_SRC_RADIUS 0.05     /* 5e2 * sigma */
#define SIREN_HELM_ON_WEIGHT 1e-3      /* diff_constraint_on: * N / 1e3 */
#define SIREN_WAVE_BATCH0 (340 * 340)
#define SIREN_WAVE_SRC0 1000           /* near the source at t = 0, and as
                                          many again uniform at t = 0 */
#define SIREN_WAVE_VAR 5e-4           /* siren_pde_opts.pulse_var's default */
#define SIREN_WAVE_AMP (1.0 / 50.0)    /* the Gaussian over 50 x its peak */
#define SIREN_WAVE_SRC_RADIUS 0.25
#define SIREN_WAVE_DIR_WEIGHT 1e-1     /* dirichlet: * N / 1e1 */
#define SIREN_WAVE_NEU_WEIGHT 1e-2     /* neumann: * N / 1e2 */
#define SIREN_PDE_CUT 1e-5             /* source values below are 0 */

/* Helmholtz: the residual is linear in the jets of u, channel order of
 * SIREN_JET_D2 with d = 2: (u, u_r, u_c, u_rr, u_cc), each complex:
 *     r = sum_j coef[j] z_j   (the source not subtracted)
 * coef[j] = (re, im) at the point (row, col):
 *     (e_r e_c k^2, d_r(e_c/e_r), d_c(e_r/e_c), e_c/e_r, e_r/e_c),
 * i.e. the official a + b + c with the product rule written out. */
void siren_helmholtz_coefs(const siren_pde_opts *po, double row, double col,
                           double coef[5][2]);
/* With po->phase_eps > 0 the network's outputs are v, u = v phi with the
 * outgoing phase phi = exp(-i k rho), rho = sqrt(|x - x0|^2 + eps^2)
 * (siren.h): phi at (row, col) as (re, im), 1 when phase_eps is 0; and
 * the residual's coefficients on the jets of v (product rule), as
 * siren_helmholtz_coefs's on u's (the same when phase_eps is 0):
 *     b = (a_u phi + a_r phi_r + a_c phi_c + a_rr phi_rr + a_cc phi_cc,
 *          a_r phi + 2 a_rr phi_r, a_c phi + 2 a_cc phi_c, a_rr phi, a_cc phi). */
void siren_helmholtz_phase(const siren_pde_opts *po, double row, double col,
                           double phi[2]);
void siren_helmholtz_phase_coefs(const siren_pde_opts *po, double row, double col,
                                 double coef[5][2]);
/* The residual from u (re, im), du[j] = du/dx_j and d2u[j] = d2u/dx_j^2
 * (each (re, im)) at x = (row, col), minus f = (1 + 1i) src. */
void siren_helmholtz_residual(const siren_pde_opts *po, const double x[2],
                              const double u[2], const double du[2][2],
                              const double d2u[2][2], double src,
                              double res[2]);
/* The wave residual u_tt - c^2 (u_rr + u_cc) from d2u = (u_tt, u_rr, u_cc). */
double siren_wave_residual(const siren_pde_opts *po, const double d2u[3]);

/* The wave's initial pulse: its variance (po->pulse_var, 0: the official
 * SIREN_WAVE_VAR), and its standard deviation over the official one,
 * sqrt(v / 5e-4), by which the lengths sized for the official pulse scale
 * (the t = 0 disk, the energy disc's margin and band): exactly 1 at the
 * official variance, so the default run is the one before the option. */
double siren_pde_wave_var(const siren_pde_opts *po);
double siren_pde_wave_scale(const siren_pde_opts *po);
/* The radius of the disk of the wave's t = 0 points around the source:
 * SIREN_WAVE_SRC_RADIUS (11 official standard deviations) times the
 * scale, at most 1. */
double siren_pde_wave_src_radius(const siren_pde_opts *po);

/* The official source value g(x) at (row, col) (Helmholtz: the unit-mass
 * Gaussian; wave: u0 = the Gaussian of variance pulse_var times 1/50), 0
 * below 1e-5. */
double siren_pde_source(siren_pde_kind kind, const siren_pde_opts *po,
                        double row, double col);

/* The Helmholtz wavenumber the loss uses at `step` of `steps`: po->k, or
 * with po->k_ramp > 0 the curriculum's, k step / (k_ramp steps) until
 * that reaches k (a function of the step alone: checkpoints resume). */
double siren_pde_k_at(const siren_pde_opts *po, int step, int steps);

/* Points near the source per step for a batch of n (siren.h). */
size_t siren_pde_src_samples(siren_pde_kind kind, const siren_pde_opts *po,
                             size_t n);

/* One step's collocation points: x (n, d) (d = 2, or 3 with t first) and
 * aux (n, 3) = (flag, value, weight): Helmholtz flag 1 where the source is
 * nonzero, value g; wave flag 1 at t = 0, value u0. The last src points
 * (wave: 2 src, src of them in the disk) are the near-source ones. The
 * weight makes each group's sum its share of the official batch n0
 * (uniform points: (n0 - s0) / n0, the source's disk: s0 / n0, s0 the
 * official count), so any n and src estimate the official loss / n0,
 * exactly it at n0 and s0. `step` of `steps` sets the wave's time window.
 * Draws from rng in a fixed order. */
void siren_pde_sample(siren_pde_kind kind, const siren_pde_opts *po,
                      siren_rng *rng, int step, int steps, size_t n,
                      size_t src, float *x, float *aux);

/* The loss of the n points x, aux (as sampled; a shard's part of a batch
 * gives its part of the loss) and, with grad, its parameter gradient; terms
 * gets the three weighted parts (siren_pde_result). NAN when out of memory
 * or when the network does not fit the problem. */
double siren_pde_loss(const siren_net *net, siren_pde_kind kind,
                      const siren_pde_opts *po, const float *x,
                      const float *aux, size_t n, int threads, float *grad,
                      double terms[3]);

/* Causal weighting in time (siren_pde_opts.causal; Wang, Sankaran and
 * Perdikaris 2022): [0, t_max] is cut into `bins` equal bins, t's bin
 * (t <= 0 and NaN: 0; t >= t_max: the last) ... */
int siren_pde_time_bin(double t, double t_max, int bins);
/* ... and the bins' weights from their losses L (mean |r| per bin):
 * w[0] = 1, w[i] = exp(-eps (L[0] + ... + L[i-1])). */
void siren_pde_causal_weights(double eps, const double *bin_loss, int bins,
                              double *w);
/* siren_pde_loss with each point's wave residual term times bin_w[its
 * time bin] (SIREN_PDE_CAUSAL_BINS weights over [0, po->t_max]; NULL: all
 * 1; ignored for Helmholtz), the initial-condition terms unweighted.
 * Returns that weighted loss (grad is its gradient, the weights held
 * constant); terms the official, unweighted parts; bin_loss (NULL, or
 * SIREN_PDE_CAUSAL_BINS values) the mean |r| of each bin's points, each
 * point weighted by its group weight (0 for a bin without points). */
double siren_pde_loss_causal(const siren_net *net, siren_pde_kind kind,
                             const siren_pde_opts *po, const float *x,
                             const float *aux, size_t n, int threads,
                             const double *bin_w, float *grad, double terms[3],
                             double *bin_loss);

/* The energy term (siren_pde_opts.energy). The wave equation conserves
 * E(t) = the integral of u_t^2 + c^2 |grad u|^2 over the plane, and the
 * pulse stays inside the square while c t + margin + max |x0| <= 1
 * (checked), so E over the square is E0 = E(0) throughout: ... */
/* the disc: radius c t + this (4.5 official standard deviations) and the
 * ring's band c t +- this, each times siren_pde_wave_scale, so that they
 * hold the same share of a wider pulse's energy */
#define SIREN_PDE_ENERGY_MARGIN 0.1
#define SIREN_PDE_ENERGY_BAND 0.08
#define SIREN_PDE_ENERGY_SIDE 8     /* each disc group: SIDE x SIDE strata */
#define SIREN_PDE_ENERGY_GRID 12    /* outside: the square's GRID x GRID cells */
#define SIREN_PDE_ENERGY_MAX \
    (2 * SIREN_PDE_ENERGY_SIDE * SIREN_PDE_ENERGY_SIDE + \
     SIREN_PDE_ENERGY_GRID * SIREN_PDE_ENERGY_GRID)
/* ... E0 = c^2 times the integral of |grad u0|^2 = pi c^2 A^2 (A the
 * pulse's peak; whatever its variance) ... */
double siren_pde_energy0(const siren_pde_opts *po);
/* ... the disc's margin, SIREN_PDE_ENERGY_MARGIN times the scale ... */
double siren_pde_energy_margin(const siren_pde_opts *po);
/* ... estimated at time t from one slice of points x (n, 3) (t, row, col)
 * with weights wq (n), E ~ sum_i wq_i e(x_i): the first *n_in in the disc
 * |x - x0| <= R = c t + margin (that holds the true solution), half of
 * them uniform over its area and half uniform in radius over the band
 * c t +- band (band = SIREN_PDE_ENERGY_BAND times the scale; the ring
 * where the energy is), each SIDE x SIDE strata of
 * (radius, angle) with a jittered point each, the weights those of the
 * two groups' mixture (1 / the expected number of points per unit area:
 * unbiased, and at most pi R^2 / (SIDE^2)); then the points of a jittered
 * GRID x GRID grid over the square that fall outside the disc, weight the
 * cell's area. Returns n (at most SIREN_PDE_ENERGY_MAX). Draws from rng in
 * a fixed order. */
size_t siren_pde_energy_sample(const siren_pde_opts *po, siren_rng *rng, double t,
                               float *x, float *wq, size_t *n_in);
/* The energy term of `slices` slices of the network (slice j: n[j]
 * points at x + 3 j SIREN_PDE_ENERGY_MAX, weights at wq + j
 * SIREN_PDE_ENERGY_MAX, the first n_in[j] in the disc, as sampled):
 * mean_j (|E_in,j - E0| + E_out,j) / E0, returned, and with grad its
 * parameter gradient; parts (NULL, or 3) the term, mean_j E_in,j / E0,
 * mean_j E_out,j / E0. NAN when out of memory or the network is not a
 * wave model. */
double siren_pde_energy_loss(const siren_net *net, const siren_pde_opts *po,
                             const float *x, const float *wq, const size_t *n,
                             const size_t *n_in, int slices, int threads, float *grad,
                             double parts[3]);

#endif

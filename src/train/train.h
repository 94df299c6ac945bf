/* The generic training loop: sample points -> forward -> loss -> backward ->
 * Adam. Tasks (src/tasks) hand it coordinates and targets; it knows nothing
 * of images or sounds. */
#ifndef SIREN_TRAIN_TRAIN_H
#define SIREN_TRAIN_TRAIN_H

#include <stddef.h>

#include "siren.h"

/* Fit net's values to targets by MSE: coords (n, in), targets (n, out).
 * Full batch when opt->batch is 0 or >= n, else random minibatches drawn
 * without replacement from a permutation reshuffled every epoch.
 * res->psnr_db is measured over all n points after the last step, on the
 * [-1, 1] value range. */
siren_status siren_train_values(siren_net *net, const float *coords,
                                const float *targets, size_t n,
                                const siren_train_opts *opt,
                                siren_fit_result *res);

/* The loss of siren_train_values_loss: MSE, or binary cross-entropy on
 * logits (targets in [0, 1], the network's output before a sigmoid), as
 * torch's BCEWithLogitsLoss with mean reduction. */
typedef enum { SIREN_LOSS_MSE = 0, SIREN_LOSS_BCE_LOGITS = 1 } siren_value_loss;

/* siren_train_values with a choice of loss; with BCE, res->psnr_db is NAN
 * and opt->target_psnr is ignored. */
siren_status siren_train_values_loss(siren_net *net, const float *coords,
                                     const float *targets, size_t n,
                                     siren_value_loss kind,
                                     const siren_train_opts *opt,
                                     siren_fit_result *res);

/* siren_train_values (MSE, full batch) plus opt->band_penalty times the
 * mean square of the model's part above the band |k| <= side / 2 (cycles
 * per period, `period` in (row, col)) along opt->band_lines random rows
 * and as many columns per step (band.c says how and why). res->psnr_db
 * is the pixels'. */
siren_status siren_train_band(siren_net *net, const float *coords, const float *targets,
                              size_t n, double period, int side,
                              const siren_train_opts *opt, siren_fit_result *res);

/* The pieces, for tests: A (M, M), the projection of length-M periodic
 * sequences onto the frequencies |k| <= K (K < M / 2); and the part of L
 * lines of y (line l's sample q at l M + q, ch channels interleaved)
 * outside |k| <= K along each line into h (same layout), F and T (M, L)
 * scratch; returns the sum of h^2. */
void siren_band_projection(int M, int K, float *A);
/* The penalty alone, weight 1: mean(h^2) along `lines` rows and columns
 * drawn from seed, and with grad its gradient (overwritten); NAN on bad
 * arguments or no memory. */
double siren_band_loss(const siren_net *net, double period, int side, int lines,
                       uint64_t seed, int threads, float *grad);
double siren_band_highpass(int M, int L, int ch, const float *A, const float *y, float *h,
                           float *F, float *T);

/* Training points that are not held as arrays: `point` writes point i's
 * coordinates x (in) and targets t (out). For signals whose coordinates
 * would not fit in memory (video: 3 floats per voxel). */
typedef struct {
    size_t n;
    void (*point)(const void *user, size_t i, float *x, float *t);
    const void *user;
} siren_point_source;

/* siren_train_values_loss over a point source. Minibatches (opt->batch
 * below n) are drawn uniformly with replacement from the checkpointed RNG,
 * as the official video sampler, so no permutation of n is kept. */
siren_status siren_train_values_source(siren_net *net, const siren_point_source *src,
                                       siren_value_loss kind,
                                       const siren_train_opts *opt,
                                       siren_fit_result *res);

/* Fit a scalar output through its input derivatives alone (Poisson-style
 * supervision): grad_t (n, d) the target gradient and/or lapl_t (n) the
 * target Laplacian; NULL leaves that term out. The loss is the official
 * code's: mean over points of sum_j (dPhi/dx_j - g_j)^2 (gradients_mse)
 * plus mean (lapl Phi - l)^2 (laplace_mse). Gradients alone run the double
 * backward (gradnet.c), a Laplacian the forward-Laplacian jets: the cheaper
 * of DESIGN §3's table for each. Sampling as siren_train_values. The value
 * is free up to what the derivatives cannot see, so res->psnr_db is NAN:
 * the task measures its reconstruction. res->loss is over all n points
 * after the last step. */
siren_status siren_train_derivs(siren_net *net, const float *coords,
                                const float *grad_t, const float *lapl_t,
                                size_t n, const siren_train_opts *opt,
                                siren_fit_result *res);

/* Fit a signed distance function (3 inputs, 1 output) to an oriented point
 * cloud already normalised into [-1, 1]^3: pts (n, 3), unit normals (n, 3).
 * The loss is the official code's sdf_loss, every term a mean over all the
 * step's points: 3e3 |Phi| and 1e2 (1 - cos(grad Phi, n)) on the surface,
 * 1e2 exp(-100 |Phi|) off it, 5e1 | |grad Phi| - 1 | everywhere. Each step
 * takes opt->batch on-surface points drawn with replacement (0: all n, in
 * order) and as many off-surface points uniform in the cube, both from the
 * checkpointed RNG. res->loss is the last step's; res->psnr_db is NAN. */
siren_status siren_train_sdf(siren_net *net, const float *pts,
                             const float *normals, size_t n,
                             const siren_train_opts *opt,
                             siren_fit_result *res);
/* The SDF loss of one batch x (M, 3) whose first n_on points lie on the
 * surface with normals (n_on, 3); with grad, its parameter gradient.
 * terms gets the four weighted means (sdf, inter, normal, eikonal).
 * NAN when out of memory. For tests. */
double siren_sdf_loss(const siren_net *net, const float *x, const float *normals,
                      size_t n_on, size_t M, int threads, float *grad,
                      double terms[4]);

/* Inpainting (siren.h): fit values at n points, coords (n, d) -> targets
 * (n, m), the n kept ones of n_all, plus an optional prior on the input
 * derivatives at prior_points fresh random points uniform in [-1, 1]^d
 * every step (drawn from the checkpointed RNG). The loss is the official
 * one (loss_functions.py):
 *     sum_kept |Phi - y|^2 / (n_all m)              image_mse with a mask
 *   + k1 mean_{point, output, axis} |dPhi/dx_j|     TV (image_mse_TV_prior)
 *   + k1 mean_point ||Hessian of Phi||_F            FH (image_mse_FH_prior)
 * the Frobenius norm over every output and all d x d entries. opt->batch
 * below n draws minibatches of the kept points (the data term scaled to
 * the same estimate). res->psnr_db is over the n kept points after the
 * last step; terms (may be NULL) gets the last step's data and prior
 * terms. */
siren_status siren_train_inpaint(siren_net *net, const float *coords,
                                 const float *targets, size_t n, size_t n_all,
                                 siren_inpaint_prior kind, double k1,
                                 size_t prior_points, const siren_train_opts *opt,
                                 siren_fit_result *res, double terms[2]);
/* The same loss for given points, for tests: the data term sum |Phi(x) -
 * t|^2 / data_div over n points, the prior at the np points xp; with grad,
 * its parameter gradient. terms: data, prior. NAN when out of memory. */
double siren_inpaint_loss(const siren_net *net, const float *x, const float *t,
                          size_t n, double data_div, siren_inpaint_prior kind,
                          double k1, const float *xp, size_t np, int threads,
                          float *grad, double terms[2]);

/* Seconds on a monotonic clock. */
double siren_now(void);

#endif

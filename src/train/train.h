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

/* Seconds on a monotonic clock. */
double siren_now(void);

#endif

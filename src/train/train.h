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

/* Seconds on a monotonic clock. */
double siren_now(void);

#endif

/* The pieces every training loop in src/train shares: the sampler and
 * checkpoint state at the start of a run (fresh or resumed), minibatch
 * sampling without replacement, checkpoints when due, and the median step
 * time. Each loop (train.c: values and derivatives; shape.c: SDF) keeps its
 * own forward/loss/backward and calls these around it. */
#ifndef SIREN_TRAIN_LOOP_H
#define SIREN_TRAIN_LOOP_H

#include <stddef.h>

#include "siren.h"
#include "train/checkpoint.h"

/* The state at step 0, or read from opt->resume. perm (n entries) is the
 * minibatch permutation, NULL when the loop does not use one. */
siren_status siren_loop_begin(siren_train_state *ck, siren_net *net,
                              siren_adam *adam, const siren_train_opts *opt,
                              size_t *perm, size_t n, size_t batch,
                              int threads);
/* The next point of a minibatch: without replacement, the permutation
 * reshuffled (Fisher-Yates) at the start of every epoch. */
size_t siren_loop_next_point(siren_train_state *ck);
/* After `step` steps: the checkpoint, when one is due (every N steps, the
 * last step, or a stop). */
siren_status siren_loop_checkpoint(siren_train_state *ck, const siren_net *net,
                                   const siren_adam *adam,
                                   const siren_train_opts *opt, int step,
                                   int stop);
/* Median of n step times (ms, sorted in place), leaving out the first 5
 * when there are more than 10, as the PyTorch reference does. */
double siren_loop_median_ms(double *ms, int n);

/* The divergence guard (siren_train_opts: jump_factor, max_retries). Each
 * loop checks the loss of the current parameters before their update
 * (siren_guard_check_loss) and the parameters after it
 * (siren_guard_check_params). A bad step rolls net, Adam and *step back
 * to the last accepted state and halves ck->lr (a factor on the
 * schedule's rate, siren_lr_at: the loop applies their product), with
 * *rolled set and a line in g->warning for the progress callback; past
 * max_retries, SIREN_EDIVERGED with the good state restored. The last good
 * state is the one before the last accepted update; after a resume it
 * starts at the resumed state, so a rollback on the first step after a
 * resume goes back only that far. */
typedef struct {
    size_t n;
    float *block;      /* params | adam.m | adam.v of the last good state */
    long t;            /* its Adam step count */
    int step, have;
    double jump;
    int max_retries;
    const siren_train_opts *opt; /* for the schedule's rate in messages */
    char warning[256];
} siren_guard;

siren_status siren_guard_init(siren_guard *g, const siren_net *net,
                              const siren_train_opts *opt);
void siren_guard_free(siren_guard *g);
siren_status siren_guard_check_loss(siren_guard *g, siren_train_state *ck,
                                    siren_net *net, siren_adam *adam,
                                    double loss, int *step, int *rolled);
siren_status siren_guard_check_params(siren_guard *g, siren_train_state *ck,
                                      siren_net *net, siren_adam *adam,
                                      int *step, int *rolled);
/* The last good state back (the rate untouched), when the state after the
 * last step proves bad: finite parameters whose loss is not. 0 when there
 * is none. */
int siren_guard_restore(siren_guard *g, siren_net *net, siren_adam *adam,
                        int *step);

/* Step times kept for the median: one per accepted step (rollbacks can
 * make more of them than steps), at most SIREN_STEP_LOG. */
enum { SIREN_STEP_LOG = 1 << 16 };
int siren_loop_log_cap(const siren_train_opts *opt);

/* One run of a training loop, what every loop does around its own
 * forward, loss and backward: Adam, the divergence guard, the sampler and
 * checkpoint state, the step times. Use:
 *
 *     siren_loop L = {0};
 *     if ((st = siren_loop_open(&L, net, opt, perm, n, batch, threads))) goto done;
 *     while (L.step < opt->steps) {
 *         siren_loop_tick(&L);
 *         ... sample with &L.ck, loss and gradient ...
 *         if ((st = siren_loop_update(&L, grad, loss, psnr, &stop))) {
 *             if (st != SIREN_EDIVERGED) goto done;
 *             break;               // fill in the result, return st
 *         }
 *         if (stop) break;
 *     }
 *     siren_loop_finish(&L, &res->seconds, &res->steps, &res->step_ms_median);
 *                                  // fp32 again for the final metrics
 * done:
 *     siren_loop_close(&L);
 */
typedef struct {
    siren_net *net;
    const siren_train_opts *opt;
    int threads;
    siren_adam adam;
    siren_guard guard;
    siren_train_state ck;
    double *step_ms;
    int log_cap, done_steps;
    int step;        /* updates applied (the guard may take some back) */
    double t0, ts;   /* the run's and this step's start */
    int stop_vote;   /* sharded: the progress callback asked to stop */
    int stop_agreed; /* sharded: some shard asked; stop before this update */
    int precision_set; /* the GEMMs' precision was changed for the steps */
    int precision_before;
} siren_loop;

/* Adam, the guard, the step-time log and the state at step 0 or from
 * opt->resume (siren_loop_begin's arguments); last, the GEMMs' precision
 * for the steps (opt->precision). */
siren_status siren_loop_open(siren_loop *L, siren_net *net,
                             const siren_train_opts *opt, size_t *perm, size_t n,
                             size_t batch, int threads);
/* After the last step: the GEMMs' precision as before the run, so the
 * final metrics are computed as any evaluation is. Close does it too. */
void siren_loop_end(siren_loop *L);
/* siren_loop_end, then the run's result: its seconds, the updates applied
 * and the median step time (siren_loop_median_ms). */
void siren_loop_finish(siren_loop *L, double *seconds, int *steps, double *step_ms_median);
void siren_loop_close(siren_loop *L);
/* The start of a step, for its time. */
void siren_loop_tick(siren_loop *L);
/* After a step's loss and gradient: the guard's loss check, Adam at the
 * current rate, the guard's parameter check, the step time, the progress
 * callback (psnr: the task metric or NAN, also what opt->target_psnr
 * stops on), the checkpoint when due. *stop is 1 when the run should end.
 * SIREN_EDIVERGED: the guard gave up, the last good state is restored. */
siren_status siren_loop_update(siren_loop *L, const float *grad, double loss,
                               double psnr, int *stop);

/* Data parallelism (siren_train_opts: shard_rank, shard_count, reduce).
 * Every shard draws the whole batch and works on its own contiguous slice
 * of it; the loops scale their gradients by the whole batch and sum the
 * slices' gradients and loss sums through the caller's reduce.
 *
 * siren_shard_check: the options are consistent (a reduce when there are
 * shards, the rank in range, at least one point per shard in a batch of
 * `batch` points). siren_shard_slice: this shard's slice [*lo, *hi) of n
 * items ([0, n) without shards). siren_shard_active: is there a reduce to
 * call? siren_shard_reduce: the caller's reduce (nothing without one),
 * its failure turned into an error message. siren_loop_reduce: the same for
 * a training step, the stop votes of the shards' progress callbacks summed
 * with the loss parts (parts has room for n_loss + 1 doubles); a vote from
 * any shard sets L->stop_agreed, and siren_loop_update then ends the run
 * before this step's update on every shard alike. */
siren_status siren_shard_check(const siren_train_opts *opt, size_t batch);
void siren_shard_slice(const siren_train_opts *opt, size_t n, size_t *lo,
                       size_t *hi);
int siren_shard_active(const siren_train_opts *opt);
siren_status siren_shard_reduce(const siren_train_opts *opt, float *grad,
                                size_t n, double *parts, int n_loss);
siren_status siren_loop_reduce(siren_loop *L, float *grad, double *parts,
                               int n_loss);

#endif

/* What every training loop shares (loop.h): the state at the start of a
 * run, minibatch sampling, checkpoints when due, the median step time, the
 * learning-rate schedule and the divergence guard. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "train/loop.h"
#include "train/train.h"
#include "util/error.h"

/* ---------------------------------------------------------------- schedule */

float siren_lr_at(const siren_train_opts *opt, int step) {
    const double lr = opt->lr;
    const int warm = opt->warmup > 0 ? opt->warmup : 0;
    if (step < warm) return (float)(lr * (step + 1) / warm);
    if (opt->lr_schedule == SIREN_LR_CONSTANT) return opt->lr; /* exactly lr */
    const double fin = opt->lr_final > 0 ? opt->lr_final : 0.01 * lr;
    const int span = opt->steps - warm;
    double p = span > 0 ? (double)(step - warm) / span : 1;
    if (p > 1) p = 1;
    if (opt->lr_schedule == SIREN_LR_COSINE)
        return (float)(fin + (lr - fin) * 0.5 * (1 + cos(3.14159265358979323846 * p)));
    return (float)(lr * pow(fin / lr, p));
}

static siren_status check_schedule(const siren_train_opts *opt) {
    if (opt->lr_schedule != SIREN_LR_CONSTANT && opt->lr_schedule != SIREN_LR_COSINE &&
        opt->lr_schedule != SIREN_LR_EXP)
        return siren_fail(SIREN_EINVAL, "unknown learning-rate schedule %d",
                          (int)opt->lr_schedule);
    if (!(opt->lr_final >= 0) || !isfinite(opt->lr_final))
        return siren_fail(SIREN_EINVAL, "final learning rate %g: need >= 0 (0: lr / 100)",
                          (double)opt->lr_final);
    if (opt->warmup < 0)
        return siren_fail(SIREN_EINVAL, "negative warm-up (%d steps)", opt->warmup);
    return SIREN_OK;
}

/* The rate of the update at `step`: the schedule's times the guard's
 * halvings, which ck->lr carries (it starts at opt->lr and only the guard
 * changes it, by powers of 2, so the factor is exact and 1 until then). */
static float loop_lr(const siren_train_opts *opt, const siren_train_state *ck, int step) {
    return siren_lr_at(opt, step) * (ck->lr / opt->lr);
}

/* ------------------------------------------------------------------ misc */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The first steps pay for page faults and cold caches. */
double siren_loop_median_ms(double *ms, int n) {
    if (n > 10) {
        ms += 5;
        n -= 5;
    }
    if (n <= 0) return 0;
    qsort(ms, n, sizeof *ms, cmp_double);
    return n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
}

/* The sampler and checkpoint state at step 0, or read from opt->resume.
 * perm (n entries) is the minibatch permutation, NULL for full batch. */
siren_status siren_loop_begin(siren_train_state *ck, siren_net *net,
                              siren_adam *adam, const siren_train_opts *opt,
                              size_t *perm, size_t n, size_t batch,
                              int threads) {
    memset(ck, 0, sizeof *ck);
    ck->steps = opt->steps;
    ck->perm = perm;
    ck->pos = n;
    ck->n_points = n;
    ck->batch = batch;
    ck->seed = opt->seed;
    ck->threads = threads;
    ck->lr = opt->lr;
    ck->good_loss = NAN;
    siren_rng_seed(&ck->rng, opt->seed ^ 0x5eed5a3b1e5ull);
    if (perm)
        for (size_t i = 0; i < n; i++) perm[i] = i;
    return opt->resume ? siren_checkpoint_read(opt->resume, net, adam, ck)
                       : SIREN_OK;
}

/* The next point of a minibatch: without replacement, the permutation
 * reshuffled (Fisher-Yates) at the start of every epoch. */
size_t siren_loop_next_point(siren_train_state *ck) {
    const size_t n = ck->n_points;
    size_t *perm = ck->perm;
    if (ck->pos == n) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = siren_rng_below(&ck->rng, i + 1), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        ck->pos = 0;
    }
    return perm[ck->pos++];
}

/* After `step` steps: the checkpoint, when one is due (every N steps, the
 * last step, or a stop). */
siren_status siren_loop_checkpoint(siren_train_state *ck, const siren_net *net,
                                   const siren_adam *adam,
                                   const siren_train_opts *opt, int step,
                                   int stop) {
    /* every shard holds the same state: the first one writes it */
    if (!opt->checkpoint || (opt->shard_count > 1 && opt->shard_rank != 0) ||
        !(stop || step == opt->steps ||
          (opt->checkpoint_every > 0 && step % opt->checkpoint_every == 0)))
        return SIREN_OK;
    ck->step = step;
    return siren_checkpoint_write(opt->checkpoint, net, adam, ck);
}


int siren_loop_log_cap(const siren_train_opts *opt) {
    long cap = (long)opt->steps + (opt->max_retries > 0 ? opt->max_retries : 0) + 1;
    return cap < SIREN_STEP_LOG ? (int)cap : SIREN_STEP_LOG;
}

/* ------------------------------------------------------------------ guard */

siren_status siren_guard_init(siren_guard *g, const siren_net *net,
                              const siren_train_opts *opt) {
    memset(g, 0, sizeof *g);
    g->n = net->n_params;
    g->jump = opt->jump_factor > 0 ? opt->jump_factor : 0;
    g->max_retries = opt->max_retries > 0 ? opt->max_retries : 0;
    g->opt = opt;
    g->block = malloc(3 * g->n * sizeof *g->block);
    if (!g->block) return siren_fail(SIREN_ENOMEM, "out of memory for the guard");
    return SIREN_OK;
}

void siren_guard_free(siren_guard *g) {
    free(g->block);
    g->block = NULL;
}

int siren_guard_restore(siren_guard *g, siren_net *net, siren_adam *adam,
                        int *step) {
    if (!g->have) return 0;
    memcpy(net->params, g->block, g->n * sizeof(float));
    memcpy(adam->m, g->block + g->n, g->n * sizeof(float));
    memcpy(adam->v, g->block + 2 * g->n, g->n * sizeof(float));
    adam->t = g->t;
    *step = g->step;
    return 1;
}

/* Back to the last good state with half the learning rate; EDIVERGED when
 * there is none or the retries are spent (the good state still restored). */
static siren_status rollback(siren_guard *g, siren_train_state *ck,
                             siren_net *net, siren_adam *adam, int *step,
                             const char *why) {
    const int at = *step;
    if (!g->have)
        return siren_fail(SIREN_EDIVERGED, "training diverged at step %d: %s, "
                          "and there is no earlier good state", at, why);
    siren_guard_restore(g, net, adam, step);
    if (++ck->retries > g->max_retries)
        return siren_fail(SIREN_EDIVERGED, "training diverged at step %d: %s; "
                          "gave up after %d rollbacks (the learning rate is now "
                          "%.3g); the model is the last good state, step %d",
                          at, why, g->max_retries, loop_lr(g->opt, ck, g->step),
                          g->step);
    ck->lr *= 0.5f;
    snprintf(g->warning, sizeof g->warning,
             "step %d: %s; rolled back to step %d, learning rate halved to %.3g "
             "(rollback %d of at most %d)", at, why, g->step,
             loop_lr(g->opt, ck, g->step), ck->retries, g->max_retries);
    return SIREN_OK;
}

siren_status siren_guard_check_loss(siren_guard *g, siren_train_state *ck,
                                    siren_net *net, siren_adam *adam,
                                    double loss, int *step, int *rolled) {
    char why[128];
    *rolled = 0;
    g->warning[0] = 0;
    if (!isfinite(loss))
        snprintf(why, sizeof why, "the loss is %g", loss);
    else if (g->jump > 0 && ck->good_loss > 0 && loss > g->jump * ck->good_loss)
        snprintf(why, sizeof why, "the loss jumped from %.4g to %.4g (over %gx)",
                 ck->good_loss, loss, g->jump);
    else {
        /* accepted: this is the new last good state */
        memcpy(g->block, net->params, g->n * sizeof(float));
        memcpy(g->block + g->n, adam->m, g->n * sizeof(float));
        memcpy(g->block + 2 * g->n, adam->v, g->n * sizeof(float));
        g->t = adam->t;
        g->step = *step;
        g->have = 1;
        ck->good_loss = loss;
        return SIREN_OK;
    }
    *rolled = 1;
    return rollback(g, ck, net, adam, step, why);
}

siren_status siren_guard_check_params(siren_guard *g, siren_train_state *ck,
                                      siren_net *net, siren_adam *adam,
                                      int *step, int *rolled) {
    const float *p = net->params;
    float acc = 0;
    /* inf - inf and NaN both give NaN: one pass, no branch per element */
    for (size_t i = 0; i < g->n; i++) acc += p[i] - p[i];
    *rolled = 0;
    g->warning[0] = 0;
    if (acc == 0) return SIREN_OK;
    *rolled = 1;
    return rollback(g, ck, net, adam, step, "the update made a parameter non-finite");
}

/* ------------------------------------------------------------------- loop */

int siren_precision_supported(siren_precision p) {
    return p == SIREN_PRECISION_FP32 ||
           (p == SIREN_PRECISION_BF16 && siren_gemm_bf16_supported());
}

siren_status siren_loop_open(siren_loop *L, siren_net *net,
                             const siren_train_opts *opt, size_t *perm, size_t n,
                             size_t batch, int threads) {
    siren_status st;
    memset(L, 0, sizeof *L);
    L->net = net;
    L->opt = opt;
    L->threads = threads;
    L->log_cap = siren_loop_log_cap(opt);
    if ((st = check_schedule(opt))) return st;
    if (opt->add_prune_every < 0 ||
        (opt->add_prune_every > 0 && !(opt->add_prune_frac > 0 && opt->add_prune_frac <= 1)))
        return siren_fail(SIREN_EINVAL, "add-prune every %d steps, fraction %g: need every "
                          ">= 0 and 0 < fraction <= 1", opt->add_prune_every,
                          opt->add_prune_frac);
    if (opt->add_prune_every > 0 && (net->cfg.init_first != SIREN_INIT_TUNER ||
                                     net->cfg.encoding != SIREN_ENC_NONE))
        return siren_fail(SIREN_EINVAL, "the add-prune schedule is for a TUNER first layer "
                          "(--init-first tuner, no encoding)");
    if ((st = siren_adam_init(&L->adam, net->n_params))) return st;
    if (!(L->step_ms = malloc(L->log_cap * sizeof *L->step_ms)))
        return siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
    if ((st = siren_loop_begin(&L->ck, net, &L->adam, opt, perm, n, batch, threads)) ||
        (st = siren_guard_init(&L->guard, net, opt)))
        return st;
    L->step = L->ck.step;
    if (opt->precision != SIREN_PRECISION_FP32) {
        if (opt->precision != SIREN_PRECISION_BF16)
            return siren_fail(SIREN_EINVAL, "unknown precision %d", (int)opt->precision);
        if (!siren_precision_supported(SIREN_PRECISION_BF16))
            return siren_fail(SIREN_EINVAL, "bf16 precision needs a CPU with "
                                            "AVX512_BF16, and this one has none");
        L->precision_before = (int)siren_gemm_precision_current();
        L->precision_set = 1;
        siren_gemm_set_precision(SIREN_GEMM_BF16);
    }
    L->t0 = siren_now();
    return SIREN_OK;
}

void siren_loop_end(siren_loop *L) {
    if (L->precision_set)
        siren_gemm_set_precision((siren_gemm_precision)L->precision_before);
    L->precision_set = 0;
}

void siren_loop_finish(siren_loop *L, double *seconds, int *steps, double *step_ms_median) {
    siren_loop_end(L);
    *seconds = siren_now() - L->t0;
    *steps = L->step;
    *step_ms_median = siren_loop_median_ms(L->step_ms, L->done_steps);
}

void siren_loop_close(siren_loop *L) {
    siren_loop_end(L);
    siren_adam_free(&L->adam);
    siren_guard_free(&L->guard);
    free(L->step_ms);
    L->step_ms = NULL;
}

void siren_loop_tick(siren_loop *L) { L->ts = siren_now(); }

siren_status siren_loop_update(siren_loop *L, const float *grad, double loss,
                               double psnr, int *stop) {
    const siren_train_opts *opt = L->opt;
    siren_status st;
    int rolled;
    *stop = 0;
    if (L->stop_agreed) { /* every shard ends here, before this update */
        *stop = 1;
        return siren_loop_checkpoint(&L->ck, L->net, &L->adam, opt, L->step, 1);
    }
    if ((st = siren_guard_check_loss(&L->guard, &L->ck, L->net, &L->adam, loss,
                                     &L->step, &rolled)))
        return st;
    float lr = loop_lr(opt, &L->ck, L->step);
    if (!rolled) {
        siren_adam_step(&L->adam, L->net->params, grad, lr, opt->beta1,
                        opt->beta2, opt->eps, L->threads);
        if (opt->l1 > 0 || opt->bound_hidden > 0)
            siren_net_project_hidden(L->net, lr * opt->l1, opt->bound_hidden);
        if (opt->l1_units > 0) siren_net_shrink_units(L->net, lr * opt->l1_units);
        if ((st = siren_guard_check_params(&L->guard, &L->ck, L->net, &L->adam,
                                           &L->step, &rolled)))
            return st;
        if (!rolled) L->step++;
        /* TUNER's add-prune, after an accepted step, over the first three
         * quarters of the run (the last quarter fits the final set); the
         * draws from the checkpointed RNG, so a resumed run makes the same */
        if (!rolled && opt->add_prune_every > 0 && L->step % opt->add_prune_every == 0 &&
            4L * L->step <= 3L * opt->steps)
            siren_net_tuner_resample(L->net,
                                     (int)lround(opt->add_prune_frac * L->net->dims[1]),
                                     &L->ck.rng, L->adam.m, L->adam.v);
    }
    if (!rolled && L->done_steps < L->log_cap)
        L->step_ms[L->done_steps++] = 1e3 * (siren_now() - L->ts);
    if (opt->progress) {
        if (rolled) lr = loop_lr(opt, &L->ck, L->step); /* the next update's */
        siren_progress p = {L->step, opt->steps, siren_now() - L->t0, loss, psnr,
                            rolled ? L->guard.warning : NULL, lr};
        *stop = opt->progress(opt->user, &p);
        /* with shards, a stop is voted on in the next step's reduce: the
         * callbacks of different shards may not agree on the step */
        if (*stop && opt->shard_count > 1) {
            L->stop_vote = 1;
            *stop = 0;
        }
    }
    if (!rolled && opt->target_psnr > 0 && psnr >= opt->target_psnr) *stop = 1;
    return siren_loop_checkpoint(&L->ck, L->net, &L->adam, opt, L->step, *stop);
}

/* ------------------------------------------------------------------ shards */

siren_status siren_shard_check(const siren_train_opts *opt, size_t batch) {
    if (opt->shard_count <= 1) {
        if (opt->shard_count < 0 || opt->shard_rank != 0)
            return siren_fail(SIREN_EINVAL, "shard %d of %d does not exist",
                              opt->shard_rank, opt->shard_count);
        return SIREN_OK;
    }
    if (!opt->reduce)
        return siren_fail(SIREN_EINVAL, "%d shards need a reduce function",
                          opt->shard_count);
    if (opt->shard_rank < 0 || opt->shard_rank >= opt->shard_count)
        return siren_fail(SIREN_EINVAL, "shard %d of %d does not exist",
                          opt->shard_rank, opt->shard_count);
    if (batch < (size_t)opt->shard_count)
        return siren_fail(SIREN_EINVAL, "a batch of %zu points cannot be shared "
                          "among %d shards", batch, opt->shard_count);
    return SIREN_OK;
}

void siren_shard_slice(const siren_train_opts *opt, size_t n, size_t *lo,
                       size_t *hi) {
    const size_t R = opt->shard_count > 1 ? (size_t)opt->shard_count : 1;
    const size_t r = opt->shard_count > 1 ? (size_t)opt->shard_rank : 0;
    /* n * r / R without overflow for any n a size_t holds */
    *lo = n / R * r + n % R * r / R;
    *hi = n / R * (r + 1) + n % R * (r + 1) / R;
}

int siren_shard_active(const siren_train_opts *opt) {
    return opt->reduce != NULL && opt->shard_count >= 1;
}

siren_status siren_shard_reduce(const siren_train_opts *opt, float *grad,
                                size_t n, double *parts, int n_loss) {
    if (!siren_shard_active(opt)) return SIREN_OK;
    siren_status st = opt->reduce(opt->reduce_user, grad, n, parts, n_loss);
    if (st)
        return siren_fail(st, "summing the gradients over %d shards failed (%s)",
                          opt->shard_count, siren_status_str(st));
    return SIREN_OK;
}

siren_status siren_loop_reduce(siren_loop *L, float *grad, double *parts,
                               int n_loss) {
    const siren_train_opts *opt = L->opt;
    if (!siren_shard_active(opt)) return SIREN_OK;
    const int vote = opt->shard_count > 1;
    if (vote) parts[n_loss] = L->stop_vote;
    siren_status st = siren_shard_reduce(opt, grad, L->net->n_params, parts,
                                         n_loss + vote);
    if (!st && vote && parts[n_loss] > 0) L->stop_agreed = 1;
    return st;
}

/* Value fitting by MSE with Adam. Every buffer is allocated before the
 * first step and reused: a page fault costs about 10 us on the VMs this
 * runs on, so per-step allocation is visibly slow. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/jet.h"
#include "net/net.h"
#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/train.h"
#include "train/workers.h"
#include "util/error.h"
#include "util/rng.h"

double siren_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

siren_train_opts siren_train_opts_default(void) {
    siren_train_opts o;
    memset(&o, 0, sizeof o);
    o.steps = 500;
    o.lr = 1e-4f;
    o.beta1 = 0.9f;
    o.beta2 = 0.999f;
    o.eps = 1e-8f;
    o.batch = 0;
    o.seed = 0;
    o.threads = 0;
    o.jump_factor = 100;
    o.max_retries = 5;
    o.l1 = 0;
    o.bound_hidden = 0;
    o.l1_units = 0;
    o.band_lines = 16;
    o.add_prune_frac = 0.1f;
    return o;
}

/* The summed loss of cnt outputs y against targets t and, with gy, its
 * gradient divided by `div` (the mean's count): MSE sums (y - t)^2 with
 * gradient 2 (y - t); BCE on logits sums softplus(y) - t y (written so no
 * exp overflows) with gradient sigmoid(y) - t. Per-thread partial sums are
 * added in a fixed order so the loss is reproducible. */
static double loss_grad(siren_value_loss kind, const float *y, const float *t,
                        size_t cnt, float *gy, size_t div, int threads,
                        double *partial) {
    const float scale = (kind == SIREN_LOSS_MSE ? 2.0f : 1.0f) / (float)div;
#pragma omp parallel num_threads(threads)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t i0 = cnt * id / nt, i1 = cnt * (id + 1) / nt;
        double s = 0;
        if (kind == SIREN_LOSS_MSE) {
            for (size_t i = i0; i < i1; i++) {
                float e = y[i] - t[i];
                s += (double)e * e;
                if (gy) gy[i] = scale * e;
            }
        } else {
            for (size_t i = i0; i < i1; i++) {
                double z = y[i];
                s += (z > 0 ? z : 0) - z * t[i] + log1p(exp(-fabs(z)));
                if (gy) gy[i] = scale * (float)(1.0 / (1.0 + exp(-z)) - t[i]);
            }
        }
        partial[id] = s;
    }
    double sum = 0;
    for (int i = 0; i < threads; i++) sum += partial[i];
    return sum;
}

static double psnr_of_mse(double mse) {
    return mse > 0 ? 10.0 * log10(4.0 / mse) : INFINITY;
}

siren_status siren_train_values(siren_net *net, const float *coords,
                                const float *targets, size_t n,
                                const siren_train_opts *opt,
                                siren_fit_result *res) {
    return siren_train_values_loss(net, coords, targets, n, SIREN_LOSS_MSE,
                                   opt, res);
}

/* Points of a source into x, t: the points idx[k] (a minibatch) or, with
 * idx NULL, the points first, first + 1, ... */
static void source_fill(const siren_point_source *src, const size_t *idx, size_t first,
                        size_t m, int din, int dout, float *x, float *t) {
    for (size_t k = 0; k < m; k++)
        src->point(src->user, idx ? idx[k] : first + k, x + k * din, t + k * dout);
}

/* The values loop, over arrays (coords, targets: minibatches drawn from a
 * permutation reshuffled every epoch) or a point source (src: uniformly
 * with replacement). With shards (siren_train_opts), each step's batch is
 * drawn whole on every shard and this shard computes the rows [lo, hi) of
 * it; its loss sum and gradient, divided by the whole batch, are summed
 * over the shards by opt->reduce. */
static siren_status train_values(siren_net *net, const float *coords,
                                 const float *targets, const siren_point_source *src,
                                 size_t n, siren_value_loss kind,
                                 const siren_train_opts *opt, siren_fit_result *res) {
    const int mse = kind == SIREN_LOSS_MSE;
    const int din = net->cfg.in_features, dout = net->cfg.out_features;
    const int threads = siren_threads_resolve(opt->threads);
    const int full = opt->batch == 0 || opt->batch >= n;
    const size_t cap = full ? n : opt->batch;
    const int arrays = coords != NULL;
    size_t lo, hi;
    siren_shard_slice(opt, cap, &lo, &hi);
    const size_t mc = hi - lo; /* this shard's rows of each batch */
    siren_status st = SIREN_OK;
    siren_work *w = NULL;
    siren_loop L = {0};
    float *grad = NULL, *gy = NULL, *bx = NULL, *bt = NULL;
    size_t *perm = NULL, *idx = NULL;
    double *partial = NULL;
    memset(res, 0, sizeof *res);
    res->accuracy = NAN;
    if (n == 0) return siren_fail(SIREN_EINVAL, "no points to fit");
    if (opt->steps < 0) return siren_fail(SIREN_EINVAL, "negative step count");
    if (!(opt->lr > 0)) return siren_fail(SIREN_EINVAL, "learning rate must be positive");
    if ((st = siren_shard_check(opt, cap))) return st;

    if ((st = siren_work_create(net, mc, threads, &w))) goto done;
    grad = malloc(net->n_params * sizeof *grad);
    gy = malloc(mc * dout * sizeof *gy);
    partial = calloc(threads, sizeof *partial);
    int ok = grad && gy && partial;
    if (!full || !arrays) {
        bx = malloc(mc * din * sizeof *bx);
        bt = malloc(mc * dout * sizeof *bt);
        ok = ok && bx && bt;
    }
    if (!full && arrays) ok = ok && (perm = malloc(n * sizeof *perm));
    if (!full && !arrays) ok = ok && (idx = malloc(cap * sizeof *idx));
    if (!ok) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
        goto done;
    }
    if ((st = siren_loop_open(&L, net, opt, perm, n, full ? 0 : cap, threads))) goto done;
    /* a source's full batch (this shard's part of it) is gathered once */
    if (full && !arrays) source_fill(src, NULL, lo, mc, din, dout, bx, bt);
    const float *x = full && arrays ? coords + lo * din : bx,
                *t = full && arrays ? targets + lo * dout : bt;
    double loss = NAN;
    while (L.step < opt->steps) {
        siren_loop_tick(&L);
        /* every shard draws the whole batch, so the sampler's state is the
         * same on all of them, and keeps its own rows */
        if (!full && arrays) {
            for (size_t k = 0; k < cap; k++) {
                size_t i = siren_loop_next_point(&L.ck);
                if (k < lo || k >= hi) continue;
                memcpy(bx + (k - lo) * din, coords + i * din, din * sizeof *bx);
                memcpy(bt + (k - lo) * dout, targets + i * dout, dout * sizeof *bt);
            }
        } else if (!full) {
            for (size_t k = 0; k < cap; k++) idx[k] = siren_rng_below(&L.ck.rng, n);
            source_fill(src, idx + lo, 0, mc, din, dout, bx, bt);
        }
        siren_net_forward(net, w, x, mc, 1);
        double parts[2] = {loss_grad(kind, w->act[net->n_linear], t, mc * dout, gy,
                                     cap * dout, threads, partial), 0};
        siren_net_backward(net, w, mc, gy, grad);
        if ((st = siren_loop_reduce(&L, grad, parts, 1))) goto done;
        loss = parts[0] / (double)(cap * dout);
        /* past the guard's retries: stop with the last good state, and
         * still fill in the result (the caller keeps that model) */
        int stop;
        if ((st = siren_loop_update(&L, grad, loss, mse ? psnr_of_mse(loss) : NAN,
                                    &stop))) {
            if (st != SIREN_EDIVERGED) goto done;
            break;
        }
        if (stop) break;
    }
    /* fp32 again for the final metrics */
    siren_loop_finish(&L, &res->seconds, &res->steps, &res->step_ms_median);
    res->loss = loss;
    /* The final metric is over every point, after the last update. If
     * that update made the output non-finite (the guard saw only finite
     * parameters), the state before it is the result. */
    double sse = 0;
    size_t nlo, nhi; /* with shards, each evaluates its part of the points */
    siren_shard_slice(opt, n, &nlo, &nhi);
    for (int again = 1; again >= 0; again--) {
        sse = 0;
        for (size_t i = nlo; i < nhi; i += mc) {
            size_t m = nhi - i < mc ? nhi - i : mc;
            const float *xi = bx, *ti = bt; /* a source's full batch is there */
            if (arrays) {
                xi = coords + i * din;
                ti = targets + i * dout;
            } else if (!full) {
                source_fill(src, NULL, i, m, din, dout, bx, bt);
            }
            siren_net_forward(net, w, xi, m, 0);
            sse += loss_grad(kind, w->act[net->n_linear], ti, m * dout, NULL, 1,
                             threads, partial);
        }
        siren_status rs = siren_shard_reduce(opt, NULL, 0, &sse, 1);
        if (rs) {
            st = rs;
            goto done;
        }
        if (isfinite(sse) || !again || !siren_guard_restore(&L.guard, net, &L.adam, &L.step))
            break;
        res->steps = L.step;
    }
    res->psnr_db = mse ? psnr_of_mse(sse / ((double)n * dout)) : NAN;
    if (L.done_steps == 0) res->loss = sse / ((double)n * dout);
done:
    siren_work_free(w);
    siren_loop_close(&L);
    free(grad); free(gy); free(bx); free(bt); free(perm); free(idx); free(partial);
    return st;
}

siren_status siren_train_values_loss(siren_net *net, const float *coords,
                                     const float *targets, size_t n,
                                     siren_value_loss kind,
                                     const siren_train_opts *opt,
                                     siren_fit_result *res) {
    return train_values(net, coords, targets, NULL, n, kind, opt, res);
}

siren_status siren_train_values_source(siren_net *net, const siren_point_source *src,
                                       siren_value_loss kind,
                                       const siren_train_opts *opt,
                                       siren_fit_result *res) {
    return train_values(net, NULL, NULL, src, src->n, kind, opt, res);
}

/* ------------------------------------------------- derivative supervision */

/* Derivative losses are computed in chunks of points, each thread running
 * the whole network on its own chunks and summing its own parameter
 * gradient (workers.h); the threads' sums are then added in a fixed order,
 * so the result depends on the thread count, not on timing. A chunk's
 * buffers (C channels x every layer) stay in the caches, where a
 * full-batch pass streams ~1 GB through memory per step for its
 * element-wise work: measured 855 -> 800 ms per Laplacian step at 256x256.
 * Points per chunk, by path: */
enum { CHUNK_JET = 512, CHUNK_GRAD = 1024 };

/* Loss of points [0, m) of one chunk (x, gt, lt already offset), summed;
 * with gsum, also its gradient added there (scale = 2 / batch). */
static double deriv_chunk(const siren_net *net, siren_worker *w, const float *x,
                          const float *gt, const float *lt, size_t m,
                          float scale, int want_grad) {
    const int d = net->cfg.in_features;
    double s = 0;
    if (w->gw) {
        const float *y, *gx;
        siren_grad_forward(net, w->gw, x, m, &y, &gx);
        for (size_t i = 0; i < m * d; i++) {
            float e = gx[i] - gt[i];
            s += (double)e * e;
            w->gout[i] = scale * e;
        }
        if (want_grad) siren_grad_backward(net, w->gw, m, NULL, w->gout, w->gc);
    } else {
        siren_jet_forward(net, w->jw, x, m);
        const float *o = w->jw->post[net->n_linear];
        const size_t C = (size_t)w->jw->channels;
        memset(w->gout, 0, C * m * sizeof(float));
        for (size_t r = 0; r < m; r++) {
            if (gt)
                for (int j = 0; j < d; j++) {
                    size_t q = (1 + (size_t)j) * m + r;
                    float e = o[q] - gt[r * d + j];
                    s += (double)e * e;
                    w->gout[q] = scale * e;
                }
            if (lt) {
                size_t q = (1 + (size_t)d) * m + r;
                float e = o[q] - lt[r];
                s += (double)e * e;
                w->gout[q] = scale * e;
            }
        }
        if (want_grad) siren_jet_backward(net, w->jw, m, w->gout, w->gc);
    }
    if (want_grad) siren_worker_add(w, net->n_params);
    return s;
}

/* Loss of the m points summed and divided by `div` (the batch: m, or more
 * when this is a shard's part of it) and, with grad, its parameter
 * gradient. */
static double deriv_step(const siren_net *net, siren_workers *P, const float *x,
                         const float *gt, const float *lt, size_t m, size_t div,
                         float *grad) {
    const int d = net->cfg.in_features;
    const size_t chunk = P->chunk, nch = (m + chunk - 1) / chunk;
    const float scale = 2.0f / (float)div;
    double part[SIREN_WORKERS_MAX] = {0}; /* each thread's loss */
#pragma omp parallel num_threads(P->T)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        siren_worker *w = P->w + t;
        if (grad) memset(w->gsum, 0, net->n_params * sizeof(float));
        for (size_t c = nch * t / nt; c < nch * (t + 1) / nt; c++) {
            size_t off = c * chunk, cnt = m - off < chunk ? m - off : chunk;
            part[t] += deriv_chunk(net, w, x + off * d, gt ? gt + off * d : NULL,
                                   lt ? lt + off : NULL, cnt, scale, grad != NULL);
        }
        if (grad) siren_workers_reduce(P, net->n_params, grad);
    }
    double loss = 0;
    for (int t = 0; t < P->T; t++) loss += part[t];
    return loss / (double)div;
}

/* The loss over all n points after training: with shards, each its part,
 * summed by the reduce. */
static siren_status deriv_final(const siren_net *net, siren_workers *P, const float *x,
                                const float *gt, const float *lt, size_t n,
                                const siren_train_opts *opt, double *loss) {
    const int d = net->cfg.in_features;
    size_t lo, hi;
    siren_shard_slice(opt, n, &lo, &hi);
    *loss = deriv_step(net, P, x + lo * d, gt ? gt + lo * d : NULL,
                       lt ? lt + lo : NULL, hi - lo, n, NULL);
    return siren_shard_reduce(opt, NULL, 0, loss, 1);
}

siren_status siren_train_derivs(siren_net *net, const float *coords,
                                const float *grad_t, const float *lapl_t,
                                size_t n, const siren_train_opts *opt,
                                siren_fit_result *res) {
    const int d = net->cfg.in_features;
    const int threads = siren_threads_resolve(opt->threads);
    const int full = opt->batch == 0 || opt->batch >= n;
    const size_t cap = full ? n : opt->batch;
    size_t lo, hi; /* this shard's rows of each batch (siren_train_values) */
    siren_shard_slice(opt, cap, &lo, &hi);
    const size_t mc = hi - lo;
    const size_t chunk0 = lapl_t ? CHUNK_JET : CHUNK_GRAD;
    const size_t chunk = mc < chunk0 ? mc : chunk0;
    siren_status st = SIREN_OK;
    siren_loop L = {0};
    siren_workers P = {0};
    float *grad = NULL, *bx = NULL, *bg = NULL, *bl = NULL;
    size_t *perm = NULL;
    memset(res, 0, sizeof *res);
    res->accuracy = NAN;
    res->psnr_db = NAN;
    if (n == 0) return siren_fail(SIREN_EINVAL, "no points to fit");
    if (!grad_t && !lapl_t) return siren_fail(SIREN_EINVAL, "no derivative targets");
    if (net->cfg.out_features != 1)
        return siren_fail(SIREN_EINVAL, "derivative fitting needs one output, "
                          "the model has %d", net->cfg.out_features);
    if (opt->steps < 0) return siren_fail(SIREN_EINVAL, "negative step count");
    if (!(opt->lr > 0)) return siren_fail(SIREN_EINVAL, "learning rate must be positive");
    if ((st = siren_shard_check(opt, cap))) return st;
    /* the double backward takes one width: an input encoding (a wider
     * layer 0) goes through the gradient jets instead */
    const int pass = lapl_t ? SIREN_JET_LAPL
                     : net->cfg.encoding == SIREN_ENC_NONE ? SIREN_DOUBLE_BACKWARD
                                                           : SIREN_JET_GRAD;
    if ((st = siren_workers_create(&P, net, pass, threads, chunk))) goto done;
    grad = malloc(net->n_params * sizeof *grad);
    if (!full) {
        bx = malloc(mc * d * sizeof *bx);
        bg = grad_t ? malloc(mc * d * sizeof *bg) : NULL;
        bl = lapl_t ? malloc(mc * sizeof *bl) : NULL;
        perm = malloc(n * sizeof *perm);
    }
    if (!grad || (!full && (!bx || !perm || (grad_t && !bg) || (lapl_t && !bl)))) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
        goto done;
    }
    if ((st = siren_loop_open(&L, net, opt, full ? NULL : perm, n, full ? 0 : cap,
                              threads)))
        goto done;
    while (L.step < opt->steps) {
        siren_loop_tick(&L);
        const float *x = coords + lo * d, *gt = grad_t ? grad_t + lo * d : NULL,
                    *lt = lapl_t ? lapl_t + lo : NULL;
        if (!full) { /* the whole batch drawn, this shard's rows kept */
            for (size_t k = 0; k < cap; k++) {
                size_t i = siren_loop_next_point(&L.ck);
                if (k < lo || k >= hi) continue;
                memcpy(bx + (k - lo) * d, coords + i * d, d * sizeof *bx);
                if (bg) memcpy(bg + (k - lo) * d, grad_t + i * d, d * sizeof *bg);
                if (bl) bl[k - lo] = lapl_t[i];
            }
            x = bx; gt = bg; lt = bl;
        }
        double parts[2] = {deriv_step(net, &P, x, gt, lt, mc, cap, grad), 0};
        if ((st = siren_loop_reduce(&L, grad, parts, 1))) goto done;
        const double loss = parts[0];
        /* past the guard's retries: see siren_train_values */
        int stop;
        if ((st = siren_loop_update(&L, grad, loss, NAN, &stop))) {
            if (st != SIREN_EDIVERGED) goto done;
            break;
        }
        if (stop) break;
    }
    /* fp32 again for the final metrics */
    siren_loop_finish(&L, &res->seconds, &res->steps, &res->step_ms_median);
    /* the final loss over every point, after the last update (or before
     * it, when it made the output non-finite: see siren_train_values) */
    siren_status rs = deriv_final(net, &P, coords, grad_t, lapl_t, n, opt, &res->loss);
    if (!rs && !isfinite(res->loss) &&
        siren_guard_restore(&L.guard, net, &L.adam, &L.step)) {
        res->steps = L.step;
        rs = deriv_final(net, &P, coords, grad_t, lapl_t, n, opt, &res->loss);
    }
    if (rs) st = rs;
done:
    siren_workers_free(&P);
    siren_loop_close(&L);
    free(grad); free(bx); free(bg); free(bl); free(perm);
    return st;
}

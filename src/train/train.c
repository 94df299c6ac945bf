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
#include "train/train.h"
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
    return o;
}

/* gy = 2 (y - t) / count and the summed squared error, with per-thread
 * partial sums added in a fixed order so the loss is reproducible. */
static double mse_grad(const float *y, const float *t, size_t cnt, float *gy,
                       int threads, double *partial) {
    const float scale = 2.0f / (float)cnt;
#pragma omp parallel num_threads(threads)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t i0 = cnt * id / nt, i1 = cnt * (id + 1) / nt;
        double s = 0;
        for (size_t i = i0; i < i1; i++) {
            float e = y[i] - t[i];
            s += (double)e * e;
            if (gy) gy[i] = scale * e;
        }
        partial[id] = s;
    }
    double sum = 0;
    for (int i = 0; i < threads; i++) sum += partial[i];
    return sum;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the step times, leaving out the first 5 (page faults, cold
 * caches) when there are more than 10, as the PyTorch reference does. */
static double median_ms(double *ms, int n) {
    if (n > 10) {
        ms += 5;
        n -= 5;
    }
    if (n <= 0) return 0;
    qsort(ms, n, sizeof *ms, cmp_double);
    return n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
}

static double psnr_of_mse(double mse) {
    return mse > 0 ? 10.0 * log10(4.0 / mse) : INFINITY;
}

/* ------------------------------------------------ shared by both loops */

/* The sampler and checkpoint state at step 0, or read from opt->resume.
 * perm (n entries) is the minibatch permutation, NULL for full batch. */
static siren_status state_begin(siren_train_state *ck, siren_net *net,
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
    siren_rng_seed(&ck->rng, opt->seed ^ 0x5eed5a3b1e5ull);
    if (perm)
        for (size_t i = 0; i < n; i++) perm[i] = i;
    return opt->resume ? siren_checkpoint_read(opt->resume, net, adam, ck)
                       : SIREN_OK;
}

/* The next point of a minibatch: without replacement, the permutation
 * reshuffled (Fisher-Yates) at the start of every epoch. */
static size_t next_point(siren_train_state *ck) {
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
static siren_status maybe_checkpoint(siren_train_state *ck, const siren_net *net,
                                     const siren_adam *adam,
                                     const siren_train_opts *opt, int step,
                                     int stop) {
    if (!opt->checkpoint ||
        !(stop || step == opt->steps ||
          (opt->checkpoint_every > 0 && step % opt->checkpoint_every == 0)))
        return SIREN_OK;
    ck->step = step;
    return siren_checkpoint_write(opt->checkpoint, net, adam, ck);
}

siren_status siren_train_values(siren_net *net, const float *coords,
                                const float *targets, size_t n,
                                const siren_train_opts *opt,
                                siren_fit_result *res) {
    const int din = net->cfg.in_features, dout = net->cfg.out_features;
    const int threads = siren_threads_resolve(opt->threads);
    const int full = opt->batch == 0 || opt->batch >= n;
    const size_t cap = full ? n : opt->batch;
    siren_status st = SIREN_OK;
    siren_work *w = NULL;
    siren_adam adam = {0};
    float *grad = NULL, *gy = NULL, *bx = NULL, *bt = NULL;
    size_t *perm = NULL;
    double *partial = NULL, *step_ms = NULL;
    /* Step times kept for the median: the first STEP_LOG steps. */
    enum { STEP_LOG = 1 << 16 };
    memset(res, 0, sizeof *res);
    if (n == 0) return siren_fail(SIREN_EINVAL, "no points to fit");
    if (opt->steps < 0) return siren_fail(SIREN_EINVAL, "negative step count");
    if (!(opt->lr > 0)) return siren_fail(SIREN_EINVAL, "learning rate must be positive");

    if ((st = siren_work_create(net, cap, threads, &w))) goto done;
    if ((st = siren_adam_init(&adam, net->n_params))) goto done;
    grad = malloc(net->n_params * sizeof *grad);
    gy = malloc(cap * dout * sizeof *gy);
    partial = calloc(threads, sizeof *partial);
    step_ms = malloc((opt->steps < STEP_LOG ? opt->steps + 1 : STEP_LOG) * sizeof *step_ms);
    if (!full) {
        bx = malloc(cap * din * sizeof *bx);
        bt = malloc(cap * dout * sizeof *bt);
        perm = malloc(n * sizeof *perm);
    }
    if (!grad || !gy || !partial || !step_ms || (!full && (!bx || !bt || !perm))) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
        goto done;
    }
    siren_train_state ck;
    if ((st = state_begin(&ck, net, &adam, opt, full ? NULL : perm, n,
                          full ? 0 : cap, threads)))
        goto done;

    const double t0 = siren_now();
    int step = ck.step, done_steps = 0;
    double loss = NAN;
    while (step < opt->steps) {
        const double ts = siren_now();
        const float *x = coords, *t = targets;
        size_t m = n;
        if (!full) {
            for (size_t k = 0; k < cap; k++) {
                size_t i = next_point(&ck);
                memcpy(bx + k * din, coords + i * din, din * sizeof *bx);
                memcpy(bt + k * dout, targets + i * dout, dout * sizeof *bt);
            }
            x = bx; t = bt; m = cap;
        }
        siren_net_forward(net, w, x, m, 1);
        loss = mse_grad(w->act[net->n_linear], t, m * dout, gy, threads,
                        partial) / (double)(m * dout);
        siren_net_backward(net, w, m, gy, grad);
        siren_adam_step(&adam, net->params, grad, opt->lr, opt->beta1,
                        opt->beta2, opt->eps, threads);
        if (done_steps < STEP_LOG) step_ms[done_steps] = 1e3 * (siren_now() - ts);
        done_steps++;
        step++;
        int stop = 0;
        if (opt->progress) {
            siren_progress p = {step, opt->steps, siren_now() - t0, loss,
                                psnr_of_mse(loss)};
            stop = opt->progress(opt->user, &p);
        }
        if (opt->target_psnr > 0 && psnr_of_mse(loss) >= opt->target_psnr) stop = 1;
        if (!isfinite(loss)) {
            st = siren_fail(SIREN_EINVAL,
                            "training diverged at step %d (loss is %g); "
                            "try a smaller learning rate", step, loss);
            goto done;
        }
        if ((st = maybe_checkpoint(&ck, net, &adam, opt, step, stop))) goto done;
        if (stop) break;
    }
    res->seconds = siren_now() - t0;
    res->steps = step;
    res->step_ms_median = median_ms(step_ms, done_steps < STEP_LOG ? done_steps : STEP_LOG);
    res->loss = loss;
    /* The final metric is over every point, after the last update. */
    double sse = 0;
    for (size_t i = 0; i < n; i += cap) {
        size_t m = n - i < cap ? n - i : cap;
        siren_net_forward(net, w, coords + i * din, m, 0);
        sse += mse_grad(w->act[net->n_linear], targets + i * dout, m * dout,
                        NULL, threads, partial);
    }
    res->psnr_db = psnr_of_mse(sse / ((double)n * dout));
    if (done_steps == 0) res->loss = sse / ((double)n * dout);
done:
    siren_work_free(w);
    siren_adam_free(&adam);
    free(grad); free(gy); free(bx); free(bt); free(perm); free(partial);
    free(step_ms);
    return st;
}

/* ------------------------------------------------- derivative supervision */

/* Derivative losses are computed in chunks of points, each thread running
 * the whole network on its own chunks with single-threaded GEMMs and
 * summing its own parameter gradient; the threads' sums are then added in
 * a fixed order, so the result depends on the thread count, not on timing.
 * A chunk's buffers (C channels x every layer) stay in the caches, where a
 * full-batch pass streams ~1 GB through memory per step for its
 * element-wise work: measured 855 -> 800 ms per Laplacian step at 256x256.
 * Points per chunk, by path: */
enum { CHUNK_JET = 512, CHUNK_GRAD = 1024 };

/* One thread's buffers. Exactly one of gw / jw is set: the double
 * backward (gradients only) or the Laplacian jets. */
typedef struct {
    siren_grad_work *gw;
    siren_jet_work *jw;
    float *G, *gout;   /* upstream gradients of a chunk */
    float *gsum, *gc;  /* this thread's parameter gradient, one chunk's */
    double loss;
} deriv_worker;

/* Loss of points [0, m) of one chunk (x, gt, lt already offset), summed;
 * with gsum, also its gradient added there (scale = 2 / batch). */
static double deriv_chunk(const siren_net *net, deriv_worker *w, const float *x,
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
            w->G[i] = scale * e;
        }
        if (want_grad) siren_grad_backward(net, w->gw, m, NULL, w->G, w->gc);
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
            size_t q = (1 + (size_t)d) * m + r;
            float e = o[q] - lt[r];
            s += (double)e * e;
            w->gout[q] = scale * e;
        }
        if (want_grad) siren_jet_backward(net, w->jw, m, w->gout, w->gc);
    }
    if (want_grad) {
#pragma omp simd
        for (size_t k = 0; k < net->n_params; k++) w->gsum[k] += w->gc[k];
    }
    return s;
}

/* Loss (mean over the m points) and, with grad, its parameter gradient. */
static double deriv_step(const siren_net *net, deriv_worker *wk, int T,
                         size_t chunk, const float *x, const float *gt,
                         const float *lt, size_t m, float *grad) {
    const int d = net->cfg.in_features;
    const size_t nch = (m + chunk - 1) / chunk;
    const float scale = 2.0f / (float)m;
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        deriv_worker *w = wk + t;
        w->loss = 0;
        if (grad) memset(w->gsum, 0, net->n_params * sizeof(float));
        for (size_t c = nch * t / nt; c < nch * (t + 1) / nt; c++) {
            size_t off = c * chunk, cnt = m - off < chunk ? m - off : chunk;
            w->loss += deriv_chunk(net, w, x + off * d, gt ? gt + off * d : NULL,
                                   lt ? lt + off : NULL, cnt, scale, grad != NULL);
        }
        if (grad) {
#pragma omp barrier
#pragma omp for schedule(static)
            for (size_t k = 0; k < net->n_params; k++) {
                float s = 0;
                for (int u = 0; u < nt; u++) s += wk[u].gsum[k];
                grad[k] = s;
            }
        }
    }
    double loss = 0;
    for (int t = 0; t < T; t++) loss += wk[t].loss;
    return loss / (double)m;
}

siren_status siren_train_derivs(siren_net *net, const float *coords,
                                const float *grad_t, const float *lapl_t,
                                size_t n, const siren_train_opts *opt,
                                siren_fit_result *res) {
    const int d = net->cfg.in_features;
    const int threads = siren_threads_resolve(opt->threads);
    const int full = opt->batch == 0 || opt->batch >= n;
    const size_t cap = full ? n : opt->batch;
    const size_t chunk0 = lapl_t ? CHUNK_JET : CHUNK_GRAD;
    const size_t chunk = cap < chunk0 ? cap : chunk0;
    siren_status st = SIREN_OK;
    siren_adam adam = {0};
    deriv_worker wk[64];
    float *grad = NULL, *bx = NULL, *bg = NULL, *bl = NULL;
    size_t *perm = NULL;
    double *step_ms = NULL;
    enum { STEP_LOG = 1 << 16 };
    const int T = threads < 64 ? threads : 64;
    memset(wk, 0, sizeof wk);
    memset(res, 0, sizeof *res);
    res->psnr_db = NAN;
    if (n == 0) return siren_fail(SIREN_EINVAL, "no points to fit");
    if (!grad_t && !lapl_t) return siren_fail(SIREN_EINVAL, "no derivative targets");
    if (net->cfg.out_features != 1)
        return siren_fail(SIREN_EINVAL, "derivative fitting needs one output, "
                          "the model has %d", net->cfg.out_features);
    if (opt->steps < 0) return siren_fail(SIREN_EINVAL, "negative step count");
    if (!(opt->lr > 0)) return siren_fail(SIREN_EINVAL, "learning rate must be positive");
    for (int t = 0; t < T; t++) {
        deriv_worker *w = wk + t;
        if (!lapl_t) {
            if ((st = siren_grad_work_create(net, chunk, 1, &w->gw))) goto done;
            w->G = malloc(chunk * d * sizeof *w->G);
        } else {
            if ((st = siren_jet_work_create(net, SIREN_JET_LAPL, chunk, 1, &w->jw)))
                goto done;
            w->gout = malloc(chunk * (size_t)w->jw->channels * sizeof *w->gout);
        }
        w->gsum = malloc(net->n_params * sizeof *w->gsum);
        w->gc = malloc(net->n_params * sizeof *w->gc);
        if (!w->gsum || !w->gc || (w->gw && !w->G) || (w->jw && !w->gout)) {
            st = siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
            goto done;
        }
    }
    if ((st = siren_adam_init(&adam, net->n_params))) goto done;
    grad = malloc(net->n_params * sizeof *grad);
    step_ms = malloc((opt->steps < STEP_LOG ? opt->steps + 1 : STEP_LOG) * sizeof *step_ms);
    if (!full) {
        bx = malloc(cap * d * sizeof *bx);
        bg = grad_t ? malloc(cap * d * sizeof *bg) : NULL;
        bl = lapl_t ? malloc(cap * sizeof *bl) : NULL;
        perm = malloc(n * sizeof *perm);
    }
    if (!grad || !step_ms ||
        (!full && (!bx || !perm || (grad_t && !bg) || (lapl_t && !bl)))) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
        goto done;
    }
    siren_train_state ck;
    if ((st = state_begin(&ck, net, &adam, opt, full ? NULL : perm, n,
                          full ? 0 : cap, threads)))
        goto done;
    const double t0 = siren_now();
    int step = ck.step, done_steps = 0;
    double loss = NAN;
    while (step < opt->steps) {
        const double ts = siren_now();
        const float *x = coords, *gt = grad_t, *lt = lapl_t;
        size_t m = n;
        if (!full) {
            for (size_t k = 0; k < cap; k++) {
                size_t i = next_point(&ck);
                memcpy(bx + k * d, coords + i * d, d * sizeof *bx);
                if (bg) memcpy(bg + k * d, grad_t + i * d, d * sizeof *bg);
                if (bl) bl[k] = lapl_t[i];
            }
            x = bx; gt = bg; lt = bl; m = cap;
        }
        loss = deriv_step(net, wk, T, chunk, x, gt, lt, m, grad);
        siren_adam_step(&adam, net->params, grad, opt->lr, opt->beta1,
                        opt->beta2, opt->eps, threads);
        if (done_steps < STEP_LOG) step_ms[done_steps] = 1e3 * (siren_now() - ts);
        done_steps++;
        step++;
        int stop = 0;
        if (opt->progress) {
            siren_progress p = {step, opt->steps, siren_now() - t0, loss, NAN};
            stop = opt->progress(opt->user, &p);
        }
        if (!isfinite(loss)) {
            st = siren_fail(SIREN_EINVAL,
                            "training diverged at step %d (loss is %g); "
                            "try a smaller learning rate", step, loss);
            goto done;
        }
        if ((st = maybe_checkpoint(&ck, net, &adam, opt, step, stop))) goto done;
        if (stop) break;
    }
    res->seconds = siren_now() - t0;
    res->steps = step;
    res->step_ms_median = median_ms(step_ms, done_steps < STEP_LOG ? done_steps : STEP_LOG);
    /* the final loss over every point, after the last update */
    res->loss = deriv_step(net, wk, T, chunk, coords, grad_t, lapl_t, n, NULL);
done:
    for (int t = 0; t < T; t++) {
        siren_grad_work_free(wk[t].gw);
        siren_jet_work_free(wk[t].jw);
        free(wk[t].G); free(wk[t].gout); free(wk[t].gsum); free(wk[t].gc);
    }
    siren_adam_free(&adam);
    free(grad); free(bx); free(bg); free(bl); free(perm); free(step_ms);
    return st;
}

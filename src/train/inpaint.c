/* Inpainting (siren.h, "inpainting"): values on a subset of the points plus
 * an optional prior on the network's input derivatives at fresh random
 * points every step, as the official train_img_inpainting.py with
 * loss_functions.image_mse / image_mse_TV_prior / image_mse_FH_prior. The
 * data term runs through the plain forward/backward (net.c), the prior
 * through per-thread chunks of jets or the double backward (as pde.c); the
 * loop around them (Adam, guard, checkpoints, shards) is loop.c's. The
 * task (which pixels, metadata, the PSNR over all of them) is
 * src/tasks/image_task.c's. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "net/jet.h"
#include "net/net.h"
#include "train/loop.h"
#include "train/train.h"
#include "train/workers.h"
#include "util/error.h"
#include "util/rng.h"

const char *siren_inpaint_prior_name(siren_inpaint_prior p) {
    switch (p) {
    case SIREN_INPAINT_PRIOR_NONE: return "none";
    case SIREN_INPAINT_PRIOR_TV: return "tv";
    case SIREN_INPAINT_PRIOR_HESSIAN: return "hessian";
    }
    return NULL;
}

int siren_inpaint_prior_parse(const char *name) {
    for (int p = SIREN_INPAINT_PRIOR_NONE; p <= SIREN_INPAINT_PRIOR_HESSIAN; p++)
        if (!strcmp(name, siren_inpaint_prior_name((siren_inpaint_prior)p))) return p;
    return -1;
}

/* --------------------------------------------------------------- workers */

/* Points per chunk of the prior: a chunk's jets (6 channels x 4 layers x
 * 256 floats per point for the Hessian) stay in the caches (pde.c). */
enum { PRIOR_CHUNK = 512 };

/* Each thread's buffers for the prior's points (cap of them; none without
 * a prior). TV on a scalar output runs the double backward (about 2/3 of
 * the gradient jets' GEMMs in 2-D, DESIGN §3); TV on several outputs the
 * gradient jets, the Hessian prior the HESS jets. */
static siren_status prior_workers(siren_workers *P, const siren_net *net,
                                  siren_inpaint_prior kind, int threads, size_t cap) {
    memset(P, 0, sizeof *P);
    if (kind == SIREN_INPAINT_PRIOR_NONE || cap == 0) return SIREN_OK;
    const int pass = kind == SIREN_INPAINT_PRIOR_HESSIAN ? SIREN_JET_HESS
                     : net->cfg.out_features == 1 && net->cfg.encoding == SIREN_ENC_NONE
                         ? SIREN_DOUBLE_BACKWARD
                         : SIREN_JET_GRAD;
    const size_t chunk = cap < PRIOR_CHUNK ? cap : PRIOR_CHUNK;
    return siren_workers_create(P, net, pass, threads, chunk);
}

static float sgn(float v) { return (float)((v > 0) - (v < 0)); }

/* The unweighted prior of the n points x of one chunk, summed over them:
 * TV sum_{point, output, axis} |dPhi/dx_j|; Hessian sum_point ||H||_F over
 * every output and all d x d entries (so each mixed derivative counts
 * twice, as the official norm of the flattened Hessian). With want_grad,
 * the gradient of `scale` times that sum added to w->gsum. The Frobenius
 * norm's gradient at H = 0 is taken as 0 (a subgradient). */
static double prior_chunk(const siren_net *net, siren_worker *w,
                          siren_inpaint_prior kind, const float *x, size_t n,
                          float scale, int want_grad) {
    const int d = net->cfg.in_features, m = net->cfg.out_features;
    double s = 0;
    if (w->gw) {
        const float *y, *gx;
        siren_grad_forward(net, w->gw, x, n, &y, &gx);
        for (size_t i = 0; i < n * d; i++) {
            s += fabsf(gx[i]);
            w->gout[i] = scale * sgn(gx[i]);
        }
        if (want_grad) siren_grad_backward(net, w->gw, n, NULL, w->gout, w->gc);
    } else {
        siren_jet_forward(net, w->jw, x, n);
        const float *o = w->jw->post[net->n_linear];
        const size_t C = (size_t)w->jw->channels;
        float *g = w->gout;
        memset(g, 0, C * n * m * sizeof *g);
        if (kind == SIREN_INPAINT_PRIOR_TV) {
            for (int j = 0; j < d; j++)
                for (size_t q = (1 + j) * n * m; q < (2 + j) * n * m; q++) {
                    s += fabsf(o[q]);
                    g[q] = scale * sgn(o[q]);
                }
        } else {
            for (size_t r = 0; r < n; r++) {
                /* the channels hold the upper triangle: an off-diagonal
                 * one stands for two entries of the d x d Hessian */
                double ss = 0;
                for (int a = 0; a < d; a++)
                    for (int b = a; b < d; b++) {
                        const int c = siren_jet_hess_channel(d, a, b);
                        const double mult = a == b ? 1.0 : 2.0;
                        for (int k = 0; k < m; k++) {
                            const double h = o[((size_t)c * n + r) * m + k];
                            ss += mult * h * h;
                        }
                    }
                const double nrm = sqrt(ss);
                s += nrm;
                if (!want_grad || !(nrm > 0)) continue;
                for (int a = 0; a < d; a++)
                    for (int b = a; b < d; b++) {
                        const int c = siren_jet_hess_channel(d, a, b);
                        const double mult = a == b ? 1.0 : 2.0;
                        for (int k = 0; k < m; k++) {
                            const size_t q = ((size_t)c * n + r) * m + k;
                            g[q] = (float)(scale * mult * o[q] / nrm);
                        }
                    }
            }
        }
        if (want_grad) siren_jet_backward(net, w->jw, n, g, w->gc);
    }
    if (want_grad) siren_worker_add(w, net->n_params);
    return s;
}

/* The prior's unweighted sum over n points and, with grad, the gradient of
 * scale times it (overwriting grad). Each thread sums its own chunks; the
 * sums are added in thread order, so the result depends on the thread
 * count only. */
static double prior_step(const siren_net *net, siren_workers *P,
                         siren_inpaint_prior kind, const float *x, size_t n,
                         float scale, float *grad) {
    const int d = net->cfg.in_features;
    const size_t chunk = P->chunk, nch = n ? (n + chunk - 1) / chunk : 0;
    double sum[SIREN_WORKERS_MAX] = {0}; /* each thread's */
#pragma omp parallel num_threads(P->T)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        siren_worker *w = P->w + t;
        if (grad) memset(w->gsum, 0, net->n_params * sizeof(float));
        for (size_t c = nch * t / nt; c < nch * (t + 1) / nt; c++) {
            const size_t off = c * chunk, cnt = n - off < chunk ? n - off : chunk;
            sum[t] += prior_chunk(net, w, kind, x + off * d, cnt, scale, grad != NULL);
        }
        if (grad) siren_workers_reduce(P, net->n_params, grad);
    }
    double s = 0;
    for (int t = 0; t < P->T; t++) s += sum[t];
    return s;
}

/* The prior's weight per unit of its sum: k1 over the mean's count. */
static double prior_scale(const siren_net *net, siren_inpaint_prior kind, double k1,
                          size_t np) {
    if (kind == SIREN_INPAINT_PRIOR_NONE || np == 0) return 0;
    const double cnt = kind == SIREN_INPAINT_PRIOR_TV
                           ? (double)np * net->cfg.out_features * net->cfg.in_features
                           : (double)np;
    return k1 / cnt;
}

/* --------------------------------------------------------------- the data */

/* Sum over n points of the squared errors of the network's outputs y
 * against targets t (cnt = n * m values) and, with gy, their gradient
 * 2 e scale. Per-thread partial sums added in thread order. */
static double data_sum(const float *y, const float *t, size_t cnt, float *gy,
                       float scale, int threads, double *partial) {
#pragma omp parallel num_threads(threads)
    {
        const int id = omp_get_thread_num(), nt = omp_get_num_threads();
        const size_t i0 = cnt * id / nt, i1 = cnt * (id + 1) / nt;
        double s = 0;
        for (size_t i = i0; i < i1; i++) {
            const float e = y[i] - t[i];
            s += (double)e * e;
            if (gy) gy[i] = 2.0f * scale * e;
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

/* ------------------------------------------------------------ test hook */

double siren_inpaint_loss(const siren_net *net, const float *x, const float *t,
                          size_t n, double data_div, siren_inpaint_prior kind,
                          double k1, const float *xp, size_t np, int threads,
                          float *grad, double terms[2]) {
    const int T = siren_threads_resolve(threads), m = net->cfg.out_features;
    siren_workers P = {0};
    siren_work *vw = NULL;
    float *gy = NULL, *gp = NULL;
    double *partial = malloc(T * sizeof *partial), loss = NAN;
    if (!partial || (n && siren_work_create(net, n, T, &vw)) ||
        prior_workers(&P, net, kind, T, np))
        goto done;
    gy = malloc((n ? n : 1) * m * sizeof *gy);
    gp = malloc(net->n_params * sizeof *gp);
    if (!gy || !gp) goto done;
    double dsum = 0, psum = 0;
    if (grad) memset(grad, 0, net->n_params * sizeof *grad);
    if (n) {
        siren_net_forward(net, vw, x, n, grad != NULL);
        dsum = data_sum(vw->act[net->n_linear], t, n * m, gy, (float)(1.0 / data_div),
                        T, partial);
        if (grad) siren_net_backward(net, vw, n, gy, grad);
    }
    const double ps = prior_scale(net, kind, k1, np);
    if (ps > 0) {
        psum = prior_step(net, &P, kind, xp, np, (float)ps, grad ? gp : NULL);
        if (grad)
            for (size_t k = 0; k < net->n_params; k++) grad[k] += gp[k];
    }
    double t2[2] = {dsum / data_div, ps * psum};
    if (terms) memcpy(terms, t2, sizeof t2);
    loss = t2[0] + t2[1];
done:
    siren_workers_free(&P);
    siren_work_free(vw);
    free(gy); free(gp); free(partial);
    return loss;
}

/* ----------------------------------------------------------------- train */

siren_status siren_train_inpaint(siren_net *net, const float *coords,
                                 const float *targets, size_t n, size_t n_all,
                                 siren_inpaint_prior kind, double k1,
                                 size_t prior_points, const siren_train_opts *opt,
                                 siren_fit_result *res, double terms[2]) {
    const int din = net->cfg.in_features, m = net->cfg.out_features;
    const int threads = siren_threads_resolve(opt->threads);
    const int full = opt->batch == 0 || opt->batch >= n;
    const size_t cap = full ? n : opt->batch;
    const size_t np = kind == SIREN_INPAINT_PRIOR_NONE ? 0 : prior_points;
    siren_status st = SIREN_OK;
    siren_loop L = {0};
    siren_workers P = {0};
    siren_work *vw = NULL;
    float *grad = NULL, *gp = NULL, *gy = NULL, *bx = NULL, *bt = NULL, *xp = NULL;
    size_t *perm = NULL;
    double *partial = NULL;
    memset(res, 0, sizeof *res);
    res->accuracy = NAN;
    res->psnr_db = NAN;
    res->loss = NAN;
    if (terms) terms[0] = terms[1] = NAN;
    if (n == 0) return siren_fail(SIREN_EINVAL, "no points to fit");
    if (n_all < n) return siren_fail(SIREN_EINVAL, "%zu points kept of %zu", n, n_all);
    if (kind < SIREN_INPAINT_PRIOR_NONE || kind > SIREN_INPAINT_PRIOR_HESSIAN)
        return siren_fail(SIREN_EINVAL, "unknown prior %d", (int)kind);
    if (kind != SIREN_INPAINT_PRIOR_NONE && !(k1 >= 0 && isfinite(k1)))
        return siren_fail(SIREN_EINVAL, "prior weight %g: need a finite number >= 0", k1);
    if (kind != SIREN_INPAINT_PRIOR_NONE && np == 0)
        return siren_fail(SIREN_EINVAL, "a prior needs at least one random point");
    if (opt->steps < 0) return siren_fail(SIREN_EINVAL, "negative step count");
    if (!(opt->lr > 0)) return siren_fail(SIREN_EINVAL, "learning rate must be positive");
    if ((st = siren_shard_check(opt, cap))) return st;
    if (np && (st = siren_shard_check(opt, np))) return st;
    /* this shard's rows of each batch and of the prior's points */
    size_t lo, hi, plo, phi;
    siren_shard_slice(opt, cap, &lo, &hi);
    siren_shard_slice(opt, np, &plo, &phi);
    const size_t mc = hi - lo;
    /* The official image_mse with a mask: mean over every pixel and output
     * of mask * (Phi - y)^2, i.e. the kept pixels' squared errors over the
     * count of all; a minibatch of the kept ones is scaled up to the same
     * estimate. */
    const double data_div = (double)cap * (double)n_all * m / (double)n;
    const double ps = prior_scale(net, kind, k1, np);
    if ((st = siren_work_create(net, mc, threads, &vw)) ||
        (st = prior_workers(&P, net, kind, threads, phi - plo)))
        goto done;
    grad = malloc(net->n_params * sizeof *grad);
    gp = malloc(net->n_params * sizeof *gp);
    gy = malloc(mc * m * sizeof *gy);
    partial = malloc(threads * sizeof *partial);
    xp = np ? malloc(np * din * sizeof *xp) : NULL;
    int ok = grad && gp && gy && partial && (!np || xp);
    if (!full) {
        bx = malloc(mc * din * sizeof *bx);
        bt = malloc(mc * m * sizeof *bt);
        perm = malloc(n * sizeof *perm);
        ok = ok && bx && bt && perm;
    }
    if (!ok) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
        goto done;
    }
    if ((st = siren_loop_open(&L, net, opt, perm, n, full ? 0 : cap, threads))) goto done;
    const float *x = full ? coords + lo * din : bx, *t = full ? targets + lo * m : bt;
    while (L.step < opt->steps) {
        siren_loop_tick(&L);
        /* every shard draws the whole batch and all prior points (the same
         * sampler state everywhere) and keeps its own rows */
        if (!full)
            for (size_t k = 0; k < cap; k++) {
                const size_t i = siren_loop_next_point(&L.ck);
                if (k < lo || k >= hi) continue;
                memcpy(bx + (k - lo) * din, coords + i * din, din * sizeof *bx);
                memcpy(bt + (k - lo) * m, targets + i * m, m * sizeof *bt);
            }
        /* official: 2 (U[0, 1) - 0.5) per coordinate */
        for (size_t i = 0; i < np * din; i++)
            xp[i] = (float)(2.0 * siren_rng_uniform(&L.ck.rng) - 1.0);
        siren_net_forward(net, vw, x, mc, 1);
        double parts[3] = {data_sum(vw->act[net->n_linear], t, mc * m, gy,
                                    (float)(1.0 / data_div), threads, partial) / data_div,
                           0, 0};
        siren_net_backward(net, vw, mc, gy, grad);
        if (ps > 0) {
            parts[1] = ps * prior_step(net, &P, kind, xp + plo * din, phi - plo,
                                       (float)ps, gp);
            for (size_t k = 0; k < net->n_params; k++) grad[k] += gp[k];
        }
        if ((st = siren_loop_reduce(&L, grad, parts, 2))) goto done;
        const double loss = parts[0] + parts[1];
        res->loss = loss;
        if (terms) memcpy(terms, parts, 2 * sizeof *terms);
        /* the metric: PSNR of this step's kept points */
        const double psnr = psnr_of_mse(parts[0] * data_div / ((double)cap * m));
        int stop;
        if ((st = siren_loop_update(&L, grad, loss, psnr, &stop))) {
            if (st != SIREN_EDIVERGED) goto done;
            break; /* the last good state, returned with the status */
        }
        if (stop) break;
    }
    /* fp32 again for the final metrics */
    siren_loop_finish(&L, &res->seconds, &res->steps, &res->step_ms_median);
    /* The PSNR over every kept point after the last update (or before it,
     * when it made the output non-finite: see siren_train_values). */
    size_t nlo, nhi;
    siren_shard_slice(opt, n, &nlo, &nhi);
    for (int again = 1; again >= 0; again--) {
        double sse = 0;
        for (size_t i = nlo; i < nhi; i += mc) {
            const size_t c = nhi - i < mc ? nhi - i : mc;
            siren_net_forward(net, vw, coords + i * din, c, 0);
            sse += data_sum(vw->act[net->n_linear], targets + i * m, c * m, NULL, 1,
                            threads, partial);
        }
        siren_status rs = siren_shard_reduce(opt, NULL, 0, &sse, 1);
        if (rs) {
            st = rs;
            goto done;
        }
        res->psnr_db = psnr_of_mse(sse / ((double)n * m));
        if (isfinite(sse) || !again || !siren_guard_restore(&L.guard, net, &L.adam, &L.step))
            break;
        res->steps = L.step;
    }
done:
    siren_loop_close(&L);
    siren_workers_free(&P);
    siren_work_free(vw);
    free(grad); free(gp); free(gy); free(bx); free(bt); free(xp); free(perm); free(partial);
    return st;
}

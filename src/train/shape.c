/* Signed distance fitting with the official SIREN loss (train_sdf.py's
 * sdf_loss): the network's value and gradient at on-surface points from
 * the cloud and at off-surface points uniform in [-1, 1]^3, by the double
 * backward of gradnet.c, in per-thread chunks like the derivative loop of
 * train.c. The shape's normalisation and meshing belong to the task
 * (src/tasks/shape_task.c); this file sees only normalised points. */
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

/* The official weights of the four terms, each a mean over all points. */
#define W_SDF 3e3f     /* |Phi| on the surface */
#define W_INTER 1e2f   /* exp(-100 |Phi|) off it */
#define W_NORMAL 1e2f  /* 1 - cos(grad Phi, n) on it */
#define W_EIKONAL 5e1f /* | |grad Phi| - 1 | everywhere */

/* Points per chunk (as CHUNK_GRAD in train.c). */
enum { CHUNK = 1024 };

static float signf_(float v) { return (float)((v > 0) - (v < 0)); }

/* Chunk [off, off + m) of the batch x (M, 3), whose first n_on points are
 * on the surface with normals nrm (n_on, 3). Adds the four loss sums to
 * loss and, with want_grad, the parameter gradient to w->gsum. */
static void sdf_chunk(const siren_net *net, siren_worker *w, double loss[4],
                      const float *x, const float *nrm, size_t n_on, size_t off,
                      size_t m, size_t M, int want_grad) {
    const float *y, *g;
    siren_grad_forward(net, w->gw, x + off * 3, m, &y, &g);
    const float inv = 1.0f / (float)M;
    double ls = 0, li = 0, ln = 0, le = 0;
    for (size_t r = 0; r < m; r++) {
        const size_t i = off + r;
        const float *gr = g + 3 * r;
        const float phi = y[r];
        const float gn = sqrtf(gr[0] * gr[0] + gr[1] * gr[1] + gr[2] * gr[2]);
        float gphi, G[3] = {0, 0, 0};
        /* eikonal, everywhere */
        le += fabsf(gn - 1.0f);
        if (gn > 0) {
            const float c = W_EIKONAL * inv * signf_(gn - 1.0f) / gn;
            G[0] = c * gr[0]; G[1] = c * gr[1]; G[2] = c * gr[2];
        }
        if (i < n_on) {
            const float *nv = nrm + 3 * i;
            ls += fabsf(phi);
            gphi = W_SDF * inv * signf_(phi);
            /* torch's cosine_similarity: x.y / max(|x| |y|, 1e-8) */
            const float nn = sqrtf(nv[0] * nv[0] + nv[1] * nv[1] + nv[2] * nv[2]);
            const float den = gn * nn > 1e-8f ? gn * nn : 1e-8f;
            const float dot = gr[0] * nv[0] + gr[1] * nv[1] + gr[2] * nv[2];
            const float cs = dot / den;
            ln += 1.0 - cs;
            if (gn * nn > 1e-8f) {
                /* d cos / d g = n / (|g||n|) - cos g / |g|^2 */
                const float a = -W_NORMAL * inv;
                for (int j = 0; j < 3; j++)
                    G[j] += a * (nv[j] / den - cs * gr[j] / (gn * gn));
            } else {
                for (int j = 0; j < 3; j++) G[j] += -W_NORMAL * inv * nv[j] / den;
            }
        } else {
            const float e = expf(-100.0f * fabsf(phi));
            li += e;
            gphi = W_INTER * inv * e * -100.0f * signf_(phi);
        }
        w->gy[r] = gphi;
        memcpy(w->gout + 3 * r, G, sizeof G);
    }
    loss[0] += W_SDF * ls;
    loss[1] += W_INTER * li;
    loss[2] += W_NORMAL * ln;
    loss[3] += W_EIKONAL * le;
    if (!want_grad) return;
    siren_grad_backward(net, w->gw, m, w->gy, w->gout, w->gc);
    siren_worker_add(w, net->n_params);
}

/* The loss (sum of the four means) of the batch's points [lo, hi) (all
 * of it, or a shard's part: the means are over all M points either way)
 * and, with grad, its parameter gradient; terms[4] gets the four weighted
 * means. */
static double sdf_step(const siren_net *net, siren_workers *P, const float *x,
                       const float *nrm, size_t n_on, size_t M, size_t lo,
                       size_t hi, float *grad, double terms[4]) {
    const size_t nch = (hi - lo + CHUNK - 1) / CHUNK;
    double part[SIREN_WORKERS_MAX][4] = {{0}}; /* each thread's loss sums */
#pragma omp parallel num_threads(P->T)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        siren_worker *w = P->w + t;
        if (grad) memset(w->gsum, 0, net->n_params * sizeof(float));
        for (size_t c = nch * t / nt; c < nch * (t + 1) / nt; c++) {
            size_t off = lo + c * CHUNK, cnt = hi - off < CHUNK ? hi - off : CHUNK;
            sdf_chunk(net, w, part[t], x, nrm, n_on, off, cnt, M, grad != NULL);
        }
        if (grad) siren_workers_reduce(P, net->n_params, grad);
    }
    double loss = 0;
    for (int k = 0; k < 4; k++) {
        double s = 0;
        for (int t = 0; t < P->T; t++) s += part[t][k];
        terms[k] = s / (double)M;
        loss += terms[k];
    }
    return loss;
}

/* sdf_step over this shard's part of the batch, the terms summed over the
 * shards (the reduce: the gradient with them when there is one). */
static siren_status sdf_step_sharded(const siren_net *net, siren_workers *P,
                                     const float *x, const float *nrm,
                                     size_t n_on, size_t M, siren_loop *L,
                                     const siren_train_opts *opt, float *grad,
                                     double terms[4], double *loss) {
    size_t lo, hi;
    siren_shard_slice(opt, M, &lo, &hi);
    *loss = sdf_step(net, P, x, nrm, n_on, M, lo, hi, grad, terms);
    if (!siren_shard_active(opt)) return SIREN_OK;
    double parts[5];
    memcpy(parts, terms, 4 * sizeof *parts);
    siren_status st = grad ? siren_loop_reduce(L, grad, parts, 4)
                           : siren_shard_reduce(opt, NULL, 0, parts, 4);
    if (st) return st;
    *loss = 0;
    for (int k = 0; k < 4; k++) *loss += (terms[k] = parts[k]);
    return SIREN_OK;
}

siren_status siren_train_sdf(siren_net *net, const float *pts,
                             const float *normals, size_t n,
                             const siren_train_opts *opt,
                             siren_fit_result *res) {
    const int threads = siren_threads_resolve(opt->threads);
    const int full = opt->batch == 0;
    const size_t n_on = full ? n : opt->batch;
    size_t M;
    siren_status st = SIREN_OK;
    siren_loop L = {0};
    siren_workers P = {0};
    float *grad = NULL, *x = NULL, *nb = NULL;
    memset(res, 0, sizeof *res);
    res->accuracy = NAN;
    res->psnr_db = NAN;
    if (n == 0) return siren_fail(SIREN_EINVAL, "no surface points to fit");
    if (net->cfg.in_features != 3 || net->cfg.out_features != 1)
        return siren_fail(SIREN_EINVAL, "an SDF model maps 3 inputs to 1 output, "
                          "this one %d to %d", net->cfg.in_features,
                          net->cfg.out_features);
    if (opt->steps < 0) return siren_fail(SIREN_EINVAL, "negative step count");
    if (!(opt->lr > 0)) return siren_fail(SIREN_EINVAL, "learning rate must be positive");
    if (!siren_mul_size(n_on, 2, &M) || M > ((size_t)1 << 31))
        return siren_fail(SIREN_ELIMIT, "batch of %zu points is too large", n_on);
    if ((st = siren_shard_check(opt, M))) return st;
    if ((st = siren_workers_create(&P, net, SIREN_DOUBLE_BACKWARD, threads,
                                   M < CHUNK ? M : CHUNK)))
        goto done;
    grad = malloc(net->n_params * sizeof *grad);
    x = malloc(M * 3 * sizeof *x);
    nb = malloc(n_on * 3 * sizeof *nb);
    if (!grad || !x || !nb) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
        goto done;
    }
    if ((st = siren_loop_open(&L, net, opt, NULL, n, full ? 0 : n_on, threads)))
        goto done;
    double loss = NAN, terms[4];
    while (L.step < opt->steps) {
        siren_loop_tick(&L);
        /* On-surface points with replacement, as the official PointCloud
         * dataset (np.random.choice); full batch takes every point. Then
         * as many off-surface points, uniform in the cube. */
        for (size_t k = 0; k < n_on; k++) {
            size_t i = full ? k : (size_t)siren_rng_below(&L.ck.rng, n);
            memcpy(x + 3 * k, pts + 3 * i, 3 * sizeof *x);
            memcpy(nb + 3 * k, normals + 3 * i, 3 * sizeof *nb);
        }
        for (size_t k = 3 * n_on; k < 3 * M; k++)
            x[k] = (float)(2.0 * siren_rng_uniform(&L.ck.rng) - 1.0);
        if ((st = sdf_step_sharded(net, &P, x, nb, n_on, M, &L, opt, grad, terms,
                                   &loss)))
            goto done;
        /* past the guard's retries: stop with the last good state, and
         * still fill in the result (the caller keeps that model) */
        int stop;
        if ((st = siren_loop_update(&L, grad, loss, NAN, &stop))) {
            if (st != SIREN_EDIVERGED) goto done;
            break;
        }
        if (stop) break;
    }
    /* fp32 again for the final metrics */
    siren_loop_finish(&L, &res->seconds, &res->steps, &res->step_ms_median);
    res->loss = loss;
    /* the last update unchecked by a loss: the loss of its parameters on
     * the last batch, and the state before it if that is not finite */
    if (L.step > 0 && st == SIREN_OK) {
        double last;
        if ((st = sdf_step_sharded(net, &P, x, nb, n_on, M, &L, opt, NULL, terms,
                                   &last)))
            goto done;
        if (!isfinite(last) && siren_guard_restore(&L.guard, net, &L.adam, &L.step))
            res->steps = L.step;
    }
done:
    siren_workers_free(&P);
    siren_loop_close(&L);
    free(grad); free(x); free(nb);
    return st;
}

double siren_sdf_loss(const siren_net *net, const float *x, const float *normals,
                      size_t n_on, size_t M, int threads, float *grad,
                      double terms[4]) {
    /* For tests: one evaluation of the loss (and gradient) on a given
     * batch, through the same chunks as training. */
    siren_workers P;
    double loss = NAN;
    if (!siren_workers_create(&P, net, SIREN_DOUBLE_BACKWARD,
                              siren_threads_resolve(threads), M < CHUNK ? M : CHUNK))
        loss = sdf_step(net, &P, x, normals, n_on, M, 0, M, grad, terms);
    siren_workers_free(&P);
    return loss;
}

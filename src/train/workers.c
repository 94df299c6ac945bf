/* Per-thread chunk workers (workers.h): their buffers, and the fixed-order
 * sum of their gradients. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "train/workers.h"
#include "util/error.h"

void siren_workers_free(siren_workers *P) {
    for (int t = 0; t < P->T; t++) {
        siren_grad_work_free(P->w[t].gw);
        siren_jet_work_free(P->w[t].jw);
        free(P->w[t].gout);
        free(P->w[t].gsum);
        free(P->w[t].gc);
    }
    memset(P, 0, sizeof *P);
}

siren_status siren_workers_create(siren_workers *P, const siren_net *net, int pass,
                                  int threads, size_t chunk) {
    const size_t d = (size_t)net->cfg.in_features, m = (size_t)net->cfg.out_features;
    memset(P, 0, sizeof *P);
    P->T = threads < SIREN_WORKERS_MAX ? threads : SIREN_WORKERS_MAX;
    P->chunk = chunk;
    for (int t = 0; t < P->T; t++) {
        siren_worker *w = P->w + t;
        siren_status st;
        size_t gn;
        if (pass == SIREN_DOUBLE_BACKWARD) {
            st = siren_grad_work_create(net, chunk, 1, &w->gw);
            gn = chunk * (d + 1); /* gout, then gy */
        } else {
            st = siren_jet_work_create(net, (siren_jet_mode)pass, chunk, 1, &w->jw);
            gn = w->jw ? (size_t)w->jw->channels * chunk * m : 0;
        }
        if (st) {
            siren_workers_free(P);
            return st;
        }
        w->gout = malloc(gn * sizeof *w->gout);
        w->gsum = malloc(net->n_params * sizeof *w->gsum);
        w->gc = malloc(net->n_params * sizeof *w->gc);
        if (!w->gout || !w->gsum || !w->gc) {
            siren_workers_free(P);
            return siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
        }
        if (w->gw) w->gy = w->gout + chunk * d;
    }
    return SIREN_OK;
}

void siren_worker_add(siren_worker *w, size_t n) {
#pragma omp simd
    for (size_t k = 0; k < n; k++) w->gsum[k] += w->gc[k];
}

void siren_workers_reduce(const siren_workers *P, size_t n, float *grad) {
    const int nt = omp_get_num_threads();
#pragma omp barrier
#pragma omp for schedule(static)
    for (size_t k = 0; k < n; k++) {
        float s = 0;
        for (int u = 0; u < nt; u++) s += P->w[u].gsum[k];
        grad[k] = s;
    }
}

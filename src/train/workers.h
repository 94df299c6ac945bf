/* Per-thread workers for the losses computed on chunks of points (train.c's
 * derivative fits, inpaint.c's prior, pde.c, shape.c): each OpenMP thread
 * runs the whole network on its own chunks with single-threaded GEMMs and
 * sums its own parameter gradient; siren_workers_reduce then adds the sums
 * in thread order. The loss of a chunk, and which chunks a thread takes,
 * stay with the caller. */
#ifndef SIREN_TRAIN_WORKERS_H
#define SIREN_TRAIN_WORKERS_H

#include <stddef.h>

#include "net/jet.h"
#include "net/net.h"

enum { SIREN_WORKERS_MAX = 64 };

/* siren_workers_create's pass when it is not jets (a siren_jet_mode): the
 * double backward (gradnet.c: one output, no input encoding). */
#define SIREN_DOUBLE_BACKWARD (-1)

typedef struct {
    siren_grad_work *gw; /* the double backward's buffers, or */
    siren_jet_work *jw;  /* the jets' (exactly one is set) */
    float *gout;         /* a chunk's upstream gradients: dLoss/dgrad Phi
                            (chunk, d) for the double backward, dLoss/d(output
                            jets) (C chunk, m) for jets */
    float *gy;           /* double backward: dLoss/dPhi (chunk); jets: NULL */
    float *gsum, *gc;    /* this thread's parameter gradient, one chunk's */
} siren_worker;

typedef struct {
    int T;        /* workers, one a thread */
    size_t chunk; /* points per chunk at most */
    siren_worker w[SIREN_WORKERS_MAX];
} siren_workers;

/* min(threads, SIREN_WORKERS_MAX) workers for chunks of `chunk` points
 * through `pass` (a siren_jet_mode or SIREN_DOUBLE_BACKWARD). Made once
 * before the steps and reused: a page fault costs about 10 us on the VMs
 * this runs on. P is cleared first and left cleared on failure, so
 * siren_workers_free is safe after any return. */
siren_status siren_workers_create(siren_workers *P, const siren_net *net, int pass,
                                  int threads, size_t chunk);
void siren_workers_free(siren_workers *P);

/* A chunk's gradient (gc) added to its thread's sum (gsum), n floats. */
void siren_worker_add(siren_worker *w, size_t n);

/* grad (n) = the gsums of the region's threads added in thread order, so
 * the result depends on the thread count, not on timing. Called by every
 * thread of the parallel region that filled them (it waits for all). */
void siren_workers_reduce(const siren_workers *P, size_t n, float *grad);

#endif

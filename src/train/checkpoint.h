/* Training checkpoints (checkpoint.c): the state a training loop needs to
 * continue bit for bit, written atomically and read back with checks. */
#ifndef SIREN_TRAIN_CHECKPOINT_H
#define SIREN_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "util/rng.h"

typedef struct {
    int step, steps;      /* steps done, steps planned */
    siren_rng rng;        /* the sampler's RNG */
    size_t *perm, pos;    /* minibatch permutation (NULL: full batch) */
    size_t n_points;      /* what must match on resume: */
    size_t batch;         /*   0 = full batch */
    uint64_t seed;
    int threads;
    float lr;             /* opt->lr times the guard's halvings: the factor
                             lr / opt->lr multiplies the schedule's rate */
    double good_loss;     /* the guard's last accepted loss (NAN: none) */
    int retries;          /* the guard's rollbacks so far */
} siren_train_state;

siren_status siren_checkpoint_write(const char *path, const siren_net *net,
                                    const siren_adam *adam,
                                    const siren_train_state *s);
/* Fills net's parameters, adam and s (step, rng, perm, pos) from path,
 * after checking it was written by a run with the same architecture,
 * points, batch, seed and threads as net and s describe. */
siren_status siren_checkpoint_read(const char *path, siren_net *net,
                                   siren_adam *adam, siren_train_state *s);

#endif

/* The hypernetwork prior inside libsiren (siren.h, "Priors"): the layout of
 * its parameters, the small batched MLPs it is made of, and the work
 * buffers of one training or inference batch. prior.c does the passes and
 * the training, prior_file.c the file format, dataset.c the image sets.
 * The generated SIREN itself runs through src/net (one siren_net per
 * thread whose parameters are the hypernetwork's output for one image). */
#ifndef SIREN_PRIOR_PRIOR_H
#define SIREN_PRIOR_PRIOR_H

#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "siren.h"
#include "util/rng.h"

/* Limits a prior file may declare (checked on load before allocating). */
#define SIREN_PRIOR_MAX_WIDTH 4096
#define SIREN_PRIOR_MAX_LAYERS 16
#define SIREN_PRIOR_MAX_SIZE 1024
#define SIREN_PRIOR_MAX_LINEAR (SIREN_PRIOR_MAX_LAYERS + 2)
/* Tensors of the generated SIREN: a weight and a bias per linear layer. */
#define SIREN_PRIOR_MAX_TENSORS (2 * SIREN_PRIOR_MAX_LINEAR)

/* One MLP over a batch of rows: linear layer l maps dims[l] -> dims[l+1]
 * (weight [out][in] row-major at w_off[l], bias at b_off[l], offsets into
 * the prior's parameter block). Every layer but the last is followed by
 * the activation; the last too when act_last is set (the set encoder's,
 * as the official SetEncoder), else it is linear (a hypernetwork head). */
typedef struct {
    int n_linear;
    int dims[SIREN_PRIOR_MAX_LINEAR + 1];
    size_t w_off[SIREN_PRIOR_MAX_LINEAR], b_off[SIREN_PRIOR_MAX_LINEAR];
    siren_activation act; /* SIREN_ACT_RELU or SIREN_ACT_SINE */
    float omega;          /* sine: sin(omega (W h + b)) */
    int act_last;
} siren_prior_mlp;

struct siren_prior {
    siren_prior_config cfg;
    siren_config siren;   /* the generated network's configuration */
    siren_prior_mlp enc;  /* (row, col, values...) -> latent, per context pixel */
    int n_tensors;        /* 2 per linear layer of the generated SIREN */
    siren_prior_mlp hyper[SIREN_PRIOR_MAX_TENSORS]; /* latent -> one tensor */
    size_t t_off[SIREN_PRIOR_MAX_TENSORS]; /* tensor's place in the SIREN's */
    size_t t_len[SIREN_PRIOR_MAX_TENSORS]; /* parameters, and its size       */
    int t_in[SIREN_PRIOR_MAX_TENSORS];     /* a weight's fan-in, 0 for a bias */
    size_t n_siren;       /* parameters of the generated SIREN */
    size_t n_params;      /* parameters of encoder + hypernetwork */
    float *params;
    int n_meta;
    char **meta_key, **meta_val;
};

/* Checks a configuration; the message says which field is wrong. */
siren_status siren_prior_config_check(const siren_prior_config *cfg);
/* Fills everything in p but the parameters and the metadata from cfg
 * (checked): the loader checks a file's tensors against it before it
 * allocates anything. */
siren_status siren_prior_layout(const siren_prior_config *cfg, siren_prior *p);
/* A prior with zeroed parameters and the layout of cfg (the loader and
 * siren_prior_create fill it). */
siren_status siren_prior_alloc(const siren_prior_config *cfg, siren_prior **out);

/* Work buffers for batches of at most `batch` images with at most `ctx`
 * context pixels each, on `threads` threads (one generated SIREN each),
 * allocated once and reused. */
typedef struct siren_prior_work siren_prior_work;
siren_status siren_prior_work_create(const siren_prior *p, int batch, int ctx,
                                     int threads, siren_prior_work **out);
void siren_prior_work_free(siren_prior_work *w);

/* One batch: images (B, size, size, channels) in [0, 1] given by
 * pointers, nc context pixels each given by pixel indices ctx (B, nc)
 * (row-major, distinct within an image). Returns the official loss
 *   mean over pixels and channels (y - t)^2          (on [-1, 1] values)
 *   + kl * mean over images and latent entries z^2
 *   + fw * mean over images and generated parameters theta^2
 * and its parts in parts[3] (NULL: not wanted); with grad != NULL also
 * dLoss/dparams in the prior's layout (overwritten). */
double siren_prior_batch(const siren_prior *p, siren_prior_work *w,
                         const float *const *images, int B, const uint32_t *ctx,
                         int nc, float kl, float fw, float *grad, double parts[3]);

/* The generated SIREN parameters of images whose context was encoded by
 * siren_prior_batch (no grad needed): image b's into theta (n_siren). */
void siren_prior_theta(const siren_prior *p, const siren_prior_work *w, int b,
                       float *theta);

/* Reproducible randomness: the seed of item i of stream `tag` in a run
 * seeded with `seed` (epochs' shuffles, steps' contexts, eval contexts),
 * so any step can be redone without replaying the ones before it. */
uint64_t siren_prior_seed(uint64_t seed, uint64_t tag, uint64_t i);
/* n distinct indices of [0, N) from r into out; idx is N scratch. */
void siren_prior_draw(siren_rng *r, int N, int n, uint32_t *idx, uint32_t *out);

/* Training state files (prior_file.c): the prior's tensors plus Adam's
 * moments (adam.m, adam.v), its step count and the training step, with a
 * fingerprint of what must match on resume (set size, batch, contexts,
 * seed). */
siren_status siren_prior_checkpoint_write(const char *path, const siren_prior *p,
                                          const siren_adam *adam, long step,
                                          const char *fingerprint);
/* Fills p's parameters, adam (initialised to p's count) and *step from
 * path after checking the configuration and the fingerprint. */
siren_status siren_prior_checkpoint_read(const char *path, siren_prior *p,
                                         siren_adam *adam, long *step,
                                         const char *fingerprint);

#endif

/* The SIREN MLP inside libsiren: parameter layout, the work buffers of a
 * forward/backward pass, and Adam. Points are stored one per row, so a
 * batch of N points in C jet channels is one (C·N)×width matrix and one GEMM
 * serves every channel (DESIGN §3); this issue uses the value channel only. */
#ifndef SIREN_NET_NET_H
#define SIREN_NET_NET_H

#include <stddef.h>

#include "siren.h"
#include "util/rng.h"

#define SIREN_MAX_HIDDEN_LAYERS 64
#define SIREN_MAX_LINEAR (SIREN_MAX_HIDDEN_LAYERS + 2)
#define SIREN_MAX_FEATURES 8192

struct siren_net {
    siren_config cfg;
    int n_linear;                    /* hidden_layers + 2 */
    int dims[SIREN_MAX_LINEAR + 1];  /* dims[l] -> dims[l+1] is linear l */
    size_t w_off[SIREN_MAX_LINEAR];  /* weight [dims[l+1]][dims[l]] */
    size_t b_off[SIREN_MAX_LINEAR];  /* bias [dims[l+1]] */
    size_t n_params;
    float *params;
    int n_meta;
    char **meta_key, **meta_val;
};

/* omega_0 of sine layer l (the last linear layer has none). An encoding
 * is layer 0 at omega 1; the MLP's first layer follows it. */
static inline float siren_layer_omega(const siren_net *net, int l) {
    const int l0 = net->cfg.encoding != SIREN_ENC_NONE;
    return l < l0 ? 1.0f : l == l0 ? net->cfg.first_omega_0 : net->cfg.hidden_omega_0;
}
/* The activation of layer l: the encoding's is a sine. */
static inline siren_activation siren_layer_act(const siren_net *net, int l) {
    return l == 0 && net->cfg.encoding != SIREN_ENC_NONE ? SIREN_ACT_SINE
                                                         : net->cfg.activation;
}
/* The encoding's output width (0 without one). */
int siren_encoding_width(const siren_config *cfg);
/* Leading parameters never trained (layer 0 when it is an encoding or
 * cfg.freeze_first is set), and a gradient
 * with those entries zeroed (so Adam leaves them exactly as they are);
 * every backward pass calls it. */
size_t siren_net_frozen_params(const siren_net *net);
/* The hidden-to-hidden weights (siren_train_opts l1, bound_hidden): each
 * moved towards 0 by `shrink` (stopping at 0), then, with bound > 0,
 * clipped to [-bound, bound]. */
void siren_net_project_hidden(siren_net *net, float shrink, float bound);
/* Group shrink of hidden units (siren_train_opts l1_units): every column
 * of every linear layer after the first MLP layer (the outgoing weights
 * of one hidden unit) scaled by max(0, 1 - shrink / its L2 norm). */
void siren_net_shrink_units(siren_net *net, float shrink);
/* TUNER's add-prune step (siren_train_opts.add_prune_every): of a TUNER
 * first layer's high-set units (the low box stays whole), the `count`
 * whose outgoing columns (in layer 1) have the smallest L2 norms get new
 * integer frequencies drawn as the init draws the high set (none in use),
 * a fresh phase and a zero outgoing column, so the network computes what
 * it did with those units pruned; their entries of Adam's moments m and v
 * (parameter-shaped, or NULL) are zeroed. Returns the units changed (0
 * for other nets). */
int siren_net_tuner_resample(siren_net *net, int count, siren_rng *rng, float *m,
                             float *v);
void siren_net_zero_frozen(const siren_net *net, float *grad);

/* Checks a configuration; fills the message on failure. */
siren_status siren_config_check(const siren_config *cfg);
/* A network with zeroed parameters and no metadata (the loader fills it). */
siren_status siren_net_alloc(const siren_config *cfg, siren_net **net);

/* Work buffers of one pass over at most `cap` points, allocated once and
 * reused across steps: act[l] is the input of linear layer l (act[0] is the
 * caller's points, not owned), act[n_linear] the output; dact[l] holds
 * f'(z) of sine layer l for the backward pass; g is the running gradient. */
typedef struct {
    size_t cap;
    int channels;
    int threads;
    int n_linear;
    const float *act0;
    float *act[SIREN_MAX_LINEAR + 1];
    float *dact[SIREN_MAX_LINEAR];
    float *g;
    float *gb;   /* per-thread partial sums of the backward pass, threads × */
    size_t part_stride;
    float *wt0;  /* the first layer's weight transposed, (in, width) */
    float *block;
} siren_work;

/* n_floats floats, 2 MiB aligned, on huge pages where possible, every page
 * touched (zeroed) once by `threads` threads; free() releases it. NULL when
 * out of memory. */
float *siren_work_alloc(size_t n_floats, int threads);

siren_status siren_work_create(const siren_net *net, size_t cap, int threads,
                               siren_work **work);
void siren_work_free(siren_work *work);

/* Forward pass of n <= cap points x (n, in); the output (n, out) is left in
 * work->act[n_linear]. With keep_derivs, f'(z) is stored for backward. */
void siren_net_forward(const siren_net *net, siren_work *work, const float *x,
                       size_t n, int keep_derivs);
/* Backward pass after a forward with keep_derivs: gy (n, out) is dLoss/dy;
 * grad (same layout as the parameters) is overwritten with dLoss/dparams.
 * Destroys work->dact and work->g (their buffers may swap). */
void siren_net_backward(const siren_net *net, siren_work *work, size_t n,
                        const float *gy, float *grad);

/* Adam (Kingma & Ba) with PyTorch's update order, so the same gradients
 * give the same parameters as torch.optim.Adam. */
typedef struct {
    size_t n;
    long t;
    float *m, *v;
} siren_adam;

siren_status siren_adam_init(siren_adam *a, size_t n);
void siren_adam_free(siren_adam *a);
void siren_adam_step(siren_adam *a, float *params, const float *grad, float lr,
                     float beta1, float beta2, float eps, int threads);

/* Resolve a thread count: <= 0 means every core. */
int siren_threads_resolve(int threads);

#endif

/* Jets: exact input derivatives of the network in one forward pass, and the
 * parameter gradients of any loss on them in one backward pass (DESIGN §3).
 *
 * A jet of a point carries C channels through every layer: the value, the
 * first derivatives along each input axis and, when asked, second
 * derivatives (per axis, only their sum, the "forward Laplacian", or the
 * whole Hessian with the mixed ones). The
 * channels of a batch of n points are stacked channel-major as one (C·n) ×
 * width matrix, channel c in rows [c·n, (c+1)·n), so one GEMM serves all
 * of them; the bias and the nonlinearity touch only the value channel, the
 * derivative channels go through f'(z), f''(z), f'''(z).
 *
 * The second file here, gradnet.c, computes the same first derivatives of
 * a scalar output by an explicit double-backward pass, which needs fewer
 * GEMMs (DESIGN §3's cost table); jets are the general mechanism. */
#ifndef SIREN_NET_JET_H
#define SIREN_NET_JET_H

#include <stddef.h>

#include "net/net.h"

typedef enum {
    SIREN_JET_VALUE = 0, /* C = 1:      h                              */
    SIREN_JET_GRAD = 1,  /* C = 1 + d:  h, dh/dx_j                     */
    SIREN_JET_LAPL = 2,  /* C = 2 + d:  h, dh/dx_j, sum_j d2h/dx_j2    */
    SIREN_JET_D2 = 3,    /* C = 1 + 2d: h, dh/dx_j, d2h/dx_j2 per axis */
    SIREN_JET_HESS = 4   /* C = 1 + d + d(d+1)/2: h, dh/dx_j, then the
                            Hessian's upper triangle d2h/dx_j dx_k, j <= k,
                            row by row (2-D: rr, rc, cc) */
} siren_jet_mode;

/* Channels of a mode for d input axes. */
int siren_jet_channels(siren_jet_mode mode, int d);

/* SIREN_JET_HESS: the channel of d2/dx_j dx_k (either order). */
static inline int siren_jet_hess_channel(int d, int j, int k) {
    if (j > k) {
        int t = j;
        j = k;
        k = t;
    }
    return 1 + d + j * d - j * (j - 1) / 2 + (k - j);
}

typedef struct {
    siren_jet_mode mode;
    int d, channels, threads, n_linear;
    size_t cap;
    const float *x;                 /* the last forward's points (n, d) */
    float *pre[SIREN_MAX_LINEAR];   /* sine layer l: z-jets (C·n, width) */
    float *post[SIREN_MAX_LINEAR + 1]; /* input jets of linear l (l >= 1);
                                          post[n_linear]: output (C·n, m) */
    float *fp[SIREN_MAX_LINEAR];    /* f'(z) of sine layer l (n, width) */
    float *g, *g2;                  /* backward: gradient jets, swapped */
    float *part;                    /* per-thread partial sums */
    size_t part_stride;
    float *scratch;                 /* per-thread f'', f''' rows */
    size_t scratch_stride;
    float *block;
} siren_jet_work;

siren_status siren_jet_work_create(const siren_net *net, siren_jet_mode mode,
                                   size_t cap, int threads,
                                   siren_jet_work **work);
void siren_jet_work_free(siren_jet_work *work);

/* f'' and f''' of an activation row from f and f' (f3 may be NULL): all
 * the derivative rules need besides what the forward pass keeps. */
void siren_act_d23(siren_activation act, float omega, int n, const float *f,
                   const float *f1, float *f2, float *f3);

/* Forward of n <= cap points x (n, d). The output jets are left in
 * work->post[n_linear], (C·n, m): rows [0, n) the values, rows
 * [(1+j)·n, (2+j)·n) d/dx_j, then (LAPL) the Laplacian, (D2)
 * d2/dx_j2 per axis or (HESS) the Hessian's upper triangle. Keeps what the
 * backward pass needs. */
void siren_jet_forward(const siren_net *net, siren_jet_work *work,
                       const float *x, size_t n);

/* Backward after siren_jet_forward: gout (C·n, m), laid out as the output
 * jets, is dLoss/d(output jets); grad (the parameter layout) is
 * overwritten with dLoss/dparams. */
void siren_jet_backward(const siren_net *net, siren_jet_work *work, size_t n,
                        const float *gout, float *grad);

/* Double backward for a scalar output (m == 1): value and gradient of the
 * network at n points with about 2/3 of the jets' GEMMs in 2-D and 1/2 in
 * 3-D, and the backward pass of a loss on them (gradnet.c). */
typedef struct siren_grad_work siren_grad_work;

siren_status siren_grad_work_create(const siren_net *net, size_t cap,
                                    int threads, siren_grad_work **work);
void siren_grad_work_free(siren_grad_work *work);
/* y (n) and gradient (n, d) of the network at x (n, d); the pointers stay
 * valid until the next call. */
void siren_grad_forward(const siren_net *net, siren_grad_work *work,
                        const float *x, size_t n, const float **y,
                        const float **gradx);
/* gy (n, may be NULL: no loss on the value) and ggrad (n, d) are dLoss/dy
 * and dLoss/d(gradient); grad is overwritten with dLoss/dparams. */
void siren_grad_backward(const siren_net *net, siren_grad_work *work,
                         size_t n, const float *gy, const float *ggrad,
                         float *grad);

#endif

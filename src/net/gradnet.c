/* Double backward for a scalar output: the network's input gradient by an
 * explicit backward pass, and the parameter gradients of a loss on it by
 * differentiating that pass by hand (DESIGN §3). Per hidden layer it costs
 * 6 N·w² multiply-adds (forward, gradient pass, and their backward: 4), where
 * jets cost 3(1+d) = 9 in 2-D and 12 in 3-D.
 *
 * Notation: S sine layers l = 0..S-1, h_0 = x, z_l = W_l h_l + b_l,
 * h_{l+1} = f(z_l), F_l = f'(z_l), y = w·h_S + c (w the last weight row).
 *   gradient pass:  A_S = w (every point), Δ_l = A_{l+1} ⊙ F_l,
 *                   A_l = Δ_l W_l, ∇ₓy = A_0.
 *   its backward, given G = dL/d∇ₓy and gy = dL/dy:
 *                   P_0 = G;  T_l = P_l W_lᵀ (= dL/dΔ_l);
 *                   P_{l+1} = T_l ⊙ F_l;  Q_l = T_l ⊙ A_{l+1} (= dL/dF_l);
 *                   dL/dW_l += Δ_lᵀ P_l;  dL/dw = Σ P_S + gy·h_S;
 *   then the value path: U_S = gy w, Z_l = U_{l+1} ⊙ F_l + Q_l ⊙ f''(z_l),
 *                   U_l = Z_l W_l, dL/dW_l += Z_lᵀ h_l, dL/db_l = Σ Z_l.
 * The two weight-gradient terms of a hidden layer are one GEMM over 2N rows:
 * [Δ_l; Z_l]ᵀ · [P_l; h_l], so those pairs are stored stacked. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "net/jet.h"
#include "util/error.h"

struct siren_grad_work {
    size_t cap;
    int threads, S, d, w;
    const float *x;
    float *xb[SIREN_MAX_LINEAR]; /* l = 1..S-1: [P_l; h_l] (2 cap, w) */
    float *dz[SIREN_MAX_LINEAR]; /* l = 1..S-1: [Δ_l; Z_l] (2 cap, w) */
    float *aq[SIREN_MAX_LINEAR]; /* l = 1..S-1: A_l, then Q_{l-1} */
    float *f1[SIREN_MAX_LINEAR]; /* l = 0..S-1: F_l */
    float *delta0, *hS, *pS, *qlast, *tmp, *tmp2;
    float *w0t; /* W_0ᵀ (d, w): the thin layer's loops run along w */
    float *y, *gx;
    float *part;
    size_t part_stride;
    float *block;
};

siren_status siren_grad_work_create(const siren_net *net, size_t cap,
                                    int threads, siren_grad_work **out) {
    *out = NULL;
    if (net->cfg.out_features != 1)
        return siren_fail(SIREN_EINVAL, "the double backward needs one output, "
                          "the model has %d", net->cfg.out_features);
    if (net->cfg.encoding != SIREN_ENC_NONE)
        return siren_fail(SIREN_EINVAL, "the double backward takes networks of one "
                          "width; this one has an input encoding (use the jets)");
    siren_grad_work *g = calloc(1, sizeof *g);
    if (!g) return siren_fail(SIREN_ENOMEM, "out of memory");
    g->cap = cap;
    g->threads = siren_threads_resolve(threads);
    g->S = net->n_linear - 1;
    g->d = net->dims[0];
    g->w = net->cfg.hidden_features;
    const size_t W = (size_t)g->w, S = (size_t)g->S;
    /* partials: gW0ᵀ (d, w) | gb (S, w) | dL/dw (w) | dL/dc (1) */
    g->part_stride = (((size_t)g->d + S + 1) * W + 1 + 15) & ~(size_t)15;
    /* per layer 1..S-1: xb, dz (2 each), aq; per layer 0..S-1: f1; plus
     * delta0, hS, pS, qlast, tmp, tmp2 — all (cap, w) */
    size_t mats = (S - 1) * 5 + S + 6, total, a;
    if (!siren_mul_size(cap, W, &a) || !siren_mul_size(a, mats, &total) ||
        !siren_add_size(total, cap * (1 + (size_t)g->d) + (size_t)g->d * W +
                        (size_t)g->threads * g->part_stride + 64, &total) ||
        !(g->block = siren_work_alloc(total, g->threads))) {
        free(g);
        return siren_fail(SIREN_ENOMEM, "out of memory for the gradient "
                          "buffers of %zu points", cap);
    }
    float *p = g->block;
    const size_t m = cap * W;
    for (int l = 1; l < g->S; l++) {
        g->xb[l] = p; p += 2 * m;
        g->dz[l] = p; p += 2 * m;
        g->aq[l] = p; p += m;
    }
    for (int l = 0; l < g->S; l++) { g->f1[l] = p; p += m; }
    g->delta0 = p; p += m;
    g->hS = p; p += m;
    g->pS = p; p += m;
    g->qlast = p; p += m;
    g->tmp = p; p += m;
    g->tmp2 = p; p += m;
    g->y = p; p += cap;
    g->gx = p; p += cap * g->d;
    g->w0t = p; p += (size_t)g->d * W;
    p = (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
    g->part = p;
    *out = g;
    return SIREN_OK;
}

void siren_grad_work_free(siren_grad_work *g) {
    if (!g) return;
    free(g->block);
    free(g);
}

/* h_l (n, w) for l = 1..S; the inputs of the hidden GEMMs sit in the lower
 * halves of xb so that [P_l; h_l] is one matrix. */
static float *hrow(siren_grad_work *g, int l, size_t n) {
    return l == g->S ? g->hS : g->xb[l] + n * g->w;
}
static float *Prow(siren_grad_work *g, int l) {
    return l == g->S ? g->pS : g->xb[l];
}
static float *Drow(siren_grad_work *g, int l) {
    return l == 0 ? g->delta0 : g->dz[l];
}
/* A_{l+1}'s buffer takes Q_l once A_{l+1} is spent (Q_{S-1}: its own). */
static float *Qrow(siren_grad_work *g, int l) {
    return l + 1 == g->S ? g->qlast : g->aq[l + 1];
}

void siren_grad_forward(const siren_net *net, siren_grad_work *g,
                        const float *x, size_t n, const float **y,
                        const float **gradx) {
    SIREN_ASSERT(n <= g->cap && net->n_linear == g->S + 1);
    siren_gemm_set_threads(g->threads);
    const siren_sine_row_fn act_row = siren_act_row(net->cfg.activation);
    const int S = g->S, d = g->d, W = g->w, T = g->threads;
    const float *wl = net->params + net->w_off[S], cl = net->params[net->b_off[S]];
    g->x = x;
    {
        const float *W0 = net->params + net->w_off[0];
        for (int i = 0; i < W; i++)
            for (int k = 0; k < d; k++) g->w0t[(size_t)k * W + i] = W0[(size_t)i * d + k];
    }
    const float *w0t = g->w0t;
    for (int l = 0; l < S; l++) {
        const float *Wt = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        const float omega = siren_layer_omega(net, l);
        float *h = hrow(g, l + 1, n), *F = g->f1[l];
        if (l > 0) siren_gemm_abt((int)n, W, W, hrow(g, l, n), Wt, 0.0f, h);
        const int last = l == S - 1;
#pragma omp parallel for schedule(static) num_threads(T)
        for (size_t r = 0; r < n; r++) {
            float *hr = h + r * W, *fr = F + r * W;
            if (l == 0) {
                const float *xr = x + r * d;
#pragma omp simd
                for (int i = 0; i < W; i++) hr[i] = xr[0] * w0t[i];
                for (int k = 1; k < d; k++) {
                    const float xk = xr[k], *wk = w0t + (size_t)k * W;
#pragma omp simd
                    for (int i = 0; i < W; i++) hr[i] += xk * wk[i];
                }
            }
            act_row(W, b, omega, hr, fr);
            if (last) { /* y, and Δ_{S-1} = w ⊙ F_{S-1} */
                float s = 0, *dr = Drow(g, l) + r * W;
#pragma omp simd reduction(+ : s)
                for (int i = 0; i < W; i++) {
                    s += hr[i] * wl[i];
                    dr[i] = wl[i] * fr[i];
                }
                g->y[r] = s + cl;
            }
        }
    }
    /* gradient pass: A_l = Δ_l W_l, Δ_{l-1} = A_l ⊙ F_{l-1} */
    for (int l = S - 1; l >= 1; l--) {
        siren_gemm_ab((int)n, W, W, Drow(g, l), net->params + net->w_off[l],
                      0.0f, g->aq[l]);
        const float *A = g->aq[l], *F = g->f1[l - 1];
        float *D = Drow(g, l - 1);
#pragma omp parallel for schedule(static) num_threads(T)
        for (size_t e = 0; e < n * W; e++) D[e] = A[e] * F[e];
    }
    /* ∇ₓy = Δ_0 W_0, thin */
#pragma omp parallel for schedule(static) num_threads(T)
    for (size_t r = 0; r < n; r++) {
        const float *dr = g->delta0 + r * W;
        for (int k = 0; k < d; k++) {
            const float *wk = w0t + (size_t)k * W;
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (int i = 0; i < W; i++) s += dr[i] * wk[i];
            g->gx[r * d + k] = s;
        }
    }
    *y = g->y;
    *gradx = g->gx;
}

void siren_grad_backward(const siren_net *net, siren_grad_work *g, size_t n,
                         const float *gy, const float *G, float *grad) {
    SIREN_ASSERT(n <= g->cap && net->n_linear == g->S + 1);
    siren_gemm_set_threads(g->threads);
    const int S = g->S, d = g->d, W = g->w, T = g->threads;
    const float *w0t = g->w0t; /* from the forward pass */
    const float *wl = net->params + net->w_off[S];
    const siren_activation act = net->cfg.activation;
    const size_t PS = g->part_stride;
    const size_t o_gb = (size_t)d * W, o_wl = o_gb + (size_t)S * W,
                 o_cl = o_wl + W, o_end = o_cl + 1;
    /* Every parallel region below splits the rows the same way, so each
     * thread accumulates its own partials across regions. */
    memset(g->part, 0, (size_t)T * PS * sizeof(float));
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *part = g->part + (size_t)t * PS;
        const size_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
        /* layer 0 of the gradient pass: T_0 = G W_0ᵀ, dW_0 += Δ_0ᵀ G,
         * P_1 = T_0 ⊙ F_0, Q_0 = T_0 ⊙ A_1 */
        const float *A1 = S > 1 ? g->aq[1] : NULL;
        float *P1 = Prow(g, 1), *Q0 = Qrow(g, 0);
        for (size_t r = r0; r < r1; r++) {
            const float *Gr = G + r * d, *dr = g->delta0 + r * W, *fr = g->f1[0] + r * W;
            float *pr = P1 + r * W, *qr = Q0 + r * W;
            const float *ar = A1 ? A1 + r * W : wl;
            /* T_0 row, built in pr, then split into P and Q */
#pragma omp simd
            for (int i = 0; i < W; i++) pr[i] = Gr[0] * w0t[i];
            for (int k = 1; k < d; k++) {
                const float gk = Gr[k], *wk = w0t + (size_t)k * W;
#pragma omp simd
                for (int i = 0; i < W; i++) pr[i] += gk * wk[i];
            }
#pragma omp simd
            for (int i = 0; i < W; i++) {
                qr[i] = pr[i] * ar[i];
                pr[i] *= fr[i];
            }
            for (int k = 0; k < d; k++) {
                float *pk = part + (size_t)k * W;
                const float q = Gr[k];
#pragma omp simd
                for (int i = 0; i < W; i++) pk[i] += q * dr[i];
            }
        }
    }
    for (int l = 1; l < S; l++) {
        /* T_l = P_l W_lᵀ; P_{l+1} = T_l ⊙ F_l; Q_l = T_l ⊙ A_{l+1} */
        siren_gemm_abt((int)n, W, W, Prow(g, l), net->params + net->w_off[l],
                       0.0f, g->tmp);
        const float *Tl = g->tmp, *F = g->f1[l];
        const float *A = l + 1 < S ? g->aq[l + 1] : NULL;
        float *P = Prow(g, l + 1), *Q = Qrow(g, l);
#pragma omp parallel for schedule(static) num_threads(T)
        for (size_t r = 0; r < n; r++) {
            const float *tr = Tl + r * W, *fr = F + r * W;
            const float *ar = A ? A + r * W : wl;
            float *pr = P + r * W, *qr = Q + r * W;
#pragma omp simd
            for (int i = 0; i < W; i++) {
                pr[i] = tr[i] * fr[i];
                qr[i] = tr[i] * ar[i];
            }
        }
    }
    /* the value path, from the top: U_S = gy w */
    for (int l = S - 1; l >= 0; l--) {
        const float omega = siren_layer_omega(net, l);
        const float *h1 = hrow(g, l + 1, n), *F = g->f1[l], *Q = Qrow(g, l);
        float *Z = l > 0 ? g->dz[l] + n * W : g->tmp;
        const float *U = l == S - 1 ? NULL : g->tmp2;
#pragma omp parallel num_threads(T)
        {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            float *part = g->part + (size_t)t * PS;
            const size_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
            float f2[SIREN_MAX_FEATURES];
            for (size_t r = r0; r < r1; r++) {
                const float *hr = h1 + r * W, *fr = F + r * W, *qr = Q + r * W;
                float *zr = Z + r * W;
                siren_act_d23(act, omega, W, hr, fr, f2, NULL);
                if (U) {
                    const float *ur = U + r * W;
#pragma omp simd
                    for (int i = 0; i < W; i++) zr[i] = ur[i] * fr[i] + qr[i] * f2[i];
                } else {
                    const float q = gy ? gy[r] : 0.0f;
#pragma omp simd
                    for (int i = 0; i < W; i++)
                        zr[i] = q * wl[i] * fr[i] + qr[i] * f2[i];
                    if (l == S - 1) {
                        /* dL/dw = Σ P_S + gy h_S;  dL/dc = Σ gy */
                        const float *ps = g->pS + r * W;
                        float *pw = part + o_wl;
#pragma omp simd
                        for (int i = 0; i < W; i++) pw[i] += ps[i] + q * hr[i];
                        part[o_cl] += q;
                    }
                }
                float *pb = part + o_gb + (size_t)l * W;
                for (int i = 0; i < W; i++) pb[i] += zr[i];
                if (l == 0) {
                    const float *xr = g->x + r * d;
                    for (int k = 0; k < d; k++) {
                        float *pk = part + (size_t)k * W;
                        const float xk = xr[k];
#pragma omp simd
                        for (int i = 0; i < W; i++) pk[i] += xk * zr[i];
                    }
                }
            }
        }
        if (l > 0) {
            /* dW_l = [Δ_l; Z_l]ᵀ [P_l; h_l], one GEMM over 2n rows */
            siren_gemm_atb(W, W, 2 * (int)n, g->dz[l], g->xb[l], 0.0f,
                           grad + net->w_off[l]);
            siren_gemm_ab((int)n, W, W, Z, net->params + net->w_off[l], 0.0f,
                          g->tmp2);
        }
    }
    /* reduce the partials in thread order */
#pragma omp parallel for schedule(static) num_threads(T)
    for (size_t e = 0; e < o_end; e++) {
        float s = 0;
        for (int u = 0; u < T; u++) s += g->part[(size_t)u * PS + e];
        if (e < o_gb) {
            size_t k = e / W, i = e % W;
            grad[net->w_off[0] + i * d + k] = s;
        } else if (e < o_wl) {
            size_t l = (e - o_gb) / W, i = (e - o_gb) % W;
            grad[net->b_off[l] + i] = s;
        } else if (e < o_cl) {
            grad[net->w_off[S] + (e - o_wl)] = s;
        } else {
            grad[net->b_off[S]] = s;
        }
    }
    siren_net_zero_frozen(net, grad);
}

/* Jets (DESIGN §3): forward of value, first and second input derivatives
 * through the network, and the backward pass of a loss on them. The GEMMs
 * see all channels at once; this file holds the element-wise rules and the
 * first layer, whose input jet (x, e_j, 0) is known in closed form. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "net/jet.h"
#include "util/error.h"

int siren_jet_channels(siren_jet_mode mode, int d) {
    switch (mode) {
    case SIREN_JET_GRAD: return 1 + d;
    case SIREN_JET_LAPL: return 2 + d;
    case SIREN_JET_D2: return 1 + 2 * d;
    case SIREN_JET_HESS: return 1 + d + d * (d + 1) / 2;
    default: return 1;
    }
}

static int widest(const siren_net *net) {
    int w = 0;
    for (int l = 0; l <= net->n_linear; l++)
        if (net->dims[l] > w) w = net->dims[l];
    return w;
}

/* Sum of sizes, each rounded up to 16 floats (64 bytes); 0 on overflow. */
static int add_piece(size_t *total, size_t a, size_t b, size_t c) {
    size_t ab, abc;
    if (!siren_mul_size(a, b, &ab) || !siren_mul_size(ab, c, &abc)) return 0;
    if (abc > SIZE_MAX - 16) return 0;
    return siren_add_size(*total, (abc + 15) & ~(size_t)15, total);
}

static float *take(float **p, size_t a, size_t b, size_t c) {
    float *r = *p;
    *p += (a * b * c + 15) & ~(size_t)15;
    return r;
}

siren_status siren_jet_work_create(const siren_net *net, siren_jet_mode mode,
                                   size_t cap, int threads,
                                   siren_jet_work **out) {
    *out = NULL;
    siren_jet_work *w = calloc(1, sizeof *w);
    if (!w) return siren_fail(SIREN_ENOMEM, "out of memory");
    const int L = net->n_linear, W = widest(net);
    w->mode = mode;
    w->d = net->dims[0];
    w->channels = siren_jet_channels(mode, w->d);
    w->threads = siren_threads_resolve(threads);
    w->n_linear = L;
    w->cap = cap;
    const size_t C = (size_t)w->channels, T = (size_t)w->threads;
    w->part_stride = ((size_t)(1 + w->d) * W + 15) & ~(size_t)15;
    w->scratch_stride = ((size_t)4 * W + 15) & ~(size_t)15;
    size_t total = 0;
    int ok = 1;
    for (int l = 0; l < L - 1; l++) {
        ok &= add_piece(&total, C, cap, net->dims[l + 1]);  /* pre */
        ok &= add_piece(&total, C, cap, net->dims[l + 1]);  /* post */
        ok &= add_piece(&total, 1, cap, net->dims[l + 1]);  /* fp */
    }
    ok &= add_piece(&total, C, cap, net->dims[L]);          /* output */
    ok &= add_piece(&total, C, cap, W);                     /* g */
    ok &= add_piece(&total, C, cap, W);                     /* g2 */
    ok &= add_piece(&total, T, w->part_stride, 1);
    ok &= add_piece(&total, T, w->scratch_stride, 1);
    if (ok) w->block = siren_work_alloc(total, w->threads);
    if (!w->block) {
        free(w);
        return siren_fail(SIREN_ENOMEM,
                          "out of memory for the jet buffers of %zu points", cap);
    }
    float *p = w->block;
    for (int l = 0; l < L - 1; l++) {
        w->pre[l] = take(&p, C, cap, net->dims[l + 1]);
        w->post[l + 1] = take(&p, C, cap, net->dims[l + 1]);
        w->fp[l] = take(&p, 1, cap, net->dims[l + 1]);
    }
    w->post[L] = take(&p, C, cap, net->dims[L]);
    w->g = take(&p, C, cap, W);
    w->g2 = take(&p, C, cap, W);
    w->part = take(&p, T, w->part_stride, 1);
    w->scratch = take(&p, T, w->scratch_stride, 1);
    *out = w;
    return SIREN_OK;
}

void siren_jet_work_free(siren_jet_work *w) {
    if (!w) return;
    free(w->block);
    free(w);
}

/* f'' and f''' of a row from f and f' alone, so the forward pass keeps
 * only f (the next layer's input) and f':
 *   sine sin(ωz):  f'' = -ω² f,         f''' = -ω² f'
 *   tanh:          f'' = -2 f f',       f''' = f' (6 f² - 2)
 *   relu:          f'' = f''' = 0 (almost everywhere), which is why a ReLU
 *                  network's Laplacian is exactly zero. f3 may be NULL. */
void siren_act_d23(siren_activation act, float omega, int n, const float *f,
                   const float *f1, float *f2, float *f3) {
    switch (act) {
    case SIREN_ACT_SINE: {
        const float a = -omega * omega;
#pragma omp simd
        for (int i = 0; i < n; i++) f2[i] = a * f[i];
        if (f3)
#pragma omp simd
            for (int i = 0; i < n; i++) f3[i] = a * f1[i];
        break;
    }
    case SIREN_ACT_TANH:
#pragma omp simd
        for (int i = 0; i < n; i++) f2[i] = -2.0f * f[i] * f1[i];
        if (f3)
#pragma omp simd
            for (int i = 0; i < n; i++) f3[i] = f1[i] * (6.0f * f[i] * f[i] - 2.0f);
        break;
    default:
        memset(f2, 0, n * sizeof *f2);
        if (f3) memset(f3, 0, n * sizeof *f3);
    }
}

void siren_jet_forward(const siren_net *net, siren_jet_work *w, const float *x,
                       size_t n) {
    SIREN_ASSERT(n <= w->cap && w->n_linear == net->n_linear);
    siren_gemm_set_threads(w->threads);
    const int L = net->n_linear, d = w->d, C = w->channels;
    const siren_jet_mode mode = w->mode;
    w->x = x;
    for (int l = 0; l < L - 1; l++) {
        const int din = net->dims[l], dout = net->dims[l + 1];
        const float *Wt = net->params + net->w_off[l];
        const float *b = net->params + net->b_off[l];
        const float omega = siren_layer_omega(net, l);
        const siren_activation act = siren_layer_act(net, l);
        const siren_sine_row_fn act_row = siren_act_row(act);
        float *P = w->pre[l], *Q = w->post[l + 1], *F1 = w->fp[l];
        if (l > 0)
            siren_gemm_abt(C * (int)n, dout, din, w->post[l], Wt, 0.0f, P);
#pragma omp parallel for schedule(static) num_threads(w->threads)
        for (size_t r = 0; r < n; r++) {
            float *f2 = w->scratch + (size_t)omp_get_thread_num() * w->scratch_stride;
            float *sq = f2 + dout;
            const size_t rs = (size_t)n * dout; /* channel stride */
            float *zr = P + r * dout;
            if (l == 0) {
                /* The input jet is (x, e_j, 0): z = W0 x, dz/dx_j = W0[:, j]
                 * for every point, second derivatives 0. */
                const float *xr = x + r * din;
                for (int i = 0; i < dout; i++) {
                    float s = 0;
                    for (int k = 0; k < din; k++) s += Wt[(size_t)i * din + k] * xr[k];
                    zr[i] = s;
                }
                for (int j = 0; j < d && mode != SIREN_JET_VALUE; j++) {
                    float *jr = P + (1 + j) * rs + r * dout;
#pragma omp simd
                    for (int i = 0; i < dout; i++) jr[i] = Wt[(size_t)i * din + j];
                }
                for (int c = 1 + d; c < C; c++)
                    memset(P + c * rs + r * dout, 0, dout * sizeof(float));
            }
            float *f = Q + r * dout, *f1 = F1 + r * dout;
            memcpy(f, zr, dout * sizeof(float));
            act_row(dout, b, omega, f, f1);
            if (mode == SIREN_JET_VALUE) continue;
            if (mode != SIREN_JET_GRAD) siren_act_d23(act, omega, dout, f, f1, f2, NULL);
            if (mode == SIREN_JET_LAPL) memset(sq, 0, dout * sizeof(float));
            for (int j = 0; j < d; j++) {
                const float *jz = P + (1 + j) * rs + r * dout;
                float *jh = Q + (1 + j) * rs + r * dout;
#pragma omp simd
                for (int i = 0; i < dout; i++) jh[i] = f1[i] * jz[i];
                if (mode == SIREN_JET_LAPL)
#pragma omp simd
                    for (int i = 0; i < dout; i++) sq[i] += jz[i] * jz[i];
                if (mode == SIREN_JET_D2) {
                    /* L'_j = f' Lz_j + f'' Jz_j² */
                    const float *lz = P + (1 + d + j) * rs + r * dout;
                    float *lh = Q + (1 + d + j) * rs + r * dout;
#pragma omp simd
                    for (int i = 0; i < dout; i++)
                        lh[i] = f1[i] * lz[i] + f2[i] * jz[i] * jz[i];
                }
            }
            if (mode == SIREN_JET_LAPL) {
                /* L' = f' Lz + f'' Σ_j Jz_j² */
                const float *lz = P + (1 + d) * rs + r * dout;
                float *lh = Q + (1 + d) * rs + r * dout;
#pragma omp simd
                for (int i = 0; i < dout; i++) lh[i] = f1[i] * lz[i] + f2[i] * sq[i];
            }
            if (mode == SIREN_JET_HESS)
                /* H'_jk = f' Hz_jk + f'' Jz_j Jz_k */
                for (int j = 0, c = 1 + d; j < d; j++)
                    for (int k = j; k < d; k++, c++) {
                        const float *ja = P + (1 + j) * rs + r * dout;
                        const float *jb = P + (1 + k) * rs + r * dout;
                        const float *hz = P + c * rs + r * dout;
                        float *hh = Q + c * rs + r * dout;
#pragma omp simd
                        for (int i = 0; i < dout; i++)
                            hh[i] = f1[i] * hz[i] + f2[i] * ja[i] * jb[i];
                    }
        }
    }
    /* The last linear layer: every channel through W, the bias into the
     * value channel only. */
    const int din = net->dims[L - 1], m = net->dims[L];
    float *y = w->post[L];
    siren_gemm_abt(C * (int)n, m, din, w->post[L - 1],
                   net->params + net->w_off[L - 1], 0.0f, y);
    const float *b = net->params + net->b_off[L - 1];
    for (size_t r = 0; r < n; r++)
        for (int o = 0; o < m; o++) y[r * m + o] += b[o];
}

/* Backward through sine layer l, in place on g (C·n, dout) from dL/d(post
 * jets) to dL/d(pre jets) (DESIGN §3), with per-thread partial sums of the
 * bias gradient and, for the first layer, of gW0. */
static void jet_act_backward(const siren_net *net, siren_jet_work *w, int l,
                             size_t n, float *grad) {
    const int dout = net->dims[l + 1], d = w->d, din = net->dims[l];
    const siren_jet_mode mode = w->mode;
    const float omega = siren_layer_omega(net, l);
    const float *P = w->pre[l], *Q = w->post[l + 1], *F1 = w->fp[l];
    float *g = w->g;
    const size_t rs = (size_t)n * dout, PS = w->part_stride;
    const int first = l == 0;
    const size_t pend = (size_t)dout * (first ? 1 + d : 1);
#pragma omp parallel num_threads(w->threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *part = w->part + (size_t)t * PS;
        float *f2 = w->scratch + (size_t)t * w->scratch_stride;
        float *f3 = f2 + dout, *acc = f3 + dout, *sq = acc + dout;
        memset(part, 0, pend * sizeof(float));
        const size_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
        for (size_t r = r0; r < r1; r++) {
            const float *f = Q + r * dout, *f1 = F1 + r * dout;
            float *gz = g + r * dout;
            if (mode != SIREN_JET_VALUE)
                siren_act_d23(siren_layer_act(net, l), omega, dout, f, f1, f2,
                        mode == SIREN_JET_GRAD ? NULL : f3);
            /* acc = gh f' + Σ_j gJ_j Jz_j f''  (+ the second-order terms) */
#pragma omp simd
            for (int i = 0; i < dout; i++) acc[i] = gz[i] * f1[i];
            if (mode == SIREN_JET_LAPL) memset(sq, 0, dout * sizeof(float));
            const float *gl = mode == SIREN_JET_LAPL ? g + (1 + d) * rs + r * dout : NULL;
            for (int j = 0; j < d && mode != SIREN_JET_VALUE; j++) {
                float *gj = g + (1 + j) * rs + r * dout;
                const float *jz = P + (1 + j) * rs + r * dout;
                if (mode == SIREN_JET_D2)
                    gl = g + (1 + d + j) * rs + r * dout;
                if (mode == SIREN_JET_GRAD || mode == SIREN_JET_HESS) {
#pragma omp simd
                    for (int i = 0; i < dout; i++) {
                        acc[i] += f2[i] * gj[i] * jz[i];
                        gj[i] *= f1[i];
                    }
                    /* HESS: gJz_j += Σ_k gH_jk f'' Jz_k, the diagonal twice
                     * (Jz_j² is differentiated) */
                    for (int k = 0; k < d && mode == SIREN_JET_HESS; k++) {
                        const float *gh = g + (size_t)siren_jet_hess_channel(d, j, k) * rs + r * dout;
                        const float *jk = P + (1 + k) * rs + r * dout;
                        const float two = k == j ? 2.0f : 1.0f;
#pragma omp simd
                        for (int i = 0; i < dout; i++) gj[i] += two * gh[i] * f2[i] * jk[i];
                    }
                } else {
                    /* gJz_j = gJ_j f' + 2 gL f'' Jz_j */
#pragma omp simd
                    for (int i = 0; i < dout; i++) {
                        acc[i] += f2[i] * gj[i] * jz[i];
                        gj[i] = gj[i] * f1[i] + 2.0f * gl[i] * f2[i] * jz[i];
                    }
                }
                if (mode == SIREN_JET_LAPL)
#pragma omp simd
                    for (int i = 0; i < dout; i++) sq[i] += jz[i] * jz[i];
                if (mode == SIREN_JET_D2) {
                    /* + gL_j (f'' Lz_j + f''' Jz_j²);  gLz_j = gL_j f' */
                    float *glj = g + (1 + d + j) * rs + r * dout;
                    const float *lz = P + (1 + d + j) * rs + r * dout;
#pragma omp simd
                    for (int i = 0; i < dout; i++) {
                        acc[i] += glj[i] * (f2[i] * lz[i] + f3[i] * jz[i] * jz[i]);
                        glj[i] *= f1[i];
                    }
                }
            }
            if (mode == SIREN_JET_HESS)
                /* + gH_jk (f'' Hz_jk + f''' Jz_j Jz_k);  gHz_jk = gH_jk f'
                 * (after the loop above, which reads gH_jk) */
                for (int j = 0, c = 1 + d; j < d; j++)
                    for (int k = j; k < d; k++, c++) {
                        float *gh = g + c * rs + r * dout;
                        const float *hz = P + c * rs + r * dout;
                        const float *ja = P + (1 + j) * rs + r * dout;
                        const float *jb = P + (1 + k) * rs + r * dout;
#pragma omp simd
                        for (int i = 0; i < dout; i++) {
                            acc[i] += gh[i] * (f2[i] * hz[i] + f3[i] * ja[i] * jb[i]);
                            gh[i] *= f1[i];
                        }
                    }
            if (mode == SIREN_JET_LAPL) {
                /* + gL (f'' Lz + f''' Σ_j Jz_j²);  gLz = gL f' */
                float *glw = g + (1 + d) * rs + r * dout;
                const float *lz = P + (1 + d) * rs + r * dout;
#pragma omp simd
                for (int i = 0; i < dout; i++) {
                    acc[i] += glw[i] * (f2[i] * lz[i] + f3[i] * sq[i]);
                    glw[i] *= f1[i];
                }
            }
            memcpy(gz, acc, dout * sizeof(float));
#pragma omp simd
            for (int i = 0; i < dout; i++) part[i] += gz[i];
            if (first) {
                /* gW0[i][k] = Σ_r gz[i] x[k] + Σ_r gJz_k[i]: the input jet is
                 * (x, e_k, 0). Kept transposed, [k][i]. */
                const float *xr = w->x + r * din;
                for (int k = 0; k < din; k++) {
                    float *pk = part + (size_t)(1 + k) * dout;
                    const float xk = xr[k];
                    const float *gjk = mode != SIREN_JET_VALUE && k < d
                                           ? g + (1 + k) * rs + r * dout : NULL;
                    if (gjk)
#pragma omp simd
                        for (int i = 0; i < dout; i++) pk[i] += xk * gz[i] + gjk[i];
                    else
#pragma omp simd
                        for (int i = 0; i < dout; i++) pk[i] += xk * gz[i];
                }
            }
        }
#pragma omp barrier
        /* Reduce in thread order: deterministic for a fixed thread count. */
#pragma omp for schedule(static)
        for (size_t e = 0; e < pend; e++) {
            float s = 0;
            for (int u = 0; u < nt; u++) s += w->part[(size_t)u * PS + e];
            if (e < (size_t)dout) {
                grad[net->b_off[l] + e] = s;
            } else {
                size_t k = e / dout - 1, i = e % dout;
                grad[net->w_off[0] + i * din + k] = s;
            }
        }
    }
}

void siren_jet_backward(const siren_net *net, siren_jet_work *w, size_t n,
                        const float *gout, float *grad) {
    SIREN_ASSERT(n <= w->cap && w->n_linear == net->n_linear);
    siren_gemm_set_threads(w->threads);
    const int L = net->n_linear, C = w->channels;
    const int wl = net->dims[L - 1], m = net->dims[L];
    /* Last linear layer: gW = Σ_channels goutᵀ·h, gb from the values. */
    siren_gemm_atb(m, wl, C * (int)n, gout, w->post[L - 1], 0.0f,
                   grad + net->w_off[L - 1]);
    for (int o = 0; o < m; o++) {
        double s = 0;
        for (size_t r = 0; r < n; r++) s += gout[r * m + o];
        grad[net->b_off[L - 1] + o] = (float)s;
    }
    siren_gemm_ab(C * (int)n, wl, m, gout, net->params + net->w_off[L - 1],
                  0.0f, w->g);
    for (int l = L - 2; l >= 0; l--) {
        const int din = net->dims[l], dout = net->dims[l + 1];
        jet_act_backward(net, w, l, n, grad);
        if (l == 0) break;
        siren_gemm_atb(dout, din, C * (int)n, w->g, w->post[l], 0.0f,
                       grad + net->w_off[l]);
        siren_gemm_ab(C * (int)n, din, dout, w->g, net->params + net->w_off[l],
                      0.0f, w->g2);
        float *t = w->g;
        w->g = w->g2;
        w->g2 = t;
    }
    siren_net_zero_frozen(net, grad);
}

/* -------------------------------------------------------- evaluation API */

siren_status siren_net_eval_derivs(const siren_net *net, const float *x,
                                   size_t n, float *y, float *grad, float *d2,
                                   float *lapl, int threads) {
    if (n == 0) return SIREN_OK;
    const int d = net->cfg.in_features, m = net->cfg.out_features;
    siren_jet_mode mode = d2 ? SIREN_JET_D2
                        : lapl ? SIREN_JET_LAPL
                        : grad ? SIREN_JET_GRAD : SIREN_JET_VALUE;
    /* Blocks of 4096 points keep the GEMMs efficient and the buffers
     * (C x ~40 MB at width 256) small. */
    size_t cap = n < 4096 ? n : 4096;
    siren_jet_work *w;
    siren_status st = siren_jet_work_create(net, mode, cap, threads, &w);
    if (st) return st;
    for (size_t i = 0; i < n; i += cap) {
        size_t nb = n - i < cap ? n - i : cap;
        siren_jet_forward(net, w, x + i * d, nb);
        const float *o = w->post[net->n_linear];
        for (size_t r = 0; r < nb; r++) {
            size_t p = i + r;
            for (int k = 0; k < m; k++) {
                if (y) y[p * m + k] = o[r * m + k];
                for (int j = 0; j < d; j++) {
                    if (grad)
                        grad[(p * m + k) * d + j] = o[((1 + j) * nb + r) * m + k];
                    if (d2)
                        d2[(p * m + k) * d + j] = o[((1 + d + j) * nb + r) * m + k];
                }
                if (lapl) {
                    if (mode == SIREN_JET_LAPL) {
                        lapl[p * m + k] = o[((1 + d) * nb + r) * m + k];
                    } else {
                        float s = 0;
                        for (int j = 0; j < d; j++)
                            s += o[((1 + d + j) * nb + r) * m + k];
                        lapl[p * m + k] = s;
                    }
                }
            }
        }
    }
    siren_jet_work_free(w);
    return SIREN_OK;
}

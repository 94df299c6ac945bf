/* Band-limited image fits (siren.h: siren_train_opts.band_penalty): the
 * image's MSE plus a weight times the energy the model puts above the
 * fitted image's Nyquist band, over one period of a periodic (TUNER)
 * network.
 *
 * Why: the pixels constrain a model only at the pixels. A sine network is
 * a sum of sines at integer combinations of its first layer's
 * frequencies, and the fit is free to use combinations above Nyquist
 * (they alias onto the pixels like any other), so between the pixels it
 * shows detail no pixel asked for (README, "Frequency control"). The
 * hidden-weight bound only dims those combinations; this term removes
 * them.
 *
 * How: the band is |k_row|, |k_col| <= K (K = half the fitted side, in
 * cycles per period), so a frequency is above it when its column part or
 * its row part is. Along a row at height u, sampled at M points over one
 * period, the part above K in k_col is h = f - A f, A the symmetric M x M
 * projection of periodic sequences onto |k| <= K; averaged over u drawn
 * uniformly, mean(h^2) is (Parseval, then orthogonality in k_row) exactly
 * the energy at |k_col| > K, and columns give |k_row| > K. Each step draws
 * `lines` rows and as many columns at random heights, so the penalty,
 * weight x the mean of h^2 over their samples and the channels, is an
 * unbiased estimate of weight x (E(|k_col| > K) + E(|k_row| > K)) / 2,
 * which is 0 exactly when nothing is above the band. Lines, unlike a 2-D
 * grid, can be sampled finely (M = BAND_OVERSAMPLE x the side: up to
 * BAND_OVERSAMPLE / 2 x Nyquist seen without aliasing) at the cost of a
 * few thousand points: a 2-D grid at 2x (4x the pixels) was tried first
 * and did about as well (README) at 1.6x the time a step, a cost that
 * grows with the image's area. A being an
 * orthogonal projection, the gradient on the outputs is 2 weight h / count.
 * One GEMM per channel (all lines at once), so any M works.
 *
 * Cost per step: the pixels' pass plus 2 lines x M points. Those are one
 * pass (forward with derivatives kept, then backward) up to BAND_ONE_PASS
 * points; more are evaluated in chunks first, for h, then each chunk again
 * with derivatives for its backward, so the work buffers stay bounded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "net/net.h"
#include "train/loop.h"
#include "train/train.h"
#include "util/error.h"
#include "util/rng.h"

enum { BAND_ONE_PASS = 1 << 16, BAND_OVERSAMPLE = 8 };

void siren_band_projection(int M, int K, float *A) {
    /* A[i][j] = (1/M) sum_{|k| <= K} exp(2 pi i k (i - j) / M), real as
     * the band is symmetric: a Dirichlet kernel of the offset, even in it,
     * so row 0 holds it and row i is row 0 turned by i */
    for (int o = 0; o < M; o++) {
        double s = 1;
        for (int k = 1; k <= K; k++) s += 2 * cos(2 * M_PI * (double)((long)k * o % M) / M);
        A[o] = (float)(s / M);
    }
    for (int i = 1; i < M; i++)
        for (int j = 0; j < M; j++) A[(size_t)i * M + j] = A[((i - j) % M + M) % M];
}

double siren_band_highpass(int M, int L, int ch, const float *A, const float *y, float *h,
                           float *F, float *T) {
    double e = 0;
    for (int c = 0; c < ch; c++) {
        /* F (M, L): column l is line l's samples */
        for (int l = 0; l < L; l++)
            for (int q = 0; q < M; q++) F[(size_t)q * L + l] = y[((size_t)l * M + q) * ch + c];
        /* in fp32 whatever the fit's precision: h is small against f */
        siren_gemm_blas(SIREN_GEMM_AB, M, L, M, A, F, 0.0f, T);
        for (int l = 0; l < L; l++)
            for (int q = 0; q < M; q++) {
                const size_t i = (size_t)l * M + q;
                const float v = y[i * ch + c] - T[(size_t)q * L + l];
                h[i * ch + c] = v;
                e += (double)v * v;
            }
    }
    return e;
}

typedef struct {
    int M, K, ch, lines; /* samples per line, band, outputs, lines per axis */
    double period;
    size_t G;            /* 2 lines x M points */
    float *x;            /* (G, 2) */
    float *y, *h;        /* (G, ch): the outputs, their part above the band */
    float *A, *F, *T;    /* (M, M); (M, 2 lines) twice */
} band_state;

static void band_free(band_state *b) {
    free(b->x); free(b->y); free(b->h); free(b->A); free(b->F); free(b->T);
    memset(b, 0, sizeof *b);
}

/* This step's lines: `lines` rows, then as many columns, each at a height
 * drawn uniformly over the period, sampled at -1 + p q / M. */
static void band_lines(band_state *b, siren_rng *rng) {
    const double p = b->period;
    for (int l = 0; l < 2 * b->lines; l++) {
        const float u = (float)(-1 + p * siren_rng_uniform(rng));
        const int col = l >= b->lines; /* a column: the row coordinate runs */
        for (int q = 0; q < b->M; q++) {
            float *x = b->x + 2 * ((size_t)l * b->M + q);
            const float v = (float)(-1 + p * q / b->M);
            x[0] = col ? v : u;
            x[1] = col ? u : v;
        }
    }
}

/* The lines' outputs into b->y (derivatives kept when they are one pass,
 * for band_backward), then their part above the band into b->h; returns
 * mean(h^2) over samples and channels. */
static double band_forward(const siren_net *net, siren_work *w, band_state *b) {
    const int one = b->G <= w->cap;
    for (size_t i = 0; i < b->G; i += w->cap) {
        const size_t m = b->G - i < w->cap ? b->G - i : w->cap;
        siren_net_forward(net, w, b->x + 2 * i, m, one);
        memcpy(b->y + i * b->ch, w->act[net->n_linear], m * b->ch * sizeof *b->y);
    }
    const double e = siren_band_highpass(b->M, 2 * b->lines, b->ch, b->A, b->y, b->h, b->F,
                                         b->T);
    return e / ((double)b->G * b->ch);
}

/* grad += the penalty's gradient, weight x mean(h^2): on the outputs
 * 2 weight h / (G ch), scaled in place in b->h. */
static void band_backward(const siren_net *net, siren_work *w, band_state *b,
                          double weight, float *grad, float *gc) {
    const float s = (float)(2 * weight / ((double)b->G * b->ch));
    for (size_t i = 0; i < b->G * b->ch; i++) b->h[i] *= s;
    const int one = b->G <= w->cap;
    for (size_t i = 0; i < b->G; i += w->cap) {
        const size_t m = b->G - i < w->cap ? b->G - i : w->cap;
        if (!one) siren_net_forward(net, w, b->x + 2 * i, m, 1);
        siren_net_backward(net, w, m, b->h + i * b->ch, gc);
        for (size_t k = 0; k < net->n_params; k++) grad[k] += gc[k];
    }
}

/* The lines' buffers and projection for `lines` rows and columns over
 * the period, band side / 2, sampled at BAND_OVERSAMPLE x side. */
static siren_status band_open(band_state *b, int ch, double period, int side, int lines) {
    memset(b, 0, sizeof *b);
    if (!(period > 0 && isfinite(period)))
        return siren_fail(SIREN_EINVAL, "the band penalty needs a periodic model "
                          "(--init-first tuner); this one has no period");
    /* the projection is a dense M x M matrix, M = 8 x side: 256 MiB at
     * 1024 pixels a side, so no more */
    if (side < 2 || side > 1024)
        return siren_fail(SIREN_EINVAL, "the band penalty takes images of 2 .. 1024 pixels "
                          "a side (this one: %d)", side);
    if (lines < 1 || lines > 4096)
        return siren_fail(SIREN_EINVAL, "band lines %d: need 1 .. 4096", lines);
    b->M = BAND_OVERSAMPLE * side;
    b->K = side / 2;
    b->ch = ch;
    b->lines = lines;
    b->period = period;
    b->G = (size_t)2 * lines * b->M;
    b->x = malloc(b->G * 2 * sizeof *b->x);
    b->y = malloc(b->G * ch * sizeof *b->y);
    b->h = malloc(b->G * ch * sizeof *b->h);
    b->A = malloc((size_t)b->M * b->M * sizeof *b->A);
    b->F = malloc(b->G * sizeof *b->F);
    b->T = malloc(b->G * sizeof *b->T);
    if (!b->x || !b->y || !b->h || !b->A || !b->F || !b->T) {
        band_free(b);
        return siren_fail(SIREN_ENOMEM, "out of memory for the band penalty's %d lines of "
                          "%d points", 2 * lines, BAND_OVERSAMPLE * side);
    }
    siren_band_projection(b->M, b->K, b->A);
    return SIREN_OK;
}

/* Work buffers for the pixels (n points) and the lines: one pass over the
 * lines when they fit in BAND_ONE_PASS points. */
static siren_status band_work(const siren_net *net, const band_state *b, size_t n,
                              int threads, siren_work **w) {
    const size_t one = b->G < BAND_ONE_PASS ? b->G : BAND_ONE_PASS;
    return siren_work_create(net, n > one ? n : one, threads, w);
}

double siren_band_loss(const siren_net *net, double period, int side, int lines,
                       uint64_t seed, int threads, float *grad) {
    band_state b;
    siren_work *w = NULL;
    float *gc = NULL;
    double pen = NAN;
    if (band_open(&b, net->cfg.out_features, period, side, lines)) return NAN;
    if (band_work(net, &b, 0, siren_threads_resolve(threads), &w) ||
        (grad && !(gc = malloc(net->n_params * sizeof *gc))))
        goto done;
    siren_rng rng;
    siren_rng_seed(&rng, seed);
    band_lines(&b, &rng);
    pen = band_forward(net, w, &b);
    if (grad) {
        memset(grad, 0, net->n_params * sizeof *grad);
        band_backward(net, w, &b, 1.0, grad, gc);
    }
done:
    siren_work_free(w);
    band_free(&b);
    free(gc);
    return pen;
}

static double mse_grad(const float *y, const float *t, size_t cnt, float *gy) {
    double s = 0;
    const float scale = 2.0f / (float)cnt;
    for (size_t i = 0; i < cnt; i++) {
        const float e = y[i] - t[i];
        s += (double)e * e;
        if (gy) gy[i] = scale * e;
    }
    return s / (double)cnt;
}

siren_status siren_train_band(siren_net *net, const float *coords, const float *targets,
                              size_t n, double period, int side,
                              const siren_train_opts *opt, siren_fit_result *res) {
    const int dout = net->cfg.out_features;
    const int threads = siren_threads_resolve(opt->threads);
    const double weight = opt->band_penalty;
    siren_status st = SIREN_OK;
    siren_work *w = NULL;
    siren_loop L = {0};
    band_state b = {0};
    float *grad = NULL, *gc = NULL, *gy = NULL;
    memset(res, 0, sizeof *res);
    res->accuracy = NAN;
    if (n == 0) return siren_fail(SIREN_EINVAL, "no points to fit");
    if (opt->steps < 0) return siren_fail(SIREN_EINVAL, "negative step count");
    if (!(opt->lr > 0)) return siren_fail(SIREN_EINVAL, "learning rate must be positive");
    if (!(weight > 0 && isfinite(weight)))
        return siren_fail(SIREN_EINVAL, "band penalty %g: need a finite number > 0", weight);
    if (opt->batch != 0 && opt->batch < n)
        return siren_fail(SIREN_EINVAL, "the band penalty fits the full batch (batch %zu "
                          "of %zu points)", opt->batch, n);
    if (opt->shard_count > 1 || opt->reduce)
        return siren_fail(SIREN_EINVAL, "the band penalty does not run on shards");
    if ((st = band_open(&b, dout, period, side, opt->band_lines))) return st;
    grad = malloc(net->n_params * sizeof *grad);
    gc = malloc(net->n_params * sizeof *gc);
    gy = malloc(n * dout * sizeof *gy);
    if (!grad || !gc || !gy) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for training buffers");
        goto done;
    }
    if ((st = band_work(net, &b, n, threads, &w))) goto done;
    if ((st = siren_loop_open(&L, net, opt, NULL, n, 0, threads))) goto done;
    double loss = NAN;
    while (L.step < opt->steps) {
        siren_loop_tick(&L);
        siren_net_forward(net, w, coords, n, 1);
        const double mse = mse_grad(w->act[net->n_linear], targets, n * dout, gy);
        siren_net_backward(net, w, n, gy, grad);
        /* the lines from the checkpointed RNG: a resumed run draws on */
        band_lines(&b, &L.ck.rng);
        const double pen = band_forward(net, w, &b);
        band_backward(net, w, &b, weight, grad, gc);
        loss = mse + weight * pen;
        int stop;
        const double psnr = mse > 0 ? 10 * log10(4 / mse) : INFINITY;
        if ((st = siren_loop_update(&L, grad, loss, psnr, &stop))) {
            if (st != SIREN_EDIVERGED) goto done;
            break;
        }
        if (stop) break;
    }
    /* fp32 again for the final metrics */
    siren_loop_finish(&L, &res->seconds, &res->steps, &res->step_ms_median);
    siren_net_forward(net, w, coords, n, 0);
    const double mse = mse_grad(w->act[net->n_linear], targets, n * dout, NULL);
    res->psnr_db = mse > 0 ? 10 * log10(4 / mse) : INFINITY;
    res->loss = L.done_steps ? loss : mse;
done:
    siren_work_free(w);
    siren_loop_close(&L);
    band_free(&b);
    free(grad); free(gc); free(gy);
    return st;
}

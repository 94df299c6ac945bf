/* PDE solves (siren.h, "PDEs"): a SIREN trained through its jets against
 * the residual of the Helmholtz equation with the official PML, or of the
 * wave equation with its initial conditions, at fresh random collocation
 * points every step; the training loop itself (Adam, guard, progress,
 * checkpoints) is loop.c's. The finite-difference references are src/pde's;
 * this file only wraps them for the public API. */
#include <complex.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/jet.h"
#include "net/net.h"
#include "pde/pde.h"
#include "tasks/grid.h"
#include "train/loop.h"
#include "train/pde.h"
#include "train/train.h"
#include "train/workers.h"
#include "util/error.h"

typedef double complex cplx;

#define PI 3.14159265358979323846

siren_pde_opts siren_pde_opts_default(void) {
    siren_pde_opts o;
    memset(&o, 0, sizeof o);
    o.k = 20;
    o.pml_width = 0.5;
    o.pml_a0 = 5;
    o.c = 1;
    o.t_max = 0.4;
    o.ramp = 1;
    o.pulse_var = SIREN_WAVE_VAR;
    return o;
}

/* ------------------------------------------------------------- residuals */

/* The official stretch e(x) = 1 - i a0 ((d_w/L)^2 + (d_e/L)^2) and its
 * derivative; 1 and 0 without a layer. */
static cplx pml_e(double x, double L, double a0, cplx *de) {
    if (!(L > 0)) {
        *de = 0;
        return 1;
    }
    const double dw = x < -(1 - L) ? -(x + 1 - L) : 0, dd = x > 1 - L ? x - (1 - L) : 0;
    *de = -I * a0 * 2 * (dd - dw) / (L * L);
    return 1 - I * a0 * (dw * dw + dd * dd) / (L * L);
}

static void helm_coefs(const siren_pde_opts *po, double row, double col, cplx a[5]) {
    cplx der, dec;
    const cplx er = pml_e(row, po->pml_width, po->pml_a0, &der);
    const cplx ec = pml_e(col, po->pml_width, po->pml_a0, &dec);
    const cplx A = ec / er, B = er / ec;
    a[0] = er * ec * po->k * po->k; /* squared slowness 1 ('uniform') */
    a[1] = -A * der / er;           /* d_r (e_c / e_r) */
    a[2] = -B * dec / ec;           /* d_c (e_r / e_c) */
    a[3] = A;
    a[4] = B;
}

/* The outgoing phase phi = exp(-i k rho), rho = sqrt(|x - x0|^2 + eps^2),
 * and its derivatives along row and col (first, second). */
static cplx phase_fn(const siren_pde_opts *po, double k, double eps, double row, double col,
                     cplx d1[2], cplx d2[2]) {
    const double dr = row - po->src_row, dc = col - po->src_col;
    const double rho = sqrt(dr * dr + dc * dc + eps * eps);
    const cplx ph = cexp(-I * k * rho);
    const double dd[2] = {dr, dc};
    for (int j = 0; j < 2; j++) {
        const double g = dd[j] / rho, gg = (1 - g * g) / rho; /* d rho, d2 rho */
        d1[j] = -I * k * g * ph;
        d2[j] = (-I * k * gg - k * k * g * g) * ph;
    }
    return ph;
}

/* The coefficients on the jets of v where u = v phi: u_c = sum over the
 * product rule, so r = sum_c a_c u_c = sum_c b_c v_c. */
static void phase_coefs(const siren_pde_opts *po, double k, double eps, double row,
                        double col, const cplx a[5], cplx b[5]) {
    cplx d1[2], d2[2];
    const cplx ph = phase_fn(po, k, eps, row, col, d1, d2);
    b[0] = a[0] * ph + a[1] * d1[0] + a[2] * d1[1] + a[3] * d2[0] + a[4] * d2[1];
    b[1] = a[1] * ph + 2 * a[3] * d1[0];
    b[2] = a[2] * ph + 2 * a[4] * d1[1];
    b[3] = a[3] * ph;
    b[4] = a[4] * ph;
}

void siren_helmholtz_phase_coefs(const siren_pde_opts *po, double row, double col,
                                 double coef[5][2]) {
    cplx a[5], b[5];
    helm_coefs(po, row, col, a);
    if (po->phase_eps > 0) phase_coefs(po, po->k, po->phase_eps, row, col, a, b);
    else memcpy(b, a, sizeof a);
    for (int j = 0; j < 5; j++) {
        coef[j][0] = creal(b[j]);
        coef[j][1] = cimag(b[j]);
    }
}

void siren_helmholtz_phase(const siren_pde_opts *po, double row, double col,
                           double phi[2]) {
    cplx d1[2], d2[2];
    const cplx ph = po->phase_eps > 0 ? phase_fn(po, po->k, po->phase_eps, row, col, d1, d2) : 1;
    phi[0] = creal(ph);
    phi[1] = cimag(ph);
}

void siren_helmholtz_coefs(const siren_pde_opts *po, double row, double col,
                           double coef[5][2]) {
    cplx a[5];
    helm_coefs(po, row, col, a);
    for (int j = 0; j < 5; j++) {
        coef[j][0] = creal(a[j]);
        coef[j][1] = cimag(a[j]);
    }
}

void siren_helmholtz_residual(const siren_pde_opts *po, const double x[2],
                              const double u[2], const double du[2][2],
                              const double d2u[2][2], double src, double res[2]) {
    cplx a[5];
    helm_coefs(po, x[0], x[1], a);
    const cplx z[5] = {u[0] + I * u[1], du[0][0] + I * du[0][1], du[1][0] + I * du[1][1],
                       d2u[0][0] + I * d2u[0][1], d2u[1][0] + I * d2u[1][1]};
    cplx r = -(1 + I) * src;
    for (int j = 0; j < 5; j++) r += a[j] * z[j];
    res[0] = creal(r);
    res[1] = cimag(r);
}

double siren_wave_residual(const siren_pde_opts *po, const double d2u[3]) {
    return d2u[0] - po->c * po->c * (d2u[1] + d2u[2]);
}

double siren_pde_wave_var(const siren_pde_opts *po) {
    return po->pulse_var > 0 ? po->pulse_var : SIREN_WAVE_VAR;
}

/* v / v0 is exactly 1 at the official v, and so is its root: every length
 * scaled by it is the official one bit for bit */
double siren_pde_wave_scale(const siren_pde_opts *po) {
    return sqrt(siren_pde_wave_var(po) / SIREN_WAVE_VAR);
}

/* The disk's points pin u0 down where it is not 0 (out to 3.9 standard
 * deviations, where it falls under the 1e-5 cut): the official 0.25 is 11
 * of them, kept at 11 for another width; past 1 the disk would leave the
 * square (with the source at its centre), and a pulse that wide is
 * covered by the uniform t = 0 points anyway. */
double siren_pde_wave_src_radius(const siren_pde_opts *po) {
    return fmin(SIREN_WAVE_SRC_RADIUS * siren_pde_wave_scale(po), 1.0);
}

double siren_pde_source(siren_pde_kind kind, const siren_pde_opts *po, double row,
                        double col) {
    const double dr = row - po->src_row, dc = col - po->src_col, q = dr * dr + dc * dc;
    double g;
    if (kind == SIREN_PDE_HELMHOLTZ)
        g = exp(-q / (2 * SIREN_HELM_VAR)) / (2 * PI * SIREN_HELM_VAR);
    else
        g = SIREN_WAVE_AMP * exp(-q / (2 * siren_pde_wave_var(po)));
    return g < SIREN_PDE_CUT ? 0 : g;
}

double siren_pde_k_at(const siren_pde_opts *po, int step, int steps) {
    if (!(po->k_ramp > 0) || steps <= 0) return po->k;
    const double f = step / (po->k_ramp * steps);
    return f < 1 ? po->k * f : po->k;
}

/* --------------------------------------------------------------- sampling */

size_t siren_pde_src_samples(siren_pde_kind kind, const siren_pde_opts *po, size_t n) {
    if (po->src_samples) return po->src_samples;
    const double f = kind == SIREN_PDE_HELMHOLTZ
                         ? (double)SIREN_HELM_SRC0 / SIREN_HELM_BATCH0
                         : (double)SIREN_WAVE_SRC0 / SIREN_WAVE_BATCH0;
    size_t s = (size_t)llround(f * (double)n);
    return s ? s : 1;
}

static double uni(siren_rng *rng, double lo, double hi) {
    return lo + (hi - lo) * siren_rng_uniform(rng);
}

/* A point uniform in the disk of radius rad around the source (official:
 * r = rad sqrt(U), angle 2 pi U). */
static void disk(siren_rng *rng, const siren_pde_opts *po, double rad, float *out) {
    const double r = rad * sqrt(siren_rng_uniform(rng)), th = 2 * PI * siren_rng_uniform(rng);
    out[0] = (float)(po->src_row + r * cos(th));
    out[1] = (float)(po->src_col + r * sin(th));
}

/* The weight of each of `count` points of a group that has `count0` of
 * the official batch's n0: (count0 / n0) / count, so the group's sum is
 * its official share whatever its size (1 / n0 per point officially). */
static float group_weight(double count0, double n0, size_t count) {
    return count ? (float)(count0 / n0 / (double)count) : 0.0f;
}

/* The wave's time window at `step` of `steps`. The official window grows
 * as 0.4 * counter / full_count with full_count = the number of steps:
 * over `ramp` of the run here. */
static double wave_window(const siren_pde_opts *po, int step, int steps) {
    double w = po->t_max;
    if (po->ramp > 0 && steps > 0) {
        const double f = step / (po->ramp * steps);
        w *= f < 1 ? f : 1;
    }
    return w;
}

void siren_pde_sample(siren_pde_kind kind, const siren_pde_opts *po, siren_rng *rng,
                      int step, int steps, size_t n, size_t src, float *x, float *aux) {
    if (kind == SIREN_PDE_HELMHOLTZ) {
        const double n0 = SIREN_HELM_BATCH0, s0 = SIREN_HELM_SRC0;
        const float wu = group_weight(n0 - s0, n0, n - src), ws = group_weight(s0, n0, src);
        for (size_t i = 0; i < n; i++) {
            float *p = x + 2 * i, *a = aux + 3 * i;
            if (i + src < n) {
                p[0] = (float)uni(rng, -1, 1);
                p[1] = (float)uni(rng, -1, 1);
            } else {
                disk(rng, po, SIREN_HELM_SRC_RADIUS, p);
            }
            const double g = siren_pde_source(kind, po, p[0], p[1]);
            a[0] = g != 0;
            a[1] = (float)g;
            a[2] = i + src < n ? wu : ws;
        }
        return;
    }
    const double w = wave_window(po, step, steps), rad = siren_pde_wave_src_radius(po);
    const double n0 = SIREN_WAVE_BATCH0, s0 = SIREN_WAVE_SRC0;
    const float wu = group_weight(n0 - 2 * s0, n0, n - 2 * src), ws = group_weight(s0, n0, src);
    for (size_t i = 0; i < n; i++) {
        float *p = x + 3 * i, *a = aux + 3 * i;
        p[0] = i + 2 * src < n ? (float)(w * siren_rng_uniform(rng)) : 0.0f;
        if (i + src < n) {
            p[1] = (float)uni(rng, -1, 1);
            p[2] = (float)uni(rng, -1, 1);
        } else {
            disk(rng, po, rad, p + 1);
        }
        /* official: the initial conditions hold where t == start_time */
        const int at0 = p[0] == 0.0f;
        a[0] = (float)at0;
        a[1] = at0 ? (float)siren_pde_source(kind, po, p[1], p[2]) : 0.0f;
        a[2] = i + 2 * src < n ? wu : ws;
    }
}

/* ----------------------------------------------------------------- energy */

/* E0 analytically: |grad u0|^2 = A^2 e^(-q/v) q / v^2 (q = |x - x0|^2),
 * whose integral over the plane is pi A^2 for any variance v. Not the
 * estimator's own value at t = 0: the estimator is unbiased (its weights
 * are exact), so there is no quadrature bias to cancel, and the target
 * should not move with the noise of the network's fit of u0 (whose
 * energy the t = 0 slices then also pull to the true one). The source's
 * cut below 1e-5 (r > 3.9 standard deviations) and the square's edges
 * change E0 by under 1e-5 of it for variances up to 0.05 (the energy
 * outside radius R is (1 + R^2/v) e^(-R^2/v) of it: 4e-8 at R = 1 for
 * 0.05; with the source at the centre and t_max 0.4 the energy term
 * refuses variances over 0.018, whose disc would leave the square). */
double siren_pde_energy0(const siren_pde_opts *po) {
    return PI * po->c * po->c * SIREN_WAVE_AMP * SIREN_WAVE_AMP;
}

double siren_pde_energy_margin(const siren_pde_opts *po) {
    return SIREN_PDE_ENERGY_MARGIN * siren_pde_wave_scale(po);
}

size_t siren_pde_energy_sample(const siren_pde_opts *po, siren_rng *rng, double t,
                               float *x, float *wq, size_t *n_in) {
    enum { S = SIREN_PDE_ENERGY_SIDE, G = SIREN_PDE_ENERGY_GRID };
    const double ct = po->c * t, R = ct + siren_pde_energy_margin(po),
                 band = SIREN_PDE_ENERGY_BAND * siren_pde_wave_scale(po);
    const double a = fmax(0, ct - band), b = fmin(R, ct + band);
    size_t m = 0;
    /* The disc: S^2 points uniform over its area (they see a wrong
     * solution's energy wherever in the disc it is: a pulse left at the
     * centre, a ring too slow) and S^2 uniform in radius over the band
     * [a, b] (the true ring: at t = 0.4 half of a uniform draw's points
     * would miss the band, two thirds the ring's c t +- 0.05). The expected number of points per unit
     * area at radius r is S^2 / (pi R^2) + [a <= r <= b] S^2 / (2 pi r
     * (b - a)); each weight is its inverse (written so that r = 0 gives
     * 0, not 0 / 0), which makes sum wq e an unbiased estimate of the
     * integral of e over the disc (the balance heuristic of multiple
     * importance sampling), and bounded by pi R^2 / S^2, the uniform
     * group's own: a function the band misses is still seen. */
    for (int grp = 0; grp < 2; grp++) {
        const double th0 = 2 * PI * siren_rng_uniform(rng); /* a random rotation */
        for (int i = 0; i < S; i++)
            for (int k = 0; k < S; k++) {
                const double u1 = (i + siren_rng_uniform(rng)) / S;
                const double u2 = (k + siren_rng_uniform(rng)) / S;
                const double r = grp ? a + (b - a) * u1 : R * sqrt(u1);
                const double th = th0 + 2 * PI * u2;
                float *p = x + 3 * m;
                p[0] = (float)t;
                p[1] = (float)(po->src_row + r * cos(th));
                p[2] = (float)(po->src_col + r * sin(th));
                wq[m++] = r >= a && r <= b && b > a
                              ? (float)(2 * PI * r * (b - a) /
                                        (S * S * (2 * r * (b - a) / (R * R) + 1)))
                              : (float)(PI * R * R / (S * S));
            }
    }
    *n_in = m;
    /* Outside the disc the true solution has no energy, and a wrong one's
     * there must not be free (nor stand in for the disc's): a jittered
     * grid over the whole square, the points in the disc dropped, so that
     * sum wq e estimates the integral over the square minus the disc. */
    const double h = 2.0 / G;
    for (int i = 0; i < G; i++)
        for (int k = 0; k < G; k++) {
            const double r0 = -1 + h * (i + siren_rng_uniform(rng));
            const double c0 = -1 + h * (k + siren_rng_uniform(rng));
            const double dr = r0 - po->src_row, dc = c0 - po->src_col;
            if (dr * dr + dc * dc <= R * R) continue;
            float *p = x + 3 * m;
            p[0] = (float)t;
            p[1] = (float)r0;
            p[2] = (float)c0;
            wq[m++] = (float)(h * h);
        }
    return m;
}

/* ------------------------------------------------------------------- loss */

/* As siren_train_derivs: each thread runs the network on its own chunks of
 * points with single-threaded GEMMs and sums its own gradient; the sums
 * are added in thread order, so results depend on the thread count only
 * (workers.h). */
enum { PDE_CHUNK = 512 };

enum { NBIN = SIREN_PDE_CAUSAL_BINS };

/* One thread's sums over a step, and its energy term's buffers (its
 * points' buffers and gradient are the pool's worker of the same index). */
typedef struct {
    double terms[3];
    /* wave, causal weighting: the residual term weighted by the bins'
     * weights, and per bin the sums of w |r| and of w (the group weight w) */
    double wres, bin_num[NBIN], bin_den[NBIN];
    /* the energy term: first derivatives only (4 channels, not D2's 7),
     * one whole slice per forward, since its gradient needs the slice's E
     * first; the term, sum E_in / E0, sum E_out / E0, each over the step's
     * slices */
    siren_jet_work *ejw;
    float *egout;
    double eparts[3];
} pde_thread;

typedef struct {
    siren_pde_kind kind;
    const siren_pde_opts *po;
    double phase_k; /* the k of the phase factor (not the curriculum's) */
    const double *bin_w; /* wave: the causal weights of the time bins; NULL:
                            all 1 (the official loss) */
    siren_workers pool; /* the points' D2 jets, each thread's gradient */
    /* wave, the energy term: slices [e_lo, e_hi) of e_count (the mean is
     * over all e_count; a shard does its own), slice j's e_n[j] points at
     * ex + 3 j SIREN_PDE_ENERGY_MAX, their weights at ew + j
     * SIREN_PDE_ENERGY_MAX; its gradient times e_scale (W). e_count 0: no
     * term */
    const float *ex, *ew;
    const size_t *e_n, *e_in;
    int e_lo, e_hi, e_count;
    double e_scale, e0;
    pde_thread th[SIREN_WORKERS_MAX];
} pde_workers;

static void workers_free(pde_workers *P) {
    for (int t = 0; t < P->pool.T; t++) {
        siren_jet_work_free(P->th[t].ejw);
        free(P->th[t].egout);
    }
    siren_workers_free(&P->pool);
    memset(P->th, 0, sizeof P->th);
}

/* ecap: points per energy slice (0: no energy term's buffers). */
static siren_status workers_create(pde_workers *P, const siren_net *net,
                                   siren_pde_kind kind, const siren_pde_opts *po,
                                   int threads, size_t cap, size_t ecap) {
    siren_status st;
    memset(P, 0, sizeof *P);
    P->kind = kind;
    P->po = po;
    P->phase_k = po->k;
    if ((st = siren_workers_create(&P->pool, net, SIREN_JET_D2, threads,
                                   cap < PDE_CHUNK ? (cap ? cap : 1) : PDE_CHUNK)))
        return st;
    const size_t m = (size_t)net->cfg.out_features;
    for (int t = 0; t < P->pool.T && ecap; t++) {
        pde_thread *s = P->th + t;
        if ((st = siren_jet_work_create(net, SIREN_JET_GRAD, ecap, 1, &s->ejw))) {
            workers_free(P);
            return st;
        }
        if (!(s->egout = malloc((size_t)s->ejw->channels * ecap * m * sizeof *s->egout))) {
            workers_free(P);
            return siren_fail(SIREN_ENOMEM, "out of memory for the energy term's buffers");
        }
    }
    return SIREN_OK;
}

static float sgn(double v) { return (float)((v > 0) - (v < 0)); }

/* Loss of the n points of one chunk, each weighted by its aux weight, into
 * w->terms;
 * with want_grad, the chunk's parameter gradient added to w->gsum. The
 * output jets are (C n, m), channel c of point r output k at
 * [(c n + r) m + k], channels in SIREN_JET_D2 order. */
static void pde_chunk(const siren_net *net, const pde_workers *P, siren_worker *w,
                      pde_thread *s, const float *x, const float *aux, size_t n,
                      int want_grad) {
    const siren_pde_opts *po = P->po;
    siren_jet_forward(net, w->jw, x, n);
    const float *o = w->jw->post[net->n_linear];
    const size_t C = (size_t)w->jw->channels;
    float *g = w->gout;
    if (want_grad) memset(g, 0, C * n * net->cfg.out_features * sizeof *g);
    if (P->kind == SIREN_PDE_HELMHOLTZ) {
        const cplx f0 = 1 + I; /* the official source amplitude */
        const double on_x = SIREN_HELM_ON_WEIGHT * SIREN_HELM_BATCH0;
        for (size_t r = 0; r < n; r++) {
            cplx a[5], res = 0;
            helm_coefs(po, x[2 * r], x[2 * r + 1], a);
            if (po->phase_eps > 0) { /* the jets are v's: u = v phi */
                cplx b[5];
                phase_coefs(po, P->phase_k, po->phase_eps, x[2 * r], x[2 * r + 1], a, b);
                memcpy(a, b, sizeof b);
            }
            for (int c = 0; c < 5; c++) {
                const float *z = o + ((size_t)c * n + r) * 2;
                res += a[c] * (z[0] + I * z[1]);
            }
            const float *a3 = aux + 3 * r;
            const int on = a3[0] != 0;
            if (on) res -= f0 * a3[1];
            const double wt = on ? on_x * a3[2] : a3[2];
            s->terms[on] += wt * (fabs(creal(res)) + fabs(cimag(res)));
            if (!want_grad) continue;
            /* d|Re r| + d|Im r|: the residual is sum a_c z_c, so each jet
             * gets conj(a_c) times (sgn Re r + i sgn Im r) */
            const cplx gr = wt * (sgn(creal(res)) + I * sgn(cimag(res)));
            for (int c = 0; c < 5; c++) {
                const cplx gz = conj(a[c]) * gr;
                float *q = g + ((size_t)c * n + r) * 2;
                q[0] = (float)creal(gz);
                q[1] = (float)cimag(gz);
            }
        }
    } else {
        /* channels: u, u_t, u_r, u_c, u_tt, u_rr, u_cc */
        const double c2 = po->c * po->c;
        const double dir_x = SIREN_WAVE_DIR_WEIGHT * SIREN_WAVE_BATCH0;
        const double neu_x = SIREN_WAVE_NEU_WEIGHT * SIREN_WAVE_BATCH0;
        for (size_t r = 0; r < n; r++) {
            const float *a3 = aux + 3 * r;
            const double wt = a3[2];
            const double res = o[4 * n + r] - c2 * ((double)o[5 * n + r] + o[6 * n + r]);
            s->terms[0] += wt * fabs(res);
            /* causal: the point's bin weight on its residual term only */
            const int b = siren_pde_time_bin(x[3 * r], po->t_max, NBIN);
            const double cw = P->bin_w ? P->bin_w[b] : 1;
            s->wres += cw * wt * fabs(res);
            s->bin_num[b] += wt * fabs(res);
            s->bin_den[b] += wt;
            if (want_grad) {
                const float gr = (float)(cw * wt) * sgn(res);
                g[4 * n + r] = gr;
                g[5 * n + r] = g[6 * n + r] = (float)(-c2 * gr);
            }
            if (a3[0] == 0) continue;
            const double w_dir = dir_x * wt, w_neu = neu_x * wt;
            const double e = (double)o[r] - a3[1], v = o[n + r];
            s->terms[1] += w_dir * fabs(e);
            s->terms[2] += w_neu * fabs(v);
            if (want_grad) {
                g[r] = (float)w_dir * sgn(e);
                g[n + r] = (float)w_neu * sgn(v);
            }
        }
    }
    if (want_grad) {
        siren_jet_backward(net, w->jw, n, g, w->gc);
        siren_worker_add(w, net->n_params);
    }
}

/* One energy slice: n points, the first n_in in the disc, weights wq.
 * Its share of the term, (|E_in - E0| + E_out) / E0 / e_count, into
 * w->eparts; with want_grad, its parameter gradient times e_scale added to
 * w->gsum. The whole slice is one forward, so that E_in and E_out, on
 * which every point's gradient depends, are known before the backward
 * pass. Output jets (4 n, 1): u, u_t, u_r, u_c. */
static void energy_slice(const siren_net *net, const pde_workers *P, siren_worker *w,
                         pde_thread *s, const float *x, const float *wq, size_t n,
                         size_t n_in, int want_grad) {
    if (!n) return;
    const double c2 = P->po->c * P->po->c, e0 = P->e0, inv = 1.0 / P->e_count;
    siren_jet_forward(net, s->ejw, x, n);
    const float *o = s->ejw->post[net->n_linear];
    double ein = 0, eout = 0;
    for (size_t r = 0; r < n; r++) {
        const double ut = o[n + r], ur = o[2 * n + r], uc = o[3 * n + r];
        const double e = wq[r] * (ut * ut + c2 * (ur * ur + uc * uc));
        if (r < n_in) ein += e;
        else eout += e;
    }
    /* L1 in the relative errors, as the official loss is in the residual:
     * the square, ((E_in - E0)^2 + E_out^2) / E0^2, has a gradient that
     * grows as E^(3/2) (E and grad E ~ u grad u), and the initial network
     * has E_out ~ 400 E0: its first steps' gradients, 10^4 times the later
     * ones, filled Adam's second moments, which then kept the steps tiny
     * for the rest of the run (measured: rel. L2 4.1 and 4.6 at 800 steps
     * for W 0.01 and 0.1, against 2.8 without; README). This one's grows
     * as E^(1/2) */
    s->eparts[0] += inv * (fabs(ein - e0) + eout) / e0;
    s->eparts[1] += inv * ein / e0;
    s->eparts[2] += inv * eout / e0;
    if (!want_grad) return;
    /* d term / d e_i = wq_i sgn(E_in - E0) / E0 in the disc, wq_i / E0
     * outside; d e / d(u_t, u_r, u_c) = 2 (u_t, c^2 u_r, c^2 u_c) */
    const double k = P->e_scale * inv / e0;
    const double fin = k * sgn(ein - e0), fout = k;
    float *g = s->egout;
    for (size_t r = 0; r < n; r++) {
        const double f = (r < n_in ? fin : fout) * wq[r] * 2;
        g[r] = 0;
        g[n + r] = (float)(f * o[n + r]);
        g[2 * n + r] = (float)(f * c2 * o[2 * n + r]);
        g[3 * n + r] = (float)(f * c2 * o[3 * n + r]);
    }
    siren_jet_backward(net, s->ejw, n, g, w->gc);
    siren_worker_add(w, net->n_params);
}

/* The weighted loss of n points and, with grad, its gradient (of the
 * causally weighted loss when P->bin_w is set, plus e_scale times the
 * energy term's when P->e_count > 0); the return and terms are the
 * official loss. causal (NULL, or 1 + 2 NBIN doubles; wave): the causally
 * weighted residual term, then per time bin the sums of w |r| and of w.
 * energy (NULL, or 3 doubles): the energy term's parts of this shard's
 * slices (energy_slice). */
static double pde_step(const siren_net *net, pde_workers *P, const float *x,
                       const float *aux, size_t n, float *grad, double terms[3],
                       double *causal, double *energy) {
    const int d = net->cfg.in_features;
    const size_t chunk = P->pool.chunk, nch = (n + chunk - 1) / chunk;
    const int T = P->pool.T;
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        siren_worker *w = P->pool.w + t;
        pde_thread *s = P->th + t;
        memset(s->terms, 0, sizeof s->terms);
        s->wres = 0;
        memset(s->bin_num, 0, sizeof s->bin_num);
        memset(s->bin_den, 0, sizeof s->bin_den);
        if (grad) memset(w->gsum, 0, net->n_params * sizeof(float));
        for (size_t c = nch * t / nt; c < nch * (t + 1) / nt; c++) {
            const size_t off = c * chunk, cnt = n - off < chunk ? n - off : chunk;
            pde_chunk(net, P, w, s, x + off * d, aux + 3 * off, cnt, grad != NULL);
        }
        /* the energy slices after the points, each thread its own range */
        memset(s->eparts, 0, sizeof s->eparts);
        const int ne = P->e_hi - P->e_lo;
        for (int j = P->e_lo + ne * t / nt; j < P->e_lo + ne * (t + 1) / nt; j++)
            energy_slice(net, P, w, s, P->ex + (size_t)3 * j * SIREN_PDE_ENERGY_MAX,
                         P->ew + (size_t)j * SIREN_PDE_ENERGY_MAX, P->e_n[j], P->e_in[j],
                         grad != NULL);
        if (grad) siren_workers_reduce(&P->pool, net->n_params, grad);
    }
    double loss = 0;
    for (int j = 0; j < 3; j++) {
        terms[j] = 0;
        for (int t = 0; t < T; t++) terms[j] += P->th[t].terms[j];
        loss += terms[j];
    }
    if (energy) {
        memset(energy, 0, 3 * sizeof *energy);
        for (int t = 0; t < T; t++)
            for (int j = 0; j < 3; j++) energy[j] += P->th[t].eparts[j];
    }
    if (causal) {
        memset(causal, 0, (1 + 2 * NBIN) * sizeof *causal);
        for (int t = 0; t < T; t++) {
            const pde_thread *s = P->th + t;
            causal[0] += s->wres;
            for (int b = 0; b < NBIN; b++) {
                causal[1 + b] += s->bin_num[b];
                causal[1 + NBIN + b] += s->bin_den[b];
            }
        }
    }
    return loss;
}

int siren_pde_time_bin(double t, double t_max, int bins) {
    const double f = t / t_max * bins;
    if (!(f > 0)) return 0; /* NaN too */
    return f >= bins ? bins - 1 : (int)f;
}

void siren_pde_causal_weights(double eps, const double *bin_loss, int bins, double *w) {
    double cum = 0;
    for (int i = 0; i < bins; i++) {
        w[i] = exp(-eps * cum);
        cum += bin_loss[i];
    }
}

/* The mean |r| per bin from the sums of pde_step's causal (0 where a bin
 * has no points). */
static void bin_means(const double *causal, double *bin_loss) {
    for (int b = 0; b < NBIN; b++) {
        const double den = causal[1 + NBIN + b];
        bin_loss[b] = den > 0 ? causal[1 + b] / den : 0;
    }
}

static siren_status check_net(const siren_net *net, siren_pde_kind kind) {
    const int din = kind == SIREN_PDE_HELMHOLTZ ? 2 : 3;
    const int dout = kind == SIREN_PDE_HELMHOLTZ ? 2 : 1;
    if (net->cfg.in_features != din || net->cfg.out_features != dout)
        return siren_fail(SIREN_EINVAL, "a %s model maps %d inputs to %d outputs; this "
                          "one maps %d to %d",
                          kind == SIREN_PDE_HELMHOLTZ ? "Helmholtz" : "wave", din, dout,
                          net->cfg.in_features, net->cfg.out_features);
    return SIREN_OK;
}

double siren_pde_loss_causal(const siren_net *net, siren_pde_kind kind,
                             const siren_pde_opts *po, const float *x,
                             const float *aux, size_t n, int threads,
                             const double *bin_w, float *grad, double terms[3],
                             double *bin_loss) {
    pde_workers P;
    double t3[3], causal[1 + 2 * NBIN];
    if (!terms) terms = t3;
    if (check_net(net, kind) ||
        workers_create(&P, net, kind, po, siren_threads_resolve(threads), n, 0))
        return NAN;
    if (kind == SIREN_PDE_WAVE) P.bin_w = bin_w;
    double loss = pde_step(net, &P, x, aux, n, grad, terms, causal, NULL);
    workers_free(&P);
    if (kind == SIREN_PDE_WAVE) {
        if (bin_loss) bin_means(causal, bin_loss);
        if (bin_w) loss = causal[0] + terms[1] + terms[2]; /* the weighted one */
    } else if (bin_loss) {
        memset(bin_loss, 0, NBIN * sizeof *bin_loss);
    }
    return loss;
}

double siren_pde_loss(const siren_net *net, siren_pde_kind kind,
                      const siren_pde_opts *po, const float *x, const float *aux,
                      size_t n, int threads, float *grad, double terms[3]) {
    return siren_pde_loss_causal(net, kind, po, x, aux, n, threads, NULL, grad, terms,
                                 NULL);
}

double siren_pde_energy_loss(const siren_net *net, const siren_pde_opts *po,
                             const float *x, const float *wq, const size_t *n,
                             const size_t *n_in, int slices, int threads, float *grad,
                             double parts[3]) {
    pde_workers P;
    double terms[3], e[3];
    if (slices < 1 || check_net(net, SIREN_PDE_WAVE) ||
        workers_create(&P, net, SIREN_PDE_WAVE, po, siren_threads_resolve(threads), 0,
                       SIREN_PDE_ENERGY_MAX))
        return NAN;
    P.ex = x;
    P.ew = wq;
    P.e_n = n;
    P.e_in = n_in;
    P.e_lo = 0;
    P.e_hi = P.e_count = slices;
    P.e_scale = 1;
    P.e0 = siren_pde_energy0(po);
    pde_step(net, &P, NULL, NULL, 0, grad, terms, NULL, e); /* no points */
    workers_free(&P);
    if (parts) memcpy(parts, e, sizeof e);
    return e[0];
}

/* ------------------------------------------------------------------ solve */

static siren_status check_opts(siren_pde_kind kind, const siren_pde_opts *po) {
    if (!isfinite(po->src_row) || !isfinite(po->src_col) || fabs(po->src_row) > 1 ||
        fabs(po->src_col) > 1)
        return siren_fail(SIREN_EINVAL, "source at (%g, %g): outside [-1, 1]^2",
                          po->src_row, po->src_col);
    if (kind == SIREN_PDE_HELMHOLTZ) {
        if (!isfinite(po->k) || po->k < 0 || po->k > 1e4)
            return siren_fail(SIREN_EINVAL, "wavenumber %g: need 0 <= k <= 1e4", po->k);
        if (!isfinite(po->pml_width) || po->pml_width < 0 || po->pml_width > 1)
            return siren_fail(SIREN_EINVAL, "PML width %g: need 0..1", po->pml_width);
        if (!isfinite(po->pml_a0) || po->pml_a0 < 0)
            return siren_fail(SIREN_EINVAL, "PML strength a0 %g: need >= 0", po->pml_a0);
        if (!(po->k_ramp >= 0 && po->k_ramp <= 1))
            return siren_fail(SIREN_EINVAL, "wavenumber ramp %g: need 0..1", po->k_ramp);
        if (!(po->phase_eps >= 0 && po->phase_eps <= 1))
            return siren_fail(SIREN_EINVAL, "phase smoothing %g: need 0..1 (0: no phase "
                              "factor)", po->phase_eps);
        if (po->causal != 0)
            return siren_fail(SIREN_EINVAL, "causal weighting (%g) is for the wave "
                              "equation", po->causal);
        if (po->energy != 0)
            return siren_fail(SIREN_EINVAL, "the energy term (%g) is for the wave "
                              "equation", po->energy);
    } else {
        if (!isfinite(po->c) || !(po->c > 0) || po->c > 1e4)
            return siren_fail(SIREN_EINVAL, "wave speed %g: need 0 < c <= 1e4", po->c);
        if (!isfinite(po->t_max) || !(po->t_max > 0) || po->t_max > 1e4)
            return siren_fail(SIREN_EINVAL, "time span %g: need 0 < t_max <= 1e4", po->t_max);
        if (!(po->ramp >= 0 && po->ramp <= 1))
            return siren_fail(SIREN_EINVAL, "time ramp %g: need 0..1", po->ramp);
        if (!(po->causal >= 0 && po->causal <= 1e6))
            return siren_fail(SIREN_EINVAL, "causal weighting eps %g: need 0..1e6 (0: "
                              "off)", po->causal);
        /* 1e-5: a standard deviation of 0.0032, 0.4 of a 256-grid's
         * pixel; 0.1: 0.32, whose tails reach the square's edges (6.7e-3
         * of the peak there); 0: the official */
        if (!(po->pulse_var == 0 || (po->pulse_var >= 1e-5 && po->pulse_var <= 0.1)))
            return siren_fail(SIREN_EINVAL, "pulse variance %g: need 1e-5..0.1 (0: the "
                              "official 5e-4)", po->pulse_var);
        if (!(po->energy >= 0 && po->energy <= 1e6))
            return siren_fail(SIREN_EINVAL, "energy term weight %g: need 0..1e6 (0: off)",
                              po->energy);
        /* E is conserved in the square only while nothing leaves it, and
         * the sampler's disc must lie inside it */
        const double reach = po->c * po->t_max + siren_pde_energy_margin(po) +
                             fmax(fabs(po->src_row), fabs(po->src_col));
        if (po->energy > 0 && reach > 1)
            return siren_fail(SIREN_EINVAL, "the energy term needs the pulse inside the "
                              "square: c t_max + %g + max |source| = %g > 1",
                              siren_pde_energy_margin(po), reach);
    }
    return SIREN_OK;
}

static siren_status set_meta(siren_net *net, siren_pde_kind kind, const siren_pde_opts *po) {
    char buf[64];
    siren_status st;
    const int helm = kind == SIREN_PDE_HELMHOLTZ;
#define META(key, v)                                                             \
    do {                                                                         \
        snprintf(buf, sizeof buf, "%.17g", (double)(v));                         \
        if ((st = siren_net_set_meta(net, key, buf))) return st;                 \
    } while (0)
    if ((st = siren_net_set_meta(net, "task", helm ? "helmholtz" : "wave")) ||
        (st = siren_net_set_meta(net, "coords", helm ? "(row, col) in [-1,1]^2"
                                                     : "(t, row, col), t raw")))
        return st;
    META("pde_source_row", po->src_row);
    META("pde_source_col", po->src_col);
    if (helm) {
        if ((st = siren_net_set_meta(net, "outputs",
                                     po->phase_eps > 0
                                         ? "(Re v, Im v), u = v exp(-i pde_k rho), rho = "
                                           "sqrt(|x - source|^2 + pde_phase_eps^2)"
                                         : "(Re u, Im u)")))
            return st;
        if (po->phase_eps > 0) META("pde_phase_eps", po->phase_eps);
        META("pde_k", po->k);
        META("pde_pml_width", po->pml_width);
        META("pde_pml_a0", po->pml_a0);
    } else {
        META("pde_c", po->c);
        META("pde_t_max", po->t_max);
        META("pde_pulse_variance", siren_pde_wave_var(po));
    }
#undef META
    return SIREN_OK;
}

static siren_status pde_solve(siren_pde_kind kind, const siren_pde_opts *po,
                              const siren_config *cfg, const siren_train_opts *opt,
                              siren_net **out, siren_pde_result *res) {
    const int helm = kind == SIREN_PDE_HELMHOLTZ, d = helm ? 2 : 3;
    siren_status st;
    siren_net *net = NULL;
    siren_loop L = {0};
    pde_workers P;
    float *grad = NULL, *bx = NULL, *baux = NULL, *ex = NULL, *ew = NULL;
    int have_workers = 0;
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->loss = NAN;
    if ((st = check_opts(kind, po))) return st;
    if (opt->steps < 0) return siren_fail(SIREN_EINVAL, "negative step count");
    if (!(opt->lr > 0)) return siren_fail(SIREN_EINVAL, "learning rate must be positive");
    const size_t N = opt->batch ? opt->batch : helm ? SIREN_HELM_BATCH0 : SIREN_WAVE_BATCH0;
    const size_t S = siren_pde_src_samples(kind, po, N);
    if ((helm ? S : 2 * S) > N)
        return siren_fail(SIREN_EINVAL, "%zu points per step leave no room for %zu "
                          "near the source%s", N, S, helm ? "" : " (and as many at t = 0)");
    if ((st = siren_shard_check(opt, N))) return st;
    size_t lo, hi; /* this shard's rows of each batch (siren_train_values) */
    siren_shard_slice(opt, N, &lo, &hi);
    const int threads = siren_threads_resolve(opt->threads);

    siren_config c = *cfg;
    c.in_features = d;
    c.out_features = helm ? 2 : 1;
    if ((st = siren_net_create(&c, opt->seed, &net)) || (st = set_meta(net, kind, po)))
        goto fail;
    /* the energy term: every shard draws every slice, and does its own */
    enum { ES = SIREN_PDE_ENERGY_SLICES, EM = SIREN_PDE_ENERGY_MAX };
    const int energy = !helm && po->energy > 0;
    size_t e_n[ES], e_in[ES], elo, ehi;
    siren_shard_slice(opt, ES, &elo, &ehi);
    if ((st = workers_create(&P, net, kind, po, threads, hi - lo, energy ? EM : 0)))
        goto fail;
    have_workers = 1;
    grad = malloc(net->n_params * sizeof *grad);
    bx = malloc(N * d * sizeof *bx);
    baux = malloc(N * 3 * sizeof *baux);
    if (energy) {
        ex = malloc((size_t)ES * EM * 3 * sizeof *ex);
        ew = malloc((size_t)ES * EM * sizeof *ew);
    }
    if (!grad || !bx || !baux || (energy && (!ex || !ew))) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu collocation points", N);
        goto fail;
    }
    if (energy) {
        P.ex = ex;
        P.ew = ew;
        P.e_n = e_n;
        P.e_in = e_in;
        P.e_lo = (int)elo;
        P.e_hi = (int)ehi;
        P.e_count = ES;
        P.e_scale = po->energy;
        P.e0 = siren_pde_energy0(po);
    }
    if ((st = siren_loop_open(&L, net, opt, NULL, N, N, threads))) goto fail;
    siren_pde_opts po_step = *po; /* the curriculum's wavenumber at a step */
    P.po = &po_step;
    /* Causal weighting: each step's weights from the previous step's mean
     * |r| per time bin (lagged, so one pass per step); all 1 at the first
     * step of a run, fresh or resumed. */
    const int causal = !helm && po->causal > 0;
    double bin_w[NBIN], bin_loss[NBIN];
    for (int b = 0; b < NBIN; b++) bin_w[b] = 1;
    P.bin_w = causal ? bin_w : NULL;
    res->causal_loss = NAN;
    res->causal_min_weight = 1;
    while (L.step < opt->steps) {
        siren_loop_tick(&L);
        po_step.k = siren_pde_k_at(po, L.step, opt->steps);
        /* every shard draws the whole batch (the same RNG state on all) */
        siren_pde_sample(kind, po, &L.ck.rng, L.step, opt->steps, N, S, bx, baux);
        /* the energy slices after the batch, stratified over the window
         * (drawn only with the term, so that without it the run is the
         * one before it) */
        if (energy) {
            const double win = wave_window(po, L.step, opt->steps);
            for (int j = 0; j < ES; j++) {
                const double t = win * (j + siren_rng_uniform(&L.ck.rng)) / ES;
                e_n[j] = siren_pde_energy_sample(po, &L.ck.rng, t, ex + (size_t)3 * j * EM,
                                                 ew + (size_t)j * EM, e_in + j);
            }
        }
        /* the official terms, then (causal) pde_step's causal sums, then
         * (energy) its parts, then the reduce's stop vote */
        double parts[3 + 1 + 2 * NBIN + 3 + 1];
        const int ne = causal ? 4 + 2 * NBIN : 3;
        pde_step(net, &P, bx + lo * d, baux + 3 * lo, hi - lo, grad, parts,
                 causal ? parts + 3 : NULL, energy ? parts + ne : NULL);
        if ((st = siren_loop_reduce(&L, grad, parts, ne + (energy ? 3 : 0)))) goto fail;
        const double loss = parts[0] + parts[1] + parts[2];
        res->loss = loss;
        memcpy(res->terms, parts, sizeof res->terms);
        if (energy) {
            res->energy_term = parts[ne];
            res->energy_in = parts[ne + 1];
            res->energy_out = parts[ne + 2];
        }
        res->causal_loss = causal ? parts[3] + parts[1] + parts[2] : loss;
        if (causal) {
            double wmin = 1;
            for (int b = 0; b < NBIN; b++) wmin = fmin(wmin, bin_w[b]);
            res->causal_min_weight = wmin;
            bin_means(parts + 3, bin_loss);
            siren_pde_causal_weights(po->causal, bin_loss, NBIN, bin_w);
        }
        int stop;
        if ((st = siren_loop_update(&L, grad, loss, NAN, &stop))) {
            if (st != SIREN_EDIVERGED) goto fail;
            break; /* the last good state, returned with the status */
        }
        if (stop) break;
    }
    /* fp32 again for the final metrics */
    siren_loop_finish(&L, &res->seconds, &res->steps, &res->step_ms_median);
    siren_loop_close(&L);
    workers_free(&P);
    free(grad); free(bx); free(baux); free(ex); free(ew);
    *out = net;
    return st;
fail:
    siren_loop_close(&L);
    if (have_workers) workers_free(&P);
    free(grad); free(bx); free(baux); free(ex); free(ew);
    siren_net_free(net);
    return st;
}

siren_status siren_solve_helmholtz(const siren_pde_opts *po, const siren_config *cfg,
                                   const siren_train_opts *opt, siren_net **net,
                                   siren_pde_result *res) {
    return pde_solve(SIREN_PDE_HELMHOLTZ, po, cfg, opt, net, res);
}

siren_status siren_solve_wave(const siren_pde_opts *po, const siren_config *cfg,
                              const siren_train_opts *opt, siren_net **net,
                              siren_pde_result *res) {
    return pde_solve(SIREN_PDE_WAVE, po, cfg, opt, net, res);
}

/* ----------------------------------------------------------------- render */

static siren_status check_grid(int n) {
    if (n < 2 || (size_t)n * n > SIREN_MAX_IMAGE_PIXELS)
        return siren_fail(SIREN_EINVAL, "grid side %d: need 2..%d", n, 1 << 14);
    return SIREN_OK;
}

/* The phase factor a Helmholtz model records (set_meta): 1 and po's k,
 * source and phase_eps set when it has one, else 0. */
static int meta_phase(const siren_net *net, siren_pde_opts *po) {
    const char *e = siren_net_get_meta(net, "pde_phase_eps"),
               *k = siren_net_get_meta(net, "pde_k"),
               *r = siren_net_get_meta(net, "pde_source_row"),
               *c = siren_net_get_meta(net, "pde_source_col");
    if (!e || !k || !r || !c || !(atof(e) > 0)) return 0;
    po->phase_eps = atof(e);
    po->k = atof(k);
    po->src_row = atof(r);
    po->src_col = atof(c);
    return 1;
}

siren_status siren_render_helmholtz(const siren_net *net, int n, int threads,
                                    float *field) {
    siren_status st;
    if ((st = check_net(net, SIREN_PDE_HELMHOLTZ)) || (st = check_grid(n))) return st;
    float *x = siren_image_grid(n, n);
    if (!x) return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d grid", n, n);
    st = siren_net_eval(net, x, (size_t)n * n, field, threads);
    siren_pde_opts po = siren_pde_opts_default();
    if (!st && meta_phase(net, &po))
        for (size_t p = 0; p < (size_t)n * n; p++) {
            cplx d1[2], d2[2];
            const cplx u = (field[2 * p] + I * field[2 * p + 1]) *
                           phase_fn(&po, po.k, po.phase_eps, x[2 * p], x[2 * p + 1], d1, d2);
            field[2 * p] = (float)creal(u);
            field[2 * p + 1] = (float)cimag(u);
        }
    free(x);
    return st;
}

siren_status siren_render_wave(const siren_net *net, int n, const double *times,
                               int nt, int threads, float *u) {
    siren_status st;
    if ((st = check_net(net, SIREN_PDE_WAVE)) || (st = check_grid(n))) return st;
    const size_t nn = (size_t)n * n;
    float *x = malloc(nn * 3 * sizeof *x);
    if (!x) return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d grid", n, n);
    for (int k = 0; k < nt && !st; k++) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                float *p = x + ((size_t)i * n + j) * 3;
                p[0] = (float)times[k];
                p[1] = (float)siren_grid_coord(i, n);
                p[2] = (float)siren_grid_coord(j, n);
            }
        st = siren_net_eval(net, x, nn, u + k * nn, threads);
    }
    free(x);
    return st;
}

/* ------------------------------------------------------------- references */

siren_status siren_reference_helmholtz(const siren_pde_opts *po, int n, double *field) {
    siren_status st;
    if ((st = check_opts(SIREN_PDE_HELMHOLTZ, po)) || (st = check_grid(n))) return st;
    siren_fd_helmholtz_opts o = siren_fd_helmholtz_opts_default(n);
    o.k = po->k;
    o.src_row = po->src_row;
    o.src_col = po->src_col;
    o.pml_width = po->pml_width;
    o.pml_a0 = po->pml_a0;
    const size_t nn = (size_t)n * n;
    double *u = malloc(2 * nn * sizeof *u);
    if (!u) return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d reference", n, n);
    st = siren_fd_helmholtz(&o, u, u + nn, NULL);
    if (!st)
        for (size_t p = 0; p < nn; p++) {
            field[2 * p] = u[p];
            field[2 * p + 1] = u[nn + p];
        }
    free(u);
    return st;
}

siren_status siren_reference_wave(const siren_pde_opts *po, int n, const double *times,
                                  int nt, double *u) {
    siren_status st;
    if ((st = check_opts(SIREN_PDE_WAVE, po)) || (st = check_grid(n))) return st;
    siren_fd_wave_opts o = siren_fd_wave_opts_default(n);
    o.c = po->c;
    o.src_row = po->src_row;
    o.src_col = po->src_col;
    o.src_var = siren_pde_wave_var(po); /* the grid refinement follows it */
    /* Free space as the network sees it: a margin so that the box's
     * edges change no returned point before the last time (pde.h:
     * c t < 1 + 2 margin - max |x0| - 6 sqrt(v)). */
    const double t_end = nt > 0 ? times[nt - 1] : 0;
    const double x0 = fmax(fabs(po->src_row), fabs(po->src_col));
    const double need = 0.5 * (po->c * t_end - 1 + x0 + 6 * sqrt(o.src_var)) + 0.02;
    o.margin = need > 0 ? need : 0;
    if (o.margin > 16)
        return siren_fail(SIREN_ELIMIT, "wave reference: c t = %g is too long for the "
                          "free-space reference", po->c * t_end);
    return siren_fd_wave(&o, times, nt, u, NULL);
}

double siren_pde_rel_l2(int frames, int n, int m, const double *ref, const float *net,
                        double box) {
    double num = 0, den = 0;
    if (n < 2 || m < 1) return NAN;
    for (int f = 0; f < frames; f++)
        for (int i = 0; i < n; i++) {
            if (fabs(siren_grid_coord(i, n)) > box + 1e-12) continue;
            for (int j = 0; j < n; j++) {
                if (fabs(siren_grid_coord(j, n)) > box + 1e-12) continue;
                const size_t p = (((size_t)f * n + i) * n + j) * m;
                for (int k = 0; k < m; k++) {
                    const double e = (double)net[p + k] - ref[p + k];
                    num += e * e;
                    den += ref[p + k] * ref[p + k];
                }
            }
        }
    return den > 0 ? sqrt(num / den) : NAN;
}

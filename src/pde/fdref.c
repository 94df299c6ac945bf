/* Finite-difference references for the Helmholtz and wave tasks: the
 * equations, grids and boundary treatment are stated in pde.h. This file
 * only discretises and solves; it knows nothing of networks, files or the
 * CLI, which compares a network's field with siren_fd_rel_l2. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pde/pde.h"
#include "util/error.h"

typedef double complex cplx;

static double grid_x(int i, int n) { return -1.0 + 2.0 * i / (n - 1); }

static int finite_pos(double x) { return isfinite(x) && x > 0; }

static int cfinite(cplx z) { return isfinite(creal(z)) && isfinite(cimag(z)); }

/* --------------------------------------------------------------- Helmholtz */

siren_fd_helmholtz_opts siren_fd_helmholtz_opts_default(int n) {
    siren_fd_helmholtz_opts o;
    memset(&o, 0, sizeof o);
    o.n = n;
    o.k = 20.0;
    o.src_re = 1.0;
    o.src_im = 1.0;
    o.src_var = 1e-4;
    o.pml_width = 0.5;
    o.pml_a0 = 5.0;
    o.tol = 1e-10;
    o.max_iter = 2000;
    o.precond_shift = 0.5;
    return o;
}

/* The official stretch e(x) = 1 - i a0 ((d_west/L)² + (d_east/L)²). Both
 * distances are kept, as there, though only one is nonzero when L <= 1. */
static cplx pml_e(double x, double L, double a0) {
    if (!(L > 0)) return 1.0;
    const double dw = x < -(1.0 - L) ? -(x + (1.0 - L)) : 0.0;
    const double de = x > 1.0 - L ? x - (1.0 - L) : 0.0;
    const double s = (dw / L) * (dw / L) + (de / L) * (de / L);
    return 1.0 - I * a0 * s;
}

static siren_status check_helmholtz(const siren_fd_helmholtz_opts *o) {
    if (o->n < 3)
        return siren_fail(SIREN_EINVAL, "helmholtz reference: grid side %d, need >= 3", o->n);
    if (o->n > SIREN_FD_MAX_N)
        return siren_fail(SIREN_ELIMIT, "helmholtz reference: grid side %d over the limit %d",
                          o->n, SIREN_FD_MAX_N);
    if (!isfinite(o->k) || o->k < 0)
        return siren_fail(SIREN_EINVAL, "helmholtz reference: wavenumber %g, need >= 0", o->k);
    if (!isfinite(o->pml_width) || o->pml_width < 0 || o->pml_width > 1)
        return siren_fail(SIREN_EINVAL, "helmholtz reference: PML width %g, need 0..1",
                          o->pml_width);
    if (!isfinite(o->pml_a0) || o->pml_a0 < 0)
        return siren_fail(SIREN_EINVAL, "helmholtz reference: PML a0 %g, need >= 0", o->pml_a0);
    if (!finite_pos(o->tol) || o->max_iter < 1)
        return siren_fail(SIREN_EINVAL,
                          "helmholtz reference: tolerance %g and %d iterations, need > 0",
                          o->tol, o->max_iter);
    if (!isfinite(o->precond_shift))
        return siren_fail(SIREN_EINVAL, "helmholtz reference: preconditioner shift %g",
                          o->precond_shift);
    if (o->slowness2) {
        const size_t nn = (size_t)o->n * o->n;
        for (size_t p = 0; p < nn; p++)
            if (!isfinite(o->slowness2[p]))
                return siren_fail(SIREN_EINVAL,
                                  "helmholtz reference: squared slowness %g at point %zu",
                                  o->slowness2[p], p);
    }
    return SIREN_OK;
}

/* Mass of the unit normal N(0, 1) on [a, b], accurate in the tails. */
static double normal_mass(double a, double b) {
    const double r = 1.0 / sqrt(2.0);
    if (a > 0) return 0.5 * (erfc(a * r) - erfc(b * r));
    if (b < 0) return 0.5 * (erfc(-b * r) - erfc(-a * r));
    return 0.5 * (erf(b * r) - erf(a * r));
}

siren_status siren_fd_helmholtz_source(const siren_fd_helmholtz_opts *o,
                                       double *f_re, double *f_im) {
    siren_status st = check_helmholtz(o);
    if (st != SIREN_OK) return st;
    if (!finite_pos(o->src_var) || !isfinite(o->src_row) || !isfinite(o->src_col) ||
        !isfinite(o->src_re) || !isfinite(o->src_im))
        return siren_fail(SIREN_EINVAL, "helmholtz reference: source variance %g, need > 0",
                          o->src_var);
    const int n = o->n;
    const double h = 2.0 / (n - 1), sd = sqrt(o->src_var);
    double *gr = malloc(2 * (size_t)n * sizeof *gr);
    if (!gr) return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d source", n, n);
    double *gc = gr + n;
    /* Cell averages of the separable Gaussian, one axis at a time. */
    for (int i = 0; i < n; i++) {
        const double x = grid_x(i, n);
        gr[i] = normal_mass((x - h / 2 - o->src_row) / sd, (x + h / 2 - o->src_row) / sd) / h;
        gc[i] = normal_mass((x - h / 2 - o->src_col) / sd, (x + h / 2 - o->src_col) / sd) / h;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const double g = gr[i] * gc[j];
            f_re[(size_t)i * n + j] = o->src_re * g;
            f_im[(size_t)i * n + j] = o->src_im * g;
        }
    free(gr);
    return SIREN_OK;
}

/* A 5-point operator on the m x m interior nodes, p = i m + j for grid
 * node (i + 1, j + 1), scaled by h²: centre and the neighbours up (row -
 * h), down, left (col - h) and right. */
typedef struct {
    int m;
    cplx *cc, *cu, *cd, *cl, *cr;
} stencil;

static void stencil_free(stencil *s) {
    free(s->cc);
    memset(s, 0, sizeof *s);
}

/* The operator of pde.h with layer strength a0 and the mass term
 * e_r e_c k² q multiplied by `shift`: (a0, 1) is the system itself, the
 * preconditioner takes a weaker layer and a complex shift. */
static siren_status stencil_build(const siren_fd_helmholtz_opts *o, double a0, cplx shift,
                                  stencil *s) {
    const int n = o->n, m = n - 2;
    const size_t mm = (size_t)m * m;
    const double h = 2.0 / (n - 1), L = o->pml_width;
    memset(s, 0, sizeof *s);
    s->m = m;
    s->cc = malloc(5 * mm * sizeof *s->cc);
    cplx *e = malloc(2 * (size_t)n * sizeof *e);
    if (!s->cc || !e) {
        free(s->cc);
        free(e);
        s->cc = NULL;
        return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d Helmholtz system", n, n);
    }
    s->cu = s->cc + mm;
    s->cd = s->cu + mm;
    s->cl = s->cd + mm;
    s->cr = s->cl + mm;
    /* e at the nodes (e[0..n-1]) and at the half points x_i + h/2
     * (eh[0..n-2]); the same function on both axes. */
    cplx *eh = e + n;
    for (int i = 0; i < n; i++) e[i] = pml_e(grid_x(i, n), L, a0);
    for (int i = 0; i + 1 < n; i++) eh[i] = pml_e(-1.0 + (i + 0.5) * h, L, a0);
    const double kh2 = o->k * o->k * h * h;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            const size_t p = (size_t)i * m + j;
            const int gi = i + 1, gj = j + 1; /* grid node */
            const double q = o->slowness2 ? o->slowness2[(size_t)gi * n + gj] : 1.0;
            /* ∂r((e_c/e_r) ∂r u): e_r at the half rows, e_c at the node. */
            s->cu[p] = e[gj] / eh[gi - 1];
            s->cd[p] = e[gj] / eh[gi];
            /* ∂c((e_r/e_c) ∂c u) */
            s->cl[p] = e[gi] / eh[gj - 1];
            s->cr[p] = e[gi] / eh[gj];
            s->cc[p] = e[gi] * e[gj] * kh2 * q * shift -
                       (s->cu[p] + s->cd[p] + s->cl[p] + s->cr[p]);
        }
    free(e);
    return SIREN_OK;
}

/* y = A x on the interior (boundary couplings live in the right side). */
static void stencil_apply(const stencil *s, const cplx *x, cplx *y) {
    const int m = s->m;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            const size_t p = (size_t)i * m + j;
            cplx v = s->cc[p] * x[p];
            if (i > 0) v += s->cu[p] * x[p - m];
            if (i + 1 < m) v += s->cd[p] * x[p + m];
            if (j > 0) v += s->cl[p] * x[p - 1];
            if (j + 1 < m) v += s->cr[p] * x[p + 1];
            y[p] = v;
        }
}

/* The preconditioner M: one V(1,1)-cycle of a multigrid for a shifted
 * operator, after the shifted-Laplacian preconditioner of Erlangga, Vuik
 * and Oosterlee (2004): the system's stencil with k² replaced by
 * (1 - β i) k² and the layer's a0 capped at PC_A0_MAX.
 *   Why not simpler: ILU(0)-BiCGSTAB on the system itself took 7500
 * iterations at n = 230 and did not converge at n = 481. Why the cap: with
 * a0 = 5 the layer's flux coefficients e_c/e_r and e_r/e_c are up to 158
 * degrees apart in the complex plane and 26 times apart in size; there
 * Gauss-Seidel diverges outright, so does a cycle smoothed by line
 * relaxation, and the ILU-smoothed cycle diverges from n ≈ 160 on. With a0 <= 2 the cycle is a good
 * preconditioner on every grid tried (n = 61 to 961: 30 to 45 BiCGSTAB
 * iterations at k = 20, β = 0.5), and BiCGSTAB makes up the difference.
 *   Levels: every other grid line plus the last one, so any n coarsens
 * (a coarse grid is then uneven at one end); bilinear interpolation P by
 * coordinates, restriction P^T, Galerkin coarse operators P^T A P (9-point
 * stencils); ILU(0) smoothing; a dense LU on the coarsest level. */
#define PC_A0_MAX 2.0
#define MG_MAX_LEVELS 24
#define MG_COARSEST 15 /* interior side at which the dense LU takes over */

typedef struct {
    int m;      /* interior nodes per side */
    cplx *a;    /* (m*m, 9): a[p*9 + (di+1)*3 + dj+1] couples p to (i+di, j+dj) */
    cplx *lu;   /* (m*m, 9): its ILU(0) factors, same layout (L unit lower, U) */
    int *ci;    /* (m, 2): coarse interior nodes each interior node interpolates from (-1: none) */
    double *cw; /* (m, 2): their weights */
    cplx *x, *b, *r; /* (m*m) each, one block */
} mg_level;

typedef struct {
    int nlev;
    mg_level lv[MG_MAX_LEVELS];
    cplx *lu; /* coarsest level: dense LU, row-major (mc², mc²) */
    int *piv;
} mgrid;

static void mg_free(mgrid *g) {
    for (int l = 0; l < g->nlev; l++) {
        free(g->lv[l].a);
        free(g->lv[l].lu);
        free(g->lv[l].ci);
        free(g->lv[l].cw);
        free(g->lv[l].x);
    }
    free(g->lu);
    free(g->piv);
    memset(g, 0, sizeof *g);
}

/* The coarse grid of a level whose n grid nodes (edges included) lie at
 * x[0..n-1]: its nodes 0, 2, 4, ... and n - 1. Writes their positions to
 * xc, the 1D interpolation of each fine interior node to ci, cw (as
 * coarse interior indices), and returns the coarse node count. */
static int mg_coarsen(const double *x, int n, int *idx, double *xc, int *ci, double *cw) {
    int nc = 0;
    for (int g = 0; g < n; g += 2) idx[nc++] = g;
    if (idx[nc - 1] != n - 1) idx[nc++] = n - 1;
    for (int G = 0; G < nc; G++) xc[G] = x[idx[G]];
    int G = 0;
    for (int g = 1; g + 1 < n; g++) {
        while (idx[G + 1] < g) G++;
        int *c = ci + 2 * (g - 1);
        double *w = cw + 2 * (g - 1);
        c[0] = c[1] = -1;
        w[0] = w[1] = 0;
        const double t = (x[g] - x[idx[G]]) / (x[idx[G + 1]] - x[idx[G]]);
        const int Gs[2] = {G, G + 1};
        const double ws[2] = {1 - t, t};
        for (int s = 0, k = 0; s < 2; s++)
            if (ws[s] != 0 && Gs[s] >= 1 && Gs[s] <= nc - 2) {
                c[k] = Gs[s] - 1;
                w[k] = ws[s];
                k++;
            }
    }
    return nc;
}

/* Galerkin product: coarse (mc, 9-point) = P^T fine P, P the tensor
 * product of the fine level's 1D interpolation with itself. */
static void mg_rap(const mg_level *f, mg_level *c) {
    const int m = f->m, mc = c->m;
    memset(c->a, 0, (size_t)mc * mc * 9 * sizeof *c->a);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            const cplx *a = f->a + ((size_t)i * m + j) * 9;
            for (int di = -1; di <= 1; di++)
                for (int dj = -1; dj <= 1; dj++) {
                    const int k = i + di, l = j + dj;
                    const cplx v = a[(di + 1) * 3 + dj + 1];
                    if (k < 0 || k >= m || l < 0 || l >= m || v == 0) continue;
                    for (int s1 = 0; s1 < 2; s1++) {
                        const int I0 = f->ci[2 * i + s1];
                        if (I0 < 0) continue;
                        for (int s2 = 0; s2 < 2; s2++) {
                            const int J0 = f->ci[2 * j + s2];
                            if (J0 < 0) continue;
                            const cplx wv = f->cw[2 * i + s1] * f->cw[2 * j + s2] * v;
                            for (int s3 = 0; s3 < 2; s3++) {
                                const int K = f->ci[2 * k + s3];
                                if (K < 0) continue;
                                for (int s4 = 0; s4 < 2; s4++) {
                                    const int L = f->ci[2 * l + s4];
                                    if (L < 0) continue;
                                    SIREN_ASSERT(abs(K - I0) <= 1 && abs(L - J0) <= 1);
                                    c->a[((size_t)I0 * mc + J0) * 9 + (K - I0 + 1) * 3 +
                                         (L - J0 + 1)] +=
                                        wv * f->cw[2 * k + s3] * f->cw[2 * l + s4];
                                }
                            }
                        }
                    }
                }
        }
}

/* Dense LU with partial pivoting of the coarsest level, row-major. */
static int mg_dense_lu(mgrid *g) {
    const mg_level *c = &g->lv[g->nlev - 1];
    const int m = c->m, nd = m * m;
    g->lu = calloc((size_t)nd * nd, sizeof *g->lu);
    g->piv = malloc((size_t)nd * sizeof *g->piv);
    if (!g->lu || !g->piv) return -1;
    cplx *A = g->lu;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            for (int di = -1; di <= 1; di++)
                for (int dj = -1; dj <= 1; dj++) {
                    const int k = i + di, l = j + dj;
                    if (k >= 0 && k < m && l >= 0 && l < m)
                        A[(size_t)(i * m + j) * nd + k * m + l] =
                            c->a[((size_t)i * m + j) * 9 + (di + 1) * 3 + dj + 1];
                }
    for (int col = 0; col < nd; col++) {
        int best = col;
        for (int r = col + 1; r < nd; r++)
            if (cabs(A[(size_t)r * nd + col]) > cabs(A[(size_t)best * nd + col])) best = r;
        g->piv[col] = best;
        if (!(cabs(A[(size_t)best * nd + col]) > 0)) return 0;
        if (best != col)
            for (int t = 0; t < nd; t++) {
                const cplx s = A[(size_t)col * nd + t];
                A[(size_t)col * nd + t] = A[(size_t)best * nd + t];
                A[(size_t)best * nd + t] = s;
            }
        const cplx inv = 1.0 / A[(size_t)col * nd + col];
        for (int r = col + 1; r < nd; r++) {
            const cplx f = A[(size_t)r * nd + col] * inv;
            A[(size_t)r * nd + col] = f;
            if (f != 0)
                for (int t = col + 1; t < nd; t++) A[(size_t)r * nd + t] -= f * A[(size_t)col * nd + t];
        }
    }
    return 1;
}

static void mg_dense_solve(const mgrid *g, const cplx *b, cplx *x) {
    const int m = g->lv[g->nlev - 1].m, nd = m * m;
    const cplx *A = g->lu;
    memcpy(x, b, (size_t)nd * sizeof *x);
    for (int col = 0; col < nd; col++) {
        const int p = g->piv[col];
        if (p != col) {
            const cplx s = x[col];
            x[col] = x[p];
            x[p] = s;
        }
        for (int r = col + 1; r < nd; r++) x[r] -= A[(size_t)r * nd + col] * x[col];
    }
    for (int r = nd; r-- > 0;) {
        cplx s = x[r];
        for (int t = r + 1; t < nd; t++) s -= A[(size_t)r * nd + t] * x[t];
        x[r] = s / A[(size_t)r * nd + r];
    }
}

/* ILU(0) of a level's 9-point operator in natural order, in stencil
 * form: row p's entries at offsets (di, dj) sorted as their columns are,
 * so the lower part is the first four. Entry (i, j) - (k, l) of row k
 * exists iff both offset components are within -1..1. 0 on a zero pivot. */
static int mg_ilu(mg_level *L) {
    const int m = L->m;
    memcpy(L->lu, L->a, (size_t)m * m * 9 * sizeof *L->lu);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            cplx *row = L->lu + ((size_t)i * m + j) * 9;
            for (int t = 0; t < 4; t++) { /* lower entries, in column order */
                const int di = t / 3 - 1, dj = t % 3 - 1, k = i + di, l = j + dj;
                if (k < 0 || l < 0 || l >= m || row[t] == 0) continue;
                const cplx *rk = L->lu + ((size_t)k * m + l) * 9;
                row[t] /= rk[4];
                for (int t2 = t + 1; t2 < 9; t2++) { /* later entries of row p */
                    const int ei = (t2 / 3 - 1) - di, ej = (t2 % 3 - 1) - dj;
                    if (ei < -1 || ei > 1 || ej < -1 || ej > 1) continue;
                    row[t2] -= row[t] * rk[(ei + 1) * 3 + ej + 1];
                }
            }
            if (!(cabs(row[4]) > 0) || !cfinite(row[4])) return 0;
        }
    return 1;
}

static void mg_residual(mg_level *L) {
    const int m = L->m;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            const size_t p = (size_t)i * m + j;
            const cplx *a = L->a + p * 9;
            cplx v = L->b[p];
            for (int di = -1; di <= 1; di++) {
                const int k = i + di;
                if (k < 0 || k >= m) continue;
                for (int dj = -1; dj <= 1; dj++) {
                    const int l = j + dj;
                    if (l >= 0 && l < m) v -= a[(di + 1) * 3 + dj + 1] * L->x[(size_t)k * m + l];
                }
            }
            L->r[p] = v;
        }
}

/* One smoothing step x += (LU)^-1 (b - A x), the residual in L->r. */
static void mg_smooth(mg_level *L) {
    const int m = L->m;
    const size_t mm = (size_t)m * m;
    mg_residual(L);
    cplx *z = L->r;
    for (size_t p = 0; p < mm; p++) { /* forward: unit lower L */
        const int i = (int)(p / m), j = (int)(p % m);
        const cplx *row = L->lu + p * 9;
        cplx v = z[p];
        for (int t = 0; t < 4; t++) {
            const int k = i + t / 3 - 1, l = j + t % 3 - 1;
            if (k >= 0 && l >= 0 && l < m) v -= row[t] * z[(size_t)k * m + l];
        }
        z[p] = v;
    }
    for (size_t q = mm; q-- > 0;) { /* backward: U */
        const int i = (int)(q / m), j = (int)(q % m);
        const cplx *row = L->lu + q * 9;
        cplx v = z[q];
        for (int t = 5; t < 9; t++) {
            const int k = i + t / 3 - 1, l = j + t % 3 - 1;
            if (k < m && l >= 0 && l < m) v -= row[t] * z[(size_t)k * m + l];
        }
        z[q] = v / row[4];
    }
    for (size_t p = 0; p < mm; p++) L->x[p] += z[p];
}

/* The hierarchy for the operator s. */
static siren_status mg_build(const stencil *s, mgrid *g) {
    memset(g, 0, sizeof *g);
    int n = s->m + 2;
    double *x = malloc(2 * (size_t)n * sizeof *x);
    int *idx = malloc((size_t)n * sizeof *idx);
    siren_status st = SIREN_OK;
    if (!x || !idx) goto nomem;
    double *xc = x + n;
    for (int i = 0; i < n; i++) x[i] = grid_x(i, n);
    for (int l = 0;; l++) {
        mg_level *L = &g->lv[l];
        const int m = n - 2;
        const size_t mm = (size_t)m * m;
        L->m = m;
        g->nlev = l + 1;
        L->a = malloc(mm * 9 * sizeof *L->a);
        L->x = malloc(3 * mm * sizeof *L->x);
        if (!L->a || !L->x) goto nomem;
        L->b = L->x + mm;
        L->r = L->b + mm;
        if (l == 0) { /* the 5-point stencil */
            for (size_t p = 0; p < mm; p++) {
                cplx *a = L->a + p * 9;
                for (int t = 0; t < 9; t++) a[t] = 0;
                a[1] = s->cu[p];
                a[3] = s->cl[p];
                a[4] = s->cc[p];
                a[5] = s->cr[p];
                a[7] = s->cd[p];
            }
        } else {
            mg_rap(&g->lv[l - 1], L);
        }
        if (m <= MG_COARSEST || l + 1 == MG_MAX_LEVELS) break;
        L->lu = malloc(mm * 9 * sizeof *L->lu);
        if (!L->lu) goto nomem;
        if (!mg_ilu(L)) {
            st = siren_fail(SIREN_EDIVERGED,
                            "helmholtz reference: zero pivot in the multigrid smoother "
                            "(try another preconditioner shift)");
            goto out;
        }
        L->ci = malloc(2 * (size_t)m * sizeof *L->ci);
        L->cw = malloc(2 * (size_t)m * sizeof *L->cw);
        if (!L->ci || !L->cw) goto nomem;
        const int nc = mg_coarsen(x, n, idx, xc, L->ci, L->cw);
        memcpy(x, xc, (size_t)nc * sizeof *x);
        n = nc;
    }
    const int ok = mg_dense_lu(g);
    if (ok < 0) goto nomem;
    if (ok == 0)
        st = siren_fail(SIREN_EDIVERGED,
                        "helmholtz reference: singular coarse-grid operator (try another "
                        "preconditioner shift)");
    goto out;
nomem:
    st = siren_fail(SIREN_ENOMEM, "out of memory for the Helmholtz multigrid");
out:
    free(x);
    free(idx);
    if (st != SIREN_OK) mg_free(g);
    return st;
}

/* One V-cycle on level l from the guess in L->x. */
static void mg_cycle(mgrid *g, int l) {
    mg_level *L = &g->lv[l];
    if (l == g->nlev - 1) {
        mg_dense_solve(g, L->b, L->x);
        return;
    }
    mg_level *C = &g->lv[l + 1];
    const int m = L->m, mc = C->m;
    mg_smooth(L);
    mg_residual(L);
    memset(C->b, 0, (size_t)mc * mc * sizeof *C->b);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            const cplx r = L->r[(size_t)i * m + j];
            for (int s1 = 0; s1 < 2; s1++)
                for (int s2 = 0; s2 < 2; s2++) {
                    const int I0 = L->ci[2 * i + s1], J0 = L->ci[2 * j + s2];
                    if (I0 >= 0 && J0 >= 0)
                        C->b[(size_t)I0 * mc + J0] += L->cw[2 * i + s1] * L->cw[2 * j + s2] * r;
                }
        }
    memset(C->x, 0, (size_t)mc * mc * sizeof *C->x);
    mg_cycle(g, l + 1);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            cplx v = 0;
            for (int s1 = 0; s1 < 2; s1++)
                for (int s2 = 0; s2 < 2; s2++) {
                    const int I0 = L->ci[2 * i + s1], J0 = L->ci[2 * j + s2];
                    if (I0 >= 0 && J0 >= 0)
                        v += L->cw[2 * i + s1] * L->cw[2 * j + s2] * C->x[(size_t)I0 * mc + J0];
                }
            L->x[(size_t)i * m + j] += v;
        }
    mg_smooth(L);
}

/* z = M^-1 r: one V-cycle from zero. */
static void mg_apply(mgrid *g, const cplx *r, cplx *z) {
    const size_t mm = (size_t)g->lv[0].m * g->lv[0].m;
    memcpy(g->lv[0].b, r, mm * sizeof *r);
    memset(g->lv[0].x, 0, mm * sizeof *r);
    mg_cycle(g, 0);
    memcpy(z, g->lv[0].x, mm * sizeof *z);
}

static cplx dotc(const cplx *a, const cplx *b, size_t n) {
    cplx s = 0;
    for (size_t p = 0; p < n; p++) s += conj(a[p]) * b[p];
    return s;
}

static double norm2(const cplx *a, size_t n) {
    double s = 0;
    for (size_t p = 0; p < n; p++) s += creal(a[p]) * creal(a[p]) + cimag(a[p]) * cimag(a[p]);
    return sqrt(s);
}

/* BiCGSTAB (van der Vorst 1992) for A x = b, right-preconditioned so that
 * r is the true residual of x up to rounding; restarted with a fresh
 * shadow vector on a breakdown, and continued from the true residual
 * when the recursive one claims convergence that the true one denies. */
static siren_status bicgstab(const stencil *s, mgrid *g, const cplx *b, cplx *x,
                             double tol, int max_iter, siren_fd_stats *stats) {
    const size_t mm = (size_t)s->m * s->m;
    cplx *w = malloc(7 * mm * sizeof *w);
    if (!w) return siren_fail(SIREN_ENOMEM, "out of memory for the Helmholtz solver");
    cplx *r = w, *rh = r + mm, *p = rh + mm, *v = p + mm, *ph = v + mm, *sh = ph + mm,
         *t = sh + mm;
    const double bn = norm2(b, mm);
    siren_status st = SIREN_OK;
    int it = 0;
    double rel = 0;
    if (bn == 0) { /* the solution is zero */
        memset(x, 0, mm * sizeof *x);
        goto done;
    }
    for (;;) { /* one (re)start */
        stencil_apply(s, x, r);
        for (size_t q = 0; q < mm; q++) r[q] = b[q] - r[q];
        rel = norm2(r, mm) / bn;
        if (!isfinite(rel)) {
            st = siren_fail(SIREN_EDIVERGED, "helmholtz reference: BiCGSTAB diverged");
            goto done;
        }
        if (rel <= tol) goto done;
        if (it >= max_iter) break;
        memcpy(rh, r, mm * sizeof *r);
        memset(p, 0, mm * sizeof *p);
        memset(v, 0, mm * sizeof *v);
        cplx rho = 1, alpha = 1, omega = 1;
        int restart = 0;
        while (it < max_iter && !restart) {
            it++;
            const cplx rho1 = dotc(rh, r, mm);
            if (cabs(rho1) == 0) break;
            const cplx beta = (rho1 / rho) * (alpha / omega);
            for (size_t q = 0; q < mm; q++) p[q] = r[q] + beta * (p[q] - omega * v[q]);
            mg_apply(g, p, ph);
            stencil_apply(s, ph, v);
            const cplx rv = dotc(rh, v, mm);
            if (cabs(rv) == 0) break;
            alpha = rho1 / rv;
            for (size_t q = 0; q < mm; q++) r[q] -= alpha * v[q]; /* r is now s */
            for (size_t q = 0; q < mm; q++) x[q] += alpha * ph[q];
            rel = norm2(r, mm) / bn;
            if (rel <= tol) break;
            mg_apply(g, r, sh);
            stencil_apply(s, sh, t);
            const double tt = creal(dotc(t, t, mm));
            if (tt == 0) break;
            omega = dotc(t, r, mm) / tt;
            for (size_t q = 0; q < mm; q++) {
                x[q] += omega * sh[q];
                r[q] -= omega * t[q];
            }
            rel = norm2(r, mm) / bn;
            if (!isfinite(rel) || !cfinite(omega) || !cfinite(alpha)) {
                st = siren_fail(SIREN_EDIVERGED, "helmholtz reference: BiCGSTAB diverged");
                goto done;
            }
            if (rel <= tol || cabs(omega) == 0) restart = 1;
            rho = rho1;
        }
        /* Loop back: the true residual decides. */
    }
    st = siren_fail(SIREN_ELIMIT,
                    "helmholtz reference: BiCGSTAB at relative residual %.3g after %d "
                    "iterations (tolerance %.3g)",
                    rel, it, tol);
done:
    if (stats) {
        stats->iterations = it;
        stats->rel_residual = rel;
    }
    free(w);
    return st;
}

siren_status siren_fd_helmholtz_solve(const siren_fd_helmholtz_opts *o,
                                      const double *f_re, const double *f_im,
                                      double *u_re, double *u_im,
                                      siren_fd_stats *stats) {
    siren_status st = check_helmholtz(o);
    if (st != SIREN_OK) return st;
    if (stats) memset(stats, 0, sizeof *stats);
    const int n = o->n, m = n - 2;
    const size_t mm = (size_t)m * m;
    const double h = 2.0 / (n - 1);
    stencil s, ps;
    if ((st = stencil_build(o, o->pml_a0, 1.0, &s)) != SIREN_OK) return st;
    cplx *b = malloc(2 * mm * sizeof *b);
    if (!b) {
        stencil_free(&s);
        return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d Helmholtz system", n, n);
    }
    cplx *x = b + mm;
    /* Right side h² f, less the couplings to the Dirichlet edge values. */
#define U(gi, gj) (u_re[(size_t)(gi) * n + (gj)] + I * u_im[(size_t)(gi) * n + (gj)])
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            const size_t p = (size_t)i * m + j, g = (size_t)(i + 1) * n + (j + 1);
            cplx v = h * h * (f_re[g] + I * f_im[g]);
            if (i == 0) v -= s.cu[p] * U(0, j + 1);
            if (i == m - 1) v -= s.cd[p] * U(n - 1, j + 1);
            if (j == 0) v -= s.cl[p] * U(i + 1, 0);
            if (j == m - 1) v -= s.cr[p] * U(i + 1, n - 1);
            b[p] = v;
            x[p] = U(i + 1, j + 1);
            if (!cfinite(v) || !cfinite(x[p])) {
                st = siren_fail(SIREN_EINVAL,
                                "helmholtz reference: non-finite source or boundary value "
                                "at (%d, %d)", i + 1, j + 1);
                goto out;
            }
        }
#undef U
    mgrid g;
    st = stencil_build(o, fmin(o->pml_a0, PC_A0_MAX), 1.0 - I * o->precond_shift, &ps);
    if (st != SIREN_OK) goto out;
    st = mg_build(&ps, &g);
    stencil_free(&ps);
    if (st != SIREN_OK) goto out;
    st = bicgstab(&s, &g, b, x, o->tol, o->max_iter, stats);
    mg_free(&g);
    /* Written back even on SIREN_ELIMIT: the last iterate is still useful. */
    if (st == SIREN_OK || st == SIREN_ELIMIT)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                const size_t p = (size_t)i * m + j, g = (size_t)(i + 1) * n + (j + 1);
                u_re[g] = creal(x[p]);
                u_im[g] = cimag(x[p]);
            }
out:
    free(b);
    stencil_free(&s);
    return st;
}

siren_status siren_fd_helmholtz(const siren_fd_helmholtz_opts *o,
                                double *u_re, double *u_im, siren_fd_stats *stats) {
    siren_status st = check_helmholtz(o);
    if (st != SIREN_OK) return st;
    const size_t nn = (size_t)o->n * o->n;
    double *f = malloc(2 * nn * sizeof *f);
    if (!f) return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d source", o->n, o->n);
    st = siren_fd_helmholtz_source(o, f, f + nn);
    if (st == SIREN_OK) {
        memset(u_re, 0, nn * sizeof *u_re);
        memset(u_im, 0, nn * sizeof *u_im);
        st = siren_fd_helmholtz_solve(o, f, f + nn, u_re, u_im, stats);
    }
    free(f);
    return st;
}

/* -------------------------------------------------------------------- wave */

siren_fd_wave_opts siren_fd_wave_opts_default(int n) {
    siren_fd_wave_opts o;
    memset(&o, 0, sizeof o);
    o.n = n;
    o.c = 1.0;
    o.src_var = 5e-4;
    o.amplitude = 1.0 / 50.0;
    o.cfl = 0.5;
    o.refine = 0;
    return o;
}

/* a = c² Δ_h u on the interior of the ne x ne grid (edges stay 0). */
static void wave_accel(const double *u, double *a, int ne, double c2h2) {
    for (int i = 1; i + 1 < ne; i++) {
        const double *row = u + (size_t)i * ne;
        double *out = a + (size_t)i * ne;
        for (int j = 1; j + 1 < ne; j++)
            out[j] = c2h2 * (row[j - ne] + row[j + ne] + row[j - 1] + row[j + 1] - 4 * row[j]);
    }
}

/* The output grid: every rf-th node of the solver's, from (off, off). */
static void wave_crop(const double *u, int ne, int off, int rf, int n, double *out) {
    for (int i = 0; i < n; i++) {
        const double *row = u + (size_t)(off + (size_t)i * rf) * ne + off;
        for (int j = 0; j < n; j++) out[(size_t)i * n + j] = row[(size_t)j * rf];
    }
}

siren_status siren_fd_wave(const siren_fd_wave_opts *o, const double *times,
                           int nt, double *u_out, siren_fd_stats *stats) {
    if (stats) memset(stats, 0, sizeof *stats);
    const int n = o->n;
    if (n < 3) return siren_fail(SIREN_EINVAL, "wave reference: grid side %d, need >= 3", n);
    if (n > SIREN_FD_MAX_N)
        return siren_fail(SIREN_ELIMIT, "wave reference: grid side %d over the limit %d", n,
                          SIREN_FD_MAX_N);
    if (!finite_pos(o->c))
        return siren_fail(SIREN_EINVAL, "wave reference: wave speed %g, need > 0", o->c);
    if (!finite_pos(o->cfl) || o->cfl > sqrt(0.5))
        return siren_fail(SIREN_EINVAL, "wave reference: CFL number %g, need 0 < cfl <= 1/sqrt(2)",
                          o->cfl);
    if (!isfinite(o->margin) || o->margin < 0 || o->margin > 16)
        return siren_fail(SIREN_EINVAL, "wave reference: margin %g, need 0..16", o->margin);
    if (!o->init && (!finite_pos(o->src_var) || !isfinite(o->amplitude) ||
                     !isfinite(o->src_row) || !isfinite(o->src_col)))
        return siren_fail(SIREN_EINVAL, "wave reference: Gaussian variance %g, need > 0",
                          o->src_var);
    if (nt < 0) return siren_fail(SIREN_EINVAL, "wave reference: %d output times", nt);
    for (int k = 0; k < nt; k++)
        if (!isfinite(times[k]) || times[k] < 0 || (k > 0 && times[k] < times[k - 1]))
            return siren_fail(SIREN_EINVAL,
                              "wave reference: times must be finite, >= 0 and non-decreasing "
                              "(time %d is %g)", k, times[k]);
    if (o->refine < 0)
        return siren_fail(SIREN_EINVAL, "wave reference: refinement %d, need >= 0", o->refine);
    /* The solver's grid: spacing h / rf, sharing every rf-th node with
     * the output grid. */
    int rf = o->refine;
    if (rf == 0) {
        rf = 1;
        if (!o->init) { /* 10 points per standard deviation, within 4096 nodes per side */
            rf = (int)ceil(2.0 / (n - 1) / (sqrt(o->src_var) / 10) - 1e-9);
            const int cap = 4096 / (n - 1);
            rf = rf > cap ? cap : rf;
            rf = rf < 1 ? 1 : rf;
        }
    }
    const double h = 2.0 / ((double)(n - 1) * rf);
    const int off = (int)ceil(o->margin / h - 1e-9);
    const long ne_l = (long)(n - 1) * rf + 1 + 2L * off;
    if (ne_l > 4L * SIREN_FD_MAX_N)
        return siren_fail(SIREN_ELIMIT,
                          "wave reference: %ld grid points per side with refinement and margin",
                          ne_l);
    const int ne = (int)ne_l;
    const size_t nne = (size_t)ne * ne;
    double *u = calloc(3 * nne, sizeof *u);
    if (!u) return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d wave grid", ne, ne);
    double *v = u + nne, *a = v + nne;
    /* Initial displacement on the interior; the edges are the boundary. */
    for (int i = 1; i + 1 < ne; i++)
        for (int j = 1; j + 1 < ne; j++) {
            const double r = -1.0 + (i - off) * h, c = -1.0 + (j - off) * h;
            double val;
            if (o->init) {
                val = o->init(r, c, o->init_ctx);
            } else {
                const double dr = r - o->src_row, dc = c - o->src_col;
                val = o->amplitude * exp(-(dr * dr + dc * dc) / (2 * o->src_var));
            }
            if (!isfinite(val)) {
                free(u);
                return siren_fail(SIREN_EINVAL,
                                  "wave reference: initial value %g at (%g, %g)", val, r, c);
            }
            u[(size_t)i * ne + j] = val;
        }
    const double c2h2 = o->c * o->c / (h * h), dt_max = o->cfl * h / o->c;
    wave_accel(u, a, ne, c2h2);
    double t = 0, dt_used = 0;
    long steps = 0;
    for (int k = 0; k < nt; k++) {
        const double span = times[k] - t;
        if (span > 0) {
            const double ns = ceil(span / dt_max - 1e-12);
            if (ns > 1e9) {
                free(u);
                return siren_fail(SIREN_ELIMIT, "wave reference: %.3g time steps to t = %g", ns,
                                  times[k]);
            }
            const long nsteps = (long)ns;
            const double dt = span / nsteps;
            if (dt > dt_used) dt_used = dt;
            for (long s = 0; s < nsteps; s++) {
                /* kick, drift, kick: a holds c² Δ_h u of the current u. */
                for (size_t p = 0; p < nne; p++) {
                    v[p] += 0.5 * dt * a[p];
                    u[p] += dt * v[p];
                }
                wave_accel(u, a, ne, c2h2);
                for (size_t p = 0; p < nne; p++) v[p] += 0.5 * dt * a[p];
            }
            steps += nsteps;
            t = times[k];
        }
        wave_crop(u, ne, off, rf, n, u_out + (size_t)k * n * n);
    }
    free(u);
    if (stats) {
        stats->iterations = steps > 2147483647L ? 2147483647 : (int)steps;
        stats->dt = dt_used;
        stats->refine = rf;
    }
    return SIREN_OK;
}

/* -------------------------------------------------------------- comparison */

double siren_fd_rel_l2(int n, const double *ref_re, const double *ref_im,
                       const float *net_re, const float *net_im, double box) {
    double num = 0, den = 0;
    if (n < 2) return NAN;
    for (int i = 0; i < n; i++) {
        const double r = fabs(grid_x(i, n));
        if (r > box + 1e-12) continue;
        for (int j = 0; j < n; j++) {
            if (fabs(grid_x(j, n)) > box + 1e-12) continue;
            const size_t p = (size_t)i * n + j;
            double d = (double)net_re[p] - ref_re[p];
            num += d * d;
            den += ref_re[p] * ref_re[p];
            if (ref_im && net_im) {
                d = (double)net_im[p] - ref_im[p];
                num += d * d;
                den += ref_im[p] * ref_im[p];
            }
        }
    }
    return den > 0 ? sqrt(num / den) : NAN;
}

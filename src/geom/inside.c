/* Inside/outside labels for occupancy training: ray parity against a closed
 * triangle mesh. For each axis w (x, y, z) the triangles are binned by their
 * bounding boxes projected on the other two axes (u, v) into a uniform 2-D
 * grid, so a ray along +w from a query meets only the triangles of one
 * cell. Three axes vote: a point is inside when at least two rays cross the
 * surface an odd number of times.
 *
 * Each ray is watertight on its own. The 2-D edge function of an edge is
 * always evaluated from its lexicographically smaller endpoint (and negated
 * for the other orientation), so the two triangles sharing an edge see the
 * exact same value with opposite signs; an exact zero (the ray through an
 * edge or a vertex) takes the sign it would have with the query moved by
 * (eps, eps²) in (u, v) — a symbolic perturbation that every triangle sees
 * the same way — so exactly one of the triangles around an edge or vertex
 * is crossed. The vote then covers what rounding in the edge functions or
 * a small hole seen along one axis could still get wrong. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "geom/geom.h"
#include "util/error.h"

/* At most this many cells along one side of a grid. */
#define GRID_MAX_SIDE 2048

typedef struct {
    int u, v, w;           /* projected axes, ray axis */
    float lo_u, lo_v, hi_u, hi_v;
    float inv_u, inv_v;    /* cells per unit length */
    uint32_t gu, gv;
    size_t *start;         /* (gu*gv + 1) offsets into tris */
    uint32_t *tris;        /* triangle indices, by cell */
} grid;

struct siren_inside {
    size_t nt;
    float *tri; /* (nt, 9): a, b, c */
    grid g[3];
};

/* The cell of coordinate x: monotone in x (a subtraction and a
 * multiplication by a positive constant, both rounded monotonically), so a
 * point inside a triangle's bounding box lands in one of the box's cells. */
static inline uint32_t cell_of(float x, float lo, float inv, uint32_t g) {
    const float t = (x - lo) * inv;
    if (!(t > 0)) return 0;
    return t >= (float)g ? g - 1 : (uint32_t)t;
}

/* Twice the signed area of (p, a, b) projected on (u, v), from the
 * canonical endpoint, with its sign: exact zeros resolved by perturbing p
 * by (eps, eps²); 0 only for an edge of zero length. */
static inline int edge_sign(const float *a, const float *b, int u, int v, double pu, double pv,
                            double *val) {
    int flip = 0;
    if (b[u] < a[u] || (b[u] == a[u] && b[v] < a[v])) {
        const float *t = a;
        a = b;
        b = t;
        flip = 1;
    }
    const double du = (double)b[u] - a[u], dv = (double)b[v] - a[v];
    double e = du * (pv - a[v]) - dv * (pu - a[u]);
    int s;
    if (e > 0) s = 1;
    else if (e < 0) s = -1;
    /* e(p + (eps, eps²)) = e(p) + du eps² - dv eps */
    else if (dv != 0) s = dv > 0 ? -1 : 1;
    else s = du > 0 ? 1 : (du < 0 ? -1 : 0);
    if (flip) s = -s, e = -e;
    *val = e;
    return s;
}

/* 1 when the ray from p along +w crosses the surface an odd number of times. */
static int ray_parity(const siren_inside *t, const grid *g, const float *p) {
    const float pu = p[g->u], pv = p[g->v];
    if (!(pu >= g->lo_u && pu <= g->hi_u && pv >= g->lo_v && pv <= g->hi_v)) return 0;
    const size_t c = (size_t)cell_of(pv, g->lo_v, g->inv_v, g->gv) * g->gu +
                     cell_of(pu, g->lo_u, g->inv_u, g->gu);
    const int u = g->u, v = g->v, w = g->w;
    const double du = pu, dv = pv, pw = p[w];
    int par = 0;
    for (size_t r = g->start[c]; r < g->start[c + 1]; r++) {
        const float *a = t->tri + 9 * (size_t)g->tris[r], *b = a + 3, *cc = a + 6;
        /* Cheap rejection on the projected box first. */
        if ((pu < a[u] && pu < b[u] && pu < cc[u]) || (pu > a[u] && pu > b[u] && pu > cc[u]) ||
            (pv < a[v] && pv < b[v] && pv < cc[v]) || (pv > a[v] && pv > b[v] && pv > cc[v]))
            continue;
        double e0, e1, e2;
        const int s0 = edge_sign(b, cc, u, v, du, dv, &e0);
        if (s0 == 0) continue;
        if (edge_sign(cc, a, u, v, du, dv, &e1) != s0) continue;
        if (edge_sign(a, b, u, v, du, dv, &e2) != s0) continue;
        const double sum = e0 + e1 + e2;
        if (sum == 0) continue;
        const double hit = (e0 * a[w] + e1 * b[w] + e2 * cc[w]) / sum;
        par ^= hit > pw;
    }
    return par;
}

static void grid_free(grid *g) {
    free(g->start);
    free(g->tris);
    g->start = NULL;
    g->tris = NULL;
}

static int proj_degenerate(const float *a, const float *b, const float *c, int u, int v) {
    const double cr = ((double)b[u] - a[u]) * ((double)c[v] - a[v]) -
                      ((double)b[v] - a[v]) * ((double)c[u] - a[u]);
    return cr == 0;
}

/* References allowed for `live` triangles before the grid is coarsened. */
#define REF_BUDGET(live) (16 * (size_t)(live) + ((size_t)1 << 20))

/* The cells covered by triangle a's projected bounding box; 0 when the
 * projection has no area (no ray along w crosses it). */
static int tri_cells(const float *a, const grid *g, uint32_t *u0, uint32_t *u1, uint32_t *v0,
                     uint32_t *v1) {
    const int u = g->u, v = g->v;
    if (proj_degenerate(a, a + 3, a + 6, u, v)) return 0;
    *u0 = cell_of(fminf(a[u], fminf(a[3 + u], a[6 + u])), g->lo_u, g->inv_u, g->gu);
    *u1 = cell_of(fmaxf(a[u], fmaxf(a[3 + u], a[6 + u])), g->lo_u, g->inv_u, g->gu);
    *v0 = cell_of(fminf(a[v], fminf(a[3 + v], a[6 + v])), g->lo_v, g->inv_v, g->gv);
    *v1 = cell_of(fmaxf(a[v], fmaxf(a[3 + v], a[6 + v])), g->lo_v, g->inv_v, g->gv);
    return 1;
}

static siren_status grid_build(siren_inside *t, grid *g, int w) {
    const size_t nt = t->nt;
    size_t live = 0, ncell, total = 0, bytes;
    double eu, ev, side;
    g->w = w;
    g->u = (w + 1) % 3;
    g->v = (w + 2) % 3;
    g->lo_u = g->lo_v = INFINITY;
    g->hi_u = g->hi_v = -INFINITY;
    for (size_t i = 0; i < nt; i++) {
        const float *a = t->tri + 9 * i;
        if (proj_degenerate(a, a + 3, a + 6, g->u, g->v)) continue;
        live++;
        for (int k = 0; k < 3; k++) {
            const float *p = a + 3 * k;
            if (p[g->u] < g->lo_u) g->lo_u = p[g->u];
            if (p[g->u] > g->hi_u) g->hi_u = p[g->u];
            if (p[g->v] < g->lo_v) g->lo_v = p[g->v];
            if (p[g->v] > g->hi_v) g->hi_v = p[g->v];
        }
    }
    if (live == 0) { /* every triangle is edge-on: no ray crosses any */
        g->lo_u = g->lo_v = 1;
        g->hi_u = g->hi_v = 0;
    }
    /* About one cell per triangle, square cells. */
    eu = (double)g->hi_u - g->lo_u;
    ev = (double)g->hi_v - g->lo_v;
    if (live == 0) eu = ev = 0;
    side = eu > 0 && ev > 0 ? sqrt(eu * ev / (double)live) : fmax(eu, ev) / (double)live;
    g->gu = eu > 0 && side > 0 ? (uint32_t)fmin(fmax(ceil(eu / side), 1), GRID_MAX_SIDE) : 1;
    g->gv = ev > 0 && side > 0 ? (uint32_t)fmin(fmax(ceil(ev / side), 1), GRID_MAX_SIDE) : 1;
    /* A few huge triangles over a fine grid could cost one reference per
     * cell each: coarsen until the references stay within a budget (a 1x1
     * grid holds one per triangle, so this ends). */
    for (;;) {
        g->inv_u = eu > 0 ? (float)(g->gu / eu) : 0;
        g->inv_v = ev > 0 ? (float)(g->gv / ev) : 0;
        total = 0;
        for (size_t i = 0; i < nt && live; i++) {
            uint32_t u0, u1, v0, v1;
            if (!tri_cells(t->tri + 9 * i, g, &u0, &u1, &v0, &v1)) continue;
            total += (size_t)(u1 - u0 + 1) * (v1 - v0 + 1);
        }
        if (total <= REF_BUDGET(live) || (g->gu == 1 && g->gv == 1)) break;
        g->gu = g->gu > 1 ? g->gu / 2 : 1;
        g->gv = g->gv > 1 ? g->gv / 2 : 1;
    }
    if (total > ((size_t)1 << 32) - 1) goto limit;
    ncell = (size_t)g->gu * g->gv;
    if (!(g->start = calloc(ncell + 1, sizeof *g->start))) goto nomem;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nt && live; i++) {
            uint32_t u0, u1, v0, v1;
            if (!tri_cells(t->tri + 9 * i, g, &u0, &u1, &v0, &v1)) continue;
            for (uint32_t cv = v0; cv <= v1; cv++)
                for (uint32_t cu = u0; cu <= u1; cu++) {
                    const size_t c = (size_t)cv * g->gu + cu;
                    if (pass == 0) g->start[c + 1]++;
                    else g->tris[g->start[c]++] = (uint32_t)i;
                }
        }
        if (pass == 0) {
            for (size_t c = 0; c < ncell; c++) g->start[c + 1] += g->start[c];
            SIREN_ASSERT(g->start[ncell] == total);
            if (!siren_mul_size(total ? total : 1, sizeof *g->tris, &bytes) ||
                !(g->tris = malloc(bytes)))
                goto nomem;
        } else {
            /* The fill advanced each start to the next cell's: shift back. */
            for (size_t c = ncell; c > 0; c--) g->start[c] = g->start[c - 1];
            g->start[0] = 0;
        }
    }
    return SIREN_OK;
limit:
    grid_free(g);
    return siren_fail(SIREN_ELIMIT, "inside test: the triangles' grid is too large");
nomem:
    grid_free(g);
    return siren_fail(SIREN_ENOMEM, "inside test: out of memory for %zu triangles", nt);
}

siren_status siren_inside_create(const siren_mesh *m, siren_inside **out) {
    siren_inside *t = NULL;
    siren_status st;
    size_t bytes;
    *out = NULL;
    if (m->n_faces == 0 || !m->f || !m->v)
        return siren_fail(SIREN_EINVAL, "inside test: the mesh has no faces");
    if (m->n_faces >= UINT32_MAX)
        return siren_fail(SIREN_ELIMIT, "inside test: %zu faces is too many", m->n_faces);
    siren_status st0 = siren_mesh_check_faces(m);
    if (st0) return st0;
    if (!(t = calloc(1, sizeof *t))) goto nomem;
    t->nt = m->n_faces;
    if (!siren_mul_size(t->nt, 9 * sizeof(float), &bytes) || !(t->tri = malloc(bytes)))
        goto nomem;
    for (size_t f = 0; f < t->nt; f++)
        for (int k = 0; k < 3; k++)
            for (int d = 0; d < 3; d++)
                t->tri[9 * f + 3 * k + d] = m->v[3 * (size_t)m->f[3 * f + k] + d];
    for (int w = 0; w < 3; w++)
        if ((st = grid_build(t, &t->g[w], w)) != SIREN_OK) {
            siren_inside_free(t);
            return st;
        }
    *out = t;
    return SIREN_OK;
nomem:
    siren_inside_free(t);
    return siren_fail(SIREN_ENOMEM, "inside test: out of memory for %zu faces", m->n_faces);
}

void siren_inside_test(const siren_inside *t, const float *pts, size_t n, int threads,
                       uint8_t *inside) {
    const int T = threads > 0 ? threads : omp_get_num_procs();
#pragma omp parallel for schedule(dynamic, 1024) num_threads(T)
    for (size_t i = 0; i < n; i++) {
        const float *p = pts + 3 * i;
        if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) {
            inside[i] = 0;
            continue;
        }
        const int votes = ray_parity(t, &t->g[0], p) + ray_parity(t, &t->g[1], p) +
                          ray_parity(t, &t->g[2], p);
        inside[i] = votes >= 2;
    }
}

void siren_inside_free(siren_inside *t) {
    if (!t) return;
    for (int w = 0; w < 3; w++) grid_free(&t->g[w]);
    free(t->tri);
    free(t);
}

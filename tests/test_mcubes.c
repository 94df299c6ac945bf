/* Marching cubes (src/geom/mcubes.c). The generated table: every case's
 * polygons closed within the cube, both cubes on a shared face drawing the
 * same segments, every case closed and outward inside a grid. The sweep:
 * area and volume of a sphere, a torus and a box within 1% at res 128,
 * every mesh closed, oriented outward, without duplicate vertices; random
 * fields (every ambiguous face many times) and values exactly at the level
 * still closed; the slab-wise mesh identical to a brute-force one built from
 * the whole grid at once; the errors (res out of range, bad bounds, a NaN,
 * a failing field, a cancel) leave nothing behind. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geom/mcubes.h"
#include "siren.h"
#include "testhelp.h"

static const float LO[3] = {-1, -1, -1}, HI[3] = {1, 1, 1};

/* ------------------------------------------------------------- fields */

enum { SPHERE, TORUS, BOX, RANDOM, RANDOM_CLOSED, STEPPED, TORUS_OFF, CASE };

typedef struct {
    int kind;
    int calls;
    int fail_at;     /* return SIREN_EIO on this call (0: never) */
    int nan_at;      /* a NaN at point 7 of this call (0: never) */
    int cfg;         /* CASE: the middle cube's corners, bit set = below */
    int flip;        /* CASE: negate the field */
    int res;         /* RANDOM_CLOSED, CASE: the grid's resolution */
} field;

static double f_of(int kind, const float *p) {
    double x = p[0], y = p[1], z = p[2];
    if (kind == SPHERE) return sqrt(x * x + y * y + z * z) - 0.6;
    if (kind == TORUS || kind == TORUS_OFF) {
        if (kind == TORUS_OFF) { x -= 0.0731; y += 0.0417; z -= 0.0229; }
        double q = sqrt(x * x + y * y) - 0.5;
        return sqrt(q * q + z * z) - 0.2;
    }
    /* box of half extents 0.5, 0.4, 0.3 */
    double dx = fabs(x) - 0.5, dy = fabs(y) - 0.4, dz = fabs(z) - 0.3;
    double ox = fmax(dx, 0), oy = fmax(dy, 0), oz = fmax(dz, 0);
    return sqrt(ox * ox + oy * oy + oz * oz) + fmin(fmax(dx, fmax(dy, dz)), 0);
}

/* A value in [-1, 1) that depends on the point only (so the brute-force
 * reference sees the same field): a hash of its coordinates' bits. */
static float hashed(const float *p) {
    uint64_t h = 0x9e3779b97f4a7c15u;
    for (int j = 0; j < 3; j++) {
        uint32_t u;
        memcpy(&u, &p[j], 4);
        h = (h ^ u) * 0xbf58476d1ce4e5b9u;
        h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebu;
    h ^= h >> 29;
    return (float)((double)(h >> 11) / 9007199254740992.0 * 2 - 1);
}

/* The grid index of a coordinate of the [-1, 1] grid of res points. */
static int grid_index(float c, int res) { return (int)lround((c + 1) * 0.5 * (res - 1)); }

static siren_status eval(void *user, const float *xyz, size_t n, float *v) {
    field *f = user;
    f->calls++;
    if (f->calls == f->fail_at) return SIREN_EIO;
    for (size_t i = 0; i < n; i++) {
        const float *p = xyz + 3 * i;
        switch (f->kind) {
        case RANDOM: v[i] = hashed(p); break;
        case RANDOM_CLOSED: {
            /* above the level on the grid's outer layer: a closed surface */
            int edge = 0;
            for (int j = 0; j < 3; j++) {
                int g = grid_index(p[j], f->res);
                edge |= g == 0 || g == f->res - 1;
            }
            v[i] = edge ? 1.0f : hashed(p);
            break;
        }
        case STEPPED:
            /* a sphere rounded to steps of 1/8: many values exactly 0 */
            v[i] = (float)(round(8 * f_of(SPHERE, p)) / 8);
            break;
        case CASE: {
            /* res 4: the middle cube (grid points 1, 2) takes case cfg, all
             * else is above the level */
            int g[3], in = 1;
            for (int j = 0; j < 3; j++) {
                g[j] = grid_index(p[j], 4);
                in &= g[j] == 1 || g[j] == 2;
            }
            float s = 1.0f;
            if (in && (f->cfg >> ((g[0] - 1) | (g[1] - 1) << 1 | (g[2] - 1) << 2) & 1))
                s = -1.0f;
            v[i] = f->flip ? -s : s;
            break;
        }
        default: v[i] = (float)f_of(f->kind, p);
        }
        if (f->calls == f->nan_at && i == 7) v[i] = NAN;
    }
    return SIREN_OK;
}

static siren_status run(field *f, int res, siren_mesh *m) {
    f->res = res;
    return siren_marching_cubes(res, LO, HI, 0, eval, f, NULL, NULL, m);
}

/* ------------------------------------------------------------- helpers */

static int cmp3(const void *a, const void *b) {
    const float *x = a, *y = b;
    for (int j = 0; j < 3; j++)
        if (x[j] != y[j]) return (x[j] > y[j]) - (x[j] < y[j]);
    return 0;
}

static int cmp9(const void *a, const void *b) {
    const float *x = a, *y = b;
    for (int j = 0; j < 9; j++)
        if (x[j] != y[j]) return (x[j] > y[j]) - (x[j] < y[j]);
    return 0;
}

static size_t duplicates(const siren_mesh *m) {
    if (m->n_vertices < 2) return 0;
    float *v = malloc(m->n_vertices * 3 * sizeof *v);
    memcpy(v, m->v, m->n_vertices * 3 * sizeof *v);
    qsort(v, m->n_vertices, 3 * sizeof *v, cmp3);
    size_t d = 0;
    for (size_t i = 1; i < m->n_vertices; i++) d += cmp3(v + 3 * i - 3, v + 3 * i) == 0;
    free(v);
    return d;
}

static int closed(const siren_mesh *m, size_t *nb, size_t *nm, size_t *no) {
    if (siren_mesh_check_watertight(m, nb, nm, no)) return 0;
    return *nb == 0 && *nm == 0 && *no == 0;
}

/* How many vertices are not strictly inside a grid edge of the [-1, 1]
 * grid of res points: exactly two coordinates on grid values. */
static size_t off_edges(const siren_mesh *m, int res) {
    size_t bad = 0;
    for (size_t i = 0; i < m->n_vertices; i++) {
        int on = 0;
        for (int j = 0; j < 3; j++) {
            float c = m->v[3 * i + j];
            int g = grid_index(c, res);
            on += c == (float)(-1.0 + 2.0 * g / (res - 1));
        }
        bad += on != 2;
    }
    return bad;
}

/* ------------------------------------------------------------- the table */

static int edge_shares_face(int a, int b) {
    int a0, a1, b0, b1;
    siren_mc_edge_corners(a, &a0, &a1);
    siren_mc_edge_corners(b, &b0, &b1);
    /* a face is a fixed value of one coordinate bit, held by all 4 corners */
    for (int bit = 0; bit < 3; bit++) {
        int m = 1 << bit;
        if ((a0 & m) == (a1 & m) && (a0 & m) == (b0 & m) && (a0 & m) == (b1 & m))
            return 1;
    }
    return 0;
}

/* The directed polygon segments that case cfg draws on the face where
 * coordinate `axis` has bit value `side`, as a 12x12 matrix. */
static void face_segments(int cfg, int axis, int side, int seg[12][12]) {
    int8_t t[SIREN_MC_MAX_TRI][3];
    int n = siren_mc_case(cfg, t);
    memset(seg, 0, 12 * 12 * sizeof(int));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            int a = t[i][k], b = t[i][(k + 1) % 3], a0, a1, b0, b1;
            siren_mc_edge_corners(a, &a0, &a1);
            siren_mc_edge_corners(b, &b0, &b1);
            int m = 1 << axis, s = side ? m : 0;
            if ((a0 & m) == s && (a1 & m) == s && (b0 & m) == s && (b1 & m) == s)
                seg[a][b]++;
        }
}

/* The edge across the shared face: cube A's edge e on its side-1 face is
 * the neighbour's edge on its side-0 face with that corner bit cleared. */
static int mirror_edge(int e, int axis) {
    int c0, c1, m = 1 << axis;
    siren_mc_edge_corners(e, &c0, &c1);
    for (int f = 0; f < 12; f++) {
        int d0, d1;
        siren_mc_edge_corners(f, &d0, &d1);
        if (d0 == (c0 & ~m) && d1 == (c1 & ~m)) return f;
    }
    return -1;
}

static void test_table(void) {
    int bad_closed = 0, bad_face = 0, bad_count = 0, max_tri = 0;
    for (int cfg = 0; cfg < 256; cfg++) {
        int8_t t[SIREN_MC_MAX_TRI][3];
        int n = siren_mc_case(cfg, t), use[12][12] = {{0}}, crossing[12];
        max_tri = n > max_tri ? n : max_tri;
        for (int e = 0; e < 12; e++) {
            int c0, c1;
            siren_mc_edge_corners(e, &c0, &c1);
            crossing[e] = (cfg >> c0 & 1) != (cfg >> c1 & 1);
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 3; k++) {
                int a = t[i][k], b = t[i][(k + 1) % 3];
                if (!crossing[a] || a == b) bad_closed++;
                use[a][b]++;
            }
        /* polygon sides lie on faces, used once; diagonals cross the inside
         * and are used twice, once each way; each crossing is the end of
         * exactly two polygon sides, one arriving, one leaving */
        int in[12] = {0}, out[12] = {0}, ncross = 0;
        for (int a = 0; a < 12; a++)
            for (int b = 0; b < 12; b++) {
                if (!use[a][b]) continue;
                if (edge_shares_face(a, b)) {
                    if (use[a][b] != 1 || use[b][a]) bad_closed++;
                    out[a]++;
                    in[b]++;
                } else if (use[a][b] != 1 || use[b][a] != 1) {
                    bad_closed++;
                }
            }
        for (int e = 0; e < 12; e++) {
            ncross += crossing[e];
            if (crossing[e] ? in[e] != 1 || out[e] != 1 : in[e] || out[e]) bad_closed++;
        }
        /* the sides form closed polygons; one of m sides fans into m - 2
         * triangles, so n = (crossings) - 2 (polygons) */
        int next[12], seen[12] = {0}, npoly = 0;
        for (int a = 0; a < 12; a++) {
            next[a] = -1;
            for (int b = 0; b < 12; b++)
                if (use[a][b] && edge_shares_face(a, b)) next[a] = b;
        }
        for (int e = 0; e < 12; e++) {
            if (!crossing[e] || seen[e]) continue;
            npoly++;
            for (int x = e; x >= 0 && !seen[x]; x = next[x]) seen[x] = 1;
        }
        if (n != ncross - 2 * npoly) bad_count++;
    }
    CHECK(bad_closed == 0 && bad_count == 0 && max_tri <= SIREN_MC_MAX_TRI,
          "table: in all 256 cases every edge crossing is the end of exactly two "
          "polygon sides, diagonals used once each way (%d faults; at most %d "
          "triangles a cube)", bad_closed + bad_count, max_tri);
    /* crack-free: whatever two neighbours hold elsewhere, on their shared
     * face they draw the same segments, in opposite directions */
    for (int axis = 0; axis < 3; axis++)
        for (int a = 0; a < 256; a++)
            for (int b = 0; b < 256; b++) {
                int m = 1 << axis, same = 1;
                for (int c = 0; c < 8; c++)
                    if ((c & m) && (a >> c & 1) != (b >> (c & ~m) & 1)) same = 0;
                if (!same) continue;
                int sa[12][12], sb[12][12];
                face_segments(a, axis, 1, sa);
                face_segments(b, axis, 0, sb);
                for (int e = 0; e < 12; e++)
                    for (int f = 0; f < 12; f++)
                        if (sa[e][f] && sb[mirror_edge(f, axis)][mirror_edge(e, axis)] != 1)
                            bad_face++;
            }
    CHECK(bad_face == 0, "table: two cubes sharing a face draw the same segments "
          "on it, opposite ways, for every pair of cases (%d mismatches)", bad_face);
    /* each case as the middle cube of a res-4 grid whose other points are
     * above the level: a closed surface around the below-level corners,
     * positive volume; negated, around the above-level ones, negative */
    int open = 0, wrong_sign = 0;
    for (int cfg = 1; cfg < 256; cfg++)
        for (int flip = 0; flip < 2; flip++) {
            field f = {CASE, 0, 0, 0, cfg, flip, 4};
            siren_mesh m;
            size_t nb, nm, no;
            double A, V;
            if (run(&f, 4, &m)) { open++; continue; }
            if (!closed(&m, &nb, &nm, &no) || duplicates(&m)) open++;
            siren_mesh_area_volume(&m, &A, &V);
            if (!(flip ? V < 0 : V > 0)) wrong_sign++;
            siren_mesh_free(&m);
        }
    CHECK(open == 0 && wrong_sign == 0,
          "table: every case inside a grid gives a closed surface wound towards "
          "larger values (%d open, %d with the volume's sign wrong, of 510)",
          open, wrong_sign);
}

/* ------------------------------------------------------------- shapes */

/* area_tol: 1%, except for the box, whose sharp edges marching cubes cuts
 * off by O(h): 1.6% of its area at res 128 (h = 2/127). */
static void shape(int kind, const char *name, double area, double volume,
                  double area_tol) {
    field f = {kind, 0, 0, 0, 0, 0, 0};
    siren_mesh m;
    siren_status st = run(&f, 128, &m);
    if (st) {
        CHECK(0, "%s: %s", name, siren_last_error());
        return;
    }
    double A, V;
    size_t nb, nm, no;
    siren_mesh_area_volume(&m, &A, &V);
    CHECK(fabs(A - area) < area_tol * area && fabs(V - volume) < 0.01 * volume,
          "%s at res 128: area %.5f vs %.5f (%.3f%%, within %.1f%%), volume %.5f "
          "vs %.5f (%.3f%%, within 1%%)", name, A, area, 100 * (A - area) / area,
          100 * area_tol, V, volume, 100 * (V - volume) / volume);
    CHECK(closed(&m, &nb, &nm, &no) && duplicates(&m) == 0 && !m.vn &&
              f.calls == 128,
          "%s: closed and oriented (%zu boundary, %zu non-manifold, %zu "
          "misoriented edges), no duplicate vertices (%zu vertices, %zu "
          "triangles), one field call a slice", name, nb, nm, no, m.n_vertices,
          m.n_faces);
    if (kind == SPHERE) {
        double worst = 0;
        for (size_t i = 0; i < m.n_vertices; i++)
            worst = fmax(worst, fabs(f_of(SPHERE, m.v + 3 * i)));
        /* linear interpolation of a smooth field: O(h^2) off the surface */
        CHECK(worst < 1e-4 && off_edges(&m, 128) == 0,
              "%s: every vertex strictly inside a grid edge, within %.2e of the "
              "surface", name, worst);
    }
    siren_mesh_free(&m);
}

/* ------------------------------------------------------- the reference */

/* The documented vertex position on the edge from grid point a to b. */
static float ref_crossing(float xa, float xb, float va, float vb) {
    float t = (0 - va) / (vb - va);
    float x = xa + t * (xb - xa);
    if (!(x > xa)) x = nextafterf(xa, xb);
    if (!(x < xb)) x = nextafterf(xb, xa);
    return x;
}

/* Triangles as 9 floats, rotated (keeping the winding) so that the
 * smallest vertex comes first, then sorted. */
static void canonical(float *t, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float *p = t + 9 * i, r[9];
        int k = 0;
        for (int j = 1; j < 3; j++)
            if (cmp3(p + 3 * j, p + 3 * k) < 0) k = j;
        for (int j = 0; j < 3; j++) memcpy(r + 3 * j, p + 3 * ((j + k) % 3), 12);
        memcpy(p, r, sizeof r);
    }
    qsort(t, n, 9 * sizeof(float), cmp9);
}

/* The whole grid in one field call, every cube on its own with the table,
 * each triangle's vertices computed afresh: the slab-wise mesh must have
 * the same vertices (bit for bit, each once) and the same triangles. */
static void against_reference(int kind, int res, const char *name) {
    const size_t R = (size_t)res, N = R * R * R;
    float *xyz = calloc(N * 3, sizeof *xyz), *val = calloc(N, sizeof *val), c[4096];
    for (size_t i = 0; i < R; i++) c[i] = (float)(-1.0 + 2.0 * (double)i / (double)(R - 1));
    for (size_t k = 0; k < R; k++)
        for (size_t j = 0; j < R; j++)
            for (size_t i = 0; i < R; i++) {
                float *p = xyz + 3 * ((k * R + j) * R + i);
                p[0] = c[i]; p[1] = c[j]; p[2] = c[k];
            }
    field f = {kind, 0, 0, 0, 0, 0, res};
    eval(&f, xyz, N, val);
    size_t cap = 1024, nt = 0;
    float *tri = malloc(cap * 9 * sizeof *tri);
    for (size_t k = 0; k + 1 < R; k++)
        for (size_t j = 0; j + 1 < R; j++)
            for (size_t i = 0; i + 1 < R; i++) {
                size_t at[8];
                int cfg = 0;
                for (int q = 0; q < 8; q++) {
                    at[q] = ((k + (q >> 2 & 1)) * R + j + (q >> 1 & 1)) * R + i + (q & 1);
                    cfg |= (val[at[q]] < 0) << q;
                }
                int8_t t[SIREN_MC_MAX_TRI][3];
                int n = siren_mc_case(cfg, t);
                for (int s = 0; s < n; s++) {
                    if (nt == cap) tri = realloc(tri, (cap *= 2) * 9 * sizeof *tri);
                    for (int v = 0; v < 3; v++) {
                        int c0, c1, axis = t[s][v] / 4;
                        siren_mc_edge_corners(t[s][v], &c0, &c1);
                        float *p = tri + 9 * nt + 3 * v;
                        memcpy(p, xyz + 3 * at[c0], 12);
                        p[axis] = ref_crossing(xyz[3 * at[c0] + axis], xyz[3 * at[c1] + axis],
                                               val[at[c0]], val[at[c1]]);
                    }
                    nt++;
                }
            }
    /* the reference's vertex set: its triangles' corners, each once */
    float *rv = malloc(nt * 9 * sizeof *rv);
    memcpy(rv, tri, nt * 9 * sizeof *rv);
    qsort(rv, 3 * nt, 3 * sizeof *rv, cmp3);
    size_t nv = 0;
    for (size_t i = 0; i < 3 * nt; i++)
        if (nv == 0 || cmp3(rv + 3 * (nv - 1), rv + 3 * i))
            memmove(rv + 3 * nv++, rv + 3 * i, 12);
    canonical(tri, nt);

    siren_mesh m;
    f.calls = 0;
    int same = 0;
    if (run(&f, res, &m) == SIREN_OK && m.n_vertices == nv && m.n_faces == nt) {
        float *mv = malloc(nv * 3 * sizeof *mv + 1), *mt = malloc(nt * 9 * sizeof *mt + 1);
        memcpy(mv, m.v, nv * 3 * sizeof *mv);
        qsort(mv, nv, 3 * sizeof *mv, cmp3);
        for (size_t i = 0; i < nt; i++)
            for (int v = 0; v < 3; v++) memcpy(mt + 9 * i + 3 * v, m.v + 3 * m.f[3 * i + v], 12);
        canonical(mt, nt);
        same = memcmp(mv, rv, nv * 12) == 0 && memcmp(mt, tri, nt * 36) == 0;
        free(mv);
        free(mt);
    }
    CHECK(same, "%s at res %d: the slab-wise mesh equals the whole-grid reference "
          "(%zu vertices, %zu triangles; got %zu, %zu)", name, res, nv, nt,
          m.n_vertices, m.n_faces);
    siren_mesh_free(&m);
    free(xyz); free(val); free(tri); free(rv);
}

/* ------------------------------------------------------------- errors */

typedef struct {
    int calls, last_done, bad;
} progress_log;

static int log_progress(void *user, int done, int total) {
    progress_log *p = user;
    p->bad |= done != p->last_done + 1 || total != 24;
    p->last_done = done;
    p->calls++;
    return 0;
}

static int cancel_at_5(void *user, int done, int total) {
    (void)user; (void)total;
    return done == 5;
}

static int zeroed(const siren_mesh *m) {
    return !m->v && !m->f && !m->vn && m->n_vertices == 0 && m->n_faces == 0;
}

static void test_errors(void) {
    field f = {SPHERE, 0, 0, 0, 0, 0, 0};
    siren_mesh m;
    memset(&m, 0x5a, sizeof m);
    CHECK(siren_marching_cubes(1, LO, HI, 0, eval, &f, NULL, NULL, &m) == SIREN_EINVAL &&
              zeroed(&m) && strstr(siren_last_error(), "1"),
          "res 1 is refused: %s", siren_last_error());
    CHECK(siren_marching_cubes(4097, LO, HI, 0, eval, &f, NULL, NULL, &m) == SIREN_EINVAL &&
              zeroed(&m),
          "res 4097 is refused: %s", siren_last_error());
    const float flat[3] = {-1, 1, -1}, inf[3] = {-INFINITY, -1, -1};
    CHECK(siren_marching_cubes(8, LO, flat, 0, eval, &f, NULL, NULL, &m) == SIREN_EINVAL &&
              zeroed(&m) && f.calls == 0,
          "hi below lo is refused: %s", siren_last_error());
    CHECK(siren_marching_cubes(8, inf, HI, 0, eval, &f, NULL, NULL, &m) == SIREN_EINVAL,
          "infinite bounds are refused: %s", siren_last_error());
    const float tiny_hi[3] = {1, 1, 1.0000001f};
    const float tiny_lo[3] = {-1, -1, 1};
    CHECK(siren_marching_cubes(8, tiny_lo, tiny_hi, 0, eval, &f, NULL, NULL, &m) ==
              SIREN_EINVAL,
          "cells holding no float are refused: %s", siren_last_error());
    CHECK(siren_marching_cubes(8, LO, HI, NAN, eval, &f, NULL, NULL, &m) == SIREN_EINVAL,
          "a NaN level is refused: %s", siren_last_error());
    f.nan_at = 3;
    CHECK(siren_marching_cubes(8, LO, HI, 0, eval, &f, NULL, NULL, &m) == SIREN_EINVAL &&
              zeroed(&m) && strstr(siren_last_error(), "NaN") &&
              strstr(siren_last_error(), "(1, -1, -0.428571)"),
          "a NaN in the field names the point: %s", siren_last_error());
    f.nan_at = 0;
    f.calls = 0;
    f.fail_at = 6;
    CHECK(siren_marching_cubes(32, LO, HI, 0, eval, &f, NULL, NULL, &m) == SIREN_EIO &&
              zeroed(&m) && f.calls == 6,
          "a failing field's status is returned, nothing left");
    f.fail_at = 0;
    CHECK(siren_marching_cubes(32, LO, HI, 0, eval, &f, cancel_at_5, NULL, &m) ==
                  SIREN_ECANCELED && zeroed(&m),
          "a cancel after 5 slices: SIREN_ECANCELED, nothing left: %s",
          siren_last_error());
    progress_log pl = {0, 0, 0};
    siren_status st = siren_marching_cubes(24, LO, HI, 0, eval, &f, log_progress, &pl, &m);
    CHECK(st == SIREN_OK && pl.calls == 24 && pl.last_done == 24 && !pl.bad && m.n_faces,
          "progress: called after each of the 24 slices with (done, 24)");
    siren_mesh_free(&m);
    st = siren_marching_cubes(16, LO, HI, -5, eval, &f, NULL, NULL, &m);
    CHECK(st == SIREN_OK && zeroed(&m), "no crossing: an empty mesh");
    const float half[3] = {0.5f, 0.5f, 0.5f};
    st = siren_marching_cubes(2, LO, half, 0.5f, eval, &f, NULL, NULL, &m);
    CHECK(st == SIREN_OK && m.n_faces > 0 && zeroed(&m) == 0,
          "res 2: one cube, %zu triangles", m.n_faces);
    siren_mesh_free(&m);
}

int main(void) {
    test_table();
    shape(SPHERE, "sphere r=0.6", 4 * M_PI * 0.36, 4.0 / 3 * M_PI * 0.216, 0.01);
    shape(TORUS, "torus R=0.5 r=0.2", 4 * M_PI * M_PI * 0.5 * 0.2,
          2 * M_PI * M_PI * 0.5 * 0.04, 0.01);
    shape(BOX, "box 1 x 0.8 x 0.6", 2 * (0.8 + 0.6 + 0.48), 0.48, 0.02);

    /* random values in [-1, 1): every ambiguous face and cube case many
     * times over; open only where the surface meets the grid's sides */
    for (int res = 15; res <= 16; res++) {
        field f = {RANDOM, 0, 0, 0, 0, 0, 0};
        siren_mesh m;
        size_t nb, nm, no, side_edges = 0;
        run(&f, res, &m);
        siren_mesh_check_watertight(&m, &nb, &nm, &no);
        for (size_t i = 0; i < m.n_faces; i++)
            for (int e = 0; e < 3; e++) {
                const float *a = m.v + 3 * m.f[3 * i + e],
                            *b = m.v + 3 * m.f[3 * i + (e + 1) % 3];
                for (int j = 0; j < 3; j++)
                    if (fabsf(a[j]) == 1 && a[j] == b[j]) { side_edges++; break; }
            }
        CHECK(nb == side_edges && nm == 0 && no == 0 && duplicates(&m) == 0,
              "random field at res %d (%zu triangles): %zu boundary edges, all on "
              "the grid's sides (%zu); %zu non-manifold, %zu misoriented", res,
              m.n_faces, nb, side_edges, nm, no);
        siren_mesh_free(&m);
        f.kind = RANDOM_CLOSED;
        run(&f, res, &m);
        double A, V;
        siren_mesh_area_volume(&m, &A, &V);
        CHECK(closed(&m, &nb, &nm, &no) && duplicates(&m) == 0 && V > 0,
              "random field inside an above-level layer, res %d: closed (%zu, %zu, "
              "%zu), %zu triangles, volume %.3f > 0", res, nb, nm, no, m.n_faces, V);
        siren_mesh_free(&m);
    }
    {
        /* grid values exactly at the level count as above; vertices there
         * are nudged inside their edges, so none coincide */
        field f = {STEPPED, 0, 0, 0, 0, 0, 0};
        siren_mesh m;
        size_t nb, nm, no;
        run(&f, 33, &m);
        CHECK(closed(&m, &nb, &nm, &no) && duplicates(&m) == 0 &&
                  off_edges(&m, 33) == 0 && m.n_faces > 0,
              "values exactly at the level: closed (%zu, %zu, %zu), no duplicate "
              "vertices, each strictly inside its edge (%zu triangles)", nb, nm, no,
              m.n_faces);
        siren_mesh_free(&m);
    }
    against_reference(TORUS_OFF, 48, "torus");
    against_reference(RANDOM, 13, "random field");
    against_reference(STEPPED, 17, "stepped sphere");
    test_errors();
    TEST_DONE();
}

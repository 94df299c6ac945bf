/* Marching cubes (mcubes.h): a case table generated from a face rule, and
 * a slice-by-slice sweep that keeps two slices of values and the vertex
 * ids of their edges. The field evaluation (a network) dominates the time;
 * the sweep is plain single-threaded C. Normals, and mapping the mesh back
 * to the caller's frame, are left to the caller. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geom/mcubes.h"
#include "util/error.h"

/* ------------------------------------------------------------- the table */

/* Corner c of a cube sits at (c & 1, c >> 1 & 1, c >> 2 & 1). Edges 0-3
 * run along x, 4-7 along y, 8-11 along z, each from the corner with the
 * axis bit 0 to the one with it 1. */
static const int edge_corner[12][2] = {
    {0, 1}, {2, 3}, {4, 5}, {6, 7}, {0, 2}, {1, 3},
    {4, 6}, {5, 7}, {0, 4}, {1, 5}, {2, 6}, {3, 7}};
/* Faces: four corners in cyclic order, and the outward normal. */
static const int face_corner[6][4] = {
    {0, 2, 6, 4}, {1, 3, 7, 5}, {0, 1, 5, 4}, {2, 3, 7, 6}, {0, 1, 3, 2}, {4, 5, 7, 6}};
static const int face_normal[6][3] = {
    {-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}};

/* For each of the 256 cases (bit c set: corner c below the level), the
 * triangles as edge triples. */
static int8_t tri_table[256][SIREN_MC_MAX_TRI][3];
static uint8_t n_tri[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static int edge_of(int a, int b) {
    for (int e = 0; e < 12; e++)
        if ((edge_corner[e][0] == a && edge_corner[e][1] == b) ||
            (edge_corner[e][0] == b && edge_corner[e][1] == a))
            return e;
    SIREN_ASSERT(0);
    return -1;
}

/* Do edges a and b lie on a common face of the cube? */
static int share_face(int a, int b) {
    for (int f = 0; f < 6; f++) {
        int n = 0;
        for (int k = 0; k < 4; k++) {
            int c = face_corner[f][k];
            n += (c == edge_corner[a][0]) + (c == edge_corner[a][1]) +
                 (c == edge_corner[b][0]) + (c == edge_corner[b][1]);
        }
        if (n == 4) return 1;
    }
    return 0;
}

static void corner_pos(int c, double p[3]) {
    p[0] = c & 1;
    p[1] = c >> 1 & 1;
    p[2] = c >> 2 & 1;
}

static void edge_mid(int e, double p[3]) {
    double a[3], b[3];
    corner_pos(edge_corner[e][0], a);
    corner_pos(edge_corner[e][1], b);
    for (int j = 0; j < 3; j++) p[j] = 0.5 * (a[j] + b[j]);
}

/* One case. The segments on each face are oriented with the below-level
 * side on their left seen from outside the cube, so that they chain head
 * to tail into loops around the below-level part of the cube's surface
 * (every crossing edge lies on two faces: one segment arrives there, one
 * leaves). Each loop, reversed, is a polygon whose right-hand normal points
 * to the above-level side, fanned into triangles. */
static void make_case(int cfg) {
    int next[12];
    for (int e = 0; e < 12; e++) next[e] = -1;
    for (int f = 0; f < 6; f++) {
        const int *c = face_corner[f];
        int in[4], cross[4], nc = 0;
        for (int k = 0; k < 4; k++) in[k] = cfg >> c[k] & 1;
        for (int k = 0; k < 4; k++)
            if (in[k] != in[(k + 1) % 4]) cross[nc++] = k;
        if (nc == 0) continue;
        /* segments as (edge, edge, a below-level corner on its side) */
        int seg[2][3], ns = 0;
        if (nc == 2) {
            int k0 = cross[0], k1 = cross[1], inc = -1;
            for (int k = 0; k < 4; k++)
                if (in[k]) inc = c[k];
            seg[ns][0] = edge_of(c[k0], c[(k0 + 1) % 4]);
            seg[ns][1] = edge_of(c[k1], c[(k1 + 1) % 4]);
            seg[ns++][2] = inc;
        } else {
            /* ambiguous: cut off each below-level corner on its own */
            for (int k = 0; k < 4; k++) {
                if (!in[k]) continue;
                seg[ns][0] = edge_of(c[(k + 3) % 4], c[k]);
                seg[ns][1] = edge_of(c[k], c[(k + 1) % 4]);
                seg[ns++][2] = c[k];
            }
        }
        for (int s = 0; s < ns; s++) {
            double P[3], Q[3], C[3], u[3], v[3];
            edge_mid(seg[s][0], P);
            edge_mid(seg[s][1], Q);
            corner_pos(seg[s][2], C);
            for (int j = 0; j < 3; j++) {
                u[j] = Q[j] - P[j];
                v[j] = C[j] - P[j];
            }
            const int *n = face_normal[f];
            double d = (u[1] * v[2] - u[2] * v[1]) * n[0] +
                       (u[2] * v[0] - u[0] * v[2]) * n[1] +
                       (u[0] * v[1] - u[1] * v[0]) * n[2];
            int a = seg[s][0], b = seg[s][1];
            if (d < 0) { int t = a; a = b; b = t; }
            SIREN_ASSERT(next[a] == -1);
            next[a] = b;
        }
    }
    int seen[12] = {0}, nt = 0;
    for (int e0 = 0; e0 < 12; e0++) {
        if (next[e0] < 0 || seen[e0]) continue;
        int loop[12], m = 0;
        for (int e = e0; !seen[e]; e = next[e]) {
            SIREN_ASSERT(next[e] >= 0 && m < 12);
            seen[e] = 1;
            loop[m++] = e;
        }
        SIREN_ASSERT(m >= 3);
        int poly[12];
        for (int i = 0; i < m; i++) poly[i] = loop[(m - i) % m];
        /* A fan's diagonal must not join two vertices on one cube face (an
         * ambiguous face that the loop crosses twice): it would lie in the
         * face, where the cube on the other side may draw it too, and an
         * edge of four triangles is not a surface. For the face rule above
         * every loop (at most 7 vertices) has an apex whose diagonals all
         * cross the cube's inside; the assertion holds the table to it. */
        int apex = -1;
        for (int a = 0; a < m && apex < 0; a++) {
            int good = 1;
            for (int i = 2; i + 1 < m && good; i++)
                good = !share_face(poly[a], poly[(a + i) % m]);
            if (good) apex = a;
        }
        SIREN_ASSERT(apex >= 0);
        for (int i = 1; i + 1 < m; i++) {
            SIREN_ASSERT(nt < SIREN_MC_MAX_TRI);
            tri_table[cfg][nt][0] = (int8_t)poly[apex];
            tri_table[cfg][nt][1] = (int8_t)poly[(apex + i) % m];
            tri_table[cfg][nt][2] = (int8_t)poly[(apex + i + 1) % m];
            nt++;
        }
    }
    n_tri[cfg] = (uint8_t)nt;
}

static void make_table(void) {
    for (int cfg = 0; cfg < 256; cfg++) make_case(cfg);
}

int siren_mc_case(int cfg, int8_t tri[SIREN_MC_MAX_TRI][3]) {
    SIREN_ASSERT(cfg >= 0 && cfg < 256);
    pthread_once(&table_once, make_table);
    memcpy(tri, tri_table[cfg], n_tri[cfg] * sizeof tri_table[cfg][0]);
    return n_tri[cfg];
}

void siren_mc_edge_corners(int edge, int *c0, int *c1) {
    SIREN_ASSERT(edge >= 0 && edge < 12);
    *c0 = edge_corner[edge][0];
    *c1 = edge_corner[edge][1];
}

/* ------------------------------------------------------------- the sweep */

typedef struct {
    siren_mesh *m;
    size_t cap_v, cap_f;
} builder;

static siren_status add_vertex(builder *b, float x, float y, float z, uint32_t *id) {
    siren_mesh *m = b->m;
    if (m->n_vertices == b->cap_v) {
        /* UINT32_MAX itself stays free, so readers may use it as "none" */
        if (m->n_vertices >= UINT32_MAX)
            return siren_fail(SIREN_ELIMIT, "marching cubes: the mesh has more than "
                              "2^32 - 1 vertices; use a lower resolution");
        size_t cap = b->cap_v ? 2 * b->cap_v : 4096;
        if (cap > UINT32_MAX) cap = UINT32_MAX;
        float *v = realloc(m->v, cap * 3 * sizeof *v);
        if (!v) return siren_fail(SIREN_ENOMEM, "marching cubes: out of memory "
                                  "for %zu vertices", cap);
        m->v = v;
        b->cap_v = cap;
    }
    float *p = m->v + 3 * m->n_vertices;
    p[0] = x; p[1] = y; p[2] = z;
    *id = (uint32_t)m->n_vertices++;
    return SIREN_OK;
}

/* Room for n more triangles. */
static siren_status reserve_faces(builder *b, size_t n) {
    siren_mesh *m = b->m;
    if (m->n_faces + n <= b->cap_f) return SIREN_OK;
    size_t cap = b->cap_f ? 2 * b->cap_f : 8192;
    uint32_t *f = realloc(m->f, cap * 3 * sizeof *f);
    if (!f) return siren_fail(SIREN_ENOMEM, "marching cubes: out of memory for "
                              "%zu triangles", cap);
    m->f = f;
    b->cap_f = cap;
    return SIREN_OK;
}

/* The crossing on the edge from xa to xb (xa < xb, values va and vb on
 * opposite sides of the level), strictly inside the edge: the grid check
 * in siren_marching_cubes makes sure there is a float in between. A NaN t
 * (infinite values) lands on the first end and is moved inside too. */
static inline float crossing(float xa, float xb, float va, float vb, float level) {
    float t = (level - va) / (vb - va);
    float x = xa + t * (xb - xa);
    if (!(x > xa)) x = nextafterf(xa, xb);
    if (!(x < xb)) x = nextafterf(xb, xa);
    return x;
}

/* Two slices of the grid, below (index 0, at z0) and above (1, at z1):
 * values, below-level flags, and the vertex ids of their x and y edges;
 * ids of the z edges between them. Slot j R + i is the grid point (i, j),
 * or the edge starting there. */
typedef struct {
    size_t R;
    const float *cx, *cy, *v0, *v1;
    const uint8_t *s0, *s1;
    uint32_t *x0, *x1, *y0, *y1, *ze;
    float level;
} slab;

/* Most of the grid is far from the surface: eight flags compared at once
 * skip eight edges or cubes that cannot cross. */
static inline uint64_t load8(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static siren_status x_edge(builder *b, const slab *sl, size_t i, size_t j, float z) {
    const size_t q = j * sl->R + i;
    if (sl->s1[q] == sl->s1[q + 1]) return SIREN_OK;
    return add_vertex(b, crossing(sl->cx[i], sl->cx[i + 1], sl->v1[q], sl->v1[q + 1],
                                  sl->level),
                      sl->cy[j], z, &sl->x1[q]);
}

static siren_status y_edge(builder *b, const slab *sl, size_t i, size_t j, float z) {
    const size_t q = j * sl->R + i, R = sl->R;
    if (sl->s1[q] == sl->s1[q + R]) return SIREN_OK;
    return add_vertex(b, sl->cx[i],
                      crossing(sl->cy[j], sl->cy[j + 1], sl->v1[q], sl->v1[q + R],
                               sl->level),
                      z, &sl->y1[q]);
}

static siren_status z_edge(builder *b, const slab *sl, size_t i, size_t j, float z0,
                           float z1) {
    const size_t q = j * sl->R + i;
    if (sl->s0[q] == sl->s1[q]) return SIREN_OK;
    return add_vertex(b, sl->cx[i], sl->cy[j],
                      crossing(z0, z1, sl->v0[q], sl->v1[q], sl->level), &sl->ze[q]);
}

/* The x edges of slice 1: from (i, j) to (i + 1, j). */
static siren_status x_edges(builder *b, const slab *sl, float z) {
    const size_t R = sl->R;
    siren_status st;
    for (size_t j = 0; j < R; j++) {
        const uint8_t *s = sl->s1 + j * R;
        size_t i = 0;
        for (; i + 8 < R; i += 8)
            if (load8(s + i) != load8(s + i + 1))
                for (size_t u = i; u < i + 8; u++)
                    if ((st = x_edge(b, sl, u, j, z))) return st;
        for (; i + 1 < R; i++)
            if ((st = x_edge(b, sl, i, j, z))) return st;
    }
    return SIREN_OK;
}

/* The y edges of slice 1: from (i, j) to (i, j + 1). */
static siren_status y_edges(builder *b, const slab *sl, float z) {
    const size_t R = sl->R;
    siren_status st;
    for (size_t j = 0; j + 1 < R; j++) {
        const uint8_t *s = sl->s1 + j * R;
        size_t i = 0;
        for (; i + 8 <= R; i += 8)
            if (load8(s + i) != load8(s + i + R))
                for (size_t u = i; u < i + 8; u++)
                    if ((st = y_edge(b, sl, u, j, z))) return st;
        for (; i < R; i++)
            if ((st = y_edge(b, sl, i, j, z))) return st;
    }
    return SIREN_OK;
}

/* The z edges from (i, j) in slice 0 to (i, j) in slice 1. */
static siren_status z_edges(builder *b, const slab *sl, float z0, float z1) {
    const size_t R = sl->R;
    siren_status st;
    for (size_t j = 0; j < R; j++) {
        const uint8_t *s0 = sl->s0 + j * R, *s1 = sl->s1 + j * R;
        size_t i = 0;
        for (; i + 8 <= R; i += 8)
            if (load8(s0 + i) != load8(s1 + i))
                for (size_t u = i; u < i + 8; u++)
                    if ((st = z_edge(b, sl, u, j, z0, z1))) return st;
        for (; i < R; i++)
            if ((st = z_edge(b, sl, i, j, z0, z1))) return st;
    }
    return SIREN_OK;
}

/* The cube with corner 0 at slot q: its triangles, from the vertex ids of
 * its 12 edges (every slot it reads holds its edge's vertex whenever the
 * case uses that edge). */
static siren_status cube(builder *b, const slab *sl, size_t q) {
    const size_t R = sl->R;
    const uint8_t *s0 = sl->s0, *s1 = sl->s1;
    const int cfg = s0[q] | s0[q + 1] << 1 | s0[q + R] << 2 | s0[q + R + 1] << 3 |
                    s1[q] << 4 | s1[q + 1] << 5 | s1[q + R] << 6 | s1[q + R + 1] << 7;
    const int nt = n_tri[cfg];
    if (nt == 0) return SIREN_OK;
    siren_status st = reserve_faces(b, (size_t)nt);
    if (st) return st;
    const uint32_t *x0 = sl->x0, *x1 = sl->x1, *y0 = sl->y0, *y1 = sl->y1, *ze = sl->ze;
    const uint32_t id[12] = {x0[q], x0[q + R], x1[q], x1[q + R],
                             y0[q], y0[q + 1], y1[q], y1[q + 1],
                             ze[q], ze[q + 1], ze[q + R], ze[q + R + 1]};
    uint32_t *f = b->m->f + 3 * b->m->n_faces;
    for (int t = 0; t < nt; t++) {
        f[3 * t] = id[tri_table[cfg][t][0]];
        f[3 * t + 1] = id[tri_table[cfg][t][1]];
        f[3 * t + 2] = id[tri_table[cfg][t][2]];
    }
    b->m->n_faces += (size_t)nt;
    return SIREN_OK;
}

/* The cubes between the two slices. Eight cubes in a row are skipped at
 * once when their 36 corners all lie on one side. */
static siren_status cubes(builder *b, const slab *sl) {
    const size_t R = sl->R;
    const uint64_t ones = 0x0101010101010101u;
    siren_status st;
    for (size_t j = 0; j + 1 < R; j++) {
        const uint8_t *a0 = sl->s0 + j * R, *a1 = a0 + R, *b0 = sl->s1 + j * R,
                      *b1 = b0 + R;
        size_t i = 0;
        for (; i + 8 < R; i += 8) {
            /* corners i .. i + 8 of the four rows */
            const uint64_t p = load8(a0 + i), r = load8(a1 + i), s = load8(b0 + i),
                           t = load8(b1 + i), p1 = load8(a0 + i + 1),
                           r1 = load8(a1 + i + 1), s1 = load8(b0 + i + 1),
                           t1 = load8(b1 + i + 1);
            const uint64_t any = p | r | s | t | p1 | r1 | s1 | t1,
                           all = p & r & s & t & p1 & r1 & s1 & t1;
            if (any == 0 || all == ones) continue;
            for (size_t u = i; u < i + 8; u++)
                if ((st = cube(b, sl, j * R + u))) return st;
        }
        for (; i + 1 < R; i++)
            if ((st = cube(b, sl, j * R + i))) return st;
    }
    return SIREN_OK;
}

siren_status siren_marching_cubes(int res, const float lo[3], const float hi[3],
                                  float level, siren_field_fn field,
                                  void *field_user, siren_mc_progress_fn progress,
                                  void *progress_user, siren_mesh *out) {
    memset(out, 0, sizeof *out);
    if (res < 2 || res > 4096)
        return siren_fail(SIREN_EINVAL, "marching cubes: grid resolution %d outside "
                          "[2, 4096]", res);
    if (isnan(level))
        return siren_fail(SIREN_EINVAL, "marching cubes: the level is NaN");
    pthread_once(&table_once, make_table);
    const size_t R = (size_t)res, plane = R * R;
    /* per slice: values, below-level flags, ids of the vertices on its x
     * and y edges (slot [j R + i] for the edge from grid point (i, j));
     * between the two slices: ids on the z edges */
    float *xyz = malloc(plane * 3 * sizeof *xyz);
    float *val[2] = {malloc(plane * sizeof(float)), malloc(plane * sizeof(float))};
    uint8_t *below[2] = {malloc(plane), malloc(plane)};
    uint32_t *xe[2] = {malloc(plane * sizeof(uint32_t)), malloc(plane * sizeof(uint32_t))};
    uint32_t *ye[2] = {malloc(plane * sizeof(uint32_t)), malloc(plane * sizeof(uint32_t))};
    uint32_t *ze = malloc(plane * sizeof(uint32_t));
    float *coord[3] = {malloc(R * sizeof(float)), malloc(R * sizeof(float)),
                       malloc(R * sizeof(float))};
    builder b = {out, 0, 0};
    siren_status st = SIREN_OK;
    if (!xyz || !val[0] || !val[1] || !below[0] || !below[1] || !xe[0] || !xe[1] ||
        !ye[0] || !ye[1] || !ze || !coord[0] || !coord[1] || !coord[2]) {
        st = siren_fail(SIREN_ENOMEM, "marching cubes: out of memory for a %dx%d "
                        "slice", res, res);
        goto done;
    }
    for (int a = 0; a < 3; a++) {
        if (!isfinite(lo[a]) || !isfinite(hi[a])) {
            st = siren_fail(SIREN_EINVAL, "marching cubes: grid bounds are not finite");
            goto done;
        }
        for (size_t i = 0; i < R; i++)
            coord[a][i] = (float)(lo[a] + ((double)hi[a] - lo[a]) * (double)i /
                                              (double)(R - 1));
        /* every cell must hold a float strictly inside, for the vertices */
        for (size_t i = 0; i + 1 < R; i++)
            if (!(nextafterf(coord[a][i], INFINITY) < coord[a][i + 1])) {
                st = siren_fail(SIREN_EINVAL, "marching cubes: grid bounds %.9g to %.9g "
                                "must increase, with a float strictly inside "
                                "each of the %d cells", lo[a], hi[a], res - 1);
                goto done;
            }
    }
    /* Id slots are read only where an edge crosses the level, and then
     * hold that edge's vertex; filling them once keeps every read defined. */
    memset(xe[0], 0xff, plane * sizeof(uint32_t));
    memset(xe[1], 0xff, plane * sizeof(uint32_t));
    memset(ye[0], 0xff, plane * sizeof(uint32_t));
    memset(ye[1], 0xff, plane * sizeof(uint32_t));
    memset(ze, 0xff, plane * sizeof(uint32_t));
    for (size_t j = 0; j < R; j++)
        for (size_t i = 0; i < R; i++) {
            xyz[3 * (j * R + i)] = coord[0][i];
            xyz[3 * (j * R + i) + 1] = coord[1][j];
        }
    const float *cx = coord[0], *cy = coord[1];
    for (size_t k = 0; k < R; k++) {
        /* slice k into val[1], below[1], xe[1], ye[1]; [0] hold slice k - 1 */
        const float z1 = coord[2][k];
        for (size_t q = 0; q < plane; q++) xyz[3 * q + 2] = z1;
        if ((st = field(field_user, xyz, plane, val[1]))) goto done;
        const float *v1 = val[1];
        uint8_t *s1 = below[1];
        int nan = 0;
        for (size_t q = 0; q < plane; q++) {
            nan |= isnan(v1[q]);
            s1[q] = v1[q] < level;
        }
        if (nan)
            for (size_t q = 0; q < plane; q++)
                if (isnan(v1[q])) {
                    st = siren_fail(SIREN_EINVAL, "marching cubes: the field is NaN "
                                    "at (%g, %g, %g)", xyz[3 * q], xyz[3 * q + 1],
                                    xyz[3 * q + 2]);
                    goto done;
                }
        /* vertices on the slice's x and y edges, then on the z edges from
         * slice k - 1 and the cubes between the two: each grid edge's
         * vertex is made once, here */
        const slab sl = {R, cx, cy, val[0], v1, below[0], s1, xe[0], xe[1],
                         ye[0], ye[1], ze, level};
        if ((st = x_edges(&b, &sl, z1)) || (st = y_edges(&b, &sl, z1))) goto done;
        if (k > 0 && ((st = z_edges(&b, &sl, coord[2][k - 1], z1)) ||
                      (st = cubes(&b, &sl))))
            goto done;
        /* slice k becomes the previous one */
        float *tv = val[0]; val[0] = val[1]; val[1] = tv;
        uint8_t *ts = below[0]; below[0] = below[1]; below[1] = ts;
        uint32_t *tx = xe[0]; xe[0] = xe[1]; xe[1] = tx;
        uint32_t *ty = ye[0]; ye[0] = ye[1]; ye[1] = ty;
        if (progress && progress(progress_user, (int)k + 1, res)) {
            st = siren_fail(SIREN_ECANCELED, "marching cubes: canceled at slice %zu "
                            "of %d", k + 1, res);
            goto done;
        }
    }
    /* trim the growth slack */
    if (out->n_vertices) {
        float *v = realloc(out->v, out->n_vertices * 3 * sizeof *v);
        if (v) out->v = v;
    }
    if (out->n_faces) {
        uint32_t *f = realloc(out->f, out->n_faces * 3 * sizeof *f);
        if (f) out->f = f;
    }
done:
    if (st || !out->n_faces) {
        /* nothing, or an empty mesh without stray buffers */
        free(out->v);
        free(out->f);
        memset(out, 0, sizeof *out);
    }
    free(xyz); free(val[0]); free(val[1]); free(below[0]); free(below[1]);
    free(xe[0]); free(xe[1]); free(ye[0]); free(ye[1]); free(ze);
    free(coord[0]); free(coord[1]); free(coord[2]);
    return st;
}

/* ------------------------------------------------------------ the checks */

void siren_mesh_area_volume(const siren_mesh *m, double *area, double *volume) {
    double A = 0, V = 0;
    for (size_t i = 0; i < m->n_faces; i++) {
        const float *a = m->v + 3 * (size_t)m->f[3 * i],
                    *b = m->v + 3 * (size_t)m->f[3 * i + 1],
                    *c = m->v + 3 * (size_t)m->f[3 * i + 2];
        double u[3], w[3], x[3];
        for (int j = 0; j < 3; j++) {
            u[j] = (double)b[j] - a[j];
            w[j] = (double)c[j] - a[j];
        }
        x[0] = u[1] * w[2] - u[2] * w[1];
        x[1] = u[2] * w[0] - u[0] * w[2];
        x[2] = u[0] * w[1] - u[1] * w[0];
        A += 0.5 * sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
        /* a . (b x c) / 6: the tetrahedron to the origin */
        V += ((double)a[0] * ((double)b[1] * c[2] - (double)b[2] * c[1]) -
              (double)a[1] * ((double)b[0] * c[2] - (double)b[2] * c[0]) +
              (double)a[2] * ((double)b[0] * c[1] - (double)b[1] * c[0])) / 6.0;
    }
    *area = A;
    *volume = V;
}

typedef struct {
    uint64_t key; /* smaller index << 32 | larger index */
    int from_larger;
} edge_rec;

static int cmp_edge(const void *a, const void *b) {
    const edge_rec *x = a, *y = b;
    if (x->key != y->key) return (x->key > y->key) - (x->key < y->key);
    return x->from_larger - y->from_larger;
}

siren_status siren_mesh_check_watertight(const siren_mesh *m, size_t *boundary,
                                         size_t *nonmanifold,
                                         size_t *misoriented) {
    *boundary = *nonmanifold = *misoriented = 0;
    size_t ne;
    if (!siren_mul_size(m->n_faces, 3, &ne))
        return siren_fail(SIREN_ENOMEM, "out of memory for the edges of %zu faces",
                          m->n_faces);
    if (ne == 0) return SIREN_OK;
    edge_rec *r = malloc(ne * sizeof *r);
    if (!r) return siren_fail(SIREN_ENOMEM, "out of memory for %zu edges", ne);
    for (size_t i = 0; i < m->n_faces; i++)
        for (int e = 0; e < 3; e++) {
            uint64_t a = m->f[3 * i + e], b = m->f[3 * i + (e + 1) % 3];
            r[3 * i + e].key = a < b ? (a << 32 | b) : (b << 32 | a);
            r[3 * i + e].from_larger = a > b;
        }
    qsort(r, ne, sizeof *r, cmp_edge);
    for (size_t i = 0; i < ne;) {
        size_t j = i;
        while (j < ne && r[j].key == r[i].key) j++;
        size_t n = j - i;
        if (n == 1) (*boundary)++;
        else if (n > 2) (*nonmanifold)++;
        else if (r[i].from_larger == r[i + 1].from_larger) (*misoriented)++;
        i = j;
    }
    free(r);
    return SIREN_OK;
}

/* Point-cloud geometry (src/geom) against independent brute force and
 * analytic shapes: k-d tree nearest/kNN against exhaustive search, surface
 * samples against face areas, PCA normals on a sphere and a torus against
 * their analytic normals, the normalisation against the numpy formula
 * written out literally, the metrics against a brute-force Chamfer, and
 * inside/outside labels of an icosphere, a cube and a torus against their
 * analytic insides (including rays that pass exactly through edges and
 * vertices). Timings are printed as "# ..." lines, not checked. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geom/geom.h"
#include "siren.h"
#include "testhelp.h"
#include "util/rng.h"

#define PI 3.14159265358979323846

/* ------------------------------------------------------------ test meshes */

typedef struct {
    size_t nv, nf, cap_v, cap_f;
    float *v;
    uint32_t *f;
} mbuf;

static uint32_t mb_vertex(mbuf *m, double x, double y, double z) {
    if (m->nv == m->cap_v) {
        m->cap_v = m->cap_v ? 2 * m->cap_v : 64;
        m->v = realloc(m->v, m->cap_v * 3 * sizeof(float));
    }
    m->v[3 * m->nv] = (float)x;
    m->v[3 * m->nv + 1] = (float)y;
    m->v[3 * m->nv + 2] = (float)z;
    return (uint32_t)m->nv++;
}

static void mb_face(mbuf *m, uint32_t a, uint32_t b, uint32_t c) {
    if (m->nf == m->cap_f) {
        m->cap_f = m->cap_f ? 2 * m->cap_f : 64;
        m->f = realloc(m->f, m->cap_f * 3 * sizeof(uint32_t));
    }
    m->f[3 * m->nf] = a;
    m->f[3 * m->nf + 1] = b;
    m->f[3 * m->nf + 2] = c;
    m->nf++;
}

static siren_mesh mb_mesh(mbuf *m) {
    siren_mesh s = {m->nv, m->nf, m->v, NULL, m->f};
    return s;
}

static void mb_free(mbuf *m) {
    free(m->v);
    free(m->f);
    memset(m, 0, sizeof *m);
}

/* Wind face f so (b-a)x(c-a) agrees with `out` (an outward direction). */
static void orient_face(mbuf *m, size_t f, const double out[3]) {
    uint32_t *t = m->f + 3 * f;
    const float *a = m->v + 3 * t[0], *b = m->v + 3 * t[1], *c = m->v + 3 * t[2];
    double e1[3], e2[3];
    for (int d = 0; d < 3; d++) e1[d] = b[d] - a[d], e2[d] = c[d] - a[d];
    const double n[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2],
                         e1[0] * e2[1] - e1[1] * e2[0]};
    if (n[0] * out[0] + n[1] * out[1] + n[2] * out[2] < 0) {
        uint32_t s = t[1];
        t[1] = t[2];
        t[2] = s;
    }
}

/* Unit icosphere: an icosahedron subdivided `level` times, midpoints pushed
 * to the sphere and shared between the two faces of an edge (a small hash
 * table on the edge's vertex pair). */
static void icosphere(mbuf *m, int level) {
    const double t = (1 + sqrt(5.0)) / 2;
    static const int F[20][3] = {{0, 11, 5}, {0, 5, 1},  {0, 1, 7},   {0, 7, 10}, {0, 10, 11},
                                 {1, 5, 9},  {5, 11, 4}, {11, 10, 2}, {10, 7, 6}, {7, 1, 8},
                                 {3, 9, 4},  {3, 4, 2},  {3, 2, 6},   {3, 6, 8},  {3, 8, 9},
                                 {4, 9, 5},  {2, 4, 11}, {6, 2, 10},  {8, 6, 7},  {9, 8, 1}};
    const double V[12][3] = {{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0},
                             {0, -1, t}, {0, 1, t}, {0, -1, -t}, {0, 1, -t},
                             {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}};
    memset(m, 0, sizeof *m);
    for (int i = 0; i < 12; i++) {
        const double r = sqrt(V[i][0] * V[i][0] + V[i][1] * V[i][1] + V[i][2] * V[i][2]);
        mb_vertex(m, V[i][0] / r, V[i][1] / r, V[i][2] / r);
    }
    for (int i = 0; i < 20; i++) mb_face(m, F[i][0], F[i][1], F[i][2]);
    for (int l = 0; l < level; l++) {
        const size_t nf = m->nf, hcap = 8 * nf;
        uint64_t *hk = malloc(hcap * sizeof *hk);
        uint32_t *hv = malloc(hcap * sizeof *hv);
        uint32_t *old = malloc(nf * 3 * sizeof *old);
        memcpy(old, m->f, nf * 3 * sizeof *old);
        for (size_t i = 0; i < hcap; i++) hk[i] = UINT64_MAX;
        m->nf = 0;
        for (size_t f = 0; f < nf; f++) {
            uint32_t mid[3];
            for (int e = 0; e < 3; e++) {
                uint32_t a = old[3 * f + e], b = old[3 * f + (e + 1) % 3];
                uint64_t key = a < b ? ((uint64_t)a << 32 | b) : ((uint64_t)b << 32 | a);
                size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) % hcap;
                while (hk[h] != UINT64_MAX && hk[h] != key) h = (h + 1) % hcap;
                if (hk[h] == UINT64_MAX) {
                    double p[3];
                    for (int d = 0; d < 3; d++)
                        p[d] = (double)m->v[3 * a + d] + (double)m->v[3 * b + d];
                    const double r = sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
                    hk[h] = key;
                    hv[h] = mb_vertex(m, p[0] / r, p[1] / r, p[2] / r);
                }
                mid[e] = hv[h];
            }
            const uint32_t *o = old + 3 * f;
            mb_face(m, o[0], mid[0], mid[2]);
            mb_face(m, o[1], mid[1], mid[0]);
            mb_face(m, o[2], mid[2], mid[1]);
            mb_face(m, mid[0], mid[1], mid[2]);
        }
        free(hk);
        free(hv);
        free(old);
    }
    for (size_t f = 0; f < m->nf; f++) {
        double c[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++)
            for (int d = 0; d < 3; d++) c[d] += m->v[3 * m->f[3 * f + k] + d];
        orient_face(m, f, c);
    }
}

/* The cube [-1, 1]^3, each face an s x s grid of squares cut in two. Each
 * face has its own vertices; shared edges get bit-identical coordinates. */
static void cube(mbuf *m, int s) {
    memset(m, 0, sizeof *m);
    for (int ax = 0; ax < 3; ax++)
        for (int sg = -1; sg <= 1; sg += 2) {
            const size_t base = m->nv;
            const int u = (ax + 1) % 3, v = (ax + 2) % 3;
            for (int j = 0; j <= s; j++)
                for (int i = 0; i <= s; i++) {
                    double p[3];
                    p[ax] = sg;
                    p[u] = -1.0 + 2.0 * i / s;
                    p[v] = -1.0 + 2.0 * j / s;
                    mb_vertex(m, p[0], p[1], p[2]);
                }
            double out[3] = {0, 0, 0};
            out[ax] = sg;
            for (int j = 0; j < s; j++)
                for (int i = 0; i < s; i++) {
                    const uint32_t a = (uint32_t)(base + (size_t)j * (s + 1) + i), b = a + 1,
                                   c = a + (uint32_t)(s + 1), d = c + 1;
                    mb_face(m, a, b, d);
                    orient_face(m, m->nf - 1, out);
                    mb_face(m, a, d, c);
                    orient_face(m, m->nf - 1, out);
                }
        }
}

/* A torus around z: major radius R, tube radius r, nu x nv quads. */
static void torus(mbuf *m, double R, double r, int nu, int nv) {
    memset(m, 0, sizeof *m);
    for (int i = 0; i < nu; i++)
        for (int j = 0; j < nv; j++) {
            const double u = 2 * PI * i / nu, v = 2 * PI * j / nv;
            mb_vertex(m, (R + r * cos(v)) * cos(u), (R + r * cos(v)) * sin(u), r * sin(v));
        }
    for (int i = 0; i < nu; i++)
        for (int j = 0; j < nv; j++) {
            const uint32_t a = (uint32_t)(i * nv + j), b = (uint32_t)(((i + 1) % nu) * nv + j),
                           c = (uint32_t)(((i + 1) % nu) * nv + (j + 1) % nv),
                           d = (uint32_t)(i * nv + (j + 1) % nv);
            const double u = 2 * PI * (i + 0.5) / nu, v = 2 * PI * (j + 0.5) / nv;
            const double out[3] = {cos(v) * cos(u), cos(v) * sin(u), sin(v)};
            mb_face(m, a, b, c);
            orient_face(m, m->nf - 1, out);
            mb_face(m, a, c, d);
            orient_face(m, m->nf - 1, out);
        }
}

/* Signed distance to the analytic torus (negative inside). */
static double torus_sdf(const float *p, double R, double r) {
    const double q = sqrt((double)p[0] * p[0] + (double)p[1] * p[1]) - R;
    return sqrt(q * q + (double)p[2] * p[2]) - r;
}

/* ----------------------------------------------------------- brute force */

static float bf_d2(const float *q, const float *p) {
    const float dx = q[0] - p[0], dy = q[1] - p[1], dz = q[2] - p[2];
    return dx * dx + dy * dy + dz * dz;
}

typedef struct {
    float d2;
    size_t id;
} cand;

static int cand_cmp(const void *pa, const void *pb) {
    const cand *a = pa, *b = pb;
    if (a->d2 != b->d2) return a->d2 < b->d2 ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static void random_cloud(siren_rng *r, float *p, size_t n, double lo, double hi) {
    for (size_t i = 0; i < 3 * n; i++) p[i] = (float)(lo + (hi - lo) * siren_rng_uniform(r));
}

/* Nearest and kNN of `nq` queries against brute force; returns mismatches. */
static int kd_vs_brute(const float *pts, size_t n, const float *qs, size_t nq, size_t k) {
    siren_kdtree *t;
    int bad = 0;
    if (siren_kdtree_build(pts, n, &t) != SIREN_OK) return 1000000;
    cand *all = malloc(n * sizeof *all);
    size_t *idx = malloc((k ? k : 1) * sizeof *idx);
    float *d2 = malloc((k ? k : 1) * sizeof *d2);
    for (size_t qi = 0; qi < nq; qi++) {
        const float *q = qs + 3 * qi;
        for (size_t i = 0; i < n; i++) all[i].d2 = bf_d2(q, pts + 3 * i), all[i].id = i;
        qsort(all, n, sizeof *all, cand_cmp);
        size_t ni;
        float nd;
        siren_kdtree_nearest(t, q, &ni, &nd);
        bad += ni != all[0].id || nd != all[0].d2;
        const size_t m = siren_kdtree_knn(t, q, k, idx, d2);
        bad += m != (k < n ? k : n);
        for (size_t j = 0; j < m && j < n; j++) bad += idx[j] != all[j].id || d2[j] != all[j].d2;
    }
    free(all);
    free(idx);
    free(d2);
    siren_kdtree_free(t);
    return bad;
}

static void test_kdtree(void) {
    siren_rng r;
    siren_rng_seed(&r, 1);
    static const size_t sizes[] = {1, 2, 7, 12, 13, 25, 100, 1000, 4000};
    static const size_t ks[] = {1, 3, 8, 16, 40};
    float *pts = malloc(4000 * 3 * sizeof(float)), *qs = malloc(300 * 3 * sizeof(float));
    int bad = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        const size_t n = sizes[si];
        random_cloud(&r, pts, n, -1, 1);
        random_cloud(&r, qs, 200, -1.5, 1.5);
        for (size_t i = 0; i < 50; i++) /* queries that are cloud points */
            memcpy(qs + 3 * (200 + i), pts + 3 * siren_rng_below(&r, n), 3 * sizeof(float));
        for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++)
            bad += kd_vs_brute(pts, n, qs, 250, ks[ki]);
        bad += kd_vs_brute(pts, n, qs, 250, n + 3); /* k > n */
    }
    CHECK(bad == 0, "kd-tree nearest and kNN equal brute force on random clouds, n = 1..4000, "
                    "k up to n+3 (%d mismatches)", bad);

    /* Heavy duplication and exact ties: 8 distinct points repeated, and an
     * integer lattice queried at lattice points and half-way between. */
    bad = 0;
    for (size_t i = 0; i < 800; i++) {
        const uint64_t c = siren_rng_below(&r, 8);
        pts[3 * i] = (float)(c & 1), pts[3 * i + 1] = (float)(c >> 1 & 1),
                pts[3 * i + 2] = (float)(c >> 2 & 1);
    }
    for (size_t i = 0; i < 100; i++)
        for (int d = 0; d < 3; d++) qs[3 * i + d] = (float)(0.5 * siren_rng_below(&r, 4) - 0.5);
    bad += kd_vs_brute(pts, 800, qs, 100, 1) + kd_vs_brute(pts, 800, qs, 100, 30);
    size_t n = 0;
    for (int x = 0; x < 10; x++)
        for (int y = 0; y < 10; y++)
            for (int z = 0; z < 10; z++) {
                pts[3 * n] = (float)x, pts[3 * n + 1] = (float)y, pts[3 * n + 2] = (float)z;
                n++;
            }
    bad += kd_vs_brute(pts, n, qs, 100, 7) + kd_vs_brute(pts, n, pts, 200, 7);
    for (size_t i = 0; i < 100; i++) pts[3 * i] = pts[3 * i + 1] = pts[3 * i + 2] = 0.25f;
    bad += kd_vs_brute(pts, 100, qs, 50, 10);
    CHECK(bad == 0, "kd-tree equals brute force with duplicates, lattices and all-equal "
                    "points, ties broken by index (%d mismatches)", bad);

    siren_kdtree *t = (siren_kdtree *)1;
    CHECK(siren_kdtree_build(pts, 0, &t) == SIREN_EINVAL && t == NULL,
          "kd-tree over no points is EINVAL");
    pts[4] = NAN;
    CHECK(siren_kdtree_build(pts, 10, &t) == SIREN_EINVAL && t == NULL,
          "kd-tree with a NaN coordinate is EINVAL");
    free(pts);
    free(qs);
}

static void time_kdtree(void) {
    const size_t n = 200000;
    siren_rng r;
    siren_rng_seed(&r, 2);
    float *pts = malloc(n * 3 * sizeof(float));
    random_cloud(&r, pts, n, -1, 1);
    siren_kdtree *t;
    double t0 = omp_get_wtime();
    siren_status st = siren_kdtree_build(pts, n, &t);
    double t1 = omp_get_wtime();
    CHECK(st == SIREN_OK, "kd-tree over %zu points", n);
    if (st != SIREN_OK) return;
    double sink = 0;
    for (size_t i = 0; i < n; i++) {
        float q[3] = {pts[3 * i] + 1e-3f, pts[3 * i + 1], pts[3 * i + 2]}, d2;
        size_t j;
        siren_kdtree_nearest(t, q, &j, &d2);
        sink += d2;
    }
    double t2 = omp_get_wtime();
    printf("# kd-tree: build %zu random points %.1f ms, %zu nearest queries %.1f ms "
           "(1 thread, %g)\n",
           n, 1e3 * (t1 - t0), n, 1e3 * (t2 - t1), sink > 0 ? 1.0 : 0.0);
    siren_kdtree_free(t);
    free(pts);
}

/* ------------------------------------------------------------- sampling */

static void test_sampling(void) {
    mbuf mb;
    icosphere(&mb, 2);
    const size_t nreal = mb.nf;
    /* Degenerate faces: a repeated vertex and three collinear vertices. */
    const uint32_t m0 = mb_vertex(&mb, 2, 0, 0), m1 = mb_vertex(&mb, 3, 0, 0),
                   m2 = mb_vertex(&mb, 4, 0, 0);
    mb_face(&mb, 0, 0, 1);
    mb_face(&mb, m0, m1, m2);
    siren_mesh m = mb_mesh(&mb);
    const size_t N = 100000;
    float *p = malloc(N * 3 * sizeof(float)), *nrm = malloc(N * 3 * sizeof(float));
    float *p2 = malloc(N * 3 * sizeof(float));
    size_t *count = calloc(nreal, sizeof *count);
    double *area = malloc(nreal * sizeof *area), total = 0, *fn = malloc(nreal * 3 * sizeof *fn);
    CHECK(siren_mesh_sample_surface(&m, N, 7, p, nrm) == SIREN_OK, "sample %zu points", N);
    for (size_t f = 0; f < nreal; f++) {
        const float *a = mb.v + 3 * mb.f[3 * f], *b = mb.v + 3 * mb.f[3 * f + 1],
                    *c = mb.v + 3 * mb.f[3 * f + 2];
        double e1[3], e2[3];
        for (int d = 0; d < 3; d++) e1[d] = b[d] - a[d], e2[d] = c[d] - a[d];
        double *n = fn + 3 * f;
        n[0] = e1[1] * e2[2] - e1[2] * e2[1];
        n[1] = e1[2] * e2[0] - e1[0] * e2[2];
        n[2] = e1[0] * e2[1] - e1[1] * e2[0];
        const double len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        area[f] = len / 2;
        total += area[f];
        for (int d = 0; d < 3; d++) n[d] /= len;
    }
    /* Each sample's face: the one whose normal it carries; the point must
     * lie on that face (barycentric coordinates in [0, 1], on the plane). */
    size_t unmatched = 0, off_face = 0, not_unit = 0, inward = 0;
    for (size_t i = 0; i < N; i++) {
        const float *q = p + 3 * i, *n = nrm + 3 * i;
        size_t best = 0;
        double bd = -2;
        for (size_t f = 0; f < nreal; f++) {
            const double d = n[0] * fn[3 * f] + n[1] * fn[3 * f + 1] + n[2] * fn[3 * f + 2];
            if (d > bd) bd = d, best = f;
        }
        if (bd < 1 - 1e-6) {
            unmatched++;
            continue;
        }
        count[best]++;
        const float *a = mb.v + 3 * mb.f[3 * best], *b = mb.v + 3 * mb.f[3 * best + 1],
                    *c = mb.v + 3 * mb.f[3 * best + 2];
        /* Barycentric coordinates by areas against the face normal. */
        double w[3], s = 0;
        const float *tri[3][2] = {{b, c}, {c, a}, {a, b}};
        for (int k = 0; k < 3; k++) {
            const float *u = tri[k][0], *v = tri[k][1];
            double e1[3], e2[3];
            for (int d = 0; d < 3; d++) e1[d] = u[d] - q[d], e2[d] = v[d] - q[d];
            w[k] = (e1[1] * e2[2] - e1[2] * e2[1]) * fn[3 * best] +
                   (e1[2] * e2[0] - e1[0] * e2[2]) * fn[3 * best + 1] +
                   (e1[0] * e2[1] - e1[1] * e2[0]) * fn[3 * best + 2];
            s += w[k];
        }
        const double plane = (q[0] - a[0]) * fn[3 * best] + (q[1] - a[1]) * fn[3 * best + 1] +
                             (q[2] - a[2]) * fn[3 * best + 2];
        for (int k = 0; k < 3; k++)
            if (w[k] / s < -1e-5 || w[k] / s > 1 + 1e-5) {
                off_face++;
                break;
            }
        if (fabs(plane) > 1e-6) off_face++;
        const double len = sqrt((double)n[0] * n[0] + (double)n[1] * n[1] + (double)n[2] * n[2]);
        not_unit += fabs(len - 1) > 1e-6;
        inward += (double)n[0] * q[0] + (double)n[1] * q[1] + (double)n[2] * q[2] <= 0;
    }
    CHECK(unmatched == 0, "every sample carries a real face's normal, none a degenerate "
                          "face's (%zu unmatched)", unmatched);
    CHECK(off_face == 0, "every sample lies on its face (%zu off)", off_face);
    CHECK(not_unit == 0 && inward == 0, "sample normals are unit and outward (%zu, %zu)",
          not_unit, inward);
    /* Counts per face against N * area / total: each within 5 sigma, and
     * the chi-square of all faces near its mean (dof = faces - 1). */
    double chi2 = 0, worst = 0;
    for (size_t f = 0; f < nreal; f++) {
        const double e = N * area[f] / total, z = fabs((double)count[f] - e) / sqrt(e);
        chi2 += ((double)count[f] - e) * ((double)count[f] - e) / e;
        if (z > worst) worst = z;
    }
    const double dof = (double)nreal - 1;
    CHECK(worst < 5 && fabs(chi2 - dof) < 6 * sqrt(2 * dof),
          "samples per face are proportional to area (worst %.2f sigma, chi2 %.1f for %g dof)",
          worst, chi2, dof);

    CHECK(siren_mesh_sample_surface(&m, N, 7, p2, NULL) == SIREN_OK &&
              memcmp(p, p2, N * 3 * sizeof(float)) == 0,
          "the same seed gives the same samples, with or without normals");
    siren_mesh_sample_surface(&m, N, 8, p2, NULL);
    CHECK(memcmp(p, p2, N * 3 * sizeof(float)) != 0, "another seed gives other samples");

    siren_mesh flat = m;
    flat.f = mb.f + 3 * nreal; /* only the two degenerate faces */
    flat.n_faces = 2;
    CHECK(siren_mesh_sample_surface(&flat, 10, 1, p, nrm) == SIREN_EINVAL,
          "a mesh with no area is EINVAL: %s", siren_last_error());
    flat.n_faces = 0;
    CHECK(siren_mesh_sample_surface(&flat, 10, 1, p, nrm) == SIREN_EINVAL,
          "a mesh with no faces is EINVAL");
    mb.f[5] = (uint32_t)mb.nv;
    CHECK(siren_mesh_sample_surface(&m, 10, 1, p, nrm) == SIREN_EINVAL,
          "a face index out of range is EINVAL: %s", siren_last_error());
    free(p);
    free(p2);
    free(nrm);
    free(count);
    free(area);
    free(fn);
    mb_free(&mb);
}

/* ------------------------------------------------------------- normals */

/* Mean angle (degrees) between estimated normals and true ones up to
 * sign, and the fraction whose orientation agrees. */
static void normal_stats(const float *est, const double *truth, size_t n, double *mean_deg,
                         double *agree) {
    double sa = 0;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        double d = 0;
        for (int k = 0; k < 3; k++) d += est[3 * i + k] * truth[3 * i + k];
        sa += acos(fmin(1, fabs(d))) * 180 / PI;
        ok += d > 0;
    }
    *mean_deg = sa / (double)n;
    *agree = (double)ok / (double)n;
}

static void test_normals(void) {
    const size_t n = 20000;
    float *p = malloc(2 * n * 3 * sizeof(float)), *est = malloc(2 * n * 3 * sizeof(float)),
          *est1 = malloc(2 * n * 3 * sizeof(float));
    double *truth = malloc(2 * n * 3 * sizeof(double)), mean_deg, agree;
    siren_rng r;
    siren_rng_seed(&r, 3);
    /* Sphere: uniform directions (normalised Gaussians), radius 0.8,
     * centred off the origin. */
    for (size_t i = 0; i < n; i++) {
        double g[3], len = 0;
        for (int d = 0; d < 3; d++) {
            g[d] = sqrt(-2 * log(1 - siren_rng_uniform(&r))) *
                   cos(2 * PI * siren_rng_uniform(&r));
            len += g[d] * g[d];
        }
        len = sqrt(len);
        for (int d = 0; d < 3; d++) {
            truth[3 * i + d] = g[d] / len;
            p[3 * i + d] = (float)(0.8 * g[d] / len + (d == 0 ? 0.3 : -0.2));
        }
    }
    siren_status st = siren_points_estimate_normals(p, n, 12, 2, est);
    normal_stats(est, truth, n, &mean_deg, &agree);
    CHECK(st == SIREN_OK && mean_deg < 1.0 && agree > 0.99,
          "sphere normals: mean error %.3f deg, %.2f%% outward", mean_deg, 100 * agree);
    siren_points_estimate_normals(p, n, 12, 1, est1);
    CHECK(memcmp(est, est1, n * 3 * sizeof(float)) == 0,
          "normals do not depend on the thread count");

    /* Torus R = 1, r = 0.35, uniform by area (rejection on the area
     * element's factor R + r cos v). */
    const double R = 1, rr = 0.35;
    for (size_t i = 0; i < n;) {
        const double u = 2 * PI * siren_rng_uniform(&r), v = 2 * PI * siren_rng_uniform(&r);
        if (siren_rng_uniform(&r) * (R + rr) > R + rr * cos(v)) continue;
        p[3 * i] = (float)((R + rr * cos(v)) * cos(u));
        p[3 * i + 1] = (float)((R + rr * cos(v)) * sin(u));
        p[3 * i + 2] = (float)(rr * sin(v));
        truth[3 * i] = cos(v) * cos(u);
        truth[3 * i + 1] = cos(v) * sin(u);
        truth[3 * i + 2] = sin(v);
        i++;
    }
    st = siren_points_estimate_normals(p, n, 12, 2, est);
    normal_stats(est, truth, n, &mean_deg, &agree);
    CHECK(st == SIREN_OK && mean_deg < 2.0 && agree > 0.99,
          "torus normals: mean error %.3f deg, %.2f%% outward", mean_deg, 100 * agree);

    /* Two separate spheres: two components, each started from its own
     * largest-x point. */
    for (size_t i = 0; i < 2 * n; i++) {
        const size_t j = i % n;
        const double c = i < n ? -3 : 3;
        for (int d = 0; d < 3; d++) truth[3 * i + d] = truth[3 * j + d];
        double g[3], len = 0;
        for (int d = 0; d < 3; d++) {
            g[d] = siren_rng_uniform(&r) - 0.5;
            len += g[d] * g[d];
        }
        len = sqrt(len);
        for (int d = 0; d < 3; d++) {
            truth[3 * i + d] = g[d] / len;
            p[3 * i + d] = (float)(g[d] / len + (d == 0 ? c : 0));
        }
    }
    st = siren_points_estimate_normals(p, 2 * n, 10, 2, est);
    normal_stats(est, truth, 2 * n, &mean_deg, &agree);
    CHECK(st == SIREN_OK && agree > 0.99,
          "two separate spheres: both oriented outward (%.2f%%)", 100 * agree);

    CHECK(siren_points_estimate_normals(p, n, 2, 1, est) == SIREN_EINVAL, "k = 2 is EINVAL");
    CHECK(siren_points_estimate_normals(p, 2, 8, 1, est) == SIREN_EINVAL,
          "two points are EINVAL");
    CHECK(siren_points_estimate_normals(p, 3, 50, 1, est) == SIREN_OK,
          "three points with k > n work (k clamped)");
    free(p);
    free(est);
    free(est1);
    free(truth);
}

/* -------------------------------------------------------- normalisation */

static void test_normalize(void) {
    const size_t n = 1000;
    float *p = malloc(n * 3 * sizeof(float)), *q = malloc(n * 3 * sizeof(float));
    double *c = malloc(n * 3 * sizeof(double));
    siren_rng r;
    siren_rng_seed(&r, 4);
    for (size_t i = 0; i < n; i++) {
        p[3 * i] = (float)(3 + 4 * siren_rng_uniform(&r));
        p[3 * i + 1] = (float)(-1 + 1.5 * siren_rng_uniform(&r));
        p[3 * i + 2] = (float)(10 + 0.2 * siren_rng_uniform(&r));
    }
    /* The official code, step by step, in doubles. */
    double mean[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) mean[d] += p[3 * i + d];
    for (int d = 0; d < 3; d++) mean[d] /= n;
    double cmax = -INFINITY, cmin = INFINITY;
    for (size_t i = 0; i < 3 * n; i++) {
        c[i] = p[i] - mean[i % 3];
        cmax = fmax(cmax, c[i]);
        cmin = fmin(cmin, c[i]);
    }
    for (size_t i = 0; i < 3 * n; i++) {
        c[i] = (c[i] - cmin) / (cmax - cmin);
        c[i] -= 0.5;
        c[i] *= 2;
    }
    float center[3], scale;
    CHECK(siren_shape_normalize(p, n, center, &scale) == SIREN_OK, "normalise a cloud");
    memcpy(q, p, n * 3 * sizeof(float));
    siren_shape_apply(q, n, center, scale);
    double err = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < 3 * n; i++) {
        err = fmax(err, fabs(q[i] - c[i]));
        lo = fmin(lo, q[i]);
        hi = fmax(hi, q[i]);
    }
    CHECK(err < 2e-6, "normalisation matches the numpy formula (max error %.2g)", err);
    CHECK(fabs(lo + 1) < 2e-6 && fabs(hi - 1) < 2e-6,
          "normalised cloud spans [-1, 1] over all axes (%.7f, %.7f)", lo, hi);
    siren_shape_unapply(q, n, center, scale);
    /* Relative to the cloud's largest coordinate: a float rounding of the
     * normalised value is scaled back up by 1 / scale. */
    double big = 0;
    err = 0;
    for (size_t i = 0; i < 3 * n; i++) {
        err = fmax(err, fabs(q[i] - p[i]));
        big = fmax(big, fabs(p[i]));
    }
    CHECK(err / big < 1e-6, "unapply inverts apply (error %.2g of %.2g)", err, big);
    for (size_t i = 0; i < 3 * n; i++) p[i] = 2.5f;
    CHECK(siren_shape_normalize(p, n, center, &scale) == SIREN_EINVAL,
          "normalising equal points is EINVAL: %s", siren_last_error());
    CHECK(siren_shape_normalize(p, 0, center, &scale) == SIREN_EINVAL,
          "normalising no points is EINVAL");
    free(p);
    free(q);
    free(c);
}

/* -------------------------------------------------------------- metrics */

static void bf_one_way(const float *a, const float *an, size_t na, const float *b,
                       const float *bn, size_t nb, double tau, double *mean, double *frac,
                       double *nc) {
    double s = 0, sc = 0;
    size_t in = 0;
    for (size_t i = 0; i < na; i++) {
        float best = INFINITY;
        size_t bj = 0;
        for (size_t j = 0; j < nb; j++) {
            const float d = bf_d2(a + 3 * i, b + 3 * j);
            if (d < best) best = d, bj = j;
        }
        s += sqrt((double)best);
        in += sqrt((double)best) < tau;
        double dd = 0, aa = 0, bb = 0;
        for (int k = 0; k < 3; k++) {
            dd += (double)an[3 * i + k] * bn[3 * bj + k];
            aa += (double)an[3 * i + k] * an[3 * i + k];
            bb += (double)bn[3 * bj + k] * bn[3 * bj + k];
        }
        sc += fabs(dd) / sqrt(aa * bb);
    }
    *mean = s / na;
    *frac = (double)in / na;
    *nc = sc / na;
}

static void test_metrics(void) {
    siren_rng r;
    siren_rng_seed(&r, 5);
    const size_t na = 300, nb = 200;
    float *a = malloc(na * 3 * sizeof(float)), *an = malloc(na * 3 * sizeof(float));
    float *b = malloc(nb * 3 * sizeof(float)), *bn = malloc(nb * 3 * sizeof(float));
    random_cloud(&r, a, na, -1, 1);
    random_cloud(&r, an, na, -1, 1);
    random_cloud(&r, b, nb, -1, 1);
    random_cloud(&r, bn, nb, -1, 1);
    siren_shape_metrics m, m1;
    CHECK(siren_shape_compare(a, an, na, b, bn, nb, 0.1, 2, &m) == SIREN_OK, "compare two clouds");
    double cab, cba, p, rc, ncab, ncba;
    bf_one_way(a, an, na, b, bn, nb, 0.1, &cab, &p, &ncab);
    bf_one_way(b, bn, nb, a, an, na, 0.1, &cba, &rc, &ncba);
    const double f = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
    CHECK(fabs(m.chamfer_ab - cab) < 1e-12 && fabs(m.chamfer_ba - cba) < 1e-12 &&
              fabs(m.chamfer - 0.5 * (cab + cba)) < 1e-12,
          "Chamfer equals brute force (%.9f vs %.9f)", m.chamfer, 0.5 * (cab + cba));
    CHECK(fabs(m.normal_consistency - 0.5 * (ncab + ncba)) < 1e-12 && m.precision == p &&
              m.recall == rc && fabs(m.fscore - f) < 1e-12 && m.tau == 0.1,
          "normal consistency, precision, recall, F-score equal brute force (F = %.4f)",
          m.fscore);
    siren_shape_compare(a, an, na, b, bn, nb, 0.1, 1, &m1);
    CHECK(memcmp(&m, &m1, sizeof m) == 0, "metrics do not depend on the thread count");

    CHECK(siren_shape_compare(a, an, na, a, an, na, 0.01, 2, &m) == SIREN_OK &&
              m.chamfer == 0 && m.normal_consistency == 1 && m.fscore == 1,
          "a cloud against itself: Chamfer 0, NC 1, F 1");
    CHECK(siren_shape_compare(a, NULL, na, a, an, na, 0.01, 2, &m) == SIREN_OK &&
              isnan(m.normal_consistency),
          "normal consistency is NAN without normals");

    /* A lattice of spacing 0.1 against itself shifted by 0.01 along x:
     * every nearest neighbour is the point's own copy, at exactly 0.01. */
    const size_t nl = 1000;
    float *l = malloc(nl * 3 * sizeof(float)), *ls = malloc(nl * 3 * sizeof(float));
    for (size_t i = 0; i < nl; i++) {
        l[3 * i] = 0.1f * (float)(i % 10);
        l[3 * i + 1] = 0.1f * (float)(i / 10 % 10);
        l[3 * i + 2] = 0.1f * (float)(i / 100);
        ls[3 * i] = l[3 * i] + 0.01f;
        ls[3 * i + 1] = l[3 * i + 1];
        ls[3 * i + 2] = l[3 * i + 2];
    }
    siren_shape_compare(l, NULL, nl, ls, NULL, nl, 0.02, 2, &m);
    siren_shape_compare(l, NULL, nl, ls, NULL, nl, 0.005, 2, &m1);
    CHECK(fabs(m.chamfer - 0.01) < 1e-6 && m.fscore == 1 && m1.fscore == 0,
          "lattice shifted by 0.01: Chamfer %.7f, F(0.02) = %g, F(0.005) = %g", m.chamfer,
          m.fscore, m1.fscore);
    /* Random cloud shifted by delta: each point's copy is at delta, so the
     * Chamfer is at most delta. */
    for (size_t i = 0; i < na; i++) {
        memcpy(b + 3 * (i % nb), a + 3 * i, 3 * sizeof(float));
    }
    float *as = malloc(na * 3 * sizeof(float));
    for (size_t i = 0; i < 3 * na; i++) as[i] = a[i] + (i % 3 == 0 ? 0.05f : 0);
    siren_shape_compare(a, NULL, na, as, NULL, na, 0.1, 2, &m);
    CHECK(m.chamfer > 0.01 && m.chamfer <= 0.05 + 1e-6 && m.chamfer_ab <= 0.05 + 1e-6 &&
              m.chamfer_ba <= 0.05 + 1e-6,
          "random cloud shifted by 0.05: 0 < Chamfer %.4f <= 0.05", m.chamfer);
    CHECK(siren_shape_compare(a, NULL, 0, as, NULL, na, 0.1, 2, &m) == SIREN_EINVAL &&
              siren_shape_compare(a, NULL, na, as, NULL, na, 0, 2, &m) == SIREN_EINVAL &&
              siren_shape_compare(a, NULL, na, as, NULL, na, NAN, 2, &m) == SIREN_EINVAL,
          "empty sets and a non-positive tau are EINVAL");
    free(a);
    free(an);
    free(b);
    free(bn);
    free(l);
    free(ls);
    free(as);
}

/* --------------------------------------------------------------- inside */

/* Agreement of siren_inside_test with `truth_sdf` (< 0 inside) on n random
 * points in [-s, s]^3, skipping those within 1e-3 of the surface. */
typedef double (*sdf_fn)(const float *p);
static double sphere_sdf(const float *p) {
    return sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]) - 1;
}
static double cube_sdf(const float *p) {
    return fmax(fabs(p[0]), fmax(fabs(p[1]), fabs(p[2]))) - 1;
}
static double torus_sdf_1(const float *p) { return torus_sdf(p, 1, 0.4); }

static double agreement(const siren_inside *t, sdf_fn sdf, size_t n, double s, uint64_t seed,
                        size_t *used) {
    siren_rng r;
    siren_rng_seed(&r, seed);
    float *p = malloc(n * 3 * sizeof(float));
    uint8_t *in = malloc(n);
    random_cloud(&r, p, n, -s, s);
    siren_inside_test(t, p, n, 2, in);
    size_t ok = 0, u = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = sdf(p + 3 * i);
        if (fabs(d) < 1e-3) continue;
        u++;
        ok += in[i] == (d < 0);
    }
    free(p);
    free(in);
    *used = u;
    return (double)ok / (double)u;
}

static void test_inside(void) {
    mbuf mb;
    siren_mesh m;
    siren_inside *t;
    size_t used;
    double ag;

    icosphere(&mb, 5);
    m = mb_mesh(&mb);
    CHECK(siren_inside_create(&m, &t) == SIREN_OK, "inside index of an icosphere (%zu faces)",
          m.n_faces);
    ag = agreement(t, sphere_sdf, 50000, 1.3, 11, &used);
    CHECK(ag > 0.999, "icosphere: inside agrees with |p| < 1 on %.4f%% of %zu points",
          100 * ag, used);
    {
        /* Rays exactly through vertices: the origin (every axis ray meets a
         * vertex of the subdivided icosahedron) and (0, vy, vz) etc. for
         * each vertex v, whose axis ray passes through v. */
        const size_t nq = 1 + 3 * mb.nv;
        float *q = malloc(nq * 3 * sizeof(float));
        uint8_t *in = malloc(nq);
        memset(q, 0, 3 * sizeof(float));
        for (size_t i = 0; i < mb.nv; i++)
            for (int a = 0; a < 3; a++) {
                float *qq = q + 3 * (1 + 3 * i + a);
                memcpy(qq, mb.v + 3 * i, 3 * sizeof(float));
                qq[a] = 0;
            }
        siren_inside_test(t, q, nq, 2, in);
        size_t bad = 0, u = 0;
        for (size_t i = 0; i < nq; i++) {
            const double d = sphere_sdf(q + 3 * i);
            if (fabs(d) < 1e-3) continue;
            u++;
            bad += in[i] != (d < 0);
        }
        CHECK(in[0] == 1 && bad == 0, "icosphere: %zu points whose rays pass through "
                                      "vertices, all right (%zu wrong)", u, bad);
        free(q);
        free(in);
    }
    siren_inside_free(t);
    mb_free(&mb);

    /* A cube with 4x4 squares per face, queried on a lattice of step 0.25:
     * every axis ray passes exactly through edges or vertices. */
    cube(&mb, 4);
    m = mb_mesh(&mb);
    CHECK(siren_inside_create(&m, &t) == SIREN_OK, "inside index of a cube");
    {
        size_t nq = 0, bad = 0;
        float *q = malloc(17 * 17 * 17 * 3 * sizeof(float));
        uint8_t *in = malloc(17 * 17 * 17);
        for (int i = -8; i <= 8; i++)
            for (int j = -8; j <= 8; j++)
                for (int k = -8; k <= 8; k++) {
                    if (abs(i) == 4 || abs(j) == 4 || abs(k) == 4) continue; /* on faces */
                    q[3 * nq] = 0.25f * i, q[3 * nq + 1] = 0.25f * j, q[3 * nq + 2] = 0.25f * k;
                    nq++;
                }
        siren_inside_test(t, q, nq, 2, in);
        for (size_t i = 0; i < nq; i++) bad += in[i] != (cube_sdf(q + 3 * i) < 0);
        CHECK(bad == 0, "cube: %zu lattice points on edge and vertex rays, all right "
                        "(%zu wrong)", nq, bad);
        free(q);
        free(in);
    }
    ag = agreement(t, cube_sdf, 50000, 1.5, 12, &used);
    CHECK(ag > 0.999, "cube: inside agrees with max|p_i| < 1 on %.4f%% of %zu points",
          100 * ag, used);
    siren_inside_free(t);
    mb_free(&mb);

    torus(&mb, 1, 0.4, 160, 80);
    m = mb_mesh(&mb);
    CHECK(siren_inside_create(&m, &t) == SIREN_OK, "inside index of a torus");
    ag = agreement(t, torus_sdf_1, 50000, 1.5, 13, &used);
    CHECK(ag > 0.999, "torus: inside agrees with the analytic torus on %.4f%% of %zu points",
          100 * ag, used);
    {
        float q[5 * 3] = {NAN, 0, 0, 0, INFINITY, 0, 0, 0, 0, 1, 0, 0, 1e30f, 1e30f, 1e30f};
        uint8_t in[5] = {9, 9, 9, 9, 9};
        siren_inside_test(t, q, 5, 1, in);
        CHECK(in[0] == 0 && in[1] == 0 && in[2] == 0 && in[3] == 1 && in[4] == 0,
              "non-finite points are outside; the hole is outside, the tube inside");
    }
    siren_inside_free(t);
    mb_free(&mb);

    /* Throughput: 100k queries against a torus of 102,400 triangles. */
    torus(&mb, 1, 0.4, 320, 160);
    m = mb_mesh(&mb);
    double t0 = omp_get_wtime();
    siren_status st = siren_inside_create(&m, &t);
    double t1 = omp_get_wtime();
    CHECK(st == SIREN_OK, "inside index of a torus with %zu faces", m.n_faces);
    if (st == SIREN_OK) {
        const size_t n = 100000;
        siren_rng r;
        siren_rng_seed(&r, 14);
        float *p = malloc(n * 3 * sizeof(float));
        uint8_t *in = malloc(n);
        random_cloud(&r, p, n, -1.5, 1.5);
        double t2 = omp_get_wtime();
        siren_inside_test(t, p, n, 2, in);
        double t3 = omp_get_wtime();
        size_t ok = 0, u = 0;
        for (size_t i = 0; i < n; i++) {
            const double d = torus_sdf_1(p + 3 * i);
            if (fabs(d) < 1e-3) continue;
            u++;
            ok += in[i] == (d < 0);
        }
        printf("# inside: index of %zu faces built in %.1f ms; %zu queries in %.1f ms "
               "(2 threads)\n",
               m.n_faces, 1e3 * (t1 - t0), n, 1e3 * (t3 - t2));
        CHECK(ok == u, "big torus: %zu of %zu points right", ok, u);
        free(p);
        free(in);
        siren_inside_free(t);
    }
    mb_free(&mb);

    /* Errors. */
    cube(&mb, 1);
    m = mb_mesh(&mb);
    mb.f[7] = 1000;
    t = (siren_inside *)1;
    CHECK(siren_inside_create(&m, &t) == SIREN_EINVAL && t == NULL,
          "a face index out of range is EINVAL: %s", siren_last_error());
    m.n_faces = 0;
    CHECK(siren_inside_create(&m, &t) == SIREN_EINVAL, "a mesh without faces is EINVAL");
    mb_free(&mb);
}

int main(void) {
    test_kdtree();
    time_kdtree();
    test_sampling();
    test_normals();
    test_normalize();
    test_metrics();
    test_inside();
    TEST_DONE();
}

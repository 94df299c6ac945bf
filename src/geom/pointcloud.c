/* Point clouds from meshes and for training: area-uniform surface samples,
 * PCA normals with minimum-spanning-tree orientation (Hoppe et al. 1992),
 * and the official SIREN normalisation into [-1, 1]^3. Reading and writing
 * shape files is src/io's business; this file only computes. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "geom/geom.h"
#include "util/error.h"
#include "util/rng.h"

static int resolve_threads(int threads) {
    return threads > 0 ? threads : omp_get_num_procs();
}

/* --------------------------------------------------------------- sampling */

static void face_cross(const siren_mesh *m, size_t f, double cr[3]) {
    const float *a = m->v + 3 * (size_t)m->f[3 * f], *b = m->v + 3 * (size_t)m->f[3 * f + 1],
                *c = m->v + 3 * (size_t)m->f[3 * f + 2];
    const double e1[3] = {(double)b[0] - a[0], (double)b[1] - a[1], (double)b[2] - a[2]};
    const double e2[3] = {(double)c[0] - a[0], (double)c[1] - a[1], (double)c[2] - a[2]};
    cr[0] = e1[1] * e2[2] - e1[2] * e2[1];
    cr[1] = e1[2] * e2[0] - e1[0] * e2[2];
    cr[2] = e1[0] * e2[1] - e1[1] * e2[0];
}

siren_status siren_mesh_check_faces(const siren_mesh *m) {
    for (size_t f = 0; f < m->n_faces; f++)
        for (int k = 0; k < 3; k++) {
            const uint32_t vi = m->f[3 * f + k];
            if (vi >= m->n_vertices)
                return siren_fail(SIREN_EINVAL, "face %zu: vertex index %u out of range", f,
                                  (unsigned)vi);
            for (int d = 0; d < 3; d++)
                if (!isfinite(m->v[3 * (size_t)vi + d]))
                    return siren_fail(SIREN_EINVAL, "vertex %u is not finite", (unsigned)vi);
        }
    return SIREN_OK;
}

siren_status siren_mesh_sample_surface(const siren_mesh *m, size_t n, uint64_t seed,
                                       float *pts, float *normals) {
    const size_t nf = m->n_faces;
    double *cum, total = 0;
    size_t last = 0, bytes;
    siren_rng rng;
    if (nf == 0 || !m->f || !m->v)
        return siren_fail(SIREN_EINVAL, "cannot sample a surface: the mesh has no faces");
    siren_status st = siren_mesh_check_faces(m);
    if (st) return st;
    if (!siren_mul_size(nf, sizeof(double), &bytes) || !(cum = malloc(bytes)))
        return siren_fail(SIREN_ENOMEM, "out of memory for %zu face areas", nf);
    for (size_t f = 0; f < nf; f++) {
        double cr[3];
        face_cross(m, f, cr);
        const double area = 0.5 * sqrt(cr[0] * cr[0] + cr[1] * cr[1] + cr[2] * cr[2]);
        total += area;
        cum[f] = total;
        if (area > 0) last = f;
    }
    if (!(total > 0) || !isfinite(total)) {
        free(cum);
        return siren_fail(SIREN_EINVAL, "cannot sample a surface: the mesh has no area");
    }
    siren_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        /* The first face whose cumulative area exceeds u: a zero-area face
         * repeats its predecessor's total and can never be that face. */
        const double u = siren_rng_uniform(&rng) * total;
        size_t lo = 0, hi = nf;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cum[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        const size_t f = lo < nf ? lo : last; /* u rounded up to total */
        const double r1 = sqrt(siren_rng_uniform(&rng)), r2 = siren_rng_uniform(&rng);
        const double wa = 1 - r1, wb = r1 * (1 - r2), wc = r1 * r2;
        const float *a = m->v + 3 * (size_t)m->f[3 * f], *b = m->v + 3 * (size_t)m->f[3 * f + 1],
                    *c = m->v + 3 * (size_t)m->f[3 * f + 2];
        for (int d = 0; d < 3; d++) pts[3 * i + d] = (float)(wa * a[d] + wb * b[d] + wc * c[d]);
        if (normals) {
            double cr[3];
            face_cross(m, f, cr);
            const double len = sqrt(cr[0] * cr[0] + cr[1] * cr[1] + cr[2] * cr[2]);
            for (int d = 0; d < 3; d++) normals[3 * i + d] = (float)(cr[d] / len);
        }
    }
    free(cum);
    return SIREN_OK;
}

/* ----------------------------------------------------------- PCA normals */

/* Cyclic Jacobi on a symmetric 3x3 A (overwritten): on return A's diagonal
 * holds the eigenvalues and V's columns the eigenvectors. Each rotation
 * zeroes one off-diagonal pair with the smaller rotation angle, which
 * converges quadratically and stays accurate for repeated eigenvalues. */
static void jacobi3(double A[3][3], double V[3][3]) {
    static const int P[3] = {0, 0, 1}, Q[3] = {1, 2, 2};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) V[i][j] = i == j;
    for (int sweep = 0; sweep < 64; sweep++) {
        const double off = A[0][1] * A[0][1] + A[0][2] * A[0][2] + A[1][2] * A[1][2];
        const double diag = A[0][0] * A[0][0] + A[1][1] * A[1][1] + A[2][2] * A[2][2];
        if (off == 0 || off <= 1e-32 * diag) break;
        for (int r = 0; r < 3; r++) {
            const int p = P[r], q = Q[r];
            if (A[p][q] == 0) continue;
            const double theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
            double t;
            if (fabs(theta) > 1e150) t = 0.5 / theta; /* theta² would overflow */
            else t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
            const double c = 1 / sqrt(t * t + 1), s = t * c;
            for (int k = 0; k < 3; k++) {
                const double akp = A[k][p], akq = A[k][q];
                A[k][p] = c * akp - s * akq;
                A[k][q] = s * akp + c * akq;
            }
            for (int k = 0; k < 3; k++) {
                const double apk = A[p][k], aqk = A[q][k];
                A[p][k] = c * apk - s * aqk;
                A[q][k] = s * apk + c * aqk;
            }
            A[p][q] = A[q][p] = 0;
            for (int k = 0; k < 3; k++) {
                const double vkp = V[k][p], vkq = V[k][q];
                V[k][p] = c * vkp - s * vkq;
                V[k][q] = s * vkp + c * vkq;
            }
        }
    }
}

/* The unit eigenvector of the smallest eigenvalue of the covariance of the
 * points pts[idx[0..m)]. */
static void pca_normal(const float *pts, const size_t *idx, size_t m, float nrm[3]) {
    double mean[3] = {0, 0, 0}, A[3][3] = {{0}}, V[3][3];
    for (size_t i = 0; i < m; i++)
        for (int d = 0; d < 3; d++) mean[d] += pts[3 * idx[i] + d];
    for (int d = 0; d < 3; d++) mean[d] /= (double)m;
    for (size_t i = 0; i < m; i++) {
        double x[3];
        for (int d = 0; d < 3; d++) x[d] = pts[3 * idx[i] + d] - mean[d];
        for (int r = 0; r < 3; r++)
            for (int c = r; c < 3; c++) A[r][c] += x[r] * x[c];
    }
    A[1][0] = A[0][1];
    A[2][0] = A[0][2];
    A[2][1] = A[1][2];
    jacobi3(A, V);
    int best = 0;
    for (int d = 1; d < 3; d++)
        if (A[d][d] < A[best][best]) best = d;
    const double len = sqrt(V[0][best] * V[0][best] + V[1][best] * V[1][best] +
                            V[2][best] * V[2][best]);
    for (int d = 0; d < 3; d++) nrm[d] = (float)(V[d][best] / len);
}

/* A binary min-heap of vertices keyed by (key[v], v), with positions so a
 * key can decrease: Prim's algorithm in O(E log V) time and O(V) memory. */
typedef struct {
    uint32_t *heap, *pos; /* pos[v] == UINT32_MAX: not in the heap */
    const float *key;
    size_t m;
} vheap;

static int vh_less(const vheap *h, uint32_t a, uint32_t b) {
    return h->key[a] < h->key[b] || (h->key[a] == h->key[b] && a < b);
}

static void vh_up(vheap *h, size_t i) {
    const uint32_t v = h->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!vh_less(h, v, h->heap[p])) break;
        h->heap[i] = h->heap[p];
        h->pos[h->heap[i]] = (uint32_t)i;
        i = p;
    }
    h->heap[i] = v;
    h->pos[v] = (uint32_t)i;
}

static void vh_down(vheap *h, size_t i) {
    const uint32_t v = h->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        uint32_t sv = v;
        if (l < h->m && vh_less(h, h->heap[l], sv)) s = l, sv = h->heap[l];
        if (r < h->m && vh_less(h, h->heap[r], sv)) s = r, sv = h->heap[r];
        if (s == i) break;
        h->heap[i] = sv;
        h->pos[sv] = (uint32_t)i;
        i = s;
    }
    h->heap[i] = v;
    h->pos[v] = (uint32_t)i;
}

static uint32_t vh_pop(vheap *h) {
    const uint32_t v = h->heap[0];
    h->pos[v] = UINT32_MAX;
    if (--h->m > 0) {
        h->heap[0] = h->heap[h->m];
        vh_down(h, 0);
    }
    return v;
}

typedef struct {
    float x;
    uint32_t id;
} x_id;

static int by_x_desc(const void *pa, const void *pb) {
    const x_id *a = pa, *b = pb;
    if (a->x != b->x) return a->x > b->x ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static double dot3f(const float *a, const float *b) {
    return (double)a[0] * b[0] + (double)a[1] * b[1] + (double)a[2] * b[2];
}

/* Orient normals over the symmetric k-NN graph: forward edges nbr (n, kk),
 * reverse edges in CSR (rstart, radj). */
static void orient_mst(const float *pts, size_t n, size_t kk, const uint32_t *nbr,
                       const size_t *rstart, const uint32_t *radj, float *normals,
                       x_id *order, uint32_t *parent, float *key, uint8_t *done,
                       vheap *h) {
    for (size_t i = 0; i < n; i++) {
        order[i].x = pts[3 * i];
        order[i].id = (uint32_t)i;
    }
    qsort(order, n, sizeof *order, by_x_desc);
    memset(done, 0, n);
    for (size_t i = 0; i < n; i++) h->pos[i] = UINT32_MAX;
    h->m = 0;
    for (size_t oi = 0; oi < n; oi++) {
        const uint32_t root = order[oi].id;
        if (done[root]) continue;
        /* The component's point of largest x is on its convex hull, where
         * outward has a positive x component. */
        float *nr = normals + 3 * (size_t)root;
        if (nr[0] < 0) nr[0] = -nr[0], nr[1] = -nr[1], nr[2] = -nr[2];
        key[root] = 0;
        parent[root] = root;
        h->heap[h->m++] = root;
        vh_up(h, h->m - 1);
        while (h->m) {
            const uint32_t v = vh_pop(h);
            float *nv = normals + 3 * (size_t)v;
            done[v] = 1;
            if (parent[v] != v && dot3f(nv, normals + 3 * (size_t)parent[v]) < 0)
                nv[0] = -nv[0], nv[1] = -nv[1], nv[2] = -nv[2];
            const size_t deg_f = kk, deg = kk + (rstart[v + 1] - rstart[v]);
            for (size_t e = 0; e < deg; e++) {
                const uint32_t u = e < deg_f ? nbr[(size_t)v * kk + e] : radj[rstart[v] + e - deg_f];
                if (done[u]) continue;
                /* |cos| ignores orientation, so flips made later never
                 * change a weight already in the heap. */
                const float w = (float)(1 - fabs(dot3f(nv, normals + 3 * (size_t)u)));
                if (h->pos[u] == UINT32_MAX) {
                    key[u] = w;
                    parent[u] = v;
                    h->heap[h->m++] = u;
                    vh_up(h, h->m - 1);
                } else if (w < key[u]) {
                    key[u] = w;
                    parent[u] = v;
                    vh_up(h, h->pos[u]);
                }
            }
        }
    }
}

siren_status siren_points_estimate_normals(const float *pts, size_t n, int k, int threads,
                                           float *normals) {
    siren_kdtree *tree = NULL;
    siren_status st;
    size_t kk, nk, bytes;
    const int T = resolve_threads(threads);
    uint32_t *nbr = NULL, *radj = NULL, *parent = NULL, *hp = NULL, *pos = NULL;
    size_t *rstart = NULL, *scratch_i = NULL;
    float *scratch_d = NULL, *key = NULL;
    uint8_t *done = NULL;
    x_id *order = NULL;
    if (n < 3 || k < 3)
        return siren_fail(SIREN_EINVAL,
                          "normal estimation needs at least 3 points and k >= 3 (got %zu, %d)",
                          n, k);
    if ((st = siren_kdtree_build(pts, n, &tree)) != SIREN_OK) return st;
    kk = (size_t)k < n ? (size_t)k : n;
    if (!siren_mul_size(n, kk, &nk) || !siren_mul_size(nk, sizeof(uint32_t), &bytes))
        goto nomem;
    nbr = malloc(bytes);
    radj = malloc(bytes);
    rstart = calloc(n + 1, sizeof *rstart);
    scratch_i = malloc((size_t)T * kk * sizeof *scratch_i);
    scratch_d = malloc((size_t)T * kk * sizeof *scratch_d);
    parent = malloc(n * sizeof *parent);
    hp = malloc(n * sizeof *hp);
    pos = malloc(n * sizeof *pos);
    key = malloc(n * sizeof *key);
    done = malloc(n);
    order = malloc(n * sizeof *order);
    if (!nbr || !radj || !rstart || !scratch_i || !scratch_d || !parent || !hp || !pos ||
        !key || !done || !order)
        goto nomem;

#pragma omp parallel num_threads(T)
    {
        size_t *ii = scratch_i + (size_t)omp_get_thread_num() * kk;
        float *dd = scratch_d + (size_t)omp_get_thread_num() * kk;
#pragma omp for schedule(dynamic, 256)
        for (size_t o = 0; o < n; o++) {
            const size_t i = siren_kdtree_order(tree, o); /* close queries together */
            siren_kdtree_knn(tree, pts + 3 * i, kk, ii, dd);
            for (size_t j = 0; j < kk; j++) nbr[i * kk + j] = (uint32_t)ii[j];
            pca_normal(pts, ii, kk, normals + 3 * i);
        }
    }

    /* Reverse edges, so the graph is symmetric: j in knn(i) links both. */
    for (size_t e = 0; e < nk; e++) rstart[nbr[e] + 1]++;
    for (size_t i = 0; i < n; i++) rstart[i + 1] += rstart[i];
    /* A counting sort by target; `parent` serves as the fill counters until
     * orient_mst needs it. */
    for (size_t i = 0; i < n; i++) parent[i] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < kk; j++) {
            const uint32_t u = nbr[i * kk + j];
            radj[rstart[u] + parent[u]++] = (uint32_t)i;
        }

    vheap h = {hp, pos, key, 0};
    orient_mst(pts, n, kk, nbr, rstart, radj, normals, order, parent, key, done, &h);
    st = SIREN_OK;
    goto out;
nomem:
    st = siren_fail(SIREN_ENOMEM, "out of memory estimating normals for %zu points", n);
out:
    siren_kdtree_free(tree);
    free(nbr);
    free(radj);
    free(rstart);
    free(scratch_i);
    free(scratch_d);
    free(parent);
    free(hp);
    free(pos);
    free(key);
    free(done);
    free(order);
    return st;
}

/* ---------------------------------------------------------- normalisation */

siren_status siren_shape_normalize(const float *pts, size_t n, float center[3],
                                   float *scale) {
    double mean[3] = {0, 0, 0}, cmin = INFINITY, cmax = -INFINITY;
    if (n == 0) return siren_fail(SIREN_EINVAL, "cannot normalise an empty point cloud");
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) {
            if (!isfinite(pts[3 * i + d]))
                return siren_fail(SIREN_EINVAL, "point %zu is not finite", i);
            mean[d] += pts[3 * i + d];
        }
    for (int d = 0; d < 3; d++) mean[d] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) {
            const double c = pts[3 * i + d] - mean[d];
            if (c < cmin) cmin = c;
            if (c > cmax) cmax = c;
        }
    if (!(cmax > cmin))
        return siren_fail(SIREN_EINVAL, "cannot normalise a point cloud whose points are all equal");
    for (int d = 0; d < 3; d++) center[d] = (float)(mean[d] + 0.5 * (cmin + cmax));
    *scale = (float)(2 / (cmax - cmin));
    return SIREN_OK;
}

void siren_shape_apply(float *pts, size_t n, const float center[3], float scale) {
    for (size_t i = 0; i < 3 * n; i++)
        pts[i] = (float)(((double)pts[i] - center[i % 3]) * scale);
}

void siren_shape_unapply(float *pts, size_t n, const float center[3], float scale) {
    for (size_t i = 0; i < 3 * n; i++)
        pts[i] = (float)((double)pts[i] / scale + center[i % 3]);
}

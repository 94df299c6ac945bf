/* A k-d tree over 3-D points for exact nearest and k-nearest queries. The
 * points are copied and reordered so each leaf's points are contiguous
 * (with their original index beside them); nodes live in one array in
 * preorder, sized exactly before the build, so there is no per-node malloc.
 * Queries never write to the tree, so threads may share one. */
#include <math.h>
#include <stdlib.h>

#include "geom/geom.h"
#include "util/error.h"

/* At most this many points per leaf: a leaf scan of 12 contiguous 16-byte
 * points costs about what one more level of pruning would save. */
#define KD_LEAF 12
#define KD_IS_LEAF 3u

typedef struct {
    float p[3];
    uint32_t id; /* index into the caller's array */
} kd_pt;

/* Inner node: children `a` (coordinate <= split on `dim`) and `b` (>=).
 * Leaf (dim == KD_IS_LEAF): the points [a, b) of the reordered array. */
typedef struct {
    float split;
    uint32_t dim, a, b;
} kd_node;

struct siren_kdtree {
    size_t n, n_nodes;
    kd_pt *pts;
    kd_node *nodes;
};

/* How many nodes the build makes for m points: the same recursion,
 * without the work. */
static size_t count_nodes(size_t m) {
    if (m <= KD_LEAF) return 1;
    return 1 + count_nodes(m / 2) + count_nodes(m - m / 2);
}

static float med3(float a, float b, float c) {
    if (a > b) {
        float t = a;
        a = b;
        b = t;
    }
    if (b > c) b = c;
    return a > b ? a : b;
}

/* Reorder a[lo..hi] (inclusive) so a[k] holds the value it would have if
 * sorted on coordinate d, with nothing larger before it and nothing smaller
 * after (Hoare's FIND with a median-of-three pivot: equal keys are swapped
 * across the pivot, so heavy duplication still splits evenly). */
static void select_kth(kd_pt *a, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t k, int d) {
    while (lo < hi) {
        const float x = med3(a[lo].p[d], a[lo + (hi - lo) / 2].p[d], a[hi].p[d]);
        ptrdiff_t i = lo, j = hi;
        do {
            while (a[i].p[d] < x) i++;
            while (x < a[j].p[d]) j--;
            if (i <= j) {
                kd_pt t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < k) lo = i;
        if (k < i) hi = j;
    }
}

/* Build the subtree over pts[lo, hi) at nodes[*next], in preorder. */
static uint32_t build_rec(siren_kdtree *t, size_t lo, size_t hi, size_t *next) {
    const uint32_t me = (uint32_t)(*next)++;
    kd_node *nd;
    SIREN_ASSERT(me < t->n_nodes);
    if (hi - lo <= KD_LEAF) {
        nd = &t->nodes[me];
        nd->dim = KD_IS_LEAF;
        nd->split = 0;
        nd->a = (uint32_t)lo;
        nd->b = (uint32_t)hi;
        return me;
    }
    float mn[3], mx[3];
    for (int d = 0; d < 3; d++) mn[d] = mx[d] = t->pts[lo].p[d];
    for (size_t i = lo + 1; i < hi; i++)
        for (int d = 0; d < 3; d++) {
            const float v = t->pts[i].p[d];
            if (v < mn[d]) mn[d] = v;
            if (v > mx[d]) mx[d] = v;
        }
    int dim = 0;
    for (int d = 1; d < 3; d++)
        if (mx[d] - mn[d] > mx[dim] - mn[dim]) dim = d;
    const size_t mid = lo + (hi - lo) / 2;
    select_kth(t->pts, (ptrdiff_t)lo, (ptrdiff_t)hi - 1, (ptrdiff_t)mid, dim);
    const float split = t->pts[mid].p[dim]; /* before the right half is reordered */
    const uint32_t left = build_rec(t, lo, mid, next);
    const uint32_t right = build_rec(t, mid, hi, next);
    nd = &t->nodes[me];
    nd->dim = (uint32_t)dim;
    nd->split = split;
    nd->a = left;
    nd->b = right;
    return me;
}

siren_status siren_kdtree_build(const float *pts, size_t n, siren_kdtree **out) {
    siren_kdtree *t = NULL;
    size_t bytes, next = 0;
    *out = NULL;
    if (n == 0) return siren_fail(SIREN_EINVAL, "k-d tree: no points");
    if (n >= UINT32_MAX)
        return siren_fail(SIREN_ELIMIT, "k-d tree: %zu points is too many", n);
    for (size_t i = 0; i < 3 * n; i++)
        if (!isfinite(pts[i]))
            return siren_fail(SIREN_EINVAL, "k-d tree: point %zu is not finite", i / 3);
    t = calloc(1, sizeof *t);
    if (!t) goto nomem;
    t->n = n;
    t->n_nodes = count_nodes(n);
    if (!siren_mul_size(n, sizeof(kd_pt), &bytes) || !(t->pts = malloc(bytes))) goto nomem;
    if (!siren_mul_size(t->n_nodes, sizeof(kd_node), &bytes) || !(t->nodes = malloc(bytes)))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        t->pts[i].p[0] = pts[3 * i];
        t->pts[i].p[1] = pts[3 * i + 1];
        t->pts[i].p[2] = pts[3 * i + 2];
        t->pts[i].id = (uint32_t)i;
    }
    build_rec(t, 0, n, &next);
    SIREN_ASSERT(next == t->n_nodes);
    *out = t;
    return SIREN_OK;
nomem:
    siren_kdtree_free(t);
    return siren_fail(SIREN_ENOMEM, "k-d tree: out of memory for %zu points", n);
}

void siren_kdtree_free(siren_kdtree *t) {
    if (!t) return;
    free(t->pts);
    free(t->nodes);
    free(t);
}

size_t siren_kdtree_size(const siren_kdtree *t) { return t->n; }

size_t siren_kdtree_order(const siren_kdtree *t, size_t i) { return t->pts[i].id; }

/* Squared distances in float, always in this order, so a brute-force loop
 * written the same way agrees bit for bit. The cell bound `off` uses the
 * same expression on per-axis offsets that are never larger than a point's
 * (rounding is monotone), so pruning on `bound <= best` is exact. */
static inline float d2_of(const float q[3], const float p[3]) {
    const float dx = q[0] - p[0], dy = q[1] - p[1], dz = q[2] - p[2];
    return dx * dx + dy * dy + dz * dz;
}

static inline float bound_of(const float off[3]) {
    return off[0] * off[0] + off[1] * off[1] + off[2] * off[2];
}

/* (d2, id) ordered lexicographically: ties go to the smaller index. */
static inline int key_less(float da, uint32_t ia, float db, uint32_t ib) {
    return da < db || (da == db && ia < ib);
}

typedef struct {
    float d2;
    uint32_t id;
} nn_best;

static void nn_rec(const siren_kdtree *t, uint32_t ni, const float q[3], float off[3],
                   nn_best *best) {
    const kd_node *nd = &t->nodes[ni];
    if (nd->dim == KD_IS_LEAF) {
        for (uint32_t i = nd->a; i < nd->b; i++) {
            const float d2 = d2_of(q, t->pts[i].p);
            if (key_less(d2, t->pts[i].id, best->d2, best->id)) {
                best->d2 = d2;
                best->id = t->pts[i].id;
            }
        }
        return;
    }
    const uint32_t d = nd->dim;
    const float diff = q[d] - nd->split;
    const uint32_t near = diff <= 0 ? nd->a : nd->b, far = diff <= 0 ? nd->b : nd->a;
    nn_rec(t, near, q, off, best);
    const float old = off[d];
    off[d] = diff;
    if (bound_of(off) <= best->d2) nn_rec(t, far, q, off, best);
    off[d] = old;
}

void siren_kdtree_nearest(const siren_kdtree *t, const float q[3], size_t *index,
                          float *dist2) {
    nn_best best = {INFINITY, UINT32_MAX};
    float off[3] = {0, 0, 0};
    nn_rec(t, 0, q, off, &best);
    if (index) *index = best.id;
    if (dist2) *dist2 = best.d2;
}

/* The k best so far: a max-heap on (d2, id) in the caller's arrays. */
typedef struct {
    float *d2;
    size_t *id;
    size_t m, cap;
} knn_heap;

static void heap_sift_down(knn_heap *h, size_t i, size_t m) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;
        if (l < m && key_less(h->d2[big], (uint32_t)h->id[big], h->d2[l], (uint32_t)h->id[l]))
            big = l;
        if (r < m && key_less(h->d2[big], (uint32_t)h->id[big], h->d2[r], (uint32_t)h->id[r]))
            big = r;
        if (big == i) return;
        float td = h->d2[i];
        size_t ti = h->id[i];
        h->d2[i] = h->d2[big];
        h->id[i] = h->id[big];
        h->d2[big] = td;
        h->id[big] = ti;
        i = big;
    }
}

static void heap_offer(knn_heap *h, float d2, uint32_t id) {
    if (h->m < h->cap) {
        size_t i = h->m++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!key_less(h->d2[p], (uint32_t)h->id[p], d2, id)) break;
            h->d2[i] = h->d2[p];
            h->id[i] = h->id[p];
            i = p;
        }
        h->d2[i] = d2;
        h->id[i] = id;
    } else if (key_less(d2, id, h->d2[0], (uint32_t)h->id[0])) {
        h->d2[0] = d2;
        h->id[0] = id;
        heap_sift_down(h, 0, h->m);
    }
}

static void knn_rec(const siren_kdtree *t, uint32_t ni, const float q[3], float off[3],
                    knn_heap *h) {
    const kd_node *nd = &t->nodes[ni];
    if (nd->dim == KD_IS_LEAF) {
        for (uint32_t i = nd->a; i < nd->b; i++)
            heap_offer(h, d2_of(q, t->pts[i].p), t->pts[i].id);
        return;
    }
    const uint32_t d = nd->dim;
    const float diff = q[d] - nd->split;
    const uint32_t near = diff <= 0 ? nd->a : nd->b, far = diff <= 0 ? nd->b : nd->a;
    knn_rec(t, near, q, off, h);
    const float old = off[d];
    off[d] = diff;
    if (h->m < h->cap || bound_of(off) <= h->d2[0]) knn_rec(t, far, q, off, h);
    off[d] = old;
}

size_t siren_kdtree_knn(const siren_kdtree *t, const float q[3], size_t k, size_t *idx,
                        float *dist2) {
    const size_t m = k < t->n ? k : t->n;
    knn_heap h = {dist2, idx, 0, m};
    float off[3] = {0, 0, 0};
    if (m == 0) return 0;
    knn_rec(t, 0, q, off, &h);
    SIREN_ASSERT(h.m == m);
    /* Heapsort: the largest goes last, leaving ascending order. */
    for (size_t end = m - 1; end > 0; end--) {
        float td = dist2[0];
        size_t ti = idx[0];
        dist2[0] = dist2[end];
        idx[0] = idx[end];
        dist2[end] = td;
        idx[end] = ti;
        heap_sift_down(&h, 0, end);
    }
    return m;
}

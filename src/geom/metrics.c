/* Shape comparison between two oriented point sets: Chamfer distance,
 * normal consistency and F-score, from one k-d tree per set. Per-point
 * values are computed in parallel and summed afterwards in index order,
 * so the numbers do not depend on the thread count. Sampling a mesh's
 * surface first is the caller's job (siren_mesh_sample_surface). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "geom/geom.h"
#include "util/error.h"

typedef struct {
    double mean_dist, within, nc; /* nc: NAN without normals */
} one_way;

/* For each point of p (np, 3), its distance to the nearest point of the set
 * in tree (whose points are q, normals qn), and the |cosine| between the
 * two normals. Queries run in ptree's order (p's own tree), which keeps
 * neighbouring queries together. dist and cosv are scratch of np doubles. */
static void directed(const float *p, const float *pn, size_t np, const siren_kdtree *ptree,
                     const siren_kdtree *tree, const float *qn, double tau, int T,
                     double *dist, double *cosv, one_way *out) {
    const int with_normals = pn && qn;
#pragma omp parallel for schedule(dynamic, 512) num_threads(T)
    for (size_t o = 0; o < np; o++) {
        const size_t i = siren_kdtree_order(ptree, o);
        size_t j;
        float d2;
        siren_kdtree_nearest(tree, p + 3 * i, &j, &d2);
        dist[i] = sqrt((double)d2);
        if (with_normals) {
            const float *a = pn + 3 * i, *b = qn + 3 * j;
            const double ab = (double)a[0] * b[0] + (double)a[1] * b[1] + (double)a[2] * b[2];
            const double aa = (double)a[0] * a[0] + (double)a[1] * a[1] + (double)a[2] * a[2];
            const double bb = (double)b[0] * b[0] + (double)b[1] * b[1] + (double)b[2] * b[2];
            cosv[i] = aa > 0 && bb > 0 ? fabs(ab) / sqrt(aa * bb) : 0;
        }
    }
    double sd = 0, sc = 0;
    size_t in = 0;
    for (size_t i = 0; i < np; i++) {
        sd += dist[i];
        in += dist[i] < tau;
        if (with_normals) sc += cosv[i];
    }
    out->mean_dist = sd / (double)np;
    out->within = (double)in / (double)np;
    out->nc = with_normals ? sc / (double)np : NAN;
}

siren_status siren_shape_compare(const float *a, const float *an, size_t na, const float *b,
                                 const float *bn, size_t nb, double fscore_tau, int threads,
                                 siren_shape_metrics *out) {
    siren_kdtree *ta = NULL, *tb = NULL;
    double *buf = NULL;
    siren_status st;
    size_t nmax = na > nb ? na : nb, bytes;
    const int T = threads > 0 ? threads : omp_get_num_procs();
    one_way ab, ba;
    if (na == 0 || nb == 0)
        return siren_fail(SIREN_EINVAL, "cannot compare shapes: a point set is empty");
    if (!(fscore_tau > 0) || !isfinite(fscore_tau))
        return siren_fail(SIREN_EINVAL, "F-score threshold must be positive (got %g)",
                          fscore_tau);
    if ((st = siren_kdtree_build(a, na, &ta)) != SIREN_OK) goto out;
    if ((st = siren_kdtree_build(b, nb, &tb)) != SIREN_OK) goto out;
    if (!siren_mul_size(nmax, 2 * sizeof(double), &bytes) || !(buf = malloc(bytes))) {
        st = siren_fail(SIREN_ENOMEM, "out of memory comparing %zu and %zu points", na, nb);
        goto out;
    }
    directed(a, an, na, ta, tb, bn, fscore_tau, T, buf, buf + nmax, &ab);
    directed(b, bn, nb, tb, ta, an, fscore_tau, T, buf, buf + nmax, &ba);
    out->chamfer_ab = ab.mean_dist;
    out->chamfer_ba = ba.mean_dist;
    out->chamfer = 0.5 * (ab.mean_dist + ba.mean_dist);
    out->normal_consistency = 0.5 * (ab.nc + ba.nc);
    out->precision = ab.within;
    out->recall = ba.within;
    out->fscore = out->precision + out->recall > 0
                      ? 2 * out->precision * out->recall / (out->precision + out->recall)
                      : 0;
    out->tau = fscore_tau;
    st = SIREN_OK;
out:
    siren_kdtree_free(ta);
    siren_kdtree_free(tb);
    free(buf);
    return st;
}

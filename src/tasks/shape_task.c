/* The 3-D shape tasks: signed distance (official SIREN loss) and occupancy
 * (binary cross-entropy) fitted to one shape, meshing by marching cubes,
 * and comparison with a reference shape. The shape is normalised into
 * [-1, 1]^3 as the official code does and the transform kept in the model's
 * metadata, so everything the user sees is in the input's frame. Geometry
 * (sampling, normals, labels, metrics, marching cubes) lives in src/geom;
 * the training loops in src/train. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geom/geom.h"
#include "geom/mcubes.h"
#include "net/net.h"
#include "tasks/grid.h"
#include "train/train.h"
#include "util/error.h"
#include "util/rng.h"

siren_shape_opts siren_shape_opts_default(void) {
    siren_shape_opts so = {100000, 16};
    return so;
}

/* Every coordinate finite, every face index in range. */
static siren_status check_shape(const siren_mesh *m) {
    if (!m || m->n_vertices == 0 || !m->v)
        return siren_fail(SIREN_EINVAL, "the shape has no points");
    for (size_t i = 0; i < 3 * m->n_vertices; i++)
        if (!isfinite(m->v[i]))
            return siren_fail(SIREN_EINVAL, "point %zu is not finite", i / 3);
    for (size_t i = 0; i < 3 * m->n_faces; i++)
        if (m->f[i] >= m->n_vertices)
            return siren_fail(SIREN_EINVAL, "face %zu uses vertex %u of %zu",
                              i / 3, m->f[i], m->n_vertices);
    return SIREN_OK;
}

static siren_status set_meta_f(siren_net *net, const char *key, double v) {
    char buf[40];
    snprintf(buf, sizeof buf, "%.9g", v);
    return siren_net_set_meta(net, key, buf);
}

static siren_status set_meta_z(siren_net *net, const char *key, size_t v) {
    char buf[40];
    snprintf(buf, sizeof buf, "%zu", v);
    return siren_net_set_meta(net, key, buf);
}

static siren_status set_shape_meta(siren_net *net, const char *task,
                                   const float c[3], float scale) {
    siren_status st;
    if ((st = siren_net_set_meta(net, "task", task)) ||
        (st = set_meta_f(net, "shape_center_x", c[0])) ||
        (st = set_meta_f(net, "shape_center_y", c[1])) ||
        (st = set_meta_f(net, "shape_center_z", c[2])) ||
        (st = set_meta_f(net, "shape_scale", scale)) ||
        (st = siren_net_set_meta(net, "coords",
                                 "(x, y, z) normalised: (x - shape_center) * "
                                 "shape_scale, in [-1, 1]^3")))
        return st;
    return SIREN_OK;
}

/* The transform stored by set_shape_meta. */
static siren_status get_shape_meta(const siren_net *net, int *occupancy,
                                   float c[3], float *scale) {
    const char *task = siren_net_get_meta(net, "task");
    if (!task || (strcmp(task, "sdf") && strcmp(task, "occupancy")))
        return siren_fail(SIREN_EINVAL, "not a shape model (task is %s; sdf or "
                          "occupancy expected)", task ? task : "missing");
    *occupancy = !strcmp(task, "occupancy");
    c[0] = (float)siren_meta_num(net, "shape_center_x", NAN);
    c[1] = (float)siren_meta_num(net, "shape_center_y", NAN);
    c[2] = (float)siren_meta_num(net, "shape_center_z", NAN);
    *scale = (float)siren_meta_num(net, "shape_scale", NAN);
    if (!isfinite(c[0]) || !isfinite(c[1]) || !isfinite(c[2]) ||
        !(*scale > 0) || !isfinite(*scale))
        return siren_fail(SIREN_EFORMAT, "the model's shape transform "
                          "(shape_center_x/y/z, shape_scale) is missing or bad");
    if (net->cfg.in_features != 3 || net->cfg.out_features != 1)
        return siren_fail(SIREN_EFORMAT, "a shape model maps 3 inputs to 1 "
                          "output, this one %d to %d", net->cfg.in_features,
                          net->cfg.out_features);
    return SIREN_OK;
}

/* The signed volume of a mesh (divergence theorem), in double: positive
 * when a closed mesh is wound outward. */
static double signed_volume(const siren_mesh *m) {
    double v = 0;
    for (size_t i = 0; i < m->n_faces; i++) {
        const float *a = m->v + 3 * m->f[3 * i], *b = m->v + 3 * m->f[3 * i + 1],
                    *c = m->v + 3 * m->f[3 * i + 2];
        v += (double)a[0] * ((double)b[1] * c[2] - (double)b[2] * c[1]) -
             (double)a[1] * ((double)b[0] * c[2] - (double)b[2] * c[0]) +
             (double)a[2] * ((double)b[0] * c[1] - (double)b[1] * c[0]);
    }
    return v / 6;
}

/* Oriented surface points of a shape, in its own frame: sampled from a
 * mesh (face normals, turned outward when the whole mesh is wound inside
 * out: negative signed volume, as scans often are), or a cloud's points
 * with its normals (estimated when it has none). Zero or non-finite
 * normals are dropped (their count in *dropped). */
static siren_status oriented_points(const siren_mesh *m, const siren_shape_opts *so,
                                    uint64_t seed, int threads, float **pts_out,
                                    float **nrm_out, size_t *n_out,
                                    size_t *dropped) {
    size_t n = m->n_faces ? so->points : m->n_vertices, bytes;
    float *p = NULL, *nr = NULL;
    siren_status st;
    *pts_out = *nrm_out = NULL;
    *dropped = 0;
    if (n == 0) return siren_fail(SIREN_EINVAL, "0 points to sample");
    if (!siren_mul_size(n, 3 * sizeof(float), &bytes))
        return siren_fail(SIREN_ELIMIT, "too many points: %zu", n);
    p = malloc(bytes);
    nr = malloc(bytes);
    if (!p || !nr) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu points", n);
        goto fail;
    }
    if (m->n_faces) {
        if ((st = siren_mesh_sample_surface(m, n, seed, p, nr))) goto fail;
        if (signed_volume(m) < 0)
            for (size_t i = 0; i < 3 * n; i++) nr[i] = -nr[i];
    } else {
        memcpy(p, m->v, bytes);
        if (m->vn) memcpy(nr, m->vn, bytes);
        else if ((st = siren_points_estimate_normals(p, n, so->normal_k,
                                                     threads, nr)))
            goto fail;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double a = nr[3 * i], b = nr[3 * i + 1], c = nr[3 * i + 2];
        double len = sqrt(a * a + b * b + c * c);
        if (!(len > 0) || !isfinite(len)) continue;
        for (int j = 0; j < 3; j++) {
            p[3 * k + j] = p[3 * i + j];
            nr[3 * k + j] = (float)(nr[3 * i + j] / len);
        }
        k++;
    }
    *dropped = n - k;
    if (k == 0) {
        st = siren_fail(SIREN_EINVAL, "no point has a usable normal");
        goto fail;
    }
    *pts_out = p;
    *nrm_out = nr;
    *n_out = k;
    return SIREN_OK;
fail:
    free(p);
    free(nr);
    return st;
}

siren_status siren_fit_sdf(const siren_mesh *shape, const siren_shape_opts *so_in,
                           const siren_config *cfg, const siren_train_opts *opt,
                           siren_net **out, siren_fit_result *res) {
    siren_shape_opts so = so_in ? *so_in : siren_shape_opts_default();
    float *pts = NULL, *nrm = NULL, center[3], scale;
    size_t n = 0, dropped = 0;
    siren_net *net = NULL;
    siren_status st;
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->psnr_db = res->accuracy = NAN;
    if ((st = check_shape(shape))) return st;
    if ((st = oriented_points(shape, &so, opt->seed, opt->threads, &pts, &nrm,
                              &n, &dropped)))
        return st;
    if ((st = siren_shape_normalize(pts, n, center, &scale))) goto fail;
    siren_shape_apply(pts, n, center, scale);
    siren_config c = *cfg;
    c.in_features = 3;
    c.out_features = 1;
    if ((st = siren_net_create(&c, opt->seed, &net)) ||
        (st = set_shape_meta(net, "sdf", center, scale)) ||
        (st = set_meta_z(net, "surface_points", n)) ||
        (st = set_meta_z(net, "points_dropped", dropped)) ||
        (st = siren_net_set_meta(net, "normals",
                                 shape->n_faces ? "faces" : shape->vn ? "file"
                                                                      : "estimated")))
        goto fail;
    /* diverged: the model is the last good state, and the caller gets it */
    st = siren_train_sdf(net, pts, nrm, n, opt, res);
    if (st && st != SIREN_EDIVERGED) goto fail;
    free(pts);
    free(nrm);
    *out = net;
    return st;
fail:
    free(pts);
    free(nrm);
    siren_net_free(net);
    return st;
}

siren_status siren_fit_occupancy(const siren_mesh *mesh, const siren_shape_opts *so_in,
                                 const siren_config *cfg,
                                 const siren_train_opts *opt, siren_net **out,
                                 siren_fit_result *res) {
    siren_shape_opts so = so_in ? *so_in : siren_shape_opts_default();
    float *surf = NULL, *x = NULL, *lab = NULL, *y = NULL, center[3], scale;
    uint8_t *in = NULL;
    siren_mesh nm = {0};
    siren_inside *ins = NULL;
    siren_net *net = NULL;
    siren_status st;
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->psnr_db = res->accuracy = NAN;
    if ((st = check_shape(mesh))) return st;
    if (mesh->n_faces == 0)
        return siren_fail(SIREN_EINVAL, "occupancy needs a closed mesh, and "
                          "this shape has no faces");
    const size_t n = so.points < 2 ? 2 : so.points, half = n / 2;
    size_t bytes;
    if (!siren_mul_size(n, 3 * sizeof(float), &bytes))
        return siren_fail(SIREN_ELIMIT, "too many points: %zu", n);
    surf = malloc(bytes);
    x = malloc(bytes);
    lab = malloc(n * sizeof *lab);
    y = malloc(n * sizeof *y);
    in = malloc(n);
    nm.n_vertices = mesh->n_vertices;
    nm.n_faces = mesh->n_faces;
    nm.f = mesh->f;
    nm.v = malloc(mesh->n_vertices * 3 * sizeof *nm.v);
    if (!surf || !x || !lab || !y || !in || !nm.v) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu points", n);
        goto fail;
    }
    /* The frame: from surface samples, as the SDF task, so both models of
     * one mesh share it. */
    if ((st = siren_mesh_sample_surface(mesh, n, opt->seed, surf, NULL)) ||
        (st = siren_shape_normalize(surf, n, center, &scale)))
        goto fail;
    siren_shape_apply(surf, n, center, scale);
    memcpy(nm.v, mesh->v, mesh->n_vertices * 3 * sizeof *nm.v);
    siren_shape_apply(nm.v, nm.n_vertices, center, scale);
    if ((st = siren_inside_create(&nm, &ins))) goto fail;
    /* Half uniform in the cube, half near the surface: a Gaussian of sigma
     * 0.02 (1% of the cube's side) around surface samples, where the
     * labels change and the network needs them. */
    siren_rng rng;
    siren_rng_seed(&rng, opt->seed ^ 0x0cc0ba7cull);
    for (size_t i = 0; i < 3 * half; i++)
        x[i] = (float)(2.0 * siren_rng_uniform(&rng) - 1.0);
    for (size_t i = 3 * half; i < 3 * n; i += 2) {
        double u1 = siren_rng_uniform(&rng), u2 = siren_rng_uniform(&rng);
        double r = sqrt(-2.0 * log(1.0 - u1)), t = 2.0 * M_PI * u2;
        x[i] = surf[i] + (float)(0.02 * r * cos(t));
        if (i + 1 < 3 * n) x[i + 1] = surf[i + 1] + (float)(0.02 * r * sin(t));
    }
    siren_inside_test(ins, x, n, opt->threads, in);
    size_t n_in = 0;
    for (size_t i = 0; i < n; i++) {
        lab[i] = in[i] ? 1.0f : 0.0f;
        n_in += in[i];
    }
    if (n_in == 0) {
        st = siren_fail(SIREN_EINVAL, "no sample point is inside the mesh: it "
                        "is not closed, or its faces are inside out");
        goto fail;
    }
    siren_config c = *cfg;
    c.in_features = 3;
    c.out_features = 1;
    if ((st = siren_net_create(&c, opt->seed, &net)) ||
        (st = set_shape_meta(net, "occupancy", center, scale)) ||
        (st = set_meta_z(net, "label_points", n)) ||
        (st = set_meta_z(net, "inside_points", n_in)))
        goto fail;
    const siren_status trained =
        siren_train_values_loss(net, x, lab, n, SIREN_LOSS_BCE_LOGITS, opt, res);
    if ((st = trained) && trained != SIREN_EDIVERGED) goto fail;
    if ((st = siren_net_eval(net, x, n, y, opt->threads))) goto fail;
    size_t right = 0;
    for (size_t i = 0; i < n; i++) right += (y[i] > 0) == (in[i] != 0);
    res->accuracy = (double)right / (double)n;
    *out = net;
    net = NULL;
    st = trained;
fail:
    siren_net_free(net);
    siren_inside_free(ins);
    free(surf); free(x); free(lab); free(y); free(in); free(nm.v);
    return st;
}

/* ----------------------------------------------------------------- meshing */

/* The marching-cubes field: the network in batches through one work
 * buffer allocated once, minus the level (SDF) or the level's logit minus
 * the network (occupancy), so the field grows outward either way.
 *
 * For a signed distance most of a slice is far from the surface, and a
 * distance says how far: the slice is first evaluated on a coarse grid
 * (every STRIDE-th point each way), and a coarse cell whose four corners
 * all lie further from the level than LIP x (the cell's diagonal + one
 * fine step) cannot hold the surface, nor touch a fine edge that crosses
 * it, as long as the network's slope stays under LIP (the eikonal loss
 * holds it near 1); its fine points take their corner's value (same sign)
 * instead of a network evaluation. Every other fine point is evaluated,
 * so the mesh is the dense one's (tests/test_sdf.c compares them).
 * Occupancy logits are no distance: those models are evaluated densely. */
enum { STRIDE = 4 };
#define LIP 2.0f

typedef struct {
    const siren_net *net;
    siren_work *w;
    float offset, sign;
    float edge;   /* points beyond this in any coordinate are outside */
    int sparse;   /* coarse-to-fine slices (signed distance models) */
    size_t R;     /* grid points per axis */
    float h;      /* grid spacing */
    float *cx, *cv; /* sparse: gathered points and their values */
    unsigned char *need;
} field_ctx;

/* Values at n points p (n, 3) into v, the network in batches. */
static void eval_points(field_ctx *f, const float *p, size_t n, float *v) {
    const size_t cap = f->w->cap;
    const int L = f->net->n_linear;
    for (size_t i = 0; i < n; i += cap) {
        size_t m = n - i < cap ? n - i : cap;
        siren_net_forward(f->net, f->w, p + 3 * i, m, 0);
        const float *y = f->w->act[L];
        for (size_t k = 0; k < m; k++) {
            const float *q = p + 3 * (i + k);
            v[i + k] = fabsf(q[0]) > f->edge || fabsf(q[1]) > f->edge ||
                               fabsf(q[2]) > f->edge
                           ? 1.0f
                           : f->sign * (y[k] - f->offset);
        }
    }
}

/* Evaluate the points flagged in need (of the slice xyz) into values. */
static void eval_needed(field_ctx *f, const float *xyz, size_t n, float *values) {
    size_t k = 0;
    for (size_t q = 0; q < n; q++)
        if (f->need[q]) memcpy(f->cx + 3 * k++, xyz + 3 * q, 3 * sizeof(float));
    eval_points(f, f->cx, k, f->cv);
    k = 0;
    for (size_t q = 0; q < n; q++)
        if (f->need[q]) values[q] = f->cv[k++];
}

static siren_status eval_field(void *user, const float *xyz, size_t n,
                               float *values) {
    field_ctx *f = user;
    if (!f->sparse || n != f->R * f->R) {
        eval_points(f, xyz, n, values);
        return SIREN_OK;
    }
    const size_t R = f->R;
    /* the coarse grid: every STRIDE-th index, and the last */
    memset(f->need, 0, n);
    for (size_t j = 0; j < R; j++)
        if (j % STRIDE == 0 || j == R - 1)
            for (size_t i = 0; i < R; i++)
                if (i % STRIDE == 0 || i == R - 1) f->need[j * R + i] = 1;
    eval_needed(f, xyz, n, values);
    /* cells that may hold the surface: every fine point evaluated */
    memset(f->need, 0, n);
    for (size_t j0 = 0; j0 + 1 < R; j0 += STRIDE) {
        const size_t j1 = j0 + STRIDE < R ? j0 + STRIDE : R - 1;
        for (size_t i0 = 0; i0 + 1 < R; i0 += STRIDE) {
            const size_t i1 = i0 + STRIDE < R ? i0 + STRIDE : R - 1;
            const float c[4] = {values[j0 * R + i0], values[j0 * R + i1],
                                values[j1 * R + i0], values[j1 * R + i1]};
            const float reach = LIP * f->h * (sqrtf((float)((i1 - i0) * (i1 - i0) +
                                                            (j1 - j0) * (j1 - j0))) + 1);
            int far = 1;
            for (int k = 0; k < 4; k++)
                far &= fabsf(c[k]) > reach && (c[k] > 0) == (c[0] > 0);
            for (size_t j = j0; j <= j1; j++)
                for (size_t i = i0; i <= i1; i++) {
                    const int corner = (j == j0 || j == j1) && (i == i0 || i == i1);
                    if (corner) continue;
                    if (far) values[j * R + i] = c[0];
                    else f->need[j * R + i] = 1;
                }
        }
    }
    /* a point on the border of a far cell and a near one is evaluated */
    eval_needed(f, xyz, n, values);
    return SIREN_OK;
}

typedef struct {
    siren_slice_fn fn;
    void *user;
} progress_ctx;

static int mc_progress(void *user, int done, int total) {
    progress_ctx *p = user;
    return p->fn ? p->fn(p->user, done, total) : 0;
}

siren_status siren_mesh_extract(const siren_net *net, int res, float level,
                                int threads, int dense, siren_slice_fn progress,
                                void *user, siren_mesh *out) {
    float c[3], scale = 0;
    int occ = 0;
    siren_status st;
    memset(out, 0, sizeof *out);
    if ((st = get_shape_meta(net, &occ, c, &scale))) return st;
    field_ctx f;
    memset(&f, 0, sizeof f);
    f.net = net;
    f.sign = 1;
    f.edge = 1;
    if (occ) {
        float p = isnan(level) ? 0.5f : level;
        if (!(p > 0 && p < 1))
            return siren_fail(SIREN_EINVAL, "occupancy level %g is not a "
                              "probability in (0, 1)", p);
        f.offset = logf(p / (1 - p));
        f.sign = -1;
    } else {
        f.offset = isnan(level) ? 0.0f : level;
    }
    /* two more grid points for the outside layer (marching cubes takes up
     * to 4096) */
    if (res < 2 || res > 4094)
        return siren_fail(SIREN_EINVAL, "grid resolution %d outside [2, 4094]", res);
    if ((st = siren_work_create(net, 8192, threads, &f.w))) return st;
    /* res points over [-1, 1] and one more layer each side that counts as
     * outside: a surface that reaches the cube's faces (a normalised shape
     * touches them) is closed there instead of left open */
    const float h = 2.0f / (float)(res - 1), e = 1 + h;
    const float lo[3] = {-e, -e, -e}, hi[3] = {e, e, e};
    f.edge = 1 + 0.5f * h;
    f.sparse = !occ && !dense;
    f.R = (size_t)res + 2;
    f.h = h;
    if (f.sparse) {
        f.cx = malloc(f.R * f.R * 3 * sizeof *f.cx);
        f.cv = malloc(f.R * f.R * sizeof *f.cv);
        f.need = malloc(f.R * f.R);
        if (!f.cx || !f.cv || !f.need) {
            free(f.cx); free(f.cv); free(f.need);
            siren_work_free(f.w);
            return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d slice", res, res);
        }
    }
    progress_ctx pc = {progress, user};
    st = siren_marching_cubes(res + 2, lo, hi, 0.0f, eval_field, &f, mc_progress,
                              &pc, out);
    siren_work_free(f.w);
    free(f.cx); free(f.cv); free(f.need);
    if (st) return st;
    if (out->n_vertices == 0) return SIREN_OK;
    /* Normals: the exact gradient of the model at every vertex (outward:
     * the SDF grows outward, the occupancy inward). The normalisation is a
     * uniform scale, so directions carry over to the input's frame. */
    out->vn = malloc(out->n_vertices * 3 * sizeof *out->vn);
    if (!out->vn) {
        siren_mesh_free(out);
        return siren_fail(SIREN_ENOMEM, "out of memory for %zu normals",
                          out->n_vertices);
    }
    if ((st = siren_net_eval_derivs(net, out->v, out->n_vertices, NULL, out->vn,
                                    NULL, NULL, threads))) {
        siren_mesh_free(out);
        return st;
    }
    for (size_t i = 0; i < out->n_vertices; i++) {
        float *g = out->vn + 3 * i;
        float len = sqrtf(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
        float s = len > 0 ? (occ ? -1.0f : 1.0f) / len : 0.0f;
        g[0] *= s; g[1] *= s; g[2] *= s;
    }
    siren_shape_unapply(out->v, out->n_vertices, c, scale);
    return SIREN_OK;
}

/* -------------------------------------------------------------- evaluation */

siren_status siren_eval_shape(const siren_net *net, const siren_mesh *ref,
                              int res, size_t samples, double tau, int threads,
                              siren_shape_eval *ev) {
    siren_mesh m = {0};
    float *a = NULL, *an = NULL, *b = NULL, *bn = NULL;
    siren_status st;
    memset(ev, 0, sizeof *ev);
    if ((st = check_shape(ref))) return st;
    if (samples == 0) samples = 100000;
    /* the reference's bounding-box diagonal, for tau and chamfer_rel */
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < ref->n_vertices; i++)
        for (int j = 0; j < 3; j++) {
            double v = ref->v[3 * i + j];
            if (v < lo[j]) lo[j] = v;
            if (v > hi[j]) hi[j] = v;
        }
    ev->diagonal = sqrt((hi[0] - lo[0]) * (hi[0] - lo[0]) +
                        (hi[1] - lo[1]) * (hi[1] - lo[1]) +
                        (hi[2] - lo[2]) * (hi[2] - lo[2]));
    ev->tau = tau > 0 ? tau : 0.01 * ev->diagonal;
    if (!(ev->tau > 0))
        return siren_fail(SIREN_EINVAL, "the reference shape has no extent");
    if ((st = siren_mesh_extract(net, res, NAN, threads, 0, NULL, NULL, &m))) return st;
    ev->mesh_vertices = m.n_vertices;
    ev->mesh_faces = m.n_faces;
    if (m.n_faces == 0) {
        st = siren_fail(SIREN_EINVAL, "the model's surface is empty at "
                        "resolution %d: nothing to compare", res);
        goto done;
    }
    a = malloc(samples * 3 * sizeof *a);
    an = malloc(samples * 3 * sizeof *an);
    const size_t nb = ref->n_faces ? samples : ref->n_vertices;
    if (ref->n_faces) {
        b = malloc(samples * 3 * sizeof *b);
        bn = malloc(samples * 3 * sizeof *bn);
    }
    if (!a || !an || (ref->n_faces && (!b || !bn))) {
        st = siren_fail(SIREN_ENOMEM, "out of memory for %zu samples", samples);
        goto done;
    }
    if ((st = siren_mesh_sample_surface(&m, samples, 1, a, an))) goto done;
    if (ref->n_faces && (st = siren_mesh_sample_surface(ref, samples, 2, b, bn)))
        goto done;
    siren_shape_metrics sm;
    if ((st = siren_shape_compare(a, an, samples, ref->n_faces ? b : ref->v,
                                  ref->n_faces ? bn : ref->vn, nb, ev->tau,
                                  threads, &sm)))
        goto done;
    ev->chamfer = sm.chamfer;
    ev->chamfer_rel = sm.chamfer / ev->diagonal;
    ev->normal_consistency = sm.normal_consistency;
    ev->fscore = sm.fscore;
    ev->precision = sm.precision;
    ev->recall = sm.recall;
done:
    siren_mesh_free(&m);
    free(a); free(an); free(b); free(bn);
    return st;
}

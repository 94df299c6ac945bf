/* The SDF loss and the shape tasks (src/train/shape.c, src/tasks/shape_task.c):
 *   - the loss of one batch, and its parameter gradient, against an
 *     independent computation: the network's value and gradient from the
 *     jets (not the double backward the loss uses), the official formulas
 *     in double, and central differences of that loss along random
 *     parameter directions;
 *   - a sphere given as an oriented point cloud is fitted to a signed
 *     distance accurate at random points near it, meshed back to a closed
 *     surface of the sphere's area, with a small Chamfer distance to it;
 *   - the same from a mesh (sampled by area), and an occupancy network
 *     from a closed mesh; a torus and a box as clouds, against their
 *     analytic SDFs and by Chamfer distance;
 *   - the model's shape transform puts the mesh back in the input's frame. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geom/mcubes.h"
#include "net/net.h"
#include "siren.h"
#include "testhelp.h"
#include "train/train.h"
#include "util/rng.h"

/* The official sdf_loss in double from the value y (M) and gradient g
 * (M, 3) of the network; the first n_on points are on the surface. */
static double ref_loss(const float *y, const float *g, const float *nrm,
                       size_t n_on, size_t M, double terms[4]) {
    double s[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < M; i++) {
        const float *gi = g + 3 * i;
        double gn = sqrt((double)gi[0] * gi[0] + (double)gi[1] * gi[1] +
                         (double)gi[2] * gi[2]);
        s[3] += fabs(gn - 1);
        if (i < n_on) {
            const float *n = nrm + 3 * i;
            double nn = sqrt((double)n[0] * n[0] + (double)n[1] * n[1] + (double)n[2] * n[2]);
            double dot = (double)gi[0] * n[0] + (double)gi[1] * n[1] + (double)gi[2] * n[2];
            s[0] += fabs(y[i]);
            s[2] += 1 - dot / fmax(gn * nn, 1e-8);
        } else {
            s[1] += exp(-100 * fabs(y[i]));
        }
    }
    const double w[4] = {3e3, 1e2, 1e2, 5e1};
    double L = 0;
    for (int k = 0; k < 4; k++) {
        terms[k] = w[k] * s[k] / (double)M;
        L += terms[k];
    }
    return L;
}

static double loss_at(const siren_net *net, const float *x, const float *nrm,
                      size_t n_on, size_t M, float *y, float *g) {
    double t[4];
    siren_net_eval_derivs(net, x, M, y, g, NULL, NULL, 1);
    return ref_loss(y, g, nrm, n_on, M, t);
}

static void test_loss_gradient(void) {
    siren_config cfg = siren_config_default(3, 1);
    cfg.hidden_features = 24;
    cfg.hidden_layers = 2;
    siren_net *net;
    siren_net_create(&cfg, 7, &net);
    enum { NON = 40, M = 80 };
    static float x[M * 3], nrm[NON * 3], y[M], g[M * 3];
    siren_rng rng;
    siren_rng_seed(&rng, 3);
    for (int i = 0; i < M * 3; i++) x[i] = (float)(1.8 * siren_rng_uniform(&rng) - 0.9);
    for (int i = 0; i < NON; i++) {
        double a = siren_rng_uniform(&rng) * 6.283, b = siren_rng_uniform(&rng) * 3.14;
        nrm[3 * i] = (float)(sin(b) * cos(a));
        nrm[3 * i + 1] = (float)(sin(b) * sin(a));
        nrm[3 * i + 2] = (float)cos(b);
    }
    const size_t P = siren_net_param_count(net);
    float *grad = malloc(P * sizeof *grad), *p = siren_net_params(net);
    double terms[4], rterms[4];
    double L = siren_sdf_loss(net, x, nrm, NON, M, 2, grad, terms);
    siren_net_eval_derivs(net, x, M, y, g, NULL, NULL, 1);
    double R = ref_loss(y, g, nrm, NON, M, rterms);
    double tmax = 0;
    for (int k = 0; k < 4; k++)
        tmax = fmax(tmax, fabs(terms[k] - rterms[k]) / fmax(fabs(rterms[k]), 1e-3));
    CHECK(fabs(L - R) < 1e-4 * fabs(R) && tmax < 1e-4,
          "SDF loss of a batch = the official formulas on the jets' value and "
          "gradient (%.8g vs %.8g; worst term rel. err %.1e)", L, R, tmax);
    /* directional derivatives: central differences in double of the
     * reference loss, along random unit directions in parameter space */
    float *save = malloc(P * sizeof *save), *dir = malloc(P * sizeof *dir);
    memcpy(save, p, P * sizeof *p);
    double worst = 0;
    for (int trial = 0; trial < 6; trial++) {
        double nd = 0, an = 0;
        for (size_t k = 0; k < P; k++) {
            dir[k] = (float)(siren_rng_uniform(&rng) - 0.5);
            nd += (double)dir[k] * dir[k];
        }
        nd = sqrt(nd);
        for (size_t k = 0; k < P; k++) {
            dir[k] /= (float)nd;
            an += (double)grad[k] * dir[k];
        }
        const double h = 1e-3;
        for (size_t k = 0; k < P; k++) p[k] = save[k] + (float)h * dir[k];
        double lp = loss_at(net, x, nrm, NON, M, y, g);
        for (size_t k = 0; k < P; k++) p[k] = save[k] - (float)h * dir[k];
        double lm = loss_at(net, x, nrm, NON, M, y, g);
        memcpy(p, save, P * sizeof *p);
        double fd = (lp - lm) / (2 * h);
        worst = fmax(worst, fabs(fd - an) / fmax(fabs(fd), 1.0));
    }
    CHECK(worst < 2e-2, "SDF loss gradient = central differences along 6 random "
          "directions (worst rel. err %.2e)", worst);
    free(grad); free(save); free(dir);
    siren_net_free(net);
}

/* An icosphere of radius r around c, subdivided `sub` times, outward
 * winding. */
static void make_sphere(siren_mesh *m, const float c[3], float r, int sub) {
    static const float t = 1.618034f;
    float v0[12][3] = {{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0},
                       {0, -1, t}, {0, 1, t}, {0, -1, -t}, {0, 1, -t},
                       {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}};
    uint32_t f0[20][3] = {{0, 11, 5}, {0, 5, 1}, {0, 1, 7}, {0, 7, 10}, {0, 10, 11},
                          {1, 5, 9}, {5, 11, 4}, {11, 10, 2}, {10, 7, 6}, {7, 1, 8},
                          {3, 9, 4}, {3, 4, 2}, {3, 2, 6}, {3, 6, 8}, {3, 8, 9},
                          {4, 9, 5}, {2, 4, 11}, {6, 2, 10}, {8, 6, 7}, {9, 8, 1}};
    size_t nv = 12, nf = 20;
    float *v = malloc(12 * 3 * sizeof *v);
    uint32_t *f = malloc(20 * 3 * sizeof *f);
    memcpy(v, v0, sizeof v0);
    memcpy(f, f0, sizeof f0);
    for (int s = 0; s < sub; s++) {
        /* split every edge at its midpoint (duplicates merged by a map) */
        float *v2 = malloc((nv + 3 * nf) * 3 * sizeof *v2);
        uint32_t *f2 = malloc(4 * nf * 3 * sizeof *f2);
        memcpy(v2, v, nv * 3 * sizeof *v);
        size_t nv2 = nv;
        uint64_t *key = malloc(3 * nf * sizeof *key);
        uint32_t *val = malloc(3 * nf * sizeof *val);
        size_t nk = 0;
        for (size_t i = 0; i < nf; i++) {
            uint32_t mid[3];
            for (int e = 0; e < 3; e++) {
                uint32_t a = f[3 * i + e], b = f[3 * i + (e + 1) % 3];
                uint64_t k = a < b ? ((uint64_t)a << 32) | b : ((uint64_t)b << 32) | a;
                size_t q;
                for (q = 0; q < nk && key[q] != k; q++) {}
                if (q == nk) {
                    key[nk] = k;
                    val[nk++] = (uint32_t)nv2;
                    for (int j = 0; j < 3; j++)
                        v2[3 * nv2 + j] = 0.5f * (v[3 * a + j] + v[3 * b + j]);
                    nv2++;
                }
                mid[e] = val[q];
            }
            uint32_t a = f[3 * i], b = f[3 * i + 1], cc = f[3 * i + 2];
            uint32_t nf4[4][3] = {{a, mid[0], mid[2]}, {mid[0], b, mid[1]},
                                  {mid[2], mid[1], cc}, {mid[0], mid[1], mid[2]}};
            memcpy(f2 + 12 * i, nf4, sizeof nf4);
        }
        free(v); free(f); free(key); free(val);
        v = v2; f = f2; nv = nv2; nf *= 4;
    }
    for (size_t i = 0; i < nv; i++) {
        float *p = v + 3 * i;
        float l = sqrtf(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
        for (int j = 0; j < 3; j++) p[j] = c[j] + r * p[j] / l;
    }
    m->v = v; m->f = f; m->vn = NULL;
    m->n_vertices = nv; m->n_faces = nf;
}

/* Mean and max |Phi(x) - d(x)| over random points within `band` of the
 * sphere (c, r) and inside the model's cube (the normalised sphere touches
 * the cube's faces; outside it nothing was trained), in the input's units:
 * Phi(x) / scale of the model. */
static void sdf_error(const siren_net *net, const float c[3], float r, float band,
                      double *mean, double *maxe) {
    enum { N = 2000 };
    static float x[N * 3], y[N];
    double d[N];
    float cx = strtof(siren_net_get_meta(net, "shape_center_x"), NULL);
    float cy = strtof(siren_net_get_meta(net, "shape_center_y"), NULL);
    float cz = strtof(siren_net_get_meta(net, "shape_center_z"), NULL);
    float sc = strtof(siren_net_get_meta(net, "shape_scale"), NULL);
    siren_rng rng;
    siren_rng_seed(&rng, 11);
    for (int i = 0; i < N; i++) {
        double u[3], l;
        do {
            for (int j = 0; j < 3; j++) u[j] = 2 * siren_rng_uniform(&rng) - 1;
            l = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
        } while (l > 1 || l < 1e-3);
        double rad = r + band * (2 * siren_rng_uniform(&rng) - 1);
        d[i] = rad - r;
        x[3 * i] = (float)((c[0] + rad * u[0] / l - cx) * sc);
        x[3 * i + 1] = (float)((c[1] + rad * u[1] / l - cy) * sc);
        x[3 * i + 2] = (float)((c[2] + rad * u[2] / l - cz) * sc);
        if (fabsf(x[3 * i]) > 1 || fabsf(x[3 * i + 1]) > 1 || fabsf(x[3 * i + 2]) > 1)
            i--;
    }
    siren_net_eval(net, x, N, y, 2);
    *mean = 0;
    *maxe = 0;
    for (int i = 0; i < N; i++) {
        double e = fabs(y[i] / sc - d[i]);
        *mean += e / N;
        *maxe = fmax(*maxe, e);
    }
}

static void test_fit_sphere(void) {
    const float c[3] = {3.0f, -2.0f, 5.0f}, r = 4.0f;
    siren_mesh sphere;
    make_sphere(&sphere, c, r, 4); /* 2562 vertices, 5120 faces */
    /* an oriented point cloud: the vertices with their exact normals */
    siren_mesh cloud = {sphere.n_vertices, 0, sphere.v, NULL, NULL};
    cloud.vn = malloc(sphere.n_vertices * 3 * sizeof *cloud.vn);
    for (size_t i = 0; i < sphere.n_vertices; i++)
        for (int j = 0; j < 3; j++)
            cloud.vn[3 * i + j] = (sphere.v[3 * i + j] - c[j]) / r;
    siren_config cfg = siren_config_default(3, 1);
    /* a small, smooth network (first omega_0 5) converges in a few hundred
     * steps; the official 256 x 3 at omega_0 30 needs thousands */
    cfg.hidden_features = 64;
    cfg.hidden_layers = 2;
    cfg.first_omega_0 = 5;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 800;
    opt.lr = 1e-4f;
    opt.batch = 1000;
    opt.threads = 2;
    siren_net *net;
    siren_fit_result res;
    siren_status st = siren_fit_sdf(&cloud, NULL, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_OK && res.steps == 800, "fit sdf on a sphere cloud "
          "(%zu points with normals): %d steps in %.2f s, loss %.3g",
          cloud.n_vertices, res.steps, res.seconds, res.loss);
    if (st) return;
    double mean, maxe;
    sdf_error(net, c, r, 0.1f * r, &mean, &maxe);
    CHECK(mean < 0.01 * r && maxe < 0.05 * r, "fitted SDF within 10%% of the "
          "radius of the sphere: mean |Phi - d| %.4f, max %.4f (radius %.1f)",
          mean, maxe, r);
    siren_mesh m;
    st = siren_mesh_extract(net, 64, NAN, 2, 0, NULL, NULL, &m);
    double area, vol;
    size_t nb, nm, no;
    if (st == SIREN_OK) {
        siren_mesh_area_volume(&m, &area, &vol);
        siren_mesh_check_watertight(&m, &nb, &nm, &no);
    }
    const double A = 4 * M_PI * r * r;
    CHECK(st == SIREN_OK && fabs(area - A) < 0.03 * A && nb == 0 && nm == 0 && no == 0,
          "mesh at res 64 in the input's frame: area %.2f vs 4 pi r^2 = %.2f, "
          "closed (%zu boundary, %zu non-manifold, %zu misoriented edges)",
          area, A, nb, nm, no);
    if (st == SIREN_OK) {
        double worst = 0, nworst = 0;
        for (size_t i = 0; i < m.n_vertices; i++) {
            const float *p = m.v + 3 * i, *n = m.vn + 3 * i;
            double dx = p[0] - c[0], dy = p[1] - c[1], dz = p[2] - c[2];
            double l = sqrt(dx * dx + dy * dy + dz * dz);
            worst = fmax(worst, fabs(l - r));
            nworst = fmax(nworst, 1 - (n[0] * dx + n[1] * dy + n[2] * dz) / l);
        }
        CHECK(worst < 0.03 * r && nworst < 0.05, "mesh vertices within %.3f of "
              "the sphere (3%% of r), normals within 1 - cos = %.3f of the "
              "outward radius", worst, nworst);
        /* the coarse-to-fine slices give the dense mesh, bit for bit */
        siren_mesh md;
        siren_status sd = siren_mesh_extract(net, 64, NAN, 2, 1, NULL, NULL, &md);
        CHECK(sd == SIREN_OK && md.n_vertices == m.n_vertices && md.n_faces == m.n_faces &&
                  !memcmp(md.v, m.v, 3 * m.n_vertices * sizeof(float)) &&
                  !memcmp(md.f, m.f, 3 * m.n_faces * sizeof(uint32_t)) &&
                  !memcmp(md.vn, m.vn, 3 * m.n_vertices * sizeof(float)),
              "coarse-to-fine meshing gives the dense mesh bit for bit (%zu vertices)",
              m.n_vertices);
        if (sd == SIREN_OK) siren_mesh_free(&md);
        siren_shape_eval ev;
        st = siren_eval_shape(net, &sphere, 64, 20000, 0, 2, &ev);
        CHECK(st == SIREN_OK && ev.chamfer_rel < 0.005 && ev.fscore > 0.95 &&
              ev.normal_consistency > 0.98,
              "eval against the sphere mesh: Chamfer %.4f (%.3f%% of the "
              "diagonal), F-score %.3f at %.3f, normal consistency %.4f",
              ev.chamfer, 100 * ev.chamfer_rel, ev.fscore, ev.tau,
              ev.normal_consistency);
        siren_mesh_free(&m);
    }
    siren_net_free(net);
    /* the mesh itself, sampled by area (the task's default 100000 points) */
    siren_shape_opts so = siren_shape_opts_default();
    so.points = 20000;
    st = siren_fit_sdf(&sphere, &so, &cfg, &opt, &net, &res);
    if (st == SIREN_OK) {
        sdf_error(net, c, r, 0.1f * r, &mean, &maxe);
        CHECK(mean < 0.01 * r, "fit sdf from the sphere mesh (20000 samples): "
              "mean |Phi - d| %.4f within 0.1 r", mean);
        siren_net_free(net);
    } else {
        CHECK(0, "fit sdf from a mesh: %s", siren_last_error());
    }
    /* occupancy from the closed mesh */
    so.points = 40000;
    opt.batch = 4000;
    st = siren_fit_occupancy(&sphere, &so, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_OK && res.accuracy > 0.97, "fit occupancy of the sphere "
          "mesh: %.2f%% of 40000 labels right", 100 * res.accuracy);
    if (st == SIREN_OK) {
        st = siren_mesh_extract(net, 64, NAN, 2, 0, NULL, NULL, &m);
        if (st == SIREN_OK) {
            siren_mesh_area_volume(&m, &area, &vol);
            siren_mesh_check_watertight(&m, &nb, &nm, &no);
        }
        const double V = 4.0 / 3.0 * M_PI * r * r * r;
        CHECK(st == SIREN_OK && fabs(vol - V) < 0.05 * V && nb == 0 && no == 0,
              "occupancy meshed at 0.5: volume %.1f vs 4/3 pi r^3 = %.1f, "
              "closed and outward", vol, V);
        if (st == SIREN_OK) siren_mesh_free(&m);
        siren_net_free(net);
    }
    free(cloud.vn);
    siren_mesh_free(&sphere);
}

static void test_errors(void) {
    siren_config cfg = siren_config_default(3, 1);
    siren_train_opts opt = siren_train_opts_default();
    siren_net *net;
    siren_fit_result res;
    float v[6] = {0, 0, 0, 1, 1, 1};
    siren_mesh two = {2, 0, v, NULL, NULL};
    CHECK(siren_fit_occupancy(&two, NULL, &cfg, &opt, &net, &res) == SIREN_EINVAL,
          "occupancy of a point cloud is refused: %s", siren_last_error());
    float nanv[3] = {0, NAN, 0}, n1[3] = {0, 0, 1};
    siren_mesh bad = {1, 0, nanv, n1, NULL};
    CHECK(siren_fit_sdf(&bad, NULL, &cfg, &opt, &net, &res) == SIREN_EINVAL,
          "a NaN coordinate is refused: %s", siren_last_error());
    siren_config c2 = siren_config_default(2, 1);
    siren_net_create(&c2, 0, &net);
    siren_mesh m;
    CHECK(siren_mesh_extract(net, 32, NAN, 1, 0, NULL, NULL, &m) == SIREN_EINVAL,
          "meshing an image model is refused: %s", siren_last_error());
    siren_net_free(net);
}

/* A torus (R 0.5, r 0.2) and a box (half extents 0.5, 0.35, 0.25) given as
 * oriented clouds, fitted, checked against their analytic SDFs near the
 * surface and, meshed, by Chamfer distance against the clouds. */
static double torus_sdf(const double *p) {
    double q = sqrt(p[0] * p[0] + p[1] * p[1]) - 0.5;
    return sqrt(q * q + p[2] * p[2]) - 0.2;
}
static double box_sdf(const double *p) {
    double d[3] = {fabs(p[0]) - 0.5, fabs(p[1]) - 0.35, fabs(p[2]) - 0.25}, o = 0;
    for (int j = 0; j < 3; j++) o += fmax(d[j], 0) * fmax(d[j], 0);
    return sqrt(o) + fmin(fmax(d[0], fmax(d[1], d[2])), 0);
}

static void test_fit_analytic(int box) {
    enum { N = 6000 };
    float *v = malloc(N * 3 * sizeof *v), *vn = malloc(N * 3 * sizeof *vn);
    siren_rng rng;
    siren_rng_seed(&rng, 5);
    for (int i = 0; i < N; i++) {
        double p[3], n[3];
        if (!box) {
            double a = 2 * M_PI * siren_rng_uniform(&rng), b = 2 * M_PI * siren_rng_uniform(&rng);
            n[0] = cos(b) * cos(a); n[1] = cos(b) * sin(a); n[2] = sin(b);
            p[0] = (0.5 + 0.2 * cos(b)) * cos(a);
            p[1] = (0.5 + 0.2 * cos(b)) * sin(a);
            p[2] = 0.2 * sin(b);
        } else {
            /* a face by area, a point on it */
            const double h[3] = {0.5, 0.35, 0.25};
            const double area[3] = {h[1] * h[2], h[0] * h[2], h[0] * h[1]};
            double u = siren_rng_uniform(&rng) * (area[0] + area[1] + area[2]);
            int ax = u < area[0] ? 0 : u < area[0] + area[1] ? 1 : 2;
            double sg = siren_rng_uniform(&rng) < 0.5 ? -1 : 1;
            for (int j = 0; j < 3; j++) {
                p[j] = j == ax ? sg * h[j] : h[j] * (2 * siren_rng_uniform(&rng) - 1);
                n[j] = j == ax ? sg : 0;
            }
        }
        for (int j = 0; j < 3; j++) {
            v[3 * i + j] = (float)p[j];
            vn[3 * i + j] = (float)n[j];
        }
    }
    siren_mesh cloud = {N, 0, v, vn, NULL};
    siren_config cfg = siren_config_default(3, 1);
    cfg.hidden_features = 64;
    cfg.hidden_layers = 2;
    cfg.first_omega_0 = 5;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 800;
    opt.batch = 1000;
    opt.threads = 2;
    siren_net *net;
    siren_fit_result res;
    const char *name = box ? "box 1 x 0.7 x 0.5" : "torus R 0.5 r 0.2";
    if (siren_fit_sdf(&cloud, NULL, &cfg, &opt, &net, &res)) {
        CHECK(0, "fit sdf on a %s cloud: %s", name, siren_last_error());
        free(v); free(vn);
        return;
    }
    /* |Phi - d| at points within 0.05 of the surface, inside the cube */
    float cx = strtof(siren_net_get_meta(net, "shape_center_x"), NULL);
    float cy = strtof(siren_net_get_meta(net, "shape_center_y"), NULL);
    float cz = strtof(siren_net_get_meta(net, "shape_center_z"), NULL);
    float sc = strtof(siren_net_get_meta(net, "shape_scale"), NULL);
    enum { M = 2000 };
    static float x[M * 3], y[M];
    static double d[M];
    int m = 0;
    while (m < M) {
        double p[3] = {1.2 * siren_rng_uniform(&rng) - 0.6, 1.2 * siren_rng_uniform(&rng) - 0.6,
                       0.8 * siren_rng_uniform(&rng) - 0.4};
        double dd = box ? box_sdf(p) : torus_sdf(p);
        if (fabs(dd) > 0.05) continue;
        x[3 * m] = (float)((p[0] - cx) * sc);
        x[3 * m + 1] = (float)((p[1] - cy) * sc);
        x[3 * m + 2] = (float)((p[2] - cz) * sc);
        if (fabsf(x[3 * m]) > 1 || fabsf(x[3 * m + 1]) > 1 || fabsf(x[3 * m + 2]) > 1) continue;
        d[m++] = dd;
    }
    siren_net_eval(net, x, M, y, 2);
    double mean = 0;
    for (int i = 0; i < M; i++) mean += fabs(y[i] / sc - d[i]) / M;
    /* F-score at 2% of the diagonal: a res-64 grid spacing is 1.6% of it */
    const double diag = box ? sqrt(1.0 + 0.49 + 0.25) : sqrt(1.4 * 1.4 * 2 + 0.16);
    siren_shape_eval ev;
    siren_status st = siren_eval_shape(net, &cloud, 64, 20000, 0.02 * diag, 2, &ev);
    CHECK(mean < 0.01 && st == SIREN_OK && ev.chamfer_rel < 0.01 && ev.fscore > 0.95,
          "%s cloud (%d oriented points), 800 steps: mean |Phi - d| %.4f within "
          "0.05 of the surface (bound 0.01); meshed at res 64: Chamfer %.3f%% of "
          "the diagonal (bound 1%%), F-score %.3f at 2%% of it (bound 0.95)", name, N,
          mean, 100 * ev.chamfer_rel, ev.fscore);
    siren_net_free(net);
    free(v);
    free(vn);
}

int main(void) {
    test_loss_gradient();
    test_errors();
    test_fit_sphere();
    test_fit_analytic(0);
    test_fit_analytic(1);
    TEST_DONE();
}

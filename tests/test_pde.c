/* The PDE solves (src/train/pde.c): the residual operators on analytic
 * solutions (a plane wave solves Helmholtz without a source, a stretched
 * plane wave solves it inside the PML, a travelling Gaussian solves the
 * wave equation), with wrong solutions as controls that must fail; the
 * Helmholtz phase factor (coefficients on the envelope's jets against
 * central differences of v phi, the render multiplying phi back); the
 * collocation sampler; the loss's parameter gradient against central
 * differences on a tiny network; short solves that reduce the loss by a
 * stated factor; the causal weighting in time (weights, the gradient with
 * and without them, a solve); the energy term (the estimator on known
 * densities, the network's energy and the term's gradient against central
 * differences, W = 0 bit for bit); the pulse variance (u0, the t = 0 points,
 * the loss, the energy estimator, the reference, the default bit for bit);
 * checkpoint and resume bit for bit; and the
 * CLI end to end
 * (files and JSON). One thread throughout. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net.h"
#include "siren.h"
#include "tasks/grid.h"
#include "testhelp.h"
#include "train/pde.h"
#include "util/rng.h"

#define PI 3.14159265358979323846

typedef double complex cplx;

/* ------------------------------------------------------------ residuals */

/* The residual of the complex field u, given as the jets (u, u_r, u_c,
 * u_rr, u_cc), through siren_helmholtz_residual. */
static cplx helm_res(const siren_pde_opts *po, double r, double c, const cplx z[5],
                     double src) {
    const double x[2] = {r, c}, u[2] = {creal(z[0]), cimag(z[0])};
    const double du[2][2] = {{creal(z[1]), cimag(z[1])}, {creal(z[2]), cimag(z[2])}};
    const double d2[2][2] = {{creal(z[3]), cimag(z[3])}, {creal(z[4]), cimag(z[4])}};
    double res[2];
    siren_helmholtz_residual(po, x, u, du, d2, src, res);
    return res[0] + I * res[1];
}

/* The official stretch e and the stretched coordinate X with X' = e:
 * X(x) = x - i a0 (d_e^3 - d_w^3) / (3 L^2). */
static cplx stretch(double x, double L, double a0, cplx *e, cplx *de) {
    const double dw = x < -(1 - L) ? -(x + 1 - L) : 0, dd = x > 1 - L ? x - (1 - L) : 0;
    *e = 1 - I * a0 * (dw * dw + dd * dd) / (L * L);
    *de = -I * a0 * 2 * (dd - dw) / (L * L);
    return x - I * a0 * (dd * dd * dd - dw * dw * dw) / (3 * L * L);
}

/* u = exp(i k (d_r X(r) + d_c X(c))): with X = x (stretch off) a plane
 * wave; with the layer's X it solves the stretched equation exactly, since
 * (1/e) d/dx (1/e) d/dx u = -(k d)^2 u. */
static void stretched_wave(const siren_pde_opts *po, double th, double r, double c,
                           int stretched, cplx z[5]) {
    const double k = po->k, dr = cos(th), dc = sin(th);
    cplx er = 1, der = 0, ec = 1, dec = 0, Xr = r, Xc = c;
    if (stretched) {
        Xr = stretch(r, po->pml_width, po->pml_a0, &er, &der);
        Xc = stretch(c, po->pml_width, po->pml_a0, &ec, &dec);
    }
    const cplx u = cexp(I * k * (dr * Xr + dc * Xc));
    const cplx ar = I * k * dr * er, ac = I * k * dc * ec; /* u_r = ar u */
    z[0] = u;
    z[1] = ar * u;
    z[2] = ac * u;
    z[3] = (I * k * dr * der + ar * ar) * u;
    z[4] = (I * k * dc * dec + ac * ac) * u;
}

/* max |residual| / (k^2 |u|) over a grid of points in [lo, hi]^2. */
static double helm_worst(const siren_pde_opts *po, double th, double lo, double hi,
                         int stretched) {
    double worst = 0;
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++) {
            const double r = lo + (hi - lo) * i / 8, c = lo + (hi - lo) * (8 - j) / 8;
            cplx z[5];
            stretched_wave(po, th, r, c, stretched, z);
            const double e = cabs(helm_res(po, r, c, z, 0)) / (po->k * po->k * cabs(z[0]));
            if (e > worst) worst = e;
        }
    return worst;
}

static void test_helmholtz_residual(void) {
    siren_pde_opts po = siren_pde_opts_default();
    /* Outside the layer (|x| <= 0.5) the equation is Δu + k² u = 0. */
    double e = helm_worst(&po, 0.3, -0.5, 0.5, 0);
    CHECK(e < 1e-12, "plane wave e^{ik x.d} solves Helmholtz outside the PML "
                     "(max |r| / k^2|u| = %.2e)", e);
    po.pml_width = 0;
    e = helm_worst(&po, 2.0, -1, 1, 0);
    CHECK(e < 1e-12, "plane wave solves Helmholtz everywhere without a layer (%.2e)", e);
    /* Inside the layer: the complex-stretched wave, in every corner. */
    po = siren_pde_opts_default();
    e = helm_worst(&po, 0.7, -1, 1, 1);
    CHECK(e < 1e-10, "stretched plane wave solves the PML equation on all of "
                     "[-1,1]^2 (%.2e)", e);
    const double ctrl = helm_worst(&po, 0.7, -1, 1, 0);
    CHECK(ctrl > 0.1, "control: the unstretched wave does not solve it inside the "
                      "layer (%.2f)", ctrl);
    po.k = 21;
    cplx z[5];
    siren_pde_opts p20 = siren_pde_opts_default();
    stretched_wave(&p20, 0.3, 0.1, 0.2, 0, z);
    const double wrong = cabs(helm_res(&po, 0.1, 0.2, z, 0)) / (20.0 * 20.0);
    CHECK(wrong > 0.05, "control: a k = 20 wave is no k = 21 solution (%.3f)", wrong);
    /* The source enters as r = (operator) - (1 + 1i) g: the official's
     * "diff_constraint_hom - source_boundary_values". */
    const cplx zero[5] = {0};
    const cplx r0 = helm_res(&p20, 0, 0, zero, 2.5);
    CHECK(cabs(r0 - (-2.5 - 2.5 * I)) < 1e-15, "the source term is -(1+1i) g");
    /* The coefficient form agrees with the residual function. */
    double coef[5][2];
    siren_helmholtz_coefs(&p20, 0.8, -0.9, coef);
    stretched_wave(&p20, 1.1, 0.8, -0.9, 1, z);
    cplx s = 0;
    for (int j = 0; j < 5; j++) s += (coef[j][0] + I * coef[j][1]) * z[j];
    CHECK(cabs(s - helm_res(&p20, 0.8, -0.9, z, 0)) < 1e-9 * cabs(z[0]) * 400,
          "siren_helmholtz_coefs matches siren_helmholtz_residual");
}

/* The phase factor (siren.h phase_eps): with u = v phi, the residual's
 * coefficients on v's jets applied to v give the residual of u, u's jets
 * taken by central differences of v phi in double precision; phi is the
 * outgoing exp(-i k rho). At points in the layer and out of it. */
static cplx some_v(double r, double c) {
    return (0.3 + 0.7 * I) * cexp(I * (1.3 * r - 2.1 * c)) + 0.2 * r * c;
}

static cplx phased_u(const siren_pde_opts *po, double r, double c) {
    double ph[2];
    siren_helmholtz_phase(po, r, c, ph);
    return some_v(r, c) * (ph[0] + I * ph[1]);
}

/* The jets (f, f_r, f_c, f_rr, f_cc) of f by central differences. */
static void fd_jets(const siren_pde_opts *po, int phased, double r, double c, cplx z[5]) {
    const double h = 1e-3;
    cplx f[3][3];
    for (int i = -1; i <= 1; i++)
        for (int j = -1; j <= 1; j++)
            f[i + 1][j + 1] = phased ? phased_u(po, r + i * h, c + j * h)
                                     : some_v(r + i * h, c + j * h);
    z[0] = f[1][1];
    z[1] = (f[2][1] - f[0][1]) / (2 * h);
    z[2] = (f[1][2] - f[1][0]) / (2 * h);
    z[3] = (f[2][1] - 2 * f[1][1] + f[0][1]) / (h * h);
    z[4] = (f[1][2] - 2 * f[1][1] + f[1][0]) / (h * h);
}

static void test_helmholtz_phase(void) {
    siren_pde_opts po = siren_pde_opts_default();
    po.src_row = 0.1;
    po.src_col = -0.2;
    double ph[2];
    siren_helmholtz_phase(&po, 0.5, 0.3, ph);
    CHECK(ph[0] == 1 && ph[1] == 0, "no phase factor by default (phase_eps 0)");
    po.phase_eps = 0.02;
    siren_helmholtz_phase(&po, 0.4, 0.2, ph);
    const double rho = sqrt(0.3 * 0.3 + 0.4 * 0.4 + 0.02 * 0.02);
    CHECK(fabs(ph[0] - cos(20 * rho)) < 1e-15 && fabs(ph[1] + sin(20 * rho)) < 1e-15,
          "phi = exp(-i k rho), rho = sqrt(|x - x0|^2 + eps^2)");
    const double pts[5][2] = {{0.12, -0.19}, {0.3, 0.25}, {-0.45, 0.1}, {0.8, -0.9},
                              {-0.7, 0.95}};
    double worst = 0, ctrl = 0;
    for (int q = 0; q < 5; q++) {
        const double r = pts[q][0], c = pts[q][1];
        double a[5][2], b[5][2];
        siren_helmholtz_coefs(&po, r, c, a);
        siren_helmholtz_phase_coefs(&po, r, c, b);
        cplx zu[5], zv[5], ru = 0, rv = 0, rc = 0;
        fd_jets(&po, 1, r, c, zu);
        fd_jets(&po, 0, r, c, zv);
        for (int j = 0; j < 5; j++) {
            ru += (a[j][0] + I * a[j][1]) * zu[j];
            rv += (b[j][0] + I * b[j][1]) * zv[j];
            rc += (a[j][0] + I * a[j][1]) * zv[j]; /* v's jets, u's coefficients */
        }
        const double scale = 400 * cabs(zu[0]) + 1;
        worst = fmax(worst, cabs(ru - rv) / scale);
        ctrl = fmax(ctrl, cabs(ru - rc) / scale);
    }
    CHECK(worst < 1e-4, "the coefficients on v's jets give the residual of u = v phi, "
                        "in and out of the layer (worst %.2e of k^2 |u|)", worst);
    CHECK(ctrl > 0.1, "control: u's coefficients on v's jets do not (%.2f)", ctrl);
}

/* u(t, r, c) = G(d.x - c t), G a Gaussian: the travelling wave. */
static double wave_worst(const siren_pde_opts *po, double speed, double th) {
    const double s2 = 0.05, dr = cos(th), dc = sin(th);
    double worst = 0;
    for (int i = 0; i < 50; i++) {
        const double t = 0.01 * i, r = -0.5 + 0.02 * i, c = 0.3 - 0.013 * i;
        const double xi = dr * r + dc * c - speed * t, G = exp(-xi * xi / (2 * s2));
        const double G2 = (xi * xi / (s2 * s2) - 1 / s2) * G; /* G'' */
        const double d2[3] = {speed * speed * G2, dr * dr * G2, dc * dc * G2};
        const double e = fabs(siren_wave_residual(po, d2)) / (1 / s2);
        if (e > worst) worst = e;
    }
    return worst;
}

static void test_wave_residual(void) {
    siren_pde_opts po = siren_pde_opts_default();
    double e = wave_worst(&po, 1, 0);
    CHECK(e < 1e-14, "travelling Gaussian f(r - t) solves the 1-D wave equation "
                     "(max |r| / scale = %.2e)", e);
    po.c = 1.7;
    e = wave_worst(&po, 1.7, 0.9);
    CHECK(e < 1e-14, "f(d.x - c t) solves the 2-D wave equation at c = 1.7 (%.2e)", e);
    e = wave_worst(&po, 1.0, 0.9);
    CHECK(e > 0.1, "control: a speed-1 pulse is no c = 1.7 solution (%.2f)", e);
}

/* ------------------------------------------------------------- sampling */

static void test_sources_and_sampling(void) {
    siren_pde_opts po = siren_pde_opts_default();
    double g = siren_pde_source(SIREN_PDE_HELMHOLTZ, &po, 0, 0);
    CHECK(fabs(g - 1 / (2 * PI * 1e-4)) < 1e-9, "Helmholtz source peak 1/(2 pi 1e-4)");
    CHECK(siren_pde_source(SIREN_PDE_HELMHOLTZ, &po, 0.07, 0) == 0,
          "source cut to 0 below 1e-5 (at 0.07 from the centre)");
    g = siren_pde_source(SIREN_PDE_WAVE, &po, 0.01, 0.02);
    CHECK(fabs(g - exp(-5e-4 / 1e-3) / 50) < 1e-12, "wave u0 = Gaussian(var 5e-4) / 50");
    CHECK(siren_pde_src_samples(SIREN_PDE_HELMHOLTZ, &po, 230 * 230) == 100 &&
              siren_pde_src_samples(SIREN_PDE_WAVE, &po, 340 * 340) == 1000 &&
              siren_pde_src_samples(SIREN_PDE_HELMHOLTZ, &po, 100) == 1,
          "near-source points: the official counts at the official batches, at least 1");

    enum { N = 4000, S = 100 };
    float *x = malloc(N * 3 * sizeof *x), *aux = malloc(N * 3 * sizeof *aux);
    siren_rng rng;
    siren_rng_seed(&rng, 7);
    po.src_row = 0.2;
    po.src_col = -0.3;
    siren_pde_sample(SIREN_PDE_HELMHOLTZ, &po, &rng, 0, 10, N, S, x, aux);
    int ok = 1, on = 0;
    for (int i = 0; i < N; i++) {
        const double dr = x[2 * i] - 0.2, dc = x[2 * i + 1] + 0.3;
        if (i >= N - S) ok &= sqrt(dr * dr + dc * dc) <= 0.05 + 1e-6 && aux[3 * i] == 1;
        else ok &= fabsf(x[2 * i]) <= 1 && fabsf(x[2 * i + 1]) <= 1;
        on += aux[3 * i] != 0;
        ok &= (aux[3 * i] != 0) == (aux[3 * i + 1] != 0);
    }
    CHECK(ok && on >= S, "Helmholtz points: uniform, then %d in the source's disk, "
                         "flagged where g != 0 (%d flagged)", S, on);
    /* wave: the window grows with the step; 2S points at t = 0 */
    siren_pde_sample(SIREN_PDE_WAVE, &po, &rng, 0, 100, N, S, x, aux);
    ok = 1;
    for (int i = 0; i < N; i++) ok &= x[3 * i] == 0 && aux[3 * i] == 1;
    CHECK(ok, "wave step 0: the official window [0, 0] puts every point at t = 0");
    po.ramp = 0.5;
    siren_pde_sample(SIREN_PDE_WAVE, &po, &rng, 25, 100, N, S, x, aux);
    float tmax = 0;
    int at0 = 0;
    ok = 1;
    for (int i = 0; i < N; i++) {
        if (x[3 * i] > tmax) tmax = x[3 * i];
        at0 += aux[3 * i] != 0;
        if (i >= N - 2 * S) ok &= x[3 * i] == 0;
        if (i >= N - S) {
            const double dr = x[3 * i + 1] - 0.2, dc = x[3 * i + 2] + 0.3;
            ok &= sqrt(dr * dr + dc * dc) <= 0.25 + 1e-6 && aux[3 * i] == 1;
        }
    }
    CHECK(ok && at0 == 2 * S && tmax <= 0.2f + 1e-6f && tmax > 0.19f,
          "wave halfway through the ramp: t in [0, t_max/2] (max %.3f), %d points at "
          "t = 0, %d of them in the pulse's disk", tmax, at0, S);
    /* weights: each group's official share, so at the official batch and
     * counts every point weighs 1 / n0 (the official loss / n0) */
    double sum = 0, sum_disk = 0;
    for (int i = 0; i < N; i++) {
        sum += aux[3 * i + 2];
        if (i >= N - S) sum_disk += aux[3 * i + 2];
    }
    CHECK(fabs(sum - 1) < 1e-5 && fabs(sum_disk - 1000.0 / 115600) < 1e-6,
          "wave weights: the groups' official shares (sum %.6f, t = 0 disk %.6f)", sum,
          sum_disk);
    free(x);
    free(aux);
    for (int k = 0; k < 2; k++) {
        const size_t n0 = k ? 340 * 340 : 230 * 230, s0 = k ? 1000 : 100;
        x = malloc(n0 * 3 * sizeof *x);
        aux = malloc(n0 * 3 * sizeof *aux);
        siren_pde_sample(k ? SIREN_PDE_WAVE : SIREN_PDE_HELMHOLTZ, &po, &rng, 5, 10, n0, s0,
                         x, aux);
        ok = 1;
        for (size_t i = 0; i < n0; i++) ok &= fabs(aux[3 * i + 2] * (double)n0 - 1) < 1e-6;
        CHECK(ok, "%s at the official batch %zu and counts: every point weighs 1/%zu",
              k ? "wave" : "helmholtz", n0, n0);
        free(x);
        free(aux);
    }
}

/* ------------------------------------------------------------- gradient */

/* The loss's gradient in a few parameters of each layer against central
 * differences of the loss. Returns the worst relative error. */
static double grad_check(siren_pde_kind kind, double phase_eps, int *checked) {
    const int helm = kind == SIREN_PDE_HELMHOLTZ;
    siren_config cfg = siren_config_default(helm ? 2 : 3, helm ? 2 : 1);
    cfg.hidden_features = 12;
    cfg.hidden_layers = 1;
    siren_net *net;
    if (siren_net_create(&cfg, 3, &net)) return INFINITY;
    siren_pde_opts po = siren_pde_opts_default();
    po.phase_eps = phase_eps;
    enum { N = 40 };
    float x[N * 3], aux[N * 3];
    siren_rng rng;
    siren_rng_seed(&rng, 11);
    /* a wave batch halfway through: points at t = 0 and later */
    siren_pde_sample(kind, &po, &rng, 1, 2, N, helm ? 6 : 5, x, aux);
    const size_t P = siren_net_param_count(net);
    float *g = malloc(P * sizeof *g), *p = siren_net_params(net);
    siren_pde_loss(net, kind, &po, x, aux, N, 1, g, NULL);
    /* first-layer weight and bias, hidden weight and bias, output weight
     * and bias: spread over the layout */
    const size_t w0 = (size_t)cfg.in_features * 12, h0 = w0 + 12, hb = h0 + 144;
    const size_t idx[] = {0, 3, w0 + 5, h0 + 17, h0 + 100, hb + 2, hb + 12 + 7,
                          hb + 12 + 12 * (size_t)cfg.out_features};
    double worst = 0;
    *checked = 0;
    for (size_t q = 0; q < sizeof idx / sizeof *idx; q++) {
        const size_t i = idx[q];
        if (i >= P) continue;
        const float p0 = p[i];
        /* the network runs in float: steps below ~1e-3 are lost in its
         * rounding (measured: 9% off at 1e-4, 0.1% at 3e-3); and where an
         * L1 term's kink falls inside the stencil the loss is not smooth
         * there, which the same difference over twice the step shows: such
         * a parameter is left out (at most a few; see the count) */
        double fd[2];
        for (int k = 0; k < 2; k++) {
            const float h = (k ? 6e-3f : 3e-3f) * fmaxf(fabsf(p0), 0.05f);
            p[i] = p0 + h;
            const double lp = siren_pde_loss(net, kind, &po, x, aux, N, 1, NULL, NULL);
            p[i] = p0 - h;
            const double lm = siren_pde_loss(net, kind, &po, x, aux, N, 1, NULL, NULL);
            p[i] = p0;
            fd[k] = (lp - lm) / ((double)(p0 + h) - (double)(p0 - h));
        }
        const double scale = fmax(fmax(fabs(fd[0]), fabs(g[i])), 1e-3);
        if (fabs(fd[0] - fd[1]) > 1e-2 * scale) continue;
        const double e = fabs(fd[0] - g[i]) / scale;
        printf("# %s parameter %zu: gradient %.6g, central difference %.6g\n",
               helm ? "helmholtz" : "wave", i, g[i], fd[0]);
        if (e > worst) worst = e;
        ++*checked;
    }
    free(g);
    siren_net_free(net);
    return worst;
}

static void test_gradients(void) {
    int n;
    double e = grad_check(SIREN_PDE_HELMHOLTZ, 0, &n);
    CHECK(e < 1e-2 && n >= 6, "Helmholtz loss gradient matches central differences in %d "
                    "of 8 parameters (worst relative error %.2e)", n, e);
    e = grad_check(SIREN_PDE_HELMHOLTZ, 0.1, &n);
    CHECK(e < 1e-2 && n >= 6, "Helmholtz loss gradient with the phase factor (eps 0.1) matches "
                    "central differences in %d of 8 parameters (worst %.2e)", n, e);
    e = grad_check(SIREN_PDE_WAVE, 0, &n);
    CHECK(e < 1e-2 && n >= 6, "wave loss gradient (residual, u(0), u_t(0) terms) matches "
                    "central differences in %d of 8 parameters (worst %.2e)", n, e);
}

/* --------------------------------------------------------------- solves */

/* The loss of a fixed batch of points, before and after a short solve
 * from the same initialisation. */
static void short_solve(siren_pde_kind kind, double factor) {
    const int helm = kind == SIREN_PDE_HELMHOLTZ;
    siren_pde_opts po = siren_pde_opts_default();
    po.ramp = 0; /* the wave: the whole window from the start */
    siren_config cfg = siren_config_default(helm ? 2 : 3, helm ? 2 : 1);
    cfg.hidden_features = 32;
    cfg.hidden_layers = 2;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 100;
    opt.batch = 512;
    opt.lr = 1e-4f;
    opt.threads = 1;
    opt.seed = 5;
    enum { NE = 2048 };
    float *x = malloc(NE * 3 * sizeof *x), *aux = malloc(NE * 3 * sizeof *aux);
    siren_rng rng;
    siren_rng_seed(&rng, 99);
    siren_pde_sample(kind, &po, &rng, 1, 1, NE, siren_pde_src_samples(kind, &po, NE), x, aux);
    siren_net *net0, *net;
    siren_pde_result res;
    siren_net_create(&cfg, opt.seed, &net0);
    const double before = siren_pde_loss(net0, kind, &po, x, aux, NE, 1, NULL, NULL);
    siren_status st = helm ? siren_solve_helmholtz(&po, &cfg, &opt, &net, &res)
                           : siren_solve_wave(&po, &cfg, &opt, &net, &res);
    const double after =
        st ? NAN : siren_pde_loss(net, kind, &po, x, aux, NE, 1, NULL, NULL);
    CHECK(!st && res.steps == 100 && after < before / factor,
          "%s: 100 steps (32 wide, 512 points) cut the loss of a fixed batch by over "
          "%gx: %.4g -> %.4g (%.1fx, %.1f s)", helm ? "helmholtz" : "wave", factor,
          before, after, before / after, res.seconds);
    CHECK(!st && !strcmp(siren_net_get_meta(net, "task"), helm ? "helmholtz" : "wave"),
          "%s model records its task", helm ? "helmholtz" : "wave");
    if (!st) siren_net_free(net);
    siren_net_free(net0);
    free(x);
    free(aux);
}

/* A Helmholtz model solved with the phase factor records it, and the
 * render multiplies it back: render = eval times phi at every grid point;
 * without it, render = eval. */
static void test_phase_render(void) {
    siren_pde_opts po = siren_pde_opts_default();
    po.src_row = -0.25;
    po.src_col = 0.5;
    siren_config cfg = siren_config_default(2, 2);
    cfg.hidden_features = 16;
    cfg.hidden_layers = 1;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 3;
    opt.batch = 64;
    opt.threads = 1;
    enum { n = 9 };
    float *grid = siren_image_grid(n, n), field[n * n * 2], raw[n * n * 2];
    for (int k = 0; k < 2; k++) {
        po.phase_eps = k ? 0.03 : 0;
        siren_net *net;
        siren_pde_result res;
        siren_status st = siren_solve_helmholtz(&po, &cfg, &opt, &net, &res);
        if (st) {
            CHECK(0, "phase render: the solve failed: %s", siren_last_error());
            continue;
        }
        siren_render_helmholtz(net, n, 1, field);
        siren_net_eval(net, grid, n * n, raw, 1);
        double worst = 0;
        for (int p = 0; p < n * n; p++) {
            double ph[2];
            siren_helmholtz_phase(&po, grid[2 * p], grid[2 * p + 1], ph);
            const cplx u = (raw[2 * p] + I * raw[2 * p + 1]) * (ph[0] + I * ph[1]);
            worst = fmax(worst, cabs(u - (field[2 * p] + I * field[2 * p + 1])));
        }
        const char *m = siren_net_get_meta(net, "pde_phase_eps");
        CHECK(worst < 1e-5 && (k ? m && fabs(atof(m) - 0.03) < 1e-12 : !m),
              "%s: the render is the network times phi (worst %.1e), the model %s "
              "pde_phase_eps", k ? "phase_eps 0.03" : "no phase factor", worst,
              k ? "records" : "has no");
        siren_net_free(net);
    }
    free(grid);
}

/* The wavenumber curriculum: 0 at the start, k from k_ramp of the steps
 * on, linear in between; off by default. */
static void test_k_ramp(void) {
    siren_pde_opts po = siren_pde_opts_default();
    CHECK(po.k_ramp == 0 && siren_pde_k_at(&po, 0, 100) == 20 &&
              siren_pde_k_at(&po, 99, 100) == 20,
          "no wavenumber curriculum by default: k = 20 from step 0");
    po.k_ramp = 0.25;
    CHECK(siren_pde_k_at(&po, 0, 1000) == 0 && fabs(siren_pde_k_at(&po, 125, 1000) - 10) < 1e-12 &&
              siren_pde_k_at(&po, 250, 1000) == 20 && siren_pde_k_at(&po, 999, 1000) == 20,
          "k_ramp 0.25 of 1000 steps: k 0 at step 0, 10 at 125, 20 from 250 on");
}

/* Causal weighting (siren_pde_opts.causal): the time bins; the weights
 * against the formula; with eps 0 the gradient is the official one bit
 * for bit; with weights, the gradient is the weighted sum of the bins'
 * own gradients and the bins' losses their mean |r|; a short solve uses
 * them; Helmholtz and a negative eps are refused. */
static void test_causal(void) {
    enum { B = SIREN_PDE_CAUSAL_BINS };
    CHECK(siren_pde_time_bin(0, 0.4, B) == 0 && siren_pde_time_bin(-1, 0.4, B) == 0 &&
              siren_pde_time_bin(NAN, 0.4, B) == 0 &&
              siren_pde_time_bin(0.4 * 5.5 / B, 0.4, B) == 5 &&
              siren_pde_time_bin(0.4, 0.4, B) == B - 1 &&
              siren_pde_time_bin(0.4 * (B - 0.5) / B, 0.4, B) == B - 1,
          "time bins: [0, t_max] in %d equal bins, t = 0 in the first, t_max in the "
          "last", B);
    double L[B], w[B];
    for (int i = 0; i < B; i++) L[i] = 0.01 * (1 + i % 5);
    siren_pde_causal_weights(3, L, B, w);
    double worst = 0, prod = 1;
    for (int i = 0; i < B; i++) { /* prod_{k<i} exp(-3 L_k) */
        worst = fmax(worst, fabs(w[i] - prod) / prod);
        prod *= exp(-3 * L[i]);
    }
    CHECK(w[0] == 1 && worst < 1e-12 && w[B - 1] < 0.5,
          "causal weights: w_0 = 1, w_i = exp(-eps sum_{k<i} L_k) (worst relative "
          "error %.1e, last %.3f)", worst, w[B - 1]);
    siren_pde_causal_weights(0, L, B, w);
    int ones = 1;
    for (int i = 0; i < B; i++) ones &= w[i] == 1;
    CHECK(ones, "eps 0: every weight is exactly 1");

    /* a tiny wave network, a batch over the whole window */
    siren_config cfg = siren_config_default(3, 1);
    cfg.hidden_features = 12;
    cfg.hidden_layers = 1;
    siren_net *net;
    siren_net_create(&cfg, 4, &net);
    siren_pde_opts po = siren_pde_opts_default();
    enum { N = 400 };
    float x[N * 3], aux[N * 3];
    siren_rng rng;
    siren_rng_seed(&rng, 21);
    siren_pde_sample(SIREN_PDE_WAVE, &po, &rng, 1, 1, N, 20, x, aux);
    const size_t P = siren_net_param_count(net);
    float *g0 = malloc(P * sizeof *g0), *g1 = malloc(P * sizeof *g1);
    float *gb = malloc(P * sizeof *gb), *gs = calloc(P, sizeof *gs);
    double t0[3], t1[3], bl[B];
    const double l0 = siren_pde_loss(net, SIREN_PDE_WAVE, &po, x, aux, N, 1, g0, t0);
    const double l1 =
        siren_pde_loss_causal(net, SIREN_PDE_WAVE, &po, x, aux, N, 1, w, g1, t1, bl);
    CHECK(l0 == l1 && !memcmp(t0, t1, sizeof t0) && !memcmp(g0, g1, P * sizeof *g0),
          "eps 0: the loss and its gradient are the official ones bit for bit");

    /* weights from this batch's own bin losses, eps such that they fall
     * to about exp(-2) over the bins */
    double cum = 0;
    for (int b = 0; b < B; b++) cum += bl[b];
    siren_pde_causal_weights(2 / cum, bl, B, w);
    double tw[3];
    const double lw =
        siren_pde_loss_causal(net, SIREN_PDE_WAVE, &po, x, aux, N, 1, w, g1, tw, NULL);
    /* each bin's points alone: their loss, gradient and group weights */
    float bx[N * 3], ba[N * 3];
    double sum_w = 0, worst_l = 0;
    int filled = 0;
    for (int b = 0; b < B; b++) {
        size_t m = 0;
        double den = 0;
        for (int i = 0; i < N; i++)
            if (siren_pde_time_bin(x[3 * i], po.t_max, B) == b) {
                memcpy(bx + 3 * m, x + 3 * i, 3 * sizeof *x);
                memcpy(ba + 3 * m, aux + 3 * i, 3 * sizeof *aux);
                den += aux[3 * i + 2];
                m++;
            }
        if (!m) {
            worst_l = fmax(worst_l, fabs(bl[b]));
            continue;
        }
        filled++;
        double tb[3];
        siren_pde_loss(net, SIREN_PDE_WAVE, &po, bx, ba, m, 1, gb, tb);
        /* the initial conditions (bin 0, w_0 = 1) unweighted either way */
        sum_w += w[b] * tb[0] + tb[1] + tb[2];
        worst_l = fmax(worst_l, fabs(bl[b] - tb[0] / den) / (tb[0] / den));
        for (size_t k = 0; k < P; k++) gs[k] += (float)w[b] * gb[k];
    }
    double worst_g = 0, gmax = 0, diff = 0;
    for (size_t k = 0; k < P; k++) gmax = fmax(gmax, fabs(gs[k]));
    for (size_t k = 0; k < P; k++) {
        worst_g = fmax(worst_g, fabs(g1[k] - gs[k]) / gmax);
        diff = fmax(diff, fabs(g1[k] - g0[k]) / gmax);
    }
    CHECK(filled > B / 2 && worst_l < 1e-5,
          "bin losses: each bin's mean |r| (group-weighted), 0 for an empty bin "
          "(%d bins filled, worst %.1e)", filled, worst_l);
    CHECK(w[B - 1] < 0.5 && w[B / 2] > 0.2 && fabs(lw - sum_w) < 1e-6 * sum_w &&
              worst_g < 1e-5 &&
              !memcmp(t0, tw, sizeof t0),
          "weighted: loss and gradient are sum_i w_i (bin i's), the terms still the "
          "official ones (loss %.5g vs %.5g, gradient worst %.1e of its largest, last "
          "weight %.3f)", lw, sum_w, worst_g, w[B - 1]);
    CHECK(diff > 1e-2, "control: the weighted gradient is not the official one "
                       "(%.2g of its largest)", diff);
    free(g0); free(g1); free(gb); free(gs);
    siren_net_free(net);

    /* short solves: causal weights in use, and refused where they do not
     * apply */
    po.ramp = 0;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 20;
    opt.batch = 256;
    opt.threads = 1;
    siren_net *a, *c;
    siren_pde_result ra, rc;
    siren_status sa = siren_solve_wave(&po, &cfg, &opt, &a, &ra);
    po.causal = 0.1;
    siren_status sc = siren_solve_wave(&po, &cfg, &opt, &c, &rc);
    CHECK(!sa && !sc && ra.causal_min_weight == 1 && ra.causal_loss == ra.loss &&
              rc.causal_min_weight >= 0 && rc.causal_min_weight < 1 &&
              rc.causal_loss < rc.loss && isfinite(rc.loss) &&
              memcmp(siren_net_params(a), siren_net_params(c), P * sizeof(float)),
          "wave solve with causal 0.1: a smallest weight of %.3g, the objective %.4g "
          "under the official loss %.4g, another model; off: weight 1",
          rc.causal_min_weight, rc.causal_loss, rc.loss);
    if (!sa) siren_net_free(a);
    if (!sc) siren_net_free(c);
    po.causal = -1;
    sc = siren_solve_wave(&po, &cfg, &opt, &c, &rc);
    CHECK(sc == SIREN_EINVAL, "a negative causal eps is refused");
    siren_pde_opts ph = siren_pde_opts_default();
    ph.causal = 1;
    cfg = siren_config_default(2, 2);
    sc = siren_solve_helmholtz(&ph, &cfg, &opt, &c, &rc);
    CHECK(sc == SIREN_EINVAL, "causal weighting is refused for Helmholtz");
}

/* ------------------------------------------------------------- energy */

/* The energy estimator's sum wq e of one slice for an energy density e
 * given as a function; in, out: the disc's and the outside's parts. */
static void energy_sums(const float *x, const float *wq, size_t n, size_t n_in,
                        double (*e)(const siren_pde_opts *, double, double, double),
                        const siren_pde_opts *po, double *in, double *out) {
    *in = *out = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = wq[i] * e(po, x[3 * i], x[3 * i + 1], x[3 * i + 2]);
        if (i < n_in) *in += v;
        else *out += v;
    }
}

/* c^2 |grad u0|^2 of the initial pulse (of po's variance), from its
 * formula (u_t = 0). */
static double e_pulse(const siren_pde_opts *po, double t, double r, double c) {
    (void)t;
    const double dr = r - po->src_row, dc = c - po->src_col, q = dr * dr + dc * dc;
    const double v = siren_pde_wave_var(po), u = exp(-q / (2 * v)) / 50;
    return po->c * po->c * u * u * q / (v * v);
}

/* A ring u = A exp(-(rho - c t)^2 / (2 v)), rho = |x - x0|: u_t^2 +
 * c^2 |grad u|^2 = 2 c^2 (u (rho - c t) / v)^2, on the ring the estimator
 * is built for. */
static double e_ring(const siren_pde_opts *po, double t, double r, double c) {
    const double rho = hypot(r - po->src_row, c - po->src_col), s = rho - po->c * t;
    const double v = siren_pde_wave_var(po), u = exp(-s * s / (2 * v)) / 50;
    return 2 * po->c * po->c * (u * s / v) * (u * s / v);
}

/* 1 everywhere: the sums are the areas of the disc and of the rest. */
static double e_one(const siren_pde_opts *po, double t, double r, double c) {
    (void)po, (void)t, (void)r, (void)c;
    return 1;
}

/* The energy term (siren_pde_opts.energy): E0 against a quadrature of
 * c^2 |grad u0|^2; the sampler's estimates of known densities (the pulse,
 * a ring at t = 0.3, a constant) over many draws against their integrals,
 * with unweighted means as a control that must fail; the network's E from
 * siren_pde_energy_loss against central differences of siren_net_eval at
 * the same points; the term's gradient against central differences of the
 * term (and a gradient 3% off as a control); W = 0 leaves a solve bit for
 * bit as it was, W > 0 leaves the first step's official loss as it was and
 * changes the model; bad weights and a pulse that would leave the square
 * are refused. */
static void test_energy(void) {
    siren_pde_opts po = siren_pde_opts_default();
    po.c = 0.8;
    po.src_row = 0.1;
    po.src_col = -0.15;
    /* E0: a midpoint rule over the pulse's support (|x - x0| < 0.2) */
    double q = 0;
    const double h = 1e-3;
    for (double r = -0.2 + h / 2; r < 0.2; r += h)
        for (double c = -0.2 + h / 2; c < 0.2; c += h)
            q += h * h * e_pulse(&po, 0, po.src_row + r, po.src_col + c);
    const double e0 = siren_pde_energy0(&po);
    CHECK(fabs(e0 - q) < 1e-6 * q, "energy E0 = c^2 int |grad u0|^2 = %.8g (quadrature "
          "%.8g)", e0, q);

    enum { M = SIREN_PDE_ENERGY_MAX, DRAWS = 400 };
    float x[M * 3], wq[M];
    siren_rng rng;
    siren_rng_seed(&rng, 31);
    /* the ring's energy by a 1-D quadrature in rho */
    const double t1 = 0.3, ct = po.c * t1;
    double ring = 0;
    for (double rho = 1e-5 / 2; rho < ct + 0.3; rho += 1e-5)
        ring += 1e-5 * 2 * PI * rho *
                e_ring(&po, t1, po.src_row + rho, po.src_col);
    const double R = ct + SIREN_PDE_ENERGY_MARGIN;
    struct {
        const char *name;
        double t, exact_in, exact_out;
        double (*e)(const siren_pde_opts *, double, double, double);
    } cases[] = {{"pulse at t = 0", 0, e0, 0, e_pulse},
                 {"ring at t = 0.3", t1, ring, 0, e_ring},
                 {"1 at t = 0.3", t1, PI * R * R, 4 - PI * R * R, e_one}};
    for (int k = 0; k < 3; k++) {
        double m_in = 0, m_out = 0, s2 = 0, naive = 0;
        size_t nmin = M, nmax = 0, nin = 0;
        for (int d = 0; d < DRAWS; d++) {
            const size_t n = siren_pde_energy_sample(&po, &rng, cases[k].t, x, wq, &nin);
            nmin = n < nmin ? n : nmin;
            nmax = n > nmax ? n : nmax;
            double in, out;
            energy_sums(x, wq, n, nin, cases[k].e, &po, &in, &out);
            m_in += in / DRAWS;
            m_out += out / DRAWS;
            s2 += in * in / DRAWS;
            /* control: the disc's points as if uniform (the area over
             * their count), which over-counts the band */
            for (size_t i = 0; i < nin; i++)
                naive += PI * (po.c * cases[k].t + SIREN_PDE_ENERGY_MARGIN) *
                         (po.c * cases[k].t + SIREN_PDE_ENERGY_MARGIN) / nin *
                         cases[k].e(&po, x[3 * i], x[3 * i + 1], x[3 * i + 2]) / DRAWS;
        }
        const double sd = sqrt(fmax(s2 - m_in * m_in, 0)); /* one draw's */
        const double ein = fabs(m_in - cases[k].exact_in) / cases[k].exact_in;
        const double eout = fabs(m_out - cases[k].exact_out) /
                            (cases[k].exact_out > 0 ? cases[k].exact_out : cases[k].exact_in);
        /* the mean of DRAWS draws: within 4 of its standard errors, and
         * 1% */
        CHECK(ein < fmax(0.01, 4 * sd / sqrt(DRAWS) / cases[k].exact_in) && ein < 0.01 &&
                  eout < 0.01 && nmax <= M && nin == 2 * SIREN_PDE_ENERGY_SIDE *
                  SIREN_PDE_ENERGY_SIDE,
              "energy estimator, %s: mean of %d draws in the disc %.6g (exact %.6g, "
              "%.1e off; one draw's relative std %.3f), outside %.3g (exact %.3g), "
              "%zu..%zu points", cases[k].name, DRAWS, m_in, cases[k].exact_in, ein,
              sd / cases[k].exact_in, m_out, cases[k].exact_out, nmin, nmax);
        if (k < 2)
            CHECK(fabs(naive - cases[k].exact_in) > 0.1 * cases[k].exact_in,
                  "control, %s: the disc's points unweighted give %.4g, not %.4g",
                  cases[k].name, naive, cases[k].exact_in);
    }

    /* the network's energy: a tiny wave model, two slices */
    siren_config cfg = siren_config_default(3, 1);
    cfg.hidden_features = 12;
    cfg.hidden_layers = 1;
    siren_net *net;
    siren_net_create(&cfg, 6, &net);
    enum { J = 2 };
    float ex[J * M * 3], ew[J * M];
    size_t en[J], ein[J];
    for (int j = 0; j < J; j++)
        en[j] = siren_pde_energy_sample(&po, &rng, 0.05 + 0.2 * j, ex + 3 * j * M, ew + j * M,
                                        ein + j);
    double parts[3];
    const size_t P = siren_net_param_count(net);
    float *g = malloc(P * sizeof *g), *p = siren_net_params(net);
    const double term = siren_pde_energy_loss(net, &po, ex, ew, en, ein, J, 1, g, parts);
    /* E_in, E_out of each slice from central differences of the values */
    double fd_in = 0, fd_out = 0, fd_term = 0;
    for (int j = 0; j < J; j++) {
        double in = 0, out = 0;
        for (size_t i = 0; i < en[j]; i++) {
            const float *x0 = ex + 3 * (j * M + i);
            double dv[3];
            for (int a = 0; a < 3; a++) {
                const float hh = 1e-3f;
                float xp[3], xm[3], yp, ym;
                memcpy(xp, x0, sizeof xp);
                memcpy(xm, x0, sizeof xm);
                xp[a] += hh;
                xm[a] -= hh;
                siren_net_eval(net, xp, 1, &yp, 1);
                siren_net_eval(net, xm, 1, &ym, 1);
                dv[a] = ((double)yp - ym) / ((double)xp[a] - xm[a]);
            }
            const double e = ew[j * M + i] *
                             (dv[0] * dv[0] + po.c * po.c * (dv[1] * dv[1] + dv[2] * dv[2]));
            if (i < ein[j]) in += e;
            else out += e;
        }
        fd_in += in / e0 / J;
        fd_out += out / e0 / J;
        fd_term += (fabs(in - e0) + out) / e0 / J;
    }
    CHECK(fabs(parts[1] - fd_in) < 1e-2 * fd_in && fabs(parts[2] - fd_out) < 1e-2 * fd_out &&
              fabs(term - fd_term) < 2e-2 * fd_term && term == parts[0],
          "network energy: E_in / E0 %.5g, E_out / E0 %.5g, term %.5g (central "
          "differences of the values: %.5g, %.5g, %.5g)", parts[1], parts[2], term, fd_in,
          fd_out, fd_term);

    /* the term's gradient against central differences of the term */
    const size_t w0 = 3 * 12, h0 = w0 + 12, hb = h0 + 144;
    const size_t idx[] = {0, 4, w0 + 5, h0 + 17, h0 + 100, hb + 2, hb + 12 + 7, hb + 12 + 12};
    double worst = 0, worst_ctl = 0;
    int checked = 0;
    for (size_t k = 0; k < sizeof idx / sizeof *idx; k++) {
        const size_t i = idx[k];
        const float p0 = p[i], st = 3e-3f * fmaxf(fabsf(p0), 0.05f);
        p[i] = p0 + st;
        const double lp = siren_pde_energy_loss(net, &po, ex, ew, en, ein, J, 1, NULL, NULL);
        p[i] = p0 - st;
        const double lm = siren_pde_energy_loss(net, &po, ex, ew, en, ein, J, 1, NULL, NULL);
        p[i] = p0;
        const double fd = (lp - lm) / ((double)(p0 + st) - (double)(p0 - st));
        const double scale = fmax(fmax(fabs(fd), fabs(g[i])), 1e-6 * term);
        printf("# energy parameter %zu: gradient %.6g, central difference %.6g\n", i, g[i],
               fd);
        worst = fmax(worst, fabs(fd - g[i]) / scale);
        worst_ctl = fmax(worst_ctl, fabs(fd - 1.03 * g[i]) / scale);
        checked++;
    }
    CHECK(worst < 1e-2 && checked == 8, "energy term's gradient matches central "
          "differences in %d parameters (worst relative error %.2e)", checked, worst);
    CHECK(worst_ctl > 1e-2, "control: the gradient 3%% off fails that (worst %.2e)",
          worst_ctl);
    free(g);
    siren_net_free(net);

    /* solves: W = 0 is the solve without the term bit for bit; W > 0
     * keeps the first step's official loss and changes the model */
    siren_pde_opts pw = siren_pde_opts_default();
    pw.ramp = 0;
    siren_train_opts opt = siren_train_opts_default();
    opt.batch = 256;
    opt.threads = 1;
    opt.steps = 1;
    siren_net *a, *b, *c;
    siren_pde_result ra, rb, rc;
    siren_status sa = siren_solve_wave(&pw, &cfg, &opt, &a, &ra);
    pw.energy = 0.0; /* the field set explicitly, as the CLI does */
    siren_status sb = siren_solve_wave(&pw, &cfg, &opt, &b, &rb);
    pw.energy = 0.5;
    siren_status sc = siren_solve_wave(&pw, &cfg, &opt, &c, &rc);
    CHECK(!sa && !sb && !sc && ra.loss == rb.loss && ra.loss == rc.loss &&
              !memcmp(ra.terms, rc.terms, sizeof ra.terms) &&
              !memcmp(siren_net_params(a), siren_net_params(b), P * sizeof(float)) &&
              memcmp(siren_net_params(a), siren_net_params(c), P * sizeof(float)) &&
              rb.energy_term == 0 && rc.energy_term > 0 && rc.energy_in > 0,
          "one step: W = 0 is the model without the term bit for bit; W = 0.5 the same "
          "official loss %.6g, another model, the term %.4g (E_in %.3g E0, E_out %.3g E0)",
          ra.loss, rc.energy_term, rc.energy_in, rc.energy_out);
    if (!sa) siren_net_free(a);
    if (!sb) siren_net_free(b);
    if (!sc) siren_net_free(c);
    opt.steps = 20;
    sa = siren_solve_wave(&pw, &cfg, &opt, &a, &ra);
    CHECK(!sa && isfinite(ra.loss) && isfinite(ra.energy_term),
          "20 steps with W = 0.5: loss %.4g, energy term %.4g", ra.loss, ra.energy_term);
    if (!sa) siren_net_free(a);
    pw.energy = -1;
    sa = siren_solve_wave(&pw, &cfg, &opt, &a, &ra);
    pw.energy = 1;
    pw.t_max = 0.95; /* c t_max + 0.1 > 1 */
    sb = siren_solve_wave(&pw, &cfg, &opt, &b, &rb);
    pw.t_max = 0.4;
    pw.src_row = 0.45; /* 0.4 + 0.1 + 0.45 <= 1 */
    sc = siren_solve_wave(&pw, &cfg, &opt, &c, &rc);
    CHECK(sa == SIREN_EINVAL && sb == SIREN_EINVAL && !sc,
          "a negative weight and a disc leaving the square are refused, a shifted "
          "pulse that stays inside is not");
    if (!sc) siren_net_free(c);
    siren_pde_opts ph = siren_pde_opts_default();
    ph.energy = 1;
    cfg = siren_config_default(2, 2);
    sc = siren_solve_helmholtz(&ph, &cfg, &opt, &c, &rc);
    CHECK(sc == SIREN_EINVAL, "the energy term is refused for Helmholtz");
}

/* ------------------------------------------------------- pulse variance */

/* u0 of variance v from its formula (siren.h), with the official cut. */
static double u0_of(double v, double r, double c) {
    const double g = exp(-(r * r + c * c) / (2 * v)) / 50;
    return g < 1e-5 ? 0 : g;
}

/* The Gaussian pulse's free-space solution, the Hankel integral
 * u(rho, t) = A v int k e^(-v k^2 / 2) cos(c k t) J0(k rho) dk (Simpson;
 * as test_pde_fd's). */
static double pulse_exact(double v, double rho, double t) {
    const double K = 14 / sqrt(v);
    const int nk = 2 * (int)(K / 0.02 / 2);
    const double dk = K / nk;
    double s = 0;
    for (int i = 0; i <= nk; i++) {
        const double k = i * dk, w = (i == 0 || i == nk) ? 1 : (i % 2 ? 4 : 2);
        s += w * k * exp(-v * k * k / 2) * cos(k * t) * j0(k * rho);
    }
    return v * s * dk / 3 / 50;
}

/* siren_pde_opts.pulse_var: the default and 0 are the official 5e-4 (the
 * scale of the lengths exactly 1); u0, the t = 0 points' values and disk,
 * and the loss's initial-value term follow another variance; so do the
 * energy estimator's disc and band (a wide pulse's energy is found, not
 * with the official disc: a control) while E0 does not change; the public
 * reference uses it (t = 0 exactly the new Gaussian, t = 0.3 its Hankel
 * solution); solves: 0 is the default bit for bit, 5e-3 another model,
 * recorded in the metadata; out-of-range variances, and the energy term
 * with a disc leaving the square, are refused. */
static void test_pulse_variance(void) {
    siren_pde_opts po = siren_pde_opts_default(), z;
    memset(&z, 0, sizeof z);
    CHECK(po.pulse_var == 5e-4 && siren_pde_wave_var(&z) == 5e-4 &&
              siren_pde_wave_scale(&po) == 1 && siren_pde_wave_scale(&z) == 1 &&
              siren_pde_wave_src_radius(&po) == 0.25 &&
              siren_pde_energy_margin(&po) == SIREN_PDE_ENERGY_MARGIN,
          "pulse variance: default 5e-4 (0 too), lengths scaled by exactly 1");
    const double v = 5e-3;
    po.pulse_var = v;
    const double g = siren_pde_source(SIREN_PDE_WAVE, &po, 0.05, -0.02);
    CHECK(fabs(g - u0_of(v, 0.05, -0.02)) < 1e-15 && fabs(g - u0_of(5e-4, 0.05, -0.02)) > 1e-3,
          "wave u0 with variance %g: %.6g at (0.05, -0.02), as the formula", v, g);
    CHECK(fabs(siren_pde_wave_src_radius(&po) - 0.25 * sqrt(10)) < 1e-12 &&
              fabs(siren_pde_energy_margin(&po) - 0.1 * sqrt(10)) < 1e-12,
          "variance %g: t = 0 disk radius %.4f, energy margin %.4f (x sqrt(10))", v,
          siren_pde_wave_src_radius(&po), siren_pde_energy_margin(&po));
    siren_pde_opts p2 = po;
    p2.pulse_var = 2e-2;
    CHECK(siren_pde_wave_src_radius(&p2) == 1, "variance 2e-2: the disk capped at 1");

    /* the t = 0 points: values and disk; then the loss of a network whose
     * output is 0 (its last layer zeroed): initial-value term = sum of
     * (N0 / 10) w |u0|, with this variance's u0 */
    enum { N = 600, S = 100 };
    float x[N * 3], aux[N * 3];
    siren_rng rng;
    siren_rng_seed(&rng, 41);
    siren_pde_sample(SIREN_PDE_WAVE, &po, &rng, 0, 10, N, S, x, aux); /* all at t = 0 */
    int ok = 1;
    double rmax = 0, want = 0, other = 0;
    for (int i = 0; i < N; i++) {
        const float *p = x + 3 * i, *a = aux + 3 * i;
        ok &= p[0] == 0 && a[0] == 1 && a[1] == (float)u0_of(v, p[1], p[2]);
        if (i >= N - S) rmax = fmax(rmax, hypot(p[1], p[2]));
        want += 0.1 * 340 * 340 * a[2] * u0_of(v, p[1], p[2]);
        other += 0.1 * 340 * 340 * a[2] * u0_of(5e-4, p[1], p[2]);
    }
    CHECK(ok && rmax <= 0.25 * sqrt(10) + 1e-6 && rmax > 0.5,
          "variance %g: t = 0 points carry its u0; the disk's reach out to %.3f", v, rmax);
    siren_config cfg = siren_config_default(3, 1);
    cfg.hidden_features = 12;
    cfg.hidden_layers = 1;
    siren_net *net;
    siren_net_create(&cfg, 8, &net);
    const size_t P = siren_net_param_count(net);
    memset(siren_net_params(net) + P - 13, 0, 13 * sizeof(float)); /* 12 weights, bias */
    double terms[3];
    siren_pde_loss(net, SIREN_PDE_WAVE, &po, x, aux, N, 1, NULL, terms);
    CHECK(fabs(terms[1] - want) < 1e-5 * want && terms[2] == 0 &&
              fabs(other - want) > 0.5 * want,
          "loss of the zero network at t = 0: initial-value term %.6g = sum (N0/10) w "
          "|u0| with variance %g (%.6g; with 5e-4's u0 %.6g)", terms[1], v, want, other);
    siren_net_free(net);

    /* energy: E0 of the wide pulse by quadrature; the estimator's mean */
    double q = 0;
    const double h = 2e-3;
    for (double r = -0.6 + h / 2; r < 0.6; r += h)
        for (double c = -0.6 + h / 2; c < 0.6; c += h) q += h * h * e_pulse(&po, 0, r, c);
    const double e0 = siren_pde_energy0(&po);
    siren_pde_opts narrow = po; /* the official pulse; its disc and band: a control */
    narrow.pulse_var = 5e-4;
    CHECK(fabs(e0 - q) < 1e-6 * q && e0 == siren_pde_energy0(&narrow),
          "E0 = pi c^2 / 50^2 for variance %g too: %.8g (quadrature %.8g)", v, e0, q);
    enum { M = SIREN_PDE_ENERGY_MAX, DRAWS = 200 };
    float ex[M * 3], ew[M];
    for (int k = 0; k < 2; k++) {
        const double t = k ? 0.3 : 0;
        double exact = e0;
        if (k) { /* the ring at t = 0.3 by a 1-D quadrature in rho */
            exact = 0;
            for (double rho = 1e-5 / 2; rho < 1; rho += 1e-5)
                exact += 1e-5 * 2 * PI * rho * e_ring(&po, t, rho, 0);
        }
        double m = 0, mc = 0;
        for (int d = 0; d < DRAWS; d++) {
            size_t nin;
            double in, out;
            size_t n = siren_pde_energy_sample(&po, &rng, t, ex, ew, &nin);
            energy_sums(ex, ew, n, nin, k ? e_ring : e_pulse, &po, &in, &out);
            m += in / DRAWS;
            n = siren_pde_energy_sample(&narrow, &rng, t, ex, ew, &nin);
            energy_sums(ex, ew, n, nin, k ? e_ring : e_pulse, &po, &in, &out);
            mc += in / DRAWS;
        }
        CHECK(fabs(m - exact) < 0.01 * exact && fabs(mc - exact) > 0.1 * exact,
              "energy estimator, variance %g, %s: disc mean of %d draws %.6g (exact %.6g); "
              "with the official disc %.6g", v, k ? "ring at t = 0.3" : "pulse at t = 0",
              DRAWS, m, exact, mc);
    }

    /* the public reference */
    enum { n = 129 };
    const double times[2] = {0, 0.3};
    double *u = malloc(2 * n * n * sizeof *u);
    siren_status st = siren_reference_wave(&po, n, times, 2, u);
    double w0 = 0, num = 0, den = 0;
    for (int i = 0; i < n && !st; i++) {
        for (int j = 0; j < n; j++) {
            const double r = siren_grid_coord(i, n), c = siren_grid_coord(j, n);
            w0 = fmax(w0, fabs(u[i * n + j] - exp(-(r * r + c * c) / (2 * v)) / 50));
        }
        const double ex1 = pulse_exact(v, fabs(siren_grid_coord(i, n)), 0.3);
        const double d = u[n * n + i * n + (n - 1) / 2] - ex1;
        num += d * d;
        den += ex1 * ex1;
    }
    CHECK(!st && w0 < 1e-15 && sqrt(num / den) < 0.01,
          "siren_reference_wave with variance %g: t = 0 the Gaussian (max |diff| %.1e), "
          "t = 0.3 along the row its Hankel solution (rel L2 %.2e)", v, w0, sqrt(num / den));
    free(u);

    /* solves: 0 is the default bit for bit, 5e-3 another model */
    siren_train_opts opt = siren_train_opts_default();
    opt.batch = 256;
    opt.threads = 1;
    opt.steps = 3;
    siren_pde_opts pd = siren_pde_opts_default(), p0 = pd, pv = pd;
    p0.pulse_var = 0;
    pv.pulse_var = v;
    siren_net *a, *b, *c;
    siren_pde_result ra, rb, rc;
    siren_status sa = siren_solve_wave(&pd, &cfg, &opt, &a, &ra);
    siren_status sb = siren_solve_wave(&p0, &cfg, &opt, &b, &rb);
    siren_status sc = siren_solve_wave(&pv, &cfg, &opt, &c, &rc);
    const char *ma = sa ? NULL : siren_net_get_meta(a, "pde_pulse_variance"),
               *mc = sc ? NULL : siren_net_get_meta(c, "pde_pulse_variance");
    CHECK(!sa && !sb && !sc && ra.loss == rb.loss &&
              !memcmp(siren_net_params(a), siren_net_params(b), P * sizeof(float)) &&
              memcmp(siren_net_params(a), siren_net_params(c), P * sizeof(float)) &&
              ra.terms[1] != rc.terms[1] && ma && atof(ma) == 5e-4 && mc && atof(mc) == v,
          "solves: pulse_var 0 is the default bit for bit (loss %.6g); %g another model "
          "(initial-value term %.4g against %.4g), recorded as pde_pulse_variance", ra.loss,
          v, rc.terms[1], ra.terms[1]);
    if (!sa) siren_net_free(a);
    if (!sb) siren_net_free(b);
    if (!sc) siren_net_free(c);
    const double bad[3] = {1e-6, 0.2, NAN};
    int refused = 1;
    for (int k = 0; k < 3; k++) {
        pv.pulse_var = bad[k];
        sc = siren_solve_wave(&pv, &cfg, &opt, &c, &rc);
        refused &= sc == SIREN_EINVAL;
        if (!sc) siren_net_free(c);
    }
    pv.pulse_var = 2e-2; /* the energy disc: 0.4 + 0.1 sqrt(40) > 1 */
    pv.energy = 0.1;
    sa = siren_solve_wave(&pv, &cfg, &opt, &a, &ra);
    pv.pulse_var = v; /* 0.4 + 0.1 sqrt(10) <= 1 */
    sb = siren_solve_wave(&pv, &cfg, &opt, &b, &rb);
    CHECK(refused && sa == SIREN_EINVAL && !sb && rb.energy_in > 0,
          "variances 1e-6, 0.2 and NaN refused; the energy term with 2e-2 refused (its "
          "disc leaves the square), with %g not", v);
    if (!sa) siren_net_free(a);
    if (!sb) siren_net_free(b);
}

static int stop_at_10(void *user, const siren_progress *p) {
    (void)user;
    return p->step == 10;
}

/* sched: with a cosine schedule and warm-up, whose rates come from the
 * step alone, the resume is bit for bit too. */
static void test_resume(int sched) {
    char ck[] = "/tmp/siren_pde_ckXXXXXX";
    int fd = mkstemp(ck);
    if (fd >= 0) close(fd);
    siren_pde_opts po = siren_pde_opts_default();
    siren_config cfg = siren_config_default(3, 1);
    cfg.hidden_features = 16;
    cfg.hidden_layers = 1;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 20;
    opt.batch = 128;
    opt.threads = 1;
    if (sched) {
        opt.lr = 3e-4f;
        opt.lr_schedule = SIREN_LR_COSINE;
        opt.warmup = 4;
    }
    siren_net *a, *b, *c;
    siren_pde_result r;
    siren_status s1 = siren_solve_wave(&po, &cfg, &opt, &a, &r);
    opt.checkpoint = ck;
    opt.progress = stop_at_10;
    siren_status s2 = siren_solve_wave(&po, &cfg, &opt, &b, &r);
    const int stopped = r.steps;
    opt.progress = NULL;
    opt.checkpoint = NULL;
    opt.resume = ck;
    siren_status s3 = siren_solve_wave(&po, &cfg, &opt, &c, &r);
    CHECK(!s1 && !s2 && !s3 && stopped == 10 && r.steps == 20 &&
              !memcmp(siren_net_params(a), siren_net_params(c),
                      siren_net_param_count(a) * sizeof(float)),
          "wave solve%s stopped at step 10 and resumed gives the uninterrupted model "
          "bit for bit", sched ? " (cosine schedule, warm-up 4)" : "");
    if (!s1) siren_net_free(a);
    if (!s2) siren_net_free(b);
    if (!s3) siren_net_free(c);
    unlink(ck);
}

static void test_rel_l2(void) {
    enum { n = 5 };
    double ref[n * n * 2];
    float net[n * n * 2];
    for (int i = 0; i < n * n * 2; i++) {
        ref[i] = 1;
        net[i] = 1;
    }
    /* (row 2, col 2) is the centre: inside the box 0.5; (0, 0) outside */
    net[(2 * n + 2) * 2] = 3;
    net[0] = 100;
    const double inside = siren_pde_rel_l2(1, n, 2, ref, net, 0.5);
    CHECK(fabs(inside - sqrt(4.0 / 18)) < 1e-12, "rel L2 over the box only (%.4f)", inside);
    const double all = siren_pde_rel_l2(1, n, 2, ref, net, 1);
    CHECK(fabs(all - sqrt((4.0 + 99 * 99) / 50)) < 1e-12, "rel L2 over the whole grid");
}

/* ------------------------------------------------------------------ CLI */

static int exists(const char *dir, const char *name) {
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0 && sb.st_size > 0;
}

static void test_cli(void) {
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char bin[512], cmd[2048], dir[] = "/tmp/siren_pde_cliXXXXXX";
    snprintf(bin, sizeof bin, "%s/siren", build);
    if (access(bin, X_OK) || !mkdtemp(dir)) {
        printf("# skip CLI checks: %s not built\n", bin);
        return;
    }
    snprintf(cmd, sizeof cmd, "%s solve helmholtz -o %s/h --steps 3 --batch 256 "
             "--hidden 16 --layers 1 --res 33 --threads 1 --compare --json "
             ">%s/h.json 2>/dev/null", bin, dir, dir);
    int rc = system(cmd);
    char h[600], json[4096] = "";
    snprintf(h, sizeof h, "%s/h", dir);
    snprintf(cmd, sizeof cmd, "%s/h.json", dir);
    FILE *f = fopen(cmd, "r");
    if (f) {
        size_t k = fread(json, 1, sizeof json - 1, f);
        json[k] = 0;
        fclose(f);
    }
    CHECK(rc == 0 && exists(h, "model.safetensors") && exists(h, "real.png") &&
              exists(h, "imag.png") && exists(h, "magnitude.png") &&
              exists(h, "field.npy") && exists(h, "reference_real.png") &&
              exists(h, "difference.png") && exists(h, "comparison.png") &&
              strstr(json, "\"rel_l2_error\":") && strstr(json, "\"reference_seconds\":") &&
              strstr(json, "\"steps\":3"),
          "siren solve helmholtz --compare --json writes the model, pictures, field.npy "
          "and the JSON");
    snprintf(cmd, sizeof cmd, "%s solve wave -o %s/w --steps 2 --batch 256 --hidden 8 "
             "--layers 1 --res 17 --frames 3 --threads 1 --compare --quiet", bin, dir);
    rc = system(cmd);
    snprintf(h, sizeof h, "%s/w", dir);
    CHECK(rc == 0 && exists(h, "u.npy") && exists(h, "frames/0000.png") &&
              exists(h, "frames/0002.png") && exists(h, "reference_frames/0001.png") &&
              exists(h, "comparison.png"),
          "siren solve wave --compare writes u.npy, frames/%%04d.png and the reference");
    snprintf(cmd, sizeof cmd, "%s solve wave --k 3 >/dev/null 2>&1", bin);
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "siren solve wave --k is a usage error (2)");
    snprintf(cmd, sizeof cmd, "%s solve helmholtz --causal 1 >/dev/null 2>&1", bin);
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2,
          "siren solve helmholtz --causal is a usage error (2)");
    snprintf(cmd, sizeof cmd, "%s solve wave -o %s/c --steps 3 --batch 256 --hidden 8 "
             "--layers 1 --res 9 --frames 2 --threads 1 --causal 10 --json --quiet "
             ">%s/c.json", bin, dir, dir);
    rc = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/c.json", dir);
    json[0] = 0;
    if ((f = fopen(cmd, "r"))) {
        size_t k = fread(json, 1, sizeof json - 1, f);
        json[k] = 0;
        fclose(f);
    }
    CHECK(rc == 0 && strstr(json, "\"causal\":10") && strstr(json, "\"causal_loss\":") &&
              strstr(json, "\"causal_min_weight\":"),
          "siren solve wave --causal 10 --json reports the eps, the weighted loss and "
          "the smallest weight");
    snprintf(cmd, sizeof cmd, "%s solve helmholtz --energy 1 >/dev/null 2>&1", bin);
    rc = system(cmd);
    snprintf(cmd, sizeof cmd, "%s solve wave --energy 1 --t-max 1 >/dev/null 2>&1", bin);
    const int rc2 = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2 && WIFEXITED(rc2) && WEXITSTATUS(rc2) == 2,
          "siren solve helmholtz --energy, and wave --energy with --t-max 1, are usage "
          "errors (2)");
    snprintf(cmd, sizeof cmd, "%s solve wave -o %s/e --steps 3 --batch 256 --hidden 8 "
             "--layers 1 --res 9 --frames 2 --threads 1 --energy 0.1 --json --quiet "
             ">%s/e.json", bin, dir, dir);
    rc = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/e.json", dir);
    json[0] = 0;
    if ((f = fopen(cmd, "r"))) {
        size_t k = fread(json, 1, sizeof json - 1, f);
        json[k] = 0;
        fclose(f);
    }
    CHECK(rc == 0 && strstr(json, "\"energy\":0.1") && strstr(json, "\"energy_term\":") &&
              strstr(json, "\"energy_in\":") && strstr(json, "\"energy_out\":"),
          "siren solve wave --energy 0.1 --json reports the weight, the term and the "
          "energy in and outside the disc");
    snprintf(cmd, sizeof cmd, "%s solve wave -o %s/v --steps 2 --batch 256 --hidden 8 "
             "--layers 1 --res 9 --frames 2 --threads 1 --pulse-variance 5e-3 --compare "
             "--json --quiet >%s/v.json", bin, dir, dir);
    rc = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/v.json", dir);
    json[0] = 0;
    if ((f = fopen(cmd, "r"))) {
        size_t k = fread(json, 1, sizeof json - 1, f);
        json[k] = 0;
        fclose(f);
    }
    CHECK(rc == 0 && strstr(json, "\"pulse_variance\":0.005") &&
              strstr(json, "\"rel_l2_error\":"),
          "siren solve wave --pulse-variance 5e-3 --compare --json reports the variance");
    const char *bad[] = {"wave --pulse-variance 0.2", "wave --pulse-variance 1e-6",
                         "helmholtz --pulse-variance 1e-3",
                         "wave --pulse-variance 2e-2 --energy 0.1"};
    int all2 = 1;
    for (int k = 0; k < 4; k++) {
        snprintf(cmd, sizeof cmd, "%s solve %s >/dev/null 2>&1", bin, bad[k]);
        rc = system(cmd);
        all2 &= WIFEXITED(rc) && WEXITSTATUS(rc) == 2;
    }
    CHECK(all2, "--pulse-variance outside 1e-5..0.1, for helmholtz, or with --energy "
          "whose disc leaves the square is a usage error (2)");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) printf("# could not remove %s\n", dir);
}

int main(void) {
    test_helmholtz_residual();
    test_helmholtz_phase();
    test_wave_residual();
    test_sources_and_sampling();
    test_gradients();
    test_rel_l2();
    short_solve(SIREN_PDE_HELMHOLTZ, 5);
    short_solve(SIREN_PDE_WAVE, 5);
    test_phase_render();
    test_k_ramp();
    test_causal();
    test_energy();
    test_pulse_variance();
    test_resume(0);
    test_resume(1);
    test_cli();
    TEST_DONE();
}

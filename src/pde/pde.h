/* Finite-difference reference solvers for the PDE tasks (the official
 * SIREN code's train_helmholtz.py and train_wave_equation.py), written
 * independently of any network so that a fitted SIREN can be scored
 * against them (`siren solve helmholtz|wave --compare`): the relative L2
 * error of a network's field against one of these on the same grid.
 *
 * Grid. Both solvers use the project's pixel grid: linspace(-1, 1, n) per
 * axis, fields row-major (n, n), element [i*n + j] at (row, col) =
 * (x_i, x_j), x_i = -1 + 2i/(n-1). The official get_mgrid gives the network
 * the same pair as its input (x[..., 0], x[..., 1]) = (row, col), so a
 * network evaluated on siren_image_grid(n, n) lines up with these arrays
 * point for point. h = 2/(n-1).
 *
 * Outputs are double: the references must be far more accurate than any
 * network they judge. Nothing here prints, exits or uses threads. */
#ifndef SIREN_PDE_PDE_H
#define SIREN_PDE_PDE_H

#include <stddef.h>

#include "siren.h"

/* Largest grid side either solver accepts (SIREN_ELIMIT beyond). */
#define SIREN_FD_MAX_N 8192

/* What a solve did. */
typedef struct {
    int iterations;      /* Helmholtz: BiCGSTAB iterations; wave: time steps */
    double rel_residual; /* Helmholtz: ||b - A u|| / ||b|| at the end */
    double dt;           /* wave: the largest time step taken */
    int refine;          /* wave: the grid refinement used */
} siren_fd_stats;

/* ---------------------------------------------------------------- Helmholtz
 *
 * The equation, exactly as the official loss (loss_functions.helmholtz_pml)
 * states its residual, with r = row = x[..., 0], c = col = x[..., 1]:
 *
 *   ∂r( (e_c/e_r) ∂r u ) + ∂c( (e_r/e_c) ∂c u ) + e_r e_c k² q u = f
 *
 *   e_r = 1 - i a0 (d_r / L)²,  d_r = max(0, |r| - (1 - L))   (e_c alike)
 *
 * (official: sx = k a0 ((d_west/L)² + (d_east/L)²), ex = 1 - i sx/k, so
 * the k cancels; A = ey/ex, B = ex/ey, C = ex ey). Outside the layer
 * (|r|, |c| <= 1 - L) this is Δu + k² q u = f, i.e. the official's
 * "lapl + k² u - source = 0": the source enters with a PLUS sign on the
 * right-hand side, and is not multiplied by e_r e_c. Dividing by e_r e_c
 * gives the usual complex stretching (1/e_r)∂r((1/e_r)∂r u) + ... + k² q u,
 * which damps the outgoing wave (i/4) s H0^(2)(k ρ) ~ e^{-ikρ} (time
 * convention e^{+iωt}; the official's closed-form reference uses the same
 * Hankel function). u is complex; the official network writes it as two
 * outputs (Re u, Im u).
 *
 * Official problem (SingleHelmholtzSource, velocity 'uniform'): k = 20,
 * q = 1, L = 0.5, a0 = 5, f = (1 + 1i) g(x - x0) with g the unit-mass
 * Gaussian of VARIANCE 1e-4 (the official gaussian() takes its `sigma` as
 * the variance: std 0.01) centred at source_coords (0, 0); the official
 * sets values below 1e-5 to zero, which we do not (they are below 1e-8
 * of its peak 1/(2π 1e-4)). Its 'gt' field, 0.25j H0^(2)(kρ) s hx hy, is
 * the delta-source solution scaled by the pixel area hx hy; our field is
 * the solution of the PDE the network is trained on, without that factor.
 *
 * Discretisation: second-order conservative 5-point stencil, the flux
 * coefficients e_c/e_r and e_r/e_c evaluated at the half points
 * (r_{i±1/2}, c_j) and (r_i, c_{j±1/2}), e_r e_c k² q at the node;
 * u = 0 (or the given Dirichlet data) on the four edges, which the layer
 * shields; the source cell-averaged over [x_i ± h/2] x [x_j ± h/2] (exact
 * erf integrals), so its mass is right even on grids coarser than its
 * 0.01 width. The complex-symmetric, indefinite system on the (n-2)²
 * interior nodes is solved by BiCGSTAB, right-preconditioned by one
 * multigrid V-cycle for a shifted operator (k² -> (1 - β i) k², β =
 * precond_shift, and the layer's a0 capped at 2; details in fdref.c):
 * 30 to 45 iterations for the official k = 20 on grids from 61 to 961.
 * Accuracy against the free-space field (i/4) s e^{-k² v/2} H0^(2)(kρ)
 * outside the layer and the source: 1.5% at n = 161, 0.7% at the official
 * n = 230 (1.6 s on one core), second order. */
typedef struct {
    int n;                   /* grid side, >= 3 */
    double k;                /* wavenumber ω (official 20) */
    double src_row, src_col; /* source centre (official source_coords (0, 0)) */
    double src_re, src_im;   /* source amplitude (official 1 + 1i) */
    double src_var;          /* Gaussian variance (official sigma 1e-4) */
    double pml_width;        /* L (official 0.5); 0: no layer */
    double pml_a0;           /* a0 (official 5) */
    const double *slowness2; /* (n, n) squared slowness q, NULL: q = 1 */
    double tol;              /* stop at ||b - A u|| <= tol ||b|| (1e-10) */
    int max_iter;            /* BiCGSTAB iterations before SIREN_ELIMIT (2000) */
    double precond_shift;    /* β of the preconditioner (0.5) */
} siren_fd_helmholtz_opts;

/* The official problem on an n x n grid. */
siren_fd_helmholtz_opts siren_fd_helmholtz_opts_default(int n);

/* The official source f (n, n): amplitude times the cell average of the
 * Gaussian; the edge entries, which the solver ignores, included. */
siren_status siren_fd_helmholtz_source(const siren_fd_helmholtz_opts *o,
                                       double *f_re, double *f_im);

/* Solve the official problem: u (n, n) as (re, im), zero on the edges.
 * stats may be NULL. SIREN_ELIMIT when BiCGSTAB has not reached the
 * tolerance in max_iter iterations (u then holds its last iterate),
 * SIREN_EDIVERGED when it breaks down or meets a non-finite number. */
siren_status siren_fd_helmholtz(const siren_fd_helmholtz_opts *o,
                                double *u_re, double *u_im, siren_fd_stats *stats);

/* The same operator with any right-hand side f (n, n) (its edge entries
 * ignored) and Dirichlet data: on entry the edge entries of u (n, n) are
 * the boundary values and its interior the initial guess; on return u
 * holds the solution. The src_* fields of o are not used. */
siren_status siren_fd_helmholtz_solve(const siren_fd_helmholtz_opts *o,
                                      const double *f_re, const double *f_im,
                                      double *u_re, double *u_im,
                                      siren_fd_stats *stats);

/* --------------------------------------------------------------------- wave
 *
 * The equation, as the official loss (loss_functions.wave_pml, residual
 * u_tt - Δu / q with squared slowness q = 1 for velocity 'uniform'):
 *
 *   u_tt = c² (u_rr + u_cc)  on [-1, 1]² x [0, T],
 *   u(0, x) = A exp(-|x - x0|² / (2 v)),  u_t(0, x) = 0
 *
 * Official (WaveSource): x0 = source_coords (0, 0), v = 5e-4 (again a
 * variance), A = 1/50 (the unit-mass Gaussian divided by 50 times its own
 * peak), c = 1, trained on t in [0, 0.4]; values below 1e-5 (5e-4 of the
 * peak, at ρ = 0.087) set to zero there, not here.
 *
 * Boundary: the official network sees no boundary condition; the wave is
 * trained for short times, before it reaches the box. We put u = 0 on the
 * edges of the square [-1 - M, 1 + M]², M = margin rounded up to the
 * solver's grid, and return its [-1, 1]² part (whose edges are then 0 when
 * margin = 0). By finite propagation speed (method of
 * images), the edges change no returned point while
 *   c t < 1 + 2 margin - max(|x0_row|, |x0_col|) - 6 √v
 * (6 √v: where the Gaussian has fallen below e^-18 of its peak). For the
 * official source and times (T <= 0.4; 0.75 in its comments) margin 0
 * already gives the free-space wave; raise margin for longer times.
 *
 * Discretisation: 5-point Laplacian, leapfrog in time in its velocity
 * (kick-drift-kick) form, which with a constant step is exactly Störmer's
 * u^{n+1} = 2u^n - u^{n-1} + dt² c² Δ_h u^n started by the Taylor step for
 * zero velocity; each interval between requested times is cut into equal
 * steps dt <= cfl h / c, stable for cfl <= 1/√2, so every requested time
 * is hit exactly; second order in h and dt.
 *
 * Resolution: the official pulse is narrow (standard deviation 0.022), and
 * on the official 340-point grid (h = 0.0059, 3.8 points per standard
 * deviation) the scheme's dispersion costs 9% relative L2 error by
 * t = 0.4. So the solver may run on a finer grid of spacing h / refine
 * whose every refine-th node is an output node (no interpolation). refine
 * 0 picks it: for the Gaussian, the smallest factor giving 10 points per
 * standard deviation (within 4096 nodes per side): 1.1% error at t = 0.4
 * on the 340 grid (refine 3, 0.6 s); for a caller's init, 1. */

/* An initial displacement u(0, row, col), for tests and other sources. */
typedef double (*siren_fd_field_fn)(double row, double col, void *ctx);

typedef struct {
    int n;                   /* output grid side, >= 3 */
    double c;                /* wave speed (official 1) */
    double src_row, src_col; /* Gaussian centre x0 (official (0, 0)) */
    double src_var;          /* Gaussian variance v (official 5e-4) */
    double amplitude;        /* peak A (official 1/50) */
    double margin;           /* extra domain beyond [-1, 1] per side (0) */
    double cfl;              /* c dt / h, in (0, 1/√2] (0.5) */
    int refine;              /* solve on spacing h/refine (>= 1); 0: auto (0) */
    siren_fd_field_fn init;  /* NULL: the Gaussian above */
    void *init_ctx;
} siren_fd_wave_opts;

/* The official problem on an n x n grid. */
siren_fd_wave_opts siren_fd_wave_opts_default(int n);

/* u (nt, n, n): the field at times[0..nt-1] (non-decreasing, >= 0, finite;
 * t = 0 gives the initial displacement). stats may be NULL. */
siren_status siren_fd_wave(const siren_fd_wave_opts *o, const double *times,
                           int nt, double *u, siren_fd_stats *stats);

/* --------------------------------------------------------------- comparison */

/* Relative L2 error ||net - ref|| / ||ref|| over the (n, n) grid points with
 * max(|row|, |col|) <= box (1: all of them; 1 - L: the Helmholtz field
 * outside the layer). Complex fields as (re, im) pairs; pass NULL for both
 * imaginary parts of a real field. NaN when ref is zero there. */
double siren_fd_rel_l2(int n, const double *ref_re, const double *ref_im,
                       const float *net_re, const float *net_im, double box);

#endif

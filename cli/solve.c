/* siren solve helmholtz|wave [-o OUTDIR]: fit a SIREN to a PDE through its
 * derivatives (the library's siren_solve_*), write the model, the field as
 * .npy and pictures, and with --compare score it against the library's
 * finite-difference reference on the same grid. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char *solve_help =
    "Usage: siren solve helmholtz [-o OUTDIR] [options]\n"
    "       siren solve wave [-o OUTDIR] [options]\n"
    "\n"
    "Solve a PDE with a SIREN trained only through its exact derivatives\n"
    "(jets) against the equation's residual at fresh random points every\n"
    "step, as the official train_helmholtz.py / train_wave_equation.py (L1\n"
    "losses helmholtz_pml, wave_pml, with their weights). Coordinates (row,\n"
    "col) in [-1, 1]^2, row -1 at the top of the pictures.\n"
    "\n"
    "  helmholtz  d_r((e_c/e_r) d_r u) + d_c((e_r/e_c) d_c u) + e_r e_c k^2 u\n"
    "             = (1+1i) g: a point source g (a unit-mass Gaussian of\n"
    "             variance 1e-4) at --source, u complex as two outputs, a\n"
    "             perfectly matched layer e = 1 - i a0 (d/L)^2 of width L at\n"
    "             the edges (official L 0.5, a0 5, k 20). Writes\n"
    "             OUTDIR/model.safetensors, real.png, imag.png (blue < 0 <\n"
    "             red), magnitude.png and field.npy (res, res, 2) = (Re, Im).\n"
    "  wave       u_tt = c^2 (u_rr + u_cc) for t in [0, --t-max], u(0) a\n"
    "             Gaussian of variance 5e-4 (--pulse-variance) and peak 1/50\n"
    "             at --source, u_t(0) = 0; inputs (t, row, col). Writes\n"
    "             OUTDIR/model.safetensors, frames/%04d.png (frame k at\n"
    "             t = k t_max / (frames - 1), from 0000) and u.npy (frames,\n"
    "             res, res).\n"
    "\n"
    "--compare also solves the problem by finite differences on the same\n"
    "grid (Helmholtz: the same layer, preconditioned BiCGSTAB; wave: leapfrog\n"
    "on a refined grid, free space), prints the relative L2 error\n"
    "||net - ref|| / ||ref|| (Helmholtz: outside the layer, |row|, |col| <=\n"
    "1 - L, where the field is the physical one; also over the whole grid;\n"
    "wave: over all frames) and writes OUTDIR/reference.npy, the reference's\n"
    "pictures (reference_real.png, reference_imag.png,\n"
    "reference_magnitude.png; wave: reference_frames/%04d.png),\n"
    "difference.png (net - ref on the field's colour scale; wave: the frames\n"
    "side by side) and comparison.png (network | reference | difference;\n"
    "wave: one row each, frames across).\n"
    "\n"
    "Options (defaults sized for a 2-core CPU, ~10 minutes; official in [ ]):\n"
    "  -o, --output DIR     output folder, created if missing (helmholtz, wave)\n"
    "  --k K                helmholtz: wavenumber (20)\n"
    "  --source R,C         source / pulse centre (row, col) (0,0)\n"
    "  --pml-width L        helmholtz: layer width (0.5)\n"
    "  --pml-a0 A           helmholtz: layer strength (5)\n"
    "  --k-ramp F           helmholtz: a curriculum, the wavenumber rising from\n"
    "                       0 to --k over the first F of the steps (0) [0]\n"
    "  --phase EPS          helmholtz: the network gives the envelope v of\n"
    "                       u = v exp(-i k rho), rho = sqrt(|x - source|^2 +\n"
    "                       EPS^2), the outgoing phase factored out; the loss\n"
    "                       is the same residual of u (0.02; 0: the network\n"
    "                       gives u) [0]\n"
    "  --c C                wave: speed (1)\n"
    "  --t-max T            wave: time span (0.4)\n"
    "  --ramp F             wave: the sampled time window grows from 0 to\n"
    "                       t-max over the first F of the steps (0.5) [1]\n"
    "  --frames N           wave: frames written (8)\n"
    "  --pulse-variance V   wave: variance of the initial Gaussian, 1e-5..0.1;\n"
    "                       its peak stays 1/50; the t = 0 disk around the\n"
    "                       source and --energy's disc margin and band scale\n"
    "                       with its standard deviation; the reference uses it\n"
    "                       (5e-4) [5e-4]\n"
    "  --causal EPS         wave: causal weighting in time (Wang et al. 2022):\n"
    "                       [0, t-max] in 32 bins, the residual of bin i\n"
    "                       weighted by exp(-EPS (L_0 + ... + L_{i-1})), L_k\n"
    "                       the mean |residual| of bin k at the previous step\n"
    "                       (1 at the first); the initial conditions\n"
    "                       unweighted (0: off, the official loss) [0]\n"
    "  --energy W           wave: add W mean_j (|E_in - E0| + E_out) / E0 to\n"
    "                       the objective, E the energy (integral of\n"
    "                       u_t^2 + c^2 |grad u|^2, conserved) at 4 times a step\n"
    "                       in the window, inside the disc |x - source| <=\n"
    "                       c t + 0.1 and outside it, E0 its value at t = 0\n"
    "                       (0.1 times sqrt(V / 5e-4) with --pulse-variance V;\n"
    "                       0: off, the official loss) [0]\n"
    "  --src-samples N      points per step in the disk around the source\n"
    "                       (wave: at t = 0, and as many again uniform at t = 0);\n"
    "                       the loss weights them so that it stays the same\n"
    "                       (--batch / 16 for helmholtz, / 8 for the wave;\n"
    "                       0: the official fraction, 100 of 230^2, 1000 of 340^2)\n"
    "  --steps N            Adam steps (2500) [50000, 100000]\n"
    "  --batch N            collocation points per step (helmholtz 4096,\n"
    "                       wave 2048) [230^2, 340^2]\n"
    "  --lr X               learning rate (1e-4) [2e-5]\n"
    "  --lr-schedule S      const, cosine (half a cosine from --lr down to\n"
    "                       --lr-final) or exp (geometric) (cosine) [const]\n"
    "  --lr-final X         the rate at the end of cosine or exp (1e-6)\n"
    "  --warmup N           first N steps: the rate rises linearly to --lr (0)\n"
    "  --hidden N           hidden width (helmholtz 256, wave 256) [256, 512]\n"
    "  --layers N           hidden layers (3)\n"
    "  --omega0 W           omega_0 of the first layer (helmholtz 30, wave 60)\n"
    "                       [30]\n"
    "  --omega0-hidden W    omega_0 of the hidden layers (30)\n"
    "  --seed N             seed of the initialisation and sampling (0)\n"
    "  --threads N          threads (all cores)\n"
    "  --res N              grid side of the outputs and the reference (256)\n"
    "  --compare            score against the finite-difference reference\n"
    "  --log FILE.csv       write step,seconds,loss,metric for every step\n"
    "  --checkpoint FILE    write the training state there atomically (at the\n"
    "                       end, on SIGINT/SIGTERM, every --checkpoint-every)\n"
    "  --checkpoint-every N steps between checkpoints (0: only those)\n"
    "  --resume FILE        continue from a checkpoint (same options, seed,\n"
    "                       threads: bit for bit the uninterrupted run)\n"
    "  --max-jump F         divergence guard: undo a step whose loss jumps\n"
    "                       over F times the last good one (100; 0: off)\n"
    "  --max-retries N      rollbacks before giving up (5)\n"
    "  --json               print one JSON object on stdout at the end\n"
    "  --quiet              no progress bar, no summary line\n"
    "  -h, --help           this text\n"
    "\n"
    "The loss is the official one divided by its batch: each group of points\n"
    "(uniform; near the source; at t = 0) weighted by its official share over\n"
    "its count, so any --batch and --src-samples estimate the same loss.\n"
    "--json: {\"problem\", \"steps\", \"seconds\", \"loss\",\n"
    "\"loss_terms\" (the official loss, also with --causal), ...; wave:\n"
    "\"pulse_variance\"; with\n"
    "--causal \"causal\", \"causal_loss\" (the weighted objective) and\n"
    "\"causal_min_weight\" (the last step's smallest bin weight); with\n"
    "--energy \"energy\", \"energy_term\" (the last step's, before W),\n"
    "\"energy_in\" and \"energy_out\" (its mean E_in / E0, E_out / E0); with\n"
    "--compare \"rel_l2_error\", \"reference_seconds\"}.\n";

/* ------------------------------------------------------------- pictures */

/* Colour maps: piecewise linear between five stops. Diverging (blue, white,
 * red; v in [-1, 1]) for signed fields, viridis-like (v in [0, 1]) for
 * magnitudes. */
static const float diverging[5][3] = {{0.02f, 0.19f, 0.38f}, {0.26f, 0.58f, 0.76f},
                                      {0.97f, 0.97f, 0.97f}, {0.84f, 0.38f, 0.30f},
                                      {0.40f, 0.00f, 0.12f}};
static const float sequential[5][3] = {{0.267f, 0.005f, 0.329f}, {0.229f, 0.322f, 0.546f},
                                       {0.128f, 0.567f, 0.551f}, {0.369f, 0.789f, 0.383f},
                                       {0.993f, 0.906f, 0.144f}};

static void colour(const float stops[5][3], float p, float *rgb) {
    if (!(p > 0)) p = 0; /* NaN too */
    if (p > 1) p = 1;
    float s = 4 * p;
    int k = (int)s;
    if (k > 3) k = 3;
    float f = s - k;
    for (int c = 0; c < 3; c++) rgb[c] = stops[k][c] + f * (stops[k + 1][c] - stops[k][c]);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of |v| over n values with stride (nearest rank); 1 when
 * that is 0 or not finite. */
static double abs_quantile(const float *v, size_t n, size_t stride, double q) {
    float *t = malloc(n * sizeof *t);
    if (!t) cli_die("out of memory");
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i * stride])) t[cnt++] = fabsf(v[i * stride]);
    double s = 0;
    if (cnt) {
        qsort(t, cnt, sizeof *t, cmp_float);
        s = t[(size_t)(q * (cnt - 1) + 0.5)];
    }
    free(t);
    return s > 0 && isfinite(s) ? s : 1;
}

/* An n x n RGB picture of values v[p * stride] (signed: diverging map over
 * [-s, s]; else |v| sequential over [0, s]). */
static siren_image picture(const float *v, size_t stride, int n, double s, int is_signed) {
    siren_image img = {n, n, 3, malloc((size_t)n * n * 3 * sizeof(float))};
    if (!img.data) cli_die("out of memory");
    for (size_t p = 0; p < (size_t)n * n; p++) {
        const double x = v[p * stride] / s;
        if (is_signed) colour(diverging, (float)(0.5 + 0.5 * x), img.data + 3 * p);
        else colour(sequential, (float)x, img.data + 3 * p);
    }
    return img;
}

/* dir/name in buf (4096 bytes); exits when it does not fit. */
static const char *join(char *buf, const char *dir, const char *name) {
    if ((size_t)snprintf(buf, 4096, "%s/%s", dir, name) >= 4096)
        cli_die("%s: the path is too long", dir);
    return buf;
}

static void write_picture(const char *dir, const char *name, siren_image img) {
    char path[4096];
    if (siren_image_write_png(join(path, dir, name), &img)) cli_fail();
    siren_image_free(&img);
}

/* A panel of rows x cols n x n pictures with 4-pixel white gaps; pictures
 * are given row-major and freed. */
enum { GAP = 4 };
static void write_panel(const char *dir, const char *name, siren_image *pics, int rows,
                        int cols, int n) {
    const int w = cols * n + (cols - 1) * GAP, h = rows * n + (rows - 1) * GAP;
    siren_image img = {w, h, 3, malloc((size_t)w * h * 3 * sizeof(float))};
    if (!img.data) cli_die("out of memory");
    for (size_t i = 0; i < (size_t)w * h * 3; i++) img.data[i] = 1;
    for (int a = 0; a < rows; a++)
        for (int b = 0; b < cols; b++) {
            siren_image *p = pics + a * cols + b;
            for (int r = 0; r < n; r++)
                memcpy(img.data + (((size_t)a * (n + GAP) + r) * w + (size_t)b * (n + GAP)) * 3,
                       p->data + (size_t)r * n * 3, (size_t)n * 3 * sizeof(float));
            siren_image_free(p);
        }
    write_picture(dir, name, img);
}

static void write_npy_file(const char *dir, const char *name, const float *data, int ndim,
                           const size_t *shape) {
    char path[4096];
    if (siren_npy_write(join(path, dir, name), data, ndim, shape)) cli_fail();
}

static void make_dir(const char *path) {
    if (mkdir(path, 0777) && errno != EEXIST)
        cli_die("%s: cannot create the folder: %s", path, strerror(errno));
    struct stat sb;
    if (stat(path, &sb) || !S_ISDIR(sb.st_mode)) cli_die("%s: not a folder", path);
}

static float *to_float(const double *d, size_t n) {
    float *f = malloc(n * sizeof *f);
    if (!f) cli_die("out of memory");
    for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
    return f;
}

/* |u| of n complex values (re, im). */
static float *magnitudes(const float *f, size_t n) {
    float *m = malloc(n * sizeof *m);
    if (!m) cli_die("out of memory");
    for (size_t p = 0; p < n; p++) m[p] = hypotf(f[2 * p], f[2 * p + 1]);
    return m;
}

/* ---------------------------------------------------------------- solve */

typedef struct {
    int helm, res, frames, compare, json, quiet, threads;
    const char *outdir, *log_path;
    siren_pde_opts po;
    siren_config cfg;
    siren_train_opts opt;
} solve_args;

/* The interrupted or diverged outcomes, as siren fit reports them. */
static int fit_trouble(siren_status st, const solve_args *a, siren_net *net,
                       const siren_pde_result *res) {
    char path[4096];
    join(path, a->outdir, "model.safetensors");
    if (st == SIREN_EDIVERGED) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", siren_last_error());
        if (siren_net_save(net, path) == SIREN_OK)
            fprintf(stderr, "siren: %s; that model was written to %s\n", msg, path);
        else
            fprintf(stderr, "siren: %s; saving it failed too: %s\n", msg, siren_last_error());
        siren_net_free(net);
        return EXIT_BAD_INPUT;
    }
    if (st) cli_fail();
    if (cli_interrupted && res->steps < a->opt.steps) {
        if (a->opt.checkpoint)
            fprintf(stderr, "siren: interrupted at step %d of %d; checkpoint written to "
                            "%s (continue with --resume %s)\n",
                    res->steps, a->opt.steps, a->opt.checkpoint, a->opt.checkpoint);
        else
            fprintf(stderr, "siren: interrupted at step %d of %d; nothing written "
                            "(--checkpoint FILE keeps the state)\n",
                    res->steps, a->opt.steps);
        siren_net_free(net);
        return 128 + (int)cli_interrupted;
    }
    return 0;
}

static int run_solve(solve_args *a) {
    make_dir(a->outdir);
    cli_progress prog;
    cli_progress_open(&prog, a->helm ? "helmholtz" : "wave", a->quiet, a->log_path);
    a->opt.progress = cli_progress_cb;
    a->opt.user = &prog;
    cli_catch_signals();
    siren_net *net = NULL;
    siren_pde_result res;
    siren_status st = a->helm ? siren_solve_helmholtz(&a->po, &a->cfg, &a->opt, &net, &res)
                              : siren_solve_wave(&a->po, &a->cfg, &a->opt, &net, &res);
    cli_progress_close(&prog, st == SIREN_OK);
    int rc = fit_trouble(st, a, net, &res);
    if (rc) return rc;
    char path[4096];
    if (siren_net_save(net, join(path, a->outdir, "model.safetensors"))) cli_fail();

    const int n = a->res, F = a->helm ? 1 : a->frames, m = a->helm ? 2 : 1;
    const size_t nn = (size_t)n * n, total = (size_t)F * nn * m;
    double *times = malloc(F * sizeof *times);
    float *field = malloc(total * sizeof *field);
    if (!times || !field) cli_die("out of memory");
    for (int k = 0; k < F; k++) times[k] = F > 1 ? a->po.t_max * k / (F - 1) : 0;
    st = a->helm ? siren_render_helmholtz(net, n, a->threads, field)
                 : siren_render_wave(net, n, times, F, a->threads, field);
    if (st) cli_fail();

    /* the reference first: pictures of both share its colour scale */
    double *ref = NULL, ref_seconds = 0, rel = NAN, rel_all = NAN;
    double *rel_frame = NULL;
    float *reff = NULL;
    if (a->compare) {
        ref = malloc(total * sizeof *ref);
        rel_frame = malloc(F * sizeof *rel_frame);
        if (!ref || !rel_frame) cli_die("out of memory");
        double t0 = cli_seconds();
        st = a->helm ? siren_reference_helmholtz(&a->po, n, ref)
                     : siren_reference_wave(&a->po, n, times, F, ref);
        ref_seconds = cli_seconds() - t0;
        if (st) cli_fail();
        reff = to_float(ref, total);
        if (a->helm) {
            rel = siren_pde_rel_l2(1, n, 2, ref, field, 1 - a->po.pml_width);
            rel_all = siren_pde_rel_l2(1, n, 2, ref, field, 1);
        } else {
            rel = rel_all = siren_pde_rel_l2(F, n, 1, ref, field, 1);
            for (int k = 0; k < F; k++)
                rel_frame[k] = siren_pde_rel_l2(1, n, 1, ref + k * nn, field + k * nn, 1);
        }
    }
    const float *scale_src = reff ? reff : field;

    if (a->helm) {
        size_t shape[3] = {(size_t)n, (size_t)n, 2};
        write_npy_file(a->outdir, "field.npy", field, 3, shape);
        const double s = abs_quantile(scale_src, 2 * nn, 1, 0.99);
        float *mag = magnitudes(field, nn), *rmag = reff ? magnitudes(reff, nn) : NULL;
        float *diff = NULL;
        if (reff) {
            if (!(diff = malloc(nn * sizeof *diff))) cli_die("out of memory");
            for (size_t p = 0; p < nn; p++) diff[p] = field[2 * p] - reff[2 * p];
        }
        const double sm = abs_quantile(reff ? rmag : mag, nn, 1, 0.99);
        write_picture(a->outdir, "real.png", picture(field, 2, n, s, 1));
        write_picture(a->outdir, "imag.png", picture(field + 1, 2, n, s, 1));
        write_picture(a->outdir, "magnitude.png", picture(mag, 1, n, sm, 0));
        if (reff) {
            write_npy_file(a->outdir, "reference.npy", reff, 3, shape);
            write_picture(a->outdir, "reference_real.png", picture(reff, 2, n, s, 1));
            write_picture(a->outdir, "reference_imag.png", picture(reff + 1, 2, n, s, 1));
            write_picture(a->outdir, "reference_magnitude.png", picture(rmag, 1, n, sm, 0));
            write_picture(a->outdir, "difference.png", picture(diff, 1, n, s, 1));
            siren_image pics[3] = {picture(field, 2, n, s, 1), picture(reff, 2, n, s, 1),
                                   picture(diff, 1, n, s, 1)};
            write_panel(a->outdir, "comparison.png", pics, 1, 3, n);
        }
        free(mag); free(rmag); free(diff);
    } else {
        size_t shape[3] = {(size_t)F, (size_t)n, (size_t)n};
        write_npy_file(a->outdir, "u.npy", field, 3, shape);
        /* the colour scale: the largest |u| after t = 0, so the spreading
         * wave is visible (the initial pulse saturates, as the official
         * summaries clamp) */
        double s = 0;
        for (size_t i = F > 1 ? nn : 0; i < total; i++) s = fmax(s, fabs(scale_src[i]));
        if (!(s > 0) || !isfinite(s)) s = 1;
        char sub[4096], name[64];
        join(sub, a->outdir, "frames");
        make_dir(sub);
        for (int k = 0; k < F; k++) {
            snprintf(name, sizeof name, "%04d.png", k);
            write_picture(sub, name, picture(field + k * nn, 1, n, s, 1));
        }
        if (reff) {
            write_npy_file(a->outdir, "reference.npy", reff, 3, shape);
            join(sub, a->outdir, "reference_frames");
            make_dir(sub);
            float *diff = malloc(total * sizeof *diff);
            siren_image *pics = malloc(3 * F * sizeof *pics);
            if (!diff || !pics) cli_die("out of memory");
            for (size_t i = 0; i < total; i++) diff[i] = field[i] - reff[i];
            for (int k = 0; k < F; k++) {
                snprintf(name, sizeof name, "%04d.png", k);
                write_picture(sub, name, picture(reff + k * nn, 1, n, s, 1));
                pics[k] = picture(diff + k * nn, 1, n, s, 1);
            }
            write_panel(a->outdir, "difference.png", pics, 1, F, n);
            for (int k = 0; k < F; k++) {
                pics[k] = picture(field + k * nn, 1, n, s, 1);
                pics[F + k] = picture(reff + k * nn, 1, n, s, 1);
                pics[2 * F + k] = picture(diff + k * nn, 1, n, s, 1);
            }
            write_panel(a->outdir, "comparison.png", pics, 3, F, n);
            free(pics);
            free(diff);
        }
    }

    const double ms = res.steps ? 1e3 * res.seconds / res.steps : 0;
    if (!a->quiet) {
        fprintf(stderr, "%s: %d steps of %zu points in %.1f s (%.1f ms/step), loss %.4e; "
                        "written to %s\n",
                a->helm ? "helmholtz" : "wave", res.steps, (size_t)a->opt.batch,
                res.seconds, ms, res.loss, a->outdir);
        if (a->po.causal > 0)
            fprintf(stderr, "causal weighting eps %g: weighted loss %.4e, smallest time-bin "
                            "weight %.3g at the last step\n",
                    a->po.causal, res.causal_loss, res.causal_min_weight);
        if (a->po.energy > 0)
            fprintf(stderr, "energy term (weight %g): %.4e at the last step, energy in the "
                            "disc %.3f E0, outside %.3f E0\n",
                    a->po.energy, res.energy_term, res.energy_in, res.energy_out);
        if (a->compare && a->helm)
            fprintf(stderr, "relative L2 error against finite differences: %.4f outside "
                            "the layer (|row|, |col| <= %g), %.4f over the whole grid; "
                            "reference %.2f s\n",
                    rel, 1 - a->po.pml_width, rel_all, ref_seconds);
        else if (a->compare)
            fprintf(stderr, "relative L2 error against finite differences: %.4f over %d "
                            "frames (t = 0 .. %g); reference %.2f s\n",
                    rel, F, a->po.t_max, ref_seconds);
    }
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "problem", a->helm ? "helmholtz" : "wave");
        cJSON_AddStringToObject(o, "outdir", a->outdir);
        cJSON_AddNumberToObject(o, "steps", res.steps);
        cJSON_AddNumberToObject(o, "seconds", res.seconds);
        cJSON_AddNumberToObject(o, "ms_per_step", ms);
        cJSON_AddNumberToObject(o, "ms_per_step_median", res.step_ms_median);
        cJSON_AddNumberToObject(o, "batch", (double)a->opt.batch);
        cJSON_AddNumberToObject(o, "loss", res.loss);
        cJSON_AddItemToObject(o, "loss_terms", cJSON_CreateDoubleArray(res.terms, 3));
        cJSON_AddNumberToObject(o, "params", (double)siren_net_param_count(net));
        cJSON_AddNumberToObject(o, "seed", (double)a->opt.seed);
        cJSON_AddNumberToObject(o, "res", n);
        if (!a->helm) cJSON_AddNumberToObject(o, "pulse_variance", a->po.pulse_var);
        if (a->po.causal > 0) {
            cJSON_AddNumberToObject(o, "causal", a->po.causal);
            cJSON_AddNumberToObject(o, "causal_loss", res.causal_loss);
            cJSON_AddNumberToObject(o, "causal_min_weight", res.causal_min_weight);
        }
        if (a->po.energy > 0) {
            cJSON_AddNumberToObject(o, "energy", a->po.energy);
            cJSON_AddNumberToObject(o, "energy_term", res.energy_term);
            cJSON_AddNumberToObject(o, "energy_in", res.energy_in);
            cJSON_AddNumberToObject(o, "energy_out", res.energy_out);
        }
        if (a->compare) {
            cJSON_AddNumberToObject(o, "rel_l2_error", rel);
            if (a->helm) {
                cJSON_AddNumberToObject(o, "rel_l2_error_all", rel_all);
                cJSON_AddNumberToObject(o, "rel_l2_box", 1 - a->po.pml_width);
            } else {
                cJSON_AddItemToObject(o, "rel_l2_error_per_frame",
                                      cJSON_CreateDoubleArray(rel_frame, F));
                cJSON_AddItemToObject(o, "frame_times", cJSON_CreateDoubleArray(times, F));
            }
            cJSON_AddNumberToObject(o, "reference_seconds", ref_seconds);
        }
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    }
    free(times); free(field); free(ref); free(reff); free(rel_frame);
    siren_net_free(net);
    return 0;
}

/* "R,C" as two numbers in [-1, 1]. */
static void parse_source(const char *cmd, const char *s, double *r, double *c) {
    char buf[128];
    const char *comma = strchr(s, ',');
    if (!comma || strlen(s) >= sizeof buf)
        cli_usage_error(cmd, "--source %s: expected ROW,COL", s);
    memcpy(buf, s, comma - s);
    buf[comma - s] = 0;
    *r = cli_double(cmd, "--source", buf, -1, 1);
    *c = cli_double(cmd, "--source", comma + 1, -1, 1);
}

int cli_solve(int argc, char **argv) {
    const char *cmd = "solve";
    if (argc >= 1 && (cli_flag(argv[0], "--help") || cli_flag(argv[0], "-h"))) {
        fputs(solve_help, stdout);
        return 0;
    }
    if (argc < 1) cli_usage_error(cmd, "missing the problem (helmholtz or wave)");
    solve_args a;
    memset(&a, 0, sizeof a);
    a.helm = !strcmp(argv[0], "helmholtz");
    if (!a.helm && strcmp(argv[0], "wave"))
        cli_usage_error(cmd, "unknown problem '%s' (helmholtz or wave)", argv[0]);
    a.po = siren_pde_opts_default();
    a.po.ramp = 0.5;
    a.cfg = siren_config_default(a.helm ? 2 : 3, a.helm ? 2 : 1);
    /* The wave's pulse (std 0.022) collapses into a ring within t = 0.05:
     * the first layer's frequencies, up to omega_0 / 3 per input at init,
     * must reach it (measured at these defaults: rel. L2 1.19 at 60 against
     * 2.79 at 30; at 90 the pulse vanishes after t = 0) */
    if (!a.helm) a.cfg.first_omega_0 = 60;
    /* Outside the layer Re u and Im u solve the same real equation, and
     * only the layer tells the outgoing wave from a standing one: the
     * network given u settles on a standing wave near the source and
     * cancels it beyond r = 0.1 (rel. L2 0.91 with --phase 0; README).
     * Factoring out the outgoing phase makes the outgoing wave the smooth
     * one (rel. L2 0.18 against 0.97 at 1200 steps of 2048 points, README);
     * eps 0.02, twice the source's width, rounds the phase's cone at the
     * source off (0.01 and 0.04 did worse there: 0.25, 0.30) */
    if (a.helm) a.po.phase_eps = 0.02;
    /* The wave's causal weighting (--causal) stays off: at these defaults
     * eps 0.01 and 0.1 gave rel. L2 1.23 and 1.42 against 1.19 without,
     * and at 800 steps eps 0.1 to 10 shut the later time bins, whose
     * field then grew into noise (12 to 20 against 2.79; README). The
     * energy term (--energy) stays off too: at 800 steps W 0.1 to 3 gave
     * 1.67 to 1.77 against 2.78, but at these defaults W 0.1 gave 1.49
     * against 1.19 (the energy kept, in a blob that lags the ring) */
    a.opt = siren_train_opts_default();
    a.opt.steps = 2500;
    a.opt.batch = a.helm ? 4096 : 2048;
    a.opt.lr = 1e-4f;
    /* Adam's steps of lr leave output noise of about 1e-3, the wave's ring
     * height; decaying the rate 100-fold removes it (README: measured) */
    a.opt.lr_schedule = SIREN_LR_COSINE;
    a.opt.lr_final = 1e-6f;
    a.res = 256;
    a.frames = 8;
    a.outdir = a.helm ? "helmholtz" : "wave";
    int helm_only = 0, wave_only = 0, src_set = 0;
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (cli_flag(s, "--help") || cli_flag(s, "-h")) {
            fputs(solve_help, stdout);
            return 0;
        } else if (cli_flag(s, "--json")) a.json = 1;
        else if (cli_flag(s, "--quiet")) a.quiet = 1;
        else if (cli_flag(s, "--compare")) a.compare = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                 (v = cli_opt(cmd, argc, argv, &i, "--output"))) a.outdir = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--k"))) {
            a.po.k = cli_double(cmd, "--k", v, 0, 1e4);
            helm_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--source")))
            parse_source(cmd, v, &a.po.src_row, &a.po.src_col);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--pml-width"))) {
            a.po.pml_width = cli_double(cmd, "--pml-width", v, 0, 1);
            helm_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--k-ramp"))) {
            a.po.k_ramp = cli_double(cmd, "--k-ramp", v, 0, 1);
            helm_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--phase"))) {
            a.po.phase_eps = cli_double(cmd, "--phase", v, 0, 1);
            helm_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--pml-a0"))) {
            a.po.pml_a0 = cli_double(cmd, "--pml-a0", v, 0, 1e6);
            helm_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--c"))) {
            a.po.c = cli_double(cmd, "--c", v, 1e-6, 1e4);
            wave_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--t-max"))) {
            a.po.t_max = cli_double(cmd, "--t-max", v, 1e-6, 1e4);
            wave_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--ramp"))) {
            a.po.ramp = cli_double(cmd, "--ramp", v, 0, 1);
            wave_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--causal"))) {
            a.po.causal = cli_double(cmd, "--causal", v, 0, 1e6);
            wave_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--energy"))) {
            a.po.energy = cli_double(cmd, "--energy", v, 0, 1e6);
            wave_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--pulse-variance"))) {
            a.po.pulse_var = cli_double(cmd, "--pulse-variance", v, 1e-5, 0.1);
            wave_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--frames"))) {
            a.frames = (int)cli_int(cmd, "--frames", v, 1, 10000);
            wave_only = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--src-samples"))) {
            a.po.src_samples = (size_t)cli_int(cmd, "--src-samples", v, 0, 1L << 30);
            src_set = 1;
        }
        else if ((v = cli_opt(cmd, argc, argv, &i, "--steps")))
            a.opt.steps = (int)cli_int(cmd, "--steps", v, 0, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--batch")))
            a.opt.batch = (size_t)cli_int(cmd, "--batch", v, 1, 1L << 30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--lr")))
            a.opt.lr = (float)cli_double(cmd, "--lr", v, 1e-12, 10);
        else if (cli_lr_schedule_opt(cmd, argc, argv, &i, &a.opt))
            continue;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--hidden")))
            a.cfg.hidden_features = (int)cli_int(cmd, "--hidden", v, 1, 8192);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--layers")))
            a.cfg.hidden_layers = (int)cli_int(cmd, "--layers", v, 0, 64);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0-hidden")))
            a.cfg.hidden_omega_0 = (float)cli_double(cmd, "--omega0-hidden", v, 1e-6, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0")))
            a.cfg.first_omega_0 = (float)cli_double(cmd, "--omega0", v, 1e-6, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--seed")))
            a.opt.seed = (uint64_t)cli_int(cmd, "--seed", v, 0, __LONG_MAX__);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            a.opt.threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--res")))
            a.res = (int)cli_int(cmd, "--res", v, 3, 4096);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--log"))) a.log_path = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--checkpoint-every")))
            a.opt.checkpoint_every = (int)cli_int(cmd, "--checkpoint-every", v, 0, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--checkpoint"))) a.opt.checkpoint = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--resume"))) a.opt.resume = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-jump")))
            a.opt.jump_factor = cli_double(cmd, "--max-jump", v, 0, 1e30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-retries")))
            a.opt.max_retries = (int)cli_int(cmd, "--max-retries", v, 0, 1000);
        else if (s[0] == '-' && s[1]) cli_usage_error(cmd, "unknown option %s", s);
        else cli_usage_error(cmd, "unexpected argument '%s'", s);
    }
    if (a.helm && wave_only)
        cli_usage_error(cmd, "--c, --t-max, --ramp, --frames, --causal, --energy and "
                             "--pulse-variance are for the wave");
    if (!a.helm && helm_only)
        cli_usage_error(cmd, "--k, --k-ramp, --pml-width and --pml-a0 are for helmholtz");
    /* the library's check (siren.h, energy), as a usage error before any
     * work: the disc of radius c t + 0.1 sqrt(V / 5e-4) must stay inside
     * the square */
    const double margin = 0.1 * sqrt(a.po.pulse_var / 5e-4);
    if (a.po.energy > 0 &&
        a.po.c * a.po.t_max + margin + fmax(fabs(a.po.src_row), fabs(a.po.src_col)) > 1)
        cli_usage_error(cmd, "--energy needs the pulse inside the square: --c times "
                             "--t-max + %g + max |source| must be at most 1 (%g: 0.1 "
                             "times sqrt(--pulse-variance / 5e-4))", margin, margin);
    if (a.opt.checkpoint_every > 0 && !a.opt.checkpoint)
        cli_usage_error(cmd, "--checkpoint-every needs --checkpoint FILE");
    /* More near-source (wave: t = 0) points than the official fraction:
     * the weights keep the loss the same, and on a small batch they pin
     * the source and the initial conditions down with less noise
     * (measured: faint rings by 2000 steps with 256, none with 8) */
    if (!src_set) {
        a.po.src_samples = a.opt.batch / (a.helm ? 16 : 8);
        if (!a.po.src_samples) a.po.src_samples = 1;
    }
    const size_t src = a.po.src_samples;
    if (src && (a.helm ? src : 2 * src) > a.opt.batch)
        cli_usage_error(cmd, "--src-samples %zu does not fit in --batch %zu%s", src,
                        (size_t)a.opt.batch, a.helm ? "" : " twice");
    a.threads = a.opt.threads;
    return run_solve(&a);
}

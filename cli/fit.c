/* siren fit TASK INPUT... -o MODEL: parse the common fit options, run the
 * task, write the model, report. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *fit_help =
    "Usage: siren fit image IMAGE -o MODEL.safetensors [options]\n"
    "       siren fit grad IMAGE -o MODEL.safetensors [options]\n"
    "       siren fit lapl IMAGE -o MODEL.safetensors [options]\n"
    "       siren fit compose A B [--mask M] -o MODEL.safetensors [options]\n"
    "       siren fit sdf SHAPE -o MODEL.safetensors [options]\n"
    "       siren fit occupancy MESH -o MODEL.safetensors [options]\n"
    "       siren fit audio SOUND -o MODEL.safetensors [options]\n"
    "       siren fit video FRAMES -o MODEL.safetensors [options]\n"
    "\n"
    "Fit a SIREN to an image (PNG, JPEG, BMP, PGM, PPM), (row, col) in\n"
    "linspace(-1, 1) -> output:\n"
    "  image    the values, mapped from [0, 1] to [-1, 1]; MSE\n"
    "  grad     only the gradients of the gray image (10 x Sobel for a square\n"
    "           image, as the official code); loss mean |grad Phi - target|^2\n"
    "  lapl     only its Laplacian (1e4 x the 5-point Laplacian for a square\n"
    "           image); loss mean (lapl Phi - target)^2\n"
    "  compose  Poisson image editing: the gradients of A and B (B resized\n"
    "           to A's size) blended: with --mask M (white = B), m B + (1-m) A;\n"
    "           without, each pixel takes the stronger gradient\n"
    "For grad, lapl and compose the image is read back from the network up to\n"
    "what derivatives cannot see (a constant; for lapl an affine plane), fitted\n"
    "after training and stored in the model; `siren render` shows it.\n"
    "\n"
    "Inpainting (image, as the official train_img_inpainting.py): --keep-frac F\n"
    "fits only a random F of the pixels (drawn from --seed), --mask M only the\n"
    "white ones of M; --prior tv|hessian adds k1 x the mean |dPhi/dx_j| (tv) or\n"
    "the mean Frobenius norm of the Hessian (hessian) at random points in\n"
    "[-1, 1]^2. Data term as the official image_mse with a mask: the kept\n"
    "pixels' squared errors over the count of all pixels. The PSNR reported is\n"
    "over ALL pixels (psnr_kept_db: the kept ones); `siren eval MODEL IMAGE`\n"
    "compares the model with the whole image.\n"
    "\n"
    "Shapes (PLY, XYZ or OBJ), (x, y, z) -> output, after centring and scaling\n"
    "into [-1, 1]^3 as the official code (the transform is kept in the model):\n"
    "  sdf       signed distance from oriented points: a point cloud with\n"
    "            normals, one without (normals estimated from its --normal-k\n"
    "            nearest neighbours), or a mesh (--points samples by area);\n"
    "            the official loss: 3e3 |Phi| and 1e2 (1 - cos(grad Phi, n)) on\n"
    "            the surface, 1e2 exp(-100 |Phi|) off it (uniform in the cube),\n"
    "            5e1 | |grad Phi| - 1 | everywhere. --batch N: N surface points\n"
    "            per step, drawn with replacement, plus N off-surface points\n"
    "            (default 10000; steps 2000)\n"
    "  occupancy inside/outside of a closed mesh at --points points (half\n"
    "            uniform, half near the surface), sigmoid output, binary\n"
    "            cross-entropy (default points 1000000, batch 20000, steps 2000)\n"
    "`siren mesh` extracts the surface.\n"
    "\n"
    "Audio (WAV, FLAC, OGG: what libsndfile reads), t = linspace(-1, 1, frames)\n"
    "-> samples divided by their largest magnitude (the scale is kept in the\n"
    "model), one output per channel (--channels mix: their mean); defaults as\n"
    "the official train_audio.py: first-layer omega_0 3000, 1000 steps, full\n"
    "batch. `siren render MODEL -o out.wav [--rate HZ]` plays it back.\n"
    "\n"
    "Video: a folder of frames (PNG, JPEG, BMP, PGM, PPM in natural name order),\n"
    "a pattern such as frames/%04d.png (from 0 or 1 up to the first gap), or a\n"
    "video file when ffmpeg is on PATH; (t, row, col), each linspace(-1, 1) ->\n"
    "values mapped to [-1, 1]. Each step draws --sample-frac of all voxels\n"
    "(0.0038, as the official train_video.py; --batch N draws N instead). The\n"
    "official network is --hidden 1024. `siren render MODEL -o out/%04d.png\n"
    "[--frames N] [--size WxH]` renders any frame count and size.\n"
    "\n"
    "Many inputs: with a folder, a glob ('imgs/*.png', quoted) or -o ending in\n"
    "'/', each input is fitted to its own model OUTDIR/NAME.safetensors, with\n"
    "OUTDIR/summary.csv (input, model, status, PSNR, seconds, params, steps,\n"
    "rank, error); run it again to resume (done inputs are skipped). Under\n"
    "mpirun (when built with Open MPI) the inputs are shared among the ranks;\n"
    "with one input, the ranks train it data-parallel (rank 0 writes).\n"
    "\n"
    "Options (defaults: the official recipe):\n"
    "  -o, --output FILE    model file to write (safetensors), required\n"
    "  --size WxH           resample the input (video: every frame) first (area\n"
    "                       average when shrinking)\n"
    "  --mask M             compose: blend mask, white = B; image: inpainting,\n"
    "                       fit only the white pixels of M (the image's size,\n"
    "                       after --size)\n"
    "  --keep-frac F        image: inpainting, fit only round(F x pixels) random\n"
    "                       pixels, 0 < F <= 1 (official 0.1)\n"
    "  --prior P            image inpainting: none, tv or hessian (none)\n"
    "  --prior-weight W     the prior's weight k1 (1, the official)\n"
    "  --prior-points N     the prior's random points per step (half the pixels,\n"
    "                       the official)\n"
    "  --save-mask FILE.png image inpainting: write the kept pixels as a mask\n"
    "                       (white = kept; --mask reads it back)\n"
    "  --hidden N           hidden width (256)\n"
    "  --layers N           hidden layers (3)\n"
    "  --omega0 W           omega_0 of the first layer (30)\n"
    "  --omega0-hidden W    omega_0 of the hidden layers (30)\n"
    "  --arch A             siren; relu (Kaiming-normal init, the seeds' ReLU\n"
    "                       baseline); relu-pe (ReLU after the NeRF positional\n"
    "                       encoding sin/cos(2^k pi x), k < --pe-freqs); tanh\n"
    "                       (Xavier-normal); ffn (ReLU after Gaussian random\n"
    "                       Fourier features). Encodings are fixed and have exact\n"
    "                       derivatives; every task takes every arch, but sdf\n"
    "                       (the double backward) only those without an encoding\n"
    "  --init I             initialisation of every layer: siren, xavier-uniform,\n"
    "                       xavier-normal, kaiming-uniform, kaiming-normal, normal\n"
    "                       (and tuner for --init-first)\n"
    "                       (default: the architecture's)\n"
    "  --init-first I       the first layer's (of the MLP, after an encoding)\n"
    "  --init-hidden I      the other layers'\n"
    "  --init-std S         standard deviation of --init normal (1)\n"
    "  --pe-freqs L         relu-pe: frequencies per input (4 for 2-D, 10 for 3-D)\n"
    "  --ff-features M      ffn: random frequencies, 2M features (256)\n"
    "  --ff-scale S         ffn: standard deviation of the frequencies (10)\n"
    "  --init-first tuner   integer frequencies 2 pi k / p in the first layer (a\n"
    "                       p-periodic network): every k up to a small box, the\n"
    "                       rest drawn up to --bandlimit; phases in the biases\n"
    "  --bandlimit B        tuner: the largest integer frequency (image: a\n"
    "                       quarter of the longer side, half its Nyquist\n"
    "                       frequency: the hidden layers add the rest)\n"
    "  --period P           tuner: the period (image: 2 n / (n - 1), the n pixels\n"
    "                       of the longer side as one period)\n"
    "  --freeze-first       do not train the first layer\n"
    "  --l1 A               after each step, shrink the hidden-to-hidden weights\n"
    "                       towards 0 by lr x A (the proximal step of A sum|W|)\n"
    "  --bound-hidden C     after each step, clip them to [-C, C] (TUNER's bound)\n"
    "  --band-penalty W     image, tuner: add W x the mean square of the model's\n"
    "                       part above the image's Nyquist band, along random\n"
    "                       rows and columns sampled at 8x over one period\n"
    "  --band-lines N       rows and as many columns per step (16)\n"
    "  --add-prune N        tuner: every N steps (first 3/4 of the run), give the\n"
    "                       --add-prune-frac of the first layer's high-frequency\n"
    "                       units with the weakest outgoing weights new integer\n"
    "                       frequencies from the band (TUNER's add-prune)\n"
    "  --add-prune-frac F   the fraction of the width each time (0.1)\n"
    "  --l1-units A         after each step, shrink each hidden unit's outgoing\n"
    "                       weights as a group by lr x A (group lasso: unneeded\n"
    "                       units reach 0 whole, for siren prune)\n"
    "  --steps N            Adam steps (500)\n"
    "  --lr X               learning rate (1e-4)\n"
    "  --lr-schedule S      const, cosine (half a cosine from --lr down to\n"
    "                       --lr-final) or exp (geometric) (const)\n"
    "  --lr-final X         the rate at the end of cosine or exp (lr / 100)\n"
    "  --warmup N           first N steps: the rate rises linearly to --lr (0)\n"
    "  --batch full|N       points per step: all pixels, or N random ones (full)\n"
    "  --seed N             seed of the initialisation and sampling (0)\n"
    "  --threads N          threads (all cores)\n"
    "  --precision P        fp32, or bf16: the big matrix products on bf16\n"
    "                       operands, fp32 sums (AVX512_BF16 CPUs; steps ~1.5x\n"
    "                       faster, operands to ~3 significant digits) (fp32)\n"
    "  --target-psnr DB     image: stop as soon as the training PSNR reaches DB\n"
    "  --points N           sdf from a mesh: surface samples (100000); occupancy:\n"
    "                       labelled points (1000000)\n"
    "  --normal-k K         sdf: neighbours for estimated normals (16)\n"
    "  --channels mix|all   audio: one output per channel (all), or their mean\n"
    "  --sample-frac F      video: fraction of all voxels drawn per step (0.0038)\n"
    "  --frames N           video: only the first N frames\n"
    "  --max-samples N      largest sound file accepted, in samples (2^30); video:\n"
    "                       in values, frames x pixels x channels (2^29)\n"
    "  --max-points N       largest shape file accepted, in vertices or faces\n"
    "                       (134217728)\n"
    "  --max-pixels N       largest image accepted, in pixels (268435456)\n"
    "  --log FILE.csv       write step,seconds,loss,metric for every step\n"
    "  --checkpoint FILE    write the training state (model, Adam, step, RNG)\n"
    "                       there atomically: at the end, on SIGINT/SIGTERM, and\n"
    "                       every --checkpoint-every N steps (0: only those)\n"
    "  --checkpoint-every N steps between checkpoints (0)\n"
    "  --max-jump F         divergence guard: a step whose loss is over F times\n"
    "                       the last good step's, or not finite, or that makes a\n"
    "                       parameter non-finite, is undone and the learning\n"
    "                       rate halved, with a warning (100; 0: no jump test)\n"
    "  --max-retries N      rollbacks before the fit stops with an error; the\n"
    "                       last good model is then written to -o (5)\n"
    "  --resume FILE        continue from a checkpoint; with the same input,\n"
    "                       options, seed and threads the model is bit for bit\n"
    "                       the uninterrupted run's\n"
    "  --json               print one JSON object on stdout at the end\n"
    "  --quiet              no progress bar, no summary line\n"
    "\n"
    "PSNR is 10 log10(4 / MSE) on the [-1, 1] range over every pixel after the\n"
    "last step (grad, lapl: of the reconstruction). Same seed and thread count\n"
    "give the same model.\n";

static void print_json_common(cJSON *o, const char *task, const char *input,
                              const char *output, const siren_fit_result *res,
                              const siren_net *net, uint64_t seed) {
    double ms = res->steps ? 1e3 * res->seconds / res->steps : 0;
    cJSON_AddStringToObject(o, "task", task);
    cJSON_AddStringToObject(o, "input", input);
    cJSON_AddStringToObject(o, "model", output);
    cJSON_AddNumberToObject(o, "steps", res->steps);
    cJSON_AddNumberToObject(o, "seconds", res->seconds);
    cJSON_AddNumberToObject(o, "ms_per_step", ms);
    cJSON_AddNumberToObject(o, "ms_per_step_median", res->step_ms_median);
    cJSON_AddNumberToObject(o, "loss", res->loss);
    cJSON_AddNumberToObject(o, "params", (double)siren_net_param_count(net));
    cJSON_AddNumberToObject(o, "seed", (double)seed);
}

/* After a fit: the interrupted-run message and exit status, or 0. */
static int interrupted_rc(const siren_fit_result *res, const siren_train_opts *opt) {
    if (!cli_interrupted || res->steps >= opt->steps) return 0;
    if (cli_mpi_rank() != 0) /* data parallel: rank 0 says it */
        return 128 + (int)cli_interrupted;
    if (opt->checkpoint)
        fprintf(stderr, "siren: interrupted at step %d of %d; checkpoint written "
                        "to %s (continue with --resume %s)\n",
                res->steps, opt->steps, opt->checkpoint, opt->checkpoint);
    else
        fprintf(stderr, "siren: interrupted at step %d of %d; nothing written "
                        "(--checkpoint FILE keeps the state)\n",
                res->steps, opt->steps);
    return 128 + (int)cli_interrupted;
}

/* The divergence guard gave up: the error, and the last good model saved
 * where the user asked for the model (the library returns it). */
static int diverged_rc(const char *input, const char *output, siren_net *net) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", siren_last_error());
    if (cli_save_model(net, output) == SIREN_OK) {
        if (cli_mpi_rank() == 0) /* data parallel: rank 0 wrote it */
            fprintf(stderr, "siren: %s: %s; that model was written to %s\n", input,
                    msg, output);
    } else
        fprintf(stderr, "siren: %s: %s; saving it failed too: %s\n", input, msg,
                siren_last_error());
    siren_net_free(net);
    return EXIT_BAD_INPUT;
}

/* What a fit's status means for the command: 0 to go on and save, or the
 * exit status after saying why (the model then freed, or, when the guard
 * gave up, saved as the last good one). */
static int fit_outcome(siren_status st, const char *input, const char *output,
                       siren_net *net, const siren_fit_result *res,
                       const siren_train_opts *opt) {
    int rc;
    if (st == SIREN_EDIVERGED) return diverged_rc(input, output, net);
    if (st) {
        fprintf(stderr, "siren: %s: %s\n", input, siren_last_error());
        return EXIT_BAD_INPUT;
    }
    if ((rc = interrupted_rc(res, opt))) siren_net_free(net);
    return rc;
}

/* audio: read the sound, fit, write, report. */
static int fit_audio(const char *input, const char *output, const char *log_path,
                     size_t max_samples, int mix, siren_config cfg,
                     siren_train_opts opt, int json, int quiet) {
    siren_audio au;
    if (siren_audio_load(input, max_samples, &au)) cli_fail();
    cli_progress prog;
    cli_progress_open(&prog, "fit", quiet, log_path);
    opt.progress = cli_progress_cb;
    opt.user = &prog;
    cli_catch_signals();
    siren_net *net;
    siren_fit_result res;
    siren_status st = siren_fit_audio(&au, mix, &cfg, &opt, &net, &res);
    cli_progress_close(&prog, st == SIREN_OK);
    int rc = fit_outcome(st, input, output, net, &res, &opt);
    if (rc) {
        siren_audio_free(&au);
        return rc;
    }
    if (cli_save_model(net, output)) cli_fail();
    double ms = res.steps ? 1e3 * res.seconds / res.steps : 0;
    if (!quiet)
        fprintf(stderr, "%s: audio, %zu frames x %d channels at %d Hz, %d steps in "
                        "%.2f s (%.1f ms/step), loss %.4e, PSNR %.2f dB; model "
                        "written to %s\n", input, au.frames, au.channels, au.rate,
                res.steps, res.seconds, ms, res.loss, res.psnr_db, output);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        print_json_common(o, "audio", input, output, &res, net, opt.seed);
        cJSON_AddNumberToObject(o, "frames", (double)au.frames);
        cJSON_AddNumberToObject(o, "channels", au.channels);
        cJSON_AddNumberToObject(o, "sample_rate", au.rate);
        if (isfinite(res.psnr_db)) cJSON_AddNumberToObject(o, "psnr_db", res.psnr_db);
        else cJSON_AddNullToObject(o, "psnr_db");
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    }
    siren_net_free(net);
    siren_audio_free(&au);
    return 0;
}

/* video: read the frames (resized with --size), fit, write, report. */
static int fit_video(const char *input, const char *output, const char *log_path,
                     int max_frames, size_t max_values, int sw, int sh,
                     double sample_frac, siren_config cfg, siren_train_opts opt,
                     int json, int quiet) {
    siren_video vid;
    cli_load_video(input, max_frames, max_values, sw, sh, &vid);
    cli_progress prog;
    cli_progress_open(&prog, "fit", quiet, log_path);
    opt.progress = cli_progress_cb;
    opt.user = &prog;
    cli_catch_signals();
    siren_net *net;
    siren_fit_result res;
    siren_status st = siren_fit_video(&vid, sample_frac, &cfg, &opt, &net, &res);
    cli_progress_close(&prog, st == SIREN_OK);
    int rc = fit_outcome(st, input, output, net, &res, &opt);
    if (rc) {
        siren_video_free(&vid);
        return rc;
    }
    if (cli_save_model(net, output)) cli_fail();
    double ms = res.steps ? 1e3 * res.seconds / res.steps : 0;
    if (!quiet)
        fprintf(stderr, "%s: video, %d frames of %dx%d, %d steps in %.2f s (%.1f "
                        "ms/step), loss %.4e, PSNR %.2f dB over all voxels; model "
                        "written to %s\n", input, vid.frames, vid.width, vid.height,
                res.steps, res.seconds, ms, res.loss, res.psnr_db, output);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        print_json_common(o, "video", input, output, &res, net, opt.seed);
        cJSON_AddNumberToObject(o, "frames", vid.frames);
        cJSON_AddNumberToObject(o, "width", vid.width);
        cJSON_AddNumberToObject(o, "height", vid.height);
        cJSON_AddNumberToObject(o, "channels", vid.channels);
        if (isfinite(res.psnr_db)) cJSON_AddNumberToObject(o, "psnr_db", res.psnr_db);
        else cJSON_AddNullToObject(o, "psnr_db");
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    }
    siren_net_free(net);
    siren_video_free(&vid);
    return 0;
}

/* sdf and occupancy: read the shape, fit, write, report. */
static int fit_shape(const char *task, const char *input, const char *output,
                     const char *log_path, size_t max_points,
                     const siren_shape_opts *so, siren_config cfg,
                     siren_train_opts opt, int json, int quiet) {
    const int occ = !strcmp(task, "occupancy");
    siren_mesh shape;
    if (siren_mesh_load(input, max_points, &shape)) cli_fail();
    if (occ && shape.n_faces == 0)
        cli_die("%s: occupancy needs a closed mesh (faces); this file has "
                "points only", input);
    cli_progress prog;
    cli_progress_open(&prog, "fit", quiet, log_path);
    opt.progress = cli_progress_cb;
    opt.user = &prog;
    cli_catch_signals();
    siren_net *net;
    siren_fit_result res;
    siren_status st = occ ? siren_fit_occupancy(&shape, so, &cfg, &opt, &net, &res)
                          : siren_fit_sdf(&shape, so, &cfg, &opt, &net, &res);
    cli_progress_close(&prog, st == SIREN_OK);
    int rc = fit_outcome(st, input, output, net, &res, &opt);
    if (rc) {
        siren_mesh_free(&shape);
        return rc;
    }
    if (cli_save_model(net, output)) cli_fail();
    double ms = res.steps ? 1e3 * res.seconds / res.steps : 0;
    if (!quiet) {
        fprintf(stderr, "%s: %s, %zu %s%s, %d steps in %.2f s (%.1f ms/step), "
                        "loss %.4e",
                input, task, shape.n_faces ? shape.n_faces : shape.n_vertices,
                shape.n_faces ? "faces" : "points",
                !shape.n_faces && !shape.vn ? " (normals estimated)" : "",
                res.steps, res.seconds, ms, res.loss);
        if (occ) fprintf(stderr, ", %.2f%% of labels right", 100 * res.accuracy);
        fprintf(stderr, "; model written to %s\n", output);
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        print_json_common(o, task, input, output, &res, net, opt.seed);
        cJSON_AddNumberToObject(o, "vertices", (double)shape.n_vertices);
        cJSON_AddNumberToObject(o, "faces", (double)shape.n_faces);
        if (occ) cJSON_AddNumberToObject(o, "accuracy", res.accuracy);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    }
    siren_net_free(net);
    siren_mesh_free(&shape);
    return 0;
}

/* --save-mask: the kept pixels as a gray PNG, white = kept. */
static void write_keep_mask(const char *path, const siren_image *img,
                            const siren_inpaint_opts *io, uint64_t seed) {
    const size_t n = (size_t)img->width * img->height;
    unsigned char *keep = malloc(n);
    siren_image m = {img->width, img->height, 1, malloc(n * sizeof(float))};
    if (!keep || !m.data) cli_die("%s: out of memory for the mask", path);
    if (siren_inpaint_keep(img, io, seed, keep, NULL)) cli_fail();
    for (size_t i = 0; i < n; i++) m.data[i] = keep[i] ? 1.0f : 0.0f;
    if (siren_image_write_png(path, &m)) cli_fail();
    free(keep);
    siren_image_free(&m);
}

/* The inpainting keys of fit --json. */
static void add_inpaint_json(cJSON *o, const siren_inpaint_opts *io,
                             const siren_inpaint_result *ir) {
    const int prior = io->prior != SIREN_INPAINT_PRIOR_NONE;
    cJSON_AddNumberToObject(o, "keep_frac", (double)ir->kept / (double)ir->pixels);
    cJSON_AddNumberToObject(o, "kept", (double)ir->kept);
    cJSON_AddNumberToObject(o, "pixels", (double)ir->pixels);
    cJSON_AddStringToObject(o, "kept_from", io->mask ? "mask" : "random");
    cJSON_AddStringToObject(o, "prior", siren_inpaint_prior_name(io->prior));
    if (prior) {
        cJSON_AddNumberToObject(o, "prior_weight", io->prior_weight);
        cJSON_AddNumberToObject(o, "prior_points", (double)ir->prior_points);
    } else {
        cJSON_AddNullToObject(o, "prior_weight");
        cJSON_AddNullToObject(o, "prior_points");
    }
    if (isfinite(ir->psnr_kept_db)) cJSON_AddNumberToObject(o, "psnr_kept_db", ir->psnr_kept_db);
    else cJSON_AddNullToObject(o, "psnr_kept_db");
    if (isfinite(ir->data_loss)) cJSON_AddNumberToObject(o, "data_loss", ir->data_loss);
    if (prior && isfinite(ir->prior_loss))
        cJSON_AddNumberToObject(o, "prior_loss", ir->prior_loss);
}

int cli_fit(int argc, char **argv) {
    const char *cmd = "fit";
    if (argc >= 1 && (cli_flag(argv[0], "--help") || cli_flag(argv[0], "-h"))) {
        fputs(fit_help, stdout);
        return 0;
    }
    if (argc < 1)
        cli_usage_error(cmd, "missing TASK (image, grad, lapl, compose, sdf, occupancy, "
                             "audio, video)");
    /* a folder, a glob or -o DIR/: one model per input (cli/many.c) */
    if (cli_many_wanted(argc, argv)) return cli_many(argc, argv);
    const char *task = argv[0];
    const int is_image = !strcmp(task, "image"), is_grad = !strcmp(task, "grad"),
              is_lapl = !strcmp(task, "lapl"), is_compose = !strcmp(task, "compose"),
              is_sdf = !strcmp(task, "sdf"), is_occ = !strcmp(task, "occupancy");
    const int is_shape = is_sdf || is_occ, is_audio = !strcmp(task, "audio");
    const int is_video = !strcmp(task, "video");
    if (!is_image && !is_grad && !is_lapl && !is_compose && !is_shape && !is_audio &&
        !is_video)
        cli_usage_error(cmd, "unknown task '%s' (image, grad, lapl, compose, sdf, "
                             "occupancy, audio, video)", task);
    siren_config cfg = siren_config_default(2, 1);
    siren_train_opts opt = siren_train_opts_default();
    const char *input = NULL, *input2 = NULL, *mask_path = NULL, *output = NULL,
               *log_path = NULL, *v;
    int json = 0, quiet = 0, sw = 0, sh = 0, steps_set = 0, batch_set = 0, band_lines_set = 0,
        points_set = 0, omega_set = 0, mix = 0, max_frames = 0, frac_set = 0;
    size_t max_samples = 0;
    double sample_frac = 0.0038;
    const char *arch = "siren", *init_first = NULL, *init_hidden = NULL;
    int pe_freqs = 0, ff_features = 0;
    siren_shape_opts so = siren_shape_opts_default();
    size_t max_points = 0;
    siren_inpaint_opts io = siren_inpaint_opts_default();
    const char *prior_name = NULL, *save_mask = NULL;
    int keep_set = 0, prior_weight_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(fit_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if (cli_flag(a, "--quiet")) quiet = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                 (v = cli_opt(cmd, argc, argv, &i, "--output"))) output = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--size")))
            cli_size(cmd, "--size", v, &sw, &sh);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--hidden")))
            cfg.hidden_features = (int)cli_int(cmd, "--hidden", v, 1, 8192);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--layers")))
            cfg.hidden_layers = (int)cli_int(cmd, "--layers", v, 0, 64);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0-hidden")))
            cfg.hidden_omega_0 = (float)cli_double(cmd, "--omega0-hidden", v, 1e-6, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0"))) {
            cfg.first_omega_0 = (float)cli_double(cmd, "--omega0", v, 1e-6, 1e6);
            omega_set = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--channels"))) {
            if (strcmp(v, "mix") && strcmp(v, "all"))
                cli_usage_error(cmd, "--channels %s: mix or all", v);
            mix = !strcmp(v, "mix");
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--sample-frac"))) {
            sample_frac = cli_double(cmd, "--sample-frac", v, 1e-12, 1);
            frac_set = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--frames")))
            max_frames = (int)cli_int(cmd, "--frames", v, 1, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-samples")))
            max_samples = (size_t)cli_int(cmd, "--max-samples", v, 1, 1L << 40);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--arch"))) arch = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--init"))) init_first = init_hidden = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--init-first"))) init_first = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--init-hidden"))) init_hidden = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--init-std")))
            cfg.init_std = (float)cli_double(cmd, "--init-std", v, 1e-12, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--pe-freqs")))
            pe_freqs = (int)cli_int(cmd, "--pe-freqs", v, 1, 30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--ff-features")))
            ff_features = (int)cli_int(cmd, "--ff-features", v, 1, 4096);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--ff-scale")))
            cfg.ff_scale = (float)cli_double(cmd, "--ff-scale", v, 1e-6, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--bandlimit")))
            cfg.tuner_bandlimit = (int)cli_int(cmd, "--bandlimit", v, 1, 1 << 20);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--period")))
            cfg.tuner_period = (float)cli_double(cmd, "--period", v, 1e-6, 1e6);
        else if (cli_flag(a, "--freeze-first")) cfg.freeze_first = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--l1")))
            opt.l1 = (float)cli_double(cmd, "--l1", v, 0, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--l1-units")))
            opt.l1_units = (float)cli_double(cmd, "--l1-units", v, 0, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--bound-hidden")))
            opt.bound_hidden = (float)cli_double(cmd, "--bound-hidden", v, 1e-9, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--band-penalty")))
            opt.band_penalty = cli_double(cmd, "--band-penalty", v, 1e-9, 1e9);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--add-prune")))
            opt.add_prune_every = (int)cli_int(cmd, "--add-prune", v, 1, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--add-prune-frac")))
            opt.add_prune_frac = (float)cli_double(cmd, "--add-prune-frac", v, 1e-6, 1);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--band-lines"))) {
            opt.band_lines = (int)cli_int(cmd, "--band-lines", v, 1, 4096);
            band_lines_set = 1;
        }
        else if ((v = cli_opt(cmd, argc, argv, &i, "--steps"))) {
            opt.steps = (int)cli_int(cmd, "--steps", v, 0, 100000000);
            steps_set = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--lr")))
            opt.lr = (float)cli_double(cmd, "--lr", v, 1e-12, 10);
        else if (cli_lr_schedule_opt(cmd, argc, argv, &i, &opt) ||
                 cli_precision_opt(cmd, argc, argv, &i, &opt))
            continue;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--batch"))) {
            opt.batch = strcmp(v, "full") == 0
                            ? 0 : (size_t)cli_int(cmd, "--batch", v, 1, 1L << 40);
            batch_set = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--points")))
            so.points = (size_t)cli_int(cmd, "--points", v, 1, 1L << 31);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--normal-k")))
            so.normal_k = (int)cli_int(cmd, "--normal-k", v, 3, 1000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-pixels")))
            cli_max_pixels = (size_t)cli_int(cmd, "--max-pixels", v, 1, 1L << 40);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-points")))
            max_points = (size_t)cli_int(cmd, "--max-points", v, 1, 1L << 40);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--seed")))
            opt.seed = (uint64_t)cli_int(cmd, "--seed", v, 0, __LONG_MAX__);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            opt.threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--target-psnr")))
            opt.target_psnr = cli_double(cmd, "--target-psnr", v, 1e-3, 400);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--log"))) log_path = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--mask"))) mask_path = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--keep-frac"))) {
            if (cli_parse_double(v, 0, 1, &io.keep_frac) != CLI_PARSE_OK ||
                !(io.keep_frac > 0))
                cli_usage_error(cmd, "--keep-frac %s: need 0 < F <= 1 (the fraction "
                                     "of the pixels fitted)", v);
            keep_set = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--prior"))) {
            const int p = siren_inpaint_prior_parse(v);
            if (p < 0) cli_usage_error(cmd, "--prior %s: not one of none, tv, hessian", v);
            io.prior = (siren_inpaint_prior)p;
            prior_name = v;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--prior-weight"))) {
            io.prior_weight = cli_double(cmd, "--prior-weight", v, 0, 1e30);
            prior_weight_set = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--prior-points")))
            io.prior_points = (size_t)cli_int(cmd, "--prior-points", v, 1, 1L << 31);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--save-mask"))) save_mask = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--checkpoint-every")))
            opt.checkpoint_every = (int)cli_int(cmd, "--checkpoint-every", v, 0, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--checkpoint"))) opt.checkpoint = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--resume"))) opt.resume = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-jump")))
            opt.jump_factor = cli_double(cmd, "--max-jump", v, 0, 1e30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-retries")))
            opt.max_retries = (int)cli_int(cmd, "--max-retries", v, 0, 1000);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!input) input = a;
        else if (is_compose && !input2) input2 = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!input)
        cli_usage_error(cmd, "missing the input %s",
                        is_shape ? "shape" : is_audio ? "sound file"
                        : is_video ? "video (folder, frame pattern or file)" : "image");
    if ((frac_set || max_frames) && !is_video)
        cli_usage_error(cmd, "--sample-frac and --frames are for the video task");
    if (is_compose && !input2) cli_usage_error(cmd, "compose needs two images, A and B");
    if (mask_path && !is_compose && !is_image)
        cli_usage_error(cmd, "--mask is for compose and image (inpainting)");
    /* inpainting: a subset of the pixels, a prior, or both */
    const int inpaint = is_image && (keep_set || mask_path || prior_name);
    if ((keep_set || prior_name || prior_weight_set || io.prior_points || save_mask) &&
        !is_image)
        cli_usage_error(cmd, "--keep-frac, --prior, --prior-weight, --prior-points and "
                             "--save-mask are for the image task (inpainting)");
    if (keep_set && mask_path)
        cli_usage_error(cmd, "--keep-frac and --mask both choose the kept pixels; "
                             "give one");
    if ((prior_weight_set || io.prior_points) && io.prior == SIREN_INPAINT_PRIOR_NONE)
        cli_usage_error(cmd, "--prior-weight and --prior-points need --prior tv|hessian");
    if (save_mask && !keep_set && !mask_path)
        cli_usage_error(cmd, "--save-mask needs --keep-frac or --mask");
    if (save_mask && !cli_has_ext(save_mask, ".png"))
        cli_usage_error(cmd, "--save-mask %s: a .png file", save_mask);
    /* a prior alone fits every pixel */
    if (inpaint && !keep_set && !mask_path) io.keep_frac = 1;
    if (!output) cli_usage_error(cmd, "missing -o MODEL.safetensors");
    cli_apply_arch(cmd, &cfg, arch, init_first, init_hidden, pe_freqs, ff_features);
    if (opt.add_prune_every > 0 && cfg.init_first != SIREN_INIT_TUNER)
        cli_usage_error(cmd, "--add-prune needs --init-first tuner");
    if (band_lines_set && !(opt.band_penalty > 0))
        cli_usage_error(cmd, "--band-lines needs --band-penalty W");
    if (opt.band_penalty > 0) {
        if (!is_image || inpaint)
            cli_usage_error(cmd, "--band-penalty is for the image task (not inpainting)");
        if (cfg.init_first != SIREN_INIT_TUNER)
            cli_usage_error(cmd, "--band-penalty needs a periodic model: --init-first tuner");
        if (opt.batch != 0)
            cli_usage_error(cmd, "--band-penalty fits the full batch (no --batch N)");
    }
    if (opt.checkpoint_every > 0 && !opt.checkpoint)
        cli_usage_error(cmd, "--checkpoint-every needs --checkpoint FILE");
    /* under mpirun with several ranks: data parallel (cli/mpi.c) */
    cli_mpi_shard(&opt, &log_path, &quiet, &json);
    if (is_audio) {
        if (sw) cli_usage_error(cmd, "--size is for image tasks");
        if (opt.target_psnr > 0)
            cli_usage_error(cmd, "--target-psnr is for the image task only");
        if (!omega_set) cfg.first_omega_0 = 3000;
        if (!steps_set) opt.steps = 1000;
        return fit_audio(input, output, log_path, max_samples, mix, cfg, opt, json,
                         quiet);
    }
    if (is_video) {
        if (opt.target_psnr > 0)
            cli_usage_error(cmd, "--target-psnr is for the image task only");
        if (frac_set && batch_set)
            cli_usage_error(cmd, "--sample-frac and --batch both set the points per "
                                 "step; give one");
        if (batch_set && opt.batch == 0) sample_frac = 1; /* --batch full */
        return fit_video(input, output, log_path, max_frames, max_samples, sw, sh,
                         sample_frac, cfg, opt, json, quiet);
    }
    if (is_shape) {
        if (sw) cli_usage_error(cmd, "--size is for image tasks");
        if (opt.target_psnr > 0)
            cli_usage_error(cmd, "--target-psnr is for the image task only");
        if (!steps_set) opt.steps = 2000;
        if (!batch_set) opt.batch = is_sdf ? 10000 : 20000;
        /* occupancy: labels are cheap (ray parity) and a network fitted to
         * too few of them grows floaters between them: 1M measured on the
         * horse scan, F-score 0.92 at 100k, 0.999 at 1M */
        if (!points_set && is_occ) so.points = 1000000;
        return fit_shape(task, input, output, log_path, max_points, &so, cfg, opt,
                         json, quiet);
    }
    if (opt.target_psnr > 0 && !is_image)
        cli_usage_error(cmd, "--target-psnr is for the image task only (the "
                             "derivative tasks measure their reconstruction "
                             "after training)");

    siren_image img, img2 = {0}, mask = {0};
    cli_load_image(input, sw, sh, quiet, &img);
    if (is_compose) {
        cli_load_image(input2, img.width, img.height, quiet, &img2);
        if (mask_path) cli_load_image(mask_path, img.width, img.height, quiet, &mask);
    }
    if (inpaint && mask_path) { /* never resized: it says which pixels */
        cli_load_image(mask_path, 0, 0, quiet, &mask);
        if (mask.width != img.width || mask.height != img.height)
            cli_die("%s: the mask is %dx%d but the image %s is %dx%d%s; they must "
                    "be the same size", mask_path, mask.width, mask.height, input,
                    img.width, img.height, sw ? " (after --size)" : "");
        io.mask = &mask;
    }
    cli_progress prog;
    cli_progress_open(&prog, "fit", quiet, log_path);
    opt.progress = cli_progress_cb;
    cli_catch_signals();
    opt.user = &prog;
    siren_net *net;
    siren_fit_result res;
    siren_inpaint_result ir;
    siren_status st =
        inpaint ? siren_fit_image_inpaint(&img, &io, &cfg, &opt, &net, &res, &ir)
        : is_image ? siren_fit_image(&img, &cfg, &opt, &net, &res)
        : is_grad ? siren_fit_grad(&img, &cfg, &opt, &net, &res)
        : is_lapl ? siren_fit_lapl(&img, &cfg, &opt, &net, &res)
                  : siren_fit_compose(&img, &img2, mask_path ? &mask : NULL, &cfg,
                                      &opt, &net, &res);
    cli_progress_close(&prog, st == SIREN_OK);
    int rc = fit_outcome(st, input, output, net, &res, &opt);
    if (rc) {
        siren_image_free(&img);
        if (img2.data) siren_image_free(&img2);
        if (mask.data) siren_image_free(&mask);
        return rc;
    }
    if (cli_save_model(net, output)) cli_fail();
    if (save_mask && cli_mpi_rank() == 0) write_keep_mask(save_mask, &img, &io, opt.seed);
    double ms = res.steps ? 1e3 * res.seconds / res.steps : 0;
    if (!quiet && inpaint)
        fprintf(stderr, "%s: image %dx%d, %zu of %zu pixels kept (%.2f%%), prior %s, "
                        "%d steps in %.2f s (%.1f ms/step), loss %.4e, PSNR %.2f dB "
                        "over all pixels, %.2f dB over the kept ones; model written "
                        "to %s\n",
                input, img.width, img.height, ir.kept, ir.pixels,
                100.0 * ir.kept / ir.pixels, siren_inpaint_prior_name(io.prior),
                res.steps, res.seconds, ms, res.loss, res.psnr_db, ir.psnr_kept_db,
                output);
    else if (!quiet)
        fprintf(stderr, "%s: %s %dx%d, %d steps in %.2f s (%.1f ms/step), "
                        "loss %.4e, PSNR %.2f dB%s; model written to %s\n",
                input, task, img.width, img.height, res.steps, res.seconds, ms,
                res.loss, res.psnr_db, is_image ? "" : " (reconstruction)", output);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        print_json_common(o, task, input, output, &res, net, opt.seed);
        cJSON_AddNumberToObject(o, "width", img.width);
        cJSON_AddNumberToObject(o, "height", img.height);
        if (isfinite(res.psnr_db)) cJSON_AddNumberToObject(o, "psnr_db", res.psnr_db);
        else cJSON_AddNullToObject(o, "psnr_db");
        if (inpaint) add_inpaint_json(o, &io, &ir);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    }
    siren_net_free(net);
    siren_image_free(&img);
    if (img2.data) siren_image_free(&img2);
    if (mask.data) siren_image_free(&mask);
    return 0;
}

/* siren eval MODEL REF: render the model at REF's size and compare. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *eval_help =
    "Usage: siren eval MODEL REF_IMAGE [--size WxH] [--json] [--threads N]\n"
    "       siren eval SHAPE_MODEL REF_SHAPE [--res N] [--samples N]\n"
    "                  [--fscore-tau X] [--json] [--threads N]\n"
    "       siren eval AUDIO_MODEL REF_SOUND [--json] [--threads N]\n"
    "       siren eval VIDEO_MODEL REF_FRAMES [--size WxH] [--json] [--threads N]\n"
    "\n"
    "Render an image model at the reference image's size and report:\n"
    "  psnr_db  10 log10(4 / MSE) between the network output and the reference\n"
    "           mapped to [-1, 1] (the training metric; output not clamped)\n"
    "  ssim     SSIM of the rendering clamped to [0, 1] against the reference,\n"
    "           data range 1, 11x11 Gaussian window (sigma 1.5), as\n"
    "           scikit-image's structural_similarity(gaussian_weights=True)\n"
    "           and the official SIREN code's summaries\n"
    "A grad, lapl or compose model (Poisson reconstruction) reports instead:\n"
    "  psnr_db, ssim   of the reconstruction against REF (gray), after removing\n"
    "                  what derivatives cannot see by least squares: a constant\n"
    "                  (grad, compose) or an affine plane a + b row + c col (lapl)\n"
    "  grad_psnr_db    the model's exact gradient against REF's Sobel targets\n"
    "  lapl_psnr_db    its Laplacian against REF's 5-point Laplacian target\n"
    "                  (both scaled as the fit scales them; peak = max - min of\n"
    "                  the target)\n"
    "An sdf or occupancy model against REF, a shape (PLY, XYZ or OBJ: points,\n"
    "with or without normals, or a mesh), in REF's units: the model is meshed\n"
    "at --res, both surfaces sampled by area at --samples points (a point\n"
    "cloud's own points are used as they are), nearest neighbours by k-d tree:\n"
    "  chamfer             0.5 (mean_a d(a, REF) + mean_b d(b, model)), Euclidean\n"
    "                      distances (not squared); chamfer_rel: over REF's\n"
    "                      bounding-box diagonal\n"
    "  normal_consistency  mean |n_a . n_b| of nearest pairs, both ways (null\n"
    "                      when REF has no normals)\n"
    "  fscore              2PR / (P + R): P, R the fractions of each surface\n"
    "                      within fscore_tau of the other (1%% of the diagonal)\n"
    "\n"
    "An audio model against REF, a sound file, both divided by REF's largest\n"
    "magnitude (as the official code): psnr_db 10 log10(4 / MSE) and snr_db\n"
    "10 log10(sum ref^2 / sum (ref - model)^2), the model at REF's sample times.\n"
    "\n"
    "A video model against REF (a folder of frames, a pattern such as\n"
    "frames/%04d.png, or a video file through ffmpeg), its first F frames, F\n"
    "the fitted count: psnr_db_per_frame, psnr_db their mean, psnr_all_db over\n"
    "all voxels at once; on the [-1, 1] range, the rendering clamped.\n"
    "\n"
    "Options:\n"
    "  --size WxH      images: resample REF first (area average when\n"
    "                  shrinking), e.g. to the size the model was fitted at\n"
    "  --res N         shapes: marching-cubes grid points per axis (256)\n"
    "  --samples N     shapes: points sampled on each surface (100000)\n"
    "  --fscore-tau X  shapes: F-score threshold in REF's units\n"
    "  --max-points N  largest shape file accepted, in vertices or faces\n"
    "  --max-pixels N  largest image accepted, in pixels (268435456)\n"
    "  --max-samples N largest sound file accepted, in samples (2^30); video:\n"
    "                  in values (2^29)\n"
    "  --threads N     threads (all cores)\n";

/* A video model against reference frames. */
static int eval_video(const char *model, const char *ref, siren_net *net, int sw,
                      int sh, size_t max_values, int threads, int json) {
    double f = 0;
    const char *fs = siren_net_get_meta(net, "frames");
    if (fs) f = atof(fs);
    if (!(f >= 1 && f <= 1e8)) cli_die("%s: the model's frame count is missing", model);
    siren_video vid;
    cli_load_video(ref, (int)f, max_values, sw, sh, &vid);
    double *per = malloc(vid.frames * sizeof *per), mean, all;
    if (!per) cli_die("out of memory");
    if (siren_eval_video(net, &vid, threads, per, &mean, &all))
        cli_die("%s: %s", model, siren_last_error());
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddStringToObject(o, "ref", ref);
        cJSON_AddStringToObject(o, "task", "video");
        cJSON_AddNumberToObject(o, "frames", vid.frames);
        cJSON_AddNumberToObject(o, "psnr_db", mean);
        cJSON_AddNumberToObject(o, "psnr_all_db", all);
        cJSON *arr = cJSON_AddArrayToObject(o, "psnr_db_per_frame");
        for (int k = 0; k < vid.frames; k++)
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(per[k]));
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        double lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < vid.frames; k++) {
            lo = fmin(lo, per[k]);
            hi = fmax(hi, per[k]);
        }
        printf("%s vs %s (%d frames of %dx%d): PSNR %.2f dB mean over frames (%.2f .. "
               "%.2f), %.2f dB over all voxels\n", model, ref, vid.frames, vid.width,
               vid.height, mean, lo, hi, all);
    }
    free(per);
    siren_video_free(&vid);
    siren_net_free(net);
    return 0;
}

/* An sdf or occupancy model against a reference shape. */
static int eval_shape(const char *model, const char *ref, siren_net *net,
                      int res, size_t samples, double tau, size_t max_points,
                      int threads, int json) {
    siren_mesh shape;
    if (siren_mesh_load(ref, max_points, &shape)) cli_fail();
    siren_shape_eval ev;
    if (siren_eval_shape(net, &shape, res, samples, tau, threads, &ev))
        cli_die("%s: %s", model, siren_last_error());
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddStringToObject(o, "ref", ref);
        cJSON_AddStringToObject(o, "task", siren_net_get_meta(net, "task"));
        cJSON_AddNumberToObject(o, "chamfer", ev.chamfer);
        cJSON_AddNumberToObject(o, "chamfer_rel", ev.chamfer_rel);
        if (isfinite(ev.normal_consistency))
            cJSON_AddNumberToObject(o, "normal_consistency", ev.normal_consistency);
        else cJSON_AddNullToObject(o, "normal_consistency");
        cJSON_AddNumberToObject(o, "fscore", ev.fscore);
        cJSON_AddNumberToObject(o, "fscore_tau", ev.tau);
        cJSON_AddNumberToObject(o, "precision", ev.precision);
        cJSON_AddNumberToObject(o, "recall", ev.recall);
        cJSON_AddNumberToObject(o, "diagonal", ev.diagonal);
        cJSON_AddNumberToObject(o, "res", res);
        cJSON_AddNumberToObject(o, "mesh_vertices", (double)ev.mesh_vertices);
        cJSON_AddNumberToObject(o, "mesh_faces", (double)ev.mesh_faces);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s vs %s: Chamfer %.6g (%.3f%% of the bounding-box diagonal "
               "%.6g), normal consistency %.4f, F-score %.4f at %.6g "
               "(precision %.4f, recall %.4f); mesh at res %d: %zu vertices, "
               "%zu triangles\n", model, ref, ev.chamfer, 100 * ev.chamfer_rel,
               ev.diagonal, ev.normal_consistency, ev.fscore, ev.tau,
               ev.precision, ev.recall, res, ev.mesh_vertices, ev.mesh_faces);
    }
    siren_mesh_free(&shape);
    siren_net_free(net);
    return 0;
}

int cli_eval(int argc, char **argv) {
    const char *cmd = "eval";
    const char *model = NULL, *ref = NULL, *v;
    int json = 0, threads = 0, sw = 0, sh = 0, res = 256;
    size_t samples = 100000, max_points = 0, max_samples = 0;
    double tau = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(eval_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--size")))
            cli_size(cmd, "--size", v, &sw, &sh);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--res")))
            res = (int)cli_int(cmd, "--res", v, 2, 4094);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--samples")))
            samples = (size_t)cli_int(cmd, "--samples", v, 1, 1L << 30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--fscore-tau")))
            tau = cli_double(cmd, "--fscore-tau", v, 1e-30, 1e30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-samples")))
            max_samples = (size_t)cli_int(cmd, "--max-samples", v, 1, 1L << 40);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-pixels")))
            cli_max_pixels = (size_t)cli_int(cmd, "--max-pixels", v, 1, 1L << 40);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-points")))
            max_points = (size_t)cli_int(cmd, "--max-points", v, 1, 1L << 40);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!model) model = a;
        else if (!ref) ref = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!model || !ref) cli_usage_error(cmd, "needs MODEL and REF");
    siren_net *net;
    if (siren_net_load(model, &net)) cli_fail();
    const char *task = siren_net_get_meta(net, "task");
    if (task && (!strcmp(task, "sdf") || !strcmp(task, "occupancy")))
        return eval_shape(model, ref, net, res, samples, tau, max_points, threads,
                          json);
    if (task && !strcmp(task, "video"))
        return eval_video(model, ref, net, sw, sh, max_samples, threads, json);
    if (task && !strcmp(task, "audio")) {
        siren_audio au;
        double psnr, snr;
        if (siren_audio_load(ref, max_samples, &au)) cli_fail();
        if (siren_eval_audio(net, &au, threads, &psnr, &snr))
            cli_die("%s: %s", model, siren_last_error());
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "model", model);
            cJSON_AddStringToObject(o, "ref", ref);
            cJSON_AddStringToObject(o, "task", "audio");
            cJSON_AddNumberToObject(o, "frames", (double)au.frames);
            if (isfinite(psnr)) cJSON_AddNumberToObject(o, "psnr_db", psnr);
            else cJSON_AddNullToObject(o, "psnr_db");
            if (isfinite(snr)) cJSON_AddNumberToObject(o, "snr_db", snr);
            else cJSON_AddNullToObject(o, "snr_db");
            char *s = cJSON_PrintUnformatted(o);
            puts(s);
            free(s);
            cJSON_Delete(o);
        } else {
            printf("%s vs %s (%zu frames): PSNR %.2f dB, SNR %.2f dB\n", model, ref,
                   au.frames, psnr, snr);
        }
        siren_audio_free(&au);
        siren_net_free(net);
        return 0;
    }
    siren_image img, rend;
    cli_load_image(ref, sw, sh, 1, &img);
    const siren_config *cfg = siren_net_config(net);
    if (cfg->in_features != 2)
        cli_die("%s: model has %d inputs, not an image model (2)", model,
                cfg->in_features);
    if (task && (!strcmp(task, "grad") || !strcmp(task, "lapl") ||
                 !strcmp(task, "compose"))) {
        siren_poisson_eval ev;
        if (siren_eval_poisson(net, &img, threads, &ev))
            cli_die("%s: %s", model, siren_last_error());
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "model", model);
            cJSON_AddStringToObject(o, "ref", ref);
            cJSON_AddStringToObject(o, "task", task);
            cJSON_AddNumberToObject(o, "width", img.width);
            cJSON_AddNumberToObject(o, "height", img.height);
            const char *k[4] = {"psnr_db", "ssim", "grad_psnr_db", "lapl_psnr_db"};
            double x[4] = {ev.psnr_db, ev.ssim, ev.grad_psnr_db, ev.lapl_psnr_db};
            for (int i = 0; i < 4; i++) {
                if (isfinite(x[i])) cJSON_AddNumberToObject(o, k[i], x[i]);
                else cJSON_AddNullToObject(o, k[i]);
            }
            char *s = cJSON_PrintUnformatted(o);
            puts(s);
            free(s);
            cJSON_Delete(o);
        } else {
            printf("%s (%s) vs %s (%dx%d): reconstruction PSNR %.2f dB, SSIM %.4f; "
                   "gradient PSNR %.2f dB, Laplacian PSNR %.2f dB\n", model, task,
                   ref, img.width, img.height, ev.psnr_db, ev.ssim,
                   ev.grad_psnr_db, ev.lapl_psnr_db);
        }
        siren_image_free(&img);
        siren_net_free(net);
        return 0;
    }
    if (cfg->out_features != img.channels)
        cli_die("%s: model has %d output channels but %s has %d", model,
                cfg->out_features, ref, img.channels);
    size_t n = (size_t)img.width * img.height * img.channels;
    float *vals = malloc(n * sizeof *vals), *target = malloc(n * sizeof *target);
    if (!vals || !target) cli_die("out of memory");
    if (siren_render_values(net, img.width, img.height, threads, vals)) cli_fail();
    for (size_t i = 0; i < n; i++) target[i] = 2.0f * img.data[i] - 1.0f;
    double psnr = siren_psnr(vals, target, n, 2.0), ssim;
    if (siren_render_image(net, img.width, img.height, threads, &rend)) cli_fail();
    if (siren_ssim(&rend, &img, 1.0, &ssim)) cli_fail();
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddStringToObject(o, "ref", ref);
        cJSON_AddNumberToObject(o, "width", img.width);
        cJSON_AddNumberToObject(o, "height", img.height);
        if (isfinite(psnr)) cJSON_AddNumberToObject(o, "psnr_db", psnr);
        else cJSON_AddNullToObject(o, "psnr_db");
        cJSON_AddNumberToObject(o, "ssim", ssim);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s vs %s (%dx%d): PSNR %.2f dB, SSIM %.4f\n", model, ref,
               img.width, img.height, psnr, ssim);
    }
    free(vals);
    free(target);
    siren_image_free(&rend);
    siren_image_free(&img);
    siren_net_free(net);
    return 0;
}

/* siren eval MODEL REF: render the model at REF's size and compare. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *eval_help =
    "Usage: siren eval MODEL REF_IMAGE [--size WxH] [--json] [--threads N]\n"
    "\n"
    "Render an image model at the reference image's size and report:\n"
    "  psnr_db  10 log10(4 / MSE) between the network output and the reference\n"
    "           mapped to [-1, 1] (the training metric; output not clamped)\n"
    "  ssim     SSIM of the rendering clamped to [0, 1] against the reference,\n"
    "           data range 1, 11x11 Gaussian window (sigma 1.5), as\n"
    "           scikit-image's structural_similarity(gaussian_weights=True)\n"
    "           and the official SIREN code's summaries\n"
    "Options:\n"
    "  --size WxH   resample REF first (area average when shrinking), e.g. to\n"
    "               the size the model was fitted at\n";

int cli_eval(int argc, char **argv) {
    const char *cmd = "eval";
    const char *model = NULL, *ref = NULL, *v;
    int json = 0, threads = 0, sw = 0, sh = 0;
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
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!model) model = a;
        else if (!ref) ref = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!model || !ref) cli_usage_error(cmd, "needs MODEL and REF");
    siren_net *net;
    if (siren_net_load(model, &net)) cli_fail();
    siren_image img, rend;
    cli_load_image(ref, sw, sh, 1, &img);
    const siren_config *cfg = siren_net_config(net);
    if (cfg->in_features != 2)
        cli_die("%s: model has %d inputs, not an image model (2)", model,
                cfg->in_features);
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

/* siren render MODEL -o OUT [--size WxH] [--what value]: sample the
 * continuous function on any grid. .png is the picture (values mapped back
 * to [0, 1], clamped); .npy the exact network output Φ, (H, W, out). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *render_help =
    "Usage: siren render MODEL -o OUT.png|OUT.npy [--size WxH] [--what value]\n"
    "\n"
    "Evaluate an image model on a WxH grid (default: the size it was fitted\n"
    "at; any size works, larger is super-resolution by sampling the\n"
    "continuous function).\n"
    "  .png  8-bit picture, values mapped back to [0, 1] and clamped\n"
    "  .npy  float32 (H, W, out): the network output exactly, in its [-1, 1]\n"
    "        convention, at (row, col) = linspace(-1, 1) per axis\n"
    "Options:\n"
    "  -o, --output FILE   output file, required\n"
    "  --size WxH          grid size\n"
    "  --what value        what to render (derivatives come in a later version)\n"
    "  --threads N         threads (all cores)\n";

/* The fitted size from the model's metadata, if it has a sane one. */
static int meta_dim(const siren_net *net, const char *key) {
    const char *s = siren_net_get_meta(net, key);
    if (!s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    return (end != s && !*end && v >= 1 && v <= 1 << 20) ? (int)v : 0;
}

int cli_render(int argc, char **argv) {
    const char *cmd = "render";
    const char *model = NULL, *output = NULL, *what = "value", *v;
    int w = 0, h = 0, threads = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(render_help, stdout);
            return 0;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                   (v = cli_opt(cmd, argc, argv, &i, "--output"))) output = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--size")))
            cli_size(cmd, "--size", v, &w, &h);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--what"))) what = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!model) model = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!model) cli_usage_error(cmd, "missing MODEL");
    if (!output) cli_usage_error(cmd, "missing -o OUT.png|OUT.npy");
    if (strcmp(what, "value") != 0) {
        if (!strcmp(what, "dx") || !strcmp(what, "dy") || !strcmp(what, "grad") ||
            !strcmp(what, "gradmag") || !strcmp(what, "lapl") || !strcmp(what, "all"))
            cli_usage_error(cmd, "--what %s is not available in this version "
                                 "(only value)", what);
        cli_usage_error(cmd, "--what %s: not one of value, dx, dy, grad, "
                             "gradmag, lapl, all", what);
    }
    int png = cli_has_ext(output, ".png"), npy = cli_has_ext(output, ".npy");
    if (!png && !npy)
        cli_usage_error(cmd, "%s: output must end in .png or .npy", output);

    siren_net *net;
    if (siren_net_load(model, &net)) cli_fail();
    const siren_config *cfg = siren_net_config(net);
    if (cfg->in_features != 2)
        cli_die("%s: model has %d inputs, not an image model (2)", model,
                cfg->in_features);
    if (!w) {
        w = meta_dim(net, "image_width");
        h = meta_dim(net, "image_height");
        if (!w || !h) w = h = 256;
    }
    if (png) {
        siren_image img;
        if (siren_render_image(net, w, h, threads, &img)) cli_fail();
        if (siren_image_write_png(output, &img)) cli_fail();
        siren_image_free(&img);
    } else {
        size_t m = (size_t)cfg->out_features;
        float *vals = malloc((size_t)w * h * m * sizeof *vals);
        if (!vals) cli_die("out of memory for %dx%d", w, h);
        if (siren_render_values(net, w, h, threads, vals)) cli_fail();
        size_t shape[3] = {(size_t)h, (size_t)w, m};
        if (siren_npy_write(output, vals, 3, shape)) cli_fail();
        free(vals);
    }
    siren_net_free(net);
    return 0;
}

/* siren sr IMG --scale S -o DIR: single-image super-resolution. The image
 * is shrunk by S (area average), a SIREN is fitted to the small one and
 * rendered at the full size, and bicubic interpolation (stb_image_resize's
 * Catmull-Rom filter) of the same small image is the baseline; both are
 * measured against the original. Fitting is siren_fit_image's; this file
 * only arranges the geometry, the files and the tables. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb/stb_image_resize.h> /* the implementation is Debian's libstb */

#include "cli.h"

static const char *sr_help =
    "Usage: siren sr IMG --scale S[,S...] -o DIR [options]\n"
    "\n"
    "Single-image super-resolution: IMG (cropped to a multiple of S: the last\n"
    "rows and columns go) is shrunk by S with an area average; a SIREN is\n"
    "fitted to the small image and rendered at the full size, and bicubic\n"
    "interpolation (Catmull-Rom, stb_image_resize) of the same small image is\n"
    "the baseline. Both are measured against the original: PSNR (dB, on [0, 1]\n"
    "with peak 1, the same number as on [-1, 1] with peak 2) and SSIM.\n"
    "Both methods see the same geometry: every low-resolution pixel sits at\n"
    "the centre of the S x S block it averages, and the full-resolution\n"
    "pixels are sampled at their own centres (bicubic as stb and PIL do).\n"
    "\n"
    "DIR gets sr.csv and sr.md (rows bicubic and siren: PSNR, SSIM, sizes,\n"
    "steps, seconds), lowres.png, bicubic.png, siren.png, side_by_side.png\n"
    "(original | low-res enlarged by pixel repetition | bicubic | siren, 4-pixel\n"
    "white gaps) and model.safetensors (whose plain `siren render` is\n"
    "siren.png). With several scales each goes to DIR/xS/, and DIR/sr.csv and\n"
    "DIR/sr.md hold every scale.\n"
    "\n"
    "Options:\n"
    "  --scale S           shrink factor, 2 to 32; repeat it or give a list\n"
    "                      (--scale 2,4,8), one result per scale (required)\n"
    "  -o, --output DIR    folder to write (made if missing), required\n"
    "  --size WxH          resample IMG first (area average when shrinking)\n"
    "  --steps N           Adam steps of each fit (1000)\n"
    "  --hidden N          hidden width (256)\n"
    "  --layers N          hidden layers (3)\n"
    "  --omega0 W          omega_0 of the first layer (30)\n"
    "  --omega0-hidden W   omega_0 of the hidden layers (30)\n"
    "  --arch A            siren, relu, relu-pe, tanh, ffn (siren)\n"
    "  --init I            initialisation of every layer (the architecture's)\n"
    "  --lr X              learning rate (1e-4)\n"
    "  --seed N            seed of the initialisation (0)\n"
    "  --threads N         threads (all cores)\n"
    "  --quiet             no progress bar, no summary lines\n"
    "  --json              print one JSON object on stdout at the end\n"
    "  -h, --help          this text\n";

enum { MAX_SCALES = 16, GAP = 4, PATHLEN = 4096 };

typedef struct {
    int scale, width, height, lw, lh; /* the cropped original and low-res sizes */
    double bic_psnr, bic_ssim, bic_seconds;
    double sir_psnr, sir_ssim, sir_seconds, fit_psnr;
    int steps;
    char dir[PATHLEN];
} sr_result;

/* "--scale 2,4" adds 2 and 4; a repeated or bad scale is a usage error. */
static void add_scales(const char *cmd, const char *v, int *scales, int *n) {
    char buf[256];
    if (strlen(v) >= sizeof buf) cli_usage_error(cmd, "--scale: '%s' is too long", v);
    strcpy(buf, v);
    char *save = NULL;
    int any = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int s = (int)cli_int(cmd, "--scale", t, 2, 32);
        for (int k = 0; k < *n; k++)
            if (scales[k] == s) cli_usage_error(cmd, "--scale %d given twice", s);
        if (*n == MAX_SCALES) cli_usage_error(cmd, "--scale: at most %d scales", MAX_SCALES);
        scales[(*n)++] = s;
        any = 1;
    }
    if (!any || v[strlen(v) - 1] == ',' || v[0] == ',' || strstr(v, ",,"))
        cli_usage_error(cmd, "--scale: '%s' is not a list of integers like 2,4,8", v);
}

static void path_join(char *out, const char *dir, const char *name) {
    if ((size_t)snprintf(out, PATHLEN, "%s/%s", dir, name) >= PATHLEN)
        cli_die("%s/%s: path too long", dir, name);
}

static void make_dir(const char *dir) {
    if (mkdir(dir, 0777) && errno != EEXIST)
        cli_die("%s: cannot create the folder: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) cli_die("%s: not a folder", dir);
}

static void write_png(const char *dir, const char *name, const siren_image *img) {
    char path[PATHLEN];
    path_join(path, dir, name);
    if (siren_image_write_png(path, img)) cli_fail();
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[PATHLEN];
    path_join(path, dir, name);
    if (cli_write_atomic(path, text, strlen(text)))
        cli_die("%s: cannot write: %s", path, strerror(errno));
}

static siren_image image_alloc(int w, int h, int c) {
    siren_image im = {w, h, c, malloc((size_t)w * h * c * sizeof(float))};
    if (!im.data) cli_die("out of memory for a %dx%d image", w, h);
    return im;
}

/* The top-left W' x H' of img, W' and H' multiples of s. */
static siren_image crop(const siren_image *img, int w, int h) {
    siren_image c = image_alloc(w, h, img->channels);
    for (int r = 0; r < h; r++)
        memcpy(c.data + (size_t)r * w * c.channels,
               img->data + (size_t)r * img->width * img->channels,
               (size_t)w * c.channels * sizeof(float));
    return c;
}

/* Bicubic (Catmull-Rom, Keys a = -0.5: PIL's BICUBIC kernel) from lo to
 * w x h, clamped to [0, 1]. stb maps output pixel j's centre j + 1/2 to the
 * input position (j + 1/2) / s, input pixel i having its centre at i + 1/2:
 * low-res pixel i is centred on the block of s full-res pixels it averages.
 * Borders repeat the edge pixel (STBIR_EDGE_CLAMP). */
static siren_image bicubic(const siren_image *lo, int w, int h) {
    siren_image out = image_alloc(w, h, lo->channels);
    if (!stbir_resize_float_generic(lo->data, lo->width, lo->height, 0, out.data, w, h,
                                    0, lo->channels, STBIR_ALPHA_CHANNEL_NONE, 0,
                                    STBIR_EDGE_CLAMP, STBIR_FILTER_CATMULLROM,
                                    STBIR_COLORSPACE_LINEAR, NULL))
        cli_die("bicubic resize to %dx%d failed (out of memory)", w, h);
    for (size_t i = 0; i < (size_t)w * h * lo->channels; i++)
        out.data[i] = out.data[i] < 0 ? 0 : out.data[i] > 1 ? 1 : out.data[i];
    return out;
}

/* Each low-res pixel repeated s x s: what the network and bicubic start from. */
static siren_image nearest(const siren_image *lo, int s) {
    const int C = lo->channels;
    siren_image out = image_alloc(lo->width * s, lo->height * s, C);
    for (int r = 0; r < out.height; r++)
        for (int q = 0; q < out.width; q++)
            memcpy(out.data + ((size_t)r * out.width + q) * C,
                   lo->data + ((size_t)(r / s) * lo->width + q / s) * C, C * sizeof(float));
    return out;
}

/* original | nearest | bicubic | siren, GAP white pixels between. */
static siren_image side_by_side(const siren_image *const *parts, int n) {
    const int w = parts[0]->width, h = parts[0]->height, C = parts[0]->channels;
    siren_image out = image_alloc(n * w + (n - 1) * GAP, h, C);
    for (size_t i = 0; i < (size_t)out.width * h * C; i++) out.data[i] = 1;
    for (int k = 0; k < n; k++)
        for (int r = 0; r < h; r++)
            memcpy(out.data + ((size_t)r * out.width + (size_t)k * (w + GAP)) * C,
                   parts[k]->data + (size_t)r * w * C, (size_t)w * C * sizeof(float));
    return out;
}

/* The grid alignment. siren_fit_image puts low-res pixel i (of n) at
 * u = -1 + 2 i / (n - 1): the centres of the first and last pixels at -1
 * and 1. Rendering that network at the full size N = s n on its own
 * linspace(-1, 1, N) would put the first and last full-res centres there
 * too, i.e. stretch the picture by (s - 1) / 2 full-res pixels at each
 * border compared with the area average, which centres low-res pixel i on
 * full-res pixels s i .. s i + s - 1 (continuous position s i + s / 2, in
 * full-res pixel widths from the edge). In that frame full-res pixel j sits
 * at low-res index (j + 1/2) / s - 1/2 (stb's and PIL's mapping), so at
 *     u_j = (2 j + 1 - s n) / (s (n - 1)) = a t_j,  t_j = -1 + 2 j / (N - 1),
 *     a = (N - 1) / (s (n - 1)),
 * slightly outside [-1, 1] at the borders (half a low-res pixel less half a
 * full-res one), as bicubic reads past the edge. u is t scaled, no offset,
 * so the map is folded into the first linear layer (the encoding's, if any,
 * which takes the raw coordinates too): its weight column for each axis is
 * multiplied by that axis's a. The model then renders the aligned picture
 * on the ordinary full-size grid, and model.safetensors is a model of the
 * full-resolution image (`siren render` and `siren eval` at its size). */
static void fold_alignment(siren_net *net, int s, int lw, int lh) {
    int dims[CLI_MAX_LINEAR + 1];
    if (!cli_net_dims(net, dims)) cli_die("sr: unexpected parameter layout");
    const double a_row = lh > 1 ? (double)(s * lh - 1) / ((double)s * (lh - 1)) : 0;
    const double a_col = lw > 1 ? (double)(s * lw - 1) / ((double)s * (lw - 1)) : 0;
    float *W = siren_net_params(net); /* layer 0 weight [dims[1]][2]: (row, col) */
    for (int j = 0; j < dims[1]; j++) {
        W[2 * j] = (float)(W[2 * j] * a_row);
        W[2 * j + 1] = (float)(W[2 * j + 1] * a_col);
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%d", s * lw);
    if (siren_net_set_meta(net, "image_width", buf)) cli_fail();
    snprintf(buf, sizeof buf, "%d", s * lh);
    if (siren_net_set_meta(net, "image_height", buf)) cli_fail();
    snprintf(buf, sizeof buf, "%d", s);
    if (siren_net_set_meta(net, "sr_scale", buf)) cli_fail();
    snprintf(buf, sizeof buf, "%dx%d", lw, lh);
    if (siren_net_set_meta(net, "sr_lowres_size", buf)) cli_fail();
    if (siren_net_set_meta(net, "sr_alignment",
                           "fitted on the low-res linspace(-1,1) grid; first layer "
                           "scaled by (N-1)/(s(n-1)) per axis so linspace(-1,1) over "
                           "the full size samples the full-res pixel centres")) cli_fail();
}

static const char *csv_header =
    "scale,method,psnr_db,ssim,width,height,lowres_width,lowres_height,steps,seconds\n";

static void csv_rows(char **buf, size_t *len, size_t *cap, const sr_result *r) {
    char line[512];
    int n = snprintf(line, sizeof line,
                     "%d,bicubic,%.4f,%.6f,%d,%d,%d,%d,0,%.4f\n"
                     "%d,siren,%.4f,%.6f,%d,%d,%d,%d,%d,%.4f\n",
                     r->scale, r->bic_psnr, r->bic_ssim, r->width, r->height, r->lw,
                     r->lh, r->bic_seconds, r->scale, r->sir_psnr, r->sir_ssim,
                     r->width, r->height, r->lw, r->lh, r->steps, r->sir_seconds);
    if (*len + (size_t)n + 1 > *cap) {
        *cap = 2 * (*len + (size_t)n + 1);
        if (!(*buf = realloc(*buf, *cap))) cli_die("out of memory");
    }
    memcpy(*buf + *len, line, (size_t)n + 1);
    *len += (size_t)n;
}

static char *csv_text(const sr_result *r, int n) {
    size_t len = strlen(csv_header), cap = 1024;
    char *buf = malloc(cap);
    if (!buf) cli_die("out of memory");
    memcpy(buf, csv_header, len + 1);
    for (int k = 0; k < n; k++) csv_rows(&buf, &len, &cap, &r[k]);
    return buf;
}

/* One scale's sr.md. */
static char *md_one(const char *input, const char *arch, const siren_config *cfg,
                    const sr_result *r) {
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f) cli_die("out of memory");
    fprintf(f, "# Super-resolution x%d: %s\n\n", r->scale, input);
    fprintf(f, "The %dx%d original, area-averaged to %dx%d and brought back to "
               "%dx%d; PSNR and SSIM against the original.\n"
               "SIREN: %s, %d hidden layers of %d, omega_0 %g / %g, fitted to the "
               "low-resolution image.\n\n",
            r->width, r->height, r->lw, r->lh, r->width, r->height, arch,
            cfg->hidden_layers, cfg->hidden_features, cfg->first_omega_0,
            cfg->hidden_omega_0);
    fprintf(f, "| method | PSNR (dB) | SSIM | low-res | steps | seconds |\n"
               "|---|---:|---:|---|---:|---:|\n");
    fprintf(f, "| bicubic | %.2f | %.4f | %dx%d | - | %.3f |\n", r->bic_psnr,
            r->bic_ssim, r->lw, r->lh, r->bic_seconds);
    fprintf(f, "| siren | %.2f | %.4f | %dx%d | %d | %.1f |\n", r->sir_psnr,
            r->sir_ssim, r->lw, r->lh, r->steps, r->sir_seconds);
    if (fclose(f)) cli_die("out of memory");
    return s;
}

/* The combined sr.md of several scales. */
static char *md_all(const char *input, const char *arch, const siren_config *cfg,
                    const sr_result *r, int count) {
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f) cli_die("out of memory");
    fprintf(f, "# Super-resolution: %s\n\n", input);
    fprintf(f, "Each scale: the original (cropped to a multiple of the scale), "
               "area-averaged by the scale and brought back to its size; PSNR and "
               "SSIM against it. SIREN: %s, %d hidden layers of %d, omega_0 %g / "
               "%g, fitted to the low-resolution image.\n\n",
            arch, cfg->hidden_layers, cfg->hidden_features, cfg->first_omega_0,
            cfg->hidden_omega_0);
    fprintf(f, "| scale | low-res | bicubic PSNR (dB) | bicubic SSIM | SIREN PSNR (dB) "
               "| SIREN SSIM | steps | seconds |\n"
               "|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < count; k++)
        fprintf(f, "| x%d | %dx%d | %.2f | %.4f | %.2f | %.4f | %d | %.1f |\n",
                r[k].scale, r[k].lw, r[k].lh, r[k].bic_psnr, r[k].bic_ssim,
                r[k].sir_psnr, r[k].sir_ssim, r[k].steps, r[k].sir_seconds);
    if (fclose(f)) cli_die("out of memory");
    return s;
}

/* One scale, start to end: every file of r->dir written. Returns 0, or the
 * exit status of an interrupted run. */
static int run_scale(const char *input, const siren_image *img, const char *arch,
                     const siren_config *cfg, const siren_train_opts *opt0, int quiet,
                     sr_result *r) {
    const int s = r->scale;
    r->width = img->width - img->width % s;
    r->height = img->height - img->height % s;
    r->lw = r->width / s;
    r->lh = r->height / s;
    siren_image orig = crop(img, r->width, r->height), lo, bic, sir;
    if (siren_image_resize(&orig, r->lw, r->lh, &lo)) cli_fail();

    double t0 = cli_seconds();
    bic = bicubic(&lo, r->width, r->height);
    r->bic_seconds = cli_seconds() - t0;

    siren_train_opts opt = *opt0;
    cli_progress prog;
    char label[32];
    snprintf(label, sizeof label, "sr x%d", s);
    cli_progress_open(&prog, label, quiet, NULL);
    opt.progress = cli_progress_cb;
    opt.user = &prog;
    siren_net *net = NULL;
    siren_fit_result res;
    siren_status st = siren_fit_image(&lo, cfg, &opt, &net, &res);
    cli_progress_close(&prog, st == SIREN_OK);
    if (st) {
        if (net) siren_net_free(net);
        fprintf(stderr, "siren: %s: x%d: %s\n", input, s, siren_last_error());
        exit(EXIT_BAD_INPUT);
    }
    if (cli_interrupted && res.steps < opt.steps) {
        fprintf(stderr, "siren: interrupted at step %d of %d of scale x%d; nothing "
                        "written for it\n", res.steps, opt.steps, s);
        siren_net_free(net);
        siren_image_free(&bic);
        siren_image_free(&lo);
        siren_image_free(&orig);
        return 128 + (int)cli_interrupted;
    }
    r->steps = res.steps;
    r->sir_seconds = res.seconds;
    r->fit_psnr = res.psnr_db;
    fold_alignment(net, s, r->lw, r->lh);
    if (siren_render_image(net, r->width, r->height, opt.threads, &sir)) cli_fail();

    const size_t n = (size_t)r->width * r->height * img->channels;
    r->bic_psnr = siren_psnr(orig.data, bic.data, n, 1.0);
    r->sir_psnr = siren_psnr(orig.data, sir.data, n, 1.0);
    if (siren_ssim(&orig, &bic, 1.0, &r->bic_ssim) ||
        siren_ssim(&orig, &sir, 1.0, &r->sir_ssim))
        cli_fail();

    make_dir(r->dir);
    siren_image near = nearest(&lo, s);
    const siren_image *parts[4] = {&orig, &near, &bic, &sir};
    siren_image side = side_by_side(parts, 4);
    write_png(r->dir, "lowres.png", &lo);
    write_png(r->dir, "bicubic.png", &bic);
    write_png(r->dir, "siren.png", &sir);
    write_png(r->dir, "side_by_side.png", &side);
    char path[PATHLEN];
    path_join(path, r->dir, "model.safetensors");
    if (siren_net_save(net, path)) cli_fail();
    char *csv = csv_text(r, 1), *md = md_one(input, arch, cfg, r);
    write_text(r->dir, "sr.csv", csv);
    write_text(r->dir, "sr.md", md);
    free(csv);
    free(md);
    if (!quiet)
        fprintf(stderr, "%s x%d: %dx%d -> %dx%d: bicubic %.2f dB, SSIM %.4f; siren "
                        "%.2f dB, SSIM %.4f (%d steps, %.1f s, %.2f dB on the low-res "
                        "image); written to %s/\n",
                input, s, r->lw, r->lh, r->width, r->height, r->bic_psnr, r->bic_ssim,
                r->sir_psnr, r->sir_ssim, r->steps, r->sir_seconds, r->fit_psnr, r->dir);
    siren_net_free(net);
    siren_image_free(&side);
    siren_image_free(&near);
    siren_image_free(&sir);
    siren_image_free(&bic);
    siren_image_free(&lo);
    siren_image_free(&orig);
    return 0;
}

static cJSON *json_result(const sr_result *r) {
    cJSON *o = cJSON_CreateObject(), *b = cJSON_CreateObject(), *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "scale", r->scale);
    cJSON_AddStringToObject(o, "dir", r->dir);
    cJSON_AddNumberToObject(o, "width", r->width);
    cJSON_AddNumberToObject(o, "height", r->height);
    cJSON_AddNumberToObject(o, "lowres_width", r->lw);
    cJSON_AddNumberToObject(o, "lowres_height", r->lh);
    cJSON_AddNumberToObject(b, "psnr_db", r->bic_psnr);
    cJSON_AddNumberToObject(b, "ssim", r->bic_ssim);
    cJSON_AddNumberToObject(b, "seconds", r->bic_seconds);
    cJSON_AddNumberToObject(s, "psnr_db", r->sir_psnr);
    cJSON_AddNumberToObject(s, "ssim", r->sir_ssim);
    cJSON_AddNumberToObject(s, "seconds", r->sir_seconds);
    cJSON_AddNumberToObject(s, "steps", r->steps);
    cJSON_AddNumberToObject(s, "lowres_psnr_db", r->fit_psnr);
    cJSON_AddItemToObject(o, "bicubic", b);
    cJSON_AddItemToObject(o, "siren", s);
    return o;
}

int cli_sr(int argc, char **argv) {
    const char *cmd = "sr";
    siren_config cfg = siren_config_default(2, 1);
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 1000;
    const char *input = NULL, *outdir = NULL, *arch = "siren", *init = NULL, *v;
    int scales[MAX_SCALES], n_scales = 0, json = 0, quiet = 0, sw = 0, sh = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(sr_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if (cli_flag(a, "--quiet")) quiet = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                 (v = cli_opt(cmd, argc, argv, &i, "--output"))) outdir = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--scale")))
            add_scales(cmd, v, scales, &n_scales);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--size")))
            cli_size(cmd, "--size", v, &sw, &sh);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--steps")))
            opt.steps = (int)cli_int(cmd, "--steps", v, 0, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--hidden")))
            cfg.hidden_features = (int)cli_int(cmd, "--hidden", v, 1, 8192);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--layers")))
            cfg.hidden_layers = (int)cli_int(cmd, "--layers", v, 0, 64);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0-hidden")))
            cfg.hidden_omega_0 = (float)cli_double(cmd, "--omega0-hidden", v, 1e-6, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0")))
            cfg.first_omega_0 = (float)cli_double(cmd, "--omega0", v, 1e-6, 1e6);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--arch"))) arch = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--init"))) init = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--lr")))
            opt.lr = (float)cli_double(cmd, "--lr", v, 1e-12, 10);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--seed")))
            opt.seed = (uint64_t)cli_int(cmd, "--seed", v, 0, __LONG_MAX__);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            opt.threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!input) input = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!input) cli_usage_error(cmd, "missing the input IMG");
    if (!n_scales) cli_usage_error(cmd, "missing --scale S (2, 4, 8, ...)");
    if (!outdir) cli_usage_error(cmd, "missing -o DIR");
    /* "out/" and "out" name the same folder; paths are built as DIR/name */
    char dirbuf[PATHLEN];
    if ((size_t)snprintf(dirbuf, sizeof dirbuf, "%s", outdir) >= sizeof dirbuf)
        cli_die("%s: path too long", outdir);
    for (size_t k = strlen(dirbuf); k > 1 && dirbuf[k - 1] == '/'; k--) dirbuf[k - 1] = 0;
    outdir = dirbuf;
    cli_apply_arch(cmd, &cfg, arch, init, init, 0, 0);

    siren_image img;
    cli_load_image(input, sw, sh, quiet, &img);
    /* every scale checked before the first fit */
    for (int k = 0; k < n_scales; k++) {
        const int s = scales[k], w = img.width - img.width % s,
                  h = img.height - img.height % s;
        if (w / s < 2 || h / s < 2 || w < 11 || h < 11)
            cli_die("%s: %dx%d is too small for scale %d (the low-resolution image "
                    "needs 2x2 pixels, the original 11x11 for SSIM)",
                    input, img.width, img.height, s);
    }
    make_dir(outdir);
    sr_result res[MAX_SCALES];
    memset(res, 0, sizeof res);
    cli_catch_signals();
    for (int k = 0; k < n_scales; k++) {
        res[k].scale = scales[k];
        if (n_scales == 1) snprintf(res[k].dir, PATHLEN, "%s", outdir);
        else if (snprintf(res[k].dir, PATHLEN, "%s/x%d", outdir, scales[k]) >= PATHLEN)
            cli_die("%s: path too long", outdir);
        int rc = run_scale(input, &img, arch, &cfg, &opt, quiet, &res[k]);
        if (rc) {
            siren_image_free(&img);
            return rc;
        }
    }
    if (n_scales > 1) {
        char *csv = csv_text(res, n_scales), *md = md_all(input, arch, &cfg, res, n_scales);
        write_text(outdir, "sr.csv", csv);
        write_text(outdir, "sr.md", md);
        free(csv);
        free(md);
        if (!quiet) fprintf(stderr, "%s: the table of every scale is %s/sr.md\n", input, outdir);
    }
    if (json) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "input", input);
        cJSON_AddStringToObject(o, "output", outdir);
        cJSON_AddStringToObject(o, "arch", arch);
        cJSON_AddNumberToObject(o, "steps", opt.steps);
        cJSON_AddNumberToObject(o, "seed", (double)opt.seed);
        for (int k = 0; k < n_scales; k++) cJSON_AddItemToArray(arr, json_result(&res[k]));
        cJSON_AddItemToObject(o, "results", arr);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    }
    siren_image_free(&img);
    return 0;
}

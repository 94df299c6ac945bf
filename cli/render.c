/* siren render MODEL -o OUT [--size WxH] [--what W]: sample an image model's
 * continuous function, or its exact derivatives, on any grid.
 *
 * .npy is exact (float32, the network's own units); .png is for looking at:
 * values mapped back to [0, 1] with the model's metadata, derivative maps
 * scaled by a robust maximum (the 99.5th percentile of their magnitude). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char *render_help =
    "Usage: siren render MODEL -o OUT.png|OUT.npy [--what W] [--size WxH]\n"
    "                    [--threads N]\n"
    "       siren render AUDIO_MODEL -o OUT.wav|OUT.flac [--rate HZ]\n"
    "       siren render VIDEO_MODEL -o DIR/%04d.png|OUT.npy [--frames N]\n"
    "                    [--size WxH]\n"
    "\n"
    "A video model is rendered as --frames frames (default: the fitted count)\n"
    "evenly spaced over the fitted duration, each WxH: 2F - 1 frames double\n"
    "the frame rate of an F-frame fit (its frames are then the odd-numbered\n"
    "files). PNG frames are numbered from 1 by the printf pattern (the folder\n"
    "is created if missing); .npy holds (frames, H, W, m), the same values in\n"
    "[0, 1] as float32.\n"
    "\n"
    "An audio model is played back over the fitted duration at --rate Hz\n"
    "(default: the fitted rate; any rate resamples the continuous function),\n"
    "in the input's scale, as 16-bit PCM.\n"
    "\n"
    "Evaluate an image model (2 inputs: row, col) or its exact derivatives on\n"
    "a WxH grid, (row, col) = linspace(-1, 1) per axis, row -1 at the top.\n"
    "Any size works: larger than the fitted size samples the continuous\n"
    "function (super-resolution).\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   output file, required; its extension picks the format\n"
    "  --what W            what to render (default value):\n"
    "      value    the network output\n"
    "      dx       d/dcol, the horizontal derivative\n"
    "      dy       d/drow, the vertical derivative (rows grow downwards)\n"
    "      grad     both: [..., 0] = d/drow (dy), [..., 1] = d/dcol (dx)\n"
    "      gradmag  the gradient's magnitude sqrt(dy^2 + dx^2)\n"
    "      lapl     the Laplacian d2/drow2 + d2/dcol2\n"
    "      all      (.png only) value | gradmag | lapl side by side\n"
    "  --size WxH          grid size (default: the size the model was fitted at)\n"
    "  --threads N         threads (default: all cores)\n"
    "  --rate HZ           audio: the sample rate to render at\n"
    "  --frames N          video: the number of frames\n"
    "  -h, --help          this text\n"
    "\n"
    ".npy: float32, exact, in the network's units, m = the model's outputs\n"
    "  (1 gray, 3 RGB); derivatives are computed exactly (no finite\n"
    "  differences) per unit of the [-1, 1] coordinates, of the raw network\n"
    "  output that --what value writes. Shapes: value, dx, dy, gradmag, lapl\n"
    "  (H, W, m); grad (H, W, m, 2). --what all cannot be written as .npy.\n"
    ".png: 8-bit, for viewing.\n"
    "  value    the picture, values mapped back to [0, 1] and clamped (RGB\n"
    "           models give RGB)\n"
    "  dx, dy, lapl  gray, 0 at mid-gray (128): v / S mapped from [-1, 1] to\n"
    "           black .. white, clamped, S = the 99.5th percentile of |v| over\n"
    "           the picture (1 if that is 0)\n"
    "  gradmag  gray, 0 black, |grad| / S white, S its 99.5th percentile\n"
    "  grad     RGB: R = d/dcol (dx), G = d/drow (dy), each mapped as dx and\n"
    "           dy with one S for both (the 99.5th percentile of |dx| and |dy|\n"
    "           together), B = 128\n"
    "  all      one RGB panel as in the SIREN paper's Figure 1: value |\n"
    "           gradmag | lapl, each WxH, 4-pixel white gaps: (3W+8) x H\n"
    "  For models with several outputs (RGB), each derivative picture shows\n"
    "  the mean over the outputs of the .npy map (gradmag: the mean of the\n"
    "  per-output magnitudes); value stays RGB.\n";

enum what { W_VALUE, W_DX, W_DY, W_GRAD, W_GRADMAG, W_LAPL, W_ALL };
static const char *const what_names[] = {"value", "dx", "dy", "grad",
                                         "gradmag", "lapl", "all"};

/* Panel gap of --what all, in pixels. */
enum { GAP = 4 };

/* The fitted size from the model's metadata, if it has a sane one. */
static int meta_dim(const siren_net *net, const char *key) {
    const char *s = siren_net_get_meta(net, key);
    if (!s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    return (end != s && !*end && v >= 1 && v <= 1 << 20) ? (int)v : 0;
}

/* a * b * c floats, or exit 1 when that overflows or memory runs out. */
static float *alloc_floats(size_t a, size_t b, size_t c) {
    float *p = NULL;
    if ((!b || a <= SIZE_MAX / b) && (!c || a * b <= SIZE_MAX / c) &&
        a * b * c <= SIZE_MAX / sizeof(float)) {
        size_t n = a * b * c;
        p = malloc(n > 0 ? n * sizeof(float) : 1);
    }
    if (!p) cli_die("out of memory for %zu x %zu x %zu values", a, b, c);
    return p;
}

/* ----------------------------------------------------- robust scale (PNG) */

static void swapf(float *a, float *b) {
    float t = *a;
    *a = *b;
    *b = t;
}

/* Rearranges a[0..n) so that a[k] is the k-th smallest value, everything
 * before it <= a[k] and everything after it >= a[k]. Three-way partitions
 * around pseudo-random pivots: expected linear time on any input, ties
 * included. */
static void select_kth(float *a, size_t n, size_t k) {
    size_t lo = 0, hi = n; /* the k-th lies in [lo, hi) */
    uint64_t rng = 0x9e3779b97f4a7c15u;
    while (hi - lo > 1) {
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        float pivot = a[lo + (size_t)((rng >> 33) % (hi - lo))];
        /* [lo, lt) < pivot, [lt, i) == pivot, (gt, hi) > pivot */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (a[i] < pivot) swapf(&a[lt++], &a[i++]);
            else if (a[i] > pivot) swapf(&a[i], &a[--gt]);
            else i++;
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return;
    }
}

/* The 99.5th percentile of |v| over the finite values of up to two arrays
 * of n values each (b may be NULL), interpolated linearly between order
 * statistics as numpy.percentile does; 1 when it is 0 or nothing is
 * finite. */
static float robust_scale(const float *a, const float *b, size_t n) {
    size_t cap = b ? 2 * n : n, cnt = 0;
    float *t = alloc_floats(cap, 1, 1);
    for (int pass = 0; pass < 2; pass++) {
        const float *src = pass ? b : a;
        if (!src) continue;
        for (size_t i = 0; i < n; i++)
            if (isfinite(src[i])) t[cnt++] = fabsf(src[i]);
    }
    float s = 0;
    if (cnt) {
        double pos = 0.995 * (double)(cnt - 1);
        size_t k = (size_t)pos;
        double frac = pos - (double)k;
        select_kth(t, cnt, k);
        double lo = t[k], hi = lo;
        if (k + 1 < cnt) {
            hi = t[k + 1];
            for (size_t i = k + 2; i < cnt; i++)
                if (t[i] < hi) hi = t[i];
        }
        s = (float)(lo + frac * (hi - lo));
    }
    free(t);
    return s > 0 && isfinite(s) ? s : 1.0f;
}

/* Signed map to [0, 1], 0 at 0.5: 0.5 + 0.5 v / s, clamped (NaN gives 0). */
static float signed_px(float v, float s) {
    float p = 0.5f + 0.5f * (v / s);
    return p > 0 ? (p < 1 ? p : 1) : 0;
}

static float unsigned_px(float v, float s) {
    float p = v / s;
    return p > 0 ? (p < 1 ? p : 1) : 0;
}

/* --------------------------------------------------- derivative maps */

/* From grad (n, m, 2): out (n, m) = d/drow (axis 0), d/dcol (axis 1) or the
 * magnitude (axis 2). out may be grad itself (written front to back, each
 * element after it has been read). */
static void from_grad(const float *grad, size_t n, size_t m, int axis,
                      float *out) {
    for (size_t i = 0; i < n * m; i++) {
        float r = grad[2 * i], c = grad[2 * i + 1];
        out[i] = axis == 0 ? r : axis == 1 ? c : sqrtf(r * r + c * c);
    }
}

/* Mean over the m outputs: (n, m) -> (n), in place (out may be x). */
static void mean_outputs(const float *x, size_t n, size_t m, float *out) {
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t c = 0; c < m; c++) s += x[i * m + c];
        out[i] = (float)(s / (double)m);
    }
}

/* A gray picture of a per-pixel map (n values), scaled as the help says;
 * takes ownership of map (reused as the picture's pixels). */
static void gray_picture(float *map, int w, int h, int is_signed,
                         siren_image *img) {
    size_t n = (size_t)w * h;
    float s = robust_scale(map, NULL, n);
    for (size_t i = 0; i < n; i++)
        map[i] = is_signed ? signed_px(map[i], s) : unsigned_px(map[i], s);
    img->width = w;
    img->height = h;
    img->channels = 1;
    img->data = map;
}

/* The picture of one derivative map (dx, dy, gradmag, lapl) as gray, or
 * grad as RGB, from the network's exact derivatives. */
static void derivative_picture(const siren_net *net, enum what what, int w,
                               int h, int threads, siren_image *img) {
    size_t n = (size_t)w * h, m = (size_t)siren_net_config(net)->out_features;
    if (what == W_LAPL) {
        float *lapl = alloc_floats(n, m, 1);
        if (siren_render_derivs(net, w, h, threads, NULL, NULL, lapl)) cli_fail();
        mean_outputs(lapl, n, m, lapl);
        gray_picture(lapl, w, h, 1, img);
        return;
    }
    float *grad = alloc_floats(n, m, 2);
    if (siren_render_derivs(net, w, h, threads, NULL, grad, NULL)) cli_fail();
    if (what != W_GRAD) {
        from_grad(grad, n, m, what == W_DY ? 0 : what == W_DX ? 1 : 2, grad);
        mean_outputs(grad, n, m, grad);
        gray_picture(grad, w, h, what != W_GRADMAG, img);
        return;
    }
    /* grad: R = d/dcol, G = d/drow, B = 128; one scale for both. */
    float *row = alloc_floats(n, 1, 1), *col = alloc_floats(n, 1, 1);
    for (size_t i = 0; i < n; i++) {
        double r = 0, c = 0;
        for (size_t k = 0; k < m; k++) {
            r += grad[(i * m + k) * 2];
            c += grad[(i * m + k) * 2 + 1];
        }
        row[i] = (float)(r / (double)m);
        col[i] = (float)(c / (double)m);
    }
    free(grad);
    float s = robust_scale(row, col, n);
    float *rgb = alloc_floats(n, 3, 1);
    for (size_t i = 0; i < n; i++) {
        rgb[3 * i] = signed_px(col[i], s);
        rgb[3 * i + 1] = signed_px(row[i], s);
        rgb[3 * i + 2] = 128.0f / 255.0f;
    }
    free(row);
    free(col);
    img->width = w;
    img->height = h;
    img->channels = 3;
    img->data = rgb;
}

/* Copies a w x h picture (1 or 3 channels) into the RGB panel at column x0. */
static void blit(const siren_image *src, float *panel, int panel_w, int x0) {
    for (int r = 0; r < src->height; r++)
        for (int q = 0; q < src->width; q++) {
            const float *s = src->data + ((size_t)r * src->width + q) * src->channels;
            float *d = panel + ((size_t)r * panel_w + x0 + q) * 3;
            for (int c = 0; c < 3; c++) d[c] = s[src->channels == 3 ? c : 0];
        }
}

/* value | gradmag | lapl, 4-pixel white gaps, RGB. */
void cli_figure1_picture(const siren_net *net, int w, int h, int threads,
                        siren_image *img) {
    siren_image value, mag, lapl;
    if (siren_render_image(net, w, h, threads, &value)) cli_fail();
    derivative_picture(net, W_GRADMAG, w, h, threads, &mag);
    derivative_picture(net, W_LAPL, w, h, threads, &lapl);
    int pw = 3 * w + 2 * GAP;
    float *panel = alloc_floats((size_t)pw, (size_t)h, 3);
    for (size_t i = 0; i < (size_t)pw * h * 3; i++) panel[i] = 1.0f;
    blit(&value, panel, pw, 0);
    blit(&mag, panel, pw, w + GAP);
    blit(&lapl, panel, pw, 2 * (w + GAP));
    siren_image_free(&value);
    siren_image_free(&mag);
    siren_image_free(&lapl);
    img->width = pw;
    img->height = h;
    img->channels = 3;
    img->data = panel;
}

/* ------------------------------------------------------------------ .npy */

static void write_npy(const siren_net *net, enum what what, int w, int h,
                      int threads, const char *output) {
    size_t n = (size_t)w * h, m = (size_t)siren_net_config(net)->out_features;
    size_t shape[4] = {(size_t)h, (size_t)w, m, 2};
    float *buf;
    int ndim = 3;
    if (what == W_VALUE) {
        buf = alloc_floats(n, m, 1);
        if (siren_render_values(net, w, h, threads, buf)) cli_fail();
    } else if (what == W_LAPL) {
        buf = alloc_floats(n, m, 1);
        if (siren_render_derivs(net, w, h, threads, NULL, NULL, buf)) cli_fail();
    } else {
        buf = alloc_floats(n, m, 2);
        if (siren_render_derivs(net, w, h, threads, NULL, buf, NULL)) cli_fail();
        if (what == W_GRAD) ndim = 4;
        else from_grad(buf, n, m, what == W_DY ? 0 : what == W_DX ? 1 : 2, buf);
    }
    if (siren_npy_write(output, buf, ndim, shape)) cli_fail();
    free(buf);
}

/* ----------------------------------------------------------------- video */

/* Frames of a video model to a PNG pattern, or all of them to one .npy. */
static int render_video(const char *model, siren_net *net, const char *output,
                        int frames, int w, int h, int threads) {
    int png = siren_video_pattern_ok(output) && cli_has_ext(output, ".png");
    if (!png && !cli_has_ext(output, ".npy"))
        cli_usage_error("render", "%s: a video model renders frames to a pattern "
                        "such as out/%%04d.png, or to one .npy", output);
    if (!frames) frames = meta_dim(net, "frames");
    if (!w) {
        w = meta_dim(net, "width");
        h = meta_dim(net, "height");
    }
    if (!frames || !w || !h) cli_die("%s: the model's video size is missing", model);
    const size_t m = (size_t)siren_net_config(net)->out_features, per = (size_t)w * h * m;
    float *all = NULL;
    if (png) {
        /* the pattern's folder, made if missing (one level) */
        char first[4096];
        if (siren_video_frame_path(output, 1, first, sizeof first)) cli_fail();
        char *slash = strrchr(first, '/');
        if (slash && slash != first) {
            *slash = 0;
            if (mkdir(first, 0777) && errno != EEXIST)
                cli_die("%s: cannot create the folder (%s)", first, strerror(errno));
        }
    } else {
        if ((double)per * frames > (double)SIREN_MAX_VIDEO_VALUES)
            cli_die("%s: %d frames of %dx%d exceed %zu values for one .npy", model,
                    frames, w, h, (size_t)SIREN_MAX_VIDEO_VALUES);
        all = alloc_floats(per, (size_t)frames, 1);
    }
    cli_progress prog;
    cli_progress_open(&prog, "render", 0, NULL);
    prog.unit = "frame";
    cli_catch_signals();
    const double t0 = cli_seconds();
    for (int f = 0; f < frames; f++) {
        siren_image img;
        if (siren_render_video_frame(net, f, frames, w, h, threads, &img)) cli_fail();
        if (png) {
            char name[4096];
            if (siren_video_frame_path(output, f + 1, name, sizeof name) ||
                siren_image_write_png(name, &img))
                cli_fail();
        } else {
            memcpy(all + f * per, img.data, per * sizeof *all);
        }
        siren_image_free(&img);
        siren_progress p = {f + 1, frames, cli_seconds() - t0, NAN, NAN, NULL, 0};
        cli_progress_cb(&prog, &p);
        if (cli_interrupted) {
            cli_progress_close(&prog, 0);
            cli_die("interrupted after %d of %d frames%s", f + 1, frames,
                    png ? " (the frames written so far are complete)" : "; nothing written");
        }
    }
    cli_progress_close(&prog, 1);
    if (!png) {
        size_t shape[4] = {(size_t)frames, (size_t)h, (size_t)w, m};
        if (siren_npy_write(output, all, 4, shape)) cli_fail();
        free(all);
    }
    fprintf(stderr, "%s: %d frames of %dx%d rendered in %.2f s to %s\n", model, frames,
            w, h, cli_seconds() - t0, output);
    return 0;
}

int cli_render(int argc, char **argv) {
    const char *cmd = "render";
    const char *model = NULL, *output = NULL, *what_s = "value", *v;
    int w = 0, h = 0, threads = 0, size_given = 0, rate = 0, frames = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(render_help, stdout);
            return 0;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                   (v = cli_opt(cmd, argc, argv, &i, "--output"))) output = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--size"))) {
            cli_size(cmd, "--size", v, &w, &h);
            size_given = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--what"))) what_s = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--frames")))
            frames = (int)cli_int(cmd, "--frames", v, 1, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--rate")))
            rate = (int)cli_int(cmd, "--rate", v, 1, 10000000);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!model) model = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!model) cli_usage_error(cmd, "missing MODEL");
    if (!output) cli_usage_error(cmd, "missing -o OUT.png|OUT.npy");
    if (cli_has_ext(output, ".wav") || cli_has_ext(output, ".flac")) {
        siren_net *net;
        if (siren_net_load(model, &net)) cli_fail();
        const char *task = siren_net_get_meta(net, "task");
        if (!task || strcmp(task, "audio"))
            cli_die("%s: a .wav or .flac needs an audio model (task is %s)", model,
                    task ? task : "missing");
        siren_audio au;
        if (siren_render_audio(net, rate, threads, &au)) cli_die("%s: %s", model, siren_last_error());
        if (siren_audio_write(output, &au)) cli_fail();
        siren_audio_free(&au);
        siren_net_free(net);
        return 0;
    }
    if (rate) cli_usage_error(cmd, "--rate is for audio models (-o OUT.wav)");
    if (frames || strchr(output, '%')) {
        siren_net *net;
        if (siren_net_load(model, &net)) cli_fail();
        const char *task = siren_net_get_meta(net, "task");
        if (!task || strcmp(task, "video"))
            cli_die("%s: --frames and frame patterns need a video model (task is %s)",
                    model, task ? task : "missing");
        if (strcmp(what_s, "value"))
            cli_usage_error(cmd, "--what is for image models; a video renders values");
        int rc = render_video(model, net, output, frames, w, h, threads);
        siren_net_free(net);
        return rc;
    }
    int what = -1;
    for (int k = 0; k <= W_ALL; k++)
        if (!strcmp(what_s, what_names[k])) what = k;
    if (what < 0)
        cli_usage_error(cmd, "--what %s: not one of value, dx, dy, grad, "
                             "gradmag, lapl, all", what_s);
    int png = cli_has_ext(output, ".png"), npy = cli_has_ext(output, ".npy");
    if (!png && !npy)
        cli_usage_error(cmd, "%s: output must end in .png, .npy, .wav or .flac", output);
    if (npy && what == W_ALL)
        cli_usage_error(cmd, "--what all makes a picture: write it to a .png, or "
                             "one --what (value, dx, dy, grad, gradmag, lapl) "
                             "per .npy");
    if (size_given && what == W_ALL &&
        (size_t)(3 * w + 2 * GAP) * h > SIREN_MAX_IMAGE_PIXELS)
        cli_usage_error(cmd, "--size %dx%d: the --what all panel, %dx%d, exceeds "
                             "%zu pixels", w, h, 3 * w + 2 * GAP, h,
                        (size_t)SIREN_MAX_IMAGE_PIXELS);

    siren_net *net;
    if (siren_net_load(model, &net)) cli_fail();
    const char *task = siren_net_get_meta(net, "task");
    if (task && !strcmp(task, "video") && what == W_VALUE) {
        int rc = render_video(model, net, output, frames, w, h, threads);
        siren_net_free(net);
        return rc;
    }
    const siren_config *cfg = siren_net_config(net);
    if (cfg->in_features != 2)
        cli_die("%s: model has %d inputs, not an image model (2)", model,
                cfg->in_features);
    if (png && (what == W_VALUE || what == W_ALL) && cfg->out_features != 1 &&
        cfg->out_features != 3)
        cli_die("%s: model has %d outputs; a picture of its values needs 1 or 3",
                model, cfg->out_features);
    if (!w) {
        w = meta_dim(net, "image_width");
        h = meta_dim(net, "image_height");
        if (!w || !h) w = h = 256;
    }
    if (what == W_ALL && (size_t)(3 * w + 2 * GAP) * h > SIREN_MAX_IMAGE_PIXELS)
        cli_die("%s: the --what all panel at the fitted size %dx%d exceeds %zu "
                "pixels; give a smaller --size", model, w, h,
                (size_t)SIREN_MAX_IMAGE_PIXELS);

    if (npy) {
        write_npy(net, what, w, h, threads, output);
    } else {
        siren_image img;
        if (what == W_VALUE) {
            if (siren_render_image(net, w, h, threads, &img)) cli_fail();
        } else if (what == W_ALL) {
            cli_figure1_picture(net, w, h, threads, &img);
        } else {
            derivative_picture(net, what, w, h, threads, &img);
        }
        if (siren_image_write_png(output, &img)) cli_fail();
        siren_image_free(&img);
    }
    siren_net_free(net);
    return 0;
}

/* The video task, as the official train_video.py: (t, row, col), each
 * linspace(-1, 1) over its axis, -> values mapped from [0, 1] to [-1, 1],
 * one output per channel. A step samples a fraction of all voxels with
 * replacement. Coordinates are made on the fly from the voxel index (a
 * point source), so a video costs its values' memory and no more. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "tasks/grid.h"
#include "train/train.h"
#include "util/error.h"

/* Voxel i of the video: (t, row, col) and its values on [-1, 1]. */
static void video_point(const void *user, size_t i, float *x, float *t) {
    const siren_video *v = user;
    const size_t w = (size_t)v->width, hw = (size_t)v->height * w;
    const size_t f = i / hw, r = i % hw / w, c = i % w;
    x[0] = (float)siren_grid_coord((int)f, v->frames);
    x[1] = (float)siren_grid_coord((int)r, v->height);
    x[2] = (float)siren_grid_coord((int)c, v->width);
    const float *src = v->data + i * v->channels;
    for (int k = 0; k < v->channels; k++) t[k] = 2.0f * src[k] - 1.0f;
}

siren_status siren_fit_video(const siren_video *v, double sample_frac,
                             const siren_config *cfg, const siren_train_opts *opt,
                             siren_net **out, siren_fit_result *res) {
    *out = NULL;
    if (!v->data || v->frames < 1 || v->width < 1 || v->height < 1 ||
        (v->channels != 1 && v->channels != 3))
        return siren_fail(SIREN_EINVAL, "no frames to fit");
    if (!(sample_frac > 0))
        return siren_fail(SIREN_EINVAL, "the sample fraction must be positive");
    const size_t n = (size_t)v->frames * v->height * v->width;
    siren_train_opts o = *opt;
    if (o.batch == 0 && sample_frac < 1) {
        double b = ceil(sample_frac * (double)n);
        o.batch = b < 1 ? 1 : (size_t)b;
    }
    siren_config c = *cfg;
    c.in_features = 3;
    c.out_features = v->channels;
    siren_net *net = NULL;
    siren_status st = siren_net_create(&c, opt->seed, &net);
    char buf[32];
    const struct { const char *key; int val; } meta[] = {
        {"frames", v->frames}, {"height", v->height}, {"width", v->width},
        {"channels", v->channels}};
    if (!st) st = siren_net_set_meta(net, "task", "video");
    for (size_t k = 0; !st && k < sizeof meta / sizeof *meta; k++) {
        snprintf(buf, sizeof buf, "%d", meta[k].val);
        st = siren_net_set_meta(net, meta[k].key, buf);
    }
    if (!st) st = siren_net_set_meta(net, "coords", "(t, row, col), each linspace(-1,1,n)");
    if (!st) {
        siren_point_source src = {n, video_point, v};
        st = siren_train_values_source(net, &src, SIREN_LOSS_MSE, &o, res);
    }
    /* diverged: the model is the last good state, and the caller gets it */
    if (st && st != SIREN_EDIVERGED) {
        siren_net_free(net);
        return st;
    }
    *out = net;
    return st;
}

/* The fitted size of a video model, checked. */
static siren_status video_meta(const siren_net *net, int *frames, int *height,
                               int *width) {
    const char *task = siren_net_get_meta(net, "task");
    if (!task || strcmp(task, "video"))
        return siren_fail(SIREN_EINVAL, "not a video model (task is %s)",
                          task ? task : "missing");
    double f = siren_meta_num(net, "frames", NAN), h = siren_meta_num(net, "height", NAN),
           w = siren_meta_num(net, "width", NAN);
    const int ch = net->cfg.out_features;
    if (!(f >= 1 && f <= 1e8) || !(h >= 1 && h <= 1e6) || !(w >= 1 && w <= 1e6) ||
        net->cfg.in_features != 3 || (ch != 1 && ch != 3))
        return siren_fail(SIREN_EFORMAT, "the model's video metadata (frames, height, "
                          "width) is missing or bad");
    *frames = (int)f;
    *height = (int)h;
    *width = (int)w;
    return SIREN_OK;
}

/* Raw outputs of frame coordinate t on the height x width grid into y
 * (height, width, out); xbuf holds (height * width, 3). */
static siren_status eval_frame(const siren_net *net, double t, int width, int height,
                               int threads, float *xbuf, float *y) {
    size_t k = 0;
    for (int r = 0; r < height; r++)
        for (int c = 0; c < width; c++, k++) {
            xbuf[3 * k] = (float)t;
            xbuf[3 * k + 1] = (float)siren_grid_coord(r, height);
            xbuf[3 * k + 2] = (float)siren_grid_coord(c, width);
        }
    return siren_net_eval(net, xbuf, k, y, threads);
}

static float to_unit(float y) {
    float v = 0.5f * (y + 1.0f);
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

siren_status siren_render_video_frame(const siren_net *net, int index, int frames,
                                      int width, int height, int threads,
                                      siren_image *dst) {
    memset(dst, 0, sizeof *dst);
    int f0, h0, w0;
    siren_status st = video_meta(net, &f0, &h0, &w0);
    if (st) return st;
    if (frames < 1 || index < 0 || index >= frames)
        return siren_fail(SIREN_EINVAL, "frame %d of %d", index, frames);
    if (width < 1 || height < 1 || (size_t)width * height > SIREN_MAX_IMAGE_PIXELS)
        return siren_fail(SIREN_EINVAL, "size %dx%d is not in 1x1 .. %zu pixels", width,
                          height, (size_t)SIREN_MAX_IMAGE_PIXELS);
    const int ch = net->cfg.out_features;
    const size_t px = (size_t)width * height;
    float *x = malloc(px * 3 * sizeof *x);
    dst->data = malloc(px * ch * sizeof *dst->data);
    if (!x || !dst->data) {
        free(x);
        siren_image_free(dst);
        return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d frame", width, height);
    }
    st = eval_frame(net, siren_grid_coord(index, frames), width, height, threads, x,
                    dst->data);
    free(x);
    if (st) {
        siren_image_free(dst);
        return st;
    }
    for (size_t i = 0; i < px * ch; i++) dst->data[i] = to_unit(dst->data[i]);
    dst->width = width;
    dst->height = height;
    dst->channels = ch;
    return SIREN_OK;
}

siren_status siren_eval_video(const siren_net *net, const siren_video *ref, int threads,
                              double *psnr_per_frame, double *psnr_mean_db,
                              double *psnr_all_db) {
    int f0, h0, w0;
    siren_status st = video_meta(net, &f0, &h0, &w0);
    if (st) return st;
    const int ch = net->cfg.out_features;
    if (ref->frames != f0 || ref->height != h0 || ref->width != w0 || ref->channels != ch)
        return siren_fail(SIREN_EINVAL, "the reference is %d frames of %dx%dx%d; the "
                          "model was fitted to %d frames of %dx%dx%d", ref->frames,
                          ref->width, ref->height, ref->channels, f0, w0, h0, ch);
    const size_t px = (size_t)w0 * h0, per = px * ch;
    float *x = malloc(px * 3 * sizeof *x), *y = malloc(per * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return siren_fail(SIREN_ENOMEM, "out of memory for a %dx%d frame", w0, h0);
    }
    double total = 0, sum_db = 0;
    for (int f = 0; f < f0 && !st; f++) {
        if ((st = eval_frame(net, siren_grid_coord(f, f0), w0, h0, threads, x, y))) break;
        const float *r = ref->data + (size_t)f * per;
        double se = 0;
        for (size_t i = 0; i < per; i++) {
            /* on [-1, 1], as the fit's PSNR */
            double d = 2.0 * ((double)to_unit(y[i]) - r[i]);
            se += d * d;
        }
        total += se;
        psnr_per_frame[f] = se > 0 ? 10 * log10(4 * (double)per / se) : INFINITY;
        sum_db += psnr_per_frame[f];
    }
    free(x);
    free(y);
    if (!st) {
        double mse = total / ((double)per * f0);
        *psnr_all_db = mse > 0 ? 10 * log10(4 / mse) : INFINITY;
        *psnr_mean_db = sum_db / f0;
    }
    return st;
}

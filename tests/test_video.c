/* Video (src/io/video.c, src/tasks/video_task.c): frames written here as
 * PGM/PPM byte by byte read back from a folder (natural order) and from
 * printf patterns (numbered from 0 or 1); frames of different sizes,
 * broken frames, empty folders and bad patterns are refused naming the
 * file; without ffmpeg a video file gets a message saying so; the point
 * source trains bit for bit as arrays do; a moving disc fits above a
 * stated PSNR; eval's PSNR agrees with one computed here from renders; a
 * render at 2F - 1 frames passes through the fitted frames. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "siren.h"
#include "testhelp.h"
#include "train/train.h"

static char dir[64];

/* An 8-bit binary PGM (c == 1) or PPM (c == 3) of w x h written by hand;
 * value(x, y, k) gives byte k of pixel (x, y). */
static void put_pnm(const char *path, int w, int h, int c, const uint8_t *px) {
    FILE *f = fopen(path, "wb");
    fprintf(f, "P%d\n%d %d\n255\n", c == 1 ? 5 : 6, w, h);
    fwrite(px, 1, (size_t)w * h * c, f);
    fclose(f);
}

/* Frame f of F of the moving disc: radius 0.3 (in [-1, 1] units), centre
 * moving left to right, gray 0.9 on 0.1. */
static void disc_frame(int f, int F, int w, int h, uint8_t *px) {
    double cx = -0.5 + (F > 1 ? (double)f / (F - 1) : 0), cy = 0.1 * f / (F > 1 ? F - 1 : 1);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            double y = -1 + 2.0 * r / (h - 1), x = -1 + 2.0 * c / (w - 1);
            double d = hypot(x - cx, y - cy);
            /* anti-aliased edge over about a pixel */
            double t = 0.5 - (d - 0.3) * (w - 1) / 2.0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            px[r * w + c] = (uint8_t)lround(255 * (0.1 + 0.8 * t));
        }
}

static void make_disc_folder(const char *sub, int F, int w, int h, int first) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    mkdir(p, 0777);
    uint8_t *px = malloc((size_t)w * h);
    for (int f = 0; f < F; f++) {
        disc_frame(f, F, w, h, px);
        snprintf(p, sizeof p, "%s/%s/disc%d.pgm", dir, sub, f + first);
        put_pnm(p, w, h, 1, px);
    }
    free(px);
}

static void test_readers(void) {
    char p[256], q[256];
    /* natural order: disc2 before disc10, from a folder and from a pattern */
    make_disc_folder("nat", 12, 16, 12, 0);
    siren_video v;
    snprintf(p, sizeof p, "%s/nat", dir);
    siren_status st = siren_video_load(p, 0, 0, &v);
    int ok = !st && v.frames == 12 && v.width == 16 && v.height == 12 && v.channels == 1;
    uint8_t ref[16 * 12];
    for (int f = 0; ok && f < 12; f++) {
        disc_frame(f, 12, 16, 12, ref);
        for (int i = 0; ok && i < 16 * 12; i++)
            ok = v.data[f * 16 * 12 + i] == ref[i] / 255.0f;
    }
    CHECK(ok, "a folder of 12 PGM frames reads in natural order (disc2 before disc10): %s",
          st ? siren_last_error() : "exact");
    if (!st) siren_video_free(&v);
    st = siren_video_load(p, 5, 0, &v);
    CHECK(!st && v.frames == 5, "--frames 5 keeps the first 5 frames of a folder");
    if (!st) siren_video_free(&v);

    snprintf(p, sizeof p, "%s/nat/disc%%d.pgm", dir);
    st = siren_video_load(p, 0, 0, &v);
    CHECK(!st && v.frames == 12, "the pattern disc%%d.pgm from 0 reads 12 frames: %s",
          st ? siren_last_error() : "ok");
    if (!st) siren_video_free(&v);

    make_disc_folder("one", 4, 8, 8, 1);
    snprintf(p, sizeof p, "%s/one/disc%%d.pgm", dir);
    st = siren_video_load(p, 0, 0, &v);
    CHECK(!st && v.frames == 4, "a pattern numbered from 1 reads all 4 frames: %s",
          st ? siren_last_error() : "ok");
    if (!st) siren_video_free(&v);

    /* an RGB folder through PPM */
    snprintf(p, sizeof p, "%s/rgb", dir);
    mkdir(p, 0777);
    uint8_t rgb[4 * 3 * 3];
    for (int i = 0; i < 36; i++) rgb[i] = (uint8_t)(7 * i);
    for (int f = 0; f < 3; f++) {
        snprintf(q, sizeof q, "%s/rgb/f%d.ppm", dir, f);
        put_pnm(q, 4, 3, 3, rgb);
    }
    st = siren_video_load(p, 0, 0, &v);
    CHECK(!st && v.channels == 3 && v.frames == 3 && v.data[2 * 36 + 35] == 245 / 255.0f,
          "a folder of PPM frames reads as 3 channels");
    if (!st) siren_video_free(&v);

    /* a frame of another size: the error names it and both sizes */
    snprintf(p, sizeof p, "%s/mixed", dir);
    mkdir(p, 0777);
    uint8_t px[10 * 10] = {0};
    snprintf(q, sizeof q, "%s/mixed/a1.pgm", dir);
    put_pnm(q, 10, 10, 1, px);
    snprintf(q, sizeof q, "%s/mixed/a2.pgm", dir);
    put_pnm(q, 10, 10, 1, px);
    snprintf(q, sizeof q, "%s/mixed/a3.pgm", dir);
    put_pnm(q, 9, 10, 1, px);
    st = siren_video_load(p, 0, 0, &v);
    CHECK(st == SIREN_EFORMAT && strstr(siren_last_error(), "a3.pgm") &&
              strstr(siren_last_error(), "9x10") && strstr(siren_last_error(), "10x10"),
          "a frame of another size is refused naming it: %s", siren_last_error());

    /* gray then colour */
    snprintf(q, sizeof q, "%s/mixed/a3.pgm", dir);
    unlink(q);
    snprintf(q, sizeof q, "%s/mixed/a4.ppm", dir);
    uint8_t px3[10 * 10 * 3] = {0};
    put_pnm(q, 10, 10, 3, px3);
    st = siren_video_load(p, 0, 0, &v);
    CHECK(st == SIREN_EFORMAT && strstr(siren_last_error(), "a4.ppm"),
          "a colour frame among gray ones is refused naming it: %s", siren_last_error());
    unlink(q);

    /* a truncated frame */
    snprintf(q, sizeof q, "%s/mixed/a5.pgm", dir);
    FILE *f = fopen(q, "wb");
    fprintf(f, "P5\n10 10\n255\n");
    fwrite(px, 1, 50, f);
    fclose(f);
    st = siren_video_load(p, 0, 0, &v);
    CHECK(st && strstr(siren_last_error(), "a5.pgm"),
          "a truncated frame is refused naming it: %s", siren_last_error());

    /* the value limit: 2 frames of 100 values fit in 200, 3 do not */
    unlink(q);
    snprintf(q, sizeof q, "%s/mixed/a6.pgm", dir);
    put_pnm(q, 10, 10, 1, px);
    st = siren_video_load(p, 0, 200, &v);
    CHECK(st == SIREN_ELIMIT && strstr(siren_last_error(), "limit"),
          "3 frames of 100 values over a limit of 200 are refused: %s", siren_last_error());
    st = siren_video_load(p, 2, 200, &v);
    CHECK(!st && v.frames == 2, "the first 2 of them fit the limit of 200");
    if (!st) siren_video_free(&v);

    snprintf(p, sizeof p, "%s/empty", dir);
    mkdir(p, 0777);
    st = siren_video_load(p, 0, 0, &v);
    CHECK(st && strstr(siren_last_error(), "no PNG"), "an empty folder is refused: %s",
          siren_last_error());
    snprintf(p, sizeof p, "%s/nothing/%%04d.png", dir);
    st = siren_video_load(p, 0, 0, &v);
    CHECK(st && strstr(siren_last_error(), "no frame found"),
          "a pattern that matches nothing is refused: %s", siren_last_error());
    const char *bad[] = {"a%s.png", "%d%d.png", "%x.png", "%12d.png", "noconv.png%"};
    int all_bad = 1;
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        all_bad &= !siren_video_pattern_ok(bad[k]) && siren_video_load(bad[k], 0, 0, &v) != 0;
    CHECK(all_bad && siren_video_pattern_ok("f%%_%04d.png") &&
              siren_video_pattern_ok("%d.png"),
          "patterns: one %%d with flag 0 and a width below 10, other %% doubled");
    char name[32];
    CHECK(!siren_video_frame_path("x/%04d.png", 7, name, sizeof name) &&
              !strcmp(name, "x/0007.png") &&
              siren_video_frame_path("x/%04d.png", 7, name, 6) == SIREN_ELIMIT,
          "frame names from a pattern, and too long ones refused");

    /* a video file without ffmpeg on PATH */
    snprintf(p, sizeof p, "%s/clip.mp4", dir);
    f = fopen(p, "wb");
    fputs("not really a video", f);
    fclose(f);
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", dir, 1);
    st = siren_video_load(p, 0, 0, &v);
    CHECK(st && strstr(siren_last_error(), "needs ffmpeg") && strstr(siren_last_error(), "clip.mp4"),
          "a video file without ffmpeg on PATH: %s", siren_last_error());
    if (old) setenv("PATH", old, 1);
    free(old);
    /* with ffmpeg: its complaint about a file that is no video comes back */
    if (system("command -v ffmpeg >/dev/null 2>&1") == 0) {
        st = siren_video_load(p, 0, 0, &v);
        CHECK(st == SIREN_EFORMAT && strstr(siren_last_error(), "ffmpeg could not decode"),
              "ffmpeg's failure on a file that is no video is reported: %s",
              siren_last_error());
        /* a lossless video of the RGB frames comes back exactly */
        char cmd[512];
        snprintf(q, sizeof q, "%s/rgb.mov", dir);
        snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -i %s/rgb/f%%d.ppm "
                 "-c:v png %s", dir, q);
        if (system(cmd) == 0) {
            st = siren_video_load(q, 0, 0, &v);
            ok = !st && v.frames == 3 && v.width == 4 && v.height == 3 && v.channels == 3;
            for (int i = 0; ok && i < 3 * 36; i++) ok = v.data[i] == rgb[i % 36] / 255.0f;
            CHECK(ok, "a lossless video file decoded through ffmpeg gives the frames "
                  "exactly: %s", st ? siren_last_error() : "ok");
            if (!st) siren_video_free(&v);
            st = siren_video_load(q, 2, 0, &v);
            CHECK(!st && v.frames == 2, "and --frames 2 takes 2 frames of it");
            if (!st) siren_video_free(&v);
        } else {
            printf("not ok - ffmpeg could not encode the test video (%s)\n", cmd);
            th_failed++;
        }
    } else {
        printf("ok - ffmpeg decoding tests # SKIP no ffmpeg on PATH\n");
    }
}

/* Voxel i of a (F, H, W) gray video as a point source, and as arrays. */
typedef struct { int F, H, W; const float *v; } vid3;
static void vid_point(const void *user, size_t i, float *x, float *t) {
    const vid3 *s = user;
    size_t hw = (size_t)s->H * s->W;
    x[0] = (float)(s->F > 1 ? -1.0 + 2.0 * (double)(i / hw) / (s->F - 1) : 0);
    x[1] = (float)(-1.0 + 2.0 * (double)(i % hw / s->W) / (s->H - 1));
    x[2] = (float)(-1.0 + 2.0 * (double)(i % s->W) / (s->W - 1));
    t[0] = 2 * s->v[i] - 1;
}

static void test_source_matches_arrays(void) {
    enum { F = 4, H = 6, W = 5, N = F * H * W };
    float v[N], x[N * 3], t[N];
    for (int i = 0; i < N; i++) v[i] = (float)((i * 37) % 11) / 10.0f;
    vid3 s = {F, H, W, v};
    for (int i = 0; i < N; i++) vid_point(&s, i, x + 3 * i, t + i);
    siren_config cfg = siren_config_default(3, 1);
    cfg.hidden_features = 16;
    cfg.hidden_layers = 1;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 20;
    opt.threads = 1;
    siren_net *a, *b;
    siren_net_create(&cfg, 3, &a);
    siren_net_create(&cfg, 3, &b);
    siren_fit_result ra, rb;
    siren_point_source src = {N, vid_point, &s};
    siren_status sa = siren_train_values(a, x, t, N, &opt, &ra);
    siren_status sb = siren_train_values_source(b, &src, SIREN_LOSS_MSE, &opt, &rb);
    CHECK(!sa && !sb && !memcmp(siren_net_params(a), siren_net_params(b),
                                siren_net_param_count(a) * sizeof(float)) &&
              ra.psnr_db == rb.psnr_db,
          "full batch: a point source trains bit for bit as the same points in arrays");
    siren_net_free(a);
    siren_net_free(b);
    /* minibatches with replacement: resuming from a checkpoint gives the
     * uninterrupted run */
    char ck[128];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    opt.batch = 7;
    opt.steps = 30;
    siren_net_create(&cfg, 5, &a);
    siren_net_create(&cfg, 5, &b);
    sa = siren_train_values_source(a, &src, SIREN_LOSS_MSE, &opt, &ra);
    siren_train_opts o1 = opt;
    o1.steps = 12;
    o1.checkpoint = ck;
    sb = siren_train_values_source(b, &src, SIREN_LOSS_MSE, &o1, &rb);
    siren_train_opts o2 = opt;
    o2.resume = ck;
    if (!sb) sb = siren_train_values_source(b, &src, SIREN_LOSS_MSE, &o2, &rb);
    CHECK(!sa && !sb && rb.steps == 30 &&
              !memcmp(siren_net_params(a), siren_net_params(b),
                      siren_net_param_count(a) * sizeof(float)),
          "minibatches with replacement: 12 steps + resume = 30 steps bit for bit: %s",
          sa || sb ? siren_last_error() : "ok");
    siren_net_free(a);
    siren_net_free(b);
}

static void test_fit_disc(void) {
    enum { F = 8, W = 24, H = 20 };
    siren_video v = {F, W, H, 1, malloc(sizeof(float) * F * W * H)};
    uint8_t px[W * H];
    for (int f = 0; f < F; f++) {
        disc_frame(f, F, W, H, px);
        for (int i = 0; i < W * H; i++) v.data[f * W * H + i] = px[i] / 255.0f;
    }
    siren_config cfg = siren_config_default(3, 1);
    cfg.hidden_features = 64;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 300;
    opt.lr = 1e-3f;
    opt.seed = 1;
    siren_net *net;
    siren_fit_result res;
    /* a quarter of the voxels per step */
    siren_status st = siren_fit_video(&v, 0.25, &cfg, &opt, &net, &res);
    CHECK(!st && res.psnr_db > 40, "a moving disc, 8 frames of 24x20, fits above 40 dB "
          "in 300 steps sampling 25%%: %.2f dB", res.psnr_db);
    if (st) {
        free(v.data);
        return;
    }
    CHECK(!strcmp(siren_net_get_meta(net, "task"), "video") &&
              !strcmp(siren_net_get_meta(net, "frames"), "8") &&
              !strcmp(siren_net_get_meta(net, "width"), "24"),
          "the model records the task and the video's size");

    /* eval against a PSNR computed here from rendered frames */
    double per[F], mean, all;
    st = siren_eval_video(net, &v, 1, per, &mean, &all);
    double se_all = 0, sum_db = 0, worst = 0;
    for (int f = 0; f < F && !st; f++) {
        siren_image img;
        if (siren_render_video_frame(net, f, F, W, H, 1, &img)) break;
        double se = 0;
        for (int i = 0; i < W * H; i++) {
            double d = 2.0 * (img.data[i] - v.data[f * W * H + i]);
            se += d * d;
        }
        se_all += se;
        double db = 10 * log10(4.0 * W * H / se);
        sum_db += db;
        worst = fmax(worst, fabs(db - per[f]));
        siren_image_free(&img);
    }
    CHECK(!st && worst < 1e-9 && fabs(mean - sum_db / F) < 1e-9 &&
              fabs(all - 10 * log10(4.0 * F * W * H / se_all)) < 1e-9 &&
              fabs(all - res.psnr_db) < 0.5,
          "eval: per-frame, mean and overall PSNR as computed from renders (%.2f, "
          "%.2f dB; the fit's %.2f)", mean, all, res.psnr_db);

    /* 2F - 1 frames: the even ones are the fitted frames' renders */
    double diff = 0;
    for (int f = 0; f < F; f++) {
        siren_image a, b;
        if (siren_render_video_frame(net, f, F, W, H, 1, &a)) break;
        if (siren_render_video_frame(net, 2 * f, 2 * F - 1, W, H, 1, &b)) break;
        for (int i = 0; i < W * H; i++) diff = fmax(diff, fabs(a.data[i] - b.data[i]));
        siren_image_free(&a);
        siren_image_free(&b);
    }
    CHECK(diff < 1e-5, "rendered at 2F - 1 frames, frame 2k is fitted frame k (max "
          "difference %.2g)", diff);
    siren_image big;
    st = siren_render_video_frame(net, 3, 15, 48, 40, 1, &big);
    CHECK(!st && big.width == 48 && big.height == 40 && big.channels == 1,
          "any frame size renders (48x40)");
    if (!st) siren_image_free(&big);
    CHECK(siren_render_video_frame(net, 15, 15, 48, 40, 1, &big) == SIREN_EINVAL,
          "a frame index past the count is refused");
    v.frames = 7;
    CHECK(siren_eval_video(net, &v, 1, per, &mean, &all) == SIREN_EINVAL,
          "eval against 7 frames of an 8-frame model is refused: %s", siren_last_error());
    siren_net_free(net);
    free(v.data);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/siren_test_video_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_readers();
    test_source_matches_arrays();
    test_fit_disc();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    TEST_DONE();
}

/* Audio (src/io/audio.c, src/tasks/audio_task.c): a WAV built byte by byte
 * here reads back to the expected samples; our WAV and FLAC writers round
 * trip within 16-bit quantisation; empty, foreign and truncated files are
 * refused naming the file; a chirp and a two-tone signal fit above stated
 * PSNRs; the eval's PSNR agrees with the fit's; a render at twice the rate
 * passes through the fitted samples; stereo gives one output per channel,
 * or one with mix. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siren.h"
#include "testhelp.h"

static char dir[64], path[128];

static const char *put(const char *name, const void *data, size_t n) {
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

static void le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

/* A canonical 16-bit PCM WAV of n frames x ch channels; claim frames in the
 * data chunk's size (more than n: a truncated file). */
static size_t make_wav(uint8_t *b, const int16_t *s, int n, int ch, int rate, int claim) {
    memcpy(b, "RIFF", 4);
    le32(b + 4, (uint32_t)(36 + claim * ch * 2));
    memcpy(b + 8, "WAVEfmt ", 8);
    le32(b + 16, 16);
    le16(b + 20, 1);
    le16(b + 22, (uint16_t)ch);
    le32(b + 24, (uint32_t)rate);
    le32(b + 28, (uint32_t)(rate * ch * 2));
    le16(b + 32, (uint16_t)(ch * 2));
    le16(b + 34, 16);
    memcpy(b + 36, "data", 4);
    le32(b + 40, (uint32_t)(claim * ch * 2));
    for (int i = 0; i < n * ch; i++) le16(b + 44 + 2 * i, (uint16_t)s[i]);
    return 44 + (size_t)n * ch * 2;
}

static void test_io(void) {
    int16_t s[6] = {0, 16384, -32768, 32767, -1, 100};
    static uint8_t b[4096];
    size_t n = make_wav(b, s, 3, 2, 22050, 3);
    siren_audio a;
    siren_status st = siren_audio_load(put("hand.wav", b, n), 0, &a);
    int ok = st == SIREN_OK && a.frames == 3 && a.channels == 2 && a.rate == 22050;
    for (int i = 0; ok && i < 6; i++) ok = a.data[i] == s[i] / 32768.0f;
    CHECK(ok, "a 16-bit stereo WAV built here reads as sample / 32768: %s",
          st ? siren_last_error() : "exact");
    if (!st) siren_audio_free(&a);

    /* our writers, WAV and FLAC */
    enum { N = 1000 };
    float x[N * 2];
    for (int i = 0; i < N * 2; i++) x[i] = (float)(0.9 * sin(0.01 * i * i / 7.0));
    for (int flac = 0; flac < 2; flac++) {
        siren_audio w = {2, 44100, N, x}, r;
        snprintf(path, sizeof path, "%s/rt.%s", dir, flac ? "flac" : "wav");
        st = siren_audio_write(path, &w);
        if (!st) st = siren_audio_load(path, 0, &r);
        double e = 0;
        if (!st) {
            for (int i = 0; i < N * 2; i++) e = fmax(e, fabs(r.data[i] - x[i]));
            ok = r.frames == N && r.channels == 2 && r.rate == 44100;
            siren_audio_free(&r);
        }
        CHECK(st == SIREN_OK && ok && e <= 1.0 / 32768,
              "%s written and read back within 16-bit quantisation (max error %.2e)",
              flac ? "FLAC" : "WAV", e);
    }
    /* broken files */
    struct { const char *name, *why; const void *data; size_t n; } bad[] = {
        {"empty.wav", "empty file", "", 0},
        {"text.wav", "not a sound file", "hello, this is not audio at all\n", 32},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        memset(&a, 0x55, sizeof a);
        st = siren_audio_load(put(bad[k].name, bad[k].data, bad[k].n), 0, &a);
        CHECK(st != SIREN_OK && !a.data && strstr(siren_last_error(), bad[k].name),
              "%s refused: %s", bad[k].why, siren_last_error());
    }
    n = make_wav(b, s, 0, 1, 8000, 0);
    st = siren_audio_load(put("zero.wav", b, n), 0, &a);
    CHECK(st == SIREN_EFORMAT && !a.data, "a WAV of 0 frames refused: %s",
          siren_last_error());
    /* a data chunk claiming 1000 frames of which 3 are there: libsndfile
     * counts what the file holds; never more, never garbage */
    n = make_wav(b, s, 3, 2, 8000, 1000);
    st = siren_audio_load(put("short.wav", b, n), 0, &a);
    ok = st == SIREN_OK ? a.frames == 3 && a.data[3] == s[3] / 32768.0f : st == SIREN_EFORMAT;
    CHECK(ok, "a WAV cut short reads the frames it holds or is refused (%s)",
          st ? siren_last_error() : "3 frames");
    if (!st) siren_audio_free(&a);
    n = make_wav(b, s, 3, 2, 8000, 3);
    st = siren_audio_load(put("lim.wav", b, n), 5, &a);
    CHECK(st == SIREN_ELIMIT && strstr(siren_last_error(), "--max-samples"),
          "6 samples against a limit of 5: %s", siren_last_error());
    snprintf(path, sizeof path, "%s/none.wav", dir);
    st = siren_audio_load(path, 0, &a);
    CHECK(st == SIREN_EIO, "a missing file: %s", siren_last_error());
}

static void fit_signal(const char *name, int two_tone, double bound) {
    enum { N = 2000, RATE = 8000 };
    static float x[N];
    for (int i = 0; i < N; i++) {
        double t = (double)i / RATE;
        x[i] = two_tone ? (float)(0.5 * sin(2 * M_PI * 220 * t) + 0.3 * sin(2 * M_PI * 1250 * t))
                        : (float)(0.7 * sin(2 * M_PI * (100 * t + 0.5 * 3000 * t * t)));
    }
    siren_audio a = {1, RATE, N, x};
    siren_config cfg = siren_config_default(1, 1);
    cfg.hidden_features = 64;
    cfg.hidden_layers = 2;
    cfg.first_omega_0 = 3000;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 300;
    opt.lr = 1e-4f;
    opt.threads = 2;
    siren_net *net;
    siren_fit_result res;
    siren_status st = siren_fit_audio(&a, 0, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_OK && res.psnr_db > bound, "%s (%d samples at %d Hz), 300 steps "
          "of a 64x2 SIREN, omega_0 3000: PSNR %.2f dB (bound %.0f)", name, N, RATE,
          res.psnr_db, bound);
    if (st) return;
    double psnr, snr;
    st = siren_eval_audio(net, &a, 2, &psnr, &snr);
    CHECK(st == SIREN_OK && fabs(psnr - res.psnr_db) < 0.01 && snr > 0,
          "%s: eval PSNR %.2f dB = the fit's, SNR %.2f dB", name, psnr, snr);
    /* at twice the rate, every other frame is a fitted sample time */
    siren_audio r1, r2;
    st = siren_render_audio(net, 0, 2, &r1);
    if (!st) st = siren_render_audio(net, 2 * RATE, 2, &r2);
    double e = 0;
    if (!st) {
        for (int i = 0; i < N; i++) e = fmax(e, fabs(r2.data[2 * i] - r1.data[i]));
        CHECK(r1.frames == N && r2.frames == 2 * N - 1 && r2.rate == 2 * RATE &&
                  e < 1e-3,
              "%s rendered at %d Hz: %zu frames, the even ones the fitted rate's "
              "render (max diff %.1e)", name, 2 * RATE, r2.frames, e);
        siren_audio_free(&r1);
        siren_audio_free(&r2);
    }
    siren_net_free(net);
}

static void test_stereo(void) {
    enum { N = 300 };
    static float x[N * 2];
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)sin(i * 0.05);
        x[2 * i + 1] = (float)(0.5 * cos(i * 0.03));
    }
    siren_audio a = {2, 8000, N, x};
    siren_config cfg = siren_config_default(1, 1);
    cfg.hidden_features = 16;
    cfg.hidden_layers = 1;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 2;
    siren_net *net;
    siren_fit_result res;
    siren_status st = siren_fit_audio(&a, 0, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_OK && siren_net_config(net)->out_features == 2,
          "stereo: one output per channel");
    if (!st) siren_net_free(net);
    st = siren_fit_audio(&a, 1, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_OK && siren_net_config(net)->out_features == 1 &&
              !strcmp(siren_net_get_meta(net, "channels"), "mix"),
          "stereo with mix: one output");
    if (!st) siren_net_free(net);
    float z[4] = {0, 0, 0, 0};
    siren_audio silent = {1, 8000, 4, z};
    CHECK(siren_fit_audio(&silent, 0, &cfg, &opt, &net, &res) == SIREN_EINVAL,
          "a silent signal is refused: %s", siren_last_error());
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/siren_test_audio.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_io();
    fit_signal("chirp 100 Hz + 3000 Hz/s", 0, 30);
    fit_signal("two tones 220 + 1250 Hz", 1, 35);
    test_stereo();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_DONE();
}

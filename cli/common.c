/* Argument parsing, error exits and the progress bar shared by every
 * subcommand. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

_Noreturn void cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("siren: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'siren %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    exit(EXIT_USAGE);
}

_Noreturn void cli_fail(void) {
    fprintf(stderr, "siren: %s\n", siren_last_error());
    exit(EXIT_BAD_INPUT);
}

_Noreturn void cli_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("siren: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_BAD_INPUT);
}

int cli_flag(const char *arg, const char *name) { return strcmp(arg, name) == 0; }

const char *cli_opt(const char *cmd, int argc, char **argv, int *i,
                    const char *name) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != 0) return NULL;
    if (*i + 1 >= argc) cli_usage_error(cmd, "%s needs a value", name);
    return argv[++*i];
}

/* The parsers below never exit, so the exiting wrappers after them and
 * the fuzz target fuzz/fuzz_cli_parse.c share them. */
int cli_parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno) return CLI_PARSE_SYNTAX;
    *out = v;
    return v < lo || v > hi ? CLI_PARSE_RANGE : CLI_PARSE_OK;
}

int cli_parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return CLI_PARSE_SYNTAX;
    *out = v;
    return v < lo || v > hi ? CLI_PARSE_RANGE : CLI_PARSE_OK;
}

int cli_parse_size(const char *s, int *w, int *h) {
    char *end, *end2;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X') || errno) return CLI_PARSE_SYNTAX;
    long b = strtol(end + 1, &end2, 10);
    if (end2 == end + 1 || *end2 || errno) return CLI_PARSE_SYNTAX;
    if (a < 1 || b < 1 || a > 1 << 20 || b > 1 << 20 ||
        (size_t)a * (size_t)b > SIREN_MAX_IMAGE_PIXELS)
        return CLI_PARSE_RANGE;
    *w = (int)a;
    *h = (int)b;
    return CLI_PARSE_OK;
}

long cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi) {
    long v = 0;
    switch (cli_parse_int(s, lo, hi, &v)) {
    case CLI_PARSE_OK: return v;
    case CLI_PARSE_RANGE:
        cli_usage_error(cmd, "%s: %ld is out of range [%ld, %ld]", opt, v, lo, hi);
    default: cli_usage_error(cmd, "%s: '%s' is not an integer", opt, s);
    }
}

double cli_double(const char *cmd, const char *opt, const char *s, double lo,
                  double hi) {
    double v = 0;
    switch (cli_parse_double(s, lo, hi, &v)) {
    case CLI_PARSE_OK: return v;
    case CLI_PARSE_RANGE:
        cli_usage_error(cmd, "%s: %g is out of range [%g, %g]", opt, v, lo, hi);
    default: cli_usage_error(cmd, "%s: '%s' is not a number", opt, s);
    }
}

void cli_size(const char *cmd, const char *opt, const char *s, int *w, int *h) {
    switch (cli_parse_size(s, w, h)) {
    case CLI_PARSE_OK: return;
    case CLI_PARSE_RANGE:
        cli_usage_error(cmd, "%s: %s is out of range (each side >= 1, at most "
                             "%zu pixels)", opt, s, (size_t)SIREN_MAX_IMAGE_PIXELS);
    default: cli_usage_error(cmd, "%s: '%s' is not WIDTHxHEIGHT", opt, s);
    }
}

int cli_lr_schedule_opt(const char *cmd, int argc, char **argv, int *i,
                        siren_train_opts *opt) {
    const char *v;
    if ((v = cli_opt(cmd, argc, argv, i, "--lr-schedule"))) {
        if (!strcmp(v, "const") || !strcmp(v, "constant")) opt->lr_schedule = SIREN_LR_CONSTANT;
        else if (!strcmp(v, "cosine")) opt->lr_schedule = SIREN_LR_COSINE;
        else if (!strcmp(v, "exp")) opt->lr_schedule = SIREN_LR_EXP;
        else cli_usage_error(cmd, "--lr-schedule: '%s' is not const, cosine or exp", v);
    } else if ((v = cli_opt(cmd, argc, argv, i, "--lr-final")))
        opt->lr_final = (float)cli_double(cmd, "--lr-final", v, 1e-12, 10);
    else if ((v = cli_opt(cmd, argc, argv, i, "--warmup")))
        opt->warmup = (int)cli_int(cmd, "--warmup", v, 0, 100000000);
    else
        return 0;
    return 1;
}

int cli_precision_opt(const char *cmd, int argc, char **argv, int *i,
                      siren_train_opts *opt) {
    const char *v = cli_opt(cmd, argc, argv, i, "--precision");
    if (!v) return 0;
    if (!strcmp(v, "fp32")) opt->precision = SIREN_PRECISION_FP32;
    else if (!strcmp(v, "bf16")) opt->precision = SIREN_PRECISION_BF16;
    else cli_usage_error(cmd, "--precision: '%s' is not fp32 or bf16", v);
    if (!siren_precision_supported(opt->precision))
        cli_usage_error(cmd, "--precision bf16: this CPU lacks AVX512_BF16 "
                             "(use fp32)");
    return 1;
}

int cli_has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n >= e && strcasecmp(path + n - e, ext) == 0;
}

size_t cli_max_pixels;

void cli_load_image(const char *path, int w, int h, int quiet, siren_image *img) {
    int dropped_alpha = 0;
    if (siren_image_load_max(path, cli_max_pixels, img, &dropped_alpha)) cli_fail();
    if (dropped_alpha && !quiet)
        fprintf(stderr, "siren: %s: warning: alpha channel dropped\n", path);
    if (w && (w != img->width || h != img->height)) {
        siren_image small;
        if (siren_image_resize(img, w, h, &small)) cli_fail();
        siren_image_free(img);
        *img = small;
    }
}

void cli_load_video(const char *path, int max_frames, size_t max_values, int w, int h,
                    siren_video *v) {
    if (siren_video_load(path, max_frames, max_values, v)) cli_fail();
    if (!w || (w == v->width && h == v->height)) return;
    /* frame by frame through the image resampler (area when shrinking) */
    const size_t in_px = (size_t)v->width * v->height * v->channels,
                 out_px = (size_t)w * h * v->channels;
    float *d = malloc(out_px * v->frames * sizeof *d);
    if (!d) cli_die("%s: out of memory resizing %d frames to %dx%d", path, v->frames, w, h);
    for (int f = 0; f < v->frames; f++) {
        siren_image src = {v->width, v->height, v->channels, v->data + f * in_px}, dst;
        if (siren_image_resize(&src, w, h, &dst)) cli_fail();
        memcpy(d + f * out_px, dst.data, out_px * sizeof *d);
        siren_image_free(&dst);
    }
    free(v->data);
    v->data = d;
    v->width = w;
    v->height = h;
}

void cli_apply_arch(const char *cmd, siren_config *cfg, const char *arch,
                    const char *init_first, const char *init_hidden, int pe_freqs,
                    int ff_features) {
    if (siren_config_arch(cfg, arch))
        cli_usage_error(cmd, "--arch %s: not one of siren, relu, relu-pe, tanh, ffn", arch);
    const char *names[2] = {init_first, init_hidden};
    siren_init *dst[2] = {&cfg->init_first, &cfg->init_hidden};
    for (int k = 0; k < 2; k++) {
        if (!names[k]) continue;
        int id = siren_init_parse(names[k]);
        if (id < 0)
            cli_usage_error(cmd, "--init %s: not one of siren, xavier-uniform, "
                                 "xavier-normal, kaiming-uniform, kaiming-normal, normal (tuner: first layer)",
                            names[k]);
        *dst[k] = (siren_init)id;
    }
    if (pe_freqs && cfg->encoding != SIREN_ENC_PE)
        cli_usage_error(cmd, "--pe-freqs is for --arch relu-pe");
    if ((ff_features || cfg->ff_scale != 10.0f) && cfg->encoding != SIREN_ENC_FFN)
        cli_usage_error(cmd, "--ff-features and --ff-scale are for --arch ffn");
    cfg->encoding_features = cfg->encoding == SIREN_ENC_PE ? pe_freqs : ff_features;
}

/* ---------------------------------------------------------------- progress */

double cli_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void cli_progress_open(cli_progress *p, const char *label, int quiet,
                       const char *log_path) {
    memset(p, 0, sizeof *p);
    p->show = !quiet && isatty(2);
    p->label = label;
    p->unit = "step";
    p->last_draw = -1;
    if (log_path) {
        size_t n = strlen(log_path) + 16;
        p->log_path = strdup(log_path);
        p->log_tmp = malloc(n);
        if (!p->log_path || !p->log_tmp) cli_die("out of memory");
        snprintf(p->log_tmp, n, "%s.tmp.XXXXXX", log_path);
        int fd = mkstemp(p->log_tmp);
        if (fd < 0 || !(p->log = fdopen(fd, "w")))
            cli_die("%s: cannot write: %s", log_path, strerror(errno));
        fprintf(p->log, "step,seconds,loss,metric\n");
    }
}

volatile sig_atomic_t cli_interrupted;

static void on_signal(int sig) {
    cli_interrupted = sig;
    /* a second signal is not caught: the user can still force the exit */
    signal(sig, SIG_DFL);
}

void cli_catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_progress_cb(void *user, const siren_progress *s) {
    cli_progress *p = user;
    if (p->log)
        fprintf(p->log, "%d,%.6f,%.9g,%.6f\n", s->step, s->seconds, s->loss,
                s->psnr_db);
    if (s->warning) {
        /* on its own line, even past a progress bar or under --quiet */
        fprintf(stderr, "%ssiren: warning: %s\n", p->show && p->last_draw >= 0 ? "\n" : "",
                s->warning);
        p->last_draw = -1;
    }
    if (cli_interrupted) return 1; /* the library then writes its checkpoint */
    if (!p->show) return 0;
    double t = cli_seconds();
    if (s->step != s->steps && p->last_draw >= 0 && t - p->last_draw < 0.1)
        return 0;
    p->last_draw = t;
    double rate = s->seconds > 0 ? s->step / s->seconds : 0;
    double eta = rate > 0 ? (s->steps - s->step) / rate : 0;
    char bar[21];
    int fill = s->steps ? (int)(20.0 * s->step / s->steps) : 20;
    for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
    bar[20] = 0;
    char metric[64] = "";
    if (isfinite(s->loss)) snprintf(metric, 32, "  loss %.3e", s->loss);
    if (isfinite(s->psnr_db))
        snprintf(metric + strlen(metric), 32, "  PSNR %.2f dB", s->psnr_db);
    fprintf(stderr, "\r%s [%s] %s %d/%d%s  %.1f %ss/s  ETA %.0f s  ",
            p->label, bar, p->unit, s->step, s->steps, metric, rate, p->unit, eta);
    fflush(stderr);
    return 0;
}

void cli_progress_close(cli_progress *p, int ok) {
    if (p->show && p->last_draw >= 0) fputc('\n', stderr);
    if (p->log) {
        int bad = fflush(p->log) != 0 || fsync(fileno(p->log)) != 0;
        bad |= fclose(p->log) != 0;
        if (ok && !bad && rename(p->log_tmp, p->log_path) == 0) {
            /* done */
        } else {
            unlink(p->log_tmp);
            if (ok) cli_die("%s: cannot write the log", p->log_path);
        }
    }
    free(p->log_path);
    free(p->log_tmp);
    p->log = NULL;
}

/* cli.h. fsync before the rename: after a crash the file is the old one or
 * the whole new one. */
int cli_write_atomic(const char *path, const void *data, size_t len) {
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) return -1;
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    fchmod(fd, 0644);
    const char *p = data;
    size_t left = len;
    int bad = 0;
    while (left && !bad) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) bad = 1;
        else {
            p += w;
            left -= (size_t)w;
        }
    }
    bad |= fsync(fd) != 0;
    bad |= close(fd) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        errno = e ? e : EIO;
        return -1;
    }
    free(tmp);
    return 0;
}

/* The siren command line: one file per subcommand, this header for what
 * they share (argument parsing, errors, progress). Only cli/ prints and
 * chooses exit codes: 0 success, 1 bad input or failed run, 2 bad command
 * line (CLI.md). */
#ifndef SIREN_CLI_H
#define SIREN_CLI_H

#include <stdio.h>

#include "siren.h"

enum { EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

/* "siren: <message>" plus a hint at --help, exit 2. */
_Noreturn void cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "siren: <the library's last error>", exit 1. */
_Noreturn void cli_fail(void);
/* "siren: <message>", exit 1. */
_Noreturn void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Option matching: argv[*i] is "--name VALUE" or "--name=VALUE"; returns
 * the value (advancing *i) or NULL when argv[*i] is another option. */
const char *cli_opt(const char *cmd, int argc, char **argv, int *i,
                    const char *name);
int cli_flag(const char *arg, const char *name);

/* Strict number parsing: the whole string, within [lo, hi], else exit 2
 * with a message naming the option. */
long cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi);
double cli_double(const char *cmd, const char *opt, const char *s, double lo,
                  double hi);
/* "WxH", each side >= 1 and the product within SIREN_MAX_IMAGE_PIXELS. */
void cli_size(const char *cmd, const char *opt, const char *s, int *w, int *h);

/* The same parsing without the exit: CLI_PARSE_OK, CLI_PARSE_SYNTAX (not a
 * number, not WxH) or CLI_PARSE_RANGE. The int and double parsers store the
 * value on OK and RANGE (for the message), the size parser only on OK. */
enum { CLI_PARSE_OK, CLI_PARSE_SYNTAX, CLI_PARSE_RANGE };
int cli_parse_int(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double lo, double hi, double *out);
int cli_parse_size(const char *s, int *w, int *h);

/* Load an image (exit 1 on failure), warn on a dropped alpha channel unless
 * quiet, and resample it to w x h when w > 0 (area average when shrinking). */
void cli_load_image(const char *path, int w, int h, int quiet, siren_image *img);
/* --arch, --init-first/--init-hidden (NULL: the architecture's), --pe-freqs,
 * --ff-features (0: the defaults) applied to cfg; usage errors exit 2. */
void cli_apply_arch(const char *cmd, siren_config *cfg, const char *arch,
                    const char *init_first, const char *init_hidden, int pe_freqs,
                    int ff_features);
/* Read a video (siren_video_load), every frame resized to w x h when w is
 * set; dies with the library's message on failure. */
void cli_load_video(const char *path, int max_frames, size_t max_values, int w, int h,
                    siren_video *v);
/* The pixel limit cli_load_image applies (--max-pixels; 0: the library's
 * default, SIREN_MAX_IMAGE_PIXELS). */
extern size_t cli_max_pixels;

/* Does path end in ext (case-insensitive, ext with the dot)? */
int cli_has_ext(const char *path, const char *ext);

/* Progress on stderr: a one-line bar redrawn at most 10 times a second,
 * only when stderr is a terminal and not quiet; and an optional CSV log
 * written to a temporary file and renamed on cli_progress_close(ok). */
typedef struct {
    int show;
    double last_draw;
    const char *label;
    const char *unit; /* what is counted: "step" (set by open) */
    FILE *log;
    char *log_path, *log_tmp;
} cli_progress;

void cli_progress_open(cli_progress *p, const char *label, int quiet,
                       const char *log_path);
int cli_progress_cb(void *user, const siren_progress *s);
/* Seconds on a monotonic clock. */
double cli_seconds(void);
void cli_progress_close(cli_progress *p, int ok);

/* SIGINT/SIGTERM: the first sets cli_interrupted (the signal number), so
 * cli_progress_cb stops training at the end of the step and the library
 * writes its final checkpoint; a second one kills as usual. */
#include <signal.h>
extern volatile sig_atomic_t cli_interrupted;
void cli_catch_signals(void);

/* The SIREN paper's Figure 1 for an image-shaped model: value | gradient
 * magnitude | Laplacian, each w x h, 4-pixel white gaps, RGB (render.c). */
void cli_figure1_picture(const siren_net *net, int w, int h, int threads,
                         siren_image *img);
/* Write len bytes to path through a temporary file renamed into place;
 * nonzero (errno set) on failure, leaving no partial file. */
int cli_write_atomic(const char *path, const void *data, size_t len);
/* Line plots (plot.c): one series per configuration. */
typedef struct {
    const char *name;
    const double *x, *y;
    size_t n;
} cli_series;
/* An SVG document of n_panels plots side by side: panel p draws the
 * n_series series panels[p][0..n_series) against the x axis xlabels[p],
 * all under one y label (log10 axis with log_y) and one legend (the names
 * of panels[0]). Returns a malloc'ed string. */
char *cli_svg_plot(const char *title, int n_panels, const char *const *xlabels,
                   const char *ylabel, const cli_series *const *panels,
                   int n_series, int log_y);

/* The widths of a model's linear layers from its configuration (siren.h:
 * an encoding is layer 0, then the MLP): dims[l] -> dims[l+1] is linear
 * layer l, dims has CLI_MAX_LINEAR + 1 entries. Returns the number of
 * linear layers, or 0 when they do not add up to the parameter count
 * (stats.c). */
enum { CLI_MAX_LINEAR = 72 };
int cli_net_dims(const siren_net *net, int *dims);

int cli_fit(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_spectrum(int argc, char **argv);
int cli_prune(int argc, char **argv);
int cli_sr(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_render(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_mesh(int argc, char **argv);

#endif

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

/* The learning-rate schedule options every fit and solve takes:
 * --lr-schedule const|cosine|exp, --lr-final X, --warmup N (siren.h,
 * siren_train_opts). 1 when argv[*i] was one of them (applied to opt,
 * *i advanced past its value), 0 when it is another option; usage errors
 * exit 2. */
int cli_lr_schedule_opt(const char *cmd, int argc, char **argv, int *i,
                        siren_train_opts *opt);
/* --precision fp32|bf16 (siren_train_opts.precision), the same way; bf16
 * on a CPU without AVX512_BF16 is a usage error naming the CPU's lack. */
int cli_precision_opt(const char *cmd, int argc, char **argv, int *i,
                      siren_train_opts *opt);

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

/* ------------------------------------------------------------ MPI (mpi.c)
 * Compiled in when the build finds Open MPI (SIREN_WITH_MPI); without it
 * these are stubs for one process. MPI starts only in a process launched by
 * mpirun (or srun), never in the fits a many-signals run starts as child
 * processes (they get SIREN_NO_MPI=1). */

/* Nonzero when this binary was built with MPI. */
int cli_mpi_built(void);
/* Starts MPI when launched by mpirun (MPI_Finalize runs at exit); returns
 * the number of ranks, 1 without MPI. Safe to call more than once. */
int cli_mpi_init(void);
int cli_mpi_rank(void);
int cli_mpi_size(void);
/* The threads a rank's fit should use when the user gave none: the cores it
 * may run on, shared among the ranks on this machine bound to the same
 * cores. 0 (all cores) without MPI. */
int cli_mpi_threads(void);
/* One input under mpirun with more than one rank: data-parallel training.
 * Sets opt's shard hook (the reduce is an MPI_Allreduce) and the default
 * threads; on ranks other than 0 turns off the log, the JSON, the progress
 * bar and messages (rank 0 writes the model and checkpoints). No-op on one
 * rank. */
void cli_mpi_shard(siren_train_opts *opt, const char **log_path, int *quiet,
                   int *json);
/* Write the model: with shards, every rank checks that its parameters are
 * the same as every other rank's (a mismatch is an error on all), then
 * rank 0 writes; otherwise siren_net_save. */
siren_status cli_save_model(const siren_net *net, const char *path);

/* Many signals (many.c) over MPI: rank 0 hands out one job at a time to
 * the workers that ask, each request carrying the asker's last result. */
enum { CLI_MANY_PATH = 4096, CLI_MANY_MSG = 512 };
typedef struct {
    int index;                  /* into rank 0's list; -1: no more work */
    char input[CLI_MANY_PATH], model[CLI_MANY_PATH];
} cli_many_job;
typedef enum {
    CLI_MANY_NONE = 0,    /* no result (a worker's first request) */
    CLI_MANY_OK,          /* fitted, model written */
    CLI_MANY_FAILED,      /* the input could not be fitted: a row says why */
    CLI_MANY_INTERRUPTED, /* stopped by a signal: no row, redone on resume */
    CLI_MANY_USAGE        /* bad command line: the whole run stops */
} cli_many_outcome;
typedef struct {
    int index, outcome, rank, steps;
    double psnr_db, seconds, params;
    char message[CLI_MANY_MSG];
} cli_many_result;
/* Rank 0: 1 when a worker has asked for a job (*from its rank, *last its
 * previous result), 0 when none is waiting. Never blocks. */
int cli_mpi_poll_request(int *from, cli_many_result *last);
void cli_mpi_send_job(int to, const cli_many_job *job);
/* A worker: send the last result, wait (sleeping, not spinning) for the
 * next job; 0 when told there is no more. */
int cli_mpi_request_job(const cli_many_result *last, cli_many_job *job);
/* Every rank: wait for all (sleeping, not spinning) and agree on an exit
 * status: rank 0's. */
int cli_mpi_finish(int rc);
/* Stop every rank now (MPI_Abort) with status rc; exit(rc) without MPI. */
_Noreturn void cli_mpi_abort(int rc);

/* siren fit TASK DIR|GLOB|FILE... -o OUTDIR/ (many.c): is this command
 * line a many-signals run (an input is a folder or a glob, or the output
 * ends in '/')? And the run itself. */
int cli_many_wanted(int argc, char **argv);
int cli_many(int argc, char **argv);

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
int cli_render(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_mesh(int argc, char **argv);
int cli_solve(int argc, char **argv);
int cli_sr(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_prior(int argc, char **argv);

#endif

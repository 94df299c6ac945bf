/* siren fit TASK DIR|GLOB|FILE... -o OUTDIR/: many signals, each fitted to
 * its own model OUTDIR/NAME.safetensors, with OUTDIR/summary.csv (one row
 * per input: model, status, PSNR, seconds, parameters, steps, rank, error).
 *
 * Each input is fitted by a child process, `siren fit TASK INPUT -o MODEL
 * --json --quiet` plus the user's options, so a file that makes the fit
 * fail, or even crash, is one row of the summary and the others go on.
 * Resumable: inputs with a row in the summary or a model in OUTDIR are
 * skipped, and the summary is rewritten (atomically) after every result.
 * Under mpirun rank 0 keeps the list and the summary and hands out one
 * input at a time to the rank that asks (largest inputs first), fitting
 * inputs itself in between: its scheduling is a poll every few
 * milliseconds, and a rank that only scheduled would leave a core idle.
 * Without MPI the same loop runs with no workers. The messages go
 * through cli/mpi.c. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char *cmd = "fit";

/* ------------------------------------------------------- the command line */

typedef struct {
    const char *task, *outdir;
    const char **inputs;
    int n_inputs;
    const char **pass; /* options every fit gets, as given */
    int n_pass;
    int json, quiet, threads_given;
} many_args;

/* fit's options that take no value (every other one takes one: as the
 * next argument, or after '='); a new flag of `siren fit` goes here. */
static int is_flag(const char *a) {
    return !strcmp(a, "--json") || !strcmp(a, "--quiet") || !strcmp(a, "--help") ||
           !strcmp(a, "-h");
}

static int is_option(const char *a) { return a[0] == '-' && a[1]; }

/* -o DIR, --output DIR, -o=DIR, --output=DIR: the value, or NULL. */
static const char *output_value(int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && *i + 1 < argc)
        return argv[++*i];
    if (!strncmp(a, "-o=", 3)) return a + 3;
    if (!strncmp(a, "--output=", 9)) return a + 9;
    return NULL;
}

static int has_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with_slash(const char *s) {
    size_t n = strlen(s);
    return n > 0 && s[n - 1] == '/';
}

int cli_many_wanted(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[0], "compose")) return 0;
    const int video = !strcmp(argv[0], "video");
    const char *out = NULL, *v;
    int many = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 0;
        if ((v = output_value(argc, argv, &i))) out = v;
        else if (is_option(a)) {
            if (!is_flag(a) && !strchr(a, '=')) i++;
        } else if (access(a, F_OK) == 0) {
            /* a video's frames come as a folder: one input */
            if (!video && is_dir(a)) many = 1;
        } else if (has_glob(a)) {
            many = 1;
        }
    }
    return many || (out && ends_with_slash(out));
}

static void parse(int argc, char **argv, many_args *a) {
    memset(a, 0, sizeof *a);
    a->task = argv[0];
    a->inputs = calloc(argc, sizeof *a->inputs);
    a->pass = calloc(argc, sizeof *a->pass);
    if (!a->inputs || !a->pass) cli_die("out of memory");
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *a_ = argv[i];
        if ((v = output_value(argc, argv, &i))) a->outdir = v;
        else if (!strcmp(a_, "--json")) a->json = 1;
        else if (!strcmp(a_, "--quiet")) a->quiet = 1;
        else if (is_option(a_)) {
            static const char *refused[] = {"--log", "--checkpoint", "--checkpoint-every",
                                            "--resume"};
            for (size_t k = 0; k < sizeof refused / sizeof *refused; k++) {
                size_t n = strlen(refused[k]);
                if (!strncmp(a_, refused[k], n) && (a_[n] == 0 || a_[n] == '='))
                    cli_usage_error(cmd, "%s is for one input; with many, each input's "
                                         "fit restarts on resume and finished ones are "
                                         "skipped", refused[k]);
            }
            if (!strncmp(a_, "--threads", 9) && (a_[9] == 0 || a_[9] == '='))
                a->threads_given = 1;
            a->pass[a->n_pass++] = a_;
            if (!strchr(a_, '=')) {
                if (i + 1 >= argc) cli_usage_error(cmd, "%s needs a value", a_);
                a->pass[a->n_pass++] = argv[++i];
            }
        } else {
            a->inputs[a->n_inputs++] = a_;
        }
    }
    if (!a->n_inputs) cli_usage_error(cmd, "missing the inputs");
    if (!a->outdir || !*a->outdir) cli_usage_error(cmd, "missing -o OUTDIR/");
    if (!ends_with_slash(a->outdir) && !is_dir(a->outdir))
        cli_usage_error(cmd, "with many inputs, -o names a folder for the models: "
                             "end it with '/' (%s/)", a->outdir);
}

/* ----------------------------------------------------------------- inputs */

typedef struct {
    char *input, *model;
    long long size; /* bytes: the largest inputs go first */
    int row;        /* its row of the summary, -1 none */
} item;

typedef struct {
    item *v;
    int n, cap;
} item_list;

static const char *const image_ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", NULL};
static const char *const audio_ext[] = {".wav", ".flac", ".ogg", NULL};
static const char *const shape_ext[] = {".ply", ".xyz", ".txt", ".pts", ".obj", NULL};
static const char *const mesh_ext[] = {".ply", ".obj", NULL};
static const char *const video_ext[] = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".gif",
                                        NULL};

static const char *const *task_ext(const char *task) {
    if (!strcmp(task, "audio")) return audio_ext;
    if (!strcmp(task, "sdf")) return shape_ext;
    if (!strcmp(task, "occupancy")) return mesh_ext;
    if (!strcmp(task, "video")) return video_ext;
    return image_ext;
}

static int ext_ok(const char *name, const char *const *ext) {
    for (; *ext; ext++)
        if (cli_has_ext(name, *ext)) return 1;
    return 0;
}

/* Bytes of a file, or of a folder's files (a video's frames). */
static long long input_size(const char *path) {
    struct stat st;
    if (stat(path, &st)) return 0;
    if (!S_ISDIR(st.st_mode)) return st.st_size;
    long long s = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    char buf[PATH_MAX];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' &&
            snprintf(buf, sizeof buf, "%s/%s", path, e->d_name) < (int)sizeof buf &&
            stat(buf, &st) == 0 && S_ISREG(st.st_mode))
            s += st.st_size;
    if (d) closedir(d);
    return s;
}

static void add_item(item_list *l, const char *path) {
    for (int i = 0; i < l->n; i++) /* the same file twice is fitted once */
        if (!strcmp(l->v[i].input, path)) return;
    if (strlen(path) >= CLI_MANY_PATH) cli_die("%s: path too long", path);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) cli_die("out of memory");
    }
    item *it = &l->v[l->n++];
    memset(it, 0, sizeof *it);
    it->row = -1;
    if (!(it->input = strdup(path))) cli_die("out of memory");
}

/* Is this entry an input of the task? Video: folders (of frames) and video
 * files; the others: regular files (from a folder: with the task's
 * extensions). */
static int entry_ok(const char *task, const char *path, int from_dir) {
    struct stat st;
    if (stat(path, &st)) return 0;
    if (!strcmp(task, "video"))
        return S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) &&
                                       (!from_dir || ext_ok(path, video_ext)));
    return S_ISREG(st.st_mode) && (!from_dir || ext_ok(path, task_ext(task)));
}

static int cmp_str(const void *a, const void *b) {
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* The inputs named on the command line, in order; 0, or 1 after saying why
 * not. */
static int expand(const many_args *a, item_list *l) {
    char buf[PATH_MAX];
    for (int k = 0; k < a->n_inputs; k++) {
        const char *p = a->inputs[k];
        const int video = !strcmp(a->task, "video");
        if (access(p, F_OK) == 0 && is_dir(p) && (!video || ends_with_slash(a->outdir))) {
            DIR *d = opendir(p);
            if (!d) {
                fprintf(stderr, "siren: %s: cannot read the folder: %s\n", p, strerror(errno));
                return 1;
            }
            char **names = NULL;
            int n = 0, cap = 0;
            struct dirent *e;
            while ((e = readdir(d))) {
                if (e->d_name[0] == '.') continue;
                int len = snprintf(buf, sizeof buf, "%s%s%s", p,
                                   ends_with_slash(p) ? "" : "/", e->d_name);
                if (len >= (int)sizeof buf || !entry_ok(a->task, buf, 1)) continue;
                if (n == cap) {
                    cap = cap ? 2 * cap : 64;
                    names = realloc(names, cap * sizeof *names);
                    if (!names) cli_die("out of memory");
                }
                if (!(names[n++] = strdup(buf))) cli_die("out of memory");
            }
            closedir(d);
            qsort(names, n, sizeof *names, cmp_str);
            for (int i = 0; i < n; i++) {
                add_item(l, names[i]);
                free(names[i]);
            }
            free(names);
        } else if (access(p, F_OK) == 0) {
            add_item(l, p);
        } else if (has_glob(p)) {
            glob_t g;
            int r = glob(p, 0, NULL, &g);
            if (r == GLOB_NOMATCH) {
                fprintf(stderr, "siren: %s: matches no file\n", p);
                return 1;
            }
            if (r) {
                fprintf(stderr, "siren: %s: cannot expand the pattern\n", p);
                return 1;
            }
            qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, cmp_str);
            for (size_t i = 0; i < g.gl_pathc; i++)
                if (entry_ok(a->task, g.gl_pathv[i], 0)) add_item(l, g.gl_pathv[i]);
            globfree(&g);
        } else {
            add_item(l, p); /* its fit will say what is wrong */
        }
    }
    if (!l->n) {
        fprintf(stderr, "siren: no %s inputs found in %s%s\n", a->task, a->inputs[0],
                a->n_inputs > 1 ? " ..." : "");
        return 1;
    }
    return 0;
}

/* OUTDIR/STEM.safetensors; inputs with the same stem get -2, -3, ... in
 * the order they were given (the same on every run over the same inputs). */
static void name_models(const many_args *a, item_list *l) {
    char stem[PATH_MAX], path[PATH_MAX];
    const char *sep = ends_with_slash(a->outdir) ? "" : "/";
    for (int i = 0; i < l->n; i++) {
        const char *in = l->v[i].input;
        size_t n = strlen(in);
        while (n > 1 && in[n - 1] == '/') n--; /* a folder given as dir/ */
        const char *base = in;
        for (size_t k = 0; k < n; k++)
            if (in[k] == '/') base = in + k + 1;
        snprintf(stem, sizeof stem, "%.*s", (int)(in + n - base), base);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem) *dot = 0;
        for (int dup = 1;; dup++) {
            int len = dup == 1
                ? snprintf(path, sizeof path, "%s%s%s.safetensors", a->outdir, sep, stem)
                : snprintf(path, sizeof path, "%s%s%s-%d.safetensors", a->outdir, sep,
                           stem, dup);
            if (len < 0 || len >= (int)sizeof path) cli_die("%s: path too long", in);
            int taken = 0;
            for (int j = 0; j < i && !taken; j++) taken = !strcmp(l->v[j].model, path);
            if (!taken) break;
        }
        if (strlen(path) >= CLI_MANY_PATH) cli_die("%s: path too long", path);
        if (!(l->v[i].model = strdup(path))) cli_die("out of memory");
    }
}

static int mkdir_p(const char *dir) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) return -1;
    return is_dir(buf) ? 0 : -1;
}

/* ---------------------------------------------------------------- summary */

enum { C_INPUT, C_MODEL, C_STATUS, C_PSNR, C_SECONDS, C_PARAMS, C_STEPS, C_RANK,
       C_ERROR, NCOL };
static const char *const col_name[NCOL] = {"input", "model", "status", "psnr_db",
                                           "seconds", "params", "steps", "rank", "error"};

typedef struct {
    char *f[NCOL];
} row;

typedef struct {
    char *path;
    row *v;
    int n, cap;
} summary;

static int add_row(summary *s) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) cli_die("out of memory");
    }
    memset(&s->v[s->n], 0, sizeof s->v[s->n]);
    return s->n++;
}

static void set_field(row *r, int c, const char *v) {
    free(r->f[c]);
    if (!(r->f[c] = strdup(v ? v : ""))) cli_die("out of memory");
}

/* One CSV record (RFC 4180: fields in double quotes may hold commas,
 * quotes doubled, newlines) from *p; the fields are malloc'd. 0 at the
 * end of the text. */
static int csv_record(const char **p, char ***fields, int *n) {
    const char *s = *p;
    if (!*s) return 0;
    *fields = NULL;
    *n = 0;
    int cap = 0;
    for (;;) {
        size_t len = 0, fcap = 64;
        char *f = malloc(fcap);
        if (!f) cli_die("out of memory");
        int quoted = *s == '"';
        if (quoted) s++;
        for (;;) {
            char c = *s;
            if (!c) break;
            if (quoted) {
                if (c == '"') {
                    if (s[1] == '"') s++;
                    else { s++; quoted = 0; continue; }
                }
            } else if (c == ',' || c == '\n' || c == '\r') {
                break;
            }
            if (len + 2 > fcap && !(f = realloc(f, fcap *= 2))) cli_die("out of memory");
            f[len++] = c;
            s++;
        }
        f[len] = 0;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *fields = realloc(*fields, cap * sizeof **fields);
            if (!*fields) cli_die("out of memory");
        }
        (*fields)[(*n)++] = f;
        if (*s == ',') { s++; continue; }
        if (*s == '\r') s++;
        if (*s == '\n') s++;
        break;
    }
    *p = s;
    return 1;
}

/* The rows of an earlier run's summary, by its header's column names. */
static int summary_read(summary *s) {
    FILE *f = fopen(s->path, "rb");
    if (!f) return errno == ENOENT ? 0 : -1;
    size_t cap = 1 << 16, len = 0, r;
    char *text = malloc(cap);
    while (text && (r = fread(text + len, 1, cap - len - 1, f)) > 0)
        if ((len += r) + 1 == cap && !(text = realloc(text, cap *= 2))) break;
    fclose(f);
    if (!text) cli_die("out of memory");
    text[len] = 0;
    const char *p = text;
    char **fields;
    int n, map[64], nmap = 0;
    if (csv_record(&p, &fields, &n)) {
        for (int i = 0; i < n; i++) {
            if (i < 64) {
                map[i] = -1;
                for (int c = 0; c < NCOL; c++)
                    if (!strcmp(fields[i], col_name[c])) map[i] = c;
                nmap = i + 1;
            }
            free(fields[i]);
        }
        free(fields);
    }
    while (csv_record(&p, &fields, &n)) {
        int ri = -1;
        for (int i = 0; i < n; i++) {
            if (i < nmap && map[i] == C_INPUT && fields[i][0]) ri = add_row(s);
        }
        for (int i = 0; i < n; i++) {
            if (ri >= 0 && i < nmap && map[i] >= 0) set_field(&s->v[ri], map[i], fields[i]);
            free(fields[i]);
        }
        free(fields);
    }
    free(text);
    return 0;
}

static void csv_field(FILE *f, const char *v) {
    if (!v) v = "";
    if (!strpbrk(v, ",\"\n\r")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"') fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static const summary *sort_base;
static int cmp_row(const void *a, const void *b) {
    return strverscmp(sort_base->v[*(const int *)a].f[C_INPUT],
                      sort_base->v[*(const int *)b].f[C_INPUT]);
}

/* The whole summary, rows in input order, written atomically (a crash
 * leaves the old one or the new one). -1 on failure, with errno set. */
static int summary_write(const summary *s) {
    char *buf = NULL;
    size_t len = 0;
    int *order = malloc((s->n + 1) * sizeof *order);
    FILE *f = order ? open_memstream(&buf, &len) : NULL;
    if (!f) cli_die("out of memory");
    for (int c = 0; c < NCOL; c++) fprintf(f, "%s%s", c ? "," : "", col_name[c]);
    fputc('\n', f);
    for (int i = 0; i < s->n; i++) order[i] = i;
    sort_base = s;
    qsort(order, s->n, sizeof *order, cmp_row);
    for (int i = 0; i < s->n; i++) {
        for (int c = 0; c < NCOL; c++) {
            if (c) fputc(',', f);
            csv_field(f, s->v[order[i]].f[c]);
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0) cli_die("out of memory");
    free(order);
    const int r = cli_write_atomic(s->path, buf, len);
    free(buf);
    return r;
}

/* ------------------------------------------------------- one fit, a child */

typedef struct {
    pid_t pid;
    int index;
    double t0;
    int out, err; /* the fit's stdout and stderr: files already unlinked */
} child;

static void nap_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

/* An anonymous temporary file: unlinked at once, so nothing is left
 * behind however this process ends. */
static int tmp_file(void) {
    char name[PATH_MAX];
    const char *dir = getenv("TMPDIR");
    int n = snprintf(name, sizeof name, "%s/siren-many.XXXXXX",
                     dir && *dir ? dir : "/tmp");
    if (n < 0 || n >= (int)sizeof name) snprintf(name, sizeof name, "/tmp/siren-many.XXXXXX");
    int fd = mkostemp(name, O_CLOEXEC);
    if (fd >= 0) unlink(name);
    return fd;
}

/* `siren fit TASK INPUT -o MODEL --json --quiet [options]`, started from
 * this same binary with its stdout and stderr in temporary files. The
 * child dies with this process (PR_SET_PDEATHSIG): a killed run leaves no
 * fit behind, and the fit, stopped by the signal, writes no model. */
static int child_start(const many_args *a, int threads, int index, const char *input,
                       const char *model, child *c) {
    char tbuf[16];
    const char **argv = calloc(a->n_pass + 16, sizeof *argv);
    if (!argv) return -1;
    int k = 0;
    argv[k++] = "siren";
    argv[k++] = "fit";
    argv[k++] = a->task;
    argv[k++] = input;
    for (int i = 0; i < a->n_pass; i++) argv[k++] = a->pass[i];
    if (!a->threads_given && threads > 0) {
        snprintf(tbuf, sizeof tbuf, "%d", threads);
        argv[k++] = "--threads";
        argv[k++] = tbuf;
    }
    argv[k++] = "-o";
    argv[k++] = model;
    argv[k++] = "--json";
    argv[k++] = "--quiet";
    argv[k] = NULL;
    memset(c, 0, sizeof *c);
    c->index = index;
    int fo = tmp_file(), fe = tmp_file();
    int fin = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = getpid();
    pid_t pid = fo >= 0 && fe >= 0 && fin >= 0 ? fork() : -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(128 + SIGTERM);
        dup2(fin, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        close_range(3, ~0u, 0);
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    int err = errno;
    if (fin >= 0) close(fin);
    free(argv);
    if (pid < 0) {
        if (fo >= 0) close(fo);
        if (fe >= 0) close(fe);
        errno = err;
        return -1;
    }
    c->out = fo;
    c->err = fe;
    c->pid = pid;
    c->t0 = cli_seconds();
    return 0;
}

/* What the child wrote to fd (it shares the offset: back to the start),
 * and fd closed. */
static char *slurp_fd(int fd) {
    size_t cap = 4096, len = 0;
    ssize_t r;
    char *s = lseek(fd, 0, SEEK_SET) == 0 ? malloc(cap) : NULL;
    while (s && (r = read(fd, s + len, cap - len - 1)) > 0)
        if ((len += (size_t)r) + 1 == cap && !(s = realloc(s, cap *= 2))) break;
    close(fd);
    if (s) s[len] = 0;
    return s;
}

/* The fit's error: the last "siren: " line of its stderr (the CLI's one
 * line for a failure), without that prefix; else its last line. */
static void error_line(const char *err, char *msg, size_t size) {
    const char *best = NULL, *last = NULL;
    for (const char *p = err; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && strncmp(p, "Try 'siren", 10)) {
            last = p;
            if (!strncmp(p, "siren: ", 7)) best = p;
        }
        p = e ? e + 1 : p + n;
    }
    const char *p = best ? best + 7 : last;
    if (!p) {
        msg[0] = 0;
        return;
    }
    size_t n = strcspn(p, "\n");
    snprintf(msg, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

static double json_num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* What the finished child `status` did. */
static void child_result(child *c, int status, int rank, cli_many_result *r) {
    memset(r, 0, sizeof *r);
    r->index = c->index;
    r->rank = rank;
    r->seconds = cli_seconds() - c->t0;
    r->psnr_db = r->params = NAN;
    char *out = slurp_fd(c->out), *err = slurp_fd(c->err);
    error_line(err, r->message, sizeof r->message);
    if (WIFEXITED(status)) {
        const int code = WEXITSTATUS(status);
        cJSON *o = code == 0 && out ? cJSON_Parse(out) : NULL;
        if (code == 0 && o) {
            r->outcome = CLI_MANY_OK;
            r->psnr_db = json_num(o, "psnr_db");
            r->params = json_num(o, "params");
            r->steps = (int)json_num(o, "steps");
            r->message[0] = 0;
        } else if (code == 0) {
            r->outcome = CLI_MANY_FAILED;
            snprintf(r->message, sizeof r->message, "the fit printed no JSON result");
        } else if (code == EXIT_USAGE) {
            r->outcome = CLI_MANY_USAGE;
        } else if (code == 128 + SIGINT || code == 128 + SIGTERM || code == 128 + SIGHUP) {
            r->outcome = CLI_MANY_INTERRUPTED;
        } else {
            r->outcome = CLI_MANY_FAILED;
            if (code == 127 && !r->message[0])
                snprintf(r->message, sizeof r->message, "cannot run /proc/self/exe");
            else if (!r->message[0])
                snprintf(r->message, sizeof r->message, "the fit exited with status %d",
                         code);
        }
        cJSON_Delete(o);
    } else if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGKILL || sig == SIGHUP) {
            r->outcome = CLI_MANY_INTERRUPTED;
        } else {
            char why[CLI_MANY_MSG];
            snprintf(why, sizeof why, "%s", r->message);
            r->outcome = CLI_MANY_FAILED;
            snprintf(r->message, sizeof r->message, "the fit crashed: signal %d (%s)%s%.300s",
                     sig, strsignal(sig), why[0] ? "; " : "", why);
        }
    }
    free(out);
    free(err);
}

/* Start a child and wait for it (a worker rank). */
static void fit_blocking(const many_args *a, int threads, int index, const char *input,
                         const char *model, int rank, cli_many_result *r) {
    child c;
    int status = 0;
    if (child_start(a, threads, index, input, model, &c)) {
        memset(r, 0, sizeof *r);
        r->index = index;
        r->rank = rank;
        r->outcome = CLI_MANY_FAILED;
        r->psnr_db = r->params = NAN;
        snprintf(r->message, sizeof r->message, "cannot start the fit: %s",
                 strerror(errno));
        return;
    }
    while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {}
    child_result(&c, status, rank, r);
}

/* ---------------------------------------------------------------- rank 0 */

typedef struct {
    const many_args *a;
    item_list items;
    int *todo, n_todo, next;
    summary sum;
    int done, fitted, failed, interrupted, skipped;
    int stopping, rc;
    char usage[CLI_MANY_MSG];
} master;

static void fmt_num(char *buf, size_t n, const char *fmt, double v) {
    if (isfinite(v)) snprintf(buf, n, fmt, v);
    else buf[0] = 0;
}

/* A finished input: its row, the summary rewritten, a line for the user. */
static void record(master *m, const cli_many_result *r) {
    if (r->index < 0 || r->index >= m->items.n) return;
    item *it = &m->items.v[r->index];
    const char *in = it->input;
    if (r->outcome == CLI_MANY_USAGE) {
        if (!m->stopping) snprintf(m->usage, sizeof m->usage, "%s", r->message);
        m->stopping = 1;
        m->rc = EXIT_USAGE;
        return;
    }
    if (r->outcome == CLI_MANY_INTERRUPTED) {
        m->interrupted++;
        if (!m->a->quiet)
            fprintf(stderr, "siren: %s: interrupted; it is fitted again on resume\n", in);
        return;
    }
    char b[64];
    if (it->row < 0) it->row = add_row(&m->sum);
    row *w = &m->sum.v[it->row];
    set_field(w, C_INPUT, in);
    set_field(w, C_MODEL, it->model);
    set_field(w, C_STATUS, r->outcome == CLI_MANY_OK ? "ok" : "failed");
    fmt_num(b, sizeof b, "%.4f", r->psnr_db);
    set_field(w, C_PSNR, b);
    fmt_num(b, sizeof b, "%.3f", r->seconds);
    set_field(w, C_SECONDS, b);
    fmt_num(b, sizeof b, "%.0f", r->params);
    set_field(w, C_PARAMS, b);
    snprintf(b, sizeof b, "%d", r->steps);
    set_field(w, C_STEPS, r->outcome == CLI_MANY_OK ? b : "");
    snprintf(b, sizeof b, "%d", r->rank);
    set_field(w, C_RANK, b);
    set_field(w, C_ERROR, r->message);
    m->done++;
    if (r->outcome == CLI_MANY_OK) m->fitted++;
    else m->failed++;
    if (summary_write(&m->sum)) {
        fprintf(stderr, "siren: %s: cannot write the summary: %s\n", m->sum.path,
                strerror(errno));
        m->stopping = 1;
        m->rc = EXIT_BAD_INPUT;
    }
    if (m->a->quiet) return;
    if (r->outcome == CLI_MANY_OK) {
        char ps[32] = "";
        if (isfinite(r->psnr_db)) snprintf(ps, sizeof ps, "PSNR %.2f dB, ", r->psnr_db);
        fprintf(stderr, "siren: [%d/%d] %s: %s%.2f s (rank %d)\n", m->done, m->n_todo,
                in, ps, r->seconds, r->rank);
    } else {
        fprintf(stderr, "siren: [%d/%d] %s: failed (rank %d): %s\n", m->done, m->n_todo,
                in, r->rank, r->message);
    }
}

static int cmp_size_desc(const void *a, const void *b, void *items) {
    const item *v = items;
    long long x = v[*(const int *)a].size, y = v[*(const int *)b].size;
    if (x != y) return x < y ? 1 : -1;
    return *(const int *)a - *(const int *)b;
}

/* The list, the folder, the summary read back and what is left to do; 0,
 * or 1 after saying why not. */
static int prepare(master *m) {
    const many_args *a = m->a;
    if (expand(a, &m->items)) return 1;
    name_models(a, &m->items);
    if (mkdir_p(a->outdir)) {
        fprintf(stderr, "siren: %s: cannot create the folder: %s\n", a->outdir,
                strerror(errno));
        return 1;
    }
    size_t n = strlen(a->outdir) + 16;
    if (!(m->sum.path = malloc(n))) cli_die("out of memory");
    snprintf(m->sum.path, n, "%s%ssummary.csv", a->outdir,
             ends_with_slash(a->outdir) ? "" : "/");
    if (summary_read(&m->sum)) {
        fprintf(stderr, "siren: %s: cannot read: %s\n", m->sum.path, strerror(errno));
        return 1;
    }
    if (!(m->todo = malloc(m->items.n * sizeof *m->todo))) cli_die("out of memory");
    int added = 0;
    for (int i = 0; i < m->items.n; i++) {
        item *it = &m->items.v[i];
        for (int k = 0; k < m->sum.n && it->row < 0; k++)
            if (m->sum.v[k].f[C_INPUT] && !strcmp(m->sum.v[k].f[C_INPUT], it->input))
                it->row = k;
        const int has_model = access(it->model, F_OK) == 0;
        const row *w = it->row >= 0 ? &m->sum.v[it->row] : NULL;
        /* a row says it is done, unless it says ok and its model is gone */
        if (w && !(w->f[C_STATUS] && !strcmp(w->f[C_STATUS], "ok") && !has_model)) {
            m->skipped++;
            continue;
        }
        if (!w && has_model) {
            /* fitted, but killed before its row was written */
            siren_net *net;
            char b[32] = "";
            if (siren_net_load(it->model, &net) == SIREN_OK) {
                snprintf(b, sizeof b, "%zu", siren_net_param_count(net));
                siren_net_free(net);
            }
            it->row = add_row(&m->sum);
            row *r = &m->sum.v[it->row];
            set_field(r, C_INPUT, it->input);
            set_field(r, C_MODEL, it->model);
            set_field(r, C_STATUS, "ok");
            set_field(r, C_PARAMS, b);
            set_field(r, C_ERROR, "model from an earlier run, its figures were not recorded");
            m->skipped++;
            added = 1;
            continue;
        }
        it->size = input_size(it->input);
        m->todo[m->n_todo++] = i;
    }
    /* largest first: the last inputs to finish are small ones, so no rank
     * waits long for one big fit at the end */
    qsort_r(m->todo, m->n_todo, sizeof *m->todo, cmp_size_desc, m->items.v);
    if (added && summary_write(&m->sum)) {
        fprintf(stderr, "siren: %s: cannot write the summary: %s\n", m->sum.path,
                strerror(errno));
        return 1;
    }
    return 0;
}

static void send_next(master *m, int to) {
    cli_many_job job;
    memset(&job, 0, sizeof job);
    job.index = -1;
    if (!m->stopping && m->next < m->n_todo) {
        const item *it = &m->items.v[m->todo[m->next]];
        job.index = m->todo[m->next++];
        snprintf(job.input, sizeof job.input, "%s", it->input);
        snprintf(job.model, sizeof job.model, "%s", it->model);
    }
    cli_mpi_send_job(to, &job);
}

static int run_master(const many_args *a, int ranks, int threads) {
    master m;
    memset(&m, 0, sizeof m);
    m.a = a;
    const double t0 = cli_seconds();
    int workers = ranks - 1, from;
    cli_many_result r;
    if (prepare(&m)) {
        m.stopping = 1;
        m.rc = EXIT_BAD_INPUT;
    } else if (!a->quiet) {
        fprintf(stderr, "siren: %d inputs, %d to fit (%d done before) on %d rank%s; "
                        "models and summary.csv in %s\n", m.items.n, m.n_todo, m.skipped,
                ranks, ranks == 1 ? "" : "s", a->outdir);
    }
    child own = {0};
    for (;;) {
        int busy = 0;
        if (!own.pid && !m.stopping && m.next < m.n_todo) {
            const int idx = m.todo[m.next++];
            const item *it = &m.items.v[idx];
            if (child_start(a, threads, idx, it->input, it->model, &own)) {
                memset(&r, 0, sizeof r);
                r.index = idx;
                r.outcome = CLI_MANY_FAILED;
                r.psnr_db = r.params = NAN;
                snprintf(r.message, sizeof r.message, "cannot start the fit: %s",
                         strerror(errno));
                own.pid = 0;
                record(&m, &r);
            }
            busy = 1;
        }
        while (workers > 0 && cli_mpi_poll_request(&from, &r)) {
            if (r.outcome != CLI_MANY_NONE) record(&m, &r);
            const int more = !m.stopping && m.next < m.n_todo;
            send_next(&m, from);
            if (!more) workers--;
            busy = 1;
        }
        if (own.pid) {
            int status;
            pid_t p = waitpid(own.pid, &status, WNOHANG);
            if (p == own.pid) {
                child_result(&own, status, 0, &r);
                own.pid = 0;
                record(&m, &r);
                busy = 1;
            }
        }
        if (!own.pid && workers == 0 && (m.stopping || m.next >= m.n_todo)) break;
        if (!busy) nap_ms(5);
    }
    const double secs = cli_seconds() - t0;
    if (m.rc == EXIT_USAGE)
        fprintf(stderr, "siren: %s\n", m.usage[0] ? m.usage : "bad command line");
    if (m.rc == 0) {
        /* done when every input has a model */
        for (int i = 0; i < m.items.n; i++)
            if (access(m.items.v[i].model, F_OK)) m.rc = EXIT_BAD_INPUT;
        if (!a->quiet)
            fprintf(stderr, "siren: %d inputs: %d fitted, %d failed, %d done before%s%s "
                            "in %.1f s on %d rank%s; summary in %s\n",
                    m.items.n, m.fitted, m.failed, m.skipped,
                    m.interrupted ? ", interrupted: " : "",
                    m.interrupted ? "some" : "", secs, ranks, ranks == 1 ? "" : "s",
                    m.sum.path);
        if (a->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "task", a->task);
            cJSON_AddNumberToObject(o, "inputs", m.items.n);
            cJSON_AddNumberToObject(o, "fitted", m.fitted);
            cJSON_AddNumberToObject(o, "failed", m.failed);
            cJSON_AddNumberToObject(o, "skipped", m.skipped);
            cJSON_AddNumberToObject(o, "interrupted", m.interrupted);
            cJSON_AddNumberToObject(o, "seconds", secs);
            cJSON_AddNumberToObject(o, "ranks", ranks);
            cJSON_AddStringToObject(o, "summary", m.sum.path);
            char *s = cJSON_PrintUnformatted(o);
            puts(s);
            free(s);
            cJSON_Delete(o);
        }
    }
    for (int i = 0; i < m.items.n; i++) {
        free(m.items.v[i].input);
        free(m.items.v[i].model);
    }
    free(m.items.v);
    for (int i = 0; i < m.sum.n; i++)
        for (int c = 0; c < NCOL; c++) free(m.sum.v[i].f[c]);
    free(m.sum.v);
    free(m.sum.path);
    free(m.todo);
    return cli_mpi_finish(m.rc);
}

/* A rank other than 0: ask, fit, ask again with the result. */
static int run_worker(const many_args *a, int rank, int threads) {
    cli_many_result last;
    cli_many_job job;
    memset(&last, 0, sizeof last);
    last.index = -1;
    last.outcome = CLI_MANY_NONE;
    while (cli_mpi_request_job(&last, &job))
        fit_blocking(a, threads, job.index, job.input, job.model, rank, &last);
    return cli_mpi_finish(0);
}

int cli_many(int argc, char **argv) {
    many_args a;
    parse(argc, argv, &a);
    const int ranks = cli_mpi_init();
    /* the fits started from here are single-process fits, even though
     * they inherit mpirun's environment */
    setenv("SIREN_NO_MPI", "1", 1);
    const int threads = cli_mpi_threads();
    int rc = cli_mpi_rank() == 0 ? run_master(&a, ranks, threads)
                                 : run_worker(&a, cli_mpi_rank(), threads);
    free(a.inputs);
    free(a.pass);
    return rc;
}

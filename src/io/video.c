/* Video input: a folder of frames, a printf pattern of frames, or a video
 * file decoded by an ffmpeg binary through a pipe. Every frame goes through
 * the image reader (io/image.c), so a frame is as well checked as an image;
 * ffmpeg hands over a stream of binary PPMs, parsed here with the same care
 * (sizes checked before anything is allocated, short reads are errors). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "siren.h"
#include "util/error.h"

void siren_video_free(siren_video *v) {
    if (!v) return;
    free(v->data);
    memset(v, 0, sizeof *v);
}

/* -------------------------------------------------------------- patterns */

int siren_video_pattern_ok(const char *p) {
    int conversions = 0;
    for (const char *c = p; *c; c++) {
        if (*c != '%') continue;
        if (c[1] == '%') {
            c++;
            continue;
        }
        c++;
        if (*c == '0') c++;
        if (*c >= '1' && *c <= '9') c++; /* one digit: widths below 10 */
        if (*c != 'd') return 0;
        conversions++;
    }
    return conversions == 1;
}

siren_status siren_video_frame_path(const char *pattern, int number, char *out,
                                    size_t size) {
    if (!siren_video_pattern_ok(pattern))
        return siren_fail(SIREN_EINVAL, "%s: not a frame pattern (one %%d, e.g. "
                          "frames/%%04d.png)", pattern);
    /* the pattern was checked to hold exactly one int conversion */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    int len = snprintf(out, size, pattern, number);
#pragma GCC diagnostic pop
    if (len < 0 || (size_t)len >= size)
        return siren_fail(SIREN_ELIMIT, "%s: frame %d's name is too long", pattern,
                          number);
    return SIREN_OK;
}

/* ------------------------------------------------------- frame collection */

/* Frames are appended one at a time; the first fixes the size. */
typedef struct {
    siren_video *v;
    size_t cap_frames, limit;
    const char *first; /* the first frame's name, for messages */
    char *first_owned;
} collector;

static siren_status collect(collector *c, const char *name, const siren_image *img) {
    siren_video *v = c->v;
    if (v->frames == 0) {
        v->width = img->width;
        v->height = img->height;
        v->channels = img->channels;
        free(c->first_owned);
        c->first_owned = strdup(name);
        c->first = c->first_owned ? c->first_owned : "the first frame";
    } else if (img->width != v->width || img->height != v->height ||
               img->channels != v->channels) {
        return siren_fail(SIREN_EFORMAT, "%s: %dx%d with %d channel%s, but %s is "
                          "%dx%d with %d: all frames must have the same size and "
                          "channels", name, img->width, img->height, img->channels,
                          img->channels == 1 ? "" : "s", c->first, v->width,
                          v->height, v->channels);
    }
    const size_t per = (size_t)img->width * img->height * img->channels;
    if (per == 0 || (size_t)v->frames + 1 > c->limit / per)
        return siren_fail(SIREN_ELIMIT, "%s: %d frames of %dx%dx%d exceed the limit "
                          "of %zu values (raise it with --max-samples)", name,
                          v->frames + 1, img->width, img->height, img->channels,
                          c->limit);
    if ((size_t)v->frames == c->cap_frames) {
        size_t cap = c->cap_frames ? 2 * c->cap_frames : 16;
        if (cap > c->limit / per) cap = c->limit / per;
        float *d = realloc(v->data, cap * per * sizeof *d);
        if (!d) return siren_fail(SIREN_ENOMEM, "%s: out of memory for %zu frames",
                                  name, cap);
        v->data = d;
        c->cap_frames = cap;
    }
    memcpy(v->data + (size_t)v->frames * per, img->data, per * sizeof *v->data);
    v->frames++;
    return SIREN_OK;
}

static siren_status collect_file(collector *c, const char *name) {
    siren_image img;
    /* a frame may be at most the whole budget */
    siren_status st = siren_image_load_max(name, c->limit, &img, NULL);
    if (st) return st;
    st = collect(c, name, &img);
    siren_image_free(&img);
    return st;
}

static int has_frame_ext(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    static const char *ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

/* Natural order: runs of digits compare as numbers. */
static int natural_cmp(const void *pa, const void *pb) {
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = 0, lb = 0;
            while (a[la] >= '0' && a[la] <= '9') la++;
            while (b[lb] >= '0' && b[lb] <= '9') lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int d = strncmp(a, b, la);
            if (d) return d;
            a += la;
            b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static siren_status load_folder(const char *dir, int max_frames, collector *c) {
    DIR *d = opendir(dir);
    if (!d) return siren_fail(SIREN_EIO, "%s: cannot open the folder (%s)", dir,
                              strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    siren_status st = SIREN_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_frame_ext(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **t = realloc(names, cap * sizeof *t);
            if (!t) {
                st = siren_fail(SIREN_ENOMEM, "%s: out of memory for file names", dir);
                goto done;
            }
            names = t;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = siren_fail(SIREN_ENOMEM, "%s: out of memory for file names", dir);
            goto done;
        }
        n++;
    }
    if (n == 0) {
        st = siren_fail(SIREN_EFORMAT, "%s: no PNG, JPEG, BMP, PGM or PPM frames in "
                        "the folder", dir);
        goto done;
    }
    qsort(names, n, sizeof *names, natural_cmp);
    const size_t use = max_frames > 0 && (size_t)max_frames < n ? (size_t)max_frames : n;
    for (size_t i = 0; i < use && !st; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *full = malloc(len);
        if (!full) {
            st = siren_fail(SIREN_ENOMEM, "out of memory");
            break;
        }
        snprintf(full, len, "%s/%s", dir, names[i]);
        st = collect_file(c, full);
        free(full);
    }
done:
    closedir(d);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

static int file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static siren_status load_pattern(const char *pattern, int max_frames, collector *c) {
    char name[PATH_MAX];
    siren_status st;
    int first = 0;
    if ((st = siren_video_frame_path(pattern, 0, name, sizeof name))) return st;
    if (!file_exists(name)) {
        first = 1;
        if ((st = siren_video_frame_path(pattern, 1, name, sizeof name))) return st;
        if (!file_exists(name))
            return siren_fail(SIREN_EIO, "%s: no frame found (tried numbers 0 and 1)",
                              pattern);
    }
    for (int k = first; max_frames <= 0 || k - first < max_frames; k++) {
        if ((st = siren_video_frame_path(pattern, k, name, sizeof name))) return st;
        if (k > first && !file_exists(name)) break;
        if ((st = collect_file(c, name))) return st;
        if (k == INT_MAX) break;
    }
    return SIREN_OK;
}

/* ---------------------------------------------------------------- ffmpeg */

/* The path of an executable `prog` on PATH into out, or 0. */
static int find_on_path(const char *prog, char *out, size_t size) {
    const char *path = getenv("PATH");
    if (!path || !*path) return 0;
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        int n = snprintf(out, size, "%.*s/%s", (int)len, len ? path : ".", prog);
        if (n > 0 && (size_t)n < size && access(out, X_OK) == 0) return 1;
        path += len + (end ? 1 : 0);
    }
    return 0;
}

/* One whitespace-separated decimal number of a PNM header (comments
 * skipped); -1 on anything else or a value over 2^30. */
static long pnm_header_number(FILE *f) {
    int ch;
    for (;;) {
        ch = getc(f);
        if (ch == '#') {
            while (ch != '\n' && ch != EOF) ch = getc(f);
        } else if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            break;
        }
    }
    if (ch < '0' || ch > '9') return -1;
    long v = 0;
    while (ch >= '0' && ch <= '9') {
        v = v * 10 + (ch - '0');
        if (v > (1L << 30)) return -1;
        ch = getc(f);
    }
    /* exactly one whitespace byte ends the header's last number */
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') return -1;
    return v;
}

/* The next frame of ffmpeg's PPM stream into img (allocated here): 1 read,
 * 0 at the end of the stream, negative on a malformed stream. */
static int read_ppm_frame(FILE *f, size_t limit, siren_image *img) {
    int a = getc(f);
    if (a == EOF) return 0;
    if (a != 'P' || getc(f) != '6') return -1;
    long w = pnm_header_number(f), h = pnm_header_number(f), mx = pnm_header_number(f);
    if (w < 1 || h < 1 || mx != 255 || (size_t)w * (size_t)h > limit / 3) return -2;
    img->width = (int)w;
    img->height = (int)h;
    img->channels = 3;
    const size_t n = (size_t)w * h * 3;
    unsigned char *raw = malloc(n);
    img->data = malloc(n * sizeof *img->data);
    if (!raw || !img->data || fread(raw, 1, n, f) != n) {
        free(raw);
        siren_image_free(img);
        return -3;
    }
    for (size_t i = 0; i < n; i++) img->data[i] = raw[i] / 255.0f;
    free(raw);
    return 1;
}

/* The last non-empty line of ffmpeg's stderr (kept in a temporary file). */
static void last_line(FILE *f, char *out, size_t size) {
    out[0] = 0;
    char line[512];
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0]) snprintf(out, size, "%.200s", line);
    }
}

static siren_status load_ffmpeg(const char *path, int max_frames, collector *c) {
    char exe[PATH_MAX];
    if (!find_on_path("ffmpeg", exe, sizeof exe))
        return siren_fail(SIREN_EINVAL, "%s: reading a video file needs ffmpeg on PATH "
                          "(apt-get install ffmpeg); or give a folder of frames or a "
                          "pattern such as frames/%%04d.png", path);
    char nframes[32];
    snprintf(nframes, sizeof nframes, "%d", max_frames);
    const char *argv[] = {exe, "-nostdin", "-v", "error", "-i", path, "-f", "image2pipe",
                          "-pix_fmt", "rgb24", "-c:v", "ppm", "-", NULL, NULL, NULL};
    if (max_frames > 0) { /* ... "-frames:v", N, "-" */
        argv[12] = "-frames:v";
        argv[13] = nframes;
        argv[14] = "-";
    }
    FILE *err = tmpfile();
    int fd[2];
    if (!err || pipe(fd)) {
        if (err) fclose(err);
        return siren_fail(SIREN_EIO, "%s: cannot start ffmpeg (%s)", path, strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        fclose(err);
        return siren_fail(SIREN_EIO, "%s: cannot start ffmpeg (%s)", path, strerror(errno));
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        dup2(fileno(err), STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    FILE *in = fdopen(fd[0], "rb");
    siren_status st = SIREN_OK;
    int got = 0;
    if (!in) {
        close(fd[0]);
        st = siren_fail(SIREN_EIO, "%s: cannot read from ffmpeg", path);
    }
    while (in && !st && (max_frames <= 0 || got < max_frames)) {
        siren_image img = {0};
        int r = read_ppm_frame(in, c->limit, &img);
        if (r == 0) break;
        if (r < 0) {
            st = r == -2 ? siren_fail(SIREN_ELIMIT, "%s: frame %d is larger than the limit "
                                      "of %zu values", path, got + 1, c->limit)
                         : siren_fail(SIREN_EFORMAT, "%s: ffmpeg's output broke off at "
                                      "frame %d", path, got + 1);
            break;
        }
        char name[64];
        snprintf(name, sizeof name, "frame %d", got + 1);
        st = collect(c, name, &img);
        siren_image_free(&img);
        got++;
    }
    if (st) kill(pid, SIGTERM);
    if (in) fclose(in);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!st && (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got == 0)) {
        char why[256];
        last_line(err, why, sizeof why);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            snprintf(why, sizeof why, "could not run %.200s", exe);
        st = siren_fail(SIREN_EFORMAT, "%s: ffmpeg could not decode it%s%s", path,
                        why[0] ? ": " : "", why);
    }
    fclose(err);
    return st;
}

/* ------------------------------------------------------------------ load */

siren_status siren_video_load(const char *path, int max_frames, size_t max_values,
                              siren_video *v) {
    memset(v, 0, sizeof *v);
    collector c = {v, 0, max_values ? max_values : SIREN_MAX_VIDEO_VALUES, NULL, NULL};
    struct stat sb;
    siren_status st;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        st = load_folder(path, max_frames, &c);
    else if (strchr(path, '%'))
        st = siren_video_pattern_ok(path)
                 ? load_pattern(path, max_frames, &c)
                 : siren_fail(SIREN_EINVAL, "%s: not a frame pattern (one %%d, e.g. "
                              "frames/%%04d.png)", path);
    else if (access(path, R_OK) != 0)
        st = siren_fail(SIREN_EIO, "%s: cannot open (%s)", path, strerror(errno));
    else if (has_frame_ext(path))
        st = siren_fail(SIREN_EINVAL, "%s: one image; a video is a folder of frames, "
                        "a pattern such as frames/%%04d.png, or a video file", path);
    else
        st = load_ffmpeg(path, max_frames, &c);
    free(c.first_owned);
    if (st) siren_video_free(v);
    return st;
}

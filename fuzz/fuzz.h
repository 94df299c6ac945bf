/* Shared by the fuzz targets in fuzz/ and by tests/test_fuzz_regressions.c,
 * which includes the targets themselves: the readers take paths, so each
 * input is written to one scratch file per process (on /dev/shm when there
 * is one, so a run costs no disk I/O), and a broken invariant aborts so
 * libFuzzer saves the input. */
#ifndef SIREN_FUZZ_H
#define SIREN_FUZZ_H

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A broken invariant: say which and abort (a crash to libFuzzer, a failed
 * replay to the regression test, which runs each input in a child). */
#define FUZZ_CHECK(cond)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__,  \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

static char fuzz_dir[4096];

static void fuzz_cleanup(void) {
    char path[4400];
    DIR *d;
    struct dirent *e;
    if (!fuzz_dir[0] || !(d = opendir(fuzz_dir))) return;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(fuzz_dir);
}

/* A fresh private directory for this process's scratch files. */
static inline const char *fuzz_scratch_dir(void) {
    if (fuzz_dir[0]) return fuzz_dir;
    const char *base = getenv("TMPDIR");
    struct stat sb;
    if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
        access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    if (!base || !*base) base = "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/siren-fuzz.XXXXXX", base);
    if (!mkdtemp(fuzz_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
    return fuzz_dir;
}

/* The path of scratch file `name`, holding exactly data[0..n). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t n) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", fuzz_scratch_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* The path of scratch file `name`, not written (an output). */
static inline const char *fuzz_out_path(const char *name) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", fuzz_scratch_dir(), name);
    return path;
}

#endif

/* Replays every input under tests/data/fuzz/TARGET/ (the bugs found while
 * fuzzing, kept after their fixes: fuzz/README.md lists them) and the seed
 * corpora fuzz/seeds/TARGET/
 * through the fuzz targets' own entry points, built here with the normal
 * compiler so `make test` needs no clang. Each input runs in a child
 * process: a crash or a broken invariant (abort) fails that input alone.
 * NAME.expect beside an input holds text its error message must contain.
 * Memory errors that do not crash show up in `make SANITIZE=1 test`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testhelp.h"

#define LLVMFuzzerTestOneInput fuzz_safetensors
#include "../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_image
#define FUZZ_MAX_PIXELS SIZE_MAX /* the reader sees every input */
#include "../fuzz/fuzz_image.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_cli_parse
#include "../fuzz/fuzz_cli_parse.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_mesh
#include "../fuzz/fuzz_mesh.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_idx
#include "../fuzz/fuzz_idx.c"
#undef LLVMFuzzerTestOneInput

/* The fuzzers run with -rss_limit_mb=2048, which also fails any single
 * allocation over 2 GB; each replay gets the same budget, so an input that
 * once made a reader allocate gigabytes fails here too, not only on a
 * machine without overcommit. Under ASan (make SANITIZE=1), whose shadow
 * memory rules out an address-space limit, its allocator enforces it. */
#define REPLAY_MAX_MB 2048
#ifdef __SANITIZE_ADDRESS__
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
    return "allocator_may_return_null=1:max_allocation_size_mb=2048";
}
#endif

static void limit_memory(void) {
#ifndef __SANITIZE_ADDRESS__
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &kb) == 1) break;
    if (f) fclose(f);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)(kb * 1024 + ((unsigned long long)REPLAY_MAX_MB << 20));
    setrlimit(RLIMIT_AS, &rl);
#endif
}

typedef int (*entry_fn)(const uint8_t *, size_t);

static const struct {
    const char *name;
    entry_fn fn;
} targets[] = {
    {"safetensors", fuzz_safetensors},
    {"image", fuzz_image},
    {"cli_parse", fuzz_cli_parse},
    {"mesh", fuzz_mesh},
    {"idx", fuzz_idx},
};

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1)) &&
        fread(buf, 1, (size_t)len, f) == (size_t)len) {
        *n = (size_t)len;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Run fn on the file's bytes in a child; 1 when it returned normally and,
 * if PATH.expect exists, left an error message containing that file's
 * text: a fix that refuses an input is checked even where the unfixed
 * code would not crash (e.g. a bug inside an uninstrumented library). */
static int replay(entry_fn fn, const char *path, char *why, size_t why_n) {
    char epath[4200];
    size_t n = 0, en = 0;
    uint8_t *data = slurp(path, &n), *expect;
    if (!data) {
        snprintf(why, why_n, "cannot read");
        return 0;
    }
    snprintf(epath, sizeof epath, "%s.expect", path);
    expect = slurp(epath, &en);
    if (expect) expect[en] = 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        limit_memory();
        alarm(60); /* an input that once hung a reader fails, not hangs, here */
        fn(data, n);
        if (expect && !strstr(siren_last_error(), (const char *)expect)) {
            fprintf(stderr, "%s: last error \"%s\", expected \"%s\"\n", path,
                    siren_last_error(), (const char *)expect);
            _exit(3);
        }
        _exit(0); /* the scratch directory is the parent's to remove */
    }
    free(data);
    free(expect);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        snprintf(why, why_n, "fork/wait failed");
        return 0;
    }
    if (WIFSIGNALED(status)) {
        snprintf(why, why_n, "killed by signal %d", WTERMSIG(status));
        return 0;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(why, why_n, "exit status %d", WEXITSTATUS(status));
        return 0;
    }
    return 1;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir through fn, in name order; the count in *n. */
static void replay_dir(const char *target, entry_fn fn, const char *dir,
                       int *n) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t cnt = 0, cap = 0;
    if (!d) return;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' ||
            (len > 7 && strcmp(e->d_name + len - 7, ".expect") == 0))
            continue;
        if (cnt == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) abort();
        }
        names[cnt++] = strdup(e->d_name);
    }
    closedir(d);
    if (cnt) qsort(names, cnt, sizeof *names, cmp_name);
    for (size_t i = 0; i < cnt; i++) {
        char path[4096], why[128] = "";
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            int ok = replay(fn, path, why, sizeof why);
            if (!ok || strncmp(dir, "tests/", 6) == 0)
                CHECK(ok, "fuzz %s: %s replays cleanly%s%s", target, path,
                      ok ? "" : ": ", why);
            (*n)++;
        }
        free(names[i]);
    }
    free(names);
}

int main(void) {
    fuzz_scratch_dir(); /* shared by the children, removed at exit */
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        char dir[256];
        int n_regress = 0, n_seeds = 0, before = th_failed;
        snprintf(dir, sizeof dir, "tests/data/fuzz/%s", targets[t].name);
        replay_dir(targets[t].name, targets[t].fn, dir, &n_regress);
        snprintf(dir, sizeof dir, "fuzz/seeds/%s", targets[t].name);
        replay_dir(targets[t].name, targets[t].fn, dir, &n_seeds);
        CHECK(n_seeds > 0 && th_failed == before,
              "fuzz %s: %d regression inputs and %d seeds replay cleanly",
              targets[t].name, n_regress, n_seeds);
    }
    TEST_DONE();
}

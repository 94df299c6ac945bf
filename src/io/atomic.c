/* Temporary-file-and-rename writing (see atomic.h). The file data is
 * fsync'ed before the rename, so after a crash the target holds either the
 * old or the complete new contents. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "util/error.h"

/* mkstemp creates files with mode 0600; an output image or model should get
 * the mode fopen would give (0666 & ~umask). umask() can only be read by
 * setting it, which races with other threads, so read it from /proc. */
static mode_t current_umask(void) {
    mode_t mask = 022;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    if (!f) return mask;
    while (fgets(line, sizeof line, f)) {
        unsigned int m;
        if (sscanf(line, "Umask: %o", &m) == 1) {
            mask = (mode_t)(m & 0777);
            break;
        }
    }
    fclose(f);
    return mask;
}

siren_status siren_atomic_open(const char *path, FILE **fp, char **tmp_path) {
    static const char suffix[] = ".tmp.XXXXXX";
    size_t len = strlen(path);
    char *tmp;
    int fd, err;

    *fp = NULL;
    *tmp_path = NULL;
    if (len == 0) return siren_fail(SIREN_EINVAL, "empty output file name");
    /* A device or a pipe (-o /dev/null, -o /dev/stdout, a FIFO) is written
     * in place: a rename would replace it with a regular file, which as
     * root destroys /dev/null for every process on the machine. */
    struct stat sb;
    const int exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode))
        return siren_fail(SIREN_EIO, "%s: is a directory", path);
    if (exists && !S_ISREG(sb.st_mode)) {
        *fp = fopen(path, "wb");
        if (!*fp)
            return siren_fail(SIREN_EIO, "%s: cannot open (%s)", path, strerror(errno));
        return SIREN_OK; /* *tmp_path NULL: commit and abort only close */
    }
    tmp = malloc(len + sizeof suffix);
    if (!tmp) return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, suffix, sizeof suffix);

    fd = mkstemp(tmp);
    if (fd < 0) {
        err = errno;
        free(tmp);
        return siren_fail(SIREN_EIO, "%s: cannot create (%s)", path,
                          strerror(err));
    }
    (void)fchmod(fd, 0666 & ~current_umask()); /* best effort */
    *fp = fdopen(fd, "wb");
    if (!*fp) {
        err = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return siren_fail(SIREN_EIO, "%s: cannot create (%s)", path,
                          strerror(err));
    }
    *tmp_path = tmp;
    return SIREN_OK;
}

siren_status siren_atomic_commit(const char *path, FILE *fp, char *tmp_path) {
    int err = 0;

    errno = 0;
    if (!tmp_path) { /* written in place (siren_atomic_open) */
        if (fflush(fp) != 0 || ferror(fp)) err = errno ? errno : EIO;
        if (fclose(fp) != 0 && !err) err = errno ? errno : EIO;
        if (err) return siren_fail(SIREN_EIO, "%s: cannot write (%s)", path, strerror(err));
        return SIREN_OK;
    }
    if (fflush(fp) != 0 || ferror(fp))
        err = errno ? errno : EIO;
    else if (fsync(fileno(fp)) != 0)
        err = errno;
    if (fclose(fp) != 0 && !err) err = errno ? errno : EIO;
    if (!err && rename(tmp_path, path) != 0) err = errno;
    if (err) {
        unlink(tmp_path);
        free(tmp_path);
        return siren_fail(SIREN_EIO, "%s: cannot write (%s)", path,
                          strerror(err));
    }
    free(tmp_path);
    return SIREN_OK;
}

void siren_atomic_abort(FILE *fp, char *tmp_path) {
    if (fp) fclose(fp);
    if (tmp_path) {
        unlink(tmp_path);
        free(tmp_path);
    }
}

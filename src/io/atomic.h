/* Atomic file replacement for every writer in libsiren: write into a
 * temporary file beside the target, then fsync and rename it into place, so
 * a crash or a failed write never leaves a half-written output file. */
#ifndef SIREN_IO_ATOMIC_H
#define SIREN_IO_ATOMIC_H

#include <stdio.h>

#include "siren.h"

/* Open a temporary file beside path ("path.tmp.XXXXXX", made by mkstemp,
 * with the permissions a plain fopen would give) for writing in binary.
 * On success *fp and *tmp_path (malloc'ed) belong to the caller until
 * siren_atomic_commit or siren_atomic_abort. Fails with SIREN_EIO when the
 * directory is missing or not writable, or path is a directory. A path that
 * exists and is not a regular file (a device such as /dev/null, a FIFO) is
 * opened in place instead, *tmp_path NULL: renaming onto it would replace
 * the device with a file. */
siren_status siren_atomic_open(const char *path, FILE **fp, char **tmp_path);

/* fflush + fsync + fclose + rename(tmp_path, path). On any failure
 * (including an earlier write error left in ferror(fp)) the temporary file
 * is removed and SIREN_EIO returned. Always frees tmp_path and closes fp. */
siren_status siren_atomic_commit(const char *path, FILE *fp, char *tmp_path);

/* fclose + unlink the temporary file; for a writer that gave up. Frees
 * tmp_path. */
void siren_atomic_abort(FILE *fp, char *tmp_path);

#endif

/* Error reporting inside libsiren: a failing function records one line of
 * text in a thread-local buffer and returns its status; the CLI prints that
 * line as is. The library itself never prints and never exits. */
#ifndef SIREN_UTIL_ERROR_H
#define SIREN_UTIL_ERROR_H

#include <stdio.h>
#include <stdlib.h>

#include "siren.h"

/* Record "fmt..." as this thread's last error and return st, so a failure
 * reads `return siren_fail(SIREN_EIO, "%s: cannot open", path);`. */
siren_status siren_fail(siren_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Programmer errors (broken invariants, not bad input) abort loudly. */
#define SIREN_ASSERT(cond)                                                    \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "libsiren: %s:%d: assertion failed: %s\n",        \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Overflow-checked size arithmetic for sizes that a file decides:
 * return 0 on overflow, 1 when *out holds a*b (or a+b). */
static inline int siren_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline int siren_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

#endif

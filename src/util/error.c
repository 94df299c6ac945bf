/* Thread-local last-error message and status names. */
#include <stdarg.h>
#include <stdio.h>

#include "util/error.h"

static _Thread_local char last_error[1024];

siren_status siren_fail(siren_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

const char *siren_last_error(void) {
    return last_error[0] ? last_error : "no error";
}

const char *siren_status_str(siren_status st) {
    switch (st) {
    case SIREN_OK: return "ok";
    case SIREN_EINVAL: return "invalid argument";
    case SIREN_EIO: return "input/output error";
    case SIREN_EFORMAT: return "malformed file";
    case SIREN_ENOMEM: return "out of memory";
    case SIREN_ELIMIT: return "input exceeds a limit";
    case SIREN_ECANCELED: return "canceled";
    case SIREN_EDIVERGED: return "diverged";
    }
    return "unknown status";
}

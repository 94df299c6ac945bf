/* A tiny test helper in the spirit of redis' testhelp.h: each CHECK prints
 * "ok - name" or "not ok - name: why"; tests/run.sh counts those lines over
 * every test program and prints "N passed, N failed". */
#ifndef SIREN_TESTHELP_H
#define SIREN_TESTHELP_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int th_failed;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            printf("ok - ");                                                  \
            printf(__VA_ARGS__);                                              \
            printf("\n");                                                     \
        } else {                                                              \
            printf("not ok - ");                                              \
            printf(__VA_ARGS__);                                              \
            printf("  [%s:%d: %s]\n", __FILE__, __LINE__, #cond);             \
            th_failed++;                                                      \
        }                                                                     \
        fflush(stdout);                                                       \
    } while (0)

/* The exit status: nonzero when any check failed. */
#define TEST_DONE() return th_failed ? 1 : 0

#endif

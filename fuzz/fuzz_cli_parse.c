/* libFuzzer target: the CLI's number and size parsing (cli/common.c,
 * cli_parse_int/_double/_size, the non-exiting halves of cli_int,
 * cli_double and cli_size). The input, up to its first NUL, is one
 * command-line value, tried against every range the subcommands use; a
 * value accepted must lie in its range and a size must fit the pixel limit. */
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "cli.h"
#include "fuzz.h"

static const struct { long lo, hi; } int_ranges[] = {
    {1, 1L << 40},       /* --batch */
    {0, 100000000},      /* --steps, --checkpoint-every */
    {1, 8192},           /* --hidden */
    {0, 64},             /* --layers */
    {0, LONG_MAX},       /* --seed */
    {1, 1024},           /* --threads */
    {LONG_MIN, LONG_MAX} /* every long */
};
static const struct { double lo, hi; } dbl_ranges[] = {
    {1e-12, 10},   /* --lr */
    {1e-6, 1e6},   /* --omega0, --omega0-hidden */
    {1e-3, 400},   /* --target-psnr */
    {-HUGE_VAL, HUGE_VAL}
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    FUZZ_CHECK(s);
    memcpy(s, data, size);
    s[size] = 0;

    for (size_t i = 0; i < sizeof int_ranges / sizeof int_ranges[0]; i++) {
        long lo = int_ranges[i].lo, hi = int_ranges[i].hi, v = 0;
        int r = cli_parse_int(s, lo, hi, &v);
        FUZZ_CHECK(r == CLI_PARSE_OK || r == CLI_PARSE_SYNTAX || r == CLI_PARSE_RANGE);
        if (r == CLI_PARSE_OK) FUZZ_CHECK(v >= lo && v <= hi);
        if (r == CLI_PARSE_RANGE) FUZZ_CHECK(v < lo || v > hi);
    }
    for (size_t i = 0; i < sizeof dbl_ranges / sizeof dbl_ranges[0]; i++) {
        double lo = dbl_ranges[i].lo, hi = dbl_ranges[i].hi, v = 0;
        int r = cli_parse_double(s, lo, hi, &v);
        FUZZ_CHECK(r == CLI_PARSE_OK || r == CLI_PARSE_SYNTAX || r == CLI_PARSE_RANGE);
        if (r != CLI_PARSE_SYNTAX) FUZZ_CHECK(isfinite(v));
        if (r == CLI_PARSE_OK) FUZZ_CHECK(v >= lo && v <= hi);
    }
    int w = -1, h = -1;
    int r = cli_parse_size(s, &w, &h);
    FUZZ_CHECK(r == CLI_PARSE_OK || r == CLI_PARSE_SYNTAX || r == CLI_PARSE_RANGE);
    if (r == CLI_PARSE_OK) {
        FUZZ_CHECK(w >= 1 && h >= 1 && w <= 1 << 20 && h <= 1 << 20);
        FUZZ_CHECK((size_t)w * (size_t)h <= SIREN_MAX_IMAGE_PIXELS);
        FUZZ_CHECK(strchr(s, 'x') || strchr(s, 'X'));
    } else {
        FUZZ_CHECK(w == -1 && h == -1); /* untouched on failure */
    }
    free(s);
    return 0;
}

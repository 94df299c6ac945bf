/* libFuzzer target: siren_idx_load and siren_idx_load_head (src/io/idx.c),
 * IDX files plain or gzip-compressed. The first byte steers: bit 0 set
 * gzips the rest with zlib first (so the mutated IDX also reaches the reader
 * through a valid gzip stream; zlib itself is Debian's, uninstrumented),
 * bits 1-7 nonzero load only that many rows. A refused file leaves an empty
 * result and a message; an accepted one has 1 to 4 dimensions of at least 1
 * whose product is its value count, within the limit, values that fit its
 * type, and writes and reads back bit for bit through the float32 (or
 * uint8) writer. */
#include <stdint.h>
#include <zlib.h>

#include "fuzz.h"
#include "io/idx.h"
#include "siren.h"

/* 16 MiB of floats at most: well inside the fuzzer's memory budget, while
 * a gzip input of max_len can still declare far more. */
#define FUZZ_IDX_LIMIT ((size_t)1 << 22)

static int fits_type(int type, float v) {
    switch (type) {
    case SIREN_IDX_U8: return v >= 0 && v <= 255 && v == floorf(v);
    case SIREN_IDX_I8: return v >= -128 && v <= 127 && v == floorf(v);
    case SIREN_IDX_I16: return v >= -32768 && v <= 32767 && v == floorf(v);
    case SIREN_IDX_I32: return v >= -2147483648.0f && v <= 2147483648.0f && v == floorf(v);
    default: return isfinite(v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int gz = data[0] & 1;
    const size_t rows = data[0] >> 1;
    const char *path;
    if (gz) {
        path = fuzz_out_path("input.idx.gz");
        gzFile g = gzopen(path, "wb");
        FUZZ_CHECK(g && (size == 1 || gzwrite(g, data + 1, (unsigned)(size - 1)) > 0) &&
                   gzclose(g) == Z_OK);
    } else {
        path = fuzz_file("input.idx", data + 1, size - 1);
    }
    siren_idx x;
    siren_status st = siren_idx_load_head(path, FUZZ_IDX_LIMIT, rows, &x);
    if (st != SIREN_OK) {
        static const siren_idx zero;
        FUZZ_CHECK(!memcmp(&x, &zero, sizeof zero) && siren_last_error()[0]);
        return 0;
    }
    FUZZ_CHECK(x.ndim >= 1 && x.ndim <= SIREN_IDX_MAX_DIMS && x.data);
    size_t n = 1;
    for (int i = 0; i < SIREN_IDX_MAX_DIMS; i++) {
        FUZZ_CHECK(x.dims[i] >= 1 && (i < x.ndim || x.dims[i] == 1));
        n *= x.dims[i];
    }
    FUZZ_CHECK(n == x.n && n <= FUZZ_IDX_LIMIT && x.rows_in_file >= x.dims[0] &&
               (rows == 0 ? x.rows_in_file == x.dims[0] : x.dims[0] <= rows));
    for (size_t i = 0; i < n; i++) FUZZ_CHECK(fits_type(x.type, x.data[i]));
    const int wtype = x.type == SIREN_IDX_U8 ? SIREN_IDX_U8 : SIREN_IDX_F32;
    const char *out = fuzz_out_path("back.idx");
    FUZZ_CHECK(siren_idx_write(out, wtype, x.ndim, x.dims, x.data) == SIREN_OK);
    siren_idx r;
    FUZZ_CHECK(siren_idx_load(out, FUZZ_IDX_LIMIT, &r) == SIREN_OK);
    FUZZ_CHECK(r.type == wtype && r.ndim == x.ndim && r.n == x.n &&
               !memcmp(r.dims, x.dims, sizeof r.dims) && r.rows_in_file == x.dims[0] &&
               !memcmp(r.data, x.data, n * sizeof(float)));
    siren_idx_free(&r);
    siren_idx_free(&x);
    return 0;
}

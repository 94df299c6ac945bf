/* IDX files (src/io/idx.c): our uint8/float32 writer round-trips bit for
 * bit; files of every type built here byte by byte (not by our writer) read
 * to the expected numbers, plain and gzip-compressed by zlib (one member,
 * two members, trailing bytes after the stream); broken files — empty, bad
 * magic, unknown type, 0 or 5 dimensions, a dimension of 0, dimensions
 * that overflow, counts over the limit or beyond the file, every truncation
 * of a plain and a gzip file, a bad CRC, trailing data, NaN — are refused
 * with the right status, a message naming the file and an empty result.
 * The Fashion-MNIST loader on a small set made here, and on Debian's
 * dataset-fashion-mnist when installed (SIREN_FASHION_MNIST_DIR in the
 * environment overrides /usr/share/datasets/fashion-mnist). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "io/idx.h"
#include "siren.h"
#include "testhelp.h"

static char dir[64], path[256];

static const char *name_path(const char *name) {
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static const char *put(const char *name, const void *data, size_t n) {
    FILE *f = fopen(name_path(name), "wb");
    if (n) fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

/* data gzip-compressed by zlib into name (members: 1, or 2 split at half). */
static const char *put_gz(const char *name, const void *data, size_t n, int members) {
    name_path(name);
    size_t half = members > 1 ? n / 2 : n;
    gzFile g = gzopen(path, "wb");
    gzwrite(g, data, (unsigned)half);
    gzclose(g);
    if (members > 1) {
        g = gzopen(path, "ab");
        gzwrite(g, (const char *)data + half, (unsigned)(n - half));
        gzclose(g);
    }
    return path;
}

/* The bytes of a file (up to cap); its length. */
static size_t get(const char *p, unsigned char *buf, size_t cap) {
    FILE *f = fopen(p, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f) fclose(f);
    return n;
}

static int is_empty(const siren_idx *x) {
    static const siren_idx zero;
    return !memcmp(x, &zero, sizeof zero);
}

/* Load must fail with st, a message containing word and the file's
 * directory, and an all-zero result. */
static void refuse(const char *what, const char *p, siren_status st, const char *word,
                   size_t limit) {
    siren_idx x;
    memset(&x, 0x55, sizeof x);
    siren_status got = siren_idx_load(p, limit, &x);
    const char *msg = siren_last_error();
    CHECK(got == st && strstr(msg, word) && strstr(msg, dir) && is_empty(&x),
          "%s: refused (%s)", what, msg);
    if (got == SIREN_OK) siren_idx_free(&x);
}

/* An IDX header: magic, type, ndim, dims; returns its length. */
static size_t header(unsigned char *p, int type, int ndim, const uint32_t *dims) {
    p[0] = p[1] = 0;
    p[2] = (unsigned char)type;
    p[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++) p[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    return 4 + 4 * (size_t)ndim;
}

static void test_roundtrip(void) {
    /* uint8, 3 dims: every byte value */
    float u[5 * 4 * 13];
    for (int i = 0; i < 5 * 4 * 13; i++) u[i] = (float)((i * 37) % 256);
    u[0] = 255;
    const size_t du[3] = {5, 4, 13};
    siren_status st = siren_idx_write(name_path("u.idx"), SIREN_IDX_U8, 3, du, u);
    siren_idx x;
    if (!st) st = siren_idx_load(path, 0, &x);
    CHECK(st == SIREN_OK && x.type == SIREN_IDX_U8 && x.ndim == 3 && x.dims[0] == 5 &&
              x.dims[1] == 4 && x.dims[2] == 13 && x.dims[3] == 1 && x.rows_in_file == 5 &&
              x.n == 260 && !memcmp(x.data, u, sizeof u),
          "uint8 5x4x13 written and read back exactly: %s",
          st ? siren_last_error() : "as written");
    if (!st) siren_idx_free(&x);
    unsigned char raw[64];
    CHECK(get(path, raw, sizeof raw) == 64 && raw[0] == 0 && raw[1] == 0 && raw[2] == 8 &&
              raw[3] == 3 && raw[7] == 5 && raw[11] == 4 && raw[15] == 13 && raw[16] == 255,
          "the writer's header bytes: 00 00 08 03, big-endian dims");

    /* float32, 4 dims: extremes, -0, subnormals */
    float f[2 * 3 * 2 * 5];
    for (int i = 0; i < 60; i++) f[i] = (float)sin(i * 0.77) * powf(10.0f, (float)(i % 9) - 4);
    f[1] = -0.0f;
    f[2] = 1e-45f;
    f[3] = 3.4028235e38f;
    f[4] = -3.4028235e38f;
    const size_t df[4] = {2, 3, 2, 5};
    st = siren_idx_write(name_path("f.idx"), SIREN_IDX_F32, 4, df, f);
    if (!st) st = siren_idx_load(path, 0, &x);
    CHECK(st == SIREN_OK && x.type == SIREN_IDX_F32 && x.ndim == 4 && x.n == 60 &&
              x.dims[3] == 5 && !memcmp(x.data, f, sizeof f),
          "float32 2x3x2x5 (-0, a subnormal, +-FLT_MAX) read back bit for bit: %s",
          st ? siren_last_error() : "as written");
    if (!st) siren_idx_free(&x);

    /* the first rows only */
    st = siren_idx_load_head(name_path("u.idx"), 0, 2, &x);
    CHECK(st == SIREN_OK && x.dims[0] == 2 && x.rows_in_file == 5 && x.n == 104 &&
              !memcmp(x.data, u, 104 * sizeof(float)),
          "siren_idx_load_head: 2 of 5 rows, rows_in_file 5");
    if (!st) siren_idx_free(&x);
    st = siren_idx_load_head(path, 0, 99, &x);
    CHECK(st == SIREN_OK && x.dims[0] == 5 && x.n == 260, "a head longer than the file: all");
    if (!st) siren_idx_free(&x);

    /* what the writer refuses, leaving no file */
    float bad[3] = {1, 256, 2};
    const size_t d3[1] = {3};
    CHECK(siren_idx_write(name_path("w1.idx"), SIREN_IDX_U8, 1, d3, bad) == SIREN_EINVAL &&
              strstr(siren_last_error(), "[0, 255]") && access(path, F_OK) != 0,
          "writer: uint8 value 256 refused, nothing written");
    bad[1] = 0.5f;
    CHECK(siren_idx_write(name_path("w1.idx"), SIREN_IDX_U8, 1, d3, bad) == SIREN_EINVAL &&
              access(path, F_OK) != 0, "writer: uint8 value 0.5 refused");
    bad[1] = NAN;
    CHECK(siren_idx_write(name_path("w1.idx"), SIREN_IDX_F32, 1, d3, bad) == SIREN_EINVAL &&
              strstr(siren_last_error(), "finite") && access(path, F_OK) != 0,
          "writer: float32 NaN refused");
    CHECK(siren_idx_write(name_path("w1.idx.gz"), SIREN_IDX_U8, 1, d3, u) == SIREN_EINVAL &&
              strstr(siren_last_error(), "compress"), "writer: a .gz path refused");
    CHECK(siren_idx_write(name_path("w1.idx"), SIREN_IDX_I16, 1, d3, u) == SIREN_EINVAL,
          "writer: int16 refused (uint8 and float32 only)");
    const size_t d0[2] = {3, 0}, dbig[1] = {(size_t)UINT32_MAX + 1};
    CHECK(siren_idx_write(path, SIREN_IDX_U8, 2, d0, u) == SIREN_EINVAL &&
              siren_idx_write(path, SIREN_IDX_U8, 1, dbig, u) == SIREN_EINVAL &&
              siren_idx_write(path, SIREN_IDX_U8, 0, d3, u) == SIREN_EINVAL &&
              siren_idx_write(path, SIREN_IDX_U8, 5, du, u) == SIREN_EINVAL &&
              access(path, F_OK) != 0,
          "writer: a dimension of 0 or 2^32, 0 or 5 dimensions refused");
}

/* One file of every type, built by hand; then the same gzip-compressed. */
static void test_types(void) {
    unsigned char b[256];
    const uint32_t d4[1] = {4}, d22[2] = {2, 2};
    struct {
        const char *name;
        int type, ndim;
        const uint32_t *dims;
        unsigned char data[32];
        size_t len;
        float want[4];
    } c[] = {
        {"uint8", SIREN_IDX_U8, 1, d4, {0, 1, 128, 255}, 4, {0, 1, 128, 255}},
        {"int8", SIREN_IDX_I8, 1, d4, {0, 1, 0x80, 0xff}, 4, {0, 1, -128, -1}},
        {"int16", SIREN_IDX_I16, 2, d22, {0x00, 0x01, 0x80, 0x00, 0xff, 0xfe, 0x7f, 0xff},
         8, {1, -32768, -2, 32767}},
        {"int32", SIREN_IDX_I32, 1, d4,
         {0, 0, 0, 7, 0xff, 0xff, 0xff, 0xf9, 0x80, 0, 0, 0, 0x00, 0xff, 0xff, 0xff}, 16,
         {7, -7, -2147483648.0f, 16777215}},
        {"float32", SIREN_IDX_F32, 2, d22,
         {0x3f, 0x80, 0, 0, 0xc0, 0x49, 0x0f, 0xdb, 0, 0, 0, 1, 0x80, 0, 0, 0}, 16,
         {1, -3.14159274f, 1e-45f, -0.0f}},
        {"float64", SIREN_IDX_F64, 1, d4,
         {0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xc0, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18,
          0x47, 0xef, 0xff, 0xff, 0xe0, 0, 0, 0, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99,
          0x9a},
         32, {1, -3.14159274f, 3.4028235e38f, 0.1f}},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        size_t n = header(b, c[k].type, c[k].ndim, c[k].dims);
        memcpy(b + n, c[k].data, c[k].len);
        n += c[k].len;
        for (int gz = 0; gz < 3; gz++) {
            const char *p = gz ? put_gz("t.idx.gz", b, n, gz) : put("t.idx", b, n);
            siren_idx x;
            siren_status st = siren_idx_load(p, 0, &x);
            int ok = st == SIREN_OK && x.type == c[k].type && x.ndim == c[k].ndim &&
                     x.n == 4 && !memcmp(x.data, c[k].want, sizeof c[k].want);
            CHECK(ok, "%s big-endian, %s: %s", c[k].name,
                  gz == 0 ? "plain" : gz == 1 ? "gzip" : "gzip in two members",
                  st ? siren_last_error() : "the expected values");
            if (!st) siren_idx_free(&x);
        }
    }
    /* gzip's own rule: bytes after the stream that are not a gzip member
     * are ignored */
    size_t n = header(b, SIREN_IDX_U8, 1, d4);
    memcpy(b + n, "\1\2\3\4", 4);
    unsigned char z[256];
    size_t zn = get(put_gz("t.idx.gz", b, n + 4, 1), z, sizeof z);
    memcpy(z + zn, "junk", 4);
    siren_idx x;
    siren_status st = siren_idx_load(put("t.idx.gz", z, zn + 4), 0, &x);
    CHECK(st == SIREN_OK && x.n == 4 && x.data[3] == 4,
          "bytes after the gzip stream are ignored (as gzip does): %s",
          st ? siren_last_error() : "loaded");
    if (!st) siren_idx_free(&x);
    /* the name does not matter, the contents do */
    put_gz("gz-named.idx", b, n + 4, 1);
    put("plain-named.gz", b, n + 4);
    st = siren_idx_load(name_path("gz-named.idx"), 0, &x);
    if (!st) siren_idx_free(&x);
    siren_status st2 = siren_idx_load(name_path("plain-named.gz"), 0, &x);
    if (!st2) siren_idx_free(&x);
    CHECK(!st && !st2, "gzip is recognised by its magic, not by the name");
}

static void test_broken(void) {
    unsigned char b[4096];
    const uint32_t d3[3] = {3, 4, 5};
    size_t h = header(b, SIREN_IDX_U8, 3, d3);
    for (int i = 0; i < 60; i++) b[h + i] = (unsigned char)i;
    const size_t full = h + 60;

    refuse("an empty file", put("e.idx", b, 0), SIREN_EFORMAT, "empty", 0);
    refuse("a gzip of nothing", put_gz("e.idx.gz", b, 0, 1), SIREN_EFORMAT, "no data", 0);
    refuse("a missing file", name_path("none.idx"), SIREN_EIO, "no such file", 0);
    refuse("a directory", dir, SIREN_EIO, "directory", 0);
    refuse("a PNG signature", put("m.idx", "\x89PNG\r\n\x1a\n", 8), SIREN_EFORMAT,
           "not an IDX file", 0);
    b[1] = 1;
    refuse("magic 00 01", put("m.idx", b, full), SIREN_EFORMAT, "not an IDX file", 0);
    b[1] = 0;
    b[2] = 0x0A;
    refuse("type 0x0A", put("m.idx", b, full), SIREN_EFORMAT, "type 0x0a", 0);
    b[2] = 0x08;
    unsigned char t[64];
    memcpy(t, b, 4);
    t[3] = 0;
    refuse("0 dimensions", put("m.idx", t, 4), SIREN_EFORMAT, "0 dimensions", 0);
    t[3] = 5;
    memset(t + 4, 0, 24);
    for (int i = 0; i < 5; i++) t[7 + 4 * i] = 1;
    t[24] = 7;
    refuse("5 dimensions", put("m.idx", t, 25), SIREN_EFORMAT, "5 dimensions", 0);
    const uint32_t dz[3] = {3, 0, 5};
    size_t hz = header(t, SIREN_IDX_U8, 3, dz);
    refuse("a dimension of 0", put("m.idx", t, hz), SIREN_EFORMAT, "dimension 2 of 3 is 0", 0);
    const uint32_t dh[4] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
    size_t hh = header(t, SIREN_IDX_F64, 4, dh);
    refuse("4 dimensions of 2^32 - 1 (the product overflows)", put("m.idx", t, hh + 8),
           SIREN_ELIMIT, "overflow", 0);
    const uint32_t dl[3] = {1u << 20, 1u << 10, 1u << 10};
    size_t hl = header(t, SIREN_IDX_U8, 3, dl);
    refuse("2^40 values (over the default limit)", put("m.idx", t, hl + 3), SIREN_ELIMIT,
           "exceed the limit", 0);
    refuse("60 values against a limit of 59", put("m.idx", b, full), SIREN_ELIMIT,
           "exceed the limit of 59", 59);
    const uint32_t dm[3] = {60000, 28, 28};
    size_t hm = header(t, SIREN_IDX_U8, 3, dm);
    refuse("60000x28x28 declared in a 20-byte file", put("m.idx", t, hm + 4), SIREN_EFORMAT,
           "4 bytes follow", 0);
    {
        /* 2^27 zero bytes compress ~1000:1; declared in a 100-byte gzip */
        const uint32_t dg[2] = {1u << 14, 1u << 13};
        hm = header(t, SIREN_IDX_U8, 2, dg);
        memset(t + hm, 0, 16);
        refuse("2^27 values declared in a tiny gzip file", put_gz("m.idx.gz", t, hm + 16, 1),
               SIREN_EFORMAT, "compressed bytes can hold", 0);
    }
    b[full] = 0;
    refuse("one byte of trailing data", put("m.idx", b, full + 1), SIREN_EFORMAT,
           "1 byte after the data", 0);
    refuse("trailing data inside a gzip stream", put_gz("m.idx.gz", b, full + 1, 1),
           SIREN_EFORMAT, "data after the 60 values", 0);

    /* every truncation of a plain file and of its gzip */
    int all = 1;
    for (size_t cut = 1; cut < full; cut++) {
        siren_idx x;
        siren_status st = siren_idx_load(put("cut.idx", b, cut), 0, &x);
        all &= st == SIREN_EFORMAT && strstr(siren_last_error(), "truncated") && is_empty(&x);
        if (!st) siren_idx_free(&x);
    }
    CHECK(all, "a plain IDX file cut anywhere is refused as truncated");
    unsigned char z[4096];
    size_t zn = get(put_gz("whole.gz", b, full, 1), z, sizeof z);
    all = zn > 20;
    for (size_t cut = 1; cut < zn; cut++) {
        siren_idx x;
        siren_status st = siren_idx_load(put("cut.idx.gz", z, cut), 0, &x);
        const char *m = siren_last_error();
        int ok = st == SIREN_EFORMAT && is_empty(&x) &&
                 (cut < 2 || strstr(m, "cut short") || strstr(m, "ends before its trailer"));
        if (!ok) printf("# cut at %zu of %zu: %s\n", cut, zn, m);
        all &= ok;
        if (!st) siren_idx_free(&x);
    }
    CHECK(all, "a gzip IDX file (%zu bytes) cut anywhere is refused as truncated", zn);
    z[zn - 8] ^= 1;
    refuse("a gzip file with a bad CRC", put("crc.idx.gz", z, zn), SIREN_EFORMAT,
           "corrupt gzip data (zlib: incorrect data check)", 0);
    z[zn - 8] ^= 1;
    z[12] ^= 0xff;
    refuse("a gzip file with damaged deflate data", put("bad.idx.gz", z, zn), SIREN_EFORMAT,
           "corrupt gzip", 0);

    /* values a float cannot hold */
    const uint32_t d2[1] = {2};
    size_t hf = header(t, SIREN_IDX_F32, 1, d2);
    memcpy(t + hf, "\x3f\x80\0\0\x7f\xc0\0\0", 8);
    refuse("a float32 NaN", put("nan.idx", t, hf + 8), SIREN_EFORMAT, "value 1 is nan", 0);
    hf = header(t, SIREN_IDX_F64, 1, d2);
    memcpy(t + hf, "\x7f\xf0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    refuse("a float64 infinity", put("inf.idx", t, hf + 16), SIREN_EFORMAT, "value 0 is inf", 0);
    memcpy(t + hf, "\0\0\0\0\0\0\0\0\x7e\x37\xe4\x3c\x88\x00\x75\x9c", 16);
    refuse("a float64 1e300", put("big.idx", t, hf + 16), SIREN_EFORMAT, "beyond float range", 0);
}

/* A small Fashion-MNIST-shaped set made here: plain images, gzip labels. */
static void test_fashion_small(void) {
    enum { N = 7 };
    static float img[N * 28 * 28];
    float lab[N];
    unsigned char lb[8 + N];
    for (int i = 0; i < N * 28 * 28; i++) img[i] = (float)((i * 13) % 256);
    for (int i = 0; i < N; i++) lab[i] = (float)((i * 3) % 10);
    const size_t di[3] = {N, 28, 28};
    siren_idx_write(name_path("train-images-idx3-ubyte"), SIREN_IDX_U8, 3, di, img);
    const uint32_t dl32[1] = {N};
    size_t h = header(lb, SIREN_IDX_U8, 1, dl32);
    for (int i = 0; i < N; i++) lb[h + i] = (unsigned char)lab[i];
    put_gz("train-labels-idx1-ubyte.gz", lb, h + N, 1);

    float *im;
    uint8_t *l;
    size_t n;
    siren_status st = siren_fashion_mnist_load(dir, 0, 0, &im, &l, &n);
    int ok = st == SIREN_OK && n == N;
    for (int i = 0; ok && i < N * 28 * 28; i++) ok = im[i] == img[i] / 255.0f;
    for (int i = 0; ok && i < N; i++) ok = l[i] == lab[i];
    CHECK(ok && im[0] == 0.0f, "Fashion-MNIST layout from plain images and gzip labels: "
          "%s", st ? siren_last_error() : "pixels / 255 and labels as written");
    if (!st) { free(im); free(l); }
    st = siren_fashion_mnist_load(dir, 0, 3, &im, &l, &n);
    CHECK(st == SIREN_OK && n == 3 && im[3 * 784 - 1] == img[3 * 784 - 1] / 255.0f &&
              l[2] == lab[2], "the first 3 images only");
    if (!st) { free(im); free(l); }

    im = (float *)1;
    st = siren_fashion_mnist_load(dir, 1, 0, &im, &l, &n);
    CHECK(st == SIREN_EIO && strstr(siren_last_error(), "t10k-labels-idx1-ubyte.gz") &&
              !im && !l && n == 0,
          "the test split missing: %s", siren_last_error());

    /* 6 labels for 7 images */
    const uint32_t d6[1] = {N - 1};
    header(lb, SIREN_IDX_U8, 1, d6);
    put_gz("train-labels-idx1-ubyte.gz", lb, h + N - 1, 1);
    st = siren_fashion_mnist_load(dir, 0, 0, &im, &l, &n);
    CHECK(st == SIREN_EFORMAT && strstr(siren_last_error(), "7 images, but") && !im && !l,
          "6 labels for 7 images refused: %s", siren_last_error());
    header(lb, SIREN_IDX_U8, 1, dl32);
    lb[h + 4] = 10;
    put_gz("train-labels-idx1-ubyte.gz", lb, h + N, 1);
    st = siren_fashion_mnist_load(dir, 0, 0, &im, &l, &n);
    CHECK(st == SIREN_EFORMAT && strstr(siren_last_error(), "label 4 is 10") && !im,
          "a label of 10 refused: %s", siren_last_error());
    lb[h + 4] = 1;
    put_gz("train-labels-idx1-ubyte.gz", lb, h + N, 1);
    const size_t d27[3] = {N, 28, 27};
    siren_idx_write(name_path("train-images-idx3-ubyte"), SIREN_IDX_U8, 3, d27, img);
    st = siren_fashion_mnist_load(dir, 0, 0, &im, &l, &n);
    CHECK(st == SIREN_EFORMAT && strstr(siren_last_error(), "28 x 27") && !im,
          "images of 28x27 refused: %s", siren_last_error());
}

/* Debian's dataset-fashion-mnist, when installed. */
static void test_fashion_debian(void) {
    const char *d = getenv("SIREN_FASHION_MNIST_DIR");
    if (!d || !*d) d = SIREN_FASHION_MNIST_DIR;
    char p[4200];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", d);
    if (access(p, R_OK) != 0) {
        snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", d);
        if (access(p, R_OK) != 0) {
            printf("ok - Fashion-MNIST from Debian's files # SKIP %s has no "
                   "train-images-idx3-ubyte(.gz): apt-get install dataset-fashion-mnist, "
                   "or set SIREN_FASHION_MNIST_DIR\n", d);
            return;
        }
    }
    for (int split = 0; split < 2; split++) {
        float *im;
        uint8_t *l;
        size_t n;
        const size_t want = split ? 10000 : 60000;
        siren_status st = siren_fashion_mnist_load(d, split, 0, &im, &l, &n);
        size_t count[10] = {0};
        float lo = 1, hi = 0;
        int ok = st == SIREN_OK && n == want;
        if (ok) {
            for (size_t i = 0; i < n; i++) count[l[i]]++;
            for (size_t i = 0; i < n * 784; i++) {
                lo = im[i] < lo ? im[i] : lo;
                hi = im[i] > hi ? im[i] : hi;
            }
            for (int c = 0; c < 10; c++) ok &= count[c] == want / 10;
            ok &= lo == 0.0f && hi == 1.0f && l[0] == 9; /* both splits open with a boot */
        }
        CHECK(ok, "Fashion-MNIST %s split from %s: %zu images, %zu per class, pixels in "
              "[%g, %g]: %s", split ? "t10k" : "train", d, n, count[0], lo, hi,
              st ? siren_last_error() : "as published");
        if (!st) { free(im); free(l); }
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/siren_test_idx.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_roundtrip();
    test_types();
    test_broken();
    test_fashion_small();
    test_fashion_debian();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_DONE();
}

/* safetensors reader/writer: bit-exact round trips, the golden test-vector
 * files, atomic writes, and a catalogue of broken files (each must fail
 * with the right status and a message that starts with the path), plus
 * every truncation and many byte corruptions of a valid file. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "testhelp.h"

static char dir[64];
static char pathbuf[4096];

static const char *tpath(const char *name) {
    snprintf(pathbuf, sizeof pathbuf, "%s/%s", dir, name);
    return pathbuf;
}

static int write_bytes(const char *path, const void *buf, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 0;
    int ok = fwrite(buf, 1, n, fp) == n;
    return fclose(fp) == 0 && ok;
}

/* Read a whole file; *n gets its size. */
static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *n = (size_t)sz;
    return buf;
}

/* A file made of an explicit 8-byte header length, header text and data. */
static int make_raw(const char *path, uint64_t hlen, const char *hdr,
                    const void *data, size_t data_len) {
    size_t h = strlen(hdr);
    unsigned char *buf = calloc(1, 8 + h + data_len + 1);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + 8, hdr, h);
    if (data_len)
        memcpy(buf + 8 + h, data, data_len);
    int ok = write_bytes(path, buf, 8 + h + data_len);
    free(buf);
    return ok;
}

/* A file whose header length is right, with data_len bytes of data. */
static int make_file(const char *path, const char *hdr, size_t data_len) {
    unsigned char data[256] = {0};
    if (data_len > sizeof data)
        return 0;
    return make_raw(path, strlen(hdr), hdr, data, data_len);
}

/* The error message when st is a failure, for CHECK lines. */
static const char *why(siren_status st) {
    return st == SIREN_OK ? "ok" : siren_last_error();
}

static int msg_starts_with(const char *path) {
    return strncmp(siren_last_error(), path, strlen(path)) == 0;
}

/* Read path and expect status want, no file object and a message naming
 * the file (and containing `also`, when given). */
static void expect_fail(const char *what, const char *path,
                        siren_status want, const char *also) {
    siren_st_file *f = (siren_st_file *)1;
    siren_status st = siren_st_read(path, &f);
    int ok = st == want && f == NULL && msg_starts_with(path) &&
             (!also || strstr(siren_last_error(), also));
    CHECK(ok, "broken file: %s -> %s (got %s: %s)", what,
          siren_status_str(want), siren_status_str(st), siren_last_error());
    if (st == SIREN_OK)
        siren_st_free(f);
}

/* Names in dir other than those listed (temporary leftovers). */
static int count_entries(const char *d) {
    DIR *dp = opendir(d);
    if (!dp)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(dp);
    return n;
}

static int same_tensor(const siren_st_tensor *a, const siren_st_tensor *b) {
    if (strcmp(a->name, b->name) || a->dtype != b->dtype || a->ndim != b->ndim)
        return 0;
    size_t n = siren_dtype_size(a->dtype);
    for (int k = 0; k < a->ndim; k++) {
        if (a->shape[k] != b->shape[k])
            return 0;
        n *= (size_t)a->shape[k];
    }
    return n == 0 || memcmp(a->data, b->data, n) == 0;
}

/* ------------------------------------------------------------ round trip */

static void test_round_trip(void) {
    /* Bit patterns a float conversion would lose: -0, NaN payloads,
     * subnormals, infinities. */
    static const uint32_t f32bits[12] = {
        0x00000000, 0x80000000, 0x7fc00001, 0xffa00000, 0x00000001,
        0x807fffff, 0x7f800000, 0xff800000, 0x3f800000, 0xc2f6e979,
        0x3eaaaaab, 0x7f7fffff};
    uint64_t f64bits[30];
    for (int i = 0; i < 30; i++)
        f64bits[i] = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    f64bits[0] = 0x7ff0000000000001ull; /* signalling NaN */
    f64bits[1] = 0x8000000000000000ull;
    float scalar = 3.25f;
    float one[1] = {-1.5f};
    float eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};

    siren_st_tensor t[6] = {
        {"net.0.linear.weight", SIREN_DT_F32, 2, {3, 4}, f32bits},
        {"grad", SIREN_DT_F64, 3, {2, 3, 5}, f64bits},
        {"scalar", SIREN_DT_F32, 0, {0}, &scalar},
        {"empty", SIREN_DT_F64, 2, {0, 7}, NULL},
        {"ω.one", SIREN_DT_F32, 1, {1}, one},
        {"eight", SIREN_DT_F32, 8, {1, 2, 1, 2, 1, 2, 1, 1}, eight},
    };
    const char *keys[6] = {"format", "quote", "newline", "unicode", "empty",
                           "clé"};
    const char *vals[6] = {"siren", "he said \"hi\" \\o/",
                           "line 1\nline 2\ttab\r\n", "ω₀ = 30 — ✓ 🎉", "",
                           "{\"not\": [\"json\"]}"};

    const char *p = tpath("rt.safetensors");
    siren_status st = siren_st_write(p, t, 6, keys, vals, 6);
    CHECK(st == SIREN_OK, "write F32/F64/scalar/empty tensors with metadata "
          "(%s)", why(st));
    CHECK(count_entries(dir) == 1, "write leaves no temporary file");
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0644,
          "under umask 022 the file is 0644 like a plain fopen's, not 0600");

    size_t n = 0;
    unsigned char *raw = read_bytes(p, &n);
    uint64_t hlen = 0;
    for (int i = 7; raw && n >= 8 && i >= 0; i--)
        hlen = (hlen << 8) | raw[i];
    CHECK(raw && hlen % 8 == 0 && 8 + hlen <= n && raw[8 + hlen - 1] != 0,
          "header length %llu is a multiple of 8", (unsigned long long)hlen);
    CHECK(raw && n > 24 && memcmp(raw + 8, "{\"__metadata__\":", 16) == 0,
          "__metadata__ comes first in the header");
    size_t data = 12 * 4 + 30 * 8 + 4 + 0 + 4 + 8 * 4;
    CHECK(raw && n == 8 + hlen + data, "file size is 8 + header + %zu data "
          "bytes", data);
    free(raw);

    siren_st_file *f = NULL;
    st = siren_st_read(p, &f);
    CHECK(st == SIREN_OK && f, "read it back (%s)", why(st));
    if (!f)
        return;
    CHECK(siren_st_count(f) == 6, "six tensors");
    int same = siren_st_count(f) == 6, aligned = 1;
    for (int i = 0; same && i < 6; i++) {
        same = same_tensor(siren_st_at(f, i), &t[i]);
        aligned &= (uintptr_t)siren_st_at(f, i)->data % 64 == 0;
    }
    CHECK(same, "names, order, dtypes, shapes and data bit-exact");
    CHECK(aligned, "each tensor's data is 64-byte aligned");
    const siren_st_tensor *s = siren_st_find(f, "scalar");
    CHECK(s && s->ndim == 0 && *(const float *)s->data == 3.25f,
          "0-d scalar keeps ndim 0 and its value");
    s = siren_st_find(f, "empty");
    CHECK(s && s->ndim == 2 && s->shape[0] == 0 && s->shape[1] == 7 &&
          s->data != NULL, "zero-sized tensor keeps its shape");
    CHECK(siren_st_find(f, "nope") == NULL, "find of an absent name is NULL");
    CHECK(siren_st_meta_count(f) == 6, "six metadata entries");
    int meta_ok = siren_st_meta_count(f) == 6;
    for (int i = 0; meta_ok && i < 6; i++) {
        const char *k, *v;
        siren_st_meta_at(f, i, &k, &v);
        meta_ok = strcmp(k, keys[i]) == 0 && strcmp(v, vals[i]) == 0 &&
                  strcmp(siren_st_meta(f, keys[i]), vals[i]) == 0;
    }
    CHECK(meta_ok, "metadata with quotes, backslashes, newlines, unicode and "
          "an empty value round-trips in order");
    CHECK(siren_st_meta(f, "absent") == NULL, "absent metadata key is NULL");
    siren_st_free(f);

    /* Overwriting an existing file, no tensors and no metadata at all. */
    st = siren_st_write(p, NULL, 0, NULL, NULL, 0);
    f = NULL;
    siren_status st2 = siren_st_read(p, &f);
    CHECK(st == SIREN_OK && st2 == SIREN_OK && f && siren_st_count(f) == 0 &&
          siren_st_meta_count(f) == 0 && count_entries(dir) == 1,
          "an empty file overwrites the old one and reads back empty");
    siren_st_free(f);
    unlink(p);
}

/* ---------------------------------------------------------- failed write */

static void test_write_failures(void) {
    float x[2] = {1, 2};
    siren_st_tensor t[2] = {{"a", SIREN_DT_F32, 1, {2}, x},
                            {"a", SIREN_DT_F32, 1, {2}, x}};
    const char *p = tpath("nodir/m.safetensors");
    char p_copy[4096];
    snprintf(p_copy, sizeof p_copy, "%s", p);
    siren_status st = siren_st_write(p_copy, t, 1, NULL, NULL, 0);
    CHECK(st == SIREN_EIO && msg_starts_with(p_copy) &&
          count_entries(dir) == 0,
          "write into a missing directory: EIO, nothing left (%s)",
          siren_last_error());

    /* The temporary file is made, then rename onto a directory fails. */
    snprintf(p_copy, sizeof p_copy, "%s", tpath("isdir"));
    mkdir(p_copy, 0755);
    st = siren_st_write(p_copy, t, 1, NULL, NULL, 0);
    CHECK(st == SIREN_EIO && msg_starts_with(p_copy) &&
          count_entries(dir) == 1 && count_entries(p_copy) == 0,
          "failed rename: EIO and the temporary file is removed (%s)",
          siren_last_error());
    rmdir(p_copy);

    snprintf(p_copy, sizeof p_copy, "%s", tpath("dup.safetensors"));
    st = siren_st_write(p_copy, t, 2, NULL, NULL, 0);
    CHECK(st == SIREN_EINVAL && msg_starts_with(p_copy) &&
          count_entries(dir) == 0, "duplicate tensor names: EINVAL, no file");

    const char *k[1] = {"bad"}, *v[1] = {"\xff\xfe"};
    st = siren_st_write(p_copy, t, 1, k, v, 1);
    CHECK(st == SIREN_EINVAL && count_entries(dir) == 0,
          "metadata that is not UTF-8: EINVAL, no file");

    /* A write that fails halfway: a file size limit makes fwrite fail
     * with EFBIG (SIGXFSZ ignored) after the temporary file exists. */
    static float big[4096];
    siren_st_tensor bt = {"big", SIREN_DT_F32, 1, {4096}, big};
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 1000;
    signal(SIGXFSZ, SIG_IGN);
    snprintf(p_copy, sizeof p_copy, "%s", tpath("big.safetensors"));
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        st = siren_st_write(p_copy, &bt, 1, NULL, NULL, 0);
        setrlimit(RLIMIT_FSIZE, &old);
        CHECK(st == SIREN_EIO && msg_starts_with(p_copy) &&
              count_entries(dir) == 0,
              "write failing past a 1000-byte file size limit: EIO, no "
              "file left (%s)", siren_last_error());
    } else {
        CHECK(0, "setrlimit(RLIMIT_FSIZE) works");
    }
    signal(SIGXFSZ, SIG_DFL);

    siren_st_tensor neg = {"n", SIREN_DT_F32, 1, {-1}, x};
    st = siren_st_write(p_copy, &neg, 1, NULL, NULL, 0);
    CHECK(st == SIREN_EINVAL && count_entries(dir) == 0,
          "negative dimension: EINVAL, no file");
}

/* ---------------------------------------------------------- broken files */

static void test_broken(void) {
    char p[4096];
    snprintf(p, sizeof p, "%s", tpath("bad.safetensors"));
    static const char one_f32[] =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    write_bytes(p, "", 0);
    expect_fail("empty file", p, SIREN_EFORMAT, NULL);
    write_bytes(p, "\x10\0\0\0\0\0\0", 7);
    expect_fail("7-byte file", p, SIREN_EFORMAT, NULL);
    make_raw(p, 100, "{}", NULL, 0);
    expect_fail("header length larger than the file", p, SIREN_EFORMAT,
                "header");
    make_raw(p, (uint64_t)1 << 63, "{}", NULL, 0);
    expect_fail("header length 2^63", p, SIREN_ELIMIT, NULL);
    make_raw(p, 100000001, "{}", NULL, 0);
    expect_fail("header length just above 100 MB", p, SIREN_ELIMIT, NULL);
    make_file(p, "", 0);
    expect_fail("header of length 0", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"a\": nope}", 0);
    expect_fail("header not JSON", p, SIREN_EFORMAT, "JSON");
    make_file(p, "[1, 2]  ", 0);
    expect_fail("header JSON but an array", p, SIREN_EFORMAT, "object");
    make_file(p, "\"str\"", 0);
    expect_fail("header JSON but a string", p, SIREN_EFORMAT, "object");
    make_file(p, "{} x", 0);
    expect_fail("text after the JSON object", p, SIREN_EFORMAT, NULL);
    make_raw(p, 6, "{}", "\0   ", 4);
    expect_fail("NUL padding in the header", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"a\xff\":{}}", 0);
    expect_fail("header not UTF-8", p, SIREN_EFORMAT, "UTF-8");
    make_file(p, "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[],"
              "\"data_offsets\":[0,4]}}", 4);
    expect_fail("tensor name with \\u0000", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],"
              "\"data_offsets\":[0,4]}}", 4);
    expect_fail("unknown dtype BF16", p, SIREN_EFORMAT, "\"w\"");
    CHECK(strstr(siren_last_error(), "BF16") != NULL,
          "the dtype message names the dtype: %s", siren_last_error());
    make_file(p, "{\"w\":{\"dtype\":32,\"shape\":[2],"
              "\"data_offsets\":[0,8]}}", 8);
    expect_fail("dtype not a string", p, SIREN_EFORMAT, "\"w\"");
    make_file(p, "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    expect_fail("dtype missing", p, SIREN_EFORMAT, "dtype");
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],"
              "\"data_offsets\":[0,0]}}", 0);
    expect_fail("negative dimension", p, SIREN_EFORMAT, "negative");
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],"
              "\"data_offsets\":[0,4]}}", 4);
    expect_fail("fractional dimension", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],"
              "\"data_offsets\":[0,8]}}", 8);
    expect_fail("dimension as a string", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":2,"
              "\"data_offsets\":[0,8]}}", 8);
    expect_fail("shape not an array", p, SIREN_EFORMAT, "shape");
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
              "\"data_offsets\":[0,4]}}", 4);
    expect_fail("9 dimensions", p, SIREN_EFORMAT, "dimensions");
    make_file(p, "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,"
              "4294967296],\"data_offsets\":[0,8]}}", 8);
    expect_fail("shape product overflows", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[0,12]}}", 12);
    expect_fail("shape/offset size mismatch", p, SIREN_EFORMAT, "need 8");
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],"
              "\"data_offsets\":[8,0]}}", 8);
    expect_fail("data_offsets end before begin", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[0]}}", 8);
    expect_fail("data_offsets with one entry", p, SIREN_EFORMAT,
                "data_offsets");
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[0,8,16]}}", 8);
    expect_fail("data_offsets with three entries", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[-8,0]}}", 8);
    expect_fail("negative data offset", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[8,16]}}", 8);
    expect_fail("offsets past the data section", p, SIREN_EFORMAT,
                "truncated");
    make_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[9007199254740992,9007199254741000]}}", 8);
    expect_fail("offsets beyond 2^53", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[4,12]}}", 12);
    expect_fail("overlapping tensors", p, SIREN_EFORMAT, "overlap");
    make_file(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
              "\"data_offsets\":[0,8]},\"z\":{\"dtype\":\"F32\",\"shape\":[0],"
              "\"data_offsets\":[4,4]}}", 8);
    expect_fail("empty tensor inside another", p, SIREN_EFORMAT, "overlap");
    make_file(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
              "\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
              "\"data_offsets\":[8,12]}}", 12);
    expect_fail("hole in the data section", p, SIREN_EFORMAT, "hole");
    make_file(p, "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
              "\"data_offsets\":[4,8]}}", 8);
    expect_fail("hole at the start of the data section", p, SIREN_EFORMAT,
                "hole");
    make_file(p, one_f32, 12);
    expect_fail("bytes after the last tensor", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
              "\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
              "\"data_offsets\":[4,8]}}", 8);
    expect_fail("duplicate tensor names", p, SIREN_EFORMAT, "twice");
    make_file(p, "{\"__metadata__\":{\"k\":1}}", 0);
    expect_fail("metadata value not a string", p, SIREN_EFORMAT, "\"k\"");
    make_file(p, "{\"__metadata__\":[\"k\"]}", 0);
    expect_fail("metadata not an object", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0);
    expect_fail("duplicate metadata keys", p, SIREN_EFORMAT, "twice");
    make_file(p, "{\"__metadata__\":{},\"__metadata__\":{}}", 0);
    expect_fail("two __metadata__ entries", p, SIREN_EFORMAT, NULL);
    make_file(p, "{\"w\":[1,2]}", 0);
    expect_fail("tensor entry not an object", p, SIREN_EFORMAT, "\"w\"");
    make_file(p, one_f32, 4);
    expect_fail("truncated data", p, SIREN_EFORMAT, "truncated");
    CHECK(strstr(siren_last_error(), "header says 8 bytes of tensor data, "
                 "file has 4") != NULL, "truncation message gives both sizes:"
          " %s", siren_last_error());

    /* Nesting deeper than cJSON's limit must fail, not overflow the stack. */
    char deep[4200];
    size_t d = 0;
    deep[d++] = '{';
    deep[d++] = '"';
    deep[d++] = 'a';
    deep[d++] = '"';
    deep[d++] = ':';
    for (int i = 0; i < 2000; i++)
        deep[d++] = '[';
    for (int i = 0; i < 2000; i++)
        deep[d++] = ']';
    deep[d++] = '}';
    deep[d] = '\0';
    make_file(p, deep, 0);
    expect_fail("arrays nested 2000 deep", p, SIREN_EFORMAT, NULL);

    expect_fail("nonexistent path", tpath("does-not-exist.safetensors"),
                SIREN_EIO, NULL);
    expect_fail("a directory", dir, SIREN_EIO, NULL);
    unlink(p);

    /* Valid edge cases, for contrast. */
    siren_st_file *f = NULL;
    make_file(p, "{}", 0);
    siren_status st = siren_st_read(p, &f);
    CHECK(st == SIREN_OK && siren_st_count(f) == 0, "\"{}\" is a valid "
          "empty file");
    siren_st_free(f);
    f = NULL;
    make_file(p, "{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":"
              "[8,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
              "[0,8],\"extra\":1}, \"__metadata__\":{}}    ", 8);
    st = siren_st_read(p, &f);
    CHECK(st == SIREN_OK && siren_st_count(f) == 2 &&
          strcmp(siren_st_at(f, 0)->name, "z") == 0,
          "out-of-order offsets, an empty tensor at the end, metadata last "
          "and trailing spaces are fine (%s)", why(st));
    siren_st_free(f);
    unlink(p);
}

/* Every prefix of a valid file fails cleanly; so do (or read sanely)
 * corrupted copies. */
static void test_truncations_and_corruption(void) {
    float w[6] = {1, 2, 3, 4, 5, 6};
    double b[2] = {-1, 1};
    siren_st_tensor t[2] = {{"w", SIREN_DT_F32, 2, {2, 3}, w},
                            {"b", SIREN_DT_F64, 1, {2}, b}};
    const char *k[2] = {"format", "task"}, *v[2] = {"siren", "image"};
    char p[4096], q[4096];
    snprintf(p, sizeof p, "%s", tpath("small.safetensors"));
    snprintf(q, sizeof q, "%s", tpath("cut.safetensors"));
    CHECK(siren_st_write(p, t, 2, k, v, 2) == SIREN_OK, "write a small file");
    size_t n = 0;
    unsigned char *raw = read_bytes(p, &n);
    if (!raw)
        return;

    int bad = 0;
    for (size_t len = 0; len < n; len++) {
        siren_st_file *f = (siren_st_file *)1;
        write_bytes(q, raw, len);
        siren_status st = siren_st_read(q, &f);
        if (st == SIREN_OK || f != NULL || !msg_starts_with(q)) {
            if (!bad)
                printf("# prefix of %zu bytes: %s\n", len, siren_last_error());
            bad++;
            if (st == SIREN_OK)
                siren_st_free(f);
        }
    }
    CHECK(bad == 0, "all %zu truncations of a %zu-byte file fail cleanly "
          "(%d did not)", n, n, bad);

    /* Flip each byte to a few values: the reader must either refuse with
     * a proper message or return tensors whose sizes add up to the file. */
    static const unsigned char vals[] = {0x00, 0xff, '"', '[', '9', '-', ' '};
    int inconsistent = 0, refused = 0, accepted = 0;
    unsigned char *mut = malloc(n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof vals; j++) {
            if (raw[i] == vals[j])
                continue;
            memcpy(mut, raw, n);
            mut[i] = vals[j];
            write_bytes(q, mut, n);
            siren_st_file *f = NULL;
            siren_status st = siren_st_read(q, &f);
            if (st != SIREN_OK) {
                refused++;
                inconsistent += f != NULL || !msg_starts_with(q);
                continue;
            }
            accepted++;
            uint64_t hlen = 0;
            for (int c = 7; c >= 0; c--)
                hlen = (hlen << 8) | mut[c];
            size_t total = 0;
            for (int c = 0; c < siren_st_count(f); c++) {
                const siren_st_tensor *x = siren_st_at(f, c);
                size_t sz = siren_dtype_size(x->dtype);
                for (int m = 0; m < x->ndim; m++)
                    sz *= (size_t)x->shape[m];
                total += sz;
            }
            inconsistent += total != n - 8 - hlen;
            siren_st_free(f);
        }
    }
    free(mut);
    CHECK(inconsistent == 0, "single-byte corruptions: %d refused cleanly, "
          "%d accepted with consistent sizes, %d inconsistent", refused,
          accepted, inconsistent);
    free(raw);
    unlink(p);
    unlink(q);
}

/* ---------------------------------------------------- golden test vectors */

#define TV_DIR "tests/data/testvectors"

static void test_testvectors(void) {
    static const char *cases[4] = {"image_gray", "image_rgb", "sdf", "audio"};
    char p[512];
    for (int c = 0; c < 4; c++) {
        for (int e = 0; e < 2; e++) {
            snprintf(p, sizeof p, TV_DIR "/%s.%s.safetensors", cases[c],
                     e ? "expected" : "model");
            siren_st_file *f = NULL;
            siren_status st = siren_st_read(p, &f);
            CHECK(st == SIREN_OK && siren_st_count(f) > 0,
                  "read test vector %s (%s)", p, why(st));
            if (!f)
                continue;
            /* Our writer must reproduce every tensor bit for bit. */
            const char *keys[64], *vals[64];
            int nm = siren_st_meta_count(f);
            for (int i = 0; i < nm && i < 64; i++)
                siren_st_meta_at(f, i, &keys[i], &vals[i]);
            int nt = siren_st_count(f);
            siren_st_tensor *copy = malloc((size_t)nt * sizeof *copy);
            for (int i = 0; i < nt; i++)
                copy[i] = *siren_st_at(f, i);
            const char *q = tpath("tv.safetensors");
            siren_st_file *g = NULL;
            int same = nm <= 64 &&
                       siren_st_write(q, copy, nt, keys, vals, nm) ==
                           SIREN_OK &&
                       siren_st_read(q, &g) == SIREN_OK &&
                       siren_st_count(g) == nt &&
                       siren_st_meta_count(g) == nm;
            for (int i = 0; same && i < nt; i++)
                same = same_tensor(siren_st_at(g, i), siren_st_at(f, i));
            for (int i = 0; same && i < nm; i++)
                same = strcmp(siren_st_meta(g, keys[i]), vals[i]) == 0;
            CHECK(same, "rewriting %s keeps every tensor and key", p);
            siren_st_free(g);
            free(copy);
            unlink(q);

            if (c == 0 && e == 0) {
                const siren_st_tensor *w =
                    siren_st_find(f, "net.0.linear.weight");
                const char *fmt = siren_st_meta(f, "format");
                CHECK(w && w->dtype == SIREN_DT_F32 && w->ndim == 2 &&
                      w->shape[0] == 32 && w->shape[1] == 2,
                      "image_gray model: net.0.linear.weight is F32 [32, 2]");
                CHECK(fmt && strcmp(fmt, "siren") == 0,
                      "image_gray model: format = siren");
                const siren_st_tensor *last = siren_st_find(f, "net.3.bias");
                CHECK(last && last->ndim == 1 && last->shape[0] == 1,
                      "image_gray model: net.3.bias is [1]");
            }
            if (e == 1) {
                int all64 = 1;
                for (int i = 0; i < nt; i++)
                    all64 &= siren_st_at(f, i)->dtype == SIREN_DT_F64;
                const siren_st_tensor *x = siren_st_find(f, "x");
                const siren_st_tensor *v = siren_st_find(f, "value");
                int ok = all64 && x && v && x->ndim == 2 && v->ndim == 2 &&
                         x->shape[0] == v->shape[0];
                if (ok) {
                    const double *xs = x->data;
                    for (int64_t i = 0; i < x->shape[0] * x->shape[1]; i++)
                        ok &= xs[i] >= -1 && xs[i] <= 1;
                }
                CHECK(ok, "%s: F64 tensors, x and value agree in n, x in "
                      "[-1, 1]", p);
            }
            siren_st_free(f);
        }
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/siren_st_XXXXXX");
    umask(022);
    if (!mkdtemp(dir)) {
        printf("not ok - cannot create a temporary directory\n");
        return 1;
    }
    test_round_trip();
    test_write_failures();
    test_broken();
    test_truncations_and_corruption();
    test_testvectors();
    CHECK(count_entries(dir) == 0, "tests leave the temporary directory "
          "empty");
    rmdir(dir);
    TEST_DONE();
}

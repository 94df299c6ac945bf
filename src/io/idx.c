/* IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed, in; plain
 * uint8/float32 IDX out; and the Fashion-MNIST file pair of one split. The
 * reader takes files from the internet: the declared size is checked against
 * the value limit and against what the file could hold before anything is
 * allocated, and every failure names the file. What the images train is the
 * tasks' business. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/atomic.h"
#include "io/idx.h"
#include "util/error.h"

/* Deflate's best ratio is 1032:1 (a 258-byte match in under 2 bits); a gzip
 * file claiming more data than that per compressed byte is lying. */
#define GZ_MAX_RATIO 1032

static int type_size(int t) {
    switch (t) {
    case SIREN_IDX_U8: case SIREN_IDX_I8: return 1;
    case SIREN_IDX_I16: return 2;
    case SIREN_IDX_I32: case SIREN_IDX_F32: return 4;
    case SIREN_IDX_F64: return 8;
    default: return 0;
    }
}

static const char *type_name(int t) {
    switch (t) {
    case SIREN_IDX_U8: return "uint8";
    case SIREN_IDX_I8: return "int8";
    case SIREN_IDX_I16: return "int16";
    case SIREN_IDX_I32: return "int32";
    case SIREN_IDX_F32: return "float32";
    default: return "float64";
    }
}

/* "60000 x 28 x 28" for messages. */
static const char *dims_str(char *buf, size_t cap, int ndim, const size_t *dims) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? " x %zu" : "%zu", dims[i]);
    return buf;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void siren_idx_free(siren_idx *x) {
    if (!x) return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* Up to n bytes, fewer only at the end of the data; -1 on a read or zlib
 * error (gzerror says which). */
static long long read_full(gzFile g, void *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        unsigned want = n - done > (1u << 30) ? 1u << 30 : (unsigned)(n - done);
        int got = gzread(g, (unsigned char *)buf + done, want);
        if (got < 0) return -1;
        if (got == 0) break;
        done += (size_t)got;
    }
    return (long long)done;
}

/* A read error from zlib or the system, as one line. */
static siren_status gz_error(const char *path, gzFile g) {
    int errnum = Z_OK;
    const char *msg = gzerror(g, &errnum);
    if (errnum == Z_ERRNO)
        return siren_fail(SIREN_EIO, "%s: read error: %s", path, strerror(errno));
    if (errnum == Z_MEM_ERROR) return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
    /* zlib prefixes the name it was given, "<fd:3>" from gzdopen */
    const char *cut = msg ? strstr(msg, ">: ") : NULL;
    if (msg && !strncmp(msg, "<fd:", 4) && cut) msg = cut + 3;
    return siren_fail(SIREN_EFORMAT, "%s: corrupt gzip data (zlib: %s)", path,
                      msg && *msg ? msg : "unknown error");
}

/* After a short read: " (the gzip stream is cut short)" when zlib saw its
 * input end inside a gzip stream, else "". */
static const char *cut_note(gzFile g, int gz) {
    int errnum = Z_OK;
    if (gz) gzerror(g, &errnum);
    return errnum == Z_BUF_ERROR ? " (the gzip stream is cut short)" : "";
}

/* count big-endian values of type t at p into out (the first being value
 * number first of the file, for messages). */
static siren_status convert(const char *path, int t, const unsigned char *p, size_t count,
                            float *out, size_t first) {
    switch (t) {
    case SIREN_IDX_U8:
        for (size_t i = 0; i < count; i++) out[i] = p[i];
        break;
    case SIREN_IDX_I8:
        for (size_t i = 0; i < count; i++) out[i] = (int8_t)p[i];
        break;
    case SIREN_IDX_I16:
        for (size_t i = 0; i < count; i++)
            out[i] = (int16_t)(uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
        break;
    case SIREN_IDX_I32:
        for (size_t i = 0; i < count; i++) out[i] = (float)(int32_t)be32(p + 4 * i);
        break;
    case SIREN_IDX_F32:
        for (size_t i = 0; i < count; i++) {
            uint32_t u = be32(p + 4 * i);
            memcpy(&out[i], &u, 4);
            if (!isfinite(out[i]))
                return siren_fail(SIREN_EFORMAT, "%s: value %zu is %g (NaN and infinite "
                                  "values are refused)", path, first + i, out[i]);
        }
        break;
    default:
        for (size_t i = 0; i < count; i++) {
            uint64_t u = (uint64_t)be32(p + 8 * i) << 32 | be32(p + 8 * i + 4);
            double d;
            memcpy(&d, &u, 8);
            if (!isfinite(d))
                return siren_fail(SIREN_EFORMAT, "%s: value %zu is %g (NaN and infinite "
                                  "values are refused)", path, first + i, d);
            if (fabs(d) > FLT_MAX)
                return siren_fail(SIREN_EFORMAT, "%s: value %zu (%g) is beyond float "
                                  "range", path, first + i, d);
            out[i] = (float)d;
        }
    }
    return SIREN_OK;
}

/* The header, then the checks that bound the allocation, then the data in
 * chunks straight into the floats (the raw bytes are never held whole). */
static siren_status idx_read(const char *path, size_t max_values, size_t max_rows,
                             siren_idx *out) {
    memset(out, 0, sizeof *out);
    const size_t limit = max_values ? max_values : SIREN_IDX_MAX_VALUES;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return siren_fail(SIREN_EIO, "%s: %s", path,
                          errno == ENOENT ? "no such file" : strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return siren_fail(SIREN_EIO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return siren_fail(SIREN_EIO, "%s: is a directory", path);
    }
    const int sized = S_ISREG(sb.st_mode);
    gzFile g = gzdopen(fd, "rb");
    if (!g) {
        close(fd);
        return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
    }
    gzbuffer(g, 1u << 17);
    siren_status st = SIREN_OK;
    float *data = NULL;
    char ds[128];
    unsigned char h[4 + 4 * SIREN_IDX_MAX_DIMS];
    long long got = read_full(g, h, 4);
    const int gz = !gzdirect(g);
    const char *what = gz ? "decompressed data" : "file";
    if (got < 0) {
        st = gz_error(path, g);
        goto done;
    }
    if (got == 0) {
        st = siren_fail(SIREN_EFORMAT, "%s: %s%s", path,
                        gz ? "no data after decompression" : "empty file", cut_note(g, gz));
        goto done;
    }
    if (got < 4 || h[0] || h[1]) {
        if (got >= 2 && (h[0] || h[1]))
            st = siren_fail(SIREN_EFORMAT, "%s: not an IDX file (the %s starts with 0x%02x "
                            "0x%02x, not 0x00 0x00)", path, what, h[0], h[1]);
        else
            st = siren_fail(SIREN_EFORMAT, "%s: truncated: %lld bytes, an IDX header "
                            "takes at least 8%s", path, got, cut_note(g, gz));
        goto done;
    }
    const int type = h[2], ndim = h[3], size = type_size(type);
    if (!size) {
        st = siren_fail(SIREN_EFORMAT, "%s: unknown IDX data type 0x%02x (0x08, 0x09, 0x0B, "
                        "0x0C, 0x0D or 0x0E expected)", path, type);
        goto done;
    }
    if (ndim < 1 || ndim > SIREN_IDX_MAX_DIMS) {
        st = siren_fail(SIREN_EFORMAT, "%s: %d dimensions; 1 to %d are supported", path, ndim,
                        SIREN_IDX_MAX_DIMS);
        goto done;
    }
    const size_t hdr = 4 + 4 * (size_t)ndim;
    got = read_full(g, h + 4, hdr - 4);
    if (got < 0) {
        st = gz_error(path, g);
        goto done;
    }
    if ((size_t)got < hdr - 4) {
        st = siren_fail(SIREN_EFORMAT, "%s: truncated in the header: %d dimensions "
                        "declared, the %s ends after %lld of their %zu bytes%s", path, ndim,
                        what, got, hdr - 4, cut_note(g, gz));
        goto done;
    }
    size_t dims[SIREN_IDX_MAX_DIMS] = {1, 1, 1, 1}, declared = 1, row = 1;
    int overflow = 0;
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(h + 4 + 4 * i);
        if (!dims[i]) {
            st = siren_fail(SIREN_EFORMAT, "%s: dimension %d of %d is 0 (an empty IDX "
                            "array is refused)", path, i + 1, ndim);
            goto done;
        }
        overflow |= !siren_mul_size(declared, dims[i], &declared);
        if (i) overflow |= !siren_mul_size(row, dims[i], &row);
    }
    size_t declared_bytes = 0;
    overflow |= !siren_mul_size(declared, (size_t)size, &declared_bytes);
    if (overflow) {
        st = siren_fail(SIREN_ELIMIT, "%s: %s %s values overflow a size (limit %zu "
                        "values)", path, dims_str(ds, sizeof ds, ndim, dims),
                        type_name(type), limit);
        goto done;
    }
    const size_t rows = max_rows && max_rows < dims[0] ? max_rows : dims[0];
    const size_t n = rows * row, bytes = n * (size_t)size;
    if (n > limit) {
        st = siren_fail(SIREN_ELIMIT, "%s: %zu values to load (of %s %s) exceed the "
                        "limit of %zu", path, n, dims_str(ds, sizeof ds, ndim, dims),
                        type_name(type), limit);
        goto done;
    }
    if (sized && !gz) {
        const unsigned long long follow = (unsigned long long)sb.st_size - hdr;
        if (declared_bytes > follow) {
            st = siren_fail(SIREN_EFORMAT, "%s: truncated: the header declares %s %s "
                            "(%zu bytes of data), %llu bytes follow", path,
                            dims_str(ds, sizeof ds, ndim, dims), type_name(type),
                            declared_bytes, follow);
            goto done;
        }
        if (declared_bytes < follow) {
            st = siren_fail(SIREN_EFORMAT, "%s: %llu byte%s after the data of %s %s "
                            "(trailing data is refused: the header may be wrong)", path,
                            follow - declared_bytes, follow - declared_bytes > 1 ? "s" : "",
                            dims_str(ds, sizeof ds, ndim, dims), type_name(type));
            goto done;
        }
    }
    if (sized && gz && bytes / GZ_MAX_RATIO > (unsigned long long)sb.st_size) {
        st = siren_fail(SIREN_EFORMAT, "%s: truncated: the header declares %s %s (%zu "
                        "bytes of data), more than %lld compressed bytes can hold", path,
                        dims_str(ds, sizeof ds, ndim, dims), type_name(type), bytes,
                        (long long)sb.st_size);
        goto done;
    }
    size_t alloc;
    if (!siren_mul_size(n, sizeof(float), &alloc) || !(data = malloc(alloc))) {
        st = siren_fail(SIREN_ENOMEM, "%s: out of memory for %zu values", path, n);
        goto done;
    }
    unsigned char buf[1 << 15];
    const size_t per = sizeof buf / (size_t)size;
    for (size_t i = 0; i < n;) {
        const size_t want = n - i < per ? n - i : per;
        got = read_full(g, buf, want * (size_t)size);
        if (got < 0) {
            st = gz_error(path, g);
            goto done;
        }
        if ((size_t)got < want * (size_t)size) {
            st = siren_fail(SIREN_EFORMAT, "%s: truncated: the %s ends after %zu of the "
                            "%zu values of %s %s%s", path, what, i + (size_t)got / (size_t)size,
                            declared, dims_str(ds, sizeof ds, ndim, dims), type_name(type),
                            cut_note(g, gz));
            goto done;
        }
        if ((st = convert(path, type, buf, want, data + i, i))) goto done;
        i += want;
    }
    if (rows == dims[0]) {
        /* the end: nothing may follow, and reading on past the last value
         * makes zlib check the gzip trailer (CRC and length) */
        got = read_full(g, buf, 1);
        if (got < 0) {
            st = gz_error(path, g);
            goto done;
        }
        if (got > 0) {
            st = siren_fail(SIREN_EFORMAT, "%s: data after the %zu values of %s %s "
                            "(trailing data is refused: the header may be wrong)", path,
                            declared, dims_str(ds, sizeof ds, ndim, dims), type_name(type));
            goto done;
        }
        if (*cut_note(g, gz)) {
            st = siren_fail(SIREN_EFORMAT, "%s: truncated: the gzip stream ends before "
                            "its trailer", path);
            goto done;
        }
    }
    out->type = type;
    out->ndim = ndim;
    memcpy(out->dims, dims, sizeof dims);
    out->dims[0] = rows;
    out->rows_in_file = dims[0];
    out->n = n;
    out->data = data;
    data = NULL;
done:
    free(data);
    gzclose_r(g); /* closes fd */
    return st;
}

siren_status siren_idx_load(const char *path, size_t max_values, siren_idx *out) {
    return idx_read(path, max_values, 0, out);
}

siren_status siren_idx_load_head(const char *path, size_t max_values, size_t max_rows,
                                 siren_idx *out) {
    return idx_read(path, max_values, max_rows, out);
}

/* ------------------------------------------------------------- writer */

siren_status siren_idx_write(const char *path, int type, int ndim, const size_t *dims,
                             const float *data) {
    const size_t len = strlen(path);
    if (type != SIREN_IDX_U8 && type != SIREN_IDX_F32)
        return siren_fail(SIREN_EINVAL, "%s: the IDX writer takes type 0x08 (uint8) or "
                          "0x0D (float32), not 0x%02x", path, (unsigned)type);
    if (len >= 3 && !strcasecmp(path + len - 3, ".gz"))
        return siren_fail(SIREN_EINVAL, "%s: the IDX writer does not compress; write "
                          "the plain file and gzip it", path);
    if (ndim < 1 || ndim > SIREN_IDX_MAX_DIMS || !dims)
        return siren_fail(SIREN_EINVAL, "%s: %d dimensions; 1 to %d are supported", path,
                          ndim, SIREN_IDX_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 1 || dims[i] > UINT32_MAX || !siren_mul_size(n, dims[i], &n))
            return siren_fail(SIREN_EINVAL, "%s: dimension %d is %zu; 1 to 2^32 - 1 "
                              "(and a product that fits a size) allowed", path, i + 1,
                              dims[i]);
    }
    if (!data) return siren_fail(SIREN_EINVAL, "%s: no data", path);
    for (size_t i = 0; i < n; i++) {
        const float v = data[i];
        if (type == SIREN_IDX_U8 ? !(v >= 0 && v <= 255 && v == floorf(v)) : !isfinite(v))
            return siren_fail(SIREN_EINVAL, "%s: value %zu (%g) is not %s", path, i, v,
                              type == SIREN_IDX_U8 ? "an integer in [0, 255]" : "finite");
    }
    FILE *f;
    char *tmp;
    siren_status st = siren_atomic_open(path, &f, &tmp);
    if (st) return st;
    unsigned char buf[4096];
    buf[0] = buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++) buf[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    fwrite(buf, 1, 4 + 4 * (size_t)ndim, f);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (type == SIREN_IDX_U8) {
            buf[k++] = (unsigned char)data[i];
        } else {
            uint32_t u;
            memcpy(&u, &data[i], 4);
            for (int b = 0; b < 4; b++) buf[k++] = (unsigned char)(u >> (24 - 8 * b));
        }
        if (k == sizeof buf) {
            fwrite(buf, 1, k, f);
            k = 0;
        }
    }
    if (k) fwrite(buf, 1, k, f);
    return siren_atomic_commit(path, f, tmp);
}

/* ------------------------------------------------------- Fashion-MNIST */

/* dir/stem if it exists, else dir/stem.gz if that does; malloc'ed. */
static siren_status find_file(const char *dir, const char *stem, char **out) {
    const size_t len = strlen(dir) + strlen(stem) + 5;
    char *p = malloc(len);
    *out = NULL;
    if (!p) return siren_fail(SIREN_ENOMEM, "%s: out of memory", dir);
    snprintf(p, len, "%s/%s", dir, stem);
    if (access(p, F_OK) == 0) {
        *out = p;
        return SIREN_OK;
    }
    snprintf(p, len, "%s/%s.gz", dir, stem);
    if (access(p, F_OK) == 0) {
        *out = p;
        return SIREN_OK;
    }
    free(p);
    return siren_fail(SIREN_EIO, "%s: neither %s nor %s.gz found (Debian's "
                      "dataset-fashion-mnist installs them in " SIREN_FASHION_MNIST_DIR ")",
                      dir, stem, stem);
}

siren_status siren_fashion_mnist_load(const char *dir, int test_split, size_t max_images,
                                      float **images, uint8_t **labels, size_t *n) {
    *images = NULL;
    *labels = NULL;
    *n = 0;
    const char *split = test_split ? "t10k" : "train";
    char stem[64], *ipath = NULL, *lpath = NULL;
    siren_idx img = {0}, lab = {0};
    uint8_t *l8 = NULL;
    siren_status st;
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", split);
    if ((st = find_file(dir, stem, &lpath))) goto fail;
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", split);
    if ((st = find_file(dir, stem, &ipath))) goto fail;
    /* the labels first: small, and their count is checked before the
     * images' tens of megabytes are decoded */
    if ((st = siren_idx_load_head(lpath, 0, max_images, &lab))) goto fail;
    if (lab.type != SIREN_IDX_U8 || lab.ndim != 1) {
        st = siren_fail(SIREN_EFORMAT, "%s: labels must be uint8 with 1 dimension, not %s "
                        "with %d", lpath, type_name(lab.type), lab.ndim);
        goto fail;
    }
    for (size_t i = 0; i < lab.n; i++)
        if (lab.data[i] > 9) {
            st = siren_fail(SIREN_EFORMAT, "%s: label %zu is %g; 0 to 9 expected", lpath, i,
                            lab.data[i]);
            goto fail;
        }
    if ((st = siren_idx_load_head(ipath, 0, max_images, &img))) goto fail;
    if (img.type != SIREN_IDX_U8 || img.ndim != 3 || img.dims[1] != 28 || img.dims[2] != 28) {
        char ds[128];
        st = siren_fail(SIREN_EFORMAT, "%s: images must be uint8 N x 28 x 28, not %s %s",
                        ipath, type_name(img.type),
                        dims_str(ds, sizeof ds, img.ndim, img.dims));
        goto fail;
    }
    if (img.rows_in_file != lab.rows_in_file) {
        st = siren_fail(SIREN_EFORMAT, "%s: %zu images, but %s has %zu labels", ipath,
                        img.rows_in_file, lpath, lab.rows_in_file);
        goto fail;
    }
    if (!(l8 = malloc(lab.n))) {
        st = siren_fail(SIREN_ENOMEM, "%s: out of memory", lpath);
        goto fail;
    }
    for (size_t i = 0; i < lab.n; i++) l8[i] = (uint8_t)lab.data[i];
    for (size_t i = 0; i < img.n; i++) img.data[i] /= 255.0f;
    *images = img.data;
    *labels = l8;
    *n = img.dims[0];
    img.data = NULL;
    l8 = NULL;
fail:
    siren_idx_free(&img);
    siren_idx_free(&lab);
    free(l8);
    free(ipath);
    free(lpath);
    return st;
}

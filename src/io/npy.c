/* NumPy .npy writer: format 1.0, '<f4', C order, written atomically. The
 * header is padded with spaces so the data starts at a multiple of 64 bytes
 * (what numpy itself does, for aligned memory mapping). Reading .npy is left
 * to the tests and to Python. */
#include <stdint.h>
#include <string.h>

#include "io/atomic.h"
#include "util/error.h"

/* float32 as 4 little-endian bytes whatever the host's byte order. */
static void write_le_floats(FILE *fp, const float *data, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    fwrite(data, sizeof *data, n, fp);
#else
    uint8_t buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        buf[k++] = (uint8_t)u;
        buf[k++] = (uint8_t)(u >> 8);
        buf[k++] = (uint8_t)(u >> 16);
        buf[k++] = (uint8_t)(u >> 24);
        if (k == sizeof buf) {
            fwrite(buf, 1, k, fp);
            k = 0;
        }
    }
    if (k) fwrite(buf, 1, k, fp);
#endif
}

siren_status siren_npy_write(const char *path, const float *data, int ndim,
                             const size_t *shape) {
    char header[65536 + 64];
    size_t len, total = 1, start;
    FILE *fp;
    char *tmp;
    siren_status st;

    SIREN_ASSERT(path);
    if (ndim < 0 || (ndim > 0 && !shape))
        return siren_fail(SIREN_EINVAL, "%s: bad array rank %d", path, ndim);
    for (int i = 0; i < ndim; i++)
        if (!siren_mul_size(total, shape[i], &total) || total > SIZE_MAX / 4)
            return siren_fail(SIREN_EINVAL, "%s: array too large", path);
    if (total > 0 && !data)
        return siren_fail(SIREN_EINVAL, "%s: no data to write", path);

    /* magic, version 1.0, 2-byte header length, then the dict text */
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    len = 10;
    len += (size_t)snprintf(header + len, sizeof header - len,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++) {
        if (len > 65536) break; /* caught below */
        len += (size_t)snprintf(header + len, sizeof header - len,
                                i == 0 ? "%zu" : ", %zu", shape[i]);
    }
    if (len <= 65536)
        len += (size_t)snprintf(header + len, sizeof header - len, "%s), }",
                                ndim == 1 ? "," : "");
    start = (len + 1 + 63) / 64 * 64; /* +1 for the final '\n' */
    if (start - 10 > 65535)
        return siren_fail(SIREN_EINVAL, "%s: %d dimensions do not fit a .npy "
                          "version 1.0 header", path, ndim);
    memset(header + len, ' ', start - 1 - len);
    header[start - 1] = '\n';
    header[8] = (char)((start - 10) & 0xFF);
    header[9] = (char)((start - 10) >> 8);

    st = siren_atomic_open(path, &fp, &tmp);
    if (st != SIREN_OK) return st;
    fwrite(header, 1, start, fp);
    if (total > 0) write_le_floats(fp, data, total);
    return siren_atomic_commit(path, fp, tmp);
}

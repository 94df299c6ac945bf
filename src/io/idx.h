/* IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed
 * (internal to libsiren: the hypernetwork task reads datasets through it).
 *
 * The format, byte by byte:
 *   offset 0  0x00 0x00             magic
 *   offset 2  type                  0x08 uint8, 0x09 int8, 0x0B int16,
 *                                   0x0C int32, 0x0D float32, 0x0E float64
 *   offset 3  ndim                  number of dimensions (1 to 4 here)
 *   offset 4  ndim x uint32         the dimensions, big-endian, slowest first
 *   then      prod(dims) values     big-endian, C order, nothing after them
 *
 * A file whose first two bytes are gzip's (0x1f 0x8b) is decompressed on the
 * fly by zlib; anything else is read as is. Every value arrives as a float
 * (int32 above 2^24 loses precision; float64 must fit a float). */
#ifndef SIREN_IO_IDX_H
#define SIREN_IO_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "siren.h"

enum {
    SIREN_IDX_U8 = 0x08,
    SIREN_IDX_I8 = 0x09,
    SIREN_IDX_I16 = 0x0B,
    SIREN_IDX_I32 = 0x0C,
    SIREN_IDX_F32 = 0x0D,
    SIREN_IDX_F64 = 0x0E
};

#define SIREN_IDX_MAX_DIMS 4
/* The default limit on the values one load may return: 2^28 (1 GiB of
 * floats); the Fashion-MNIST training images are 47 M. */
#define SIREN_IDX_MAX_VALUES ((size_t)1 << 28)

typedef struct {
    int type;                        /* SIREN_IDX_*, as stored in the file */
    int ndim;                        /* 1 to SIREN_IDX_MAX_DIMS */
    size_t dims[SIREN_IDX_MAX_DIMS]; /* as loaded; those past ndim are 1 */
    size_t rows_in_file;             /* dims[0] as the header declares it */
    size_t n;                        /* values in data: the product of dims */
    float *data;                     /* n floats, C order; siren_idx_free */
} siren_idx;

/* Read a whole IDX file (plain or .gz; the contents decide, not the name).
 * max_values caps the product of the dimensions (0: SIREN_IDX_MAX_VALUES);
 * more is SIREN_ELIMIT, checked before anything is allocated, as is a
 * header that declares more data than the file could hold (a plain file:
 * its size exactly; a gzip file: 1032 bytes per compressed byte, deflate's
 * best ratio). Refused with SIREN_EFORMAT: a bad magic, an unknown type,
 * 0 or more than 4 dimensions, a dimension of 0, data that ends early,
 * a corrupt gzip stream (zlib's message), NaN or infinite floats, float64
 * values beyond float range, and trailing data: the decompressed contents
 * must end with the last value (bytes after a gzip stream that are not
 * another gzip member are ignored, as gzip(1) does). On failure *out is
 * empty (all zero) and siren_last_error() names the file and the problem. */
siren_status siren_idx_load(const char *path, size_t max_values, siren_idx *out);

/* The same, keeping only the first max_rows entries of dimension 0 (0: all
 * of them); out->rows_in_file still says how many the header declares. A
 * plain file is checked against its size as a whole; of a gzip file only
 * what is read is decompressed, so damage past it goes unseen. max_values
 * caps what is loaded. */
siren_status siren_idx_load_head(const char *path, size_t max_values, size_t max_rows,
                                 siren_idx *out);

void siren_idx_free(siren_idx *x);

/* Write an uncompressed IDX file (atomically) of type SIREN_IDX_U8 (every
 * value an integer in [0, 255]) or SIREN_IDX_F32 (every value finite), with
 * 1 to 4 dimensions of 1 to 2^32 - 1 each. A path ending in .gz is refused:
 * this writer does not compress. */
siren_status siren_idx_write(const char *path, int type, int ndim, const size_t *dims,
                             const float *data);

/* Fashion-MNIST (or MNIST) from dir: train-images-idx3-ubyte and
 * train-labels-idx1-ubyte (test_split 0) or t10k-images-idx3-ubyte and
 * t10k-labels-idx1-ubyte (test_split 1), each plain or with .gz appended
 * (the plain file is used when both exist). Debian's dataset-fashion-mnist
 * installs the .gz files in SIREN_FASHION_MNIST_DIR. Images must be uint8
 * (N, 28, 28), labels uint8 (N) in 0..9, with the same N. Loads the first
 * max_images (0: all) into *images, (n, 28, 28) floats in [0, 1] (pixel /
 * 255), and *labels, n bytes; free both with free(). On failure both are
 * NULL and *n is 0. */
#define SIREN_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
siren_status siren_fashion_mnist_load(const char *dir, int test_split, size_t max_images,
                                      float **images, uint8_t **labels, size_t *n);

#endif

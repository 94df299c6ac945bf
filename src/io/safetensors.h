/* safetensors files: read and write named F32/F64 tensors plus string
 * metadata. Knows nothing about networks; src/net/ maps its parameters to
 * tensor names and its config to metadata.
 *
 * The format (https://github.com/huggingface/safetensors), byte by byte:
 *
 *     u64 N            little-endian length of the header
 *     N bytes          UTF-8 JSON object, padded with spaces (here to a
 *                      multiple of 8 so the data section starts aligned):
 *                      { "__metadata__": {"key": "value", ...},
 *                        "NAME": {"dtype": "F32", "shape": [2, 3],
 *                                 "data_offsets": [BEGIN, END]}, ... }
 *     data section     raw little-endian tensor data; offsets are relative
 *                      to its start, and the tensors cover it exactly, with
 *                      neither holes nor overlaps.
 *
 * The reader treats files as untrusted: every size, offset and string is
 * checked before use, and a failure returns a status with a message that
 * starts with the file's path.
 */
#ifndef SIREN_IO_SAFETENSORS_H
#define SIREN_IO_SAFETENSORS_H

#include <stdint.h>

#include "siren.h"

/* Largest header a reader accepts (the safetensors implementation's). */
#define SIREN_ST_MAX_HEADER ((uint64_t)100000000)
#define SIREN_ST_MAX_DIMS 8

typedef enum { SIREN_DT_F32 = 0, SIREN_DT_F64 = 1 } siren_dtype;

typedef struct {
    const char *name;
    siren_dtype dtype;
    int ndim;                         /* 0..8; 0 is a scalar of 1 element */
    int64_t shape[SIREN_ST_MAX_DIMS];
    const void *data;                 /* product(shape) * dtype size bytes,
                                         little-endian host data */
} siren_st_tensor;

/* A file read into memory: owns every name, value and data buffer. */
typedef struct siren_st_file siren_st_file;

/* Write n_tensors tensors in the order given, with n_meta key/value string
 * pairs under "__metadata__" (omitted when n_meta is 0). Names and metadata
 * must be valid UTF-8 and unique. The file is written to path.tmp.XXXXXX,
 * synced and renamed onto path: on failure nothing is left behind. */
siren_status siren_st_write(const char *path, const siren_st_tensor *t,
                            int n_tensors, const char *const *meta_keys,
                            const char *const *meta_values, int n_meta);

/* Read and check a whole file. On success *out is to be freed with
 * siren_st_free; on failure *out is NULL. Tensors keep the header's order;
 * each one's data sits in its own 64-byte aligned buffer. */
siren_status siren_st_read(const char *path, siren_st_file **out);

int siren_st_count(const siren_st_file *f);
const siren_st_tensor *siren_st_at(const siren_st_file *f, int i);
/* NULL when the file has no tensor of that name. */
const siren_st_tensor *siren_st_find(const siren_st_file *f,
                                     const char *name);
/* NULL when the file has no metadata entry of that key. */
const char *siren_st_meta(const siren_st_file *f, const char *key);
int siren_st_meta_count(const siren_st_file *f);
void siren_st_meta_at(const siren_st_file *f, int i, const char **key,
                      const char **value);
void siren_st_free(siren_st_file *f);

/* Bytes per element of a dtype. */
static inline size_t siren_dtype_size(siren_dtype dt) {
    return dt == SIREN_DT_F64 ? 8 : 4;
}

#endif

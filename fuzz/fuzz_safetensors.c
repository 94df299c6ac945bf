/* libFuzzer target: the safetensors reader (src/io/safetensors.c) and the
 * model loader built on it (src/io/model.c), both on the same bytes. What
 * either accepts must be self-consistent and survive a write and a re-read
 * unchanged; what they refuse must come back as a status, never a crash.
 * The readers take paths, so the input goes through a scratch file. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "io/safetensors.h"
#include "siren.h"

/* Bytes of tensor data a header entry stands for. */
static size_t tensor_bytes(const siren_st_tensor *t) {
    size_t n = siren_dtype_size(t->dtype);
    for (int k = 0; k < t->ndim; k++) n *= (size_t)t->shape[k];
    return n;
}

/* The same tensors and metadata, in the same order, with the same bytes. */
static void same_file(const siren_st_file *a, const siren_st_file *b) {
    FUZZ_CHECK(siren_st_count(a) == siren_st_count(b));
    for (int i = 0; i < siren_st_count(a); i++) {
        const siren_st_tensor *x = siren_st_at(a, i), *y = siren_st_at(b, i);
        FUZZ_CHECK(strcmp(x->name, y->name) == 0);
        FUZZ_CHECK(x->dtype == y->dtype && x->ndim == y->ndim);
        FUZZ_CHECK(memcmp(x->shape, y->shape, (size_t)x->ndim * sizeof x->shape[0]) == 0);
        size_t n = tensor_bytes(x);
        FUZZ_CHECK(n == 0 || memcmp(x->data, y->data, n) == 0);
    }
    FUZZ_CHECK(siren_st_meta_count(a) == siren_st_meta_count(b));
    for (int i = 0; i < siren_st_meta_count(a); i++) {
        const char *k, *v, *w;
        siren_st_meta_at(a, i, &k, &v);
        w = siren_st_meta(b, k);
        FUZZ_CHECK(w && strcmp(v, w) == 0);
    }
}

static void check_st(const char *path) {
    siren_st_file *f = NULL, *g = NULL;
    if (siren_st_read(path, &f) != SIREN_OK) {
        FUZZ_CHECK(f == NULL && siren_last_error()[0]);
        return;
    }
    int n = siren_st_count(f), nm = siren_st_meta_count(f);
    FUZZ_CHECK(n >= 0 && nm >= 0);
    siren_st_tensor *t = calloc((size_t)n + 1, sizeof *t);
    const char **keys = calloc((size_t)nm + 1, sizeof *keys);
    const char **vals = calloc((size_t)nm + 1, sizeof *vals);
    FUZZ_CHECK(t && keys && vals);
    for (int i = 0; i < n; i++) {
        const siren_st_tensor *x = siren_st_at(f, i);
        FUZZ_CHECK(x->name && siren_st_find(f, x->name) == x);
        FUZZ_CHECK(x->dtype == SIREN_DT_F32 || x->dtype == SIREN_DT_F64);
        FUZZ_CHECK(x->ndim >= 0 && x->ndim <= SIREN_ST_MAX_DIMS);
        FUZZ_CHECK(x->data && (uintptr_t)x->data % 64 == 0);
        /* touch every byte the entry claims, so ASan sees any overrun */
        size_t nb = tensor_bytes(x);
        volatile uint8_t sum = 0;
        for (size_t b = 0; b < nb; b++) sum ^= ((const uint8_t *)x->data)[b];
        (void)sum;
        t[i] = *x;
    }
    for (int i = 0; i < nm; i++) {
        siren_st_meta_at(f, i, &keys[i], &vals[i]);
        FUZZ_CHECK(keys[i] && vals[i] && siren_st_meta(f, keys[i]) == vals[i]);
    }
    /* What was read is written back as is and read back the same. */
    const char *copy = fuzz_out_path("copy.safetensors");
    FUZZ_CHECK(siren_st_write(copy, t, n, keys, vals, nm) == SIREN_OK);
    FUZZ_CHECK(siren_st_read(copy, &g) == SIREN_OK);
    same_file(f, g);
    siren_st_free(g);
    free(t);
    free(keys);
    free(vals);
    siren_st_free(f);
}

static void check_model(const char *path) {
    siren_net *net = NULL, *again = NULL;
    if (siren_net_load(path, &net) != SIREN_OK) {
        FUZZ_CHECK(net == NULL && siren_last_error()[0]);
        return;
    }
    size_t np = siren_net_param_count(net);
    const float *p = siren_net_params(net);
    for (size_t i = 0; i < np; i++) FUZZ_CHECK(isfinite(p[i]));
    for (int i = 0; i < siren_net_meta_count(net); i++) {
        const char *k, *v;
        siren_net_meta_at(net, i, &k, &v);
        FUZZ_CHECK(k && v && siren_net_get_meta(net, k) == v);
    }
    /* A loaded model saves and loads back to the same network. */
    const char *copy = fuzz_out_path("model.safetensors");
    FUZZ_CHECK(siren_net_save(net, copy) == SIREN_OK);
    FUZZ_CHECK(siren_net_load(copy, &again) == SIREN_OK);
    FUZZ_CHECK(siren_net_param_count(again) == np);
    FUZZ_CHECK(memcmp(siren_net_config(again), siren_net_config(net),
                      sizeof(siren_config)) == 0);
    FUZZ_CHECK(np == 0 || memcmp(siren_net_params(again), p, np * sizeof *p) == 0);
    siren_net_free(again);
    siren_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("input.safetensors", data, size);
    check_st(path);
    check_model(path);
    return 0;
}

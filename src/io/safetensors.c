/* safetensors reader and writer (format in safetensors.h). The reader
 * checks everything a hostile file could get wrong before it allocates or
 * copies; the writer goes through io/atomic.h's temporary file and rename,
 * so a crash never leaves half a model. Networks and their metadata keys
 * are src/net/'s and src/io/model.c's business. */
#include "io/safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "io/atomic.h"
#include "util/error.h"

/* Tensor data is copied as is, so the host must share the file's byte
 * order. Every platform we build for is little-endian; a big-endian port
 * would swap here. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors.c assumes a little-endian host");

/* Offsets are JSON numbers, which cJSON holds as doubles: beyond 2^53 they
 * would no longer be exact, so neither side accepts them. */
#define MAX_EXACT ((uint64_t)1 << 53)
#define DATA_ALIGN 64
#define META_KEY "__metadata__"

struct siren_st_file {
    int n;
    siren_st_tensor *t;
    char **names;  /* t[i].name, owned */
    void **bufs;   /* t[i].data, owned */
    int n_meta;
    char **keys, **values;
};

/* ------------------------------------------------------------- helpers */

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF). Raw control bytes other than tab, newline and carriage
 * return are refused unless allow_ctl: JSON forbids them in a header,
 * while the writer accepts them in strings because cJSON escapes them. */
static int utf8_valid(const unsigned char *s, size_t n, int allow_ctl) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], cp;
        size_t len;
        if (c < 0x80) {
            if (c < 0x20 && !allow_ctl && c != '\t' && c != '\n' && c != '\r')
                return 0;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (cp >= 0xD800 && cp <= 0xDFFF) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += len;
    }
    return 1;
}

/* 1 when a JSON string in s[0..n) contains the escape \u0000: cJSON would
 * silently cut the C string there, so "a\u0000b" would pass for "a". */
static int has_nul_escape(const char *s, size_t n) {
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_str) {
            in_str = s[i] == '"';
        } else if (s[i] == '"') {
            in_str = 0;
        } else if (s[i] == '\\') {
            if (n - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
                return 1;
            i++; /* the escaped character cannot end the string */
        }
    }
    return 0;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_u64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= 0) || d >= (double)MAX_EXACT || (double)(uint64_t)d != d)
        return 0;
    *out = (uint64_t)d;
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name that occurs twice in names[0..n) (sorted in place), or
 * NULL. Sorting keeps this O(n log n) for headers with a million keys. */
static const char *find_duplicate(const char **names, size_t n) {
    if (n < 2)
        return NULL;
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return names[i];
    return NULL;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---------------------------------------------------------------- reader */

typedef struct {
    uint64_t begin, end;
    int idx;          /* position in the header */
    const char *name; /* owned by the parsed JSON */
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* Check one tensor entry of the header and fill t (name and data left to
 * the caller) and its byte span. */
static siren_status parse_entry(const char *path, const cJSON *e,
                                siren_st_tensor *t, span *sp) {
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": entry is not a "
                          "JSON object", path, name);

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": missing or "
                          "non-string \"dtype\"", path, name);
    if (strcmp(dt->valuestring, "F32") == 0)
        t->dtype = SIREN_DT_F32;
    else if (strcmp(dt->valuestring, "F64") == 0)
        t->dtype = SIREN_DT_F64;
    else
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": unsupported "
                          "dtype \"%s\" (only F32 and F64 are read)", path,
                          name, dt->valuestring);

    if (!cJSON_IsArray(shape))
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": missing or "
                          "non-array \"shape\"", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > SIREN_ST_MAX_DIMS)
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": %d dimensions, "
                          "at most %d are supported", path, name, ndim,
                          SIREN_ST_MAX_DIMS);
    t->ndim = ndim;
    size_t count = 1;
    int k = 0;
    for (const cJSON *d = shape->child; d; d = d->next, k++) {
        uint64_t v;
        if (cJSON_IsNumber(d) && d->valuedouble < 0)
            return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": negative "
                              "dimension %g in its shape", path, name,
                              d->valuedouble);
        if (!json_u64(d, &v))
            return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": shape entry "
                              "%d is not an integer below 2^53", path, name,
                              k);
        if (!siren_mul_size(count, (size_t)v, &count))
            return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": shape "
                              "overflows the address space", path, name);
        t->shape[k] = (int64_t)v;
    }
    size_t nbytes;
    if (!siren_mul_size(count, siren_dtype_size(t->dtype), &nbytes))
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": shape "
                          "overflows the address space", path, name);

    uint64_t b, en;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_u64(offs->child, &b) || !json_u64(offs->child->next, &en))
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": \"data_offsets\" "
                          "is not a pair of non-negative integers", path,
                          name);
    if (b > en)
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": data_offsets "
                          "[%llu, %llu] end before they begin", path, name,
                          (unsigned long long)b, (unsigned long long)en);
    if (en - b != nbytes)
        return siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\": data_offsets "
                          "[%llu, %llu] hold %llu bytes, its shape and dtype "
                          "need %zu", path, name, (unsigned long long)b,
                          (unsigned long long)en,
                          (unsigned long long)(en - b), nbytes);
    sp->begin = b;
    sp->end = en;
    return SIREN_OK;
}

/* Check "__metadata__" and copy its pairs into f. */
static siren_status parse_meta(const char *path, const cJSON *m,
                               siren_st_file *f) {
    if (!cJSON_IsObject(m))
        return siren_fail(SIREN_EFORMAT, "%s: \"__metadata__\" is not a JSON "
                          "object", path);
    int n = cJSON_GetArraySize(m);
    const char **keys = malloc(((size_t)n + 1) * sizeof *keys);
    f->keys = calloc((size_t)n + 1, sizeof *f->keys);
    f->values = calloc((size_t)n + 1, sizeof *f->values);
    if (!keys || !f->keys || !f->values) {
        free(keys);
        return siren_fail(SIREN_ENOMEM, "%s: out of memory for metadata",
                          path);
    }
    int i = 0;
    for (const cJSON *e = m->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e)) {
            free(keys);
            return siren_fail(SIREN_EFORMAT, "%s: metadata \"%s\": value is "
                              "not a string", path, e->string);
        }
        keys[i] = e->string;
    }
    const char *dup = find_duplicate(keys, (size_t)n);
    if (dup) {
        siren_status st = siren_fail(SIREN_EFORMAT, "%s: metadata key \"%s\" "
                                     "appears twice", path, dup);
        free(keys);
        return st;
    }
    free(keys);
    for (const cJSON *e = m->child; e; e = e->next) {
        f->keys[f->n_meta] = dup_str(e->string);
        f->values[f->n_meta] = dup_str(e->valuestring);
        f->n_meta++; /* counted before the check so free sees both */
        if (!f->keys[f->n_meta - 1] || !f->values[f->n_meta - 1])
            return siren_fail(SIREN_ENOMEM, "%s: out of memory for metadata",
                              path);
    }
    return SIREN_OK;
}

siren_status siren_st_read(const char *path, siren_st_file **out) {
    SIREN_ASSERT(path && out);
    *out = NULL;
    siren_status st = SIREN_OK;
    FILE *fp = NULL;
    char *hdr = NULL;
    cJSON *root = NULL;
    span *spans = NULL;
    const char **names = NULL;
    siren_st_file *f = NULL;

    fp = fopen(path, "rb");
    if (!fp) {
        st = siren_fail(SIREN_EIO, "%s: cannot open: %s", path,
                        strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        st = siren_fail(SIREN_EIO, "%s: cannot stat: %s", path,
                        strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = siren_fail(SIREN_EIO, "%s: not a regular file", path);
        goto fail;
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    if (fsize < 8) {
        st = siren_fail(SIREN_EFORMAT, "%s: truncated file: %llu bytes, a "
                        "safetensors file starts with an 8-byte header "
                        "length", path, (unsigned long long)fsize);
        goto fail;
    }
    unsigned char lenbuf[8];
    if (fread(lenbuf, 1, 8, fp) != 8) {
        st = siren_fail(SIREN_EIO, "%s: read error", path);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | lenbuf[i];
    if (hlen > SIREN_ST_MAX_HEADER) {
        st = siren_fail(SIREN_ELIMIT, "%s: header of %llu bytes exceeds the "
                        "limit of %llu (the safetensors format's own)", path,
                        (unsigned long long)hlen,
                        (unsigned long long)SIREN_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > fsize - 8) {
        st = siren_fail(SIREN_EFORMAT, "%s: truncated file: header says %llu "
                        "bytes of header, file has %llu after the length",
                        path, (unsigned long long)hlen,
                        (unsigned long long)(fsize - 8));
        goto fail;
    }
    uint64_t data_len = fsize - 8 - hlen;

    hdr = malloc((size_t)hlen + 1);
    if (!hdr) {
        st = siren_fail(SIREN_ENOMEM, "%s: out of memory for a %llu-byte "
                        "header", path, (unsigned long long)hlen);
        goto fail;
    }
    if (fread(hdr, 1, (size_t)hlen, fp) != (size_t)hlen) {
        st = siren_fail(SIREN_EIO, "%s: read error in the header", path);
        goto fail;
    }
    hdr[hlen] = '\0';
    if (!utf8_valid((const unsigned char *)hdr, (size_t)hlen, 0)) {
        st = siren_fail(SIREN_EFORMAT, "%s: header is not UTF-8 JSON text",
                        path);
        goto fail;
    }
    if (has_nul_escape(hdr, (size_t)hlen)) {
        st = siren_fail(SIREN_EFORMAT, "%s: header has a string with a NUL "
                        "character", path);
        goto fail;
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root) {
        st = siren_fail(SIREN_EFORMAT, "%s: header is not valid JSON", path);
        goto fail;
    }
    for (; end < hdr + hlen; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            st = siren_fail(SIREN_EFORMAT, "%s: header has text after its "
                            "JSON object", path);
            goto fail;
        }
    }
    if (!cJSON_IsObject(root)) {
        st = siren_fail(SIREN_EFORMAT, "%s: header is JSON but not an object",
                        path);
        goto fail;
    }

    f = calloc(1, sizeof *f);
    if (!f) {
        st = siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    int nent = cJSON_GetArraySize(root);
    const cJSON *meta = NULL;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, META_KEY) == 0) {
            if (meta) {
                st = siren_fail(SIREN_EFORMAT, "%s: \"__metadata__\" appears "
                                "twice", path);
                goto fail;
            }
            meta = e;
        }
    }
    int n = nent - (meta != NULL);
    f->t = calloc((size_t)n + 1, sizeof *f->t);
    f->names = calloc((size_t)n + 1, sizeof *f->names);
    f->bufs = calloc((size_t)n + 1, sizeof *f->bufs);
    spans = malloc(((size_t)n + 1) * sizeof *spans);
    names = malloc(((size_t)n + 1) * sizeof *names);
    if (!f->t || !f->names || !f->bufs || !spans || !names) {
        st = siren_fail(SIREN_ENOMEM, "%s: out of memory for %d tensors",
                        path, n);
        goto fail;
    }

    int i = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (e == meta)
            continue;
        st = parse_entry(path, e, &f->t[i], &spans[i]);
        if (st != SIREN_OK)
            goto fail;
        spans[i].idx = i;
        spans[i].name = e->string;
        names[i] = e->string;
        i++;
    }
    const char *dup = find_duplicate(names, (size_t)n);
    if (dup) {
        st = siren_fail(SIREN_EFORMAT, "%s: tensor \"%s\" appears twice",
                        path, dup);
        goto fail;
    }
    if (meta && (st = parse_meta(path, meta, f)) != SIREN_OK)
        goto fail;

    /* The tensors must tile the data section exactly: sorted by offset,
     * each begins where the previous one ended and the last one ends at
     * the end of the file. */
    qsort(spans, (size_t)n, sizeof *spans, cmp_span);
    uint64_t last = 0;
    for (int j = 0; j < n; j++)
        last = spans[j].end > last ? spans[j].end : last;
    if (last > data_len) {
        st = siren_fail(SIREN_EFORMAT, "%s: truncated file: header says %llu "
                        "bytes of tensor data, file has %llu", path,
                        (unsigned long long)last,
                        (unsigned long long)data_len);
        goto fail;
    }
    uint64_t pos = 0;
    for (int j = 0; j < n; j++) {
        const span *s = &spans[j];
        if (s->begin < pos) {
            st = siren_fail(SIREN_EFORMAT, "%s: tensors \"%s\" and \"%s\" "
                            "overlap in the data section", path,
                            spans[j - 1].name, s->name);
            goto fail;
        }
        if (s->begin > pos) {
            st = siren_fail(SIREN_EFORMAT, "%s: bytes %llu to %llu of the data "
                            "section belong to no tensor (hole before \"%s\")",
                            path, (unsigned long long)pos,
                            (unsigned long long)s->begin, s->name);
            goto fail;
        }
        pos = s->end;
    }
    if (pos < data_len) {
        st = siren_fail(SIREN_EFORMAT, "%s: %llu bytes after the last tensor "
                        "belong to no tensor", path,
                        (unsigned long long)(data_len - pos));
        goto fail;
    }

    /* Names and buffers, then the data in file order: one sequential pass. */
    i = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (e == meta)
            continue;
        f->names[i] = dup_str(e->string);
        f->n = i + 1; /* from here on siren_st_free releases entry i */
        if (!f->names[i]) {
            st = siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        f->t[i].name = f->names[i];
        i++;
    }
    for (int j = 0; j < n; j++) {
        int idx = spans[j].idx;
        size_t nbytes = (size_t)(spans[j].end - spans[j].begin), cap;
        if (!siren_add_size(nbytes, DATA_ALIGN, &cap)) {
            st = siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        cap -= cap % DATA_ALIGN; /* a non-zero multiple of the alignment */
        f->bufs[idx] = aligned_alloc(DATA_ALIGN, cap);
        if (!f->bufs[idx]) {
            st = siren_fail(SIREN_ENOMEM, "%s: out of memory for %zu bytes of "
                            "tensor \"%s\"", path, nbytes, f->names[idx]);
            goto fail;
        }
        f->t[idx].data = f->bufs[idx];
        if (nbytes && fread(f->bufs[idx], 1, nbytes, fp) != nbytes) {
            st = siren_fail(ferror(fp) ? SIREN_EIO : SIREN_EFORMAT,
                            "%s: %s while reading tensor \"%s\"", path,
                            ferror(fp) ? "read error" : "file shrank",
                            f->names[idx]);
            goto fail;
        }
    }

    fclose(fp);
    cJSON_Delete(root);
    free(hdr);
    free(spans);
    free(names);
    *out = f;
    return SIREN_OK;

fail:
    if (fp)
        fclose(fp);
    cJSON_Delete(root);
    free(hdr);
    free(spans);
    free(names);
    siren_st_free(f);
    return st;
}

int siren_st_count(const siren_st_file *f) { return f->n; }

const siren_st_tensor *siren_st_at(const siren_st_file *f, int i) {
    SIREN_ASSERT(i >= 0 && i < f->n);
    return &f->t[i];
}

const siren_st_tensor *siren_st_find(const siren_st_file *f,
                                     const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return &f->t[i];
    return NULL;
}

const char *siren_st_meta(const siren_st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->keys[i], key) == 0)
            return f->values[i];
    return NULL;
}

int siren_st_meta_count(const siren_st_file *f) { return f->n_meta; }

void siren_st_meta_at(const siren_st_file *f, int i, const char **key,
                      const char **value) {
    SIREN_ASSERT(i >= 0 && i < f->n_meta);
    if (key)
        *key = f->keys[i];
    if (value)
        *value = f->values[i];
}

void siren_st_free(siren_st_file *f) {
    if (!f)
        return;
    for (int i = 0; i < f->n; i++) {
        free(f->names[i]);
        free(f->bufs[i]);
    }
    for (int i = 0; i < f->n_meta; i++) {
        free(f->keys[i]);
        free(f->values[i]);
    }
    free(f->t);
    free(f->names);
    free(f->bufs);
    free(f->keys);
    free(f->values);
    free(f);
}

/* ---------------------------------------------------------------- writer */

/* Append v to a JSON array; 0 when out of memory. */
static int add_number(cJSON *arr, uint64_t v) {
    cJSON *num = cJSON_CreateNumber((double)v);
    return num && cJSON_AddItemToArray(arr, num);
}

/* Check the arguments and build the header JSON (unpadded) in *json, to be
 * released with cJSON_free. */
static siren_status build_header(const char *path, const siren_st_tensor *t,
                                 int n, const char *const *keys,
                                 const char *const *values, int n_meta,
                                 char **json) {
    siren_status st = SIREN_OK;
    cJSON *root = NULL;
    const char **names = malloc(((size_t)(n > n_meta ? n : n_meta) + 1) *
                                sizeof *names);
    if (!names)
        return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);

    for (int i = 0; i < n_meta; i++) {
        if (!keys[i] || !values[i] ||
            !utf8_valid((const unsigned char *)keys[i], strlen(keys[i]), 1) ||
            !utf8_valid((const unsigned char *)values[i], strlen(values[i]),
                        1)) {
            st = siren_fail(SIREN_EINVAL, "%s: metadata entry %d is missing "
                            "or not UTF-8", path, i);
            goto done;
        }
        names[i] = keys[i];
    }
    const char *dup = find_duplicate(names, (size_t)n_meta);
    if (dup) {
        st = siren_fail(SIREN_EINVAL, "%s: metadata key \"%s\" given twice",
                        path, dup);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const char *name = t[i].name;
        if (!name || !utf8_valid((const unsigned char *)name, strlen(name), 1)
            || strcmp(name, META_KEY) == 0) {
            st = siren_fail(SIREN_EINVAL, "%s: tensor %d: name is missing, "
                            "not UTF-8 or reserved", path, i);
            goto done;
        }
        if ((t[i].dtype != SIREN_DT_F32 && t[i].dtype != SIREN_DT_F64) ||
            t[i].ndim < 0 || t[i].ndim > SIREN_ST_MAX_DIMS) {
            st = siren_fail(SIREN_EINVAL, "%s: tensor \"%s\": bad dtype or "
                            "number of dimensions", path, name);
            goto done;
        }
        names[i] = name;
    }
    dup = find_duplicate(names, (size_t)n);
    if (dup) {
        st = siren_fail(SIREN_EINVAL, "%s: tensor \"%s\" given twice", path,
                        dup);
        goto done;
    }

    root = cJSON_CreateObject();
    if (!root)
        goto nomem;
    if (n_meta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, META_KEY);
        if (!meta)
            goto nomem;
        for (int i = 0; i < n_meta; i++)
            if (!cJSON_AddStringToObject(meta, keys[i], values[i]))
                goto nomem;
    }
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        size_t count = 1, nbytes;
        for (int k = 0; k < t[i].ndim; k++) {
            if (t[i].shape[k] < 0 ||
                !siren_mul_size(count, (size_t)t[i].shape[k], &count)) {
                st = siren_fail(SIREN_EINVAL, "%s: tensor \"%s\": negative "
                                "or overflowing shape", path, t[i].name);
                goto done;
            }
        }
        if (!siren_mul_size(count, siren_dtype_size(t[i].dtype), &nbytes) ||
            nbytes >= MAX_EXACT - pos) {
            st = siren_fail(SIREN_ELIMIT, "%s: tensor \"%s\": data beyond "
                            "2^53 bytes", path, t[i].name);
            goto done;
        }
        if (nbytes && !t[i].data) {
            st = siren_fail(SIREN_EINVAL, "%s: tensor \"%s\": no data", path,
                            t[i].name);
            goto done;
        }
        cJSON *e = cJSON_AddObjectToObject(root, t[i].name);
        cJSON *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
        if (!e || !shape || !offs) {
            cJSON_Delete(shape);
            cJSON_Delete(offs);
            goto nomem;
        }
        /* Attach at once so root owns them whatever fails next. */
        cJSON_AddItemToObject(e, "dtype", cJSON_CreateString(
                                  t[i].dtype == SIREN_DT_F64 ? "F64" : "F32"));
        cJSON_AddItemToObject(e, "shape", shape);
        cJSON_AddItemToObject(e, "data_offsets", offs);
        if (cJSON_GetArraySize(e) != 3)
            goto nomem;
        for (int k = 0; k < t[i].ndim; k++)
            if (!add_number(shape, (uint64_t)t[i].shape[k]))
                goto nomem;
        if (!add_number(offs, pos) || !add_number(offs, pos + nbytes))
            goto nomem;
        pos += nbytes;
    }
    *json = cJSON_PrintUnformatted(root);
    if (!*json)
        goto nomem;
    goto done;

nomem:
    st = siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
done:
    cJSON_Delete(root);
    free(names);
    return st;
}

siren_status siren_st_write(const char *path, const siren_st_tensor *t,
                            int n_tensors, const char *const *meta_keys,
                            const char *const *meta_values, int n_meta) {
    SIREN_ASSERT(path && n_tensors >= 0 && n_meta >= 0);
    SIREN_ASSERT(n_tensors == 0 || t);
    SIREN_ASSERT(n_meta == 0 || (meta_keys && meta_values));
    siren_status st;
    char *json = NULL, *tmp = NULL;
    FILE *fp = NULL;

    st = build_header(path, t, n_tensors, meta_keys, meta_values, n_meta,
                      &json);
    if (st != SIREN_OK)
        return st;
    /* Pad with spaces to a multiple of 8, as the reference implementation
     * does, so the data section starts aligned in a mapped file. */
    size_t jlen = strlen(json), hlen = (jlen + 7) / 8 * 8;
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));

    st = siren_atomic_open(path, &fp, &tmp);
    if (st != SIREN_OK) {
        cJSON_free(json);
        return st;
    }
    int ok = fwrite(lenbuf, 1, 8, fp) == 8 &&
             fwrite(json, 1, jlen, fp) == jlen;
    for (size_t i = jlen; ok && i < hlen; i++)
        ok = fputc(' ', fp) != EOF;
    for (int i = 0; ok && i < n_tensors; i++) {
        size_t nbytes = siren_dtype_size(t[i].dtype);
        for (int k = 0; k < t[i].ndim; k++)
            nbytes *= (size_t)t[i].shape[k]; /* checked in build_header */
        if (nbytes)
            ok = fwrite(t[i].data, 1, nbytes, fp) == nbytes;
    }
    cJSON_free(json);
    if (!ok) {
        int err = errno;
        siren_atomic_abort(fp, tmp);
        return siren_fail(SIREN_EIO, "%s: cannot write (%s)", path,
                          strerror(err));
    }
    return siren_atomic_commit(path, fp, tmp);
}

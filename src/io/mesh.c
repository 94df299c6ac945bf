/* Shape files: PLY (ASCII and binary, either byte order), XYZ point clouds
 * and OBJ meshes in; binary PLY and OBJ out. The readers take files from
 * the internet: every count a file declares is checked against the limit
 * and against the bytes that could hold it before anything is allocated,
 * every coordinate must be finite and every face index in range, and a
 * failure names the file and the problem. Polygons are fanned into
 * triangles. What the shape is used for is the tasks' business. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/atomic.h"
#include "util/error.h"

void siren_mesh_free(siren_mesh *m) {
    if (!m) return;
    free(m->v);
    free(m->vn);
    free(m->f);
    memset(m, 0, sizeof *m);
}

/* The whole file, NUL-terminated (text parsers may run strtod on it); at
 * most max_bytes, checked before reading when the size is known. */
static siren_status slurp(const char *path, size_t max_bytes, char **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    if (!f)
        return siren_fail(SIREN_EIO, "%s: %s", path,
                          errno == ENOENT ? "no such file" : strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
        (unsigned long long)sb.st_size > max_bytes) {
        fclose(f);
        return siren_fail(SIREN_ELIMIT, "%s: %llu bytes exceed the %zu bytes a shape "
                          "within the element limit may take (raise it with "
                          "--max-points)", path, (unsigned long long)sb.st_size, max_bytes);
    }
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap + 1);
    if (!p) {
        fclose(f);
        return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                free(p);
                fclose(f);
                return siren_fail(SIREN_ELIMIT, "%s: more than the %zu bytes a shape "
                                  "within the element limit may take (raise it with "
                                  "--max-points)", path, max_bytes);
            }
            char *q = realloc(p, 2 * cap + 1);
            if (!q) {
                free(p);
                fclose(f);
                return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
            }
            p = q;
            cap *= 2;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(p);
        return siren_fail(SIREN_EIO, "%s: read error", path);
    }
    p[n] = 0;
    *buf = p;
    *len = n;
    return SIREN_OK;
}

/* Growable arrays of the result, capped by the element limit. */
typedef struct {
    const char *path;
    size_t limit;
    float *v, *vn;
    size_t nv, cap_v;
    int has_n;
    uint32_t *f;
    size_t nf, cap_f;
} shape_buf;

static siren_status over_limit(const shape_buf *b, const char *what, size_t n) {
    return siren_fail(SIREN_ELIMIT, "%s: %zu %s exceed the limit of %zu (raise it "
                      "with --max-points)", b->path, n, what, b->limit);
}

static siren_status reserve_v(shape_buf *b, size_t n) {
    if (n <= b->cap_v) return SIREN_OK;
    if (n > b->limit) return over_limit(b, "vertices", n);
    size_t cap = b->cap_v ? b->cap_v : 1024;
    while (cap < n) cap = cap > b->limit / 2 ? b->limit : 2 * cap;
    float *v = realloc(b->v, cap * 3 * sizeof *v);
    if (!v) return siren_fail(SIREN_ENOMEM, "%s: out of memory for %zu vertices", b->path, cap);
    b->v = v;
    if (b->has_n) {
        float *vn = realloc(b->vn, cap * 3 * sizeof *vn);
        if (!vn) return siren_fail(SIREN_ENOMEM, "%s: out of memory", b->path);
        b->vn = vn;
    }
    b->cap_v = cap;
    return SIREN_OK;
}

static siren_status add_tri(shape_buf *b, uint32_t a, uint32_t c, uint32_t d) {
    if (b->nf == b->cap_f) {
        if (b->nf >= b->limit) return over_limit(b, "triangles", b->nf + 1);
        size_t cap = b->cap_f ? (b->cap_f > b->limit / 2 ? b->limit : 2 * b->cap_f) : 1024;
        uint32_t *f = realloc(b->f, cap * 3 * sizeof *f);
        if (!f) return siren_fail(SIREN_ENOMEM, "%s: out of memory for %zu faces", b->path, cap);
        b->f = f;
        b->cap_f = cap;
    }
    uint32_t *t = b->f + 3 * b->nf++;
    t[0] = a; t[1] = c; t[2] = d;
    return SIREN_OK;
}

/* Finite coordinates and normals, face indices in range; then hand over. */
static siren_status finish(shape_buf *b, siren_mesh *m) {
    if (b->nv == 0) return siren_fail(SIREN_EFORMAT, "%s: no vertices", b->path);
    for (size_t i = 0; i < 3 * b->nv; i++)
        if (!isfinite(b->v[i]))
            return siren_fail(SIREN_EFORMAT, "%s: vertex %zu has a non-finite "
                              "coordinate (%g)", b->path, i / 3, b->v[i]);
    if (b->has_n)
        for (size_t i = 0; i < 3 * b->nv; i++)
            if (!isfinite(b->vn[i]))
                return siren_fail(SIREN_EFORMAT, "%s: vertex %zu has a non-finite "
                                  "normal", b->path, i / 3);
    for (size_t i = 0; i < 3 * b->nf; i++)
        if (b->f[i] >= b->nv)
            return siren_fail(SIREN_EFORMAT, "%s: face %zu uses vertex %u, out of "
                              "range (%zu vertices)", b->path, i / 3, b->f[i], b->nv);
    m->n_vertices = b->nv;
    m->n_faces = b->nf;
    m->v = b->v;
    m->vn = b->has_n ? b->vn : NULL;
    if (!b->has_n) free(b->vn);
    m->f = b->f;
    if (!b->nf) {
        free(b->f);
        m->f = NULL;
    }
    b->v = b->vn = NULL;
    b->f = NULL;
    return SIREN_OK;
}

/* ------------------------------------------------------------------- PLY */

enum { T_I8, T_U8, T_I16, T_U16, T_I32, T_U32, T_F32, T_F64 };
static const struct { const char *name, *alias; int size; } ply_types[] = {
    {"char", "int8", 1}, {"uchar", "uint8", 1}, {"short", "int16", 2},
    {"ushort", "uint16", 2}, {"int", "int32", 4}, {"uint", "uint32", 4},
    {"float", "float32", 4}, {"double", "float64", 8}};

static int ply_type(const char *s) {
    for (int t = 0; t < 8; t++)
        if (!strcmp(s, ply_types[t].name) || !strcmp(s, ply_types[t].alias)) return t;
    return -1;
}

#define PLY_MAX_PROPS 64
#define PLY_MAX_ELEMS 16
typedef struct {
    char name[64];
    int type, list, count_type; /* list: count_type then type */
} ply_prop;
typedef struct {
    char name[64];
    size_t count;
    int np;
    ply_prop p[PLY_MAX_PROPS];
} ply_elem;

/* A binary scalar of type t at p, in the file's byte order. */
static double bin_value(const unsigned char *p, int t, int big) {
    unsigned char b[8];
    int n = ply_types[t].size;
    for (int i = 0; i < n; i++) b[i] = big ? p[n - 1 - i] : p[i];
    switch (t) {
    case T_I8: return (int8_t)b[0];
    case T_U8: return b[0];
    case T_I16: { int16_t v; memcpy(&v, b, 2); return v; }
    case T_U16: { uint16_t v; memcpy(&v, b, 2); return v; }
    case T_I32: { int32_t v; memcpy(&v, b, 4); return v; }
    case T_U32: { uint32_t v; memcpy(&v, b, 4); return v; }
    case T_F32: { float v; memcpy(&v, b, 4); return v; }
    default: { double v; memcpy(&v, b, 8); return v; }
    }
}

/* The data reader: binary with a cursor, or ASCII tokens. */
typedef struct {
    const char *path;
    const unsigned char *p, *end;
    int ascii, big;
} ply_cur;

static siren_status ply_read(ply_cur *c, int t, double *out, const char *what,
                             size_t idx) {
    if (!c->ascii) {
        int n = ply_types[t].size;
        if ((size_t)(c->end - c->p) < (size_t)n)
            return siren_fail(SIREN_EFORMAT, "%s: truncated: the data ends in %s %zu",
                              c->path, what, idx);
        *out = bin_value(c->p, t, c->big);
        c->p += n;
        return SIREN_OK;
    }
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
    if (c->p >= c->end)
        return siren_fail(SIREN_EFORMAT, "%s: truncated: the data ends in %s %zu",
                          c->path, what, idx);
    char *e;
    errno = 0;
    double v = strtod((const char *)c->p, &e);
    if ((const unsigned char *)e == c->p || (*e && *e != ' ' && *e != '\t' &&
                                             *e != '\r' && *e != '\n'))
        return siren_fail(SIREN_EFORMAT, "%s: not a number in %s %zu", c->path, what, idx);
    if (t < T_F32 && v != floor(v))
        return siren_fail(SIREN_EFORMAT, "%s: integer property holds %g in %s %zu",
                          c->path, v, what, idx);
    c->p = (const unsigned char *)e;
    *out = v;
    return SIREN_OK;
}

static siren_status load_ply(shape_buf *b, const char *buf, size_t len) {
    const char *path = b->path;
    ply_elem el[PLY_MAX_ELEMS];
    int ne = 0, fmt = -1;
    /* the header: lines up to end_header, at most 64 KiB */
    const char *hend = NULL;
    for (const char *q = buf; q < buf + len && q < buf + 65536; q++)
        if (*q == '\n' && !strncmp(q + 1, "end_header", 10) &&
            (q[11] == '\n' || (q[11] == '\r' && q[12] == '\n'))) {
            hend = q + 11 + (q[11] == '\r') + 1;
            break;
        }
    if (len < 4 || strncmp(buf, "ply", 3) || (buf[3] != '\n' && buf[3] != '\r'))
        return siren_fail(SIREN_EFORMAT, "%s: not a PLY file (no 'ply' line)", path);
    if (!hend)
        return siren_fail(SIREN_EFORMAT, "%s: no end_header in the first 64 KiB", path);
    size_t hlen = (size_t)(hend - buf);
    char *h = malloc(hlen + 1);
    if (!h) return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
    memcpy(h, buf, hlen);
    h[hlen] = 0;
    siren_status st = SIREN_OK;
    int line = 0;
    /* one line at a time, up to 6 words of at most 63 characters each */
    for (char *l = h; l < h + hlen;) {
        char *nl = memchr(l, '\n', (size_t)(h + hlen - l));
        if (!nl) nl = h + hlen;
        *nl = 0;
        line++;
        if (strlen(l) != (size_t)(nl - l)) {
            st = siren_fail(SIREN_EFORMAT, "%s: a NUL byte in PLY header line %d", path, line);
            goto done;
        }
        size_t ll = (size_t)(nl - l);
        if (ll && l[ll - 1] == '\r') l[--ll] = 0;
        char w[6][64];
        int nw = 0;
        for (char *s2 = NULL, *t = strtok_r(l, " \t", &s2); t; t = strtok_r(NULL, " \t", &s2)) {
            if (nw == 1 && (!strcmp(w[0], "comment") || !strcmp(w[0], "obj_info"))) break;
            if (nw == 6 || strlen(t) > 63) goto bad_line;
            snprintf(w[nw++], 64, "%s", t);
        }
        l = nl + 1;
        if (nw == 0 || !strcmp(w[0], "comment") || !strcmp(w[0], "obj_info") ||
            (line == 1 && !strcmp(w[0], "ply")) || !strcmp(w[0], "end_header"))
            continue;
        if (!strcmp(w[0], "format")) {
            if (nw != 3 || strcmp(w[2], "1.0")) goto bad_line;
            fmt = !strcmp(w[1], "ascii") ? 0 : !strcmp(w[1], "binary_little_endian") ? 1
                  : !strcmp(w[1], "binary_big_endian") ? 2 : -1;
            if (fmt < 0) goto bad_line;
        } else if (!strcmp(w[0], "element")) {
            char *e;
            if (nw != 3 || ne == PLY_MAX_ELEMS) goto bad_line;
            errno = 0;
            unsigned long long cnt = strtoull(w[2], &e, 10);
            if (*e || w[2][0] == '-' || errno) goto bad_line;
            ply_elem *E = &el[ne++];
            snprintf(E->name, sizeof E->name, "%s", w[1]);
            E->count = (size_t)cnt;
            E->np = 0;
        } else if (!strcmp(w[0], "property")) {
            if (ne == 0 || el[ne - 1].np == PLY_MAX_PROPS) goto bad_line;
            ply_prop *P = &el[ne - 1].p[el[ne - 1].np];
            if (nw == 5 && !strcmp(w[1], "list")) {
                P->list = 1;
                P->count_type = ply_type(w[2]);
                P->type = ply_type(w[3]);
                if (P->count_type < 0 || P->type < 0 || P->count_type >= T_F32) goto bad_line;
                snprintf(P->name, sizeof P->name, "%s", w[4]);
            } else {
                if (nw != 3) goto bad_line;
                P->list = 0;
                P->type = ply_type(w[1]);
                if (P->type < 0) goto bad_line;
                snprintf(P->name, sizeof P->name, "%s", w[2]);
            }
            el[ne - 1].np++;
        } else {
            goto bad_line;
        }
        continue;
    bad_line:
        st = siren_fail(SIREN_EFORMAT, "%s: bad PLY header line %d", path, line);
        goto done;
    }
    if (fmt < 0) {
        st = siren_fail(SIREN_EFORMAT, "%s: PLY header has no format line", path);
        goto done;
    }
    ply_cur c = {path, (const unsigned char *)hend, (const unsigned char *)buf + len,
                 fmt == 0, fmt == 2};
    int vx[6] = {-1, -1, -1, -1, -1, -1};
    static const char *vnames[6] = {"x", "y", "z", "nx", "ny", "nz"};
    int have_vertex = 0;
    for (int e = 0; e < ne && !st; e++) {
        ply_elem *E = &el[e];
        const int is_v = !strcmp(E->name, "vertex"), is_f = !strcmp(E->name, "face");
        /* the smallest number of bytes one element can take: counts that
         * cannot fit in what is left are lies, refused before allocating */
        if (E->count > b->limit) {
            st = over_limit(b, E->name, E->count);
            break;
        }
        if (E->count && E->np == 0) {
            st = siren_fail(SIREN_EFORMAT, "%s: element %s has no properties", path,
                            E->name);
            break;
        }
        size_t minsz = 0;
        for (int k = 0; k < E->np; k++)
            minsz += c.ascii ? 2 : (size_t)ply_types[E->p[k].list ? E->p[k].count_type
                                                                  : E->p[k].type].size;
        if (minsz && E->count > (size_t)(c.end - c.p) / minsz) {
            st = siren_fail(SIREN_EFORMAT, "%s: truncated: %zu %s elements declared, "
                            "the file has room for at most %zu", path, E->count,
                            E->name, (size_t)(c.end - c.p) / minsz);
            break;
        }
        if (is_v) {
            if (have_vertex) {
                st = siren_fail(SIREN_EFORMAT, "%s: two vertex elements", path);
                break;
            }
            have_vertex = 1;
            for (int k = 0; k < E->np; k++)
                for (int j = 0; j < 6; j++)
                    if (!E->p[k].list && !strcmp(E->p[k].name, vnames[j])) vx[j] = k;
            if (vx[0] < 0 || vx[1] < 0 || vx[2] < 0) {
                st = siren_fail(SIREN_EFORMAT, "%s: the vertex element lacks x, y or z", path);
                break;
            }
            b->has_n = vx[3] >= 0 && vx[4] >= 0 && vx[5] >= 0;
            if ((st = reserve_v(b, E->count))) break;
            for (size_t i = 0; i < E->count && !st; i++) {
                double val[6] = {0};
                for (int k = 0; k < E->np && !st; k++) {
                    const ply_prop *P = &E->p[k];
                    double x;
                    if (P->list) {
                        double cnt;
                        if ((st = ply_read(&c, P->count_type, &cnt, "vertex", i))) break;
                        if (cnt < 0 || cnt > (double)(c.end - c.p)) {
                            st = siren_fail(SIREN_EFORMAT, "%s: vertex %zu has a list of "
                                            "%g items", path, i, cnt);
                            break;
                        }
                        for (long q = 0; q < (long)cnt && !st; q++)
                            st = ply_read(&c, P->type, &x, "vertex", i);
                        continue;
                    }
                    if ((st = ply_read(&c, P->type, &x, "vertex", i))) break;
                    for (int j = 0; j < 6; j++)
                        if (vx[j] == k) val[j] = x;
                }
                for (int j = 0; j < 3; j++) b->v[3 * i + j] = (float)val[j];
                if (b->has_n)
                    for (int j = 0; j < 3; j++) b->vn[3 * i + j] = (float)val[3 + j];
                b->nv = i + 1;
            }
        } else {
            int li = -1;
            if (is_f)
                for (int k = 0; k < E->np; k++)
                    if (E->p[k].list && (!strcmp(E->p[k].name, "vertex_indices") ||
                                         !strcmp(E->p[k].name, "vertex_index")))
                        li = k;
            for (size_t i = 0; i < E->count && !st; i++)
                for (int k = 0; k < E->np && !st; k++) {
                    const ply_prop *P = &E->p[k];
                    double x;
                    if (!P->list) {
                        st = ply_read(&c, P->type, &x, E->name, i);
                        continue;
                    }
                    double cnt;
                    if ((st = ply_read(&c, P->count_type, &cnt, E->name, i))) break;
                    const size_t isz = c.ascii ? 2 : (size_t)ply_types[P->type].size;
                    if (cnt < 0 || cnt > (double)((size_t)(c.end - c.p) / isz)) {
                        st = siren_fail(SIREN_EFORMAT, "%s: truncated: %s %zu declares "
                                        "%g indices", path, E->name, i, cnt);
                        break;
                    }
                    if (k == li && cnt < 3) {
                        st = siren_fail(SIREN_EFORMAT, "%s: face %zu has %g vertices "
                                        "(3 or more needed)", path, i, cnt);
                        break;
                    }
                    uint32_t first = 0, prev = 0;
                    for (long q = 0; q < (long)cnt && !st; q++) {
                        if ((st = ply_read(&c, P->type, &x, E->name, i))) break;
                        if (k != li) continue;
                        if (!(x >= 0 && x < 4294967295.0)) {
                            st = siren_fail(SIREN_EFORMAT, "%s: face %zu vertex index %g "
                                            "out of range", path, i, x);
                            break;
                        }
                        uint32_t id = (uint32_t)x;
                        if (q == 0) first = id;
                        else if (q >= 2) st = add_tri(b, first, prev, id);
                        prev = id;
                    }
                }
        }
    }
    if (!st && !have_vertex)
        st = siren_fail(SIREN_EFORMAT, "%s: PLY file without a vertex element", path);
done:
    free(h);
    return st;
}

/* ------------------------------------------------------------------- XYZ */

static siren_status load_xyz(shape_buf *b, char *buf, size_t len) {
    int cols = 0;
    size_t line = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = 0;
        line++;
        char *q = p;
        while (*q == ' ' || *q == '\t' || *q == '\r') q++;
        if (*q && *q != '#') {
            double x[7];
            int n = 0;
            while (*q) {
                char *e;
                if (n == 7) break;
                x[n] = strtod(q, &e);
                if (e == q) break;
                n++;
                q = e;
                while (*q == ' ' || *q == '\t' || *q == ',' || *q == '\r') q++;
            }
            if (*q || (n != 3 && n != 6))
                return siren_fail(SIREN_EFORMAT, "%s: line %zu: expected 3 or 6 "
                                  "numbers (x y z [nx ny nz])", b->path, line);
            if (!cols) {
                cols = n;
                b->has_n = n == 6;
            } else if (n != cols) {
                return siren_fail(SIREN_EFORMAT, "%s: line %zu has %d numbers, the "
                                  "first line %d", b->path, line, n, cols);
            }
            siren_status st = reserve_v(b, b->nv + 1);
            if (st) return st;
            for (int j = 0; j < 3; j++) b->v[3 * b->nv + j] = (float)x[j];
            if (b->has_n)
                for (int j = 0; j < 3; j++) b->vn[3 * b->nv + j] = (float)x[3 + j];
            b->nv++;
        }
        p = nl + 1;
    }
    if (!cols) return siren_fail(SIREN_EFORMAT, "%s: no points", b->path);
    return SIREN_OK;
}

/* ------------------------------------------------------------------- OBJ */

/* One OBJ index (1-based, or negative: relative to the end) of n items. */
static int obj_index(const char *s, char **end, size_t n, size_t *out) {
    errno = 0;
    long long i = strtoll(s, end, 10);
    if (*end == s || errno) return 0;
    if (i > 0 && (unsigned long long)i <= n) *out = (size_t)(i - 1);
    else if (i < 0 && (unsigned long long)(-i) <= n) *out = n - (size_t)(-i);
    else return 0;
    return 1;
}

static siren_status load_obj(shape_buf *b, char *buf, size_t len) {
    float *vn = NULL;          /* the file's vn list */
    size_t n_vn = 0, cap_vn = 0;
    size_t *pairs = NULL;      /* face corners with a normal: (v, vn) */
    size_t n_pairs = 0, cap_pairs = 0;
    uint32_t *vref = NULL;     /* per vertex: its first such corner's vn + 1 */
    siren_status st = SIREN_OK;
    size_t line = 0;
    char *p = buf, *end = buf + len;
    int faces_use_vn = 0;
    while (p < end && !st) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = 0;
        line++;
        char *q = p;
        while (*q == ' ' || *q == '\t') q++;
        if (q[0] == 'v' && (q[1] == ' ' || q[1] == '\t')) {
            double x[3];
            char *e = q + 2;
            for (int j = 0; j < 3; j++) {
                char *e2;
                x[j] = strtod(e, &e2);
                if (e2 == e) {
                    st = siren_fail(SIREN_EFORMAT, "%s: line %zu: a vertex needs x y z",
                                    b->path, line);
                    break;
                }
                e = e2;
            }
            if (st) break;
            if ((st = reserve_v(b, b->nv + 1))) break;
            for (int j = 0; j < 3; j++) b->v[3 * b->nv + j] = (float)x[j];
            b->nv++;
        } else if (q[0] == 'v' && q[1] == 'n' && (q[2] == ' ' || q[2] == '\t')) {
            double x[3];
            char *e = q + 3;
            for (int j = 0; j < 3; j++) {
                char *e2;
                x[j] = strtod(e, &e2);
                if (e2 == e) {
                    st = siren_fail(SIREN_EFORMAT, "%s: line %zu: a normal needs 3 numbers",
                                    b->path, line);
                    break;
                }
                e = e2;
            }
            if (st) break;
            if (n_vn == cap_vn) {
                if (n_vn >= b->limit) { st = over_limit(b, "normals", n_vn + 1); break; }
                size_t cap = cap_vn ? 2 * cap_vn : 1024;
                float *t = realloc(vn, cap * 3 * sizeof *t);
                if (!t) { st = siren_fail(SIREN_ENOMEM, "%s: out of memory", b->path); break; }
                vn = t;
                cap_vn = cap;
            }
            for (int j = 0; j < 3; j++) vn[3 * n_vn + j] = (float)x[j];
            n_vn++;
        } else if (q[0] == 'f' && (q[1] == ' ' || q[1] == '\t')) {
            char *e = q + 2;
            size_t corner = 0, first = 0, prev = 0;
            while (!st) {
                while (*e == ' ' || *e == '\t' || *e == '\r') e++;
                if (!*e) break;
                size_t vi, ni = SIZE_MAX, ti;
                char *e2;
                if (!obj_index(e, &e2, b->nv, &vi)) {
                    st = siren_fail(SIREN_EFORMAT, "%s: line %zu: face vertex index out "
                                    "of range or malformed (%zu vertices so far)",
                                    b->path, line, b->nv);
                    break;
                }
                e = e2;
                if (*e == '/') {
                    e++;
                    if (*e != '/' && !obj_index(e, &e2, SIZE_MAX / 2, &ti)) {
                        st = siren_fail(SIREN_EFORMAT, "%s: line %zu: bad texture index",
                                        b->path, line);
                        break;
                    }
                    if (*e != '/') e = e2;
                    if (*e == '/') {
                        e++;
                        if (!obj_index(e, &e2, n_vn, &ni)) {
                            st = siren_fail(SIREN_EFORMAT, "%s: line %zu: face normal "
                                            "index out of range or malformed", b->path, line);
                            break;
                        }
                        e = e2;
                    }
                }
                if (*e && *e != ' ' && *e != '\t' && *e != '\r') {
                    st = siren_fail(SIREN_EFORMAT, "%s: line %zu: malformed face", b->path, line);
                    break;
                }
                if (ni != SIZE_MAX) {
                    faces_use_vn = 1;
                    if (n_pairs == cap_pairs) {
                        size_t cap = cap_pairs ? 2 * cap_pairs : 1024;
                        if (cap > 3 * b->limit) {
                            st = over_limit(b, "face corners with normals", cap);
                            break;
                        }
                        size_t *t = realloc(pairs, cap * 2 * sizeof *t);
                        if (!t) { st = siren_fail(SIREN_ENOMEM, "%s: out of memory", b->path); break; }
                        pairs = t;
                        cap_pairs = cap;
                    }
                    pairs[2 * n_pairs] = vi;
                    pairs[2 * n_pairs + 1] = ni;
                    n_pairs++;
                }
                if (corner == 0) first = vi;
                else if (corner >= 2)
                    st = add_tri(b, (uint32_t)first, (uint32_t)prev, (uint32_t)vi);
                prev = vi;
                corner++;
            }
            if (!st && corner < 3)
                st = siren_fail(SIREN_EFORMAT, "%s: line %zu: a face needs 3 or more "
                                "vertices", b->path, line);
        }
        /* other statements (vt, o, g, s, usemtl, mtllib, l, #) ignored */
        p = nl + 1;
    }
    if (!st && faces_use_vn) {
        vref = calloc(b->nv, sizeof *vref);
        if (!vref) st = siren_fail(SIREN_ENOMEM, "%s: out of memory", b->path);
        else
            for (size_t k = 0; k < n_pairs; k++)
                if (!vref[pairs[2 * k]]) vref[pairs[2 * k]] = (uint32_t)pairs[2 * k + 1] + 1;
    }
    if (!st && b->nv == 0) st = siren_fail(SIREN_EFORMAT, "%s: no vertices", b->path);
    if (!st) {
        /* normals: per vertex from its first face corner, or paired by index
         * for a point cloud (as many vn as v and no faces) */
        int all = 0;
        if (faces_use_vn) {
            all = 1;
            for (size_t i = 0; i < b->nv && all; i++) all = vref && vref[i] != 0;
        } else if (b->nf == 0 && n_vn == b->nv && n_vn) {
            all = 2;
        }
        if (all) {
            b->vn = malloc(b->nv * 3 * sizeof *b->vn);
            if (!b->vn) st = siren_fail(SIREN_ENOMEM, "%s: out of memory", b->path);
            else {
                for (size_t i = 0; i < b->nv; i++) {
                    size_t k = all == 1 ? vref[i] - 1 : i;
                    memcpy(b->vn + 3 * i, vn + 3 * k, 3 * sizeof *vn);
                }
                b->has_n = 1;
            }
        }
    }
    free(vn);
    free(vref);
    free(pairs);
    return st;
}

/* -------------------------------------------------------------- dispatch */

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcasecmp(path + n - e, ext);
}

siren_status siren_mesh_load(const char *path, size_t max_elements, siren_mesh *mesh) {
    memset(mesh, 0, sizeof *mesh);
    const int ply = has_ext(path, ".ply"), obj = has_ext(path, ".obj"),
              xyz = has_ext(path, ".xyz") || has_ext(path, ".txt") || has_ext(path, ".pts");
    if (!ply && !obj && !xyz)
        return siren_fail(SIREN_EINVAL, "%s: unknown shape format (.ply, .xyz, .txt, "
                          ".pts or .obj expected)", path);
    char *buf;
    size_t len;
    shape_buf b = {0};
    b.path = path;
    b.limit = max_elements ? max_elements : SIREN_MAX_MESH_ELEMENTS;
    /* 256 bytes per element: room for a long text line per vertex or face
     * (comments included), far more than binary needs */
    size_t max_bytes = b.limit > SIZE_MAX / 512 ? SIZE_MAX / 2 : 256 * b.limit + 65536;
    siren_status st = slurp(path, max_bytes, &buf, &len);
    if (st) return st;
    if (len == 0) st = siren_fail(SIREN_EFORMAT, "%s: empty file", path);
    else if (!ply && memchr(buf, 0, len))
        st = siren_fail(SIREN_EFORMAT, "%s: a text file with a NUL byte at offset %zu",
                        path, (size_t)((char *)memchr(buf, 0, len) - buf));
    else if (ply) st = load_ply(&b, buf, len);
    else if (obj) st = load_obj(&b, buf, len);
    else st = load_xyz(&b, buf, len);
    if (!st) st = finish(&b, mesh);
    free(buf);
    free(b.v);
    free(b.vn);
    free(b.f);
    return st;
}

/* --------------------------------------------------------------- writers */

siren_status siren_mesh_write(const char *path, const siren_mesh *m) {
    const int ply = has_ext(path, ".ply"), obj = has_ext(path, ".obj");
    if (!ply && !obj)
        return siren_fail(SIREN_EINVAL, "%s: write .ply or .obj", path);
    if (m->n_vertices == 0 || !m->v)
        return siren_fail(SIREN_EINVAL, "%s: the mesh has no vertices", path);
    if (m->n_vertices > INT32_MAX || m->n_faces > INT32_MAX)
        return siren_fail(SIREN_ELIMIT, "%s: too many elements for the format", path);
    for (size_t i = 0; i < 3 * m->n_faces; i++)
        if (m->f[i] >= m->n_vertices)
            return siren_fail(SIREN_EINVAL, "%s: face %zu uses vertex %u of %zu",
                              path, i / 3, m->f[i], m->n_vertices);
    FILE *f;
    char *tmp;
    siren_status st = siren_atomic_open(path, &f, &tmp);
    if (st) return st;
    if (ply) {
        fprintf(f, "ply\nformat binary_little_endian 1.0\ncomment written by siren %s\n"
                   "element vertex %zu\nproperty float x\nproperty float y\n"
                   "property float z\n", SIREN_VERSION, m->n_vertices);
        if (m->vn) fprintf(f, "property float nx\nproperty float ny\nproperty float nz\n");
        if (m->n_faces)
            fprintf(f, "element face %zu\nproperty list uchar int vertex_indices\n",
                    m->n_faces);
        fprintf(f, "end_header\n");
        /* this machine is little-endian (x86-64, as the build assumes) */
        for (size_t i = 0; i < m->n_vertices; i++) {
            fwrite(m->v + 3 * i, sizeof(float), 3, f);
            if (m->vn) fwrite(m->vn + 3 * i, sizeof(float), 3, f);
        }
        for (size_t i = 0; i < m->n_faces; i++) {
            unsigned char three = 3;
            int32_t t[3] = {(int32_t)m->f[3 * i], (int32_t)m->f[3 * i + 1],
                            (int32_t)m->f[3 * i + 2]};
            fwrite(&three, 1, 1, f);
            fwrite(t, sizeof t, 1, f);
        }
    } else {
        fprintf(f, "# written by siren %s: %zu vertices, %zu triangles\n", SIREN_VERSION,
                m->n_vertices, m->n_faces);
        for (size_t i = 0; i < m->n_vertices; i++)
            fprintf(f, "v %.9g %.9g %.9g\n", m->v[3 * i], m->v[3 * i + 1], m->v[3 * i + 2]);
        if (m->vn)
            for (size_t i = 0; i < m->n_vertices; i++)
                fprintf(f, "vn %.9g %.9g %.9g\n", m->vn[3 * i], m->vn[3 * i + 1],
                        m->vn[3 * i + 2]);
        for (size_t i = 0; i < m->n_faces; i++) {
            const uint32_t *t = m->f + 3 * i;
            if (m->vn)
                fprintf(f, "f %u//%u %u//%u %u//%u\n", t[0] + 1, t[0] + 1, t[1] + 1,
                        t[1] + 1, t[2] + 1, t[2] + 1);
            else
                fprintf(f, "f %u %u %u\n", t[0] + 1, t[1] + 1, t[2] + 1);
        }
    }
    return siren_atomic_commit(path, f, tmp);
}

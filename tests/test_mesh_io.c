/* Shape files (src/io/mesh.c): PLY (ASCII, binary little- and big-endian,
 * bytes built here, not by our writer), XYZ and OBJ in every index form
 * read to the expected numbers; our PLY and OBJ writers round-trip
 * bit-exactly; broken files — truncated binary PLY, counts that lie,
 * NaN coordinates, face indices out of range, absurd list counts, a
 * missing end_header, ragged XYZ, counts over the limit — are refused with
 * the right status, a message naming the file and the problem, and an
 * empty result. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "siren.h"
#include "testhelp.h"

static char dir[64], path[128];

static const char *put(const char *name, const void *data, size_t n) {
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}
static const char *puts_(const char *name, const char *text) {
    return put(name, text, strlen(text));
}

/* Load must fail with st, a message containing word, and an empty mesh. */
static void refuse(const char *what, const char *p, siren_status st, const char *word,
                   size_t limit) {
    siren_mesh m;
    memset(&m, 0x55, sizeof m);
    siren_status got = siren_mesh_load(p, limit, &m);
    const char *msg = siren_last_error();
    CHECK(got == st && strstr(msg, word) && strstr(msg, dir) && m.n_vertices == 0 &&
              !m.v && !m.f && !m.vn,
          "%s: refused (%s)", what, msg);
    if (got == SIREN_OK) siren_mesh_free(&m);
}

/* Big- or little-endian bytes of a value. */
static size_t put_be(unsigned char *p, const void *v, int n, int big) {
    const unsigned char *b = v;
    for (int i = 0; i < n; i++) p[i] = big ? b[n - 1 - i] : b[i];
    return (size_t)n;
}

static void test_binary(int big) {
    /* 4 vertices: x y z (float), a uchar colour, nx ny nz (double), one
     * int8; an edge element to skip; 1 quad + 1 triangle, int16 indices
     * with a ushort count; vertex element after the face element */
    char head[1024];
    snprintf(head, sizeof head,
             "ply\nformat binary_%s_endian 1.0\ncomment made by the test\n"
             "element face 2\nproperty list ushort short vertex_indices\n"
             "property uchar flags\n"
             "element vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
             "property uchar red\nproperty double nx\nproperty double ny\n"
             "property double nz\nproperty int8 q\n"
             "element edge 1\nproperty int vertex1\nproperty int vertex2\nend_header\n",
             big ? "big" : "little");
    unsigned char buf[2048];
    size_t n = strlen(head);
    memcpy(buf, head, n);
    const uint16_t c4 = 4, c3 = 3;
    const int16_t quad[4] = {0, 1, 2, 3}, tri[3] = {3, 2, 1};
    n += put_be(buf + n, &c4, 2, big);
    for (int i = 0; i < 4; i++) n += put_be(buf + n, &quad[i], 2, big);
    buf[n++] = 7;
    n += put_be(buf + n, &c3, 2, big);
    for (int i = 0; i < 3; i++) n += put_be(buf + n, &tri[i], 2, big);
    buf[n++] = 9;
    for (int v = 0; v < 4; v++) {
        float x[3] = {0.5f * v, -1.25f * v, 3.0f + v};
        double nn[3] = {v == 0, v == 1, v >= 2};
        for (int j = 0; j < 3; j++) n += put_be(buf + n, &x[j], 4, big);
        buf[n++] = 200;
        for (int j = 0; j < 3; j++) n += put_be(buf + n, &nn[j], 8, big);
        buf[n++] = (unsigned char)-3;
    }
    const int32_t e[2] = {0, 1};
    for (int j = 0; j < 2; j++) n += put_be(buf + n, &e[j], 4, big);
    siren_mesh m;
    siren_status st = siren_mesh_load(put(big ? "be.ply" : "le.ply", buf, n), 0, &m);
    int ok = st == SIREN_OK && m.n_vertices == 4 && m.n_faces == 3 && m.vn;
    if (ok) {
        for (int v = 0; v < 4; v++) {
            ok &= m.v[3 * v] == 0.5f * v && m.v[3 * v + 1] == -1.25f * v &&
                  m.v[3 * v + 2] == 3.0f + v;
            ok &= m.vn[3 * v] == (v == 0) && m.vn[3 * v + 2] == (v >= 2);
        }
        const uint32_t want[9] = {0, 1, 2, 0, 2, 3, 3, 2, 1};
        for (int i = 0; i < 9; i++) ok &= m.f[i] == want[i];
    }
    CHECK(ok, "binary %s-endian PLY (faces before vertices, colour, double "
          "normals, int8, a skipped edge element, a quad fanned): %s",
          big ? "big" : "little", st ? siren_last_error() : "as written");
    if (st == SIREN_OK) siren_mesh_free(&m);
    /* truncated: every shorter prefix of the data is refused */
    int all = 1;
    for (size_t cut = strlen(head); cut < n; cut += 3) {
        memset(&m, 0, sizeof m);
        siren_status s2 = siren_mesh_load(put("cut.ply", buf, cut), 0, &m);
        all &= s2 == SIREN_EFORMAT && !m.v;
        if (s2 == SIREN_OK) siren_mesh_free(&m);
    }
    CHECK(all, "binary %s-endian PLY cut anywhere in its data is refused",
          big ? "big" : "little");
}

static void test_ascii(void) {
    siren_mesh m;
    const char *p = puts_("a.ply",
                          "ply\r\nformat ascii 1.0\r\nobj_info anything\r\n"
                          "element vertex 5\r\nproperty float x\r\nproperty float y\r\n"
                          "property float z\r\nproperty float confidence\r\n"
                          "element face 1\r\nproperty list uchar int vertex_index\r\n"
                          "end_header\r\n"
                          "0 0 0 1\r\n1 0 0 1\r\n1 1 0 1\r\n0 1 0 1\r\n0.5 0.5 1e-3 1\r\n"
                          "5 0 1 2 3 4\r\n");
    siren_status st = siren_mesh_load(p, 0, &m);
    CHECK(st == SIREN_OK && m.n_vertices == 5 && m.n_faces == 3 && !m.vn &&
              m.v[14] == 1e-3f && m.f[6] == 0 && m.f[7] == 3 && m.f[8] == 4,
          "ASCII PLY with CRLF lines, an extra property, a pentagon fanned into 3 "
          "triangles: %s", st ? siren_last_error() : "as written");
    if (!st) siren_mesh_free(&m);

    p = puts_("c.xyz", "# a comment\n0 0 0 0 0 1\n\n1 2 3 0 1 0\n  4 5 6 1 0 0\n");
    st = siren_mesh_load(p, 0, &m);
    CHECK(st == SIREN_OK && m.n_vertices == 3 && m.vn && m.n_faces == 0 && m.v[8] == 6 &&
              m.vn[3 * 2] == 1,
          "XYZ with normals, comments and blank lines");
    if (!st) siren_mesh_free(&m);
    p = puts_("c3.pts", "0 0 0\n1 2 3\n");
    st = siren_mesh_load(p, 0, &m);
    CHECK(st == SIREN_OK && m.n_vertices == 2 && !m.vn, "XYZ without normals (.pts)");
    if (!st) siren_mesh_free(&m);

    p = puts_("f.obj",
              "# cube corner\nmtllib x.mtl\no thing\nv 0 0 0\nv 1 0 0 1.0\nv 1 1 0\n"
              "v 0 1 0 0.5 0.5 0.5\nvt 0 0\nvt 1 0\nvn 0 0 1\nvn 0 0 -1\ns off\n"
              "f 1 2 3\nf 1/1 3/2 4/1\nf 1//1 2//1 4//2\nf -4/1/2 -3/2/2 -2/1/2\n"
              "f 1 2 3 4\nl 1 2\n");
    st = siren_mesh_load(p, 0, &m);
    int ok = st == SIREN_OK && m.n_vertices == 4 && m.n_faces == 6;
    if (ok) {
        const uint32_t want[18] = {0, 1, 2, 0, 2, 3, 0, 1, 3, 0, 1, 2, 0, 1, 2, 0, 2, 3};
        for (int i = 0; i < 18; i++) ok &= m.f[i] == want[i];
        /* normals: from each vertex's first corner that names one */
        ok &= m.vn && m.vn[2] == 1 && m.vn[3 * 3 + 2] == -1 && m.vn[3 * 2 + 2] == -1;
    }
    CHECK(ok, "OBJ with i, i/t, i//n, i/t/n and negative indices, a quad "
          "fanned, other statements ignored: %s", st ? siren_last_error() : "as expected");
    if (!st) siren_mesh_free(&m);
    p = puts_("n.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nvn 1 0 0\n"
                       "f 1//2 2//1 3//1\n");
    st = siren_mesh_load(p, 0, &m);
    CHECK(st == SIREN_OK && m.vn && m.vn[0] == 1 && m.vn[5] == 1,
          "OBJ normals from each vertex's first face corner");
    if (!st) siren_mesh_free(&m);
    p = puts_("pc.obj", "v 0 0 0\nv 1 0 0\nvn 0 0 1\nvn 1 0 0\n");
    st = siren_mesh_load(p, 0, &m);
    CHECK(st == SIREN_OK && m.vn && m.n_faces == 0 && m.vn[3] == 1,
          "an OBJ point cloud with as many vn as v pairs them by index");
    if (!st) siren_mesh_free(&m);
}

static void test_roundtrip(void) {
    enum { NV = 50, NF = 40 };
    float v[NV * 3], vn[NV * 3];
    uint32_t f[NF * 3];
    for (int i = 0; i < NV * 3; i++) {
        v[i] = (float)sin(i * 1.7) * 1e3f / (float)(i + 1);
        vn[i] = (float)cos(i * 0.3);
    }
    v[4] = 1e-30f;
    v[5] = -3.4e38f;
    for (int i = 0; i < NF * 3; i++) f[i] = (uint32_t)((i * 7) % NV);
    for (int with_n = 0; with_n < 2; with_n++)
        for (int fmt = 0; fmt < 2; fmt++) {
            siren_mesh m = {NV, NF, v, with_n ? vn : NULL, f}, r;
            const char *name = fmt ? "rt.obj" : "rt.ply";
            snprintf(path, sizeof path, "%s/%s", dir, name);
            siren_status st = siren_mesh_write(path, &m);
            if (!st) st = siren_mesh_load(path, 0, &r);
            int ok = st == SIREN_OK && r.n_vertices == NV && r.n_faces == NF &&
                     !memcmp(r.v, v, sizeof v) && !memcmp(r.f, f, sizeof f) &&
                     (with_n ? r.vn && !memcmp(r.vn, vn, sizeof vn) : !r.vn);
            CHECK(ok, "%s %s normals: written and read back bit for bit", name,
                  with_n ? "with" : "without");
            if (!st) siren_mesh_free(&r);
        }
    /* a point cloud through PLY */
    siren_mesh pc = {NV, 0, v, vn, NULL}, r;
    snprintf(path, sizeof path, "%s/pc.ply", dir);
    siren_status st = siren_mesh_write(path, &pc);
    if (!st) st = siren_mesh_load(path, 0, &r);
    CHECK(st == SIREN_OK && r.n_faces == 0 && !memcmp(r.v, v, sizeof v),
          "an oriented point cloud through PLY");
    if (!st) siren_mesh_free(&r);
    uint32_t badf[3] = {0, 1, NV};
    siren_mesh bad = {NV, 1, v, NULL, badf};
    snprintf(path, sizeof path, "%s/bad.ply", dir);
    CHECK(siren_mesh_write(path, &bad) == SIREN_EINVAL && access(path, F_OK) != 0,
          "writing a face index out of range is refused, nothing written");
}

static void test_broken(void) {
    const char *hdr = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                      "property float y\nproperty float z\nelement face 1\n"
                      "property list uchar int vertex_indices\nend_header\n";
    char b[512];
    snprintf(b, sizeof b, "%s0 0 0\n1 0 0\n", hdr);
    refuse("ASCII PLY with fewer vertices than declared", puts_("x.ply", b),
           SIREN_EFORMAT, "truncated", 0);
    snprintf(b, sizeof b, "%s0 0 0\n1 nan 0\n0 1 0\n3 0 1 2\n", hdr);
    refuse("NaN coordinate in a PLY", puts_("x.ply", b), SIREN_EFORMAT, "non-finite", 0);
    snprintf(b, sizeof b, "%s0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n", hdr);
    refuse("PLY face index out of range", puts_("x.ply", b), SIREN_EFORMAT,
           "out of range", 0);
    snprintf(b, sizeof b, "%s0 0 0\n1 0 0\n0 1 0\n3 0 -1 2\n", hdr);
    refuse("negative PLY face index", puts_("x.ply", b), SIREN_EFORMAT, "out of range", 0);
    snprintf(b, sizeof b, "%s0 0 0\n1 0 0\n0 1 0\n200 0 1 2\n", hdr);
    refuse("PLY face with an absurd list count", puts_("x.ply", b), SIREN_EFORMAT,
           "declares", 0);
    snprintf(b, sizeof b, "%s0 0 0\n1 0 0\n0 1 0\n2 0 1\n", hdr);
    refuse("PLY face with 2 vertices", puts_("x.ply", b), SIREN_EFORMAT, "3 or more", 0);
    refuse("PLY without end_header",
           puts_("x.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"),
           SIREN_EFORMAT, "end_header", 0);
    refuse("PLY with a bad format line",
           puts_("x.ply", "ply\nformat binary_middle_endian 1.0\nend_header\n"),
           SIREN_EFORMAT, "header line 2", 0);
    refuse("PLY vertex without z",
           puts_("x.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
                          "property float y\nend_header\n0 0\n"),
           SIREN_EFORMAT, "x, y or z", 0);
    refuse("a binary PLY declaring 10^8 vertices in a few bytes",
           puts_("x.ply", "ply\nformat binary_little_endian 1.0\nelement vertex "
                          "100000000\nproperty float x\nproperty float y\n"
                          "property float z\nend_header\n\1\2\3\4"),
           SIREN_EFORMAT, "room for at most", 0);
    refuse("a binary PLY declaring 10^12 vertices",
           puts_("x.ply", "ply\nformat binary_little_endian 1.0\nelement vertex "
                          "1000000000000\nproperty float x\nproperty float y\n"
                          "property float z\nend_header\n\1\2\3\4"),
           SIREN_ELIMIT, "--max-points", 0);
    refuse("an XYZ file with a NUL byte", put("x.xyz", "1 2 3\0 junk\n", 12),
           SIREN_EFORMAT, "NUL", 0);
    {
        /* a file larger than the element limit allows (64 KiB + 256 bytes
         * per element) is refused before it is read */
        char *big = malloc(70000);
        memset(big, '#', 70000);
        big[69999] = '\n';
        refuse("a 70000-byte XYZ file against a limit of 1 point",
               put("x.xyz", big, 70000), SIREN_ELIMIT, "bytes exceed", 1);
        free(big);
    }
    snprintf(b, sizeof b, "%s0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", hdr);
    refuse("3 vertices against a limit of 2", puts_("x.ply", b), SIREN_ELIMIT,
           "--max-points", 2);
    refuse("an XYZ line with 4 numbers", puts_("x.xyz", "0 0 0\n1 2 3 4\n"),
           SIREN_EFORMAT, "line 2", 0);
    refuse("XYZ lines of 3 and 6 numbers", puts_("x.xyz", "0 0 0 0 0 1\n1 2 3\n"),
           SIREN_EFORMAT, "line 2", 0);
    refuse("XYZ with a word", puts_("x.xyz", "0 0 zero\n"), SIREN_EFORMAT, "line 1", 0);
    refuse("XYZ with inf", puts_("x.xyz", "0 0 inf\n"), SIREN_EFORMAT, "non-finite", 0);
    refuse("an empty file", puts_("x.xyz", ""), SIREN_EFORMAT, "empty", 0);
    refuse("OBJ face index 0", puts_("x.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n"),
           SIREN_EFORMAT, "out of range", 0);
    refuse("OBJ face index past the vertices",
           puts_("x.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n"), SIREN_EFORMAT,
           "out of range", 0);
    refuse("OBJ relative index past the start",
           puts_("x.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n"), SIREN_EFORMAT,
           "out of range", 0);
    refuse("OBJ normal index out of range",
           puts_("x.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//2 3//1\n"),
           SIREN_EFORMAT, "normal", 0);
    refuse("OBJ vertex with 2 numbers", puts_("x.obj", "v 0 0\n"), SIREN_EFORMAT,
           "line 1", 0);
    refuse("OBJ without vertices", puts_("x.obj", "# nothing\n"), SIREN_EFORMAT,
           "no vertices", 0);
    refuse("an unknown extension", puts_("x.stl", "solid\n"), SIREN_EINVAL, ".ply", 0);
    snprintf(path, sizeof path, "%s/none.ply", dir);
    refuse("a missing file", path, SIREN_EIO, "no such file", 0);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/siren_test_mesh.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_binary(0);
    test_binary(1);
    test_ascii();
    test_roundtrip();
    test_broken();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_DONE();
}

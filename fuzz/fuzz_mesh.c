/* libFuzzer target: siren_mesh_load (src/io/mesh.c) — the PLY (ASCII and
 * binary), XYZ and OBJ readers. The first byte picks the format, the rest
 * is the file. A refused file leaves an empty mesh and a message; an
 * accepted one has vertices, finite coordinates and normals, every face
 * index in range, and writes and reads back identical through binary PLY. */
#include <stdint.h>

#include "fuzz.h"
#include "siren.h"

/* Small enough that an input cannot ask for more than the fuzzer's memory
 * budget through legal counts (each element is a few dozen bytes). */
#define FUZZ_MESH_LIMIT ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *names[3] = {"input.ply", "input.xyz", "input.obj"};
    const char *path = fuzz_file(names[data[0] % 3], data + 1, size - 1);
    siren_mesh m;
    if (siren_mesh_load(path, FUZZ_MESH_LIMIT, &m) != SIREN_OK) {
        FUZZ_CHECK(m.n_vertices == 0 && m.n_faces == 0 && !m.v && !m.vn && !m.f &&
                   siren_last_error()[0]);
        return 0;
    }
    FUZZ_CHECK(m.n_vertices >= 1 && m.n_vertices <= FUZZ_MESH_LIMIT && m.v);
    FUZZ_CHECK(m.n_faces <= FUZZ_MESH_LIMIT && (m.n_faces == 0) == (m.f == NULL));
    for (size_t i = 0; i < 3 * m.n_vertices; i++) {
        FUZZ_CHECK(isfinite(m.v[i]));
        if (m.vn) FUZZ_CHECK(isfinite(m.vn[i]));
    }
    for (size_t i = 0; i < 3 * m.n_faces; i++) FUZZ_CHECK(m.f[i] < m.n_vertices);
    const char *out = fuzz_out_path("back.ply");
    FUZZ_CHECK(siren_mesh_write(out, &m) == SIREN_OK);
    siren_mesh r;
    FUZZ_CHECK(siren_mesh_load(out, FUZZ_MESH_LIMIT, &r) == SIREN_OK);
    FUZZ_CHECK(r.n_vertices == m.n_vertices && r.n_faces == m.n_faces &&
               !memcmp(r.v, m.v, 3 * m.n_vertices * sizeof(float)) &&
               (m.n_faces == 0 || !memcmp(r.f, m.f, 3 * m.n_faces * sizeof(uint32_t))) &&
               (m.vn == NULL) == (r.vn == NULL) &&
               (!m.vn || !memcmp(r.vn, m.vn, 3 * m.n_vertices * sizeof(float))));
    siren_mesh_free(&r);
    siren_mesh_free(&m);
    return 0;
}

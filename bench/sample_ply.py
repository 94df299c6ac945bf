#!/usr/bin/python3
"""Sample a triangle mesh (PLY, ASCII or binary) into an oriented point
cloud (.xyz: x y z nx ny nz per line, the official SIREN code's format):
N points uniformly by area, each with its face's unit normal, turned
outward when the mesh is wound inside out (negative signed volume, as the
horse scan is). Independent
of libsiren's reader and sampler (numpy only), so the benchmark's input is
not made by the code it measures.

    bench/sample_ply.py MESH.ply N OUT.xyz [--seed S]
"""
import argparse
import sys

import numpy as np

TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
         "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
         "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
         "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def read_ply(path):
    data = open(path, "rb").read()
    end = data.index(b"end_header") + len(b"end_header")
    end = data.index(b"\n", end) + 1
    lines = data[:end].decode("ascii").splitlines()
    fmt = lines[1].split()[1]
    elems = []
    for l in lines:
        w = l.split()
        if w and w[0] == "element":
            elems.append([w[1], int(w[2]), []])
        elif w and w[0] == "property":
            elems[-1][2].append(w[1:])
    body = data[end:]
    if fmt == "ascii":
        tok = body.split()
        pos = 0
        out = {}
        for name, count, props in elems:
            rows = []
            for _ in range(count):
                row = []
                for p in props:
                    if p[0] == "list":
                        k = int(tok[pos]); pos += 1
                        row.append([float(t) for t in tok[pos:pos + k]]); pos += k
                    else:
                        row.append(float(tok[pos])); pos += 1
                rows.append(row)
            out[name] = (props, rows)
        v = np.array([[r[[p[-1] for p in out["vertex"][0]].index(a)] for a in "xyz"]
                      for r in out["vertex"][1]], dtype=np.float64)
        fi = [p[-1] for p in out["face"][0]].index(
            next(p[-1] for p in out["face"][0] if p[0] == "list"))
        faces = [list(map(int, r[fi])) for r in out["face"][1]]
    else:
        bo = "<" if fmt == "binary_little_endian" else ">"
        pos = 0
        v = faces = None
        for name, count, props in elems:
            if all(p[0] != "list" for p in props):
                dt = np.dtype([(p[1], bo + TYPES[p[0]]) for p in props])
                arr = np.frombuffer(body, dtype=dt, count=count, offset=pos)
                pos += dt.itemsize * count
                if name == "vertex":
                    v = np.stack([arr["x"], arr["y"], arr["z"]], 1).astype(np.float64)
            else:  # faces: walk the lists
                assert len(props) == 1, "one list property per face expected"
                ct, it = np.dtype(bo + TYPES[props[0][1]]), np.dtype(bo + TYPES[props[0][2]])
                faces = []
                for _ in range(count):
                    k = int(np.frombuffer(body, ct, 1, pos)[0]); pos += ct.itemsize
                    faces.append(np.frombuffer(body, it, k, pos).astype(np.int64).tolist())
                    pos += it.itemsize * k
    tris = [(f[0], f[i], f[i + 1]) for f in faces for i in range(1, len(f) - 1)]
    return v, np.array(tris, dtype=np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mesh")
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    v, f = read_ply(a.mesh)
    p0, p1, p2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    cr = np.cross(p1 - p0, p2 - p0)
    area = 0.5 * np.linalg.norm(cr, axis=1)
    rng = np.random.default_rng(a.seed)
    face = rng.choice(len(f), size=a.n, p=area / area.sum())
    r1, r2 = rng.random(a.n), rng.random(a.n)
    s = np.sqrt(r1)[:, None]
    pts = (1 - s) * p0[face] + s * (1 - r2[:, None]) * p1[face] + s * r2[:, None] * p2[face]
    nrm = cr[face] / np.linalg.norm(cr[face], axis=1, keepdims=True)
    vol = np.einsum("ij,ij->i", p0, np.cross(p1, p2)).sum() / 6
    if vol < 0:
        nrm = -nrm
    np.savetxt(a.out, np.hstack([pts, nrm]), fmt="%.7g")
    print(f"{a.mesh}: {len(v)} vertices, {len(f)} triangles -> {a.n} oriented "
          f"points in {a.out}" + (" (winding inward: normals flipped)" if vol < 0 else ""),
          file=sys.stderr)


if __name__ == "__main__":
    main()

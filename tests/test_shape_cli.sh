#!/bin/sh
# The shape commands end to end (CLI.md): `siren fit sdf` on an oriented
# point cloud (XYZ) and on a mesh (OBJ), `siren mesh` to PLY and OBJ (read
# back by an independent numpy parser: closed, outward, on the sphere),
# `siren eval` against the cloud (JSON keys, Chamfer small), `siren fit
# occupancy`, the divergence guard's warning and its error with the model
# kept, and the bad inputs (exit 1 with one line naming the file, no
# output left behind) and bad command lines (exit 2).
. "$(dirname "$0")/lib.sh"


# A sphere of radius 2 around (1, 2, 3): 3000 points with exact normals
# (a Fibonacci lattice), and an octahedron-based OBJ mesh of the same sphere.
"$PY" - "$T" <<'PYEOF'
import math, sys
d = sys.argv[1]
n = 3000
with open(f"{d}/sphere.xyz", "w") as f:
    for i in range(n):
        z = 1 - 2 * (i + 0.5) / n
        r = math.sqrt(1 - z * z)
        a = i * math.pi * (3 - math.sqrt(5))
        x, y = r * math.cos(a), r * math.sin(a)
        f.write(f"{1 + 2 * x:.7f} {2 + 2 * y:.7f} {3 + 2 * z:.7f} {x:.7f} {y:.7f} {z:.7f}\n")
# a subdivided octahedron projected on the sphere, outward winding
v = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
faces = [(0, 2, 4), (2, 1, 4), (1, 3, 4), (3, 0, 4), (2, 0, 5), (1, 2, 5), (3, 1, 5), (0, 3, 5)]
for _ in range(4):
    mid = {}
    def m(a, b):
        k = (min(a, b), max(a, b))
        if k not in mid:
            p = [(v[a][j] + v[b][j]) / 2 for j in range(3)]
            l = math.sqrt(sum(c * c for c in p))
            v.append(tuple(c / l for c in p))
            mid[k] = len(v) - 1
        return mid[k]
    nf = []
    for a, b, c in faces:
        ab, bc, ca = m(a, b), m(b, c), m(c, a)
        nf += [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
    faces = nf
with open(f"{d}/sphere.obj", "w") as f:
    for p in v:
        f.write("v %.7f %.7f %.7f\n" % (1 + 2 * p[0], 2 + 2 * p[1], 3 + 2 * p[2]))
    for a, b, c in faces:
        f.write(f"f {a + 1} {b + 1} {c + 1}\n")
PYEOF

SMALL="--hidden 64 --layers 2 --omega0 5 --threads 2 --quiet"
if "$S" fit sdf "$T/sphere.xyz" -o "$T/s.safetensors" --steps 800 --batch 1000 $SMALL --json \
        >"$T/fit.json" 2>"$T/fit.err"; then
    ok "fit sdf on a 3000-point sphere cloud: $(cut -c1-160 "$T/fit.json")"
else
    notok "fit sdf: $(cat "$T/fit.err")"
fi
"$PY" - "$T/fit.json" <<'PYEOF' && ok "fit sdf --json has task, steps, seconds, ms_per_step, loss, params, vertices" || notok "fit sdf --json keys"
import json, sys
o = json.load(open(sys.argv[1]))
need = {"task", "steps", "seconds", "ms_per_step", "loss", "params", "vertices", "faces"}
sys.exit(0 if need <= set(o) and o["task"] == "sdf" and o["steps"] == 800 and o["vertices"] == 3000 else 1)
PYEOF

for ext in ply obj; do
    if "$S" mesh "$T/s.safetensors" -o "$T/m.$ext" --res 48 --json --quiet >"$T/mesh.json" 2>"$T/mesh.err"; then
        ok "mesh to .$ext at res 48: $(cat "$T/mesh.json")"
    else
        notok "mesh to .$ext: $(cat "$T/mesh.err")"
    fi
done
if "$S" mesh "$T/s.safetensors" -o "$T/dense.ply" --res 48 --dense --quiet 2>"$T/err" &&
   cmp -s "$T/dense.ply" "$T/m.ply"; then
    ok "mesh --dense writes the same file as the coarse-to-fine default"
else
    notok "mesh --dense differs: $(cat "$T/err")"
fi
# independent readers of the two files: same mesh, closed, outward, on the
# sphere of radius 2 around (1, 2, 3), normals radial
"$PY" - "$T" <<'PYEOF'
import struct, sys, math
import numpy as np
d = sys.argv[1]
def read_ply(p):
    b = open(p, "rb").read()
    e = b.index(b"end_header\n") + len(b"end_header\n")
    head = b[:e].decode().split("\n")
    assert head[1] == "format binary_little_endian 1.0", head[1]
    nv = int(next(l for l in head if l.startswith("element vertex")).split()[2])
    nf = int(next(l for l in head if l.startswith("element face")).split()[2])
    props = [l.split()[2] for l in head if l.startswith("property float")]
    assert props == ["x", "y", "z", "nx", "ny", "nz"], props
    v = np.frombuffer(b, "<f4", nv * 6, e).reshape(nv, 6)
    f = np.frombuffer(b, np.dtype([("n", "u1"), ("i", "<i4", 3)]), nf, e + nv * 24)
    assert (f["n"] == 3).all()
    return v[:, :3].astype(np.float64), v[:, 3:].astype(np.float64), f["i"].astype(np.int64)
def read_obj(p):
    v, vn, f = [], [], []
    for l in open(p):
        w = l.split()
        if not w: continue
        if w[0] == "v": v.append([float(x) for x in w[1:4]])
        elif w[0] == "vn": vn.append([float(x) for x in w[1:4]])
        elif w[0] == "f": f.append([int(x.split("/")[0]) - 1 for x in w[1:4]])
    return np.array(v), np.array(vn), np.array(f)
fails = 0
def check(c, msg):
    global fails
    print(("ok - " if c else "not ok - ") + msg)
    fails += not c
pv, pn, pf = read_ply(f"{d}/m.ply")
ov, on, of = read_obj(f"{d}/m.obj")
check(np.allclose(pv, ov, atol=1e-6) and (pf == of).all() and np.allclose(pn, on, atol=1e-6),
      f"PLY and OBJ hold the same mesh ({len(pv)} vertices, {len(pf)} triangles)")
e = np.sort(np.concatenate([pf[:, [0, 1]], pf[:, [1, 2]], pf[:, [2, 0]]]), axis=1)
_, cnt = np.unique(e, axis=0, return_counts=True)
directed = {tuple(x) for x in np.concatenate([pf[:, [0, 1]], pf[:, [1, 2]], pf[:, [2, 0]]])}
check((cnt == 2).all() and len(directed) == 3 * len(pf),
      "the mesh is closed: every edge in exactly two triangles, in opposite directions")
check(len(np.unique(pv, axis=0)) == len(pv), "no duplicate vertices")
c = np.array([1.0, 2.0, 3.0])
r = np.linalg.norm(pv - c, axis=1)
check(np.abs(r - 2).max() < 0.08, f"vertices on the sphere of radius 2 in the input's frame (max |r - 2| {np.abs(r - 2).max():.4f})")
a, b, cc = pv[pf[:, 0]], pv[pf[:, 1]], pv[pf[:, 2]]
vol = np.einsum("ij,ij->i", a - c, np.cross(b - c, cc - c)).sum() / 6
check(abs(vol - 4 / 3 * math.pi * 8) < 0.05 * 4 / 3 * math.pi * 8, f"outward, volume {vol:.3f} vs {4 / 3 * math.pi * 8:.3f}")
cosr = np.einsum("ij,ij->i", pn, (pv - c) / r[:, None])
check(cosr.min() > 0.97, f"vertex normals (exact gradient) radial: min cos {cosr.min():.4f}")
sys.exit(1 if fails else 0)
PYEOF

if "$S" eval "$T/s.safetensors" "$T/sphere.xyz" --res 48 --samples 20000 --json >"$T/eval.json" 2>"$T/eval.err"; then
    "$PY" - "$T/eval.json" <<'PYEOF' && ok "eval vs the cloud: $(cat "$T/eval.json" | cut -c1-220)" || notok "eval: $(cat "$T/eval.json")"
import json, sys
o = json.load(open(sys.argv[1]))
sys.exit(0 if {"chamfer", "normal_consistency", "fscore"} <= set(o) and
         o["chamfer_rel"] < 0.01 and o["fscore"] > 0.9 and o["normal_consistency"] > 0.95 else 1)
PYEOF
else
    notok "eval: $(cat "$T/eval.err")"
fi

# points without normals: estimated (PCA of neighbours, MST orientation)
cut -d' ' -f1-3 "$T/sphere.xyz" >"$T/bare.xyz"
if "$S" fit sdf "$T/bare.xyz" -o "$T/b.safetensors" --steps 800 --batch 1000 $SMALL 2>"$T/err" &&
   "$S" eval "$T/b.safetensors" "$T/sphere.xyz" --res 48 --samples 20000 --json >"$T/beval.json" 2>>"$T/err" &&
   "$PY" -c "import json,sys; o=json.load(open('$T/beval.json')); sys.exit(0 if o['chamfer_rel'] < 0.01 and o['normal_consistency'] > 0.95 else 1)"; then
    ok "fit sdf on points without normals (estimated): $(cut -c1-200 "$T/beval.json")"
else
    notok "fit sdf without normals: $(cat "$T/err" "$T/beval.json")"
fi

# from a mesh, and occupancy of it
if "$S" fit sdf "$T/sphere.obj" -o "$T/o.safetensors" --points 5000 --steps 50 --batch 500 $SMALL 2>"$T/err"; then
    ok "fit sdf from an OBJ mesh (5000 points sampled)"
else
    notok "fit sdf from an OBJ mesh: $(cat "$T/err")"
fi
if "$S" fit occupancy "$T/sphere.obj" -o "$T/occ.safetensors" --points 20000 --steps 300 --batch 2000 --lr 1e-3 $SMALL --json >"$T/occ.json" 2>"$T/err" &&
   "$PY" -c "import json,sys; o=json.load(open('$T/occ.json')); sys.exit(0 if o['accuracy'] > 0.95 else 1)"; then
    ok "fit occupancy of the OBJ sphere: $(cut -c1-200 "$T/occ.json")"
else
    notok "fit occupancy: $(cat "$T/err" "$T/occ.json")"
fi
if "$S" mesh "$T/occ.safetensors" -o "$T/occ.ply" --res 32 --quiet 2>"$T/err"; then
    ok "occupancy model meshes at 0.5"
else
    notok "mesh of the occupancy model: $(cat "$T/err")"
fi

# the divergence guard, seen from the command line
"$S" fit sdf "$T/sphere.xyz" -o "$T/g.safetensors" --steps 5 --batch 200 --lr 10 \
    --max-retries 50 $SMALL >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && grep -q "siren: warning: step .*rolled back" "$T/err"; then
    ok "lr 10: warnings on stderr ($(grep -c warning "$T/err") rollbacks), the fit completes"
else
    notok "guard warnings: $(head -c 400 "$T/err")"
fi
"$S" fit sdf "$T/sphere.xyz" -o "$T/g2.safetensors" --steps 5 --batch 200 --lr 10 \
    --max-retries 0 $SMALL >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "diverged" "$T/err" && grep -q "written to $T/g2.safetensors" "$T/err" &&
   [ -f "$T/g2.safetensors" ]; then
    ok "no retries left: exit 1, the error says so, the last good model is written ($(tail -n1 "$T/err" | cut -c1-200))"
else
    notok "guard gives up: rc $rc, $(cat "$T/err")"
fi

# bad inputs: exit 1, one line naming the file, nothing written
printf 'ply\nformat binary_little_endian 1.0\nelement vertex 100\nproperty float x\nproperty float y\nproperty float z\nend_header\n\001\002' >"$T/trunc.ply"
expect_fail "truncated binary PLY" 1 "trunc.ply" "$T/x.safetensors" -- \
    "$S" fit sdf "$T/trunc.ply" -o "$T/x.safetensors" $SMALL
printf '0 0 0 0 0 1\n1 nan 0 0 0 1\n' >"$T/nan.xyz"
expect_fail "NaN coordinate in an XYZ file" 1 "nan.xyz" "$T/x.safetensors" -- \
    "$S" fit sdf "$T/nan.xyz" -o "$T/x.safetensors" $SMALL
printf 'v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n' >"$T/bad.obj"
expect_fail "OBJ face index out of range" 1 "bad.obj" "$T/x.safetensors" -- \
    "$S" fit sdf "$T/bad.obj" -o "$T/x.safetensors" $SMALL
expect_fail "missing shape file" 1 "none.ply" "$T/x.safetensors" -- \
    "$S" fit sdf "$T/none.ply" -o "$T/x.safetensors" $SMALL
expect_fail "occupancy of a point cloud" 1 "closed mesh" "$T/x.safetensors" -- \
    "$S" fit occupancy "$T/sphere.xyz" -o "$T/x.safetensors" $SMALL
expect_fail "a shape over --max-points" 1 "max-points" "$T/x.safetensors" -- \
    "$S" fit sdf "$T/sphere.xyz" -o "$T/x.safetensors" --max-points 100 $SMALL
"$S" fit image data/camera.png --size 16x16 --steps 1 --hidden 8 --layers 1 --quiet -o "$T/img.safetensors" 2>/dev/null
expect_fail "mesh of an image model" 1 "not a shape model" "$T/x.ply" -- \
    "$S" mesh "$T/img.safetensors" -o "$T/x.ply"
expect_fail "mesh --res 1" 2 "--res" "$T/x.ply" -- \
    "$S" mesh "$T/s.safetensors" -o "$T/x.ply" --res 1
expect_fail "mesh -o with another extension" 2 ".ply or .obj" "$T/x.stl" -- \
    "$S" mesh "$T/s.safetensors" -o "$T/x.stl"
expect_fail "fit sdf --size" 2 "--size" "$T/x.safetensors" -- \
    "$S" fit sdf "$T/sphere.xyz" -o "$T/x.safetensors" --size 8x8
expect_fail "eval against a broken reference" 1 "trunc.ply" - -- \
    "$S" eval "$T/s.safetensors" "$T/trunc.ply"

#!/usr/bin/python3
"""Draw a mesh written by `siren mesh` (binary PLY with vertex normals) as
a shaded picture, for the README: the vertices splatted into a z-buffer
from several views side by side, lit by their normals (the model's exact
gradient). numpy and PIL only; a picture, not a measurement.

    scripts/render_mesh.py MESH.ply OUT.png [--size 400] [--views Y:P[:R],...]
"""
import argparse

import numpy as np
from PIL import Image


def read_ply(path):
    b = open(path, "rb").read()
    e = b.index(b"end_header\n") + len(b"end_header\n")
    head = b[:e].decode().split("\n")
    nv = int(next(l for l in head if l.startswith("element vertex")).split()[2])
    props = [l.split()[2] for l in head if l.startswith("property float")]
    if props[:6] != ["x", "y", "z", "nx", "ny", "nz"]:
        raise SystemExit(f"{path}: expected x y z nx ny nz (siren mesh output)")
    v = np.frombuffer(b, "<f4", nv * 6, e).reshape(nv, 6).astype(np.float64)
    return v[:, :3], v[:, 3:]


def view(p, n, R, size, pad=0.05):
    """Orthographic view after rotation R: pixels, shading, depth."""
    q, m = p @ R.T, n @ R.T
    lo, hi = q[:, :2].min(0), q[:, :2].max(0)
    s = (1 - 2 * pad) * size / (hi - lo).max()
    c = (lo + hi) / 2
    x = ((q[:, 0] - c[0]) * s + size / 2).astype(int)
    y = (size / 2 - (q[:, 1] - c[1]) * s).astype(int)
    light = np.array([0.4, 0.5, 0.77])
    light /= np.linalg.norm(light)
    shade = 0.15 + 0.85 * np.clip(m @ light, 0, 1)
    img = np.full((size, size), 1.0)
    zbuf = np.full((size, size), -np.inf)
    order = np.argsort(q[:, 2])  # far to near: the nearest is written last
    for dx in (0, 1):
        for dy in (0, 1):
            xx, yy = np.clip(x + dx, 0, size - 1), np.clip(y + dy, 0, size - 1)
            xs, ys, z, sh = xx[order], yy[order], q[order, 2], shade[order]
            front = z >= zbuf[ys, xs]
            zbuf[ys[front], xs[front]] = z[front]
            img[ys[front], xs[front]] = sh[front]
    return img


def rot(yaw, pitch, roll=0.0):
    a, b, c = np.radians(yaw), np.radians(pitch), np.radians(roll)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rx @ ry @ rz


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mesh")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--views", default="90:10,0:10,-40:25,180:10",
                    help="yaw:pitch[:roll] in degrees, comma-separated")
    ap.add_argument("--up", choices=("x", "y", "z"), default="y",
                    help="the shape's up axis, drawn upwards")
    a = ap.parse_args()
    p, n = read_ply(a.mesh)
    # turn the up axis onto y first; the views then turn about it
    up = {"x": rot(0, 0, 90), "y": np.eye(3), "z": rot(0, -90)}[a.up]
    tiles = [view(p, n, rot(*map(float, v.split(":"))) @ up, a.size)
             for v in a.views.split(",")]
    img = np.concatenate(tiles, axis=1)
    Image.fromarray((255 * img).astype(np.uint8)).save(a.out)


if __name__ == "__main__":
    main()

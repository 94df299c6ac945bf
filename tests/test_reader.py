"""An independent reader for siren model files: parses safetensors with the
standard library, evaluates the SIREN in float64 with NumPy and compares to
(1) the PyTorch golden values in tests/data/testvectors and (2) what
`siren render` writes for a model that `siren fit` just made. Shares no code
with the C library. Run from the repo root by tests/run.sh with Debian's
/usr/bin/python3; BUILD names the build directory (default "build").
"""
import ast
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

FAILED = 0
DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
REQUIRED_META = ("format", "version", "activation", "in_features",
                 "out_features", "hidden_features", "hidden_layers",
                 "first_omega_0", "hidden_omega_0", "task")
TESTVECTORS = os.path.join("tests", "data", "testvectors")


def check(cond, msg):
    global FAILED
    print(("ok - " if cond else "not ok - ") + msg, flush=True)
    if not cond:
        FAILED += 1
    return cond


def read_safetensors(path):
    """(tensors, dtypes, metadata, header length); ValueError if malformed."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes, shorter than 8")
    (hlen,) = struct.unpack("<Q", raw[:8])
    if hlen > len(raw) - 8:
        raise ValueError(f"{path}: header length {hlen} exceeds the file")
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", {})
    if not (isinstance(meta, dict) and
            all(isinstance(v, str) for v in meta.values())):
        raise ValueError(f"{path}: __metadata__ is not string -> string")
    data = raw[8 + hlen:]
    tensors, dtypes, spans = {}, {}, []
    for name, e in header.items():
        dt = DTYPES.get(e.get("dtype"))
        shape = e.get("shape")
        offs = e.get("data_offsets")
        if dt is None:
            raise ValueError(f"{path}: {name}: dtype {e.get('dtype')!r}")
        if not (isinstance(shape, list) and
                all(isinstance(d, int) and d >= 0 for d in shape)):
            raise ValueError(f"{path}: {name}: bad shape {shape!r}")
        if not (isinstance(offs, list) and len(offs) == 2 and
                all(isinstance(o, int) for o in offs) and
                0 <= offs[0] <= offs[1] <= len(data)):
            raise ValueError(f"{path}: {name}: bad data_offsets {offs!r}")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if offs[1] - offs[0] != count * dt.itemsize:
            raise ValueError(f"{path}: {name}: offsets {offs} do not hold "
                             f"shape {shape} of {e['dtype']}")
        tensors[name] = np.frombuffer(data[offs[0]:offs[1]],
                                      dtype=dt).reshape(shape)
        dtypes[name] = e["dtype"]
        spans.append(tuple(offs))
    pos = 0
    for b, e in sorted(spans):
        if b != pos:
            raise ValueError(f"{path}: data section has a hole or overlap "
                             f"at byte {pos}")
        pos = e
    if pos != len(data):
        raise ValueError(f"{path}: tensors cover {pos} of {len(data)} "
                         f"data bytes")
    return tensors, dtypes, meta, hlen


def check_model(tag, tensors, dtypes, meta):
    """Required metadata and shapes; returns the parsed config or None."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if not check(not missing, f"{tag}: required metadata keys present "
                 f"(missing: {missing})"):
        return None
    check(meta["format"] == "siren", f"{tag}: format = siren")
    check(meta["activation"] == "sine", f"{tag}: activation = sine")
    try:
        cfg = dict(version=int(meta["version"]),
                   d=int(meta["in_features"]), m=int(meta["out_features"]),
                   h=int(meta["hidden_features"]),
                   L=int(meta["hidden_layers"]),
                   w0=float(meta["first_omega_0"]),
                   wh=float(meta["hidden_omega_0"]))
    except ValueError as exc:
        check(False, f"{tag}: numeric metadata parses ({exc})")
        return None
    d, m, h, L = cfg["d"], cfg["m"], cfg["h"], cfg["L"]
    want = {}
    for i in range(L + 1):
        want[f"net.{i}.linear.weight"] = (h, d if i == 0 else h)
        want[f"net.{i}.linear.bias"] = (h,)
    want[f"net.{L + 1}.weight"] = (m, h)
    want[f"net.{L + 1}.bias"] = (m,)
    got = {k: tuple(v.shape) for k, v in tensors.items()}
    check(got == want, f"{tag}: tensor names and shapes match the metadata "
          f"(in {d}, hidden {h} x {L}, out {m})")
    check(all(dt == "F32" for dt in dtypes.values()),
          f"{tag}: every parameter is F32")
    return cfg if got == want else None


def siren_forward(tensors, cfg, x):
    """Phi(x) in float64: x is (n, in), the result (n, out)."""
    hcur = np.asarray(x, dtype=np.float64)
    L = cfg["L"]
    for i in range(L + 1):
        w = tensors[f"net.{i}.linear.weight"].astype(np.float64)
        b = tensors[f"net.{i}.linear.bias"].astype(np.float64)
        omega = cfg["w0"] if i == 0 else cfg["wh"]
        hcur = np.sin(omega * (hcur @ w.T + b))
    w = tensors[f"net.{L + 1}.weight"].astype(np.float64)
    b = tensors[f"net.{L + 1}.bias"].astype(np.float64)
    return hcur @ w.T + b


def read_npy(path):
    """A float32 .npy, checking the header that CLI.md promises."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:6] != b"\x93NUMPY" or raw[6:8] != b"\x01\x00":
        raise ValueError(f"{path}: not a format 1.0 .npy file")
    (hlen,) = struct.unpack("<H", raw[8:10])
    hdr = ast.literal_eval(raw[10:10 + hlen].decode("latin1"))
    if (10 + hlen) % 64 != 0:
        raise ValueError(f"{path}: data not 64-byte aligned")
    if hdr.get("descr") != "<f4" or hdr.get("fortran_order") is not False:
        raise ValueError(f"{path}: header {hdr}")
    arr = np.frombuffer(raw[10 + hlen:], dtype="<f4")
    return arr.reshape(hdr["shape"])


def test_testvectors():
    for case in ("image_gray", "image_rgb", "sdf", "audio"):
        tag = f"testvector {case}"
        try:
            tensors, dtypes, meta, _ = read_safetensors(
                os.path.join(TESTVECTORS, f"{case}.model.safetensors"))
            exp, exp_dt, _, _ = read_safetensors(
                os.path.join(TESTVECTORS, f"{case}.expected.safetensors"))
        except (OSError, ValueError) as exc:
            check(False, f"{tag}: parse ({exc})")
            continue
        check(True, f"{tag}: model and expected files parse")
        cfg = check_model(tag, tensors, dtypes, meta)
        if cfg is None:
            continue
        check(exp_dt.get("x") == "F64" and exp_dt.get("value") == "F64",
              f"{tag}: expected x and value are F64")
        x, value = exp["x"], exp["value"]
        if not check(x.shape[1] == cfg["d"] and value.shape ==
                     (x.shape[0], cfg["m"]), f"{tag}: x {x.shape} and value "
                     f"{value.shape} fit the model"):
            continue
        err = np.max(np.abs(siren_forward(tensors, cfg, x) - value))
        rel = err / np.max(np.abs(value))
        check(rel < 1e-5, f"{tag}: float64 forward matches PyTorch "
              f"(max error {rel:.2e} of max |value|)")


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=300)
    return p.returncode, (p.stdout + p.stderr).strip().replace("\n", " | ")


def test_cli():
    build = os.environ.get("BUILD", "build")
    siren = os.path.join(build, "siren")
    if not check(os.access(siren, os.X_OK), f"{siren} exists"):
        return
    with tempfile.TemporaryDirectory(prefix="siren_reader_") as tmp:
        model = os.path.join(tmp, "m.safetensors")
        npy = os.path.join(tmp, "v.npy")
        rc, out = run([siren, "fit", "image", "data/camera.png",
                       "--size", "32x32", "--steps", "30", "--hidden", "32",
                       "--layers", "2", "-o", model, "--quiet"])
        if not check(rc == 0 and os.path.exists(model),
                     f"siren fit image writes a model (rc {rc}: {out})"):
            return
        leftovers = sorted(set(os.listdir(tmp)) - {"m.safetensors"})
        check(not leftovers, f"fit leaves no other files ({leftovers})")
        try:
            tensors, dtypes, meta, hlen = read_safetensors(model)
        except (OSError, ValueError) as exc:
            check(False, f"fit's model parses as safetensors ({exc})")
            return
        check(True, "fit's model parses as safetensors")
        check(hlen % 8 == 0, f"header length {hlen} is padded to 8")
        cfg = check_model("fit's model", tensors, dtypes, meta)
        if cfg is None:
            return
        check((cfg["d"], cfg["m"], cfg["h"], cfg["L"]) == (2, 1, 32, 2),
              f"--hidden 32 --layers 2 on a gray image gives in 2, out 1, "
              f"hidden 32 x 2 (got {cfg['d']}, {cfg['m']}, {cfg['h']} x "
              f"{cfg['L']})")
        check(meta["task"] == "image", f"task = image ({meta['task']!r})")

        H, W = 24, 40
        rc, out = run([siren, "render", model, "-o", npy,
                       "--size", f"{W}x{H}"])
        if not check(rc == 0 and os.path.exists(npy),
                     f"siren render writes a .npy (rc {rc}: {out})"):
            return
        try:
            phi = read_npy(npy)
        except (OSError, ValueError, SyntaxError) as exc:
            check(False, f"render's .npy parses ({exc})")
            return
        if not check(phi.shape == (H, W, cfg["m"]),
                     f"render --size {W}x{H} gives shape (H, W, out) = "
                     f"{(H, W, cfg['m'])} (got {phi.shape})"):
            return
        rows = np.linspace(-1, 1, H)
        cols = np.linspace(-1, 1, W)
        x = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1)
        ref = siren_forward(tensors, cfg, x.reshape(-1, 2))
        err = np.max(np.abs(ref.reshape(H, W, -1) - phi))
        check(err < 1e-4, f"rendered values match the independent float64 "
              f"forward at (row, col) = linspace grid (max |diff| "
              f"{err:.2e})")
        check(np.std(phi) > 1e-3, f"the fitted network is not constant "
              f"(std {np.std(phi):.3g})")


def main():
    test_testvectors()
    test_cli()
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

"""A model written by siren loads into a PyTorch SIREN with load_state_dict
(the README's loader) and gives the values `siren render` writes. Runs where
Debian's python3-torch is installed (bench/run installs it); elsewhere it
says it was skipped and counts nothing."""
import json, os, struct, subprocess, sys, tempfile

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"# skipped: {e} (install python3-torch to run this test)")
    sys.exit(0)

BUILD = os.environ.get("BUILD", "build")
failed = 0


def check(cond, msg):
    global failed
    print(("ok - " if cond else "not ok - ") + msg)
    failed += not cond


class SineLayer(torch.nn.Module):
    def __init__(self, i, o, omega):
        super().__init__()
        self.omega_0 = omega
        self.linear = torch.nn.Linear(i, o)

    def forward(self, x):
        return torch.sin(self.omega_0 * self.linear(x))


class Siren(torch.nn.Module):  # the official layout: net = [SineLayer..., Linear]
    def __init__(self, i, h, layers, o, w0, wh):
        super().__init__()
        net = [SineLayer(i, h, w0)] + [SineLayer(h, h, wh) for _ in range(layers)]
        net.append(torch.nn.Linear(h, o))
        self.net = torch.nn.Sequential(*net)

    def forward(self, x):
        return self.net(x)


def load_siren_state(path):  # the loader shown in README.md
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__")
    state = {k: torch.from_numpy(np.frombuffer(b, "<f4", int(np.prod(v["shape"])),
                                               8 + n + v["data_offsets"][0]).reshape(v["shape"]).copy())
             for k, v in header.items()}
    return state, meta


with tempfile.TemporaryDirectory() as t:
    m, v = os.path.join(t, "m.safetensors"), os.path.join(t, "v.npy")
    subprocess.run([f"{BUILD}/siren", "fit", "image", "data/camera.png", "--size", "24x24",
                    "--hidden", "24", "--layers", "2", "--steps", "20", "--quiet", "-o", m], check=True)
    subprocess.run([f"{BUILD}/siren", "render", m, "-o", v, "--size", "20x16"], check=True)
    state, meta = load_siren_state(m)
    model = Siren(int(meta["in_features"]), int(meta["hidden_features"]), int(meta["hidden_layers"]),
                  int(meta["out_features"]), float(meta["first_omega_0"]), float(meta["hidden_omega_0"]))
    try:
        model.load_state_dict(state, strict=True)
        check(True, "load_state_dict(strict=True) accepts every tensor name and shape")
    except RuntimeError as e:
        check(False, f"load_state_dict(strict=True) failed: {e}")
        sys.exit(1)
    rows, cols = torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 20)
    x = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        y = model.double()(x.double()).reshape(16, 20, -1).numpy()
    ours = np.load(v)
    err = float(np.abs(y - ours).max())
    check(err < 1e-4, f"PyTorch's output equals siren render's (max abs diff {err:.2e})")
sys.exit(1 if failed else 0)

"""A model written by siren loads into a PyTorch SIREN with load_state_dict
(the README's loader) and gives the values `siren render` writes; and
training is PyTorch's: from the same initial model, the official recipe
(MSE, torch.optim.Adam) in PyTorch ends where `siren fit` ends. Runs where
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

    # Same init, same data, same optimizer: the trained models must agree.
    init, fitted = os.path.join(t, "init.safetensors"), os.path.join(t, "fit.safetensors")
    common = ["--size", "32x32", "--hidden", "32", "--layers", "2", "--quiet"]
    subprocess.run([f"{BUILD}/siren", "fit", "image", "data/camera.png", "--steps", "0", "-o", init] + common,
                   check=True)
    out = subprocess.run([f"{BUILD}/siren", "fit", "image", "data/camera.png", "--steps", "60", "--json",
                          "-o", fitted] + common, check=True, capture_output=True, text=True)
    ours_psnr = json.loads(out.stdout)["psnr_db"]
    state, meta = load_siren_state(init)
    model = Siren(2, 32, 2, 1, 30.0, 30.0)
    model.load_state_dict(state)
    from PIL import Image
    img = np.asarray(Image.open("data/camera.png"), dtype=np.float64) / 255.0
    img = img.reshape(32, 16, 32, 16).mean(axis=(1, 3))  # area average 512 -> 32
    gt = torch.tensor((img * 2 - 1).reshape(-1, 1), dtype=torch.float32)
    lin = torch.linspace(-1, 1, 32)
    x = torch.stack(torch.meshgrid(lin, lin, indexing="ij"), -1).reshape(-1, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    for _ in range(60):
        loss = ((model(x) - gt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        torch_psnr = 10 * np.log10(4 / ((model(x) - gt) ** 2).mean().item())
    ours_state, _ = load_siren_state(fitted)
    pmax = max(float((ours_state[k] - v).abs().max()) for k, v in model.state_dict().items())
    check(abs(torch_psnr - ours_psnr) < 0.01,
          f"60 Adam steps from the same init: siren {ours_psnr:.4f} dB, PyTorch {torch_psnr:.4f} dB")
    check(pmax < 1e-4, f"... and the same parameters (max abs diff {pmax:.2e})")
sys.exit(1 if failed else 0)

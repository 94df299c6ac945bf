"""Fit the cameraman photo with a SIREN and render it at twice the size.

Notebook-style: run it whole (`python3 examples/fit_camera.py` from the
repository root, after `make shared`, or with the module installed by
`pip install ./python` and libsiren by `make install`), or cell by cell
(the `# %%` markers) in Jupyter or VS Code. STEPS, SIZE, HIDDEN and OUT in
the environment override the official recipe below (the test suite runs it
with STEPS=20 SIZE=32 HIDDEN=32).
"""
# %% Setup: the module, and the recipe
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "python"))  # the source tree's module
import siren  # noqa: E402

STEPS = int(os.environ.get("STEPS", 500))
SIZE = int(os.environ.get("SIZE", 256))
HIDDEN = int(os.environ.get("HIDDEN", 256))
OUT = os.environ.get("OUT", "out")
os.makedirs(OUT, exist_ok=True)
print("libsiren:", siren.library_path)

# %% Fit: the photo resampled to SIZE x SIZE, a progress line every 10%
def progress(p):
    if p.step % max(1, p.steps // 10) == 0:
        print(f"  step {p.step:4d}/{p.steps}  loss {p.loss:.3e}  PSNR {p.psnr_db:5.2f} dB")
    return False  # True would stop training here


t = time.time()
model = siren.fit(os.path.join(here, "..", "data", "camera.png"),
                  size=(SIZE, SIZE), steps=STEPS, hidden=HIDDEN, progress=progress)
print(model)
print(f"fitted in {time.time() - t:.1f} s, PSNR {model.result['psnr_db']:.2f} dB")

# %% Save the model: safetensors with PyTorch state_dict names
model.save(os.path.join(OUT, "camera.safetensors"))

# %% Render at twice the size: the same continuous function, sampled finer
big = model.render((2 * SIZE, 2 * SIZE))  # (2*SIZE, 2*SIZE) float32 in [0, 1]
print("rendered", big.shape, big.dtype, f"range [{big.min():.3f}, {big.max():.3f}]")
siren.save_png(os.path.join(OUT, "camera_2x.png"), big)  # or PIL:
# from PIL import Image; Image.fromarray((big * 255 + 0.5).astype("uint8")).save(...)

# %% Exact derivatives at any points: the gradient and Laplacian of the image
xy = siren.grid((SIZE, SIZE))               # (H, W, 2) coordinates (row, col)
grad = model.grad(xy)                       # (H, W, 1, 2) d/drow, d/dcol
lapl = model.laplacian(xy)                  # (H, W, 1)
print("mean |grad|", float(abs(grad).mean()), " mean |laplacian|", float(abs(lapl).mean()))

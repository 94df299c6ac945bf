"""siren: SIREN neural fields fitted on the CPU, from Python.

A thin binding of libsiren (the C library; include/siren.h is its whole
API) through ctypes and numpy only: no compiled extension. numpy arrays go
in and out without copies where the layout allows (C-contiguous float32 in;
renderings and parameters out are views of the library's own memory).

    import siren
    m = siren.fit("camera.png", size=(256, 256), steps=500)
    print(m.result["psnr_db"])
    big = m.render((512, 512))            # (512, 512) float32 in [0, 1]
    siren.save_png("camera_512.png", big)
    m.save("camera.safetensors")
    m2 = siren.load("camera.safetensors")

Conventions are the library's: sizes are (width, height) like the CLI's
WxH, arrays are (height, width[, channels]); coordinates are
linspace(-1, 1, n) per axis in the order (row, col), row -1 at the top;
image values [0, 1] are network outputs [-1, 1]. Every failure of the
library raises SirenError with its message (siren_last_error()).

The library is found through $SIREN_LIB, else next to this package, else
the source tree's build/, else the system (see siren._lib.candidates()).
"""
import collections
import ctypes
import os
from ctypes import POINTER, byref, c_char_p, c_float, c_void_p

import numpy as np

from . import _lib as _c

__version__ = "0.1.0"
__all__ = ["fit", "load", "Model", "SirenError", "Progress", "load_image",
           "save_png", "grid", "library_path"]

_L, library_path = _c.load()

TASKS = ("image", "grad", "lapl", "compose")

STATUS = {0: "SIREN_OK", 1: "SIREN_EINVAL", 2: "SIREN_EIO", 3: "SIREN_EFORMAT",
          4: "SIREN_ENOMEM", 5: "SIREN_ELIMIT", 6: "SIREN_ECANCELED"}


class SirenError(Exception):
    """A libsiren call failed. str(e) is the library's one-line message
    (e.g. "camera.png: no such file"); e.status is the siren_status number
    and e.status_name its name ("SIREN_EIO")."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status
        self.status_name = STATUS.get(status, "SIREN_E%d" % status)


def _check(status):
    if status != 0:
        raise SirenError(_L.siren_last_error().decode("utf-8", "replace"),
                         status)


Progress = collections.namedtuple("Progress",
                                  "step steps seconds loss psnr_db")
Progress.__doc__ = """Passed to fit()'s progress callback after every step:
steps done and planned, seconds since the start, the last step's loss and
its PSNR (NaN for tasks without one). Return True to stop training (the
model trained so far is kept)."""


# ----------------------------------------------------------- memory sharing

class _CBuffer:
    """Memory the library owns, shown to numpy: np.asarray() of it is a view
    whose base is this object, which frees the memory (free_image) or keeps
    its owner alive (owner) until the last view is gone."""

    def __init__(self, ptr, shape, free_image=None, owner=None):
        self.__array_interface__ = {"version": 3, "shape": tuple(shape),
                                    "typestr": "<f4", "data": (ptr, False)}
        self._ptr = ptr
        self._free_image = free_image
        self._owner = owner
        self._image_t = _c.siren_image  # still here at interpreter exit

    def __del__(self):
        if self._free_image is not None and self._ptr:
            img = self._image_t(0, 0, 0)
            img.data = ctypes.cast(self._ptr, POINTER(c_float))
            self._free_image(byref(img))
            self._ptr = None


def _image_array(img):
    """A siren_image the library allocated, as an (H, W) or (H, W, 3) array
    that frees it when garbage collected."""
    ptr = ctypes.cast(img.data, c_void_p).value
    shape = (img.height, img.width) + (() if img.channels == 1 else (img.channels,))
    return np.asarray(_CBuffer(ptr, shape, free_image=_L.siren_image_free))


def _fptr(a):
    return None if a is None else a.ctypes.data_as(POINTER(c_float))


def _f32(a):
    """a as a C-contiguous float32 array: a itself when it is one."""
    return np.ascontiguousarray(a, dtype=np.float32)


def _path(p):
    return os.fsencode(p)


def _is_path(x):
    return isinstance(x, (str, bytes, os.PathLike))


def _size(size):
    """None, N (square), (width, height) or "WxH" -> (width, height)."""
    if size is None:
        return None
    if isinstance(size, str):
        w, sep, h = size.lower().partition("x")
        if not sep:
            raise ValueError("size %r is not WIDTHxHEIGHT" % size)
        size = (int(w), int(h))
    elif isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    w, h = (int(v) for v in size)
    return w, h


class _Image:
    """A siren_image for a call: from a path (the library reads it) or an
    array (shared when it is C-contiguous float32, converted otherwise),
    resampled to size when given. Frees what the library allocated."""

    def __init__(self, src, size=None, name="image"):
        self.c = _c.siren_image()
        self._owned = False
        self._keep = None
        if _is_path(src):
            _check(_L.siren_image_load(_path(src), byref(self.c), None))
            self._owned = True
        else:
            a = np.asarray(src)
            if a.dtype == np.uint8:
                a = a.astype(np.float32) / np.float32(255)
            elif a.dtype == np.uint16:
                a = a.astype(np.float32) / np.float32(65535)
            elif a.dtype.kind not in "fb":
                raise TypeError("%s: dtype %s; expected float values in [0, 1] "
                                "or uint8" % (name, a.dtype))
            if a.ndim == 3 and a.shape[2] == 1:
                a = a[:, :, 0]
            if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
                raise ValueError("%s: shape %s; expected (H, W) or (H, W, 3)"
                                 % (name, a.shape))
            a = _f32(a)
            self._keep = a
            self.c.height, self.c.width = a.shape[0], a.shape[1]
            self.c.channels = 1 if a.ndim == 2 else 3
            self.c.data = _fptr(a)
        size = _size(size)
        if size and size != (self.c.width, self.c.height):
            dst = _c.siren_image()
            try:
                _check(_L.siren_image_resize(byref(self.c), size[0], size[1],
                                             byref(dst)))
            except BaseException:
                self.free()
                raise
            self.free()
            self.c, self._owned = dst, True

    def free(self):
        if self._owned:
            _L.siren_image_free(byref(self.c))
            self._owned = False
        self._keep = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()


# -------------------------------------------------------------------- models

class Model:
    """A fitted (or loaded) SIREN: siren_net, freed with the object.

    config    dict: in_features, out_features, hidden_features,
              hidden_layers, first_omega_0, hidden_omega_0, activation
    metadata  dict of the model file's string metadata (task, image size...)
    result    dict of the fit (steps, seconds, step_ms_median, loss,
              psnr_db, task); None for a loaded model
    params    every parameter in one float32 array, a view of the model's
              own memory (writable): per linear layer, weight [out][in]
              row-major, then bias [out]
    """

    def __init__(self, handle, result=None):
        self._h = c_void_p(handle)
        self._free = _L.siren_net_free  # still here at interpreter exit
        self.result = result

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and h.value:
            self._free(h)
            self._h = None

    @property
    def config(self):
        c = _L.siren_net_config(self._h).contents
        act = _L.siren_activation_name(c.activation)
        return {"in_features": c.in_features, "out_features": c.out_features,
                "hidden_features": c.hidden_features,
                "hidden_layers": c.hidden_layers,
                "first_omega_0": c.first_omega_0,
                "hidden_omega_0": c.hidden_omega_0,
                "activation": act.decode() if act else c.activation}

    @property
    def metadata(self):
        out = {}
        k, v = c_char_p(), c_char_p()
        for i in range(_L.siren_net_meta_count(self._h)):
            _L.siren_net_meta_at(self._h, i, byref(k), byref(v))
            out[k.value.decode()] = v.value.decode()
        return out

    @property
    def params(self):
        n = _L.siren_net_param_count(self._h)
        ptr = ctypes.cast(_L.siren_net_params(self._h), c_void_p).value
        return np.asarray(_CBuffer(ptr, (n,), owner=self))

    @property
    def size(self):
        """(width, height) the model was fitted at, or None."""
        m = self.metadata
        try:
            return int(m["image_width"]), int(m["image_height"])
        except (KeyError, ValueError):
            return None

    def __repr__(self):
        c = self.config
        return ("<siren.Model %d -> %dx%d hidden -> %d, omega_0 %g/%g, task %s>"
                % (c["in_features"], c["hidden_layers"], c["hidden_features"],
                   c["out_features"], c["first_omega_0"], c["hidden_omega_0"],
                   self.metadata.get("task", "?")))

    def save(self, path):
        """Write the model (safetensors with PyTorch state_dict names),
        atomically."""
        _check(_L.siren_net_save(self._h, _path(path)))

    # ------------------------------------------------------ points

    def _points(self, points):
        d = self.config["in_features"]
        x = _f32(points)
        if x.ndim == 0 or x.shape[-1] != d:
            raise ValueError("points: shape %s; expected (..., %d)"
                             % (np.shape(points), d))
        lead = x.shape[:-1]
        return x, lead, int(np.prod(lead, dtype=np.int64))

    def derivatives(self, points, threads=0):
        """Values and exact derivatives at points (..., d) in one pass:
        (values (..., m), grad (..., m, d), d2 (..., m, d) the second
        derivative along each axis, laplacian (..., m))."""
        return self._derivs(points, threads, True, True, True, True)

    def _derivs(self, points, threads, want_y, want_g, want_d2, want_l):
        x, lead, n = self._points(points)
        m, d = self.config["out_features"], x.shape[-1]
        y = np.empty(lead + (m,), np.float32) if want_y else None
        g = np.empty(lead + (m, d), np.float32) if want_g else None
        d2 = np.empty(lead + (m, d), np.float32) if want_d2 else None
        lp = np.empty(lead + (m,), np.float32) if want_l else None
        if n:
            _check(_L.siren_net_eval_derivs(self._h, _fptr(x), n, _fptr(y),
                                            _fptr(g), _fptr(d2), _fptr(lp),
                                            threads))
        return y, g, d2, lp

    def values(self, points, threads=0):
        """The network's raw outputs at points (..., d): (..., m), in its
        [-1, 1] convention for images."""
        x, lead, n = self._points(points)
        y = np.empty(lead + (self.config["out_features"],), np.float32)
        if n:
            _check(_L.siren_net_eval(self._h, _fptr(x), n, _fptr(y), threads))
        return y

    def grad(self, points, threads=0):
        """Exact gradient at points (..., d): (..., m, d), dy_k/dx_j per unit
        of the coordinates."""
        return self._derivs(points, threads, False, True, False, False)[1]

    def laplacian(self, points, threads=0):
        """Exact Laplacian at points (..., d): (..., m)."""
        return self._derivs(points, threads, False, False, False, True)[3]

    # ----------------------------------------------------- grids

    def _grid_size(self, size):
        s = _size(size) or self.size
        if s is None:
            raise ValueError("size: the model records no image size; give one")
        return s

    def render(self, size=None, threads=0):
        """The image at size (width, height) (default: the size it was fitted
        at): (H, W) or (H, W, 3) float32 in [0, 1], values mapped back and
        clamped as `siren render` does (for grad, lapl and compose models,
        the reconstruction). The array is the library's own buffer."""
        w, h = self._grid_size(size)
        img = _c.siren_image()
        _check(_L.siren_render_image(self._h, w, h, threads, byref(img)))
        return _image_array(img)

    def render_values(self, size=None, threads=0):
        """The raw network output on the grid: (H, W, m), unclamped (what
        `siren render -o x.npy` writes)."""
        w, h = self._grid_size(size)
        out = np.empty((h, w, self.config["out_features"]), np.float32)
        _check(_L.siren_render_values(self._h, w, h, threads, _fptr(out)))
        return out

    def render_derivatives(self, size=None, threads=0):
        """Values, gradients and Laplacians on the grid: (H, W, m),
        (H, W, m, 2) with [..., 0] = d/drow and [..., 1] = d/dcol, (H, W, m)."""
        w, h = self._grid_size(size)
        m = self.config["out_features"]
        v = np.empty((h, w, m), np.float32)
        g = np.empty((h, w, m, 2), np.float32)
        lp = np.empty((h, w, m), np.float32)
        _check(_L.siren_render_derivs(self._h, w, h, threads, _fptr(v),
                                      _fptr(g), _fptr(lp)))
        return v, g, lp


def load(path):
    """A model file written by Model.save or `siren fit`."""
    h = c_void_p()
    _check(_L.siren_net_load(_path(path), byref(h)))
    return Model(h.value)


# ------------------------------------------------------------------ training

PRECISIONS = {"fp32": 0, "bf16": 1}  # siren_precision

def fit(image, task="image", steps=500, size=None, hidden=256, layers=3,
        omega0=30.0, lr=1e-4, seed=0, threads=0, progress=None, *,
        omega0_hidden=30.0, batch=None, target_psnr=None, b=None, mask=None,
        precision="fp32"):
    """Fit a SIREN to an image and return the Model.

    image     a path (PNG, JPEG, BMP, PGM, PPM, read by the library) or an
              array (H, W) or (H, W, 3): float in [0, 1] (C-contiguous
              float32 is used in place) or uint8
    task      "image" (values), "grad" (Sobel gradients only), "lapl" (the
              Laplacian only) or "compose" (Poisson editing of image and b,
              with an optional mask, white = b); as `siren fit TASK`
    size      resample the input first: (width, height), N or "WxH"
    hidden, layers, omega0, omega0_hidden, lr, steps, seed, threads, batch
              (None: full batch), target_psnr: as the CLI's options; the
              defaults are the official recipe; threads 0 = all cores
    precision "fp32" or "bf16" (the big matrix products on bf16 operands,
              fp32 sums; CPUs with AVX512_BF16): as `--precision`
    progress  called after every step with a Progress; returning True stops
              training (the model so far is kept). An exception raised in
              it stops training and propagates from fit().

    The same seed and threads give the same model as `siren fit`.
    """
    if task not in TASKS:
        raise ValueError("task %r: not one of %s" % (task, ", ".join(TASKS)))
    if task == "compose" and b is None:
        raise ValueError("compose needs a second image, b=")
    if task != "compose" and (b is not None or mask is not None):
        raise ValueError("b= and mask= are for task='compose'")
    if target_psnr and task != "image":
        raise ValueError("target_psnr is for the image task only")
    if precision not in PRECISIONS:
        raise ValueError("precision %r: not fp32 or bf16" % (precision,))
    if not _L.siren_precision_supported(PRECISIONS[precision]):
        raise ValueError("precision %r: this CPU lacks AVX512_BF16" % (precision,))
    opt = _L.siren_train_opts_default()
    opt.precision = PRECISIONS[precision]
    opt.steps = int(steps)
    opt.lr = float(lr)
    opt.seed = int(seed)
    opt.threads = int(threads)
    opt.batch = 0 if batch in (None, "full") else int(batch)
    opt.target_psnr = float(target_psnr or 0)
    caught = []

    def on_step(user, p):
        try:
            if progress is None:
                return 0
            c = p.contents
            return 1 if progress(Progress(c.step, c.steps, c.seconds, c.loss,
                                          c.psnr_db)) else 0
        except BaseException as e:  # KeyboardInterrupt too: stop, re-raise
            caught.append(e)
            return 1

    # Installed even without a callback: a step that runs Python lets
    # Ctrl-C stop the fit (KeyboardInterrupt out of fit()).
    opt.progress = _c.siren_progress_fn(on_step)
    imgs = []
    try:
        imgs.append(_Image(image, size))
        a = imgs[0].c
        cfg = _L.siren_config_default(2, a.channels if task == "image" else 1)
        cfg.hidden_features = int(hidden)
        cfg.hidden_layers = int(layers)
        cfg.first_omega_0 = float(omega0)
        cfg.hidden_omega_0 = float(omega0_hidden)
        net, res = c_void_p(), _c.siren_fit_result()
        if task == "compose":
            imgs.append(_Image(b, (a.width, a.height), "b"))
            if mask is not None:
                imgs.append(_Image(mask, (a.width, a.height), "mask"))
            st = _L.siren_fit_compose(byref(a), byref(imgs[1].c),
                                      byref(imgs[2].c) if mask is not None else None,
                                      byref(cfg), byref(opt), byref(net),
                                      byref(res))
        else:
            f = getattr(_L, "siren_fit_" + task)
            st = f(byref(a), byref(cfg), byref(opt), byref(net), byref(res))
    finally:
        for im in imgs:
            im.free()
    model = Model(net.value) if net.value else None
    if caught:
        del model
        raise caught[0]
    if st:
        if _is_path(image):
            msg = _L.siren_last_error().decode("utf-8", "replace")
            name = os.fsdecode(image)
            if not msg.startswith(name):
                raise SirenError("%s: %s" % (name, msg), st)
        _check(st)
    model.result = {"task": task, "steps": res.steps, "seconds": res.seconds,
                    "step_ms_median": res.step_ms_median, "loss": res.loss,
                    "psnr_db": res.psnr_db}
    return model


# -------------------------------------------------------------------- images

def load_image(path, size=None):
    """Read a PNG, JPEG, BMP, PGM or PPM with the library: (H, W) or
    (H, W, 3) float32 in [0, 1] (alpha dropped), resampled to size
    (width, height) when given."""
    if not _is_path(path):
        raise TypeError("load_image: %r is not a path" % (path,))
    with _Image(path, size) as im:
        im._owned = False  # the array owns the pixels now
        return _image_array(im.c)


def save_png(path, image):
    """Write an (H, W) or (H, W, 3) image (float in [0, 1], clamped, or
    uint8) as an 8-bit PNG, atomically."""
    with _Image(image, None, "image") as im:
        _check(_L.siren_image_write_png(_path(path), byref(im.c)))


def grid(size):
    """The coordinates Model.render samples for size (width, height):
    (H, W, 2) float32, [..., 0] = row, [..., 1] = col, each
    linspace(-1, 1) computed as the library does (bit-identical)."""
    w, h = _size(size)

    def axis(n):
        if n == 1:
            return np.zeros(1, np.float32)
        i = np.arange(n, dtype=np.float32)
        return np.float32(-1) + np.float32(2) * i / np.float32(n - 1)

    g = np.empty((h, w, 2), np.float32)
    g[..., 0] = axis(h)[:, None]
    g[..., 1] = axis(w)[None, :]
    return g

"""Finding and loading libsiren, and its C API mirrored with ctypes.

Every structure here has the fields of include/siren.h in the same order
and with the same C types, so ctypes lays them out as the C compiler does
(tests/test_python.py checks sizes and offsets against the compiler's).
Nothing here converts arrays or raises the module's errors: __init__.py
does that.
"""
import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float,
                    c_int, c_size_t, c_uint64, c_void_p)

SOMAJOR = 0  # the soname's major version: libsiren.so.0


# ---------------------------------------------------------------- structures

class siren_image(Structure):
    _fields_ = [("width", c_int), ("height", c_int), ("channels", c_int),
                ("data", POINTER(c_float))]


class siren_config(Structure):
    _fields_ = [("in_features", c_int), ("out_features", c_int),
                ("hidden_features", c_int), ("hidden_layers", c_int),
                ("first_omega_0", c_float), ("hidden_omega_0", c_float),
                ("activation", c_int),  # siren_activation, an enum
                ("encoding", c_int), ("encoding_features", c_int),
                ("ff_scale", c_float), ("init_first", c_int),
                ("init_hidden", c_int), ("init_std", c_float),
                ("tuner_period", c_float), ("tuner_bandlimit", c_int),
                ("freeze_first", c_int)]


class siren_progress(Structure):
    _fields_ = [("step", c_int), ("steps", c_int), ("seconds", c_double),
                ("loss", c_double), ("psnr_db", c_double),
                ("warning", c_char_p), ("lr", c_double)]


# int (*)(void *user, const siren_progress *p)
siren_progress_fn = CFUNCTYPE(c_int, c_void_p, POINTER(siren_progress))

# int (*)(void *user, float *grad, size_t n, double *loss_parts, int n_loss)
siren_reduce_fn = CFUNCTYPE(c_int, c_void_p, POINTER(c_float), c_size_t,
                            POINTER(c_double), c_int)


class siren_train_opts(Structure):
    # lr_schedule is the C enum siren_lr_schedule: an int
    _fields_ = [("steps", c_int), ("lr", c_float), ("lr_schedule", c_int),
                ("lr_final", c_float), ("warmup", c_int), ("beta1", c_float),
                ("beta2", c_float), ("eps", c_float), ("batch", c_size_t),
                ("seed", c_uint64), ("threads", c_int), ("precision", c_int),
                ("target_psnr", c_double), ("progress", siren_progress_fn),
                ("user", c_void_p), ("checkpoint", c_char_p),
                ("checkpoint_every", c_int), ("resume", c_char_p),
                ("jump_factor", c_double), ("max_retries", c_int),
                ("l1", c_float), ("bound_hidden", c_float), ("l1_units", c_float),
                ("shard_rank", c_int), ("shard_count", c_int),
                ("reduce", siren_reduce_fn), ("reduce_user", c_void_p),
                ("band_penalty", c_double), ("band_lines", c_int),
                ("add_prune_every", c_int), ("add_prune_frac", c_float)]


class siren_fit_result(Structure):
    _fields_ = [("steps", c_int), ("seconds", c_double),
                ("step_ms_median", c_double), ("loss", c_double),
                ("psnr_db", c_double), ("accuracy", c_double)]


class siren_poisson_eval(Structure):
    _fields_ = [("psnr_db", c_double), ("ssim", c_double),
                ("grad_psnr_db", c_double), ("lapl_psnr_db", c_double)]


STRUCTS = (siren_image, siren_config, siren_progress, siren_train_opts,
           siren_fit_result, siren_poisson_eval)


# ------------------------------------------------------------------- loading

def candidates():
    """Where libsiren is looked for, in order: $SIREN_LIB alone when set;
    else next to this package, the source tree's build/ (python/siren/ ->
    build/), then the system (the dynamic linker's search, ldconfig's cache,
    /usr/local/lib)."""
    env = os.environ.get("SIREN_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    names = ["libsiren.so", "libsiren.so.%d" % SOMAJOR]
    paths = [os.path.join(here, n) for n in names]
    paths.append(os.path.join(root, "build", "libsiren.so"))
    paths = [p for p in paths if os.path.exists(p)]
    paths.append("libsiren.so.%d" % SOMAJOR)
    found = ctypes.util.find_library("siren")
    if found:
        paths.append(found)
    paths.append("/usr/local/lib/libsiren.so.%d" % SOMAJOR)
    return paths


def load():
    """The first candidate that loads, with its prototypes set; ImportError
    naming every place tried otherwise."""
    tried = []
    for path in candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        _prototypes(lib)
        return lib, path
    raise ImportError("libsiren not found; build it with `make shared` or "
                  "install it with `make install`, or set SIREN_LIB to its "
                  "path. Tried: " + "; ".join(tried))


def _proto(lib, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


def _prototypes(lib):
    P = POINTER
    net = c_void_p  # siren_net *, opaque
    fp = P(c_float)
    st = c_int      # siren_status
    _proto(lib, "siren_status_str", c_char_p, c_int)
    _proto(lib, "siren_last_error", c_char_p)
    _proto(lib, "siren_image_load", st, c_char_p, P(siren_image), P(c_int))
    _proto(lib, "siren_image_resize", st, P(siren_image), c_int, c_int,
           P(siren_image))
    _proto(lib, "siren_image_write_png", st, c_char_p, P(siren_image))
    _proto(lib, "siren_image_free", None, P(siren_image))
    _proto(lib, "siren_npy_write", st, c_char_p, fp, c_int, P(c_size_t))
    _proto(lib, "siren_psnr", c_double, fp, fp, c_size_t, c_double)
    _proto(lib, "siren_ssim", st, P(siren_image), P(siren_image), c_double,
           P(c_double))
    _proto(lib, "siren_activation_name", c_char_p, c_int)
    _proto(lib, "siren_activation_parse", c_int, c_char_p)
    _proto(lib, "siren_config_default", siren_config, c_int, c_int)
    _proto(lib, "siren_net_create", st, P(siren_config), c_uint64, P(net))
    _proto(lib, "siren_net_free", None, net)
    _proto(lib, "siren_net_config", P(siren_config), net)
    _proto(lib, "siren_net_param_count", c_size_t, net)
    _proto(lib, "siren_net_params", fp, net)
    _proto(lib, "siren_net_set_meta", st, net, c_char_p, c_char_p)
    _proto(lib, "siren_net_get_meta", c_char_p, net, c_char_p)
    _proto(lib, "siren_net_meta_count", c_int, net)
    _proto(lib, "siren_net_meta_at", None, net, c_int, P(c_char_p),
           P(c_char_p))
    _proto(lib, "siren_net_save", st, net, c_char_p)
    _proto(lib, "siren_net_load", st, c_char_p, P(net))
    _proto(lib, "siren_net_eval", st, net, fp, c_size_t, fp, c_int)
    _proto(lib, "siren_net_eval_derivs", st, net, fp, c_size_t, fp, fp, fp,
           fp, c_int)
    _proto(lib, "siren_train_opts_default", siren_train_opts)
    _proto(lib, "siren_precision_supported", c_int, c_int)
    for task in ("image", "grad", "lapl"):
        _proto(lib, "siren_fit_" + task, st, P(siren_image), P(siren_config),
               P(siren_train_opts), P(net), P(siren_fit_result))
    _proto(lib, "siren_fit_compose", st, P(siren_image), P(siren_image),
           P(siren_image), P(siren_config), P(siren_train_opts), P(net),
           P(siren_fit_result))
    _proto(lib, "siren_eval_poisson", st, net, P(siren_image), c_int,
           P(siren_poisson_eval))
    _proto(lib, "siren_render_image", st, net, c_int, c_int, c_int,
           P(siren_image))
    _proto(lib, "siren_render_values", st, net, c_int, c_int, c_int, fp)
    _proto(lib, "siren_render_derivs", st, net, c_int, c_int, c_int, fp, fp,
           fp)

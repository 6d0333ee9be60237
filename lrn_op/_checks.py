"""Argument checks shared by every front end, so that bad input gets one clear message naming the argument.

The C++ kernels check the same things again (lrn_api.cc: check_params) for graph users who call the raw ops.
"""
import math
import numbers
import os
import platform
import warnings

import numpy as np

DATA_FORMATS = ("NHWC", "NCHW")
# The SIMD paths a build for this architecture has (lrn_api.cc).
SIMD_PATHS = {"x86_64": ("baseline", "avx2", "avx512"), "AMD64": ("baseline", "avx2", "avx512"),
              "aarch64": ("neon",)}.get(platform.machine(), ("baseline",))
MAX_DEPTH_RADIUS = 2**31 - 1
# The storage types the kernels have.
DTYPES = ("float16", "bfloat16", "float32", "float64")


def check(depth_radius, bias, alpha, beta, data_format="NHWC"):
    """Returns the op attributes as a dict, or raises TypeError / ValueError naming the bad argument."""
    return {
        "depth_radius": _depth_radius(depth_radius),
        "bias": _finite("bias", bias),
        "alpha": _finite("alpha", alpha),
        "beta": _finite("beta", beta),
        "data_format": _data_format(data_format),
    }


def kernel_params(depth_radius, bias, alpha, beta, data_format):
    """(depth_radius, bias, alpha, beta, channels_first), checked: what the kernels of the numpy, JAX and PyTorch
    front ends take."""
    attrs = check(depth_radius, bias, alpha, beta, data_format)
    return (attrs["depth_radius"], attrs["bias"], attrs["alpha"], attrs["beta"], attrs["data_format"] == "NCHW")


def check_input(name, dtype_name, shape=None):
    """TypeError for a dtype the kernels lack, ValueError for a shape that is not 4-D (when one is given)."""
    if dtype_name not in DTYPES:
        raise TypeError(f"{name} must be float16, bfloat16, float32 or float64, got {dtype_name}")
    if shape is not None and len(shape) != 4:
        raise ValueError(f"{name} must be 4-dimensional, got shape {tuple(shape)}")


def match_x(x, **arrays):
    """ValueError naming the first of `arrays` (dy, y) whose shape or dtype is not x's."""
    for name, array in arrays.items():
        if tuple(array.shape) != tuple(x.shape) or array.dtype != x.dtype:
            raise ValueError(f"{name} must match x in shape and dtype, got {tuple(array.shape)} {array.dtype} "
                             f"for x {tuple(x.shape)} {x.dtype}")


def _depth_radius(value):
    # TF accepts an integral float (2.0) where it wants an int; so do we, but never 2.5.
    if isinstance(value, numbers.Integral):
        radius = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        radius = int(value)
    else:
        raise TypeError(f"depth_radius must be an integer, got {value!r}")
    if radius < 0:
        raise ValueError(f"depth_radius must be non-negative, got {radius}")
    if radius > MAX_DEPTH_RADIUS:
        raise ValueError(f"depth_radius must be less than 2**31, got {radius}")
    return radius


def _finite(name, value):
    if isinstance(value, (str, bytes)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def _data_format(value):
    if value not in DATA_FORMATS:
        raise ValueError(f"data_format must be 'NHWC' or 'NCHW', got {value!r}")
    return value


EXACT = ("bias", "alpha", "beta")


def exact_text(attrs):
    """bias, alpha and beta as the ops' exact_bias_alpha_beta attribute: Python's shortest repr of each double,
    which reads back as the same double (cc/lrn_api.cc: parse_exact_params)."""
    return " ".join(repr(attrs[key]) for key in EXACT)


def parse_exact_text(text):
    """The parameters an exact_bias_alpha_beta attribute holds; none where it is empty (graphs saved before it)."""
    return dict(zip(EXACT, map(float, text.split()))) if text else {}


def refuse_complex(name, value):
    """TypeError for complex input (arrays, Python complex numbers, nested lists of them), which numpy and
    tf.convert_to_tensor would otherwise cast to real with at most a warning, dropping the imaginary part."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:  # Python numbers and (nested) lists
        is_complex = _holds_complex(value)
    elif isinstance(dtype, np.dtype):  # numpy arrays and scalars
        is_complex = dtype.kind == "c"
    else:  # tensors
        is_complex = getattr(dtype, "is_complex", False)
    if is_complex:
        raise TypeError(f"{name} must be real (float16, bfloat16, float32 or float64), got complex values")


def _holds_complex(value):
    if isinstance(value, (list, tuple)):
        return any(_holds_complex(item) for item in value)
    return isinstance(value, (complex, np.complexfloating))


def check_simd_request(path_in_use):
    """Warns, once per process, when LRN_OP_SIMD asks for a path that is not the one the kernels run on: a name
    that is no path, or a path this CPU cannot run (lrn_api.cc then takes the best one it can)."""
    requested = os.environ.get("LRN_OP_SIMD")
    if requested is None or requested == path_in_use or getattr(check_simd_request, "warned", False):
        return
    check_simd_request.warned = True
    if requested not in SIMD_PATHS:
        reason = f"names no SIMD path (the paths are {', '.join(SIMD_PATHS)})"
    else:
        reason = "asks for a path this CPU cannot run"
    warnings.warn(f"LRN_OP_SIMD={requested!r} {reason}: lrn_op runs the {path_in_use} path", RuntimeWarning,
                  stacklevel=3)

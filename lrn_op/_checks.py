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


# How every front end (TF, numpy, JAX, PyTorch) treats each kind of input: docs/guides/front_ends.md's table says the
# same, and tests/test_front_ends.py feeds each kind to all four and checks the answer against this table.
COERCION = (
    ("float16, bfloat16, float32, float64", "computed in that dtype; the result has it too"),
    ("bool or integer host data: Python numbers, nested lists, numpy arrays",
     "float32 (a gradient's dy and y: x's dtype), as tf.nn.lrn converts them"),
    ("bool or integer tensors of TF, JAX or PyTorch",
     "TypeError: x must be float16, bfloat16, float32 or float64, got int32"),
    ("complex values of any kind", "TypeError: x must be float16, bfloat16, float32 or float64, got complex64"),
    ("not 4-dimensional", "ValueError: x must be 4-dimensional, got shape (2, 3)"),
    ("empty (any dimension 0, channels included)", "an empty result of the same shape and dtype"),
    ("NaN or Inf", "computed: a NaN reaches only the outputs whose window holds it; an Inf gives NaN in its own "
                   "channel and 0 in the others of its window"),
    ("depth_radius 0, or past the depth", "computed: a window of one channel, or of all of them"),
    ("dy or y of another dtype than x", "TypeError: dy must have the dtype of x, float32, got float64"),
    ("dy or y of another shape than x", "ValueError: dy must have the shape of x, (1, 2, 2, 4), got (1, 2, 2, 5)"),
    ("non-contiguous (numpy, PyTorch)",
     "read through a contiguous copy; PyTorch's channels_last NCHW is read in place"),
    ("not on the CPU (PyTorch)", "ValueError: x must be on the CPU (lrn_op's kernels are CPU kernels), got meta"),
    ("LRN_OP_SIMD naming no path the CPU has", "RuntimeWarning, once; the best path the CPU has runs"),
)


def dtype_name(value):
    """The name of a typed value's dtype as numpy spells it ("float32", "bfloat16", "int64", "bool"), for numpy
    arrays and scalars and TF, JAX and PyTorch tensors alike; None for Python numbers and lists."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return None
    return getattr(dtype, "name", None) or str(dtype).removeprefix("torch.")


# Whether each dtype object met so far (numpy's, TF's, PyTorch's) is one of DTYPES: a dtype's name is slow to
# build, and small tensors pay for every microsecond of the checks.
_KERNEL_DTYPE = {}


def takes_default_dtype(name, value):
    """Applies COERCION's dtype rows to one input. False if `value` keeps its own dtype: a float array or tensor.
    True if it takes the front end's default dtype: host data (Python numbers, nested lists, numpy arrays) of
    bools, integers or Python floats, as tf.nn.lrn converts it. TypeError, naming the argument, for anything else:
    a bool or integer tensor of TF, JAX or PyTorch (tf.nn.lrn refuses those), complex values (whose imaginary part a
    conversion would silently drop), strings."""
    dtype = getattr(value, "dtype", None)
    if dtype is None or isinstance(value, (np.ndarray, np.generic)):
        try:
            host = value if isinstance(value, np.ndarray) else np.asarray(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be a 4-D array of floats, got {type(value).__name__}: {error}") from None
        kind = host.dtype.kind
        if kind in "biu" or (kind == "f" and dtype is None):
            return True
        if kind not in "fcV":
            raise TypeError(f"{name} must be a 4-D array of floats, got {type(value).__name__}")
        dtype, value = host.dtype, host
    accepted = _KERNEL_DTYPE.get(dtype)
    if accepted is None:
        accepted = _KERNEL_DTYPE[dtype] = dtype_name(value) in DTYPES
    if not accepted:
        raise TypeError(f"{name} must be float16, bfloat16, float32 or float64, got {dtype_name(value)}")
    return False


def check_rank(name, shape):
    """ValueError, naming the argument, for a shape that is not 4-D (a shape of unknown rank passes)."""
    if shape is not None and len(shape) != 4:
        raise ValueError(f"{name} must be 4-dimensional, got shape {tuple(shape)}")


def match_x(x_name, x, **arrays):
    """TypeError naming the first of `arrays` (dy, y) whose dtype is not x's; ValueError for the first whose shape
    is not x's, where both are known."""
    for name, array in arrays.items():
        if array.dtype != x.dtype:
            raise TypeError(f"{name} must have the dtype of {x_name}, {dtype_name(x)}, got {dtype_name(array)}")
    for name, array in arrays.items():
        if array.shape == x.shape:
            continue
        shape, x_shape = tuple(array.shape), tuple(x.shape)
        if None not in shape + x_shape:
            raise ValueError(f"{name} must have the shape of {x_name}, {x_shape}, got {shape}")


def release(version):
    """The leading numbers of a version string, for comparison: "2.22.0-dev20261101" -> (2, 22, 0)."""
    numbers = []
    for part in version.replace("-", ".").split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


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

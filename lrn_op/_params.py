"""The parameters of every front end, checked in Python where a call must fail before any kernel runs: at TF graph
construction, at jit tracing, on PyTorch's fake tensors. Each check raises TypeError or ValueError naming the argument;
lrn_api.cc checks the same ranges again for callers of the raw ops."""
import functools
import math
import numbers

DATA_FORMATS = ("NHWC", "NCHW")
MAX_DEPTH_RADIUS = 2**31 - 1


def check(depth_radius, bias, alpha, beta, data_format="NHWC"):
    """Returns the op attributes as a dict, or raises TypeError / ValueError naming the bad argument."""
    return {
        "depth_radius": _depth_radius(depth_radius),
        "bias": finite("bias", bias),
        "alpha": finite("alpha", alpha),
        "beta": finite("beta", beta),
        "data_format": _data_format(data_format),
    }


def _negative_zero(value):
    """Whether value is a -0.0 of any real type; the common types first, without the slower numbers.Real check."""
    kind = type(value)
    if kind is float:
        return value == 0 and math.copysign(1.0, value) < 0
    if kind is int or kind is str:
        return False
    return isinstance(value, numbers.Real) and value == 0 and math.copysign(1.0, value) < 0


def cached(function):
    """`function` behind a cache of its results for parameters seen before, for the checks every call of a small
    tensor pays for. The key tells apart what compares equal but computes otherwise: 2 and 2.0 (typed), and 0.0 and
    -0.0 (a zero's sign is in the key: alpha = -0.0 flips the sign of a zero gradient). Unhashable parameters (a
    tensor, a list) call it every time, and so does one it refuses: what it raises is never cached. Its results must
    be immutable."""
    hashable = functools.lru_cache(maxsize=256, typed=True)(lambda signs, *args: function(*args))

    @functools.wraps(function)
    def wrapper(*args):
        try:
            return hashable(tuple(map(_negative_zero, args)), *args)
        except TypeError:  # unhashable, or refused with a TypeError that the call below raises again
            return function(*args)

    return wrapper


@cached
def kernel_params(depth_radius, bias, alpha, beta, data_format):
    """(before, after, bias, alpha, beta, channels_first), checked: what the kernels of the numpy, JAX and PyTorch
    front ends take, for TF's parameters (a symmetric window)."""
    attrs = check(depth_radius, bias, alpha, beta, data_format)
    radius = attrs["depth_radius"]
    return (radius, radius, attrs["bias"], attrs["alpha"], attrs["beta"], attrs["data_format"] == "NCHW")


CONVENTIONS = ("torch", "onnx")


@cached
def convention_params(size, alpha, beta, k, convention):
    """The same tuple as kernel_params for PyTorch's or ONNX's parameters (lrn_op.convert has the windows): channels
    at axis 1, as both frameworks lay them out."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be 'torch' or 'onnx', got {convention!r}")
    from lrn_op import convert

    window = convert.window_of("torch", size=size, alpha=alpha, beta=beta, k=k)
    if convention == "onnx":  # the mirror of PyTorch's window, for an even size
        window = window._replace(before=window.after, after=window.before)
    return (*window, True)


def size(name, value):
    """A window size: a positive integer (an integral float too, as depth_radius takes one)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value).is_integer():
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if not 1 <= value <= MAX_DEPTH_RADIUS:
        raise ValueError(f"{name} must be a positive integer less than 2**31, got {int(value)}")
    return int(value)


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


def finite(name, value):
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

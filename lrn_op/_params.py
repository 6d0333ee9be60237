"""The parameters of every front end, checked in Python where a call must fail before any kernel runs: at TF graph
construction, at jit tracing, on PyTorch's fake tensors. Each check raises TypeError or ValueError naming the argument;
lrn_api.cc checks the same ranges again for callers of the raw ops."""
import math
import numbers

DATA_FORMATS = ("NHWC", "NCHW")
MAX_DEPTH_RADIUS = 2**31 - 1


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

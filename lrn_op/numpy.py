"""A numpy front end over the same C++ math as the TF op. It never imports TensorFlow.

The functions take and return numpy arrays of float16, float32 or float64 (and ml_dtypes.bfloat16); the work runs
on lrn_op's thread pool, over every CPU the process may use, with the GIL released. The parameters mean what they
mean in `lrn_op.local_response_normalization`; inputs are coerced as every front end coerces them
(`lrn_op._coercion.COERCION`, docs/guides/front_ends.md's table).
"""
import numpy as np

import lrn_op
from lrn_op import _coercion, _params, _simd

try:
    from lrn_op import _lrn_numpy
except ImportError as error:
    raise lrn_op._not_built(error) from None

_simd.check_simd_request(_lrn_numpy.simd_path())


def _as_input(name, value, default=np.float32):
    """An input as a C-contiguous array, coerced as COERCION says."""
    value, takes_default = _coercion.coerce(name, value)
    array = np.asarray(value, dtype=default if takes_default else None)
    _coercion.check_rank(name, array.shape)
    return np.ascontiguousarray(array)


def _params_of(depth_radius, bias, alpha, beta, data_format):
    *params, channels_first = _params.kernel_params(depth_radius, bias, alpha, beta, data_format)
    return _lrn_numpy.Params(*params), channels_first


def _output(out, like, *inputs):
    """A fresh array like `like`, or `out` once it is checked: as numpy's ufuncs take out=, so that a caller who
    reuses its buffers skips a fresh array's page faults."""
    if out is None:
        return np.empty_like(like)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != like.shape or out.dtype != like.dtype:
        raise ValueError(f"out must have the shape and dtype of the result, {like.shape} {like.dtype}, "
                         f"got {out.shape} {out.dtype}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be C-contiguous and writeable")
    if any(np.shares_memory(out, array) for array in inputs):
        raise ValueError("out must not overlap the inputs")
    return out


def local_response_normalization(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC", *,
                                 out=None):
    """LRN of a 4-D array; see `lrn_op.local_response_normalization` for the math and the arguments.

    out: optional, a C-contiguous array of x's shape and dtype that does not overlap x, written and returned.
    """
    params, channels_first = _params_of(depth_radius, bias, alpha, beta, data_format)
    x = _as_input("x", x)
    y = _output(out, x, x)
    _lrn_numpy.forward(x, y, params, channels_first)
    return y


def local_response_normalization_grad(dy, x, y, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC", *,
                                      out=None):
    """The gradient with respect to x, given dy and y = LRN(x); see `lrn_op.local_response_normalization_grad`.

    out: optional, as in `local_response_normalization`.
    """
    params, channels_first = _params_of(depth_radius, bias, alpha, beta, data_format)
    x = _as_input("x", x)
    dy = _as_input("dy", dy, x.dtype)
    y = _as_input("y", y, x.dtype)
    _coercion.match_x("x", x, dy=dy, y=y)
    dx = _output(out, x, dy, x, y)
    _lrn_numpy.backward(dy, x, y, dx, params, channels_first)
    return dx


def simd_path():
    """The SIMD path the kernels run on: "avx512", "avx2" or "baseline" (SSE2) on x86-64, "neon" on aarch64
    (LRN_OP_SIMD can force one the CPU has)."""
    return _lrn_numpy.simd_path()

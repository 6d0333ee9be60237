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
    """An input as a C-contiguous array, coerced as COERCION says. Its rank, and its agreement with x, are the
    kernels' entry's to check (cc/lrn_api.cc), with the table's messages."""
    value, takes_default = _coercion.coerce(name, value)
    return np.require(np.asarray(value, dtype=default if takes_default else None), requirements="C")


def _run(kernel, params, x, inputs, out):
    """Runs the kernel over the inputs into out or a fresh array of x's shape and dtype."""
    *window, channels_first = params
    result = _output(out, x, *inputs)
    kernel(*inputs, result, _lrn_numpy.Params(*window), channels_first)
    return result


def _output(out, like, *inputs):
    """A fresh array like `like`, or `out` once it is checked (it must not overlap `like` or `inputs`): as numpy's
    ufuncs take out=, so that a caller who reuses its buffers skips a fresh array's page faults."""
    if out is None:
        return np.empty_like(like)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != like.shape or out.dtype != like.dtype:
        raise ValueError(f"out must have the shape and dtype of the result, {like.shape} {like.dtype}, "
                         f"got {out.shape} {out.dtype}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be C-contiguous and writeable")
    if any(np.shares_memory(out, array) for array in (like, *inputs)):
        raise ValueError("out must not overlap the inputs")
    return out


def local_response_normalization(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC", *,
                                 out=None):
    """LRN in TF's convention; see `lrn_op.local_response_normalization` for the math and the arguments. x has any
    rank of 3 or more: channels last (data_format="NHWC": (N, ..., C)) or after the batch axis ("NCHW": (N, C, ...)).

    out: optional, a C-contiguous array of x's shape and dtype that does not overlap x, written and returned.
    """
    params = _params.kernel_params(depth_radius, bias, alpha, beta, data_format)
    x = _as_input("x", x)
    return _run(_lrn_numpy.forward, params, x, [x], out)


def local_response_normalization_grad(dy, x, y, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC", *,
                                      out=None):
    """The gradient with respect to x, given dy and y = LRN(x); see `lrn_op.local_response_normalization_grad`.

    out: optional, as in `local_response_normalization`.
    """
    params = _params.kernel_params(depth_radius, bias, alpha, beta, data_format)
    x = _as_input("x", x)
    dy, y = _as_input("dy", dy, x.dtype), _as_input("y", y, x.dtype)
    return _run(_lrn_numpy.backward, params, x, [dy, x, y], out)


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0, *, convention="torch", out=None):
    """LRN in PyTorch's or ONNX's convention, over axis 1 of an (N, C, ...) array of rank 3 or more:

        y = x / (k + alpha / size * sum of x^2 over `size` channels) ** beta

    convention="torch" (`torch.nn.functional.local_response_norm`) takes the channels [c - size // 2,
    c + (size - 1) // 2]; "onnx" (ONNX's LRN, Caffe, oneDNN) takes [c - (size - 1) // 2, c + size // 2]. They differ
    for an even size only (`lrn_op.convert`).

    out: optional, as in `local_response_normalization`.
    """
    params = _params.convention_params(size, alpha, beta, k, convention)
    x = _as_input("x", x)
    return _run(_lrn_numpy.forward, params, x, [x], out)


def local_response_norm_grad(dy, x, y, size, alpha=1e-4, beta=0.75, k=1.0, *, convention="torch", out=None):
    """The gradient of `local_response_norm` with respect to x, given dy and y = local_response_norm(x)."""
    params = _params.convention_params(size, alpha, beta, k, convention)
    x = _as_input("x", x)
    dy, y = _as_input("dy", dy, x.dtype), _as_input("y", y, x.dtype)
    return _run(_lrn_numpy.backward, params, x, [dy, x, y], out)


def simd_path():
    """The SIMD path the kernels run on: "avx512", "avx2" or "baseline" (SSE2) on x86-64, "neon" on aarch64
    (LRN_OP_SIMD can force one the CPU has)."""
    return _lrn_numpy.simd_path()

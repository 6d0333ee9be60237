"""A PyTorch front end: lrn_op's kernels as `torch.library` custom ops, `lrn_op::local_response_normalization` and
`lrn_op::local_response_normalization_grad`, with autograd formulas to any order and fake (meta) implementations, so
that `torch.compile` traces them without a graph break and `torch.export` keeps them. It never imports TensorFlow.

Two conventions: `local_response_norm` and `LocalResponseNorm` are PyTorch's own (`torch.nn.functional`'s and
`torch.nn`'s signatures, defaults and results), and `replace_builtin()` makes PyTorch's own run lrn_op's kernels;
`local_response_normalization` is TF's (`lrn_op.local_response_normalization`'s parameters).

The kernels read and write the tensors' own memory through the numpy module's buffers: no copy on the way in or
out of a contiguous tensor. An NCHW tensor stored channels_last (`torch.channels_last`) is read as the NHWC memory it
is, and the result is channels_last too; other strides are made contiguous first. CPU tensors only.
"""
import functools
import warnings

import ml_dtypes
import torch

import lrn_op
from lrn_op import _coercion, _formulas, _params, _simd

try:
    from lrn_op import _lrn_numpy
except ImportError as error:
    raise lrn_op._not_built(error) from None

_simd.check_simd_request(_lrn_numpy.simd_path())


def _array(tensor):
    """A numpy view of a contiguous CPU tensor's memory (numpy has no bfloat16: ml_dtypes' is bit-compatible)."""
    tensor = tensor.detach()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def _stored_nhwc(x, channels_first):
    """An NCHW tensor stored channels_last (torch.channels_last): its memory is NHWC, which the kernels read as it
    is, and the fastest way they have (the row path)."""
    return (channels_first and x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last))


def _output_like(x, channels_first):
    """What the ops return: channels_last memory for a channels_last NCHW input, else contiguous."""
    stored_nhwc = _stored_nhwc(x, channels_first)
    return torch.empty_like(x, memory_format=torch.channels_last if stored_nhwc else torch.contiguous_format)


def _run(kernel, inputs, params, channels_first):
    """Runs a kernel over contiguous views of the inputs into a fresh output, and returns the output."""
    stored_nhwc = _stored_nhwc(inputs[0], channels_first)
    if stored_nhwc:
        views = [t.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1) for t in inputs]
    else:
        views = [t.contiguous() for t in inputs]
    out = torch.empty_like(views[0], memory_format=torch.contiguous_format)
    # As many threads as torch's own intra-op setting (torch.set_num_threads) allows.
    kernel(*map(_array, views), _array(out), _lrn_numpy.Params(*params), channels_first and not stored_nhwc,
           torch.get_num_threads())
    return out.permute(0, 3, 1, 2) if stored_nhwc else out


@torch.library.custom_op("lrn_op::local_response_normalization", mutates_args=(), device_types="cpu")
def _forward(x: torch.Tensor, before: int, after: int, bias: float, alpha: float, beta: float,
             channels_first: bool) -> torch.Tensor:
    return _run(_lrn_numpy.forward, [x], (before, after, bias, alpha, beta), channels_first)


@torch.library.custom_op("lrn_op::local_response_normalization_grad", mutates_args=(), device_types="cpu")
def _backward(dy: torch.Tensor, x: torch.Tensor, y: torch.Tensor, before: int, after: int, bias: float,
              alpha: float, beta: float, channels_first: bool) -> torch.Tensor:
    # x first: its memory layout decides the kernels' (the others follow it).
    def kernel(x, dy, y, dx, *settings):
        _lrn_numpy.backward(dy, x, y, dx, *settings)

    return _run(kernel, [x, dy, y], (before, after, bias, alpha, beta), channels_first)


@_forward.register_fake
def _(x, before, after, bias, alpha, beta, channels_first):
    return _output_like(x, channels_first)


@_backward.register_fake
def _(dy, x, y, before, after, bias, alpha, beta, channels_first):
    return _output_like(x, channels_first)


def _setup_context(ctx, inputs, output):
    x, *params = inputs
    ctx.save_for_backward(x, output)
    ctx.params = params


def _gradient(ctx, dy):
    x, y = ctx.saved_tensors
    return (torch.ops.lrn_op.local_response_normalization_grad(dy, x, y, *ctx.params),) + (None,) * len(ctx.params)


_forward.register_autograd(_gradient, setup_context=_setup_context)


def _window_sums(before, after, channel_axis):
    """The window sums of _formulas over the channel axis, (W, W'): the sums of each window's channels over a
    zero-padded copy."""

    def sum_over(v, before, after):
        padded = torch.nn.functional.pad(v.movedim(channel_axis, -1), (before, after))
        return padded.unfold(-1, before + after + 1, 1).sum(-1).movedim(-1, channel_axis)

    return _formulas.window_sums(before, after, lambda v: v.shape[channel_axis], sum_over)


def _setup_gradient_context(ctx, inputs, output):
    dy, x, y, *params = inputs
    ctx.save_for_backward(dy, x, y)
    ctx.params = params


def _gradient_of_gradient(ctx, g):
    """The second derivative, in PyTorch's own ops at float64 (_formulas.gradient_of_gradient), which autograd
    differentiates again for any higher order."""
    dy, x, y = ctx.saved_tensors
    before, after, bias, alpha, beta, channels_first = ctx.params
    wide = [t.to(torch.float64) for t in (g, dy, x, y)]
    windows = _window_sums(before, after, 1 if channels_first else -1)
    grads = _formulas.gradient_of_gradient(*windows, *wide, bias, alpha, beta)
    return tuple(grad.to(x.dtype) for grad in grads) + (None,) * len(ctx.params)


_backward.register_autograd(_gradient_of_gradient, setup_context=_setup_gradient_context)


# The dtypes the kernels have; replace_builtin() leaves the others (float8, complex, integers) to PyTorch.
_KERNEL_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _as_input(name, value, default=torch.float32):
    """An input as a CPU tensor, coerced as COERCION says. A tensor's dtype is checked against the kernels' own
    dtypes directly: torch.compile traces this, and cannot trace the hashing of the dtype cache of coerce()."""
    if isinstance(value, torch.Tensor):
        if value.dtype not in _KERNEL_DTYPES:
            raise _coercion.wrong_dtype(name, value)
        tensor = value
    else:
        value, takes_default = _coercion.coerce(name, value)
        tensor = torch.as_tensor(value, dtype=default if takes_default else None)
    _coercion.check_rank(name, tensor.shape)
    if tensor.device.type != "cpu":
        raise ValueError(f"{name} must be on the CPU (lrn_op's kernels are CPU kernels), got {tensor.device}")
    return tensor


def local_response_normalization(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC"):
    """LRN in TF's convention; see `lrn_op.local_response_normalization` for the math and the arguments. x is a CPU
    tensor of any rank of 3 or more: channels last (data_format="NHWC": (N, ..., C)) or after the batch axis
    ("NCHW": (N, C, ...)).

    Differentiable through autograd to any order: the first derivative runs lrn_op's kernel, higher ones PyTorch's own
    ops at float64.
    """
    return _forward(_as_input("x", x), *_params.kernel_params(depth_radius, bias, alpha, beta, data_format))


def local_response_normalization_grad(dy, x, y, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC"):
    """The gradient with respect to x, given dy and y = LRN(x), as `lrn_op.local_response_normalization_grad`."""
    x = _as_input("x", x)
    dy, y = _as_input("dy", dy, x.dtype), _as_input("y", y, x.dtype)
    _coercion.match_x("x", x, dy=dy, y=y)
    return _backward(dy, x, y, *_params.kernel_params(depth_radius, bias, alpha, beta, data_format))


# PyTorch's own, as it was before replace_builtin(): the even sizes' ONNX export and the cases lrn_op does not serve.
_torch_local_response_norm = torch.nn.functional.local_response_norm


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalization over the channels (axis 1), with lrn_op's kernels: a drop-in for
    `torch.nn.functional.local_response_norm`, with its signature, defaults and results:

        b_c = a_c * (k + alpha / n * sum of a_c'^2 for c' from c - n // 2 to c + (n - 1) // 2) ** -beta

    with the sum clipped to the channels there are.

    Args:
        input: a CPU tensor of shape (N, C, *), float16, bfloat16, float32 or float64.
        size: the number of neighbouring channels summed, n (an even one reaches one channel further back).
        alpha: the multiplier of the sum, divided by size. Default: 1e-4.
        beta: the exponent. Default: 0.75.
        k: the additive constant. Default: 1.0.

    Shape:
        Input: (N, C, *), of 3 or more dimensions. Output: the same shape (channels_last memory for a channels_last
        input).

    Differentiable through autograd to any order. Under `torch.onnx.export` an odd size exports as one ONNX LRN node;
    an even one as PyTorch's own decomposition, since ONNX centres an even window the other way.

    Example::

        >>> x = torch.randn(32, 96, 55, 55)
        >>> y = lrn_op.torch.local_response_norm(x, 5, alpha=1e-4, beta=0.75, k=2.0)
    """
    if torch.onnx.is_in_onnx_export():
        return _exported(input, size, alpha, beta, k)
    return _forward(_as_input("input", input), *_params.convention_params(size, alpha, beta, k, "torch"))


def _exported(input, size, alpha, beta, k):
    """What torch.onnx.export records: ONNX's LRN where its window is PyTorch's (an odd size), else PyTorch's own
    decomposition, and a warning that says so."""
    before, after, *_ = _params.convention_params(size, alpha, beta, k, "torch")
    if before == after:
        return torch.onnx.ops.symbolic("LRN", (input,), {"size": int(size), "alpha": float(alpha),
                                                         "beta": float(beta), "bias": float(k)},
                                       dtype=input.dtype, shape=input.shape, version=13)
    warnings.warn(f"lrn_op.torch.local_response_norm: size {size} is even, and ONNX's LRN centres an even window "
                  "one channel further forward than PyTorch does, so the export holds PyTorch's own decomposition "
                  "(pad, average pool, power) instead of an LRN node", UserWarning, stacklevel=3)
    return _torch_local_response_norm(input, size, alpha, beta, k)


class LocalResponseNorm(torch.nn.Module):
    """A drop-in for `torch.nn.LocalResponseNorm`, with lrn_op's kernels: see `local_response_norm` for the math,
    the arguments and the shapes.

    Example::

        >>> lrn = lrn_op.torch.LocalResponseNorm(2)
        >>> y = lrn(torch.randn(32, 5, 24, 24))
    """

    __constants__ = ["size", "alpha", "beta", "k"]

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        _params.convention_params(size, alpha, beta, k, "torch")  # refused now, not at the first call
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def replace_builtin():
    """Makes `torch.nn.functional.local_response_norm`, and so `torch.nn.LocalResponseNorm`, run lrn_op's kernels
    for the rest of the process, as `lrn_op.replace_builtin()` does for TF's LRN.

    It serves CPU tensors of float16, bfloat16, float32 and float64 with 3 or more dimensions and parameters lrn_op
    takes (a size of at least 1, finite alpha, beta and k); everything else (other devices and dtypes, the cases
    PyTorch refuses itself) keeps PyTorch's own code, with PyTorch's own messages. Calling it again does nothing.
    """
    if replaced():
        return

    @functools.wraps(_torch_local_response_norm)
    def replacement(input, size, alpha=1e-4, beta=0.75, k=1.0):
        if _serves(input, size, alpha, beta, k):
            return local_response_norm(input, size, alpha, beta, k)
        return _torch_local_response_norm(input, size, alpha, beta, k)

    replacement.lrn_op = True
    torch.nn.functional.local_response_norm = replacement


def replaced():
    """Whether `replace_builtin()` has run in this process."""
    return getattr(torch.nn.functional.local_response_norm, "lrn_op", False)


def _serves(input, size, alpha, beta, k):
    if not (isinstance(input, torch.Tensor) and input.device.type == "cpu" and input.dtype in _KERNEL_DTYPES
            and input.dim() >= 3):
        return False
    try:
        _params.convention_params(size, alpha, beta, k, "torch")
    except (TypeError, ValueError):
        return False
    return True


def simd_path():
    """The SIMD path the kernels run on, as `lrn_op.numpy.simd_path`."""
    return _lrn_numpy.simd_path()

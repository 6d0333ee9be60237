"""A PyTorch front end: lrn_op's kernels as `torch.library` custom ops, `lrn_op::local_response_normalization` and
`lrn_op::local_response_normalization_grad`, with an autograd formula and fake (meta) implementations, so that
`torch.compile` traces them without a graph break. It never imports TensorFlow.

The kernels read and write the tensors' own memory through the numpy module's buffers: no copy on the way in or
out of a contiguous tensor. An NCHW tensor stored channels_last (`torch.channels_last`) is read as the NHWC memory it
is, and the result is channels_last too; other strides are made contiguous first. CPU tensors only. The parameters
mean what they mean in `lrn_op.local_response_normalization`.
"""
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
    return channels_first and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


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
def _forward(x: torch.Tensor, depth_radius: int, bias: float, alpha: float, beta: float,
             channels_first: bool) -> torch.Tensor:
    return _run(_lrn_numpy.forward, [x], (depth_radius, bias, alpha, beta), channels_first)


@torch.library.custom_op("lrn_op::local_response_normalization_grad", mutates_args=(), device_types="cpu")
def _backward(dy: torch.Tensor, x: torch.Tensor, y: torch.Tensor, depth_radius: int, bias: float, alpha: float,
              beta: float, channels_first: bool) -> torch.Tensor:
    # x first: its memory layout decides the kernels' (the others follow it).
    def kernel(x, dy, y, dx, *settings):
        _lrn_numpy.backward(dy, x, y, dx, *settings)

    return _run(kernel, [x, dy, y], (depth_radius, bias, alpha, beta), channels_first)


@_forward.register_fake
def _(x, depth_radius, bias, alpha, beta, channels_first):
    return _output_like(x, channels_first)


@_backward.register_fake
def _(dy, x, y, depth_radius, bias, alpha, beta, channels_first):
    return _output_like(x, channels_first)


def _setup_context(ctx, inputs, output):
    x, *params = inputs
    ctx.save_for_backward(x, output)
    ctx.params = params


def _gradient(ctx, dy):
    x, y = ctx.saved_tensors
    return (torch.ops.lrn_op.local_response_normalization_grad(dy, x, y, *ctx.params),) + (None,) * len(ctx.params)


_forward.register_autograd(_gradient, setup_context=_setup_context)


def _window_sum(depth_radius, channel_axis):
    """The window sum of _formulas over the channel axis: the sums of 2r + 1 neighbours over a zero-padded copy."""

    def window_sum(v):
        radius = min(depth_radius, max(v.shape[channel_axis] - 1, 0))
        if radius == 0:
            return v
        padded = torch.nn.functional.pad(v.movedim(channel_axis, -1), (radius, radius))
        return padded.unfold(-1, 2 * radius + 1, 1).sum(-1).movedim(-1, channel_axis)

    return window_sum


def _setup_gradient_context(ctx, inputs, output):
    dy, x, y, *params = inputs
    ctx.save_for_backward(dy, x, y)
    ctx.params = params


def _gradient_of_gradient(ctx, g):
    """The second derivative, in PyTorch's own ops at float64 (_formulas.gradient_of_gradient), which autograd
    differentiates again for any higher order."""
    dy, x, y = ctx.saved_tensors
    depth_radius, bias, alpha, beta, channels_first = ctx.params
    wide = [t.to(torch.float64) for t in (g, dy, x, y)]
    grads = _formulas.gradient_of_gradient(_window_sum(depth_radius, 1 if channels_first else -1), *wide, bias,
                                           alpha, beta)
    return tuple(grad.to(x.dtype) for grad in grads) + (None,) * len(ctx.params)


_backward.register_autograd(_gradient_of_gradient, setup_context=_setup_gradient_context)


def _as_input(name, value, default=torch.float32):
    """An input as a CPU tensor, coerced as COERCION says."""
    value, takes_default = _coercion.coerce(name, value)
    if takes_default:
        tensor = torch.as_tensor(value, dtype=default)
    else:
        tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    _coercion.check_rank(name, tensor.shape)
    if tensor.device.type != "cpu":
        raise ValueError(f"{name} must be on the CPU (lrn_op's kernels are CPU kernels), got {tensor.device}")
    return tensor


def local_response_normalization(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC"):
    """LRN of a 4-D CPU tensor (NHWC, or NCHW with data_format="NCHW"); see `lrn_op.local_response_normalization`.

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


def simd_path():
    """The SIMD path the kernels run on, as `lrn_op.numpy.simd_path`."""
    return _lrn_numpy.simd_path()

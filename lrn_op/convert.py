"""The LRN conventions of other frameworks, and conversions between them with the exact window.

Every framework computes

    y = x / (bias + scale * sum of x^2 over a window of channels) ** beta

and they differ in three things: how the window is named, where an even window sits, and whether alpha is divided by
the window's size. lrn_op's kernels take the window as two extents, [c - before, c + after], and alpha as it is:

    convention                       parameters                      window (before, after)       scale
    TF ("tf")                        depth_radius, bias, alpha, beta  (r, r)                       alpha
    PyTorch ("torch")                size, alpha, beta, k             (size // 2, (size - 1) // 2)  alpha / size
    ONNX, Caffe, oneDNN ("onnx")     size, alpha, beta, bias          ((size - 1) // 2, size // 2)  alpha / size
    Caffe ("caffe")                  local_size, alpha, beta, k       as ONNX's                    alpha / local_size

For an odd size the PyTorch and ONNX windows are the same, centred; for an even size PyTorch's reaches one channel
further back and ONNX's one further forward, and TF has no even window at all. A conversion refuses only a window
that the target cannot name, and says why.

    >>> lrn_op.convert.convert("torch", "tf", size=5, alpha=1e-4, beta=0.75, k=2.0)
    {'depth_radius': 2, 'bias': 2.0, 'alpha': 2e-05, 'beta': 0.75}
    >>> lrn_op.convert.convert("tf", "onnx", depth_radius=2, bias=2.0, alpha=2e-05, beta=0.75)
    {'size': 5, 'alpha': 0.0001, 'beta': 0.75, 'bias': 2.0}
"""
from typing import NamedTuple

from lrn_op import _params

# Each convention's parameters, in the order its own API takes them.
CONVENTIONS = {
    "tf": ("depth_radius", "bias", "alpha", "beta"),
    "torch": ("size", "alpha", "beta", "k"),
    "onnx": ("size", "alpha", "beta", "bias"),
    "caffe": ("local_size", "alpha", "beta", "k"),
}


class Window(NamedTuple):
    """An LRN as lrn_op's kernels compute it: the window [c - before, c + after], and alpha undivided."""
    before: int
    after: int
    bias: float
    alpha: float
    beta: float


def window_of(convention, **params):
    """The kernels' Window for one convention's parameters (CONVENTIONS names them), checked."""
    names = _names(convention)
    if set(params) != set(names):
        raise TypeError(f"the {convention} convention takes {', '.join(names)}, got {', '.join(sorted(params))}")
    if convention == "tf":
        attrs = _params.check(params["depth_radius"], params["bias"], params["alpha"], params["beta"])
        radius = attrs["depth_radius"]
        return Window(radius, radius, attrs["bias"], attrs["alpha"], attrs["beta"])
    size_name, _, _, bias_name = names
    size = _params.size(size_name, params[size_name])
    bias, alpha, beta = (_params.finite(name, params[name]) for name in (bias_name, "alpha", "beta"))
    before, after = (size // 2, (size - 1) // 2) if convention == "torch" else ((size - 1) // 2, size // 2)
    return Window(before, after, bias, alpha / size, beta)


def params_for(convention, window):
    """One convention's parameters for a Window; ValueError, saying why, where the convention has no such window."""
    names = _names(convention)
    before, after = window.before, window.after
    if convention == "tf":
        if before != after:
            raise ValueError(f"TF's window is symmetric, [c - r, c + r]: it has no window of {before} channels before "
                             f"and {after} after (lrn_op.torch.local_response_norm, or local_response_norm with "
                             "convention='torch' or 'onnx' in lrn_op.numpy and lrn_op.jax, compute it)")
        return dict(zip(names, (before, window.bias, window.alpha, window.beta)))
    size = before + after + 1
    expected = (size // 2, (size - 1) // 2) if convention == "torch" else ((size - 1) // 2, size // 2)
    if (before, after) != expected:
        reaches = "back" if convention == "torch" else "forward"
        raise ValueError(f"the {convention} convention's window of {size} channels is {expected[0]} before and "
                         f"{expected[1]} after (an even one reaches further {reaches}): it has no window of {before} "
                         f"before and {after} after")
    size_name, _, _, bias_name = names
    return {size_name: size, "alpha": window.alpha * size, "beta": window.beta, bias_name: window.bias}


def convert(source, target, **params):
    """`source`'s parameters as `target`'s (both names of CONVENTIONS), with the same window and the same result."""
    _names(target)
    return params_for(target, window_of(source, **params))


def _names(convention):
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(map(repr, CONVENTIONS))}, got {convention!r}")
    return CONVENTIONS[convention]


def from_torch(size, alpha=1e-4, beta=0.75, k=1.0):
    """The arguments of lrn_op.local_response_normalization for `torch.nn.LocalResponseNorm(size, alpha, beta, k)`
    (same defaults): odd sizes only, since TF's window is symmetric. `lrn_op.torch.LocalResponseNorm` takes every
    size."""
    return convert("torch", "tf", size=size, alpha=alpha, beta=beta, k=k)


def from_caffe(local_size, alpha, beta, k):
    """The arguments of lrn_op.local_response_normalization for a Caffe LRN layer with norm_region ACROSS_CHANNELS
    (Caffe's defaults: 5, 1, 0.75, 1)."""
    return convert("caffe", "tf", local_size=local_size, alpha=alpha, beta=beta, k=k)


def from_onnx(size, alpha, beta, bias):
    """The arguments of lrn_op.local_response_normalization for an ONNX LRN node (ONNX's defaults: alpha 1e-4, beta
    0.75, bias 1; size has none). ONNX tensors are NCHW: pass data_format="NCHW" as well. Odd sizes only; for every
    size, local_response_norm(..., convention="onnx") of lrn_op.numpy or lrn_op.jax."""
    return convert("onnx", "tf", size=size, alpha=alpha, beta=beta, bias=bias)

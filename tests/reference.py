"""An independent float64 LRN: direct window sums over explicit slices, in numpy, NHWC; and the same formula in
stock TF ops, whose autodiff gives independent derivatives of any order."""
import numpy as np


def window_sum(v, radius, after=None):
    """Sums over the channels [c - radius, c + after] (after = radius unless given), clipped to the tensor."""
    after = radius if after is None else after
    depth = v.shape[-1]
    out = np.zeros_like(v)
    for c in range(depth):
        out[..., c] = v[..., max(0, c - radius):max(0, c + after + 1)].sum(axis=-1)
    return out


def normalizer(x, radius, bias, alpha, after=None):
    x = np.asarray(x, np.float64)
    return bias + alpha * window_sum(x * x, radius, after)


def lrn(x, radius, bias, alpha, beta, after=None):
    """LRN over the last axis with the window [c - radius, c + after] (after = radius unless given)."""
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):  # NaN and Inf inputs give NaN where their windows reach, as they should
        return x * normalizer(x, radius, bias, alpha, after) ** -beta


def lrn_grad(dy, x, radius, bias, alpha, beta, y=None, after=None):
    """d/dx of sum(dy * lrn(x)), from the Jacobian written out element by element: channel c gathers the terms of the
    channels whose windows hold it, [c - after, c + radius]. Like LRNGrad, it takes y as given (output_image) where
    one is passed, and computes it from x otherwise."""
    after = radius if after is None else after
    dy = np.asarray(dy, np.float64)
    x = np.asarray(x, np.float64)
    n = normalizer(x, radius, bias, alpha, after)
    y = x * n ** -beta if y is None else np.asarray(y, np.float64)
    return dy * n ** -beta - 2 * alpha * beta * x * window_sum(dy * y / n, after, radius)


def torch_window(size):
    """(before, after) of PyTorch's window of `size` channels: the zero padding before its average pool."""
    return size // 2, (size - 1) // 2


def onnx_window(size):
    """(before, after) of ONNX's, as its operator specification writes it: floor((size - 1) / 2) channels before,
    ceil((size - 1) / 2) after."""
    return (size - 1) // 2, -(-(size - 1) // 2)


def lrn_in_tf_ops(x, radius, bias, alpha, beta):
    """Stock TF ops over explicit shifted slices (NHWC): TF's autodiff of it gives an independent second
    derivative."""
    import tensorflow as tf

    depth = x.shape[-1]
    padded = tf.pad(tf.square(x), [[0, 0], [0, 0], [0, 0], [radius, radius]])
    window = tf.add_n([padded[..., k:k + depth] for k in range(2 * radius + 1)])
    return x * tf.pow(bias + alpha * window, -beta)

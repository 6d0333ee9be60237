"""An independent float64 LRN: direct window sums over explicit slices, in numpy, NHWC; and the same formula in
stock TF ops, whose autodiff gives independent derivatives of any order."""
import numpy as np


def window_sum(v, radius):
    depth = v.shape[-1]
    out = np.zeros_like(v)
    for c in range(depth):
        out[..., c] = v[..., max(0, c - radius):c + radius + 1].sum(axis=-1)
    return out


def normalizer(x, radius, bias, alpha):
    x = np.asarray(x, np.float64)
    return bias + alpha * window_sum(x * x, radius)


def lrn(x, radius, bias, alpha, beta):
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):  # NaN and Inf inputs give NaN where their windows reach, as they should
        return x * normalizer(x, radius, bias, alpha) ** -beta


def lrn_grad(dy, x, radius, bias, alpha, beta, y=None):
    """d/dx of sum(dy * lrn(x)), from the Jacobian written out element by element. Like LRNGrad, it takes y as
    given (output_image) where one is passed, and computes it from x otherwise."""
    dy = np.asarray(dy, np.float64)
    x = np.asarray(x, np.float64)
    n = normalizer(x, radius, bias, alpha)
    y = x * n ** -beta if y is None else np.asarray(y, np.float64)
    return dy * n ** -beta - 2 * alpha * beta * x * window_sum(dy * y / n, radius)


def lrn_in_tf_ops(x, radius, bias, alpha, beta):
    """Stock TF ops over explicit shifted slices (NHWC): TF's autodiff of it gives an independent second
    derivative."""
    import tensorflow as tf

    depth = x.shape[-1]
    padded = tf.pad(tf.square(x), [[0, 0], [0, 0], [0, 0], [radius, radius]])
    window = tf.add_n([padded[..., k:k + depth] for k in range(2 * radius + 1)])
    return x * tf.pow(bias + alpha * window, -beta)

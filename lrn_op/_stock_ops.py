"""LRN written with stock TF ops, for where the custom kernels cannot go: inside XLA clusters
(tf.function(jit_compile=True) has no kernel for a custom op) and the second derivative.

It computes in float64 whatever the input dtype and rounds once at the end, as the kernels do, so it meets the same
accuracy. The formulas are _formulas.py's; this module supplies TF's window sum and the casts.
"""
import tensorflow as tf

from lrn_op import _formulas


def _channel_axis(data_format):
    return 1 if data_format == "NCHW" else 3


def window_sum(v, depth_radius, data_format):
    """Sums v over the channels [c - r, c + r], clipped to the tensor, for every channel c.

    A convolution with a ones filter along the channel axis, with zero padding. It needs the depth statically (XLA
    needs static shapes anyway): a radius past the depth is cut to depth - 1, which covers every channel.
    """
    axis = _channel_axis(data_format)
    depth = v.shape[axis]
    if depth is None:
        raise ValueError("the channel dimension must be known statically for LRN inside XLA or for its second "
                         "derivative")
    radius = min(depth_radius, max(depth - 1, 0))
    if depth == 0 or radius == 0:
        return v
    channels_last = v if axis == 3 else tf.transpose(v, [0, 2, 3, 1])
    shape = tf.shape(channels_last)
    rows = tf.reshape(channels_last, [-1, depth, 1])
    ones = tf.ones([2 * radius + 1, 1, 1], v.dtype)
    sums = tf.reshape(tf.nn.conv1d(rows, ones, stride=1, padding="SAME"), shape)
    return sums if axis == 3 else tf.transpose(sums, [0, 3, 1, 2])


def _float64(*tensors):
    return [tf.cast(t, tf.float64) for t in tensors]


def _window_sum_of(depth_radius, data_format):
    return lambda v: window_sum(v, depth_radius, data_format)


def local_response_normalization(input, depth_radius, bias, alpha, beta, data_format):
    (x,) = _float64(input)
    return tf.cast(_formulas.forward(_window_sum_of(depth_radius, data_format), x, bias, alpha, beta), input.dtype)


def local_response_normalization_grad(input_grads, input_image, output_image, depth_radius, bias, alpha, beta,
                                      data_format):
    dy, x, y = _float64(input_grads, input_image, output_image)
    window = _window_sum_of(depth_radius, data_format)  # symmetric: its own transpose
    dx = _formulas.gradient(window, window, dy, x, y, bias, alpha, beta)
    return tf.cast(dx, input_image.dtype)


def grad_of_grad(upstream, input_grads, input_image, output_image, depth_radius, bias, alpha, beta, data_format):
    """The gradients of the gradient op with respect to its three inputs (dy, x, y): _formulas.gradient_of_gradient."""
    g, dy, x, y = _float64(upstream, input_grads, input_image, output_image)
    window = _window_sum_of(depth_radius, data_format)
    grads = _formulas.gradient_of_gradient(window, window, g, dy, x, y, bias, alpha, beta)
    return tuple(tf.cast(grad, input_image.dtype) for grad in grads)

"""LRN written with stock TF ops, for where the custom kernels cannot go: inside XLA clusters
(tf.function(jit_compile=True) has no kernel for a custom op) and the second derivative.

It computes in float64 whatever the input dtype and rounds once at the end, as the kernels do, so it meets the same
accuracy. The math is the same as cc/kernel/lrn-inl.h's; the derivations are written out there (forward, backward) and
in grad_of_grad below.
"""
import tensorflow as tf


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


def _normaliser(x, depth_radius, bias, alpha, data_format):
    return bias + alpha * window_sum(tf.square(x), depth_radius, data_format)


def local_response_normalization(input, depth_radius, bias, alpha, beta, data_format):
    (x,) = _float64(input)
    n = _normaliser(x, depth_radius, bias, alpha, data_format)
    return tf.cast(x * tf.pow(n, -beta), input.dtype)


def local_response_normalization_grad(input_grads, input_image, output_image, depth_radius, bias, alpha, beta,
                                      data_format):
    """dx_j = dy_j N_j^-beta - 2 alpha beta x_j sum_{|i-j|<=r} dy_i y_i / N_i, with y the given output_image."""
    dy, x, y = _float64(input_grads, input_image, output_image)
    n = _normaliser(x, depth_radius, bias, alpha, data_format)
    window = window_sum(dy * y / n, depth_radius, data_format)
    return tf.cast(dy * tf.pow(n, -beta) - 2.0 * alpha * beta * x * window, input_image.dtype)


def grad_of_grad(upstream, input_grads, input_image, output_image, depth_radius, bias, alpha, beta, data_format):
    """The gradients of sum(g * dx) with respect to the gradient op's three inputs (dy, x, y).

    With dx_j = dy_j S_j + c x_j W(dy y / N)_j, S = N^-beta, c = -2 alpha beta, W the window sum (symmetric), and
    dN_i/dx_k = 2 alpha x_k [|i - k| <= r]:
      d/d dy_k = g_k S_k + c (y_k / N_k) W(g x)_k
      d/d y_k  = c (dy_k / N_k) W(g x)_k
      d/d x_k  = c g_k W(dy y / N)_k                      (x_j explicitly)
               + c x_k W(g dy S / N)_k                    (through S_j = N_j^-beta)
               - 2 alpha c x_k W(dy y / N^2 W(g x))_k     (through 1 / N_i)
    """
    g, dy, x, y = _float64(upstream, input_grads, input_image, output_image)
    c = -2.0 * alpha * beta
    n = _normaliser(x, depth_radius, bias, alpha, data_format)
    s = tf.pow(n, -beta)
    gx = window_sum(g * x, depth_radius, data_format)
    d_dy = g * s + c * (y / n) * gx
    d_y = c * (dy / n) * gx
    d_x = (c * g * window_sum(dy * y / n, depth_radius, data_format)
           + c * x * window_sum(g * dy * s / n, depth_radius, data_format)
           - 2.0 * alpha * c * x * window_sum(dy * y / tf.square(n) * gx, depth_radius, data_format))
    dtype = input_image.dtype
    return tf.cast(d_dy, dtype), tf.cast(d_x, dtype), tf.cast(d_y, dtype)

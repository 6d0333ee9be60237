"""The TF ops: drop-in wrappers for tf.nn.local_response_normalization and its gradient, and the gradient
registration. Importing this module loads the op library (and checks the TF version it was built against).

`gen_lrn_ops` is the module TF generates for the op library, like TF's own gen_* modules: its functions skip the
Python checks here, and the kernels check the same things again.
"""
import types

import tensorflow as tf
from tensorflow.python.ops import control_flow_util

from lrn_op import _coercion, _exact, _params, _loader, _stock_ops

gen_lrn_ops = _loader.load_ops()

FORWARD_OP = "LrnOp>LocalResponseNormalization"
GRAD_OP = "LrnOp>LocalResponseNormalizationGrad"


def local_response_normalization(input, depth_radius=5, bias=1, alpha=1, beta=0.5, name=None, *,
                                 data_format="NHWC"):
    """Local Response Normalization over the channel axis, as `tf.nn.local_response_normalization`.

    The 4-D `input` is treated as a batch of pixels whose channels are normalised together:

        sqr_sum[n, h, w, c] = sum(input[n, h, w, c - r : c + r + 1] ** 2)   (window clipped at the edges)
        output = input / (bias + alpha * sqr_sum) ** beta                   (r = depth_radius)

    As in TF, `alpha` is not divided by the window size (PyTorch, Caffe and ONNX divide it; see `lrn_op.convert`).

    Args:
      input: a 4-D tensor of float16, bfloat16, float32 or float64, or anything `tf.convert_to_tensor` turns
        into one (Python lists become float32, as with `tf.nn.lrn`).
      depth_radius: int in [0, 2**31), default 5. The half-width of the window. A radius of at least
        the depth gives a window over all channels.
      bias: float, default 1. An offset, usually positive, to avoid dividing by 0.
      alpha: float, default 1. A scale factor for the sum of squares.
      beta: float, default 0.5. An exponent.
      name: a name for the operation (optional).
      data_format: keyword-only, "NHWC" (default, channels last) or "NCHW" (channels first, computed natively).

    Returns:
      A tensor of the same shape and dtype as `input`.

    Raises:
      TypeError, ValueError: an argument is out of its domain; the message names it.

    Example:
      >>> x = tf.reshape(tf.range(1.0, 9.0), [1, 1, 1, 8])
      >>> lrn_op.local_response_normalization(x, depth_radius=2, bias=0.0, alpha=1.0, beta=1.0)[0, 0, 0, 0]
      0.071428575
    """
    attrs, op_attrs = _checked(depth_radius, bias, alpha, beta, data_format)
    input = _input(input, "input")
    _loader.follow_intra_op_setting()
    if _in_xla_context():
        with tf.name_scope(name or "LocalResponseNormalization"):
            return _stock_ops.local_response_normalization(input, **attrs)
    return gen_lrn_ops.lrn_op_local_response_normalization(input, name=name, **op_attrs)


lrn = local_response_normalization


def local_response_normalization_grad(input_grads, input_image, output_image, depth_radius=5, bias=1, alpha=1,
                                      beta=0.5, name=None, *, data_format="NHWC"):
    """The gradient of `local_response_normalization`, with the inputs of `tf.raw_ops.LRNGrad`.

    `depth_radius`, `bias`, `alpha`, `beta`, `name` and `data_format` are those of `local_response_normalization`.

    Args:
      input_grads: the gradient with respect to the output, 4-D.
      input_image: the forward op's input, same shape and dtype.
      output_image: the forward op's output, same shape and dtype.

    Returns:
      The gradient with respect to `input_image`,
        `dx_j = dy_j N_j^-beta - 2 alpha beta x_j sum_{|i-j|<=r} dy_i y_i / N_i`, with `N = bias + alpha * sqr_sum`.
    """
    attrs, op_attrs = _checked(depth_radius, bias, alpha, beta, data_format)
    input_image = _input(input_image, "input_image")
    input_grads = _input(input_grads, "input_grads", input_image.dtype)
    output_image = _input(output_image, "output_image", input_image.dtype)
    _coercion.match_x("input_image", input_image, input_grads=input_grads, output_image=output_image)
    _loader.follow_intra_op_setting()
    if _in_xla_context():
        with tf.name_scope(name or "LocalResponseNormalizationGrad"):
            return _stock_ops.local_response_normalization_grad(input_grads, input_image, output_image,
                                                                **attrs)
    return gen_lrn_ops.lrn_op_local_response_normalization_grad(input_grads, input_image, output_image, name=name,
                                                                **op_attrs)


def load_ops():
    """Returns the generated op module, with the ops registered in TF: what `tf.saved_model.load` of a model that
    uses them needs first. Importing lrn_op after TensorFlow does it too."""
    return gen_lrn_ops


def _in_xla_context():
    """Whether ops created now will be compiled by XLA (tf.function(jit_compile=True), Keras jit_compile=True).

    XLA has no kernel for a custom op, so there the wrappers build the same math from stock TF ops (_stock_ops);
    everywhere else the custom kernels run.
    """
    if tf.executing_eagerly():
        return False
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def _input(value, name, default=tf.float32):
    """An op input as a tensor, coerced as every front end coerces its inputs (`_coercion.COERCION`): tensors and
    float arrays keep their dtype, Python lists and numbers become the default (float32), as tf.nn.lrn converts
    them. Converting here rather than in the generated wrapper matters: TF's eager fast path has been seen to turn a
    float64 numpy array into float32 once other ops ran."""
    if isinstance(value, tf.Tensor) and value.dtype in _KERNEL_DTYPES and value.shape.rank == 4:
        return value  # what the steps below return for it, without their cost on every eager call
    value, takes_default = _coercion.coerce(name, value)
    if takes_default:
        tensor = tf.convert_to_tensor(value, dtype=default, name=name)
    else:
        tensor = tf.convert_to_tensor(value, name=name)
    _coercion.check_rank(name, None if tensor.shape.rank is None else tensor.shape, rank=4)
    return tensor


_KERNEL_DTYPES = frozenset(tf.as_dtype(name) for name in _coercion.DTYPES)


@_params.cached
def _checked(depth_radius, bias, alpha, beta, data_format):
    """(`_params.check`'s attributes, the op's attributes), read-only: for parameters seen before, from a cache (an
    eager call of a small tensor spent about 3 us on the checks and the exact-parameter text)."""
    attrs = _params.check(depth_radius, bias, alpha, beta, data_format)
    return types.MappingProxyType(attrs), types.MappingProxyType(_op_attrs(attrs))


def _op_attrs(attrs):
    """The op attributes for checked parameters: bias, alpha and beta go both as float32 attributes and, exact, as
    exact_bias_alpha_beta (cc/tf_ops.cc)."""
    return {**attrs, "exact_bias_alpha_beta": _exact.exact_text(attrs)}


def _attrs_of(op):
    """The parameters an op computes with, as `_params.check` returns them: those of lrn_op's ops, at double
    precision where the op carries them, or those of TF's LRN / LRNGrad (float32, NHWC, no data_format)."""
    attrs = {key: op.get_attr(key) for key in ("depth_radius", "bias", "alpha", "beta")}
    if op.type in ("LRN", "LRNGrad"):
        return {**attrs, "data_format": "NHWC"}
    attrs.update(_exact.parse_exact_text(op.get_attr("exact_bias_alpha_beta").decode()))
    return {**attrs, "data_format": op.get_attr("data_format").decode()}


@tf.RegisterGradient(FORWARD_OP)
def _forward_gradient(op, grad):
    return gen_lrn_ops.lrn_op_local_response_normalization_grad(grad, op.inputs[0], op.outputs[0],
                                                                **_op_attrs(_attrs_of(op)))


@tf.RegisterGradient(GRAD_OP)
def _second_derivative(op, grad):
    """The gradient of the gradient op, for nested tapes: Hessian-vector products, gradient penalties. It serves
    TF's LRNGrad too, once lrn_op.replace_builtin() registers it."""
    return _stock_ops.grad_of_grad(grad, *op.inputs, **_attrs_of(op))

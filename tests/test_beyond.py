"""What TF's builtin LRN cannot do: every float dtype, float16 values whose squares overflow float16, native NCHW,
second-order gradients and XLA."""
import numpy as np
import pytest
import tensorflow as tf

import lrn_op
import reference
from bounds import SECOND_ORDER, assert_forward, assert_gradient, gradient_error

DTYPES = {"float16": tf.float16, "bfloat16": tf.bfloat16, "float32": tf.float32, "float64": tf.float64}
PARAMS = dict(depth_radius=3, bias=1.5, alpha=0.4, beta=0.6)
REFERENCE = dict(radius=3, bias=1.5, alpha=0.4, beta=0.6)  # the op computes with them as written


def forward_and_gradient(x, dy, **params):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = lrn_op.lrn(x, **params)
    return y, tape.gradient(y, x, output_gradients=dy)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_every_float_dtype_forward_and_gradient(rng, dtype, data_format):
    shape = [2, 3, 4, 21] if data_format == "NHWC" else [2, 21, 3, 4]
    x = tf.constant(rng.standard_normal(shape), DTYPES[dtype])
    dy = tf.constant(rng.standard_normal(shape), DTYPES[dtype])
    y, dx = forward_and_gradient(x, dy, **PARAMS, data_format=data_format)
    assert y.dtype == dx.dtype == DTYPES[dtype]
    to_nhwc = (lambda t: t.numpy()) if data_format == "NHWC" else (lambda t: t.numpy().transpose(0, 2, 3, 1))
    assert_forward(to_nhwc(y), reference.lrn(to_nhwc(x), **REFERENCE))
    assert_gradient(to_nhwc(dx), reference.lrn_grad(to_nhwc(dy), to_nhwc(x), **REFERENCE, y=to_nhwc(y)))


def test_float16_near_300_stays_finite_and_right():
    # 300^2 = 9e4 does not fit in float16: the window sums must not be float16.
    x = np.full([1, 1, 2, 6], 300.0, np.float16)
    x[0, 0, 1] = [-300, 250, 300, -280, 310, 290]
    y, dx = forward_and_gradient(tf.constant(x), tf.ones_like(x), depth_radius=2, bias=1.0, alpha=1e-4, beta=0.75)
    assert np.isfinite(y.numpy()).all() and np.isfinite(dx.numpy()).all()
    assert_forward(y.numpy(), reference.lrn(x, 2, 1.0, 1e-4, 0.75))
    assert_gradient(dx.numpy(), reference.lrn_grad(np.ones_like(x), x, 2, 1.0, 1e-4, 0.75, y=y.numpy()))


def test_nchw_is_native_and_matches_nhwc(rng):
    x = rng.standard_normal([2, 5, 6, 33]).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y, dx = forward_and_gradient(tf.constant(x), tf.constant(dy), **PARAMS)
    yc, dxc = forward_and_gradient(tf.constant(x.transpose(0, 3, 1, 2)), tf.constant(dy.transpose(0, 3, 1, 2)),
                                   **PARAMS, data_format="NCHW")
    ref = dict(radius=PARAMS["depth_radius"], bias=PARAMS["bias"], alpha=PARAMS["alpha"], beta=PARAMS["beta"])
    for forward, gradient in ((y, dx), (yc.numpy().transpose(0, 2, 3, 1), dxc.numpy().transpose(0, 2, 3, 1))):
        assert_forward(np.asarray(forward), reference.lrn(x, **ref))
        assert_gradient(np.asarray(gradient), reference.lrn_grad(dy, x, **ref, y=np.asarray(forward)))

    @tf.function
    def step(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            out = lrn_op.lrn(t, **PARAMS, data_format="NCHW")
        return tape.gradient(out, t)

    types = {op.type for op in step.get_concrete_function(tf.TensorSpec([2, 33, 5, 6])).graph.get_operations()}
    assert "LrnOp>LocalResponseNormalizationGrad" in types
    assert "Transpose" not in types


def reference_gradient(x, dy, params):
    """The gradient of the independent reference (stock TF ops over explicit slices, NHWC; NCHW through transposes),
    whose autodiff gives the second derivative too."""
    nchw = params["data_format"] == "NCHW"
    with tf.GradientTape() as tape:
        tape.watch(x)
        t = tf.transpose(x, [0, 2, 3, 1]) if nchw else x
        y = reference.lrn_in_tf_ops(t, params["depth_radius"], params["bias"], params["alpha"], params["beta"])
        y = tf.transpose(y, [0, 3, 1, 2]) if nchw else y
    return tape.gradient(y, x, output_gradients=dy)


@pytest.mark.parametrize("beta", [0.5, 0.75, 1.3])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_second_order_gradients(rng, beta, data_format):
    params = dict(depth_radius=2, bias=1.0, alpha=0.5, beta=beta, data_format=data_format)
    x = tf.constant(rng.standard_normal([2, 3, 3, 7]))
    dy = tf.constant(rng.standard_normal([2, 3, 3, 7]))
    v = tf.constant(rng.standard_normal([2, 3, 3, 7]))
    # A Hessian-vector product through two nested tapes, against TF's own second derivative of the independent
    # reference.
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = lrn_op.lrn(x, **params)
        grad = inner.gradient(y, x, output_gradients=dy)
    hvp = outer.gradient(grad, x, output_gradients=v)
    with tf.GradientTape() as outer:
        outer.watch(x)
        expected_grad = reference_gradient(x, dy, params)
    expected_hvp = outer.gradient(expected_grad, x, output_gradients=v)
    assert_gradient(grad.numpy(), expected_grad.numpy())
    assert gradient_error(hvp.numpy(), expected_hvp.numpy()) <= SECOND_ORDER["float64"]


def test_second_order_gradient_numerically(rng):
    x = tf.constant(rng.standard_normal([1, 2, 2, 6]))
    dy = tf.constant(rng.standard_normal([1, 2, 2, 6]))

    def first_derivative(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = lrn_op.lrn(t, 2, 1.0, 0.5, 0.75)
        return tape.gradient(y, t, output_gradients=dy)

    theoretical, numerical = tf.test.compute_gradient(first_derivative, [x])
    # Central differences carry a truncation error of about 1e-6 here.
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-5, atol=2e-6)


def test_gradient_op_inputs_have_gradients(rng):
    dy, x = (tf.constant(rng.standard_normal([1, 2, 3, 8])) for _ in range(2))
    y = lrn_op.lrn(x, 2, 1.0, 0.5, 0.75)
    theoretical, numerical = tf.test.compute_gradient(
        lambda a, b, c: lrn_op.local_response_normalization_grad(a, b, c, 2, 1.0, 0.5, 0.75), [dy, x, y])
    for t, n in zip(theoretical, numerical):
        np.testing.assert_allclose(t, n, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("beta", [0.75, 1.7])
def test_xla(rng, dtype, data_format, beta):
    shape = [2, 4, 5, 19] if data_format == "NHWC" else [2, 19, 4, 5]
    x = tf.constant(rng.standard_normal(shape), DTYPES[dtype])
    dy = tf.constant(rng.standard_normal(shape), DTYPES[dtype])
    params = dict(depth_radius=3, bias=1.0, alpha=0.3, beta=beta, data_format=data_format)

    def step(t, upstream):
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = lrn_op.lrn(t, **params)
        return y, tape.gradient(y, t, output_gradients=upstream)

    compiled = tf.function(step, jit_compile=True)
    y, dx = compiled(x, dy)
    to_nhwc = (lambda t: t.numpy()) if data_format == "NHWC" else (lambda t: t.numpy().transpose(0, 2, 3, 1))
    reference_params = dict(radius=3, bias=1.0, alpha=0.3, beta=beta)
    assert_forward(to_nhwc(y), reference.lrn(to_nhwc(x), **reference_params))
    assert_gradient(to_nhwc(dx), reference.lrn_grad(to_nhwc(dy), to_nhwc(x), **reference_params, y=to_nhwc(y)))
    # Under XLA the graph holds stock ops only; without it, the custom kernels run.
    xla_types = {op.type for op in compiled.get_concrete_function(x, dy).graph.get_operations()}
    plain_types = {op.type for op in tf.function(step).get_concrete_function(x, dy).graph.get_operations()}
    assert not any(t.startswith("LrnOp>") for t in xla_types)
    assert {"LrnOp>LocalResponseNormalization", "LrnOp>LocalResponseNormalizationGrad"} <= plain_types

"""The gradient op against TF's LRNGrad, the float64 reference and numerical differentiation."""
import numpy as np
import pytest
import tensorflow as tf

import bounds
import lrn_op
import reference
from conftest import tf_lrn_test_case
from test_ops import CASES


def tape_gradient(fn, x, dy):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x, output_gradients=tf.constant(dy)).numpy()


def check_gradient(x, dy, depth_radius, bias, alpha, beta):
    grad = tape_gradient(lambda t: lrn_op.lrn(t, depth_radius, bias, alpha, beta), x, dy)
    # The gradient op is handed the float32 y of the forward op, as LRNGrad is.
    y = lrn_op.lrn(x, depth_radius, bias, alpha, beta).numpy()
    bounds.assert_gradient(grad, reference.lrn_grad(dy, x, depth_radius, bias, alpha, beta, y=y))
    builtin = tape_gradient(lambda t: tf.nn.lrn(t, depth_radius, bias, alpha, beta), x, dy)
    assert bounds.gradient_error(builtin, grad) <= bounds.TF_FLOAT32


@pytest.mark.parametrize("shape,depth_radius,bias,alpha,beta", CASES)
def test_gradient_matches_builtin_and_reference(rng, shape, depth_radius, bias, alpha, beta):
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    check_gradient(x, dy, depth_radius, bias, alpha, beta)


@pytest.mark.parametrize("trial", range(20))
def test_gradient_random_like_tf_lrn_test(rng, trial):
    shape, depth_radius, bias, alpha, beta = tf_lrn_test_case(rng)
    x = rng.random(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    check_gradient(x, dy, depth_radius, bias, alpha, beta)


def test_grad_op_matches_raw_lrn_grad(rng):
    x = rng.standard_normal([2, 3, 4, 11]).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y = lrn_op.lrn(x, 3, 1.5, 0.4, 0.75)
    ours = lrn_op.local_response_normalization_grad(dy, x, y, 3, 1.5, 0.4, 0.75).numpy()
    theirs = tf.raw_ops.LRNGrad(input_grads=dy, input_image=x, output_image=y, depth_radius=3, bias=1.5,
                                alpha=0.4, beta=0.75).numpy()
    bounds.assert_gradient(ours, reference.lrn_grad(dy, x, 3, 1.5, 0.4, 0.75, y=y.numpy()))
    assert bounds.gradient_error(theirs, ours) <= bounds.TF_FLOAT32


@pytest.mark.parametrize("depth_radius,beta", [(1, 0.5), (2, 0.75), (3, 1.0), (2, 1.3)])
def test_compute_gradient_numerically(rng, depth_radius, beta):
    x = tf.constant(rng.standard_normal([1, 2, 2, 7]))  # float64: numerical differences are meaningful
    theoretical, numerical = tf.test.compute_gradient(
        lambda t: lrn_op.lrn(t, depth_radius, 1.0, 0.5, beta), [x])
    # Central differences carry a truncation error of about 1e-7 here, so this bounds the agreement, not our error.
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-5, atol=1e-6)


def test_zero_input_gradient_is_identity():
    # With alpha = 0 the op is x / bias**beta; bias = 1, beta = 1 makes its gradient all ones.
    x = np.zeros([2, 3, 3, 5], np.float32)
    grad = tape_gradient(lambda t: lrn_op.lrn(t, 2, 1.0, 0.0, 1.0), x, np.ones_like(x))
    np.testing.assert_array_equal(grad, np.ones_like(x))


def test_gradient_inside_tf_function(rng):
    x = rng.standard_normal([2, 3, 3, 9]).astype(np.float32)

    @tf.function
    def grad(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = lrn_op.lrn(t, 2, 2.0, 0.1, 0.75)
        return tape.gradient(y, t)

    y = lrn_op.lrn(x, 2, 2.0, 0.1, 0.75).numpy()
    bounds.assert_gradient(grad(tf.constant(x)).numpy(), reference.lrn_grad(np.ones_like(x), x, 2, 2.0, 0.1, 0.75, y=y))

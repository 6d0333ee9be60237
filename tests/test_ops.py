"""The forward op against tf.nn.local_response_normalization and the float64 reference."""
import inspect

import numpy as np
import pytest
import tensorflow as tf

import bounds
import lrn_op
import reference
from conftest import tf_lrn_test_case

# (shape, depth_radius, bias, alpha, beta)
CASES = [
    ([2, 5, 5, 96], 2, 2.0, 1e-4, 0.75),      # AlexNet LRN1, smaller batch
    ([2, 3, 3, 256], 2, 2.0, 1e-4, 0.75),     # AlexNet LRN2
    ([1, 4, 4, 192], 2, 1.0, 2e-5, 0.75),     # GoogLeNet
    ([2, 4, 4, 64], 5, 1.0, 1.0, 0.5),        # TF's defaults
    ([3, 2, 7, 9], 1, 0.5, 0.3, 1.0),
    ([1, 1, 1, 37], 3, 1.5, 0.7, 1.7),        # general beta
    ([2, 3, 1, 5], 0, 1.0, 1.0, 0.6),         # radius 0
    ([2, 3, 4, 6], 6, 1.0, 0.5, 0.75),        # radius == depth
    ([2, 3, 4, 6], 100, 1.0, 0.5, 0.3),       # radius far past depth
    ([4, 3, 2, 1], 2, 1.0, 1.0, 0.5),         # depth 1
    ([17, 1, 1, 3], 1, 2.0, 1.0, 0.75),       # lanes that do not fill a tile
]


def check_forward(x, depth_radius, bias, alpha, beta):
    y = lrn_op.local_response_normalization(x, depth_radius, bias, alpha, beta).numpy()
    expected = reference.lrn(x, depth_radius, bias, alpha, beta)
    assert y.shape == x.shape and y.dtype == x.dtype
    bounds.assert_forward(y, expected)
    # TF's op computes with the parameters rounded to float32 and in float32: it differs by its own error.
    builtin = tf.nn.local_response_normalization(x, depth_radius, bias, alpha, beta).numpy()
    assert bounds.forward_error(builtin, y, np.float32) <= bounds.TF_FLOAT32


@pytest.mark.parametrize("shape,depth_radius,bias,alpha,beta", CASES)
def test_forward_matches_builtin_and_reference(rng, shape, depth_radius, bias, alpha, beta):
    x = rng.standard_normal(shape).astype(np.float32)
    check_forward(x, depth_radius, bias, alpha, beta)


@pytest.mark.parametrize("trial", range(20))
def test_forward_random_like_tf_lrn_test(rng, trial):
    shape, depth_radius, bias, alpha, beta = tf_lrn_test_case(rng)
    x = rng.random(shape).astype(np.float32)
    check_forward(x, depth_radius, bias, alpha, beta)


def test_worked_example():
    x = np.array([[[[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]],
                   [[4, 3, 2, 1, 8, 7, 6, 5], [1, 2, 3, 4, 5, 6, 7, 8]]]], np.float32)
    y = lrn_op.local_response_normalization(x, depth_radius=2, bias=0.0, alpha=1.0, beta=1.0).numpy()
    assert y[0, 0, 0, 0] == pytest.approx(1 / (1 + 4 + 9), abs=1e-7)          # 0.07142857
    assert y[0, 0, 0, 3] == pytest.approx(4 / (4 + 9 + 16 + 25 + 36), abs=1e-7)  # 0.04444445
    bounds.assert_forward(y, reference.lrn(x, 2, 0.0, 1.0, 1.0))


def test_signature_matches_tf():
    ours = inspect.signature(lrn_op.local_response_normalization).parameters
    theirs = inspect.signature(tf.nn.local_response_normalization).parameters
    positional = [p for p in ours.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert [(p.name, p.default) for p in positional] == [(p.name, p.default) for p in theirs.values()]
    assert ours["data_format"].kind is inspect.Parameter.KEYWORD_ONLY
    assert lrn_op.lrn is lrn_op.local_response_normalization
    grad = inspect.signature(lrn_op.local_response_normalization_grad).parameters
    assert list(grad)[:3] == ["input_grads", "input_image", "output_image"]


def test_defaults_match_tf(rng):
    x = rng.standard_normal([2, 3, 3, 20]).astype(np.float32)
    np.testing.assert_array_equal(lrn_op.lrn(x).numpy(), lrn_op.lrn(x, 5, 1, 1, 0.5).numpy())
    check_forward(x, 5, 1, 1, 0.5)


@pytest.mark.parametrize("shape", [[0, 3, 3, 4], [2, 0, 3, 4], [2, 3, 0, 4], [2, 3, 3, 0]])
def test_empty_tensors(shape):
    x = tf.zeros(shape)
    y = lrn_op.lrn(x)
    assert y.shape == shape
    dx = lrn_op.local_response_normalization_grad(x, x, y)
    assert dx.shape == shape


def test_python_list_input_becomes_float32():
    y = lrn_op.lrn([[[[1.0, 2.0, 3.0]]]], depth_radius=1)
    assert y.dtype == tf.float32
    bounds.assert_forward(y.numpy(), reference.lrn([[[[1.0, 2.0, 3.0]]]], 1, 1.0, 1.0, 0.5))
    theirs = tf.nn.lrn([[[[1.0, 2.0, 3.0]]]], depth_radius=1).numpy()
    assert bounds.forward_error(theirs, y.numpy(), np.float32) <= bounds.TF_FLOAT32


def test_inside_tf_function(rng):
    x = rng.standard_normal([2, 4, 4, 10]).astype(np.float32)
    f = tf.function(lambda t: lrn_op.lrn(t, 3, 1.0, 0.5, 0.75))
    bounds.assert_forward(f(x).numpy(), reference.lrn(x, 3, 1.0, 0.5, 0.75))


@pytest.mark.parametrize("shape", [[None] * 4, [None, 5, 6, 7]])
def test_tf1_graph_mode_shapes(rng, shape):
    x = rng.standard_normal([2, 5, 6, 7]).astype(np.float32)
    with tf.Graph().as_default() as graph:
        placeholder = tf.compat.v1.placeholder(tf.float32, shape)
        y = lrn_op.lrn(placeholder, 2, 1.0, 0.5, 0.75)
        (dx,) = tf.gradients(y, placeholder)
        assert y.shape.as_list() == shape
        assert dx.shape.as_list() == shape
        types = {op.type for op in graph.get_operations()}
        with tf.compat.v1.Session() as session:
            out, grad = session.run([y, dx], {placeholder: x})
    assert "LrnOp>LocalResponseNormalization" in types
    assert "LrnOp>LocalResponseNormalizationGrad" in types
    assert not types & {"LRN", "LRNGrad"}
    bounds.assert_forward(out, reference.lrn(x, 2, 1.0, 0.5, 0.75))
    bounds.assert_gradient(grad, reference.lrn_grad(np.ones_like(x), x, 2, 1.0, 0.5, 0.75, y=out))


def test_graph_has_our_op_types():
    @tf.function
    def f(t):
        return lrn_op.lrn(t)

    graph = f.get_concrete_function(tf.TensorSpec([None, 2, 2, 8])).graph
    types = {op.type for op in graph.get_operations()}
    assert "LrnOp>LocalResponseNormalization" in types
    assert "LRN" not in types


def test_float64_numpy_input_keeps_its_dtype_after_other_ops(rng):
    # TF's eager fast path once converted a float64 numpy array to the op's default float32 after a convolution had
    # run; the wrapper converts inputs itself so that this cannot happen.
    x = rng.standard_normal([2, 3, 3, 7])
    before = lrn_op.lrn(x, 2, 1.0, 0.5, 0.75)
    tf.nn.conv1d(tf.ones([1, 7, 1], tf.float64), tf.ones([5, 1, 1], tf.float64), 1, "SAME")
    after = lrn_op.lrn(x, 2, 1.0, 0.5, 0.75)
    assert before.dtype == after.dtype == tf.float64
    np.testing.assert_array_equal(after.numpy(), before.numpy())
    np.testing.assert_allclose(after.numpy(), reference.lrn(x, 2, 1.0, 0.5, 0.75), rtol=1e-14)

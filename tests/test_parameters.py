"""Parameters as written: bias, alpha and beta reach every front end's math at double precision; complex input is
refused; and saved models load whatever the order of the imports."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import lrn_op
import lrn_op.numpy
import reference
from bounds import FORWARD, GRADIENT, forward_error, gradient_error
from conftest import f32, run_python
from lrn_op.ops import gen_lrn_ops

# Decimal values that float32 cannot hold, and betas over [0.01, 3].
CASES = [(2, 1.1, 0.1, beta) for beta in (0.01, 0.3, 0.75, 1.0, 1.7, 3.0)] + [(3, 2.0, 1e-4 / 5, 0.75)]


def data(rng, dtype=np.float64):
    return (rng.standard_normal([2, 3, 4, 11]) * 4).astype(dtype), rng.standard_normal([2, 3, 4, 11])


def tape_gradient(fn, x, dy):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y, tape.gradient(y, x, output_gradients=tf.constant(dy, x.dtype))


@pytest.mark.parametrize("params", CASES)
def test_float64_is_float64_precise_through_the_op_and_its_gradient(rng, params):
    x, dy = data(rng)
    want_y, want_dx = reference.lrn(x, *params), reference.lrn_grad(dy, x, *params)
    for run in (lambda fn: fn(), lambda fn: tf.function(fn)()):
        y, dx = run(lambda: tape_gradient(lambda t: lrn_op.lrn(t, *params), x, dy))
        assert forward_error(y, want_y, np.float64) <= FORWARD["float64"]
        assert gradient_error(dx, want_dx) <= GRADIENT["float64"]
    dx = lrn_op.local_response_normalization_grad(dy, x, reference.lrn(x, *params), *params)
    assert gradient_error(dx, want_dx) <= GRADIENT["float64"]


@pytest.mark.parametrize("params", CASES[:3])
def test_float64_is_float64_precise_under_xla(rng, params):
    x, dy = data(rng)
    y, dx = tf.function(lambda: tape_gradient(lambda t: lrn_op.lrn(t, *params), x, dy), jit_compile=True)()
    assert forward_error(y, reference.lrn(x, *params), np.float64) <= FORWARD["float64"]
    assert gradient_error(dx, reference.lrn_grad(dy, x, *params)) <= GRADIENT["float64"]


@pytest.mark.parametrize("params", [CASES[0], CASES[2], CASES[-1]])
def test_second_derivative_uses_the_exact_parameters(rng, params):
    x, dy = data(rng)

    def hessian_vector_product(lrn):
        t = tf.constant(x)
        with tf.GradientTape() as outer:
            outer.watch(t)
            with tf.GradientTape() as inner:
                inner.watch(t)
                y = lrn(t, *params)
            g = inner.gradient(y, t, output_gradients=tf.constant(dy))
        return outer.gradient(g, t, output_gradients=tf.cos(t)).numpy()

    expected = hessian_vector_product(reference.lrn_in_tf_ops)
    assert gradient_error(hessian_vector_product(lrn_op.lrn), expected) <= GRADIENT["float64"]


def test_keras_layer_keeps_the_parameters_through_its_config(rng):
    layer = lrn_op.LocalResponseNormalization(3, 2.0, 1e-4 / 5, 0.7, dtype="float64")
    clone = lrn_op.LocalResponseNormalization.from_config(layer.get_config())
    assert clone.alpha == 1e-4 / 5 and clone.beta == 0.7
    x, _ = data(rng)
    assert forward_error(clone(x), reference.lrn(x, 3, 2.0, 1e-4 / 5, 0.7), np.float64) <= FORWARD["float64"]


@pytest.mark.parametrize("params", CASES)
def test_float32_rounds_once_from_the_exact_result(rng, params):
    x, dy = data(rng, np.float32)
    y, dx = tape_gradient(lambda t: lrn_op.lrn(t, *params), x, dy.astype(np.float32))
    exact = x.astype(np.float64)
    assert forward_error(y, reference.lrn(exact, *params), np.float32) <= FORWARD["float32"]
    y_numpy = lrn_op.numpy.local_response_normalization(x, *params)
    assert forward_error(y_numpy, reference.lrn(exact, *params), np.float32) <= FORWARD["float32"]
    # The gradient op takes the float32 y, as TF's LRNGrad does.
    assert gradient_error(dx, reference.lrn_grad(dy.astype(np.float32), exact, *params, y=y.numpy())) <= GRADIENT["float32"]


def test_graphs_without_the_exact_attribute_compute_what_they_did(rng):
    # What lrn_op 0.1.0 wrote: only the float32 attributes. TF fills in the empty default when it imports the graph.
    x, _ = data(rng)
    graph = tf.Graph()
    with graph.as_default():
        feed = tf.compat.v1.placeholder(tf.float64, x.shape)
        fetch = lrn_op.lrn(feed, 2, 1.1, 0.1, 0.75)
    graph_def = graph.as_graph_def()
    node = next(n for n in graph_def.node if n.op == "LrnOp>LocalResponseNormalization")
    assert node.attr["exact_bias_alpha_beta"].s == b"1.1 0.1 0.75"
    del node.attr["exact_bias_alpha_beta"]
    old = tf.Graph()
    with old.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=old) as session:
        y = session.run(fetch.name, {feed.name: x})
    assert forward_error(y, reference.lrn(x, 2, f32(1.1), f32(0.1), 0.75), np.float64) <= FORWARD["float64"]
    # and not what the exact parameters give
    assert forward_error(y, reference.lrn(x, 2, 1.1, 0.1, 0.75), np.float64) > 1e-9


def test_an_exact_attribute_that_contradicts_the_float_one_is_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match="exact_bias_alpha_beta gives alpha = 0.2"):
        gen_lrn_ops.lrn_op_local_response_normalization(tf.ones([1, 1, 1, 3]), alpha=0.1,
                                                        exact_bias_alpha_beta="1.0 0.2 0.5")
    with pytest.raises(tf.errors.InvalidArgumentError, match="must hold three numbers"):
        gen_lrn_ops.lrn_op_local_response_normalization(tf.ones([1, 1, 1, 3]), exact_bias_alpha_beta="1.0 1.0")


COMPLEX = {
    "op, complex array": lambda: lrn_op.lrn(np.ones([1, 1, 1, 4], np.complex64)),
    "op, Python complex": lambda: lrn_op.lrn([[[[1 + 2j, 1.0]]]]),
    "op, complex tensor": lambda: lrn_op.lrn(tf.ones([1, 1, 1, 4], tf.complex64)),
    "gradient, complex input_image": lambda: lrn_op.local_response_normalization_grad(
        np.ones([1, 1, 1, 4]), np.ones([1, 1, 1, 4], np.complex128), np.ones([1, 1, 1, 4])),
    "numpy, complex array": lambda: lrn_op.numpy.local_response_normalization(np.ones([1, 1, 1, 4], np.complex64)),
    "numpy, Python complex": lambda: lrn_op.numpy.local_response_normalization([[[[1j, 2.0]]]]),
    "numpy gradient, complex dy": lambda: lrn_op.numpy.local_response_normalization_grad(
        np.ones([1, 1, 1, 4], np.complex64), np.ones([1, 1, 1, 4]), np.ones([1, 1, 1, 4])),
}


@pytest.mark.parametrize("case", COMPLEX, ids=list(COMPLEX))
def test_complex_input_is_refused_not_cast(case):
    argument = {"gradient": "input_image", "numpy gradient": "dy"}.get(case.split(",")[0], "")
    with pytest.raises(TypeError, match=f"{argument}.*must be float16, bfloat16, float32 or float64, got complex"):
        COMPLEX[case]()


LOAD_SAVED_MODEL = """
import numpy as np
{imports}
import tensorflow as tf
loaded = tf.saved_model.load({folder!r} + "/saved")
np.testing.assert_array_equal(loaded(tf.constant(np.load({folder!r} + "/x.npy"))).numpy(),
                              np.load({folder!r} + "/y.npy"))
print("saved model ok")
"""

LOAD_KERAS = """
import numpy as np
{imports}
import keras
model = keras.models.load_model({folder!r} + "/model.keras")
np.testing.assert_array_equal(model(np.load({folder!r} + "/x.npy")).numpy(), np.load({folder!r} + "/y.npy"))
print("keras ok")
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("import_order")
    x = np.random.default_rng(2).standard_normal([2, 4, 4, 8]).astype(np.float32)
    module = tf.Module()
    module.__call__ = tf.function(lambda t: lrn_op.lrn(t, 2, 2.0, 0.1, 0.75),
                                  input_signature=[tf.TensorSpec([None, 4, 4, 8], tf.float32)])
    tf.saved_model.save(module, str(folder / "saved"))
    model = keras.Sequential([keras.Input((4, 4, 8)), lrn_op.LocalResponseNormalization(2, 2.0, 0.1, 0.75)])
    model.save(folder / "model.keras")
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", model(x).numpy())
    return str(folder)


@pytest.mark.parametrize("imports", ["import lrn_op", "import lrn_op\nimport keras\nimport tensorflow",
                                     "import lrn_op.numpy", "import lrn_op\nimport tensorflow\nimport keras"])
def test_saved_models_load_in_every_import_order(saved, imports):
    for script, said in ((LOAD_SAVED_MODEL, "saved model ok"), (LOAD_KERAS, "keras ok")):
        result = run_python(script.format(imports=imports, folder=saved))
        assert result.returncode == 0, result.stderr[-3000:]
        assert said in result.stdout


def test_lrn_op_numpy_still_never_imports_tensorflow():
    result = run_python("import sys, lrn_op, lrn_op.numpy\nprint('tensorflow' in sys.modules, 'keras' in sys.modules)")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["False", "False"]


def test_cached_checks_refuse_every_time_and_take_unhashable_parameters():
    from lrn_op import _params

    seen = []

    @_params.cached
    def check(value):
        seen.append(value)
        if value == "bad":
            raise ValueError("value must be good")
        return value

    assert check(2) == 2 and check(2) == 2 and seen == [2]  # the second from the cache
    assert check(2.0) == 2.0 and seen == [2, 2.0]  # typed: 2.0 is not 2
    for _ in range(2):
        with pytest.raises(ValueError, match="value must be good"):
            check("bad")
    assert seen == [2, 2.0, "bad", "bad"]  # a refusal is never cached
    assert check([1]) == [1] and check([1]) == [1] and seen[-2:] == [[1], [1]]  # unhashable: checked every call
    assert math.copysign(1.0, check(0.0)) == 1.0 and math.copysign(1.0, check(-0.0)) == -1.0  # a zero keeps its sign


@pytest.mark.parametrize("first", [0.0, -0.0])
def test_a_zero_alpha_keeps_its_sign_whichever_zero_came_first(first):
    # -2 alpha beta x sum is +0 or -0 with alpha's sign; added to a gradient term of -0 it decides dx's sign
    g, x = np.array([[[[-0.0, 1.0, 2.0]]]]), np.ones([1, 1, 1, 3])
    y = lrn_op.numpy.local_response_normalization(x, 1, 1.0, 0.0, 0.75)
    lrn_op.numpy.local_response_normalization_grad(g, x, y, 1, 1.0, first, 0.75)
    positive = lrn_op.numpy.local_response_normalization_grad(g, x, y, 1, 1.0, 0.0, 0.75)
    negative = lrn_op.numpy.local_response_normalization_grad(g, x, y, 1, 1.0, -0.0, 0.75)
    assert np.signbit(positive[0, 0, 0, 0]) and not np.signbit(negative[0, 0, 0, 0])


@pytest.mark.parametrize("first", [0.0, -0.0])
def test_a_zero_alpha_keeps_its_sign_in_the_torch_convention_too(first):
    # as above, through convention_params' cache (local_response_norm's checks)
    g, x = np.array([[[[-0.0]], [[1.0]], [[2.0]]]]), np.ones([1, 3, 1, 1])
    y = lrn_op.numpy.local_response_norm(x, 3, 0.0, 0.75, 1.0)
    lrn_op.numpy.local_response_norm_grad(g, x, y, 3, first, 0.75, 1.0)
    positive = lrn_op.numpy.local_response_norm_grad(g, x, y, 3, 0.0, 0.75, 1.0)
    negative = lrn_op.numpy.local_response_norm_grad(g, x, y, 3, -0.0, 0.75, 1.0)
    assert np.signbit(positive[0, 0, 0, 0]) and not np.signbit(negative[0, 0, 0, 0])

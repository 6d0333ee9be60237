"""tf.saved_model round trips in a fresh process, and what a forgotten `import lrn_op` looks like."""
import importlib.util
import os

import keras
import numpy as np
import tensorflow as tf

import bounds
import lrn_op
import reference
from conftest import run_python


class Normalizer(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 10], tf.float32)])
    def __call__(self, x):
        return lrn_op.lrn(x, 2, 2.0, 0.1, 0.75)

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 10], tf.float32)])
    def gradient(self, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = lrn_op.lrn(x, 2, 2.0, 0.1, 0.75)
        return tape.gradient(y, x, output_gradients=tf.sin(x))


LOAD = """
import sys, numpy as np, tensorflow as tf{imports}
folder = sys.argv[1]
module = tf.saved_model.load(folder + "/module")
x = tf.constant(np.load(folder + "/x.npy"))
np.testing.assert_array_equal(module(x).numpy(), np.load(folder + "/y.npy"))
np.testing.assert_array_equal(module.gradient(x).numpy(), np.load(folder + "/dx.npy"))
print("ok")
"""


def save(rng, folder):
    module = Normalizer()
    x = rng.standard_normal([3, 4, 4, 10]).astype(np.float32)
    tf.saved_model.save(module, str(folder / "module"))
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", module(x).numpy())
    np.save(folder / "dx.npy", module.gradient(x).numpy())


def test_reloads_in_a_fresh_process_with_the_same_outputs_and_gradients(rng, tmp_path):
    save(rng, tmp_path)
    result = run_python(LOAD.format(imports="\nimport lrn_op"), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_forgotten_import_names_the_missing_op(rng, tmp_path):
    save(rng, tmp_path)
    result = run_python(LOAD.format(imports=""), tmp_path)
    assert result.returncode != 0
    assert "LrnOp>LocalResponseNormalization" in result.stderr
    assert "not registered" in result.stderr


RELEASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "saved_by_0.1.0")


def test_models_saved_by_an_earlier_release_load_and_compute_what_it_computed():
    # tests/data/make_saved_by_release.py wrote them with lrn_op 0.1.0 as released before its TF libraries moved to
    # TF's C API: the ops' names, attributes, defaults and shape functions are the same, so the loaded graph computes
    # what the same function built today computes, to the bit. The release's own numbers came from another machine:
    # its SIMD path and TF's own kernels (the gradient's sums) may round differently from this one's, so they are
    # matched within two accuracy bounds (each result is within one of the exact value).
    expected = np.load(os.path.join(RELEASE, "expected.npz"))
    assert str(expected["version"]) == "0.1.0"
    spec = importlib.util.spec_from_file_location("make_saved_by_release",
                                                  os.path.join(RELEASE, "..", "make_saved_by_release.py"))
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    x = tf.constant(expected["x"])
    loaded = tf.saved_model.load(os.path.join(RELEASE, "saved_model")).lrn_and_gradient(x)
    fresh = maker.Saved().lrn_and_gradient(x)
    for key in ("nhwc", "nchw"):
        np.testing.assert_array_equal(loaded[key].numpy(), fresh[key].numpy())
        np.testing.assert_allclose(loaded[key].numpy(), expected[key], rtol=2 * bounds.FORWARD["float32"], atol=0)
    np.testing.assert_array_equal(loaded["gradient"].numpy(), fresh["gradient"].numpy())
    assert bounds.gradient_error(loaded["gradient"].numpy(), expected["gradient"]) <= 2 * bounds.GRADIENT["float32"]
    bounds.assert_forward(loaded["nhwc"].numpy(), reference.lrn(expected["x"], 2, 1.5, 0.1, 0.75))

    model = keras.models.load_model(os.path.join(RELEASE, "model.keras"))
    predicted = model.predict(expected["x"], verbose=0)
    np.testing.assert_array_equal(predicted, lrn_op.local_response_normalization(x, 2, 1.5, 0.1, 0.75).numpy())
    np.testing.assert_allclose(predicted, expected["keras"], rtol=2 * bounds.FORWARD["float32"], atol=0)

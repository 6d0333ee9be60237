"""tf.saved_model round trips in a fresh process, and what a forgotten `import lrn_op` looks like."""
import numpy as np
import tensorflow as tf

import lrn_op
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

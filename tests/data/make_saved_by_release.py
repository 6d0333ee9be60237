"""Writes what tests/test_saved_model.py loads to check that models saved by an earlier release of lrn_op load and
run unchanged: a SavedModel holding lrn_op's ops (NHWC and NCHW, forward and gradient), a .keras file holding the
layer, the input they were run on and what that release computed. tests/test_saved_model.py also builds `Saved`
with the lrn_op under test, to compare the loaded graph with a fresh one. Run with that release installed:

    python tests/data/make_saved_by_release.py tests/data/saved_by_0.1.0
"""
import os
import sys

import keras
import numpy as np
import tensorflow as tf

import lrn_op


class Saved(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 12], tf.float32)])
    def lrn_and_gradient(self, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            nhwc = lrn_op.local_response_normalization(x, 2, 1.5, 0.1, 0.75)
            nchw = lrn_op.local_response_normalization(tf.transpose(x, [0, 3, 1, 2]), 3, 2.0, 1e-4, 0.6,
                                                       data_format="NCHW")
            total = tf.reduce_sum(nhwc * nhwc) + tf.reduce_sum(nchw)
        return {"nhwc": nhwc, "nchw": nchw, "gradient": tape.gradient(total, x)}


def main(out):
    os.makedirs(out, exist_ok=True)
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 12)).astype(np.float32)
    module = Saved()
    tf.saved_model.save(module, os.path.join(out, "saved_model"))
    # The layer alone: a .keras file holds each layer's config as its Keras wrote it, and Keras does not read configs
    # from newer versions of itself (a Dense saved by Keras 3.15 fails under the Keras CPython 3.10 gets).
    model = keras.Sequential([keras.Input((4, 4, 12)), lrn_op.LocalResponseNormalization(2, 1.5, 0.1, 0.75)])
    model.save(os.path.join(out, "model.keras"))
    results = {key: value.numpy() for key, value in module.lrn_and_gradient(tf.constant(x)).items()}
    np.savez(os.path.join(out, "expected.npz"), x=x, keras=model.predict(x, verbose=0), version=lrn_op.__version__,
             **results)


if __name__ == "__main__":
    main(sys.argv[1])

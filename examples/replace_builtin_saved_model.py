"""A SavedModel that holds TensorFlow's own LRN (tf.nn.local_response_normalization), exported by code that knows
nothing of lrn_op, runs lrn_op's kernels after one call, lrn_op.replace_builtin(), with no change to the model.

    python replace_builtin_saved_model.py EXPORT_DIR
"""
import sys
import time

import numpy as np
import tensorflow as tf

import lrn_op  # importing it changes nothing in TensorFlow: only replace_builtin() does

export_dir = sys.argv[1] if len(sys.argv) > 1 else "lrn_saved_model"


class Model(tf.Module):
    """Somebody else's model: stock TensorFlow ops only."""

    @tf.function(input_signature=[tf.TensorSpec([None, 27, 27, 256], tf.float32)])
    def __call__(self, images):
        return tf.nn.local_response_normalization(images, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)


tf.saved_model.save(Model(), export_dir)

images = tf.constant(np.random.default_rng(0).standard_normal((32, 27, 27, 256)).astype(np.float32))


def serve():
    model = tf.saved_model.load(export_dir)
    model(images)  # the first call builds the kernels
    start = time.perf_counter()
    for _ in range(10):
        result = model(images)
    return result.numpy(), (time.perf_counter() - start) / 10 * 1e3


before, before_ms = serve()
lrn_op.replace_builtin()  # from here on, every LRN and LRNGrad in this process runs lrn_op's kernels
after, after_ms = serve()

print(f"TensorFlow's kernel: {before_ms:.1f} ms; lrn_op's: {after_ms:.1f} ms; replaced: {lrn_op.builtin_replaced()}; "
      f"largest difference {np.max(np.abs(after - before)):.1e}")

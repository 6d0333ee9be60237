"""lrn_op's TensorFlow op: tf.nn.local_response_normalization's signature and results, with its gradient (and the
gradient's gradient), eagerly and in tf.function. The worked example from the README."""
import tensorflow as tf

import lrn_op

x = tf.constant([[[[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]],
                  [[4, 3, 2, 1, 8, 7, 6, 5], [1, 2, 3, 4, 5, 6, 7, 8]]]], tf.float32)
y = lrn_op.local_response_normalization(x, depth_radius=2, bias=0.0, alpha=1.0, beta=1.0)
print(y[0, 0, 0, 0].numpy(), y[0, 0, 0, 3].numpy())  # 0.071428575 0.044444446, as tf.nn.lrn gives

with tf.GradientTape() as outer:
    outer.watch(x)
    with tf.GradientTape() as inner:
        inner.watch(x)
        loss = tf.reduce_sum(lrn_op.local_response_normalization(x, 2, 1.0, 1e-2, 0.75) ** 2)
    dx = inner.gradient(loss, x)
second = outer.gradient(dx, x)  # the gradient of sum(dx); TF's own LRN has no second derivative
compiled = tf.function(lrn_op.local_response_normalization)
print(dx.shape, second.shape, bool(tf.reduce_all(compiled(x, 2, 0.0, 1.0, 1.0) == y)))

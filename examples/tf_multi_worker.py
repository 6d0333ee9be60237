"""Multi-worker training with TensorFlow's MultiWorkerMirroredStrategy and lrn_op's Keras layer, in a custom
training loop (Keras 3's model.fit does not run under that strategy: keras-team/keras#20585).

Run it once per worker, each with its own TF_CONFIG; without TF_CONFIG it trains alone:

    CLUSTER='"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}'
    TF_CONFIG="{$CLUSTER, \"task\": {\"type\": \"worker\", \"index\": 0}}" python tf_multi_worker.py w0.npz &
    TF_CONFIG="{$CLUSTER, \"task\": {\"type\": \"worker\", \"index\": 1}}" python tf_multi_worker.py w1.npz

Each worker saves the trained weights to the file it is given.
"""
import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf

import lrn_op

strategy = tf.distribute.MultiWorkerMirroredStrategy()
cluster = json.loads(os.environ.get("TF_CONFIG", "{}"))
workers = len(cluster.get("cluster", {}).get("worker", [None]))
task = cluster.get("task", {}).get("index", 0)

GLOBAL_BATCH = 16
rng = np.random.default_rng(0)
images = rng.standard_normal((8 * GLOBAL_BATCH, 8, 8, 3)).astype("float32")
labels = rng.integers(0, 4, len(images))

with strategy.scope():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        lrn_op.LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-2, beta=0.75),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4),
    ])
    optimizer = keras.optimizers.SGD(0.1)
    per_example = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")


@tf.function
def train_step(x, y):
    def replica_step(x, y):
        with tf.GradientTape() as tape:
            # Each worker averages over the global batch, so that the all-reduced sum is the global mean.
            loss = tf.nn.compute_average_loss(per_example(y, model(x, training=True)), global_batch_size=GLOBAL_BATCH)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss
    return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), axis=None)


local = GLOBAL_BATCH // workers  # each worker trains on its own slice of every global batch
for start in range(0, len(images), GLOBAL_BATCH):
    mine = slice(start + task * local, start + (task + 1) * local)
    loss = train_step(tf.constant(images[mine]), tf.constant(labels[mine]))
print(f"worker {task} of {workers}: final loss {float(loss):.6f}")
np.savez(sys.argv[1], *[w.numpy() for w in model.trainable_variables])

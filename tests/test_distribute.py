"""Training with the layer under tf.distribute.MirroredStrategy, over two logical CPU devices."""
from conftest import run_python

SCRIPT = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, lrn_op
keras.utils.set_random_seed(3)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
with strategy.scope():
    model = keras.Sequential([
        keras.Input((8, 8, 6)),
        keras.layers.Conv2D(12, 3, padding="same"),
        lrn_op.LocalResponseNormalization(2, 1.0, 1e-2, 0.75),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
rng = np.random.default_rng(0)
x, y = rng.standard_normal((64, 8, 8, 6)).astype(np.float32), rng.integers(0, 3, 64)
history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
print(history.history["loss"][0], history.history["loss"][-1])
"""


def test_trains_under_mirrored_strategy():
    result = run_python(SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    first, last = map(float, result.stdout.strip().splitlines()[-1].split())
    assert last < first

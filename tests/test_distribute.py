"""Training with the layer under tf.distribute.MirroredStrategy, over two logical CPU devices."""
import bounds
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
# The trained LRN layer against the formula in float64: an identity layer would fail here.
features = model.layers[0](x[:4]).numpy().astype(np.float64)
squares = np.pad(features ** 2, [(0, 0)] * 3 + [(2, 2)])
window = sum(squares[..., k:k + features.shape[-1]] for k in range(5))
expected = features / (1.0 + 1e-2 * window) ** 0.75
error = np.max(np.abs(model.layers[1](features).numpy() - expected) / np.abs(expected))
print(history.history["loss"][0], history.history["loss"][-1], error)
"""


def test_trains_under_mirrored_strategy():
    result = run_python(SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    first, last, error = map(float, result.stdout.strip().splitlines()[-1].split())
    assert last < first
    assert error <= bounds.FORWARD["float32"]

"""lrn_op's Keras layer under Keras 3's distribution API on the JAX backend, over four CPU devices:
DataParallel (the batch split over the devices) and ModelParallel (the convolution before the LRN split over its
output channels as well). Each trains the same small model as one device does, and the script prints how far apart
the losses and the weights end, and which collectives XLA compiled into one training step.

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python keras_distribution.py

(The script sets both that flag and KERAS_BACKEND=jax itself when they are not set.)
"""
import os
import re

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrn_op  # noqa: E402

COLLECTIVES = r"\b(all-gather|all-reduce|all-to-all|collective-permute|reduce-scatter)(?:-start)?\("

rng = np.random.default_rng(0)
images, labels = rng.standard_normal((64, 8, 8, 6)).astype(np.float32), rng.integers(0, 3, 64)


def train():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((8, 8, 6)),
        keras.layers.Conv2D(8, 3, padding="same", name="conv"),
        lrn_op.LocalResponseNormalization(2, 1.0, 1e-2, 0.75),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(images, labels, epochs=3, batch_size=16, shuffle=False, verbose=0)
    return model, history.history["loss"]


def step_collectives(model, distribution):
    """The collectives in one compiled training step, as Keras's JAX trainer compiles it (model.train_step)."""
    state = tuple([v.value for v in variables] for variables in (
        model.trainable_variables, model.non_trainable_variables, model.optimizer.variables, model.metrics_variables))
    batch = tuple(jax.device_put(array[:16], distribution.get_data_layout(array[:16].shape).backend_layout)
                  for array in (images, labels))
    return sorted(re.findall(COLLECTIVES, jax.jit(model.train_step).lower(state, batch).compile().as_text()))


devices = keras.distribution.list_devices()
layout_map = keras.distribution.LayoutMap(keras.distribution.DeviceMesh((2, 2), ["batch", "model"], devices))
layout_map["conv/kernel"] = (None, None, None, "model")  # the convolution's output channels, split in two
layout_map["conv/bias"] = ("model",)
distributions = {
    "DataParallel": keras.distribution.DataParallel(devices=devices),
    "ModelParallel": keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch"),
}

alone, alone_losses = train()
for name, distribution in distributions.items():
    with distribution.scope():
        model, losses = train()
        collectives = step_collectives(model, distribution)
    loss_gap = max(abs(a - b) for a, b in zip(alone_losses, losses))
    weight_gap = max(float(np.max(np.abs(a - b))) for a, b in zip(alone.get_weights(), model.get_weights()))
    print(f"{name}: losses within {loss_gap:.1e} and weights within {weight_gap:.1e} of one device; "
          f"collectives in a training step: {collectives}")

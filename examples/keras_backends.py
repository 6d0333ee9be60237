"""lrn_op's Keras layer in a small AlexNet-like model, trained on data the script makes, saved and loaded again.
The same file runs under each of Keras's tensorflow, jax and torch backends:

    KERAS_BACKEND=jax python keras_backends.py model.keras      (or torch, or tensorflow)

A .keras file written under one backend loads under the others. One saved with its optimizer's state under torch
needs `compile=False` to load where PyTorch is not installed (Keras stores the torch optimizer's class).
"""
import sys

import keras
import numpy as np

import lrn_op

path = sys.argv[1] if len(sys.argv) > 1 else "alexnet-ish.keras"

# Made-up data: 256 images of 32x32x3 and their labels among 10 classes.
rng = np.random.default_rng(0)
images = rng.standard_normal((256, 32, 32, 3)).astype("float32")
labels = rng.integers(0, 10, len(images))

keras.utils.set_random_seed(1)
model = keras.Sequential([
    keras.Input((32, 32, 3)),
    keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
    lrn_op.LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75),
    keras.layers.MaxPooling2D(2),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(10),
])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
history = model.fit(images, labels, epochs=2, batch_size=32, verbose=0)
model.save(path)

reloaded = keras.models.load_model(path)
same = np.array_equal(model.predict(images[:8], verbose=0), reloaded.predict(images[:8], verbose=0))
print(f"{keras.backend.backend()}: loss {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}; "
      f"saved to {path}; reloaded model predicts the same: {same}")

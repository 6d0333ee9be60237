"""The Keras layer: configuration, training, saving and reloading in a fresh process, XLA, export."""
import json

import keras
import numpy as np
import pytest

import bounds
import lrn_op
import reference
from conftest import run_python


def small_model(data_format="channels_last", **layer_args):
    """Conv, LRN, pooling, dense. For channels_first the LRN gets its input through a Permute: the convolution
    stays channels_last, which every TF CPU build runs (TF's aarch64 build has no NCHW convolution)."""
    to_layout = [keras.layers.Permute((3, 1, 2))] if data_format == "channels_first" else []
    return keras.Sequential([
        keras.Input((8, 8, 6)),
        keras.layers.Conv2D(12, 3, padding="same", name="conv"),
        *to_layout,
        lrn_op.LocalResponseNormalization(2, 1.0, 1e-2, 0.75, data_format=data_format, name="lrn", **layer_args),
        keras.layers.GlobalAveragePooling2D(data_format=data_format),
        keras.layers.Dense(3),
    ])


def training_data(rng, count=64):
    return rng.standard_normal((count, 8, 8, 6)).astype(np.float32), rng.integers(0, 3, count)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_trains_with_fit(rng, data_format, jit_compile):
    keras.utils.set_random_seed(1)
    model = small_model(data_format)
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit_compile)
    x, y = training_data(rng)
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # The trained model's LRN layer normalises its input as the reference does: an identity layer would fail here.
    features = model.get_layer("conv")(x[:4]).numpy()
    lrn = model.get_layer("lrn")
    nchw = features.transpose(0, 3, 1, 2)
    out = lrn(features).numpy() if data_format == "channels_last" else lrn(nchw).numpy().transpose(0, 2, 3, 1)
    bounds.assert_forward(out, reference.lrn(features, 2, 1.0, 1e-2, 0.75))


def save_inputs_and_predictions(model, rng, folder):
    x, _ = training_data(rng, count=5)
    np.save(folder / "x.npy", x)
    np.save(folder / "expected.npy", model.predict(x, verbose=0))


def test_save_and_load_in_a_fresh_process(rng, tmp_path):
    model = small_model()
    model.save(tmp_path / "m.keras")
    save_inputs_and_predictions(model, rng, tmp_path)
    result = run_python(
        "import sys, numpy as np, keras, lrn_op\n"
        "folder = sys.argv[1]\n"
        "model = keras.models.load_model(folder + '/m.keras')\n"
        "got = model.predict(np.load(folder + '/x.npy'), verbose=0)\n"
        "np.testing.assert_array_equal(got, np.load(folder + '/expected.npy'))\n"
        "print(type(model.layers[1]).__name__)\n", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "LocalResponseNormalization"


def test_export_writes_a_saved_model_that_reloads(rng, tmp_path):
    model = small_model()
    model.export(tmp_path / "exported", verbose=False)
    save_inputs_and_predictions(model, rng, tmp_path)
    result = run_python(
        "import sys, numpy as np, tensorflow as tf, lrn_op\n"
        "folder = sys.argv[1]\n"
        "loaded = tf.saved_model.load(folder + '/exported')\n"
        "got = loaded.serve(tf.constant(np.load(folder + '/x.npy'))).numpy()\n"
        "np.testing.assert_allclose(got, np.load(folder + '/expected.npy'), rtol=1e-6, atol=1e-6)\n"
        "print('ok')\n", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_another_keras_backend_gets_a_clear_error(monkeypatch):
    # Keras reports its backend through keras.backend.backend(), which KERAS_BACKEND sets at import.
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    with pytest.raises(RuntimeError, match="runs under Keras's tensorflow, jax, torch backends; this process runs "
                                           "the 'numpy' backend"):
        lrn_op.LocalResponseNormalization(2)

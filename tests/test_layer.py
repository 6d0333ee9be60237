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
    shape = (8, 8, 6) if data_format == "channels_last" else (6, 8, 8)
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Conv2D(12, 3, padding="same", data_format=data_format),
        lrn_op.LocalResponseNormalization(2, 1.0, 1e-2, 0.75, data_format=data_format, **layer_args),
        keras.layers.GlobalAveragePooling2D(data_format=data_format),
        keras.layers.Dense(3),
    ])


def training_data(rng, data_format="channels_last", count=64):
    x = rng.standard_normal((count, 8, 8, 6)).astype(np.float32)
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2)
    return x, rng.integers(0, 3, count)


def test_layer_computes_the_op(rng):
    layer = lrn_op.LocalResponseNormalization(depth_radius=3, bias=2.0, alpha=0.1, beta=0.6)
    x = rng.standard_normal([2, 4, 4, 11]).astype(np.float32)
    np.testing.assert_allclose(layer(x).numpy(), reference.lrn(x, 3, 2.0, 0.1, 0.6), rtol=3e-7)
    first = lrn_op.LocalResponseNormalization(2, data_format="channels_first")
    np.testing.assert_allclose(first(x.transpose(0, 3, 1, 2)).numpy().transpose(0, 2, 3, 1),
                               reference.lrn(x, 2, 1.0, 1.0, 0.5), rtol=3e-7)


def test_config_round_trip():
    layer = lrn_op.LocalResponseNormalization(3, 2.0, 1e-4, 0.75, data_format="channels_first", name="lrn1")
    config = layer.get_config()
    assert {k: config[k] for k in ("depth_radius", "bias", "alpha", "beta", "data_format", "name")} == {
        "depth_radius": 3, "bias": 2.0, "alpha": 1e-4, "beta": 0.75, "data_format": "channels_first", "name": "lrn1"}
    clone = lrn_op.LocalResponseNormalization.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(keras.saving.serialize_keras_object(layer))))
    assert isinstance(restored, lrn_op.LocalResponseNormalization) and restored.get_config() == config


@pytest.mark.parametrize("bad,message", [(dict(depth_radius=-1), "depth_radius"), (dict(beta=float("nan")), "beta"),
                                         (dict(data_format="NHWC"), "data_format")])
def test_bad_arguments_are_refused_at_construction(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        lrn_op.LocalResponseNormalization(**bad)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_trains_with_fit(rng, data_format, jit_compile):
    keras.utils.set_random_seed(1)
    model = small_model(data_format)
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit_compile)
    x, y = training_data(rng, data_format)
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # The trained model's LRN layer normalises its input as the reference does: an identity layer would fail here.
    conv, lrn = model.layers[0], model.layers[1]
    features = conv(x[:4]).numpy()
    to_nhwc = (lambda a: a) if data_format == "channels_last" else (lambda a: a.transpose(0, 2, 3, 1))
    bounds.assert_forward(to_nhwc(lrn(features).numpy()), reference.lrn(to_nhwc(features), 2, 1.0, 1e-2, 0.75))


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
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="needs Keras's tensorflow backend; this process runs the 'jax' backend"):
        lrn_op.LocalResponseNormalization(2)

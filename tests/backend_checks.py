"""Checks of the Keras layer and the front ends under one Keras backend, run in a process of its own (a process has
one Keras backend): `python backend_checks.py BACKEND WORKDIR MODE`. tests/test_backends.py runs it and asserts on
the JSON it prints.

Modes:
  train    builds the same small model from fixed weights, trains it one epoch on fixed data, saves it to
           WORKDIR/model-BACKEND.keras and its predictions to WORKDIR/predictions-BACKEND.npy.
  load     loads every WORKDIR/model-*.keras and saves what each predicts here, WORKDIR/loaded-BACKEND-FROM.npy.
  kernels  errors of the backend's compiled forward and gradient against the float64 reference, per dtype and data
           format, and what the compiled layer does with a NaN.
"""
import json
import os
import sys

import numpy as np

BACKEND, WORKDIR, MODE = sys.argv[1:4]
os.environ["KERAS_BACKEND"] = BACKEND
if BACKEND != "tensorflow":
    # These backends must not need TensorFlow: any import of it fails here.
    sys.modules["tensorflow"] = None

import keras  # noqa: E402
import ml_dtypes  # noqa: E402

import lrn_op  # noqa: E402
import bounds  # noqa: E402
import reference  # noqa: E402

PARAMS = dict(depth_radius=2, bias=1.0, alpha=0.5, beta=0.75)
REF_PARAMS = dict(radius=2, bias=1.0, alpha=0.5, beta=0.75)
DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32, "float64": np.float64}


def model():
    """Conv, LRN, flatten, dense, with weights drawn from a fixed seed, the same under every backend."""
    rng = np.random.default_rng(0)
    net = keras.Sequential([
        keras.Input((6, 6, 3)),
        keras.layers.Conv2D(8, 3, padding="same"),
        lrn_op.LocalResponseNormalization(**PARAMS),
        keras.layers.Flatten(),
        keras.layers.Dense(2),
    ])
    net.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.3 for w in net.get_weights()])
    return net


def data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((16, 6, 6, 3)).astype(np.float32), rng.standard_normal((16, 2)).astype(np.float32)


def train():
    x, target = data()
    net = model()
    net.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    before = net.predict(x, verbose=0)
    history = net.fit(x, target, batch_size=4, epochs=1, shuffle=False, verbose=0)
    after = net.predict(x, verbose=0)
    net.save(os.path.join(WORKDIR, f"model-{BACKEND}.keras"))
    np.save(os.path.join(WORKDIR, f"predictions-{BACKEND}.npy"), after)
    # What the trained LRN layer computes, from the trained conv's output, against the reference.
    conv = keras.Model(net.inputs, net.layers[0].output)
    lrn_in = np.asarray(keras.ops.convert_to_numpy(conv(x)), np.float64)
    lrn_out = keras.ops.convert_to_numpy(keras.Model(net.inputs, net.layers[1].output)(x))
    return {"loss": history.history["loss"], "moved": float(np.max(np.abs(after - before))),
            "layer_error": bounds.forward_error(lrn_out, reference.lrn(lrn_in, **REF_PARAMS), "float32"),
            "tensorflow_imported": "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None}


def load():
    x, _ = data()
    loaded = {}
    for name in sorted(os.listdir(WORKDIR)):
        if name.startswith("model-") and name.endswith(".keras"):
            source = name[len("model-"):-len(".keras")]
            net = keras.models.load_model(os.path.join(WORKDIR, name))
            np.save(os.path.join(WORKDIR, f"loaded-{BACKEND}-{source}.npy"), net.predict(x, verbose=0))
            loaded[source] = True
    return loaded


def compiled():
    """The layer's forward and its gradient, compiled the backend's way: jax.jit, torch.compile, tf.function."""
    if BACKEND == "jax":
        import jax

        def run(layer, x, dy):
            fn = jax.jit(lambda t: layer(t))
            grad = jax.jit(jax.grad(lambda t: (layer(t) * dy).sum()))
            return np.asarray(fn(x)), np.asarray(grad(x))
    elif BACKEND == "torch":
        import torch

        def run(layer, x, dy):
            torch._dynamo.reset()  # each layer and dtype is a graph of its own: no recompilation limit to meet
            fn = torch.compile(lambda t: layer(t), fullgraph=True)
            t = torch.from_numpy(x.view(np.int16)).view(torch.bfloat16) if x.dtype == ml_dtypes.bfloat16 \
                else torch.from_numpy(x)
            t.requires_grad_(True)
            y = fn(t)
            upstream = torch.from_numpy(dy.view(np.int16)).view(torch.bfloat16) if dy.dtype == ml_dtypes.bfloat16 \
                else torch.from_numpy(dy)
            y.backward(upstream)
            return as_numpy(y), as_numpy(t.grad)
    else:
        import tensorflow as tf

        def run(layer, x, dy):
            @tf.function
            def both(t):
                with tf.GradientTape() as tape:
                    tape.watch(t)
                    y = layer(t)
                return y, tape.gradient(y, t, output_gradients=tf.constant(dy))

            y, dx = both(tf.constant(x))
            return y.numpy(), dx.numpy()
    return run


def as_numpy(tensor):
    tensor = tensor.detach()
    if str(tensor.dtype) == "torch.bfloat16":
        import torch

        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def kernels():
    if BACKEND == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 arrays stay float64
    run = compiled()
    rng = np.random.default_rng(2)
    results = {"errors": {}}
    for data_format, order in (("channels_last", (0, 1, 2, 3)), ("channels_first", (0, 3, 1, 2))):
        back = np.argsort(order)
        for name, dtype in DTYPES.items():
            layer = lrn_op.LocalResponseNormalization(**PARAMS, data_format=data_format, dtype=name)
            x = rng.standard_normal((2, 5, 4, 12)).astype(dtype)
            dy = rng.standard_normal((2, 5, 4, 12)).astype(dtype)
            y, dx = run(layer, np.ascontiguousarray(x.transpose(order)), np.ascontiguousarray(dy.transpose(order)))
            y, dx = y.transpose(back), dx.transpose(back)
            results["errors"][f"{data_format} {name}"] = {
                "dtype": str(y.dtype) + " " + str(dx.dtype),
                "forward": bounds.forward_error(y, reference.lrn(x, **REF_PARAMS), name),
                "gradient": bounds.gradient_error(dx, reference.lrn_grad(dy, x, **REF_PARAMS, y=y)),
            }
    # The compiled layer against the numpy front end, bit for bit, and a NaN's reach: a composite of the backend's
    # own ops would round differently, and TF's band-matrix kernel spreads a NaN over the whole pixel.
    layer = lrn_op.LocalResponseNormalization(**PARAMS)
    x = rng.standard_normal((2, 3, 3, 16)).astype(np.float32)
    x[0, 1, 1, 8] = np.nan
    y, _ = run(layer, x, np.ones_like(x))
    from lrn_op import numpy as lrn_numpy

    expected = lrn_numpy.local_response_normalization(x, **PARAMS)
    results["bit_identical"] = bool(np.array_equal(y, expected, equal_nan=True))
    results["nan_channels"] = np.flatnonzero(np.isnan(y[0, 1, 1])).tolist()
    results["nan_elsewhere"] = int(np.isnan(y).sum()) - len(results["nan_channels"])
    portable = lrn_op.LocalResponseNormalization(**PARAMS, portable=True)
    y_portable, _ = run(portable, x, np.ones_like(x))
    results["portable_nan_channels"] = np.flatnonzero(np.isnan(y_portable[0, 1, 1])).tolist()
    results["tensorflow_imported"] = "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None
    return results


print(json.dumps({"train": train, "load": load, "kernels": kernels}[MODE]()))

"""LocalResponseNormalization(portable=True): a model that holds only TF's builtin ops, for SavedModels without
lrn_op and for TFLite."""
import warnings

import keras
import ml_dtypes
import numpy as np
import pytest
import tensorflow as tf

import bounds
import lrn_op
import reference
from conftest import f32, run_python

PARAMS = (2, 2.0, 0.1, 0.75)


def portable_model():
    return keras.Sequential([keras.Input((6, 6, 16)), lrn_op.LocalResponseNormalization(*PARAMS, portable=True)])


def expected(x):
    radius, bias, alpha, beta = PARAMS
    return reference.lrn(x, radius, f32(bias), f32(alpha), f32(beta))


def op_types(model):
    function = tf.function(model).get_concrete_function(tf.TensorSpec([None, 6, 6, 16], tf.float32))
    return {op.type for op in function.graph.get_operations()}


def test_holds_tf_lrn_and_none_of_lrn_ops():
    types = op_types(portable_model())
    assert "LRN" in types and not any(t.startswith("LrnOp>") for t in types)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_computes_lrn_in_every_dtype_it_covers(rng, dtype):
    cast = ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype
    x = rng.standard_normal([2, 6, 6, 16]).astype(cast)
    layer = lrn_op.LocalResponseNormalization(*PARAMS, portable=True, dtype=dtype)
    y = layer(x)
    assert y.dtype == dtype
    assert bounds.forward_error(np.asarray(y, np.float64), expected(x.astype(np.float64)), cast) <= \
        bounds.TF_BUILTIN[dtype]


def test_refuses_what_tf_lrn_cannot_do():
    with pytest.raises(ValueError, match="portable=True needs data_format='channels_last'"):
        lrn_op.LocalResponseNormalization(portable=True, data_format="channels_first")
    with pytest.raises(ValueError, match="portable=True covers float16, bfloat16 and float32"):
        lrn_op.LocalResponseNormalization(portable=True, dtype="float64")(np.ones([1, 2, 2, 3]))
    with pytest.raises(TypeError, match="portable must be True or False"):
        lrn_op.LocalResponseNormalization(portable="yes")


def test_config_carries_portable():
    layer = lrn_op.LocalResponseNormalization(*PARAMS, portable=True)
    config = layer.get_config()
    assert config["portable"] is True
    assert lrn_op.LocalResponseNormalization.from_config(config).portable is True
    assert lrn_op.LocalResponseNormalization().get_config()["portable"] is False


def test_converts_to_tflite_builtin_lrn(rng):
    model = portable_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter warns of its move to ai_edge_litert
        flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    assert "LOCAL_RESPONSE_NORMALIZATION" in {op["op_name"] for op in interpreter._get_ops_details()}
    x = rng.standard_normal([3, 6, 6, 16]).astype(np.float32)
    source, sink = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], x)
    interpreter.invoke()
    # TFLite's kernel computes in float32 with its own pow, as TF's does.
    assert bounds.forward_error(interpreter.get_tensor(sink["index"]), expected(x), np.float32) <= bounds.TF_FLOAT32


def test_saved_model_loads_and_runs_in_a_process_that_never_imports_lrn_op(rng, tmp_path):
    model = portable_model()
    model.export(tmp_path / "exported", verbose=False)
    x = rng.standard_normal([3, 6, 6, 16]).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = run_python(
        "import sys, numpy as np, tensorflow as tf\n"
        "loaded = tf.saved_model.load(sys.argv[1] + '/exported')\n"
        "np.save(sys.argv[1] + '/y.npy', loaded.serve(tf.constant(np.load(sys.argv[1] + '/x.npy'))).numpy())\n"
        "assert 'lrn_op' not in sys.modules\n", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert bounds.forward_error(np.load(tmp_path / "y.npy"), expected(x), np.float32) <= bounds.TF_FLOAT32


def test_runs_lrn_op_kernels_after_replace_builtin():
    result = run_python(
        "import numpy as np, keras, lrn_op\n"
        "layer = lrn_op.LocalResponseNormalization(1, portable=True)\n"
        "x = np.ones([1, 1, 1, 8], np.float32); x[0, 0, 0, 0] = np.nan\n"
        "print(int(np.isnan(layer(x)).sum()))\n"
        "lrn_op.replace_builtin()\n"
        "print(int(np.isnan(layer(x)).sum()))\n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-2:] == ["8", "2"]  # TF's kernel spreads the NaN; lrn_op's keeps it in its window

"""Bad input gets a clear Python exception that names the argument, through the wrapper and through the raw
generated ops alike. Each case runs in its own process, so that an abort or a crash fails the test instead of
taking pytest down with it."""
import json
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

import lrn_op
from lrn_op.ops import gen_lrn_ops

PRELUDE = """
import json, sys
import numpy as np
import tensorflow as tf
import lrn_op
from lrn_op.ops import gen_lrn_ops
raw, raw_grad = gen_lrn_ops.lrn_op_local_response_normalization, gen_lrn_ops.lrn_op_local_response_normalization_grad
x4 = tf.ones([1, 2, 2, 4])
"""

WRAPPER_CASES = {
    "rank 0": ("lrn_op.lrn(tf.constant(1.0))", "input must be 4-dimensional"),
    "rank 3": ("lrn_op.lrn(tf.ones([2, 2, 4]))", "input must be 4-dimensional"),
    "rank 5": ("lrn_op.lrn(tf.ones([1, 2, 2, 4, 1]))", "input must be 4-dimensional"),
    "negative radius": ("lrn_op.lrn(x4, depth_radius=-1)", "depth_radius must be non-negative"),
    "radius 2**31": ("lrn_op.lrn(x4, depth_radius=2**31)", "depth_radius must be less than 2**31"),
    "radius 2.5": ("lrn_op.lrn(x4, depth_radius=2.5)", "depth_radius must be an integer"),
    "radius string": ("lrn_op.lrn(x4, depth_radius='2')", "depth_radius must be an integer"),
    "int32 input": ("lrn_op.lrn(tf.ones([1, 2, 2, 4], tf.int32))",
                    "input must be float16, bfloat16, float32 or float64, got int32"),
    "complex input": ("lrn_op.lrn(tf.ones([1, 2, 2, 4], tf.complex64))",
                      "input must be float16, bfloat16, float32 or float64, got complex64"),
    "string input": ("lrn_op.lrn(tf.fill([1, 2, 2, 4], 'a'))",
                     "input must be float16, bfloat16, float32 or float64, got string"),
    "NaN bias": ("lrn_op.lrn(x4, bias=float('nan'))", "bias must be a finite number"),
    "NaN alpha": ("lrn_op.lrn(x4, alpha=float('nan'))", "alpha must be a finite number"),
    "NaN beta": ("lrn_op.lrn(x4, beta=float('nan'))", "beta must be a finite number"),
    "Inf beta": ("lrn_op.lrn(x4, beta=float('inf'))", "beta must be a finite number"),
    "data_format": ("lrn_op.lrn(x4, data_format='NCWH')", "data_format must be 'NHWC' or 'NCHW'"),
    # unhashable parameters, which the wrapper's cache of checked parameters cannot hold: checked every call
    "bias list": ("lrn_op.lrn(x4, bias=[1.0])", "bias must be a real number"),
    "radius tensor": ("lrn_op.lrn(x4, depth_radius=tf.constant(2))", "depth_radius must be an integer"),
    "grad shapes": ("lrn_op.local_response_normalization_grad(x4, x4, tf.ones([1, 2, 2, 5]))",
                    "output_image must have the shape of input_image, (1, 2, 2, 4), got (1, 2, 2, 5)"),
    "grad ranks": ("lrn_op.local_response_normalization_grad(x4, x4, tf.ones([1, 2, 2]))",
                   "output_image must be 4-dimensional"),
    "grad dtypes": ("lrn_op.local_response_normalization_grad(x4, tf.cast(x4, tf.float64), x4)",
                    "input_grads must have the dtype of input_image, float64, got float32"),
}

RAW_CASES = {
    "raw negative radius": ("raw(x4, depth_radius=-1)", "depth_radius"),
    "raw radius 2**31": ("raw(x4, depth_radius=2**31)", "depth_radius must be less than 2**31"),
    "raw NaN bias": ("raw(x4, bias=float('nan'))", "bias must be a finite number"),
    "raw NaN beta": ("raw(x4, beta=float('nan'))", "beta must be a finite number"),
    "raw data_format": ("raw(x4, data_format='NCWH')", "data_format"),
    "raw rank 3": ("raw(tf.ones([2, 2, 4]))", "input must be 4-dimensional"),
    "raw rank 3 in a graph": ("tf.function(raw).get_concrete_function(tf.TensorSpec([2, 2, 4]))",
                              "input must be 4-dimensional"),
    # TF checks the type attribute before any kernel runs.
    "raw int32": ("raw(tf.ones([1, 2, 2, 4], tf.int32))", "Value for attr 'T' of int32 is not in the list"),
    # CVE-2022-35985 in TF's LRNGrad: a rank-3 output_image with the same leading dims aborts the process.
    "raw grad rank-3 output_image": ("raw_grad(x4, x4, tf.ones([1, 2, 2]))", "output_image must be 4-dimensional"),
    # TF's LRNGrad also aborts on empty 4-D inputs with a rank-1 output_image.
    "raw grad empty with rank-1 output_image": (
        "raw_grad(tf.ones([0, 2, 2, 4]), tf.ones([0, 2, 2, 4]), tf.ones([4]))", "output_image must be 4-dimensional"),
    "raw grad shapes": ("raw_grad(x4, tf.ones([1, 2, 3, 4]), x4)",
                        "input_grads must have the shape of input_image, (1, 2, 3, 4), got (1, 2, 2, 4)"),
    "raw grad shapes in a graph": (
        "tf.function(raw_grad).get_concrete_function(*[tf.TensorSpec(s) for s in ([1,2,2,4], [1,2,3,4], [1,2,2,4])])",
        "same shape"),
    # TF checks the dtypes before any kernel runs, and names the input by position.
    "raw grad dtypes": ("raw_grad(x4, tf.cast(x4, tf.float64), x4)", "input #1"),
}


def run_case(code):
    script = PRELUDE + f"""
try:
    {code}
except Exception as error:
    print(json.dumps([type(error).__name__, str(error)]))
else:
    print(json.dumps(None))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=tempfile.gettempdir())
    assert result.returncode == 0, f"the process died ({result.returncode}):\n{result.stderr[-2000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", sorted({**WRAPPER_CASES, **RAW_CASES}))
def test_bad_input_raises_a_clear_exception(case):
    code, message = {**WRAPPER_CASES, **RAW_CASES}[case]
    outcome = run_case(code)
    assert outcome is not None, f"{case}: no exception"
    kind, text = outcome
    assert kind in ("InvalidArgumentError", "ValueError", "TypeError"), (kind, text)
    assert message in text, (kind, text)


def test_accepts_what_tf_accepts():
    # Python lists become float32; an integral float radius is an int; int numpy arrays fail as they fail in TF.
    values = [[[[1.0, 2.0, 3.0, 4.0]]]]
    np.testing.assert_allclose(lrn_op.lrn(values, depth_radius=2.0).numpy(), tf.nn.lrn(values, 2).numpy(), atol=1e-7)
    ints = np.arange(8).reshape([1, 1, 2, 4])
    outcomes = []
    for fn in (tf.nn.lrn, lrn_op.lrn):
        try:
            outcomes.append(("ok", fn(ints, 1).numpy()))
        except Exception as error:  # noqa: BLE001 - the point is to compare whatever TF does
            outcomes.append((type(error).__name__, None))
    assert outcomes[0][0] == outcomes[1][0]
    if outcomes[0][0] == "ok":
        np.testing.assert_allclose(outcomes[1][1], outcomes[0][1], atol=1e-6)


def test_raw_op_converts_a_float_radius_as_tf_raw_ops_do():
    # TF's attribute conversion truncates 2.5 to 2 before any kernel sees it, for tf.raw_ops.LRN as for ours; the
    # wrapper is where 2.5 is refused.
    x = tf.ones([1, 1, 1, 8])
    ours = gen_lrn_ops.lrn_op_local_response_normalization(x, depth_radius=2.5).numpy()
    np.testing.assert_array_equal(ours, gen_lrn_ops.lrn_op_local_response_normalization(x, depth_radius=2).numpy())
    np.testing.assert_allclose(ours, tf.raw_ops.LRN(input=x, depth_radius=2.5).numpy(), atol=1e-7)

"""lrn_op.replace_builtin(): TF's own LRN and LRNGrad run lrn_op's kernels.

The replacement is process-wide and cannot be undone, so every test makes it in a subprocess of its own: this pytest
process keeps TF's kernels, which the other test files compare lrn_op against. A NaN shows whose kernel ran: TF's
spreads it over every channel of its pixel, lrn_op's keeps it inside the windows that hold it.
"""
import json

import ml_dtypes
import numpy as np
import pytest

import bounds
import reference
from conftest import f32, run_python

SHAPE = (2, 3, 4, 16)
PARAMS = dict(depth_radius=2, bias=2.0, alpha=0.3, beta=0.75)
NAN_AT = (1, 2, 3, 5)  # a pixel and the channel of its NaN


def data(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(SHAPE) * 3
    x[NAN_AT] = np.nan
    dy = rng.standard_normal(SHAPE)
    cast = ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype
    return x.astype(cast).astype(np.float64), dy.astype(cast).astype(np.float64)


def expected(dtype):
    x, dy = data(dtype)
    params = [PARAMS["depth_radius"], f32(PARAMS["bias"]), f32(PARAMS["alpha"]), PARAMS["beta"]]
    with np.errstate(invalid="ignore"):
        return reference.lrn(x, *params), reference.lrn_grad(dy, x, *params)


def local_nan_mask(radius):
    """Where a NaN at NAN_AT may reach: forward within the radius, gradient within twice the radius."""
    mask = np.zeros(SHAPE, bool)
    channels = np.arange(SHAPE[3])
    mask[NAN_AT[:3]] = np.abs(channels - NAN_AT[3]) <= radius
    return mask


ENTRY_POINTS = """
import json, sys
import ml_dtypes, numpy as np, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(int(sys.argv[2]))
import lrn_op
sys.path.insert(0, sys.argv[3])
from test_builtin import PARAMS, data

assert not lrn_op.builtin_replaced()
lrn_op.replace_builtin()
lrn_op.replace_builtin()  # idempotent
assert lrn_op.builtin_replaced()

def forward_calls(x):
    return {
        "tf.nn.local_response_normalization": lambda: tf.nn.local_response_normalization(x, **PARAMS),
        "tf.nn.lrn": lambda: tf.nn.lrn(x, **PARAMS),
        "tf.raw_ops.LRN": lambda: tf.raw_ops.LRN(input=x, **PARAMS),
    }

def gradient_calls(x, dy):
    def through_tape():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.lrn(x, **PARAMS)
        return tape.gradient(y, x, output_gradients=dy)
    y = tf.nn.lrn(x, **PARAMS)
    return {
        "tf.raw_ops.LRNGrad": lambda: tf.raw_ops.LRNGrad(input_grads=dy, input_image=x, output_image=y, **PARAMS),
        "tape through tf.nn.lrn": through_tape,
    }

results = {}
for dtype in ("float16", "bfloat16", "float32"):
    x64, dy64 = data(dtype)
    x, dy = tf.constant(x64, dtype), tf.constant(dy64, dtype)
    for kind, calls in (("forward", forward_calls(x)), ("gradient", gradient_calls(x, dy))):
        for name, call in calls.items():
            for mode, fn in (("eager", call), ("tf.function", tf.function(call))):
                results[f"{kind}|{dtype}|{name}|{mode}"] = tf.cast(fn(), tf.float32).numpy()
np.savez(sys.argv[1], **results)
"""


@pytest.fixture(scope="module")
def entry_points(tmp_path_factory):
    """The outputs of every entry point, from a process with 1 intra-op thread and one with 2."""
    outputs = {}
    for threads in (1, 2):
        path = tmp_path_factory.mktemp("builtin") / f"threads{threads}.npz"
        result = run_python(ENTRY_POINTS, path, threads, reference.__file__.rsplit("/", 1)[0])
        assert result.returncode == 0, result.stderr[-3000:]
        with np.load(path) as archive:
            outputs[threads] = dict(archive)
    return outputs


def test_every_entry_point_matches_the_float64_reference_in_every_dtype(entry_points):
    outputs = entry_points[2]
    assert len(outputs) == 3 * (3 + 2) * 2
    for key, value in outputs.items():
        kind, dtype, name, mode = key.split("|")
        y, dx = expected(dtype)
        want = y if kind == "forward" else dx
        # NaN exactly where the reference has it: inside the windows of the poisoned channel only.
        np.testing.assert_array_equal(np.isnan(value), np.isnan(want), err_msg=key)
        finite = ~np.isnan(want)
        storage = ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype
        if kind == "forward":
            error, bound = bounds.forward_error(value[finite], want[finite], storage), bounds.FORWARD[dtype]
        else:
            error, bound = bounds.gradient_error(value[finite], want[finite]), bounds.GRADIENT[dtype]
        assert error <= bound, (key, error)


def test_nan_stays_inside_its_windows(entry_points):
    forward = entry_points[2]["forward|float32|tf.nn.lrn|eager"]
    gradient = entry_points[2]["gradient|float32|tf.raw_ops.LRNGrad|eager"]
    radius = PARAMS["depth_radius"]
    np.testing.assert_array_equal(np.isnan(forward), local_nan_mask(radius))
    np.testing.assert_array_equal(np.isnan(gradient), local_nan_mask(2 * radius))


def test_bit_identical_whatever_the_thread_count(entry_points):
    for key, value in entry_points[1].items():
        np.testing.assert_array_equal(value, entry_points[2][key], err_msg=key)


def test_import_alone_leaves_tf_kernels_in_place():
    result = run_python("""
import numpy as np, tensorflow as tf
import lrn_op, lrn_op.ops, lrn_op.layers
x = np.ones([1, 1, 1, 8], np.float32); x[0, 0, 0, 0] = np.nan
print(lrn_op.builtin_replaced(), int(np.isnan(tf.nn.lrn(x, 1).numpy()).sum()))
""")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["False", "8"]  # TF's kernel: the NaN reached all 8 channels


def test_kernels_built_before_the_call_switch_over_except_in_a_session_that_ran():
    result = run_python("""
import numpy as np, tensorflow as tf
import lrn_op
x = np.ones([1, 1, 1, 8], np.float32); x[0, 0, 0, 0] = np.nan
function = tf.function(lambda t: tf.nn.lrn(t, 1))
graph = tf.Graph()
with graph.as_default():
    feed = tf.compat.v1.placeholder(tf.float32, [1, 1, 1, 8])
    fetch = tf.nn.lrn(feed, 1)
old_session = tf.compat.v1.Session(graph=graph)
def nans():
    return [int(np.isnan(v).sum()) for v in
            (tf.nn.lrn(x, 1).numpy(), function(x).numpy(), old_session.run(fetch, {feed: x}))]
print(*nans())
lrn_op.replace_builtin()
print(*nans(), int(np.isnan(tf.compat.v1.Session(graph=graph).run(fetch, {feed: x})).sum()))
""")
    assert result.returncode == 0, result.stderr[-3000:]
    before, after = result.stdout.strip().splitlines()[-2:]
    assert before.split() == ["8", "8", "8"]
    # Eager and tf.function switch; the session that already ran keeps TF's kernel; a new session has lrn_op's.
    assert after.split() == ["2", "2", "8", "2"]


@pytest.mark.parametrize("shapes", [
    ([1, 1, 4], [1, 1, 4], [1, 1, 4]),  # TF aborts on a rank-3 output_image with matching leading dims
    ([1, 1, 1, 4], [1, 1, 1, 4], [1, 1, 4]),
    ([0, 1, 1, 4], [0, 1, 1, 4], [0]),  # and on empty 4-D inputs with a rank-1 output_image
], ids=["rank 3", "rank-3 output_image", "empty with rank-1 output_image"])
def test_tf_lrngrad_crash_cases_raise_invalid_argument(shapes):
    result = run_python(f"""
import tensorflow as tf, lrn_op
lrn_op.replace_builtin()
grads, image, output = (tf.ones(shape) for shape in {shapes!r})
try:
    tf.raw_ops.LRNGrad(input_grads=grads, input_image=image, output_image=output)
except tf.errors.InvalidArgumentError as error:
    print("InvalidArgumentError:", error.message)
""")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "InvalidArgumentError:" in result.stdout and "must be 4-dimensional" in result.stdout


def test_second_derivative_of_tf_lrn_matches_autodiff_of_an_independent_float64_lrn():
    result = run_python("""
import json, sys
import numpy as np, tensorflow as tf
import lrn_op
sys.path.insert(0, sys.argv[1])
import reference
x = tf.constant(np.random.default_rng(5).standard_normal([2, 3, 3, 9]))
def hessian_vector_product(lrn, dtype):
    t = tf.cast(x, dtype)
    with tf.GradientTape() as outer:
        outer.watch(t)
        with tf.GradientTape() as inner:
            inner.watch(t)
            y = lrn(t, 2, 1.5, 0.3, 0.7)
        g = inner.gradient(y, t, output_gradients=tf.sin(t))
    return tf.cast(outer.gradient(g, t, output_gradients=tf.cos(t)), tf.float64)
try:
    hessian_vector_product(tf.nn.lrn, tf.float32)
    before = "no error"
except LookupError as error:
    before = type(error).__name__
lrn_op.replace_builtin()
from conftest import f32
# TF's op computes with its float32 attributes: the reference takes the same values.
independent = lambda t, r, b, a, beta: reference.lrn_in_tf_ops(t, r, f32(b), f32(a), f32(beta))
exact = hessian_vector_product(independent, tf.float64).numpy()
eager = hessian_vector_product(tf.nn.lrn, tf.float32).numpy()
in_function = tf.function(lambda: hessian_vector_product(tf.nn.lrn, tf.float32))().numpy()
print(json.dumps({"before": before, "eager": eager.tolist(), "function": in_function.tolist(),
                  "exact": exact.tolist()}))
""", reference.__file__.rsplit("/", 1)[0])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["before"] == "LookupError"  # TF registers no gradient for LRNGrad
    for mode in ("eager", "function"):
        assert bounds.gradient_error(report[mode], report["exact"]) <= bounds.SECOND_ORDER["float32"], mode


EXPORT = """
import sys
import numpy as np, tensorflow as tf
assert "lrn_op" not in sys.modules

class Model(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3, 4, 16], tf.float32)])
    def forward(self, x):
        return tf.nn.lrn(x, depth_radius=2, bias=2.0, alpha=0.3, beta=0.75)

    @tf.function(input_signature=[tf.TensorSpec([None, 3, 4, 16], tf.float32)] * 2)
    def gradient(self, x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.lrn(x, depth_radius=2, bias=2.0, alpha=0.3, beta=0.75)
        return tape.gradient(y, x, output_gradients=dy)

tf.saved_model.save(Model(), sys.argv[1])
assert "lrn_op" not in sys.modules
"""

LOAD = """
import sys
import numpy as np, tensorflow as tf
sys.path.insert(0, sys.argv[3])
from test_builtin import data
replace = sys.argv[4] == "replace"
if replace:
    import lrn_op
    lrn_op.replace_builtin()
model = tf.saved_model.load(sys.argv[1])
x, dy = (tf.constant(a, tf.float32) for a in data("float32"))
np.savez(sys.argv[2], y=model.forward(x).numpy(), dx=model.gradient(x, dy).numpy())
assert replace or "lrn_op" not in sys.modules
"""


def test_saved_model_exported_without_lrn_op_runs_its_kernels_after_replace_builtin(tmp_path):
    exported = run_python(EXPORT, tmp_path / "model")
    assert exported.returncode == 0, exported.stderr[-3000:]
    outputs = {}
    for mode in ("tf", "replace"):
        loaded = run_python(LOAD, tmp_path / "model", tmp_path / f"{mode}.npz", reference.__file__.rsplit("/", 1)[0],
                            mode)
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        with np.load(tmp_path / f"{mode}.npz") as out:
            outputs[mode] = dict(out)
    y, dx = outputs["replace"]["y"], outputs["replace"]["dx"]
    want_y, want_dx = expected("float32")
    radius = PARAMS["depth_radius"]
    # Loaded without lrn_op, TF's kernel spreads the NaN over its whole pixel; after the call it stays local.
    assert np.isnan(outputs["tf"]["y"][NAN_AT[:3]]).all()
    np.testing.assert_array_equal(np.isnan(y), local_nan_mask(radius))
    np.testing.assert_array_equal(np.isnan(dx), local_nan_mask(2 * radius))
    bounds.assert_forward(y[~np.isnan(want_y)], want_y[~np.isnan(want_y)], np.float32)
    bounds.assert_gradient(dx[~np.isnan(want_dx)], want_dx[~np.isnan(want_dx)], np.float32)


@pytest.mark.slow
def test_more_than_2_to_the_31_elements_through_tf_lrn():
    # TF's own kernel refuses this size; lrn_op's runs it. float16 keeps it to 4.3 GB per tensor.
    result = run_python("""
import numpy as np, tensorflow as tf, lrn_op
lrn_op.replace_builtin()
rows, depth = 2**31 // 8 + 1, 8
y = tf.nn.lrn(tf.ones([1, 1, rows, depth], tf.float16), depth_radius=2, bias=1.0, alpha=0.25, beta=0.75)
print(*tf.reduce_min(y, axis=[0, 1, 2]).numpy(), *tf.reduce_max(y, axis=[0, 1, 2]).numpy())
""")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = np.array([3, 4, 5, 5, 5, 5, 4, 3], np.float64)
    expected_row = (1.0 + 0.25 * counts) ** -0.75
    values = np.array(result.stdout.split()[-16:], np.float64)
    np.testing.assert_allclose(values, np.concatenate([expected_row, expected_row]), rtol=1e-3)

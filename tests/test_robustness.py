"""Behaviour under hostile values and load: huge radii, NaN and Inf, threads, thread counts, long runs, and more
than 2**31 elements."""
import concurrent.futures
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

import bounds
import lrn_op
import reference
from conftest import run_python


def grad(x, dy, **params):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = lrn_op.lrn(x, **params)
    return tape.gradient(y, x, output_gradients=tf.constant(dy)).numpy()


@pytest.mark.parametrize("depth", [1, 7, 64, 300])
@pytest.mark.parametrize("radius", ["depth-1", "depth", 1000, 2**31 - 1])
def test_huge_radius_is_a_window_over_all_channels(rng, depth, radius):
    radius = {"depth-1": depth - 1, "depth": depth}.get(radius, radius)
    x = rng.standard_normal([2, 3, 2, depth]).astype(np.float32)
    everything = lrn_op.lrn(x, depth_radius=max(depth - 1, 0), bias=1.0, alpha=0.1, beta=0.75).numpy()
    np.testing.assert_array_equal(lrn_op.lrn(x, depth_radius=radius, bias=1.0, alpha=0.1, beta=0.75).numpy(),
                                  everything)
    totals = (x.astype(np.float64) ** 2).sum(axis=-1, keepdims=True)
    bounds.assert_forward(everything, x / (1.0 + 0.1 * totals) ** 0.75)


@pytest.mark.parametrize("poison", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("radius,depth", [(2, 40), (9, 40), (3, 5)])
def test_nan_and_inf_stay_local(rng, poison, data_format, radius, depth):
    x = rng.standard_normal([3, 2, 5, depth]).astype(np.float32)
    channel = depth // 2
    x[1, 1, 2, channel] = poison
    xin = x if data_format == "NHWC" else x.transpose(0, 3, 1, 2)
    y = lrn_op.lrn(xin, radius, 1.0, 0.5, 0.75, data_format=data_format).numpy()
    dy = np.ones_like(xin)
    dx = grad(xin, dy, depth_radius=radius, bias=1.0, alpha=0.5, beta=0.75, data_format=data_format)
    if data_format == "NCHW":
        y, dx = y.transpose(0, 2, 3, 1), dx.transpose(0, 2, 3, 1)
    channels = np.arange(depth)
    # Every other pixel is untouched and finite.
    others = np.ones(x.shape[:3], bool)
    others[1, 1, 2] = False
    assert np.isfinite(y[others]).all() and np.isfinite(dx[others]).all()
    # In the poisoned pixel, outputs outside the window and gradients outside twice the window (the gradient of
    # channel j reads the normalisers of channels j - r .. j + r) are finite and exact.
    clean = x[1, 1, 2].astype(np.float64)
    far = np.abs(channels - channel) > radius
    expected = reference.lrn(np.where(np.isfinite(clean), clean, 0.0)[None, None, None], radius, 1.0, 0.5, 0.75)
    poisoned = reference.lrn(clean[None, None, None], radius, 1.0, 0.5, 0.75)[0, 0, 0]
    np.testing.assert_allclose(y[1, 1, 2][far], expected[0, 0, 0][far], rtol=1e-6)
    np.testing.assert_array_equal(np.isnan(y[1, 1, 2]), np.isnan(poisoned))
    assert np.isfinite(dx[1, 1, 2][np.abs(channels - channel) > 2 * radius]).all()


def test_eight_threads_match_the_serial_results(rng):
    inputs = [rng.standard_normal([4, 9, 9, 37]).astype(np.float32) for _ in range(8)]
    serial = [lrn_op.lrn(x, 3, 1.0, 0.2, 0.75).numpy() for x in inputs]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            parallel = list(pool.map(lambda x: lrn_op.lrn(x, 3, 1.0, 0.2, 0.75).numpy(), inputs))
            for a, b in zip(serial, parallel):
                np.testing.assert_array_equal(a, b)


def test_bit_identical_for_any_intra_op_thread_count():
    script = """
import hashlib, sys
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(int(sys.argv[1]))
import lrn_op
x = tf.constant(np.random.default_rng(7).standard_normal([8, 33, 17, 40]).astype(np.float32))
digest = hashlib.sha256()
for data_format in ("NHWC", "NCHW"):
    for radius, beta in ((2, 0.75), (11, 0.6)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = lrn_op.lrn(x, radius, 1.0, 0.3, beta, data_format=data_format)
        digest.update(y.numpy().tobytes())
        digest.update(tape.gradient(y, x).numpy().tobytes())
print(digest.hexdigest())
"""
    digests = set()
    for threads in (1, 2, 3):
        result = subprocess.run([sys.executable, "-c", script, str(threads)], capture_output=True, text=True,
                                timeout=300, cwd=tempfile.gettempdir())
        assert result.returncode == 0, result.stderr[-2000:]
        digests.add(result.stdout.strip().splitlines()[-1])
    assert len(digests) == 1


def resident_megabytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def test_thousands_of_calls_keep_memory_flat(rng):
    x = tf.constant(rng.standard_normal([4, 16, 16, 64]).astype(np.float32))

    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = lrn_op.lrn(x, 2, 1.0, 1e-3, 0.75)
        return tape.gradient(y, x)

    for _ in range(300):
        step()
    before = resident_megabytes()
    for _ in range(3000):
        step()
    assert resident_megabytes() - before < 20


@pytest.mark.slow
def test_more_than_2_to_the_31_elements():
    # float16 keeps it to 4.3 GB per tensor. Every row of ones gives the same output, known in closed form.
    rows, depth = 2**31 // 8 + 1, 8
    x = tf.ones([1, 1, rows, depth], tf.float16)
    y = lrn_op.lrn(x, depth_radius=2, bias=1.0, alpha=0.25, beta=0.75)
    del x
    counts = np.array([3, 4, 5, 5, 5, 5, 4, 3], np.float64)
    expected = (1.0 + 0.25 * counts) ** -0.75
    np.testing.assert_allclose(tf.reduce_min(y, axis=[0, 1, 2]).numpy(), expected, rtol=1e-3)
    np.testing.assert_allclose(tf.reduce_max(y, axis=[0, 1, 2]).numpy(), expected, rtol=1e-3)
    np.testing.assert_allclose(y[0, 0, -1].numpy(), expected, rtol=1e-3)


@pytest.mark.slow
def test_a_pixel_too_deep_for_scratch_memory_is_an_error_not_a_crash():
    # One pixel of 2**31 channels needs more scratch than the machine has: the kernel reports it.
    result = run_python("import tensorflow as tf, lrn_op\n"
                        "try:\n"
                        "    lrn_op.lrn(tf.zeros([1, 1, 1, 2**31], tf.float16), 2)\n"
                        "except tf.errors.ResourceExhaustedError as error:\n"
                        "    print('ResourceExhaustedError', error.message)\n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ResourceExhaustedError" in result.stdout and "depth 2147483648" in result.stdout

"""The numpy front end: the same C++ math without TensorFlow."""
import threading
import time

import ml_dtypes
import numpy as np
import pytest

import lrn_op.numpy as lrn_numpy
import reference
from bounds import assert_forward, assert_gradient
from conftest import run_python


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float32, np.float64])
def test_forward_and_gradient_match_the_reference(rng, dtype):
    x = rng.standard_normal([2, 3, 4, 13]).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    y = lrn_numpy.local_response_normalization(x, 3, 1.5, 0.3, 0.6)
    dx = lrn_numpy.local_response_normalization_grad(dy, x, y, 3, 1.5, 0.3, 0.6)
    assert y.dtype == dx.dtype == np.dtype(dtype) and y.shape == x.shape
    assert_forward(y, reference.lrn(x, 3, 1.5, 0.3, 0.6))
    assert_gradient(dx, reference.lrn_grad(dy, x, 3, 1.5, 0.3, 0.6, y=y))


def test_nchw_and_non_contiguous_input(rng):
    x = rng.standard_normal([2, 5, 6, 9]).astype(np.float32)
    nhwc = lrn_numpy.local_response_normalization(x, 2)
    nchw = lrn_numpy.local_response_normalization(x.transpose(0, 3, 1, 2), 2, data_format="NCHW")
    np.testing.assert_allclose(nchw.transpose(0, 2, 3, 1), nhwc, rtol=2e-7)
    np.testing.assert_array_equal(lrn_numpy.local_response_normalization(x[:, ::-1], 2), nhwc[:, ::-1])


def test_lists_and_integers_become_float32_and_bad_input_is_refused():
    # The rule of every front end (_coercion.COERCION), as tf.nn.lrn converts host data: lists, numbers and integer
    # arrays become float32.
    assert lrn_numpy.local_response_normalization([[[[1.0, 2.0]]]]).dtype == np.float32
    integers = np.arange(1, 9, dtype=np.int32).reshape(1, 1, 1, 8)
    np.testing.assert_array_equal(lrn_numpy.local_response_normalization(integers, 2),
                                  lrn_numpy.local_response_normalization(integers.astype(np.float32), 2))
    with pytest.raises(TypeError, match="x must be an array of floats, got str"):
        lrn_numpy.local_response_normalization("abc")
    with pytest.raises(TypeError, match="x must be float16, bfloat16, float32 or float64, got complex64"):
        lrn_numpy.local_response_normalization(np.ones([1, 1, 1, 4], np.complex64))
    with pytest.raises(ValueError, match=r"x must be at least 3-dimensional \(N, C, ...\) or \(N, ..., C\)"):
        lrn_numpy.local_response_normalization(np.ones([1, 4], np.float32))
    with pytest.raises(ValueError, match="depth_radius"):
        lrn_numpy.local_response_normalization(np.ones([1, 1, 1, 4], np.float32), depth_radius=-2)
    with pytest.raises(ValueError, match=r"y must have the shape of x, \(1, 1, 1, 4\), got \(1, 1, 1, 5\)"):
        lrn_numpy.local_response_normalization_grad(np.ones([1, 1, 1, 4]), np.ones([1, 1, 1, 4]),
                                                    np.ones([1, 1, 1, 5]))


def test_does_not_import_tensorflow():
    result = run_python("import sys, numpy as np, lrn_op.numpy as m\n"
                        "m.local_response_normalization(np.ones([1, 2, 2, 3], np.float32))\n"
                        "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False"


def test_releases_the_gil(rng):
    # While one thread runs a long call, another Python thread keeps running.
    x = rng.standard_normal([16, 64, 64, 96]).astype(np.float32)
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    thread = threading.Thread(target=ticker)
    thread.start()
    start = time.perf_counter()
    for _ in range(10):
        lrn_numpy.local_response_normalization(x, 2, 2.0, 1e-4, 0.6)
    end = time.perf_counter()
    done.set()
    thread.join()
    # The ticker wakes about once a millisecond; holding the GIL through each call would leave it a few ticks in
    # the gaps between calls at most.
    assert sum(start < t < end for t in ticks) >= max(10, 0.25 * (end - start) * 1e3)


def test_the_binding_checks_its_arrays_itself():
    # lrn_op.numpy always passes matching arrays; a direct call that does not gets an exception, not a stray write.
    from lrn_op import _lrn_numpy

    x = np.ones([1, 2, 2, 8], np.float32)
    params = _lrn_numpy.Params(2, 2, 1.0, 1.0, 0.5)
    for y, error, message in (
            (np.empty([1, 2, 2, 4], np.float32), ValueError, r"out must have the shape of x, \(1, 2, 2, 8\), got"),
            (np.empty([1, 2, 2, 8], np.float64), TypeError, "out must have the dtype of x, float32, got float64"),
            (np.empty([1, 2, 8, 4], np.float32).transpose(0, 1, 3, 2), ValueError, "out must be C-contiguous"),
            (np.empty([1, 2, 2], np.float32), ValueError, r"out must have the shape of x, \(1, 2, 2, 8\), got"),
            (np.empty([1, 2], np.float32), ValueError, r"out must be at least 3-dimensional .*, got shape \(1, 2\)"),
            (np.empty([1, 2, 2, 8], ">f4"), ValueError, "out must be in the machine's byte order"),
            (np.empty([1, 2, 2, 8], np.int32), TypeError, "out must be float16, bfloat16, float32 or float64")):
        with pytest.raises(error, match=message):
            _lrn_numpy.forward(x, y, params, False)
    with pytest.raises(ValueError, match="out must be writeable"):
        readonly = np.empty_like(x)
        readonly.flags.writeable = False
        _lrn_numpy.forward(x, readonly, params, False)
    with pytest.raises(ValueError, match="the window's extent before must be non-negative"):
        _lrn_numpy.forward(x, np.empty_like(x), _lrn_numpy.Params(-1, 1, 1.0, 1.0, 0.5), False)
    with pytest.raises(ValueError, match="out must have the shape of x"):
        _lrn_numpy.backward(x, x, x, np.empty([1, 2, 2, 7], np.float32), params, False)


def test_out_is_written_and_returned(rng):
    x = rng.standard_normal([2, 5, 5, 12]).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y = np.full_like(x, np.nan)
    assert lrn_numpy.local_response_normalization(x, 3, 1.0, 0.1, 0.75, out=y) is y
    np.testing.assert_array_equal(y, lrn_numpy.local_response_normalization(x, 3, 1.0, 0.1, 0.75))
    dx = np.full_like(x, np.nan)
    assert lrn_numpy.local_response_normalization_grad(dy, x, y, 3, 1.0, 0.1, 0.75, out=dx) is dx
    np.testing.assert_array_equal(dx, lrn_numpy.local_response_normalization_grad(dy, x, y, 3, 1.0, 0.1, 0.75))


@pytest.mark.parametrize("bad,error,message", [
    (lambda x: np.empty_like(x, np.float64), ValueError, "out must have the shape and dtype"),
    (lambda x: np.empty(x.shape[::-1], x.dtype), ValueError, "out must have the shape and dtype"),
    (lambda x: np.empty_like(x, order="F"), ValueError, "out must be C-contiguous"),
    (lambda x: x, ValueError, "out must not overlap"),
    (lambda x: x.tolist(), TypeError, "out must be a numpy array"),
])
def test_bad_out_is_refused(rng, bad, error, message):
    x = rng.standard_normal([2, 3, 3, 4]).astype(np.float32)
    with pytest.raises(error, match=message):
        lrn_numpy.local_response_normalization(x, out=bad(x))

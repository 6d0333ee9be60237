"""Property-based tests: random shapes, radii, parameters, dtypes and layouts against the float64 reference."""
import ml_dtypes
import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import lrn_op
import lrn_op.numpy as lrn_numpy
import reference
from bounds import assert_forward
DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32, "float64": np.float64}

cases = st.fixed_dictionaries({
    "shape": st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), st.integers(1, 48)),
    "depth_radius": st.one_of(st.integers(0, 8), st.integers(9, 60), st.just(2**31 - 1)),
    "bias": st.floats(0.05, 4.0),
    "alpha": st.floats(0.0, 2.0),
    "beta": st.one_of(st.sampled_from([0.5, 0.75, 1.0]), st.floats(0.01, 3.0)),
    "dtype": st.sampled_from(sorted(DTYPES)),
    "data_format": st.sampled_from(["NHWC", "NCHW"]),
    "seed": st.integers(0, 2**32 - 1),
})


def data(case):
    x = np.random.default_rng(case["seed"]).standard_normal(case["shape"]).astype(DTYPES[case["dtype"]])
    return x, (0, 3, 1, 2) if case["data_format"] == "NCHW" else (0, 1, 2, 3)


@settings(max_examples=150, deadline=None)
@given(cases)
def test_numpy_front_end_matches_the_reference(case):
    x, order = data(case)
    params = {k: case[k] for k in ("depth_radius", "bias", "alpha", "beta")}
    y = lrn_numpy.local_response_normalization(np.ascontiguousarray(x.transpose(order)), **params,
                                               data_format=case["data_format"])
    expected = reference.lrn(x, min(case["depth_radius"], 10**6), case["bias"], case["alpha"], case["beta"])
    assert_forward(y.transpose(np.argsort(order)), expected)


@settings(max_examples=60, deadline=None)
@given(cases)
def test_tf_op_matches_the_reference(case):
    x, order = data(case)
    params = {k: case[k] for k in ("depth_radius", "bias", "alpha", "beta")}
    y = lrn_op.lrn(tf.constant(np.ascontiguousarray(x.transpose(order))), **params,
                   data_format=case["data_format"]).numpy()
    # The op computes with bias, alpha and beta as given (exact_bias_alpha_beta), as the numpy front end does.
    expected = reference.lrn(x, min(case["depth_radius"], 10**6), case["bias"], case["alpha"], case["beta"])
    assert_forward(y.transpose(np.argsort(order)), expected)

"""The accuracy lrn_op promises against the float64 reference (README: Accuracy), in one place. Every test that
compares lrn_op's kernels with tests/reference.py asserts these bounds; tests/test_sanitizers.py hands the same
numbers to the C++ kernel test.

- Forward: the worst relative error per element, with the dtype's smallest normal as the floor of the denominator
  (below it a format has no relative precision to speak of). The kernels compute in float64 and round once, so a
  stored result is within half an ulp of the exact one plus a few float64 ulps: float32 measures 6.3e-8 against its
  half ulp of 6.0e-8, float16 4.9e-4 (half ulp 4.9e-4), bfloat16 3.9e-3 (half ulp 3.9e-3), float64 2.6e-14.
- Gradient: the worst absolute error relative to the largest gradient, with the y that the forward returned (as
  LRNGrad takes it).
"""
import ml_dtypes
import numpy as np

FORWARD = {"float16": 1e-3, "bfloat16": 8e-3, "float32": 1.5e-7, "float64": 1e-13}
GRADIENT = {"float16": 1e-3, "bfloat16": 8e-3, "float32": 1.5e-7, "float64": 1e-13}
# TF's own float32 LRN sums and raises to the power in float32: against the float64 reference it measured up to
# 7.6e-7 (README: Accuracy). Comparisons with TF's op allow its error on top of lrn_op's.
TF_FLOAT32 = 2e-6
# TF's own kernel per dtype, as the portable layer runs it: its float16 kernel measured up to 1.6e-3, three half
# ulps; bfloat16, which TF's CPU kernel lacks, is computed in float32 and rounded once (measured 3.9e-3).
TF_BUILTIN = {"float16": 2e-3, "bfloat16": FORWARD["bfloat16"], "float32": TF_FLOAT32}
# The same small Keras model trained for an epoch under the tensorflow, jax and torch backends: its predictions differ
# by the backends' own float32 convolutions and dense layers (measured up to 2.9e-6 of the largest prediction).
ACROSS_BACKENDS = 1e-5
# A special beta (0.5, 0.75, 1) against the general path at the next float32 above it: each is within FORWARD of its
# own exact value, and the two exact values differ by |ln N| times beta's ulp (6e-8), with ln N up to about 4 in
# accuracy.py's data: 2 * 1.5e-7 + 2.4e-7 < 1e-6.
SPECIAL_VS_GENERAL = 1e-6
# The second derivative is a composite of stock TF ops in the input's dtype, relative to its largest element.
SECOND_ORDER = {"float32": 1e-6, "float64": 1e-13}


def dtype_name(dtype):
    return np.dtype(dtype).name


def forward_error(actual, expected, dtype):
    """The worst relative error per element of `actual` (stored as `dtype`) against the float64 `expected`."""
    floor = float(ml_dtypes.finfo(np.dtype(dtype)).smallest_normal)
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    return float(np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), floor), initial=0.0))


def gradient_error(actual, expected):
    """The worst absolute error of `actual` against the float64 `expected`, relative to the largest |expected|."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    return float(np.max(np.abs(actual - expected), initial=0.0) / max(np.max(np.abs(expected)), 1e-300))


def assert_forward(actual, expected, dtype=None):
    dtype = np.asarray(actual).dtype if dtype is None else dtype
    error = forward_error(actual, expected, dtype)
    assert error <= FORWARD[dtype_name(dtype)], f"forward error {error:.3g} > {FORWARD[dtype_name(dtype)]:.1g}"


def assert_gradient(actual, expected, dtype=None):
    dtype = np.asarray(actual).dtype if dtype is None else dtype
    error = gradient_error(actual, expected)
    assert error <= GRADIENT[dtype_name(dtype)], f"gradient error {error:.3g} > {GRADIENT[dtype_name(dtype)]:.1g}"

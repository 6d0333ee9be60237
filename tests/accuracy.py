"""Worst errors of the kernels against the float64 reference, per dtype and beta, on the SIMD path this process
runs (LRN_OP_SIMD forces one). Run as a script it prints them as JSON; tests/test_kernels.py asserts on them.

Errors are measured as tests/bounds.py defines them.
"""
import json
import sys

import ml_dtypes
import numpy as np

import lrn_op.numpy as lrn_numpy
import reference
from bounds import forward_error, gradient_error

DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32, "float64": np.float64}
BETAS = [0.01, 0.5, 0.6, 0.75, 1.0, 1.3, 2.1, 3.0]
# (shape NHWC, radius): rows (depth >= 8), masked runs (depth < 8), tiles (radius > 6), partial tiles, radius 0,
# radius past the depth; in NCHW the planes (images of 16 pixels or more), one of them longer than a block.
SHAPES = [((3, 4, 5, 40), 2), ((2, 3, 7, 5), 2), ((2, 5, 3, 29), 9), ((1, 3, 3, 70), 33), ((2, 2, 3, 12), 0),
          ((1, 2, 9, 6), 50), ((3, 1, 1, 1), 3), ((2, 13, 21, 24), 3)]


def inputs(rng, shape, wide):
    if not wide:
        return rng.standard_normal(shape)
    # Values spanning many orders of magnitude within every window.
    return rng.choice([-1.0, 1.0], size=shape) * 10.0 ** rng.uniform(-12, 12, size=shape)


def worst_errors(seed=0):
    rng = np.random.default_rng(seed)
    table = {}
    for name, dtype in DTYPES.items():
        for beta in BETAS:
            forward = backward = 0.0
            for shape, radius in SHAPES:
                for wide in (False, True) if name in ("float32", "float64") else (False,):
                    for data_format in ("NHWC", "NCHW"):
                        x = inputs(rng, shape, wide).astype(dtype)
                        dy = rng.standard_normal(shape).astype(dtype)
                        bias, alpha = (1e-3, 1.0) if wide else (1.0, 0.4)
                        params = dict(depth_radius=radius, bias=bias, alpha=alpha, beta=beta)
                        # The kernels compute with bias, alpha and beta as written, through every front end.
                        ref_params = dict(radius=radius, bias=bias, alpha=alpha, beta=beta)
                        expected = reference.lrn(x, **ref_params)
                        order = (0, 3, 1, 2) if data_format == "NCHW" else (0, 1, 2, 3)
                        back = np.argsort(order)
                        x_in = np.ascontiguousarray(x.transpose(order))
                        dy_in = np.ascontiguousarray(dy.transpose(order))
                        y = lrn_numpy.local_response_normalization(x_in, **params, data_format=data_format)
                        dx = lrn_numpy.local_response_normalization_grad(dy_in, x_in, y, **params,
                                                                         data_format=data_format)
                        y, dx = y.transpose(back), dx.transpose(back)
                        forward = max(forward, forward_error(y, expected, dtype))
                        if not wide:
                            # As LRNGrad does, the gradient uses the y it is given: the rounded one.
                            expected_dx = reference.lrn_grad(dy, x, **ref_params, y=y)
                            backward = max(backward, gradient_error(dx, expected_dx))
            table.setdefault(name, {})[str(beta)] = [forward, backward]
    return table


def special_betas_match_the_general_path(seed=1):
    """The largest relative difference between beta in (0.5, 0.75, 1) and the next float32 above it, which takes
    the general log/exp path."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 5, 6, 40)).astype(np.float32)
    worst = 0.0
    for beta in (0.5, 0.75, 1.0):
        special = lrn_numpy.local_response_normalization(x, 3, 1.0, 0.5, beta).astype(np.float64)
        general = lrn_numpy.local_response_normalization(x, 3, 1.0, 0.5, float(np.nextafter(np.float32(beta),
                                                                                            np.float32(2))))
        worst = max(worst, float(np.max(np.abs(special - general) / np.abs(special))))
    return worst


def extreme_normalisers():
    """Worst forward error per dtype with normalisers from 1e-300 to 1e300, outside the range where the kernels'
    fast power holds (2^-100 to 2^100), so that the exact fallback computes them. The betas keep every result
    within the dtype's range."""
    x = np.ones((2, 1, 3, 9))  # window sums of 3, 4 and 5
    worst = {}
    for dtype, betas in ((np.float32, (0.1,)), (np.float64, (0.1, 0.6, 0.75, 1.0))):
        for exponent in range(-300, 301, 25):
            for beta in betas:
                alpha = 10.0 ** exponent
                y = lrn_numpy.local_response_normalization(x.astype(dtype), 2, 0.0, alpha, beta)
                error = forward_error(y, reference.lrn(x, 2, 0.0, alpha, beta), dtype)
                worst[np.dtype(dtype).name] = max(worst.get(np.dtype(dtype).name, 0.0), error)
    return worst


# The avx2 and avx512 paths' binomial forward (cc/kernel/binomial-inl.h) takes float32 outputs whose
# u = alpha * window / bias lies within U = 2^-5 / max(1, |beta|), for |alpha / bias| <= 2^-10. near_the_bias() puts
# half the pixels of each case on either side of that edge, with the ratios and biases below, zeros of both signs and
# values too small for its exact product among them.
NEAR_RATIOS = [2.0 ** -10, 1e-4, -3e-4]
NEAR_BIASES = [0.5, 2.0, 3e5]


def near_the_bias(seed=2):
    """Worst float32 forward error per beta with normalisers within a few U of the bias, both layouts; how many
    outputs had u inside and outside the binomial domain (by the float64 reference); and whether NCHW on the planes and
    NHWC on the rows gave the same bits (their windows are summed in the same order on every path)."""
    rng = np.random.default_rng(seed)
    worst, inside, outside, same_bits = {}, 0, 0, True
    for beta in BETAS:
        limit = 2.0 ** -5 / max(1.0, abs(beta))
        error = 0.0
        for shape, radius in SHAPES:
            for ratio in NEAR_RATIOS:
                for bias in NEAR_BIASES:
                    x = rng.standard_normal(shape)
                    # Scale each pixel so that its largest |u| lands at a random point in [0, 2U].
                    target = rng.uniform(0.0, 2.0, size=shape[:-1] + (1,)) * limit
                    sums = reference.normalizer(x, radius, 0.0, 1.0).max(axis=-1, keepdims=True)
                    x = (x * np.sqrt(target / (abs(ratio) * sums))).astype(np.float32)
                    x.flat[::17] = 0.0
                    x.flat[5::23] = -0.0
                    x.flat[7::29] *= np.float32(1e-32)  # |x c| below 2^-100
                    x64 = x.astype(np.float64)
                    u = ratio * reference.normalizer(x64, radius, 0.0, 1.0)
                    inside += int(np.sum(np.abs(u) <= limit * 0.999))
                    outside += int(np.sum(np.abs(u) > limit * 1.001))
                    params = dict(depth_radius=radius, bias=bias, alpha=ratio * bias, beta=beta)
                    nhwc = lrn_numpy.local_response_normalization(x, **params)
                    nchw = lrn_numpy.local_response_normalization(np.ascontiguousarray(x.transpose(0, 3, 1, 2)),
                                                                  **params, data_format="NCHW").transpose(0, 2, 3, 1)
                    expected = reference.lrn(x64, radius, bias, ratio * bias, beta)
                    error = max(error, forward_error(nhwc, expected, np.float32), forward_error(nchw, expected,
                                                                                                 np.float32))
                    zeros = x == 0
                    same_bits = same_bits and bool(np.array_equal(np.signbit(nhwc[zeros]), np.signbit(x[zeros])))
                    if shape[1] * shape[2] >= 16 and shape[3] >= 8 and radius <= 6:  # planes and rows
                        same_bits = same_bits and nhwc.tobytes() == np.ascontiguousarray(nchw).tobytes()
        worst[str(beta)] = error
    return {"errors": worst, "inside": inside, "outside": outside, "same_bits": same_bits}


if __name__ == "__main__":
    print(json.dumps({"simd_path": lrn_numpy.simd_path(), "errors": worst_errors(),
                      "special_vs_general": special_betas_match_the_general_path(),
                      "extreme_normalisers": extreme_normalisers(), "near_the_bias": near_the_bias()}))
    sys.exit(0)

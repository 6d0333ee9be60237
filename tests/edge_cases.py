"""The edge inputs that tests/test_front_ends.py feeds to every front end (TF, numpy, JAX, PyTorch), with the answer
lrn_op._coercion.COERCION gives for each. Framework-free: front_end_cases.py builds each front end's own tensors from
these numpy arrays, and the test compares what came back with the answers here."""
from dataclasses import dataclass, field

import numpy as np

from lrn_op import _coercion

FRONT_ENDS = ("tensorflow", "numpy", "jax", "torch")
# The front ends whose kernels run on their framework's threads, which flush subnormals to zero whatever the caller's
# mode: TF's (port::ScopedFlushDenormal) and XLA's. numpy's and PyTorch's run under the calling thread's mode.
FLUSHING_THREADS = ("tensorflow", "jax")
PARAMS = dict(depth_radius=2, bias=1.0, alpha=0.5, beta=0.75)
# TF's wrappers name the arguments as tf.nn.lrn and tf.raw_ops.LRNGrad do; messages are compared under these.
TF_NAMES = {"input": "x", "input_image": "x", "input_grads": "dy", "output_image": "y"}


@dataclass
class Case:
    row: str  # the COERCION row that says what must happen
    x: object
    dy: object = None  # a gradient case when set
    y: object = None  # the gradient's y: LRN(x) when None
    params: dict = field(default_factory=lambda: dict(PARAMS))
    data_format: str = "NHWC"
    error: str = None  # "TypeError: message" where the case must raise
    front_ends: tuple = FRONT_ENDS
    flush_to_zero: bool = None  # the caller's flush-to-zero mode (fp_mode.py), for the subnormal cases
    norm: dict = None  # local_response_norm's arguments (size, alpha, beta, k, convention) where it is the call


def _row(kind):
    return next(row for row in _coercion.COERCION if row[0] == kind)


def _error(kind, **replacements):
    """The error a COERCION row names, with its example's values replaced by this case's."""
    text = _row(kind)[1]
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def _data(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _cases():
    cases = {}
    empty = "empty (any dimension 0, channels included)"
    for size, label in ((3, "small"), (64, "large")):  # large: without the early return, split over threads
        for axis in range(4):
            shape = [2 * size, size, size + 1, size + 3]
            shape[axis] = 0
            for data_format in ("NHWC", "NCHW"):
                cases[f"empty {tuple(shape)} {data_format}"] = Case(empty, np.zeros(shape, np.float32),
                                                                    data_format=data_format)
                cases[f"empty {tuple(shape)} {data_format} gradient"] = Case(
                    empty, np.zeros(shape, np.float32), dy=np.zeros(shape, np.float32), data_format=data_format)
    cases["zero channels (8, 32, 32, 0)"] = Case(empty, np.zeros((8, 32, 32, 0), np.float32))
    floats = "float16, bfloat16, float32, float64"
    cases["float32"] = Case(floats, _data((2, 3, 4, 7)))
    cases["float16"] = Case(floats, _data((2, 3, 4, 7), np.float16))
    cases["float32 NCHW"] = Case(floats, _data((2, 7, 3, 4)), data_format="NCHW")
    cases["float32 gradient"] = Case(floats, _data((2, 3, 4, 7)), dy=_data((2, 3, 4, 7), seed=1))
    cases["float32 gradient NCHW"] = Case(floats, _data((2, 7, 3, 4)), dy=_data((2, 7, 3, 4), seed=1),
                                          data_format="NCHW")
    host = "bool or integer host data: Python numbers, nested lists, numpy arrays"
    cases["list of ints"] = Case(host, [[[[1, 2, 3, 4, 5]]]])
    cases["list of bools"] = Case(host, [[[[True, False, True]]]])
    cases["numpy int32"] = Case(host, np.arange(20, dtype=np.int32).reshape(1, 2, 2, 5))
    cases["numpy bool"] = Case(host, np.ones((1, 2, 2, 5), bool))
    tensors = "bool or integer tensors of TF, JAX or PyTorch"
    frameworks = ("tensorflow", "jax", "torch")  # numpy has no tensors: its arrays are host data
    cases["int32 tensor"] = Case(tensors, ("tensor", np.arange(20, dtype=np.int32).reshape(1, 2, 2, 5)),
                                 error=_error(tensors), front_ends=frameworks)
    cases["bool tensor"] = Case(tensors, ("tensor", np.ones((1, 2, 2, 5), bool)), error=_error(tensors, int32="bool"),
                                front_ends=frameworks)
    complex_row = "complex values of any kind"
    cases["complex64 tensor"] = Case(complex_row, ("tensor", np.ones((1, 2, 2, 5), np.complex64)),
                                     error=_error(complex_row), front_ends=frameworks)
    cases["complex64 numpy"] = Case(complex_row, np.ones((1, 2, 2, 5), np.complex64), error=_error(complex_row))
    few = "fewer than 3 dimensions (numpy, JAX, PyTorch: any rank of 3 or more)"
    others = ("numpy", "jax", "torch")
    cases["rank 2"] = Case(few, np.ones((2, 3), np.float32), error=_error(few), front_ends=others)
    cases["rank 3"] = Case(few, _data((2, 4, 7)), front_ends=others)
    cases["rank 5 NCHW"] = Case(few, _data((2, 7, 2, 3, 4)), data_format="NCHW", front_ends=others)
    cases["rank 5 gradient"] = Case(few, _data((2, 2, 3, 4, 7)), dy=_data((2, 2, 3, 4, 7), seed=1),
                                    front_ends=others)
    rank = "not 4-dimensional (TF, whose ops keep tf.nn.lrn's signature)"
    cases["rank 2, TF"] = Case(rank, np.ones((2, 3), np.float32), error=_error(rank), front_ends=("tensorflow",))
    cases["rank 5, TF"] = Case(rank, np.ones((1, 2, 2, 3, 1), np.float32),
                               error=_error(rank, **{"(2, 3)": "(1, 2, 2, 3, 1)"}), front_ends=("tensorflow",))
    nonfinite = "NaN or Inf"
    for value, label in ((np.nan, "NaN"), (np.inf, "Inf"), (-np.inf, "-Inf")):
        x = _data((2, 3, 4, 9))
        x[0, 0, 0, 4] = value
        cases[label] = Case(nonfinite, x)
    radius = "depth_radius 0, or past the depth"
    cases["radius 0"] = Case(radius, _data((2, 3, 4, 7)), params={**PARAMS, "depth_radius": 0})
    cases["radius past the depth"] = Case(radius, _data((2, 3, 4, 7)), params={**PARAMS, "depth_radius": 20})
    cases["radius past the depth, gradient"] = Case(radius, _data((2, 3, 4, 7)), dy=_data((2, 3, 4, 7), seed=1),
                                                    params={**PARAMS, "depth_radius": 20})
    dtype_row = "dy or y of another dtype than x"
    cases["dy float16, x float32"] = Case(dtype_row, _data((1, 2, 2, 4)), dy=_data((1, 2, 2, 4), np.float16),
                                          error=_error(dtype_row, float64="float16"))
    shape_row = "dy or y of another shape than x"
    cases["y of another shape"] = Case(shape_row, _data((1, 2, 2, 4)), dy=_data((1, 2, 2, 4)),
                                       y=_data((1, 2, 2, 5)), error=_error(shape_row, **{"dy must": "y must"}))
    strided = "non-contiguous (numpy, PyTorch)"
    cases["non-contiguous"] = Case(strided, _data((2, 3, 4, 14))[..., ::2])
    cases["non-contiguous gradient"] = Case(strided, _data((2, 4, 3, 7)).transpose(0, 2, 1, 3),
                                            dy=_data((2, 3, 4, 7), seed=1))
    byte_order = "numpy data in the other byte order ('>f4' on a little-endian machine)"
    other = ">" if np.little_endian else "<"
    cases["other byte order"] = Case(byte_order, _data((2, 3, 4, 7)).astype(other + "f4"))
    cases["other byte order NCHW"] = Case(byte_order, _data((2, 7, 3, 4)).astype(other + "f2"), data_format="NCHW")
    cases["other byte order gradient"] = Case(byte_order, _data((2, 3, 4, 7)).astype(other + "f4"),
                                              dy=_data((2, 3, 4, 7), seed=1).astype(other + "f4"))
    # x = 1e-30 is a normal float32, y = x / sqrt(bias) = 1e-40 a subnormal one: the floating-point mode decides it.
    # The large tensor is split over the pool's threads, each of which must compute under the same mode.
    subnormal = "subnormal values, or results that round to subnormals"
    for shape, size in (((1, 2, 2, 8), "small"), ((64, 64, 64, 16), "large")):
        for flush in (False, True):
            cases[f"subnormal results, {size}, flush-to-zero {'on' if flush else 'off'}"] = Case(
                subnormal, np.full(shape, 1e-30, np.float32), params={**PARAMS, "bias": 1e20, "alpha": 0.0,
                                                                         "beta": 0.5}, flush_to_zero=flush)
    # PyTorch's and ONNX's conventions (local_response_norm): numpy and JAX take both, PyTorch its own.
    norm = dict(size=4, alpha=0.5, beta=0.75, k=1.0)
    floats_nchw = "float16, bfloat16, float32, float64"
    cases["torch convention, size 4"] = Case(floats_nchw, _data((2, 7, 3, 4)), norm={**norm, "convention": "torch"},
                                             front_ends=("numpy", "jax", "torch"))
    cases["onnx convention, size 4, rank 3"] = Case(floats_nchw, _data((2, 7, 5)), norm={**norm, "convention": "onnx"},
                                                    front_ends=("numpy", "jax"))
    size_row = "size below 1, or not an integer (PyTorch's and ONNX's conventions)"
    cases["size 0"] = Case(size_row, _data((2, 7, 3, 4)), norm={**norm, "size": 0, "convention": "torch"},
                           error=_error(size_row), front_ends=("numpy", "jax", "torch"))
    convention_row = "a convention other than 'torch' or 'onnx'"
    cases["convention 'tf'"] = Case(convention_row, _data((2, 7, 3, 4)), norm={**norm, "convention": "tf"},
                                    error=_error(convention_row), front_ends=("numpy", "jax"))
    device = "not on the CPU (PyTorch)"
    cases["meta device"] = Case(device, ("meta", np.ones((1, 2, 2, 4), np.float32)), error=_error(device),
                                front_ends=("torch",))
    return cases


CASES = _cases()

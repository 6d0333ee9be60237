"""How every front end coerces what it is handed: one table (COERCION) and the functions that apply it, so that TF,
numpy, JAX and PyTorch answer the same input the same way."""
import numpy as np

# The storage types the kernels have.
DTYPES = ("float16", "bfloat16", "float32", "float64")


# How every front end (TF, numpy, JAX, PyTorch) treats each kind of input: docs/guides/front_ends.md's table says the
# same, and tests/test_front_ends.py feeds each kind to all four and checks the answer against this table.
COERCION = (
    ("float16, bfloat16, float32, float64", "computed in that dtype; the result has it too"),
    ("bool or integer host data: Python numbers, nested lists, numpy arrays",
     "float32 (a gradient's dy and y: x's dtype), as tf.nn.lrn converts them"),
    ("bool or integer tensors of TF, JAX or PyTorch",
     "TypeError: x must be float16, bfloat16, float32 or float64, got int32"),
    ("complex values of any kind", "TypeError: x must be float16, bfloat16, float32 or float64, got complex64"),
    ("fewer than 3 dimensions (numpy, JAX, PyTorch: any rank of 3 or more)",
     "ValueError: x must be at least 3-dimensional (N, C, ...) or (N, ..., C), got shape (2, 3)"),
    ("not 4-dimensional (TF, whose ops keep tf.nn.lrn's signature)",
     "ValueError: x must be 4-dimensional, got shape (2, 3)"),
    ("size below 1, or not an integer (PyTorch's and ONNX's conventions)",
     "ValueError: size must be a positive integer less than 2**31, got 0"),
    ("a convention other than 'torch' or 'onnx'", "ValueError: convention must be 'torch' or 'onnx', got 'tf'"),
    ("empty (any dimension 0, channels included)", "an empty result of the same shape and dtype"),
    ("NaN or Inf", "computed: a NaN reaches only the outputs whose window holds it; an Inf gives NaN in its own "
                   "channel and 0 in the others of its window"),
    ("depth_radius 0, or past the depth", "computed: a window of one channel, or of all of them"),
    ("dy or y of another dtype than x", "TypeError: dy must have the dtype of x, float32, got float64"),
    ("dy or y of another shape than x", "ValueError: dy must have the shape of x, (1, 2, 2, 4), got (1, 2, 2, 5)"),
    ("non-contiguous (numpy, PyTorch)",
     "read through a contiguous copy; PyTorch's channels_last NCHW is read in place"),
    ("not on the CPU (PyTorch)", "ValueError: x must be on the CPU (lrn_op's kernels are CPU kernels), got meta"),
    ("numpy data in the other byte order ('>f4' on a little-endian machine)",
     "converted to the machine's byte order and computed; the result is in the machine's byte order"),
    ("subnormal values, or results that round to subnormals",
     "computed under the calling thread's floating-point mode, on every thread of the call: kept by default, flushed "
     "to zero under flush-to-zero (TF's own threads, torch.set_flush_denormal(True))"),
    ("LRN_OP_SIMD naming no path the CPU has", "RuntimeWarning, once; the best path the CPU has runs"),
)


def dtype_name(value):
    """The name of a typed value's dtype as numpy spells it ("float32", "bfloat16", "int64", "bool"), for numpy
    arrays and scalars and TF, JAX and PyTorch tensors alike; None for Python numbers and lists."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return None
    return getattr(dtype, "name", None) or str(dtype).removeprefix("torch.")


# Whether each dtype object met so far (numpy's, TF's, PyTorch's) is one of DTYPES: a dtype's name is slow to
# build, and small tensors pay for every microsecond of the checks.
_KERNEL_DTYPE = {}


def coerce(name, value):
    """Applies COERCION's dtype and byte-order rows to one input: returns (value, takes_default). `value` is the input,
    or a numpy array of the other byte order converted to the machine's (the kernels read the machine's; a copy).
    takes_default is False if the value keeps its own dtype: a float array or tensor; True if it takes the front
    end's default dtype: host data (Python numbers, nested lists, numpy arrays) of bools, integers or Python floats,
    as tf.nn.lrn converts it. TypeError, naming the argument, for anything else: a bool or integer tensor of TF, JAX
    or PyTorch (tf.nn.lrn refuses those), complex values (whose imaginary part a conversion would silently drop),
    strings."""
    dtype = getattr(value, "dtype", None)
    if dtype is None or isinstance(value, (np.ndarray, np.generic)):
        try:
            host = value if isinstance(value, np.ndarray) else np.asarray(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be an array of floats, got {type(value).__name__}: {error}") from None
        if not host.dtype.isnative:
            value = host = host.astype(host.dtype.newbyteorder("="))
        kind = host.dtype.kind
        if kind in "biu" or (kind == "f" and dtype is None):
            return value, True
        if kind not in "fcV":
            raise TypeError(f"{name} must be an array of floats, got {type(value).__name__}")
        dtype, value = host.dtype, host
    accepted = _KERNEL_DTYPE.get(dtype)
    if accepted is None:
        accepted = _KERNEL_DTYPE[dtype] = dtype_name(value) in DTYPES
    if not accepted:
        raise wrong_dtype(name, value)
    return value, False


def wrong_dtype(name, value):
    """The TypeError for a value whose dtype the kernels do not have, as COERCION words it."""
    return TypeError(f"{name} must be float16, bfloat16, float32 or float64, got {dtype_name(value)}")


def check_rank(name, shape, rank=None):
    """ValueError, naming the argument, for a shape of another rank than `rank`, or (None) of fewer than 3 dimensions;
    a shape of unknown rank passes. For the front ends whose calls must fail while they are traced (TF graphs, jit,
    PyTorch's fake tensors); the numpy front end leaves it to the kernels' entry, which says the same."""
    if shape is None:
        return
    if rank is not None and len(shape) != rank:
        raise ValueError(f"{name} must be {rank}-dimensional, got shape {tuple(shape)}")
    if rank is None and len(shape) < 3:
        raise ValueError(f"{name} must be at least 3-dimensional (N, C, ...) or (N, ..., C), got shape {tuple(shape)}")


def match_x(x_name, x, **arrays):
    """TypeError naming the first of `arrays` (dy, y) whose dtype is not x's; ValueError for the first whose shape
    is not x's, where both are known."""
    for name, array in arrays.items():
        if array.dtype != x.dtype:
            raise TypeError(f"{name} must have the dtype of {x_name}, {dtype_name(x)}, got {dtype_name(array)}")
    for name, array in arrays.items():
        if array.shape == x.shape:
            continue
        shape, x_shape = tuple(array.shape), tuple(x.shape)
        if None not in shape + x_shape:
            raise ValueError(f"{name} must have the shape of {x_name}, {x_shape}, got {shape}")

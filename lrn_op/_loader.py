"""Loads the compiled TF libraries, after checking that they were built against this TensorFlow."""
import importlib
from pathlib import Path

import tensorflow as tf

import lrn_op


def _major_minor(version):
    return tuple(version.split(".")[:2])


def _check_build():
    try:
        from lrn_op import _build_info
    except ImportError as error:
        raise lrn_op._not_built(error) from None

    importlib.import_module("lrn_op.numpy")  # its import says once if LRN_OP_SIMD asks for a path that does not run

    built, running = _build_info.TF_VERSION, tf.__version__
    if _major_minor(built) != _major_minor(running):
        raise ImportError(
            f"lrn_op was compiled against TensorFlow {built}, but TensorFlow {running} is installed. "
            "TensorFlow's C++ ABI changes between minor versions: rebuild lrn_op against this TensorFlow "
            "with `pip install --no-build-isolation --force-reinstall --no-deps lrn_op` from the source tree, "
            f"or install tensorflow-cpu=={'.'.join(_major_minor(built))}.*"
        )


def load_ops():
    """Loads _lrn_ops.so, lrn_op's own ops and their kernels, and returns TF's generated module for it."""
    _check_build()
    return tf.load_op_library(_path("_lrn_ops.so"))


def load_builtin_kernels():
    """Loads _lrn_builtin_kernels.so, which registers lrn_op's kernels for TF's own LRN and LRNGrad."""
    _check_build()
    tf.load_library(_path("_lrn_builtin_kernels.so"))


def _path(library):
    return str(Path(__file__).with_name(library))

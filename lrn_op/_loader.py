"""Loads the compiled TF libraries, after checking that this TensorFlow can run them.

The libraries use TF's C API for ops and kernels alone (cc/tf_kernels.h), which libtensorflow_framework.so.2 exports
alike in every TF since 2.16: one build serves them all, and newer ones (a later release, tf-nightly) are let through.
"""
import ctypes
import importlib
from pathlib import Path

import tensorflow as tf
from tensorflow.python.eager import context

import lrn_op
from lrn_op import _versions

OLDEST_TF = (2, 16)
TESTED_TF = "2.16 to 2.21"


def _check_build():
    try:
        from lrn_op import _build_info  # noqa: F401  (written by the build: its absence means a source tree)
    except ImportError as error:
        raise lrn_op._not_built(error) from None

    importlib.import_module("lrn_op.numpy")  # its import says once if LRN_OP_SIMD asks for a path that does not run

    if _versions.release(tf.__version__) < OLDEST_TF:
        raise ImportError(
            f"lrn_op needs TensorFlow {'.'.join(map(str, OLDEST_TF))} or newer (tested: {TESTED_TF}), but "
            f"TensorFlow {tf.__version__} is installed: its kernels use TF's C API for ops and kernels, which "
            "older releases do not export alike. pip install 'tensorflow-cpu>=2.16'")


# For each loaded library: its LrnOpSetThreadLimit, and the limit it was last given.
_thread_limits = {}


def _load(load, library):
    """tf.load_op_library or tf.load_library of one of lrn_op's libraries, with an ImportError that says what failed."""
    _check_build()
    try:
        loaded = load(_path(library))
    except (tf.errors.NotFoundError, tf.errors.AlreadyExistsError, OSError) as error:
        raise ImportError(f"lrn_op could not load {library} into TensorFlow {tf.__version__} "
                          f"({Path(tf.__file__).parent}): {error}") from None
    _thread_limits[library] = [ctypes.CDLL(_path(library)).LrnOpSetThreadLimit, None]
    follow_intra_op_setting()
    return loaded


def follow_intra_op_setting():
    """Hands tf.config.threading's intra-op setting (0: not set) to the kernels of the loaded libraries, which run on
    lrn_op's thread pool (cc/tf_kernels.cc). TF lets the setting change until its context starts, so the wrappers
    call this on each call. The public getter builds a ConfigProto each time (20 us); the attribute behind it costs
    nothing, and where a TF lacks it the getter serves."""
    try:
        limit = context.context()._intra_op_parallelism_threads or 0
    except AttributeError:
        limit = tf.config.threading.get_intra_op_parallelism_threads()
    for entry in _thread_limits.values():
        if entry[1] != limit:
            entry[0](limit)
            entry[1] = limit


def load_ops():
    """Loads _lrn_ops.so, lrn_op's own ops and their kernels, and returns TF's generated module for it."""
    return _load(tf.load_op_library, "_lrn_ops.so")


def load_builtin_kernels():
    """Loads _lrn_builtin_kernels.so, which registers lrn_op's kernels for TF's own LRN and LRNGrad."""
    _load(tf.load_library, "_lrn_builtin_kernels.so")


def _path(library):
    return str(Path(__file__).with_name(library))

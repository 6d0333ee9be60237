"""Loads the compiled TF op library, after checking that it was built against this TensorFlow."""
from pathlib import Path

import tensorflow as tf

import lrn_op


def _major_minor(version):
    return tuple(version.split(".")[:2])


def load_ops():
    try:
        from lrn_op import _build_info
    except ImportError as error:
        raise lrn_op._not_built(error) from None

    built, running = _build_info.TF_VERSION, tf.__version__
    if _major_minor(built) != _major_minor(running):
        raise ImportError(
            f"lrn_op was compiled against TensorFlow {built}, but TensorFlow {running} is installed. "
            "TensorFlow's C++ ABI changes between minor versions: rebuild lrn_op against this TensorFlow "
            "with `pip install --no-build-isolation --force-reinstall --no-deps lrn_op` from the source tree, "
            f"or install tensorflow-cpu=={'.'.join(_major_minor(built))}.*"
        )
    return tf.load_op_library(str(Path(__file__).with_name("_lrn_ops.so")))

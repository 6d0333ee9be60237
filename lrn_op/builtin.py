"""Makes TensorFlow's own LRN ops run lrn_op's kernels: `replace_builtin()`.

TensorFlow runs, for an op on a device and a dtype, the registered kernel of the highest priority. lrn_op's second
library (_lrn_builtin_kernels.so) defines no op; it registers lrn_op's CPU kernels for TF's `LRN` and `LRNGrad` at a
priority above TF's. Loading it makes every LRN in the process run lrn_op's math: graphs, SavedModels, Keras models
and library code that call `tf.nn.lrn` and never mention lrn_op.
"""
import threading

import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.framework import kernels
from tensorflow.python.framework import ops as framework_ops

from lrn_op import _loader, ops

_BUILTIN_OPS = ("LRN", "LRNGrad")
_REPLACED_DTYPES = (tf.float16, tf.bfloat16, tf.float32)
_lock = threading.Lock()


def replace_builtin():
    """Makes TensorFlow's own `LRN` and `LRNGrad` run lrn_op's CPU kernels, in this whole process, for good.

    After the call, `tf.nn.local_response_normalization`, `tf.nn.lrn`, `tf.raw_ops.LRN`, `tf.raw_ops.LRNGrad` and
    every graph or SavedModel that holds those ops compute on the CPU what `lrn_op.local_response_normalization`
    computes, with its guarantees: NaN and Inf stay inside their windows, more than 2**31 elements work, results do
    not depend on the thread count, and bad input to `LRNGrad` raises InvalidArgumentError instead of aborting the
    process. float16, bfloat16 (which TF's CPU kernels lack) and float32 are covered; GPU placement is untouched.

    It also registers a gradient for `LRNGrad` (TF has none), so that `tf.nn.lrn` gets a second derivative: nested
    tapes, Hessian-vector products, gradient penalties. It agrees with lrn_op's own second derivative.

    Importing lrn_op never does any of this; only this call does. It is idempotent, and it cannot be undone: TF has
    no way to unregister a kernel. It clears TF's eager kernel cache, so that LRN kernels TF built before the call
    (eager ops and `tf.function`s already run) are built again, as lrn_op's. A `tf.compat.v1.Session` that already
    ran its graph keeps the kernels it built; sessions created afterwards use lrn_op's.

    Use lrn_op's own op instead where TF's op cannot go: float64, NCHW, or XLA (`jit_compile=True`).
    """
    with _lock:
        if builtin_replaced():
            return
        _loader.load_builtin_kernels()
        if "LRNGrad" not in framework_ops.gradient_registry.list():
            tf.RegisterGradient("LRNGrad")(ops._second_derivative)
        context.context().clear_kernel_cache()


def builtin_replaced():
    """Whether TF's own `LRN` and `LRNGrad` run lrn_op's kernels in this process (see `replace_builtin`)."""
    for op in _BUILTIN_OPS:
        replaced = set()
        for kernel in kernels.get_registered_kernels_for_op(op).kernel:
            if kernel.device_type == "CPU" and kernel.priority > 0:
                replaced.update(kernel.constraint[0].allowed_values.list.type)
        if not {dtype.as_datatype_enum for dtype in _REPLACED_DTYPES} <= replaced:
            return False
    return True

// lrn_op's CPU kernels for TF, on TF's C API alone (tensorflow/c/*.h): nothing of TF's C++ crosses this boundary,
// so one build loads in every TF whose libtensorflow_framework.so.2 exports that API (2.16 and later). Each kernel
// is a thin caller of lrn_api.h's entry. Two libraries register them: _lrn_ops.so for lrn_op's own ops (tf_ops.cc),
// and _lrn_builtin_kernels.so for TF's own LRN and LRNGrad (tf_builtin_kernels.cc).
#pragma once

#include <initializer_list>

#include "tensorflow/c/tf_datatype.h"

namespace lrn_tf {

// Registers a CPU kernel for `forward_op` and one for `grad_op` (whose inputs are those of tf.raw_ops.LRNGrad:
// input_grads, input_image, output_image) for each dtype, at the given priority (TF runs the highest registered for
// an op, device and dtype; its own kernels have 0). A failure is written to stderr: registration runs while the
// library loads, where nothing can be raised.
void RegisterKernels(const char* forward_op, const char* grad_op, std::initializer_list<TF_DataType> dtypes,
                     int priority);

}  // namespace lrn_tf

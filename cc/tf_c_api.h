// The TF C API's objects that lrn_op's TF libraries create, each held by a unique_ptr that frees it with the C
// API's own function.
#pragma once

#include <memory>

#include "tensorflow/c/ops.h"
#include "tensorflow/c/tf_status.h"
#include "tensorflow/c/tf_tensor.h"

namespace lrn_tf {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* object) const { Free(object); }
};

using Status = std::unique_ptr<TF_Status, Deleter<TF_Status, TF_DeleteStatus>>;
using Tensor = std::unique_ptr<TF_Tensor, Deleter<TF_Tensor, TF_DeleteTensor>>;
using Shape = std::unique_ptr<TF_ShapeHandle, Deleter<TF_ShapeHandle, TF_DeleteShapeHandle>>;
using Dimension = std::unique_ptr<TF_DimensionHandle, Deleter<TF_DimensionHandle, TF_DeleteDimensionHandle>>;

inline Status NewStatus() { return Status(TF_NewStatus()); }

}  // namespace lrn_tf

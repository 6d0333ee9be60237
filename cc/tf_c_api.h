// The TF C API's objects that lrn_op's TF libraries create, each held by a unique_ptr that frees it with the C
// API's own function.
#pragma once

#include <cstdio>
#include <exception>
#include <memory>
#include <new>

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

// Runs body; a C++ exception from it goes to report(code, message) instead of crossing TF's C API, which would end
// the process. Every function TF calls back (kernel create, compute and delete, shape functions, registration at
// load) runs its body through this.
template <class Body, class Report>
void Guarded(Body&& body, Report&& report) noexcept {
  char message[512];
  try {
    body();
  } catch (const std::bad_alloc& error) {
    std::snprintf(message, sizeof message, "lrn_op ran out of memory: %s", error.what());
    report(TF_RESOURCE_EXHAUSTED, message);
  } catch (const std::exception& error) {
    std::snprintf(message, sizeof message, "lrn_op: %s", error.what());
    report(TF_INTERNAL, message);
  } catch (...) {
    report(TF_INTERNAL, "lrn_op: an unknown C++ exception");
  }
}

}  // namespace lrn_tf

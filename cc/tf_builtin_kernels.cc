// TensorFlow's own LRN and LRNGrad, run by lrn_op's kernels (tf_kernels.cc). This library defines no op: loaded by
// lrn_op.replace_builtin(), it registers CPU kernels for TF's ops at a priority above TF's own (0), and TF picks the
// highest-priority kernel registered for an op, device and type. GPU kernels are left alone.
//
// Both ops accept half, bfloat16 and float (TF's OpDef); TF has no CPU kernel for bfloat16, so this adds one.
#include "tf_kernels.h"

namespace {

constexpr int kAboveTensorFlow = 1;

// Runs when TF loads the library (tf.load_library).
[[maybe_unused]] const bool kRegistered = [] {
  lrn_tf::RegisterKernels("LRN", "LRNGrad", {TF_HALF, TF_BFLOAT16, TF_FLOAT}, kAboveTensorFlow);
  return true;
}();

}  // namespace

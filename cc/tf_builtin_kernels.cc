// TensorFlow's own LRN and LRNGrad, run by lrn_op's kernels (tf_kernels.h). This library defines no op: loaded by
// lrn_op.replace_builtin(), it registers CPU kernels for TF's ops at a priority above TF's own (0), and TF picks the
// highest-priority kernel registered for an op, device and type. GPU kernels are left alone.
//
// Both ops accept half, bfloat16 and float (TF's OpDef); TF has no CPU kernel for bfloat16, so this adds one.
#include "tf_kernels.h"

namespace {

constexpr int kAboveTensorFlow = 1;

#define REGISTER_BUILTIN(T)                                                                                    \
  REGISTER_KERNEL_BUILDER(                                                                                     \
      Name("LRN").Device(DEVICE_CPU).TypeConstraint<T>("T").Priority(kAboveTensorFlow), ForwardOp);        \
  REGISTER_KERNEL_BUILDER(                                                                                     \
      Name("LRNGrad").Device(DEVICE_CPU).TypeConstraint<T>("T").Priority(kAboveTensorFlow), GradOp);

REGISTER_BUILTIN(Eigen::half)
REGISTER_BUILTIN(Eigen::bfloat16)
REGISTER_BUILTIN(float)

}  // namespace

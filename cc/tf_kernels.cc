// lrn_op's own ops run the kernels of tf_kernels.h, for every dtype they accept.
#include "tf_kernels.h"

namespace {

#define REGISTER_CPU(T)                                                                                        \
  REGISTER_KERNEL_BUILDER(                                                                                     \
      Name("LrnOp>LocalResponseNormalization").Device(DEVICE_CPU).TypeConstraint<T>("T"), ForwardOp);       \
  REGISTER_KERNEL_BUILDER(                                                                                     \
      Name("LrnOp>LocalResponseNormalizationGrad").Device(DEVICE_CPU).TypeConstraint<T>("T"), GradOp);

REGISTER_CPU(Eigen::half)
REGISTER_CPU(Eigen::bfloat16)
REGISTER_CPU(float)
REGISTER_CPU(double)

}  // namespace

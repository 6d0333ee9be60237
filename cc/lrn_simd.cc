// Instantiates kernel/lrn-inl.h for one SIMD target. CMakeLists.txt compiles this file once per target, each time with
// that target's -m flags and with LRN_ISA set to the target's name.
#include "kernel/lrn-inl.h"
#include "lrn_simd.h"

namespace lrn {
namespace LRN_ISA {

template <class T>
constexpr TypedKernels<T> typed() {
  return {&forward<T>, &backward<T>};
}

extern const Kernels kernels = {&splits_channels, typed<f16>(), typed<bf16>(), typed<float>(), typed<double>()};

}  // namespace LRN_ISA
}  // namespace lrn

// The kernels of one SIMD target, as a table of function pointers; lrn_api.cc picks a table at run time.
#pragma once

#include "lrn_api.h"

namespace lrn {

template <class T>
struct TypedKernels {
  bool (*forward)(const T* x, T* y, const Layout&, const Params&, const Share&);
  bool (*backward)(const T* dy, const T* x, const T* y, T* dx, const Layout&, const Params&, const Share&);
};

struct Kernels {
  bool (*splits_channels)(const Layout&, const Params&);
  TypedKernels<f16> f16_kernels;
  TypedKernels<bf16> bf16_kernels;
  TypedKernels<float> f32_kernels;
  TypedKernels<double> f64_kernels;

  const TypedKernels<f16>& of(const f16*) const { return f16_kernels; }
  const TypedKernels<bf16>& of(const bf16*) const { return bf16_kernels; }
  const TypedKernels<float>& of(const float*) const { return f32_kernels; }
  const TypedKernels<double>& of(const double*) const { return f64_kernels; }
};

// One table per target that this build compiled (CMakeLists.txt: LRN_SIMD_TARGETS).
namespace baseline { extern const Kernels kernels; }
#ifdef LRN_HAVE_X86_TARGETS
namespace avx2 { extern const Kernels kernels; }
namespace avx512 { extern const Kernels kernels; }
#endif

}  // namespace lrn

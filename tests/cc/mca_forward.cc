// The forward's arithmetic per strip, as the kernels do it (kernel/lrn-inl.h's normaliser and output, powers-inl.h's
// fast powers), between markers that .ci/estimate-speed.sh cuts out for llvm-mca: the part of the forward that the
// float64 arithmetic bounds, without the window sums, loads and transposes around it. Compiled, never linked.
#include "kernel/lrn-inl.h"

#if defined(__aarch64__)
#define LRN_MARK(text) __asm__ volatile("// " text)
#else
#define LRN_MARK(text) __asm__ volatile("# " text)
#endif

namespace lrn {
namespace LRN_ISA {

// The parameters come by value, so that the block holds no reload of them from memory.
template <BetaKind K>
void forward_strips(const vd* window, const vd* x, vf* y, double bias, double alpha, double beta, int64_t count) {
  const Params p{2, bias, alpha, beta};
  for (int64_t j = 0; j < count; ++j) {
    LRN_MARK("LRN-MCA-BEGIN");
    const vd n = normaliser(p, window[j]);
    y[j] = __builtin_convertvector(output(x[j], fast_powers<K, false>(n, p.beta)), vf);
    LRN_MARK("LRN-MCA-END");
  }
}

template void forward_strips<LRN_MCA_BETA>(const vd*, const vd*, vf*, double, double, double, int64_t);

}  // namespace LRN_ISA
}  // namespace lrn

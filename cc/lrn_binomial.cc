// Instantiates kernel/forward-binomial-inl.h's entry for one SIMD target, in a translation unit apart from
// lrn_simd.cc's (kernel/lrn-inl.h, forward_binomial, says why). The avx2 and avx512 targets have the path; for the
// baseline this file compiles to nothing.
#include "kernel/forward-binomial-inl.h"

#if LRN_BINOMIAL
namespace lrn {
namespace LRN_ISA {

template bool forward_binomial<BetaKind::Half>(const float*, float*, const Layout&, const Params&, const Share&, bool*);
template bool forward_binomial<BetaKind::ThreeQuarters>(const float*, float*, const Layout&, const Params&,
                                                        const Share&, bool*);
template bool forward_binomial<BetaKind::One>(const float*, float*, const Layout&, const Params&, const Share&, bool*);
template bool forward_binomial<BetaKind::General>(const float*, float*, const Layout&, const Params&, const Share&,
                                                  bool*);

}  // namespace LRN_ISA
}  // namespace lrn
#endif

// The float32 forward near the bias: where alpha * sum / bias is small, in float32 lanes, twice as many as a double
// register holds, with no conversion and no reciprocal-square-root estimate. Every lane outside its domain is computed
// as the double path computes it.
//
// With u = alpha * sum / bias,
//   y = x (bias + alpha sum)^-beta = x c (1 + u)^-beta,   c = bias^-beta,
//   (1 + u)^-beta = 1 + f(u),   f(u) = sum_{k >= 1} binom(-beta, k) u^k,
// and for |u| <= U = 2^-5 / max(1, |beta|) every term of f is below 2^-5k: five terms leave less than 2^-30.
// c is the float pair c_hi + c_lo, and y is assembled so that float32 rounds once where it matters:
//   p = fl(x c_hi),  e = x c_hi - p (exact, by an FMA, while |p| >= 2^-100),
//   y = fl(p + fl(p f + (e + x c_lo))).
// Relative errors before the last rounding, at the domain's edge: the float32 window sum of w terms (an FMA per term
// in two chains, and their add: w + 1 roundings) and u's two roundings move u by (w + 3) 2^-24 of itself, 4.8e-7 for
// AlexNet's window of 5, so f by at most |beta| U 4.8e-7 (1.05) = 1.6e-8 (3.1e-8 at the widest window the direct sums
// take, 13); the series' truncation 9.3e-10; f's float32 coefficients and Horner steps 6e-9; the correction's rounding
// 1.9e-9 and its dropped (e + x c_lo) f 2e-9. So about 2.7e-8 before the last rounding (4.2e-8 at 13 terms), 8.7e-8
// (1.02e-7) after it: within the float32 bound of 1.5e-7 (tests/bounds.py), and tests/accuracy.py's `near_the_bias`
// measures it across the domain.
//
// A lane takes this path only if its own window and x allow it (|u| <= U, and x zero or |p| >= 2^-100), so each
// output still depends on its own window alone, whichever vector or share holds it; a call, only if its parameters do
// (Binomial). Built for the avx2 target (8 float lanes, a byte of marks per vector) and the avx512 one (16 lanes, two
// bytes): both have the FMA the exact product needs. The SSE2 baseline has none, and keeps the double path.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernel/planes-inl.h"
#include "kernel/powers-inl.h"
#include "kernel/storage-inl.h"
#include "lrn_api.h"

#if defined(__AVX2__) && defined(__FMA__)
#define LRN_BINOMIAL 1
#else
#define LRN_BINOMIAL 0
#endif

namespace lrn {
namespace LRN_ISA {

// A float32 vector as wide as a double register: twice kStripLanes lanes. A Marks per wide vector says which of its
// lanes the binomial path left to the double path (bit l: lane l).
constexpr int64_t kWideLanes = 2 * kStripLanes;
typedef float vw __attribute__((vector_size(kWideLanes * 4)));
typedef int32_t vwi __attribute__((vector_size(kWideLanes * 4)));
typedef std::conditional_t<(kWideLanes <= 8), uint8_t, uint16_t> Marks;
static_assert(kWideLanes <= 8 * static_cast<int64_t>(sizeof(Marks)), "a wide vector's lanes must fit in its marks");

// Which lanes a block of the double path computes (lrn-inl.h forward_plane_block).
enum class LaneChoice { kAll, kLeft };

}  // namespace LRN_ISA
}  // namespace lrn

#if LRN_BINOMIAL
namespace lrn {
namespace LRN_ISA {

constexpr int kBinomialTerms = 5;

// The per-call constants, each in every lane. `on` is false where the call does not take the path: bias not positive,
// parameters not finite, c out of [2^-60, 2^60], or |alpha / bias| above 2^-10. Beyond that ratio a window of data of
// unit scale lies outside the domain (u = 1 at TF's defaults, alpha = bias = 1), and the pass would cost on top of the
// double path that computes every lane anyway: at TF's defaults, 16x64x32x32 NCHW, the forward took 2.7 ns per element
// against 2.1 without it (cc/kernel/PERFORMANCE.md). Within it, float32 squares below 2^-126, flushed or subnormal,
// move u by less than 2^-110.
struct Binomial {
  bool on = false;
  vw ratio{};       // alpha / bias
  vw limit{};       // U
  vw smallest_x{};  // 2^-100 / c: below it (but for zero), p could be subnormal and e inexact
  vw c_hi{}, c_lo{};
  vw terms[kBinomialTerms] = {};  // binom(-beta, k), k = 1..5
};

inline vw splat(double value) {
  const float single = static_cast<float>(value);
  vw v;
  for (int64_t l = 0; l < kWideLanes; ++l) v[l] = single;
  return v;
}

inline Binomial binomial(const Params& p) {
  Binomial b;
  const double ratio = p.alpha / p.bias;
  if (!(p.bias > 0) || !std::isfinite(p.bias) || !std::isfinite(p.alpha) || !std::isfinite(p.beta) ||
      !(std::fabs(ratio) <= 0x1p-10)) {
    return b;
  }
  // The kernels' own power, to a few double ulps: libm's pow would tie _lrn_core.so to glibc 2.29
  // (tests/test_linkage.py).
  const double c = exact_powers<BetaKind::General>(vd{} + p.bias, p.beta).scale[0];
  if (!(c >= 0x1p-60 && c <= 0x1p60)) return b;
  b.on = true;
  b.ratio = splat(ratio);
  const double limit = 0x1p-5 / std::fmax(1.0, std::fabs(p.beta));
  b.limit = splat(limit);
  b.smallest_x = splat(0x1p-100 / c);
  const float c_hi = static_cast<float>(c);
  b.c_hi = splat(c_hi);
  b.c_lo = splat(c - c_hi);
  double term = 1.0;
  for (int k = 0; k < kBinomialTerms; ++k) {
    term *= (-p.beta - k) / (k + 1);
    b.terms[k] = splat(term);
  }
  return b;
}

#if defined(__AVX512F__)
inline vw fma_w(vw a, vw b, vw c) { return (vw)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c); }
inline int lanes_of(vwi mask) { return _mm512_movepi32_mask((__m512i)mask); }
#else
inline vw fma_w(vw a, vw b, vw c) { return (vw)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c); }
inline int lanes_of(vwi mask) { return _mm256_movemask_ps((__m256)mask); }
#endif

// The window sum of squares, in two chains of FMAs from +0, the window's even terms in one and its odd ones in the
// other, added at the end: half the dependent FMAs of one chain. Terms of zero add +0 exactly, and the last add is
// commutative, so a window read with zeros beyond the data's edges (the rows, the ring) and one read without them (the
// planes) give the same bits.
template <class Term>
__attribute__((always_inline)) inline vw window_sum(int64_t terms, Term term) {
  vw even{}, odd{};
  int64_t k = 0;
  for (; k + 1 < terms; k += 2) {
    const vw a = term(k), b = term(k + 1);
    even = fma_w(a, a, even);
    odd = fma_w(b, b, odd);
  }
  if (k < terms) {
    const vw a = term(k);
    even = fma_w(a, a, even);
  }
  return even + odd;
}

// window_sum's two chains over kTerms terms known to the compiler: term(std::integral_constant<int, k>) for k <
// kTerms, added in the same order, so to the same bits.
template <int K, int N, class Term>
__attribute__((always_inline)) inline void add_squares(vw& even, vw& odd, Term& term) {
  if constexpr (K < N) {
    const vw a = term(std::integral_constant<int, K>{});
    if constexpr (K % 2 == 0) {
      even = fma_w(a, a, even);
    } else {
      odd = fma_w(a, a, odd);
    }
    add_squares<K + 1, N>(even, odd, term);
  }
}

template <int kTerms, class Term>
__attribute__((always_inline)) inline vw window_sum_fixed(Term term) {
  vw even{}, odd{};
  add_squares<0, kTerms>(even, odd, term);
  return even + odd;
}

inline vw abs_w(vw v) { return (vw)((vwi)v & 0x7fffffff); }
constexpr int kAllWide = (1 << kWideLanes) - 1;

// y for the lanes of x with window sum `sum`, into `y`. Returns the lanes left to the double path, as bits (lane l:
// bit l); with all of them left, y is not written.
__attribute__((always_inline)) inline int binomial_output(const Binomial& b, vw x, vw sum, vw& y) {
  const vw u = sum * b.ratio;
  const vwi near = abs_w(u) <= b.limit;  // NaN and Inf fail
  if (lanes_of(near) == 0) return kAllWide;
  const vwi inside = near & ((abs_w(x) >= b.smallest_x) | (x == 0));
  vw f = b.terms[kBinomialTerms - 1];
  for (int k = kBinomialTerms - 2; k >= 0; --k) f = fma_w(f, u, b.terms[k]);
  f *= u;
  vw p = x * b.c_hi;
  // Opaque from here: GCC's contraction (-ffp-contract=fast) would fuse x c_hi into the last add below, counting e
  // twice.
  __asm__("" : "+v"(p));
  const vw e = fma_w(x, b.c_hi, -p);
  const vw correction = fma_w(p, f, fma_w(x, b.c_lo, e));
  // y has x's sign; for x = -0 the sum above is +0.
  y = (vw)(((vwi)(p + correction) & 0x7fffffff) | ((vwi)x & ~0x7fffffff));
  return ~lanes_of(inside) & kAllWide;
}

// A block's x values, one slot of kPlaneLanes floats per channel, each written twice, as PlaneRing (planes-inl.h)
// holds squares: the `slots` channels that end at any channel lie at consecutive slots, kPlaneLanes floats apart.
class WideRing {
 public:
  WideRing(float* memory, int64_t slots) : memory_(memory), slots_(slots) {}
  static int64_t doubles(int64_t slots) { return slots * kPlaneLanes; }  // the floats of both copies, as doubles
  float* first(int64_t c) const { return memory_ + (((c % slots_) + slots_) % slots_) * kPlaneLanes; }
  float* second(int64_t c) const { return first(c) + slots_ * kPlaneLanes; }

 private:
  float* memory_;
  int64_t slots_;
};

// Float32 lanes [c, c + kWideLanes) of a run; past `size` they read as zero.
inline vw load_wide(const float* run, int64_t c, int64_t size) {
  if (c + kWideLanes <= size) return load<vw>(run + c);
  vw v{};
  std::memcpy(&v, run + c, sizeof(float) * static_cast<size_t>(size - c));
  return v;
}

inline void store_wide(float* run, int64_t c, int64_t size, vw value) {
  if (c + kWideLanes <= size) return store(run + c, value);
  std::memcpy(run + c, &value, sizeof(float) * static_cast<size_t>(size - c));
}

}  // namespace LRN_ISA
}  // namespace lrn
#endif  // LRN_BINOMIAL

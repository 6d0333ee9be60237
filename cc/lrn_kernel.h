// Local Response Normalization over the channel axis: the forward and backward math, in one place.
//
// Pure C++17 over raw pointers and sizes (lrn_api.h): no framework types cross this boundary. lrn_simd.cc compiles
// this header once per SIMD target; LRN_ISA names the namespace of each copy so that they never meet at link time.
//
// Threads share out tiles of kTileLanes lanes (pixels); each tile is computed one of two ways, with the same
// formulas (normaliser, output, gradient_term, input_gradient):
//   - rows: NHWC with a small radius. Vectors run along the channels of a pixel and each window is a direct sum
//     over a zero-padded copy of its terms (forward_rows, backward_rows).
//   - tiles: NCHW, and NHWC with a larger radius. Vectors run across pixels (an NCHW channel plane is contiguous;
//     NHWC pixels are transposed in blocks), and the window sums cost three adds per element whatever the radius
//     (WindowPlan's van Herk scheme; forward_tiles, backward_tiles).
// The vector types are GCC vector extensions of the target's native width, so one source serves every target.
//
// Numerics: whatever the storage type, the window sums, the normaliser and its power are computed in double and
// the result is rounded once on the way out. Squares of float32 values are exact in double, sums of non-negative
// terms lose at most (window - 1) double ulps, and the power is computed to a few double ulps, so a float32 result
// is within about half a float32 ulp of the exact value whatever the input's dynamic range or beta.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>

#include "lrn_api.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#ifndef LRN_ISA
#define LRN_ISA baseline
#endif

namespace lrn {
namespace LRN_ISA {

// A strip is L lanes (pixels): one native double register of the target. GCC lowers vector comparisons and selects
// to single instructions only at exactly the native width, so each target gets its own L. A tile of kTileLanes
// lanes (the unit that threads share out) is processed as kTileLanes / L strips.
#if defined(__AVX512F__)
constexpr int64_t L = 8;
#elif defined(__AVX__)
constexpr int64_t L = 4;
#else
constexpr int64_t L = 2;
#endif
static_assert(kTileLanes % L == 0, "a tile must hold whole strips");

// One channel of a strip, as doubles, and the other lane types the conversions need.
typedef double vd __attribute__((vector_size(L * 8)));
typedef float vf __attribute__((vector_size(L * 4)));
typedef int64_t vl __attribute__((vector_size(L * 8)));
typedef uint64_t vq __attribute__((vector_size(L * 8)));
typedef int32_t vi __attribute__((vector_size(L * 4)));
typedef uint32_t vu __attribute__((vector_size(L * 4)));
typedef uint16_t vh __attribute__((vector_size(L * 2)));
typedef int16_t vs __attribute__((vector_size(L * 2)));

// Lane by lane; GCC turns the loop into the target's packed sqrt.
inline vd sqrt_v(vd v) {
  vd r;
  for (int64_t i = 0; i < L; ++i) r[i] = __builtin_sqrt(v[i]);
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// Storage conversions. Branch-free, on whole vectors, and they never create a float subnormal on the way, so they
// stay exact when TF's threads run with denormals flushed to zero.

inline vf half_to_float(vh h) {
  const vu bits = __builtin_convertvector(h, vu);
  const vu sign = (bits & 0x8000u) << 16;
  const vu shifted = (bits & 0x7fffu) << 13;  // exponent and mantissa in float position
  const vu exponent = shifted & 0x0f800000u;
  const vu rebiased = shifted + ((127u - 15u) << 23);
  // Inf / NaN: push the exponent to all ones.
  const vu special = rebiased + ((128u - 16u) << 23);
  // Zero / subnormal: 2^-14 * (1 + m/1024) - 2^-14 = m * 2^-24, exact and normal in float.
  const vf subnormal = (vf)(rebiased + (1u << 23)) - (vf)(vu{} + (113u << 23));
  const vu magnitude = exponent == 0x0f800000u ? special : exponent == 0 ? (vu)subnormal : rebiased;
  return (vf)(magnitude | sign);
}

// Round to nearest even; overflow gives Inf, NaN stays NaN.
inline vh float_to_half(vf value) {
  vu bits = (vu)value;
  const vu sign = bits & 0x80000000u;
  bits ^= sign;
  // Below 2^-14 the result is a half subnormal: adding 0.5 lines the mantissa up with the half's and rounds it.
  const vu denorm_magic = vu{} + (((127u - 15u) + (23u - 10u) + 1u) << 23);
  const vu subnormal = (vu)((vf)bits + (vf)denorm_magic) - denorm_magic;
  const vu odd = (bits >> 13) & 1u;
  const vu normal = (bits + ((15u - 127u) << 23) + 0xfffu + odd) >> 13;
  const vu overflow = bits > 0x7f800000u ? vu{} + 0x7e00u : vu{} + 0x7c00u;
  const vu magnitude = bits >= ((127u + 16u) << 23) ? overflow : bits < (113u << 23) ? subnormal : normal;
  return __builtin_convertvector(magnitude | (sign >> 16), vh);
}

inline vf bfloat_to_float(vh b) { return (vf)(__builtin_convertvector(b, vu) << 16); }

// Round to nearest even; NaN stays a quiet NaN.
inline vh bfloat_from_float(vf value) {
  const vu bits = (vu)value;
  const vu rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  return __builtin_convertvector(value != value ? (bits >> 16) | 0x40u : rounded, vh);
}

// What a storage type looks like in memory (raw) and as one channel of a tile (vec).
template <class T>
struct Storage;
template <>
struct Storage<float> {
  using raw = float;
  using vec = vf;
  using mask = vi;
  static vd widen(vf v) { return __builtin_convertvector(v, vd); }
  static vf narrow(vd v) { return __builtin_convertvector(v, vf); }
};
template <>
struct Storage<double> {
  using raw = double;
  using vec = vd;
  using mask = vl;
  static vd widen(vd v) { return v; }
  static vd narrow(vd v) { return v; }
};
// The half types go through float on the way out; the extra rounding moves a result by at most 2^-29 relative.
template <vf (*ToFloat)(vh), vh (*FromFloat)(vf)>
struct HalfStorage {
  using raw = uint16_t;
  using vec = vh;
  using mask = vs;
  static vd widen(vh v) { return __builtin_convertvector(ToFloat(v), vd); }
  static vh narrow(vd v) { return FromFloat(__builtin_convertvector(v, vf)); }
};
template <>
struct Storage<f16> : HalfStorage<half_to_float, float_to_half> {};
template <>
struct Storage<bf16> : HalfStorage<bfloat_to_float, bfloat_from_float> {};

// ---------------------------------------------------------------------------------------------------------------
// n^-beta. libm's pow does not vectorise, and exp(-beta * log(n)) evaluated in float loses |beta * log n| float
// ulps, so log and exp are written out here in double, accurate to a few double ulps.

// Estimates from the hardware, refined by Newton steps in double. Each step squares the relative error (times a
// small constant): AVX-512's 2^-14 estimates need one step to reach 6e-9, the 1.5 * 2^-12 of SSE's rsqrtps and
// rcpps two steps to reach 1e-13. Precise adds one more step, for double storage: then the error is a few ulps.
// Valid for n in the fast domain (see with_powers), which the estimates through float also cover.
#if defined(__AVX512F__)
constexpr int kNewtonSteps = 1;
inline vd rsqrt_estimate(vd n) { return (vd)_mm512_maskz_rsqrt14_pd(0xff, (__m512d)n); }
inline vd reciprocal_estimate(vd d) { return (vd)_mm512_maskz_rcp14_pd(0xff, (__m512d)d); }
#elif defined(__AVX__)
constexpr int kNewtonSteps = 2;
inline vd rsqrt_estimate(vd n) { return (vd)_mm256_cvtps_pd(_mm_rsqrt_ps(_mm256_cvtpd_ps((__m256d)n))); }
inline vd reciprocal_estimate(vd d) { return (vd)_mm256_cvtps_pd(_mm_rcp_ps(_mm256_cvtpd_ps((__m256d)d))); }
#elif defined(__SSE2__)
constexpr int kNewtonSteps = 2;
inline vd rsqrt_estimate(vd n) { return (vd)_mm_cvtps_pd(_mm_rsqrt_ps(_mm_cvtpd_ps((__m128d)n))); }
inline vd reciprocal_estimate(vd d) { return (vd)_mm_cvtps_pd(_mm_rcp_ps(_mm_cvtpd_ps((__m128d)d))); }
#else
constexpr int kNewtonSteps = 0;
inline vd rsqrt_estimate(vd n) { return 1.0 / sqrt_v(n); }
inline vd reciprocal_estimate(vd d) { return 1.0 / d; }
#endif

// 1/sqrt(n): y <- y + y (1/2 - n y^2 / 2).
template <bool Precise>
inline vd rsqrt_fast(vd n) {
  vd y = rsqrt_estimate(n);
  const vd half = 0.5 * n;
  for (int step = 0; step < kNewtonSteps + Precise; ++step) y = y + y * (0.5 - half * y * y);
  return y;
}

// 1/d: y <- y + y (1 - d y).
template <bool Precise>
inline vd reciprocal_fast(vd d) {
  vd y = reciprocal_estimate(d);
  for (int step = 0; step < kNewtonSteps + Precise; ++step) y = y + y * (1.0 - d * y);
  return y;
}

// ln 2 split so that k * kLn2Hi is exact for every exponent k of a double; adding and subtracting kRound rounds a
// double to an integer.
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kRound = 0x1.8p52;

// c0 + x (c1 + x (c2 + ...)): Horner's rule.
inline vd horner(vd, double c0) { return vd{} + c0; }
template <class... Rest>
inline vd horner(vd x, double c0, Rest... rest) {
  return horner(x, rest...) * x + c0;
}

// log(n) for n in the fast domain (normal, positive, finite), to a few double ulps if Precise, else to about
// 1e-9 relative (float storage; its half ulp is 6e-8). fdlibm's integer trick moves the mantissa into
// [sqrt(1/2), sqrt(2)) without a compare; then log(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...) with
// s = (m - 1) / (m + 1), |s| <= 0.1716. The first omitted term is below 3e-18 (to s^21/21) or 2e-9 (to s^11/11).
template <bool Precise>
inline vd log_fast(vd n) {
  const vq bits = (vq)n + (0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull);
  const vd e = (vd)((bits >> 52) | 0x4330000000000000ull) - (0x1p52 + 1023.0);
  const vd m = (vd)((bits & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull);
  const vd f = m - 1.0;  // exact
  const vd s = f * reciprocal_fast<Precise>(2.0 + f);
  const vd z = s * s;
  const vd poly = Precise ? horner(z, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17,
                                   1.0 / 19, 1.0 / 21)
                          : horner(z, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11);
  const vd twice_s = 2.0 * s;
  return e * kLn2Hi + (e * kLn2Lo + (twice_s + twice_s * z * poly));
}

// Natural log of any double, to a few ulps, for the exact path: log(0) = -Inf, log(Inf) = Inf, negative or NaN
// input gives NaN, subnormals are scaled into range first.
inline vd log_v(vd n) {
  const vl subnormal = n < 0x1p-1022;
  const vd result = log_fast<true>(subnormal ? n * 0x1p54 : n) - (subnormal ? vd{} + 54.0 * kLn2Hi : vd{}) -
                    (subnormal ? vd{} + 54.0 * kLn2Lo : vd{});
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const vd nan = vd{} + std::numeric_limits<double>::quiet_NaN();
  return n == 0.0 ? vd{} - kInf : n == kInf ? vd{} + kInf : n > 0.0 ? result : nan;
}

// 2^k for integral k in [-1022, 1023], built from its bits.
inline vd exp2_int(vd k) { return (vd)((vq)(k + (0x1p52 + 1023.0)) << 52); }

// e^t to a few double ulps. Overflow gives Inf, underflow 0, NaN stays NaN.
inline vd exp_v(vd t) {
  t = t > 710.0 ? vd{} + 710.0 : t;  // NaN fails both comparisons and flows through
  t = t < -746.0 ? vd{} - 746.0 : t;
  const vd k = (t * 1.4426950408889634 + kRound) - kRound;
  const vd r = (t - k * kLn2Hi) - k * kLn2Lo;  // |r| <= ln(2) / 2
  // Taylor series to r^13 / 13!: the first omitted term is below 4e-18.
  const vd p = horner(r, 1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                      1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800);
  // 2^k as two factors, so that both stay normal for k in [-1077, 1025] and the product over- or underflows
  // correctly.
  const vd k_low = (k * 0.5 - 0.25 + kRound) - kRound;  // floor(k / 2)
  return p * exp2_int(k_low) * exp2_int(k - k_low);
}

// e^t to about 6e-11 relative, for float-sized storage. t is clamped to [-708, 709], where 2^k is one normal
// factor: a result beyond that range rounds to 0 or Inf in float anyway.
inline vd exp_fast(vd t) {
  t = t > 709.0 ? vd{} + 709.0 : t;
  t = t < -708.0 ? vd{} - 708.0 : t;
  const vd k = (t * 1.4426950408889634 + kRound) - kRound;
  const vd r = t - k * 0.6931471805599453;  // |r| <= ln(2) / 2; the rounding of k ln 2 costs below 1e-13
  // Degree 7, interpolating e^r at the Chebyshev points of [-ln(2)/2, ln(2)/2]: near-minimax, max relative error
  // 5.5e-11 there (numpy.polynomial.chebyshev.chebinterpolate, converted to powers of r).
  const vd p = horner(r, 9.999999999595622e-01, 9.999999999955115e-01, 5.000000107728596e-01, 1.6666666786284912e-01,
                      4.166621832056651e-02, 8.333283543121290e-03, 1.3948578255139586e-03, 1.9907567086439808e-04);
  return p * exp2_int(k);
}

enum class BetaKind { Half, ThreeQuarters, One, General };

inline BetaKind beta_kind(double beta) {
  return beta == 0.5 ? BetaKind::Half : beta == 0.75 ? BetaKind::ThreeQuarters : beta == 1.0 ? BetaKind::One
                                                                                            : BetaKind::General;
}

// The powers of the normaliser that forward and backward need: n^-beta and 1/n.
struct Powers {
  vd scale;
  vd inverse;
};

// Exact: correctly rounded sqrt and division. For float64 storage, and for any strip whose n leaves the fast domain.
template <BetaKind K>
inline Powers exact_powers(vd n, double beta) {
  const vd inverse = 1.0 / n;
  if constexpr (K == BetaKind::Half) {
    return {1.0 / sqrt_v(n), inverse};
  } else if constexpr (K == BetaKind::ThreeQuarters) {
    const vd root = sqrt_v(n);
    return {1.0 / (root * sqrt_v(root)), inverse};
  } else if constexpr (K == BetaKind::One) {
    return {inverse, inverse};
  } else {
    return {exp_v(-beta * log_v(n)), inverse};
  }
}

// Fast: no sqrt or division instruction. Those dominated the float32 forward under perf (AlexNet LRN1's shape),
// and the fast path brought its forward from 16 to 10 ms in `python -m lrn_op.bench`. Not Precise, the relative error is about 1e-8: far below float32's half ulp (6e-8), so
// for float32 and the half types the result still rounds as the exact one does but for rare ties. Precise (double
// storage), it is a few double ulps.
template <BetaKind K, bool Precise>
inline Powers fast_powers(vd n, double beta) {
  const vd root = rsqrt_fast<Precise>(n);
  const vd inverse = root * root;
  if constexpr (K == BetaKind::Half) {
    return {root, inverse};
  } else if constexpr (K == BetaKind::ThreeQuarters) {
    return {root * rsqrt_fast<Precise>(n * root), inverse};  // n^-1/2 * (n^1/2)^-1/2
  } else if constexpr (K == BetaKind::One) {
    return {inverse, inverse};
  } else {
    const vd t = -beta * log_fast<Precise>(n);
    return {Precise ? exp_v(t) : exp_fast(t), inverse};
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A tile (kTileLanes lanes) is S strips of L lanes, and one channel of a tile is S native vectors. Every loop over
// channels runs over the S strips inside, so that the prefix and suffix sums, whose adds depend on the previous
// channel's, advance S independent chains at once instead of waiting on one.
constexpr int64_t S = kTileLanes / L;
struct Lanes {
  vd s[S];
};

// ---------------------------------------------------------------------------------------------------------------
// The window sum, shared by forward and backward.
//
// van Herk / Gil-Werman: cut the channels into blocks of w = 2r + 1. A window [c - r, c + r] (clipped to the
// tensor) spans at most two blocks and is the suffix sum (within its block) at its first channel plus the prefix
// sum (within its block) at its last. Nothing is ever subtracted, so
//   - the cost is three adds per element, whatever r is;
//   - a large value that leaves the window cannot wipe out the small ones still in it, as it does in a running
//     add-the-new, subtract-the-old sum;
//   - a NaN or Inf reaches exactly the windows that contain it.
//
// The plan says, for every channel, which suffix and which prefix make up its window; it depends only on depth and
// radius, so it is made once per call. Index `depth` names a zero entry: the windows that lie in one block need
// only one of the two terms.
// A radius of depth - 1 already covers every channel: wider ones are cut to it.
inline int64_t effective_radius(int64_t radius, int64_t depth) { return radius < depth ? radius : depth - 1; }

class WindowPlan {
 public:
  WindowPlan(int64_t depth, int64_t radius)
      : depth_(depth),
        width_(2 * effective_radius(radius, depth) + 1),
        terms_(new (std::nothrow) int64_t[static_cast<size_t>(2 * depth)]) {
    if (!terms_) return;
    const int64_t r = (width_ - 1) / 2;
    for (int64_t c = 0; c < depth; ++c) {
      const int64_t first = c > r ? c - r : 0;
      const int64_t last = c + r < depth ? c + r : depth - 1;
      const int64_t block_start = first - first % width_;
      const bool one_block = last < block_start + width_;  // it starts a block, or the tensor's end cuts it short
      suffix_term(c) = one_block && first == block_start ? depth : first;
      prefix_term(c) = one_block && first != block_start ? depth : last;
    }
  }
  bool ok() const { return terms_ != nullptr; }
  int64_t depth() const { return depth_; }

  // Prefix sums within blocks: put(c, v) for c = 0, 1, 2, ... in order.
  struct Prefix {
    int64_t width, k = 0;  // k = c % width
    void put(Lanes* pre, int64_t c, const Lanes& v) {
      for (int64_t s = 0; s < S; ++s) pre[c].s[s] = k == 0 ? v.s[s] : pre[c - 1].s[s] + v.s[s];
      k = k + 1 == width ? 0 : k + 1;
    }
  };
  Prefix prefix() const { return Prefix{width_}; }

  // Suffix sums within blocks of value(c), and the zero entries at index depth of both arrays.
  template <class Value>
  void suffix(Lanes* pre, Lanes* suf, Value value) const {
    pre[depth_] = suf[depth_] = Lanes{};
    for (int64_t c = depth_ - 1, k = (depth_ - 1) % width_; c >= 0; --c) {  // k = c % width
      const Lanes v = value(c);
      const bool block_end = c == depth_ - 1 || k == width_ - 1;
      for (int64_t s = 0; s < S; ++s) suf[c].s[s] = block_end ? v.s[s] : suf[c + 1].s[s] + v.s[s];
      k = k == 0 ? width_ - 1 : k - 1;
    }
  }

  vd sum(const Lanes* pre, const Lanes* suf, int64_t c, int64_t s) const {
    return suf[suffix_term(c)].s[s] + pre[prefix_term(c)].s[s];
  }

 private:
  int64_t& suffix_term(int64_t c) { return terms_[2 * c]; }
  int64_t& prefix_term(int64_t c) { return terms_[2 * c + 1]; }
  int64_t suffix_term(int64_t c) const { return terms_[2 * c]; }
  int64_t prefix_term(int64_t c) const { return terms_[2 * c + 1]; }

  int64_t depth_;
  int64_t width_;
  std::unique_ptr<int64_t[]> terms_;
};

// ---------------------------------------------------------------------------------------------------------------
// Strips: L lanes, loaded and stored a block of L channels at a time.

struct Strip {
  int64_t base[L];  // offset of channel 0 of each lane
  int64_t stride;   // distance between neighbouring channels
  int64_t lanes;    // valid lanes; the rest of the strip is zero padding
};

inline Strip make_strip(const Layout& layout, int64_t first) {
  Strip t{};
  const int64_t total = layout.outer * layout.inner;
  t.lanes = total - first < L ? (total > first ? total - first : 0) : L;
  t.stride = layout.inner;
  int64_t o = first / layout.inner;
  int64_t i = first % layout.inner;
  for (int64_t l = 0; l < t.lanes; ++l) {
    t.base[l] = o * layout.depth * layout.inner + i;
    if (++i == layout.inner) i = 0, ++o;
  }
  return t;
}

// NCHW inside one image: the L lanes of a channel are L consecutive values.
inline bool contiguous(const Strip& t) {
  return t.stride > 1 && t.lanes == L && t.base[L - 1] == t.base[0] + L - 1;
}
// NHWC with all L lanes: L rows of `depth` consecutive values, transposed L channels at a time.
inline bool transposable(const Strip& t) { return t.stride == 1 && t.lanes == L; }

template <class V>
inline V load(const void* from) {
  V v;
  std::memcpy(&v, from, sizeof v);
  return v;
}
template <class V>
inline void store(void* to, const V& v) {
  std::memcpy(to, &v, sizeof v);
}

// Transposes an L x L block held as L row vectors. Each stage interleaves row i with row i + L/2, which rotates
// the bits of (row, column) left by one; log2(L) stages rotate them by log2(L), which swaps row and column.
template <class V, class M>
inline void transpose(V* rows) {
  M lo, hi;
  for (int64_t i = 0; i < L; ++i) {
    lo[i] = static_cast<typename std::remove_reference<decltype(lo[0])>::type>(i / 2 + (i % 2) * L);
    hi[i] = static_cast<typename std::remove_reference<decltype(hi[0])>::type>(L / 2 + i / 2 + (i % 2) * L);
  }
  for (int64_t stage = 1; stage < L; stage *= 2) {
    V next[L];
    for (int64_t i = 0; i < L / 2; ++i) {
      next[2 * i] = __builtin_shuffle(rows[i], rows[i + L / 2], lo);
      next[2 * i + 1] = __builtin_shuffle(rows[i], rows[i + L / 2], hi);
    }
    for (int64_t i = 0; i < L; ++i) rows[i] = next[i];
  }
}

// Reads channels [c0, c0 + count) of a strip, count <= L, as doubles: block[j] holds channel c0 + j.
template <class T>
inline void load_block(const T* src_typed, const Strip& t, int64_t c0, int64_t count, vd* block) {
  using Store = Storage<T>;
  using V = typename Store::vec;
  const auto* src = reinterpret_cast<const typename Store::raw*>(src_typed);
  if (contiguous(t)) {
    for (int64_t j = 0; j < count; ++j) block[j] = Store::widen(load<V>(src + t.base[0] + (c0 + j) * t.stride));
  } else if (transposable(t) && count == L) {
    V rows[L];
    for (int64_t l = 0; l < L; ++l) rows[l] = load<V>(src + t.base[l] + c0);
    transpose<V, typename Store::mask>(rows);
    for (int64_t j = 0; j < L; ++j) block[j] = Store::widen(rows[j]);
  } else {
    for (int64_t j = 0; j < count; ++j) {
      V lanes{};
      for (int64_t l = 0; l < t.lanes; ++l) lanes[l] = src[t.base[l] + (c0 + j) * t.stride];
      block[j] = Store::widen(lanes);
    }
  }
}

// Writes block[j] to channel c0 + j of a strip, for j < count <= L, rounding to the storage type.
template <class T>
inline void store_block(T* dst_typed, const Strip& t, int64_t c0, int64_t count, const vd* block) {
  using Store = Storage<T>;
  using V = typename Store::vec;
  auto* dst = reinterpret_cast<typename Store::raw*>(dst_typed);
  if (contiguous(t)) {
    for (int64_t j = 0; j < count; ++j) store(dst + t.base[0] + (c0 + j) * t.stride, Store::narrow(block[j]));
  } else if (transposable(t) && count == L) {
    V rows[L];
    for (int64_t j = 0; j < L; ++j) rows[j] = Store::narrow(block[j]);
    transpose<V, typename Store::mask>(rows);
    for (int64_t l = 0; l < L; ++l) store(dst + t.base[l] + c0, rows[l]);
  } else {
    for (int64_t j = 0; j < count; ++j) {
      const V lanes = Store::narrow(block[j]);
      for (int64_t l = 0; l < t.lanes; ++l) dst[t.base[l] + (c0 + j) * t.stride] = lanes[l];
    }
  }
}

// Calls body(c0, count) for the blocks of L channels that cover [0, depth).
template <class Body>
inline void for_each_block(int64_t depth, Body body) {
  for (int64_t c0 = 0; c0 < depth; c0 += L) body(c0, depth - c0 < L ? depth - c0 : L);
}

// A tile: S strips of L lanes, the last ones possibly partial or empty at the end of the tensor.
struct Tile {
  Strip strips[S];
};

inline Tile make_tile(const Layout& layout, int64_t tile) {
  Tile t;
  for (int64_t s = 0; s < S; ++s) t.strips[s] = make_strip(layout, tile * kTileLanes + s * L);
  return t;
}

// Scratch for one thread: `arrays` tiles of depth channels plus the zero entry that WindowPlan uses. Null if the
// allocation fails.
inline std::unique_ptr<Lanes[]> scratch(int64_t depth, int64_t arrays) {
  return std::unique_ptr<Lanes[]>(new (std::nothrow) Lanes[static_cast<size_t>((depth + 1) * arrays)]);
}

// Pass shared by forward and backward: x into xs, and the window sums of x^2 into pre / suf.
template <class T>
inline void square_sums(const T* x, const Tile& t, const WindowPlan& plan, Lanes* xs, Lanes* pre, Lanes* suf) {
  auto prefix = plan.prefix();
  for_each_block(plan.depth(), [&](int64_t c0, int64_t count) {
    vd block[S][L];
    for (int64_t s = 0; s < S; ++s) load_block(x, t.strips[s], c0, count, block[s]);
    for (int64_t j = 0; j < count; ++j) {
      Lanes squares;
      for (int64_t s = 0; s < S; ++s) {
        xs[c0 + j].s[s] = block[s][j];
        squares.s[s] = block[s][j] * block[s][j];
      }
      prefix.put(pre, c0 + j, squares);
    }
  });
  plan.suffix(pre, suf, [&](int64_t c) {
    Lanes squares;
    for (int64_t s = 0; s < S; ++s) squares.s[s] = xs[c].s[s] * xs[c].s[s];
    return squares;
  });
}

// The per-element formulas, shared by the tile and row paths; the derivations are above forward_tiles and
// backward_tiles.
inline vd normaliser(const Params& p, vd window_of_squares) { return p.bias + p.alpha * window_of_squares; }
inline vd output(vd x, const Powers& n) { return x * n.scale; }
inline vd gradient_term(vd g, vd y, const Powers& n) { return g * y * n.inverse; }  // g y / N
inline vd input_gradient(vd g, vd scale, vd x, vd window_of_terms, double coefficient) {
  return g * scale + coefficient * x * window_of_terms;
}

// Runs pass(powers) with the fast powers, and again with the exact ones if any normaliser it met left the fast
// domain, n in [2^-100, 2^100]: there the target's reciprocal-sqrt estimate is valid (even through float) and
// Newton's method converges. Zeros, Inf, NaN and subnormals all fall outside. The check rides along with the pass,
// and the rare rerun overwrites everything the first run wrote.
template <BetaKind K, bool Precise>
struct FastPowers {
  vl in_domain = vl{} == 0;
  Powers operator()(vd n, double beta) {
    in_domain &= (n >= 0x1p-100) & (n <= 0x1p100);  // NaN fails both
    return fast_powers<K, Precise>(n, beta);
  }
  bool all_in_domain() const {
    bool all = true;
    for (int64_t l = 0; l < L; ++l) all = all && in_domain[l];
    return all;
  }
};

template <BetaKind K>
struct ExactPowers {
  Powers operator()(vd n, double beta) const { return exact_powers<K>(n, beta); }
};

template <class T, BetaKind K, class Pass>
inline void with_powers(Pass pass) {
  FastPowers<K, std::is_same<T, double>::value> fast;
  pass(fast);
  if (fast.all_in_domain()) return;
  ExactPowers<K> exact;
  pass(exact);
}

// ---------------------------------------------------------------------------------------------------------------
// Forward:
//   N_c = bias + alpha * sum_{|k - c| <= r} x_k^2
//   y_c = x_c * N_c^-beta
template <class T, BetaKind K>
bool forward_tiles(const T* x, T* y, const Layout& layout, const Params& p, int64_t begin, int64_t end) {
  const int64_t depth = layout.depth;
  const WindowPlan plan(depth, p.depth_radius);
  auto buffer = scratch(depth, 3);
  if (!plan.ok() || !buffer) return false;
  Lanes* xs = buffer.get();
  Lanes* pre = xs + depth + 1;
  Lanes* suf = pre + depth + 1;
  for (int64_t tile = begin; tile < end; ++tile) {
    const Tile t = make_tile(layout, tile);
    square_sums(x, t, plan, xs, pre, suf);
    with_powers<T, K>([&](auto& powers) {
      for_each_block(depth, [&](int64_t c0, int64_t count) {
        for (int64_t s = 0; s < S; ++s) {
          vd block[L];
          for (int64_t j = 0; j < count; ++j) {
            const vd n = normaliser(p, plan.sum(pre, suf, c0 + j, s));
            block[j] = output(xs[c0 + j].s[s], powers(n, p.beta));
          }
          store_block(y, t.strips[s], c0, count, block);
        }
      });
    });
  }
  return true;
}

// Backward. With N_i as above and y_i = x_i N_i^-beta,
//   dy_i/dx_j = [i == j] N_j^-beta - beta x_i N_i^(-beta-1) dN_i/dx_j,   dN_i/dx_j = 2 alpha x_j [|i - j| <= r]
// so for an upstream gradient g:
//   dx_j = g_j N_j^-beta - 2 alpha beta x_j sum_{|i - j| <= r} g_i y_i / N_i
// The sum is the same window sum as the forward one (the window is symmetric). As in TF's LRNGrad, y is the given
// output_image, and N is recomputed from x: the gradient op's inputs are fixed (those of tf.raw_ops.LRNGrad), and
// recomputing N costs one pass over data already in cache.
template <class T, BetaKind K>
bool backward_tiles(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p,
                    int64_t begin, int64_t end) {
  const int64_t depth = layout.depth;
  const WindowPlan plan(depth, p.depth_radius);
  auto buffer = scratch(depth, 6);
  if (!plan.ok() || !buffer) return false;
  Lanes* xs = buffer.get();
  Lanes* gs = xs + depth + 1;
  Lanes* scale = gs + depth + 1;
  Lanes* ts = scale + depth + 1;
  Lanes* pre = ts + depth + 1;
  Lanes* suf = pre + depth + 1;
  const double coefficient = -2.0 * p.alpha * p.beta;
  for (int64_t tile = begin; tile < end; ++tile) {
    const Tile t = make_tile(layout, tile);
    square_sums(x, t, plan, xs, pre, suf);
    // t_c = g_c y_c / N_c, and the pieces of dx_c that do not need its window sum.
    with_powers<T, K>([&](auto& powers) {
      for_each_block(depth, [&](int64_t c0, int64_t count) {
        for (int64_t s = 0; s < S; ++s) {
          vd g[L], out[L];
          load_block(dy, t.strips[s], c0, count, g);
          load_block(y, t.strips[s], c0, count, out);
          for (int64_t j = 0; j < count; ++j) {
            const Powers n = powers(normaliser(p, plan.sum(pre, suf, c0 + j, s)), p.beta);
            gs[c0 + j].s[s] = g[j];
            scale[c0 + j].s[s] = n.scale;
            ts[c0 + j].s[s] = gradient_term(g[j], out[j], n);
          }
        }
      });
    });
    auto prefix = plan.prefix();
    for (int64_t c = 0; c < depth; ++c) prefix.put(pre, c, ts[c]);
    plan.suffix(pre, suf, [&](int64_t c) { return ts[c]; });
    for_each_block(depth, [&](int64_t c0, int64_t count) {
      for (int64_t s = 0; s < S; ++s) {
        vd block[L];
        for (int64_t j = 0; j < count; ++j) {
          const int64_t c = c0 + j;
          block[j] = input_gradient(gs[c].s[s], scale[c].s[s], xs[c].s[s], plan.sum(pre, suf, c, s), coefficient);
        }
        store_block(dx, t.strips[s], c0, count, block);
      }
    });
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Rows: NHWC with a radius of at most kDirectRadius. The lanes run along the channels of the pixels, and each
// window is added up directly from a zero-padded copy of its terms: 2r adds per vector, where a tile pays for two
// transposes and the prefix / suffix passes. These sums never subtract either, so they keep the accuracy and the
// NaN locality of WindowPlan's sums. The two paths cost the same near r = 5 or 6 (the kernel timed alone on AVX-512,
// 16x32x32x128 float32: rows 1.17 and 1.24 ns per element, tiles 1.15 and 1.21), so rows take r <= 6.
//
// A row shorter than one vector would leave most lanes idle, so rows shorter than L are taken a tile (kTileLanes
// rows, contiguous in memory) at a time as one run, and a mask per vector and offset keeps every window inside its
// own row (`depth 3` in `python -m lrn_op.bench --sweep` ran at 0.3x TF one row at a time, 2.2x as runs).
constexpr int64_t kDirectRadius = 6;

inline bool use_rows(const Layout& layout, const Params& p) {
  return layout.inner == 1 && effective_radius(p.depth_radius, layout.depth) <= kDirectRadius;
}

// L values of a run from index c, as doubles; values past `size` read as zero.
template <class T>
inline vd load_run(const T* run_typed, int64_t c, int64_t size) {
  using Store = Storage<T>;
  using V = typename Store::vec;
  const auto* run = reinterpret_cast<const typename Store::raw*>(run_typed);
  if (c + L <= size) return Store::widen(load<V>(run + c));
  V v{};
  std::memcpy(&v, run + c, sizeof(typename Store::raw) * static_cast<size_t>(size - c));
  return Store::widen(v);
}

// Writes the values [c, min(c + L, size)) of a run.
template <class T>
inline void store_run(T* run_typed, int64_t c, int64_t size, vd value) {
  using Store = Storage<T>;
  using V = typename Store::vec;
  auto* run = reinterpret_cast<typename Store::raw*>(run_typed);
  const V v = Store::narrow(value);
  if (c + L <= size) {
    store(run + c, v);
  } else {
    std::memcpy(run + c, &v, sizeof(typename Store::raw) * static_cast<size_t>(size - c));
  }
}

// How a call cuts its rows into runs, and the scratch for one run.
class RowRuns {
 public:
  RowRuns(const Layout& layout, const Params& p, int64_t plain, int64_t padded)
      : depth_(layout.depth),
        radius_(effective_radius(p.depth_radius, layout.depth)),
        rows_per_run_(layout.depth < L ? kTileLanes : 1),
        size_(rows_per_run_ * depth_),
        padded_size_((size_ + L - 1) / L * L) {
    const int64_t masks = rows_per_run_ > 1 ? padded_size_ / L * (2 * radius_ + 1) : 0;
    const int64_t doubles = plain * padded_size_ + padded * (padded_size_ + 2 * radius_) + masks * L;
    buffer_.reset(new (std::nothrow) double[static_cast<size_t>(doubles)]());
    if (!buffer_) return;
    masks_ = reinterpret_cast<vq*>(buffer_.get() + plain * padded_size_ + padded * (padded_size_ + 2 * radius_));
    // masks_[m * (2r + 1) + k]: lane l of vector m may add the term at offset k - r, i.e. that term is in its row.
    for (int64_t m = 0; m < masks / (2 * radius_ + 1); ++m) {
      for (int64_t k = 0; k <= 2 * radius_; ++k) {
        vq mask{};
        for (int64_t l = 0; l < L; ++l) {
          const int64_t channel = (m * L + l) % depth_ + k - radius_;
          mask[l] = channel >= 0 && channel < depth_ ? ~0ull : 0ull;
        }
        store(masks_ + m * (2 * radius_ + 1) + k, mask);
      }
    }
  }
  bool ok() const { return buffer_ != nullptr; }
  int64_t radius() const { return radius_; }
  // Scratch arrays: `plain` ones of the padded run size first, then `padded` ones with r zeros either side.
  double* plain(int64_t i) const { return buffer_.get() + i * padded_size_; }
  double* padded(int64_t plain_arrays, int64_t i) const {
    return buffer_.get() + plain_arrays * padded_size_ + i * (padded_size_ + 2 * radius_);
  }

  // Calls body(first_element, size) for the runs of the tiles [begin, end).
  template <class Body>
  void for_each(const Layout& layout, int64_t begin, int64_t end, Body body) const {
    const int64_t last_row = end * kTileLanes < layout.outer ? end * kTileLanes : layout.outer;
    for (int64_t row = begin * kTileLanes; row < last_row; row += rows_per_run_) {
      const int64_t rows = last_row - row < rows_per_run_ ? last_row - row : rows_per_run_;
      body(row * depth_, rows * depth_);
    }
  }

  // The window sums at values [c, c + L) of a run, from padded[r + i] = term_i (zero past the run), added left to
  // right. In runs of several rows the masks drop the terms of neighbouring rows: an AND, so even a NaN there
  // stays out.
  vd window(const double* padded, int64_t c) const {
    const vq* mask = masks_ + c / L * (2 * radius_ + 1);
    vd sum{};
    for (int64_t k = 0; k <= 2 * radius_; ++k) {
      const vd term = load<vd>(padded + c + k);
      sum += rows_per_run_ > 1 ? (vd)((vq)term & load<vq>(mask + k)) : term;
    }
    return sum;
  }

 private:
  int64_t depth_, radius_, rows_per_run_, size_, padded_size_;
  std::unique_ptr<double[]> buffer_;
  vq* masks_ = nullptr;
};

// x into xs and x^2 into the padded squares, for one run.
template <class T>
inline void load_squares(const T* x, int64_t size, int64_t r, double* xs, double* squares) {
  for (int64_t c = 0; c < size; c += L) {
    const vd v = load_run(x, c, size);
    store(xs + c, v);
    store(squares + r + c, v * v);
  }
}

template <class T, BetaKind K>
bool forward_rows(const T* x, T* y, const Layout& layout, const Params& p, int64_t begin, int64_t end) {
  const RowRuns runs(layout, p, 1, 1);
  if (!runs.ok()) return false;
  const int64_t r = runs.radius();
  double* xs = runs.plain(0);
  double* squares = runs.padded(1, 0);
  runs.for_each(layout, begin, end, [&](int64_t first, int64_t size) {
    load_squares(x + first, size, r, xs, squares);
    with_powers<T, K>([&](auto& powers) {
      for (int64_t c = 0; c < size; c += L) {
        const vd n = normaliser(p, runs.window(squares, c));
        store_run(y + first, c, size, output(load<vd>(xs + c), powers(n, p.beta)));
      }
    });
  });
  return true;
}

template <class T, BetaKind K>
bool backward_rows(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p,
                   int64_t begin, int64_t end) {
  const RowRuns runs(layout, p, 3, 2);
  if (!runs.ok()) return false;
  const int64_t r = runs.radius();
  double* xs = runs.plain(0);
  double* gs = runs.plain(1);
  double* scale = runs.plain(2);
  double* squares = runs.padded(3, 0);
  double* terms = runs.padded(3, 1);
  const double coefficient = -2.0 * p.alpha * p.beta;
  runs.for_each(layout, begin, end, [&](int64_t first, int64_t size) {
    load_squares(x + first, size, r, xs, squares);
    with_powers<T, K>([&](auto& powers) {
      for (int64_t c = 0; c < size; c += L) {
        const Powers n = powers(normaliser(p, runs.window(squares, c)), p.beta);
        const vd g = load_run(dy + first, c, size);
        store(gs + c, g);
        store(scale + c, n.scale);
        store(terms + r + c, gradient_term(g, load_run(y + first, c, size), n));
      }
    });
    // The lanes past the run's end hold g y / N of zero padding, which may be 0 / 0: they must read as zero.
    for (int64_t c = size; c < (size + L - 1) / L * L; ++c) terms[r + c] = 0.0;
    for (int64_t c = 0; c < size; c += L) {
      const vd gradient = input_gradient(load<vd>(gs + c), load<vd>(scale + c), load<vd>(xs + c),
                                         runs.window(terms, c), coefficient);
      store_run(dx + first, c, size, gradient);
    }
  });
  return true;
}

// Entry points: the path chosen and beta's special cases resolved once per call instead of once per element.
template <class T, BetaKind K>
bool forward_path(const T* x, T* y, const Layout& layout, const Params& p, int64_t begin, int64_t end) {
  return use_rows(layout, p) ? forward_rows<T, K>(x, y, layout, p, begin, end)
                             : forward_tiles<T, K>(x, y, layout, p, begin, end);
}

template <class T, BetaKind K>
bool backward_path(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p,
                   int64_t begin, int64_t end) {
  return use_rows(layout, p) ? backward_rows<T, K>(dy, x, y, dx, layout, p, begin, end)
                             : backward_tiles<T, K>(dy, x, y, dx, layout, p, begin, end);
}

template <class T>
bool forward(const T* x, T* y, const Layout& layout, const Params& p, int64_t begin, int64_t end) {
  switch (beta_kind(p.beta)) {
    case BetaKind::Half: return forward_path<T, BetaKind::Half>(x, y, layout, p, begin, end);
    case BetaKind::ThreeQuarters: return forward_path<T, BetaKind::ThreeQuarters>(x, y, layout, p, begin, end);
    case BetaKind::One: return forward_path<T, BetaKind::One>(x, y, layout, p, begin, end);
    default: return forward_path<T, BetaKind::General>(x, y, layout, p, begin, end);
  }
}

template <class T>
bool backward(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p, int64_t begin,
              int64_t end) {
  switch (beta_kind(p.beta)) {
    case BetaKind::Half: return backward_path<T, BetaKind::Half>(dy, x, y, dx, layout, p, begin, end);
    case BetaKind::ThreeQuarters:
      return backward_path<T, BetaKind::ThreeQuarters>(dy, x, y, dx, layout, p, begin, end);
    case BetaKind::One: return backward_path<T, BetaKind::One>(dy, x, y, dx, layout, p, begin, end);
    default: return backward_path<T, BetaKind::General>(dy, x, y, dx, layout, p, begin, end);
  }
}

}  // namespace LRN_ISA
}  // namespace lrn

// Local Response Normalization over the channel axis: the forward and backward math, in one place.
//
// Pure C++17 over raw pointers and sizes (lrn_api.h): no framework types cross this boundary. lrn_simd.cc compiles
// this header once per SIMD target; LRN_ISA names the namespace of each copy so that they never meet at link time.
//
// The loops are written over tiles of W = kTileLanes lanes (pixels) laid out channel-major in scratch memory,
// tile[c * W + l], so that every step is a plain loop over W lanes that the compiler vectorises for the target.
// Both layouts reduce to that: NCHW tiles load W consecutive positions of each channel plane, NHWC tiles transpose
// W consecutive pixels.
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
template <>
struct Storage<f16> {
  using raw = uint16_t;
  using vec = vh;
  using mask = vs;
  static vd widen(vh v) { return __builtin_convertvector(half_to_float(v), vd); }
  static vh narrow(vd v) { return float_to_half(__builtin_convertvector(v, vf)); }
};
template <>
struct Storage<bf16> {
  using raw = uint16_t;
  using vec = vh;
  using mask = vs;
  static vd widen(vh v) { return __builtin_convertvector(bfloat_to_float(v), vd); }
  static vh narrow(vd v) { return bfloat_from_float(__builtin_convertvector(v, vf)); }
};

// ---------------------------------------------------------------------------------------------------------------
// n^-beta. libm's pow does not vectorise, and exp(-beta * log(n)) evaluated in float loses |beta * log n| float
// ulps, so log and exp are written out here in double, accurate to a few double ulps.

// 1/sqrt(n) for n in the fast domain: the hardware estimate, refined by Newton steps y <- y (3/2 - n y^2 / 2) in
// double. Each step squares the relative error (times 3/2): AVX-512's 2^-14 estimate needs one step to reach
// 6e-9, the 1.5 * 2^-12 of rsqrtps two steps to reach 1e-13.
inline vd rsqrt_fast(vd n) {
#if defined(__AVX512F__)
  vd y = (vd)_mm512_maskz_rsqrt14_pd(0xff, (__m512d)n);
  constexpr int kSteps = 1;
#elif defined(__AVX__)
  vd y = (vd)_mm256_cvtps_pd(_mm_rsqrt_ps(_mm256_cvtpd_ps((__m256d)n)));
  constexpr int kSteps = 2;
#elif defined(__SSE2__)
  vd y = (vd)_mm_cvtps_pd(_mm_rsqrt_ps(_mm_cvtpd_ps((__m128d)n)));
  constexpr int kSteps = 2;
#else
  vd y = 1.0 / sqrt_v(n);
  constexpr int kSteps = 0;
#endif
  const vd half = 0.5 * n;
  for (int step = 0; step < kSteps; ++step) y = y * (1.5 - half * y * y);
  return y;
}

// Natural log, to a few double ulps, or to about 1e-12 relative if !Precise (enough for any storage type but
// double). log(0) = -Inf, log(Inf) = Inf, negative or NaN input gives NaN.
template <bool Precise>
inline vd log_v(vd n) {
  const vl subnormal = n < 0x1p-1022;
  const vd scaled = subnormal ? n * 0x1p54 : n;
  const vq bits = (vq)scaled;
  // The biased exponent read through the 2^52 trick: (2^52 + e) - 2^52, with no integer-to-double conversion.
  vd e = (vd)((bits >> 52) | 0x4330000000000000ull) - (0x1p52 + 1023.0);
  e = subnormal ? e - 54.0 : e;
  vd m = (vd)((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);  // in [1, 2)
  const vl high = m > 1.4142135623730951;
  m = high ? 0.5 * m : m;  // now in [sqrt(1/2), sqrt(2)), where the series below converges fast
  e = high ? e + 1.0 : e;
  // log(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1), |s| <= 0.1716; m - 1 is exact.
  // The first omitted term is below 3e-18 (Precise, to z^10/21) or 2e-13 (to z^6/13) relative to log(m).
  const vd f = m - 1.0;
  vd s;
  if constexpr (Precise) {
    s = f / (2.0 + f);
  } else {
    const vd root = rsqrt_fast(2.0 + f);
    s = f * (root * root);
  }
  const vd z = s * s;
  vd poly = Precise ? z * (1.0 / 21.0) + 1.0 / 19.0 : vd{} + 1.0 / 13.0;
  if constexpr (Precise) {
    poly = poly * z + 1.0 / 17.0;
    poly = poly * z + 1.0 / 15.0;
    poly = poly * z + 1.0 / 13.0;
  }
  poly = poly * z + 1.0 / 11.0;
  poly = poly * z + 1.0 / 9.0;
  poly = poly * z + 1.0 / 7.0;
  poly = poly * z + 1.0 / 5.0;
  poly = poly * z + 1.0 / 3.0;
  const vd log_m = 2.0 * s + 2.0 * s * z * poly;
  // ln 2 split so that e * kLn2Hi is exact for every exponent.
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const vd result = e * kLn2Hi + (e * kLn2Lo + log_m);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const vd nan = vd{} + std::numeric_limits<double>::quiet_NaN();
  return n == 0.0 ? vd{} - kInf : n == kInf ? vd{} + kInf : n > 0.0 ? result : nan;
}

// 2^k for integral k in [-1022, 1023], built from its bits.
inline vd exp2_int(vd k) { return (vd)((vq)(k + (0x1p52 + 1023.0)) << 52); }

// e^t, to a few double ulps, or to about 1e-11 relative if !Precise. Overflow gives Inf, underflow 0, NaN stays NaN.
template <bool Precise>
inline vd exp_v(vd t) {
  t = t > 710.0 ? vd{} + 710.0 : t;  // NaN fails both comparisons and flows through
  t = t < -746.0 ? vd{} - 746.0 : t;
  constexpr double kRound = 0x1.8p52;  // adding and subtracting it rounds to an integer
  const vd k = (t * 1.4426950408889634 + kRound) - kRound;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const vd r = (t - k * kLn2Hi) - k * kLn2Lo;  // |r| <= ln(2) / 2
  // Taylor series to r^13 / 13! (Precise; the first omitted term is below 4e-18) or to r^9 / 9! (below 7e-12).
  vd p = Precise ? r * (1.0 / 6227020800.0) + 1.0 / 479001600.0 : vd{} + 1.0 / 362880.0;
  if constexpr (Precise) {
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
  }
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^k as two factors, so that both stay normal for k in [-1077, 1025] and the product over- or underflows
  // correctly.
  const vd k_low = (k * 0.5 - 0.25 + kRound) - kRound;  // floor(k / 2)
  return p * exp2_int(k_low) * exp2_int(k - k_low);
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
    return {exp_v<true>(-beta * log_v<true>(n)), inverse};
  }
}

// The fast domain: n in [2^-100, 2^100]. There the target's reciprocal-sqrt estimate is valid (even through float)
// and Newton's method converges; zeros, Inf, NaN and subnormals all fall outside and take the exact path.
inline bool in_fast_domain(const vd* n, int64_t depth) {
  vl ok = n[0] == n[0];
  for (int64_t c = 0; c < depth; ++c) ok &= (n[c] >= 0x1p-100) & (n[c] <= 0x1p100);  // NaN fails both
  for (int64_t l = 0; l < L; ++l) {
    if (!ok[l]) return false;
  }
  return true;
}

// Fast: no sqrt or division instruction, whose latency dominated the float32 forward (perf, AlexNet LRN1 in
// `python -m lrn_op.bench`). Relative error about 1e-8: far below float32's half ulp (6e-8), so for float32 and the
// half types the result still rounds as the exact one does but for rare ties. The general beta takes the shorter
// log and exp, whose 1e-11 error is as far below.
template <BetaKind K>
inline Powers fast_powers(vd n, double beta) {
  const vd root = rsqrt_fast(n);
  const vd inverse = root * root;
  if constexpr (K == BetaKind::Half) {
    return {root, inverse};
  } else if constexpr (K == BetaKind::ThreeQuarters) {
    return {root * rsqrt_fast(n * root), inverse};  // n^-1/2 * (n^1/2)^-1/2
  } else if constexpr (K == BetaKind::One) {
    return {inverse, inverse};
  } else {
    return {exp_v<false>(-beta * log_v<false>(n)), inverse};
  }
}

// Calls body(powers) with the fast powers where the storage type and the strip's normalisers allow, else exact.
template <class T, BetaKind K, class Body>
inline void with_powers(const vd* n, int64_t depth, Body body) {
  if (!std::is_same<T, double>::value && in_fast_domain(n, depth)) {
    body([](vd v, double beta) { return fast_powers<K>(v, beta); });
  } else {
    body([](vd v, double beta) { return exact_powers<K>(v, beta); });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The window sum, shared by forward and backward.
//
// v[c] <- sum of v[k] over k in [c - r, c + r] clipped to [0, depth), for every channel c of a tile, in place.
//
// van Herk / Gil-Werman: cut the channels into blocks of w = 2r + 1. A window of length w spans at most two blocks
// and is the suffix sum (within its block) at its first channel plus the prefix sum (within its block) at its last.
// Nothing is ever subtracted, so
//   - the cost is three adds per element, whatever r is;
//   - a large value that leaves the window cannot wipe out the small ones still in it, as it does in a running
//     add-the-new, subtract-the-old sum;
//   - a NaN or Inf reaches exactly the windows that contain it.
inline void window_sum(vd* v, int64_t depth, int64_t radius, vd* pre, vd* suf) {
  const int64_t r = radius < depth ? radius : depth - 1;  // wider windows cover every channel anyway
  const int64_t w = 2 * r + 1;
  for (int64_t c = 0, k = 0; c < depth; ++c) {  // k = c % w
    pre[c] = k == 0 ? v[c] : pre[c - 1] + v[c];
    k = k + 1 == w ? 0 : k + 1;
  }
  for (int64_t c = depth - 1, k = (depth - 1) % w; c >= 0; --c) {  // k = c % w
    suf[c] = c == depth - 1 || k == w - 1 ? v[c] : suf[c + 1] + v[c];
    k = k == 0 ? w - 1 : k - 1;
  }
  for (int64_t c = 0, k = 0; c < depth; ++c) {  // k = (c - r) % w once c > r
    const int64_t first = c > r ? c - r : 0;
    const int64_t last = c + r < depth ? c + r : depth - 1;
    // The window spans one block when it starts a block, or when the tensor's end cuts it short inside one.
    const bool one_block = first == 0 || last < first - k + w;
    if (one_block && (first == 0 || k == 0)) {
      v[c] = pre[last];
    } else if (one_block) {
      v[c] = suf[first];
    } else {
      v[c] = suf[first] + pre[last];
    }
    if (c >= r) k = k + 1 == w ? 0 : k + 1;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Strips: L lanes, gathered channel-major into scratch (one vd per channel) and scattered back.

struct Strip {
  int64_t base[L];  // offset of channel 0 of each lane
  int64_t stride;   // distance between neighbouring channels
  int64_t lanes;    // valid lanes; the rest of the strip is zero padding
};

inline Strip make_strip(const Layout& layout, int64_t first) {
  Strip t{};
  const int64_t total = layout.outer * layout.inner;
  t.lanes = total - first < L ? total - first : L;
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

template <class T>
inline void gather(const T* src_typed, const Strip& t, int64_t depth, vd* dst) {
  using S = Storage<T>;
  using V = typename S::vec;
  const auto* src = reinterpret_cast<const typename S::raw*>(src_typed);
  int64_t c = 0;
  if (contiguous(t)) {
    for (; c < depth; ++c) dst[c] = S::widen(load<V>(src + t.base[0] + c * t.stride));
  } else if (transposable(t)) {
    for (; c + L <= depth; c += L) {
      V rows[L];
      for (int64_t l = 0; l < L; ++l) rows[l] = load<V>(src + t.base[l] + c);
      transpose<V, typename S::mask>(rows);
      for (int64_t j = 0; j < L; ++j) dst[c + j] = S::widen(rows[j]);
    }
  }
  for (; c < depth; ++c) {
    V lanes{};
    for (int64_t l = 0; l < t.lanes; ++l) lanes[l] = src[t.base[l] + c * t.stride];
    dst[c] = S::widen(lanes);
  }
}

template <class T>
inline void scatter(const vd* src, const Strip& t, int64_t depth, T* dst_typed) {
  using S = Storage<T>;
  using V = typename S::vec;
  auto* dst = reinterpret_cast<typename S::raw*>(dst_typed);
  int64_t c = 0;
  if (contiguous(t)) {
    for (; c < depth; ++c) store(dst + t.base[0] + c * t.stride, S::narrow(src[c]));
  } else if (transposable(t)) {
    for (; c + L <= depth; c += L) {
      V rows[L];
      for (int64_t j = 0; j < L; ++j) rows[j] = S::narrow(src[c + j]);
      transpose<V, typename S::mask>(rows);
      for (int64_t l = 0; l < L; ++l) store(dst + t.base[l] + c, rows[l]);
    }
  }
  for (; c < depth; ++c) {
    const V lanes = S::narrow(src[c]);
    for (int64_t l = 0; l < t.lanes; ++l) dst[t.base[l] + c * t.stride] = lanes[l];
  }
}

// Calls body(strip) for every strip of the tiles [begin, end).
template <class Body>
inline void for_each_strip(const Layout& layout, int64_t begin, int64_t end, Body body) {
  const int64_t total = layout.outer * layout.inner;
  for (int64_t first = begin * kTileLanes; first < end * kTileLanes && first < total; first += L) {
    body(make_strip(layout, first));
  }
}

// Scratch for one thread: `arrays` strips of depth channels. Null if the allocation fails.
inline std::unique_ptr<vd[]> scratch(int64_t depth, int64_t arrays) {
  return std::unique_ptr<vd[]>(new (std::nothrow) vd[static_cast<size_t>(depth * arrays)]);
}

// ---------------------------------------------------------------------------------------------------------------
// Forward:
//   N_c = bias + alpha * sum_{|k - c| <= r} x_k^2
//   y_c = x_c * N_c^-beta
template <class T, BetaKind K>
bool forward_tiles(const T* x, T* y, const Layout& layout, const Params& p, int64_t begin, int64_t end) {
  const int64_t depth = layout.depth;
  auto buffer = scratch(depth, 4);
  if (!buffer) return false;
  vd* xs = buffer.get();
  vd* sums = xs + depth;
  vd* pre = sums + depth;
  vd* suf = pre + depth;
  for_each_strip(layout, begin, end, [&](const Strip& t) {
    gather(x, t, depth, xs);
    for (int64_t c = 0; c < depth; ++c) sums[c] = xs[c] * xs[c];
    window_sum(sums, depth, p.depth_radius, pre, suf);
    for (int64_t c = 0; c < depth; ++c) sums[c] = p.bias + p.alpha * sums[c];
    with_powers<T, K>(sums, depth, [&](auto powers) {
      for (int64_t c = 0; c < depth; ++c) sums[c] = xs[c] * powers(sums[c], p.beta).scale;
    });
    scatter(sums, t, depth, y);
  });
  return true;
}

// Backward. With N_i as above and y_i = x_i N_i^-beta,
//   dy_i/dx_j = [i == j] N_j^-beta - beta x_i N_i^(-beta-1) dN_i/dx_j,   dN_i/dx_j = 2 alpha x_j [|i - j| <= r]
// so for an upstream gradient g:
//   dx_j = g_j N_j^-beta - 2 alpha beta x_j sum_{|i - j| <= r} g_i y_i / N_i
// The sum is the same window sum as the forward one (the window is symmetric). As in TF's LRNGrad, y is the given
// output_image, and N is recomputed from x: one pass over x is cheaper than storing and reading back a saved N.
template <class T, BetaKind K>
bool backward_tiles(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p,
                    int64_t begin, int64_t end) {
  const int64_t depth = layout.depth;
  auto buffer = scratch(depth, 7);
  if (!buffer) return false;
  vd* xs = buffer.get();
  vd* gs = xs + depth;
  vd* ys = gs + depth;
  vd* sums = ys + depth;
  vd* scale = sums + depth;
  vd* pre = scale + depth;
  vd* suf = pre + depth;
  const double coefficient = -2.0 * p.alpha * p.beta;
  for_each_strip(layout, begin, end, [&](const Strip& t) {
    gather(x, t, depth, xs);
    gather(dy, t, depth, gs);
    gather(y, t, depth, ys);
    for (int64_t c = 0; c < depth; ++c) sums[c] = xs[c] * xs[c];
    window_sum(sums, depth, p.depth_radius, pre, suf);
    for (int64_t c = 0; c < depth; ++c) sums[c] = p.bias + p.alpha * sums[c];
    with_powers<T, K>(sums, depth, [&](auto powers) {
      for (int64_t c = 0; c < depth; ++c) {
        const Powers n = powers(sums[c], p.beta);
        scale[c] = n.scale;
        sums[c] = gs[c] * ys[c] * n.inverse;
      }
    });
    window_sum(sums, depth, p.depth_radius, pre, suf);
    for (int64_t c = 0; c < depth; ++c) gs[c] = gs[c] * scale[c] + coefficient * xs[c] * sums[c];
    scatter(gs, t, depth, dx);
  });
  return true;
}

// Entry points with beta's special cases resolved once per call instead of once per element.
template <class T>
bool forward(const T* x, T* y, const Layout& layout, const Params& p, int64_t begin, int64_t end) {
  switch (beta_kind(p.beta)) {
    case BetaKind::Half: return forward_tiles<T, BetaKind::Half>(x, y, layout, p, begin, end);
    case BetaKind::ThreeQuarters: return forward_tiles<T, BetaKind::ThreeQuarters>(x, y, layout, p, begin, end);
    case BetaKind::One: return forward_tiles<T, BetaKind::One>(x, y, layout, p, begin, end);
    default: return forward_tiles<T, BetaKind::General>(x, y, layout, p, begin, end);
  }
}

template <class T>
bool backward(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p, int64_t begin,
              int64_t end) {
  switch (beta_kind(p.beta)) {
    case BetaKind::Half: return backward_tiles<T, BetaKind::Half>(dy, x, y, dx, layout, p, begin, end);
    case BetaKind::ThreeQuarters:
      return backward_tiles<T, BetaKind::ThreeQuarters>(dy, x, y, dx, layout, p, begin, end);
    case BetaKind::One: return backward_tiles<T, BetaKind::One>(dy, x, y, dx, layout, p, begin, end);
    default: return backward_tiles<T, BetaKind::General>(dy, x, y, dx, layout, p, begin, end);
  }
}

}  // namespace LRN_ISA
}  // namespace lrn

// n^-beta and 1/n, the powers of the normaliser that forward and backward need: the special betas (0.5, 0.75, 1)
// and the general one, fast (hardware estimates refined by third-order steps) and exact, with their error budgets.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernel/storage-inl.h"

#if defined(__SSE2__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace lrn {
namespace LRN_ISA {

// ---------------------------------------------------------------------------------------------------------------
// n^-beta. libm's pow does not vectorise, and exp(-beta * log(n)) evaluated in float loses |beta * log n| float
// ulps, so log and exp are written out here in double, accurate to a few double ulps.

// Estimates from the hardware, refined in double. The estimates run in the hardware's own lanes (ve): double on
// AVX-512 and NEON, float on AVX2 and SSE, which have no double estimate; the conversions cost one each way, so the
// two estimates that n^-1/4 needs share them. Relative error of an estimate: 2^-14 (AVX-512's rsqrt14 and rcp14),
// 1.5 * 2^-12 (SSE's rsqrtps and rcpps), 2^-8 (AArch64's frsqrte and frecpe). kFastSteps steps (refine) take that
// to about 1e-9 (the bounds are there), kPreciseSteps to a few double ulps, for double storage. Valid for n in the fast
// domain (see with_powers), which the estimates through float also cover.
#if defined(__AVX512F__)
constexpr int kFastSteps = 1, kPreciseSteps = 2;
typedef vd ve;
inline ve to_estimate_lanes(vd v) { return v; }
inline vd from_estimate_lanes(ve v) { return v; }
inline ve rsqrt_estimate(ve n) { return (vd)_mm512_maskz_rsqrt14_pd(0xff, (__m512d)n); }
inline ve reciprocal_estimate(ve d) { return (vd)_mm512_maskz_rcp14_pd(0xff, (__m512d)d); }
#elif defined(__SSE2__)
constexpr int kFastSteps = 1, kPreciseSteps = 2;
typedef __m128 ve;
#if defined(__AVX__)
inline ve to_estimate_lanes(vd v) { return _mm256_cvtpd_ps((__m256d)v); }
inline vd from_estimate_lanes(ve v) { return (vd)_mm256_cvtps_pd(v); }
#else
inline ve to_estimate_lanes(vd v) { return _mm_cvtpd_ps((__m128d)v); }
inline vd from_estimate_lanes(ve v) { return (vd)_mm_cvtps_pd(v); }
#endif
inline ve rsqrt_estimate(ve n) { return _mm_rsqrt_ps(n); }
inline ve reciprocal_estimate(ve d) { return _mm_rcp_ps(d); }
#elif defined(__aarch64__)
constexpr int kFastSteps = 2, kPreciseSteps = 3;
typedef vd ve;
inline ve to_estimate_lanes(vd v) { return v; }
inline vd from_estimate_lanes(ve v) { return v; }
inline ve rsqrt_estimate(ve n) { return (vd)vrsqrteq_f64((float64x2_t)n); }
inline ve reciprocal_estimate(ve d) { return (vd)vrecpeq_f64((float64x2_t)d); }
#else
constexpr int kFastSteps = 0, kPreciseSteps = 0;
typedef vd ve;
inline ve to_estimate_lanes(vd v) { return v; }
inline vd from_estimate_lanes(ve v) { return v; }
inline ve rsqrt_estimate(ve n) { return 1.0 / sqrt_v(n); }
inline ve reciprocal_estimate(ve d) { return 1.0 / d; }
#endif

// Step `step` towards z = n^(-a/b) from y, given e = 1 - n^a y^b: z = y (1 - e)^(-1/b) = y (1 + e/b + (b + 1) e^2 /
// (2 b^2) + ...). The first step takes the series to e^2, third order: it leaves about (b + 1)(2b + 1) / (6 b^3) e^3,
// which is 1 e^3 (b = 1), 0.31 e^3 (b = 2) or 0.12 e^3 (b = 4). Later steps start close enough for Newton's e / b,
// which leaves (b + 1) / (2 b^2) e^2. Measured worst over 1e6 strips of random n in the fast domain after the first
// step, for beta = 3/4 (n^-1/4, whose e compounds two estimates four times, then cubed and raised to the fourth):
// n^-3/4 8.9e-10 and 1/n 1.2e-9 from SSE's estimates, 1.3e-11 and 1.8e-11 from AVX-512's. Where
// Newton's steps alone need two from SSE's estimates, the one third-order step halves the chain of dependent
// operations; NEON's coarser estimates take a second step.
template <bool Precise>
constexpr int kSteps = Precise ? kPreciseSteps : kFastSteps;

template <int B>
inline vd refine(vd y, vd e, int step) {
  constexpr double c1 = 1.0 / B, c2 = (B + 1.0) / (2.0 * B * B);
  return step == 0 ? y + y * (e * (c1 + c2 * e)) : y + y * (e * c1);
}

// 1/sqrt(n): b = 2, e = 1 - n y^2.
template <bool Precise>
inline vd rsqrt_fast(vd n) {
  vd y = from_estimate_lanes(rsqrt_estimate(to_estimate_lanes(n)));
  for (int step = 0; step < kSteps<Precise>; ++step) y = refine<2>(y, 1.0 - n * (y * y), step);
  return y;
}

// n^-1/4 from the estimate (n n^-1/2)^-1/2: b = 4, e = 1 - n z^4. Then n^-3/4 and 1/n are z^3 and z^4, side by side,
// where 1/n from n^-3/4 would add two dependent multiplies to the backward's chain (cc/kernel/PERFORMANCE.md).
template <bool Precise>
inline vd rsqrt_quarter_fast(vd n) {
  const ve m = to_estimate_lanes(n);
  vd z = from_estimate_lanes(rsqrt_estimate(m * rsqrt_estimate(m)));
  for (int step = 0; step < kSteps<Precise>; ++step) {
    const vd square = z * z;
    z = refine<4>(z, 1.0 - n * (square * square), step);
  }
  return z;
}

// 1/d: b = 1, e = 1 - d y.
template <bool Precise>
inline vd reciprocal_fast(vd d) {
  vd y = from_estimate_lanes(reciprocal_estimate(to_estimate_lanes(d)));
  for (int step = 0; step < kSteps<Precise>; ++step) y = refine<1>(y, 1.0 - d * y, step);
  return y;
}

// ln 2 split so that k * kLn2Hi is exact for every exponent k of a double; adding and subtracting kRound rounds a
// double to an integer.
constexpr double kLog2E = 1.4426950408889634;  // 1 / ln 2
constexpr double kLn2 = 0.6931471805599453;
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

// e^t to a few double ulps of e^t for the t it is given; a caller's error in t (t = -beta log n) comes on top,
// magnified by |t|. Overflow gives Inf, underflow 0, NaN stays NaN.
inline vd exp_v(vd t) {
  t = t > 710.0 ? vd{} + 710.0 : t;  // NaN fails both comparisons and flows through
  t = t < -746.0 ? vd{} - 746.0 : t;
  const vd k = (t * kLog2E + kRound) - kRound;
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
  const vd k = (t * kLog2E + kRound) - kRound;
  const vd r = t - k * kLn2;  // |r| <= ln(2) / 2; the rounding of k ln 2 costs below 1e-13
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

// Fast: no sqrt or division instruction, since those dominate the float32 forward (cc/kernel/PERFORMANCE.md). Not
// Precise, the relative error is about 1e-9 (measured at most 1.2e-9, for 1/n at beta = 3/4): far below float32's
// half ulp (6e-8), so for float32 and the half types the result rounds as the exact one does but near ties.
// Precise (double storage), it is a few double ulps.
template <BetaKind K, bool Precise, std::enable_if_t<K != BetaKind::General, int> = 0>
inline Powers fast_powers(vd n, double beta) {
  if constexpr (K == BetaKind::Half) {
    const vd root = rsqrt_fast<Precise>(n);
    return {root, root * root};
  } else if constexpr (K == BetaKind::ThreeQuarters) {
    const vd quarter = rsqrt_quarter_fast<Precise>(n);
    const vd square = quarter * quarter;
    return {square * quarter, square * square};
  } else {
    const vd inverse = reciprocal_fast<Precise>(n);
    return {inverse, inverse};
  }
}

// The general beta's, forced inline: GCC's own choice for it moved with the rest of the file, and called, it took the
// avx2 rows' forward at beta 0.6 from 3.6 to 4.4 ns per element.
template <BetaKind K, bool Precise, std::enable_if_t<K == BetaKind::General, int> = 0>
__attribute__((always_inline)) inline Powers fast_powers(vd n, double beta) {
  const vd t = -beta * log_fast<Precise>(n);
  return {Precise ? exp_v(t) : exp_fast(t), reciprocal_fast<Precise>(n)};
}

}  // namespace LRN_ISA
}  // namespace lrn

// n^-beta and 1/n, the powers of the normaliser that forward and backward need: the special betas (0.5, 0.75, 1)
// and the general one, fast (hardware estimates refined by Newton steps) and exact, with their error budgets.
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

// Estimates from the hardware, refined by Newton steps in double. Each step squares the relative error (times a
// small constant): AVX-512's 2^-14 estimates need one step to reach 6e-9, the 1.5 * 2^-12 of SSE's rsqrtps and
// rcpps two steps to reach 1e-13, AArch64's 2^-8 of frsqrte and frecpe (on doubles, NEON) two steps to reach 1e-9.
// Precise adds one more step, for double storage: then the error is a few ulps.
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
#elif defined(__aarch64__)
constexpr int kNewtonSteps = 2;
inline vd rsqrt_estimate(vd n) { return (vd)vrsqrteq_f64((float64x2_t)n); }
inline vd reciprocal_estimate(vd d) { return (vd)vrecpeq_f64((float64x2_t)d); }
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
// Precise, the relative error is about 1e-8: far below float32's half ulp (6e-8), so for float32 and the half types
// the result still rounds as the exact one does but for rare ties. Precise (double storage), it is a few double ulps.
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

}  // namespace LRN_ISA
}  // namespace lrn

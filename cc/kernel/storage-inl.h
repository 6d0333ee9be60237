// Storage: the target's vector types; loads, stores and conversions between half / bfloat16 / float / double
// storage and the double lanes that the math runs in.
//
// lrn_simd.cc compiles the kernel headers once per SIMD target; LRN_ISA names the namespace of each copy so that
// they never meet at link time. The vector types are GCC vector extensions of the target's native width, so one
// source serves every target.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "lrn_api.h"

#ifndef LRN_ISA
#define LRN_ISA baseline
#endif

namespace lrn {
namespace LRN_ISA {

// A strip is kStripLanes lanes (pixels): one native double register of the target. GCC lowers vector comparisons and
// selects to single instructions only at exactly the native width, so each target gets its own kStripLanes. A tile of
// kTileLanes lanes (the unit that threads share out) is processed as kTileLanes / kStripLanes strips.
#if defined(__AVX512F__)
constexpr int64_t kStripLanes = 8;
#elif defined(__AVX__)
constexpr int64_t kStripLanes = 4;
#else
constexpr int64_t kStripLanes = 2;
#endif
static_assert(kTileLanes % kStripLanes == 0, "a tile must hold whole strips");

// One channel of a strip, as doubles, and the other lane types the conversions need.
typedef double vd __attribute__((vector_size(kStripLanes * 8)));
typedef float vf __attribute__((vector_size(kStripLanes * 4)));
typedef int64_t vl __attribute__((vector_size(kStripLanes * 8)));
typedef uint64_t vq __attribute__((vector_size(kStripLanes * 8)));
typedef int32_t vi __attribute__((vector_size(kStripLanes * 4)));
typedef uint32_t vu __attribute__((vector_size(kStripLanes * 4)));
typedef uint16_t vh __attribute__((vector_size(kStripLanes * 2)));
typedef int16_t vs __attribute__((vector_size(kStripLanes * 2)));

// Lane by lane; GCC turns the loop into the target's packed sqrt.
inline vd sqrt_v(vd v) {
  vd r;
  for (int64_t i = 0; i < kStripLanes; ++i) r[i] = __builtin_sqrt(v[i]);
  return r;
}

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
#if defined(__AVX512F__)
  // One vcvtps2pd: GCC's generic conversion of these widths takes two halves and an insert.
  static vd widen(vf v) { return (vd)_mm512_cvtps_pd((__m256)v); }
#else
  static vd widen(vf v) { return __builtin_convertvector(v, vd); }
#endif
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
  static vd widen(vh v) { return Storage<float>::widen(ToFloat(v)); }
  static vh narrow(vd v) { return FromFloat(__builtin_convertvector(v, vf)); }
};
template <>
struct Storage<f16> : HalfStorage<half_to_float, float_to_half> {};
template <>
struct Storage<bf16> : HalfStorage<bfloat_to_float, bfloat_from_float> {};

}  // namespace LRN_ISA
}  // namespace lrn

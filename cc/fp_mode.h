// The caller's floating-point control state, carried to the pool's workers: the mode decides whether subnormal
// inputs read as zero and subnormal results flush to zero (MXCSR's DAZ and FTZ on x86-64, FPCR's FZ on aarch64), and
// a worker started by one caller keeps whatever mode it inherited. Each tile runs under the mode of the call it
// belongs to, so results depend on the caller's mode, never on which thread ran a tile.
#pragma once

#include <cstdint>

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace lrn {

#if defined(__x86_64__) || defined(_M_X64)
// MXCSR's control bits: DAZ (6), the exception masks (7-12), rounding (13-14) and FTZ (15). Its status flags (0-5)
// belong to the thread that raised them and are left alone.
constexpr uint32_t kFpControlBits = 0xffc0;
inline uint32_t fp_control() { return _mm_getcsr() & kFpControlBits; }
inline void set_fp_control(uint32_t control) { _mm_setcsr((_mm_getcsr() & ~kFpControlBits) | control); }
#elif defined(__aarch64__)
// FPCR holds only control bits (rounding, FZ, FZ16, the trap enables); the status flags live in FPSR.
inline uint64_t fp_control() {
  uint64_t control;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(control));
  return control;
}
inline void set_fp_control(uint64_t control) { __asm__ __volatile__("msr fpcr, %0" : : "r"(control)); }
#else
// Elsewhere the kernels run under each thread's own mode.
inline uint32_t fp_control() { return 0; }
inline void set_fp_control(uint32_t) {}
#endif

using FpControl = decltype(fp_control());

// Runs a scope under `control` and restores the thread's own mode after it.
class FpControlScope {
 public:
  explicit FpControlScope(FpControl control) : saved_(fp_control()) {
    if (control != saved_) set_fp_control(control);
  }
  ~FpControlScope() {
    if (fp_control() != saved_) set_fp_control(saved_);
  }
  FpControlScope(const FpControlScope&) = delete;
  FpControlScope& operator=(const FpControlScope&) = delete;

 private:
  FpControl saved_;
};

}  // namespace lrn

// Runtime SIMD dispatch and the checks shared by every front end.
#include "lrn_api.h"

#include <locale.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "lrn_simd.h"

namespace lrn {
namespace {

struct Path {
  const char* name;
  const Kernels* kernels;
};

// The portable target, which needs nothing beyond the base architecture: SSE2 on x86-64, NEON (ASIMD) on aarch64.
#if defined(__aarch64__)
constexpr const char* kBaselineName = "neon";
#else
constexpr const char* kBaselineName = "baseline";
#endif

Path choose_path() {
  const Path baseline_path{kBaselineName, &baseline::kernels};
#ifdef LRN_HAVE_X86_TARGETS
  __builtin_cpu_init();
  const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  const Path avx2_path{"avx2", &avx2::kernels};
  const Path avx512_path{"avx512", &avx512::kernels};
  // LRN_OP_SIMD forces a path, so that tests can run each one on a single machine. A path the CPU cannot run
  // is never taken: the best supported one is used instead, and simd_path() says which.
  const char* forced = std::getenv("LRN_OP_SIMD");
  if (forced != nullptr && std::strcmp(forced, kBaselineName) == 0) return baseline_path;
  if (forced != nullptr && std::strcmp(forced, "avx2") == 0 && has_avx2) return avx2_path;
  if (has_avx512 && (forced == nullptr || std::strcmp(forced, "avx2") != 0)) return avx512_path;
  if (has_avx2) return avx2_path;
#endif
  return baseline_path;
}

const Path& active() {
  static const Path path = choose_path();
  return path;
}

// Reads one decimal at `at` as std::from_chars would, and moves `at` past it; false if there is none or it is out of
// range. strtod_l in the "C" locale does the reading, since from_chars for double needs GLIBCXX_3.4.29 and the
// wheel must load where libstdc++ is older (manylinux_2_27). What strtod takes and from_chars does not is refused
// here: leading white space, '+', hexadecimal, and a result that overflows or underflows to zero (ERANGE alone also
// flags subnormal results, which from_chars accepts). Zero is told from a subnormal by its bits: TF's threads run with
// denormals-are-zero, under which a subnormal compares equal to 0.0. tests/cc/kernel_test.cc holds the two equal on
// thousands of strings. `at` must point into a NUL-terminated string.
bool read_decimal(const char*& at, double* value) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
  const char* digits = at + (*at == '-');
  if (*at == '\0' || std::isspace(static_cast<unsigned char>(*at)) || *at == '+' ||
      (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))) {
    return false;
  }
  char* next = nullptr;
  errno = 0;
  const double parsed = strtod_l(at, &next, c_locale);
  uint64_t bits;
  std::memcpy(&bits, &parsed, sizeof bits);
  const bool zero = (bits << 1) == 0;
  if (next == at || (errno == ERANGE && (zero || std::isinf(parsed)))) return false;
  *value = parsed;
  at = next;
  return true;
}

}  // namespace

const char* simd_path() { return active().name; }

Layout layout_of(const int64_t dims[4], bool channels_first) {
  if (channels_first) return Layout{dims[0], dims[1], dims[2] * dims[3]};
  return Layout{dims[0] * dims[1] * dims[2], dims[3], 1};
}

int64_t num_tiles(const Layout& layout) { return (layout.outer * layout.inner + kTileLanes - 1) / kTileLanes; }

// About ten cycles per element: the sharder only needs the magnitude to decide how finely to split.
int64_t tile_cost(const Layout& layout) { return 10 * layout.depth * kTileLanes; }

std::string check_params(const Params& params) {
  if (params.depth_radius < 0) {
    return "depth_radius must be non-negative, got " + std::to_string(params.depth_radius);
  }
  if (params.depth_radius > 0x7fffffff) {
    return "depth_radius must be less than 2**31, got " + std::to_string(params.depth_radius);
  }
  if (!std::isfinite(params.bias)) return "bias must be a finite number, got " + std::to_string(params.bias);
  if (!std::isfinite(params.alpha)) return "alpha must be a finite number, got " + std::to_string(params.alpha);
  if (!std::isfinite(params.beta)) return "beta must be a finite number, got " + std::to_string(params.beta);
  return "";
}

std::string parse_exact_params(const std::string& text, float bias, float alpha, float beta, Params* params) {
  const char* names[3] = {"bias", "alpha", "beta"};
  const float rounded[3] = {bias, alpha, beta};
  double* exact[3] = {&params->bias, &params->alpha, &params->beta};
  const std::string malformed = "exact_bias_alpha_beta must hold three numbers, got '" + text + "'";
  const char* at = text.c_str();
  const char* end = text.c_str() + text.size();
  for (int i = 0; i < 3; ++i) {
    if (i > 0 && (at == end || *at++ != ' ')) return malformed;
    const char* number = at;
    double value = 0.0;
    if (!read_decimal(at, &value)) return malformed;
    if (static_cast<float>(value) != rounded[i] && !(std::isnan(value) && std::isnan(rounded[i]))) {
      return std::string("exact_bias_alpha_beta gives ") + names[i] + " = " + std::string(number, at) +
             ", which does not round to the attribute " + names[i] + " = " + std::to_string(rounded[i]);
    }
    *exact[i] = value;
  }
  if (at != end) return malformed;
  return "";
}

template <class T>
bool forward(const T* x, T* y, const Layout& layout, const Params& params, int64_t tile_begin, int64_t tile_end) {
  return active().kernels->of(x).forward(x, y, layout, params, tile_begin, tile_end);
}

template <class T>
bool backward(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& params,
              int64_t tile_begin, int64_t tile_end) {
  return active().kernels->of(x).backward(dy, x, y, dx, layout, params, tile_begin, tile_end);
}

#define LRN_INSTANTIATE(T)                                                                                       \
  template bool forward<T>(const T*, T*, const Layout&, const Params&, int64_t, int64_t);                        \
  template bool backward<T>(const T*, const T*, const T*, T*, const Layout&, const Params&, int64_t, int64_t);
LRN_INSTANTIATE(f16)
LRN_INSTANTIATE(bf16)
LRN_INSTANTIATE(float)
LRN_INSTANTIATE(double)
#undef LRN_INSTANTIATE

}  // namespace lrn

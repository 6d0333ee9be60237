// The parameter checks and the exact-parameter text, shared by the entry (lrn_api.cc) and the TF kernels, which check
// a node's attributes once when TF builds its kernel. Each library that needs them holds its own copy, unexported.
#include <locale.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "lrn_api.h"

namespace lrn {
namespace {

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

std::string check_params(const Params& params) {
  for (const auto& [name, extent] : {std::pair{"before", params.before}, std::pair{"after", params.after}}) {
    if (extent < 0) return std::string("the window's extent ") + name + " must be non-negative, got " +
                           std::to_string(extent);
    if (extent > 0x7fffffff) return std::string("the window's extent ") + name + " must be less than 2**31, got " +
                                    std::to_string(extent);
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

}  // namespace lrn

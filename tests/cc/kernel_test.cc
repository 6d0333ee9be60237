// The kernels without TF or Python: lrn_api.h against a scalar float64 reference, over dtypes, layouts, radii,
// betas and shapes that reach the row, masked-run, plane and tile paths; plus NaN locality and invariance under any
// split of the tiles (and on the plane path, of the channels). tests/sanitize.sh builds it with AddressSanitizer and
// UndefinedBehaviorSanitizer and runs it on every SIMD path. Prints one line per dtype and exits non-zero on the first
// failure.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "fp_mode.h"
#include "lrn_api.h"
#include "thread_pool.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace {

// Test data are multiples of 1/8 in [-4, 4]: exact in every storage type, so no rounding on the way in.
double decode(float v) { return v; }
double decode(double v) { return v; }
double decode(lrn::bf16 v) {
  const uint32_t bits = static_cast<uint32_t>(v.bits) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
double decode(lrn::f16 v) {
  const int exponent = (v.bits >> 10) & 0x1f, mantissa = v.bits & 0x3ff;
  const double magnitude = exponent == 0    ? std::ldexp(mantissa, -24)
                           : exponent == 31 ? (mantissa ? NAN : INFINITY)
                                            : std::ldexp(1024 + mantissa, exponent - 25);
  return v.bits & 0x8000 ? -magnitude : magnitude;
}
template <class T>
T encode(double v);
template <>
float encode<float>(double v) { return static_cast<float>(v); }
template <>
double encode<double>(double v) { return v; }
template <>
lrn::bf16 encode<lrn::bf16>(double v) {
  const float f = static_cast<float>(v);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return lrn::bf16{static_cast<uint16_t>(bits >> 16)};
}
template <>
lrn::f16 encode<lrn::f16>(double v) {  // exact for the multiples of 1/8 used here, and NaN
  if (std::isnan(v)) return lrn::f16{0x7e00};
  if (v == 0) return lrn::f16{0};
  int exponent;
  const double fraction = std::frexp(std::fabs(v), &exponent);  // v = fraction * 2^exponent, fraction in [0.5, 1)
  const int mantissa = static_cast<int>(std::ldexp(fraction, 11)) - 1024;
  return lrn::f16{static_cast<uint16_t>((v < 0 ? 0x8000 : 0) | ((exponent + 14) << 10) | mantissa)};
}

struct Case {
  int64_t dims[4];
  int64_t before, after;
  double beta;
  bool channels_first;
};

// Index of (o, c, i) in the layout.
int64_t index(const lrn::Layout& l, int64_t o, int64_t c, int64_t i) { return (o * l.depth + c) * l.inner + i; }

// The reference forward and backward, straight from the formulas, in float64. Like LRNGrad, the gradient uses the
// given y (y_given) where there is one.
void reference(const lrn::Layout& l, const lrn::Params& p, const std::vector<double>& x,
               const std::vector<double>& dy, const std::vector<double>* y_given, std::vector<double>& y,
               std::vector<double>& dx) {
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t i = 0; i < l.inner; ++i) {
      std::vector<double> n(l.depth), t(l.depth);
      for (int64_t c = 0; c < l.depth; ++c) {
        double sum = 0;
        for (int64_t k = std::max<int64_t>(0, c - p.before); k <= std::min(l.depth - 1, c + p.after); ++k) {
          sum += x[index(l, o, k, i)] * x[index(l, o, k, i)];
        }
        n[c] = p.bias + p.alpha * sum;
        y[index(l, o, c, i)] = x[index(l, o, c, i)] * std::pow(n[c], -p.beta);
        t[c] = dy[index(l, o, c, i)] * (y_given ? *y_given : y)[index(l, o, c, i)] / n[c];
      }
      for (int64_t c = 0; c < l.depth; ++c) {
        double sum = 0;
        // The channels k whose windows [k - before, k + after] hold c.
        for (int64_t k = std::max<int64_t>(0, c - p.after); k <= std::min(l.depth - 1, c + p.before); ++k) {
          sum += t[k];
        }
        dx[index(l, o, c, i)] = dy[index(l, o, c, i)] * std::pow(n[c], -p.beta) -
                                2 * p.alpha * p.beta * x[index(l, o, c, i)] * sum;
      }
    }
  }
}

int failures = 0;

// The floor of the forward error's denominator, as tests/bounds.py sets it: the storage type's smallest normal, below
// which a format has no relative precision to speak of.
double smallest_normal(float) { return std::numeric_limits<float>::min(); }
double smallest_normal(double) { return std::numeric_limits<double>::min(); }
double smallest_normal(lrn::bf16) { return std::numeric_limits<float>::min(); }  // bfloat16 has float32's exponent
double smallest_normal(lrn::f16) { return std::ldexp(1.0, -14); }

void expect(bool ok, const char* what, const char* type, const Case& k) {
  if (ok) return;
  ++failures;
  std::printf("FAIL %s [%s] dims %lld %lld %lld %lld window (%lld, %lld) beta %g %s\n", what, type,
              (long long)k.dims[0], (long long)k.dims[1], (long long)k.dims[2], (long long)k.dims[3],
              (long long)k.before, (long long)k.after, k.beta, k.channels_first ? "NCHW" : "NHWC");
}

// Runs run(share) over shares of `tile_step` tiles and, where the path allows (lrn::splits_channels), `channel_step`
// channels: any shares that cover the tensor once must give the same bits. Returns whether the channels were cut.
template <class Run>
bool shared_out(const lrn::Layout& layout, const lrn::Params& params, int64_t tile_step, int64_t channel_step,
                Run run) {
  const int64_t tiles = lrn::num_tiles(layout);
  const bool cut = lrn::splits_channels(layout, params);
  const int64_t step = cut ? channel_step : layout.depth;
  for (int64_t start = 0; start < tiles; start += tile_step) {
    for (int64_t c = 0; c < layout.depth; c += step) {
      run(lrn::Share{start, std::min(tiles, start + tile_step), c, std::min(layout.depth, c + step)});
    }
  }
  return cut;
}

template <class T>
void run(const char* type, double tolerance, double gradient_tolerance) {
  const Case cases[] = {
      {{2, 3, 4, 40}, 2, 2, 0.75, false},  {{2, 3, 4, 40}, 2, 2, 0.6, true},  {{3, 5, 7, 5}, 2, 2, 0.5, false},
      {{1, 2, 3, 29}, 9, 9, 1.0, false},   {{2, 3, 3, 17}, 40, 40, 1.3, true}, {{1, 1, 37, 3}, 1, 1, 0.75, false},
      {{2, 2, 2, 12}, 0, 0, 2.1, false},   {{1, 4, 5, 1}, 3, 3, 0.75, true},  {{5, 1, 1, 9}, 6, 6, 0.01, false},
      {{1, 1, 1, 70}, 7, 7, 3.0, false},
      // Wide NHWC windows, transposed onto the tile path: a window across blocks, one cut to the depth.
      {{2, 3, 2, 100}, 20, 20, 0.75, false}, {{1, 2, 2, 64}, 200, 200, 0.5, false}, {{3, 1, 2, 35}, 16, 16, 1.0, false},
      // Windows of two extents: PyTorch's even sizes (n/2 before, n/2 - 1 after), ONNX's (n/2 - 1, n/2), on the
      // rows (short rows sharing a vector too) and on the tiles, both layouts, and one extent past the depth.
      {{2, 3, 4, 40}, 1, 0, 0.75, false},  {{2, 3, 4, 40}, 0, 1, 0.75, true},  {{1, 1, 37, 3}, 2, 1, 0.75, false},
      {{1, 1, 37, 5}, 1, 2, 1.0, false},   {{3, 5, 7, 5}, 3, 2, 0.5, true},    {{1, 2, 3, 29}, 4, 3, 1.3, false},
      {{2, 3, 2, 100}, 20, 5, 0.75, false}, {{2, 3, 3, 17}, 3, 9, 0.6, true},  {{1, 2, 2, 64}, 100, 2, 0.5, false},
      {{1, 1, 1, 70}, 0, 12, 2.1, false},
      // NCHW planes longer than a block of the plane path, whose tiles straddle images, in both directions.
      {{3, 20, 13, 21}, 2, 2, 0.75, true}, {{2, 24, 12, 23}, 3, 1, 1.0, true}, {{2, 9, 40, 41}, 1, 4, 0.5, true},
  };
  std::mt19937 random(42);
  std::uniform_int_distribution<int> eighths(-32, 32);
  double worst = 0;
  int cut_cases = 0;
  for (const Case& k : cases) {
    const lrn::Layout layout = lrn::layout_of(k.dims, 4, k.channels_first);
    const lrn::Params params{k.before, k.after, 1.0, 0.3, k.beta};
    const int64_t count = k.dims[0] * k.dims[1] * k.dims[2] * k.dims[3];
    const int64_t tiles = lrn::num_tiles(layout);
    std::vector<double> x(count), dy(count), y_ref(count), dx_ref(count);
    std::vector<T> xs(count), dys(count), ys(count), dxs(count), split(count);
    for (int64_t i = 0; i < count; ++i) {
      x[i] = eighths(random) / 8.0;
      dy[i] = eighths(random) / 8.0;
      xs[i] = encode<T>(x[i]);
      dys[i] = encode<T>(dy[i]);
    }
    expect(lrn::forward(xs.data(), ys.data(), layout, params, lrn::tiles(layout, 0, tiles)), "forward allocation", type,
           k);
    // The gradient op gets the y the forward op returned, as in a real graph.
    std::vector<double> y_given(count);
    for (int64_t i = 0; i < count; ++i) y_given[i] = decode(ys[i]);
    reference(layout, params, x, dy, &y_given, y_ref, dx_ref);
    expect(lrn::backward(dys.data(), xs.data(), ys.data(), dxs.data(), layout, params, lrn::tiles(layout, 0, tiles)),
           "backward allocation", type, k);
    double grad_scale = 1e-300;
    for (int64_t i = 0; i < count; ++i) grad_scale = std::max(grad_scale, std::fabs(dx_ref[i]));
    for (int64_t i = 0; i < count; ++i) {
      const double forward_error =
          std::fabs(decode(ys[i]) - y_ref[i]) / std::max(std::fabs(y_ref[i]), smallest_normal(T{}));
      const double backward_error = std::fabs(decode(dxs[i]) - dx_ref[i]) / grad_scale;
      worst = std::max({worst, forward_error, backward_error});
      expect(forward_error <= tolerance, "forward value", type, k);
      expect(backward_error <= gradient_tolerance, "backward value", type, k);
    }
    cut_cases += shared_out(layout, params, 3, 7, [&](const lrn::Share& share) {
      lrn::forward(xs.data(), split.data(), layout, params, share);
    });
    expect(std::memcmp(split.data(), ys.data(), sizeof(T) * count) == 0, "split invariance", type, k);
    shared_out(layout, params, 5, 3, [&](const lrn::Share& share) {
      lrn::backward(dys.data(), xs.data(), ys.data(), split.data(), layout, params, share);
    });
    expect(std::memcmp(split.data(), dxs.data(), sizeof(T) * count) == 0, "backward split invariance", type, k);
    // A NaN reaches exactly the outputs whose window holds it, in every layout and row length (rows shorter than
    // a vector share one, with masks).
    {
      std::vector<T> poisoned = xs, out(count);
      const int64_t channel = layout.depth / 2;
      poisoned[index(layout, 0, channel, 0)] = encode<T>(NAN);
      lrn::forward(poisoned.data(), out.data(), layout, params, lrn::tiles(layout, 0, tiles));
      for (int64_t o = 0; o < layout.outer; ++o) {
        for (int64_t c = 0; c < layout.depth; ++c) {
          for (int64_t i = 0; i < layout.inner; ++i) {
            const bool reached = o == 0 && i == 0 && c - k.before <= channel && channel <= c + k.after;
            expect(std::isnan(decode(out[index(layout, o, c, i)])) == reached, "NaN locality", type, k);
          }
        }
      }
    }
  }
  // Eight of the nine NCHW cases (all but the one whose planes hold fewer pixels than a tile) take the plane path,
  // whose shares cut the channels too.
  expect(cut_cases == 8, "the plane path's cases", type, Case{});
  std::printf("%-8s worst error %.2e (tolerances %.1e, %.1e) on %s\n", type, worst, tolerance, gradient_tolerance,
              lrn::simd_path());
}

// Normalisers outside the fast powers' domain (lrn-inl.h, FastPowers) on the plane path: pixels whose values are
// scaled by 2^-60 (n near 2^-120, with bias 0) or 2^60 (n near 2^120) among ordinary ones. Every output must stay
// within the bounds, and come out the same whatever the shares, however they cut the pixels and channels that share a
// block with an outlying one.
template <class T>
void outlying_normalisers(const char* type, double tolerance, double gradient_tolerance) {
  std::mt19937 random(5);
  std::uniform_int_distribution<int> eighths(1, 32);
  double worst = 0;
  for (double beta : {0.75, 0.6}) {
    const Case k{{2, 40, 7, 5}, 2, 1, beta, true};
    const lrn::Layout layout = lrn::layout_of(k.dims, 4, true);
    const lrn::Params params{k.before, k.after, 0.0, 1.0, beta};
    const int64_t count = 2 * 40 * 7 * 5, tiles = lrn::num_tiles(layout);
    std::vector<double> x(count), dy(count), y_ref(count), dx_ref(count);
    std::vector<T> xs(count), dys(count), ys(count), dxs(count), split(count);
    for (int64_t o = 0; o < layout.outer; ++o) {
      for (int64_t i = 0; i < layout.inner; ++i) {
        const double scale = i % 11 == 3 ? 0x1p-60 : i % 13 == 5 ? 0x1p60 : 1.0;
        for (int64_t c = 0; c < layout.depth; ++c) {
          x[index(layout, o, c, i)] = (eighths(random) - 16.5) / 8.0 * scale;
          dy[index(layout, o, c, i)] = (eighths(random) - 16.5) / 8.0;
        }
      }
    }
    for (int64_t e = 0; e < count; ++e) xs[e] = encode<T>(x[e]), dys[e] = encode<T>(dy[e]);
    expect(lrn::forward(xs.data(), ys.data(), layout, params, lrn::tiles(layout, 0, tiles)), "forward", type, k);
    std::vector<double> y_given(count);
    for (int64_t e = 0; e < count; ++e) y_given[e] = decode(ys[e]);
    reference(layout, params, x, dy, &y_given, y_ref, dx_ref);
    expect(lrn::backward(dys.data(), xs.data(), ys.data(), dxs.data(), layout, params, lrn::tiles(layout, 0, tiles)),
           "backward", type, k);
    for (int64_t e = 0; e < count; ++e) {
      const double forward_error = std::fabs(decode(ys[e]) - y_ref[e]) / std::fabs(y_ref[e]);
      const double backward_error =
          std::fabs(decode(dxs[e]) - dx_ref[e]) / std::max(std::fabs(dx_ref[e]), std::fabs(dy[e] * y_ref[e] / x[e]));
      worst = std::max({worst, forward_error, backward_error});
      expect(forward_error <= tolerance, "outlying forward value", type, k);
      expect(backward_error <= gradient_tolerance, "outlying backward value", type, k);
    }
    for (int64_t tile_step : {1, 2}) {
      for (int64_t channel_step : {1, 6, 40}) {
        expect(shared_out(layout, params, tile_step, channel_step, [&](const lrn::Share& share) {
          lrn::forward(xs.data(), split.data(), layout, params, share);
        }), "outlying channel shares", type, k);
        expect(std::memcmp(split.data(), ys.data(), sizeof(T) * count) == 0, "outlying split invariance", type, k);
        shared_out(layout, params, tile_step, channel_step, [&](const lrn::Share& share) {
          lrn::backward(dys.data(), xs.data(), ys.data(), split.data(), layout, params, share);
        });
        expect(std::memcmp(split.data(), dxs.data(), sizeof(T) * count) == 0, "outlying backward split invariance",
               type, k);
      }
    }
  }
  std::printf("%-8s normalisers near 2^-120 and 2^120 on the planes: largest error %.2e, any shares bit-identical\n",
              type, worst);
}

// Normalisers near the bias, where the avx2 and avx512 paths compute float32 outputs by the binomial series
// (cc/kernel/binomial-inl.h): each pixel scaled so that its u = alpha * window / bias reaches a random point in
// [0, 2U], with zeros of both signs and values too small for the exact product among them. Every output must stay within
// the bound, come out the same whatever the shares, and the same on NCHW's planes as on NHWC's rows (the same data,
// transposed). Prints how many outputs had u inside and outside the domain, by the double reference.
void binomial_domain(double tolerance) {
  std::mt19937 random(9);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.0, 2.0);
  double worst = 0;
  int64_t inside = 0, outside = 0;
  for (double beta : {0.75, 0.5, 1.0, 0.6, 2.1}) {
    // Planes of 35 pixels, whose blocks end in a part-full vector; of 512, which the binomial pass reads through its
    // ring; and of 4355, which it takes in a block of 4096 and one of 259, each cut into the double path's blocks of
    // 128 for the lanes it leaves (forward-binomial-inl.h).
    for (const auto& [radius, h, w] : {std::array<int64_t, 3>{2, 5, 7}, {5, 16, 32}, {2, 65, 67}}) {
      const double bias = 2.0, alpha = radius == 2 ? 1e-4 : -2e-4;  // a negative alpha too
      const double limit = 0x1p-5 / std::max(1.0, beta);
      const int64_t n = 2, depth = 40;
      const int64_t dims_nhwc[4] = {n, h, w, depth}, dims_nchw[4] = {n, depth, h, w};
      const lrn::Layout rows = lrn::layout_of(dims_nhwc, 4, false), planes = lrn::layout_of(dims_nchw, 4, true);
      const lrn::Params params{radius, radius, bias, alpha, beta};
      const int64_t count = n * h * w * depth;
      std::vector<double> x(count), dy(count, 0.0), y_ref(count), dx_ref(count);
      for (int64_t o = 0; o < planes.outer; ++o) {
        for (int64_t i = 0; i < planes.inner; ++i) {
          std::vector<double> pixel(depth);
          double largest = 0;
          for (double& value : pixel) value = normal(random);
          for (int64_t c = 0; c < depth; ++c) {
            double sum = 0;
            for (int64_t k = std::max<int64_t>(0, c - radius); k <= std::min(depth - 1, c + radius); ++k) {
              sum += pixel[k] * pixel[k];
            }
            largest = std::max(largest, sum);
          }
          const double scale = std::sqrt(uniform(random) * limit * bias / (std::fabs(alpha) * largest));
          for (int64_t c = 0; c < depth; ++c) {
            const int64_t e = index(planes, o, c, i);
            const double value = static_cast<float>(pixel[c] * scale);
            x[e] = e % 17 == 0 ? 0.0 : e % 23 == 5 ? -0.0 : e % 29 == 7 ? static_cast<float>(value * 1e-32) : value;
          }
        }
      }
      std::vector<float> xs(count), ys(count), split(count), xt(count), yt(count);
      for (int64_t e = 0; e < count; ++e) xs[e] = static_cast<float>(x[e]);
      const Case k{{n, depth, h, w}, radius, radius, beta, true};
      expect(lrn::forward(xs.data(), ys.data(), planes, params, lrn::tiles(planes, 0, lrn::num_tiles(planes))),
             "binomial forward", "float32", k);
      reference(planes, params, x, dy, nullptr, y_ref, dx_ref);
      for (int64_t o = 0; o < planes.outer; ++o) {
        for (int64_t i = 0; i < planes.inner; ++i) {
          for (int64_t c = 0; c < depth; ++c) {
            const int64_t e = index(planes, o, c, i);
            const double u = (std::pow(y_ref[e] == 0 ? 1.0 : x[e] / y_ref[e], 1.0 / beta) - bias) / bias;
            inside += x[e] != 0 && std::fabs(u) <= limit * 0.999;
            outside += x[e] != 0 && std::fabs(u) > limit * 1.001;
            const double error = std::fabs(ys[e] - y_ref[e]) / std::max(std::fabs(y_ref[e]), 0x1p-126);
            worst = std::max(worst, error);
            expect(error <= tolerance, "binomial forward value", "float32", k);
            expect(std::signbit(ys[e]) == std::signbit(xs[e]), "binomial sign of y", "float32", k);
            xt[index(rows, o * planes.inner + i, c, 0)] = xs[e];
          }
        }
      }
      for (int64_t tile_step : {1, 2, 3}) {
        for (int64_t channel_step : {1, 7, 40}) {
          shared_out(planes, params, tile_step, channel_step, [&](const lrn::Share& share) {
            lrn::forward(xs.data(), split.data(), planes, params, share);
          });
          expect(std::memcmp(split.data(), ys.data(), sizeof(float) * count) == 0, "binomial split invariance",
                 "float32", k);
        }
      }
      lrn::forward(xt.data(), yt.data(), rows, params, lrn::tiles(rows, 0, lrn::num_tiles(rows)));
      bool same = true;
      for (int64_t e = 0; e < count; ++e) {
        const float a = yt[index(rows, e / depth, e % depth, 0)];
        const float b = ys[index(planes, e / depth / planes.inner, e % depth, e / depth % planes.inner)];
        same = same && std::memcmp(&a, &b, sizeof a) == 0;
      }
      expect(same, "binomial planes and rows", "float32", k);
    }
  }
  expect(inside > 0 && outside > 0, "binomial inside and outside", "float32", Case{});
  std::printf("float32  normalisers near the bias (%lld outputs inside the binomial domain, %lld outside): largest error "
              "%.2e, any shares bit-identical, planes as rows\n",
              static_cast<long long>(inside), static_cast<long long>(outside), worst);
}

// lrn::parse_exact_params reads its decimals with strtod_l (lrn_api.cc) where it once used std::from_chars. Each
// string below is parsed as "s s s" both ways: both must refuse it, or both accept it with the same bits (any NaN
// for a NaN: its payload is never used, and check_params refuses it). On x86 the parse runs again with
// denormals-are-zero and flush-to-zero set, as in TF's threads.
void decimals_read_as_from_chars_reads_them() {
  std::mt19937_64 random(7);
  std::vector<std::string> numbers = {"0", "-0", "0e500", "1e-400", "1e400", "5e-324", "2e-324", "1e-310",
                                      "inf", "-inf", "infinity", "nan", "-nan", "nan(12)", "NaN", "INF", ".5",
                                      "-.5", "1.", "1e", "1e+", "00012", "1.7976931348623157e+308",
                                      "1.7976931348623159e+308", "2.2250738585072014e-308", "", "-", "e5", "."};
  const char* formats[] = {"%.17g", "%g", "%.3e", "%.0f", "%a", "%.25g"};
  const char* prefixes[] = {"", "", "", "-", " ", "+", "0x", "\t", "--", "-+"};
  const char* suffixes[] = {"", "", "", "x", ",5", "e", "e+", "e-9999", "e9999", "f", "."};
  for (int i = 0; i < 6000; ++i) {
    const uint64_t bits = random();
    double value;
    std::memcpy(&value, &bits, 8);
    if (i % 3 == 0) value = std::ldexp(static_cast<double>(bits >> 11), static_cast<int>(random() % 2200) - 1130);
    char text[128];
    std::snprintf(text, sizeof text, formats[random() % 6], value);
    numbers.push_back(prefixes[random() % 10] + std::string(text) + suffixes[random() % 11]);
  }
  struct Expected {
    bool valid;
    double value;
  };
  std::vector<Expected> expected;
  for (const std::string& number : numbers) {
    double value = 0.0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
    expected.push_back({error == std::errc() && end == number.data() + number.size(), value});
  }
  auto check = [&](const char* mode) {
    for (size_t i = 0; i < numbers.size(); ++i) {
      const float rounded = static_cast<float>(expected[i].value);
      lrn::Params params{2, 2, 0.0, 0.0, 0.0};
      const std::string& number = numbers[i];
      const std::string problem =
          lrn::parse_exact_params(number + " " + number + " " + number, rounded, rounded, rounded, &params);
      const bool same_bits = std::memcmp(&params.beta, &expected[i].value, 8) == 0 ||
                             (std::isnan(params.beta) && std::isnan(expected[i].value));
      if (problem.empty() != expected[i].valid || (expected[i].valid && !same_bits)) {
        ++failures;
        std::printf("FAIL decimal '%s' (%s): from_chars %s, parse_exact_params '%s'\n", number.c_str(), mode,
                    expected[i].valid ? "accepts" : "refuses", problem.c_str());
      }
    }
  };
  check("default floating-point mode");
#if defined(__x86_64__)
  const unsigned int mxcsr = _mm_getcsr();
  _mm_setcsr(mxcsr | 0x8040);  // denormals-are-zero, flush-to-zero
  check("denormals-are-zero");
  _mm_setcsr(mxcsr);
#endif
  std::printf("decimals: %zu strings read as std::from_chars reads them\n", numbers.size());
}

// The entry (lrn::compute): empty tensors of every kind return at once with nothing read or written, bad operands
// get a status that names them, and the result is the same bits whatever the thread count, from one caller or from
// several at once.
lrn::Operand operand(const char* name, std::vector<int64_t> dims, const void* data,
                     lrn::DType dtype = lrn::DType::kF32) {
  lrn::Operand result;
  result.name = name;
  result.dtype = dtype;
  result.dims = std::move(dims);
  result.data = data;
  return result;
}

void expect_status(const lrn::Request& request, lrn::Code code, const std::string& text, const char* what) {
  const lrn::Status status = lrn::compute(request);
  if (status.code != code || status.message.find(text) == std::string::npos) {
    ++failures;
    std::printf("FAIL entry: %s gave code %d '%s'\n", what, static_cast<int>(status.code), status.message.c_str());
  }
}

void entry_checks_and_threads() {
  const lrn::Params params{2, 2, 1.0, 1e-2, 0.75};
  int empty_cases = 0;
  for (int zero_axis = 0; zero_axis < 4; ++zero_axis) {
    for (int64_t size : {int64_t{3}, int64_t{4096}}) {  // small, and large enough to split over threads
      for (bool channels_first : {false, true}) {
        for (lrn::Direction direction : {lrn::Direction::kForward, lrn::Direction::kBackward}) {
          std::vector<int64_t> dims = {size, 5, size, 7};
          dims[zero_axis] = 0;
          lrn::Request request{direction, params, channels_first};
          // No memory at all: nothing may be read or written for an empty tensor.
          request.x = operand("x", dims, nullptr);
          request.dy = operand("dy", dims, nullptr);
          request.y = operand("y", dims, nullptr);
          request.out = operand("out", dims, nullptr);
          expect_status(request, lrn::Code::kOk, "", "an empty tensor");
          ++empty_cases;
        }
      }
    }
  }
  std::vector<float> data(2 * 3 * 4 * 5, 1.0f), out(data.size());
  const std::vector<int64_t> dims = {2, 3, 4, 5};
  lrn::Request request{lrn::Direction::kBackward, params, false};
  request.x = operand("x", dims, data.data());
  request.dy = operand("dy", dims, data.data());
  request.y = operand("y", dims, data.data());
  request.out = operand("out", dims, out.data());
  expect_status(request, lrn::Code::kOk, "", "a valid request");
  lrn::Request bad = request;
  bad.params.before = -1;
  expect_status(bad, lrn::Code::kInvalidArgument, "the window's extent before must be non-negative, got -1",
                "a negative extent");
  bad = request;
  bad.y.dims = {2, 3};
  expect_status(bad, lrn::Code::kInvalidArgument,
                "y must be at least 3-dimensional (N, C, ...) or (N, ..., C), got shape (2, 3)", "rank 2");
  bad = request;
  bad.rank = 4;
  bad.y.dims = {2, 3, 4};
  expect_status(bad, lrn::Code::kInvalidArgument, "y must be 4-dimensional, got shape (2, 3, 4)", "rank 3 for TF");
  bad = request;
  bad.dy.dims = {2, 3, 4, 6};
  expect_status(bad, lrn::Code::kInvalidArgument, "dy must have the shape of x, (2, 3, 4, 5), got (2, 3, 4, 6)",
                "a shape mismatch");
  bad = request;
  bad.dy.dtype = lrn::DType::kF64;
  expect_status(bad, lrn::Code::kWrongType, "dy must have the dtype of x, float32, got float64", "a dtype mismatch");
  bad = request;
  bad.x.dtype = lrn::DType::kUnsupported;
  bad.x.type_name = "int32";
  expect_status(bad, lrn::Code::kWrongType, "x must be float16, bfloat16, float32 or float64, got int32",
                "an integer tensor");
  bad = request;
  bad.out.data = nullptr;
  expect_status(bad, lrn::Code::kInternal, "no memory for out", "a missing buffer");

  // Any rank of 3 or more: (N, C, D, H, W) is (N, C, D * H, W), and (N, L, C) is (N * L, 1, 1, C), to the bit.
  {
    std::vector<float> values(2 * 5 * 3 * 4 * 6), merged(values.size()), ranked(values.size());
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 17) / 4.0f - 2.0f;
    for (bool channels_first : {true, false}) {
      const std::vector<int64_t> five = {2, 5, 3, 4, 6}, three = {2, 60, 6};
      const std::vector<int64_t> four = channels_first ? std::vector<int64_t>{2, 5, 12, 6}
                                                       : std::vector<int64_t>{120, 1, 1, 6};
      lrn::Request call{lrn::Direction::kForward, lrn::Params{1, 2, 1.0, 0.1, 0.75}, channels_first};
      call.x = operand("x", four, values.data());
      call.out = operand("out", four, merged.data());
      expect(lrn::compute(call).ok(), "rank 4", "float32", Case{});
      call.x.dims = call.out.dims = channels_first ? five : three;
      call.out.data = ranked.data();
      expect(lrn::compute(call).ok() && ranked == merged, channels_first ? "rank 5" : "rank 3", "float32", Case{});
    }
  }

  // The same bits for any thread count, and from eight callers at once (they share the pool's workers).
  std::mt19937 random(11);
  std::uniform_real_distribution<float> uniform(-4.0f, 4.0f);
  const std::vector<int64_t> big = {8, 27, 27, 96};
  std::vector<float> x(8 * 27 * 27 * 96);
  for (float& v : x) v = uniform(random);
  auto run_with = [&](int threads, std::vector<float>* y) {
    y->assign(x.size(), 0.0f);
    lrn::Request forward{lrn::Direction::kForward, params, false};
    forward.x = operand("x", big, x.data());
    forward.out = operand("out", big, y->data());
    forward.threads.max_threads = threads;
    return lrn::compute(forward).ok();
  };
  std::vector<float> one, many;
  expect(run_with(1, &one), "one thread", "float32", Case{});
  for (int threads : {2, 3, 8}) {
    expect(run_with(threads, &many) && many == one, "thread count invariance", "float32", Case{});
  }
  std::vector<std::vector<float>> results(8);
  std::vector<std::thread> callers;
  std::vector<char> ok(8, 0);
  for (int k = 0; k < 8; ++k) callers.emplace_back([&, k] { ok[k] = run_with(0, &results[k]); });
  for (auto& caller : callers) caller.join();
  for (int k = 0; k < 8; ++k) expect(ok[k] && results[k] == one, "concurrent callers", "float32", Case{});
  std::printf("entry: %d empty cases, 7 refusals, thread counts 1 to 8 and 8 concurrent callers bit-identical\n",
              empty_cases);
}

// compute()'s sharing for 1 to 8 threads (more than this machine may have), chunked as the pool chunks it: an NCHW
// image takes channel groups of 32 or more (three of 96 channels at most), an NHWC one and a batch with an image per
// thread take tiles alone, and any of them gives one thread's bits.
void sharing_among_threads() {
  const lrn::Params params{2, 2, 1.0, 0.3, 0.75};
  std::mt19937 random(3);
  std::uniform_real_distribution<float> uniform(-4.0f, 4.0f);
  struct Shape {
    int64_t dims[4];
    bool channels_first;
    int64_t most_groups;
  };
  for (const Shape& shape : {Shape{{1, 96, 27, 27}, true, 3}, Shape{{1, 27, 27, 96}, false, 1},
                             Shape{{8, 96, 9, 9}, true, 1}, Shape{{1, 40, 30, 30}, true, 1}}) {
    const lrn::Layout layout = lrn::layout_of(shape.dims, 4, shape.channels_first);
    std::vector<float> x(layout.outer * layout.depth * layout.inner), one(x.size()), shared(x.size());
    for (float& v : x) v = uniform(random);
    lrn::forward(x.data(), one.data(), layout, params, lrn::tiles(layout, 0, lrn::num_tiles(layout)));
    for (int64_t threads = 1; threads <= 8; ++threads) {
      const lrn::Sharing sharing = lrn::sharing(layout, params, threads);
      const int64_t groups = std::min(threads, shape.most_groups);
      expect(sharing.groups == groups && sharing.units() == sharing.tiles * groups, "groups", "float32", Case{});
      std::vector<int> covered(static_cast<size_t>(sharing.tiles * layout.depth), 0);
      shared.assign(x.size(), NAN);
      for (int64_t k = 0; k < threads; ++k) {
        sharing.for_each(sharing.units() * k / threads, sharing.units() * (k + 1) / threads, [&](const lrn::Share& s) {
          for (int64_t t = s.tile_begin; t < s.tile_end; ++t) {
            for (int64_t c = s.channel_begin; c < s.channel_end; ++c) ++covered[t * layout.depth + c];
          }
          lrn::forward(x.data(), shared.data(), layout, params, s);
        });
      }
      expect(std::all_of(covered.begin(), covered.end(), [](int n) { return n == 1; }), "shares cover once", "float32",
             Case{});
      expect(std::memcmp(shared.data(), one.data(), sizeof(float) * x.size()) == 0, "shared bits", "float32", Case{});
    }
  }
  std::printf("sharing: 1 to 8 threads, channel groups on an NCHW image, every share once, one thread's bits\n");
}

// Runs check() in a child process, whose pool is new (thread_pool.cc: a fork starts a pool of its own); the child's
// failures count as this process's.
template <class Check>
void in_fresh_process(const char* what, Check check) {
  std::fflush(stdout);
  const pid_t child = fork();
  if (child == 0) {
    check();
    std::fflush(stdout);
    _exit(failures ? 1 : 0);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ++failures;
    std::printf("FAIL pool: %s (child status %d)\n", what, status);
  }
}

// The pool: the first call after it grows uses every worker, a call made from inside a chunk runs, and every chunk
// runs under the caller's floating-point mode, whichever mode the workers were started under.
void pool_behaviour() {
  const int cpus = lrn::allowed_cpus();
  if (cpus < 2) {
    std::printf("pool: skipped, this process may run on one CPU only\n");
    return;
  }
  in_fresh_process("the first call uses every worker", [cpus] {
    std::mutex mutex;
    std::set<std::thread::id> ran_on;
    lrn::parallel_for(cpus, cpus, [&](int64_t, int64_t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // long enough that no thread takes two chunks
      std::lock_guard<std::mutex> lock(mutex);
      ran_on.insert(std::this_thread::get_id());
    });
    if (static_cast<int>(ran_on.size()) != cpus) {
      ++failures;
      std::printf("FAIL pool: the first call ran on %zu threads of %d\n", ran_on.size(), cpus);
    }
  });
  in_fresh_process("a call from inside a chunk", [cpus] {
    std::atomic<int64_t> total{0};
    lrn::parallel_for(4 * cpus, cpus, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        lrn::parallel_for(1000, cpus, [&](int64_t b, int64_t e) { total += e - b; });
      }
    });
    if (total != 4000 * cpus) {
      ++failures;
      std::printf("FAIL pool: nested calls covered %lld of %d\n", static_cast<long long>(total.load()), 4000 * cpus);
    }
  });
#if defined(__x86_64__) || defined(__aarch64__)
  // x = 1e-30 is a normal float32; y = x / sqrt(1e20) = 1e-40 is subnormal, so flush-to-zero decides it. Computed
  // in double, the result is rounded to float32 once: to 1e-40's nearest subnormal, or to zero when flushing.
#if defined(__x86_64__)
  const lrn::FpControl flushing = lrn::fp_control() | 0x8040;  // MXCSR's FTZ and DAZ
#else
  const lrn::FpControl flushing = lrn::fp_control() | (1u << 24);  // FPCR's FZ
#endif
  const lrn::FpControl modes[2] = {lrn::fp_control(), flushing};
  const std::vector<int64_t> dims = {64, 64, 64, 16};
  const std::vector<float> x(64 * 64 * 64 * 16, 1e-30f);
  auto run_under = [&](lrn::FpControl mode, int threads) {
    std::vector<float> y(x.size(), -1.0f);
    lrn::Request request{lrn::Direction::kForward, lrn::Params{2, 2, 1e20, 0.0, 0.5}, false};
    request.x = operand("x", dims, x.data());
    request.out = operand("out", dims, y.data());
    request.threads.max_threads = threads;
    lrn::FpControlScope scope(mode);
    if (!lrn::compute(request).ok()) y.clear();
    return y;
  };
  for (int started_under = 0; started_under < 2; ++started_under) {
    in_fresh_process("the caller's floating-point mode", [&] {
      run_under(modes[started_under], cpus);  // starts the workers under this mode
      for (int caller = 0; caller < 2; ++caller) {
        const std::vector<float> single = run_under(modes[caller], 1);
        const float expected = caller ? 0.0f : static_cast<float>(1e-40);
        const bool right = !single.empty() && std::all_of(single.begin(), single.end(), [&](float v) {
          return std::memcmp(&v, &expected, sizeof v) == 0;
        });
        bool same = right;
        for (int threads : {2, cpus}) same = same && run_under(modes[caller], threads) == single;
        if (!same) {
          ++failures;
          std::printf("FAIL pool: caller mode %s, workers started under %s: not %g on every thread count\n",
                      caller ? "flush" : "default", started_under ? "flush" : "default", expected);
        }
      }
    });
  }
  std::printf("pool: every worker on the first call, nested calls, the caller's floating-point mode on %d threads\n",
              cpus);
#endif
}

}  // namespace

// usage: kernel_test FORWARD GRADIENT   each a comma-separated float16,bfloat16,float32,float64 list of bounds
// (tests/bounds.py, through tests/test_sanitizers.py).
int main(int argc, char** argv) {
  double forward[4], gradient[4];
  if (argc != 3 || std::sscanf(argv[1], "%lf,%lf,%lf,%lf", &forward[0], &forward[1], &forward[2], &forward[3]) != 4 ||
      std::sscanf(argv[2], "%lf,%lf,%lf,%lf", &gradient[0], &gradient[1], &gradient[2], &gradient[3]) != 4) {
    std::printf("usage: %s FORWARD GRADIENT (bounds for float16,bfloat16,float32,float64)\n", argv[0]);
    return 2;
  }
  pool_behaviour();  // first, while this process has one thread: its children start their pools by fork()
  decimals_read_as_from_chars_reads_them();
  entry_checks_and_threads();
  sharing_among_threads();
  run<lrn::f16>("float16", forward[0], gradient[0]);
  run<lrn::bf16>("bfloat16", forward[1], gradient[1]);
  run<float>("float32", forward[2], gradient[2]);
  run<double>("float64", forward[3], gradient[3]);
  outlying_normalisers<float>("float32", forward[2], gradient[2]);
  outlying_normalisers<double>("float64", forward[3], gradient[3]);
  binomial_domain(forward[2]);
  if (failures) std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}

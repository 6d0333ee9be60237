// The single-thread harness that cc/kernel/PERFORMANCE.md and the README cite: the kernels alone (lrn_api.h's
// forward and backward over every tile, on the calling thread), no framework, no pool. Prints nanoseconds per
// element, the best of RUNS timed runs of REPEATS calls each, for the SIMD path in use (LRN_OP_SIMD forces one).
//
//   cmake -S . -B build/kernel -DLRN_KERNEL_TEST_ONLY=ON && cmake --build build/kernel
//   LRN_OP_SIMD=avx2 build/kernel/single_thread [D0 D1 D2 D3 [radius [beta [nchw|nhwc [alpha [bias]]]]]]
//
// The four dimensions are the tensor's, in its layout's order: N H W C for NHWC, N C H W for nchw.
// The default is AlexNet LRN1's shape at 8 images (8x55x55x96), radius 2, beta 0.75, NHWC, float32, alpha 1e-4 and
// bias 2 (AlexNet's). With alpha 1 and bias 1 (TF's defaults) most windows leave the binomial domain (avx2, avx512).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "lrn_api.h"

namespace {

constexpr int kRuns = 5;
constexpr int kRepeats = 15;

template <class Body>
double best_ns_per_element(int64_t count, Body body) {
  double best = 1e300;
  for (int run = 0; run < kRuns; ++run) {
    const auto start = std::chrono::steady_clock::now();
    for (int repeat = 0; repeat < kRepeats; ++repeat) body();
    const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count() / kRepeats / static_cast<double>(count));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t dims[4] = {8, 55, 55, 96};
  for (int i = 0; i < 4 && i + 1 < argc; ++i) dims[i] = std::atoll(argv[i + 1]);
  const int64_t radius = argc > 5 ? std::atoll(argv[5]) : 2;
  const double beta = argc > 6 ? std::atof(argv[6]) : 0.75;
  const bool channels_first = argc > 7 && std::strcmp(argv[7], "nchw") == 0;
  const lrn::Layout layout = lrn::layout_of(dims, 4, channels_first);
  const double alpha = argc > 8 ? std::atof(argv[8]) : 1e-4;
  const double bias = argc > 9 ? std::atof(argv[9]) : 2.0;
  const lrn::Params params{radius, radius, bias, alpha, beta};
  const int64_t count = dims[0] * dims[1] * dims[2] * dims[3];
  const lrn::Share all = lrn::tiles(layout, 0, lrn::num_tiles(layout));

  std::mt19937 random(0);
  std::normal_distribution<float> normal;
  std::vector<float> x(count), dy(count), y(count), dx(count);
  for (int64_t i = 0; i < count; ++i) x[i] = normal(random), dy[i] = normal(random);
  bool ok = true;
  const double forward =
      best_ns_per_element(count, [&] { ok &= lrn::forward(x.data(), y.data(), layout, params, all); });
  const double backward = best_ns_per_element(
      count, [&] { ok &= lrn::backward(dy.data(), x.data(), y.data(), dx.data(), layout, params, all); });
  if (!ok) {
    std::printf("no memory for the kernels' scratch\n");
    return 1;
  }
  std::printf("%s: %lldx%lldx%lldx%lld %s, radius %lld, beta %g, alpha %g, bias %g, float32, one thread, best of %d "
              "runs of %d: forward %.2f ns per element, backward %.2f\n",
              lrn::simd_path(), (long long)dims[0], (long long)dims[1], (long long)dims[2], (long long)dims[3],
              channels_first ? "NCHW" : "NHWC", (long long)radius, beta, alpha, bias, kRuns, kRepeats, forward,
              backward);
  return 0;
}

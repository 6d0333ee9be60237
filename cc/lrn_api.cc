// The one entry (compute), the runtime SIMD dispatch and the thread pool's use: the whole of _lrn_core.so's exports.
#include "lrn_api.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <system_error>

#include "lrn_simd.h"
#include "thread_pool.h"

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

// A channel group of the plane path holds at least this many channels: each group reads the squares of before + after
// channels beyond its own (and the backward as many terms again), an eighth more for AlexNet's window of 5 and 32
// channels.
constexpr int64_t kMinChannelsPerGroup = 32;

}  // namespace

Layout layout_of(const int64_t* dims, int64_t rank, bool channels_first) {
  const int64_t channel = channels_first ? 1 : rank - 1;
  Layout layout{1, dims[channel], 1};
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (axis < channel) layout.outer *= dims[axis];
    if (axis > channel) layout.inner *= dims[axis];
  }
  return layout;
}

int64_t num_tiles(const Layout& layout) { return (layout.outer * layout.inner + kTileLanes - 1) / kTileLanes; }

bool splits_channels(const Layout& layout, const Params& params) {
  return active().kernels->splits_channels(layout, params);
}

// Threads take tiles of pixels. On the plane path with fewer images than threads they take groups of channels too, so
// that a thread reads whole planes rather than part of every plane beside another thread. With this round's plane
// blocks, on two threads, AlexNet's LRN2 at batch 1 went from 0.097-0.101 ms to 0.085-0.089 forward and GoogLeNet's
// backward from 0.511-0.531 to 0.446-0.467 (numpy, out=, three runs each, alternating).
Sharing sharing(const Layout& layout, const Params& params, int64_t threads) {
  const bool cut = threads > layout.outer && splits_channels(layout, params);
  return Sharing{num_tiles(layout), layout.depth,
                 cut ? std::clamp<int64_t>(layout.depth / kMinChannelsPerGroup, 1, threads) : 1};
}

template <class T>
bool forward(const T* x, T* y, const Layout& layout, const Params& params, const Share& share) {
  return active().kernels->of(x).forward(x, y, layout, params, share);
}

template <class T>
bool backward(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& params,
              const Share& share) {
  return active().kernels->of(x).backward(dy, x, y, dx, layout, params, share);
}

namespace {

// A thread gets at least this many tiles (of kTileLanes pixels each): below it, waking a worker costs more than it
// saves.
constexpr int64_t kMinTilesPerThread = 16;

Status failure(Code code, std::string message) { return Status{code, std::move(message)}; }

bool is_empty(const std::vector<int64_t>& dims) { return std::find(dims.begin(), dims.end(), 0) != dims.end(); }

// A shape as Python writes a tuple: "(2, 3)", "(4,)", "()".
std::string shape_text(const std::vector<int64_t>& dims) {
  std::string text = "(";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + (dims.size() == 1 ? ",)" : ")");
}

std::string type_text(const Operand& operand) {
  return operand.dtype == DType::kUnsupported ? operand.type_name : dtype_name(operand.dtype);
}

// The operands of the request, x first: the one the others must agree with.
std::vector<const Operand*> operands_of(const Request& request) {
  if (request.direction == Direction::kForward) return {&request.x, &request.out};
  return {&request.x, &request.dy, &request.y, &request.out};
}

// The rank a request accepts, as a message says it.
std::string rank_text(int64_t rank) {
  return rank > 0 ? std::to_string(rank) + "-dimensional" : "at least 3-dimensional (N, C, ...) or (N, ..., C)";
}

// Each operand of a supported dtype and the request's rank, all of x's dtype and shape, and something to read and
// write.
Status check(const Request& request) {
  const std::string problem = check_params(request.params);
  if (!problem.empty()) return failure(Code::kInvalidArgument, problem);
  const std::vector<const Operand*> operands = operands_of(request);
  for (const Operand* operand : operands) {
    if (operand->dtype == DType::kUnsupported) {
      return failure(Code::kWrongType, std::string(operand->name) +
                                           " must be float16, bfloat16, float32 or float64, got " + type_text(*operand));
    }
    const int64_t rank = static_cast<int64_t>(operand->dims.size());
    if (request.rank > 0 ? rank != request.rank : rank < 3) {
      return failure(Code::kInvalidArgument, std::string(operand->name) + " must be " + rank_text(request.rank) +
                                                 ", got shape " + shape_text(operand->dims));
    }
  }
  const Operand& x = request.x;
  for (const Operand* operand : operands) {
    if (operand->dtype != x.dtype) {
      return failure(Code::kWrongType, std::string(operand->name) + " must have the dtype of " + x.name + ", " +
                                           dtype_name(x.dtype) + ", got " + dtype_name(operand->dtype));
    }
    if (operand->dims != x.dims) {
      return failure(Code::kInvalidArgument, std::string(operand->name) + " must have the shape of " + x.name +
                                                 ", " + shape_text(x.dims) + ", got " + shape_text(operand->dims));
    }
  }
  for (const Operand* operand : operands) {
    if (!is_empty(x.dims) && operand->data == nullptr) {
      return failure(Code::kInternal, std::string("lrn_op was handed no memory for ") + operand->name);
    }
  }
  return Status{};
}

// Runs body over the shares of sharing() on the threads the request allows; false if any call of body did (no scratch
// memory).
template <class Body>
bool run_shares(const Request& request, const Layout& layout, Body body) {
  // Never more threads than the CPUs the process may run on, whatever the host's setting says.
  const int64_t limit = std::min<int64_t>(request.threads.max_threads > 0 ? request.threads.max_threads : INT_MAX,
                                         allowed_cpus());
  const int64_t threads = std::clamp<int64_t>(num_tiles(layout) / kMinTilesPerThread, 1, limit);
  const Sharing shares = sharing(layout, request.params, threads);
  std::atomic<bool> ok{true};
  parallel_for(shares.units(), static_cast<int>(threads), [&](int64_t begin, int64_t end) {
    shares.for_each(begin, end, [&](const Share& share) {
      if (!body(share)) ok = false;
    });
  });
  return ok;
}

template <class T>
Status compute_typed(const Request& request, const Layout& layout) {
  const T* x = static_cast<const T*>(request.x.data);
  T* out = static_cast<T*>(const_cast<void*>(request.out.data));  // the one operand written
  bool ok;
  if (request.direction == Direction::kForward) {
    ok = run_shares(request, layout,
                    [&](const Share& share) { return forward(x, out, layout, request.params, share); });
  } else {
    const T* dy = static_cast<const T*>(request.dy.data);
    const T* y = static_cast<const T*>(request.y.data);
    ok = run_shares(request, layout,
                    [&](const Share& share) { return backward(dy, x, y, out, layout, request.params, share); });
  }
  if (ok) return Status{};
  return failure(Code::kOutOfMemory, "out of memory for the LRN scratch of depth " + std::to_string(layout.depth));
}

}  // namespace

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF16: return "float16";
    case DType::kBF16: return "bfloat16";
    case DType::kF32: return "float32";
    case DType::kF64: return "float64";
    default: return "unsupported";
  }
}

namespace {

Status compute_guarded(const Request& request) {
  try {
    Status status = check(request);
    if (!status.ok() || is_empty(request.x.dims)) return status;
    const Layout layout =
        layout_of(request.x.dims.data(), static_cast<int64_t>(request.x.dims.size()), request.channels_first);
    switch (request.x.dtype) {
      case DType::kF16: return compute_typed<f16>(request, layout);
      case DType::kBF16: return compute_typed<bf16>(request, layout);
      case DType::kF32: return compute_typed<float>(request, layout);
      case DType::kF64: return compute_typed<double>(request, layout);
      default: return failure(Code::kInternal, "lrn_op: unreachable dtype");
    }
  } catch (const std::bad_alloc& error) {
    return failure(Code::kOutOfMemory, std::string("lrn_op ran out of memory: ") + error.what());
  } catch (const std::system_error& error) {
    return failure(Code::kInternal, std::string("lrn_op: a system call failed: ") + error.what());
  } catch (const std::exception& error) {
    return failure(Code::kInternal, std::string("lrn_op: ") + error.what());
  } catch (...) {
    return failure(Code::kInternal, "lrn_op: an unknown C++ exception");
  }
}

}  // namespace

#define LRN_INSTANTIATE(T)                                                                                       \
  template bool forward<T>(const T*, T*, const Layout&, const Params&, const Share&);                           \
  template bool backward<T>(const T*, const T*, const T*, T*, const Layout&, const Params&, const Share&);
LRN_INSTANTIATE(f16)
LRN_INSTANTIATE(bf16)
LRN_INSTANTIATE(float)
LRN_INSTANTIATE(double)
#undef LRN_INSTANTIATE

}  // namespace lrn

extern "C" void LrnOpCoreCompute(const lrn::Request* request, lrn::Status* status) noexcept {
  *status = lrn::compute_guarded(*request);  // a Status move, which cannot throw
}

extern "C" const char* LrnOpCoreSimdPath() noexcept { return lrn::active().name; }

extern "C" int LrnOpCoreAllowedCpus() noexcept { return lrn::allowed_cpus(); }

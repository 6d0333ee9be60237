// The boundary between the front ends and the math: plain types, pointers and counts. Every front end (the TF
// kernels for lrn_op's ops and for TF's own LRN, the numpy/torch module, the XLA custom calls) calls compute() below
// and nothing else: it checks the operands, returns at once for empty tensors, dispatches the dtype and the SIMD
// path, runs the tiles on a thread pool and turns every C++ exception into a Status. The math lives in kernel/.
//
// The kernels, the entry and the pool live in one shared library, _lrn_core.so, which every front end's library
// loads (through its $ORIGIN run path), so that a process holds one pool whichever front ends it uses. It exports
// three functions with C names (LrnOpCore*, at the end of this file) and nothing else: every library is compiled with
// hidden visibility, so no lrn:: symbol of one library can bind to another's copy. The libraries of one wheel are
// built together by one compiler, which is what lets the C++ types below cross between them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lrn {

// output = input / (bias + alpha * sqr_sum) ** beta, where sqr_sum adds the squares over the channels
// [c - before, c + after] clipped to the tensor. alpha is taken as it is, never divided by the window's size: each
// convention's front end scales it (lrn_op/convert.py). The conventions' windows:
//   TF, radius r:                  before = after = r
//   PyTorch, size n:               before = n / 2,       after = (n - 1) / 2     (zero padding before an average pool)
//   ONNX, Caffe, oneDNN, size n:   before = (n - 1) / 2, after = n / 2          (rounded down; ONNX's ceil((n-1)/2))
struct Params {
  int64_t before;
  int64_t after;
  double bias;
  double alpha;
  double beta;
};

// A tensor of any rank >= 3, channels after the batch axis (N, C, ...) or last (N, ..., C), is viewed as
// [outer, depth, inner]: element (o, c, i) sits at (o * depth + c) * inner + i.
//   channels last:  outer = N * (the axes between), inner = 1.   channels first: outer = N, inner = (the axes after C).
// A "lane" is one (o, i) pair: one pixel, whose `depth` channels are normalised together.
struct Layout {
  int64_t outer;
  int64_t depth;
  int64_t inner;
};

// The layout of a tensor of `rank` >= 2 dimensions, channels last, or after the first if channels_first.
Layout layout_of(const int64_t* dims, int64_t rank, bool channels_first);

// Half-precision storage types, bit-compatible with Eigen::half / numpy.float16 and Eigen::bfloat16.
struct f16 {
  uint16_t bits;
};
struct bf16 {
  uint16_t bits;
};

// Lanes are processed in tiles of kTileLanes; tiles are independent of each other, so any split of [0, num_tiles)
// among threads gives bit-identical results.
constexpr int64_t kTileLanes = 16;
int64_t num_tiles(const Layout& layout);

// A share of one call's work: of the lanes of tiles [tile_begin, tile_end), the outputs of channels
// [channel_begin, channel_end). Every output depends on its own window alone, so any shares that cover the tensor once
// give bit-identical results. A share holds every channel (0, depth) unless splits_channels() allows fewer.
struct Share {
  int64_t tile_begin;
  int64_t tile_end;
  int64_t channel_begin;
  int64_t channel_end;
};

// Whether a call's shares may cut its channels: on the plane path (NCHW with a small window), where each share reads
// the planes its windows reach; the other paths take whole tiles.
bool splits_channels(const Layout& layout, const Params& params);

// How compute() shares out one call among `threads` threads (lrn_api.cc, sharing()): each takes a run of consecutive
// units, unit u being tile u % tiles of channel group u / tiles.
struct Sharing {
  int64_t tiles;
  int64_t depth;
  int64_t groups;  // 1 unless splits_channels()
  int64_t units() const { return tiles * groups; }
  // Calls fn(share) for the units [begin, end): one share per channel group they reach.
  template <class Fn>
  void for_each(int64_t begin, int64_t end, Fn fn) const {
    for (int64_t group = begin / tiles; group * tiles < end; ++group) {
      const int64_t first = group * tiles;
      fn(Share{begin > first ? begin - first : 0, end < first + tiles ? end - first : tiles, depth * group / groups,
               depth * (group + 1) / groups});
    }
  }
};
Sharing sharing(const Layout& layout, const Params& params, int64_t threads);

// Empty string if the parameters are usable; otherwise a message that names the offending argument.
std::string check_params(const Params& params);

// Reads "bias alpha beta", three decimals separated by single spaces (Python's repr of each double), into params.
// Each must round to the float32 attribute that the op also carries, so that a graph cannot say two things.
// Returns an empty string, or a message that names the argument at fault.
std::string parse_exact_params(const std::string& text, float bias, float alpha, float beta, Params* params);

// The kernels themselves, for compute() and the kernel test: no checks, no threads.
// y = LRN(x) for one share. Returns false only if scratch memory could not be allocated.
template <class T>
bool forward(const T* x, T* y, const Layout& layout, const Params& params, const Share& share);

// dx = d LRN(x) / dx applied to dy, given y = LRN(x) (the inputs of tf.raw_ops.LRNGrad: dy, x, y).
template <class T>
bool backward(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& params,
              const Share& share);

// Every channel of the tiles [tile_begin, tile_end).
inline Share tiles(const Layout& layout, int64_t tile_begin, int64_t tile_end) {
  return Share{tile_begin, tile_end, 0, layout.depth};
}

// ---- The one entry -------------------------------------------------------------------------------------------

// The storage types; kUnsupported stands for any other type a front end was handed (its name goes in
// Operand::type_name, for the message).
enum class DType { kF16, kBF16, kF32, kF64, kUnsupported };

// What went wrong, in the terms each front end raises: Python's ValueError, TypeError, MemoryError, RuntimeError;
// TF's InvalidArgument (for the first two), ResourceExhausted and Internal.
enum class Code { kOk, kInvalidArgument, kWrongType, kOutOfMemory, kInternal };

struct Status {
  Code code = Code::kOk;
  std::string message;
  bool ok() const { return code == Code::kOk; }
};

// One tensor as its front end holds it: dense, row-major, named as the front end's user knows it ("x",
// "input_image").
struct Operand {
  const char* name = "";
  DType dtype = DType::kUnsupported;
  std::string type_name;  // the front end's name of an unsupported type
  std::vector<int64_t> dims;
  const void* data = nullptr;
};

// How many threads of lrn_op's persistent pool (thread_pool.h) one call may use, the caller's included: at most
// max_threads, 0 meaning every CPU the process may run on. Each front end passes its host's setting.
struct Threads {
  int max_threads = 0;
};

enum class Direction { kForward, kBackward };

// forward:  out = LRN(x)                     (dy and y unused)
// backward: out = d LRN(x) / dx applied to dy, given y = LRN(x)
// Every operand must have `rank` dimensions (any rank >= 3 where rank is 0), channels last or (channels_first) after
// the first, of one shape and one supported dtype; out is written (its data is the one pointer compute() writes
// through).
struct Request {
  Direction direction = Direction::kForward;
  Params params{};
  bool channels_first = false;
  Operand x, dy, y, out;
  Threads threads;
  int64_t rank = 0;
};

// The name of a storage type as numpy and TF spell it: "float16", "bfloat16", "float32", "float64".
const char* dtype_name(DType dtype);

}  // namespace lrn

#define LRN_CORE_EXPORT extern "C" __attribute__((visibility("default")))

// Checks the request, returns at once for an empty tensor, and runs it into *status. Never throws.
LRN_CORE_EXPORT void LrnOpCoreCompute(const lrn::Request* request, lrn::Status* status) noexcept;
// The SIMD path in use: "avx512", "avx2" or "baseline" (SSE2) on x86-64, "neon" on aarch64, "baseline" elsewhere.
// It is the best one the CPU supports, unless the environment variable LRN_OP_SIMD names another the CPU has (so
// that tests can run every path on one machine).
LRN_CORE_EXPORT const char* LrnOpCoreSimdPath() noexcept;
// The CPUs this process may run on (thread_pool.h): the most threads one call uses.
LRN_CORE_EXPORT int LrnOpCoreAllowedCpus() noexcept;

namespace lrn {

inline Status compute(const Request& request) {
  Status status;
  LrnOpCoreCompute(&request, &status);
  return status;
}

inline const char* simd_path() { return LrnOpCoreSimdPath(); }

}  // namespace lrn

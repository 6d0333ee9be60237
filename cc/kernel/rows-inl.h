// The row path's traversal: NHWC with a small radius. Vectors run along the channels of a pixel; rows are taken in
// runs, with their scratch and the per-lane masks that keep a window inside its own row.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "kernel/storage-inl.h"
#include "kernel/window-inl.h"

namespace lrn {
namespace LRN_ISA {

// ---------------------------------------------------------------------------------------------------------------
// Rows: NHWC with a window of at most 2 kDirectRadius + 1 channels. The lanes run along the channels of the pixels,
// and each window is added up directly from a zero-padded copy of its terms: one add per channel of the window per
// vector, where a tile pays for two transposes and the prefix / suffix passes. These sums never subtract either, so
// they keep the accuracy and the NaN locality of WindowPlan's sums. The two paths cost the same near a radius of 5 or
// 6 (cc/kernel/PERFORMANCE.md), so rows take windows of up to 13 channels.
//
// A row shorter than one vector would leave most lanes idle, so rows shorter than kStripLanes are taken a tile
// (kTileLanes rows, contiguous in memory) at a time as one run, and a mask per vector and offset keeps every window
// inside its own row.
constexpr int64_t kDirectRadius = 6;

// GCC does not inline window() into the SSE2 backward on its own, and the call spills every vector register around
// it; forced, the AVX2 forward at r = 5 is laid out worse instead (cc/kernel/PERFORMANCE.md). So only there.
#if defined(__AVX__)
#define LRN_BASELINE_INLINE
#else
#define LRN_BASELINE_INLINE __attribute__((always_inline))
#endif

// A window of at most 2 kDirectRadius + 1 channels: the one the rows' and the planes' direct sums take.
inline bool direct_window(const Layout& layout, const Params& p) {
  return effective_extent(p.before, layout.depth) + effective_extent(p.after, layout.depth) <= 2 * kDirectRadius;
}

inline bool use_rows(const Layout& layout, const Params& p) { return layout.inner == 1 && direct_window(layout, p); }

// kStripLanes values of a run from index c, as doubles; values past `size` read as zero.
template <class T>
inline vd load_run(const T* run_typed, int64_t c, int64_t size) {
  using Store = Storage<T>;
  using V = typename Store::vec;
  const auto* run = reinterpret_cast<const typename Store::raw*>(run_typed);
  if (c + kStripLanes <= size) return Store::widen(load<V>(run + c));
  V v{};
  std::memcpy(&v, run + c, sizeof(typename Store::raw) * static_cast<size_t>(size - c));
  return Store::widen(v);
}

// Writes the values [c, min(c + kStripLanes, size)) of a run.
template <class T>
inline void store_run(T* run_typed, int64_t c, int64_t size, vd value) {
  using Store = Storage<T>;
  using V = typename Store::vec;
  auto* run = reinterpret_cast<typename Store::raw*>(run_typed);
  if (c + kStripLanes <= size) {
    store(run + c, Store::narrow(value));  // no named copy here: one would be spilled to the stack for the memcpy
  } else {
    const V v = Store::narrow(value);
    std::memcpy(run + c, &v, sizeof(typename Store::raw) * static_cast<size_t>(size - c));
  }
}

// Every lane of a strip, as bits (lane l: bit l).
constexpr int kAllStrip = (1 << kStripLanes) - 1;

// Writes the lanes of a strip that `bits` marks, within `size`: store_run's, for all of them.
template <class T>
inline void store_lanes(T* run_typed, int64_t c, int64_t size, vd value, int bits) {
  if (bits == kAllStrip) return store_run(run_typed, c, size, value);
  using Store = Storage<T>;
  const auto narrow = Store::narrow(value);
  auto* run = reinterpret_cast<typename Store::raw*>(run_typed);
  for (int64_t l = 0; l < kStripLanes && c + l < size; ++l) {
    if (bits >> l & 1) run[c + l] = narrow[l];
  }
}

// How a call cuts its rows into runs, and the scratch for one run. A padded array holds term i of a run at
// [lead + i], with zeros around: lead = before for the forward's window, after for the transposed one, so that
// window() adds [c, c + width) of either.
class RowRuns {
 public:
  RowRuns(const Layout& layout, const Params& p, int64_t plain, int64_t padded)
      : depth_(layout.depth),
        before_(effective_extent(p.before, layout.depth)),
        after_(effective_extent(p.after, layout.depth)),
        width_(before_ + after_ + 1),
        rows_per_run_(layout.depth < kStripLanes ? kTileLanes : 1),
        size_(rows_per_run_ * depth_),
        padded_size_((size_ + kStripLanes - 1) / kStripLanes * kStripLanes) {
    // Masks for the forward window, and for the transposed one where it differs.
    const int64_t mask_sets = rows_per_run_ > 1 ? (before_ == after_ ? 1 : 2) : 0;
    const int64_t masks = padded_size_ / kStripLanes * width_;
    const int64_t doubles =
        plain * padded_size_ + padded * (padded_size_ + width_ - 1) + mask_sets * masks * kStripLanes;
    buffer_.reset(new (std::nothrow) double[static_cast<size_t>(doubles)]());
    if (!buffer_) return;
    masks_ = reinterpret_cast<vq*>(buffer_.get() + plain * padded_size_ + padded * (padded_size_ + width_ - 1));
    transposed_masks_ = mask_sets == 2 ? masks_ + masks : masks_;
    if (mask_sets > 0) fill_masks(masks_, before_);
    if (mask_sets > 1) fill_masks(transposed_masks_, after_);
  }
  bool ok() const { return buffer_ != nullptr; }
  int64_t before() const { return before_; }
  int64_t after() const { return after_; }
  // Scratch arrays: `plain` ones of the padded run size first, then `padded` ones with width - 1 zeros around.
  double* plain(int64_t i) const { return buffer_.get() + i * padded_size_; }
  double* padded(int64_t plain_arrays, int64_t i) const {
    return buffer_.get() + plain_arrays * padded_size_ + i * (padded_size_ + width_ - 1);
  }

  // Calls body(first_element, size) for the runs of the tiles [begin, end).
  template <class Body>
  void for_each(const Layout& layout, int64_t begin, int64_t end, Body body) const {
    const int64_t last_row = end_row(layout, end);
    for (int64_t row = begin * kTileLanes; row < last_row; row += rows_per_run_) {
      const int64_t rows = last_row - row < rows_per_run_ ? last_row - row : rows_per_run_;
      body(row * depth_, rows * depth_);
    }
  }

  // The runs of the tiles [begin, end) through the stages stage(first_element, size, slot), each run through each
  // stage in order, but stage k of run i after stage 0 of run i + k: each stage reads what the stage before it wrote
  // a run earlier, no longer in the store buffer. A run's slot (0 .. number of stages - 1) tells its scratch from that
  // of the runs in the other stages. A window's loads straddle two of the stores that wrote its terms, which the store
  // buffer cannot forward: read right after them, each load waited for the stores to reach the cache
  // (cc/kernel/PERFORMANCE.md).
  template <class... Stage>
  void for_each_staged(const Layout& layout, int64_t begin, int64_t end, Stage... stage) const {
    constexpr int64_t kStages = sizeof...(Stage);
    const int64_t first_row = begin * kTileLanes, last_row = end_row(layout, end);
    const int64_t count = (last_row - first_row + rows_per_run_ - 1) / rows_per_run_;
    for (int64_t i = 0; i < count + kStages - 1; ++i) {
      int64_t k = 0;
      (run_stage(i - k++, count, first_row, last_row, kStages, stage), ...);
    }
  }

  // The window sums at values [c, c + kStripLanes) of a run, from padded[lead + i] = term_i (zero past the run),
  // added left to right: the forward's window, or with kTransposed the backward's. Like WindowPlan's, they never
  // subtract. In runs of several rows the masks drop the terms of neighbouring rows: an AND, so even a NaN there
  // stays out.
  template <bool kTransposed = false>
  LRN_BASELINE_INLINE vd window(const double* padded, int64_t c) const {
    const vq* mask = (kTransposed ? transposed_masks_ : masks_) + c / kStripLanes * width_;
    vd sum{};
    for (int64_t k = 0; k < width_; ++k) {
      const vd term = load<vd>(padded + c + k);
      sum += rows_per_run_ > 1 ? (vd)((vq)term & load<vq>(mask + k)) : term;
    }
    return sum;
  }

 private:
  // The row after the last of the tiles up to `end`.
  static int64_t end_row(const Layout& layout, int64_t end) {
    return end * kTileLanes < layout.outer ? end * kTileLanes : layout.outer;
  }

  template <class Stage>
  void run_stage(int64_t run, int64_t count, int64_t first_row, int64_t last_row, int64_t stages,
                 Stage& stage) const {
    if (run < 0 || run >= count) return;
    const int64_t row = first_row + run * rows_per_run_;
    const int64_t rows = last_row - row < rows_per_run_ ? last_row - row : rows_per_run_;
    stage(row * depth_, rows * depth_, run % stages);
  }

  // masks[m * width + k]: lane l of vector m may add the term at offset k - lead, i.e. that term is in its row.
  void fill_masks(vq* masks, int64_t lead) const {
    for (int64_t m = 0; m < padded_size_ / kStripLanes; ++m) {
      for (int64_t k = 0; k < width_; ++k) {
        vq mask{};
        for (int64_t l = 0; l < kStripLanes; ++l) {
          const int64_t channel = (m * kStripLanes + l) % depth_ + k - lead;
          mask[l] = channel >= 0 && channel < depth_ ? ~0ull : 0ull;
        }
        store(masks + m * width_ + k, mask);
      }
    }
  }

  int64_t depth_, before_, after_, width_, rows_per_run_, size_, padded_size_;
  std::unique_ptr<double[]> buffer_;
  vq* masks_ = nullptr;
  vq* transposed_masks_ = nullptr;
};

// x into xs and x^2 into the padded squares (term i at [lead + i]), for one run.
template <class T>
inline void load_squares(const T* x, int64_t size, int64_t lead, double* xs, double* squares) {
  for (int64_t c = 0; c < size; c += kStripLanes) {
    const vd v = load_run(x, c, size);
    store(xs + c, v);
    store(squares + lead + c, v * v);
  }
}

}  // namespace LRN_ISA
}  // namespace lrn

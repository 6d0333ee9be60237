// The window sums of the tile path: WindowPlan, three adds per element whatever the window's size. The row path's direct
// sum (2r adds per vector) is RowRuns::window in rows-inl.h, inside the class because GCC compiles the row backward
// pass markedly slower when it is a free function (cc/kernel/PERFORMANCE.md).
#pragma once

#include <cstdint>
#include <memory>
#include <new>

#include "kernel/storage-inl.h"

namespace lrn {
namespace LRN_ISA {

// A tile (kTileLanes lanes) is kStripsPerTile strips of kStripLanes lanes, and one channel of a tile is kStripsPerTile
// native vectors. Every loop over channels runs over the kStripsPerTile strips inside, so that the prefix and suffix
// sums, whose adds depend on the previous channel's, advance kStripsPerTile independent chains at once instead of
// waiting on one.
constexpr int64_t kStripsPerTile = kTileLanes / kStripLanes;
struct Lanes {
  vd s[kStripsPerTile];
};

// ---------------------------------------------------------------------------------------------------------------
// The window sum, shared by forward and backward.
//
// van Herk / Gil-Werman: cut the channels into blocks of w = before + after + 1. A window [c - before, c + after]
// (clipped to the tensor) spans at most two blocks and is the suffix sum (within its block) at its first channel plus
// the prefix sum (within its block) at its last. Nothing is ever subtracted, so
//   - the cost is three adds per element, whatever the window's size;
//   - a large value that leaves the window cannot wipe out the small ones still in it, as it does in a running
//     add-the-new, subtract-the-old sum;
//   - a NaN or Inf reaches exactly the windows that contain it.
//
// The backward pass sums over the transposed window: channel c gathers the terms of every channel whose window holds
// c, which is [c - after, c + before]. It has the same width, so the same blocks, prefixes and suffixes serve it.
//
// The plan says, for every channel, which suffix and which prefix make up its window and its transposed window; it
// depends only on the depth and the extents, so it is made once per call. Index `depth` names a zero entry: the
// windows that lie in one block need only one of the two terms.
// An extent of depth - 1 already reaches every channel: longer ones are cut to it.
inline int64_t effective_extent(int64_t extent, int64_t depth) { return extent < depth ? extent : depth - 1; }

class WindowPlan {
 public:
  WindowPlan(int64_t depth, int64_t before, int64_t after)
      : depth_(depth),
        width_(effective_extent(before, depth) + effective_extent(after, depth) + 1),
        terms_(new (std::nothrow) int64_t[static_cast<size_t>(4 * depth)]) {
    if (!terms_) return;
    const int64_t b = effective_extent(before, depth), a = effective_extent(after, depth);
    for (int64_t c = 0; c < depth; ++c) {
      plan(c - b, c + a, &terms_[4 * c]);
      plan(c - a, c + b, &terms_[4 * c + 2]);
    }
  }
  bool ok() const { return terms_ != nullptr; }
  int64_t depth() const { return depth_; }

  // Prefix sums within blocks: put(c, v) for c = 0, 1, 2, ... in order.
  struct Prefix {
    int64_t width, k = 0;  // k = c % width
    void put(Lanes* pre, int64_t c, const Lanes& v) {
      for (int64_t s = 0; s < kStripsPerTile; ++s) pre[c].s[s] = k == 0 ? v.s[s] : pre[c - 1].s[s] + v.s[s];
      k = k + 1 == width ? 0 : k + 1;
    }
  };
  Prefix prefix() const { return Prefix{width_}; }

  // Suffix sums within blocks of value(c), and the zero entries at index depth of both arrays.
  template <class Value>
  void suffix(Lanes* pre, Lanes* suf, Value value) const {
    pre[depth_] = suf[depth_] = Lanes{};
    for (int64_t c = depth_ - 1, k = (depth_ - 1) % width_; c >= 0; --c) {  // k = c % width
      const Lanes v = value(c);
      const bool block_end = c == depth_ - 1 || k == width_ - 1;
      for (int64_t s = 0; s < kStripsPerTile; ++s) suf[c].s[s] = block_end ? v.s[s] : suf[c + 1].s[s] + v.s[s];
      k = k == 0 ? width_ - 1 : k - 1;
    }
  }

  // The sum over channel c's window, or (transposed) over the channels whose windows hold c.
  vd sum(const Lanes* pre, const Lanes* suf, int64_t c, int64_t s) const {
    return suf[terms_[4 * c]].s[s] + pre[terms_[4 * c + 1]].s[s];
  }
  vd transposed_sum(const Lanes* pre, const Lanes* suf, int64_t c, int64_t s) const {
    return suf[terms_[4 * c + 2]].s[s] + pre[terms_[4 * c + 3]].s[s];
  }

 private:
  // The suffix and prefix terms of the window [first, last], clipped to the tensor.
  void plan(int64_t first, int64_t last, int64_t* terms) const {
    first = first > 0 ? first : 0;
    last = last < depth_ ? last : depth_ - 1;
    const int64_t block_start = first - first % width_;
    const bool one_block = last < block_start + width_;  // it starts a block, or the tensor's end cuts it short
    terms[0] = one_block && first == block_start ? depth_ : first;
    terms[1] = one_block && first != block_start ? depth_ : last;
  }

  int64_t depth_;
  int64_t width_;
  std::unique_ptr<int64_t[]> terms_;
};

}  // namespace LRN_ISA
}  // namespace lrn

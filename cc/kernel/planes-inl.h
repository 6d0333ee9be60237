// The plane path's traversal: channels first (NCHW) with a small window. Vectors run across the pixels of one channel
// plane, a block of up to kPlaneLanes consecutive pixels of one image at a time, and the channels stream through the
// block in order: while channel c is computed, channel c + after's squares enter a ring as wide as the window. So
// every plane is read once per block, as a run asked for a few channels ahead, and every window is a direct sum in
// channel order, as the rows' are: one add per channel of the window per vector, nothing subtracted.
//
// A tile's 16 lanes of NCHW are 16 pixels, one cache line of each of `depth` planes: the tile path reads every plane
// in pieces too short to prefetch, and its transposed bookkeeping costs more than the direct sums of a small window
// (cc/kernel/PERFORMANCE.md).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "kernel/rows-inl.h"
#include "kernel/storage-inl.h"
#include "kernel/window-inl.h"

namespace lrn {
namespace LRN_ISA {

// Pixels per block: a ring slot holds a block's values of one channel as doubles. Of 64, 96, 128, 256 and 512, 128
// ran the backward fastest, the forward within the noise of 256 (cc/kernel/PERFORMANCE.md).
constexpr int64_t kPlaneLanes = 128;
static_assert(kPlaneLanes % kStripLanes == 0, "a block must hold whole vectors");

// Channels first, planes of at least a tile, and a window the direct sums take (as the rows').
inline bool use_planes(const Layout& layout, const Params& p) {
  return layout.inner >= kTileLanes && direct_window(layout, p);
}

// Calls body(offset, count) for the blocks that cover the lanes of the tiles [begin, end): `count` consecutive pixels
// of one image, at most `block`, the first of which sits (channel 0) at element `offset`.
template <class Body>
inline void for_each_plane_block(const Layout& layout, int64_t begin, int64_t end, int64_t block, Body body) {
  const int64_t total = layout.outer * layout.inner;
  const int64_t last = end * kTileLanes < total ? end * kTileLanes : total;
  for (int64_t lane = begin * kTileLanes; lane < last;) {
    const int64_t o = lane / layout.inner, i = lane % layout.inner;
    int64_t count = layout.inner - i < block ? layout.inner - i : block;
    count = last - lane < count ? last - lane : count;
    body(o * layout.depth * layout.inner + i, count);
    lane += count;
  }
}

// How many channels ahead of the one read (or written) a block asks for its plane's lines. Each block reads `depth`
// short runs, one per plane; asked for 4 channels ahead, the float32 forward on AlexNet LRN1's shape at 8 images went
// from 1.43 to 1.1-1.3 ns per element (cc/kernel/PERFORMANCE.md).
constexpr int64_t kPrefetchPlanes = 4;

// Asks for the lines of `count` values of one plane (kWrite: to be written).
template <int kWrite = 0, class T>
inline void prefetch_plane(const T* plane, int64_t count) {
  const char* start = reinterpret_cast<const char*>(plane);
  const int64_t bytes = count * static_cast<int64_t>(sizeof(T));
  for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(start + b, kWrite, 3);
}

// A ring of `slots` arrays of kPlaneLanes doubles, one per channel, each written twice, at slot (c mod slots) and
// at that plus slots: the `slots` channels that end at any channel then lie at consecutive addresses, kPlaneLanes
// apart, and a window sum walks them with one stride. The loops over a block's vectors take a channel's arrays once
// (writer, window) and index them, so that no lane pays for the modulo.
class PlaneRing {
 public:
  PlaneRing(double* memory, int64_t slots) : memory_(memory), slots_(slots) {}
  static int64_t doubles(int64_t slots) { return 2 * slots * kPlaneLanes; }

  // Writes channel c (which may be negative: the channels before the first), lanes [v, v + kStripLanes) at a time.
  struct Writer {
    double* first;
    double* second;
    void put(int64_t v, vd value) const {
      store(first + v, value);
      store(second + v, value);
    }
  };
  Writer writer(int64_t c) const {
    double* a = memory_ + (((c % slots_) + slots_) % slots_) * kPlaneLanes;
    return Writer{a, a + slots_ * kPlaneLanes};
  }
  void clear(int64_t c, int64_t vectors) const {
    const Writer w = writer(c);
    for (int64_t v = 0; v < vectors * kStripLanes; v += kStripLanes) w.put(v, vd{});
  }

  // The `width` channels from `first` on: their sum, in channel order, at lanes [v, v + kStripLanes).
  struct Window {
    const double* first;
    int64_t width;
    vd sum(int64_t v) const {
      const double* term = first + v;
      vd total = load<vd>(term);
      for (int64_t k = 1; k < width; ++k) total += load<vd>(term + k * kPlaneLanes);
      return total;
    }
  };
  Window window(int64_t first, int64_t width) const {
    return Window{memory_ + (((first % slots_) + slots_) % slots_) * kPlaneLanes, width};
  }

 private:
  double* memory_;
  int64_t slots_;
};

// Scratch for the rings, aligned to 64 bytes so that no vector of a ring straddles two cache lines. Null if the
// allocation fails.
class PlaneScratch {
 public:
  explicit PlaneScratch(int64_t doubles) : owner_(new (std::nothrow) double[static_cast<size_t>(doubles + 8)]) {}
  double* get() const {
    const auto address = reinterpret_cast<uintptr_t>(owner_.get());
    return owner_ ? reinterpret_cast<double*>((address + 63) / 64 * 64) : nullptr;
  }

 private:
  std::unique_ptr<double[]> owner_;
};

}  // namespace LRN_ISA
}  // namespace lrn

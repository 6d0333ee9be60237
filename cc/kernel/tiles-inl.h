// The tile path's traversal: NCHW, and NHWC with a larger radius. A tile is kTileLanes lanes (pixels) as kStripsPerTile
// strips of kStripLanes lanes; vectors run across pixels (an NCHW channel plane is contiguous; NHWC pixels are
// transposed in blocks of kStripLanes x kStripLanes), and the window sums are WindowPlan's.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

#include "kernel/storage-inl.h"
#include "kernel/window-inl.h"

namespace lrn {
namespace LRN_ISA {

// ---------------------------------------------------------------------------------------------------------------
// Strips: kStripLanes lanes, loaded and stored a block of kStripLanes channels at a time.

struct Strip {
  int64_t base[kStripLanes];  // offset of channel 0 of each lane
  int64_t stride;   // distance between neighbouring channels
  int64_t lanes;    // valid lanes; the rest of the strip is zero padding
};

inline Strip make_strip(const Layout& layout, int64_t first) {
  Strip strip{};
  const int64_t total = layout.outer * layout.inner;
  strip.lanes = total - first < kStripLanes ? (total > first ? total - first : 0) : kStripLanes;
  strip.stride = layout.inner;
  int64_t o = first / layout.inner;
  int64_t i = first % layout.inner;
  for (int64_t l = 0; l < strip.lanes; ++l) {
    strip.base[l] = o * layout.depth * layout.inner + i;
    if (++i == layout.inner) i = 0, ++o;
  }
  return strip;
}

// NCHW inside one image: the kStripLanes lanes of a channel are kStripLanes consecutive values.
inline bool contiguous(const Strip& strip) {
  return strip.stride > 1 && strip.lanes == kStripLanes &&
         strip.base[kStripLanes - 1] == strip.base[0] + kStripLanes - 1;
}
// NHWC with all kStripLanes lanes: kStripLanes rows of `depth` consecutive values, transposed kStripLanes channels at a
// time.
inline bool transposable(const Strip& strip) { return strip.stride == 1 && strip.lanes == kStripLanes; }

// Transposes an kStripLanes x kStripLanes block held as kStripLanes row vectors. Each stage interleaves row i with row
// i + kStripLanes/2, which rotates the bits of (row, column) left by one; log2(kStripLanes) stages rotate them by
// log2(kStripLanes), which swaps row and column.
template <class V, class M>
inline void transpose(V* rows) {
  M lo, hi;
  for (int64_t i = 0; i < kStripLanes; ++i) {
    lo[i] = static_cast<typename std::remove_reference<decltype(lo[0])>::type>(i / 2 + (i % 2) * kStripLanes);
    hi[i] = static_cast<typename std::remove_reference<decltype(hi[0])>::type>(kStripLanes / 2 + i / 2 +
                                                                               (i % 2) * kStripLanes);
  }
  for (int64_t stage = 1; stage < kStripLanes; stage *= 2) {
    V next[kStripLanes];
    for (int64_t i = 0; i < kStripLanes / 2; ++i) {
      next[2 * i] = __builtin_shuffle(rows[i], rows[i + kStripLanes / 2], lo);
      next[2 * i + 1] = __builtin_shuffle(rows[i], rows[i + kStripLanes / 2], hi);
    }
    for (int64_t i = 0; i < kStripLanes; ++i) rows[i] = next[i];
  }
}

// Reads channels [c0, c0 + count) of a strip, count <= kStripLanes, as doubles: block[j] holds channel c0 + j.
template <class T>
inline void load_block(const T* src_typed, const Strip& strip, int64_t c0, int64_t count, vd* block) {
  using Store = Storage<T>;
  using V = typename Store::vec;
  const auto* src = reinterpret_cast<const typename Store::raw*>(src_typed);
  if (contiguous(strip)) {
    for (int64_t j = 0; j < count; ++j) block[j] = Store::widen(load<V>(src + strip.base[0] + (c0 + j) * strip.stride));
  } else if (transposable(strip) && count == kStripLanes) {
    V rows[kStripLanes];
    for (int64_t l = 0; l < kStripLanes; ++l) rows[l] = load<V>(src + strip.base[l] + c0);
    transpose<V, typename Store::mask>(rows);
    for (int64_t j = 0; j < kStripLanes; ++j) block[j] = Store::widen(rows[j]);
  } else {
    for (int64_t j = 0; j < count; ++j) {
      V lanes{};
      for (int64_t l = 0; l < strip.lanes; ++l) lanes[l] = src[strip.base[l] + (c0 + j) * strip.stride];
      block[j] = Store::widen(lanes);
    }
  }
}

// Writes block[j] to channel c0 + j of a strip, for j < count <= kStripLanes, rounding to the storage type.
template <class T>
inline void store_block(T* dst_typed, const Strip& strip, int64_t c0, int64_t count, const vd* block) {
  using Store = Storage<T>;
  using V = typename Store::vec;
  auto* dst = reinterpret_cast<typename Store::raw*>(dst_typed);
  if (contiguous(strip)) {
    for (int64_t j = 0; j < count; ++j) store(dst + strip.base[0] + (c0 + j) * strip.stride, Store::narrow(block[j]));
  } else if (transposable(strip) && count == kStripLanes) {
    V rows[kStripLanes];
    for (int64_t j = 0; j < kStripLanes; ++j) rows[j] = Store::narrow(block[j]);
    transpose<V, typename Store::mask>(rows);
    for (int64_t l = 0; l < kStripLanes; ++l) store(dst + strip.base[l] + c0, rows[l]);
  } else {
    for (int64_t j = 0; j < count; ++j) {
      const V lanes = Store::narrow(block[j]);
      for (int64_t l = 0; l < strip.lanes; ++l) dst[strip.base[l] + (c0 + j) * strip.stride] = lanes[l];
    }
  }
}

// Calls body(c0, count) for the blocks of kStripLanes channels that cover [0, depth).
template <class Body>
inline void for_each_block(int64_t depth, Body body) {
  for (int64_t c0 = 0; c0 < depth; c0 += kStripLanes) body(c0, depth - c0 < kStripLanes ? depth - c0 : kStripLanes);
}

// A tile: kStripsPerTile strips of kStripLanes lanes, the last ones possibly partial or empty at the end of the tensor.
struct Tile {
  Strip strips[kStripsPerTile];
};

inline Tile make_tile(const Layout& layout, int64_t tile) {
  Tile pixels;
  for (int64_t s = 0; s < kStripsPerTile; ++s) {
    pixels.strips[s] = make_strip(layout, tile * kTileLanes + s * kStripLanes);
  }
  return pixels;
}

// Scratch for one thread: `arrays` tiles of depth channels plus the zero entry that WindowPlan uses. Null if the
// allocation fails.
inline std::unique_ptr<Lanes[]> scratch(int64_t depth, int64_t arrays) {
  return std::unique_ptr<Lanes[]>(new (std::nothrow) Lanes[static_cast<size_t>((depth + 1) * arrays)]);
}

// Pass shared by forward and backward: x into xs, and the window sums of x^2 into pre / suf.
template <class T>
inline void square_sums(const T* x, const Tile& pixels, const WindowPlan& plan, Lanes* xs, Lanes* pre, Lanes* suf) {
  auto prefix = plan.prefix();
  for_each_block(plan.depth(), [&](int64_t c0, int64_t count) {
    vd block[kStripsPerTile][kStripLanes];
    for (int64_t s = 0; s < kStripsPerTile; ++s) load_block(x, pixels.strips[s], c0, count, block[s]);
    for (int64_t j = 0; j < count; ++j) {
      Lanes squares;
      for (int64_t s = 0; s < kStripsPerTile; ++s) {
        xs[c0 + j].s[s] = block[s][j];
        squares.s[s] = block[s][j] * block[s][j];
      }
      prefix.put(pre, c0 + j, squares);
    }
  });
  plan.suffix(pre, suf, [&](int64_t c) {
    Lanes squares;
    for (int64_t s = 0; s < kStripsPerTile; ++s) squares.s[s] = xs[c].s[s] * xs[c].s[s];
    return squares;
  });
}

}  // namespace LRN_ISA
}  // namespace lrn

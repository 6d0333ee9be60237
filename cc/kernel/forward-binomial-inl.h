// The binomial path's passes (binomial-inl.h has its math) over the planes and the rows of a float32 call, and its
// entry, forward_binomial. Included by lrn_binomial.cc alone, which CMakeLists.txt compiles once per SIMD target
// beside lrn_simd.cc: its own translation unit (lrn-inl.h, forward_binomial, says why). The avx2 and avx512 targets
// build it (LRN_BINOMIAL).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "kernel/binomial-inl.h"
#include "kernel/lrn-inl.h"

#if LRN_BINOMIAL
namespace lrn {
namespace LRN_ISA {

// The binomial path (binomial-inl.h) on the planes and the rows of a float32 call that allows it. Its pass writes each
// output in its domain and marks the others in `left`, a bit per lane and a Marks per wide vector; the double
// path's pass then computes those (LaneChoice::kLeft). Which lanes take which path depends on each lane's own window
// alone, so any share gives the same bits. The binomial window sums (window_sum) take the x values themselves, in
// the same two chains on both traversals, so NCHW and NHWC give the same bits there too.

// One wide vector: its window's terms at first + k * stride (k < terms; kTerms, if not 0, is `terms` known to the
// compiler, which then unrolls the loop), its own x. Returns the lanes left, as binomial_output.
template <int kTerms>
__attribute__((always_inline)) inline int binomial_lanes(const Binomial& b, const float* first, int64_t stride,
                                                         int64_t terms, int64_t available, vw x, vw& y) {
  if (kTerms != 0) terms = kTerms;
  const vw sum = window_sum(terms, [&](int64_t k) { return load_wide(first + k * stride, 0, available); });
  return binomial_output(b, x, sum, y);
}

// binomial_lanes for a row's copy: the window of `width` values from `first`, one value apart. On avx512, a window of
// kTerms (known to the compiler) lies in two aligned vectors from `first` (64-byte aligned), and each term is shifted
// out of them in a register (valignd): read straight from the copy, 4 of a window of 5's loads straddle two cache
// lines (cc/kernel/PERFORMANCE.md).
template <int kTerms>
__attribute__((always_inline)) inline int binomial_row_lanes(const Binomial& b, const float* first, int64_t width, vw x,
                                                             vw& y) {
#if defined(__AVX512F__)
  if constexpr (kTerms != 0) {
    static_assert(kTerms >= 2 && kTerms <= kWideLanes, "a window within two vectors");
    const __m512i low = _mm512_load_si512(first), high = _mm512_load_si512(first + kWideLanes);
    const vw sum = window_sum_fixed<kTerms>(
        [&](auto k) { return (vw)_mm512_alignr_epi32(high, low, decltype(k)::value); });
    return binomial_output(b, x, sum, y);
  }
#endif
  return binomial_lanes<kTerms>(b, first, 1, width, kWideLanes, x, y);
}

// The lanes of a vector that hold values of the run: those below `available`.
inline int valid_lanes(int64_t available) { return available >= kWideLanes ? kAllWide : (1 << available) - 1; }

// Channel c's x values for a block into the ring (zeros for a channel outside [0, depth), and past `count` up to a
// whole wide vector).
inline void put_values(const WideRing& ring, const float* block, int64_t c, const Layout& layout, int64_t count) {
  float* const slots[2] = {ring.first(c), ring.second(c)};
  const int64_t whole = (count + kWideLanes - 1) / kWideLanes * kWideLanes;
  if (c < 0 || c >= layout.depth) {
    for (float* slot : slots) std::memset(slot, 0, sizeof(float) * static_cast<size_t>(whole));
    return;
  }
  const float* plane = block + c * layout.inner;
  if (c + kPrefetchPlanes < layout.depth) prefetch_plane(plane + kPrefetchPlanes * layout.inner, count);
  for (int64_t v = 0; v < whole; v += kWideLanes) {
    const vw value = load_wide(plane, v, count);
    store(slots[0] + v, value);
    store(slots[1] + v, value);
  }
}

// Pixels per block of the binomial pass where it reads its windows from the planes: 32 of the double path's blocks,
// whose marks it lays out one such block after another, so that the double path's pass takes them as they are. A
// plane of up to 4096 pixels (64x64) is one block, and the pass reads the planes in memory order. In blocks of 128
// pixels, GoogLeNet's forward at 32 images (32x192x56x56, NCHW) took 0.62-0.64 ns per element on avx512 and 0.92-0.96
// on avx2, against 0.36 and 0.37 for NHWC: the loads of each window's newest plane waited on memory. In blocks of
// 1024, with each line asked for as the vector beside it is computed, 0.34-0.35 and 0.43-0.44; on another machine, in
// blocks of 4096, 0.55-0.59 against 1024's 0.64-0.71 (cc/kernel/PERFORMANCE.md).
constexpr int64_t kBinomialBlock = 32 * kPlaneLanes;
static_assert(kBinomialBlock / kPlaneLanes <= 64, "a bit per double-path block in binomial_planes' result");

// The marks of channel c's double-path block at pixel s of a binomial block over `channels` channels: the blocks of
// kPlaneLanes pixels one after another, each a whole block's marks per channel (the last may hold fewer pixels).
inline Marks* block_marks(Marks* left, int64_t channels, int64_t s) {
  return left + s / kPlaneLanes * channels * (kPlaneLanes / kWideLanes);
}

// The binomial pass over one block of the planes (as forward_plane_block), channels [begin, end). A window's terms
// are read from the planes themselves, or, where planes lie a multiple of 2 KiB apart (`from_ring`), from a ring that
// the block's values stream through as the squares do in forward_plane_block: a window of 11 planes of 32x32 pixels,
// 4 KiB apart, share too few cache sets, and read from the planes took 1.6 ns per element for this pass alone; AlexNet
// LRN2's (27x27, batch 1, NCHW) took 0.93 ns per element through the ring and 0.8 from the planes
// (cc/kernel/PERFORMANCE.md). The two read the same values in the same order, so give the same bits. Blocks of up to
// kBinomialBlock pixels from the planes, kPlaneLanes through the ring. Returns which of the block's double-path blocks
// it left lanes in, as bits (block s / kPlaneLanes: that bit).
template <int kTerms>
__attribute__((noinline)) uint64_t binomial_planes(const Binomial& binomial, const WideRing& ring, bool from_ring,
                                                   const float* x, float* y, const Layout& layout, int64_t before,
                                                   int64_t after, int64_t begin, int64_t end, int64_t count,
                                                   Marks* left) {
  const Binomial b = binomial;  // avx2's bytes of `left` may alias anything: read through a reference, b is reloaded
  const int64_t inner = layout.inner, depth = layout.depth, width = before + after + 1;
  constexpr int64_t kLineFloats = 64 / sizeof(float);
  uint64_t leaving = 0;
  if (from_ring) {
    for (int64_t c = begin - before; c < begin + after; ++c) put_values(ring, x, c, layout, count);
  }
  for (int64_t c = begin; c < end; ++c) {
    const float* first;
    const float* own;
    const float* x_ahead = nullptr;  // the plane whose lines are asked for as each vector is computed
    int64_t stride, terms;
    if (from_ring) {
      put_values(ring, x, c + after, layout, count);
      first = ring.first(c - before), own = first + before * kPlaneLanes;
      stride = kPlaneLanes, terms = width;
    } else {
      const int64_t low = c - before > 0 ? c - before : 0, high = c + after < depth ? c + after : depth - 1;
      if (high + kPrefetchPlanes < depth) x_ahead = x + (high + kPrefetchPlanes) * inner;
      first = x + low * inner, own = x + c * inner;
      stride = inner, terms = high - low + 1;
    }
    float* y_ahead = c + kPrefetchPlanes < end ? y + (c + kPrefetchPlanes) * inner : nullptr;
    if (from_ring && y_ahead) {
      // The ring's blocks are short: their output lines asked for at once, as the ring's values are (put_values).
      // Spread over the vectors, 16x64x32x32 took 0.40-0.42 ns per element against 0.37 on avx512.
      prefetch_plane<1>(y_ahead, count);
      y_ahead = nullptr;
    }
    float* out = y + c * inner;
    for (int64_t s = 0; s < count; s += kPlaneLanes) {
      const int64_t size = count - s < kPlaneLanes ? count - s : kPlaneLanes;
      const int64_t wides = (size + kWideLanes - 1) / kWideLanes, whole = size / kWideLanes;
      Marks* lanes = block_marks(left, end - begin, s) + (c - begin) * wides;
      int any = 0;
      const auto vectors = [&](auto unrolled) {
        constexpr int kUnrolled = decltype(unrolled)::value;
        for (int64_t w = 0; w < whole; ++w) {
          const int64_t v = s + w * kWideLanes;
          if (v % kLineFloats == 0) {
            if (x_ahead) __builtin_prefetch(x_ahead + v, 0, 3);
            if (y_ahead) __builtin_prefetch(y_ahead + v, 1, 3);
          }
          vw result;
          const int l = binomial_lanes<kUnrolled>(b, first + v, stride, terms, kWideLanes, load<vw>(own + v), result);
          if (l != kAllWide) store(out + v, result);
          lanes[w] = static_cast<Marks>(l);
          any |= l;
        }
      };
      if (kTerms != 0 && terms == kTerms) {
        vectors(std::integral_constant<int, kTerms>{});
      } else {
        vectors(std::integral_constant<int, 0>{});
      }
      if (whole < wides) {
        const int64_t v = s + whole * kWideLanes, available = count - v, valid = valid_lanes(available);
        vw result{};  // written unless every lane is left, when it is not stored: GCC cannot see that
        const int l = binomial_lanes<0>(b, first + v, stride, terms, from_ring ? kWideLanes : available,
                                        load_wide(own, v, count), result) & valid;
        if (l != valid) store_wide(out, v, count, result);
        lanes[whole] = static_cast<Marks>(l);
        any |= l;
      }
      if (any) leaving |= uint64_t{1} << (s / kPlaneLanes);
    }
  }
  return leaving;
}

// The window widths with their own unrolled loops: AlexNet's and GoogLeNet's 5, 3, and TF's default radius of 5.
template <class Run>
inline void with_unrolled_width(int64_t width, Run run) {
  switch (width) {
    case 3: return run(std::integral_constant<int, 3>{});
    case 5: return run(std::integral_constant<int, 5>{});
    case 11: return run(std::integral_constant<int, 11>{});
    default: return run(std::integral_constant<int, 0>{});
  }
}

template <BetaKind K>
bool forward_binomial_planes(const Binomial& b, const float* x, float* y, const Layout& layout, const Params& p,
                             const Share& share) {
  const int64_t before = effective_extent(p.before, layout.depth), after = effective_extent(p.after, layout.depth);
  const int64_t channels = share.channel_end - share.channel_begin, width = before + after + 1;
  const bool from_ring = layout.inner % 512 == 0;
  const int64_t block = from_ring ? kPlaneLanes : kBinomialBlock;
  std::unique_ptr<Marks[]> left(new (std::nothrow) Marks[static_cast<size_t>(channels * (block / kWideLanes))]);
  const PlaneScratch values(from_ring ? WideRing::doubles(width) : 0);
  if (!left || !values.get()) return false;
  const WideRing ring(reinterpret_cast<float*>(values.get()), width);
  // The double path's ring of squares, made for the first block that leaves it lanes: most calls that take the
  // binomial path leave none.
  std::unique_ptr<PlaneScratch> squares_memory;
  bool ok = true;
  for_each_plane_block(layout, share.tile_begin, share.tile_end, block, [&](int64_t offset, int64_t count) {
    if (!ok) return;
    uint64_t leaving = 0;
    with_unrolled_width(width, [&](auto terms) {
      leaving = binomial_planes<decltype(terms)::value>(b, ring, from_ring, x + offset, y + offset, layout, before,
                                                        after, share.channel_begin, share.channel_end, count,
                                                        left.get());
    });
    if (leaving && !squares_memory) {
      squares_memory.reset(new (std::nothrow) PlaneScratch(PlaneRing::doubles(width)));
      if (!squares_memory || !squares_memory->get()) {
        ok = false;
        return;
      }
    }
    for (int64_t s = 0; s < count; s += kPlaneLanes) {
      if (!(leaving >> (s / kPlaneLanes) & 1)) continue;
      const PlaneRing squares(squares_memory->get(), width);
      const int64_t size = count - s < kPlaneLanes ? count - s : kPlaneLanes;
      const auto pass = [&](auto selected) {
        return forward_plane_block<float, K, decltype(selected)::value, LaneChoice::kLeft>(
            squares, x + offset + s, y + offset + s, layout, p, before, after, share.channel_begin, share.channel_end,
            size, block_marks(left.get(), channels, s));
      };
      if (!pass(std::false_type{})) pass(std::true_type{});
    }
  });
  return ok;
}

// The double path over the lanes that the binomial pass left in one row (as forward_rows, and forward_plane_block's
// kLeft).
template <BetaKind K>
void forward_row_left(const RowRuns& runs, const float* x, float* y, int64_t size, const Params& p, double* xs,
                      double* squares, const Marks* left) {
  load_squares(x, size, runs.before(), xs, squares);
  with_powers<float, K>([&](auto& powers) {
    for (int64_t c = 0; c < size; c += kStripLanes) {
      const int bits = left[c / kWideLanes] >> (c % kWideLanes) & kAllStrip;
      if (bits == 0) continue;
      const vd n = normaliser(p, runs.window(squares, c));
      store_lanes(y, c, size, output(load<vd>(xs + c), powers(n, p.beta)), bits);
    }
  });
}

// The rows (depth of at least kStripLanes, one row a run): for the binomial pass each row is copied between zeros, so
// that every window reads whole vectors. (Reading the windows inside the row from the row itself, and copying only its
// ends, was no faster: AlexNet LRN1 at batch 1, NHWC, 0.90 and 0.91 ns per element.) A row is computed after the next
// one is copied, into the other of two buffers (RowRuns::for_each_staged).
template <BetaKind K, int kTerms>
__attribute__((noinline)) bool forward_binomial_rows(const Binomial& binomial, const float* x, float* y,
                                                     const Layout& layout, const Params& p, int64_t begin,
                                                     int64_t end) {
  const Binomial b = binomial;  // as binomial_planes'
  const RowRuns runs(layout, p, 1, 1);
  const int64_t before = runs.before(), after = runs.after(), width = before + after + 1;
  const int64_t wides = (layout.depth + kWideLanes - 1) / kWideLanes;
  // A copy's values, its zeros, and a vector more than the last window reaches (binomial_row_lanes reads two).
  const int64_t padded = (wides + 1 + (before + after + kWideLanes - 1) / kWideLanes) * kWideLanes;
  // Two copies, 64-byte aligned (2 padded floats in `padded` doubles: padded is a whole number of vectors), zero
  // where no row is copied.
  const PlaneScratch memory(padded);
  float* const copies = reinterpret_cast<float*>(memory.get());
  if (copies) std::memset(copies, 0, sizeof(float) * static_cast<size_t>(2 * padded));
  std::unique_ptr<Marks[]> left(new (std::nothrow) Marks[static_cast<size_t>(wides)]);
  if (!runs.ok() || !copies || !left) return false;
  double* xs = runs.plain(0);
  double* squares = runs.padded(1, 0);
  runs.for_each_staged(
      layout, begin, end,
      [&](int64_t first, int64_t size, int64_t slot) {
        // Vector by vector rather than by memcpy: a call per row, whose vzeroupper and spills cost more than the copy.
        float* copy = copies + slot * padded + before;
        for (int64_t c = 0; c < size; c += kWideLanes) store(copy + c, load_wide(x + first, c, size));
      },
      [&](int64_t first, int64_t size, int64_t slot) {
        const float* row = copies + slot * padded;
        int any = 0;
        for (int64_t c = 0; c < size; c += kWideLanes) {
          vw result;
          const int valid = valid_lanes(size - c);
          const int l = binomial_row_lanes<kTerms>(b, row + c, width, load<vw>(row + before + c), result) & valid;
          if (l != valid) store_wide(y + first, c, size, result);
          left[c / kWideLanes] = static_cast<Marks>(l);
          any |= l;
        }
        if (any) forward_row_left<K>(runs, x + first, y + first, size, p, xs, squares, left.get());
      });
  return true;
}

// The entry: the rows (depth of at least kStripLanes) or the planes of a call that allows the path.
template <BetaKind K>
bool forward_binomial(const float* x, float* y, const Layout& layout, const Params& p, const Share& share, bool* ok) {
  // The planes take every NCHW call with a window the direct sums take, planes of fewer pixels than a tile too (the
  // double path sends those to the tiles): so an image cut into smaller planes, as a sharded JAX call cuts it, gives
  // the same bits (tests/test_scale_out.py).
  const bool rows = use_rows(layout, p) && layout.depth >= kStripLanes;
  const bool planes = layout.inner > 1 && direct_window(layout, p);
  if (!rows && !planes) return false;
  const Binomial b = binomial(p);
  if (!b.on) return false;
  const int64_t before = effective_extent(p.before, layout.depth), after = effective_extent(p.after, layout.depth);
  if (rows) {
    with_unrolled_width(before + after + 1, [&](auto width) {
      *ok = forward_binomial_rows<K, decltype(width)::value>(b, x, y, layout, p, share.tile_begin, share.tile_end);
    });
    return true;
  }
  *ok = forward_binomial_planes<K>(b, x, y, layout, p, share);
  return true;
}

}  // namespace LRN_ISA
}  // namespace lrn
#endif  // LRN_BINOMIAL

// Local Response Normalization over the channel axis: the forward and backward math, in one place.
//
// Pure C++17 over raw pointers and sizes (lrn_api.h): no framework types cross this boundary. lrn_simd.cc compiles it
// once per SIMD target. The pieces sit beside it, one concern each: storage-inl.h (vector types, loads, stores,
// conversions), powers-inl.h (n^-beta and 1/n), window-inl.h (the window sums), tiles-inl.h and rows-inl.h (the two
// traversals).
//
// Threads share out tiles of kTileLanes lanes (pixels); a thread's tiles are computed one of three ways, with the
// same formulas (normaliser, output, gradient_term, direct_gradient, input_gradient):
//   - rows: NHWC with a small radius. Vectors run along the channels of a pixel and each window is a direct sum
//     over a zero-padded copy of its terms (forward_rows, backward_rows).
//   - planes: NCHW with a small radius. Vectors run across the pixels of a channel plane, blocks of pixels stream
//     through the channels, and each window is a direct sum over a ring of the last channels' terms
//     (forward_planes, backward_planes).
//   - tiles: the rest (a larger radius, or planes smaller than a tile). Vectors run across pixels (an NCHW channel
//     plane is contiguous; NHWC pixels are transposed in blocks), and the window sums cost three adds per element
//     whatever the radius (WindowPlan's van Herk scheme; forward_tiles, backward_tiles).
//
// Numerics: whatever the storage type, the window sums, the normaliser and its power are computed in double and
// the result is rounded once on the way out. Squares of float32 values are exact in double, sums of non-negative
// terms lose at most (window - 1) double ulps, and the power is computed to a few double ulps (up to about 270, 6e-14
// relative, for a general beta at normalisers far from 1, where log(n) magnifies its own rounding), so a float32
// result is within about half a float32 ulp of the exact value whatever the input's dynamic range or beta. One
// exception: the avx2 and avx512 paths' float32 forward computes the outputs whose alpha * sum / bias is below 2^-5
// in float32 by a binomial series, arranged so that float32 rounds once where it matters (binomial-inl.h has its error
// budget: 2.7e-8 before the last rounding for a window of 5).
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernel/binomial-inl.h"
#include "kernel/planes-inl.h"
#include "kernel/powers-inl.h"
#include "kernel/rows-inl.h"
#include "kernel/storage-inl.h"
#include "kernel/tiles-inl.h"
#include "kernel/window-inl.h"
#include "lrn_api.h"

namespace lrn {
namespace LRN_ISA {

// The per-element formulas, shared by the tile and row paths; the derivations are above forward_tiles and
// backward_tiles.
inline vd normaliser(const Params& p, vd window_of_squares) { return p.bias + p.alpha * window_of_squares; }
inline vd output(vd x, const Powers& n) { return x * n.scale; }
inline vd gradient_term(vd g, vd y, const Powers& n) { return g * y * n.inverse; }  // g y / N
inline vd direct_gradient(vd g, const Powers& n) { return g * n.scale; }            // g N^-beta
inline vd input_gradient(vd direct, vd x, vd window_of_terms, double coefficient) {
  return direct + coefficient * x * window_of_terms;
}

// Runs pass(powers) with the fast powers, and again with the exact ones if any normaliser it met left the fast
// domain, n in [2^-100, 2^100]: there the target's reciprocal-sqrt estimate is valid (even through float) and
// the refinement (powers-inl.h) converges. Zeros, Inf, NaN and subnormals all fall outside. The check rides along
// with the pass, and the rare rerun overwrites everything the first run wrote.
template <BetaKind K, bool Precise>
struct FastPowers {
  // NaN fails both comparisons. AVX-512 compares into mask registers, which GCC ANDs as they are. Elsewhere the
  // results are cast to integer lanes first: left as comparison results, their AND is lowered lane by lane through
  // general registers on SSE2 (cc/kernel/PERFORMANCE.md).
#if defined(__AVX512F__)
  using Mask = vl;
  static Mask in_range(vd n) { return (n >= 0x1p-100) & (n <= 0x1p100); }
#else
  using Mask = vq;
  static Mask in_range(vd n) { return (vq)(n >= 0x1p-100) & (vq)(n <= 0x1p100); }
#endif
  Mask in_domain = ~Mask{};
  Powers operator()(vd n, double beta) {
    in_domain &= in_range(n);
    return fast_powers<K, Precise>(n, beta);
  }
  bool all_in_domain() const {
    bool all = true;
    for (int64_t l = 0; l < kStripLanes; ++l) all = all && in_domain[l];
    return all;
  }
};

template <BetaKind K>
struct ExactPowers {
  Powers operator()(vd n, double beta) const { return exact_powers<K>(n, beta); }
};

template <class T, BetaKind K, class Pass>
inline void with_powers(Pass pass) {
  FastPowers<K, std::is_same<T, double>::value> fast;
  pass(fast);
  if (fast.all_in_domain()) return;
  ExactPowers<K> exact;
  pass(exact);
}

// ---------------------------------------------------------------------------------------------------------------
// Forward, with the window [c - before, c + after]:
//   N_c = bias + alpha * sum_{c - before <= k <= c + after} x_k^2
//   y_c = x_c * N_c^-beta
template <class T, BetaKind K>
bool forward_tiles(const T* x, T* y, const Layout& layout, const Params& p, int64_t begin, int64_t end) {
  const int64_t depth = layout.depth;
  const WindowPlan plan(depth, p.before, p.after);
  auto buffer = scratch(depth, 3);
  if (!plan.ok() || !buffer) return false;
  Lanes* xs = buffer.get();
  Lanes* pre = xs + depth + 1;
  Lanes* suf = pre + depth + 1;
  for (int64_t tile = begin; tile < end; ++tile) {
    const Tile pixels = make_tile(layout, tile);
    square_sums(x, pixels, plan, xs, pre, suf);
    with_powers<T, K>([&](auto& powers) {
      for_each_block(depth, [&](int64_t c0, int64_t count) {
        for (int64_t s = 0; s < kStripsPerTile; ++s) {
          vd block[kStripLanes];
          for (int64_t j = 0; j < count; ++j) {
            const vd n = normaliser(p, plan.sum(pre, suf, c0 + j, s));
            block[j] = output(xs[c0 + j].s[s], powers(n, p.beta));
          }
          store_block(y, pixels.strips[s], c0, count, block);
        }
      });
    });
  }
  return true;
}

// Backward. With N_i as above and y_i = x_i N_i^-beta,
//   dy_i/dx_j = [i == j] N_j^-beta - beta x_i N_i^(-beta-1) dN_i/dx_j,
//   dN_i/dx_j = 2 alpha x_j [i - before <= j <= i + after]
// so for an upstream gradient g:
//   dx_j = g_j N_j^-beta - 2 alpha beta x_j sum_{j - after <= i <= j + before} g_i y_i / N_i
// The sum runs over the transposed window (WindowPlan::transposed_sum), which is the forward's own for a symmetric
// one. As in TF's LRNGrad, y is the given
// output_image, and N is recomputed from x: the gradient op's inputs are fixed (those of tf.raw_ops.LRNGrad), and
// recomputing N costs one pass over data already in cache.
template <class T, BetaKind K>
bool backward_tiles(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p,
                    int64_t begin, int64_t end) {
  const int64_t depth = layout.depth;
  const WindowPlan plan(depth, p.before, p.after);
  auto buffer = scratch(depth, 5);
  if (!plan.ok() || !buffer) return false;
  Lanes* xs = buffer.get();
  Lanes* direct = xs + depth + 1;
  Lanes* ts = direct + depth + 1;
  Lanes* pre = ts + depth + 1;
  Lanes* suf = pre + depth + 1;
  const double coefficient = -2.0 * p.alpha * p.beta;
  for (int64_t tile = begin; tile < end; ++tile) {
    const Tile pixels = make_tile(layout, tile);
    square_sums(x, pixels, plan, xs, pre, suf);
    // t_c = g_c y_c / N_c, and the pieces of dx_c that do not need its window sum.
    with_powers<T, K>([&](auto& powers) {
      for_each_block(depth, [&](int64_t c0, int64_t count) {
        for (int64_t s = 0; s < kStripsPerTile; ++s) {
          vd g[kStripLanes], out[kStripLanes];
          load_block(dy, pixels.strips[s], c0, count, g);
          load_block(y, pixels.strips[s], c0, count, out);
          for (int64_t j = 0; j < count; ++j) {
            const Powers n = powers(normaliser(p, plan.sum(pre, suf, c0 + j, s)), p.beta);
            direct[c0 + j].s[s] = direct_gradient(g[j], n);
            ts[c0 + j].s[s] = gradient_term(g[j], out[j], n);
          }
        }
      });
    });
    auto prefix = plan.prefix();
    for (int64_t c = 0; c < depth; ++c) prefix.put(pre, c, ts[c]);
    plan.suffix(pre, suf, [&](int64_t c) { return ts[c]; });
    for_each_block(depth, [&](int64_t c0, int64_t count) {
      for (int64_t s = 0; s < kStripsPerTile; ++s) {
        vd block[kStripLanes];
        for (int64_t j = 0; j < count; ++j) {
          const int64_t c = c0 + j;
          block[j] = input_gradient(direct[c].s[s], xs[c].s[s], plan.transposed_sum(pre, suf, c, s), coefficient);
        }
        store_block(dx, pixels.strips[s], c0, count, block);
      }
    });
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Rows (rows-inl.h): the same formulas, with the direct window sums.
template <class T, BetaKind K>
bool forward_rows(const T* x, T* y, const Layout& layout, const Params& p, int64_t begin, int64_t end) {
  const RowRuns runs(layout, p, 1, 1);
  if (!runs.ok()) return false;
  double* xs = runs.plain(0);
  double* squares = runs.padded(1, 0);
  runs.for_each(layout, begin, end, [&](int64_t first, int64_t size) {
    load_squares(x + first, size, runs.before(), xs, squares);
    with_powers<T, K>([&](auto& powers) {
      for (int64_t c = 0; c < size; c += kStripLanes) {
        const vd n = normaliser(p, runs.window(squares, c));
        store_run(y + first, c, size, output(load<vd>(xs + c), powers(n, p.beta)));
      }
    });
  });
  return true;
}

template <class T, BetaKind K>
bool backward_rows(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p,
                   int64_t begin, int64_t end) {
  const RowRuns runs(layout, p, 2, 2);
  if (!runs.ok()) return false;
  const int64_t lead = runs.after();  // the terms' lead, for the transposed window
  double* xs = runs.plain(0);
  double* direct = runs.plain(1);
  double* squares = runs.padded(2, 0);
  double* terms = runs.padded(2, 1);
  const double coefficient = -2.0 * p.alpha * p.beta;
  runs.for_each(layout, begin, end, [&](int64_t first, int64_t size) {
    load_squares(x + first, size, runs.before(), xs, squares);
    with_powers<T, K>([&](auto& powers) {
      for (int64_t c = 0; c < size; c += kStripLanes) {
        const Powers n = powers(normaliser(p, runs.window(squares, c)), p.beta);
        const vd g = load_run(dy + first, c, size);
        store(direct + c, direct_gradient(g, n));
        store(terms + lead + c, gradient_term(g, load_run(y + first, c, size), n));
      }
    });
    // The lanes past the run's end hold g y / N of zero padding, which may be 0 / 0: they must read as zero.
    for (int64_t c = size; c < (size + kStripLanes - 1) / kStripLanes * kStripLanes; ++c) terms[lead + c] = 0.0;
    for (int64_t c = 0; c < size; c += kStripLanes) {
      const vd gradient =
          input_gradient(load<vd>(direct + c), load<vd>(xs + c), runs.template window<true>(terms, c), coefficient);
      store_run(dx + first, c, size, gradient);
    }
  });
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Planes (planes-inl.h): the same formulas, with the direct window sums of a block of pixels, in channel order. A
// share may cut the channels too: it computes the outputs of its own, from the squares (and, backward, the terms) of
// the channels their windows reach. A block in which some normaliser left the fast powers' domain is computed again,
// each output outside it with the exact powers, lane by lane: so every output depends on its own window alone, and
// any share of the planes gives the same bits.

// The powers of n on the plane path: the fast ones, their domain ANDed into in_domain; or kSelected, the exact ones in
// the lanes outside that domain.
template <BetaKind K, bool Precise, bool kSelected, class Mask>
inline Powers plane_powers(vd n, double beta, Mask& in_domain) {
  const Mask inside = FastPowers<K, Precise>::in_range(n);
  const Powers fast = fast_powers<K, Precise>(n, beta);
  if constexpr (!kSelected) {
    in_domain &= inside;
    return fast;
  } else {
    const Powers exact = exact_powers<K>(n, beta);
    return {inside ? fast.scale : exact.scale, inside ? fast.inverse : exact.inverse};
  }
}

template <class Mask>
inline bool all_lanes(Mask mask) {
  bool all = true;
  for (int64_t l = 0; l < kStripLanes; ++l) all = all && mask[l];
  return all;
}

// Channel c's squares into the ring: zeros for a channel outside [0, depth). Forced inline: GCC called it, once per
// channel, and the NCHW backward was 5-10% slower.
template <class T>
__attribute__((always_inline)) inline void put_squares(const PlaneRing& squares, const T* block, int64_t c,
                                                       const Layout& layout, int64_t count, int64_t vectors) {
  if (c < 0 || c >= layout.depth) return squares.clear(c, vectors);
  const T* plane = block + c * layout.inner;
  if (c + kPrefetchPlanes < layout.depth) prefetch_plane(plane + kPrefetchPlanes * layout.inner, count);
  const PlaneRing::Writer writer = squares.writer(c);
  for (int64_t v = 0; v < vectors * kStripLanes; v += kStripLanes) {
    const vd value = load_run(plane, v, count);
    writer.put(v, value * value);
  }
}

// One block of `count` pixels (x and y from its channel 0), over the channels [begin, end); false if some normaliser
// left the fast domain (never with kSelected). The blocks are functions with their values as arguments: written as
// lambdas inside the loop over blocks, every value was read through the closure again after each store (which may
// alias it), and the backward took 8-15% longer on avx2 and SSE2. Never inlined: left to GCC, inlining them moved its
// choices for the rows too, and the SSE2 rows' forward at TF's defaults took 3.71 ns per element instead of 3.05.
// In a float32 call that the binomial path takes (binomial-inl.h), kLeft computes and writes only the lanes that its
// pass left: bit l of left[(c - begin) * wide vectors per channel + v / kWideLanes] stands for lane v + l of channel c.
template <class T, BetaKind K, bool kSelected, LaneChoice kLanes = LaneChoice::kAll>
__attribute__((noinline)) bool forward_plane_block(const PlaneRing& squares, const T* x, T* y, const Layout& layout,
                                                   const Params& p, int64_t before, int64_t after, int64_t begin,
                                                   int64_t end, int64_t count, const Marks* left = nullptr) {
  constexpr bool kPrecise = std::is_same<T, double>::value;
  using Mask = typename FastPowers<K, kPrecise>::Mask;
  Mask in_domain = ~Mask{};
  const int64_t inner = layout.inner, width = before + after + 1;
  const int64_t vectors = (count + kStripLanes - 1) / kStripLanes;
  for (int64_t c = begin - before; c < begin + after; ++c) put_squares(squares, x, c, layout, count, vectors);
  for (int64_t c = begin; c < end; ++c) {
    put_squares(squares, x, c + after, layout, count, vectors);
    const T* plane = x + c * inner;
    T* out = y + c * inner;
    if (c + kPrefetchPlanes < end) prefetch_plane<1>(out + kPrefetchPlanes * inner, count);
    const PlaneRing::Window window = squares.window(c - before, width);
    const Marks* lanes = kLanes == LaneChoice::kLeft ? left + (c - begin) * ((count + kWideLanes - 1) / kWideLanes)
                                                     : nullptr;
    for (int64_t v = 0; v < vectors * kStripLanes; v += kStripLanes) {
      const int bits = kLanes == LaneChoice::kLeft ? lanes[v / kWideLanes] >> (v % kWideLanes) & kAllStrip : kAllStrip;
      if (kLanes == LaneChoice::kLeft && bits == 0) continue;
      const vd n = normaliser(p, window.sum(v));
      const Powers powers = plane_powers<K, kPrecise, kSelected>(n, p.beta, in_domain);
      if constexpr (kLanes == LaneChoice::kAll) {
        store_run(out, v, count, output(load_run(plane, v, count), powers));
      } else {
        store_lanes(out, v, count, output(load_run(plane, v, count), powers), bits);
      }
    }
  }
  return all_lanes(in_domain);
}

template <class T, BetaKind K>
bool forward_planes(const T* x, T* y, const Layout& layout, const Params& p, const Share& share) {
  const int64_t before = effective_extent(p.before, layout.depth), after = effective_extent(p.after, layout.depth);
  const PlaneScratch memory(PlaneRing::doubles(before + after + 1));
  if (!memory.get()) return false;
  const PlaneRing squares(memory.get(), before + after + 1);
  for_each_plane_block(layout, share.tile_begin, share.tile_end, kPlaneLanes, [&](int64_t offset, int64_t count) {
    const auto block = [&](auto selected) {
      return forward_plane_block<T, K, decltype(selected)::value>(squares, x + offset, y + offset, layout, p, before,
                                                                  after, share.channel_begin, share.channel_end, count);
    };
    if (!block(std::false_type{})) block(std::true_type{});
  });
  return true;
}

// The backward streams two rings: the squares, ahead of channel c by `after`, and the terms g y / N, from which
// channel j = c - before's transposed window [j - after, j + before] is complete once channel c's term is in. A share
// of channels [begin, end) computes the terms of [begin - after, end + before).
struct BackwardPlanes {
  const Params& p;
  int64_t depth, inner, before, after, width;
  PlaneRing squares, terms;
  double* directs;  // g N^-beta of channels c - before .. c, one array each
  double coefficient;
};

// One block, as forward_plane_block; dy, x, y and dx from its channel 0.
template <class T, BetaKind K, bool kSelected>
__attribute__((noinline)) bool backward_plane_block(const BackwardPlanes& b, const T* dy, const T* x, const T* y,
                                                    T* dx, const Layout& layout, int64_t begin, int64_t end,
                                                    int64_t count) {
  constexpr bool kPrecise = std::is_same<T, double>::value;
  using Mask = typename FastPowers<K, kPrecise>::Mask;
  Mask in_domain = ~Mask{};
  const Params& p = b.p;
  const int64_t depth = b.depth, inner = b.inner, before = b.before, after = b.after, width = b.width;
  const PlaneRing squares = b.squares, terms = b.terms;
  double* const directs = b.directs;
  const double coefficient = b.coefficient;
  const int64_t vectors = (count + kStripLanes - 1) / kStripLanes;
  const int64_t first = begin - after;  // the first term that the share's windows hold
  for (int64_t c = first - before; c < first + after; ++c) put_squares(squares, x, c, layout, count, vectors);
  for (int64_t c = first; c < end + before; ++c) {
    if (c < depth) put_squares(squares, x, c + after, layout, count, vectors);
    if (c < 0 || c >= depth) {
      terms.clear(c, vectors);
    } else {
      const T* g_plane = dy + c * inner;
      const T* y_plane = y + c * inner;
      if (c + kPrefetchPlanes < depth) {
        prefetch_plane(g_plane + kPrefetchPlanes * inner, count);
        prefetch_plane(y_plane + kPrefetchPlanes * inner, count);
      }
      double* direct = directs + c % (before + 1) * kPlaneLanes;
      const PlaneRing::Window window = squares.window(c - before, width);
      const PlaneRing::Writer term = terms.writer(c);
      for (int64_t v = 0; v < vectors * kStripLanes; v += kStripLanes) {
        const Powers n = plane_powers<K, kPrecise, kSelected>(normaliser(p, window.sum(v)), p.beta, in_domain);
        const vd g = load_run(g_plane, v, count);
        store(direct + v, direct_gradient(g, n));
        term.put(v, gradient_term(g, load_run(y_plane, v, count), n));
      }
    }
    const int64_t j = c - before;
    if (j < begin) continue;
    const double* direct = directs + j % (before + 1) * kPlaneLanes;
    const T* x_plane = x + j * inner;
    T* out = dx + j * inner;
    if (j + kPrefetchPlanes < end) prefetch_plane<1>(out + kPrefetchPlanes * inner, count);
    const PlaneRing::Window window = terms.window(j - after, width);
    for (int64_t v = 0; v < vectors * kStripLanes; v += kStripLanes) {
      const vd gradient = input_gradient(load<vd>(direct + v), load_run(x_plane, v, count), window.sum(v), coefficient);
      store_run(out, v, count, gradient);
    }
  }
  return all_lanes(in_domain);
}

template <class T, BetaKind K>
bool backward_planes(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p,
                     const Share& share) {
  const int64_t before = effective_extent(p.before, layout.depth), after = effective_extent(p.after, layout.depth);
  const int64_t width = before + after + 1;
  const int64_t ring = PlaneRing::doubles(width);
  const PlaneScratch memory(2 * ring + (before + 1) * kPlaneLanes);
  if (!memory.get()) return false;
  const BackwardPlanes planes{p,
                              layout.depth,
                              layout.inner,
                              before,
                              after,
                              width,
                              PlaneRing(memory.get(), width),
                              PlaneRing(memory.get() + ring, width),
                              memory.get() + 2 * ring,
                              -2.0 * p.alpha * p.beta};
  for_each_plane_block(layout, share.tile_begin, share.tile_end, kPlaneLanes, [&](int64_t offset, int64_t count) {
    const auto block = [&](auto selected) {
      return backward_plane_block<T, K, decltype(selected)::value>(planes, dy + offset, x + offset, y + offset,
                                                                   dx + offset, layout, share.channel_begin,
                                                                   share.channel_end, count);
    };
    if (!block(std::false_type{})) block(std::true_type{});
  });
  return true;
}

#if LRN_BINOMIAL
// The binomial forward of a float32 call (kernel/forward-binomial-inl.h): false if the call does not take it, else
// whether its scratch was allocated (*ok). Compiled in a translation unit of its own, lrn_binomial.cc: here, its code
// used up GCC's inlining budget for this one (--param inline-unit-growth), and the avx2 rows' backward called
// exp_fast and log_fast out of line, 6.6 ns per element at beta 0.6 became 9.5.
template <BetaKind K>
bool forward_binomial(const float* x, float* y, const Layout& layout, const Params& p, const Share& share, bool* ok);
extern template bool forward_binomial<BetaKind::Half>(const float*, float*, const Layout&, const Params&,
                                                      const Share&, bool*);
extern template bool forward_binomial<BetaKind::ThreeQuarters>(const float*, float*, const Layout&, const Params&,
                                                               const Share&, bool*);
extern template bool forward_binomial<BetaKind::One>(const float*, float*, const Layout&, const Params&, const Share&,
                                                     bool*);
extern template bool forward_binomial<BetaKind::General>(const float*, float*, const Layout&, const Params&,
                                                         const Share&, bool*);
#endif

// Entry points: the path chosen and beta's special cases resolved once per call instead of once per element. Only the
// plane path takes a share of the channels (splits_channels); the others take whole tiles.
inline bool splits_channels(const Layout& layout, const Params& p) { return use_planes(layout, p); }

template <class T, BetaKind K>
bool forward_path(const T* x, T* y, const Layout& layout, const Params& p, const Share& share) {
#if LRN_BINOMIAL
  if constexpr (std::is_same<T, float>::value) {
    bool ok;
    if (forward_binomial<K>(x, y, layout, p, share, &ok)) return ok;
  }
#endif
  if (use_rows(layout, p)) return forward_rows<T, K>(x, y, layout, p, share.tile_begin, share.tile_end);
  if (use_planes(layout, p)) return forward_planes<T, K>(x, y, layout, p, share);
  return forward_tiles<T, K>(x, y, layout, p, share.tile_begin, share.tile_end);
}

template <class T, BetaKind K>
bool backward_path(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p,
                   const Share& share) {
  if (use_rows(layout, p)) return backward_rows<T, K>(dy, x, y, dx, layout, p, share.tile_begin, share.tile_end);
  if (use_planes(layout, p)) return backward_planes<T, K>(dy, x, y, dx, layout, p, share);
  return backward_tiles<T, K>(dy, x, y, dx, layout, p, share.tile_begin, share.tile_end);
}

template <class T>
bool forward(const T* x, T* y, const Layout& layout, const Params& p, const Share& share) {
  switch (beta_kind(p.beta)) {
    case BetaKind::Half: return forward_path<T, BetaKind::Half>(x, y, layout, p, share);
    case BetaKind::ThreeQuarters: return forward_path<T, BetaKind::ThreeQuarters>(x, y, layout, p, share);
    case BetaKind::One: return forward_path<T, BetaKind::One>(x, y, layout, p, share);
    default: return forward_path<T, BetaKind::General>(x, y, layout, p, share);
  }
}

template <class T>
bool backward(const T* dy, const T* x, const T* y, T* dx, const Layout& layout, const Params& p, const Share& share) {
  switch (beta_kind(p.beta)) {
    case BetaKind::Half: return backward_path<T, BetaKind::Half>(dy, x, y, dx, layout, p, share);
    case BetaKind::ThreeQuarters: return backward_path<T, BetaKind::ThreeQuarters>(dy, x, y, dx, layout, p, share);
    case BetaKind::One: return backward_path<T, BetaKind::One>(dy, x, y, dx, layout, p, share);
    default: return backward_path<T, BetaKind::General>(dy, x, y, dx, layout, p, share);
  }
}

}  // namespace LRN_ISA
}  // namespace lrn

// Splits the tiles of one call over the cores, for the front ends that bring no thread pool of their own (numpy's,
// XLA's custom calls). Tiles are independent, so the split never changes the result.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace lrn {

// A thread gets at least this many tiles (of kTileLanes pixels each): below it, starting the thread costs more than
// it saves.
constexpr int64_t kMinTilesPerThread = 16;

// Runs body(begin, end) over [0, tiles) in contiguous chunks, one per thread, and returns false if any call did
// (the kernels' "no scratch memory").
template <class Body>
bool parallel_tiles(int64_t tiles, Body body) {
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const int64_t threads = std::clamp<int64_t>(tiles / kMinTilesPerThread, 1, cores);
  std::vector<char> ok(static_cast<size_t>(threads), 1);
  std::vector<std::thread> pool;
  for (int64_t k = 1; k < threads; ++k) {
    pool.emplace_back([&, k] { ok[k] = body(tiles * k / threads, tiles * (k + 1) / threads); });
  }
  ok[0] = body(0, tiles / threads);
  for (auto& thread : pool) thread.join();
  return std::find(ok.begin(), ok.end(), 0) == ok.end();
}

}  // namespace lrn

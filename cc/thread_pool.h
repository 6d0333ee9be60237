// lrn_op's one persistent thread pool, for the front ends whose host brings none that the kernels can use (numpy,
// torch, XLA's custom calls). Workers are started when first needed, never more than a call may use, and park
// between calls.
#pragma once

#include <cstdint>
#include <functional>

namespace lrn {

// The CPUs this process may run on (its affinity mask, as taskset or a container's cpuset sets it), at least 1.
int allowed_cpus();

// Runs body(begin, end) over [0, count) in `threads` contiguous chunks, on the calling thread and up to threads - 1
// parked workers, every chunk under the caller's floating-point mode (fp_mode.h). Chunks are disjoint, so the split
// never changes what body computes. Callers at once share the workers; a call made from inside a chunk runs on its
// own thread; if a worker cannot be started, the chunks run on the threads there are. An exception from body is
// rethrown here, after every chunk has ended.
void parallel_for(int64_t count, int threads, const std::function<void(int64_t begin, int64_t end)>& body);

}  // namespace lrn

#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "fp_mode.h"

namespace lrn {
namespace {

using Body = std::function<void(int64_t, int64_t)>;

// How long a worker that ran out of work, and a caller waiting for its workers, poll before they sleep on a
// condition variable: long enough to cover the gap between two calls of a layer-by-layer model, or a worker's last
// chunk, so that neither pays a futex wake-up (tens of microseconds) on the next call; short enough that an idle
// pool costs nothing measurable (cc/kernel/PERFORMANCE.md).
constexpr auto kSpin = std::chrono::microseconds(100);

inline void relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Polls done() for up to kSpin; true if it came true.
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
    if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) return false;
    relax();
  }
}

// True on a thread while it runs a call's chunks (a worker always): a call made from inside a chunk runs on that
// thread alone, since the threads that could help are the ones already busy with the outer call.
thread_local bool inside_pool = false;

// One call's work: chunk k of `chunks` is [count * k / chunks, count * (k + 1) / chunks). Participants take chunks
// by number until none is left, so a worker slow to wake costs nothing but its share moving to another thread.
struct Job {
  Job(const Body& body, int64_t count, int64_t chunks) : body(&body), count(count), chunks(chunks) {}

  const Body* body;
  int64_t count;
  int64_t chunks;
  FpControl control = fp_control();  // the caller's floating-point mode, under which every chunk runs
  std::atomic<int64_t> next{0};
  std::atomic<bool> complete{false};  // every chunk recorded and no worker inside: set under Pool::mutex_
  // Under Pool::mutex_:
  int64_t finished = 0;
  int users = 0;  // workers inside run_chunks()
  std::exception_ptr error;

  bool has_chunks_left() const { return next.load(std::memory_order_relaxed) < chunks; }

  // Runs chunks until none is left; returns how many this thread ran, and keeps the first exception in `failure`.
  int64_t run_chunks(std::exception_ptr* failure) {
    int64_t ran = 0;
    for (int64_t k = next++; k < chunks; k = next++, ++ran) {
      try {
        (*body)(count * k / chunks, count * (k + 1) / chunks);
      } catch (...) {
        if (!*failure) *failure = std::current_exception();
      }
    }
    return ran;
  }

  // Under Pool::mutex_.
  void record(int64_t ran, const std::exception_ptr& failure) {
    finished += ran;
    if (failure && !error) error = failure;
    if (finished == chunks && users == 0) complete.store(true, std::memory_order_release);
  }
};

// Callers post jobs; every worker serves the oldest job with chunks left, then the next, then parks. Two callers at
// once (TF's inter-op threads) share the workers: each runs its own chunks, and the workers help whichever job
// still has some.
class Pool {
 public:
  void run(int64_t count, int threads, const Body& body) {
    if (inside_pool) return body(0, count);
    inside_pool = true;
    struct Leave {
      ~Leave() { inside_pool = false; }
    } leave;
    Job job(body, count, threads);
    std::unique_lock<std::mutex> lock(mutex_);
    if (start_workers(threads - 1) == 0) {
      lock.unlock();
      return body(0, count);
    }
    jobs_.push_back(&job);
    generation_.fetch_add(1, std::memory_order_release);
    if (sleeping_ > 0) wake_.notify_all();  // spinning workers see the generation change by themselves
    lock.unlock();
    std::exception_ptr failure;
    const int64_t ran = job.run_chunks(&failure);  // on the caller's own thread, in its own mode
    lock.lock();
    job.record(ran, failure);
    lock.unlock();
    if (!spin_until([&] { return job.complete.load(std::memory_order_acquire); })) {
      lock.lock();
      done_.wait(lock, [&] { return job.complete.load(std::memory_order_acquire); });
      lock.unlock();
    }
    lock.lock();
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
    lock.unlock();
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  // Under mutex_: starts workers until there are `wanted`; returns how many there are (fewer if the system refuses a
  // thread). A new worker counts the jobs posted from now on as its own to serve, the one about to be posted
  // included.
  int start_workers(int wanted) {
    while (static_cast<int>(workers_.size()) < wanted) {
      try {
        workers_.emplace_back([this, seen = generation_.load(std::memory_order_relaxed)] {
          pthread_setname_np(pthread_self(), "lrn_op pool");  // as tests and `top -H` see it
          serve(seen);
        });
      } catch (const std::system_error&) {
        break;
      }
    }
    return std::min<int>(wanted, static_cast<int>(workers_.size()));
  }

  Job* oldest_with_chunks_left() const {
    for (Job* job : jobs_) {
      if (job->has_chunks_left()) return job;
    }
    return nullptr;
  }

  void serve(uint64_t seen) {
    inside_pool = true;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      const auto posted = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      lock.unlock();
      const bool early = spin_until(posted);
      lock.lock();
      if (!early) {
        ++sleeping_;
        wake_.wait(lock, posted);
        --sleeping_;
      }
      seen = generation_.load(std::memory_order_relaxed);
      for (Job* job = oldest_with_chunks_left(); job != nullptr; job = oldest_with_chunks_left()) {
        ++job->users;
        lock.unlock();
        std::exception_ptr failure;
        int64_t ran;
        {
          FpControlScope mode(job->control);
          ran = job->run_chunks(&failure);
        }
        lock.lock();
        --job->users;
        job->record(ran, failure);
        done_.notify_all();
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<Job*> jobs_;  // posted and not yet finished, oldest first
  std::atomic<uint64_t> generation_{0};  // bumped at every post, under mutex_; read by spinning workers without it
  int sleeping_ = 0;  // workers waiting on wake_
  std::vector<std::thread> workers_;  // parked for the life of the process, never joined
};

// The pool is never destroyed: its workers stay parked until the process exits. A child made by fork() has none of
// its parent's threads, so it starts a pool of its own; the parent's is left as it was, untouched.
std::atomic<Pool*> the_pool{nullptr};

Pool& pool() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { the_pool.store(nullptr); });
    return true;
  }();
  (void)registered;
  Pool* current = the_pool.load();
  if (current != nullptr) return *current;
  auto fresh = std::make_unique<Pool>();
  if (the_pool.compare_exchange_strong(current, fresh.get())) return *fresh.release();
  return *current;
}

}  // namespace

int allowed_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

void parallel_for(int64_t count, int threads, const Body& body) {
  threads = static_cast<int>(std::clamp<int64_t>(threads, 1, std::max<int64_t>(count, 1)));
  if (threads == 1) {
    body(0, count);
  } else {
    pool().run(count, threads, body);
  }
}

}  // namespace lrn

#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace lrn {
namespace {

using Body = std::function<void(int64_t, int64_t)>;

// One call's work: chunk k of `chunks` is [count * k / chunks, count * (k + 1) / chunks). Participants take chunks
// by number until none is left, so a worker slow to wake costs nothing but its share moving to another thread.
struct Job {
  Job(const Body& body, int64_t count, int64_t chunks) : body(&body), count(count), chunks(chunks) {}

  const Body* body;
  int64_t count;
  int64_t chunks;
  std::atomic<int64_t> next{0};
  // Under Pool::mutex_ while workers serve the job:
  int64_t finished = 0;
  int users = 0;  // workers inside work()
  std::exception_ptr error;

  // Runs chunks until none is left, then adds what this thread did to `finished` and `error` (under the lock the
  // caller holds, if any).
  template <class Lock>
  void work(Lock& lock) {
    int64_t ran = 0;
    std::exception_ptr failure;
    for (int64_t k = next++; k < chunks; k = next++, ++ran) {
      try {
        (*body)(count * k / chunks, count * (k + 1) / chunks);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    lock.lock();
    finished += ran;
    if (failure && !error) error = failure;
  }
};

class Pool {
 public:
  void run(int64_t count, int threads, const Body& body) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    // Another caller has the workers, or none could be started: this one runs alone.
    threads = busy.owns_lock() ? 1 + start_workers(threads - 1) : 1;
    if (threads == 1) return body(0, count);
    Job job(body, count, threads);
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = &job;
    ++generation_;
    wake_.notify_all();
    lock.unlock();
    job.work(lock);
    done_.wait(lock, [&] { return job.finished == job.chunks && job.users == 0; });
    job_ = nullptr;
    lock.unlock();
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  // Starts workers until there are `wanted`; returns how many there are (fewer if the system refuses a thread).
  int start_workers(int wanted) {
    while (static_cast<int>(workers_.size()) < wanted) {
      try {
        workers_.emplace_back([this] {
          pthread_setname_np(pthread_self(), "lrn_op pool");  // as tests and `top -H` see it
          serve();
        });
      } catch (const std::system_error&) {
        break;
      }
    }
    return std::min<int>(wanted, static_cast<int>(workers_.size()));
  }

  void serve() {
    std::unique_lock<std::mutex> lock(mutex_);
    uint64_t seen = generation_;
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      Job* job = job_;
      if (job == nullptr) continue;
      ++job->users;
      lock.unlock();
      job->work(lock);
      --job->users;
      done_.notify_all();
    }
  }

  std::mutex busy_;  // held by the caller whose job the workers serve
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;
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

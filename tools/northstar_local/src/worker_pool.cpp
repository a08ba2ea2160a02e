// worker_pool.cpp: WorkerPool, a growing thread pool for httplib connections.
#include "worker_pool.h"

#include <chrono>

namespace northstar_local::detail {
namespace {

// A worker with nothing to do for this long exits (while more than min_workers are alive).
constexpr std::chrono::seconds kIdleExit{30};

}  // namespace

WorkerPool::WorkerPool(std::size_t min_workers, std::size_t max_workers)
    : min_workers_(min_workers), max_workers_(max_workers < 1 ? 1 : max_workers) {}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::enqueue(std::function<void()> fn) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    tasks_.push_back(std::move(fn));
    if (idle_ < tasks_.size() && workers_ < max_workers_) {
      ++workers_;
      threads_.emplace_back([this] { work(); });
    }
  }
  wake_.notify_one();
}

void WorkerPool::shutdown() {
  std::vector<std::thread> threads;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // Workers may still start new threads until they see stopping_; collect until none are left.
  for (;;) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      threads.swap(threads_);
    }
    if (threads.empty()) break;
    for (std::thread& thread : threads) {
      if (thread.joinable()) thread.join();
    }
    threads.clear();
  }
}

void WorkerPool::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idle_;
    const bool got =
        wake_.wait_for(lock, kIdleExit, [this] { return stopping_ || !tasks_.empty(); });
    --idle_;
    if (tasks_.empty()) {
      if (stopping_ || (!got && workers_ > min_workers_)) break;
      continue;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
  --workers_;
  // An exiting worker's std::thread stays in threads_ until shutdown() joins it; detach the ones
  // that leave while the pool keeps running so the vector does not grow without bound.
  if (!stopping_) {
    const auto self = std::this_thread::get_id();
    for (auto it = threads_.begin(); it != threads_.end(); ++it) {
      if (it->get_id() == self) {
        it->detach();
        threads_.erase(it);
        break;
      }
    }
  }
}

}  // namespace northstar_local::detail

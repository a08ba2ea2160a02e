// worker_pool.h: declares WorkerPool, the connection task queue behind the HTTP server: it starts a
// new worker whenever every worker is busy (up to a cap), so idle or slow connections that hold a
// worker each cannot starve the requests that arrive after them.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace northstar_local::detail {

// Thread-safety: enqueue() may be called from any thread; shutdown() once, from the owner (httplib
// calls it when listen ends). Workers idle for `idle_exit` leave (down to `min_workers`).
class WorkerPool final : public httplib::TaskQueue {
 public:
  WorkerPool(std::size_t min_workers, std::size_t max_workers);
  ~WorkerPool() override;

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues one connection; starts a worker when none is idle and the cap allows.
  void enqueue(std::function<void()> fn) override;
  // Runs the queued tasks to the end, then joins every worker.
  void shutdown() override;

 private:
  void work();

  const std::size_t min_workers_;
  const std::size_t max_workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  std::size_t workers_ = 0;  // live workers
  std::size_t idle_ = 0;     // workers waiting for a task
  bool stopping_ = false;
};

}  // namespace northstar_local::detail

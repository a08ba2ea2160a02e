// in_memory_sink.cpp: the ring-buffer sink for tests (contract §4.5).
#include "dagstack/logger/sinks/in_memory_sink.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <new>

#include "dagstack/logger/canonical_json.h"

namespace dagstack::logger {
namespace {
std::atomic<std::uint64_t> g_in_memory_seq{0};

// Every live InMemorySink, for the fork handler.
struct LiveMemorySinks {
  std::mutex mutex;
  std::vector<InMemorySink*> sinks;
};

LiveMemorySinks& live_memory_sinks() {
  static auto* live = new LiveMemorySinks();  // leaked: used by the fork handler
  return *live;
}
}  // namespace

// In the child of fork() only this thread exists; a lock held by another thread at the fork
// would never be released. Such a lock is re-initialised and what it guarded replaced (leaked:
// the other thread may have left it half-changed).
void InMemorySink::after_fork_child() noexcept {
  auto& live = live_memory_sinks();
  if (!live.mutex.try_lock()) {
    new (&live.mutex) std::mutex();
    new (&live.sinks) std::vector<InMemorySink*>();
    return;
  }
  for (InMemorySink* sink : live.sinks) {
    if (sink->mutex_.try_lock()) {
      sink->mutex_.unlock();
    } else {
      new (&sink->mutex_) std::mutex();
      new (&sink->records_) std::deque<OwnedLogRecord>();
    }
  }
  live.mutex.unlock();
}

InMemorySink::InMemorySink(std::size_t capacity, int min_severity)
    : capacity_(capacity == 0 ? 1 : capacity),
      min_severity_(min_severity),
      id_("in-memory:cap=" + std::to_string(capacity_) + "#" +
          std::to_string(g_in_memory_seq.fetch_add(1, std::memory_order_relaxed) + 1)) {
  static const bool fork_hook = [] {
    ::pthread_atfork(nullptr, nullptr, &InMemorySink::after_fork_child);
    return true;
  }();
  (void)fork_hook;
  auto& live = live_memory_sinks();
  std::lock_guard<std::mutex> lock(live.mutex);
  live.sinks.push_back(this);
}

InMemorySink::~InMemorySink() {
  auto& live = live_memory_sinks();
  std::lock_guard<std::mutex> lock(live.mutex);
  live.sinks.erase(std::remove(live.sinks.begin(), live.sinks.end(), this), live.sinks.end());
}

void InMemorySink::emit(const LogRecord& record) {
  OwnedLogRecord copy = OwnedLogRecord::from(record);
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  if (records_.size() >= capacity_) records_.pop_front();
  records_.push_back(std::move(copy));
}

FlushResult InMemorySink::flush(std::chrono::milliseconds /*timeout*/) { return FlushResult::ok(); }

void InMemorySink::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
}

std::vector<OwnedLogRecord> InMemorySink::records() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {records_.begin(), records_.end()};
}

std::vector<std::string> InMemorySink::lines() const {
  std::vector<std::string> out;
  for (const auto& r : records()) out.push_back(to_jsonl(r));
  return out;
}

std::size_t InMemorySink::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return records_.size();
}

void InMemorySink::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  records_.clear();
}

}  // namespace dagstack::logger

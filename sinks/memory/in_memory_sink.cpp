// in_memory_sink.cpp: the ring-buffer sink for tests (contract §4.5).
#include "dagstack/logger/sinks/in_memory_sink.h"

#include <atomic>

#include "dagstack/logger/canonical_json.h"

namespace dagstack::logger {
namespace {
std::atomic<std::uint64_t> g_in_memory_seq{0};
}  // namespace

InMemorySink::InMemorySink(std::size_t capacity, int min_severity)
    : capacity_(capacity == 0 ? 1 : capacity),
      min_severity_(min_severity),
      id_("in-memory:cap=" + std::to_string(capacity_) + "#" +
          std::to_string(g_in_memory_seq.fetch_add(1, std::memory_order_relaxed) + 1)) {}

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

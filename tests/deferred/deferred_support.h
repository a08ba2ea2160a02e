// deferred_support.h: sinks and a clock for the deferred-path tests.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/clock.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger::testing {

// Keeps every record as its canonical JSON line. Thread-safe.
class JsonLinesSink final : public Sink {
 public:
  explicit JsonLinesSink(std::string id = "jsonl") : id_(std::move(id)) {}
  std::string_view id() const noexcept override { return id_; }
  void emit(const LogRecord& record) override {
    std::string line;
    append_jsonl_record(record, line);
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(std::move(line));
  }
  FlushResult flush(std::chrono::milliseconds) override { return FlushResult::ok(); }
  void close() override {}
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_.size();
  }

 private:
  std::string id_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// A clock that advances by one microsecond per reading. Thread-safe.
class SteppingClock final : public Clock {
 public:
  std::uint64_t now_unix_nano() const noexcept override {
    return kStart + 1000 * next_.fetch_add(1, std::memory_order_relaxed);
  }
  void reset() noexcept { next_.store(0); }

 private:
  static constexpr std::uint64_t kStart = 1'780'000'000'000'000'000ULL;
  mutable std::atomic<std::uint64_t> next_{0};
};

}  // namespace dagstack::logger::testing

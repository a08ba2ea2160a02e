// in_memory_sink.h: declares `InMemorySink`, a ring buffer of records for tests.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "dagstack/logger/severity.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger {

// InMemorySink
//
// Keeps the last `capacity` records (the oldest is dropped when full) as owning copies, for tests
// of code that logs. id "in-memory:cap=<N>#<seq>" with a process-wide sequence. After close()
// emits are ignored but the records stay readable. Thread-safe. fork(): in the child, a lock held
// by another thread at the fork is re-initialised (the records it guarded are then replaced by an
// empty list, as that thread may have left them half-changed), so the child can log.
class InMemorySink final : public Sink {
 public:
  // `capacity` 0 is raised to 1.
  explicit InMemorySink(std::size_t capacity = 1000, int min_severity = kSeverityTrace);
  ~InMemorySink() override;

  std::string_view id() const noexcept override { return id_; }
  void emit(const LogRecord& record) override;
  FlushResult flush(std::chrono::milliseconds timeout) override;
  void close() override;
  bool supports_severity(int severity_number) const noexcept override {
    return severity_number >= min_severity_;
  }

  // A snapshot copy of the kept records, oldest first.
  std::vector<OwnedLogRecord> records() const;
  // The kept records as dagstack JSON lines (no trailing newlines).
  std::vector<std::string> lines() const;
  // How many records are kept now.
  std::size_t size() const;
  std::size_t capacity() const noexcept { return capacity_; }
  // Forgets every kept record.
  void clear();

 private:
  static void after_fork_child() noexcept;

  const std::size_t capacity_;
  const int min_severity_;
  std::string id_;
  mutable std::mutex mutex_;
  std::deque<OwnedLogRecord> records_;
  bool closed_ = false;
};

}  // namespace dagstack::logger

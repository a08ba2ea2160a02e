// sink.h: declares `Sink`, the interface every log destination implements, and `FlushResult`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/log_record.h"

namespace dagstack::logger {

// The default time a flush may take.
inline constexpr std::chrono::milliseconds kDefaultFlushTimeout{5000};

// FlushResult: what a flush or close achieved (contract §4.2).
struct FlushResult {
  struct FailedSink {
    std::string sink_id;
    std::string error;
  };
  bool success = true;   // every sink delivered everything
  bool partial = false;  // some, not all, sinks failed
  std::vector<FailedSink> failed_sinks;

  // A result for one sink: success, or failure with `error`.
  static FlushResult ok() { return {}; }
  static FlushResult failed(std::string_view sink_id, std::string_view error) {
    FlushResult r;
    r.success = false;
    r.failed_sinks.push_back({std::string(sink_id), std::string(error)});
    return r;
  }
};

// Sink
//
// Receives finished, already-redacted records. Thread-safe: every method may be called
// concurrently from any thread, and each sink does its own locking. A sink must not log through
// this library; it reports trouble with detail::report_internal (the internal channel).
class Sink {
 public:
  Sink() = default;
  virtual ~Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // Diagnostic id, e.g. "file:/var/log/app.jsonl". Stable for the sink's life.
  virtual std::string_view id() const noexcept = 0;

  // Writes one record. `record` and everything it points to are valid only for the call; copy
  // what you keep. Should not throw; if it does, the logger catches it, reports it on the
  // internal channel and goes on with the other sinks. After close() it is a silent no-op.
  virtual void emit(const LogRecord& record) = 0;

  // Blocks until buffered records are delivered or `timeout` passes; says which happened.
  virtual FlushResult flush(std::chrono::milliseconds timeout) = 0;

  // Flushes and releases resources; later emits are dropped. Idempotent.
  virtual void close() = 0;

  // Early-drop hint asked before emit: false means the sink would ignore this severity.
  virtual bool supports_severity(int /*severity_number*/) const noexcept { return true; }

  // Brackets a run of emit() calls made by one thread (an AsyncSink writer's batch): between
  // begin_batch() and end_batch() a sink may hold that thread's records and hand them on
  // together at end_batch(). Default: nothing (every emit stands alone).
  virtual void begin_batch() noexcept {}
  virtual void end_batch() noexcept {}

  // Write-behind: a sink whose end_batch() hands the batch to a thread of its own (FileSink)
  // returns here, right after end_batch() on the same thread, a ticket for every batch handed on
  // so far. Default 0: end_batch() has delivered the batch before it returns.
  virtual std::uint64_t batch_ticket() const noexcept { return 0; }
  // Returns once the batches up to `ticket` have reached the destination (written by the calling
  // thread when the sink's own thread lags). Failures are counted and reported as for emit().
  virtual void settle_batches(std::uint64_t /*ticket*/) noexcept {}

  // Called by the crash handler (a fatal signal or std::terminate, see crash_handler.h), possibly
  // while other threads still run and with this sink's locks held by the crashing thread: hands
  // on what the sink holds in memory, best effort, with async-signal-safe code (no blocking lock,
  // no allocation) and within a bounded time. Default: nothing.
  virtual void emergency_flush() noexcept {}

  // Also for the crash handler: writes one record at once under the same rules as
  // emergency_flush(). Returns false when the record was not written (default: not supported).
  virtual bool emergency_emit(const LogRecord& /*record*/) noexcept { return false; }
};

}  // namespace dagstack::logger

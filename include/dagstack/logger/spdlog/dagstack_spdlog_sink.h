// dagstack_spdlog_sink.h: declares `DagstackSpdlogSink`, an spdlog sink that feeds dagstack
// loggers, with `DagstackBridgeOptions`, `DagstackBridgeStats` and make_spdlog_to_dagstack_sink().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/sink.h>

#include "dagstack/logger/logger.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger {

struct DagstackBridgeOptions {
  // Default nullopt: each message goes to Logger::get(<spdlog logger name>) ("" is the root).
  // Set: every message goes to Logger::get(*logger_name).
  std::optional<std::string> logger_name;
  // Default nullopt. Set: every message goes to this handle (e.g. a child with bound attributes
  // or a with_sinks() logger); wins over logger_name.
  std::optional<Logger> logger;
  // Default true: code.filepath / code.lineno / code.function from the SPDLOG_LOGGER_* macros
  // (messages logged without a macro carry no source location).
  bool include_source_location = true;
  // Default true: thread.id = the OS thread id spdlog captured when the message was logged.
  bool include_thread_id = true;
  // Default true: an spdlog flush() (logger->flush(), flush_on(), flush_every()) flushes every
  // dagstack logger this sink has fed, each bounded by flush_timeout.
  bool forward_flush = true;
  std::chrono::milliseconds flush_timeout = kDefaultFlushTimeout;  // default 5 s
};

// Counters kept by a DagstackSpdlogSink (monotonic since construction).
struct DagstackBridgeStats {
  std::uint64_t forwarded = 0;  // messages that passed the dagstack level gate and were emitted
  std::uint64_t filtered = 0;   // messages stopped by the dagstack level gate (or level off)
  std::uint64_t dropped_recursive = 0;  // messages refused because they would loop (see below)
};

// DagstackSpdlogSink
//
// An spdlog sink that turns every spdlog message into a dagstack record, so existing spdlog code
// gets structured, redacted, trace-correlated records:
//   - severity: trace 1, debug 5, info 9, warn 13, err 17, critical 21; `off` is never emitted;
//   - instrumentation scope: the spdlog logger's name (see DagstackBridgeOptions);
//   - body: the formatted message (msg.payload); spdlog patterns do not apply, so set_pattern()
//     and set_formatter() are accepted and ignored;
//   - attributes: code.filepath, code.lineno, code.function (when the SPDLOG_LOGGER_* macros set
//     them) and thread.id;
//   - trace context: the dagstack logger reads the calling thread's current Context as for any
//     plain emit. With an spdlog *async* logger this sink runs on spdlog's worker thread, which
//     has no current Context: use a synchronous spdlog logger and put the dagstack AsyncSink in
//     front of slow dagstack sinks instead.
// The dagstack level gate of the target logger applies on top of the spdlog levels. The record
// time is the dagstack clock at the moment this sink runs (the same instant as msg.time for a
// synchronous spdlog logger).
//
// Loop guard: a message that reaches this sink while the same thread is already inside a
// DagstackSpdlogSink, or inside a dagstack-to-spdlog sink (make_spdlog_sink), is dropped, counted
// in stats().dropped_recursive and reported on `dagstack.logger.internal`; routing spdlog into
// dagstack and dagstack into other spdlog sinks (a chain, not a cycle) is fine.
//
// Thread-safe: log() and flush() may be called concurrently from any thread; no lock is held
// while the dagstack logger runs.
class DagstackSpdlogSink final : public ::spdlog::sinks::sink {
 public:
  explicit DagstackSpdlogSink(DagstackBridgeOptions options = {});

  // Emits `msg` through the dagstack logger chosen by the options. Never throws.
  void log(const ::spdlog::details::log_msg& msg) override;
  // Flushes the dagstack loggers this sink has fed when forward_flush is on. Never throws.
  void flush() override;
  // Ignored: the record body is always the message payload.
  void set_pattern(const std::string& pattern) override;
  // Ignored: the record body is always the message payload.
  void set_formatter(std::unique_ptr<::spdlog::formatter> sink_formatter) override;

  // A snapshot of the counters.
  DagstackBridgeStats stats() const noexcept;

 private:
  // Records `name` for flush forwarding.
  void remember(std::string_view name);

  DagstackBridgeOptions options_;  // never changed after construction
  const std::uint64_t seq_;        // process-unique id of this bridge
  std::atomic<std::uint64_t> forwarded_{0};
  std::atomic<std::uint64_t> filtered_{0};
  std::atomic<std::uint64_t> dropped_recursive_{0};
  std::mutex seen_mutex_;
  std::set<std::string, std::less<>>
      seen_;  // logger names fed, for flush(); guarded by seen_mutex_
};

// An spdlog sink (usable anywhere an spdlog::sink_ptr is) that feeds dagstack loggers:
// `spdlog::logger("db", make_spdlog_to_dagstack_sink())`.
std::shared_ptr<DagstackSpdlogSink> make_spdlog_to_dagstack_sink(
    DagstackBridgeOptions options = {});

}  // namespace dagstack::logger

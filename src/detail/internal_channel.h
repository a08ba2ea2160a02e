// internal_channel.h: reporting on the `dagstack.logger.internal` channel, and self-counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <string_view>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/log_record.h"

namespace dagstack::logger::detail {

struct Counters {
  std::atomic<std::uint64_t> sink_errors{0};
  std::atomic<std::uint64_t> severity_clamped{0};
  std::atomic<std::uint64_t> internal_reports{0};
  std::atomic<std::uint64_t> internal_suppressed{0};
  std::atomic<std::uint64_t> encode_errors{0};
  std::atomic<std::uint64_t> emits_after_shutdown{0};
  // Set by shutdown(), cleared by configure() with sinks and by Logger::reset().
  std::atomic<bool> shut_down{false};
  std::atomic<bool> after_shutdown_reported{false};
};
Counters& counters() noexcept;

// Emits a diagnostic record on dagstack.logger.internal. Never throws, never recurses (a report
// made while reporting is dropped), rate-limited (bursts of 50, then 10 per second; the number
// suppressed is reported with the next record that gets through).
void report_internal(int severity, std::string_view body, AttributeSpan attrs = {}) noexcept;

// Counts an emit that reached the sink list after shutdown() (its sinks are closed) and, the first
// time after each shutdown, says so on stderr (the internal channel's own sink is closed too).
void note_emit_after_shutdown() noexcept;

// True for a record of the library's own diagnostics channel (or a logger below it): exporting
// sinks drop these, so a failing export never loops on its own reports.
inline bool is_internal_record(const LogRecord& record) noexcept {
  return record.instrumentation_scope != nullptr &&
         std::string_view(record.instrumentation_scope->name).starts_with(kInternalLoggerName);
}

// The text of `e` for a report: what() of a user's exception may return nullptr (a broken
// override), which must not reach a std::string_view or std::string.
inline const char* what_of(const std::exception& e) noexcept {
  const char* w = e.what();
  return w != nullptr ? w : "(exception with a null what())";
}

// Convenience for sinks: reports a failure of `sink_id` with `error` at ERROR.
void report_sink_error(std::string_view sink_id, std::string_view what,
                       std::string_view error) noexcept;

}  // namespace dagstack::logger::detail

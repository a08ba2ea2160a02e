// internal_channel.h: reporting on the `dagstack.logger.internal` channel, and self-counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "dagstack/logger/attribute.h"

namespace dagstack::logger::detail {

struct Counters {
  std::atomic<std::uint64_t> sink_errors{0};
  std::atomic<std::uint64_t> severity_clamped{0};
  std::atomic<std::uint64_t> internal_reports{0};
  std::atomic<std::uint64_t> internal_suppressed{0};
  std::atomic<std::uint64_t> encode_errors{0};
};
Counters& counters() noexcept;

// Emits a diagnostic record on dagstack.logger.internal. Never throws, never recurses (a report
// made while reporting is dropped), rate-limited (bursts of 50, then 10 per second; the number
// suppressed is reported with the next record that gets through).
void report_internal(int severity, std::string_view body, AttributeSpan attrs = {}) noexcept;

// Convenience for sinks: reports a failure of `sink_id` with `error` at ERROR.
void report_sink_error(std::string_view sink_id, std::string_view what,
                       std::string_view error) noexcept;

}  // namespace dagstack::logger::detail

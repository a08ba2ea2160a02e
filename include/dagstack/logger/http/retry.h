// retry.h: declares the retry helpers the exporting sinks share: `BackoffPolicy`,
// `backoff_delay()` (exponential backoff with jitter, Retry-After honoured), `parse_retry_after()`
// and `excerpt()` (a bounded copy of a response body for reports).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dagstack::logger::http {

// BackoffPolicy: delays grow as initial * multiplier^(attempt-1), capped at max, then jitter
// picks a uniform delay in [delay * (1 - jitter), delay]; a Retry-After value (capped at
// max_retry_after) raises the delay to at least its value. Value type.
struct BackoffPolicy {
  std::chrono::milliseconds initial{500};            // default 0.5 s
  std::chrono::milliseconds max{30000};              // default 30 s
  double multiplier = 2.0;                           // default 2
  double jitter = 0.5;                               // default 0.5; 0 = none, 1 = full jitter
  std::chrono::milliseconds max_retry_after{60000};  // default 60 s
};

// The delay before retry number `attempt` (1 = the first retry). `uniform01` is a random number
// in [0, 1) from the caller's generator. Never throws.
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int attempt,
                                        std::optional<std::chrono::milliseconds> retry_after,
                                        double uniform01) noexcept;

// Parses a Retry-After value: delta-seconds (capped at 999999999 s) or an HTTP date (time until
// then, 0 when past). nullopt when empty or unparseable. Never throws.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) noexcept;

// At most `max_bytes` of `text` (cut on a UTF-8 boundary) plus "... (N bytes)" when cut: what a
// report may echo of a peer's answer.
std::string excerpt(std::string_view text, std::size_t max_bytes = 512);

}  // namespace dagstack::logger::http

// response.h (private): how the NorthStar sink reads an ingest response — the outcome of a
// status and body, and the Retry-After header. Pure functions, fuzzed by
// fuzz/northstar_response_fuzz.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "dagstack/logger/http/retry.h"
#include "dagstack/logger/northstar/http_transport.h"

namespace dagstack::logger::northstar::detail {

enum class ResponseOutcome {
  kAccepted,  // 2xx with a JSON object body holding "accepted": true
  kRetry,     // network error, 408/429/500/502/503/504, or a 2xx whose body is not an acceptance
  kReject,    // anything else (400, 401, 404, ...): dead-lettered, never re-sent
};

// True for a JSON object body with "accepted": true. Never throws.
bool accepted_body(std::string_view body) noexcept;
// True for the statuses worth re-sending: 408, 429, 500, 502, 503, 504.
bool retryable_status(int status) noexcept;
// The outcome of one response (status 0 = transport error).
ResponseOutcome classify_response(const HttpResponse& response) noexcept;
// Retry-After parsing lives in the shared HTTP library (dagstack/logger/http/retry.h).
using http::parse_retry_after;

}  // namespace dagstack::logger::northstar::detail

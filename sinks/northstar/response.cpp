// response.cpp: classification of ingest responses and Retry-After parsing.
#include "response.h"

#include <curl/curl.h>
#include <rapidjson/document.h>

#include <ctime>
#include <string>

namespace dagstack::logger::northstar::detail {
namespace {
constexpr long long kMaxSeconds = 999999999;  // the cap on any Retry-After
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
}  // namespace

bool accepted_body(std::string_view body) noexcept {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  return doc.HasMember("accepted") && doc["accepted"].IsBool() && doc["accepted"].GetBool();
}

bool retryable_status(int status) noexcept {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

ResponseOutcome classify_response(const HttpResponse& response) noexcept {
  if (response.status == 0) return ResponseOutcome::kRetry;
  if (response.status >= 200 && response.status < 300) {
    return accepted_body(response.body) ? ResponseOutcome::kAccepted : ResponseOutcome::kRetry;
  }
  return retryable_status(response.status) ? ResponseOutcome::kRetry : ResponseOutcome::kReject;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) noexcept {
  while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
  while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    if (value.size() > 9) return std::chrono::milliseconds(kMaxSeconds * 1000);
    long long seconds = 0;
    for (char c : value) seconds = seconds * 10 + (c - '0');
    return std::chrono::milliseconds(seconds * 1000);
  }
  try {
    const std::string text(value);  // curl_getdate needs a NUL-terminated string
    if (text.find('\0') != std::string::npos) return std::nullopt;
    const time_t when = curl_getdate(text.c_str(), nullptr);
    if (when < 0) return std::nullopt;
    const time_t now = std::time(nullptr);
    if (when <= now) return std::chrono::milliseconds(0);
    // A date far in the future must not overflow: cap it like delta-seconds.
    const long long seconds = static_cast<long long>(when - now);
    return std::chrono::milliseconds(seconds > kMaxSeconds ? kMaxSeconds * 1000 : seconds * 1000);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace dagstack::logger::northstar::detail

// retry.cpp: backoff with jitter, Retry-After parsing and report excerpts, shared by the
// exporting sinks.
#include "dagstack/logger/http/retry.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <string>

namespace dagstack::logger::http {
namespace {
constexpr long long kMaxSeconds = 999999999;  // the cap on any Retry-After
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
}  // namespace

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int attempt,
                                        std::optional<std::chrono::milliseconds> retry_after,
                                        double uniform01) noexcept {
  const double exponent = std::max(0, attempt - 1);
  double base = static_cast<double>(policy.initial.count()) * std::pow(policy.multiplier, exponent);
  if (!std::isfinite(base)) base = static_cast<double>(policy.max.count());
  base = std::min(base, static_cast<double>(policy.max.count()));
  const double u = std::clamp(uniform01, 0.0, 1.0);
  double delay = base * (1.0 - std::clamp(policy.jitter, 0.0, 1.0) * u);
  if (retry_after) {
    delay = std::max(delay,
                     static_cast<double>(std::min(*retry_after, policy.max_retry_after).count()));
  }
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, delay)));
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

std::string excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  // Do not split a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string out(text.substr(0, cut));
  out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace dagstack::logger::http

// wire.cpp: NorthStar wire helpers (timestamps, redaction, capture classes) and the names of the
// NorthStar enums.
#include "wire.h"

#include <cmath>
#include <cstdint>

#include "dagstack/logger/northstar/span_kind.h"
#include "detail/civil_date.h"

namespace dagstack::logger::northstar {
namespace detail {
namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_redacted_key(std::string_view key, const std::vector<std::string>& keys) noexcept {
  for (const auto& k : keys) {
    if (iequals(key, k)) return true;
  }
  return false;
}

}  // namespace

const std::vector<std::string>& default_redact_keys() {
  static const std::vector<std::string> keys = {"api_key", "authorization", "cookie",    "password",
                                                "secret",  "token",         "x-api-key", "bearer"};
  return keys;
}

namespace {

// Writes `value` as exactly `width` decimal digits ending just before `end`; returns the start.
char* put_digits(char* end, std::uint64_t value, int width) noexcept {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return end;
}

}  // namespace

// Formatted by hand (no gmtime_r, no snprintf): the worker formats a timestamp or two per row.
std::string format_timestamp(std::uint64_t time_unix_nano) {
  const std::uint64_t secs = time_unix_nano / 1000000000ull;
  const auto micros = static_cast<unsigned>((time_unix_nano / 1000ull) % 1000000ull);
  const logger::detail::CivilDate date =
      logger::detail::civil_from_days(static_cast<std::int64_t>(secs / 86400));
  const auto of_day = static_cast<unsigned>(secs % 86400);
  char buf[32];  // "YYYY-MM-DDTHH:MM:SS.ffffffZ": 27 (years up to 2554 from 64-bit nanoseconds)
  char* p = buf + 19;
  p = put_digits(p, of_day % 60, 2);
  *--p = ':';
  p = put_digits(p, of_day / 60 % 60, 2);
  *--p = ':';
  p = put_digits(p, of_day / 3600, 2);
  *--p = 'T';
  p = put_digits(p, date.day, 2);
  *--p = '-';
  p = put_digits(p, date.month, 2);
  *--p = '-';
  put_digits(p, static_cast<std::uint64_t>(date.year), 4);
  std::size_t n = 19;
  if (micros != 0) {
    buf[n++] = '.';
    put_digits(buf + n + 6, micros, 6);
    n += 6;
  }
  buf[n++] = 'Z';
  return std::string(buf, n);
}

void redact_in_place(Value::Map& m, const std::vector<std::string>& keys) {
  for (auto& [k, v] : m) {
    if (is_redacted_key(k, keys)) {
      v = Value(std::string(kRedacted));
    } else if (v.is_map()) {
      redact_in_place(v.as_map(), keys);
    } else if (v.is_array()) {
      v = redact(v, keys);
    }
  }
}

Value redact(const Value& v, const std::vector<std::string>& keys) {
  if (v.is_map()) {
    Value::Map m = v.as_map();
    redact_in_place(m, keys);
    return Value(std::move(m));
  }
  if (v.is_array()) {
    Value::Array a;
    a.reserve(v.as_array().size());
    for (const auto& e : v.as_array()) a.push_back(redact(e, keys));
    return Value(std::move(a));
  }
  return v;
}

bool is_input_event(EventType type) noexcept {
  return type == EventType::kUserInput || type == EventType::kSystemMessage ||
         type == EventType::kToolArguments;
}

bool is_output_event(EventType type) noexcept {
  return type == EventType::kAssistantMessage || type == EventType::kReasoning ||
         type == EventType::kToolResult || type == EventType::kFinalResponse;
}

std::string type_module(std::string_view type_name) {
  std::string_view head = type_name.substr(0, type_name.find('<'));
  std::size_t pos = head.rfind("::");
  if (pos == std::string_view::npos) return "";
  return std::string(head.substr(0, pos));
}

double round_ms(double ms) noexcept { return std::round(ms * 1000.0) / 1000.0; }

}  // namespace detail

std::string_view to_string(SpanKind kind) noexcept {
  switch (kind) {
    case SpanKind::kAgent: return "agent";
    case SpanKind::kWorkflow: return "workflow";
    case SpanKind::kModel: return "model";
    case SpanKind::kTool: return "tool";
    case SpanKind::kCustom: break;
  }
  return "custom";
}

SpanKind span_kind_from_operation_kind(std::string_view k) noexcept {
  using detail::iequals;
  if (iequals(k, "agent")) return SpanKind::kAgent;
  if (iequals(k, "workflow") || iequals(k, "chain") || iequals(k, "pipeline"))
    return SpanKind::kWorkflow;
  if (iequals(k, "model") || iequals(k, "llm") || iequals(k, "chat") || iequals(k, "completion") ||
      iequals(k, "embedding")) {
    return SpanKind::kModel;
  }
  if (iequals(k, "tool") || iequals(k, "function") || iequals(k, "retriever"))
    return SpanKind::kTool;
  return SpanKind::kCustom;
}

std::string_view to_string(EventType type) noexcept {
  switch (type) {
    case EventType::kUserInput: return "user_input";
    case EventType::kSystemMessage: return "system_message";
    case EventType::kAssistantMessage: return "assistant_message";
    case EventType::kReasoning: return "reasoning";
    case EventType::kToolArguments: return "tool_arguments";
    case EventType::kToolResult: return "tool_result";
    case EventType::kFinalResponse: return "final_response";
    case EventType::kCustom: break;
  }
  return "custom";
}

std::optional<EventType> parse_event_type(std::string_view name) noexcept {
  for (EventType t :
       {EventType::kUserInput, EventType::kSystemMessage, EventType::kAssistantMessage,
        EventType::kReasoning, EventType::kToolArguments, EventType::kToolResult,
        EventType::kFinalResponse, EventType::kCustom}) {
    if (to_string(t) == name) return t;
  }
  return std::nullopt;
}

}  // namespace dagstack::logger::northstar

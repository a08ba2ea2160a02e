// score.cpp: northstar::log_score() (a score record on the NorthStar event logger) and the sink's
// side: the `scores` entry built from that record.
#include <cmath>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "dagstack/logger/context.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/record_convention.h"
#include "dagstack/logger/northstar/score.h"
#include "dagstack/logger/northstar/uuid.h"
#include "score_wire.h"
#include "wire.h"

namespace dagstack::logger::northstar {
namespace {

void emit_score(std::string_view trace_id, std::string_view name, double value,
                std::string_view data_type, std::optional<std::string_view> category,
                const ScoreOptions& options) noexcept {
  try {
    Logger log = Logger::get(kEventLoggerName);
    if (!log.is_enabled(kSeverityInfo)) return;
    std::vector<Attribute> attrs = {{keys::kEventType, keys::kEventTypeScore},
                                    {keys::kScoreTraceId, trace_id},
                                    {keys::kScoreValue, value},
                                    {keys::kScoreDataType, data_type}};
    if (category) attrs.push_back({keys::kScoreStringValue, *category});
    if (options.span_id) attrs.push_back({keys::kScoreSpanId, std::string_view(*options.span_id)});
    if (options.comment) attrs.push_back({keys::kScoreComment, std::string_view(*options.comment)});
    // A score belongs to the run it names, not to whatever span is current: outside any span the
    // record gets a span context made from the run UUID's digits, so a sink that keeps only
    // traced records still sees it (the NorthStar sink reads the run from the attributes).
    Context ctx = Context::current();
    if (!ctx.has_span()) {
      std::string hex;
      for (const char c : trace_id) {
        if (c != '-') hex.push_back(c);
      }
      try {
        ctx = Context::with_span(TraceId::from_hex(hex),
                                 SpanId::from_hex(std::string_view(hex).substr(16)));
      } catch (const std::exception&) {
        // not a UUID: the record goes out without a span (and the sink counts it as untraced)
      }
    }
    log.info_ctx(ctx, name, attrs);
  } catch (...) {
  }
}

}  // namespace

void log_score(std::string_view trace_id, std::string_view name, double value,
               ScoreOptions options) {
  emit_score(trace_id, name, value, "numeric", std::nullopt, options);
}

void log_score(std::string_view trace_id, std::string_view name, bool value, ScoreOptions options) {
  emit_score(trace_id, name, value ? 1.0 : 0.0, "boolean", std::nullopt, options);
}

void log_score(std::string_view trace_id, std::string_view name, std::string_view category,
               ScoreOptions options) {
  emit_score(trace_id, name, 0.0, "categorical", category, options);
}

namespace detail {
namespace {

const std::string* string_attr(const DecodedRecord& r, std::string_view key) {
  const Value* v = r.attr(key);
  return (v != nullptr && v->is_string()) ? &v->as_string() : nullptr;
}

// Trimmed of ASCII whitespace (the server trims names and categories before storing them).
std::string_view trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n\f\v") - first + 1);
}

// A lowercase 8-4-4-4-12 hex UUID (any version: the server accepts any).
std::optional<std::string> lower_uuid(std::string_view s) {
  if (s.size() != 36) return std::nullopt;
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

}  // namespace

bool is_score_record(const DecodedRecord& r) {
  const std::string* type = string_attr(r, keys::kEventType);
  return type != nullptr && *type == keys::kEventTypeScore;
}

std::optional<std::string> score_json(const DecodedRecord& r) {
  const std::string* trace = string_attr(r, keys::kScoreTraceId);
  const std::string* data_type = string_attr(r, keys::kScoreDataType);
  const Value* value = r.attr(keys::kScoreValue);
  if (trace == nullptr || data_type == nullptr || value == nullptr || !r.body.is_string())
    return std::nullopt;
  const auto trace_id = lower_uuid(*trace);
  const std::string_view name = trimmed(r.body.as_string());
  const double number = value->is_double() ? value->as_double()
                        : value->is_int()  ? static_cast<double>(value->as_int())
                                           : NAN;
  if (!trace_id || name.empty() || !std::isfinite(number)) return std::nullopt;
  const std::string* category = string_attr(r, keys::kScoreStringValue);
  if (*data_type == "categorical") {
    if (category == nullptr || trimmed(*category).empty()) return std::nullopt;
  } else if (*data_type == "boolean") {
    if (number != 0.0 && number != 1.0) return std::nullopt;
  } else if (*data_type != "numeric") {
    return std::nullopt;
  }
  std::optional<std::string> span_id;
  if (const std::string* s = string_attr(r, keys::kScoreSpanId)) {
    span_id = lower_uuid(*s);
    if (!span_id) return std::nullopt;
  }

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&w](std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("id");
  str(random_uuid_v4());
  w.Key("trace_id");
  str(*trace_id);
  if (span_id) {
    w.Key("span_id");
    str(*span_id);
  }
  w.Key("name");
  str(name);
  w.Key("value");
  w.Double(number);
  w.Key("data_type");
  str(*data_type);
  if (*data_type == "categorical") {
    w.Key("string_value");
    str(trimmed(*category));
  }
  w.Key("source");
  w.String("api");
  if (const std::string* comment = string_attr(r, keys::kScoreComment)) {
    w.Key("comment");
    str(*comment);
  }
  w.Key("created_at");
  str(format_timestamp(r.time_unix_nano));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace detail
}  // namespace dagstack::logger::northstar

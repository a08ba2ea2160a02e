// span_builder.cpp: span start/end records -> OTLP spans (ids, parent, kind, times, status,
// attributes, exception events).
#include "span_builder.h"

#include <algorithm>
#include <cstring>

namespace dagstack::logger::otlp::detail {
namespace {

constexpr std::string_view kSpanEvent = "dagstack.span.event";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Keys the span record carries for the span itself (they become Span fields, not attributes).
bool is_reserved(std::string_view key) {
  return key == kSpanEvent || key == "operation.name" || key == "operation.id" ||
         key == "operation.kind" || key == "operation.parent.id" || key == "operation.status" ||
         key == "operation.status.message" || key == "operation.duration_ms" ||
         key == "dagstack.span.duration_ns";
}

bool is_exception_key(std::string_view key) {
  return starts_with(key, "exception.") || starts_with(key, "dagstack.exception.");
}

std::string string_attr(const OwnedLogRecord& r, std::string_view key) {
  const Value* v = r.attribute(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

SpanId parse_span_id(const std::string& hex) {
  if (hex.empty()) return {};
  try {
    return SpanId::from_hex(hex);
  } catch (...) {
    return {};
  }
}

}  // namespace

SpanKind map_span_kind(std::string_view kind) noexcept {
  if (kind == "server") return SpanKind::kServer;
  if (kind == "client" || kind == "llm" || kind == "http.client") return SpanKind::kClient;
  if (kind == "producer") return SpanKind::kProducer;
  if (kind == "consumer") return SpanKind::kConsumer;
  return SpanKind::kInternal;
}

bool is_span_record(const LogRecord& record) noexcept {
  const AttrValue* ev = record.find_attribute(kSpanEvent);
  if (ev == nullptr || ev->kind() != AttrValue::Kind::kString) return false;
  return ev->as_string() == "start" || ev->as_string() == "end";
}

SpanBuilder::Key SpanBuilder::key_of(const OwnedLogRecord& record) noexcept {
  Key k{};
  std::memcpy(k.data(), record.trace_id.bytes.data(), 16);
  std::memcpy(k.data() + 16, record.span_id.bytes.data(), 8);
  return k;
}

std::optional<FinishedSpan> SpanBuilder::process(const OwnedLogRecord& record,
                                                 std::uint32_t resource, std::uint32_t scope) {
  const std::string event = string_attr(record, kSpanEvent);
  if (!record.trace_id.valid() || !record.span_id.valid()) return std::nullopt;
  const Key key = key_of(record);
  FinishedSpan fs;
  fs.resource = resource;
  fs.scope = scope;
  SpanData& s = fs.span;
  s.trace_id = record.trace_id;
  s.span_id = record.span_id;
  s.parent_span_id = parse_span_id(string_attr(record, "operation.parent.id"));
  s.name = string_attr(record, "operation.name");
  if (s.name.empty() && record.body.is_string()) s.name = record.body.as_string();
  const std::string kind = string_attr(record, "operation.kind");
  s.kind = map_span_kind(kind);
  if (!kind.empty() && kind != "internal" && kind != "server" && kind != "client" &&
      kind != "producer" && kind != "consumer") {
    s.attributes.insert_or_assign("dagstack.operation.kind", Value(kind));  // the original text
  }
  SpanEvent exception{record.time_unix_nano, "exception", {}};
  for (const auto& [k, v] : record.attributes) {
    if (is_reserved(k)) continue;
    if (is_exception_key(k)) {
      exception.attributes.insert_or_assign(k, v);
    } else {
      s.attributes.insert_or_assign(k, v);
    }
  }
  if (event == "start") {
    s.start_unix_nano = record.time_unix_nano;
    open_[key] = Open{std::move(fs)};
    return std::nullopt;
  }
  if (event != "end") return std::nullopt;

  s.end_unix_nano = record.time_unix_nano;
  auto it = open_.find(key);
  if (it != open_.end()) {
    const SpanData& started = it->second.span.span;
    s.start_unix_nano = started.start_unix_nano;
    for (const auto& [k, v] : started.attributes) s.attributes.try_emplace(k, v);
    if (!s.parent_span_id.valid()) s.parent_span_id = started.parent_span_id;
    open_.erase(it);
  } else {
    const Value* d = record.attribute("dagstack.span.duration_ns");
    const std::uint64_t ns = d != nullptr && d->is_int() && d->as_int() > 0
                                 ? static_cast<std::uint64_t>(d->as_int())
                                 : 0;
    s.start_unix_nano = record.time_unix_nano > ns ? record.time_unix_nano - ns : 0;
  }
  const std::string status = string_attr(record, "operation.status");
  const std::string message = string_attr(record, "operation.status.message");
  if (status == "error" || status == "cancelled" || status == "timeout") {
    s.status = StatusCode::kError;
    s.status_message = message.empty() ? status : message;
    if (status != "error") s.attributes.insert_or_assign("dagstack.span.status", Value(status));
  } else {
    s.status = StatusCode::kUnset;
    s.status_message = message;
  }
  if (!exception.attributes.empty()) s.events.push_back(std::move(exception));
  return fs;
}

std::vector<FinishedSpan> SpanBuilder::close_open(std::uint64_t now_unix_nano) {
  std::vector<FinishedSpan> out;
  out.reserve(open_.size());
  for (auto& [key, open] : open_) {
    FinishedSpan fs = std::move(open.span);
    fs.span.end_unix_nano = std::max(now_unix_nano, fs.span.start_unix_nano);
    fs.span.status = StatusCode::kError;
    fs.span.status_message = "span not ended before shutdown";
    fs.span.attributes.insert_or_assign(std::string(kUnfinishedAttribute), Value(true));
    out.push_back(std::move(fs));
  }
  open_.clear();
  return out;
}

}  // namespace dagstack::logger::otlp::detail

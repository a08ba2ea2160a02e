// otlp_encoder.h (private): the OTLP encoders, hand-written: one LogRecord or Span message in
// protobuf or OTLP/JSON, the ExportLogs/ExportTraceServiceRequest envelope that groups them per
// resource and scope, and the reader of the response's partial_success. Fuzzed by
// fuzz/otlp_encoder_fuzz, benchmarked in bench/otlp_bench.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/log_record.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::otlp::detail {

enum class Encoding { kProtobuf, kJson };
enum class Signal { kLogs, kTraces };

// OTLP SpanKind and StatusCode numbers.
enum class SpanKind : int { kUnspecified = 0, kInternal, kServer, kClient, kProducer, kConsumer };
enum class StatusCode : int { kUnset = 0, kOk = 1, kError = 2 };

// A span event (e.g. "exception").
struct SpanEvent {
  std::uint64_t time_unix_nano = 0;
  std::string name;
  Value::Map attributes;
};

// A finished span, ready to encode.
struct SpanData {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // invalid = root
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  std::uint64_t start_unix_nano = 0;
  std::uint64_t end_unix_nano = 0;
  Value::Map attributes;
  std::vector<SpanEvent> events;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;
};

// Appends one LogRecord message (its fields, without an outer tag or length) to `out`. Strings
// that are not valid UTF-8 get U+FFFD. The observed time defaults to the time; an "event.name"
// string attribute also fills event_name. Never throws except std::bad_alloc.
void encode_log_record(const LogRecord& record, Encoding encoding, std::string& out);
// Appends one Span message (fields only) to `out`.
void encode_span(const SpanData& span, Encoding encoding, std::string& out);

// One encoded message and the indexes of its resource and scope in the tables given to
// build_request().
struct EncodedItem {
  std::string bytes;
  std::uint32_t resource = 0;
  std::uint32_t scope = 0;
};

// The whole request body: items grouped per resource, then per scope, in order of first
// appearance (ResourceLogs/ScopeLogs or ResourceSpans/ScopeSpans).
std::string build_request(Signal signal, Encoding encoding, std::span<const Resource> resources,
                          std::span<const InstrumentationScope> scopes,
                          std::span<const EncodedItem* const> items);

// partial_success of an Export*ServiceResponse body.
struct PartialSuccess {
  std::int64_t rejected = 0;
  std::string error_message;
};
// Reads the response body (protobuf or JSON, per `encoding`). nullopt when the body has no
// partial_success or cannot be read (an unreadable 2xx body counts as full success, as the spec
// allows an empty body). Never throws.
std::optional<PartialSuccess> parse_partial_success(Signal signal, Encoding encoding,
                                                    std::string_view body) noexcept;

// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view text);

}  // namespace dagstack::logger::otlp::detail

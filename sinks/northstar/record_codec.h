// record_codec.h (private): the compact copy of a LogRecord that NorthStarSink::emit queues for
// its worker (one allocation per record), and its decoded, owning form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "dagstack/logger/log_record.h"
#include "dagstack/logger/trace_ids.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::northstar::detail {

// (trace_id, span_id): the identity of a span across the sink.
struct SpanKey {
  TraceId trace_id;
  SpanId span_id;
  friend bool operator==(const SpanKey&, const SpanKey&) = default;
};

struct SpanKeyHash {
  std::size_t operator()(const SpanKey& k) const noexcept;
};

// What emit() copies: the fixed fields, plus scope name, body and attributes serialised into one
// byte string (`blob`).
struct QueuedRecord {
  std::uint64_t time_unix_nano = 0;
  int severity_number = 0;
  TraceId trace_id;
  SpanId span_id;
  std::string blob;
};

// The worker's owning view of a queued record.
struct DecodedRecord {
  std::uint64_t time_unix_nano = 0;
  int severity_number = 0;
  TraceId trace_id;
  SpanId span_id;
  std::string scope;  // instrumentation scope (logger) name
  Value body;
  Value::Map attributes;

  // The attribute under `key`, or nullptr.
  const Value* attr(std::string_view key) const noexcept {
    auto it = attributes.find(key);
    return it == attributes.end() ? nullptr : &it->second;
  }
};

// Fills `out` from `record` (clears and reuses out.blob). Never throws except std::bad_alloc.
void encode_record(const LogRecord& record, QueuedRecord& out);
// Rebuilds the record. Throws std::runtime_error on a corrupt blob (never happens for blobs made
// by encode_record).
DecodedRecord decode_record(const QueuedRecord& record);

}  // namespace dagstack::logger::northstar::detail

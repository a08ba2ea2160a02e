// log_record.h: declares `LogRecord` (the borrowed record handed to sinks), `OwnedLogRecord`
// (its owning copy), `InstrumentationScope` and `Resource`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/severity.h"
#include "dagstack/logger/trace_ids.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger {

// InstrumentationScope: the emitting logger (name, optional version, optional attributes).
struct InstrumentationScope {
  std::string name;
  std::string version;    // empty = unset (omitted on the wire)
  Value::Map attributes;  // empty = omitted on the wire

  friend bool operator==(const InstrumentationScope&, const InstrumentationScope&) = default;
};

// Resource: what produces the telemetry (service.name, service.version, host.name, ...).
struct Resource {
  Value::Map attributes;

  friend bool operator==(const Resource&, const Resource&) = default;
};

// Shared owners of a record's resource and scope (see LogRecord::owners). Immutable once
// published by the logger; thread-compatible.
struct LogRecordOwners {
  std::shared_ptr<const Resource> resource;
  std::shared_ptr<const InstrumentationScope> scope;
};

// LogRecord
//
// One record in the OpenTelemetry Log Data Model v1.24 shape. It is a view: the body, the
// attributes, the resource and the scope point at storage owned by the caller, valid only for
// the duration of the Sink::emit call it is passed to. Sinks copy what they keep
// (OwnedLogRecord::from). Thread-compatible.
struct LogRecord {
  std::uint64_t time_unix_nano = 0;                             // wall clock at emit
  std::uint64_t observed_time_unix_nano = 0;                    // 0 = unset (omitted on the wire)
  int severity_number = kSeverityInfo;                          // 1..24
  std::uint8_t trace_flags = 0;                                 // W3C flags, bit 0 = sampled
  AttrValue body;                                               // usually a string
  std::span<const Attribute> attributes;                        // redacted; keys unique
  const Resource* resource = nullptr;                           // nullptr = none
  const InstrumentationScope* instrumentation_scope = nullptr;  // nullptr = none
  TraceId trace_id;                                             // invalid = none
  SpanId span_id;                                               // invalid = none
  // Optional shared owners of `resource` and `instrumentation_scope` (the logger sets it; other
  // producers may leave it null): a sink that keeps records past the call can share the objects
  // instead of copying them. When set, `owners->resource.get() == resource` and
  // `owners->scope.get() == instrumentation_scope`.
  const LogRecordOwners* owners = nullptr;

  // One of TRACE DEBUG INFO WARN ERROR FATAL, derived from severity_number.
  std::string_view severity_text() const noexcept {
    return dagstack::logger::severity_text(severity_number);
  }
  // The attribute under `key`, or nullptr.
  const AttrValue* find_attribute(std::string_view key) const noexcept;
};

// OwnedLogRecord
//
// An owning copy of a LogRecord, for sinks that keep records (InMemorySink, AsyncSink) and for
// the JSON-lines reader. Thread-compatible.
struct OwnedLogRecord {
  std::uint64_t time_unix_nano = 0;
  std::uint64_t observed_time_unix_nano = 0;
  int severity_number = kSeverityInfo;
  Value body;
  Value::Map attributes;
  std::optional<Resource> resource;
  std::optional<InstrumentationScope> instrumentation_scope;
  TraceId trace_id;
  SpanId span_id;
  std::uint8_t trace_flags = 0;

  // Deep-copies a borrowed record.
  static OwnedLogRecord from(const LogRecord& record);

  std::string_view severity_text() const noexcept {
    return dagstack::logger::severity_text(severity_number);
  }
  // The attribute under `key`, or nullptr.
  const Value* attribute(std::string_view key) const noexcept;
  // A borrowed view of this record; `scratch` holds the attribute views and must outlive the
  // returned record (as must this object).
  LogRecord view(std::vector<Attribute>& scratch) const;
};

}  // namespace dagstack::logger

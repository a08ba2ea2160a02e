// log_record.cpp: implements `LogRecord` lookups and `OwnedLogRecord` copies and views.
#include "dagstack/logger/log_record.h"

namespace dagstack::logger {

const AttrValue* LogRecord::find_attribute(std::string_view key) const noexcept {
  // Scan backwards so that a duplicated key resolves to its last value, like the encoder.
  for (auto it = attributes.rbegin(); it != attributes.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

OwnedLogRecord OwnedLogRecord::from(const LogRecord& record) {
  OwnedLogRecord owned;
  owned.time_unix_nano = record.time_unix_nano;
  owned.observed_time_unix_nano = record.observed_time_unix_nano;
  owned.severity_number = record.severity_number;
  owned.body = record.body.to_value();
  owned.attributes = to_value_map(record.attributes);
  if (record.resource != nullptr) owned.resource = *record.resource;
  if (record.instrumentation_scope != nullptr) {
    owned.instrumentation_scope = *record.instrumentation_scope;
  }
  owned.trace_id = record.trace_id;
  owned.span_id = record.span_id;
  owned.trace_flags = record.trace_flags;
  return owned;
}

const Value* OwnedLogRecord::attribute(std::string_view key) const noexcept {
  auto it = attributes.find(key);
  return it == attributes.end() ? nullptr : &it->second;
}

LogRecord OwnedLogRecord::view(std::vector<Attribute>& scratch) const {
  scratch.clear();
  scratch.reserve(attributes.size());
  for (const auto& [key, value] : attributes) scratch.push_back(Attribute{key, AttrValue(value)});
  LogRecord record;
  record.time_unix_nano = time_unix_nano;
  record.observed_time_unix_nano = observed_time_unix_nano;
  record.severity_number = severity_number;
  record.body = AttrValue(body);
  record.attributes = scratch;
  record.resource = resource ? &*resource : nullptr;
  record.instrumentation_scope = instrumentation_scope ? &*instrumentation_scope : nullptr;
  record.trace_id = trace_id;
  record.span_id = span_id;
  record.trace_flags = trace_flags;
  return record;
}

}  // namespace dagstack::logger

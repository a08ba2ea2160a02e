// log_helpers.h: declares the NorthStar free functions that annotate whatever span is current:
// log_event(), log_metric(), log_metadata(), current_trace_id() and flush().
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "dagstack/logger/northstar/span_scope.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::northstar {

namespace detail {
void log_metric_value(std::string_view name, Value value);
}  // namespace detail

// A `custom` event {"name": name, "data": data} on the thread's current span (or run). Outside
// any span the record still reaches the sinks; the NorthStar sink drops it or puts it on its
// default run (OutsideTracePolicy). Never throws.
void log_event(std::string_view name, Value data = {});

// A metric event {"name": name, "value": value} on the current span (or run). bool does not
// compile (SDK: TypeError "metric value must be numeric"). Never throws.
template <MetricNumber T>
void log_metric(std::string_view name, T value) {
  detail::log_metric_value(name, Value(value));
}
void log_metric(std::string_view name, bool value) = delete;

// Merges {key: value} (or `metadata`) into the current span's NorthStar attributes, or into the
// run's metadata when the current span is the run. Never throws.
void log_metadata(std::string_view key, Value value);
void log_metadata(Value::Map metadata);

// The UUID of the run the thread's current span belongs to, or nullopt outside a NorthStar span
// or when no enabled NorthStar sink exists in the process (as the SDK returns None when disabled).
std::optional<std::string> current_trace_id();

// Flushes every NorthStar sink of the process; true when everything was accepted (or there is
// no enabled sink). Throws ConfigError("timeout must be greater than zero") for timeout <= 0.
bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace dagstack::logger::northstar

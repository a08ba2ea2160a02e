// span_scope.h: declares `SpanScope`, the RAII base of the NorthStar tracing handles (Trace,
// SpanHandle, ModelCall): a core Span plus helpers that record NorthStar events on it.
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "dagstack/logger/context.h"
#include "dagstack/logger/northstar/record_convention.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger {
class Span;
}  // namespace dagstack::logger

namespace dagstack::logger::northstar {

namespace detail {
struct RunInfo;
}  // namespace detail

// A number that log_metric accepts: any arithmetic type except bool.
template <typename T>
concept MetricNumber = std::is_arithmetic_v<T> && !std::same_as<std::remove_cv_t<T>, bool>;

// SpanScope
//
// Owns one core `dagstack::logger::Span` (so the span is the thread's current Context while the
// handle lives, and its start/end records reach every sink) and records NorthStar events on it
// with the span's own context, whatever the thread's current context is. The span ends when
// end() is called or the handle is destroyed; if the handle is destroyed by an exception
// unwinding the stack, the span ends with status error and, on Linux with libstdc++, that
// exception's demangled type and what() (recorded when it was thrown; elsewhere the message is
// "scope exited by an exception" unless run() or record_error() saw the exception). Not copyable or
// movable; must be destroyed on the thread that created it, in LIFO order with other spans (a local
// variable). Methods are not thread-safe with respect to each other on one handle.
class SpanScope {
 public:
  SpanScope(const SpanScope&) = delete;
  SpanScope& operator=(const SpanScope&) = delete;
  SpanScope(SpanScope&&) = delete;
  SpanScope& operator=(SpanScope&&) = delete;
  ~SpanScope();

  // The span's context (trace id, span id), for handing work to other threads.
  const Context& context() const noexcept;
  // The underlying core span.
  Span& core_span() noexcept { return *span_; }
  // The run UUID this span belongs to (what northstar::current_trace_id() returns inside it).
  const std::string& run_id() const noexcept;

  // A `custom` event {"name": name, "data": data} on this span (SDK: log_event).
  void log_event(std::string_view name, Value data = {});
  // A metric event {"name": name, "value": value} on this span. bool is rejected at compile time.
  template <MetricNumber T>
  void log_metric(std::string_view name, T value) {
    log_metric_value(name, Value(value));
  }
  void log_metric(std::string_view name, bool value) = delete;
  // Merges `metadata` into this span's NorthStar attributes (the run's metadata for a Trace).
  void log_metadata(Value::Map metadata);
  void log_metadata(std::string_view key, Value value);
  // Sets an attribute of the core span (copied into the NorthStar attributes / run metadata).
  void set_attribute(std::string_view key, Value value);
  // A typed event on this span. Input-side types (user_input, system_message, tool_arguments) are
  // skipped when the run was opened with capture_input = false, output-side types
  // (assistant_message, reasoning, tool_result, final_response) when capture_output = false.
  void record_event(EventType type, Value content = {}, Value::Map attributes = {});
  // Marks the span as failed with the exception's type and message, even if the scope exits
  // normally (SDK: record_error).
  void record_error(const std::exception& error);
  // The same from a catch (...) block; a null pointer is ignored.
  void record_error(std::exception_ptr error);
  // Calls fn() inside this scope and returns its result; an exception it throws is recorded on
  // the span (real type and message, as record_error) and rethrown. Works on every platform.
  template <typename F>
  decltype(auto) run(F&& fn) {
    try {
      return std::forward<F>(fn)();
    } catch (...) {
      record_error(std::current_exception());
      throw;
    }
  }
  // Ends the span now (status ok unless an error was recorded). Idempotent.
  void end();
  bool ended() const noexcept;

 protected:
  // Opens the core span `name` with operation.kind `kind` and the given start attributes; a
  // `run` scope becomes a NorthStar Run.
  SpanScope(std::string_view name, std::string_view kind, Value::Map attributes, bool run,
            std::optional<bool> capture_input = {}, std::optional<bool> capture_output = {});

 private:
  void log_metric_value(std::string_view name, Value value);

  std::unique_ptr<Span> span_;
  std::shared_ptr<const detail::RunInfo> run_;
  int uncaught_at_start_ = 0;
  std::uint64_t throws_at_start_ = 0;  // throws recorded on this thread when the scope opened
  bool error_recorded_ = false;
};

}  // namespace dagstack::logger::northstar

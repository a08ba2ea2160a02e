// span.h: declares `Span`, an RAII tracing span that makes itself the thread's current Context
// and reports its start and end as log records on the `dagstack.trace` logger, plus
// `SpanOptions`, `SpanStatus` and the trace/span id generators.
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "dagstack/logger/context.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/trace_ids.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger {

// The logger that carries span records. Its level is explicit (INFO) and does not follow the
// root's, so raising the root level to WARN keeps complete traces.
inline constexpr std::string_view kTraceLoggerName = "dagstack.trace";

// How a span ended. On the wire (`operation.status`) kUnset and kOk are both "ok"; the others
// are "error", "cancelled" and "timeout".
enum class SpanStatus { kUnset, kOk, kError, kCancelled, kTimeout };

// "unset", "ok", "error", "cancelled" or "timeout".
std::string_view to_string(SpanStatus status) noexcept;
// The `operation.status` text: "ok" for kUnset and kOk, else to_string(status).
std::string_view wire_status(SpanStatus status) noexcept;

// SpanOptions: how to open a span.
struct SpanOptions {
  std::string kind = "internal";  // operation.kind, e.g. "internal", "query", "indexing", "llm"
  Value::Map attributes;          // added to both the start and the end record
  std::optional<Context> parent;  // default: the thread's current context
};

// A random trace id from a fast per-thread generator (xoshiro256**, seeded from
// std::random_device, the clock and the thread id); never all-zero. Thread-safe.
TraceId new_trace_id() noexcept;
// A random span id; never all-zero. Thread-safe.
SpanId new_span_id() noexcept;

// Span
//
// An operation with a start, an end, a status and attributes. Opening one starts a new trace when
// the parent context has no span, else a child span (same trace id; parent = the parent's span
// id); trace_flags is 1. While the span is open its context (the parent context plus the new
// span; baggage, tracestate and scoped sinks kept) is the calling thread's current Context, so
// every record logged on this thread carries its ids; end() restores the previous context.
//
// Records, both at INFO on the `dagstack.trace` logger with the span's own context (whatever
// auto_inject_trace_context says), body = the span name:
//   start: dagstack.span.event="start", operation.name, operation.id (span id hex),
//          operation.kind, operation.parent.id (when there is a parent) + options.attributes;
//   end:   dagstack.span.event="end", the same operation.* keys, operation.status,
//          operation.status.message (when given), operation.duration_ms,
//          dagstack.span.duration_ns, every attribute (set_attribute wins over the initial
//          ones) and exception.* after record_exception. Reserved keys win over attributes.
// See docs/wire_format.md, "Span records".
//
// Thread-compatible, with one owner thread: open, modify and end a span on the same thread, in
// LIFO order with other spans and ScopedContext guards (as a local variable). To continue a
// trace on another thread, hand over context() (or Context::current(), or bind_context()) and
// open a child span there. A span ended out of order or on another thread never leaves a
// dangling context behind, but the thread's current context is then not restored exactly.
// Not copyable; movable (the moved-from span is inert and counts as ended).
class Span {
 public:
  explicit Span(std::string_view name, SpanOptions options = {});
  ~Span();  // end() if not ended
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;  // ends this span first
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // Sets an attribute of the end record (replacing an earlier value). Ignored after end().
  void set_attribute(std::string_view key, Value value);
  // Sets the status (and its message, "" = none). Ignored after end().
  void set_status(SpanStatus status, std::string_view message = {});
  // Marks the span failed: status kError (message = e.what() unless a message was set) and the
  // end record gets exception.type, exception.message, exception.stacktrace (captured here, or
  // the throw site's from throw_with_stacktrace) and dagstack.exception.cause.N.*. Ignored after
  // end().
  void record_exception(const std::exception& e);
  // The same from a `catch (...)` block; a null pointer is ignored.
  void record_exception(std::exception_ptr e);
  // Emits the end record and restores the previous current context. Idempotent.
  void end() noexcept;

  // The span's context (empty after a move).
  const Context& context() const noexcept { return context_; }
  TraceId trace_id() const noexcept { return context_.trace_id(); }
  SpanId span_id() const noexcept { return context_.span_id(); }
  // The parent's span id; invalid (all zero) for a root span.
  SpanId parent_span_id() const noexcept { return parent_span_id_; }
  const std::string& name() const noexcept { return name_; }
  const std::string& kind() const noexcept { return kind_; }
  SpanStatus status() const noexcept { return status_; }
  bool ended() const noexcept { return ended_; }

 private:
  void emit_start() noexcept;
  void emit_end() noexcept;
  void restore_context() noexcept;

  std::string name_;
  std::string kind_;
  Context context_;   // this span's context; current while the span is open
  Context previous_;  // the context that was current before; restored by end()
  bool installed_ = false;
  SpanId parent_span_id_;
  std::string span_hex_;
  std::string parent_hex_;  // "" for a root span
  Value::Map attributes_;
  Value::Map exception_attributes_;
  SpanStatus status_ = SpanStatus::kUnset;
  std::string status_message_;
  std::chrono::steady_clock::time_point start_;
  Logger logger_;
  bool ended_ = false;
};

}  // namespace dagstack::logger

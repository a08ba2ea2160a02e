// context.h: declares `Context`, the trace context and baggage that travel with a thread's work,
// and `ScopedContext`, which makes a Context current for a scope.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dagstack/logger/trace_ids.h"

namespace dagstack::logger {

class Sink;
namespace detail {
struct ContextData;
struct Node;
}  // namespace detail

// Context
//
// An immutable value: trace id, span id, trace flags, W3C baggage entries, and the scoped sink
// overrides installed by Logger::scope_sinks. Copying is cheap (shared immutable data). Each
// thread has a current Context (empty by default); capture it with Context::current() and make
// it current elsewhere with ScopedContext to hand work to another thread. Thread-safe.
class Context {
 public:
  using Baggage = std::vector<std::pair<std::string, std::string>>;

  // The empty context: no trace, no baggage.
  Context() noexcept = default;

  // A context carrying a span (and nothing else).
  static Context with_span(const TraceId& trace_id, const SpanId& span_id,
                           std::uint8_t trace_flags = 1);

  // The calling thread's current context.
  static Context current() noexcept;

  bool has_span() const noexcept;
  TraceId trace_id() const noexcept;
  SpanId span_id() const noexcept;
  std::uint8_t trace_flags() const noexcept;
  // Baggage entries in insertion order (keys unique).
  const Baggage& baggage() const noexcept;
  // The baggage value for `key`, if any.
  std::optional<std::string_view> baggage_value(std::string_view key) const noexcept;
  // The W3C `tracestate` carried with the span ("" when none).
  const std::string& trace_state() const noexcept;

  // A copy of this context with the span replaced.
  Context set_span(const TraceId& trace_id, const SpanId& span_id,
                   std::uint8_t trace_flags = 1) const;
  // A copy without trace ids (baggage and overrides kept).
  Context clear_span() const;
  // A copy with `key` set to `value` in the baggage (replacing an existing entry).
  Context set_baggage(std::string_view key, std::string_view value) const;
  // A copy carrying the W3C `tracestate` header `state` (normalised; "" clears it). Throws
  // std::invalid_argument when `state` is not a valid tracestate (see w3c.h).
  Context set_trace_state(std::string_view state) const;

  // Internal: the shared data (nullptr for the empty context).
  const detail::ContextData* data() const noexcept { return data_.get(); }
  explicit Context(std::shared_ptr<const detail::ContextData> data) noexcept
      : data_(std::move(data)) {}

 private:
  std::shared_ptr<const detail::ContextData> data_;
};

// ScopedContext
//
// Makes `ctx` the calling thread's current context until destruction, then restores the previous
// one. Meant to be destroyed on the thread that created it, in LIFO order (as a local variable).
// Out of order (a guard, span or ScopedSinks ended before one opened after it): the guard owns
// the context it restores, so every end order is memory-safe, and its destructor makes current
// exactly the context that was current when it was created. Not copyable or movable. Not
// thread-safe (thread-bound by design).
class ScopedContext {
 public:
  explicit ScopedContext(Context ctx) noexcept;
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  Context ctx_;
  Context previous_;  // owned: restoring it is safe in any end order
};

}  // namespace dagstack::logger

// context_data.h: the shared, immutable data behind a Context, and the thread's current pointer.
#pragma once

#include <memory>
#include <vector>

#include "dagstack/logger/context.h"
#include "dagstack/logger/logger.h"

namespace dagstack::logger::detail {

// One scoped sink override: emits through `node` (and nodes inheriting its sinks) go to `sinks`.
struct SinkOverride {
  std::shared_ptr<const Node> node;  // owned: the comparison in emit never meets a reused address
  std::shared_ptr<const SinkList> sinks;
};

// The properties (`;p=1`) a baggage member arrived with, kept for re-injection while the
// member still has the value it arrived with.
struct BaggageProperties {
  std::string key;
  std::string value;
  std::string metadata;
};

struct ContextData : std::enable_shared_from_this<ContextData> {
  TraceId trace_id;
  SpanId span_id;
  std::uint8_t trace_flags = 0;
  Context::Baggage baggage;
  std::vector<BaggageProperties> baggage_properties;  // from incoming headers only
  std::string trace_state;                            // W3C tracestate, normalised ("" = none)
  std::vector<SinkOverride> overrides;                // innermost last
  // Opaque per-span extras set by the tracing layers (e.g. the span kind), keyed by name.
  std::shared_ptr<const void> span_extra;

  bool has_span() const noexcept { return trace_id.valid() && span_id.valid(); }
};

// The calling thread's current context data (nullptr = empty). Owned by the ScopedContext or
// ScopedSinks guard that installed it.
const ContextData* current_context_data() noexcept;
// Installs `data` as current and returns the previous pointer.
const ContextData* exchange_current_context_data(const ContextData* data) noexcept;

}  // namespace dagstack::logger::detail

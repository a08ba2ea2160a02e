// trace.h: declares `Trace`, the RAII handle of one NorthStar run, `TraceOptions` and `trace()`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/northstar/model_call.h"
#include "dagstack/logger/northstar/span_scope.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::northstar {

// TraceOptions: what a run starts with (SDK: trace(input=, metadata=, tags=, capture_*=)).
struct TraceOptions {
  // The run's input, recorded as a `user_input` event on the run. nullopt (default) = no event;
  // a null Value = an event whose content is JSON null.
  std::optional<Value> input;
  Value::Map metadata;                 // default empty; merged into the run's metadata
  std::vector<std::string> tags;       // default none; metadata.tags
  std::optional<bool> capture_input;   // default nullopt = the sink's capture_inputs
  std::optional<bool> capture_output;  // default nullopt = the sink's capture_outputs
};

// Trace
//
// One NorthStar Run: a core span marked as a run (northstar.run = true), so the NorthStar sink
// makes it a Run even when it is nested in another span; everything recorded inside belongs to
// it. The run ends (status ok, or error after record_error() or an exception unwinding past the
// handle) when the handle is destroyed or end() is called. Thread-safety as SpanScope.
class Trace : public SpanScope {
 public:
  explicit Trace(std::string_view name = "trace", TraceOptions options = {});

  // The run UUID (same as run_id()).
  const std::string& id() const noexcept { return run_id(); }
  // Records `output` as the run's `final_response` event (SDK: set_output).
  void set_output(Value output);
  // Opens a model span under the current span (SDK: trace.model_call(name, model=)).
  ModelCall model_call(std::string_view name, std::string_view model);
};

// Opens a run: `auto run = northstar::trace("support-agent", {.input = query});`.
[[nodiscard]] Trace trace(std::string_view name, TraceOptions options = {});

}  // namespace dagstack::logger::northstar

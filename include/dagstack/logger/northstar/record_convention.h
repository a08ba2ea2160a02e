// record_convention.h: declares the attribute keys and the `EventType` values through which the
// NorthStar tracing API marks records, so that the NorthStar sink can rebuild runs, spans and
// typed events from ordinary log records (and a JSON-lines file holds the same story).
#pragma once

#include <optional>
#include <string_view>

namespace dagstack::logger::northstar {

// The NorthStar event types (protocol enum EventType).
enum class EventType {
  kUserInput,         // "user_input"
  kSystemMessage,     // "system_message"
  kAssistantMessage,  // "assistant_message"
  kReasoning,         // "reasoning"
  kToolArguments,     // "tool_arguments"
  kToolResult,        // "tool_result"
  kFinalResponse,     // "final_response"
  kCustom,            // "custom"
};

// The wire name of `type`.
std::string_view to_string(EventType type) noexcept;
// The type for a wire name, or nullopt.
std::optional<EventType> parse_event_type(std::string_view name) noexcept;

// Record attribute keys. Every key under "northstar." is consumed by the sink and never copied
// into NorthStar span attributes or run metadata.
namespace keys {
// On a span-start record: true makes the span a Run even when it has a parent span.
inline constexpr std::string_view kRun = "northstar.run";
// On a run's span-start record: the user's run metadata (map) and tags (array of strings).
inline constexpr std::string_view kMetadata = "northstar.metadata";
inline constexpr std::string_view kTags = "northstar.tags";
// On a run's span-start record: per-run capture overrides (bool).
inline constexpr std::string_view kCaptureInput = "northstar.capture_input";
inline constexpr std::string_view kCaptureOutput = "northstar.capture_output";
// On a span-start record: the span's `iteration` (integer).
inline constexpr std::string_view kIteration = "northstar.iteration";

// On an event record: one of the EventType wire names, or "metric" or "metadata".
inline constexpr std::string_view kEventType = "northstar.event_type";
inline constexpr std::string_view kEventTypeMetric = "metric";
inline constexpr std::string_view kEventTypeMetadata = "metadata";
// Typed events: the event `content` (any JSON; absent = null) and its `attributes` (map).
inline constexpr std::string_view kContent = "northstar.content";
inline constexpr std::string_view kEventAttributes = "northstar.event_attributes";
// Custom events (northstar::log_event): the body is the name, this is the data.
inline constexpr std::string_view kData = "northstar.data";
// Metrics (northstar::log_metric): the body is the name, this is the number.
inline constexpr std::string_view kMetricValue = "northstar.metric.value";
// Metadata records (northstar::log_metadata): kMetadata holds the map merged into the current
// span's attributes, or into the run's metadata when the current span is the run.

// Model spans (set with Span::set_attribute, read from the span-end record), following the
// OpenTelemetry GenAI conventions.
inline constexpr std::string_view kModel = "gen_ai.request.model";
inline constexpr std::string_view kInputTokens = "gen_ai.usage.input_tokens";
inline constexpr std::string_view kOutputTokens = "gen_ai.usage.output_tokens";
// A cost reported by the provider (double, USD) and where it came from; without it the sink
// prices the tokens from its pricing table.
inline constexpr std::string_view kCostUsd = "northstar.cost_usd";
inline constexpr std::string_view kPricingSource = "northstar.pricing_source";
}  // namespace keys

// The logger the tracing API emits its event records on (a child of "dagstack.trace", whose level
// does not follow the root's).
inline constexpr std::string_view kEventLoggerName = "dagstack.trace.northstar";

}  // namespace dagstack::logger::northstar

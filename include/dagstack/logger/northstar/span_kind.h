// span_kind.h: declares `SpanKind`, the NorthStar span kinds, and their wire names.
#pragma once

#include <optional>
#include <string_view>

namespace dagstack::logger::northstar {

// The kind of a NorthStar span (protocol enum SpanKind).
enum class SpanKind {
  kAgent,     // "agent": a nested agent or sub-agent invocation
  kWorkflow,  // "workflow": a multi-step orchestration or pipeline stage
  kModel,     // "model": an LLM call (opened by model_call())
  kTool,      // "tool": a tool, API or function call (shows up as a tool call in the dashboard)
  kCustom,    // "custom": anything else
};

// "agent", "workflow", "model", "tool" or "custom".
std::string_view to_string(SpanKind kind) noexcept;

// Maps a core span's `operation.kind` to a NorthStar kind: the five wire names map to themselves
// (ASCII case-insensitively), "llm"/"chat"/"completion"/"embedding" -> model, "chain"/"pipeline" ->
// workflow, "function"/"retriever" -> tool, anything else (e.g. "internal", "server") -> custom.
SpanKind span_kind_from_operation_kind(std::string_view operation_kind) noexcept;

}  // namespace dagstack::logger::northstar

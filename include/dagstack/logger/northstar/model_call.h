// model_call.h: declares `ModelCall`, the RAII handle of one LLM call (a NorthStar model span),
// `model_call()`, and helpers that build chat messages in the OpenAI shape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dagstack/logger/northstar/span_scope.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::northstar {

// ModelCall
//
// A span of kind `model` with gen_ai.request.model set. Messages become typed events on this
// span; usage becomes gen_ai.usage.* attributes from which the NorthStar sink derives
// input_tokens, output_tokens, total_tokens, cost_usd and pricing_source, and the run's totals.
// Thread-safety as SpanScope.
class ModelCall : public SpanScope {
 public:
  ModelCall(std::string_view name, std::string_view model);

  const std::string& id() const noexcept { return id_; }
  const std::string& model() const noexcept { return model_; }

  // One event per message (each a map with "role", "content", optional "name", "tool_call_id",
  // "tool_calls"): system -> system_message, user -> user_input, tool -> tool_result (attributes
  // tool_call_id, name), assistant -> assistant_message (when content is not null) then one
  // tool_arguments event {"id","name","arguments"} per tool call. Other roles are skipped.
  // Returns the number of events recorded.
  int record_input_messages(const Value::Array& messages);
  // The same for the model's answer (usually one assistant message).
  int record_output_message(const Value& message);
  // Sets the token counts (replacing earlier ones). `cost_usd` is a provider-reported cost
  // (pricing_source "provider"); without it the sink prices the tokens from its table, or sets
  // pricing_source "unknown" and no cost for a model it does not know.
  void record_usage(std::int64_t input_tokens, std::int64_t output_tokens,
                    std::optional<double> cost_usd = std::nullopt);

 private:
  int record_one_message(const Value& message);

  std::string id_;
  std::string model_;
};

// Opens a model span under the current span: `auto llm = northstar::model_call("answer",
// "gpt-4o");`.
[[nodiscard]] ModelCall model_call(std::string_view name, std::string_view model);

// Chat message builders (OpenAI shape).
Value system_message(std::string_view content);
Value user_message(std::string_view content);
// An assistant message; `content` may be null when the message only calls tools.
Value assistant_message(Value content, Value::Array tool_calls = {});
// One tool call of an assistant message: {"id", "type": "function", "function": {"name",
// "arguments"}}.
Value tool_call(std::string_view id, std::string_view name, std::string_view arguments_json);
// A tool's answer: {"role": "tool", "tool_call_id", "name", "content"}.
Value tool_message(std::string_view tool_call_id, std::string_view name, Value content);

}  // namespace dagstack::logger::northstar

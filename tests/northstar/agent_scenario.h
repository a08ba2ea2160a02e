// agent_scenario.h: the two-iteration agent of the NorthStar SDK's end-to-end test, written with
// the C++ tracing API; shared by the mapping (fake transport) and northstar-local tests.
#pragma once

#include <string>
#include <vector>

#include "dagstack/logger/northstar/northstar.h"

namespace dagstack::logger::northstar::testing {

// Runs the agent and returns its run UUID. Spans: per iteration one agent span ("plan",
// iteration 1 and 2) holding a model span ("answer-llm", gpt-4o, 100 in / 20 out tokens) and a
// tool span ("search_docs"). Inputs carry secrets that must be redacted.
inline std::string run_two_iteration_agent() {
  auto run = trace("support-agent", {.input = Value::map({{"query", "reset password"}, {"password", "hunter2"}}),
                                     .metadata = {{"user_id", "u-42"}, {"token", "t-1"}},
                                     .tags = {"cpp", "demo"}});
  for (int i = 1; i <= 2; ++i) {
    auto agent = span("plan", SpanKind::kAgent, {.iteration = i, .attributes = {{"step", i}}});
    {
      auto llm = model_call("answer-llm", "gpt-4o");
      llm.record_input_messages({system_message("Answer briefly."), user_message("reset?")});
      llm.record_output_message(
          assistant_message(Value(), {tool_call("call-" + std::to_string(i), "search_docs", R"({"q":"reset"})")}));
      llm.record_usage(100, 20);
    }
    {
      auto tool = span("search_docs", SpanKind::kTool, {.attributes = {{"index", "docs-v2"}}});
      tool.record_arguments(Value::map({{"q", "reset"}}));
      log_event("cache_miss", Value::map({{"key", "reset"}, {"api_key", "sk-live"}}));
      tool.record_result(Value::array({"doc-1"}));
    }
  }
  log_metric("confidence", 0.86);
  run.set_output("Use the reset link.");
  return run.id();
}

// The event types of that run, in order.
inline std::vector<std::string> two_iteration_agent_event_types() {
  const std::vector<std::string> one = {"system_message", "user_input", "tool_arguments",
                                        "tool_arguments", "custom",     "tool_result"};
  std::vector<std::string> all = {"user_input"};
  for (int i = 0; i < 2; ++i) all.insert(all.end(), one.begin(), one.end());
  all.push_back("custom");
  all.push_back("final_response");
  return all;
}

}  // namespace dagstack::logger::northstar::testing

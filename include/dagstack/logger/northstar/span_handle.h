// span_handle.h: declares `SpanHandle`, the RAII handle of one NorthStar span, `SpanOptions` and
// `span()`.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "dagstack/logger/northstar/span_kind.h"
#include "dagstack/logger/northstar/span_scope.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::northstar {

// SpanOptions: what a span starts with (SDK: span(iteration=, attributes=)).
struct SpanOptions {
  std::optional<std::int64_t> iteration;  // default none: loop iteration / attempt number
  Value::Map attributes;                  // default empty: the span's attributes
};

// SpanHandle
//
// One NorthStar span: a core span whose operation.kind is the NorthStar kind, child of the
// thread's current span. Thread-safety as SpanScope.
class SpanHandle : public SpanScope {
 public:
  explicit SpanHandle(std::string_view name, SpanKind kind = SpanKind::kCustom,
                      SpanOptions options = {});

  // The span UUID.
  const std::string& id() const noexcept { return id_; }
  SpanKind kind() const noexcept { return kind_; }
  // A `tool_arguments` event on this span (a tool's input).
  void record_arguments(Value arguments) {
    record_event(EventType::kToolArguments, std::move(arguments));
  }
  // A `tool_result` event on this span (a tool's output).
  void record_result(Value result) { record_event(EventType::kToolResult, std::move(result)); }

 private:
  std::string id_;
  SpanKind kind_;
};

// Opens a span: `auto tool = northstar::span("search", SpanKind::kTool, {.iteration = 1});`.
[[nodiscard]] SpanHandle span(std::string_view name, SpanKind kind = SpanKind::kCustom,
                              SpanOptions options = {});

}  // namespace dagstack::logger::northstar

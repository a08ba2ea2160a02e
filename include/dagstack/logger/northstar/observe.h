// observe.h: declares `observe()`, which wraps a callable so that every call runs in a NorthStar
// span that records the arguments and the result, and `to_observed_value()`.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "dagstack/logger/northstar/span_handle.h"
#include "dagstack/logger/northstar/span_kind.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::northstar {

// The Value recorded for an argument or a result: anything a Value can be built from (numbers,
// strings, Value, vectors and string-keyed maps of those) as itself, other types as "<opaque>".
template <typename T>
Value to_observed_value(const T& v) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_pointer_v<U> && !std::is_same_v<U, const char*> &&
                !std::is_same_v<U, char*>) {
    return Value("<pointer>");
  } else if constexpr (std::is_constructible_v<Value, const U&>) {
    return Value(v);
  } else {
    return Value("<opaque>");
  }
}

// Observed
//
// The callable returned by observe(). Each call opens a span (`name`, `kind`), records a
// tool_arguments event {"args": [...]}, invokes the wrapped callable, records a tool_result event
// with its result (null for void), and returns the result. An exception marks the span failed and
// is rethrown unchanged. Copyable when F is; calls are as thread-safe as F.
template <typename F>
class Observed {
 public:
  Observed(std::string name, F fn, SpanKind kind)
      : name_(std::move(name)), fn_(std::move(fn)), kind_(kind) {}

  template <typename... Args>
  std::invoke_result_t<F&, Args...> operator()(Args&&... args) {
    using R = std::invoke_result_t<F&, Args...>;
    SpanHandle span(name_, kind_);
    Value::Array recorded;
    recorded.reserve(sizeof...(Args));
    (recorded.push_back(to_observed_value(args)), ...);
    span.record_arguments(Value::map({{"args", Value(std::move(recorded))}}));
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(fn_, std::forward<Args>(args)...);
        span.record_result(Value());
      } else {
        R result = std::invoke(fn_, std::forward<Args>(args)...);
        span.record_result(to_observed_value(result));
        return std::forward<R>(result);
      }
    } catch (...) {
      span.record_error(std::current_exception());
      throw;
    }
  }

 private:
  std::string name_;
  F fn_;
  SpanKind kind_;
};

// Wraps `fn`: `auto search = northstar::observe("search_docs", [](std::string q) {...});`.
// The default kind is tool, so observed functions appear as tool calls in the dashboard (the
// Python SDK uses custom; pass SpanKind::kCustom for that).
template <typename F>
Observed<std::decay_t<F>> observe(std::string name, F&& fn, SpanKind kind = SpanKind::kTool) {
  return Observed<std::decay_t<F>>(std::move(name), std::forward<F>(fn), kind);
}

}  // namespace dagstack::logger::northstar

// tracing.cpp: the NorthStar tracing API (trace, span, model_call, log helpers) on top of core
// spans: every call becomes an ordinary record that any sink sees and the NorthStar sink stitches.
#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/log_helpers.h"
#include "dagstack/logger/northstar/model_call.h"
#include "dagstack/logger/northstar/northstar_sink.h"
#include "dagstack/logger/northstar/span_handle.h"
#include "dagstack/logger/northstar/trace.h"
#include "dagstack/logger/northstar/uuid.h"
#include "dagstack/logger/span.h"
#include "record_codec.h"
#include "throw_hook.h"
#include "wire.h"

namespace dagstack::logger::northstar {
namespace detail {

// What a NorthStar span knows about the run it belongs to.
struct RunInfo {
  std::string run_id;
  std::optional<bool> capture_input;
  std::optional<bool> capture_output;
};

namespace {

// Live NorthStar spans -> their run, so current_trace_id() works wherever a span's Context is
// current (also on threads it was handed to).
struct RunRegistry {
  std::mutex mutex;
  std::unordered_map<SpanKey, std::shared_ptr<const RunInfo>, SpanKeyHash> spans;
};

RunRegistry& run_registry() {
  static auto* r = new RunRegistry();
  return *r;
}

// The NorthStar handles open on this thread (innermost last), for core spans nested in them.
thread_local std::vector<std::pair<TraceId, std::shared_ptr<const RunInfo>>> tl_open;

std::shared_ptr<const RunInfo> lookup(const TraceId& trace_id, const SpanId& span_id) {
  auto& reg = run_registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  auto it = reg.spans.find(SpanKey{trace_id, span_id});
  return it == reg.spans.end() ? nullptr : it->second;
}

std::shared_ptr<const RunInfo> run_of_context(const Context& ctx) {
  if (!ctx.has_span()) return nullptr;
  if (auto info = lookup(ctx.trace_id(), ctx.span_id())) return info;
  for (auto it = tl_open.rbegin(); it != tl_open.rend(); ++it) {
    if (it->first == ctx.trace_id()) return it->second;
  }
  return nullptr;
}

// Emits one NorthStar record with `ctx` on the event logger. Never throws.
void emit(const Context& ctx, std::string_view body,
          std::initializer_list<Attribute> attrs) noexcept {
  try {
    Logger log = Logger::get(kEventLoggerName);
    if (!log.is_enabled(kSeverityInfo)) return;
    log.info_ctx(ctx, body, AttributeSpan(attrs));
  } catch (...) {
  }
}

}  // namespace

void log_metric_value(std::string_view name, Value value) {
  emit(Context::current(), name,
       {{keys::kEventType, keys::kEventTypeMetric}, {keys::kMetricValue, AttrValue(value)}});
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// SpanScope

SpanScope::SpanScope(std::string_view name, std::string_view kind, Value::Map attributes, bool run,
                     std::optional<bool> capture_input, std::optional<bool> capture_output)
    : uncaught_at_start_(std::uncaught_exceptions()), throws_at_start_(detail::throw_serial()) {
  std::shared_ptr<const detail::RunInfo> parent_run =
      run ? nullptr : detail::run_of_context(Context::current());
  dagstack::logger::SpanOptions options;
  options.kind = std::string(kind);
  options.attributes = std::move(attributes);
  if (run) {
    options.attributes.insert_or_assign(std::string(keys::kRun), true);
    if (capture_input)
      options.attributes.insert_or_assign(std::string(keys::kCaptureInput), *capture_input);
    if (capture_output)
      options.attributes.insert_or_assign(std::string(keys::kCaptureOutput), *capture_output);
  }
  span_ = std::make_unique<Span>(name, std::move(options));
  if (parent_run) {
    run_ = std::move(parent_run);
  } else {
    auto info = std::make_shared<detail::RunInfo>();
    info->run_id = derive_run_uuid(span_->trace_id(), span_->span_id());
    info->capture_input = capture_input;
    info->capture_output = capture_output;
    run_ = std::move(info);
  }
  {
    auto& reg = detail::run_registry();
    std::lock_guard<std::mutex> lock(reg.mutex);
    reg.spans.insert_or_assign(detail::SpanKey{span_->trace_id(), span_->span_id()}, run_);
  }
  detail::tl_open.emplace_back(span_->trace_id(), run_);
}

SpanScope::~SpanScope() {
  if (span_ && !span_->ended() && std::uncaught_exceptions() > uncaught_at_start_ &&
      !error_recorded_) {
    // The exception unwinding through here is the last one thrown on this thread (recorded by
    // the throw hook) when that throw happened inside this scope's lifetime.
    const detail::ThrownInfo& thrown = detail::last_thrown();
    if (thrown.type != nullptr && thrown.serial > throws_at_start_) {
      try {
        span_->set_attribute("exception.type", Value(detail::demangled(*thrown.type)));
        span_->set_attribute("exception.message", Value(thrown.message));
        span_->set_status(SpanStatus::kError, thrown.message);
      } catch (...) {
        span_->set_status(SpanStatus::kError, "scope exited by an exception");
      }
    } else {
      span_->set_status(SpanStatus::kError, "scope exited by an exception");
    }
  }
  end();
}

const Context& SpanScope::context() const noexcept { return span_->context(); }
const std::string& SpanScope::run_id() const noexcept { return run_->run_id; }
bool SpanScope::ended() const noexcept { return span_->ended(); }

void SpanScope::end() {
  if (span_->ended()) return;
  span_->end();
  {
    auto& reg = detail::run_registry();
    std::lock_guard<std::mutex> lock(reg.mutex);
    reg.spans.erase(detail::SpanKey{span_->trace_id(), span_->span_id()});
  }
  auto& open = detail::tl_open;
  for (auto it = open.rbegin(); it != open.rend(); ++it) {
    if (it->second == run_ && it->first == span_->trace_id()) {
      open.erase(std::next(it).base());
      break;
    }
  }
}

void SpanScope::log_event(std::string_view name, Value data) {
  detail::emit(span_->context(), name,
               {{keys::kEventType, "custom"}, {keys::kData, AttrValue(data)}});
}

void SpanScope::log_metric_value(std::string_view name, Value value) {
  detail::emit(
      span_->context(), name,
      {{keys::kEventType, keys::kEventTypeMetric}, {keys::kMetricValue, AttrValue(value)}});
}

void SpanScope::log_metadata(Value::Map metadata) {
  const Value m(std::move(metadata));
  detail::emit(span_->context(), "metadata",
               {{keys::kEventType, keys::kEventTypeMetadata}, {keys::kMetadata, AttrValue(m)}});
}

void SpanScope::log_metadata(std::string_view key, Value value) {
  Value::Map m;
  m.insert_or_assign(std::string(key), std::move(value));
  log_metadata(std::move(m));
}

void SpanScope::set_attribute(std::string_view key, Value value) {
  span_->set_attribute(key, std::move(value));
}

void SpanScope::record_event(EventType type, Value content, Value::Map attributes) {
  if (detail::is_input_event(type) && run_->capture_input == false) return;
  if (detail::is_output_event(type) && run_->capture_output == false) return;
  const Value attrs(std::move(attributes));
  const std::string_view name = to_string(type);
  if (attrs.as_map().empty()) {
    detail::emit(span_->context(), name,
                 {{keys::kEventType, name}, {keys::kContent, AttrValue(content)}});
  } else {
    detail::emit(span_->context(), name,
                 {{keys::kEventType, name},
                  {keys::kContent, AttrValue(content)},
                  {keys::kEventAttributes, AttrValue(attrs)}});
  }
}

void SpanScope::record_error(const std::exception& error) {
  error_recorded_ = true;
  span_->record_exception(error);
}

void SpanScope::record_error(std::exception_ptr error) {
  if (!error) return;
  error_recorded_ = true;
  span_->record_exception(error);
}

// ---------------------------------------------------------------------------------------------
// Trace

namespace {
Value::Map trace_attributes(const TraceOptions& options) {
  Value::Map attrs;
  if (!options.metadata.empty())
    attrs.insert_or_assign(std::string(keys::kMetadata), options.metadata);
  if (!options.tags.empty()) attrs.insert_or_assign(std::string(keys::kTags), Value(options.tags));
  return attrs;
}
}  // namespace

Trace::Trace(std::string_view name, TraceOptions options)
    : SpanScope(name.empty() ? std::string_view("trace") : name, "agent", trace_attributes(options),
                true, options.capture_input, options.capture_output) {
  if (options.input) record_event(EventType::kUserInput, std::move(*options.input));
}

void Trace::set_output(Value output) { record_event(EventType::kFinalResponse, std::move(output)); }

ModelCall Trace::model_call(std::string_view name, std::string_view model) {
  return ModelCall(name, model);
}

Trace trace(std::string_view name, TraceOptions options) { return Trace(name, std::move(options)); }

// ---------------------------------------------------------------------------------------------
// SpanHandle

namespace {
Value::Map span_attributes(SpanOptions& options) {
  Value::Map attrs = std::move(options.attributes);
  if (options.iteration) attrs.insert_or_assign(std::string(keys::kIteration), *options.iteration);
  return attrs;
}
}  // namespace

SpanHandle::SpanHandle(std::string_view name, SpanKind kind, SpanOptions options)
    : SpanScope(name, to_string(kind), span_attributes(options), false), kind_(kind) {
  id_ = derive_span_uuid(context().trace_id(), context().span_id());
}

SpanHandle span(std::string_view name, SpanKind kind, SpanOptions options) {
  return SpanHandle(name, kind, std::move(options));
}

// ---------------------------------------------------------------------------------------------
// ModelCall

namespace {
Value::Map model_attributes(std::string_view model) {
  Value::Map attrs;
  attrs.insert_or_assign(std::string(keys::kModel), std::string(model));
  return attrs;
}

const Value* field(const Value& m, std::string_view key) {
  return m.is_map() ? m.find(key) : nullptr;
}

std::string string_field(const Value& m, std::string_view key) {
  const Value* v = field(m, key);
  return (v != nullptr && v->is_string()) ? v->as_string() : std::string();
}
}  // namespace

ModelCall::ModelCall(std::string_view name, std::string_view model)
    : SpanScope(name, "model", model_attributes(model), false), model_(model) {
  id_ = derive_span_uuid(context().trace_id(), context().span_id());
}

int ModelCall::record_one_message(const Value& message) {
  if (!message.is_map()) return 0;
  const std::string role = string_field(message, "role");
  const Value* content_ptr = field(message, "content");
  const Value content = content_ptr ? *content_ptr : Value();
  if (role == "system") {
    if (content.is_null()) return 0;
    record_event(EventType::kSystemMessage, content);
    return 1;
  }
  if (role == "user") {
    if (content.is_null()) return 0;
    record_event(EventType::kUserInput, content);
    return 1;
  }
  if (role == "tool") {
    Value::Map attrs;
    std::string call_id = string_field(message, "tool_call_id");
    if (call_id.empty()) call_id = string_field(message, "id");
    if (!call_id.empty()) attrs.insert_or_assign("tool_call_id", call_id);
    if (std::string n = string_field(message, "name"); !n.empty())
      attrs.insert_or_assign("name", n);
    record_event(EventType::kToolResult, content, std::move(attrs));
    return 1;
  }
  if (role == "assistant") {
    int n = 0;
    if (!content.is_null()) {
      record_event(EventType::kAssistantMessage, content);
      ++n;
    }
    if (const Value* calls = field(message, "tool_calls"); calls != nullptr && calls->is_array()) {
      for (const Value& call : calls->as_array()) {
        if (!call.is_map()) continue;
        const Value* fn = field(call, "function");
        const Value& src = (fn != nullptr && fn->is_map()) ? *fn : call;
        const std::string id = string_field(call, "id");
        const std::string name = string_field(src, "name");
        const Value* args = field(src, "arguments");
        Value::Map attrs;
        if (!id.empty()) attrs.insert_or_assign("tool_call_id", id);
        if (!name.empty()) attrs.insert_or_assign("name", name);
        record_event(
            EventType::kToolArguments,
            Value::map({{"id", id}, {"name", name}, {"arguments", args ? *args : Value()}}),
            std::move(attrs));
        ++n;
      }
    }
    return n;
  }
  return 0;
}

int ModelCall::record_input_messages(const Value::Array& messages) {
  int n = 0;
  for (const Value& m : messages) n += record_one_message(m);
  return n;
}

int ModelCall::record_output_message(const Value& message) { return record_one_message(message); }

void ModelCall::record_usage(std::int64_t input_tokens, std::int64_t output_tokens,
                             std::optional<double> cost_usd) {
  set_attribute(keys::kInputTokens, input_tokens);
  set_attribute(keys::kOutputTokens, output_tokens);
  if (cost_usd) {
    set_attribute(keys::kCostUsd, *cost_usd);
    set_attribute(keys::kPricingSource, "provider");
  }
}

ModelCall model_call(std::string_view name, std::string_view model) {
  return ModelCall(name, model);
}

Value system_message(std::string_view content) {
  return Value::map({{"role", "system"}, {"content", std::string(content)}});
}

Value user_message(std::string_view content) {
  return Value::map({{"role", "user"}, {"content", std::string(content)}});
}

Value assistant_message(Value content, Value::Array tool_calls) {
  Value::Map m;
  m.insert_or_assign("role", "assistant");
  m.insert_or_assign("content", std::move(content));
  if (!tool_calls.empty()) m.insert_or_assign("tool_calls", Value(std::move(tool_calls)));
  return Value(std::move(m));
}

Value tool_call(std::string_view id, std::string_view name, std::string_view arguments_json) {
  return Value::map({{"id", std::string(id)},
                     {"type", "function"},
                     {"function", Value::map({{"name", std::string(name)},
                                              {"arguments", std::string(arguments_json)}})}});
}

Value tool_message(std::string_view tool_call_id, std::string_view name, Value content) {
  return Value::map({{"role", "tool"},
                     {"tool_call_id", std::string(tool_call_id)},
                     {"name", std::string(name)},
                     {"content", std::move(content)}});
}

// ---------------------------------------------------------------------------------------------
// Free helpers

void log_event(std::string_view name, Value data) {
  detail::emit(Context::current(), name,
               {{keys::kEventType, "custom"}, {keys::kData, AttrValue(data)}});
}

void log_metadata(Value::Map metadata) {
  const Value m(std::move(metadata));
  detail::emit(Context::current(), "metadata",
               {{keys::kEventType, keys::kEventTypeMetadata}, {keys::kMetadata, AttrValue(m)}});
}

void log_metadata(std::string_view key, Value value) {
  Value::Map m;
  m.insert_or_assign(std::string(key), std::move(value));
  log_metadata(std::move(m));
}

std::optional<std::string> current_trace_id() {
  if (enabled_northstar_sink_count() == 0) return std::nullopt;
  auto info = detail::run_of_context(Context::current());
  if (!info) return std::nullopt;
  return info->run_id;
}

bool flush(std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) throw ConfigError("timeout must be greater than zero");
  return flush_all_northstar_sinks(timeout);
}

}  // namespace dagstack::logger::northstar

// exception.cpp: Logger::exception — structured exception records (contract §8) — and the
// exception description shared with Span::record_exception.
#include <cxxabi.h>

#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "dagstack/logger/logger.h"
#include "dagstack/logger/stacktrace.h"
#include "detail/emit.h"
#include "detail/exception_info.h"
#include "detail/internal_channel.h"
#include "detail/stacktrace.h"

namespace dagstack::logger {
namespace detail {

namespace {

// what() of a user exception may return nullptr (a broken override); that must not crash.
const char* safe_what(const std::exception& e) noexcept {
  const char* w = e.what();
  return w != nullptr ? w : "";
}

constexpr int kMaxCauses = 8;

// The name users know: std::throw_with_nested's wrapper (libstdc++ std::_Nested_exception<E>,
// libc++ std::__nested<E>) and throw_with_stacktrace's wrapper are reported as E.
std::string type_name(const std::exception& e) {
  if (const auto* carrier = dynamic_cast<const StacktraceCarrier*>(&e)) {
    return demangle(carrier->thrown_type().name());
  }
  std::string name = demangle(typeid(e).name());
  for (std::string_view wrapper :
       {"std::_Nested_exception<", "std::__1::__nested<", "std::__nested<"}) {
    if (name.size() > wrapper.size() && name.compare(0, wrapper.size(), wrapper) == 0 &&
        name.back() == '>') {
      return name.substr(wrapper.size(), name.size() - wrapper.size() - 1);
    }
  }
  return name;
}

// The type and message of an exception that is not a std::exception (call inside catch (...)).
ExceptionCause describe_foreign() {
  ExceptionCause c;
  const std::type_info* t = abi::__cxa_current_exception_type();
  c.type = t != nullptr ? demangle(t->name()) : "unknown";
  try {
    throw;
  } catch (const char* s) {
    c.message = s != nullptr ? s : "";
  } catch (const std::string& s) {
    c.message = s;
  } catch (...) {
    c.message = "exception of type " + c.type + " (not derived from std::exception)";
  }
  return c;
}

void collect_causes(const std::exception& e, std::vector<ExceptionCause>& out) {
  const auto* nested = dynamic_cast<const std::nested_exception*>(&e);
  if (nested == nullptr || !nested->nested_ptr() || out.size() >= kMaxCauses) return;
  try {
    std::rethrow_exception(nested->nested_ptr());
  } catch (const std::exception& cause) {
    out.push_back({type_name(cause), safe_what(cause)});
    collect_causes(cause, out);
  } catch (...) {
    out.push_back(describe_foreign());
  }
}

void emit_exception(const Node* node, bool use_context, const Context* ctx,
                    const ExceptionInfo& info, AttributeSpan attrs, const AttrValue* body_override,
                    const SourceLocation* loc) {
  std::vector<std::string> keys;
  std::vector<Attribute> all(attrs.begin(), attrs.end());
  const std::size_t caller = all.size();
  for (const Attribute& a : info.attributes(keys)) {
    bool taken = false;  // caller attributes win
    for (std::size_t i = 0; i < caller && !taken; ++i) taken = all[i].key == a.key;
    if (!taken) all.push_back(a);
  }
  const std::string_view body = info.message.empty() ? std::string_view(info.type) : info.message;
  emit_record(node, use_context, kSeverityError, ctx,
              body_override != nullptr ? *body_override : AttrValue(body), all, loc);
}

}  // namespace

std::vector<Attribute> ExceptionInfo::attributes(std::vector<std::string>& keys) const {
  keys.clear();
  keys.reserve(causes.size() * 2);
  for (std::size_t i = 0; i < causes.size(); ++i) {
    keys.push_back("dagstack.exception.cause." + std::to_string(i) + ".type");
    keys.push_back("dagstack.exception.cause." + std::to_string(i) + ".message");
  }
  std::vector<Attribute> out;
  out.reserve(3 + keys.size());
  out.push_back({"exception.type", AttrValue(type)});
  out.push_back({"exception.message", AttrValue(message)});
  out.push_back({"exception.stacktrace", AttrValue(stacktrace)});
  for (std::size_t i = 0; i < causes.size(); ++i) {
    out.push_back({keys[2 * i], AttrValue(causes[i].type)});
    out.push_back({keys[2 * i + 1], AttrValue(causes[i].message)});
  }
  return out;
}

__attribute__((noinline)) ExceptionInfo describe_exception(const std::exception& e) {
  ExceptionInfo info;
  info.type = type_name(e);
  info.message = safe_what(e);
  if (const auto* carrier = dynamic_cast<const StacktraceCarrier*>(&e)) {
    info.stacktrace = symbolize_stack_frames_now(carrier->frames());
  } else {
    info.stacktrace = capture_stacktrace();
  }
  collect_causes(e, info.causes);
  return info;
}

__attribute__((noinline)) ExceptionInfo describe_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return describe_exception(ex);
  } catch (...) {
    ExceptionCause c = describe_foreign();
    ExceptionInfo info;
    info.type = std::move(c.type);
    info.message = std::move(c.message);
    info.stacktrace = capture_stacktrace();
    return info;
  }
}

}  // namespace detail

void Logger::exception(const std::exception& e, AttributeSpan attrs, SourceLocation loc) noexcept {
  if (!is_enabled(kSeverityError)) return;
  if (gate_->backtrace.load(std::memory_order_relaxed)) (void)dump_backtrace();
  try {
    detail::emit_exception(node_.get(), use_context_, nullptr, detail::describe_exception(e), attrs,
                           nullptr, &loc);
  } catch (...) {
    detail::counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Logger::exception_impl(const std::exception* e, const std::exception_ptr* ep, AttrValue body,
                            AttributeSpan attrs, const SourceLocation& loc) const noexcept {
  if (!is_enabled(kSeverityError)) return;
  if (gate_->backtrace.load(std::memory_order_relaxed)) (void)dump_backtrace();
  try {
    detail::emit_exception(
        node_.get(), use_context_, nullptr,
        e != nullptr ? detail::describe_exception(*e) : detail::describe_exception(*ep), attrs,
        &body, &loc);
  } catch (...) {
    detail::counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Logger::exception_ctx(const Context& ctx, const std::exception& e, AttributeSpan attrs,
                           SourceLocation loc) noexcept {
  if (!is_enabled(kSeverityError)) return;
  if (gate_->backtrace.load(std::memory_order_relaxed)) (void)dump_backtrace();
  try {
    detail::emit_exception(node_.get(), use_context_, &ctx, detail::describe_exception(e), attrs,
                           nullptr, &loc);
  } catch (...) {
    detail::counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Logger::exception(std::exception_ptr e, AttributeSpan attrs, SourceLocation loc) noexcept {
  if (!e || !is_enabled(kSeverityError)) return;
  if (gate_->backtrace.load(std::memory_order_relaxed)) (void)dump_backtrace();
  try {
    detail::emit_exception(node_.get(), use_context_, nullptr, detail::describe_exception(e), attrs,
                           nullptr, &loc);
  } catch (...) {
    detail::counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace dagstack::logger

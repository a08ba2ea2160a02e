// exception.cpp: Logger::exception — structured exception records (contract §8).
#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "dagstack/logger/logger.h"
#include "detail/internal_channel.h"
#include "detail/stacktrace.h"

namespace dagstack::logger {
namespace detail {
void emit_record(const Node* node, bool use_context, int severity, const Context* explicit_ctx,
                 AttrValue body, AttributeSpan attrs, const std::source_location* loc);

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                             std::free);
  return (status == 0 && out) ? std::string(out.get()) : std::string(name);
}

namespace {

struct ExceptionInfo {
  std::string type;
  std::string message;
};

ExceptionInfo describe(const std::exception& e) { return {demangle(typeid(e).name()), e.what()}; }

// Walks std::nested_exception chains: e -> its nested cause -> ...
void collect_causes(const std::exception& e, std::vector<ExceptionInfo>& out, int depth = 0) {
  if (depth > 8) return;
  const auto* nested = dynamic_cast<const std::nested_exception*>(&e);
  if (nested == nullptr || !nested->nested_ptr()) return;
  try {
    std::rethrow_exception(nested->nested_ptr());
  } catch (const std::exception& cause) {
    out.push_back(describe(cause));
    collect_causes(cause, out, depth + 1);
  } catch (...) {
    out.push_back({"unknown", ""});
  }
}

void emit_exception(const Node* node, bool use_context, const Context* ctx, const ExceptionInfo& info,
                    const std::vector<ExceptionInfo>& causes, AttributeSpan attrs) {
  const std::string stack = capture_stacktrace(2);
  std::vector<Attribute> all(attrs.begin(), attrs.end());
  auto add = [&](std::string_view key, AttrValue v) {
    for (const auto& a : all) {
      if (a.key == key) return;  // caller attributes win
    }
    all.push_back({key, v});
  };
  add("exception.type", AttrValue(info.type));
  add("exception.message", AttrValue(info.message));
  add("exception.stacktrace", AttrValue(stack));
  std::vector<std::string> keys;
  keys.reserve(causes.size() * 2);
  for (std::size_t i = 0; i < causes.size(); ++i) {
    keys.push_back("dagstack.exception.cause." + std::to_string(i) + ".type");
    keys.push_back("dagstack.exception.cause." + std::to_string(i) + ".message");
  }
  for (std::size_t i = 0; i < causes.size(); ++i) {
    add(keys[2 * i], AttrValue(causes[i].type));
    add(keys[2 * i + 1], AttrValue(causes[i].message));
  }
  emit_record(node, use_context, kSeverityError, ctx, AttrValue(info.message), all, nullptr);
}

}  // namespace
}  // namespace detail

void Logger::exception(const std::exception& e, AttributeSpan attrs) noexcept {
  if (!is_enabled(kSeverityError)) return;
  try {
    std::vector<detail::ExceptionInfo> causes;
    detail::collect_causes(e, causes);
    detail::emit_exception(node_.get(), use_context_, nullptr, detail::describe(e), causes, attrs);
  } catch (...) {
    detail::counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Logger::exception_ctx(const Context& ctx, const std::exception& e, AttributeSpan attrs) noexcept {
  if (!is_enabled(kSeverityError)) return;
  try {
    std::vector<detail::ExceptionInfo> causes;
    detail::collect_causes(e, causes);
    detail::emit_exception(node_.get(), use_context_, &ctx, detail::describe(e), causes, attrs);
  } catch (...) {
    detail::counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Logger::exception(std::exception_ptr e, AttributeSpan attrs) noexcept {
  if (!e || !is_enabled(kSeverityError)) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    exception(ex, attrs);
  } catch (...) {
    try {
      detail::emit_exception(node_.get(), use_context_, nullptr,
                             {"unknown (not derived from std::exception)", "unknown exception"}, {},
                             attrs);
    } catch (...) {
    }
  }
}

}  // namespace dagstack::logger

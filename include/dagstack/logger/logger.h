// logger.h: declares `Logger`, the handle through which code emits records, and `ScopedSinks`.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/log_record.h"
#include "dagstack/logger/severity.h"
#include "dagstack/logger/sink.h"
#include "dagstack/logger/source_location.h"

namespace dagstack::logger {

namespace detail {
struct Node;
// The level gate's storage; defined here so the gate inlines into the caller.
struct NodeGate {
  std::atomic<int> min_severity{kSeverityInfo};
};
}  // namespace detail

using SinkList = std::vector<std::shared_ptr<Sink>>;

namespace detail {
// Format arguments: at least one, and not a lone attribute list (which selects the
// body + attributes overload instead).
template <typename... Args>
concept FormatArguments =
    sizeof...(Args) > 0 &&
    !(sizeof...(Args) == 1 &&
      (std::is_convertible_v<const std::remove_cvref_t<Args>&, AttributeSpan> && ...));
}  // namespace detail

class ScopedSinks;

// Logger
//
// A cheap, copyable handle to a node of the process-wide logger tree. `Logger::get("a.b")`
// returns the same node for the same name on every call, creating "a" and the root "" on the
// way. A node's level, sinks, resource and redaction are explicit or inherited from its parent.
// Emit methods are noexcept: they never throw and never report errors to the caller; sink
// failures go to the `dagstack.logger.internal` channel. Thread-safe: every method may be called
// from any thread; configuration setters are meant for start-up.
class Logger {
 public:
  // The logger for `name` (dot-separated; "" is the root, whose scope name is "root").
  // A non-empty `version` that differs from the stored one updates the node's scope version.
  static Logger get(std::string_view name = "", std::string_view version = {});
  // Drops every node of the registry and restores the defaults (tests only). Old handles keep
  // working but are detached from the new tree.
  static void reset();

  // The logger's dotted name ("" for the root).
  const std::string& name() const noexcept;

  // True when a record at `severity_number` passes this logger's level (one relaxed load).
  bool is_enabled(int severity_number) const noexcept {
    return severity_number >= gate_->min_severity.load(std::memory_order_relaxed);
  }

  // Emit at the bucket baselines 1, 5, 9, 13, 17, 21. `attrs` may be a braced list:
  // `log.info("paid", {{"order.id", 42}, {"currency", "EUR"}})`. The call site's location is
  // added as code.* attributes when configured. Never throws.
  void trace(AttrValue body, AttributeSpan attrs = {},
             SourceLocation loc = SourceLocation::current()) noexcept {
    if (is_enabled(kSeverityTrace)) emit_impl(kSeverityTrace, nullptr, body, attrs, loc);
  }
  void debug(AttrValue body, AttributeSpan attrs = {},
             SourceLocation loc = SourceLocation::current()) noexcept {
    if (is_enabled(kSeverityDebug)) emit_impl(kSeverityDebug, nullptr, body, attrs, loc);
  }
  void info(AttrValue body, AttributeSpan attrs = {},
            SourceLocation loc = SourceLocation::current()) noexcept {
    if (is_enabled(kSeverityInfo)) emit_impl(kSeverityInfo, nullptr, body, attrs, loc);
  }
  void warn(AttrValue body, AttributeSpan attrs = {},
            SourceLocation loc = SourceLocation::current()) noexcept {
    if (is_enabled(kSeverityWarn)) emit_impl(kSeverityWarn, nullptr, body, attrs, loc);
  }
  void error(AttrValue body, AttributeSpan attrs = {},
             SourceLocation loc = SourceLocation::current()) noexcept {
    if (is_enabled(kSeverityError)) emit_impl(kSeverityError, nullptr, body, attrs, loc);
  }
  void fatal(AttrValue body, AttributeSpan attrs = {},
             SourceLocation loc = SourceLocation::current()) noexcept {
    if (is_enabled(kSeverityFatal)) emit_impl(kSeverityFatal, nullptr, body, attrs, loc);
  }
  // Emit at any number; numbers outside [1, 24] are clamped and reported on the internal
  // channel.
  void log(int severity_number, AttrValue body, AttributeSpan attrs = {},
           SourceLocation loc = SourceLocation::current()) noexcept {
    if (is_enabled(clamp_severity(severity_number)))
      emit_impl(severity_number, nullptr, body, attrs, loc);
  }

  // fmt-style bodies: `log.info("user {} logged in", name)`. Formatting happens only when the
  // level passes (the argument expressions themselves are evaluated by C++ as usual; use the
  // DAGSTACK_LOG_* macros to skip even that).
  template <typename... Args>
  requires detail::FormatArguments<Args...>
  void trace(fmt::format_string<Args...> f, Args&&... args) noexcept {
    if (is_enabled(kSeverityTrace))
      format_emit_impl(kSeverityTrace, f, fmt::make_format_args(args...));
  }
  template <typename... Args>
  requires detail::FormatArguments<Args...>
  void debug(fmt::format_string<Args...> f, Args&&... args) noexcept {
    if (is_enabled(kSeverityDebug))
      format_emit_impl(kSeverityDebug, f, fmt::make_format_args(args...));
  }
  template <typename... Args>
  requires detail::FormatArguments<Args...>
  void info(fmt::format_string<Args...> f, Args&&... args) noexcept {
    if (is_enabled(kSeverityInfo))
      format_emit_impl(kSeverityInfo, f, fmt::make_format_args(args...));
  }
  template <typename... Args>
  requires detail::FormatArguments<Args...>
  void warn(fmt::format_string<Args...> f, Args&&... args) noexcept {
    if (is_enabled(kSeverityWarn))
      format_emit_impl(kSeverityWarn, f, fmt::make_format_args(args...));
  }
  template <typename... Args>
  requires detail::FormatArguments<Args...>
  void error(fmt::format_string<Args...> f, Args&&... args) noexcept {
    if (is_enabled(kSeverityError))
      format_emit_impl(kSeverityError, f, fmt::make_format_args(args...));
  }
  template <typename... Args>
  requires detail::FormatArguments<Args...>
  void fatal(fmt::format_string<Args...> f, Args&&... args) noexcept {
    if (is_enabled(kSeverityFatal))
      format_emit_impl(kSeverityFatal, f, fmt::make_format_args(args...));
  }

  // Explicit-context variants: the trace ids and baggage come from `ctx` only, never from the
  // thread's current context, whatever auto_inject_trace_context says.
  void trace_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {}) noexcept {
    if (is_enabled(kSeverityTrace)) emit_impl(kSeverityTrace, &ctx, body, attrs, {});
  }
  void debug_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {}) noexcept {
    if (is_enabled(kSeverityDebug)) emit_impl(kSeverityDebug, &ctx, body, attrs, {});
  }
  void info_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {}) noexcept {
    if (is_enabled(kSeverityInfo)) emit_impl(kSeverityInfo, &ctx, body, attrs, {});
  }
  void warn_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {}) noexcept {
    if (is_enabled(kSeverityWarn)) emit_impl(kSeverityWarn, &ctx, body, attrs, {});
  }
  void error_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {}) noexcept {
    if (is_enabled(kSeverityError)) emit_impl(kSeverityError, &ctx, body, attrs, {});
  }
  void fatal_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {}) noexcept {
    if (is_enabled(kSeverityFatal)) emit_impl(kSeverityFatal, &ctx, body, attrs, {});
  }
  void log_ctx(const Context& ctx, int severity_number, AttrValue body,
               AttributeSpan attrs = {}) noexcept {
    if (is_enabled(clamp_severity(severity_number)))
      emit_impl(severity_number, &ctx, body, attrs, {});
  }

  // Logs an exception at ERROR (17) with exception.type (demangled), exception.message and
  // exception.stacktrace (captured here); the body defaults to the message. Caller attributes
  // win over the generated ones. Nested exceptions (std::nested_exception) are unwrapped into
  // dagstack.exception.cause.* attributes.
  void exception(const std::exception& e, AttributeSpan attrs = {}) noexcept;
  // The same from a `catch (...)` block: `log.exception(std::current_exception())`. A null
  // pointer is a no-op.
  void exception(std::exception_ptr e, AttributeSpan attrs = {}) noexcept;
  // Explicit-context variant of exception().
  void exception_ctx(const Context& ctx, const std::exception& e,
                     AttributeSpan attrs = {}) noexcept;

  // A detached child with bound attributes (merged over the parent's; call-site attributes win
  // over bound ones). Inherits level, sinks, resource and redaction dynamically.
  Logger child(AttributeSpan attrs) const;
  // A detached child whose sinks replace the parent's.
  Logger with_sinks(SinkList sinks) const;
  // A detached child with the parent's effective sinks (as of now) plus `sinks`.
  Logger append_sinks(SinkList sinks) const;
  // A detached child that discards everything.
  Logger without_sinks() const;
  // The same logger, whose plain emits ignore the thread's current trace context and baggage.
  // Children made from the returned handle read the context again.
  Logger without_context() const;

  // Routes emits through this logger, and through every logger below it that inherits its
  // sinks, to `sinks` while the guard lives, for the calling thread (and wherever its Context
  // is handed on). Other threads are unaffected. Nested guards restore in LIFO order.
  [[nodiscard]] ScopedSinks scope_sinks(SinkList sinks) const;

  // Sets this node's explicit level. Throws ConfigError on a bad level.
  void set_level(Level level) const;
  // Makes the level inherited again.
  void clear_level() const;
  // The level in force (explicit or inherited).
  int effective_level() const noexcept;
  // Sets this node's explicit sinks (an empty list silences it).
  void set_sinks(SinkList sinks) const;
  // Makes the sinks inherited again.
  void clear_sinks() const;
  // The sinks in force (explicit or inherited), ignoring scoped overrides.
  SinkList effective_sinks() const;
  // Sets this node's resource; nullptr makes it inherited.
  void set_resource(std::shared_ptr<const Resource> resource) const;
  // Sets this node's explicit secret suffixes (empty = no redaction); nullopt = inherited.
  void set_redaction_suffixes(std::optional<std::vector<std::string>> suffixes) const;
  // The suffixes in force, lowercase.
  std::vector<std::string> effective_secret_suffixes() const;

  // Flushes every effective sink; aggregates their results.
  FlushResult flush(std::chrono::milliseconds timeout = kDefaultFlushTimeout) const;
  // Closes every effective sink; aggregates their errors. Idempotent per sink.
  FlushResult close() const;

  friend bool operator==(const Logger& a, const Logger& b) noexcept {
    return a.node_ == b.node_ && a.use_context_ == b.use_context_;
  }

  // Internal: the node behind this handle.
  const std::shared_ptr<detail::Node>& node() const noexcept { return node_; }
  explicit Logger(std::shared_ptr<detail::Node> node, bool use_context = true) noexcept;

 private:
  void emit_impl(int severity, const Context* ctx, AttrValue body, AttributeSpan attrs,
                 const SourceLocation& loc) const noexcept;
  void format_emit_impl(int severity, fmt::string_view f, fmt::format_args args) const noexcept;

  std::shared_ptr<detail::Node> node_;
  const detail::NodeGate* gate_;
  bool use_context_ = true;
};

// ScopedSinks
//
// The RAII guard returned by Logger::scope_sinks: restores the previous routing when destroyed.
// Meant to be destroyed on the thread that created it, in LIFO order. Movable, not copyable.
// Out of order: the guard owns the context it restores, so any end order is memory-safe; its
// destructor makes current exactly the context that was current when it was created (guards
// ended out of order can thus bring back a routing another guard already ended).
class ScopedSinks {
 public:
  ScopedSinks(ScopedSinks&& other) noexcept;
  ScopedSinks& operator=(ScopedSinks&&) = delete;
  ScopedSinks(const ScopedSinks&) = delete;
  ScopedSinks& operator=(const ScopedSinks&) = delete;
  ~ScopedSinks();

  // The scoped logger (the same node as the one scope_sinks was called on).
  const Logger& logger() const noexcept { return logger_; }

 private:
  friend class Logger;
  ScopedSinks(Logger logger, Context ctx);

  Logger logger_;
  Context ctx_;
  Context previous_;  // owned: restoring it is safe in any end order
  bool active_ = false;
};

}  // namespace dagstack::logger

// Emit macros that skip evaluating their arguments when the level is off:
// DAGSTACK_LOG_INFO(log, "user {} logged in", expensive_name());
#define DAGSTACK_LOG_AT(lg_, level_, ...)                                        \
  do {                                                                           \
    if ((lg_).is_enabled(level_)) (lg_).log(level_, ::fmt::format(__VA_ARGS__)); \
  } while (false)
#define DAGSTACK_LOG_TRACE(lg_, ...) \
  DAGSTACK_LOG_AT(lg_, ::dagstack::logger::kSeverityTrace, __VA_ARGS__)
#define DAGSTACK_LOG_DEBUG(lg_, ...) \
  DAGSTACK_LOG_AT(lg_, ::dagstack::logger::kSeverityDebug, __VA_ARGS__)
#define DAGSTACK_LOG_INFO(lg_, ...) \
  DAGSTACK_LOG_AT(lg_, ::dagstack::logger::kSeverityInfo, __VA_ARGS__)
#define DAGSTACK_LOG_WARN(lg_, ...) \
  DAGSTACK_LOG_AT(lg_, ::dagstack::logger::kSeverityWarn, __VA_ARGS__)
#define DAGSTACK_LOG_ERROR(lg_, ...) \
  DAGSTACK_LOG_AT(lg_, ::dagstack::logger::kSeverityError, __VA_ARGS__)
#define DAGSTACK_LOG_FATAL(lg_, ...) \
  DAGSTACK_LOG_AT(lg_, ::dagstack::logger::kSeverityFatal, __VA_ARGS__)

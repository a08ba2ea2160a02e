// logger.h: declares `Logger`, the handle through which code emits records, and `ScopedSinks`.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
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
#include "dagstack/logger/subscription.h"

namespace dagstack::logger {

namespace detail {
struct Node;
// The level gate's storage; defined here so the gate inlines into the caller.
struct NodeGate {
  std::atomic<int> min_severity{kSeverityInfo};
  std::atomic<bool> backtrace{false};  // a backtrace ring keeps records below the level
};
}  // namespace detail

using SinkList = std::vector<std::shared_ptr<Sink>>;

namespace detail {
// The last type of a pack.
template <typename... Args>
using LastOf = typename decltype((std::type_identity<Args>{}, ...))::type;

// Format arguments: at least one, and the last one is not an attribute list (a trailing
// attribute list selects the format + attributes overloads instead).
template <typename... Args>
concept FormatArguments =
    sizeof...(Args) > 0 &&
    !std::is_convertible_v<const std::remove_cvref_t<LastOf<Args...>>&, AttributeSpan>;

// Not constexpr: a format string whose check reaches it fails to compile with this name.
void format_string_has_fewer_placeholders_than_arguments();

// Counts the arguments `s` consumes ({} and {:{}} automatically, or the highest {n} + 1) and
// fails to compile when fewer than `nargs` are consumed (an argument would be dropped silently).
// Named fields ({name}) are not counted.
consteval void check_placeholders(std::string_view s, std::size_t nargs) {
  std::size_t automatic = 0;
  std::size_t manual = 0;
  bool named = false;
  const auto field = [&](std::size_t& i) {  // s[i] is the '{' of a field; leaves i on its '}'
    ++i;
    if (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      std::size_t n = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        n = n * 10 + static_cast<std::size_t>(s[i++] - '0');
      if (n + 1 > manual) manual = n + 1;
    } else if (i < s.size() && (s[i] == '}' || s[i] == ':')) {
      ++automatic;
    } else {
      named = true;
    }
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '{') {
      if (i + 1 < s.size() && s[i + 1] == '{') {
        ++i;
        continue;
      }
      field(i);
      int depth = 1;
      for (; i < s.size() && depth > 0; ++i) {
        if (s[i] == '{') {
          ++depth;
          field(i);
          --i;
        } else if (s[i] == '}') {
          --depth;
        }
      }
      --i;
    } else if (s[i] == '}' && i + 1 < s.size() && s[i + 1] == '}') {
      ++i;
    }
  }
  const std::size_t used = manual > automatic ? manual : automatic;
  if (!named && used < nargs) format_string_has_fewer_placeholders_than_arguments();
}

// A compile-time checked fmt format string plus the call site that wrote it.
template <typename... Args>
struct BasicFormatString {
  fmt::format_string<Args...> str;
  SourceLocation loc;

  template <typename S>
  requires std::is_convertible_v<const S&, std::string_view>
  consteval BasicFormatString(  // NOLINT(google-explicit-constructor)
      const S& s, SourceLocation where = SourceLocation::current())
      : str(s), loc(where) {
    check_placeholders(std::string_view(s), sizeof...(Args));
  }
};
}  // namespace detail

// The format string parameter of the fmt-style emit methods: checked at compile time by fmt (a
// placeholder without an argument, a bad spec) and by this library (an argument without a
// placeholder), and carrying the call site for code.* attributes.
template <typename... Args>
using FormatString = detail::BasicFormatString<std::type_identity_t<Args>...>;

// Declares, inside Logger, the fmt-style emitters `name_(fmt, args...)` and
// `name_(fmt, a1, ..., aN, attrs)` for N = 1..8. `lead_` is an extra leading parameter
// (followed by DAGSTACK_DETAIL_COMMA) or nothing; `gate_` is the severity the level gate
// tests, `sev_` the one emitted.
#define DAGSTACK_DETAIL_COMMA ,
#define DAGSTACK_DETAIL_FMT_EMITTERS(name_, lead_, gate_, sev_)                                    \
  template <typename... Args>                                                                      \
  requires detail::FormatArguments<Args...>                                                        \
  void name_(lead_ FormatString<Args...> f, Args&&... args) noexcept {                             \
    if (accepts(gate_)) format_emit_impl(sev_, f.str, fmt::make_format_args(args...), {}, f.loc);  \
  }                                                                                                \
  template <typename A1>                                                                           \
  void name_(lead_ FormatString<A1> f, A1&& a1, AttributeSpan attrs) noexcept {                    \
    if (accepts(gate_)) format_emit_impl(sev_, f.str, fmt::make_format_args(a1), attrs, f.loc);    \
  }                                                                                                \
  template <typename A1, typename A2>                                                              \
  void name_(lead_ FormatString<A1, A2> f, A1&& a1, A2&& a2, AttributeSpan attrs) noexcept {       \
    if (accepts(gate_))                                                                            \
      format_emit_impl(sev_, f.str, fmt::make_format_args(a1, a2), attrs, f.loc);                  \
  }                                                                                                \
  template <typename A1, typename A2, typename A3>                                                 \
  void name_(lead_ FormatString<A1, A2, A3> f, A1&& a1, A2&& a2, A3&& a3,                          \
             AttributeSpan attrs) noexcept {                                                       \
    if (accepts(gate_))                                                                            \
      format_emit_impl(sev_, f.str, fmt::make_format_args(a1, a2, a3), attrs, f.loc);              \
  }                                                                                                \
  template <typename A1, typename A2, typename A3, typename A4>                                    \
  void name_(lead_ FormatString<A1, A2, A3, A4> f, A1&& a1, A2&& a2, A3&& a3, A4&& a4,             \
             AttributeSpan attrs) noexcept {                                                       \
    if (accepts(gate_))                                                                            \
      format_emit_impl(sev_, f.str, fmt::make_format_args(a1, a2, a3, a4), attrs, f.loc);          \
  }                                                                                                \
  template <typename A1, typename A2, typename A3, typename A4, typename A5>                       \
  void name_(lead_ FormatString<A1, A2, A3, A4, A5> f, A1&& a1, A2&& a2, A3&& a3, A4&& a4,         \
             A5&& a5, AttributeSpan attrs) noexcept {                                              \
    if (accepts(gate_))                                                                            \
      format_emit_impl(sev_, f.str, fmt::make_format_args(a1, a2, a3, a4, a5), attrs, f.loc);      \
  }                                                                                                \
  template <typename A1, typename A2, typename A3, typename A4, typename A5, typename A6>          \
  void name_(lead_ FormatString<A1, A2, A3, A4, A5, A6> f, A1&& a1, A2&& a2, A3&& a3, A4&& a4,     \
             A5&& a5, A6&& a6, AttributeSpan attrs) noexcept {                                     \
    if (accepts(gate_))                                                                            \
      format_emit_impl(sev_, f.str, fmt::make_format_args(a1, a2, a3, a4, a5, a6), attrs, f.loc);  \
  }                                                                                                \
  template <typename A1, typename A2, typename A3, typename A4, typename A5, typename A6,          \
            typename A7>                                                                           \
  void name_(lead_ FormatString<A1, A2, A3, A4, A5, A6, A7> f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, \
             A5&& a5, A6&& a6, A7&& a7, AttributeSpan attrs) noexcept {                            \
    if (accepts(gate_))                                                                            \
      format_emit_impl(sev_, f.str, fmt::make_format_args(a1, a2, a3, a4, a5, a6, a7), attrs,      \
                       f.loc);                                                                     \
  }                                                                                                \
  template <typename A1, typename A2, typename A3, typename A4, typename A5, typename A6,          \
            typename A7, typename A8>                                                              \
  void name_(lead_ FormatString<A1, A2, A3, A4, A5, A6, A7, A8> f, A1&& a1, A2&& a2, A3&& a3,      \
             A4&& a4, A5&& a5, A6&& a6, A7&& a7, A8&& a8, AttributeSpan attrs) noexcept {          \
    if (accepts(gate_))                                                                            \
      format_emit_impl(sev_, f.str, fmt::make_format_args(a1, a2, a3, a4, a5, a6, a7, a8), attrs,  \
                       f.loc);                                                                     \
  }

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
  // The instrumentation scope version given to get() ("" when none was given); detached
  // children report their parent's.
  std::string version() const;

  // A callback for configuration changes, as in the other dagstack bindings.
  using ReconfigureCallback = std::function<void(const Logger&)>;
  // Registers `callback` for watch-based reconfiguration. None exists yet, so the returned
  // Subscription is inactive (path "logger:<name>", inactive_reason says why), the callback is
  // never called, and a `subscription_without_watch` warning goes to the internal channel.
  Subscription on_reconfigure(ReconfigureCallback callback) const;

  // True when a record at `severity_number` passes this logger's level (one relaxed load).
  bool is_enabled(int severity_number) const noexcept {
    return severity_number >= gate_->min_severity.load(std::memory_order_relaxed);
  }
  // True when an emit at `severity_number` does anything: it passes the level, or a backtrace
  // ring keeps it (enable_backtrace). The emit methods and DAGSTACK_LOG_* macros test this.
  bool accepts(int severity_number) const noexcept {
    return is_enabled(severity_number) || gate_->backtrace.load(std::memory_order_relaxed);
  }

  // Backtrace ring (opt-in, per logger handle's node): records below the level are kept, up to
  // `capacity` (the oldest dropped first), with their time, context and call site; when this
  // logger emits an ERROR-or-worse record, the kept records are emitted first, in order, at
  // their own severities and times, and the ring empties. `capacity` 0 turns it off.
  void enable_backtrace(std::size_t capacity) const;
  // Turns the ring off and drops what it kept.
  void disable_backtrace() const;
  // Emits the kept records now, in order, and empties the ring; returns how many. Never throws.
  std::size_t dump_backtrace() const noexcept;

  // Emit at the bucket baselines 1, 5, 9, 13, 17, 21. `attrs` may be a braced list:
  // `log.info("paid", {{"order.id", 42}, {"currency", "EUR"}})`. The call site's location is
  // added as code.* attributes when configured. Never throws.
  void trace(AttrValue body, AttributeSpan attrs = {},
             SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityTrace)) emit_impl(kSeverityTrace, nullptr, body, attrs, loc);
  }
  void debug(AttrValue body, AttributeSpan attrs = {},
             SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityDebug)) emit_impl(kSeverityDebug, nullptr, body, attrs, loc);
  }
  void info(AttrValue body, AttributeSpan attrs = {},
            SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityInfo)) emit_impl(kSeverityInfo, nullptr, body, attrs, loc);
  }
  void warn(AttrValue body, AttributeSpan attrs = {},
            SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityWarn)) emit_impl(kSeverityWarn, nullptr, body, attrs, loc);
  }
  void error(AttrValue body, AttributeSpan attrs = {},
             SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityError)) emit_impl(kSeverityError, nullptr, body, attrs, loc);
  }
  void fatal(AttrValue body, AttributeSpan attrs = {},
             SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityFatal)) emit_impl(kSeverityFatal, nullptr, body, attrs, loc);
  }
  // Emit at any number; numbers outside [1, 24] are clamped and reported on the internal
  // channel.
  void log(int severity_number, AttrValue body, AttributeSpan attrs = {},
           SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(clamp_severity(severity_number)))
      emit_impl(severity_number, nullptr, body, attrs, loc);
  }

  // fmt-style bodies: `log.info("user {} logged in", name)`, optionally followed by attributes:
  // `log.info("paid {} {}", amount, currency, {{"order.id", 42}})` (up to 8 format arguments
  // before the attribute list). Formatting happens only when the level passes, into a stack
  // buffer (no heap allocation for bodies up to 500 bytes); the argument expressions themselves
  // are evaluated by C++ as usual (use the DAGSTACK_LOG_* macros to skip even that). A format
  // string with fewer placeholders than arguments does not compile.
  DAGSTACK_DETAIL_FMT_EMITTERS(trace, , kSeverityTrace, kSeverityTrace)
  DAGSTACK_DETAIL_FMT_EMITTERS(debug, , kSeverityDebug, kSeverityDebug)
  DAGSTACK_DETAIL_FMT_EMITTERS(info, , kSeverityInfo, kSeverityInfo)
  DAGSTACK_DETAIL_FMT_EMITTERS(warn, , kSeverityWarn, kSeverityWarn)
  DAGSTACK_DETAIL_FMT_EMITTERS(error, , kSeverityError, kSeverityError)
  DAGSTACK_DETAIL_FMT_EMITTERS(fatal, , kSeverityFatal, kSeverityFatal)
  // At any number: `log.log(10, "retry {}", n, {{"k", 1}})`.
  DAGSTACK_DETAIL_FMT_EMITTERS(log, int severity_number DAGSTACK_DETAIL_COMMA,
                               clamp_severity(severity_number), severity_number)

  // Explicit-context variants: the trace ids and baggage come from `ctx` only, never from the
  // thread's current context, whatever auto_inject_trace_context says.
  void trace_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {},
                 SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityTrace)) emit_impl(kSeverityTrace, &ctx, body, attrs, loc);
  }
  void debug_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {},
                 SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityDebug)) emit_impl(kSeverityDebug, &ctx, body, attrs, loc);
  }
  void info_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {},
                SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityInfo)) emit_impl(kSeverityInfo, &ctx, body, attrs, loc);
  }
  void warn_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {},
                SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityWarn)) emit_impl(kSeverityWarn, &ctx, body, attrs, loc);
  }
  void error_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {},
                 SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityError)) emit_impl(kSeverityError, &ctx, body, attrs, loc);
  }
  void fatal_ctx(const Context& ctx, AttrValue body, AttributeSpan attrs = {},
                 SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(kSeverityFatal)) emit_impl(kSeverityFatal, &ctx, body, attrs, loc);
  }
  void log_ctx(const Context& ctx, int severity_number, AttrValue body, AttributeSpan attrs = {},
               SourceLocation loc = SourceLocation::current()) noexcept {
    if (accepts(clamp_severity(severity_number)))
      emit_impl(severity_number, &ctx, body, attrs, loc);
  }

  // Logs an exception at ERROR (17) with exception.type (demangled), exception.message and
  // exception.stacktrace (captured here); the body defaults to the message. Caller attributes
  // win over the generated ones. Nested exceptions (std::nested_exception) are unwrapped into
  // dagstack.exception.cause.* attributes.
  void exception(const std::exception& e, AttributeSpan attrs = {},
                 SourceLocation loc = SourceLocation::current()) noexcept;
  // The same with a custom body: `log.exception(e, "payment failed", {{"order.id", 42}})`.
  // (A template so that a braced attribute list never reads as a body.)
  template <typename Body>
  requires std::is_convertible_v<Body&&, AttrValue>
  void exception(const std::exception& e, Body&& body, AttributeSpan attrs = {},
                 SourceLocation loc = SourceLocation::current()) noexcept {
    exception_impl(&e, nullptr, AttrValue(body), attrs, loc);
  }
  // The same from a `catch (...)` block: `log.exception(std::current_exception())`. A null
  // pointer is a no-op.
  void exception(std::exception_ptr e, AttributeSpan attrs = {},
                 SourceLocation loc = SourceLocation::current()) noexcept;
  template <typename Body>
  requires std::is_convertible_v<Body&&, AttrValue>
  void exception(std::exception_ptr e, Body&& body, AttributeSpan attrs = {},
                 SourceLocation loc = SourceLocation::current()) noexcept {
    if (e) exception_impl(nullptr, &e, AttrValue(body), attrs, loc);
  }
  // Explicit-context variant of exception().
  void exception_ctx(const Context& ctx, const std::exception& e, AttributeSpan attrs = {},
                     SourceLocation loc = SourceLocation::current()) noexcept;

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
  void backtrace_store(int severity, const Context* ctx, AttrValue body, AttributeSpan attrs,
                       const SourceLocation& loc) const noexcept;
  void exception_impl(const std::exception* e, const std::exception_ptr* ep, AttrValue body,
                      AttributeSpan attrs, const SourceLocation& loc) const noexcept;
  void format_emit_impl(int severity, fmt::string_view f, fmt::format_args args,
                        AttributeSpan attrs, const SourceLocation& loc) const noexcept;

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

// Emit macros that skip evaluating their arguments when the level is off, and that are removed
// at compile time below DAGSTACK_LOG_ACTIVE_LEVEL. They take everything the emit methods take:
//   DAGSTACK_LOG_INFO(log, "user {} logged in", expensive_name(), {{"user.id", id}});
// DAGSTACK_LOG_ACTIVE_LEVEL (default 1: keep everything) is a severity number 1..24; define it
// before including this header (e.g. -DDAGSTACK_LOG_ACTIVE_LEVEL=9 strips TRACE and DEBUG
// macros: their records cost nothing, not even the level check).
#ifndef DAGSTACK_LOG_ACTIVE_LEVEL
#define DAGSTACK_LOG_ACTIVE_LEVEL 1
#endif
#define DAGSTACK_LOG_AT(lg_, level_, ...)                               \
  do {                                                                  \
    if ((level_) >= DAGSTACK_LOG_ACTIVE_LEVEL && (lg_).accepts(level_)) \
      (lg_).log(level_, __VA_ARGS__);                                   \
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

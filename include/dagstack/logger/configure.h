// configure.h: declares `configure()`, `ConfigureOptions` and `shutdown()`.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dagstack/logger/clock.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/redaction_config.h"
#include "dagstack/logger/severity.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger {

// The baggage keys copied into attributes by default.
inline const std::vector<std::string>& default_baggage_keys() {
  static const std::vector<std::string> keys = {"tenant.id", "request.id", "user.id"};
  return keys;
}

// ConfigureOptions
//
// Every field is optional; configure() applies only the fields that are set (Go semantics), so a
// second call changes only what it names.
struct ConfigureOptions {
  std::optional<Level> root_level;  // default before any configure: INFO
  std::optional<SinkList>
      sinks;  // root sinks; default before configure: ConsoleSink(auto) on stderr
  std::map<std::string, Level> per_logger_levels;  // additive; creates the named loggers
  std::optional<Value::Map> resource_attributes;   // root resource; an empty map clears it
  std::optional<RedactionConfig> redaction;  // root redaction; default: kDefaultSecretSuffixes
  std::optional<bool>
      auto_inject_trace_context;  // default true: plain emits read the thread's Context
  std::optional<std::vector<std::string>> baggage_keys;  // default: default_baggage_keys()
  std::optional<bool> include_code_location;  // default false: add code.filepath/lineno/function
  std::shared_ptr<const Clock> clock;         // nullptr = keep; default system_clock()
  bool apply_environment = true;              // default true: DAGSTACK_LOG_LEVEL levels win over
                                              // these; OTEL_* resource attributes are the base
};

// Validates every option, then applies the ones that are set. Throws ConfigError (before
// changing anything) on a bad level, a bad logger name or a bad redaction suffix.
// Thread-safe; meant for start-up.
void configure(const ConfigureOptions& options);

// Flushes and closes every sink reachable from the registry, waiting at most `timeout` for the
// flush. Registered to run at exit; safe to call more than once. Thread-safe.
FlushResult shutdown(std::chrono::milliseconds timeout = kDefaultFlushTimeout);

// Counters kept by the library about itself (all monotonic). Thread-safe to read.
struct InternalStats {
  std::uint64_t sink_errors = 0;           // exceptions thrown by Sink::emit
  std::uint64_t severity_clamped = 0;      // log(n) with n outside [1, 24]
  std::uint64_t internal_reports = 0;      // records sent to dagstack.logger.internal
  std::uint64_t internal_suppressed = 0;   // reports dropped by the rate limit
  std::uint64_t encode_errors = 0;         // non-finite numbers written as null
  std::uint64_t emits_after_shutdown = 0;  // emits into the closed sinks after shutdown()
};
InternalStats internal_stats() noexcept;

// The name of the library's own diagnostics channel.
inline constexpr std::string_view kInternalLoggerName = "dagstack.logger.internal";

}  // namespace dagstack::logger

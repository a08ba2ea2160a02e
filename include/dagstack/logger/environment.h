// environment.h: declares the environment-variable configuration (DAGSTACK_LOG_LEVEL,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) and its parser.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/value.h"

namespace dagstack::logger {

// EnvironmentConfig
//
// What the environment asks for, parsed. Precedence (documented in docs/index.md):
// - levels: DAGSTACK_LOG_LEVEL is the operator's override: it is applied when the registry is
//   created and again after every configure() that sets levels, so it wins over code;
// - resource: OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME (which wins for service.name), are
//   the base; attributes given to configure() win over both.
// Bad entries are collected in `errors`, reported on dagstack.logger.internal and skipped.
// Value type, thread-compatible.
struct EnvironmentConfig {
  std::optional<int> root_level;             // from a bare level in DAGSTACK_LOG_LEVEL
  std::map<std::string, int> logger_levels;  // from name=level entries
  Value::Map resource_attributes;            // from OTEL_RESOURCE_ATTRIBUTES + OTEL_SERVICE_NAME
  std::vector<std::string> errors;           // one message per rejected entry

  bool empty() const noexcept {
    return !root_level && logger_levels.empty() && resource_attributes.empty();
  }
};

// Parses the three values (empty = unset). `level_spec` is a comma-separated list of a bare level
// (the root) and `logger.name=level` entries, e.g. "info,svc.db=debug,svc.http=warn"; levels are
// names (case-insensitive) or numbers 1..24. `resource_attributes` is the OTel form
// "k1=v1,k2=v2" with percent-encoded values. Never throws for bad input: see `errors`.
EnvironmentConfig parse_environment(std::string_view level_spec, std::string_view service_name,
                                    std::string_view resource_attributes);

// Reads DAGSTACK_LOG_LEVEL, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES from the process
// environment and parses them.
EnvironmentConfig read_environment();

}  // namespace dagstack::logger

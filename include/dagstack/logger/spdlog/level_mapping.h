// level_mapping.h: declares the mapping between spdlog levels and dagstack severity numbers.
#pragma once

#include <spdlog/common.h>

#include "dagstack/logger/severity.h"

namespace dagstack::logger {

// The dagstack severity number of an spdlog level: trace 1, debug 5, info 9, warn 13, err 17,
// critical 21. `off` (and any value outside the enum) gives 0, meaning "never emit".
constexpr int severity_from_spdlog_level(::spdlog::level::level_enum level) noexcept {
  switch (level) {
    case ::spdlog::level::trace: return kSeverityTrace;
    case ::spdlog::level::debug: return kSeverityDebug;
    case ::spdlog::level::info: return kSeverityInfo;
    case ::spdlog::level::warn: return kSeverityWarn;
    case ::spdlog::level::err: return kSeverityError;
    case ::spdlog::level::critical: return kSeverityFatal;
    default: return 0;
  }
}

// The spdlog level of a dagstack severity number by bucket: 1-4 trace, 5-8 debug, 9-12 info,
// 13-16 warn, 17-20 err, 21-24 critical. Out-of-range numbers are clamped to [1, 24] first.
constexpr ::spdlog::level::level_enum spdlog_level_from_severity(int severity_number) noexcept {
  const int n = clamp_severity(severity_number);
  if (n >= kSeverityFatal) return ::spdlog::level::critical;
  if (n >= kSeverityError) return ::spdlog::level::err;
  if (n >= kSeverityWarn) return ::spdlog::level::warn;
  if (n >= kSeverityInfo) return ::spdlog::level::info;
  if (n >= kSeverityDebug) return ::spdlog::level::debug;
  return ::spdlog::level::trace;
}

}  // namespace dagstack::logger

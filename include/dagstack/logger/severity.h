// severity.h: declares the severity numbers 1..24, their six texts, and `Level`, a parsed level.
#pragma once

#include <string_view>

namespace dagstack::logger {

// Bucket baselines (OpenTelemetry severity numbers).
inline constexpr int kSeverityTrace = 1;
inline constexpr int kSeverityDebug = 5;
inline constexpr int kSeverityInfo = 9;
inline constexpr int kSeverityWarn = 13;
inline constexpr int kSeverityError = 17;
inline constexpr int kSeverityFatal = 21;
inline constexpr int kSeverityMin = 1;
inline constexpr int kSeverityMax = 24;

// The canonical text of a severity number: TRACE (1-4), DEBUG (5-8), INFO (9-12), WARN (13-16),
// ERROR (17-20), FATAL (21-24). Out-of-range numbers are clamped first. Never throws.
std::string_view severity_text(int severity_number) noexcept;

// Clamps to [1, 24].
constexpr int clamp_severity(int n) noexcept {
  return n < kSeverityMin ? kSeverityMin : (n > kSeverityMax ? kSeverityMax : n);
}

// Parses a level name, case-insensitively: TRACE, DEBUG, INFO, WARN/WARNING, ERROR,
// FATAL/CRITICAL, or a decimal number in [1, 24]. Throws ConfigError with
// "unknown severity name 'X'; expected one of [...]" or "severity_number N not in [1, 24]".
int parse_severity(std::string_view name);

// Level
//
// A level given by number or by name, validated when resolved. Value type, thread-compatible.
class Level {
 public:
  constexpr Level(int number) noexcept : number_(number) {}                     // NOLINT
  constexpr Level(const char* name) noexcept : number_(0), name_(name) {}       // NOLINT
  constexpr Level(std::string_view name) noexcept : number_(0), name_(name) {}  // NOLINT

  // The severity number. Throws ConfigError when out of range or an unknown name.
  int resolve() const;

 private:
  int number_;
  std::string_view name_;
};

}  // namespace dagstack::logger

// severity.h: declares the severity numbers 1..24, their six texts, and `Level`, a parsed level.
#pragma once

#include <string>
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
  Level(int number) noexcept : number_(number) {}  // NOLINT
  // A null pointer (e.g. an unset getenv()) is kept as "no name" and rejected by resolve().
  Level(const char* name) : number_(0), has_name_(true), null_name_(name == nullptr) {  // NOLINT
    if (name != nullptr) name_ = name;
  }
  Level(std::string_view name) : number_(0), name_(name), has_name_(true) {}  // NOLINT
  Level(std::string name) noexcept
      : number_(0), name_(std::move(name)), has_name_(true) {}  // NOLINT

  // The severity number. Throws ConfigError when out of range, an unknown name, or null.
  int resolve() const;

 private:
  int number_;
  std::string name_;  // owned: a Level built from a temporary string never dangles
  bool has_name_ = false;
  bool null_name_ = false;
};

}  // namespace dagstack::logger

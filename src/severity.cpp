// severity.cpp: severity texts and level parsing.
#include "dagstack/logger/severity.h"

#include <cctype>
#include <charconv>
#include <string>

#include "dagstack/logger/config_error.h"

namespace dagstack::logger {

std::string_view severity_text(int severity_number) noexcept {
  static constexpr std::string_view kTexts[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
  return kTexts[(clamp_severity(severity_number) - 1) / 4];
}

int parse_severity(std::string_view name) {
  std::string upper;
  upper.reserve(name.size());
  for (char c : name)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  struct Entry {
    std::string_view name;
    int number;
  };
  static constexpr Entry kNames[] = {{"TRACE", kSeverityTrace},  {"DEBUG", kSeverityDebug},
                                     {"INFO", kSeverityInfo},    {"WARN", kSeverityWarn},
                                     {"WARNING", kSeverityWarn}, {"ERROR", kSeverityError},
                                     {"FATAL", kSeverityFatal},  {"CRITICAL", kSeverityFatal}};
  for (const auto& e : kNames) {
    if (upper == e.name) return e.number;
  }
  if (!name.empty()) {
    int n = 0;
    const char* first = name.data();
    const char* last = name.data() + name.size();
    if (*first == '+') ++first;
    auto [ptr, ec] = std::from_chars(first, last, n);
    if (ec == std::errc() && ptr == last) {
      if (n < kSeverityMin || n > kSeverityMax) {
        throw ConfigError("severity_number " + std::to_string(n) + " not in [1, 24]");
      }
      return n;
    }
  }
  throw ConfigError("unknown severity name '" + std::string(name) +
                    "'; expected one of [TRACE, DEBUG, INFO, WARN, WARNING, ERROR, FATAL, "
                    "CRITICAL] or a number in [1, 24]");
}

int Level::resolve() const {
  if (null_name_) throw ConfigError("level is a null string");
  if (has_name_) return parse_severity(name_);
  if (number_ < kSeverityMin || number_ > kSeverityMax) {
    throw ConfigError("severity_number " + std::to_string(number_) + " not in [1, 24]");
  }
  return number_;
}

}  // namespace dagstack::logger

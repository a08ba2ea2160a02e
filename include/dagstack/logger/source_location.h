// source_location.h: declares `SourceLocation`, the call site captured by emit methods.
#pragma once

#include <cstdint>

namespace dagstack::logger {

// SourceLocation
//
// File, line and function of a call site. `SourceLocation::current()` used as a default argument
// captures the caller (it works on GCC 12 and Clang 14, where std::source_location does not).
// Value type, thread-compatible.
struct SourceLocation {
  const char* file = "";
  std::uint32_t line = 0;  // 0 = unknown
  const char* function = "";

  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          std::uint32_t line = __builtin_LINE(),
                                          const char* function = __builtin_FUNCTION()) noexcept {
    return SourceLocation{file, line, function};
  }
};

}  // namespace dagstack::logger

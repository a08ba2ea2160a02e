// clock.h: declares `Clock`, the injectable wall-clock source for record timestamps.
#pragma once

#include <cstdint>

namespace dagstack::logger {

// Clock
//
// Gives the time stamped on records. Implementations must be thread-safe and cheap.
class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since the Unix epoch.
  virtual std::uint64_t now_unix_nano() const noexcept = 0;
};

// The process wall clock (std::chrono::system_clock). Thread-safe.
const Clock& system_clock() noexcept;

}  // namespace dagstack::logger

// config_error.h: declares `ConfigError`, the one exception type the library throws.
#pragma once

#include <stdexcept>
#include <string>

namespace dagstack::logger {

// ConfigError
//
// Thrown by configuration-time calls (configure(), level parsing, sink construction, id
// parsing) when their input is invalid. The message is stable and names the offending option.
// Emit methods never throw it. Thread-safe (immutable value).
class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace dagstack::logger

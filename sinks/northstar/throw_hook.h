// throw_hook.h (private): what the most recent C++ throw on this thread threw (type and
// message), recorded by an interposed __cxa_throw where the platform allows (Linux, libstdc++),
// so that a span scope left by an exception can store its real type and message.
#pragma once

#include <cstdint>
#include <string>
#include <typeinfo>

namespace dagstack::logger::northstar::detail {

struct ThrownInfo {
  const std::type_info* type = nullptr;  // nullptr: nothing recorded on this thread
  std::string message;                   // what(), when the object is a std::exception
  std::uint64_t serial = 0;              // throws recorded on this thread so far (1 = first)
};

// True when throws are recorded in this build (Linux + libstdc++, not disabled with
// DAGSTACK_LOGGER_NO_THROW_HOOK).
bool throw_hook_available() noexcept;
// The last throw recorded on the calling thread (type nullptr when none).
const ThrownInfo& last_thrown() noexcept;
// The number of throws recorded on the calling thread so far.
inline std::uint64_t throw_serial() noexcept { return last_thrown().serial; }
// The demangled name of `type` ("std::runtime_error").
std::string demangled(const std::type_info& type);

}  // namespace dagstack::logger::northstar::detail

// backtrace.h (private): the time override used when a backtrace ring re-emits kept records.
#pragma once

#include <cstdint>

namespace dagstack::logger::detail {

// When non-zero, emit_record stamps records on this thread with this time instead of reading
// the clock (set only while a backtrace ring emits its kept records).
extern constinit thread_local std::uint64_t t_record_time_override;

}  // namespace dagstack::logger::detail

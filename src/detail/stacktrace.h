// stacktrace.h (private): captures the calling thread's stack as symbolised text.
#pragma once

#include <string>

namespace dagstack::logger::detail {

// One frame per line, innermost first: "#N function at module+offset". Skips `skip` frames of
// its own callers. Never throws except std::bad_alloc; returns "" when unavailable.
std::string capture_stacktrace(int skip);

}  // namespace dagstack::logger::detail

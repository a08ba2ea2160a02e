// stacktrace.h (private): captures the calling thread's stack as symbolised text.
#pragma once

#include <string>

#include "dagstack/logger/stacktrace.h"

namespace dagstack::logger::detail {

// The calling thread's stack in the format of current_stacktrace(): one frame per line,
// innermost first, this library's own leading frames left out. Never waits for the debug info
// (see prepare_stacktraces()): until it is loaded, frames are named by dladdr(). Never throws
// except std::bad_alloc; returns "" when unavailable.
std::string capture_stacktrace();

// symbolize_stack_frames() without waiting for the debug info (as capture_stacktrace()).
std::string symbolize_stack_frames_now(const std::vector<std::uintptr_t>& frames);

// The demangled form of a C++ symbol or type name (the input itself when it is not mangled).
std::string demangle(const char* name);

}  // namespace dagstack::logger::detail

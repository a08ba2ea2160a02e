// stacktrace.cpp: stack capture with glibc backtrace() and symbol names via dladdr + the demangler.
#include "detail/stacktrace.h"

#include <dlfcn.h>
#include <execinfo.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace dagstack::logger::detail {
std::string demangle(const char* name);

std::string capture_stacktrace(int skip) {
  void* frames[64];
  const int n = ::backtrace(frames, 64);
  std::string out;
  int index = 0;
  for (int i = skip; i < n; ++i) {
    Dl_info info{};
    std::string function = "??";
    std::string module = "??";
    std::uintptr_t offset = 0;
    if (::dladdr(frames[i], &info) != 0) {
      if (info.dli_sname != nullptr) function = demangle(info.dli_sname);
      if (info.dli_fname != nullptr) module = info.dli_fname;
      if (info.dli_fbase != nullptr) {
        offset = reinterpret_cast<std::uintptr_t>(frames[i]) - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
      }
    }
    char line[64];
    std::snprintf(line, sizeof line, "#%d ", index++);
    out += line;
    out += function;
    out += " at ";
    out += module;
    std::snprintf(line, sizeof line, "+0x%zx\n", static_cast<std::size_t>(offset));
    out += line;
  }
  return out;
}

}  // namespace dagstack::logger::detail

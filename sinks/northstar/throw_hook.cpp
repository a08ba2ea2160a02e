// throw_hook.cpp: records the type and message of every C++ throw on the throwing thread by
// interposing __cxa_throw (the Itanium C++ ABI entry every `throw` calls) and forwarding to the
// next definition (libstdc++, or a sanitizer's interceptor). Linux + libstdc++ only; elsewhere,
// or with DAGSTACK_LOGGER_NO_THROW_HOOK, nothing is interposed and spans left by an exception
// fall back to a generic error (record_error() and SpanScope::run() still record the real one).
#include "throw_hook.h"

#include <cxxabi.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>

namespace dagstack::logger::northstar::detail {
namespace {
thread_local ThrownInfo tl_thrown;
}  // namespace

const ThrownInfo& last_thrown() noexcept { return tl_thrown; }

std::string demangled(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return (status == 0 && out) ? std::string(out.get()) : std::string(type.name());
}

#if defined(__linux__) && defined(__GLIBCXX__) && !defined(DAGSTACK_LOGGER_NO_THROW_HOOK)
bool throw_hook_available() noexcept { return true; }

namespace {
using CxaThrow = void (*)(void*, std::type_info*, void (*)(void*));
std::atomic<CxaThrow> g_next_throw{nullptr};

// Records one throw; never throws itself (a failure only loses the description).
void record_throw(void* object, std::type_info* type) noexcept {
  try {
    ThrownInfo& info = tl_thrown;
    info.type = type;
    ++info.serial;
    info.message.clear();
    // The catch machinery's own test: is the thrown object a std::exception (and where is it)?
    void* adjusted = object;
    if (typeid(std::exception).__do_catch(type, &adjusted, 1)) {
      const char* what = static_cast<const std::exception*>(adjusted)->what();
      if (what != nullptr) info.message.assign(what);
    }
  } catch (...) {
    tl_thrown.message.clear();
  }
}
}  // namespace
#else
bool throw_hook_available() noexcept { return false; }
#endif

}  // namespace dagstack::logger::northstar::detail

#if defined(__linux__) && defined(__GLIBCXX__) && !defined(DAGSTACK_LOGGER_NO_THROW_HOOK)
namespace __cxxabiv1 {
// Every `throw` of the program lands here first (the executable's definition wins the symbol
// lookup), then continues in the next one found by the dynamic linker.
extern "C" void __cxa_throw(void* object, std::type_info* type, void (*destructor)(void*)) {
  using dagstack::logger::northstar::detail::CxaThrow;
  using dagstack::logger::northstar::detail::g_next_throw;
  dagstack::logger::northstar::detail::record_throw(object, type);
  CxaThrow next = g_next_throw.load(std::memory_order_acquire);
  if (next == nullptr) {
    next = reinterpret_cast<CxaThrow>(dlsym(RTLD_NEXT, "__cxa_throw"));
    if (next == nullptr) std::abort();  // no C++ runtime after us: cannot happen with libstdc++
    g_next_throw.store(next, std::memory_order_release);
  }
  next(object, type, destructor);
  __builtin_unreachable();
}
}  // namespace __cxxabiv1
#endif

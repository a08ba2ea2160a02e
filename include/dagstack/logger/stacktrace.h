// stacktrace.h: declares `current_stacktrace`, and `throw_with_stacktrace`, which throws an
// exception that remembers where it was thrown so that Logger::exception can report that stack.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace dagstack::logger {

// The calling thread's stack as text, innermost frame first, one frame per line:
// "#0 ns::function(int) at /src/file.cpp:42" (file:line when the code has debug info and the
// library was built with libbacktrace), else "#0 ns::function(int) at /path/module+0x1a2b".
// Frames of this library are left out. Returns "" when no stack can be captured. Thread-safe.
std::string current_stacktrace();

// Loads the debug info that stack traces are symbolised with, on a background thread (it takes
// 0.1-0.4 s for a large program). Done by itself at the first trace; call it at start-up so that
// the first exception a process logs is fully symbolised. Logger::exception never waits for it
// (until it is ready, its traces name frames by dladdr(): exported symbols, module+offset);
// current_stacktrace() does. With `wait`, returns once it is ready. Thread-safe.
void prepare_stacktraces(bool wait = false);

namespace detail {
// Raw return addresses of the calling thread's stack, innermost first (cheap: no symbols).
std::vector<std::uintptr_t> capture_stack_frames();
// Symbolises frames captured by capture_stack_frames() (the format of current_stacktrace()).
std::string symbolize_stack_frames(const std::vector<std::uintptr_t>& frames);
}  // namespace detail

// StacktraceCarrier
//
// The base through which Logger::exception (and Span::record_exception) find a throw-site stack:
// exceptions thrown by throw_with_stacktrace derive from it and from the thrown type.
// Immutable after construction; thread-safe.
class StacktraceCarrier {
 public:
  virtual ~StacktraceCarrier() = default;
  // The throw site's stack, symbolised on each call (symbolisation is deferred to here, so the
  // throw itself only records return addresses).
  std::string stacktrace() const { return detail::symbolize_stack_frames(frames_); }
  // The throw site's raw return addresses, innermost first.
  const std::vector<std::uintptr_t>& frames() const noexcept { return frames_; }
  // The type that was thrown (the carrier's own type is an implementation detail).
  const std::type_info& thrown_type() const noexcept { return *type_; }

 protected:
  StacktraceCarrier(std::vector<std::uintptr_t> frames, const std::type_info& type) noexcept
      : frames_(std::move(frames)), type_(&type) {}
  StacktraceCarrier(const StacktraceCarrier&) = default;
  StacktraceCarrier& operator=(const StacktraceCarrier&) = default;

 private:
  std::vector<std::uintptr_t> frames_;
  const std::type_info* type_;
};

namespace detail {
template <typename E>
class WithStacktrace final : public E, public StacktraceCarrier {
 public:
  WithStacktrace(E&& e, std::vector<std::uintptr_t> frames)
      : E(std::move(e)), StacktraceCarrier(std::move(frames), typeid(E)) {}
};
}  // namespace detail

// Throws `e` (as an exception still catchable as E and as every base of E) together with the
// current stack. Logger::exception then reports the throw site's stack instead of the logging
// site's, and exception.type names E. E must be a non-final class type, e.g.
// `throw_with_stacktrace(std::runtime_error("disk full"));`.
template <typename E>
requires(std::is_class_v<std::decay_t<E>> && !std::is_final_v<std::decay_t<E>>)
    [[noreturn]] void throw_with_stacktrace(E&& e) {
  using T = std::decay_t<E>;
  throw detail::WithStacktrace<T>(T(std::forward<E>(e)), detail::capture_stack_frames());
}

}  // namespace dagstack::logger

// stacktrace.cpp: stack capture and symbolisation.
//
// Capture: glibc backtrace() (the libgcc unwinder over .eh_frame; works without frame pointers
// and under the sanitizers). Symbolisation, per frame:
//   1. GCC's libbacktrace (when built with DAGSTACK_LOGGER_HAVE_LIBBACKTRACE, see
//      cmake/DagstackStacktrace.cmake): DWARF line tables give function, file and line, and
//      inlined calls appear as frames of their own;
//   2. libbacktrace's ELF symbol-table lookup: names static functions too, without -rdynamic;
//   3. dladdr(): names exported symbols (the executable's own need -rdynamic), plus the module
//      path and offset, which always identify the frame for addr2line.
// Why this choice: C++23 <stacktrace> is not usable in this C++20 project, and GCC 12's
// libstdc++ on Debian is built without it (_GLIBCXX_HAVE_STACKTRACE unset, no
// libstdc++_libbacktrace.a); Clang 14 uses the same libstdc++. libbacktrace.a ships with
// libgcc-12-dev, which both g++-12 and clang-14 depend on, so both CI builds get file:line.
#include "detail/stacktrace.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if defined(DAGSTACK_LOGGER_HAVE_LIBBACKTRACE)
#include <backtrace.h>
#endif

namespace dagstack::logger {
namespace detail {
namespace {

constexpr int kMaxFrames = 64;

struct Frame {
  std::string function;  // demangled; "" when unknown
  std::string file;      // "" when unknown
  int line = 0;
};

#if defined(DAGSTACK_LOGGER_HAVE_LIBBACKTRACE)
void ignore_error(void* /*data*/, const char* /*msg*/, int /*errnum*/) {}

int ignore_pcinfo(void*, std::uintptr_t, const char*, int, const char*) { return 0; }

// Every libbacktrace call after the state's creation happens under this mutex. libbacktrace's
// own thread-safe mode publishes its lazily read debug info with atomics in code that the
// sanitizers do not see, which ThreadSanitizer reports as races; one lock per symbolised trace
// is cheap next to the symbolisation and makes the ordering visible. Exceptions are rare.
std::mutex& bt_mutex() {
  static std::mutex* m = new std::mutex();  // leaked: usable during static destruction
  return *m;
}

// The libbacktrace state is built on a background thread (reading every module's debug info
// takes 0.1-0.4 s), so that the first exception a process logs does not pay for it: until it is
// ready, traces logged by Logger::exception use the dladdr() fallback (names of exported
// symbols, module+offset); current_stacktrace() and prepare_stacktraces(true) wait for it.
enum : int { kNotLoaded = 0, kLoading = 1, kReady = 2 };
std::atomic<int> g_load{kNotLoaded};
std::atomic<backtrace_state*> g_state{nullptr};

struct LoadWait {
  std::mutex mutex;
  std::condition_variable cv;
};
LoadWait& load_wait() {
  static auto* w = new LoadWait();  // leaked: usable during static destruction
  return *w;
}

void load_state() {
  std::lock_guard<std::mutex> lock(bt_mutex());
  backtrace_state* s = backtrace_create_state(nullptr, /*threaded=*/0, ignore_error, nullptr);
  if (s != nullptr) {
    backtrace_pcinfo(s, reinterpret_cast<std::uintptr_t>(&ignore_pcinfo), ignore_pcinfo,
                     ignore_error, nullptr);
  }
  g_state.store(s, std::memory_order_release);
  {
    std::lock_guard<std::mutex> wait_lock(load_wait().mutex);
    g_load.store(kReady, std::memory_order_release);
  }
  load_wait().cv.notify_all();
}

// fork() while the loader runs: the child has no loader thread; it starts over (the half-built
// state is leaked) with fresh locks.
void after_fork_child() noexcept {
  if (g_load.load(std::memory_order_relaxed) == kLoading) {
    new (&bt_mutex()) std::mutex();
    new (&load_wait().mutex) std::mutex();
    new (&load_wait().cv) std::condition_variable();
    g_state.store(nullptr, std::memory_order_relaxed);
    g_load.store(kNotLoaded, std::memory_order_relaxed);
  }
}

void start_loading() {
  int expected = kNotLoaded;
  if (!g_load.compare_exchange_strong(expected, kLoading, std::memory_order_acq_rel)) return;
  static const bool fork_hook = [] {
    ::pthread_atfork(nullptr, nullptr, &after_fork_child);
    return true;
  }();
  (void)fork_hook;
  try {
    std::thread(load_state).detach();
  } catch (...) {
    load_state();  // no thread: load here
  }
}

// The state when it is ready; with `wait`, waits for it (starting the load if needed).
backtrace_state* bt_state(bool wait) {
  if (g_load.load(std::memory_order_acquire) == kReady) {
    return g_state.load(std::memory_order_acquire);
  }
  start_loading();
  if (!wait) return nullptr;
  std::unique_lock<std::mutex> lock(load_wait().mutex);
  load_wait().cv.wait(lock, [] { return g_load.load(std::memory_order_acquire) == kReady; });
  return g_state.load(std::memory_order_acquire);
}

int on_pcinfo(void* data, std::uintptr_t /*pc*/, const char* file, int line, const char* function) {
  auto* frames = static_cast<std::vector<Frame>*>(data);
  Frame f;
  if (function != nullptr) f.function = demangle(function);
  if (file != nullptr) f.file = file;
  f.line = line;
  frames->push_back(std::move(f));
  return 0;
}

void on_syminfo(void* data, std::uintptr_t /*pc*/, const char* symname, std::uintptr_t /*symval*/,
                std::uintptr_t /*symsize*/) {
  if (symname != nullptr) *static_cast<std::string*>(data) = demangle(symname);
}
#else
struct backtrace_state;
backtrace_state* bt_state(bool /*wait*/) { return nullptr; }
#endif

// The frames for one return address (more than one when calls were inlined), innermost first.
// `state` null: the dladdr() fallback only.
std::vector<Frame> resolve(std::uintptr_t return_address, [[maybe_unused]] backtrace_state* state) {
  // Look up the call instruction, not the instruction after it.
  const std::uintptr_t pc = return_address - 1;
  std::vector<Frame> frames;
#if defined(DAGSTACK_LOGGER_HAVE_LIBBACKTRACE)
  if (state != nullptr) {
    backtrace_pcinfo(state, pc, on_pcinfo, ignore_error, &frames);
    // The last frame is the function that really holds `pc` (the others were inlined into it).
    // DWARF may name it unqualified ("TestBody") or not at all (no debug info); the symbol
    // table has its full (mangled) name, so prefer that.
    if (!frames.empty()) {
      std::string symbol;
      backtrace_syminfo(state, pc, on_syminfo, ignore_error, &symbol);
      if (!symbol.empty()) frames.back().function = std::move(symbol);
    }
  }
#endif
  if (frames.empty()) frames.emplace_back();
  Frame& outer = frames.back();
  if (outer.file.empty()) {
    // No line info: fall back to dladdr for a name and to module+offset for the location.
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(pc), &info) != 0) {
      if (outer.function.empty() && info.dli_sname != nullptr)
        outer.function = demangle(info.dli_sname);
      if (info.dli_fname != nullptr) {
        char offset[32];
        std::snprintf(
            offset, sizeof offset, "+0x%zx",
            static_cast<std::size_t>(pc - reinterpret_cast<std::uintptr_t>(info.dli_fbase)));
        outer.file = std::string(info.dli_fname) + offset;
        outer.line = 0;
      }
    }
  }
  return frames;
}

// Leading frames of this library's own machinery, dropped from the top of a trace.
bool is_internal(std::string_view function) noexcept {
  static constexpr std::string_view kInternal[] = {
      "dagstack::logger::detail::",
      "dagstack::logger::current_stacktrace",
      "dagstack::logger::throw_with_stacktrace<",
      "dagstack::logger::Logger::exception",
      "dagstack::logger::Span::record_exception(",
  };
  for (std::string_view marker : kInternal) {
    if (function.find(marker) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                             std::free);
  return (status == 0 && out) ? std::string(out.get()) : std::string(name);
}

__attribute__((noinline)) std::vector<std::uintptr_t> capture_stack_frames() {
  void* raw[kMaxFrames + 1];
  const int n = ::backtrace(raw, kMaxFrames + 1);
  std::vector<std::uintptr_t> out;
  // raw[0] is this function.
  for (int i = 1; i < n; ++i) out.push_back(reinterpret_cast<std::uintptr_t>(raw[i]));
  return out;
}

namespace {
std::string symbolize(const std::vector<std::uintptr_t>& frames, bool wait) {
  backtrace_state* state = bt_state(wait);
#if defined(DAGSTACK_LOGGER_HAVE_LIBBACKTRACE)
  std::unique_lock<std::mutex> lock(bt_mutex(), std::defer_lock);
  if (state != nullptr) lock.lock();
#endif
  std::string out;
  int index = 0;
  bool leading = true;
  for (std::uintptr_t address : frames) {
    if (address == 0 || address == ~std::uintptr_t{0}) continue;
    for (const Frame& f : resolve(address, state)) {
      if (leading && is_internal(f.function)) continue;
      leading = false;
      out += '#';
      out += std::to_string(index++);
      out += ' ';
      out += f.function.empty() ? std::string_view("??") : std::string_view(f.function);
      if (!f.file.empty()) {
        out += " at ";
        out += f.file;
        if (f.line > 0) {
          out += ':';
          out += std::to_string(f.line);
        }
      }
      out += '\n';
    }
  }
  return out;
}
}  // namespace

std::string symbolize_stack_frames(const std::vector<std::uintptr_t>& frames) {
  return symbolize(frames, true);
}

std::string symbolize_stack_frames_now(const std::vector<std::uintptr_t>& frames) {
  return symbolize(frames, false);
}

__attribute__((noinline)) std::string capture_stacktrace() {
  return symbolize_stack_frames_now(capture_stack_frames());
}

}  // namespace detail

void prepare_stacktraces(bool wait) { (void)detail::bt_state(wait); }

__attribute__((noinline)) std::string current_stacktrace() {
  return detail::symbolize_stack_frames(detail::capture_stack_frames());
}

}  // namespace dagstack::logger

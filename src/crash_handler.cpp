// crash_handler.cpp: the fatal-signal and std::terminate handler that drains queues and buffers
// (crash_handler.h), and the lock-free list of sinks it drains.
#include "dagstack/logger/crash_handler.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#include "dagstack/logger/sink.h"
#include "deferred/deferred_path.h"
#include "detail/crash_handler.h"

namespace dagstack::logger {
namespace detail {
namespace {

constexpr int kSlots = 512;
constexpr int kSignals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
constexpr int kSignalCount = sizeof kSignals / sizeof kSignals[0];
constexpr std::size_t kAltStackBytes = 128 * 1024;

// A registered sink: its address with the phase in the low bit (sinks are at least 8-aligned).
std::atomic<std::uintptr_t> g_slots[kSlots];
std::atomic<int> g_draining{0};
std::atomic<unsigned long long> g_written{0};
std::atomic<unsigned long long> g_lost{0};

std::mutex& install_mutex() {
  static auto* m = new std::mutex();  // leaked: may be used during static destruction
  return *m;
}
std::atomic<bool> g_installed{false};
std::atomic<bool> g_disabled{false};
std::atomic<bool> g_auto_tried{false};
CrashHandlerOptions g_options;  // guarded by install_mutex; read by the handler
struct sigaction g_prev[kSignalCount];
bool g_have_prev[kSignalCount] = {};
std::terminate_handler g_prev_terminate = nullptr;
bool g_terminate_installed = false;
struct sigaction g_prev_alarm;

std::atomic<int> g_crashed{0};
volatile sig_atomic_t g_crash_signal = 0;

int signal_index(int sig) noexcept {
  for (int i = 0; i < kSignalCount; ++i) {
    if (kSignals[i] == sig) return i;
  }
  return -1;
}

// write(2) of a NUL-terminated string / an unsigned number: async-signal-safe.
void put(const char* s) noexcept {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}
void put_number(unsigned long long v) noexcept {
  char buf[24];
  char* p = buf + sizeof buf;
  *--p = '\0';
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  put(p);
}

void drain(const char* what, int sig) noexcept {
  g_draining.fetch_add(1, std::memory_order_seq_cst);
  // Records still in the deferred path's rings go first, through the sinks' emergency_emit().
  deferred_emergency_drain();
  for (int phase = 0; phase <= 1; ++phase) {
    for (auto& slot : g_slots) {
      const std::uintptr_t v = slot.load(std::memory_order_acquire);
      if (v == 0 || static_cast<int>(v & 1U) != phase) continue;
      reinterpret_cast<Sink*>(v & ~std::uintptr_t{1})->emergency_flush();
    }
  }
  g_draining.fetch_sub(1, std::memory_order_seq_cst);
  const unsigned long long written = g_written.load(std::memory_order_relaxed);
  const unsigned long long lost = g_lost.load(std::memory_order_relaxed);
  put("dagstack.logger: ");
  put(what);
  if (sig != 0) {
    put(" (signal ");
    put_number(static_cast<unsigned long long>(sig));
    put(")");
  }
  put(": file buffers written; of the records queued in async sinks, ");
  put_number(written);
  put(" written, ");
  put_number(lost);
  put(" lost\n");
}

// Watchdog: a drain that hangs (a lock held by the crashed thread inside malloc, say) must not
// keep the process alive; the original signal's previous action runs instead.
extern "C" void on_watchdog(int /*sig*/) {
  const int sig = g_crash_signal;
  const int idx = signal_index(sig);
  if (idx >= 0 && g_have_prev[idx]) {
    ::sigaction(sig, &g_prev[idx], nullptr);
  } else {
    ::signal(sig, SIG_DFL);
  }
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
  ::_exit(128 + sig);
}

void arm_watchdog(int sig) noexcept {
  g_crash_signal = sig;
  struct sigaction sa {};
  sa.sa_handler = on_watchdog;
  ::sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_ONSTACK;
  ::sigaction(SIGALRM, &sa, &g_prev_alarm);
  const long long ms = g_options.drain_budget.count();
  ::alarm(static_cast<unsigned>(ms <= 0 ? 1 : (ms + 999) / 1000));
}

void disarm_watchdog() noexcept {
  ::alarm(0);
  ::sigaction(SIGALRM, &g_prev_alarm, nullptr);
}

extern "C" void on_fatal_signal(int sig, siginfo_t* info, void* /*context*/) {
  const int saved_errno = errno;
  if (g_crashed.exchange(1, std::memory_order_acq_rel) == 0) {
    arm_watchdog(sig);
    drain("fatal signal", sig);
    disarm_watchdog();
  }
  // Let the signal take its course: restore the previous action, then either re-raise (a signal
  // sent by kill/raise/abort; delivered when this handler returns) or return to the faulting
  // instruction, which faults again into the previous action.
  const int idx = signal_index(sig);
  if (idx >= 0 && g_have_prev[idx]) {
    ::sigaction(sig, &g_prev[idx], nullptr);
  } else {
    ::signal(sig, SIG_DFL);
  }
  if (info == nullptr || info->si_code <= 0 || sig == SIGABRT) ::raise(sig);
  errno = saved_errno;
}

[[noreturn]] void on_terminate() noexcept {
  if (g_crashed.exchange(1, std::memory_order_acq_rel) == 0) {
    arm_watchdog(SIGABRT);
    drain("std::terminate", 0);
    disarm_watchdog();
  }
  if (g_prev_terminate != nullptr) g_prev_terminate();
  std::abort();
}

void set_alt_stack() noexcept {
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;
  static void* g_alt_stack = nullptr;  // kept for the life of the process
  if (g_alt_stack != nullptr) return;  // already given to a thread that installed before
  void* mem = std::malloc(kAltStackBytes);
  if (mem == nullptr) return;
  g_alt_stack = mem;
  stack_t st{};
  st.ss_sp = mem;
  st.ss_size = kAltStackBytes;
  if (::sigaltstack(&st, nullptr) != 0) {
    std::free(mem);
    g_alt_stack = nullptr;
  }
}

void uninstall_locked() {
  if (!g_installed.load(std::memory_order_relaxed)) return;
  for (int i = 0; i < kSignalCount; ++i) {
    if (!g_have_prev[i]) continue;
    struct sigaction cur {};
    if (::sigaction(kSignals[i], nullptr, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) != 0 &&
        cur.sa_sigaction == on_fatal_signal) {
      ::sigaction(kSignals[i], &g_prev[i], nullptr);
    }
    g_have_prev[i] = false;
  }
  if (g_terminate_installed) {
    if (std::get_terminate() == on_terminate) std::set_terminate(g_prev_terminate);
    g_terminate_installed = false;
  }
  g_installed.store(false, std::memory_order_release);
}

void install_locked(const CrashHandlerOptions& options) {
  uninstall_locked();
  g_options = options;
  if (options.fatal_signals) {
    set_alt_stack();
    for (int i = 0; i < kSignalCount; ++i) {
      struct sigaction sa {};
      sa.sa_sigaction = on_fatal_signal;
      sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
      ::sigemptyset(&sa.sa_mask);
      g_have_prev[i] = ::sigaction(kSignals[i], &sa, &g_prev[i]) == 0;
    }
  }
  if (options.terminate) {
    g_prev_terminate = std::set_terminate(on_terminate);
    g_terminate_installed = true;
  }
  g_installed.store(true, std::memory_order_release);
}

bool env_opted_out() noexcept {
  const char* v = std::getenv("DAGSTACK_LOGGER_CRASH_HANDLER");
  if (v == nullptr) return false;
  for (const char* off : {"0", "off", "false", "no", "OFF", "FALSE", "NO", "Off", "False", "No"}) {
    if (std::strcmp(v, off) == 0) return true;
  }
  return false;
}

}  // namespace

bool register_crash_sink(Sink* sink, CrashPhase phase) noexcept {
  const std::uintptr_t v =
      reinterpret_cast<std::uintptr_t>(sink) | static_cast<std::uintptr_t>(phase);
  for (auto& slot : g_slots) {
    std::uintptr_t expected = 0;
    if (slot.compare_exchange_strong(expected, v, std::memory_order_acq_rel)) return true;
  }
  return false;
}

void unregister_crash_sink(Sink* sink) noexcept {
  const std::uintptr_t addr = reinterpret_cast<std::uintptr_t>(sink);
  for (auto& slot : g_slots) {
    std::uintptr_t v = slot.load(std::memory_order_acquire);
    if ((v & ~std::uintptr_t{1}) == addr) {
      slot.compare_exchange_strong(v, 0, std::memory_order_acq_rel);
      break;
    }
  }
  // A drain that may already hold the pointer: the process is dying; wait for it (bounded).
  for (int i = 0; i < 5000 && g_draining.load(std::memory_order_seq_cst) > 0; ++i) {
    const struct timespec pause { 0, 1000 * 1000 };
    ::nanosleep(&pause, nullptr);
  }
}

void note_crash_drain(unsigned long long written, unsigned long long lost) noexcept {
  g_written.fetch_add(written, std::memory_order_relaxed);
  g_lost.fetch_add(lost, std::memory_order_relaxed);
}

void ensure_crash_handler() noexcept {
  if (g_auto_tried.exchange(true, std::memory_order_acq_rel)) return;
  try {
    std::lock_guard<std::mutex> lock(install_mutex());
    if (g_disabled.load(std::memory_order_relaxed) || g_installed.load() || env_opted_out()) {
      return;
    }
    install_locked(CrashHandlerOptions{});
  } catch (...) {
    // No handler then; logging still works.
  }
}

}  // namespace detail

void install_crash_handler(const CrashHandlerOptions& options) {
  std::lock_guard<std::mutex> lock(detail::install_mutex());
  detail::g_disabled.store(false, std::memory_order_relaxed);
  detail::install_locked(options);
}

void uninstall_crash_handler() {
  std::lock_guard<std::mutex> lock(detail::install_mutex());
  detail::uninstall_locked();
}

void disable_crash_handler() {
  std::lock_guard<std::mutex> lock(detail::install_mutex());
  detail::g_disabled.store(true, std::memory_order_relaxed);
  detail::uninstall_locked();
}

bool crash_handler_installed() noexcept {
  return detail::g_installed.load(std::memory_order_acquire);
}

}  // namespace dagstack::logger

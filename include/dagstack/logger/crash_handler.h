// crash_handler.h: declares the crash handler (fatal signals and std::terminate) that writes out
// what sinks hold in memory before the process dies: `install_crash_handler()` and its options.
#pragma once

#include <chrono>

namespace dagstack::logger {

struct CrashHandlerOptions {
  bool fatal_signals = true;  // default true: SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL
  bool terminate = true;      // default true: std::set_terminate
  // default 2 s: longest the drain may take; past it the signal's previous action runs anyway
  std::chrono::milliseconds drain_budget{2000};
};

// The crash handler
//
// On a fatal signal (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL) or std::terminate, drains every
// live AsyncSink queue into its inner sink (through Sink::emergency_emit) and writes every
// FileSink buffer (Sink::emergency_flush), prints one line to stderr with what it saved and what
// it could not ("dagstack.logger: fatal signal (signal 11): file buffers written; of the records
// queued in async sinks, 12 written, 0 lost"), then
// restores the previous handler and lets the signal take its course (the previous handler runs,
// or the default action kills the process with the same signal and core dump). std::terminate
// runs the previous terminate handler after the drain.
//
// Installed by default when the first FileSink or AsyncSink is constructed, unless the process
// opted out: call disable_crash_handler() first, or set DAGSTACK_LOGGER_CRASH_HANDLER=0 (also
// "off", "false", "no"). A handler installed later by the application replaces ours for that
// signal; one installed earlier is chained.
//
// The drain uses write(2), fstat(2), open(2), try-locks with a bounded wait and pre-reserved
// buffers; encoding a record still queued in an AsyncSink uses the canonical JSON encoder, which
// does not allocate for records of usual size. A SIGALRM watchdog bounds the drain by
// drain_budget. The handler runs on an alternate signal stack (64 KiB) on the thread that
// installed it, so a stack overflow on that thread is handled too; on other threads a stack
// overflow kills the process without a drain.
//
// Thread-safety: install/uninstall/disable may be called from any thread; the handler itself runs
// once per process (a second fatal signal during the drain goes straight to the previous action).

// Installs (or re-installs with new options) the handler. Explicit installation ignores the
// environment opt-out.
void install_crash_handler(const CrashHandlerOptions& options = {});
// Restores the handlers that were in place before install. No-op when not installed.
void uninstall_crash_handler();
// Uninstalls and keeps sinks from installing it automatically later.
void disable_crash_handler();
// Whether the handler is installed now.
bool crash_handler_installed() noexcept;

}  // namespace dagstack::logger

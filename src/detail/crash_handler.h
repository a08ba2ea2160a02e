// crash_handler.h (detail): the list of sinks the crash handler drains, and its auto-install.
#pragma once

namespace dagstack::logger {
class Sink;
}  // namespace dagstack::logger

namespace dagstack::logger::detail {

// Drain order: queues first (they hand records to the buffers), then buffers.
enum class CrashPhase { kQueue = 0, kBuffer = 1 };

// Adds `sink` to the fixed-size, lock-free list the crash handler walks (its emergency_flush()
// is called). Returns false when the list is full (the sink is then not drained on a crash).
bool register_crash_sink(Sink* sink, CrashPhase phase) noexcept;
// Removes `sink`; waits while a crash drain is running.
void unregister_crash_sink(Sink* sink) noexcept;
// Installs the handler unless the user opted out (disable_crash_handler() or
// DAGSTACK_LOGGER_CRASH_HANDLER=0/off/false). Called when the first FileSink or AsyncSink is made.
void ensure_crash_handler() noexcept;

}  // namespace dagstack::logger::detail

namespace dagstack::logger::detail {

// Called by a queue sink during a crash drain: records it wrote and records it could not.
void note_crash_drain(unsigned long long written, unsigned long long lost) noexcept;

}  // namespace dagstack::logger::detail

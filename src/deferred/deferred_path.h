// deferred_path.h: the library-internal side of the deferred caller path (deferred.h): the switch
// read on every emit, the enqueue called by emit_record(), and the hooks the registry, the
// grace periods, fork and the crash handler use.
//
// Lifetime: a queued call site points into the configuration snapshot read at the call (its
// Resolved) and at its node. synchronize() (reclaim.h) waits, after the readers, until the writer
// has finished every call site queued before it, so nothing retired through a grace period is
// released while a queued record still points into it. A detached node (child loggers) is kept
// by a reference held in the queued entry; a scoped sink override likewise.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "detail/emit.h"

namespace dagstack::logger::detail {

// True while the writer runs and the calling thread is not the writer itself.
extern std::atomic<bool> g_deferred_running;
extern constinit thread_local bool tl_deferred_writer;

inline bool deferred_active() noexcept {
  return g_deferred_running.load(std::memory_order_relaxed) && !tl_deferred_writer;
}

// True while queued records may carry a time-stamp counter reading instead of the clock's time
// (DeferredOptions::use_tsc on a CPU with an invariant counter): for the default clock only.
extern std::atomic<bool> g_deferred_tsc;

// Copies `site` (and a reference to the override's sink list, when there is one) into the calling
// thread's ring. Returns false when the record must be finished synchronously instead (the
// deferred path stopped meanwhile). A record dropped under the drop policy returns true (counted).
bool deferred_enqueue(const CallSite& site,
                      const std::shared_ptr<const SinkList>* override_sinks) noexcept;

// True when every argument can be copied for formatting on the writer (numbers, bools, chars,
// strings, pointers); false for a type with its own formatter (formatted by the caller).
bool deferrable_format_args(fmt::format_args args) noexcept;

// Waits until every record queued before the call has been handed to its sinks, waking the
// writer. Returns false on timeout, or when called on the writer thread (it cannot wait for
// itself). True at once when the deferred path is not running.
bool deferred_drain(std::chrono::steady_clock::time_point deadline) noexcept;

// How long the deferred writer sleeps next, when idle: `max_delay`, unless records keep coming
// fast enough that a ring would fill half its wake step first; then that long, at least 50 us.
// `fill` is the largest share of its wake step one ring received over the last `elapsed_us`.
std::chrono::microseconds writer_nap(double fill, double elapsed_us,
                                     std::chrono::microseconds max_delay) noexcept;

// In the child of fork(): the writer does not exist there; the child logs synchronously.
void deferred_after_fork_child() noexcept;

// For the crash handler: stops the writer at its next record (bounded wait) and finishes every
// queued record on the calling thread, through the sinks' emergency_emit(). Best effort.
void deferred_emergency_drain() noexcept;

}  // namespace dagstack::logger::detail

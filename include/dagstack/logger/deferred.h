// deferred.h: declares the deferred caller path: `DeferredOptions`, `DeferredStats`,
// start_deferred(), stop_deferred(), flush_deferred() and deferred_stats().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "dagstack/logger/sink.h"

namespace dagstack::logger {

// What a logging thread does when its ring is full.
enum class DeferredOverflow {
  kBlock,  // wait for the writer to make room (nothing is lost)
  kDrop,   // discard the record (counted in DeferredStats::dropped)
};

struct DeferredOptions {
  // default 64 KiB: bytes of each logging thread's ring, rounded up to a power of two, from
  // 4 KiB to 64 MiB. Allocated on a thread's first record, released after the thread ends.
  std::size_t ring_bytes = 64 * 1024;
  DeferredOverflow overflow = DeferredOverflow::kBlock;  // default block
  // default 1 ms: longest a record waits for an idle writer; ERROR-or-worse records, a ring an
  // eighth full (at most 64 KiB queued), flush() and configuration changes wake it at once.
  std::chrono::microseconds max_delay{1000};
  // default true: with the default clock (system_clock()), a call reads the CPU's invariant
  // time-stamp counter (x86-64) instead of the clock, and the writer converts it to the clock's
  // time (calibrated against it, re-based every millisecond; the first start_deferred() of a
  // process measures the rate for 2 ms). Elsewhere, or false: the clock is read on every call.
  bool use_tsc = true;
};

// Counters of the deferred path (monotonic unless marked). Once flush_deferred() returned true,
// enqueued == written + (records still being queued by running calls).
struct DeferredStats {
  std::uint64_t enqueued = 0;     // records written into a ring
  std::uint64_t written = 0;      // records the writer finished (handed to their sinks)
  std::uint64_t dropped = 0;      // records discarded because the ring was full (kDrop)
  std::uint64_t blocked = 0;      // calls that waited for room (kBlock)
  std::uint64_t synchronous = 0;  // calls finished on the caller (the path was stopping)
  std::uint64_t large = 0;        // records larger than a ring slot, queued through the heap
  std::uint64_t formatted = 0;    // fmt-style bodies formatted by the writer (not the caller)
  std::uint64_t errors = 0;       // records that could not be copied (out of memory)
  // Calls that woke the writer (an ERROR-or-worse record, a ring a wake step behind, a parked
  // writer): each is a system call on the logging thread. Steady traffic keeps it near zero.
  std::uint64_t writer_wakes = 0;
  std::uint64_t rings_created = 0;
  std::uint64_t rings_released = 0;  // rings of ended threads, released by the writer
  std::uint64_t rings_live = 0;      // gauge: rings allocated now
  bool tsc_clock = false;  // gauge: calls read the time-stamp counter (DeferredOptions::use_tsc)
};

// Starts the deferred path: from now on, every enabled log call copies what it cannot recover
// later (time, severity, body, attributes, trace context, the sinks chosen by the call) into a
// per-thread ring and returns; one writer thread merges the rings by time and does the attribute
// merge, baggage, redaction, record building and the sinks, with exactly the synchronous path's
// output. Throws ConfigError (nothing changed) on bad options or when already running.
// Thread-safe; meant for start-up.
void start_deferred(const DeferredOptions& options = {});

// Drains every ring (at most `timeout`) and stops the writer; later calls are synchronous again.
// Returns false when records were still queued at the timeout (they are counted as dropped and
// reported). Idempotent. Thread-safe.
bool stop_deferred(std::chrono::milliseconds timeout = kDefaultFlushTimeout);

// True while the deferred path runs.
bool deferred_running() noexcept;

// Waits until every record queued before the call has been handed to its sinks (a FileSink that
// writes behind has written them), not the sinks' own flush: Logger::flush() and shutdown() do
// both. False on timeout, or on the writer thread.
bool flush_deferred(std::chrono::milliseconds timeout = kDefaultFlushTimeout);

// The counters. Thread-safe.
DeferredStats deferred_stats() noexcept;

}  // namespace dagstack::logger

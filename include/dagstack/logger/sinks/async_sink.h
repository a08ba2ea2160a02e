// async_sink.h: declares `AsyncSink`, which puts a bounded queue and one writer thread in front
// of any sink, with `AsyncSinkOptions`, `OverflowPolicy`, `AsyncSinkStats` and make_async_sink().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dagstack/logger/severity.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger {

namespace detail {
struct AsyncState;  // the queue and the writer's state, shared with the writer thread
}  // namespace detail

// What emit() does when the queue is full.
enum class OverflowPolicy {
  kBlock,       // wait for room (nothing is lost; the caller may wait for the writer)
  kDropNewest,  // discard the record being emitted (counted in dropped_newest())
  kDropOldest,  // discard the oldest queued record to make room (counted in dropped_oldest())
};

struct AsyncSinkOptions {
  std::size_t queue_capacity = 8192;  // default 8192; rounded up to a power of two (min 2)
  OverflowPolicy overflow = OverflowPolicy::kBlock;  // default block (files lose nothing)
  std::size_t batch_size = 256;  // default 256 records taken off the queue per round (min 1)
  std::chrono::milliseconds shutdown_timeout{2000};  // default 2 s: how long close() drains
  // default 5 ms: longest a record below wake_severity waits for the polling writer (shorter
  // polls cost the callers: each wake-up of the writer disturbs the producers' CPUs)
  std::chrono::milliseconds max_delay{5};
  // default ERROR (17): records at or above it wake a polling writer at once instead of
  // waiting up to max_delay; 25 or more: no record wakes it early
  int wake_severity = kSeverityError;
};

// Counters kept by an AsyncSink (monotonic). Once the queue has drained (after flush(), or after
// close() once no emit is running), enqueued == delivered + dropped_oldest + dropped_on_close +
// dropped_errors, and every emit before close() counts in enqueued or dropped_newest. A close()
// that times out reports the records it abandons ("records.abandoned") on the internal channel.
struct AsyncSinkStats {
  std::uint64_t enqueued = 0;          // records accepted into the queue
  std::uint64_t delivered = 0;         // records handed to the inner sink's emit
  std::uint64_t dropped_newest = 0;    // records refused because the queue was full (kDropNewest;
                                       // under kBlock, those still waiting when close() began)
  std::uint64_t dropped_oldest = 0;    // queued records discarded to make room (kDropOldest)
  std::uint64_t dropped_on_close = 0;  // queued records close() discarded (drain timeout, or
                                       // enqueued while close() was stopping the writer)
  std::uint64_t dropped_errors = 0;    // records that could not be copied (out of memory)
  std::uint64_t dropped_after_close = 0;  // emits after close() (not in enqueued)
  std::uint64_t inner_errors = 0;         // exceptions thrown by the inner sink's emit
  std::uint64_t queued = 0;               // records in the queue now (approximate)
};

// AsyncSink
//
// emit() copies the record into a pre-allocated queue slot (one arena per slot, reused: no heap
// allocation in steady state for records without nested arrays/maps; resource and scope are
// shared immutable copies, interned) and returns; one writer thread takes up to `batch_size`
// records at a time and hands each, as a LogRecord view, to the inner sink, in queue order
// (so records of one producer thread keep their order). The caller never waits for the inner
// sink unless the policy is kBlock and the queue is full.
//
// The caller does not signal the writer for every record (a wake-up is a futex syscall, several
// microseconds on a VM): a writer with an empty queue sleeps for `max_delay` and is woken early
// only by a record of `wake_severity` or above, when the queue is half full, by flush() and by
// close(); after about 100 ms without records it sleeps until the next record wakes it.
//
// flush(timeout) wakes the writer, waits until every record enqueued before the call has been
// handed to the inner sink, then flushes the inner sink; it fails (naming the records still
// undelivered) on timeout. close() drains for at most `shutdown_timeout` (records still queued
// then are counted in dropped_on_close), stops the writer and closes the inner sink; it is
// idempotent, later emits are ignored, and records emitted concurrently with close() may be
// dropped (and are counted). The destructor closes. Every live AsyncSink is also closed by an
// exit handler, so a process that returns from main drains within shutdown_timeout even if the
// sink was never registered on a logger.
//
// Memory: capacity + batch_size slots of ~170 bytes, plus each slot's arena, sized by the largest
// record the slot has held (at least 256 bytes; arenas over 64 KiB are released after use):
// about 3.6 MB for the defaults once every slot has been used.
//
// Each batch the writer takes is bracketed by inner->begin_batch() / end_batch(), so a FileSink
// writes the batch in chunks (on its own thread with FileSinkOptions::write_behind). On a crash
// (see crash_handler.h) the queue is drained into the inner sink; after _Exit or SIGKILL the queued
// records (at most queue_capacity + batch_size) are lost.
//
// fork(): in the child, an inherited AsyncSink has no writer thread, so it hands records straight
// to the inner sink (synchronously); records queued before the fork are the parent's to deliver.
//
// id "async:<inner id>". Thread-safe: any number of threads may emit concurrently.
class AsyncSink final : public Sink {
 public:
  // Starts the writer. Throws ConfigError when `inner` is null.
  explicit AsyncSink(std::shared_ptr<Sink> inner, const AsyncSinkOptions& options = {});
  ~AsyncSink() override;

  std::string_view id() const noexcept override;
  void emit(const LogRecord& record) override;
  FlushResult flush(std::chrono::milliseconds timeout) override;
  void close() override;
  // Asks the inner sink.
  bool supports_severity(int severity_number) const noexcept override;
  // Crash handler only: hands every queued record to the inner sink's emergency_emit() (the
  // writer's batch in progress is finished first, waited for at most 500 ms), then calls the
  // inner sink's emergency_flush().
  void emergency_flush() noexcept override;

  // Records refused because the queue was full (see AsyncSinkStats::dropped_newest).
  std::uint64_t dropped_newest() const noexcept;
  // Queued records discarded to make room (kDropOldest).
  std::uint64_t dropped_oldest() const noexcept;
  // Records handed to the inner sink.
  std::uint64_t delivered() const noexcept;
  // All counters at once.
  AsyncSinkStats stats() const noexcept;
  // The queue's capacity after rounding.
  std::size_t capacity() const noexcept;
  // The wrapped sink.
  const std::shared_ptr<Sink>& inner() const noexcept;

 private:
  std::shared_ptr<detail::AsyncState> state_;
};

// An AsyncSink around `inner` (the same as constructing one; kept for symmetry with the other
// sink factories). Throws ConfigError when `inner` is null.
std::shared_ptr<AsyncSink> make_async_sink(std::shared_ptr<Sink> inner,
                                           const AsyncSinkOptions& options = {});

}  // namespace dagstack::logger

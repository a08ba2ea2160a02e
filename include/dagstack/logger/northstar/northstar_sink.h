// northstar_sink.h: declares `NorthStarSink`, the sink that stitches records into NorthStar
// sessions, runs, spans and events and ships them to a NorthStar ingest endpoint, its counters
// (`NorthStarStats`) and its factory `make_northstar_sink()`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "dagstack/logger/northstar/northstar_options.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger::northstar {

// Monotonic counters of one sink (a snapshot; all zero for a disabled sink).
struct NorthStarStats {
  std::uint64_t records_accepted = 0;       // records queued by emit()
  std::uint64_t records_dropped = 0;        // refused by emit() because the queue was full
  std::uint64_t records_outside_trace = 0;  // belonged to no known span (OutsideTracePolicy::kDrop)
  std::uint64_t events_not_captured = 0;    // input/output events filtered by the capture flags
  std::uint64_t entities_delivered = 0;     // session/run/span/event snapshots in accepted batches
  std::uint64_t entities_rejected = 0;      // snapshots in dead-lettered batches
  std::uint64_t entities_lost_at_close = 0;    // snapshots still unsent when close() gave up
  std::uint64_t batches_delivered = 0;         // batches answered 2xx {"accepted": true}
  std::uint64_t batches_rejected = 0;          // batches refused (400/401/...) or out of retries
  std::uint64_t requests = 0;                  // HTTP attempts
  std::uint64_t retries = 0;                   // attempts that failed and were scheduled again
  std::uint64_t dead_letter_write_errors = 0;  // dead-letter lines that could not be written
  std::uint64_t outbox_batches_stored = 0;     // batches written to the outbox
  std::uint64_t outbox_batches_replayed = 0;   // outbox files delivered (or dead-lettered)
  std::uint64_t outages = 0;                   // times the endpoint became unavailable
  std::uint64_t backlog = 0;                   // records and snapshots waiting right now (gauge)
  std::uint64_t queued_bytes = 0;    // bytes counted against max_queue_bytes right now (gauge)
  std::uint64_t outbox_pending = 0;  // outbox files known and not yet delivered (gauge)
};

// NorthStarSink
//
// A Sink that turns the records of spans (see docs/northstar.md for the record convention) into
// NorthStar entities and POSTs them as batches from its own worker thread:
// - one Session per sink instance, ended (ended_at) when the sink closes;
// - a root span, or a span started by northstar::trace(), becomes a Run; other spans become Spans
//   with parent_span_id, kind and iteration; every other record inside a span becomes an Event;
// - run and span UUIDs are derived from trace_id/span_id (derive_run_uuid / derive_span_uuid).
// emit() only copies the record into a queue (no network, no stitching on the caller's thread);
// a full queue drops the newest record and counts it. A disabled sink (enabled=false, or no key,
// or no endpoint/project id) has no thread, sends nothing and costs one branch per emit.
// Thread-safe: every method may be called from any thread.
class NorthStarSink : public Sink {
 public:
  // True when the sink sends (see NorthStarOptions::active()).
  virtual bool enabled() const noexcept = 0;
  // The session UUID of this sink ("" when disabled).
  virtual const std::string& session_id() const noexcept = 0;
  // The ingest URL ("" when disabled).
  virtual const std::string& endpoint() const noexcept = 0;
  // A snapshot of the counters.
  virtual NorthStarStats stats() const noexcept = 0;

  // Sink::flush: delivers everything emitted before the call, waiting at most `timeout`.
  // Success means every batch sent so far (since the previous flush) was accepted and no record
  // was dropped; otherwise the result says how many were rejected or dropped. A `timeout` <= 0
  // is an error result ("timeout must be greater than zero"), not an exception.
  FlushResult flush(std::chrono::milliseconds timeout) override = 0;
  // Sink::close: ends the session (and the default run), sends what is left for at most
  // shutdown_timeout (less what a flush() that timed out just before already waited, as in
  // dagstack::logger::shutdown()), stores the rest in the outbox, stops the worker. Idempotent;
  // later emits are ignored.
  void close() override = 0;
};

// Builds a NorthStar sink. Validates `options` (ConfigError on a bad field) and, when
// options.active() is false, returns a disabled sink (a "[NorthStar] disabled ..." line on stderr
// when debug is on). The pricing file is read here (ConfigError if unreadable).
std::shared_ptr<NorthStarSink> make_northstar_sink(
    NorthStarOptions options = NorthStarOptions::from_env());

// Flushes every live NorthStar sink of the process (see NorthStarSink::flush); true when all
// succeeded (or there are none). Used by northstar::flush().
bool flush_all_northstar_sinks(std::chrono::milliseconds timeout);
// The number of live, enabled NorthStar sinks in the process.
std::size_t enabled_northstar_sink_count() noexcept;

}  // namespace dagstack::logger::northstar

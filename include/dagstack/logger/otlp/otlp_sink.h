// otlp_sink.h: declares `OtlpSink`, the sink that exports records as OTLP logs and the spans of
// `dagstack.trace` as OTLP traces to an OpenTelemetry Collector, its counters `OtlpStats`, and
// the factory make_otlp_sink().
#pragma once

#include <cstdint>
#include <memory>

#include "dagstack/logger/otlp/otlp_options.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger::otlp {

// Counters of one signal. Every item the sink accepted ends in exactly one of delivered,
// rejected, failed or lost_at_close (or is still in the queue): accepted == delivered + rejected +
// failed + lost_at_close + queued.
struct OtlpSignalStats {
  std::uint64_t accepted = 0;       // taken for delivery (log records; spans once ended)
  std::uint64_t delivered = 0;      // acknowledged by the collector
  std::uint64_t rejected = 0;       // refused: a 4xx/5xx that is not retryable, or partial_success
  std::uint64_t failed = 0;         // given up after retry.max_attempts retryable answers
  std::uint64_t lost_at_close = 0;  // still unsent when close() ran out of time
};

// OtlpStats: the sink's counters (a consistent-enough snapshot; each field is exact).
struct OtlpStats {
  OtlpSignalStats logs;
  OtlpSignalStats spans;
  std::uint64_t records_dropped = 0;   // log or span records refused: queue full
  std::uint64_t spans_unfinished = 0;  // spans open at close, exported as ended with ERROR
  std::uint64_t requests = 0;          // HTTP attempts
  std::uint64_t retries = 0;           // attempts scheduled again after a retryable answer
  std::uint64_t bytes_sent = 0;        // request bodies (after compression), all attempts
  std::uint64_t queue_bytes = 0;       // bytes held for delivery now
};

// OtlpSink
//
// Exports every record it is given as an OTLP LogRecord (grouped per resource and scope) and
// rebuilds the spans of the `dagstack.trace` span start/end records as OTLP spans, posted over
// OTLP/HTTP (protobuf or JSON, optional gzip) from one worker thread; emit() only encodes the
// record and queues it. Thread-safe: every method may be called from any thread.
class OtlpSink : public Sink {
 public:
  // The sink's counters. Never blocks on the network.
  virtual OtlpStats stats() const noexcept = 0;
};

// Validates `options` (ConfigError on bad values) and starts a sink with its worker thread.
std::shared_ptr<OtlpSink> make_otlp_sink(OtlpOptions options);

}  // namespace dagstack::logger::otlp

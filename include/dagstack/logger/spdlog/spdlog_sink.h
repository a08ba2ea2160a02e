// spdlog_sink.h: declares `SpdlogSinkOptions`, `SpdlogFormat` and make_spdlog_sink(), the dagstack
// sink that hands records to spdlog sinks.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/common.h>

#include "dagstack/logger/log_record.h"
#include "dagstack/logger/severity.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger {

// What the spdlog message payload (the `%v` of an spdlog pattern) holds.
enum class SpdlogFormat {
  kText,  // the body, then " | " and the attributes as k=v (see format_spdlog_text)
  kJson,  // the dagstack JSON line of the record (use the pattern "%v" for pure JSON-lines)
};

struct SpdlogSinkOptions {
  SpdlogFormat format = SpdlogFormat::kText;  // default text
  int min_severity = kSeverityTrace;          // default 1: everything the logger lets through
  // Default nullopt: the spdlog sinks keep their own formatters. Set: set_pattern(*pattern) is
  // called on each sink at construction (the sinks are shared objects: this changes them for
  // every spdlog logger that uses them too).
  std::optional<std::string> pattern;
  std::string id;  // default "": "spdlog:<number of sinks>"
};

// A dagstack sink that hands each record to every spdlog sink of `sinks` whose own level lets it
// through, as an spdlog message with:
//   - level by severity bucket: 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 err,
//     21-24 critical;
//   - logger name (`%n`) = the record's instrumentation scope name ("root" for the root);
//   - time = the record's time_unix_nano;
//   - source location (`%s`, `%#`, `%!`) from the code.filepath / code.lineno / code.function
//     attributes when present;
//   - payload (`%v`) as chosen by options.format.
// Null entries of `sinks` are ignored. An exception thrown by one spdlog sink is reported on
// `dagstack.logger.internal` and the other sinks still get the record. flush() calls every spdlog
// sink's flush() (spdlog flushes are synchronous; the timeout is not enforced) and reports a
// throwing sink as failed. close() flushes and stops delivery; the spdlog sinks themselves are
// shared objects and are left open. A record emitted while the same thread is already inside
// this kind of sink (dagstack -> spdlog -> dagstack -> spdlog) is dropped and reported, which
// stops routing loops.
//
// Thread-safe: calls into the spdlog sinks are serialised by the sink's own mutex, so
// single-threaded `_st` spdlog sinks are safe to use too; payloads are built outside the lock.
std::shared_ptr<Sink> make_spdlog_sink(std::vector<::spdlog::sink_ptr> sinks,
                                       const SpdlogSinkOptions& options = {});

// The kText payload: the body (a string as is, anything else as canonical JSON); then, when the
// record has attributes or a trace context, " | " followed by space-separated `key=value`
// pairs in record order, and `trace_id=<hex> span_id=<hex>` last. String values are written
// bare when they are non-empty and contain no space, '"', '=' or control character, and as JSON
// string literals otherwise; other values as canonical JSON.
std::string format_spdlog_text(const LogRecord& record);

}  // namespace dagstack::logger

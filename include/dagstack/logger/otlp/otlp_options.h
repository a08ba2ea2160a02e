// otlp_options.h: declares `OtlpOptions`, the configuration of the OTLP/HTTP exporter (endpoints,
// encoding, compression, batching, queue bound, retries), and its environment reader.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dagstack/logger/http/http_transport.h"
#include "dagstack/logger/http/retry.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::otlp {

// How requests are encoded: OTLP/HTTP binary protobuf ("http/protobuf", the default) or
// OTLP/JSON ("http/json").
enum class OtlpProtocol { kHttpProtobuf, kHttpJson };

// Request body compression: none or gzip ("none", "gzip").
enum class OtlpCompression { kNone, kGzip };

// OtlpRetryPolicy: how a request answered 429, 502, 503 or 504, or not answered at all
// (connection refused, timeout), is retried; every other status is final (OTLP/HTTP spec).
// Delays follow `backoff` (exponential, jittered; Retry-After honoured). Value type.
struct OtlpRetryPolicy {
  http::BackoffPolicy backoff{std::chrono::milliseconds(500), std::chrono::milliseconds(5000), 2.0,
                              0.5, std::chrono::milliseconds(30000)};
  // Attempts for one batch that keeps getting a retryable status before it is given up
  // (counted as failed); default 10. Network errors are retried while the sink is open.
  int max_attempts = 10;
};

// OtlpOptions
//
// Everything an OTLP sink needs. Build it directly, or with from_env() (the standard
// OTEL_EXPORTER_OTLP_* variables) and adjust it. make_otlp_sink() validates it and throws
// ConfigError on bad values. Value type, thread-compatible.
struct OtlpOptions {
  // ---- destination ----
  // Full URLs of the two signals. Empty = `endpoint` + "/v1/logs" / "/v1/traces".
  std::string logs_endpoint;    // default none; OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
  std::string traces_endpoint;  // default none; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  // Base URL (scheme, host, port, optional path prefix) the signal paths are appended to.
  std::string endpoint = "http://localhost:4318";            // default; OTEL_EXPORTER_OTLP_ENDPOINT
  std::vector<std::pair<std::string, std::string>> headers;  // default none; ..._HEADERS
  OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;       // default; ..._PROTOCOL
  OtlpCompression compression = OtlpCompression::kNone;      // default; ..._COMPRESSION
  std::chrono::milliseconds timeout{10000};  // default 10 s (> 0); ..._TIMEOUT: per request

  // ---- what is exported ----
  bool export_logs = true;    // default true: records -> /v1/logs
  bool export_traces = true;  // default true: dagstack.trace span records -> spans, /v1/traces
  // Also export the span start/end records as log records (they always become spans when
  // export_traces is on; when it is off they are exported as ordinary logs).
  bool span_records_as_logs = false;  // default false
  int min_severity = 1;               // default 1: every record the logger lets through
  // Used for records that carry no resource (the logger always sets one).
  Value::Map resource;  // default none

  // ---- batching, queue, delivery ----
  std::size_t max_batch_records = 512;          // default 512 (> 0): most records in a request
  std::chrono::milliseconds batch_delay{1000};  // default 1 s (> 0): the longest a record waits
  // Bytes held for delivery (queued, being batched, or in a request not yet answered) before new
  // records are dropped (drop-newest, counted and reported).
  std::size_t max_queue_bytes = 8 * 1024 * 1024;     // default 8 MiB (>= 64 KiB)
  std::chrono::milliseconds shutdown_timeout{5000};  // default 5 s (> 0): how long close() sends
  OtlpRetryPolicy retry;                             // default: see OtlpRetryPolicy
  // The HTTP client; nullptr = the shared libcurl transport. Called from the sink's worker only.
  std::shared_ptr<http::HttpTransport> transport;  // default nullptr

  // The URL logs are posted to (logs_endpoint, else endpoint + "/v1/logs").
  std::string resolved_logs_endpoint() const;
  // The URL spans are posted to (traces_endpoint, else endpoint + "/v1/traces").
  std::string resolved_traces_endpoint() const;
  // Throws ConfigError (stable message naming the option) when a value is out of range.
  void validate() const;

  // Options from the process environment: OTEL_EXPORTER_OTLP_ENDPOINT, ..._LOGS_ENDPOINT,
  // ..._TRACES_ENDPOINT, ..._HEADERS (and ..._LOGS_HEADERS / ..._TRACES_HEADERS, appended),
  // ..._TIMEOUT (ms), ..._COMPRESSION (gzip|none), ..._PROTOCOL (http/protobuf|http/json), over
  // `base`. A bad value throws ConfigError with a stable message naming the variable.
  static OtlpOptions from_env(OtlpOptions base);
  static OtlpOptions from_env();  // over default options
  // The same over an explicit variable lookup (name -> value; absent = unset), for tests.
  static OtlpOptions from_env(const std::map<std::string, std::string>& env, OtlpOptions base);
  static OtlpOptions from_env(const std::map<std::string, std::string>& env);
};

}  // namespace dagstack::logger::otlp

// northstar_options.h: declares `NorthStarOptions`, the configuration of a NorthStar sink, with
// the NorthStar SDK's defaults and its NORTHSTAR_* environment variables.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dagstack/logger/northstar/http_transport.h"
#include "dagstack/logger/northstar/pricing.h"
#include "dagstack/logger/severity.h"

namespace dagstack::logger::northstar {

// What the sink does with records that belong to no span it knows (no trace context, or a span
// whose start it never saw).
enum class OutsideTracePolicy {
  kDrop,        // ignore them (counted in NorthStarStats::records_outside_trace)
  kDefaultRun,  // attach them to one per-sink run named `default_run_name`, running until close
};

// RetryPolicy
//
// How a batch that failed with 408, 429, 500, 502, 503, 504, a network error or a 2xx whose body
// is not {"accepted": true} is retried. Delays grow as initial_backoff * multiplier^(n-1), capped
// at max_backoff, then "full jitter" picks a uniform delay in [delay * (1 - jitter), delay]; a
// Retry-After header (seconds or HTTP date, capped at max_retry_after) raises the delay to at
// least its value. Value type.
struct RetryPolicy {
  std::chrono::milliseconds initial_backoff{500};    // default 0.5 s
  std::chrono::milliseconds max_backoff{30000};      // default 30 s
  double multiplier = 2.0;                           // default 2
  double jitter = 0.5;                               // default 0.5; 0 = no jitter, 1 = full jitter
  std::chrono::milliseconds max_retry_after{60000};  // default 60 s
  // Attempts for one batch that keeps getting a retryable HTTP answer (408/429/5xx or a bad 2xx
  // body) before it is dead-lettered; default 10 (about two minutes with the defaults above).
  // Network errors (connection refused, timeouts) are retried without limit while the sink is
  // open (they say nothing about the batch itself), unless an outbox is configured: then a batch
  // that has failed max_attempts times, for any reason, is stored there and replayed later.
  int max_attempts = 10;
  // While the endpoint cannot be reached (network errors), the longest wait between two attempts,
  // so that delivery resumes soon after the endpoint is back.
  std::chrono::milliseconds outage_probe_interval{2000};  // default 2 s (> 0)
};

// NorthStarOptions
//
// Everything a NorthStar sink needs. Build it directly, or with from_env() to apply the SDK's
// "argument or environment variable" rules. make_northstar_sink() validates it and throws
// ConfigError on bad values. Value type, thread-compatible.
struct NorthStarOptions {
  // ---- credentials and destination (SDK: api_key, project_id, endpoint) ----
  std::string api_key;     // default none; NORTHSTAR_API_KEY. Sent as `Authorization: Bearer <key>`
  std::string project_id;  // default none; NORTHSTAR_PROJECT_ID; must match ^[a-z0-9]+$ when used
  std::string endpoint;  // default none; NORTHSTAR_ENDPOINT; full ingest URL, wins over project_id
  std::string project;   // default none; NORTHSTAR_PROJECT; stamped into run metadata.project
  std::string environment;      // default none; NORTHSTAR_ENVIRONMENT; run metadata.environment
  std::optional<bool> enabled;  // default nullopt = true; NORTHSTAR_ENABLED
  std::optional<bool>
      debug;  // default nullopt = false; NORTHSTAR_DEBUG: "[NorthStar] ..." on stderr

  // ---- what is captured (SDK: capture_inputs, capture_outputs, redact_keys) ----
  bool capture_inputs = true;  // default true: user_input, system_message, tool_arguments events
  bool capture_outputs =
      true;  // default true: assistant_message, reasoning, tool_result, final_response
  // Added (case-insensitively) to the exact-key redaction list: api_key, authorization, cookie,
  // password, secret, token, x-api-key, bearer. Values under those keys become "[REDACTED]".
  std::vector<std::string> redact_keys;  // default none
  int min_severity = kSeverityTrace;     // default 1: every record the logger lets through

  // ---- delivery (SDK: batch_size, flush_interval, max_queue_size, 10 s timeout) ----
  std::size_t batch_size = 50;  // default 50 (> 0): pending records that wake the worker
  std::chrono::milliseconds flush_interval{5000};  // default 5 s (> 0): the worker's period
  // Bytes of trace data held in memory (records queued by emit(), snapshots being stitched, the
  // batch being sent), span ends included: past it new records are dropped (drop-newest, counted,
  // reported). The last 1/16 is kept for span ends, so started runs and spans still finish. With
  // an outbox, batches are moved to disk during an outage before this fills.
  std::size_t max_queue_bytes = 16u << 20;  // default 16 MiB (>= 64 KiB)
  // An optional extra cap in records (the SDK's max_queue_size), span ends exempt; 0 = none.
  std::size_t max_queue_size = 0;                    // default 0: bounded by bytes only
  std::size_t max_batch_records = 1000;              // default 1000 (> 0): most records in one POST
  std::chrono::milliseconds request_timeout{10000};  // default 10 s (> 0): per HTTP attempt
  // The one bound on close() (and so on process exit): how long it keeps sending, a request in
  // flight included; what is still unsent then goes to the outbox (or is counted as lost).
  std::chrono::milliseconds shutdown_timeout{2000};  // default 2 s
  RetryPolicy retry;                                 // default: see RetryPolicy
  // JSON-lines file that receives every batch the server refused (400/401/...) or that ran out
  // of retries: {"time","status","error","endpoint","records","payload"} per line.
  std::string dead_letter_path;  // default none: refused batches are only reported and counted
  // A directory (created if missing) where batches that could not be delivered within the retry
  // budget, during an outage past half of max_queue_bytes, or at close are stored, one file each,
  // and replayed oldest first, by this process or the next one using the same directory. Rows
  // are upserts, so a replay of a batch the server already has is harmless.
  std::string outbox_dir;  // default none: no outbox
  std::size_t outbox_max_bytes = 256u
                                 << 20;  // default 256 MiB: beyond it batches are dead-lettered

  // ---- stitching ----
  OutsideTracePolicy outside_trace = OutsideTracePolicy::kDrop;  // default: drop
  std::string default_run_name = "log";  // default "log" (used with kDefaultRun)

  // ---- model pricing ----
  // JSON price file (format of the installed pricing.json); empty = the table compiled into the
  // library from sinks/northstar/pricing.json.
  std::string pricing_path;                             // default none: built-in table
  std::map<std::string, ModelPrice> pricing_overrides;  // default none; win over the file

  // ---- testing hooks ----
  // The HTTP client; nullptr = libcurl (make_curl_transport()). Called only from the sink's
  // worker thread.
  std::shared_ptr<HttpTransport> transport;  // default nullptr

  // Fills every unset field from the environment, as the SDK does: an empty string field takes
  // NORTHSTAR_<NAME>; unset `enabled`/`debug` take NORTHSTAR_ENABLED/NORTHSTAR_DEBUG. Boolean
  // variables are trimmed and lowercased: 1|true|yes|on or 0|false|no|off, anything else throws
  // ConfigError("NORTHSTAR_ENABLED must be a boolean"). Other fields are kept as given.
  static NorthStarOptions from_env(NorthStarOptions base);
  // from_env() of default options.
  static NorthStarOptions from_env();

  // True when the sink would send: enabled, an api_key, and an endpoint or a project_id.
  bool active() const noexcept;
  // The ingest URL: `endpoint` with trailing '/' stripped, or
  // https://<project_id>.supabase.co/functions/v1/ingest-traces. Throws ConfigError when neither
  // is set or the project id does not match ^[a-z0-9]+$.
  std::string resolved_endpoint() const;
  // Throws ConfigError naming the first bad field (sizes and durations must be > 0, retry
  // multiplier >= 1, jitter in [0, 1], max_attempts >= 1, a resolvable endpoint when active()).
  void validate() const;
};

// Parses a NORTHSTAR_* style boolean ("1", "TRUE ", "off", ...). Throws ConfigError
// "<name> must be a boolean" otherwise.
bool parse_env_bool(std::string_view name, std::string_view value);

}  // namespace dagstack::logger::northstar

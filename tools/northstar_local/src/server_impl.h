// server_impl.h: declares Server::Impl, the state behind northstar_local::Server (HTTP server,
// store, faults, request log), shared by server.cpp and admin.cpp.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include <httplib.h>

#include "northstar_local/server.h"
#include "store.h"

namespace northstar_local {

// Thread-safety: each group of members is guarded by the mutex declared just before it; the
// HTTP worker threads and API callers share them.
struct Server::Impl {
  explicit Impl(ServerOptions opts);

  // Handles every routed request except POSTs (their body is read in handle_post()).
  void handle(const httplib::Request& req, httplib::Response& res);
  // Handles a POST: decides whether the body is worth keeping (an ingest POST with a refused key is
  // drained without storing it), reads it, then answers like handle().
  void handle_post(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader);
  // Loopback Host (and Origin, when sent) for the admin and dashboard endpoints; answers 403 and
  // returns false otherwise.
  bool check_local_origin(const httplib::Request& req, httplib::Response& res) const;
  // True when `path` is served by the dashboard (/, its assets, /api/...).
  bool is_dashboard_path(std::string_view path) const;
  // dashboard.cpp: the web UI and its JSON endpoints (GET only).
  void handle_dashboard(const httplib::Request& req, httplib::Response& res);
  // Marks the request's connection as answering a request (or done).
  void set_busy(const httplib::Request& req, bool busy);
  // Logs requests the HTTP layer answered without calling handle() (e.g. 413, 400).
  void log_unrouted(const httplib::Request& req, const httplib::Response& res);
  // Body facts for handle_ingest_path() and record().
  struct Body {
    std::string text;             // the kept bytes
    std::size_t bytes = 0;        // bytes received
    bool complete = true;         // `text` is the whole body
    bool encoded = false;         // sent with a Content-Encoding (never decoded by the real function)
  };
  // What handle_ingest_path() learnt, for the request log and the serve line.
  struct Outcome {
    std::string fault;
    std::string detail;
    std::string summary;  // accepted batches: counts and run names
  };
  void handle_ingest_path(const httplib::Request& req, httplib::Response& res, const Body& body,
                          Outcome& outcome);
  void record(const httplib::Request& req, const httplib::Response& res, const Body& body,
              std::chrono::system_clock::time_point received_at, double duration_ms,
              Outcome outcome);
  // Sleeps up to `delay`, returning early when the server stops.
  void interruptible_sleep(std::chrono::milliseconds delay);

  // admin.cpp: checks the loopback Host/Origin (403), the API key (401) and that a body is JSON
  // (415), then answers one /__admin/* request; `body` is the request body.
  void handle_admin(const httplib::Request& req, httplib::Response& res, const std::string& body);

  const ServerOptions options;
  std::unique_ptr<detail::Store> store;

  std::mutex lifecycle_mutex;  // start/stop
  std::unique_ptr<httplib::Server> http;
  std::thread listener;
  std::atomic<int> port{0};
  std::atomic<bool> running{false};

  mutable std::mutex fault_mutex;
  FaultState faults;
  bool stopping = false;
  std::condition_variable stop_cv;

  std::mutex inflight_mutex;
  std::set<std::pair<std::string, int>> inflight;  // peers (address, port) being answered

  mutable std::mutex log_mutex;
  mutable std::condition_variable log_cv;
  std::deque<RequestLogEntry> log;
  std::size_t log_bytes = 0;  // sum of entry_bytes() over `log`
  std::uint64_t next_seq = 1;
  std::size_t logged_since_clear = 0;

  // Large bodies are read and parsed one at a time, so parallel uploads cannot add up in memory.
  std::mutex large_body_mutex;
  std::condition_variable large_body_cv;
  bool large_body_busy = false;
};

namespace detail {

// True for kIngestPath and its sub-paths.
bool is_ingest_path(std::string_view path);

// JSON of one request log entry; `with_body` adds the request body.
std::string request_entry_json(const RequestLogEntry& entry, bool with_body);

// Bytes a log entry accounts for (bodies, headers, fixed overhead).
std::size_t entry_bytes(const RequestLogEntry& entry);

// The value logged for a credential header (`Authorization`, `Cookie`, ...): "[REDACTED]", plus the
// SHA-256 prefix of a Bearer token so requests by different keys stay distinguishable.
std::string redact_credential(std::string_view name, std::string_view value);

// True for header names whose values are credentials.
bool is_credential_header(std::string_view name);

// JSON of a FaultState.
std::string fault_state_json(const FaultState& faults);

}  // namespace detail
}  // namespace northstar_local

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

  // Handles every routed request (all methods, all paths).
  void handle(const httplib::Request& req, httplib::Response& res);
  // Marks the request's connection as answering a request (or done).
  void set_busy(const httplib::Request& req, bool busy);
  // Logs requests the HTTP layer answered without calling handle() (e.g. 413, 400).
  void log_unrouted(const httplib::Request& req, const httplib::Response& res);
  void handle_ingest_path(const httplib::Request& req, httplib::Response& res, std::string& fault,
                          std::string& detail);
  void record(const httplib::Request& req, const httplib::Response& res,
              std::chrono::system_clock::time_point received_at, double duration_ms,
              std::string fault, std::string detail);
  // Sleeps up to `delay`, returning early when the server stops.
  void interruptible_sleep(std::chrono::milliseconds delay);

  // admin.cpp
  void handle_admin(const httplib::Request& req, httplib::Response& res);

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
  std::uint64_t next_seq = 1;
  std::size_t logged_since_clear = 0;
};

namespace detail {

// True for kIngestPath and its sub-paths.
bool is_ingest_path(std::string_view path);

// JSON of one request log entry; `with_body` adds the request body.
std::string request_entry_json(const RequestLogEntry& entry, bool with_body);

// JSON of a FaultState.
std::string fault_state_json(const FaultState& faults);

}  // namespace detail
}  // namespace northstar_local

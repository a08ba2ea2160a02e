// server.cpp: northstar_local::Server: the loopback HTTP server, fault injection and request log.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <utility>

#include "ingest.h"
#include "server_impl.h"
#include "text.h"
#include "worker_pool.h"

// ThreadSanitizer reads this hook (when built with -fsanitize=thread) for built-in suppressions.
// Debian's libcpp-httplib.so is not instrumented, so TSan cannot see the synchronisation of its
// function-local statics and reports races between its worker threads that are not ours. Weak, so a
// program that defines its own hook wins (it should then add this line).
extern "C" __attribute__((weak)) const char* __tsan_default_suppressions() {
  return "race:libcpp-httplib.so\n";
}

namespace northstar_local {
namespace {

constexpr const char* kLoopback = "127.0.0.1";

// Per worker thread: whether the request being answered went through Impl::handle().
thread_local bool tls_request_handled = false;

void add_cors_headers(httplib::Response& res) {
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Access-Control-Allow-Headers", "authorization, content-type");
  res.set_header("Access-Control-Allow-Methods", "POST, OPTIONS");
}

detail::KeyRecord key_record(const ApiKey& key) {
  if (key.key.empty()) throw std::invalid_argument("northstar-local: an API key is empty");
  if (detail::js_trim(key.key).size() != key.key.size()) {
    throw std::invalid_argument(
        "northstar-local: an API key has leading or trailing whitespace (tokens are trimmed "
        "before hashing, so it could never match)");
  }
  std::string project = key.project_id.empty() ? derive_project_id(key.key) : key.project_id;
  if (!detail::is_uuid(project)) {
    throw std::invalid_argument("northstar-local: project_id '" + key.project_id +
                                "' is not a UUID");
  }
  return {sha256_hex(key.key), detail::ascii_lower(project)};
}

const char* status_text(int status) {
  switch (status) {
    case 400: return "Bad request";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 408: return "Request timeout";
    case 411: return "Length required";
    case 413: return "Payload too large";
    case 414: return "URI too long";
    case 416: return "Range not satisfiable";
    case 431: return "Request header fields too large";
    case 500: return "Internal server error";
    default: return status < 500 ? "Client error" : "Server error";
  }
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

namespace detail {

bool is_ingest_path(std::string_view path) {
  if (path.substr(0, kIngestPath.size()) != kIngestPath) return false;
  return path.size() == kIngestPath.size() || path[kIngestPath.size()] == '/';
}

}  // namespace detail

Server::Impl::Impl(ServerOptions opts) : options(std::move(opts)) {
  if (options.api_keys.empty()) {
    throw std::invalid_argument("northstar-local: at least one API key is required");
  }
  if (options.port < 0 || options.port > 65535) {
    throw std::invalid_argument("northstar-local: port must be 0..65535");
  }
  std::vector<detail::KeyRecord> keys;
  for (const ApiKey& key : options.api_keys) keys.push_back(key_record(key));
  store = std::make_unique<detail::Store>(options.db_path);
  store->register_keys(keys, /*revoke_others=*/true);
}

void Server::Impl::interruptible_sleep(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(fault_mutex);
  stop_cv.wait_for(lock, delay, [this] { return stopping; });
}

void Server::Impl::handle(const httplib::Request& req, httplib::Response& res) {
  tls_request_handled = true;
  const auto received_at = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  if (options.admin_endpoints && req.path.rfind(kAdminPrefix, 0) == 0) {
    handle_admin(req, res, req.body);
    return;
  }
  if (is_dashboard_path(req.path)) {
    if (check_local_origin(req, res)) handle_dashboard(req, res);
    return;
  }
  Outcome outcome;
  Body body;
  body.text = req.body;
  body.bytes = req.body.size();
  if (detail::is_ingest_path(req.path)) {
    handle_ingest_path(req, res, body, outcome);
  } else {
    res.status = 404;
    res.set_content(R"({"code":"NOT_FOUND","message":"Requested function was not found"})",
                    "application/json");
  }
  record(req, res, body, received_at, elapsed_ms(started), std::move(outcome));
}

namespace {

// Bodies above this size wait for the large-body slot before they are read.
constexpr std::size_t kLargeBody = 4u << 20;

// The Authorization header as the Fetch API's Headers.get() returns it: every value, in order,
// joined by ", " (so a repeated header never authenticates, as on the real function).
std::optional<std::string> joined_header(const httplib::Request& req, const char* name) {
  const std::size_t count = req.get_header_value_count(name);
  if (count == 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += ", ";
    out += req.get_header_value(name, i);
  }
  return out;
}

bool has_content_encoding(const httplib::Request& req) {
  if (!req.has_header("Content-Encoding")) return false;
  const std::string value = detail::ascii_lower(detail::js_trim(req.get_header_value("Content-Encoding")));
  return !value.empty() && value != "identity";
}

}  // namespace

void Server::Impl::handle_post(const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
  tls_request_handled = true;
  const auto received_at = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  const bool admin = options.admin_endpoints && req.path.rfind(kAdminPrefix, 0) == 0;
  const bool ingest = !admin && detail::is_ingest_path(req.path);

  // Keep the body only where it is used: admin bodies, and ingest bodies whose key is accepted
  // (the function authenticates before it reads the body). Others are drained, keeping only the
  // prefix the request log shows.
  bool keep_all = admin;
  if (ingest) {
    const auto authorization = joined_header(req, "Authorization");
    const auto token = detail::extract_bearer_token(authorization ? &*authorization : nullptr);
    try {
      keep_all = token && store->resolve_key(sha256_hex(*token)).has_value();
    } catch (const std::exception&) {
      keep_all = true;  // let the pipeline report the lookup failure
    }
  }
  Body body;
  body.encoded = has_content_encoding(req);
  const std::size_t log_keep = options.request_log_body_bytes;
  std::size_t declared = 0;
  if (req.has_header("Content-Length")) {
    declared = static_cast<std::size_t>(std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10));
  }
  const bool large = keep_all && (declared > kLargeBody || !req.has_header("Content-Length"));
  std::unique_lock<std::mutex> slot(large_body_mutex, std::defer_lock);
  if (large) {
    slot.lock();
    large_body_cv.wait(slot, [this] { return !large_body_busy; });
    large_body_busy = true;
    slot.unlock();
  }
  if (keep_all && declared > 0 && declared <= options.max_body_bytes) body.text.reserve(declared);
  const bool read_ok = reader([&](const char* data, std::size_t size) {
    body.bytes += size;
    if (keep_all) {
      body.text.append(data, size);
    } else if (body.text.size() < log_keep) {
      body.text.append(data, std::min(size, log_keep - body.text.size()));
    }
    return true;
  });
  body.complete = keep_all;

  Outcome outcome;
  if (!read_ok) res.set_header("Connection", "close");  // unread bytes may be left on the socket
  if (!read_ok && ingest && body.encoded) {
    // The function would have read the raw bytes: answer from auth and "not JSON" alone.
    body.text.clear();
    handle_ingest_path(req, res, body, outcome);
  } else if (!read_ok) {
    // The HTTP layer refused the body (too large, or a bad chunk/encoding): a JSON error.
    const int status = res.status == 413 ? 413 : 400;
    res.status = status;
    res.set_content(status == 413 ? R"({"error":"Payload too large"})" : R"({"error":"Invalid request body"})",
                    "application/json");
    res.set_header("Connection", "close");
    outcome.detail = "the HTTP layer could not read the body";
  } else if (admin) {
    handle_admin(req, res, body.text);
  } else if (ingest) {
    handle_ingest_path(req, res, body, outcome);
  } else if (is_dashboard_path(req.path)) {
    if (check_local_origin(req, res)) {
      res.status = 405;
      res.set_content(R"({"error":"the dashboard is read-only"})", "application/json");
    }
  } else {
    res.status = 404;
    res.set_content(R"({"code":"NOT_FOUND","message":"Requested function was not found"})",
                    "application/json");
  }
  if (!admin) record(req, res, body, received_at, elapsed_ms(started), std::move(outcome));
  const bool big = body.text.capacity() > (1u << 20);
  body = Body{};
  if (large) {
    {
      const std::lock_guard<std::mutex> lock(large_body_mutex);
      large_body_busy = false;
    }
    large_body_cv.notify_one();
  }
  // Hand the pages of a large body back to the system (glibc keeps freed heap otherwise).
  if (big) malloc_trim(0);
}

bool Server::Impl::is_dashboard_path(std::string_view path) const {
  if (!options.dashboard) return false;
  return path == "/" || path.rfind("/ui/", 0) == 0 || path.rfind(kApiPrefix, 0) == 0 ||
         path == "/favicon.ico";
}

bool Server::Impl::check_local_origin(const httplib::Request& req, httplib::Response& res) const {
  const std::string port_text = std::to_string(port.load());
  auto local_authority = [&](std::string_view authority) {
    for (const char* host : {"127.0.0.1", "localhost", "[::1]"}) {
      if (authority == std::string(host) + ":" + port_text) return true;
    }
    return false;
  };
  const std::size_t hosts = req.get_header_value_count("Host");
  bool ok = hosts == 1 && local_authority(detail::ascii_lower(req.get_header_value("Host")));
  if (ok && req.has_header("Origin")) {
    const std::string origin = detail::ascii_lower(req.get_header_value("Origin"));
    ok = req.get_header_value_count("Origin") == 1 && origin.rfind("http://", 0) == 0 &&
         local_authority(std::string_view(origin).substr(7));
  }
  if (!ok) {
    res.status = 403;
    res.set_content(R"({"error":"forbidden: Host and Origin must be this loopback server"})",
                    "application/json");
  }
  return ok;
}

void Server::Impl::handle_ingest_path(const httplib::Request& req, httplib::Response& res,
                                      const Body& body, Outcome& outcome) {
  add_cors_headers(res);
  // Transport faults are decided up front, for POSTs only.
  std::chrono::milliseconds delay{0};
  bool fail = false, bad_body = false, ingest_anyway = false, poison = false;
  int fail_status = 503, retry_after = 0;
  std::string bad_body_text;
  if (req.method == "POST") {
    const std::lock_guard<std::mutex> lock(fault_mutex);
    delay = faults.delay;
    poison = !faults.reject_body_containing.empty() &&
             body.text.find(faults.reject_body_containing) != std::string::npos;
    if (faults.fail_next > 0) {
      --faults.fail_next;
      fail = true;
      fail_status = faults.fail_status;
      retry_after = faults.fail_retry_after_s;
      ingest_anyway = faults.fail_ingest_anyway;
    } else if (faults.bad_body_next > 0) {
      --faults.bad_body_next;
      bad_body = true;
      bad_body_text = faults.bad_body;
      ingest_anyway = faults.bad_body_ingest_anyway;
    }
  }
  if (delay.count() > 0) interruptible_sleep(delay);

  if (poison && !fail && !bad_body) {
    outcome.fault = "poison";
    res.status = 400;
    res.set_content(R"({"error":"Injected content fault: body contains the poison marker"})",
                    "application/json");
    return;
  }
  detail::IngestResponse result;
  if (!(fail || bad_body) || ingest_anyway) {
    const auto authorization = joined_header(req, "Authorization");
    detail::PipelineFaults hooks;
    hooks.take_key_lookup_error = [this] {
      const std::lock_guard<std::mutex> lock(fault_mutex);
      if (faults.key_lookup_error_next <= 0) return false;
      --faults.key_lookup_error_next;
      return true;
    };
    hooks.take_store_error = [this] {
      const std::lock_guard<std::mutex> lock(fault_mutex);
      if (faults.store_error_next <= 0) return false;
      --faults.store_error_next;
      return true;
    };
    detail::IngestRequest request{req.method, authorization ? &*authorization : nullptr, body.text,
                                  body.encoded};
    if (!body.complete && req.method == "POST") {
      // The key was refused before the body was read; the pipeline stops at the same check.
      request.body = {};
    }
    result = detail::handle_ingest(*store, request, hooks);
    outcome.detail = result.detail;
    outcome.fault = result.fault;
    outcome.summary = result.summary;
  }

  if (fail) {
    outcome.fault = "fail";
    res.status = fail_status;
    if (retry_after > 0) res.set_header("Retry-After", std::to_string(retry_after));
    res.set_content(R"({"error":"Injected fault"})", "application/json");
    return;
  }
  if (bad_body) {
    outcome.fault = "bad_body";
    res.status = 200;
    res.set_content(bad_body_text, "text/html");
    return;
  }
  res.status = result.status;
  if (result.status != 204) res.set_content(result.body, "application/json");
}

namespace detail {

bool is_credential_header(std::string_view name) {
  const std::string lower = ascii_lower(name);
  return lower == "authorization" || lower == "proxy-authorization" || lower == "cookie" ||
         lower == "apikey" || lower == "x-api-key";
}

std::string redact_credential(std::string_view name, std::string_view value) {
  if (ascii_lower(name) == "authorization") {
    const std::string text(value);
    if (const auto token = extract_bearer_token(&text)) {
      return "Bearer [REDACTED] sha256:" + sha256_hex(*token).substr(0, 12);
    }
  }
  return "[REDACTED]";
}

std::size_t entry_bytes(const RequestLogEntry& entry) {
  std::size_t bytes = 256 + entry.path.size() + entry.body.size() + entry.response_body.size() +
                      entry.detail.size();
  for (const auto& [name, value] : entry.headers) bytes += name.size() + value.size() + 16;
  return bytes;
}

}  // namespace detail

void Server::Impl::record(const httplib::Request& req, const httplib::Response& res, const Body& body,
                          std::chrono::system_clock::time_point received_at, double duration_ms,
                          Outcome outcome) {
  RequestLogEntry entry;
  entry.received_at = received_at;
  entry.method = req.method;
  entry.path = req.path;
  for (const auto& [name, value] : req.headers) {
    // httplib adds these to describe the connection; they were not sent by the client.
    if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
        name == "LOCAL_PORT") {
      continue;
    }
    entry.headers.emplace_back(name, detail::is_credential_header(name)
                                         ? detail::redact_credential(name, value)
                                         : value);
  }
  entry.body_bytes = body.bytes;
  const std::size_t keep = std::min(body.text.size(), options.request_log_body_bytes);
  entry.body = body.text.substr(0, keep);
  entry.body_truncated = entry.body.size() < body.bytes;
  entry.status = res.status;
  entry.response_body = res.body;
  entry.fault = std::move(outcome.fault);
  entry.detail = std::move(outcome.detail);
  entry.duration_ms = duration_ms;

  if (options.log_requests_to_stderr) {
    std::string line = "[northstar-local] ";
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f ms", entry.duration_ms);
    if (entry.status == 200 && !outcome.summary.empty()) {
      line += "accepted batch: " + outcome.summary + " (" + std::to_string(entry.body_bytes) + " B, " + ms + ")";
    } else {
      line += entry.method + " " + entry.path + " -> " + std::to_string(entry.status) + " (" +
              std::to_string(entry.body_bytes) + " B, " + ms + ")";
      if (!entry.fault.empty()) line += " fault=" + entry.fault;
      if (entry.status >= 400 && !entry.response_body.empty()) line += " " + entry.response_body;
      if (!entry.detail.empty()) line += " [" + entry.detail + "]";
    }
    line += "\n";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

  {
    const std::lock_guard<std::mutex> lock(log_mutex);
    entry.seq = next_seq++;
    log_bytes += detail::entry_bytes(entry);
    log.push_back(std::move(entry));
    while (log.size() > 1 &&
           (log.size() > options.request_log_capacity || log_bytes > options.request_log_max_bytes)) {
      log_bytes -= detail::entry_bytes(log.front());
      log.pop_front();
    }
    ++logged_since_clear;
  }
  log_cv.notify_all();
}

void Server::Impl::set_busy(const httplib::Request& req, bool busy) {
  const std::lock_guard<std::mutex> lock(inflight_mutex);
  if (busy) {
    inflight.emplace(req.remote_addr, req.remote_port);
  } else {
    inflight.erase({req.remote_addr, req.remote_port});
  }
}

void Server::Impl::log_unrouted(const httplib::Request& req, const httplib::Response& res) {
  const bool handled = tls_request_handled;
  tls_request_handled = false;
  if (handled) return;
  if (options.admin_endpoints && req.path.rfind(kAdminPrefix, 0) == 0) return;
  Body body;
  body.text = req.body;
  body.bytes = req.body.size();
  record(req, res, body, std::chrono::system_clock::now(), 0.0, Outcome{});
}

namespace {

// Half-closes (SHUT_RD) every accepted connection of this process whose local end is
// 127.0.0.1:<port> and whose peer is not in `busy` (connections with a request being answered).
// httplib's workers wait up to the keep-alive timeout (5 s) on idle keep-alive connections and do
// not notice stop(); the read-side shutdown makes those waits return at once.
void shutdown_idle_connections(int port, const std::set<std::pair<std::string, int>>& busy) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  const int dir_fd = dirfd(fds);
  while (const dirent* entry = readdir(fds)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dir_fd) continue;
    sockaddr_in local{};
    socklen_t local_size = sizeof local;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_size) != 0) continue;
    if (local.sin_family != AF_INET || ntohs(local.sin_port) != port ||
        local.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
      continue;
    }
    sockaddr_in peer{};
    socklen_t peer_size = sizeof peer;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) continue;
    char peer_addr[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, peer_addr, sizeof peer_addr);
    if (busy.count({peer_addr, ntohs(peer.sin_port)}) > 0) continue;
    shutdown(static_cast<int>(fd), SHUT_RD);
  }
  closedir(fds);
}

// httplib listens with a backlog of 5: a burst of new connections overflows it and the kernel
// drops SYNs (the client retries after a second). Listening again on the bound socket raises it.
void widen_listen_backlog(int port) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  const int dir_fd = dirfd(fds);
  while (const dirent* entry = readdir(fds)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dir_fd) continue;
    int listening = 0;
    socklen_t size = sizeof listening;
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) {
      continue;
    }
    sockaddr_in local{};
    socklen_t local_size = sizeof local;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_size) != 0) continue;
    if (local.sin_family == AF_INET && ntohs(local.sin_port) == port &&
        local.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
      listen(static_cast<int>(fd), SOMAXCONN);
    }
  }
  closedir(fds);
}

}  // namespace

// --- Server ---

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { stop(); }

void Server::start() {
  Impl& impl = *impl_;
  const std::lock_guard<std::mutex> lifecycle(impl.lifecycle_mutex);
  if (impl.http) return;

  auto http = std::make_unique<httplib::Server>();
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  http->Get(".*", handler);
  http->Post(".*", [&impl](const httplib::Request& req, httplib::Response& res,
                           const httplib::ContentReader& reader) { impl.handle_post(req, res, reader); });
  http->Put(".*", handler);
  http->Patch(".*", handler);
  http->Delete(".*", handler);
  http->Options(".*", handler);
  // A connection is "busy" from routing until its response has been written (the logger runs
  // after the write); stop() leaves busy connections alone.
  http->set_pre_routing_handler([&impl](const httplib::Request& req, httplib::Response&) {
    tls_request_handled = false;
    impl.set_busy(req, true);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http->set_logger([&impl](const httplib::Request& req, const httplib::Response& res) {
    impl.set_busy(req, false);
    impl.log_unrouted(req, res);
  });
  http->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(R"({"error":"Internal server error"})", "application/json");
  });
  // Errors the HTTP layer raises by itself (400 bad request line, 413, 414...) get a JSON body too.
  http->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        res.set_content("{\"error\":" + detail::json_quote(status_text(res.status)) + "}",
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http->set_payload_max_length(impl.options.max_body_bytes);
  // Slow or idle peers: bounded waits per read/write, idle keep-alive connections closed, and a pool
  // that starts a worker whenever all are busy, so new connections are always answered.
  const auto read_timeout = impl.options.read_timeout;
  http->set_read_timeout(read_timeout);
  http->set_write_timeout(read_timeout);
  http->set_keep_alive_timeout(impl.options.keep_alive_timeout_s);
  http->set_keep_alive_max_count(impl.options.keep_alive_max_requests);
  const std::size_t max_workers = impl.options.max_workers;
  http->new_task_queue = [max_workers] { return new detail::WorkerPool(4, max_workers); };
  // SO_REUSEADDR, not httplib's default SO_REUSEPORT, which would let a second server silently
  // share a fixed port instead of failing to bind. TCP_NODELAY (inherited by accepted sockets):
  // httplib writes a response's headers and body separately, and with Nagle the body waited for
  // the client's delayed ACK of the headers, adding ~40 ms to every answer.
  http->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const void*>(&yes), sizeof(yes));
  });

  int bound = -1;
  if (impl.options.port == 0) {
    bound = http->bind_to_any_port(kLoopback);
  } else if (http->bind_to_port(kLoopback, impl.options.port)) {
    bound = impl.options.port;
  }
  if (bound <= 0) {
    throw std::runtime_error("northstar-local: cannot bind " + std::string(kLoopback) + ":" +
                             std::to_string(impl.options.port));
  }
  widen_listen_backlog(bound);
  // Large request bodies (up to max_body_bytes) are allocated and freed per request. With glibc's
  // sliding mmap threshold they would end up in per-thread heaps that are never returned; a fixed
  // threshold keeps every such buffer in its own mapping, released on free.
  static const bool fixed_threshold = [] { return mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1; }();
  (void)fixed_threshold;
  {
    const std::lock_guard<std::mutex> lock(impl.fault_mutex);
    impl.stopping = false;
  }
  httplib::Server* raw = http.get();
  impl.listener = std::thread([raw] { raw->listen_after_bind(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!raw->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!raw->is_running()) {
    raw->stop();
    impl.listener.join();
    throw std::runtime_error("northstar-local: the HTTP server did not start");
  }
  impl.http = std::move(http);
  impl.port = bound;
  impl.running = true;
}

void Server::stop() {
  Impl& impl = *impl_;
  const std::lock_guard<std::mutex> lifecycle(impl.lifecycle_mutex);
  if (!impl.http) return;
  impl.http->stop();
  {
    const std::lock_guard<std::mutex> lock(impl.inflight_mutex);
    shutdown_idle_connections(impl.port, impl.inflight);
    impl.inflight.clear();
  }
  // Only now cut injected delays short, so the delayed requests are still "busy" above.
  {
    const std::lock_guard<std::mutex> lock(impl.fault_mutex);
    impl.stopping = true;
  }
  impl.stop_cv.notify_all();
  if (impl.listener.joinable()) impl.listener.join();
  impl.http.reset();
  impl.running = false;
}

bool Server::running() const { return impl_->running; }

int Server::port() const { return impl_->port; }

std::string Server::base_url() const {
  return "http://" + std::string(kLoopback) + ":" + std::to_string(impl_->port.load());
}

std::string Server::ingest_url() const { return base_url() + std::string(kIngestPath); }

std::string Server::project_id_for(std::string_view key) const {
  const auto token = detail::js_trim(key);
  const auto project = impl_->store->resolve_key(sha256_hex(token));
  return project ? *project : std::string();
}

void Server::add_api_key(const ApiKey& key) {
  impl_->store->register_keys({key_record(key)}, /*revoke_others=*/false);
}

void Server::revoke_api_key(std::string_view key) { impl_->store->revoke_key(sha256_hex(key)); }

void Server::add_prompt_version(std::string_view project_id, std::string_view prompt_version_id) {
  if (!detail::is_uuid(project_id) || !detail::is_uuid(prompt_version_id)) {
    throw std::invalid_argument("northstar-local: add_prompt_version needs two UUIDs");
  }
  impl_->store->add_prompt_version(detail::ascii_lower(project_id),
                                   detail::ascii_lower(prompt_version_id));
}

void Server::fail_next(int count, int status, bool ingest_anyway) {
  if (status < 100 || status > 599) {
    throw std::invalid_argument("northstar-local: fault status must be 100..599");
  }
  const std::lock_guard<std::mutex> lock(impl_->fault_mutex);
  impl_->faults.fail_next = count < 0 ? 0 : count;
  impl_->faults.fail_status = status;
  impl_->faults.fail_retry_after_s = 0;
  impl_->faults.fail_ingest_anyway = ingest_anyway;
}

void Server::bad_body_next(int count, bool ingest_anyway) {
  const std::lock_guard<std::mutex> lock(impl_->fault_mutex);
  impl_->faults.bad_body_next = count < 0 ? 0 : count;
  impl_->faults.bad_body_ingest_anyway = ingest_anyway;
}

void Server::set_delay(std::chrono::milliseconds delay) {
  const std::lock_guard<std::mutex> lock(impl_->fault_mutex);
  impl_->faults.delay = delay.count() < 0 ? std::chrono::milliseconds(0) : delay;
}

void Server::fail_key_lookup_next(int count) {
  const std::lock_guard<std::mutex> lock(impl_->fault_mutex);
  impl_->faults.key_lookup_error_next = count < 0 ? 0 : count;
}

void Server::fail_store_next(int count) {
  const std::lock_guard<std::mutex> lock(impl_->fault_mutex);
  impl_->faults.store_error_next = count < 0 ? 0 : count;
}

void Server::set_faults(const FaultState& faults) {
  if (faults.fail_status < 100 || faults.fail_status > 599) {
    throw std::invalid_argument("northstar-local: fault status must be 100..599");
  }
  const std::lock_guard<std::mutex> lock(impl_->fault_mutex);
  impl_->faults = faults;
}

FaultState Server::faults() const {
  const std::lock_guard<std::mutex> lock(impl_->fault_mutex);
  return impl_->faults;
}

void Server::clear_faults() {
  const std::lock_guard<std::mutex> lock(impl_->fault_mutex);
  impl_->faults = FaultState{};
}

std::vector<RequestLogEntry> Server::requests() const {
  const std::lock_guard<std::mutex> lock(impl_->log_mutex);
  return {impl_->log.begin(), impl_->log.end()};
}

std::size_t Server::request_count() const {
  const std::lock_guard<std::mutex> lock(impl_->log_mutex);
  return impl_->logged_since_clear;
}

void Server::clear_requests() {
  const std::lock_guard<std::mutex> lock(impl_->log_mutex);
  impl_->log.clear();
  impl_->log_bytes = 0;
  impl_->logged_since_clear = 0;
}

bool Server::wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->log_mutex);
  return impl_->log_cv.wait_for(lock, timeout, [&] { return impl_->logged_since_clear >= count; });
}

Snapshot Server::snapshot() const { return impl_->store->snapshot(); }

std::string Server::tree() const { return render_tree(snapshot()); }

std::string Server::json_lines() const { return render_json_lines(snapshot()); }

void Server::clear_data() { impl_->store->clear_data(); }

}  // namespace northstar_local

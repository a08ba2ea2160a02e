// server.cpp: northstar_local::Server: the loopback HTTP server, fault injection and request log.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <utility>

#include "ingest.h"
#include "server_impl.h"
#include "text.h"

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
    handle_admin(req, res);
    return;
  }
  std::string fault;
  std::string detail;
  if (detail::is_ingest_path(req.path)) {
    handle_ingest_path(req, res, fault, detail);
  } else {
    res.status = 404;
    res.set_content(R"({"code":"NOT_FOUND","message":"Requested function was not found"})",
                    "application/json");
  }
  record(req, res, received_at, elapsed_ms(started), std::move(fault), std::move(detail));
}

void Server::Impl::handle_ingest_path(const httplib::Request& req, httplib::Response& res,
                                      std::string& fault, std::string& detail) {
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
             req.body.find(faults.reject_body_containing) != std::string::npos;
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
    fault = "poison";
    res.status = 400;
    res.set_content(R"({"error":"Injected content fault: body contains the poison marker"})",
                    "application/json");
    return;
  }
  detail::IngestResponse result;
  if (!(fail || bad_body) || ingest_anyway) {
    std::string authorization;
    const bool has_auth = req.has_header("Authorization");
    if (has_auth) authorization = req.get_header_value("Authorization");
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
    result = detail::handle_ingest(*store, {req.method, has_auth ? &authorization : nullptr, req.body},
                                   hooks);
    detail = result.detail;
    fault = result.fault;
  }

  if (fail) {
    fault = "fail";
    res.status = fail_status;
    if (retry_after > 0) res.set_header("Retry-After", std::to_string(retry_after));
    res.set_content(R"({"error":"Injected fault"})", "application/json");
    return;
  }
  if (bad_body) {
    fault = "bad_body";
    res.status = 200;
    res.set_content(bad_body_text, "text/html");
    return;
  }
  res.status = result.status;
  if (result.status != 204) res.set_content(result.body, "application/json");
}

void Server::Impl::record(const httplib::Request& req, const httplib::Response& res,
                          std::chrono::system_clock::time_point received_at, double duration_ms,
                          std::string fault, std::string detail) {
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
    entry.headers.emplace_back(name, value);
  }
  entry.body_bytes = req.body.size();
  entry.body = req.body;
  entry.status = res.status;
  entry.response_body = res.body;
  entry.fault = std::move(fault);
  entry.detail = std::move(detail);
  entry.duration_ms = duration_ms;

  if (options.log_requests_to_stderr) {
    std::string line = "[northstar-local] " + entry.method + " " + entry.path + " -> " +
                       std::to_string(entry.status) + " (" + std::to_string(entry.body_bytes) + " B";
    char ms[32];
    std::snprintf(ms, sizeof ms, ", %.1f ms)", entry.duration_ms);
    line += ms;
    if (!entry.fault.empty()) line += " fault=" + entry.fault;
    if (entry.status >= 400 && !entry.response_body.empty()) line += " " + entry.response_body;
    if (!entry.detail.empty()) line += " [" + entry.detail + "]";
    line += "\n";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

  {
    const std::lock_guard<std::mutex> lock(log_mutex);
    entry.seq = next_seq++;
    log.push_back(std::move(entry));
    while (log.size() > options.request_log_capacity) log.pop_front();
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
  record(req, res, std::chrono::system_clock::now(), 0.0, "", "");
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
  http->Post(".*", handler);
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
  http->set_payload_max_length(impl.options.max_body_bytes);
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second server
  // silently share a fixed port instead of failing to bind.
  http->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
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

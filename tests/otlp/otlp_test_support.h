// otlp_test_support.h: starts tests/otlp/otlp_receiver.js (node, the reference OTLP decoder from
// @opentelemetry/otlp-transformer) on 127.0.0.1 and reads what it decoded; helpers to walk the
// decoded requests.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/http/http_transport.h"
#include "dagstack/logger/value.h"
#include "support/json_value.h"

extern char** environ;

namespace dagstack::logger::otlp::testing {

using dagstack::logger::testing::parse_json;

// The receiver process. Starting it fails the test (never skips) when node or the decoder
// package is missing: CTest's otlp_node_tools fixture installs the package first.
class Receiver {
 public:
  Receiver() {
    char tmpl[] = "/tmp/dagstack-otlp-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    const std::string port_file = dir_ + "/ports";
    const std::string node = DAGSTACK_NODE_EXECUTABLE;
    const std::string script = std::string(DAGSTACK_SOURCE_DIR) + "/tests/otlp/otlp_receiver.js";
    const std::string modules = DAGSTACK_OTLP_NODE_MODULES;
    if (node.empty()) throw std::runtime_error("node was not found when the build was configured");
    if (!std::filesystem::exists(modules + "/@opentelemetry/otlp-transformer")) {
      throw std::runtime_error("the reference decoder is not installed in " + modules +
                               " (scripts/setup_node_tools.sh)");
    }
    std::vector<std::string> args = {node, script, modules, port_file};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, node.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("could not start node");
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(port_file)) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("the receiver exited at start");
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the receiver did not start");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::ifstream in(port_file);
    in >> data_port_ >> admin_port_;
    admin_ = http::make_curl_transport("otlp-test-admin");
  }
  ~Receiver() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(data_port_); }

  // Queues answers for the next export requests, e.g. R"([{"status":503},{"status":200}])".
  void script(const std::string& responses_json) {
    admin("/script", "{\"responses\":" + responses_json + "}");
  }
  // Refuses connections for `ms` milliseconds.
  void down(int ms) { admin("/down", "{\"ms\":" + std::to_string(ms) + "}"); }
  void clear() { admin("/clear", "{}"); }
  // Every export request so far: path, status, contentType, contentEncoding, decoded,
  // jsonErrors, decodeError, at (ms).
  Value requests() { return parse_json(admin("/requests", "{}")); }

 private:
  std::string admin(const std::string& route, const std::string& body) {
    http::HttpRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(admin_port_) + route;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = body;
    r.timeout = std::chrono::milliseconds(10000);
    r.max_response_bytes = 256 * 1024 * 1024;
    const http::HttpResponse resp = admin_->post(r);
    if (resp.status != 200)
      throw std::runtime_error("receiver admin " + route + " failed: " + resp.error);
    return resp.body;
  }

  std::string dir_;
  pid_t pid_ = -1;
  int data_port_ = 0;
  int admin_port_ = 0;
  std::shared_ptr<http::HttpTransport> admin_;
};

// ---- walking decoded requests (OTLP/JSON shape) ----

inline const Value& at(const Value& v, std::string_view key) {
  static const Value kNull;
  const Value* f = v.is_map() ? v.find(key) : nullptr;
  return f != nullptr ? *f : kNull;
}

inline const Value::Array& arr(const Value& v) {
  static const Value::Array kEmpty;
  return v.is_array() ? v.as_array() : kEmpty;
}

// The AnyValue under `key` in a KeyValue list, or null.
inline const Value& attr(const Value& key_values, std::string_view key) {
  static const Value kNull;
  for (const Value& kv : arr(key_values)) {
    if (at(kv, "key").is_string() && at(kv, "key").as_string() == key) return at(kv, "value");
  }
  return kNull;
}

// Every log record (or span) of the accepted (2xx) requests to `path`, each with the resource
// and scope it was grouped under added as "_resource" and "_scope".
inline std::vector<Value> items(const Value& requests, std::string_view path) {
  const bool logs = path == "/v1/logs";
  std::vector<Value> out;
  for (const Value& r : arr(requests)) {
    if (at(r, "path").as_string() != path) continue;
    const std::int64_t status = at(r, "status").is_int() ? at(r, "status").as_int() : 0;
    if (status < 200 || status >= 300) continue;
    for (const Value& rl : arr(at(at(r, "decoded"), logs ? "resourceLogs" : "resourceSpans"))) {
      for (const Value& sl : arr(at(rl, logs ? "scopeLogs" : "scopeSpans"))) {
        for (const Value& item : arr(at(sl, logs ? "logRecords" : "spans"))) {
          Value copy = item;
          copy.as_map().insert_or_assign("_resource", at(rl, "resource"));
          copy.as_map().insert_or_assign("_scope", at(sl, "scope"));
          out.push_back(std::move(copy));
        }
      }
    }
  }
  return out;
}

}  // namespace dagstack::logger::otlp::testing

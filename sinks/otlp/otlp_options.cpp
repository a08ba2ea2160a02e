// otlp_options.cpp: OtlpOptions validation, endpoint resolution and the OTEL_EXPORTER_OTLP_*
// environment reader.
#include <cstdlib>
#include <optional>
#include <string>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/otlp/otlp_options.h"

namespace dagstack::logger::otlp {
namespace {

constexpr char kPrefix[] = "OTEL_EXPORTER_OTLP_";

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool is_http_url(std::string_view url) {
  return url.substr(0, 7) == "http://" || url.substr(0, 8) == "https://";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `s` (W3C baggage rules for header values); throws ConfigError on a bad escape.
std::string percent_decode(std::string_view s, const std::string& var) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    const int hi = i + 2 < s.size() ? hex_digit(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) throw ConfigError(var + ": bad percent-encoding in a header value");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

void parse_headers(const std::string& text, const std::string& var,
                   std::vector<std::pair<std::string, std::string>>& out) {
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string entry = trim(std::string_view(text).substr(start, comma - start));
    start = comma + 1;
    if (entry.empty()) continue;
    const std::size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError(var + ": each entry must be key=value");
    }
    std::string key = trim(std::string_view(entry).substr(0, eq));
    for (char c : key) {
      const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') ||
                         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
      if (!token) throw ConfigError(var + ": header name is not a valid token");
    }
    std::string value = percent_decode(trim(std::string_view(entry).substr(eq + 1)), var);
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0')
        throw ConfigError(var + ": header value contains a control character");
    }
    out.emplace_back(std::move(key), std::move(value));
  }
}

std::string join_path(const std::string& base, std::string_view path) {
  std::string out = base;
  while (!out.empty() && out.back() == '/') out.pop_back();
  out.append(path);
  return out;
}

}  // namespace

std::string OtlpOptions::resolved_logs_endpoint() const {
  return logs_endpoint.empty() ? join_path(endpoint, "/v1/logs") : logs_endpoint;
}

std::string OtlpOptions::resolved_traces_endpoint() const {
  return traces_endpoint.empty() ? join_path(endpoint, "/v1/traces") : traces_endpoint;
}

void OtlpOptions::validate() const {
  if (export_logs && !is_http_url(resolved_logs_endpoint()))
    throw ConfigError("otlp: the logs endpoint must be an http:// or https:// URL");
  if (export_traces && !is_http_url(resolved_traces_endpoint()))
    throw ConfigError("otlp: the traces endpoint must be an http:// or https:// URL");
  if (timeout.count() <= 0) throw ConfigError("otlp: timeout must be greater than zero");
  if (max_batch_records == 0)
    throw ConfigError("otlp: max_batch_records must be greater than zero");
  if (batch_delay.count() <= 0) throw ConfigError("otlp: batch_delay must be greater than zero");
  if (max_queue_bytes < 64 * 1024)
    throw ConfigError("otlp: max_queue_bytes must be at least 65536");
  if (shutdown_timeout.count() <= 0)
    throw ConfigError("otlp: shutdown_timeout must be greater than zero");
  if (retry.max_attempts <= 0)
    throw ConfigError("otlp: retry.max_attempts must be greater than zero");
  if (retry.backoff.initial.count() < 0 || retry.backoff.max.count() < 0 ||
      retry.backoff.multiplier < 1.0 ||
      !(retry.backoff.jitter >= 0.0 && retry.backoff.jitter <= 1.0))
    throw ConfigError("otlp: retry.backoff is out of range");
  if (min_severity < 1 || min_severity > 24)
    throw ConfigError("otlp: min_severity must be between 1 and 24");
  for (const auto& [k, v] : headers) {
    if (k.empty() || k.find_first_of(":\r\n") != std::string::npos ||
        v.find_first_of("\r\n") != std::string::npos)
      throw ConfigError("otlp: header names must be non-empty tokens and values one line");
  }
}

OtlpOptions OtlpOptions::from_env() { return from_env(OtlpOptions{}); }

OtlpOptions OtlpOptions::from_env(const std::map<std::string, std::string>& env) {
  return from_env(env, OtlpOptions{});
}

OtlpOptions OtlpOptions::from_env(OtlpOptions base) {
  std::map<std::string, std::string> env;
  for (const char* name :
       {"ENDPOINT", "LOGS_ENDPOINT", "TRACES_ENDPOINT", "HEADERS", "LOGS_HEADERS", "TRACES_HEADERS",
        "TIMEOUT", "COMPRESSION", "PROTOCOL"}) {
    const std::string var = std::string(kPrefix) + name;
    if (const char* v = std::getenv(var.c_str()); v != nullptr) env.emplace(var, v);
  }
  return from_env(env, std::move(base));
}

OtlpOptions OtlpOptions::from_env(const std::map<std::string, std::string>& env, OtlpOptions base) {
  OtlpOptions o = std::move(base);
  auto get = [&](const char* name) -> std::optional<std::string> {
    auto it = env.find(std::string(kPrefix) + name);
    if (it == env.end()) return std::nullopt;
    std::string v = trim(it->second);
    if (v.empty()) return std::nullopt;  // empty = unset, as the OTel spec says
    return v;
  };
  const std::string p(kPrefix);
  if (auto v = get("ENDPOINT")) {
    if (!is_http_url(*v)) throw ConfigError(p + "ENDPOINT must be an http:// or https:// URL");
    o.endpoint = *v;
  }
  if (auto v = get("LOGS_ENDPOINT")) {
    if (!is_http_url(*v)) throw ConfigError(p + "LOGS_ENDPOINT must be an http:// or https:// URL");
    o.logs_endpoint = *v;
  }
  if (auto v = get("TRACES_ENDPOINT")) {
    if (!is_http_url(*v))
      throw ConfigError(p + "TRACES_ENDPOINT must be an http:// or https:// URL");
    o.traces_endpoint = *v;
  }
  // Signal-specific headers cannot differ per signal here (one header set); they are appended.
  for (const char* name : {"HEADERS", "LOGS_HEADERS", "TRACES_HEADERS"}) {
    if (auto v = get(name)) parse_headers(*v, p + name, o.headers);
  }
  if (auto v = get("TIMEOUT")) {
    long long ms = 0;
    bool ok = v->size() <= 9;
    for (char c : *v) ok = ok && c >= '0' && c <= '9';
    if (ok) ms = std::stoll(*v);
    if (!ok || ms <= 0)
      throw ConfigError(p + "TIMEOUT must be a positive integer number of milliseconds");
    o.timeout = std::chrono::milliseconds(ms);
  }
  if (auto v = get("COMPRESSION")) {
    const std::string c = lower(*v);
    if (c == "gzip") {
      o.compression = OtlpCompression::kGzip;
    } else if (c == "none") {
      o.compression = OtlpCompression::kNone;
    } else {
      throw ConfigError(p + "COMPRESSION must be gzip or none");
    }
  }
  if (auto v = get("PROTOCOL")) {
    const std::string c = lower(*v);
    if (c == "http/protobuf") {
      o.protocol = OtlpProtocol::kHttpProtobuf;
    } else if (c == "http/json") {
      o.protocol = OtlpProtocol::kHttpJson;
    } else if (c == "grpc") {
      throw ConfigError(p + "PROTOCOL grpc is not supported; use http/protobuf or http/json");
    } else {
      throw ConfigError(p + "PROTOCOL must be http/protobuf or http/json");
    }
  }
  return o;
}

}  // namespace dagstack::logger::otlp

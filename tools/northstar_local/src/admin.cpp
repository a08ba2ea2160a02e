// admin.cpp: the /__admin/* test-control endpoints (faults, request log, dump, tree, health).
#include <cstdio>
#include <ctime>
#include <string>

#include <rapidjson/document.h>

#include "ingest.h"
#include "server_impl.h"
#include "text.h"

namespace northstar_local {
namespace detail {
namespace {

std::string format_time(std::chrono::system_clock::time_point time) {
  return format_epoch_us(
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

std::string format_double(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  return buf;
}

}  // namespace

std::string request_entry_json(const RequestLogEntry& entry, bool with_body) {
  std::string out = "{\"seq\":" + std::to_string(entry.seq);
  out += ",\"time\":" + json_quote(format_time(entry.received_at));
  out += ",\"method\":" + json_quote(decode_utf8_lossy(entry.method));
  out += ",\"path\":" + json_quote(decode_utf8_lossy(entry.path));
  out += ",\"status\":" + std::to_string(entry.status);
  out += ",\"body_bytes\":" + std::to_string(entry.body_bytes);
  out += ",\"duration_ms\":" + format_double(entry.duration_ms);
  out += ",\"fault\":" + json_quote(entry.fault);
  out += ",\"detail\":" + json_quote(decode_utf8_lossy(entry.detail));
  out += ",\"headers\":[";
  for (std::size_t i = 0; i < entry.headers.size(); ++i) {
    if (i > 0) out += ",";
    // Appended piece by piece: `"literal" + std::string&&` trips a GCC 12 -Wrestrict false positive.
    out += '[';
    out += json_quote(decode_utf8_lossy(entry.headers[i].first));
    out += ',';
    out += json_quote(decode_utf8_lossy(entry.headers[i].second));
    out += ']';
  }
  out += "],\"response_body\":" + json_quote(decode_utf8_lossy(entry.response_body));
  if (with_body) {
    out += ",\"body\":" + json_quote(decode_utf8_lossy(entry.body));
    out += std::string(",\"body_truncated\":") + (entry.body_truncated ? "true" : "false");
  }
  out += "}";
  return out;
}

std::string fault_state_json(const FaultState& faults) {
  std::string out = "{";
  out += "\"fail_next\":" + std::to_string(faults.fail_next);
  out += ",\"status\":" + std::to_string(faults.fail_status);
  out += ",\"retry_after\":" + std::to_string(faults.fail_retry_after_s);
  out += std::string(",\"fail_ingest_anyway\":") + (faults.fail_ingest_anyway ? "true" : "false");
  out += ",\"bad_body_next\":" + std::to_string(faults.bad_body_next);
  out += ",\"body\":" + json_quote(decode_utf8_lossy(faults.bad_body));
  out += std::string(",\"bad_body_ingest_anyway\":") +
         (faults.bad_body_ingest_anyway ? "true" : "false");
  out += ",\"delay_ms\":" + std::to_string(faults.delay.count());
  out += ",\"key_lookup_error_next\":" + std::to_string(faults.key_lookup_error_next);
  out += ",\"store_error_next\":" + std::to_string(faults.store_error_next);
  out += "}";
  return out;
}

}  // namespace detail

namespace {

void json_reply(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void admin_error(httplib::Response& res, int status, const std::string& message) {
  json_reply(res, status, "{\"error\":" + detail::json_quote(message) + "}");
}

// Applies a POST /__admin/faults body to `faults`; returns an error message or "".
std::string apply_fault_request(const std::string& body, FaultState& faults) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return "body must be a JSON object";
  FaultState next = faults;
  bool set_fail = false, set_bad_body = false;
  std::optional<bool> ingest_anyway;
  auto read_count = [](const rapidjson::Value& v, int& out) {
    if (!v.IsInt() || v.GetInt() < 0) return false;
    out = v.GetInt();
    return true;
  };
  if (const auto* clear = detail::member(doc, "clear"); clear != nullptr) {
    if (!clear->IsBool()) return "clear must be a boolean";
    if (clear->GetBool()) next = FaultState{};
  }
  const rapidjson::Value& object = doc;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string key(it->name.GetString(), it->name.GetStringLength());
    const rapidjson::Value& v = it->value;
    if (key == "clear") continue;
    if (key == "fail_next") {
      if (!read_count(v, next.fail_next)) return "fail_next must be a non-negative integer";
      set_fail = true;
    } else if (key == "status") {
      if (!v.IsInt() || v.GetInt() < 100 || v.GetInt() > 599) return "status must be 100..599";
      next.fail_status = v.GetInt();
    } else if (key == "retry_after") {
      if (!read_count(v, next.fail_retry_after_s)) return "retry_after must be a non-negative integer";
    } else if (key == "bad_body_next") {
      if (!read_count(v, next.bad_body_next)) return "bad_body_next must be a non-negative integer";
      set_bad_body = true;
    } else if (key == "body") {
      if (!v.IsString()) return "body must be a string";
      next.bad_body.assign(v.GetString(), v.GetStringLength());
    } else if (key == "ingest_anyway") {
      if (!v.IsBool()) return "ingest_anyway must be a boolean";
      ingest_anyway = v.GetBool();
    } else if (key == "delay_ms") {
      int ms = 0;
      if (!read_count(v, ms)) return "delay_ms must be a non-negative integer";
      next.delay = std::chrono::milliseconds(ms);
    } else if (key == "key_lookup_error_next") {
      if (!read_count(v, next.key_lookup_error_next)) {
        return "key_lookup_error_next must be a non-negative integer";
      }
    } else if (key == "store_error_next") {
      if (!read_count(v, next.store_error_next)) return "store_error_next must be a non-negative integer";
    } else {
      return "unknown fault key: " + key;
    }
  }
  if (ingest_anyway) {
    if (set_fail || !set_bad_body) next.fail_ingest_anyway = *ingest_anyway;
    if (set_bad_body || !set_fail) next.bad_body_ingest_anyway = *ingest_anyway;
  } else {
    if (set_fail) next.fail_ingest_anyway = false;
    if (set_bad_body) next.bad_body_ingest_anyway = false;
  }
  faults = next;
  return "";
}

}  // namespace

void Server::Impl::handle_admin(const httplib::Request& req, httplib::Response& res,
                                const std::string& body) {
  const std::string route = req.path.substr(kAdminPrefix.size());
  const std::string& method = req.method;
  auto method_not_allowed = [&res] { admin_error(res, 405, "method not allowed"); };

  // A web page the user visits can reach 127.0.0.1 (DNS rebinding, "simple" cross-origin POSTs):
  // only this server's own origin, with a configured key and JSON bodies, gets through.
  if (!check_local_origin(req, res)) return;
  {
    std::string authorization;
    const std::size_t count = req.get_header_value_count("Authorization");
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) authorization += ", ";
      authorization += req.get_header_value("Authorization", i);
    }
    const auto token = detail::extract_bearer_token(count > 0 ? &authorization : nullptr);
    bool known = false;
    try {
      known = token && store->resolve_key(sha256_hex(*token)).has_value();
    } catch (const std::exception&) {
      known = false;
    }
    if (!known) {
      res.set_header("WWW-Authenticate", "Bearer");
      return admin_error(res, 401, "admin endpoints need Authorization: Bearer <a configured API key>");
    }
  }
  if (!body.empty() || method == "POST") {
    const std::string type = detail::ascii_lower(req.get_header_value("Content-Type"));
    if (type.rfind("application/json", 0) != 0) {
      return admin_error(res, 415, "admin request bodies must be Content-Type: application/json");
    }
  }

  if (route == "health") {
    if (method != "GET") return method_not_allowed();
    json_reply(res, 200, "{\"ok\":true,\"port\":" + std::to_string(port.load()) +
                             ",\"ingest_path\":" + detail::json_quote(kIngestPath) +
                             ",\"db\":" + detail::json_quote(detail::decode_utf8_lossy(options.db_path)) +
                             "}");
    return;
  }
  if (route == "faults") {
    if (method == "GET") {
      const std::lock_guard<std::mutex> lock(fault_mutex);
      json_reply(res, 200, detail::fault_state_json(faults));
    } else if (method == "POST") {
      const std::lock_guard<std::mutex> lock(fault_mutex);
      const std::string error = apply_fault_request(body, faults);
      if (!error.empty()) return admin_error(res, 400, error);
      json_reply(res, 200, detail::fault_state_json(faults));
    } else if (method == "DELETE") {
      const std::lock_guard<std::mutex> lock(fault_mutex);
      faults = FaultState{};
      json_reply(res, 200, detail::fault_state_json(faults));
    } else {
      method_not_allowed();
    }
    return;
  }
  if (route == "requests") {
    if (method == "GET") {
      const bool with_body = req.has_param("bodies") && req.get_param_value("bodies") != "0";
      std::string out = "[";
      {
        const std::lock_guard<std::mutex> lock(log_mutex);
        bool first = true;
        for (const RequestLogEntry& entry : log) {
          if (!first) out += ",";
          first = false;
          out += detail::request_entry_json(entry, with_body);
        }
      }
      out += "]";
      json_reply(res, 200, out);
    } else if (method == "DELETE") {
      {
        const std::lock_guard<std::mutex> lock(log_mutex);
        log.clear();
        log_bytes = 0;
        logged_since_clear = 0;
      }
      json_reply(res, 200, R"({"cleared":true})");
    } else {
      method_not_allowed();
    }
    return;
  }
  if (route == "dump") {
    if (method != "GET") return method_not_allowed();
    res.status = 200;
    res.set_content(render_json_lines(store->snapshot()), "application/x-ndjson");
    return;
  }
  if (route == "tree") {
    if (method != "GET") return method_not_allowed();
    res.status = 200;
    res.set_content(render_tree(store->snapshot()), "text/plain; charset=utf-8");
    return;
  }
  if (route == "data") {
    if (method != "DELETE") return method_not_allowed();
    store->clear_data();
    json_reply(res, 200, R"({"cleared":true})");
    return;
  }
  admin_error(res, 404, "unknown admin endpoint: " + detail::decode_utf8_lossy(req.path));
}

}  // namespace northstar_local

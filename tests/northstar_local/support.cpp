// support.cpp: test helpers for the northstar-local tests (see support.h).
#include "support.h"

#include <curl/curl.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace nsl_test {
namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    const auto begin = value.find_first_not_of(" \t");
    const auto end = value.find_last_not_of(" \t\r\n");
    (*headers)[name] = begin == std::string::npos ? "" : value.substr(begin, end - begin + 1);
  }
  return size * count;
}

// libcurl global init/cleanup for the process; constructed once (thread-safe static init).
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

}  // namespace

HttpResponse http(const std::string& method, const std::string& url, const std::string& body,
                  const std::vector<std::string>& headers, long timeout_ms) {
  static CurlGlobal global;
  HttpResponse response;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
  curl_slist* header_list = curl_slist_append(nullptr, "Expect:");
  for (const std::string& header : headers) header_list = curl_slist_append(header_list, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");  // never route loopback through an http_proxy
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    // Methods that carry a body always get a Content-Length, as real clients send.
    if (!body.empty() || method == "PUT" || method == "PATCH" || method == "DELETE") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
  }
  const auto started = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(curl);
  response.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    response.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(header_list);
  curl_easy_cleanup(curl);
  return response;
}

std::string uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", 0xabc00000u + static_cast<unsigned>(n),
                static_cast<unsigned>(n));
  return buf;
}

std::string base_payload() {
  std::string json = R"({
  "schema_version": 2,
  "sessions": [{"id": "SESSION", "created_at": "2026-06-10T09:00:00Z", "metadata": {}}],
  "runs": [{"id": "RUN", "session_id": "SESSION", "name": "agent-run",
            "started_at": "2026-06-10T09:00:00.010000Z", "status": "running", "metadata": {}}],
  "spans": [
    {"id": "ROOT", "run_id": "RUN", "kind": "agent", "name": "plan",
     "started_at": "2026-06-10T09:00:00.020000Z", "status": "running", "attributes": {}},
    {"id": "CHILD", "run_id": "RUN", "parent_span_id": "ROOT", "kind": "tool", "name": "search",
     "started_at": "2026-06-10T09:00:00.030000Z", "status": "running", "iteration": 1,
     "attributes": {}}],
  "events": [{"id": "EVENT", "run_id": "RUN", "span_id": "CHILD", "type": "tool_arguments",
              "created_at": "2026-06-10T09:00:00.031000Z", "content": {"q": "x"},
              "attributes": {}}],
  "scores": [{"id": "SCORE", "trace_id": "RUN", "name": "relevance", "value": 0.5,
              "data_type": "numeric", "source": "api", "created_at": "2026-06-10T09:00:01Z"}],
  "prompt_links": []
})";
  const std::vector<std::pair<std::string, std::string>> ids = {
      {"\"SESSION\"", kSession}, {"\"RUN\"", kRun},     {"\"ROOT\"", kRootSpan},
      {"\"CHILD\"", kChildSpan}, {"\"EVENT\"", kEvent}, {"\"SCORE\"", kScore}};
  for (const auto& [placeholder, id] : ids) {
    json = std::regex_replace(json, std::regex(placeholder), "\"" + id + "\"");
  }
  return json;
}

std::string example_payload() {
  return R"json({
  "schema_version": 2,
  "sessions": [
    {"id": "0b9d5c1e-3f7a-4c2b-9e1d-5a6f7b8c9d01", "created_at": "2026-06-10T09:00:00.000100Z", "metadata": {}}
  ],
  "runs": [
    {"id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02", "session_id": "0b9d5c1e-3f7a-4c2b-9e1d-5a6f7b8c9d01",
     "name": "support-agent", "started_at": "2026-06-10T09:00:00.010000Z", "ended_at": "2026-06-10T09:00:02.510000Z",
     "status": "ok",
     "metadata": {"project": "support", "environment": "dev", "tags": ["cpp", "demo"], "user_id": "u-42",
                  "cost_usd": 0.00385, "total_input_tokens": 1200, "total_output_tokens": 85, "latency_ms": 2500.0}}
  ],
  "spans": [
    {"id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c03", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "kind": "agent", "name": "plan", "started_at": "2026-06-10T09:00:00.020000Z", "ended_at": "2026-06-10T09:00:02.400000Z",
     "status": "ok", "iteration": 1, "attributes": {"latency_ms": 2380.0}},
    {"id": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d04", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "parent_span_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c03", "kind": "model", "name": "answer-llm",
     "started_at": "2026-06-10T09:00:00.030000Z", "ended_at": "2026-06-10T09:00:01.900000Z", "status": "ok",
     "attributes": {"model": "gpt-4o", "input_tokens": 1200, "output_tokens": 85, "total_tokens": 1285,
                    "cost_usd": 0.00385, "pricing_source": "provider", "provider": "openai", "latency_ms": 1870.0}},
    {"id": "c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e05", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "parent_span_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c03", "kind": "tool", "name": "search_docs",
     "started_at": "2026-06-10T09:00:01.950000Z", "ended_at": "2026-06-10T09:00:02.300000Z", "status": "error",
     "error": {"type": "TimeoutError", "message": "search backend timed out", "module": "cpp"},
     "attributes": {"latency_ms": 350.0}}
  ],
  "events": [
    {"id": "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f06", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "type": "user_input", "created_at": "2026-06-10T09:00:00.011000Z", "content": {"query": "reset password", "api_key": "[REDACTED]"}, "attributes": {}},
    {"id": "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a07", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "span_id": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d04", "type": "system_message", "created_at": "2026-06-10T09:00:00.031000Z",
     "content": "Answer briefly.", "attributes": {}},
    {"id": "f6a7b8c9-d0e1-4f2a-9b3c-4d5e6f7a8b08", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "span_id": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d04", "type": "tool_arguments", "created_at": "2026-06-10T09:00:01.899000Z",
     "content": {"id": "call-1", "name": "search_docs", "arguments": "{\"q\":\"reset\"}"},
     "attributes": {"tool_call_id": "call-1", "name": "search_docs"}},
    {"id": "a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c09", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "span_id": "c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e05", "type": "tool_arguments", "created_at": "2026-06-10T09:00:01.951000Z",
     "content": {"q": "reset"}, "attributes": {}},
    {"id": "b8c9d0e1-f2a3-4b4c-9d5e-6f7a8b9c0d10", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "span_id": "c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e05", "type": "custom", "created_at": "2026-06-10T09:00:02.000000Z",
     "content": {"name": "cache_miss", "data": {"key": "reset"}}, "attributes": {"northstar_type": "event"}},
    {"id": "c9d0e1f2-a3b4-4c5d-8e6f-7a8b9c0d1e11", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "type": "custom", "created_at": "2026-06-10T09:00:02.450000Z",
     "content": {"name": "confidence", "value": 0.86}, "attributes": {"northstar_type": "metric"}},
    {"id": "d0e1f2a3-b4c5-4d6e-9f7a-8b9c0d1e2f12", "run_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "type": "final_response", "created_at": "2026-06-10T09:00:02.500000Z", "content": null, "attributes": {}}
  ],
  "scores": [
    {"id": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a13", "trace_id": "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02",
     "name": "relevance", "value": 0.92, "data_type": "numeric", "source": "api", "created_at": "2026-06-10T09:00:03Z"}
  ],
  "prompt_links": []
})json";
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) throw std::runtime_error("test JSON does not parse: " + json);
  return doc;
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string edit(const std::string& json, const std::vector<Edit>& edits) {
  rapidjson::Document doc = parse(json);
  for (const auto& [pointer_text, value] : edits) {
    const rapidjson::Pointer pointer(pointer_text.c_str());
    if (!pointer.IsValid()) throw std::runtime_error("bad JSON pointer " + pointer_text);
    if (value) {
      rapidjson::Document replacement(&doc.GetAllocator());
      replacement.Parse(value->data(), value->size());
      if (replacement.HasParseError()) throw std::runtime_error("bad edit value " + *value);
      pointer.Set(doc, replacement);
    } else {
      pointer.Erase(doc);
    }
  }
  return to_json(doc);
}

std::string error_body(const std::string& message) {
  rapidjson::Document doc(rapidjson::kObjectType);
  doc.AddMember("error", rapidjson::Value(message.c_str(), doc.GetAllocator()), doc.GetAllocator());
  return to_json(doc);
}

northstar_local::ServerOptions ServerTest::options() {
  northstar_local::ServerOptions options;
  options.api_keys = {{kKey, ""}, {kOtherKey, ""}};
  return options;
}

void ServerTest::SetUp() {
  server_ = std::make_unique<northstar_local::Server>(options());
  server_->start();
}

void ServerTest::TearDown() {
  if (server_) server_->stop();
  server_.reset();
}

HttpResponse ServerTest::post(const std::string& body, const std::string& key) {
  return http("POST", server_->ingest_url(), body,
              {"Authorization: Bearer " + key, "Content-Type: application/json"});
}

HttpResponse ServerTest::post_raw(const std::string& body, const std::vector<std::string>& headers) {
  return http("POST", server_->ingest_url(), body, headers);
}

HttpResponse ServerTest::admin(const std::string& method, const std::string& route,
                               const std::string& body) {
  return http(method, server_->base_url() + "/__admin/" + route, body,
              {"Content-Type: application/json", "Authorization: Bearer " + std::string(kKey)});
}

}  // namespace nsl_test

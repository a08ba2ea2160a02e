// northstar_test_support.h: helpers for the NorthStar tests: a scriptable fake HttpTransport,
// a JSON -> Value parser, and a collector that folds POSTed batches into the latest snapshot of
// every entity (what the server's upserts would store).
#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dagstack/logger/northstar/http_transport.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::northstar::testing {

inline Value from_rapidjson(const rapidjson::Value& v) {
  if (v.IsNull()) return Value();
  if (v.IsBool()) return Value(v.GetBool());
  if (v.IsInt64()) return Value(v.GetInt64());
  if (v.IsUint64()) return Value(static_cast<double>(v.GetUint64()));
  if (v.IsDouble()) return Value(v.GetDouble());
  if (v.IsString()) return Value(std::string(v.GetString(), v.GetStringLength()));
  if (v.IsArray()) {
    Value::Array a;
    for (const auto& e : v.GetArray()) a.push_back(from_rapidjson(e));
    return Value(std::move(a));
  }
  Value::Map m;
  for (rapidjson::SizeType i = 0; i < v.MemberCount(); ++i) {  // no iterator comparisons (clang, C++20)
    const auto& member = *(v.MemberBegin() + i);
    m.insert_or_assign(std::string(member.name.GetString(), member.name.GetStringLength()),
                       from_rapidjson(member.value));
  }
  return Value(std::move(m));
}

// Parses JSON text (throws std::runtime_error on bad JSON).
inline Value parse_json(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) throw std::runtime_error("bad JSON: " + std::string(text.substr(0, 200)));
  return from_rapidjson(doc);
}

// The string at `key` of a map Value ("" when absent or not a string).
inline std::string str(const Value& m, std::string_view key) {
  const Value* v = m.find(key);
  return (v != nullptr && v->is_string()) ? v->as_string() : std::string();
}

// FakeTransport
//
// Records every request and answers from a script (FIFO), then with `fallback` (200
// {"accepted":true} by default). An optional gate blocks post() until opened. Thread-safe.
class FakeTransport : public HttpTransport {
 public:
  struct Call {
    HttpRequest request;
    std::chrono::steady_clock::time_point at;
    int status = 0;  // what was answered
    bool accepted = false;  // 2xx {"accepted":true}
  };

  HttpResponse post(const HttpRequest& request) noexcept override {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::size_t index = calls_.size();
    if (record_) calls_.push_back({request, std::chrono::steady_clock::now()});
    ++count_;
    cv_.notify_all();
    gate_cv_.wait(lock, [&] { return gate_open_; });
    HttpResponse r = fallback_;
    if (!script_.empty()) {
      r = script_.front();
      script_.pop_front();
    }
    if (record_) {
      calls_[index].status = r.status;
      calls_[index].accepted = r.status >= 200 && r.status < 300 && r.body == R"({"accepted":true})";
    }
    return r;
  }

  // Queues one answer.
  void push(int status, std::string body = "", std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    std::lock_guard<std::mutex> lock(mutex_);
    HttpResponse r;
    r.status = status;
    r.body = body.empty() && status >= 200 && status < 300 ? R"({"accepted":true})" : std::move(body);
    if (status == 0) r.error = "connection refused (fake)";
    r.retry_after = retry_after;
    script_.push_back(std::move(r));
  }
  void set_fallback(int status, std::string body) {
    std::lock_guard<std::mutex> lock(mutex_);
    fallback_.status = status;
    fallback_.body = std::move(body);
  }
  // While closed, post() blocks.
  void set_gate(bool open) {
    std::lock_guard<std::mutex> lock(mutex_);
    gate_open_ = open;
    gate_cv_.notify_all();
  }
  void set_record(bool record) {
    std::lock_guard<std::mutex> lock(mutex_);
    record_ = record;
  }

  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  std::size_t count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }
  bool wait_for_calls(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }
  // Every request body, answered or not.
  std::vector<std::string> bodies() const {
    std::vector<std::string> out;
    for (const auto& c : calls()) out.push_back(c.request.body);
    return out;
  }
  // The bodies that were answered 2xx {"accepted":true} (what a server stored).
  std::vector<std::string> accepted_bodies() const {
    std::vector<std::string> out;
    for (const auto& c : calls()) {
      if (c.accepted) out.push_back(c.request.body);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::condition_variable gate_cv_;
  std::vector<Call> calls_;
  std::size_t count_ = 0;
  std::deque<HttpResponse> script_;
  HttpResponse fallback_{200, R"({"accepted":true})", std::nullopt, ""};
  bool gate_open_ = true;
  bool record_ = true;
};

// The latest snapshot of every entity over a sequence of batch bodies, plus all events in order.
struct Collected {
  std::map<std::string, Value> sessions;
  std::map<std::string, Value> runs;
  std::map<std::string, Value> spans;
  std::vector<Value> events;  // in arrival order
  std::vector<std::string> run_order;
  std::vector<std::string> span_order;

  const Value& run(const std::string& id) const { return runs.at(id); }
  const Value& span(const std::string& id) const { return spans.at(id); }
  // The first span named `name` (throws if none).
  const Value& span_named(std::string_view name) const {
    for (const auto& id : span_order) {
      if (str(spans.at(id), "name") == name) return spans.at(id);
    }
    throw std::out_of_range("no span named " + std::string(name));
  }
  const Value& run_named(std::string_view name) const {
    for (const auto& id : run_order) {
      if (str(runs.at(id), "name") == name) return runs.at(id);
    }
    throw std::out_of_range("no run named " + std::string(name));
  }
  std::vector<Value> events_of(const std::string& run_id) const {
    std::vector<Value> out;
    for (const auto& e : events) {
      if (str(e, "run_id") == run_id) out.push_back(e);
    }
    return out;
  }
  std::vector<std::string> event_types(const std::string& run_id) const {
    std::vector<std::string> out;
    for (const auto& e : events_of(run_id)) out.push_back(str(e, "type"));
    return out;
  }
};

inline Collected collect(const std::vector<std::string>& bodies) {
  Collected c;
  for (const auto& body : bodies) {
    Value doc = parse_json(body);
    auto upsert = [](std::map<std::string, Value>& into, std::vector<std::string>* order, const Value& list) {
      for (const Value& e : list.as_array()) {
        const std::string id = str(e, "id");
        if (into.find(id) == into.end() && order != nullptr) order->push_back(id);
        into.insert_or_assign(id, e);
      }
    };
    upsert(c.sessions, nullptr, *doc.find("sessions"));
    upsert(c.runs, &c.run_order, *doc.find("runs"));
    upsert(c.spans, &c.span_order, *doc.find("spans"));
    for (const Value& e : doc.find("events")->as_array()) c.events.push_back(e);
  }
  return c;
}

}  // namespace dagstack::logger::northstar::testing

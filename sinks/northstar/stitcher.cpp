// stitcher.cpp: records -> NorthStar sessions, runs, spans and events; the snapshot FIFO.
#include "stitcher.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/northstar/record_convention.h"
#include "dagstack/logger/northstar/span_kind.h"
#include "dagstack/logger/northstar/uuid.h"
#include "dagstack/logger/severity.h"
#include "score_wire.h"
#include "wire.h"

namespace dagstack::logger::northstar::detail {

struct SessionEntity : EntityState {
  std::string id;
  std::uint64_t created = 0;
  std::optional<std::uint64_t> ended;
};

struct RunEntity : EntityState {
  std::string id;
  std::string name;
  std::uint64_t started = 0;
  std::optional<std::uint64_t> ended;
  std::string status = "running";
  std::optional<Value> error;
  Value::Map base;   // project/environment, span attributes, user metadata, tags
  Value::Map extra;  // log_metadata merges
  std::optional<double> latency_ms;
  double cost_usd = 0.0;
  bool has_cost = false;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::optional<bool> capture_input;
  std::optional<bool> capture_output;
};

struct SpanEntity : EntityState {
  std::string id;
  std::shared_ptr<RunEntity> run;
  std::shared_ptr<SpanEntity> parent;  // nullptr for a root span of the run
  std::optional<std::string> parent_id;
  std::string kind;
  std::string name;
  std::uint64_t started = 0;
  std::optional<std::uint64_t> ended;
  std::string status = "running";
  std::optional<Value> error;
  std::optional<std::int64_t> iteration;
  Value::Map base;
  Value::Map extra;
  std::optional<double> latency_ms;
  bool usage_counted = false;
};

struct Stitcher::IndexEntry {
  std::shared_ptr<RunEntity> run;
  std::shared_ptr<SpanEntity> span;  // nullptr: the key is the run's own (root) span
  std::uint64_t event_seq = 0;
  bool ended = false;
};

namespace {

constexpr std::size_t kMaxEnded = 8192;    // ended spans kept for late events and updates
constexpr std::size_t kMaxDropped = 4096;  // dropped span starts remembered

constexpr std::string_view kSpanEvent = "dagstack.span.event";
constexpr std::string_view kSpanDurationNs = "dagstack.span.duration_ns";
constexpr std::string_view kOpName = "operation.name";
constexpr std::string_view kOpKind = "operation.kind";
constexpr std::string_view kOpParent = "operation.parent.id";
constexpr std::string_view kOpStatus = "operation.status";
constexpr std::string_view kOpStatusMessage = "operation.status.message";
constexpr std::string_view kOpDurationMs = "operation.duration_ms";
constexpr std::string_view kExceptionType = "exception.type";
constexpr std::string_view kExceptionMessage = "exception.message";

bool starts_with(std::string_view s, std::string_view p) noexcept {
  return s.substr(0, p.size()) == p;
}

// Attributes that describe the span itself (consumed by the sink) rather than the user's data.
bool is_reserved(std::string_view key) noexcept {
  return starts_with(key, "dagstack.") || starts_with(key, "operation.") ||
         starts_with(key, "northstar.") || starts_with(key, "exception.") || key == keys::kModel ||
         key == keys::kInputTokens || key == keys::kOutputTokens;
}

const std::string* attr_string(const DecodedRecord& r, std::string_view key) {
  const Value* v = r.attr(key);
  return (v != nullptr && v->is_string()) ? &v->as_string() : nullptr;
}

std::optional<std::int64_t> attr_int(const DecodedRecord& r, std::string_view key) {
  const Value* v = r.attr(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int()) return v->as_int();
  if (v->is_double() && std::isfinite(v->as_double()))
    return static_cast<std::int64_t>(v->as_double());
  return std::nullopt;
}

std::optional<double> attr_number(const DecodedRecord& r, std::string_view key) {
  const Value* v = r.attr(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int()) return static_cast<double>(v->as_int());
  if (v->is_double() && std::isfinite(v->as_double())) return v->as_double();
  return std::nullopt;
}

std::optional<bool> attr_bool(const DecodedRecord& r, std::string_view key) {
  const Value* v = r.attr(key);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->as_bool();
}

std::string body_text(const DecodedRecord& r) {
  if (r.body.is_string()) return r.body.as_string();
  if (r.body.is_null()) return {};
  std::string s;
  append_canonical_json(r.body, s);
  return s;
}

std::string span_name(const DecodedRecord& r, std::string_view fallback) {
  if (const std::string* n = attr_string(r, kOpName); n != nullptr && !n->empty()) return *n;
  std::string b = body_text(r);
  return b.empty() ? std::string(fallback) : b;
}

Value::Map filtered_attributes(const DecodedRecord& r) {
  Value::Map m;
  for (const auto& [k, v] : r.attributes) {
    if (!is_reserved(k)) m.insert_or_assign(k, v);
  }
  return m;
}

double latency_of(const DecodedRecord& end, std::uint64_t started) {
  if (auto ns = attr_int(end, kSpanDurationNs)) return round_ms(static_cast<double>(*ns) / 1e6);
  if (auto ms = attr_number(end, kOpDurationMs)) return round_ms(*ms);
  if (end.time_unix_nano >= started)
    return round_ms(static_cast<double>(end.time_unix_nano - started) / 1e6);
  return 0.0;
}

// The NorthStar status and error of a span-end record.
std::pair<std::string, std::optional<Value>> status_of(const DecodedRecord& end) {
  const std::string* st = attr_string(end, kOpStatus);
  const std::string status = st ? *st : "ok";
  if (status == "ok" || status == "unset") return {"ok", std::nullopt};
  std::string type;
  if (const std::string* t = attr_string(end, kExceptionType); t != nullptr && !t->empty()) {
    type = *t;
  } else if (status == "cancelled") {
    type = "Cancelled";
  } else if (status == "timeout") {
    type = "Timeout";
  } else {
    type = "Error";
  }
  std::string message;
  if (const std::string* m = attr_string(end, kExceptionMessage)) {
    message = *m;
  } else if (const std::string* m2 = attr_string(end, kOpStatusMessage)) {
    message = *m2;
  }
  std::string module = type_module(type);
  return {"error", Value::map({{"type", type}, {"message", message}, {"module", module}})};
}

// A small JSON object writer over canonical values.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_.push_back('{'); }
  void key(std::string_view k) {
    if (!first_) out_.push_back(',');
    first_ = false;
    append_json_string(k, out_);
    out_.push_back(':');
  }
  void str(std::string_view k, std::string_view v) {
    key(k);
    append_json_string(v, out_);
  }
  void value(std::string_view k, const Value& v) {
    key(k);
    append_canonical_json(v, out_);
  }
  void map(std::string_view k, const Value::Map& m) {
    key(k);
    if (m.empty()) {
      out_.append("{}");
    } else {
      append_canonical_json(Value(m), out_);
    }
  }
  void close() { out_.push_back('}'); }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace

Stitcher::Stitcher(StitchConfig config) : config_(std::move(config)) {}
Stitcher::~Stitcher() = default;

void Stitcher::process(const DecodedRecord& r) {
  if (starts_with(r.scope, "dagstack.logger.internal")) return;
  if (const std::string* ev = attr_string(r, kSpanEvent)) {
    if (*ev == "start") {
      on_start(r);
      return;
    }
    if (*ev == "end") {
      on_end(r);
      return;
    }
  }
  on_record(r);
}

void Stitcher::note_dropped_span(const SpanKey& key) {
  if (dropped_.insert(key).second) {
    dropped_order_.push_back(key);
    while (dropped_order_.size() > kMaxDropped) {
      dropped_.erase(dropped_order_.front());
      dropped_order_.pop_front();
    }
  }
}

bool Stitcher::is_dropped(const SpanKey& key) const { return dropped_.count(key) != 0; }

void Stitcher::ensure_session(std::uint64_t time) {
  if (session_) return;
  session_ = std::make_shared<SessionEntity>();
  session_->id = config_.session_id;
  session_->created = time;
  enqueue(session_);
}

std::shared_ptr<RunEntity> Stitcher::default_run(std::uint64_t time) {
  if (default_run_) return default_run_;
  ensure_session(time);
  default_run_ = std::make_shared<RunEntity>();
  default_run_->id = random_uuid_v4();
  default_run_->name =
      config_.default_run_name.empty() ? std::string("log") : config_.default_run_name;
  default_run_->started = time;
  if (!config_.project.empty()) default_run_->base.insert_or_assign("project", config_.project);
  if (!config_.environment.empty())
    default_run_->base.insert_or_assign("environment", config_.environment);
  enqueue(default_run_);
  return default_run_;
}

void Stitcher::on_start(const DecodedRecord& r) {
  if (!r.trace_id.valid() || !r.span_id.valid()) return;
  const SpanKey key{r.trace_id, r.span_id};
  if (index_.count(key) != 0 || is_dropped(key)) return;

  // A start synthesised from an end record whose start was never seen starts `duration` earlier.
  std::uint64_t started = r.time_unix_nano;
  if (const std::string* ev = attr_string(r, kSpanEvent); ev != nullptr && *ev == "end") {
    if (auto ns = attr_int(r, kSpanDurationNs);
        ns && *ns > 0 && static_cast<std::uint64_t>(*ns) <= started) {
      started -= static_cast<std::uint64_t>(*ns);
    }
  }

  std::optional<SpanKey> parent;
  if (const std::string* p = attr_string(r, kOpParent); p != nullptr && !p->empty()) {
    try {
      parent = SpanKey{r.trace_id, SpanId::from_hex(*p)};
    } catch (const std::exception&) {
      parent.reset();
    }
  }
  if (parent && is_dropped(*parent)) {
    note_dropped_span(key);
    return;
  }
  IndexEntry* parent_entry = nullptr;
  if (parent) {
    auto it = index_.find(*parent);
    if (it != index_.end()) parent_entry = it->second.get();
  }
  const bool is_run = attr_bool(r, keys::kRun).value_or(false) || parent_entry == nullptr;

  auto entry = std::make_unique<IndexEntry>();
  if (is_run) {
    ensure_session(started);
    auto run = std::make_shared<RunEntity>();
    run->id = derive_run_uuid(r.trace_id, r.span_id);
    run->name = span_name(r, "run");
    run->started = started;
    run->capture_input = attr_bool(r, keys::kCaptureInput);
    run->capture_output = attr_bool(r, keys::kCaptureOutput);
    Value::Map meta;
    if (!config_.project.empty()) meta.insert_or_assign("project", config_.project);
    if (!config_.environment.empty()) meta.insert_or_assign("environment", config_.environment);
    for (auto& [k, v] : filtered_attributes(r)) meta.insert_or_assign(k, std::move(v));
    if (const Value* m = r.attr(keys::kMetadata); m != nullptr && m->is_map()) {
      for (const auto& [k, v] : m->as_map()) meta.insert_or_assign(k, v);
    }
    if (const Value* t = r.attr(keys::kTags); t != nullptr && t->is_array())
      meta.insert_or_assign("tags", *t);
    run->base = std::move(meta);
    entry->run = run;
    enqueue(run);
  } else {
    auto span = std::make_shared<SpanEntity>();
    span->id = derive_span_uuid(r.trace_id, r.span_id);
    span->run = parent_entry->run;
    if (parent_entry->span) {
      span->parent = parent_entry->span;
      span->parent_id = parent_entry->span->id;
    }
    const std::string* kind = attr_string(r, kOpKind);
    span->kind =
        std::string(to_string(span_kind_from_operation_kind(kind ? *kind : std::string_view())));
    span->name = span_name(r, "span");
    span->started = started;
    span->iteration = attr_int(r, keys::kIteration);
    if (!span->iteration) span->iteration = attr_int(r, "agent.iteration");
    span->base = filtered_attributes(r);
    apply_model_usage(*span, r, false);
    entry->run = parent_entry->run;
    entry->span = span;
    enqueue(span);
  }
  index_.emplace(key, std::move(entry));
}

void Stitcher::apply_model_usage(SpanEntity& span, const DecodedRecord& r, bool final) {
  std::string model;
  if (const std::string* m = attr_string(r, keys::kModel); m != nullptr && !m->empty()) {
    model = *m;
    span.base.insert_or_assign("model", model);
  } else if (const Value* m2 = span.base.count("model") ? &span.base.at("model") : nullptr;
             m2 && m2->is_string()) {
    model = m2->as_string();
  }
  auto in = attr_int(r, keys::kInputTokens);
  auto out = attr_int(r, keys::kOutputTokens);
  auto explicit_cost = attr_number(r, keys::kCostUsd);
  if (!in && !out && !explicit_cost) return;
  const std::int64_t input = in.value_or(0);
  const std::int64_t output = out.value_or(0);
  if (in || out) {
    span.base.insert_or_assign("input_tokens", input);
    span.base.insert_or_assign("output_tokens", output);
    span.base.insert_or_assign("total_tokens", input + output);
  }
  std::optional<double> cost;
  if (explicit_cost) {
    cost = *explicit_cost;
    const std::string* src = attr_string(r, keys::kPricingSource);
    span.base.insert_or_assign("pricing_source", src ? *src : std::string("provider"));
  } else {
    cost = config_.pricing.cost(model, input, output);
    span.base.insert_or_assign("pricing_source", cost ? "table" : "unknown");
  }
  if (cost) {
    span.base.insert_or_assign("cost_usd", *cost);
  } else {
    span.base.erase("cost_usd");  // never keep a stale price (SDK bug B6)
  }
  if (final && !span.usage_counted && span.kind == "model") {
    span.usage_counted = true;
    span.run->input_tokens += input;
    span.run->output_tokens += output;
    if (cost) {
      span.run->cost_usd += *cost;
      span.run->has_cost = true;
    }
    enqueue(span.run);
  }
}

void Stitcher::on_end(const DecodedRecord& r) {
  if (!r.trace_id.valid() || !r.span_id.valid()) return;
  const SpanKey key{r.trace_id, r.span_id};
  if (is_dropped(key)) return;
  auto it = index_.find(key);
  if (it == index_.end()) {
    on_start(r);  // the start was never seen: rebuild the span from its end record
    it = index_.find(key);
    if (it == index_.end()) return;
  }
  IndexEntry& entry = *it->second;
  if (entry.ended) return;
  auto [status, error] = status_of(r);
  if (!entry.span) {
    RunEntity& run = *entry.run;
    run.ended = r.time_unix_nano;
    run.status = status;
    run.error = std::move(error);
    run.latency_ms = latency_of(r, run.started);
    for (auto& [k, v] : filtered_attributes(r)) run.base.insert_or_assign(k, std::move(v));
    if (const Value* m = r.attr(keys::kMetadata); m != nullptr && m->is_map()) {
      for (const auto& [k, v] : m->as_map()) run.base.insert_or_assign(k, v);
    }
    enqueue(entry.run);
  } else {
    SpanEntity& span = *entry.span;
    span.ended = r.time_unix_nano;
    span.status = status;
    span.error = std::move(error);
    span.latency_ms = latency_of(r, span.started);
    for (auto& [k, v] : filtered_attributes(r)) span.base.insert_or_assign(k, std::move(v));
    apply_model_usage(span, r, true);
    enqueue(entry.span);
  }
  mark_ended(key);
}

void Stitcher::mark_ended(const SpanKey& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  it->second->ended = true;
  ended_order_.push_back(key);
  while (ended_order_.size() > kMaxEnded) {
    auto old = index_.find(ended_order_.front());
    if (old != index_.end() && old->second->ended) index_.erase(old);
    ended_order_.pop_front();
  }
}

void Stitcher::on_record(const DecodedRecord& r) {
  if (is_score_record(r)) {  // a score names its run itself; no span context needed
    if (auto json = score_json(r)) {
      pending_bytes_ += json->size();
      pending_.emplace_back(ScoreJson{std::move(*json)});
      ++enqueued_total_;
    } else {
      ++outside_trace_;  // the server would refuse it
    }
    return;
  }
  IndexEntry* entry = nullptr;
  if (r.trace_id.valid() && r.span_id.valid()) {
    const SpanKey key{r.trace_id, r.span_id};
    auto it = index_.find(key);
    if (it != index_.end()) {
      entry = it->second.get();
    } else if (is_dropped(key)) {
      ++outside_trace_;
      return;
    }
  }
  std::shared_ptr<RunEntity> run;
  std::shared_ptr<SpanEntity> span;
  if (entry != nullptr) {
    run = entry->run;
    span = entry->span;
  } else if (config_.outside_trace == OutsideTracePolicy::kDefaultRun) {
    run = default_run(r.time_unix_nano);
  } else {
    ++outside_trace_;
    return;
  }

  const std::string* event_type = attr_string(r, keys::kEventType);
  std::string_view type = "custom";
  Value content;
  Value::Map attributes;
  if (event_type != nullptr && *event_type == keys::kEventTypeMetadata) {
    if (const Value* m = r.attr(keys::kMetadata); m != nullptr && m->is_map()) {
      Value::Map& target = span ? span->extra : run->extra;
      for (const auto& [k, v] : m->as_map()) target.insert_or_assign(k, v);
      if (span) {
        enqueue(span);
      } else {
        enqueue(run);
      }
    }
    return;
  }
  if (event_type != nullptr && *event_type == keys::kEventTypeMetric) {
    const Value* v = r.attr(keys::kMetricValue);
    content = Value::map({{"name", body_text(r)}, {"value", v ? *v : Value()}});
    attributes.insert_or_assign("northstar_type", "metric");
  } else if (event_type != nullptr && *event_type != "custom") {
    auto parsed = parse_event_type(*event_type);
    if (!parsed) {
      ++outside_trace_;  // unknown type: nothing valid to send
      return;
    }
    const bool input_side = is_input_event(*parsed);
    const bool output_side = is_output_event(*parsed);
    if ((input_side && !run->capture_input.value_or(config_.capture_inputs)) ||
        (output_side && !run->capture_output.value_or(config_.capture_outputs))) {
      ++not_captured_;
      return;
    }
    type = to_string(*parsed);
    if (const Value* c = r.attr(keys::kContent)) content = redact(*c, config_.redact_keys);
    if (const Value* a = r.attr(keys::kEventAttributes); a != nullptr && a->is_map()) {
      attributes = a->as_map();
      redact_in_place(attributes, config_.redact_keys);
    }
  } else if (event_type != nullptr) {  // northstar::log_event
    const Value* d = r.attr(keys::kData);
    content = Value::map(
        {{"name", body_text(r)}, {"data", d ? redact(*d, config_.redact_keys) : Value()}});
    attributes.insert_or_assign("northstar_type", "event");
  } else {  // an ordinary log record
    Value::Map data;
    for (const auto& [k, v] : r.attributes) {
      if (!starts_with(k, "northstar.")) data.insert_or_assign(k, v);
    }
    redact_in_place(data, config_.redact_keys);
    std::string name = body_text(r);
    if (name.empty()) name = r.scope;
    content = Value::map({{"name", std::move(name)}, {"data", Value(std::move(data))}});
    attributes.insert_or_assign("northstar_type", "event");
    attributes.insert_or_assign("severity", std::string(severity_text(r.severity_number)));
    if (!r.scope.empty()) attributes.insert_or_assign("logger", r.scope);
  }

  std::string json;
  json.reserve(256);
  JsonObject o(json);
  o.str("id", entry != nullptr
                  ? derive_event_uuid(r.trace_id, r.span_id, r.time_unix_nano, entry->event_seq++)
                  : random_uuid_v4());
  o.str("run_id", run->id);
  if (span) o.str("span_id", span->id);
  o.str("type", type);
  o.str("created_at", format_timestamp(r.time_unix_nano));
  o.value("content", content);  // always present, JSON null when empty (SDK bug B1)
  o.map("attributes", attributes);
  o.close();
  enqueue_event(EventItem{std::move(json), run, span});
}

void Stitcher::close_session(std::uint64_t now) {
  if (default_run_ && !default_run_->ended) {
    default_run_->ended = now;
    default_run_->status = "ok";
    default_run_->latency_ms = round_ms(
        static_cast<double>(now >= default_run_->started ? now - default_run_->started : 0) / 1e6);
    enqueue(default_run_);
  }
  if (session_ && !session_->ended) {
    session_->ended = now;
    enqueue(session_);
  }
}

namespace {
constexpr std::size_t kEntityBytes = 384;  // the estimated size of a queued entity snapshot
}  // namespace

void Stitcher::enqueue(const std::shared_ptr<SessionEntity>& s) {
  if (s->queued) return;
  s->queued = true;
  pending_.emplace_back(s);
  pending_bytes_ += kEntityBytes;
  ++enqueued_total_;
}

void Stitcher::enqueue(const std::shared_ptr<RunEntity>& r) {
  if (r->queued) return;
  r->queued = true;
  pending_.emplace_back(r);
  pending_bytes_ += kEntityBytes;
  ++enqueued_total_;
}

void Stitcher::enqueue(const std::shared_ptr<SpanEntity>& s) {
  if (s->queued) return;
  s->queued = true;
  pending_.emplace_back(s);
  pending_bytes_ += kEntityBytes;
  ++enqueued_total_;
}

void Stitcher::enqueue_event(EventItem item) {
  pending_bytes_ += item.json.size();
  pending_.emplace_back(std::move(item));
  ++enqueued_total_;
}

std::string Stitcher::serialize(const SessionEntity& s) const {
  std::string out;
  JsonObject o(out);
  o.str("id", s.id);
  o.str("created_at", format_timestamp(s.created));
  if (s.ended) o.str("ended_at", format_timestamp(*s.ended));
  o.map("metadata", {});
  o.close();
  return out;
}

std::string Stitcher::serialize(const RunEntity& r) const {
  Value::Map meta = r.base;
  for (const auto& [k, v] : r.extra) meta.insert_or_assign(k, v);
  if (r.has_cost) meta.insert_or_assign("cost_usd", r.cost_usd);
  if (r.input_tokens != 0) meta.insert_or_assign("total_input_tokens", r.input_tokens);
  if (r.output_tokens != 0) meta.insert_or_assign("total_output_tokens", r.output_tokens);
  if (r.latency_ms) meta.insert_or_assign("latency_ms", *r.latency_ms);
  redact_in_place(meta, config_.redact_keys);
  std::string out;
  out.reserve(256);
  JsonObject o(out);
  o.str("id", r.id);
  o.str("session_id", config_.session_id);
  o.str("name", r.name.empty() ? std::string("run") : r.name);
  o.str("started_at", format_timestamp(r.started));
  if (r.ended) o.str("ended_at", format_timestamp(*r.ended));
  o.str("status", r.status);
  if (r.error) o.value("error", redact(*r.error, config_.redact_keys));
  o.map("metadata", meta);
  o.close();
  return out;
}

std::string Stitcher::serialize(const SpanEntity& s) const {
  Value::Map attrs = s.base;
  for (const auto& [k, v] : s.extra) attrs.insert_or_assign(k, v);
  if (s.latency_ms) attrs.insert_or_assign("latency_ms", *s.latency_ms);
  redact_in_place(attrs, config_.redact_keys);
  std::string out;
  out.reserve(256);
  JsonObject o(out);
  o.str("id", s.id);
  o.str("run_id", s.run->id);
  if (s.parent_id) o.str("parent_span_id", *s.parent_id);
  o.str("kind", s.kind);
  o.str("name", s.name.empty() ? std::string("span") : s.name);
  o.str("started_at", format_timestamp(s.started));
  if (s.ended) o.str("ended_at", format_timestamp(*s.ended));
  o.str("status", s.status);
  if (s.error) o.value("error", redact(*s.error, config_.redact_keys));
  if (s.iteration) o.value("iteration", Value(*s.iteration));
  o.map("attributes", attrs);
  o.close();
  return out;
}

// Builds one Batch: each entity at most once, referenced rows added before the rows that need
// them unless the server already has them.
class Stitcher::BatchBuilder {
 public:
  BatchBuilder(const Stitcher& stitcher, std::uint64_t batch_no)
      : stitcher_(stitcher), batch_no_(batch_no) {}

  std::optional<std::uint32_t> add(const std::shared_ptr<SessionEntity>& e, bool primary) {
    return add_entity(e, primary, WireKind::kSession, {});
  }
  std::optional<std::uint32_t> add(const std::shared_ptr<RunEntity>& e, bool primary) {
    if (auto i = reuse(*e, primary)) return i;
    if (!primary && e->delivered) return std::nullopt;
    std::vector<std::uint32_t> deps;
    if (stitcher_.session_) push(deps, add(stitcher_.session_, false));
    return add_entity(e, primary, WireKind::kRun, std::move(deps));
  }
  std::optional<std::uint32_t> add(const std::shared_ptr<SpanEntity>& e, bool primary) {
    if (auto i = reuse(*e, primary)) return i;
    if (!primary && e->delivered) return std::nullopt;
    std::vector<std::uint32_t> deps;
    push(deps, add(e->run, false));
    if (e->parent) push(deps, add(e->parent, false));
    return add_entity(e, primary, WireKind::kSpan, std::move(deps));
  }
  void add_score(std::string json) {
    WireItem item;
    item.kind = WireKind::kScore;
    item.json = std::move(json);
    item.primary = true;
    append(std::move(item));
  }
  void add(EventItem&& ev) {
    WireItem item;
    item.kind = WireKind::kEvent;
    push(item.deps, add(ev.run, false));
    if (ev.span) push(item.deps, add(ev.span, false));
    item.json = std::move(ev.json);
    append(std::move(item));
  }

  Batch batch;

 private:
  static void push(std::vector<std::uint32_t>& deps, std::optional<std::uint32_t> i) {
    if (i) deps.push_back(*i);
  }
  // The index of `e` when this batch already holds it (promoted to primary if asked).
  std::optional<std::uint32_t> reuse(EntityState& e, bool primary) {
    if (e.batch_no != batch_no_) return std::nullopt;
    WireItem& item = batch.items[e.batch_index];
    if (primary && !item.primary) {
      item.primary = true;
      ++batch.entities;
    }
    return e.batch_index;
  }
  template <typename E>
  std::optional<std::uint32_t> add_entity(const std::shared_ptr<E>& e, bool primary, WireKind kind,
                                          std::vector<std::uint32_t> deps) {
    if (auto i = reuse(*e, primary)) return i;
    if (!primary && e->delivered) return std::nullopt;
    WireItem item;
    item.kind = kind;
    item.deps = std::move(deps);
    item.json = stitcher_.serialize(*e);
    item.state = e;
    item.primary = primary;
    e->batch_no = batch_no_;
    e->batch_index = static_cast<std::uint32_t>(batch.items.size());
    return append(std::move(item));
  }
  std::uint32_t append(WireItem&& item) {
    const auto index = static_cast<std::uint32_t>(batch.items.size());
    batch.bytes += item.json.size();
    if (item.primary) ++batch.entities;
    batch.items.push_back(std::move(item));
    return index;
  }

  const Stitcher& stitcher_;
  const std::uint64_t batch_no_;
};

std::optional<Batch> Stitcher::take_batch(std::size_t max) {
  if (pending_.empty() || max == 0) return std::nullopt;
  BatchBuilder builder(*this, ++batch_no_);
  while (!pending_.empty() && builder.batch.entities < max) {
    Pending item = std::move(pending_.front());
    pending_.pop_front();
    if (auto* s = std::get_if<std::shared_ptr<SessionEntity>>(&item)) {
      pending_bytes_ -= std::min(pending_bytes_, kEntityBytes);
      (*s)->queued = false;
      builder.add(*s, true);
    } else if (auto* r = std::get_if<std::shared_ptr<RunEntity>>(&item)) {
      pending_bytes_ -= std::min(pending_bytes_, kEntityBytes);
      (*r)->queued = false;
      builder.add(*r, true);
    } else if (auto* sp = std::get_if<std::shared_ptr<SpanEntity>>(&item)) {
      pending_bytes_ -= std::min(pending_bytes_, kEntityBytes);
      (*sp)->queued = false;
      builder.add(*sp, true);
    } else if (auto* score = std::get_if<ScoreJson>(&item)) {
      pending_bytes_ -= std::min(pending_bytes_, score->json.size());
      builder.add_score(std::move(score->json));
    } else {
      auto& ev = std::get<EventItem>(item);
      pending_bytes_ -= std::min(pending_bytes_, ev.json.size());
      builder.add(std::move(ev));
    }
  }
  return std::move(builder.batch);
}

// ---------------------------------------------------------------------------------------------

namespace {

// Every item of `subset` plus the rows it references, transitively, except referenced rows the
// server has accepted since the batch was built (a flag per item).
std::vector<char> closure(const Batch& batch, const std::vector<std::uint32_t>& subset) {
  std::vector<char> in(batch.items.size(), 0);
  std::vector<std::uint32_t> stack;
  for (std::uint32_t i : subset) {
    if (i < in.size()) in[i] = 1;
  }
  for (std::uint32_t i : subset) {
    if (i < in.size())
      stack.insert(stack.end(), batch.items[i].deps.begin(), batch.items[i].deps.end());
  }
  while (!stack.empty()) {
    const std::uint32_t i = stack.back();
    stack.pop_back();
    if (i >= in.size() || in[i]) continue;
    const WireItem& item = batch.items[i];
    if (item.state && item.state->delivered) continue;
    in[i] = 1;
    for (std::uint32_t d : item.deps) stack.push_back(d);
  }
  return in;
}

}  // namespace

std::vector<std::uint32_t> primary_items(const Batch& batch) {
  std::vector<std::uint32_t> out;
  out.reserve(batch.entities);
  for (std::uint32_t i = 0; i < batch.items.size(); ++i) {
    if (batch.items[i].primary) out.push_back(i);
  }
  return out;
}

std::string batch_body(const Batch& batch, const std::vector<std::uint32_t>& subset) {
  const std::vector<char> in = closure(batch, subset);
  static constexpr std::string_view kArrays[] = {"sessions", "runs",   "spans",
                                                 "events",   "scores", "prompt_links"};
  std::string lists[6];
  std::size_t total = 128;
  for (std::uint32_t i = 0; i < batch.items.size(); ++i) {
    if (!in[i]) continue;
    std::string& list = lists[static_cast<int>(batch.items[i].kind)];
    if (!list.empty()) list.push_back(',');
    list.append(batch.items[i].json);
    total += batch.items[i].json.size() + 1;
  }
  std::string body;
  body.reserve(total);
  body.append("{\"schema_version\":2");
  for (int k = 0; k < 6; ++k) {
    body.append(",\"").append(kArrays[k]).append("\":[").append(lists[k]).push_back(']');
  }
  body.push_back('}');
  sanitize_body(body);
  return body;
}

void sanitize_body(std::string& body) noexcept {
  static constexpr std::string_view kNul = "\\u0000";
  std::size_t pos = body.find(kNul);
  while (pos != std::string::npos) {
    // An escape only when preceded by an even number of backslashes (else it is "\\" + text).
    std::size_t slashes = 0;
    while (slashes < pos && body[pos - 1 - slashes] == '\\') ++slashes;
    if (slashes % 2 == 0) std::memcpy(&body[pos + 2], "fffd", 4);
    pos = body.find(kNul, pos + 1);
  }
}

void mark_delivered(const Batch& batch, const std::vector<std::uint32_t>& subset) {
  const std::vector<char> in = closure(batch, subset);
  for (std::uint32_t i = 0; i < batch.items.size(); ++i) {
    if (in[i] && batch.items[i].state) batch.items[i].state->delivered = true;
  }
}

Batch parse_batch(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw std::runtime_error("not a JSON object");
  static constexpr std::pair<const char*, WireKind> kArrays[] = {
      {"sessions", WireKind::kSession}, {"runs", WireKind::kRun},
      {"spans", WireKind::kSpan},       {"events", WireKind::kEvent},
      {"scores", WireKind::kScore},     {"prompt_links", WireKind::kPromptLink}};
  Batch batch;
  std::unordered_map<std::string, std::uint32_t> ids[3];  // sessions, runs, spans
  // (HasMember + operator[] rather than iterator comparisons, which clang flags in C++20.)
  auto id_of = [](const rapidjson::Value& row, const char* key) -> std::string {
    if (!row.HasMember(key) || !row[key].IsString()) return {};
    return std::string(row[key].GetString(), row[key].GetStringLength());
  };
  auto array_of = [&doc](const char* name) -> const rapidjson::Value* {
    if (!doc.HasMember(name) || !doc[name].IsArray()) return nullptr;
    return &doc[name];
  };
  for (const auto& [name, kind] : kArrays) {
    const rapidjson::Value* rows = array_of(name);
    if (rows == nullptr) continue;
    for (const auto& row : rows->GetArray()) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      row.Accept(writer);
      WireItem item;
      item.kind = kind;
      item.json.assign(buffer.GetString(), buffer.GetSize());
      if (row.IsObject() && static_cast<int>(kind) < 3) {
        ids[static_cast<int>(kind)].emplace(id_of(row, "id"),
                                            static_cast<std::uint32_t>(batch.items.size()));
      }
      batch.bytes += item.json.size();
      ++batch.entities;
      batch.items.push_back(std::move(item));
    }
  }
  // References: run -> session, span -> run and parent, event/score -> run and span.
  std::size_t index = 0;
  for (const auto& [name, kind] : kArrays) {
    const rapidjson::Value* rows = array_of(name);
    if (rows == nullptr) continue;
    for (const auto& row : rows->GetArray()) {
      WireItem& item = batch.items[index++];
      if (!row.IsObject()) continue;
      auto link = [&](int table, const char* key) {
        const std::string id = id_of(row, key);
        if (id.empty()) return;
        auto found = ids[table].find(id);
        if (found != ids[table].end()) item.deps.push_back(found->second);
      };
      switch (kind) {
        case WireKind::kRun: link(0, "session_id"); break;
        case WireKind::kSpan:
          link(1, "run_id");
          link(2, "parent_span_id");
          break;
        case WireKind::kEvent:
          link(1, "run_id");
          link(2, "span_id");
          break;
        case WireKind::kScore:
        case WireKind::kPromptLink:
          link(1, "trace_id");
          link(2, "span_id");
          break;
        case WireKind::kSession: break;
      }
    }
  }
  return batch;
}

}  // namespace dagstack::logger::northstar::detail

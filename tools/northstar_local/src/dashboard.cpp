// dashboard.cpp: the read-only web UI (embedded assets) and the JSON endpoints behind it:
//   GET /api/runs[?name=&status=&tag=&session=&since=&until=&limit=&offset=]  runs, newest first
//   GET /api/runs/<id>                                                        one run in full
//   GET /api/sessions                                                         sessions, newest
//   first
// Stored text is attacker-controlled: it only ever leaves here as JSON strings (or as the stored
// JSON itself); the page renders it with textContent.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "assets.h"
#include "json.h"
#include "server_impl.h"
#include "text.h"

namespace northstar_local {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

using Fields = detail::JsonObject;

void key(Writer& w, const char* name) { w.Key(name); }

void str(Writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void opt_str(Writer& w, const std::optional<std::string>& text) {
  if (text) {
    str(w, *text);
  } else {
    w.Null();
  }
}

void opt_num(Writer& w, std::optional<double> value) {
  if (value && std::isfinite(*value)) {
    w.Double(*value);
  } else {
    w.Null();
  }
}

// Stored JSON text (already compact JSON), or null when the column is SQL NULL.
void raw(Writer& w, const std::optional<std::string>& json) {
  if (!json || json->empty()) {
    w.Null();
    return;
  }
  w.RawValue(json->data(), json->size(), rapidjson::kObjectType);
}

// Duration in ms: the latency_ms field, else ended - started, else nullopt (still running).
std::optional<double> duration_ms(const Fields& fields, const std::string& started,
                                  const std::optional<std::string>& ended) {
  if (auto latency = fields.number("latency_ms")) return latency;
  if (!ended) return std::nullopt;
  return static_cast<double>(detail::epoch_us_or_zero(*ended) - detail::epoch_us_or_zero(started)) /
         1000.0;
}

struct RunTotals {
  std::optional<double> input_tokens, output_tokens, cost_usd;
  std::optional<std::string> model;  // the single model of the run's model spans, if only one
  std::size_t spans = 0, error_spans = 0, tool_calls = 0;
};

// Run totals as the NorthStar dashboard shows them: the run metadata's aggregates, falling back to
// the sums over the run's model spans (for runs still open, or senders that do not aggregate).
RunTotals totals_of(const RunRow& run, const Fields& metadata,
                    const std::vector<const SpanRow*>& spans) {
  RunTotals totals;
  double in = 0, out = 0, cost = 0;
  bool any_in = false, any_out = false, any_cost = false;
  std::set<std::string> models;
  for (const SpanRow* span : spans) {
    ++totals.spans;
    if (span->status == "error") ++totals.error_spans;
    if (span->kind == "tool") ++totals.tool_calls;
    if (span->kind != "model") continue;
    const Fields attributes(span->attributes);
    if (auto v = attributes.number("input_tokens")) in += *v, any_in = true;
    if (auto v = attributes.number("output_tokens")) out += *v, any_out = true;
    if (auto v = attributes.number("cost_usd")) cost += *v, any_cost = true;
    if (auto m = attributes.string("model")) models.insert(*m);
  }
  (void)run;
  totals.input_tokens = metadata.number("total_input_tokens");
  totals.output_tokens = metadata.number("total_output_tokens");
  totals.cost_usd = metadata.number("cost_usd");
  if (!totals.input_tokens && any_in) totals.input_tokens = in;
  if (!totals.output_tokens && any_out) totals.output_tokens = out;
  if (!totals.cost_usd && any_cost) totals.cost_usd = cost;
  if (models.size() == 1) totals.model = *models.begin();
  return totals;
}

std::vector<std::string> tags_of(const Fields& metadata) {
  std::vector<std::string> tags;
  const auto* value = detail::member(metadata.doc, "tags");
  if (value == nullptr || !value->IsArray()) return tags;
  for (const auto& tag : value->GetArray()) {
    if (tag.IsString()) tags.emplace_back(tag.GetString(), tag.GetStringLength());
  }
  return tags;
}

void write_error_brief(Writer& w, const std::optional<std::string>& error_json) {
  const Fields error(error_json);
  if (!error_json || *error_json == "null") {
    w.Null();
    return;
  }
  w.StartObject();
  key(w, "type");
  opt_str(w, error.string("type"));
  key(w, "message");
  opt_str(w, error.string("message"));
  w.EndObject();
}

// The summary shared by the runs list and the run page.
void write_run_summary(Writer& w, const RunRow& run, const std::vector<const SpanRow*>& spans,
                       std::size_t events) {
  const Fields metadata(run.metadata);
  const RunTotals totals = totals_of(run, metadata, spans);
  key(w, "id");
  str(w, run.id);
  key(w, "session_id");
  str(w, run.session_id);
  key(w, "name");
  str(w, run.name);
  key(w, "status");
  str(w, run.status);
  key(w, "started_at");
  str(w, run.started_at);
  key(w, "ended_at");
  opt_str(w, run.ended_at);
  key(w, "latency_ms");
  opt_num(w, duration_ms(metadata, run.started_at, run.ended_at));
  key(w, "input_tokens");
  opt_num(w, totals.input_tokens);
  key(w, "output_tokens");
  opt_num(w, totals.output_tokens);
  key(w, "cost_usd");
  opt_num(w, totals.cost_usd);
  key(w, "model");
  opt_str(w, totals.model);
  key(w, "tags");
  w.StartArray();
  for (const std::string& tag : tags_of(metadata)) str(w, tag);
  w.EndArray();
  key(w, "project");
  opt_str(w, metadata.string("project"));
  key(w, "environment");
  opt_str(w, metadata.string("environment"));
  key(w, "error");
  write_error_brief(w, run.error);
  key(w, "span_count");
  w.Uint64(totals.spans);
  key(w, "error_span_count");
  w.Uint64(totals.error_spans);
  key(w, "tool_call_count");
  w.Uint64(totals.tool_calls);
  key(w, "event_count");
  w.Uint64(events);
}

std::string param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

std::size_t size_param(const httplib::Request& req, const char* name, std::size_t fallback,
                       std::size_t max) {
  const std::string text = param(req, name);
  if (text.empty()) return fallback;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0') return fallback;
  return std::min<std::size_t>(static_cast<std::size_t>(value), max);
}

bool contains_folded(std::string_view haystack, std::string_view needle) {
  const std::string h = detail::ascii_lower(haystack), n = detail::ascii_lower(needle);
  return h.find(n) != std::string::npos;
}

struct Index {
  explicit Index(const Snapshot& snapshot) {
    for (const SpanRow& span : snapshot.spans)
      spans[detail::ascii_lower(span.run_id)].push_back(&span);
    for (const EventRow& event : snapshot.events) ++events[detail::ascii_lower(event.run_id)];
  }
  const std::vector<const SpanRow*>& spans_of(const std::string& run_id) const {
    static const std::vector<const SpanRow*> kNone;
    auto it = spans.find(detail::ascii_lower(run_id));
    return it == spans.end() ? kNone : it->second;
  }
  std::size_t events_of(const std::string& run_id) const {
    auto it = events.find(detail::ascii_lower(run_id));
    return it == events.end() ? 0 : it->second;
  }
  std::unordered_map<std::string, std::vector<const SpanRow*>> spans;
  std::unordered_map<std::string, std::size_t> events;
};

std::vector<const RunRow*> newest_first(const Snapshot& snapshot) {
  std::vector<std::pair<std::int64_t, const RunRow*>> keyed;
  keyed.reserve(snapshot.runs.size());
  for (const RunRow& run : snapshot.runs)
    keyed.emplace_back(detail::epoch_us_or_zero(run.started_at), &run);
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return a.second->id > b.second->id;
  });
  std::vector<const RunRow*> out;
  for (const auto& [time, run] : keyed) out.push_back(run);
  return out;
}

std::string runs_json(const Snapshot& snapshot, const httplib::Request& req) {
  const std::string name = param(req, "name"), status = param(req, "status"),
                    tag = param(req, "tag"), session = detail::ascii_lower(param(req, "session"));
  const std::string since = param(req, "since"), until = param(req, "until");
  const std::int64_t since_us = since.empty() ? INT64_MIN : detail::epoch_us_or_zero(since);
  const std::int64_t until_us = until.empty() ? INT64_MAX : detail::epoch_us_or_zero(until);
  const std::size_t limit = size_param(req, "limit", 50, 500);
  const std::size_t offset = size_param(req, "offset", 0, SIZE_MAX);
  const Index index(snapshot);

  std::vector<const RunRow*> matched;
  for (const RunRow* run : newest_first(snapshot)) {
    if (!name.empty() && !contains_folded(run->name, name)) continue;
    if (!status.empty() && run->status != status) continue;
    if (!session.empty() && detail::ascii_lower(run->session_id) != session) continue;
    const std::int64_t started = detail::epoch_us_or_zero(run->started_at);
    if (started < since_us || started > until_us) continue;
    if (!tag.empty()) {
      const auto tags = tags_of(Fields(run->metadata));
      if (std::find(tags.begin(), tags.end(), tag) == tags.end()) continue;
    }
    matched.push_back(run);
  }
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "total");
  w.Uint64(matched.size());
  key(w, "offset");
  w.Uint64(offset);
  key(w, "limit");
  w.Uint64(limit);
  key(w, "running");
  std::size_t running = 0;
  for (const RunRow* run : matched) running += run->status == "running" ? 1 : 0;
  w.Uint64(running);
  key(w, "runs");
  w.StartArray();
  for (std::size_t i = offset; i < matched.size() && i < offset + limit; ++i) {
    w.StartObject();
    write_run_summary(w, *matched[i], index.spans_of(matched[i]->id),
                      index.events_of(matched[i]->id));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

// Spans of one run, parents before children, siblings by start time, with their depth.
std::vector<std::pair<const SpanRow*, int>> span_tree(const std::vector<const SpanRow*>& spans) {
  std::unordered_map<std::string, std::vector<const SpanRow*>> children;
  std::set<std::string> ids;
  for (const SpanRow* span : spans) ids.insert(span->id);
  std::vector<const SpanRow*> roots;
  for (const SpanRow* span : spans) {
    if (span->parent_span_id && ids.count(*span->parent_span_id) > 0) {
      children[*span->parent_span_id].push_back(span);
    } else {
      roots.push_back(span);
    }
  }
  auto by_start = [](const SpanRow* a, const SpanRow* b) {
    const auto ta = detail::epoch_us_or_zero(a->started_at),
               tb = detail::epoch_us_or_zero(b->started_at);
    return ta != tb ? ta < tb : a->id < b->id;
  };
  std::sort(roots.begin(), roots.end(), by_start);
  for (auto& [id, list] : children) std::sort(list.begin(), list.end(), by_start);
  std::vector<std::pair<const SpanRow*, int>> out;
  std::set<std::string> seen;
  std::vector<std::pair<const SpanRow*, int>> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    auto [span, depth] = stack.back();
    stack.pop_back();
    if (!seen.insert(span->id).second) continue;
    out.emplace_back(span, depth);
    auto found = children.find(span->id);
    if (found == children.end()) continue;
    for (auto it = found->second.rbegin(); it != found->second.rend(); ++it)
      stack.emplace_back(*it, depth + 1);
  }
  return out;
}

// What the page does with an event: a chat message, a tool call part, a metric or a log event.
const char* event_category(const EventRow& event) {
  const std::string& t = event.type;
  if (t == "user_input" || t == "system_message" || t == "assistant_message" || t == "reasoning" ||
      t == "final_response") {
    return "message";
  }
  if (t == "tool_arguments" || t == "tool_result") return "tool";
  const Fields attributes(event.attributes);
  if (attributes.string("northstar_type") == std::optional<std::string>("metric")) return "metric";
  return "event";
}

std::string run_json(const Snapshot& snapshot, const RunRow& run) {
  const std::vector<const SpanRow*> spans = snapshot.spans_of(run.id);
  const std::vector<const EventRow*> events = snapshot.events_of(run.id);
  const std::int64_t run_start = detail::epoch_us_or_zero(run.started_at);
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "run");
  w.StartObject();
  write_run_summary(w, run, spans, events.size());
  key(w, "metadata");
  raw(w, run.metadata);
  key(w, "error_detail");
  raw(w, run.error);
  w.EndObject();

  key(w, "spans");
  w.StartArray();
  std::unordered_map<std::string, std::size_t> span_events;
  for (const EventRow* event : events) {
    if (event->span_id) ++span_events[detail::ascii_lower(*event->span_id)];
  }
  for (const auto& [span, depth] : span_tree(spans)) {
    const Fields attributes(span->attributes);
    w.StartObject();
    key(w, "id");
    str(w, span->id);
    key(w, "parent_span_id");
    opt_str(w, span->parent_span_id);
    key(w, "depth");
    w.Int(depth);
    key(w, "kind");
    str(w, span->kind);
    key(w, "name");
    str(w, span->name);
    key(w, "status");
    str(w, span->status);
    key(w, "started_at");
    str(w, span->started_at);
    key(w, "ended_at");
    opt_str(w, span->ended_at);
    key(w, "offset_ms");
    w.Double(static_cast<double>(detail::epoch_us_or_zero(span->started_at) - run_start) / 1000.0);
    key(w, "duration_ms");
    opt_num(w, duration_ms(attributes, span->started_at, span->ended_at));
    key(w, "iteration");
    if (span->iteration) {
      w.Int64(*span->iteration);
    } else {
      w.Null();
    }
    key(w, "model");
    opt_str(w, attributes.string("model"));
    key(w, "input_tokens");
    opt_num(w, attributes.number("input_tokens"));
    key(w, "output_tokens");
    opt_num(w, attributes.number("output_tokens"));
    key(w, "cost_usd");
    opt_num(w, attributes.number("cost_usd"));
    key(w, "error");
    write_error_brief(w, span->error);
    key(w, "error_detail");
    raw(w, span->error);
    key(w, "attributes");
    raw(w, span->attributes);
    key(w, "event_count");
    auto found = span_events.find(detail::ascii_lower(span->id));
    w.Uint64(found == span_events.end() ? 0 : found->second);
    w.EndObject();
  }
  w.EndArray();

  key(w, "events");
  w.StartArray();
  std::vector<const EventRow*> ordered = events;
  std::stable_sort(ordered.begin(), ordered.end(), [](const EventRow* a, const EventRow* b) {
    return detail::epoch_us_or_zero(a->created_at) < detail::epoch_us_or_zero(b->created_at);
  });
  for (const EventRow* event : ordered) {
    w.StartObject();
    key(w, "id");
    str(w, event->id);
    key(w, "span_id");
    opt_str(w, event->span_id);
    key(w, "type");
    str(w, event->type);
    key(w, "category");
    w.String(event_category(*event));
    key(w, "created_at");
    str(w, event->created_at);
    key(w, "offset_ms");
    w.Double(static_cast<double>(detail::epoch_us_or_zero(event->created_at) - run_start) / 1000.0);
    key(w, "content");
    raw(w, event->content);
    key(w, "attributes");
    raw(w, event->attributes);
    w.EndObject();
  }
  w.EndArray();

  key(w, "scores");
  w.StartArray();
  for (const ScoreRow& score : snapshot.scores) {
    if (detail::ascii_lower(score.trace_id) != detail::ascii_lower(run.id)) continue;
    w.StartObject();
    key(w, "id");
    str(w, score.id);
    key(w, "span_id");
    opt_str(w, score.span_id);
    key(w, "name");
    str(w, score.name);
    key(w, "value");
    opt_num(w, score.value);
    key(w, "data_type");
    str(w, score.data_type);
    key(w, "string_value");
    opt_str(w, score.string_value);
    key(w, "source");
    str(w, score.source);
    key(w, "comment");
    opt_str(w, score.comment);
    key(w, "created_at");
    str(w, score.created_at);
    w.EndObject();
  }
  w.EndArray();

  // Totals per model over the run's model spans.
  struct ModelTotals {
    std::size_t spans = 0;
    double input = 0, output = 0, cost = 0;
    bool has_cost = false;
  };
  std::map<std::string, ModelTotals> models;
  for (const SpanRow* span : spans) {
    if (span->kind != "model") continue;
    const Fields attributes(span->attributes);
    ModelTotals& m = models[attributes.string("model").value_or("(unknown)")];
    ++m.spans;
    m.input += attributes.number("input_tokens").value_or(0);
    m.output += attributes.number("output_tokens").value_or(0);
    if (auto cost = attributes.number("cost_usd")) m.cost += *cost, m.has_cost = true;
  }
  key(w, "models");
  w.StartArray();
  for (const auto& [model, m] : models) {
    w.StartObject();
    key(w, "model");
    str(w, model);
    key(w, "spans");
    w.Uint64(m.spans);
    key(w, "input_tokens");
    w.Double(m.input);
    key(w, "output_tokens");
    w.Double(m.output);
    key(w, "cost_usd");
    opt_num(w, m.has_cost ? std::optional<double>(m.cost) : std::nullopt);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

std::string sessions_json(const Snapshot& snapshot) {
  const Index index(snapshot);
  struct Agg {
    std::size_t runs = 0, error_runs = 0, running = 0, tool_calls = 0;
    double input = 0, output = 0, cost = 0;
    std::string last_run;
  };
  std::unordered_map<std::string, Agg> aggs;
  for (const RunRow& run : snapshot.runs) {
    Agg& a = aggs[detail::ascii_lower(run.session_id)];
    ++a.runs;
    if (run.status == "error") ++a.error_runs;
    if (run.status == "running") ++a.running;
    const Fields metadata(run.metadata);
    const RunTotals totals = totals_of(run, metadata, index.spans_of(run.id));
    a.tool_calls += totals.tool_calls;
    a.input += totals.input_tokens.value_or(0);
    a.output += totals.output_tokens.value_or(0);
    a.cost += totals.cost_usd.value_or(0);
    if (run.started_at > a.last_run) a.last_run = run.started_at;
  }
  std::vector<const SessionRow*> sessions;
  for (const SessionRow& session : snapshot.sessions) sessions.push_back(&session);
  std::stable_sort(sessions.begin(), sessions.end(), [](const SessionRow* a, const SessionRow* b) {
    return detail::epoch_us_or_zero(a->created_at) > detail::epoch_us_or_zero(b->created_at);
  });
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "sessions");
  w.StartArray();
  for (const SessionRow* session : sessions) {
    const Agg& a = aggs[detail::ascii_lower(session->id)];
    w.StartObject();
    key(w, "id");
    str(w, session->id);
    key(w, "created_at");
    str(w, session->created_at);
    key(w, "ended_at");
    opt_str(w, session->ended_at);
    key(w, "metadata");
    raw(w, session->metadata);
    key(w, "run_count");
    w.Uint64(a.runs);
    key(w, "error_run_count");
    w.Uint64(a.error_runs);
    key(w, "running_run_count");
    w.Uint64(a.running);
    key(w, "tool_call_count");
    w.Uint64(a.tool_calls);
    key(w, "input_tokens");
    w.Double(a.input);
    key(w, "output_tokens");
    w.Double(a.output);
    key(w, "cost_usd");
    w.Double(a.cost);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

void json_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content("{\"error\":" + detail::json_quote(message) + "}", "application/json");
}

void set_page_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                 "form-action 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

}  // namespace

void Server::Impl::handle_dashboard(const httplib::Request& req, httplib::Response& res) {
  set_page_headers(res);
  if (req.method != "GET" && req.method != "HEAD") {
    return json_error(res, 405, "the dashboard is read-only (GET only)");
  }
  const std::string& path = req.path;
  if (path == "/") {
    res.status = 200;
    res.set_content(std::string(detail::kIndexHtml), "text/html; charset=utf-8");
    return;
  }
  if (path == "/ui/app.js") {
    res.status = 200;
    res.set_content(std::string(detail::kAppJs), "text/javascript; charset=utf-8");
    return;
  }
  if (path == "/ui/app.css") {
    res.status = 200;
    res.set_content(std::string(detail::kAppCss), "text/css; charset=utf-8");
    return;
  }
  if (path == "/favicon.ico") {
    res.status = 204;
    return;
  }
  try {
    if (path == "/api/runs") {
      res.status = 200;
      res.set_content(runs_json(store->snapshot(), req), "application/json");
      return;
    }
    if (path.rfind("/api/runs/", 0) == 0) {
      const std::string id = path.substr(std::string("/api/runs/").size());
      const Snapshot snapshot = store->snapshot();
      const RunRow* run = snapshot.find_run(id);
      if (run == nullptr) return json_error(res, 404, "run not found");
      res.status = 200;
      res.set_content(run_json(snapshot, *run), "application/json");
      return;
    }
    if (path == "/api/sessions") {
      res.status = 200;
      res.set_content(sessions_json(store->snapshot()), "application/json");
      return;
    }
  } catch (const std::exception& e) {
    return json_error(res, 500, std::string("cannot read the store: ") + e.what());
  }
  json_error(res, 404, "unknown dashboard path");
}

}  // namespace northstar_local

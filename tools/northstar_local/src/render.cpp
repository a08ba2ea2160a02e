// render.cpp: read-back of stored rows: Snapshot lookups, the run/span tree and JSON lines.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include <rapidjson/document.h>

#include "json.h"
#include "northstar_local/server.h"
#include "store.h"
#include "text.h"

namespace northstar_local {
namespace {

bool same_id(std::string_view a, std::string_view b) {
  return detail::ascii_lower(a) == detail::ascii_lower(b);
}

template <typename Row>
const Row* find_row(const std::vector<Row>& rows, std::string_view id) {
  for (const Row& row : rows) {
    if (same_id(row.id, id)) return &row;
  }
  return nullptr;
}

using detail::JsonObject;

std::string format_number(double value) {
  char buf[64];
  if (std::trunc(value) == value && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value));
  } else {
    std::snprintf(buf, sizeof buf, "%g", value);
  }
  return buf;
}

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// One-line text: control characters become spaces.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

std::string status_text(const std::string& status, const std::optional<std::string>& error) {
  if (status != "error") return "[" + status + "]";
  const JsonObject err(error);
  const auto message = err.string("message");
  if (!message) return "[error]";
  const auto type = err.string("type");
  return "[error: " + one_line(type ? *type + ": " + *message : *message) + "]";
}

std::string duration_text(const JsonObject& fields, const std::string& started_at,
                          const std::optional<std::string>& ended_at) {
  if (const auto latency = fields.number("latency_ms")) return format_fixed(*latency, 3) + " ms";
  if (ended_at) {
    const double ms = static_cast<double>(detail::epoch_us_or_zero(*ended_at) -
                                          detail::epoch_us_or_zero(started_at)) /
                      1000.0;
    return format_fixed(ms, 3) + " ms";
  }
  return "-";
}

std::string event_counts(const std::vector<const EventRow*>& events) {
  std::map<std::string, int> by_type;
  for (const EventRow* event : events) ++by_type[event->type];
  std::string out = "events=" + std::to_string(events.size());
  if (by_type.empty()) return out;
  out += " (";
  bool first = true;
  for (const auto& [type, count] : by_type) {
    if (!first) out += " ";
    first = false;
    out += type + ":" + std::to_string(count);
  }
  return out + ")";
}

std::string tokens_text(const JsonObject& fields, const char* in_key, const char* out_key,
                        const char* total_key) {
  std::string out;
  auto add = [&](const char* label, const char* key) {
    if (key == nullptr) return;
    if (const auto value = fields.number(key)) {
      out += out.empty() ? "tokens " : " ";
      out += std::string(label) + "=" + format_number(*value);
    }
  };
  add("in", in_key);
  add("out", out_key);
  add("total", total_key);
  return out;
}

void append_part(std::string& line, const std::string& part) {
  if (!part.empty()) line += "  " + part;
}

// Rows grouped for rendering; read-only after construction. Not thread-safe; local use.
struct TreeIndex {
  std::unordered_map<std::string, std::vector<const SpanRow*>> spans_by_run;
  std::unordered_map<std::string, std::vector<const SpanRow*>> children;
  std::unordered_map<std::string, std::vector<const EventRow*>> run_events;   // span_id null
  std::unordered_map<std::string, std::vector<const EventRow*>> span_events;  // by span id
  std::unordered_map<std::string, std::size_t> run_event_totals;
  std::unordered_map<std::string, std::vector<const ScoreRow*>> scores_by_run;
};

bool earlier(const std::string& a_time, const std::string& a_id, const std::string& b_time,
             const std::string& b_id) {
  const auto a = detail::epoch_us_or_zero(a_time), b = detail::epoch_us_or_zero(b_time);
  return a != b ? a < b : a_id < b_id;
}

// One line per event, in time order: "> type +12.345 ms content" (content cut to 400 bytes).
void render_events(std::string& out, std::vector<const EventRow*> events, int depth,
                   const std::string& run_started) {
  std::stable_sort(events.begin(), events.end(), [](const EventRow* a, const EventRow* b) {
    return detail::epoch_us_or_zero(a->created_at) < detail::epoch_us_or_zero(b->created_at);
  });
  const std::int64_t start = detail::epoch_us_or_zero(run_started);
  for (const EventRow* event : events) {
    std::string content = one_line(event->content);
    if (content.size() > 400) {
      std::size_t cut = 400;
      while (cut > 0 && (static_cast<unsigned char>(content[cut]) & 0xC0) == 0x80) --cut;
      content = content.substr(0, cut) + "...";
    }
    const JsonObject attributes(event->attributes);
    std::string type = event->type;
    if (const auto kind = attributes.string("northstar_type")) type += "/" + one_line(*kind);
    out +=
        std::string(static_cast<std::size_t>(depth) * 2, ' ') + "> " + type + " +" +
        format_fixed(
            static_cast<double>(detail::epoch_us_or_zero(event->created_at) - start) / 1000.0, 3) +
        " ms " + content + "\n";
  }
}

void render_span(std::string& out, const SpanRow& span, int depth, const TreeIndex& index) {
  const JsonObject attributes(span.attributes);
  std::string line(static_cast<std::size_t>(depth) * 2, ' ');
  line += "- " + span.kind + " " + detail::json_quote(span.name) + " " +
          status_text(span.status, span.error) + " " +
          duration_text(attributes, span.started_at, span.ended_at);
  if (span.iteration) append_part(line, "iteration=" + std::to_string(*span.iteration));
  if (const auto model = attributes.string("model")) append_part(line, "model=" + one_line(*model));
  append_part(line, tokens_text(attributes, "input_tokens", "output_tokens", "total_tokens"));
  if (const auto cost = attributes.number("cost_usd"))
    append_part(line, "cost=$" + format_fixed(*cost, 6));
  const auto events = index.span_events.find(span.id);
  append_part(line, event_counts(events == index.span_events.end() ? std::vector<const EventRow*>{}
                                                                   : events->second));
  out += line + "\n";
}

}  // namespace

const SessionRow* Snapshot::find_session(std::string_view id) const {
  return find_row(sessions, id);
}
const RunRow* Snapshot::find_run(std::string_view id) const { return find_row(runs, id); }
const SpanRow* Snapshot::find_span(std::string_view id) const { return find_row(spans, id); }
const EventRow* Snapshot::find_event(std::string_view id) const { return find_row(events, id); }

std::vector<const SpanRow*> Snapshot::spans_of(std::string_view run_id) const {
  std::vector<const SpanRow*> out;
  for (const SpanRow& span : spans) {
    if (same_id(span.run_id, run_id)) out.push_back(&span);
  }
  return out;
}

std::vector<const EventRow*> Snapshot::events_of(std::string_view run_id) const {
  std::vector<const EventRow*> out;
  for (const EventRow& event : events) {
    if (same_id(event.run_id, run_id)) out.push_back(&event);
  }
  return out;
}

Snapshot read_snapshot(const std::string& db_path) {
  return detail::Store::open_read_only(db_path)->snapshot();
}

std::string render_tree(const Snapshot& snapshot) { return render_tree(snapshot, TreeOptions{}); }

std::string render_tree(const Snapshot& snapshot, const TreeOptions& options) {
  TreeIndex index;
  for (const SpanRow& span : snapshot.spans) index.spans_by_run[span.run_id].push_back(&span);
  for (const EventRow& event : snapshot.events) {
    ++index.run_event_totals[event.run_id];
    if (event.span_id) {
      index.span_events[*event.span_id].push_back(&event);
    } else {
      index.run_events[event.run_id].push_back(&event);
    }
  }
  for (const ScoreRow& score : snapshot.scores)
    index.scores_by_run[score.trace_id].push_back(&score);

  std::vector<const RunRow*> runs;
  for (const RunRow& run : snapshot.runs) {
    if (!options.run_ids.empty() &&
        std::none_of(options.run_ids.begin(), options.run_ids.end(),
                     [&run](const std::string& id) { return same_id(id, run.id); })) {
      continue;
    }
    runs.push_back(&run);
  }
  std::sort(runs.begin(), runs.end(), [](const RunRow* a, const RunRow* b) {
    return earlier(a->started_at, a->id, b->started_at, b->id);
  });
  auto by_start = [](const SpanRow* a, const SpanRow* b) {
    return earlier(a->started_at, a->id, b->started_at, b->id);
  };

  std::string out;
  for (const RunRow* run : runs) {
    const JsonObject metadata(run->metadata);
    std::string line = "run " + detail::json_quote(run->name) + " " +
                       status_text(run->status, run->error) + " " +
                       duration_text(metadata, run->started_at, run->ended_at);
    append_part(line, tokens_text(metadata, "total_input_tokens", "total_output_tokens", nullptr));
    if (const auto cost = metadata.number("cost_usd"))
      append_part(line, "cost=$" + format_fixed(*cost, 6));
    const auto run_events = index.run_events.find(run->id);
    append_part(line,
                event_counts(run_events == index.run_events.end() ? std::vector<const EventRow*>{}
                                                                  : run_events->second));
    out += line + "\n";

    const auto spans_found = index.spans_by_run.find(run->id);
    const std::vector<const SpanRow*> spans = spans_found == index.spans_by_run.end()
                                                  ? std::vector<const SpanRow*>{}
                                                  : spans_found->second;
    const auto total_events = index.run_event_totals.find(run->id);
    out += "  id=" + run->id + " session=" + run->session_id + " project=" + run->project_id +
           " started=" + one_line(run->started_at) + " spans=" + std::to_string(spans.size()) +
           " events_total=" +
           std::to_string(total_events == index.run_event_totals.end() ? 0 : total_events->second) +
           "\n";
    if (options.events && run_events != index.run_events.end()) {
      render_events(out, run_events->second, 2, run->started_at);
    }

    // Children of each span within this run; roots are spans whose parent is not in the run.
    std::set<std::string> in_run;
    for (const SpanRow* span : spans) in_run.insert(span->id);
    std::unordered_map<std::string, std::vector<const SpanRow*>> children;
    std::vector<const SpanRow*> roots;
    for (const SpanRow* span : spans) {
      if (span->parent_span_id && in_run.count(*span->parent_span_id) > 0 &&
          *span->parent_span_id != span->id) {
        children[*span->parent_span_id].push_back(span);
      } else {
        roots.push_back(span);
      }
    }
    std::sort(roots.begin(), roots.end(), by_start);
    for (auto& [parent, list] : children) std::sort(list.begin(), list.end(), by_start);

    // Depth-first without recursion; `visited` guards against cycles in a hand-edited database.
    std::set<std::string> visited;
    std::vector<std::pair<const SpanRow*, int>> stack;
    for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.emplace_back(*it, 1);
    while (!stack.empty()) {
      const auto [span, depth] = stack.back();
      stack.pop_back();
      if (!visited.insert(span->id).second) continue;
      render_span(out, *span, depth, index);
      if (options.events) {
        if (const auto found = index.span_events.find(span->id); found != index.span_events.end()) {
          render_events(out, found->second, depth + 2, run->started_at);
        }
      }
      const auto kids = children.find(span->id);
      if (kids == children.end()) continue;
      for (auto it = kids->second.rbegin(); it != kids->second.rend(); ++it) {
        stack.emplace_back(*it, depth + 1);
      }
    }

    const auto scores = index.scores_by_run.find(run->id);
    if (scores != index.scores_by_run.end()) {
      std::vector<const ScoreRow*> sorted = scores->second;
      std::sort(sorted.begin(), sorted.end(), [](const ScoreRow* a, const ScoreRow* b) {
        return earlier(a->created_at, a->id, b->created_at, b->id);
      });
      for (const ScoreRow* score : sorted) {
        std::string score_line = "  * score " + detail::json_quote(score->name) + " = " +
                                 (score->string_value ? detail::json_quote(*score->string_value)
                                                      : format_number(score->value)) +
                                 " (" + score->data_type + ")";
        if (score->span_id) score_line += " span=" + *score->span_id;
        out += score_line + "\n";
      }
    }
    out += "\n";
  }
  if (!options.run_ids.empty()) return out;
  if (runs.empty()) out += "no runs\n";
  auto plural = [](std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  out += plural(snapshot.sessions.size(), "session", "sessions") + ", " +
         plural(snapshot.runs.size(), "run", "runs") + ", " +
         plural(snapshot.spans.size(), "span", "spans") + ", " +
         plural(snapshot.events.size(), "event", "events") + ", " +
         plural(snapshot.scores.size(), "score", "scores") + ", " +
         plural(snapshot.prompt_links.size(), "prompt link", "prompt links") + "\n";
  return out;
}

namespace {

// Builds one JSON-lines row. Not thread-safe; local use.
class LineWriter {
 public:
  explicit LineWriter(const char* table) { line_ = "{\"table\":" + detail::json_quote(table); }
  LineWriter& text(const char* key, const std::string& value) {
    return raw(key, detail::json_quote(value));
  }
  LineWriter& text(const char* key, const std::optional<std::string>& value) {
    return raw(key, value ? detail::json_quote(*value) : "null");
  }
  LineWriter& json(const char* key, const std::string& value) { return raw(key, value); }
  LineWriter& json(const char* key, const std::optional<std::string>& value) {
    return raw(key, value ? *value : "null");
  }
  LineWriter& raw(const char* key, const std::string& value) {
    line_ += ',';  // piece by piece: `"," + std::string&&` trips a GCC 12 -Wrestrict false positive
    line_ += detail::json_quote(key);
    line_ += ':';
    line_ += value;
    return *this;
  }
  std::string done() { return line_ + "}\n"; }

 private:
  std::string line_;
};

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  // Prefer the shortest text that reads back to the same double.
  for (int precision = 1; precision <= 17; ++precision) {
    char probe[64];
    std::snprintf(probe, sizeof probe, "%.*g", precision, value);
    if (std::strtod(probe, nullptr) == value) return probe;
  }
  return buf;
}

}  // namespace

std::string render_json_lines(const Snapshot& snapshot) {
  std::string out;
  for (const SessionRow& s : snapshot.sessions) {
    out += LineWriter("sessions")
               .text("id", s.id)
               .text("project_id", s.project_id)
               .text("created_at", s.created_at)
               .text("ended_at", s.ended_at)
               .json("metadata", s.metadata)
               .done();
  }
  for (const RunRow& r : snapshot.runs) {
    out += LineWriter("runs")
               .text("id", r.id)
               .text("session_id", r.session_id)
               .text("project_id", r.project_id)
               .text("name", r.name)
               .text("started_at", r.started_at)
               .text("ended_at", r.ended_at)
               .text("status", r.status)
               .json("error", r.error)
               .json("metadata", r.metadata)
               .done();
  }
  for (const SpanRow& sp : snapshot.spans) {
    out += LineWriter("spans")
               .text("id", sp.id)
               .text("run_id", sp.run_id)
               .text("project_id", sp.project_id)
               .text("parent_span_id", sp.parent_span_id)
               .text("kind", sp.kind)
               .text("name", sp.name)
               .text("started_at", sp.started_at)
               .text("ended_at", sp.ended_at)
               .text("status", sp.status)
               .json("error", sp.error)
               .raw("iteration", sp.iteration ? std::to_string(*sp.iteration) : "null")
               .json("attributes", sp.attributes)
               .done();
  }
  for (const EventRow& e : snapshot.events) {
    out += LineWriter("events")
               .text("id", e.id)
               .text("run_id", e.run_id)
               .text("span_id", e.span_id)
               .text("project_id", e.project_id)
               .text("type", e.type)
               .text("created_at", e.created_at)
               .json("content", e.content)
               .json("attributes", e.attributes)
               .done();
  }
  for (const ScoreRow& s : snapshot.scores) {
    out += LineWriter("scores")
               .text("id", s.id)
               .text("project_id", s.project_id)
               .text("trace_id", s.trace_id)
               .text("span_id", s.span_id)
               .text("name", s.name)
               .raw("value", json_number(s.value))
               .text("data_type", s.data_type)
               .text("string_value", s.string_value)
               .text("source", s.source)
               .text("comment", s.comment)
               .text("created_at", s.created_at)
               .done();
  }
  for (const PromptLinkRow& l : snapshot.prompt_links) {
    out += LineWriter("prompt_links")
               .text("project_id", l.project_id)
               .text("trace_id", l.trace_id)
               .text("span_id", l.span_id)
               .text("prompt_version_id", l.prompt_version_id)
               .json("variable_values", l.variable_values)
               .text("linked_at", l.linked_at)
               .done();
  }
  return out;
}

}  // namespace northstar_local

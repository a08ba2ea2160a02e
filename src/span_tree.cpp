// span_tree.cpp: rebuilds span trees from span start/end records (see span.h for their shape).
#include "dagstack/logger/span_tree.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <stdexcept>
#include <utility>

#include "dagstack/logger/jsonl_reader.h"

namespace dagstack::logger {
namespace {

using TraceKey = std::array<std::uint8_t, 16>;
using SpanKey = std::array<std::uint8_t, 8>;

const std::string* string_attr(const OwnedLogRecord& r, std::string_view key) {
  const Value* v = r.attribute(key);
  return (v != nullptr && v->is_string()) ? &v->as_string() : nullptr;
}

// A span under construction: the node without children, plus bookkeeping.
struct Pending {
  SpanNode node;
  std::size_t order = 0;  // first appearance in the input
  std::size_t parent = static_cast<std::size_t>(-1);
  std::vector<std::size_t> children;
};

struct TraceBuild {
  TraceTree tree;
  std::vector<Pending> spans;
  std::map<SpanKey, std::size_t> index;
  std::vector<const OwnedLogRecord*> others;  // non-span records, in input order
};

void apply_span_record(Pending& p, const OwnedLogRecord& r, bool is_end) {
  SpanNode& n = p.node;
  if (const auto* s = string_attr(r, "operation.name")) n.name = *s;
  if (n.name.empty() && r.body.is_string()) n.name = r.body.as_string();
  if (const auto* s = string_attr(r, "operation.kind")) n.kind = *s;
  if (const auto* s = string_attr(r, "operation.parent.id")) {
    try {
      n.parent_span_id = SpanId::from_hex(*s);
    } catch (const std::invalid_argument&) {
      // A malformed parent id: treat the span as a root.
    }
  }
  for (const auto& [k, v] : r.attributes) n.attributes.insert_or_assign(k, v);
  if (is_end) {
    n.has_end = true;
    n.end_time_unix_nano = r.time_unix_nano;
    if (const auto* s = string_attr(r, "operation.status")) n.status = *s;
    if (const auto* s = string_attr(r, "operation.status.message")) n.status_message = *s;
    if (const Value* d = r.attribute("dagstack.span.duration_ns"); d != nullptr && d->is_int()) {
      n.duration_ns = d->as_int();
    }
  } else {
    n.has_start = true;
    n.start_time_unix_nano = r.time_unix_nano;
  }
}

// When the span began, for ordering siblings: the start record's time, else end - duration.
std::uint64_t begin_time(const SpanNode& n) {
  if (n.has_start) return n.start_time_unix_nano;
  if (n.has_end && n.duration_ns && *n.duration_ns >= 0 &&
      static_cast<std::uint64_t>(*n.duration_ns) <= n.end_time_unix_nano) {
    return n.end_time_unix_nano - static_cast<std::uint64_t>(*n.duration_ns);
  }
  return n.end_time_unix_nano;
}

void sort_siblings(std::vector<std::size_t>& ids, const std::vector<Pending>& spans) {
  std::stable_sort(ids.begin(), ids.end(), [&](std::size_t a, std::size_t b) {
    const std::uint64_t ta = begin_time(spans[a].node);
    const std::uint64_t tb = begin_time(spans[b].node);
    return ta != tb ? ta < tb : spans[a].order < spans[b].order;
  });
}

TraceTree finish(TraceBuild& b) {
  auto& spans = b.spans;
  const std::size_t none = static_cast<std::size_t>(-1);

  // Link parents present in this trace.
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const SpanId& parent = spans[i].node.parent_span_id;
    if (!parent.valid()) continue;
    auto it = b.index.find(parent.bytes);
    if (it != b.index.end() && it->second != i) spans[i].parent = it->second;
  }
  // Break cycles (corrupt input): walk up from every span; a walk that meets a span of its own
  // path cuts the link where it closed the loop.
  std::vector<int> state(spans.size(), 0);  // 0 = new, 1 = on the current path, 2 = done
  std::vector<std::size_t> path;
  for (std::size_t start = 0; start < spans.size(); ++start) {
    path.clear();
    std::size_t cur = start;
    while (cur != none && state[cur] == 0) {
      state[cur] = 1;
      path.push_back(cur);
      const std::size_t up = spans[cur].parent;
      if (up != none && state[up] == 1) {
        spans[cur].parent = none;  // cycle: make `cur` a root
        break;
      }
      cur = up;
    }
    for (std::size_t i : path) state[i] = 2;
  }

  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (spans[i].parent == none) {
      roots.push_back(i);
    } else {
      spans[spans[i].parent].children.push_back(i);
    }
  }

  // Records inside spans.
  for (const OwnedLogRecord* r : b.others) {
    auto it = r->span_id.valid() ? b.index.find(r->span_id.bytes) : b.index.end();
    if (it != b.index.end()) {
      spans[it->second].node.records.push_back(*r);
    } else {
      b.tree.unattached_records.push_back(*r);
    }
  }

  // Assemble bottom-up without recursion: a post-order over an explicit stack.
  for (auto& p : spans) sort_siblings(p.children, spans);
  sort_siblings(roots, spans);
  std::vector<std::pair<std::size_t, bool>> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.emplace_back(*it, false);
  std::vector<std::size_t> post_order;
  while (!stack.empty()) {
    auto [i, expanded] = stack.back();
    stack.pop_back();
    if (expanded) {
      post_order.push_back(i);
      continue;
    }
    stack.emplace_back(i, true);
    for (std::size_t c : spans[i].children) stack.emplace_back(c, false);
  }
  for (std::size_t i : post_order) {
    SpanNode& n = spans[i].node;
    n.children.reserve(spans[i].children.size());
    for (std::size_t c : spans[i].children) n.children.push_back(std::move(spans[c].node));
  }
  b.tree.roots.reserve(roots.size());
  for (std::size_t r : roots) b.tree.roots.push_back(std::move(spans[r].node));
  return std::move(b.tree);
}

}  // namespace

std::size_t SpanNode::span_count() const noexcept {
  std::size_t n = 1;
  for (const auto& c : children) n += c.span_count();
  return n;
}

const SpanNode* SpanNode::find(const SpanId& id) const noexcept {
  if (span_id == id) return this;
  for (const auto& c : children) {
    if (const SpanNode* f = c.find(id)) return f;
  }
  return nullptr;
}

std::size_t TraceTree::span_count() const noexcept {
  std::size_t n = 0;
  for (const auto& r : roots) n += r.span_count();
  return n;
}

const SpanNode* TraceTree::find(const SpanId& id) const noexcept {
  for (const auto& r : roots) {
    if (const SpanNode* f = r.find(id)) return f;
  }
  return nullptr;
}

std::vector<TraceTree> build_span_trees(const std::vector<OwnedLogRecord>& records) {
  std::vector<TraceBuild> builds;
  std::map<TraceKey, std::size_t> traces;
  auto trace_for = [&](const TraceId& id) -> TraceBuild& {
    auto [it, inserted] = traces.emplace(id.bytes, builds.size());
    if (inserted) {
      builds.emplace_back();
      builds.back().tree.trace_id = id;
    }
    return builds[it->second];
  };

  std::size_t order = 0;
  for (const OwnedLogRecord& r : records) {
    if (!r.trace_id.valid()) continue;
    TraceBuild& b = trace_for(r.trace_id);
    const std::string* event = string_attr(r, "dagstack.span.event");
    const bool is_span =
        event != nullptr && (*event == "start" || *event == "end") && r.span_id.valid();
    if (!is_span) {
      b.others.push_back(&r);
      continue;
    }
    auto [it, inserted] = b.index.emplace(r.span_id.bytes, b.spans.size());
    if (inserted) {
      b.spans.emplace_back();
      Pending& p = b.spans.back();
      p.order = order++;
      p.node.trace_id = r.trace_id;
      p.node.span_id = r.span_id;
    }
    apply_span_record(b.spans[it->second], r, *event == "end");
  }

  std::vector<TraceTree> out;
  out.reserve(builds.size());
  for (auto& b : builds) out.push_back(finish(b));
  return out;
}

std::vector<TraceTree> build_span_trees_from_file(const std::string& path,
                                                  std::size_t* skipped_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open JSON-lines file '" + path + "'");
  std::vector<OwnedLogRecord> records;
  std::size_t skipped = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      records.push_back(parse_jsonl_record(line));
    } catch (const std::invalid_argument&) {
      ++skipped;
    }
  }
  if (in.bad()) throw std::runtime_error("error reading JSON-lines file '" + path + "'");
  if (skipped_lines != nullptr) *skipped_lines = skipped;
  return build_span_trees(records);
}

}  // namespace dagstack::logger

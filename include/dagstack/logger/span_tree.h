// span_tree.h: declares `build_span_trees`, which rebuilds every trace's span tree (spans,
// their parentage, status, duration and the records logged inside them) from log records or a
// dagstack JSON-lines file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dagstack/logger/log_record.h"
#include "dagstack/logger/trace_ids.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger {

// SpanNode
//
// One span rebuilt from its start and/or end record (either may be missing: a process that died
// mid-span leaves no end record). Value type, thread-compatible.
struct SpanNode {
  std::string name;  // operation.name
  std::string kind;  // operation.kind
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;       // invalid (all zero) for a root span
  std::string status;          // operation.status of the end record; "" when it is missing
  std::string status_message;  // operation.status.message, if any
  std::optional<std::int64_t> duration_ns;  // dagstack.span.duration_ns of the end record
  std::uint64_t start_time_unix_nano = 0;   // of the start record; 0 when it is missing
  std::uint64_t end_time_unix_nano = 0;     // of the end record; 0 when it is missing
  bool has_start = false;
  bool has_end = false;
  // Every attribute of the start record, overlaid by those of the end record (operation.*,
  // dagstack.span.* and exception.* included).
  Value::Map attributes;
  std::vector<SpanNode> children;       // ordered by start time, then by input order
  std::vector<OwnedLogRecord> records;  // other records logged inside this span, in input order

  // False when the end record is missing (the span never finished, or its record was lost).
  bool ended() const noexcept { return has_end; }
  // This span and all its descendants.
  std::size_t span_count() const noexcept;
  // This span or a descendant with `id`, or nullptr.
  const SpanNode* find(const SpanId& id) const noexcept;
};

// TraceTree
//
// All spans of one trace. Value type, thread-compatible.
struct TraceTree {
  TraceId trace_id;
  // Spans whose parent is not among the records: root spans, and children of a remote parent
  // (one that arrived in a traceparent header). Ordered like SpanNode::children.
  std::vector<SpanNode> roots;
  // Records of this trace whose span has no start or end record (e.g. logged under a remote
  // parent context), in input order.
  std::vector<OwnedLogRecord> unattached_records;

  std::size_t span_count() const noexcept;
  const SpanNode* find(const SpanId& id) const noexcept;
};

// Rebuilds the span trees of every trace found in `records` (in any order; traces are returned in
// the order of their first record). Span records are those carrying `dagstack.span.event`
// ("start"/"end") with a trace and span id; every other record with a trace id is attached to
// its span. Records without a trace id are ignored. Parent cycles in corrupt input are broken.
// Thread-safe (pure).
std::vector<TraceTree> build_span_trees(const std::vector<OwnedLogRecord>& records);

// The same from a dagstack JSON-lines file. Blank lines are skipped; lines that are not valid
// records (e.g. a line cut short by a crash) are skipped and counted in `*skipped_lines` when
// given. Throws std::runtime_error when the file cannot be read.
std::vector<TraceTree> build_span_trees_from_file(const std::string& path,
                                                  std::size_t* skipped_lines = nullptr);

}  // namespace dagstack::logger

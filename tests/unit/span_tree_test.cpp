// span_tree_test.cpp: build_span_trees on hand-made records: parentage, sibling order, missing
// start or end records, remote parents, unattached records, and corrupt (cyclic) input.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "dagstack/logger/span_tree.h"

namespace dagstack::logger {
namespace {

const TraceId kTrace = TraceId::from_hex("0123456789abcdef0123456789abcdef");
const TraceId kOther = TraceId::from_hex("fedcba9876543210fedcba9876543210");

SpanId sid(int n) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016x", n);
  return SpanId::from_hex(hex);
}

OwnedLogRecord span_record(const TraceId& trace, int span, int parent, const std::string& name,
                           const std::string& event, std::uint64_t time, const std::string& status = "ok",
                           std::int64_t duration_ns = 1000) {
  OwnedLogRecord r;
  r.time_unix_nano = time;
  r.body = name;
  r.trace_id = trace;
  r.span_id = sid(span);
  r.trace_flags = 1;
  r.instrumentation_scope = InstrumentationScope{"dagstack.trace", {}, {}};
  r.attributes = {{"dagstack.span.event", event},
                  {"operation.name", name},
                  {"operation.id", sid(span).to_hex()},
                  {"operation.kind", "internal"}};
  if (parent != 0) r.attributes.emplace("operation.parent.id", sid(parent).to_hex());
  if (event == "end") {
    r.attributes.emplace("operation.status", status);
    r.attributes.emplace("operation.duration_ms", duration_ns / 1'000'000);
    r.attributes.emplace("dagstack.span.duration_ns", duration_ns);
  }
  return r;
}

OwnedLogRecord log_record(const TraceId& trace, int span, const std::string& body, std::uint64_t time) {
  OwnedLogRecord r;
  r.time_unix_nano = time;
  r.body = body;
  r.trace_id = trace;
  if (span != 0) r.span_id = sid(span);
  r.instrumentation_scope = InstrumentationScope{"app", {}, {}};
  return r;
}

TEST(SpanTreeTest, BuildsParentageAndOrdersSiblingsByStart) {
  const std::vector<OwnedLogRecord> records = {
      span_record(kTrace, 1, 0, "root", "start", 100),
      span_record(kTrace, 3, 1, "second", "start", 300),  // out of order in the input
      span_record(kTrace, 2, 1, "first", "start", 200),
      log_record(kTrace, 2, "in first", 210),
      span_record(kTrace, 2, 1, "first", "end", 250, "ok", 50),
      span_record(kTrace, 4, 3, "grandchild", "start", 310),
      span_record(kTrace, 4, 3, "grandchild", "end", 320, "timeout", 10),
      span_record(kTrace, 3, 1, "second", "end", 400, "error", 100),
      log_record(kTrace, 1, "in root", 500),
      span_record(kTrace, 1, 0, "root", "end", 600, "ok", 500),
      log_record(TraceId{}, 0, "no trace", 700),
  };
  const auto traces = build_span_trees(records);
  ASSERT_EQ(traces.size(), 1u);
  const TraceTree& t = traces[0];
  EXPECT_EQ(t.trace_id, kTrace);
  EXPECT_EQ(t.span_count(), 4u);
  ASSERT_EQ(t.roots.size(), 1u);
  const SpanNode& root = t.roots[0];
  EXPECT_EQ(root.name, "root");
  EXPECT_EQ(root.start_time_unix_nano, 100u);
  EXPECT_EQ(root.end_time_unix_nano, 600u);
  EXPECT_EQ(root.duration_ns, 500);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(root.children[0].name, "first");
  EXPECT_EQ(root.children[1].name, "second");
  EXPECT_EQ(root.children[1].status, "error");
  ASSERT_EQ(root.children[1].children.size(), 1u);
  EXPECT_EQ(root.children[1].children[0].status, "timeout");
  ASSERT_EQ(root.children[0].records.size(), 1u);
  EXPECT_EQ(root.children[0].records[0].body, Value("in first"));
  ASSERT_EQ(root.records.size(), 1u);
  EXPECT_EQ(t.find(sid(4))->name, "grandchild");
  EXPECT_EQ(t.find(sid(99)), nullptr);
}

TEST(SpanTreeTest, ToleratesMissingEndAndMissingStart) {
  const std::vector<OwnedLogRecord> records = {
      span_record(kTrace, 1, 0, "root", "start", 100),
      // child 2: start only (never ended); child 3: end only (its start was lost).
      span_record(kTrace, 2, 1, "unfinished", "start", 150),
      span_record(kTrace, 3, 1, "late_joiner", "end", 400, "ok", 300),  // began at 100
  };
  const auto traces = build_span_trees(records);
  ASSERT_EQ(traces.size(), 1u);
  const SpanNode& root = traces[0].roots.at(0);
  EXPECT_FALSE(root.ended());
  EXPECT_EQ(root.status, "");
  EXPECT_FALSE(root.duration_ns.has_value());
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(root.children[0].name, "late_joiner");  // ordered by end - duration = 100 < 150
  EXPECT_FALSE(root.children[0].has_start);
  EXPECT_TRUE(root.children[0].ended());
  EXPECT_EQ(root.children[1].name, "unfinished");
  EXPECT_FALSE(root.children[1].ended());
}

TEST(SpanTreeTest, RemoteParentsAndUnattachedRecords) {
  const std::vector<OwnedLogRecord> records = {
      log_record(kTrace, 77, "logged under the remote parent", 50),
      span_record(kTrace, 2, 77, "handler", "start", 100),
      span_record(kTrace, 2, 77, "handler", "end", 200),
      span_record(kOther, 5, 0, "other_root", "start", 10),
  };
  const auto traces = build_span_trees(records);
  ASSERT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces[0].trace_id, kTrace);  // order of first appearance
  ASSERT_EQ(traces[0].roots.size(), 1u);
  EXPECT_EQ(traces[0].roots[0].name, "handler");
  EXPECT_EQ(traces[0].roots[0].parent_span_id, sid(77));  // kept, though not in the input
  ASSERT_EQ(traces[0].unattached_records.size(), 1u);
  EXPECT_EQ(traces[1].roots.at(0).name, "other_root");
}

TEST(SpanTreeTest, CyclesInCorruptInputAreBroken) {
  const std::vector<OwnedLogRecord> records = {
      span_record(kTrace, 1, 2, "a", "start", 100),
      span_record(kTrace, 2, 3, "b", "start", 200),
      span_record(kTrace, 3, 1, "c", "start", 300),
      span_record(kTrace, 4, 4, "self", "start", 400),
  };
  const auto traces = build_span_trees(records);
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_EQ(traces[0].span_count(), 4u);  // nothing lost
  EXPECT_EQ(traces[0].roots.size(), 2u);  // the cycle cut once, the self-parent a root
}

TEST(SpanTreeTest, EmptyInput) { EXPECT_TRUE(build_span_trees({}).empty()); }

}  // namespace
}  // namespace dagstack::logger

// span_test.cpp: Span — trace/child creation, the current context while open, the start/end
// record shape, status, attributes, exceptions, duration, moves, and the id generators.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/bind_context.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "dagstack/logger/span.h"
#include "dagstack/logger/stacktrace.h"
#include "dagstack/logger/w3c.h"
#include "detail/context_data.h"

namespace dagstack::logger {
namespace {

const TraceId kTrace = TraceId::from_hex("0123456789abcdef0123456789abcdef");
const SpanId kSpan = SpanId::from_hex("0123456789abcdef");

class SpanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dagstack::logger::prepare_stacktraces(
        /*wait=*/true);  // record_exception does not wait for the debug info
    Logger::reset();
    sink_ = std::make_shared<InMemorySink>(1000);
    ConfigureOptions o;
    o.sinks = SinkList{sink_};
    configure(o);
    log_ = Logger::get("span.test");
  }
  void TearDown() override {
    // Tests that end spans out of order leave a stale (but valid) context current; start clean.
    detail::exchange_current_context_data(nullptr);
    Logger::reset();
  }

  // Span records (start/end) in order.
  std::vector<OwnedLogRecord> span_records(std::string_view event = {}) const {
    std::vector<OwnedLogRecord> out;
    for (auto& r : sink_->records()) {
      const Value* e = r.attribute("dagstack.span.event");
      if (e != nullptr && (event.empty() || e->as_string() == event)) out.push_back(r);
    }
    return out;
  }
  static std::string str(const OwnedLogRecord& r, std::string_view key) {
    const Value* v = r.attribute(key);
    return v != nullptr && v->is_string() ? v->as_string() : std::string("<missing>");
  }

  std::shared_ptr<InMemorySink> sink_;
  Logger log_ = Logger::get("span.test");
};

TEST_F(SpanTest, RootSpanStartsANewTraceAndIsCurrentWhileOpen) {
  {
    Span span("load_config");
    EXPECT_TRUE(span.trace_id().valid());
    EXPECT_TRUE(span.span_id().valid());
    EXPECT_FALSE(span.parent_span_id().valid());
    EXPECT_EQ(span.context().trace_flags(), 1);
    EXPECT_EQ(Context::current().span_id(), span.span_id());
    EXPECT_EQ(Context::current().trace_id(), span.trace_id());
    EXPECT_EQ(span.name(), "load_config");
    EXPECT_EQ(span.kind(), "internal");
    EXPECT_FALSE(span.ended());
  }
  EXPECT_FALSE(Context::current().has_span());
}

TEST_F(SpanTest, StartAndEndRecordShape) {
  SpanId id;
  {
    Span span("fetch_user", {.kind = "query", .attributes = {{"user.id", 7}}});
    id = span.span_id();
  }
  const auto records = span_records();
  ASSERT_EQ(records.size(), 2u);
  const OwnedLogRecord& start = records[0];
  const OwnedLogRecord& end = records[1];
  for (const auto* r : {&start, &end}) {
    EXPECT_EQ(r->severity_number, kSeverityInfo);
    EXPECT_EQ(r->body, Value("fetch_user"));
    ASSERT_TRUE(r->instrumentation_scope.has_value());
    EXPECT_EQ(r->instrumentation_scope->name, "dagstack.trace");
    EXPECT_EQ(r->span_id, id);
    EXPECT_EQ(r->trace_flags, 1);
    EXPECT_EQ(str(*r, "operation.name"), "fetch_user");
    EXPECT_EQ(str(*r, "operation.id"), id.to_hex());
    EXPECT_EQ(str(*r, "operation.kind"), "query");
    EXPECT_EQ(r->attribute("operation.parent.id"), nullptr);  // a root span
    EXPECT_EQ(*r->attribute("user.id"), Value(7));
  }
  EXPECT_EQ(str(start, "dagstack.span.event"), "start");
  EXPECT_EQ(start.attributes.size(), 5u);  // event, name, id, kind + user.id
  EXPECT_EQ(str(end, "dagstack.span.event"), "end");
  EXPECT_EQ(str(end, "operation.status"), "ok");
  EXPECT_EQ(end.attribute("operation.status.message"), nullptr);
  ASSERT_NE(end.attribute("operation.duration_ms"), nullptr);
  EXPECT_TRUE(end.attribute("operation.duration_ms")->is_int());
  ASSERT_NE(end.attribute("dagstack.span.duration_ns"), nullptr);
  EXPECT_TRUE(end.attribute("dagstack.span.duration_ns")->is_int());
  EXPECT_EQ(end.attributes.size(), 8u);
}

TEST_F(SpanTest, ChildSpanSharesTheTraceAndNamesItsParent) {
  Span parent("request");
  {
    Span child("db_query");
    EXPECT_EQ(child.trace_id(), parent.trace_id());
    EXPECT_EQ(child.parent_span_id(), parent.span_id());
    EXPECT_NE(child.span_id(), parent.span_id());
    EXPECT_EQ(Context::current().span_id(), child.span_id());
  }
  EXPECT_EQ(Context::current().span_id(), parent.span_id());
  const auto starts = span_records("start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(str(starts[1], "operation.parent.id"), parent.span_id().to_hex());
  const auto ends = span_records("end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(str(ends[0], "operation.parent.id"), parent.span_id().to_hex());
}

TEST_F(SpanTest, ExplicitParentOption) {
  Span remote_child("handle", {.parent = Context::with_span(kTrace, kSpan)});
  EXPECT_EQ(remote_child.trace_id(), kTrace);
  EXPECT_EQ(remote_child.parent_span_id(), kSpan);
  {
    // An explicit empty parent starts a new trace even inside a span.
    Span fresh("detached", {.parent = Context()});
    EXPECT_NE(fresh.trace_id(), kTrace);
    EXPECT_FALSE(fresh.parent_span_id().valid());
  }
}

TEST_F(SpanTest, RecordsInsideCarryTheSpanIds) {
  SpanId inner;
  {
    Span outer("outer");
    log_.info("in outer");
    Span span("inner");
    inner = span.span_id();
    log_.info("in inner");
  }
  log_.info("outside");
  const auto records = sink_->records();
  for (const auto& r : records) {
    if (r.body == Value("in inner")) {
      EXPECT_EQ(r.span_id, inner);
    }
    if (r.body == Value("outside")) {
      EXPECT_FALSE(r.trace_id.valid());
    }
  }
}

TEST_F(SpanTest, StatusTexts) {
  { Span a("a"); }
  {
    Span b("b");
    b.set_status(SpanStatus::kOk);
  }
  {
    Span c("c");
    c.set_status(SpanStatus::kError, "db down");
  }
  {
    Span d("d");
    d.set_status(SpanStatus::kCancelled, "client left");
  }
  {
    Span e("e");
    e.set_status(SpanStatus::kTimeout);
  }
  const auto ends = span_records("end");
  ASSERT_EQ(ends.size(), 5u);
  EXPECT_EQ(str(ends[0], "operation.status"), "ok");
  EXPECT_EQ(str(ends[1], "operation.status"), "ok");
  EXPECT_EQ(str(ends[2], "operation.status"), "error");
  EXPECT_EQ(str(ends[2], "operation.status.message"), "db down");
  EXPECT_EQ(str(ends[3], "operation.status"), "cancelled");
  EXPECT_EQ(str(ends[3], "operation.status.message"), "client left");
  EXPECT_EQ(str(ends[4], "operation.status"), "timeout");
  EXPECT_EQ(ends[4].attribute("operation.status.message"), nullptr);
  EXPECT_EQ(to_string(SpanStatus::kUnset), "unset");
  EXPECT_EQ(wire_status(SpanStatus::kUnset), "ok");
  EXPECT_EQ(wire_status(SpanStatus::kCancelled), "cancelled");
}

TEST_F(SpanTest, AttributesMergeAndReservedKeysWin) {
  {
    Span span("op", {.attributes = {{"a", 1}, {"b", "initial"}, {"operation.name", "spoofed"}}});
    span.set_attribute("b", "updated");
    span.set_attribute("c", Value::array({1, 2}));
    span.set_attribute("operation.status", "spoofed");
  }
  const auto start = span_records("start").at(0);
  EXPECT_EQ(*start.attribute("b"), Value("initial"));
  EXPECT_EQ(start.attribute("c"), nullptr);
  EXPECT_EQ(str(start, "operation.name"), "op");
  const auto end = span_records("end").at(0);
  EXPECT_EQ(*end.attribute("a"), Value(1));
  EXPECT_EQ(*end.attribute("b"), Value("updated"));
  EXPECT_EQ(*end.attribute("c"), Value::array({1, 2}));
  EXPECT_EQ(str(end, "operation.name"), "op");
  EXPECT_EQ(str(end, "operation.status"), "ok");
}

TEST_F(SpanTest, SpanAttributesAreRedacted) {
  {
    Span span("auth", {.attributes = {{"api_key", "k"}}});
    span.set_attribute("session_token", "t");
  }
  const auto end = span_records("end").at(0);
  EXPECT_EQ(*end.attribute("api_key"), Value("***"));
  EXPECT_EQ(*end.attribute("session_token"), Value("***"));
}

// noinline: the test looks for this frame by name, also in an -O3 build.
[[gnu::noinline]] void fail_inside_span_named_function(Span& span) {
  try {
    throw std::runtime_error("quota exceeded");
  } catch (const std::exception& e) {
    span.record_exception(e);
  }
}

TEST_F(SpanTest, RecordExceptionMarksErrorAndAddsExceptionAttributes) {
  {
    Span span("call_llm");
    fail_inside_span_named_function(span);
  }
  const auto end = span_records("end").at(0);
  EXPECT_EQ(str(end, "operation.status"), "error");
  EXPECT_EQ(str(end, "operation.status.message"), "quota exceeded");
  EXPECT_EQ(str(end, "exception.type"), "std::runtime_error");
  EXPECT_EQ(str(end, "exception.message"), "quota exceeded");
  const std::string stack = str(end, "exception.stacktrace");
  EXPECT_NE(stack.find("fail_inside_span_named_function"), std::string::npos) << stack;
  EXPECT_EQ(stack.find("record_exception"), std::string::npos)
      << stack;  // library frames are left out
}

TEST_F(SpanTest, RecordExceptionKeepsAnExplicitMessageAndTakesExceptionPtr) {
  {
    Span span("work");
    span.set_status(SpanStatus::kError, "explicit");
    try {
      throw 42;
    } catch (...) {
      span.record_exception(std::current_exception());
    }
    span.record_exception(std::exception_ptr());  // ignored
  }
  const auto end = span_records("end").at(0);
  EXPECT_EQ(str(end, "operation.status.message"), "explicit");
  EXPECT_EQ(str(end, "exception.type"), "int");
}

TEST_F(SpanTest, DurationIsMeasured) {
  {
    Span span("sleepy");
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  const auto end = span_records("end").at(0);
  const std::int64_t ms = end.attribute("operation.duration_ms")->as_int();
  const std::int64_t ns = end.attribute("dagstack.span.duration_ns")->as_int();
  EXPECT_GE(ms, 25);
  EXPECT_LT(ms, 5000);
  EXPECT_EQ(ms, ns / 1'000'000);
  EXPECT_GE(ns, 25'000'000);
}

TEST_F(SpanTest, EndIsIdempotentAndLaterChangesAreIgnored) {
  {
    Span span("once");
    span.end();
    EXPECT_TRUE(span.ended());
    EXPECT_FALSE(Context::current().has_span());
    span.set_attribute("late", 1);
    span.set_status(SpanStatus::kError);
    span.record_exception(std::runtime_error("late"));
    span.end();
  }
  EXPECT_EQ(span_records("start").size(), 1u);
  const auto ends = span_records("end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].attribute("late"), nullptr);
  EXPECT_EQ(str(ends[0], "operation.status"), "ok");
}

Span open_in_helper(std::string_view name) { return Span(name); }

TEST_F(SpanTest, MovesKeepTheContextValid) {
  Span moved = open_in_helper("moved");
  EXPECT_EQ(Context::current().span_id(), moved.span_id());
  log_.info("while moved span open");
  EXPECT_EQ(sink_->records().back().span_id, moved.span_id());

  std::vector<Span> spans;
  spans.push_back(std::move(moved));
  EXPECT_TRUE(moved.ended());  // NOLINT(bugprone-use-after-move): the moved-from span is inert
  EXPECT_FALSE(moved.context().has_span());
  EXPECT_EQ(Context::current().span_id(), spans[0].span_id());
  spans[0].end();
  EXPECT_FALSE(Context::current().has_span());
  EXPECT_EQ(span_records("end").size(), 1u);
}

TEST_F(SpanTest, MoveAssignmentEndsTheTargetFirst) {
  Span a("a");
  const SpanId a_id = a.span_id();
  a = Span("b", {.parent = Context()});  // "b" is a new root, opened inside "a"
  const auto ends = span_records("end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].span_id, a_id);
  EXPECT_EQ(a.name(), "b");
  a.end();
  EXPECT_EQ(span_records("end").size(), 2u);
}

TEST_F(SpanTest, BaggageTraceStateAndScopedSinksArePreserved) {
  auto scoped = std::make_shared<InMemorySink>(100);
  ScopedContext bag(Context().set_baggage("tenant.id", "acme"));
  auto guard = Logger::get().scope_sinks({scoped});
  {
    Span span("tenant_work");
    EXPECT_EQ(*span.context().baggage_value("tenant.id"), "acme");
    log_.info("inside");
  }
  EXPECT_EQ(sink_->size(), 0u);  // everything went to the scoped sink
  const auto records = scoped->records();
  ASSERT_EQ(records.size(), 3u);
  for (const auto& r : records) EXPECT_EQ(*r.attribute("tenant.id"), Value("acme"));
}

TEST_F(SpanTest, ChildOfARemoteParentKeepsItsTraceState) {
  ScopedContext remote(Context::with_span(kTrace, kSpan).set_trace_state("rojo=1"));
  Span child("handle");
  EXPECT_EQ(child.context().trace_state(), "rojo=1");
  Span root("fresh", {.parent = Context().set_baggage("k", "v")});
  EXPECT_EQ(root.context().trace_state(), "");
}

TEST_F(SpanTest, SpanRecordsCarryIdsEvenWithAutoInjectOff) {
  ConfigureOptions o;
  o.auto_inject_trace_context = false;
  configure(o);
  SpanId id;
  {
    Span span("explicit");
    id = span.span_id();
    log_.info("plain inside");
  }
  for (const auto& r : span_records()) EXPECT_EQ(r.span_id, id);
  for (const auto& r : sink_->records()) {
    if (r.body == Value("plain inside")) {
      EXPECT_FALSE(r.trace_id.valid());
    }
  }
}

TEST_F(SpanTest, SpansSurviveARaisedRootLevel) {
  ConfigureOptions o;
  o.root_level = "WARN";
  configure(o);
  {
    Span span("quiet_service");
    log_.info("dropped by the root level");
  }
  EXPECT_EQ(span_records().size(), 2u);
  EXPECT_EQ(sink_->size(), 2u);
}

TEST_F(SpanTest, OutOfOrderEndIsMemorySafe) {
  auto parent = std::make_unique<Span>("parent");
  auto child = std::make_unique<Span>("child");
  parent.reset();  // ended while the child is current: the child stays current
  EXPECT_EQ(Context::current().span_id(), child->span_id());
  log_.info("still in child");
  child.reset();
  // The child restores what was current when it opened (the ended parent's context), which is
  // kept alive; no dangling pointer is left behind.
  log_.info("after both");
  EXPECT_EQ(span_records("end").size(), 2u);
}

TEST_F(SpanTest, EndedOnAnotherThreadLeavesNoDanglingContext) {
  auto span = std::make_unique<Span>("handed_over");
  const SpanId id = span->span_id();
  std::thread other([s = std::move(span)]() mutable { s.reset(); });
  other.join();
  // This thread still names the span (it was never restored here), but the data is alive.
  EXPECT_EQ(Context::current().span_id(), id);
  log_.info("after the hand-over");
  EXPECT_EQ(sink_->records().back().span_id, id);
}

TEST_F(SpanTest, ChildOnAnotherThreadThroughACapturedContext) {
  Span parent("fan_out");
  SpanId child_parent;
  TraceId child_trace;
  std::thread worker(bind_context([&] {
    Span child("worker_task");
    child_parent = child.parent_span_id();
    child_trace = child.trace_id();
  }));
  worker.join();
  EXPECT_EQ(child_parent, parent.span_id());
  EXPECT_EQ(child_trace, parent.trace_id());
}

TEST_F(SpanTest, HttpHopContinuesTheTrace) {
  // Client: a span, its headers injected into the outgoing request.
  W3CHeaders headers;
  TraceId client_trace;
  SpanId client_span;
  {
    ScopedContext bag(Context().set_baggage("tenant.id", "acme"));
    Span call("http_call", {.kind = "client"});
    client_trace = call.trace_id();
    client_span = call.span_id();
    headers = inject_w3c_headers(Context::current());
  }
  EXPECT_EQ(headers.traceparent,
            "00-" + client_trace.to_hex() + "-" + client_span.to_hex() + "-01");
  EXPECT_EQ(headers.baggage, "tenant.id=acme");
  // Server (another thread here): the request's context parents the handler span.
  SpanId server_parent;
  TraceId server_trace;
  std::thread server([&] {
    ScopedContext incoming(
        from_w3c_headers(headers.traceparent, headers.tracestate, headers.baggage));
    Span handler("handle_request", {.kind = "server"});
    server_parent = handler.parent_span_id();
    server_trace = handler.trace_id();
    log_.info("handling");
  });
  server.join();
  EXPECT_EQ(server_trace, client_trace);
  EXPECT_EQ(server_parent, client_span);
  EXPECT_EQ(*sink_->records().back().attribute("tenant.id"), Value("acme"));
}

TEST_F(SpanTest, RecordsRoundTripThroughTheJsonLinesReader) {
  { Span span("wire"); }
  for (const auto& line : sink_->lines()) {
    const OwnedLogRecord r = parse_jsonl_record(line);
    EXPECT_TRUE(r.trace_id.valid());
    EXPECT_TRUE(r.attribute("dagstack.span.event") != nullptr);
  }
}

TEST(SpanIdsTest, NeverZeroAndUnique) {
  std::set<std::string> traces;
  std::set<std::string> spans;
  for (int i = 0; i < 20000; ++i) {
    const TraceId t = new_trace_id();
    const SpanId s = new_span_id();
    ASSERT_TRUE(t.valid());
    ASSERT_TRUE(s.valid());
    traces.insert(t.to_hex());
    spans.insert(s.to_hex());
  }
  EXPECT_EQ(traces.size(), 20000u);
  EXPECT_EQ(spans.size(), 20000u);
}

TEST(SpanIdsTest, ThreadsDrawDifferentIds) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(new_span_id().to_hex());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace dagstack::logger

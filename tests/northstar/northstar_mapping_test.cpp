// northstar_mapping_test.cpp: records -> NorthStar entities, through the real logger pipeline and
// the tracing API, with a fake transport: run/span tree, kinds, iterations, typed events and their
// order, content always present, redaction, metrics, model usage and cost, run totals, latency,
// errors, capture flags, metadata, outside-trace policy, deterministic ids and replay.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <stdexcept>
#include <thread>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/northstar.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "dagstack/logger/span.h"
#include "agent_scenario.h"
#include "northstar_test_support.h"

namespace dagstack::logger::northstar {
namespace {

using namespace std::chrono_literals;
using testing::collect;
using testing::Collected;
using testing::FakeTransport;
using testing::str;

class NorthStarMappingTest : public ::testing::Test {
 protected:
  void SetUp() override { Logger::reset(); }
  void TearDown() override {
    if (sink_) sink_->close();
    Logger::reset();
  }

  // A sink that sends only on flush (huge batch size and interval), installed at the root
  // together with an in-memory sink that sees the same records.
  std::shared_ptr<NorthStarSink> install(NorthStarOptions o = {}) {
    o.api_key = "ns_test";
    o.endpoint = "http://127.0.0.1:9/functions/v1/ingest-traces";
    o.batch_size = 100000;
    o.max_queue_size = 100000;
    o.max_batch_records = 100000;
    o.flush_interval = 600s;
    o.transport = transport_;
    sink_ = make_northstar_sink(o);
    memory_ = std::make_shared<InMemorySink>(10000);
    ConfigureOptions c;
    c.sinks = SinkList{sink_, memory_};
    configure(c);
    return sink_;
  }

  Collected flush_and_collect() {
    EXPECT_TRUE(sink_->flush(5s).success);
    return collect(transport_->bodies());
  }

  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::shared_ptr<NorthStarSink> sink_;
  std::shared_ptr<InMemorySink> memory_;
};

std::string run_agent() { return testing::run_two_iteration_agent(); }

TEST_F(NorthStarMappingTest, TwoIterationAgentBuildsTheTree) {
  install({.project = "support", .environment = "dev"});
  const std::string run_id = run_agent();
  const Collected c = flush_and_collect();

  ASSERT_EQ(c.sessions.size(), 1u);
  EXPECT_EQ(c.sessions.begin()->first, sink_->session_id());
  ASSERT_EQ(c.runs.size(), 1u);
  const Value& run = c.run(run_id);
  EXPECT_EQ(str(run, "name"), "support-agent");
  EXPECT_EQ(str(run, "status"), "ok");
  EXPECT_EQ(str(run, "session_id"), sink_->session_id());
  EXPECT_FALSE(str(run, "ended_at").empty());
  EXPECT_EQ(run.find("error"), nullptr);

  const Value& meta = *run.find("metadata");
  EXPECT_EQ(*meta.find("project"), Value("support"));
  EXPECT_EQ(*meta.find("environment"), Value("dev"));
  EXPECT_EQ(*meta.find("user_id"), Value("u-42"));
  EXPECT_EQ(*meta.find("token"), Value("[REDACTED]"));
  EXPECT_EQ(*meta.find("tags"), Value::array({"cpp", "demo"}));
  EXPECT_EQ(*meta.find("total_input_tokens"), Value(200));
  EXPECT_EQ(*meta.find("total_output_tokens"), Value(40));
  EXPECT_NEAR(meta.find("cost_usd")->as_double(), 2 * (100 * 2.5e-6 + 20 * 1.0e-5), 1e-12);
  EXPECT_GE(meta.find("latency_ms")->as_double(), 0.0);

  ASSERT_EQ(c.spans.size(), 6u);
  std::map<std::string, int> kinds;
  for (const auto& [id, s] : c.spans) {
    ++kinds[str(s, "kind")];
    EXPECT_EQ(str(s, "run_id"), run_id);
    EXPECT_EQ(str(s, "status"), "ok");
    EXPECT_GE(s.find("attributes")->find("latency_ms")->as_double(), 0.0);
  }
  EXPECT_EQ(kinds["agent"], 2);
  EXPECT_EQ(kinds["model"], 2);
  EXPECT_EQ(kinds["tool"], 2);
  std::vector<std::int64_t> iterations;
  for (const auto& id : c.span_order) {
    const Value& s = c.span(id);
    if (str(s, "kind") == "agent") {
      EXPECT_EQ(s.find("parent_span_id"), nullptr);  // children of the run itself
      iterations.push_back(s.find("iteration")->as_int());
      EXPECT_EQ(*s.find("attributes")->find("step"), Value(s.find("iteration")->as_int()));
    } else {
      const std::string parent = str(s, "parent_span_id");
      ASSERT_TRUE(c.spans.count(parent)) << "parent of " << str(s, "name");
      EXPECT_EQ(str(c.span(parent), "kind"), "agent");
      EXPECT_EQ(s.find("iteration"), nullptr);
    }
  }
  EXPECT_EQ(iterations, (std::vector<std::int64_t>{1, 2}));

  const Value& model = *c.span_named("answer-llm").find("attributes");
  EXPECT_EQ(*model.find("model"), Value("gpt-4o"));
  EXPECT_EQ(*model.find("input_tokens"), Value(100));
  EXPECT_EQ(*model.find("output_tokens"), Value(20));
  EXPECT_EQ(*model.find("total_tokens"), Value(120));
  EXPECT_EQ(*model.find("pricing_source"), Value("table"));
  EXPECT_NEAR(model.find("cost_usd")->as_double(), 100 * 2.5e-6 + 20 * 1.0e-5, 1e-12);
  EXPECT_EQ(model.find("gen_ai.request.model"), nullptr);  // mapped, not copied
  EXPECT_EQ(*c.span_named("search_docs").find("attributes")->find("index"), Value("docs-v2"));

  EXPECT_EQ(c.event_types(run_id), testing::two_iteration_agent_event_types());

  const auto events = c.events_of(run_id);
  // The trace input: on the run (no span_id), redacted.
  EXPECT_EQ(events[0].find("span_id"), nullptr);
  EXPECT_EQ(*events[0].find("content")->find("password"), Value("[REDACTED]"));
  EXPECT_EQ(*events[0].find("content")->find("query"), Value("reset password"));
  // Model messages sit on the model span.
  EXPECT_EQ(str(events[1], "span_id"), str(c.span_named("answer-llm"), "id"));
  EXPECT_EQ(*events[1].find("content"), Value("Answer briefly."));
  // The assistant's tool call, normalised.
  EXPECT_EQ(*events[3].find("content"),
            Value::map({{"id", "call-1"}, {"name", "search_docs"}, {"arguments", R"({"q":"reset"})"}}));
  EXPECT_EQ(*events[3].find("attributes"), Value::map({{"tool_call_id", "call-1"}, {"name", "search_docs"}}));
  // log_event on the tool span, data redacted.
  EXPECT_EQ(*events[5].find("content"),
            Value::map({{"name", "cache_miss"}, {"data", Value::map({{"key", "reset"}, {"api_key", "[REDACTED]"}})}}));
  EXPECT_EQ(*events[5].find("attributes"), Value::map({{"northstar_type", "event"}}));
  // The metric, on the run, not redacted.
  const Value& metric = events[events.size() - 2];
  EXPECT_EQ(*metric.find("content"), Value::map({{"name", "confidence"}, {"value", 0.86}}));
  EXPECT_EQ(*metric.find("attributes"), Value::map({{"northstar_type", "metric"}}));
  EXPECT_EQ(metric.find("span_id"), nullptr);
  EXPECT_EQ(*events.back().find("content"), Value("Use the reset link."));
}

TEST_F(NorthStarMappingTest, OnlyWhitelistedKeysValidIdsAndTimestamps) {
  install();
  run_agent();
  const Collected c = flush_and_collect();
  const std::set<std::string> session_keys = {"id", "created_at", "ended_at", "metadata"};
  const std::set<std::string> run_keys = {"id", "session_id", "name", "started_at", "ended_at", "status", "error", "metadata"};
  const std::set<std::string> span_keys = {"id", "run_id", "parent_span_id", "kind", "name", "started_at", "ended_at",
                                           "status", "error", "iteration", "attributes"};
  const std::set<std::string> event_keys = {"id", "run_id", "span_id", "type", "created_at", "content", "attributes"};
  const std::regex ts(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$)");
  auto check = [&](const Value& e, const std::set<std::string>& allowed, std::vector<std::string> times) {
    for (const auto& [k, v] : e.as_map()) EXPECT_TRUE(allowed.count(k)) << "unexpected key " << k;
    EXPECT_TRUE(is_uuid_v4(str(e, "id"))) << str(e, "id");
    for (const auto& t : times) {
      if (e.find(t)) {
        EXPECT_TRUE(std::regex_match(str(e, t), ts)) << t << "=" << str(e, t);
      }
    }
  };
  for (const auto& [id, s] : c.sessions) check(s, session_keys, {"created_at", "ended_at"});
  for (const auto& [id, r] : c.runs) check(r, run_keys, {"started_at", "ended_at"});
  for (const auto& [id, s] : c.spans) check(s, span_keys, {"started_at", "ended_at"});
  for (const auto& e : c.events) {
    check(e, event_keys, {"created_at"});
    EXPECT_NE(e.find("content"), nullptr);  // always present (SDK bug B1)
    EXPECT_TRUE(e.find("attributes")->is_map());
  }
  for (const auto& body : transport_->bodies()) {
    const Value doc = testing::parse_json(body);
    EXPECT_EQ(*doc.find("schema_version"), Value(2));
    for (const char* k : {"sessions", "runs", "spans", "events", "scores", "prompt_links"}) {
      ASSERT_NE(doc.find(k), nullptr) << k;
      EXPECT_TRUE(doc.find(k)->is_array());
    }
  }
  const auto calls = transport_->calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls[0].request.url, "http://127.0.0.1:9/functions/v1/ingest-traces");
  bool auth = false;
  bool json = false;
  for (const auto& [k, v] : calls[0].request.headers) {
    auth = auth || (k == "Authorization" && v == "Bearer ns_test");
    json = json || (k == "Content-Type" && v == "application/json");
  }
  EXPECT_TRUE(auth);
  EXPECT_TRUE(json);
}

TEST_F(NorthStarMappingTest, NullInputIsSentAsExplicitNullContent) {
  install();
  { auto run = trace("null-input", {.input = Value()}); }
  const Collected c = flush_and_collect();
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(str(c.events[0], "type"), "user_input");
  EXPECT_TRUE(c.events[0].find("content")->is_null());
  EXPECT_NE(transport_->bodies()[0].find("\"content\":null"), std::string::npos);
}

TEST_F(NorthStarMappingTest, UsageWithUnknownModelAndProviderCost) {
  install({.pricing_overrides = {{"house-model", {1e-6, 2e-6}}}});
  std::string run_id;
  {
    auto run = trace("pricing");
    run_id = run.id();
    {
      auto a = run.model_call("local", "my-local-llm");
      a.record_usage(10, 5);
    }
    {
      auto b = model_call("provider", "gpt-4o");
      b.record_usage(1000, 100, 0.5);
    }
    {
      auto h = model_call("house", "house-model");
      h.record_usage(1000, 1000);
    }
  }
  const Collected c = flush_and_collect();
  const Value& unknown = *c.span_named("local").find("attributes");
  EXPECT_EQ(*unknown.find("pricing_source"), Value("unknown"));
  EXPECT_EQ(unknown.find("cost_usd"), nullptr);
  EXPECT_EQ(*unknown.find("total_tokens"), Value(15));
  const Value& provider = *c.span_named("provider").find("attributes");
  EXPECT_EQ(*provider.find("pricing_source"), Value("provider"));
  EXPECT_EQ(*provider.find("cost_usd"), Value(0.5));
  const Value& house = *c.span_named("house").find("attributes");
  EXPECT_NEAR(house.find("cost_usd")->as_double(), 0.003, 1e-12);
  const Value& meta = *c.run(run_id).find("metadata");
  EXPECT_NEAR(meta.find("cost_usd")->as_double(), 0.503, 1e-12);
  EXPECT_EQ(*meta.find("total_input_tokens"), Value(2010));
  EXPECT_EQ(*meta.find("total_output_tokens"), Value(1105));
}

TEST_F(NorthStarMappingTest, RunWithoutModelSpansHasNoCostKeys) {
  install();
  { auto run = trace("plain"); }
  const Collected c = flush_and_collect();
  const Value& meta = *c.runs.begin()->second.find("metadata");
  EXPECT_EQ(meta.find("cost_usd"), nullptr);
  EXPECT_EQ(meta.find("total_input_tokens"), nullptr);
  EXPECT_NE(meta.find("latency_ms"), nullptr);
}

namespace app_errors {
struct ModelGarbage : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace app_errors

TEST_F(NorthStarMappingTest, ExceptionsThatEndASpanRecordTheirRealTypeAndMessage) {
  install();
  std::string unwound, helper, caught_before, not_std;
  EXPECT_THROW(
      {
        auto run = trace("unwound");
        unwound = run.id();
        throw app_errors::ModelGarbage("model returned garbage");
      },
      app_errors::ModelGarbage);
  EXPECT_THROW(
      {
        auto run = trace("helper");
        helper = run.id();
        run.run([] { throw std::out_of_range("index 7"); });
      },
      std::out_of_range);
  try {
    throw std::logic_error("handled before the scope opened");
  } catch (const std::exception&) {
  }
  {
    auto run = trace("clean");
    caught_before = run.id();
  }
  EXPECT_THROW(
      {
        auto run = trace("int");
        not_std = run.id();
        throw 42;
      },
      int);
  const Collected c = flush_and_collect();
  const std::string ns = "dagstack::logger::northstar::(anonymous namespace)::app_errors";
  EXPECT_EQ(*c.run(unwound).find("error"),
            Value::map({{"type", ns + "::ModelGarbage"},
                        {"message", "model returned garbage"},
                        {"module", ns}}));
  EXPECT_EQ(str(*c.run(helper).find("error"), "type"), "std::out_of_range");
  EXPECT_EQ(str(*c.run(helper).find("error"), "message"), "index 7");
  EXPECT_EQ(str(c.run(caught_before), "status"), "ok");  // an old, handled throw is not blamed
  EXPECT_EQ(str(*c.run(not_std).find("error"), "type"), "int");
  EXPECT_EQ(str(*c.run(not_std).find("error"), "message"), "");
}

TEST_F(NorthStarMappingTest, ErrorsMarkSpansAndRuns) {
  install();
  std::string unwound_id;
  std::string recorded_id;
  EXPECT_THROW(
      {
        auto run = trace("unwound");
        unwound_id = run.id();
        auto tool = span("flaky", SpanKind::kTool);
        throw std::runtime_error("boom");
      },
      std::runtime_error);
  {
    auto run = trace("recorded");
    recorded_id = run.id();
    auto tool = span("lookup", SpanKind::kTool);
    try {
      throw std::invalid_argument("no such order");
    } catch (const std::exception& e) {
      tool.record_error(e);
      run.record_error(e);
    }
  }
  auto observed = observe("divide", [](int a, int b) {
    if (b == 0) throw std::domain_error("division by zero");
    return a / b;
  });
  {
    auto run = trace("observed");
    EXPECT_EQ(observed(6, 3), 2);
    EXPECT_THROW(observed(1, 0), std::domain_error);
  }
  const Collected c = flush_and_collect();
  EXPECT_EQ(str(c.run(unwound_id), "status"), "error");
  // The exception's real type and message (recorded when it was thrown, Linux + libstdc++).
  EXPECT_EQ(*c.run(unwound_id).find("error"),
            Value::map({{"type", "std::runtime_error"}, {"message", "boom"}, {"module", "std"}}));
  EXPECT_EQ(str(c.span_named("flaky"), "status"), "error");
  EXPECT_EQ(str(*c.span_named("flaky").find("error"), "type"), "std::runtime_error");

  const Value& rec = c.run(recorded_id);
  EXPECT_EQ(str(rec, "status"), "error");
  EXPECT_EQ(*rec.find("error"),
            Value::map({{"type", "std::invalid_argument"}, {"message", "no such order"}, {"module", "std"}}));
  EXPECT_EQ(str(*c.span_named("lookup").find("error"), "message"), "no such order");

  // observe: one ok call, one failed call (both tool spans with arguments/results).
  std::vector<const Value*> divides;
  for (const auto& id : c.span_order) {
    if (str(c.span(id), "name") == "divide") divides.push_back(&c.span(id));
  }
  ASSERT_EQ(divides.size(), 2u);
  EXPECT_EQ(str(*divides[0], "status"), "ok");
  EXPECT_EQ(str(*divides[0], "kind"), "tool");
  EXPECT_EQ(str(*divides[1], "status"), "error");
  EXPECT_EQ(str(*divides[1]->find("error"), "type"), "std::domain_error");
  std::vector<Value> contents;
  for (const auto& e : c.events) {
    if (str(e, "span_id") == str(*divides[0], "id")) contents.push_back(*e.find("content"));
  }
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(contents[0], Value::map({{"args", Value::array({6, 3})}}));
  EXPECT_EQ(contents[1], Value(2));
  std::size_t failed_events = 0;
  for (const auto& e : c.events) {
    if (str(e, "span_id") == str(*divides[1], "id")) {
      ++failed_events;
      EXPECT_EQ(str(e, "type"), "tool_arguments");
    }
  }
  EXPECT_EQ(failed_events, 1u);
}

TEST_F(NorthStarMappingTest, GlobalCaptureFlagsFilterEventsAndPerTraceFlagsOverride) {
  install({.capture_inputs = false, .capture_outputs = false});
  {
    auto run = trace("global-off", {.input = "secret question"});
    auto tool = span("t", SpanKind::kTool);
    tool.record_arguments("a");
    tool.record_result("r");
    log_event("kept");  // custom events are always captured
    run.set_output("secret answer");
  }
  {
    auto run = trace("override-on", {.input = "q", .capture_input = true, .capture_output = true});
    run.set_output("a");
  }
  const Collected c = flush_and_collect();
  EXPECT_EQ(c.event_types(str(c.run_named("global-off"), "id")), (std::vector<std::string>{"custom"}));
  EXPECT_EQ(c.event_types(str(c.run_named("override-on"), "id")),
            (std::vector<std::string>{"user_input", "final_response"}));
  EXPECT_EQ(sink_->stats().events_not_captured, 4u);
}

TEST_F(NorthStarMappingTest, PerTraceCaptureOffRecordsNothingAnywhere) {
  install();
  {
    auto run = trace("private", {.input = "card 4111", .capture_input = false, .capture_output = false});
    run.set_output("charged");
  }
  const Collected c = flush_and_collect();
  EXPECT_TRUE(c.events.empty());
  for (const auto& line : memory_->lines()) {
    EXPECT_EQ(line.find("4111"), std::string::npos) << line;  // not even in the other sinks
    EXPECT_EQ(line.find("charged"), std::string::npos) << line;
  }
}

TEST_F(NorthStarMappingTest, MetadataMergesIntoSpanOrRun) {
  install();
  std::string run_id;
  {
    auto run = trace("meta", {.metadata = {{"plan", "free"}}});
    run_id = run.id();
    log_metadata("user_id", "u-1");           // current span = the run
    run.log_metadata({{"plan", "pro"}});       // overrides the initial metadata
    auto s = span("inner");
    log_metadata({{"result_count", 3}, {"password", "x"}});
    s.set_attribute("rows", 7);
  }
  const Collected c = flush_and_collect();
  const Value& meta = *c.run(run_id).find("metadata");
  EXPECT_EQ(*meta.find("user_id"), Value("u-1"));
  EXPECT_EQ(*meta.find("plan"), Value("pro"));
  const Value& attrs = *c.span_named("inner").find("attributes");
  EXPECT_EQ(*attrs.find("result_count"), Value(3));
  EXPECT_EQ(*attrs.find("password"), Value("[REDACTED]"));
  EXPECT_EQ(*attrs.find("rows"), Value(7));
  EXPECT_TRUE(c.events.empty());  // metadata is not an event
}

TEST_F(NorthStarMappingTest, PlainLogRecordsBecomeCustomEvents) {
  install();
  {
    auto run = trace("logs");
    auto s = span("work");
    Logger::get("app.worker").warn("disk low", {{"free_mb", 12}, {"password", "pw"}});
  }
  const Collected c = flush_and_collect();
  ASSERT_EQ(c.events.size(), 1u);
  const Value& e = c.events[0];
  EXPECT_EQ(str(e, "type"), "custom");
  EXPECT_EQ(str(e, "span_id"), str(c.span_named("work"), "id"));
  EXPECT_EQ(*e.find("content"),
            Value::map({{"name", "disk low"}, {"data", Value::map({{"free_mb", 12}, {"password", "[REDACTED]"}})}}));
  EXPECT_EQ(*e.find("attributes"),
            Value::map({{"northstar_type", "event"}, {"severity", "WARN"}, {"logger", "app.worker"}}));
}

TEST_F(NorthStarMappingTest, RecordsOutsideTracesAreDroppedByDefault) {
  install();
  Logger::get("app").info("no trace here");
  log_event("orphan");
  const Collected c = flush_and_collect();
  EXPECT_TRUE(c.runs.empty());
  EXPECT_EQ(transport_->count(), 0u);
  EXPECT_EQ(sink_->stats().records_outside_trace, 2u);
}

TEST_F(NorthStarMappingTest, RecordsOutsideTracesCanGoToADefaultRun) {
  install({.outside_trace = OutsideTracePolicy::kDefaultRun, .default_run_name = "service-log"});
  Logger::get("app").info("before");
  { auto run = trace("traced"); }
  Logger::get("app").error("after");
  ASSERT_TRUE(sink_->flush(5s).success);
  sink_->close();
  const Collected c = collect(transport_->bodies());
  ASSERT_EQ(c.runs.size(), 2u);
  const Value& log_run = c.run_named("service-log");
  EXPECT_EQ(str(log_run, "status"), "ok");  // ended at close
  EXPECT_FALSE(str(log_run, "ended_at").empty());
  const auto types = c.event_types(str(log_run, "id"));
  EXPECT_EQ(types.size(), 2u);
  EXPECT_EQ(c.event_types(str(c.run_named("traced"), "id")).size(), 0u);
  EXPECT_FALSE(str(c.sessions.begin()->second, "ended_at").empty());  // session ended at close
}

TEST_F(NorthStarMappingTest, NestedTraceIsASiblingRunAndSpanKindsMap) {
  install();
  std::string outer_id;
  std::string inner_id;
  {
    auto outer = trace("outer");
    outer_id = outer.id();
    {
      auto inner = trace("inner");
      inner_id = inner.id();
      auto s = span("in-inner", SpanKind::kWorkflow);
      Span core("core-llm", {.kind = "llm"});
    }
    Span plain("core-internal");
  }
  const Collected c = flush_and_collect();
  ASSERT_EQ(c.runs.size(), 2u);
  EXPECT_NE(outer_id, inner_id);
  EXPECT_EQ(str(c.span_named("in-inner"), "run_id"), inner_id);
  EXPECT_EQ(str(c.span_named("in-inner"), "kind"), "workflow");
  EXPECT_EQ(str(c.span_named("core-llm"), "kind"), "model");
  EXPECT_EQ(str(c.span_named("core-llm"), "parent_span_id"), str(c.span_named("in-inner"), "id"));
  EXPECT_EQ(str(c.span_named("core-internal"), "kind"), "custom");
  EXPECT_EQ(str(c.span_named("core-internal"), "run_id"), outer_id);
}

TEST_F(NorthStarMappingTest, CurrentTraceIdFollowsTheContext) {
  install();
  EXPECT_EQ(current_trace_id(), std::nullopt);
  std::string seen_on_thread;
  std::string run_id;
  {
    auto run = trace("ctx");
    run_id = run.id();
    EXPECT_EQ(current_trace_id(), run.id());
    {
      auto s = span("child");
      Span core("core-child");
      EXPECT_EQ(current_trace_id(), run.id());
    }
    const Context ctx = run.context();
    std::thread t([&] {
      ScopedContext scoped(ctx);
      seen_on_thread = current_trace_id().value_or("");
      log_event("from-thread");
    });
    t.join();
  }
  EXPECT_EQ(current_trace_id(), std::nullopt);
  EXPECT_EQ(seen_on_thread, run_id);
  const Collected c = flush_and_collect();
  ASSERT_EQ(c.runs.size(), 1u);
  EXPECT_EQ(c.runs.begin()->first, run_id);  // current_trace_id() is the run UUID
  EXPECT_EQ(c.event_types(run_id), (std::vector<std::string>{"custom"}));
}

TEST_F(NorthStarMappingTest, CurrentTraceIdIsNulloptWithoutAnEnabledSink) {
  auto disabled = make_northstar_sink(NorthStarOptions{.enabled = false});
  ConfigureOptions c;
  c.sinks = SinkList{disabled};
  configure(c);
  auto run = trace("no-sink");
  EXPECT_EQ(current_trace_id(), std::nullopt);
  EXPECT_TRUE(flush(100ms));
  EXPECT_THROW(flush(0ms), ConfigError);
}

TEST_F(NorthStarMappingTest, IdsAreDerivedFromTraceAndSpanIds) {
  install();
  TraceId trace_id;
  SpanId root_id;
  SpanId child_id;
  {
    auto run = trace("ids");
    trace_id = run.context().trace_id();
    root_id = run.context().span_id();
    auto s = span("child");
    child_id = s.context().span_id();
    EXPECT_EQ(s.id(), derive_span_uuid(trace_id, child_id));
    EXPECT_EQ(run.id(), derive_run_uuid(trace_id, root_id));
  }
  const Collected c = flush_and_collect();
  EXPECT_TRUE(c.runs.count(derive_run_uuid(trace_id, root_id)));
  EXPECT_TRUE(c.spans.count(derive_span_uuid(trace_id, child_id)));
}

TEST_F(NorthStarMappingTest, ReplayingTheLoggedRecordsRebuildsTheSameRows) {
  install({.project = "p"});
  run_agent();
  const Collected live = flush_and_collect();
  const std::vector<OwnedLogRecord> records = memory_->records();
  sink_->close();

  // Feed the same records (as a JSON-lines reader would) into a second sink.
  auto replay_transport = std::make_shared<FakeTransport>();
  NorthStarOptions o;
  o.api_key = "k";
  o.endpoint = "http://127.0.0.1:9/x";
  o.project = "p";
  o.flush_interval = 600s;
  o.batch_size = 100000;
  o.max_queue_size = 100000;
  o.transport = replay_transport;
  auto replay = make_northstar_sink(o);
  for (const auto& r : records) {
    std::vector<Attribute> scratch;
    replay->emit(r.view(scratch));
  }
  ASSERT_TRUE(replay->flush(5s).success);
  const Collected again = collect(replay_transport->bodies());
  replay->close();

  ASSERT_EQ(again.runs.size(), live.runs.size());
  ASSERT_EQ(again.spans.size(), live.spans.size());
  for (const auto& [id, run] : live.runs) {
    ASSERT_TRUE(again.runs.count(id));
    EXPECT_EQ(str(again.run(id), "name"), str(run, "name"));
    EXPECT_EQ(str(again.run(id), "started_at"), str(run, "started_at"));
  }
  for (const auto& [id, s] : live.spans) {
    ASSERT_TRUE(again.spans.count(id));
    Value a = again.span(id);
    Value b = s;
    EXPECT_EQ(a, b);  // same row, byte for byte
  }
  ASSERT_EQ(again.events.size(), live.events.size());
  for (std::size_t i = 0; i < live.events.size(); ++i) EXPECT_EQ(again.events[i], live.events[i]);
}

TEST_F(NorthStarMappingTest, EndWithoutStartStillBuildsTheSpan) {
  install();
  // A run whose start record was emitted before the sink existed.
  ConfigureOptions only_memory;
  only_memory.sinks = SinkList{memory_};
  configure(only_memory);
  auto run = std::make_unique<Trace>("late-sink");
  const std::string run_id = run->id();
  ConfigureOptions both;
  both.sinks = SinkList{sink_, memory_};
  configure(both);
  log_event("inside");
  run.reset();
  const Collected c = flush_and_collect();
  ASSERT_TRUE(c.runs.count(run_id));
  EXPECT_EQ(str(c.run(run_id), "status"), "ok");
  EXPECT_EQ(c.events.size(), 0u);  // the event came before the sink knew the span: outside any trace
}

}  // namespace
}  // namespace dagstack::logger::northstar

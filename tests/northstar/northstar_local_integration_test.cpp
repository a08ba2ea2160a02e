// northstar_local_integration_test.cpp: the NorthStar sink (libcurl) against northstar-local over
// 127.0.0.1: what the server stores for a two-iteration agent (tree, event order, redaction,
// metrics, cost), error runs, capture flags, explicit null content, disabled mode and batch_size=1.
#include <gtest/gtest.h>

#include <stdexcept>

#include "agent_scenario.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/northstar.h"
#include "northstar_local/server.h"
#include "northstar_test_support.h"

namespace dagstack::logger::northstar {
namespace {

using namespace std::chrono_literals;
using testing::parse_json;

constexpr const char* kKey = "ns_integrationkey0123456789abcdefghij";

class NorthStarLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    northstar_local::ServerOptions so;
    so.api_keys.push_back({kKey, ""});
    server_ = std::make_unique<northstar_local::Server>(std::move(so));
    server_->start();
  }
  void TearDown() override {
    if (sink_) sink_->close();
    Logger::reset();
    server_->stop();
  }

  NorthStarOptions options() {
    NorthStarOptions o;
    o.api_key = kKey;
    o.endpoint = server_->ingest_url();
    o.project = "support";
    o.environment = "test";
    o.flush_interval = 60s;
    o.batch_size = 10000;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 100ms;
    return o;
  }

  void install(const NorthStarOptions& o) {
    sink_ = make_northstar_sink(o);
    ConfigureOptions c;
    c.sinks = SinkList{sink_};
    configure(c);
  }

  std::unique_ptr<northstar_local::Server> server_;
  std::shared_ptr<NorthStarSink> sink_;
};

std::vector<std::string> types_of(const northstar_local::Snapshot& s, const std::string& run_id) {
  std::vector<std::string> out;
  for (const auto* e : s.events_of(run_id)) out.push_back(e->type);
  return out;
}

TEST_F(NorthStarLocalTest, TwoIterationAgentIsStoredAsATree) {
  install(options());
  const std::string run_id = testing::run_two_iteration_agent();
  ASSERT_TRUE(sink_->flush(10s).success);
  const auto snap = server_->snapshot();
  for (const auto& req : server_->requests()) EXPECT_EQ(req.status, 200) << req.response_body;

  ASSERT_EQ(snap.sessions.size(), 1u);
  EXPECT_EQ(snap.sessions[0].id, sink_->session_id());
  ASSERT_EQ(snap.runs.size(), 1u);
  const auto* run = snap.find_run(run_id);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->name, "support-agent");
  EXPECT_EQ(run->status, "ok");
  EXPECT_TRUE(run->ended_at.has_value());
  EXPECT_EQ(run->session_id, sink_->session_id());
  const Value meta = parse_json(run->metadata);
  EXPECT_EQ(*meta.find("project"), Value("support"));
  EXPECT_EQ(*meta.find("environment"), Value("test"));
  EXPECT_EQ(*meta.find("token"), Value("[REDACTED]"));
  EXPECT_EQ(*meta.find("tags"), Value::array({"cpp", "demo"}));
  EXPECT_EQ(*meta.find("total_input_tokens"), Value(200));
  EXPECT_EQ(*meta.find("total_output_tokens"), Value(40));
  EXPECT_NEAR(meta.find("cost_usd")->as_double(), 0.0009, 1e-12);
  EXPECT_TRUE(meta.find("latency_ms")->is_double());

  const auto spans = snap.spans_of(run_id);
  ASSERT_EQ(spans.size(), 6u);
  int agents = 0;
  for (const auto* s : spans) {
    EXPECT_EQ(s->status, "ok");
    if (s->kind == "agent") {
      ++agents;
      EXPECT_FALSE(s->parent_span_id.has_value());
      EXPECT_EQ(s->iteration, std::optional<std::int64_t>(agents));
    } else {
      ASSERT_TRUE(s->parent_span_id.has_value());
      const auto* parent = snap.find_span(*s->parent_span_id);
      ASSERT_NE(parent, nullptr);
      EXPECT_EQ(parent->kind, "agent");
      EXPECT_TRUE(s->kind == "model" || s->kind == "tool") << s->kind;
    }
    if (s->kind == "model") {
      const Value attrs = parse_json(s->attributes);
      EXPECT_EQ(*attrs.find("model"), Value("gpt-4o"));
      EXPECT_EQ(*attrs.find("total_tokens"), Value(120));
      EXPECT_EQ(*attrs.find("pricing_source"), Value("table"));
    }
  }
  EXPECT_EQ(agents, 2);

  EXPECT_EQ(types_of(snap, run_id), testing::two_iteration_agent_event_types());
  const auto events = snap.events_of(run_id);
  const Value input = parse_json(events[0]->content);
  EXPECT_EQ(*input.find("password"), Value("[REDACTED]"));
  EXPECT_FALSE(events[0]->span_id.has_value());
  const Value custom = parse_json(events[5]->content);
  EXPECT_EQ(*custom.find("data")->find("api_key"), Value("[REDACTED]"));
  const auto* metric = events[events.size() - 2];
  EXPECT_EQ(parse_json(metric->content), Value::map({{"name", "confidence"}, {"value", 0.86}}));
  EXPECT_EQ(parse_json(metric->attributes), Value::map({{"northstar_type", "metric"}}));
  EXPECT_EQ(parse_json(events.back()->content), Value("Use the reset link."));

  const std::string tree = server_->tree();
  EXPECT_NE(tree.find("support-agent"), std::string::npos) << tree;
  EXPECT_NE(tree.find("answer-llm"), std::string::npos) << tree;

  sink_->close();
  const auto after = server_->snapshot();
  EXPECT_TRUE(after.sessions.at(0).ended_at.has_value());  // the session ends at close
}

TEST_F(NorthStarLocalTest, ErrorRunsCaptureFlagsAndNullContent) {
  auto o = options();
  o.capture_outputs = false;
  install(o);
  std::string failed_id;
  std::string null_id;
  {
    auto run = trace("failing", {.input = "question"});
    failed_id = run.id();
    auto tool = span("lookup", SpanKind::kTool);
    try {
      throw std::runtime_error("backend timed out");
    } catch (const std::exception& e) {
      tool.record_error(e);
      run.record_error(e);
    }
    run.set_output("never captured");
  }
  {
    auto run = trace("null-input", {.input = Value()});
    null_id = run.id();
  }
  ASSERT_TRUE(sink_->flush(10s).success);
  const auto snap = server_->snapshot();
  const auto* failed = snap.find_run(failed_id);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->status, "error");
  ASSERT_TRUE(failed->error.has_value());
  const Value error = parse_json(*failed->error);
  EXPECT_EQ(*error.find("type"), Value("std::runtime_error"));
  EXPECT_EQ(*error.find("message"), Value("backend timed out"));
  EXPECT_EQ(snap.spans_of(failed_id).at(0)->status, "error");
  EXPECT_EQ(types_of(snap, failed_id), std::vector<std::string>{"user_input"});  // no final_response
  const auto null_events = snap.events_of(null_id);
  ASSERT_EQ(null_events.size(), 1u);
  EXPECT_EQ(null_events[0]->content, "null");  // accepted by the server (SDK bug B1)
}

TEST_F(NorthStarLocalTest, DisabledModeSendsNothing) {
  auto o = options();
  o.enabled = false;
  install(o);
  testing::run_two_iteration_agent();
  EXPECT_TRUE(sink_->flush(1s).success);
  EXPECT_TRUE(flush(1s));
  sink_->close();
  EXPECT_EQ(server_->request_count(), 0u);
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(NorthStarLocalTest, BatchSizeOneDeliversWithoutFlush) {
  auto o = options();
  o.batch_size = 1;
  install(o);
  std::string run_id;
  {
    auto run = trace("eager");
    run_id = run.id();
    ASSERT_TRUE(server_->wait_for_requests(1, 2s));  // the worker posted on its own
  }
  ASSERT_TRUE(sink_->flush(5s).success);
  const auto snap = server_->snapshot();
  ASSERT_NE(snap.find_run(run_id), nullptr);
  EXPECT_EQ(snap.find_run(run_id)->status, "ok");
  for (const auto& req : server_->requests()) {
    EXPECT_EQ(req.status, 200) << req.response_body;
    bool auth = false;
    for (const auto& [k, v] : req.headers) {
      // northstar-local logs the key's SHA-256 prefix, never the key itself.
      if (k == "Authorization" || k == "authorization") {
        auth = v == "Bearer [REDACTED] sha256:" + northstar_local::sha256_hex(kKey).substr(0, 12);
      }
    }
    EXPECT_TRUE(auth);
  }
}

}  // namespace
}  // namespace dagstack::logger::northstar

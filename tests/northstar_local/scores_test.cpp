// scores_test.cpp: northstar::log_score() end to end: the NorthStar sink (libcurl) sends scores in
// the batch's `scores` array to northstar-local over 127.0.0.1, which stores them and shows them in
// the dashboard's run JSON; scores the server would refuse are dropped and counted.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/northstar.h"
#include "northstar_local/server.h"
#include "support.h"

namespace {

using namespace std::chrono_literals;
namespace ns = dagstack::logger::northstar;
namespace dl = dagstack::logger;

constexpr const char* kScoreKey = "ns_scores_key_0123456789abcdefghijkl";

class ScoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dl::Logger::reset();
    northstar_local::ServerOptions so;
    so.api_keys.push_back({kScoreKey, ""});
    server_ = std::make_unique<northstar_local::Server>(std::move(so));
    server_->start();
    ns::NorthStarOptions o;
    o.api_key = kScoreKey;
    o.endpoint = server_->ingest_url();
    o.flush_interval = 60s;
    o.batch_size = 10000;
    sink_ = ns::make_northstar_sink(o);
    dl::ConfigureOptions c;
    c.sinks = dl::SinkList{sink_};
    dl::configure(c);
  }
  void TearDown() override {
    sink_->close();
    dl::Logger::reset();
    server_->stop();
  }
  std::unique_ptr<northstar_local::Server> server_;
  std::shared_ptr<ns::NorthStarSink> sink_;
};

TEST_F(ScoresTest, ScoresAreSentStoredAndShown) {
  std::string run_id, span_id;
  {
    auto run = ns::trace("scored-run");
    run_id = run.id();
    auto tool = ns::span("lookup", ns::SpanKind::kTool);
    span_id = tool.id();
  }
  ns::log_score(run_id, " relevance ", 0.92, {.comment = "judge v1"});
  ns::log_score(run_id, "correct", true);
  ns::log_score(run_id, "tone", "friendly", {.span_id = span_id});
  ns::log_score(run_id, "turns", 3);
  ASSERT_TRUE(sink_->flush(10s).success);
  for (const auto& r : server_->requests()) ASSERT_EQ(r.status, 200) << r.response_body;

  const auto snap = server_->snapshot();
  ASSERT_EQ(snap.scores.size(), 4u);
  std::map<std::string, const northstar_local::ScoreRow*> by_name;
  for (const auto& s : snap.scores) {
    EXPECT_EQ(s.trace_id, run_id);
    EXPECT_EQ(s.source, "api");
    by_name[s.name] = &s;
  }
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_DOUBLE_EQ(by_name.at("relevance")->value, 0.92);  // trimmed name
  EXPECT_EQ(by_name.at("relevance")->data_type, "numeric");
  EXPECT_EQ(by_name.at("relevance")->comment, std::optional<std::string>("judge v1"));
  EXPECT_EQ(by_name.at("correct")->data_type, "boolean");
  EXPECT_DOUBLE_EQ(by_name.at("correct")->value, 1.0);
  EXPECT_EQ(by_name.at("tone")->data_type, "categorical");
  EXPECT_EQ(by_name.at("tone")->string_value, std::optional<std::string>("friendly"));
  EXPECT_EQ(by_name.at("tone")->span_id, std::optional<std::string>(span_id));
  EXPECT_DOUBLE_EQ(by_name.at("turns")->value, 3.0);

  // The dashboard's run JSON carries them.
  const auto page = nsl_test::http("GET", server_->base_url() + "/api/runs/" + run_id);
  ASSERT_EQ(page.status, 200);
  const auto doc = nsl_test::parse(page.body);
  ASSERT_EQ(doc["scores"].Size(), 4u);
  EXPECT_EQ(sink_->stats().records_outside_trace, 0u);
}

TEST_F(ScoresTest, ScoresTheServerWouldRefuseAreDroppedAndCounted) {
  std::string run_id;
  { run_id = ns::trace("run").id(); }
  ns::log_score("not-a-uuid", "x", 1.0);
  ns::log_score(run_id, "   ", 1.0);
  ns::log_score(run_id, "nan", std::numeric_limits<double>::quiet_NaN());
  ns::log_score(run_id, "inf", std::numeric_limits<double>::infinity());
  ns::log_score(run_id, "blank category", " ");
  ns::log_score(run_id, "bad span", 1.0, {.span_id = "nope"});
  ns::log_score(run_id, "kept", 0.5);
  ASSERT_TRUE(sink_->flush(10s).success);
  for (const auto& r : server_->requests()) EXPECT_EQ(r.status, 200) << r.response_body;
  const auto snap = server_->snapshot();
  ASSERT_EQ(snap.scores.size(), 1u);
  EXPECT_EQ(snap.scores[0].name, "kept");
  EXPECT_EQ(sink_->stats().records_outside_trace, 6u);
}

}  // namespace

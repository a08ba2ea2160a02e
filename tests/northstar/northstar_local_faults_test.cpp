// northstar_local_faults_test.cpp: the NorthStar sink against a misbehaving northstar-local:
// 503s then success (nothing lost or duplicated), a committed batch whose answer was lost, a bad
// 2xx body, Retry-After, a 400 split while later batches arrive, a revoked key, and the
// server down for a while then back (everything within the queue cap arrives).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include "agent_scenario.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/northstar.h"
#include "dagstack/logger/span.h"
#include "northstar_local/server.h"
#include "northstar_test_support.h"

namespace dagstack::logger::northstar {
namespace {

using namespace std::chrono_literals;
using testing::parse_json;

constexpr const char* kKey = "ns_faultskey0123456789abcdefghijklmn";

class NorthStarLocalFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    dir_ = std::filesystem::temp_directory_path() /
           ("dagstack_ns_faults_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    server_ = make_server(0);
    server_->start();
  }
  void TearDown() override {
    if (sink_) sink_->close();
    Logger::reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<northstar_local::Server> make_server(int port) {
    northstar_local::ServerOptions so;
    so.api_keys.push_back({kKey, ""});
    so.db_path = (dir_ / "northstar.db").string();
    so.port = port;
    return std::make_unique<northstar_local::Server>(std::move(so));
  }

  NorthStarOptions options() {
    NorthStarOptions o;
    o.api_key = kKey;
    o.endpoint = server_->ingest_url();
    o.flush_interval = 60s;
    o.batch_size = 10000;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 100ms;
    o.request_timeout = 2s;
    o.dead_letter_path = (dir_ / "dead_letter.jsonl").string();
    return o;
  }

  void install(const NorthStarOptions& o) {
    sink_ = make_northstar_sink(o);
    ConfigureOptions c;
    c.sinks = SinkList{sink_};
    configure(c);
  }

  static std::string plain_run(std::string_view name, int events) {
    auto run = trace(name);
    for (int i = 0; i < events; ++i) log_event("step", Value::map({{"i", i}}));
    return run.id();
  }

  std::vector<std::string> dead_letters() const {
    std::vector<std::string> lines;
    std::ifstream in(dir_ / "dead_letter.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::filesystem::path dir_;
  std::unique_ptr<northstar_local::Server> server_;
  std::shared_ptr<NorthStarSink> sink_;
};

TEST_F(NorthStarLocalFaultsTest, Two503sThenSuccessLoseAndDuplicateNothing) {
  install(options());
  server_->fail_next(2, 503);
  const std::string run_id = testing::run_two_iteration_agent();
  ASSERT_TRUE(sink_->flush(10s).success);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].status, 503);
  EXPECT_EQ(requests[1].status, 503);
  EXPECT_EQ(requests[2].status, 200);
  EXPECT_EQ(requests[0].body, requests[2].body);  // the same batch, byte for byte
  const auto snap = server_->snapshot();
  EXPECT_EQ(snap.runs.size(), 1u);
  EXPECT_EQ(snap.spans.size(), 6u);
  EXPECT_EQ(snap.events.size(), testing::two_iteration_agent_event_types().size());
  EXPECT_EQ(snap.find_run(run_id)->status, "ok");
  EXPECT_EQ(sink_->stats().retries, 2u);
}

TEST_F(NorthStarLocalFaultsTest, CommittedBatchWithLostAnswerIsUpsertedNotDuplicated) {
  install(options());
  server_->fail_next(1, 503, /*ingest_anyway=*/true);
  const std::string run_id = plain_run("committed", 5);
  ASSERT_TRUE(sink_->flush(10s).success);
  EXPECT_EQ(server_->request_count(), 2u);
  const auto snap = server_->snapshot();
  EXPECT_EQ(snap.runs.size(), 1u);
  EXPECT_EQ(snap.events_of(run_id).size(), 5u);

  server_->bad_body_next(1, /*ingest_anyway=*/true);  // 200 with an HTML body: not a success
  const std::string second = plain_run("bad-body", 3);
  ASSERT_TRUE(sink_->flush(10s).success);
  EXPECT_EQ(server_->request_count(), 4u);
  EXPECT_EQ(server_->snapshot().events_of(second).size(), 3u);
}

TEST_F(NorthStarLocalFaultsTest, RetryAfterFromTheServerIsHonoured) {
  install(options());
  northstar_local::FaultState f;
  f.fail_next = 1;
  f.fail_status = 429;
  f.fail_retry_after_s = 1;
  server_->set_faults(f);
  plain_run("throttled", 1);
  ASSERT_TRUE(sink_->flush(10s).success);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 429);
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(requests[1].received_at -
                                                                  requests[0].received_at)
                .count(),
            950);
}

TEST_F(NorthStarLocalFaultsTest, BadRequestIsSplitAndLaterBatchesArrive) {
  install(options());
  const std::string first = plain_run("first", 2);
  ASSERT_TRUE(sink_->flush(10s).success);  // session and first run stored

  server_->fail_next(1, 400);  // the batch is refused once: its halves are sent on their own
  const std::string refused = plain_run("refused", 2);
  ASSERT_TRUE(sink_->flush(10s).success);

  const std::string later = plain_run("later", 2);
  ASSERT_TRUE(sink_->flush(10s).success);

  const auto snap = server_->snapshot();
  EXPECT_NE(snap.find_run(first), nullptr);
  ASSERT_NE(snap.find_run(refused), nullptr);
  EXPECT_EQ(snap.events_of(refused).size(), 2u);
  ASSERT_NE(snap.find_run(later), nullptr);
  EXPECT_EQ(snap.events_of(later).size(), 2u);
  EXPECT_EQ(server_->request_count(), 5u);  // first, refused, its two halves, later
  EXPECT_TRUE(dead_letters().empty());
  EXPECT_EQ(sink_->stats().batches_rejected, 0u);
}

TEST_F(NorthStarLocalFaultsTest, RevokedKeyIsNotRetriedForever) {
  install(options());
  server_->revoke_api_key(kKey);
  plain_run("unauthorised", 1);
  EXPECT_FALSE(sink_->flush(10s).success);
  EXPECT_EQ(server_->request_count(), 1u);
  const auto requests = server_->requests();
  EXPECT_EQ(requests.at(0).status, 401);
  EXPECT_EQ(dead_letters().size(), 1u);
}

TEST_F(NorthStarLocalFaultsTest, ServerDownThenBackDeliversEverythingWithinTheCap) {
  const int port = server_->port();
  auto o = options();
  o.retry.initial_backoff = 20ms;
  o.retry.max_backoff = 80ms;
  install(o);
  const std::string before = plain_run("before", 3);
  ASSERT_TRUE(sink_->flush(10s).success);

  server_.reset();  // down (connection refused)
  std::vector<std::string> runs;
  for (int r = 0; r < 5; ++r) runs.push_back(plain_run("while-down-" + std::to_string(r), 20));
  EXPECT_FALSE(sink_->flush(400ms).success);  // cannot be delivered yet
  EXPECT_GT(sink_->stats().retries, 0u);

  server_ = make_server(port);  // back, same port and database
  server_->start();
  ASSERT_TRUE(sink_->flush(10s).success);
  const auto snap = server_->snapshot();
  EXPECT_NE(snap.find_run(before), nullptr);
  for (const auto& id : runs) {
    ASSERT_NE(snap.find_run(id), nullptr);
    EXPECT_EQ(snap.find_run(id)->status, "ok");
    EXPECT_EQ(snap.events_of(id).size(), 20u);
  }
  EXPECT_EQ(sink_->stats().records_dropped, 0u);
  EXPECT_EQ(sink_->stats().batches_rejected, 0u);
}

TEST_F(NorthStarLocalFaultsTest, ServerDownPastTheCapDropsOnlyTheOverflow) {
  const int port = server_->port();
  auto o = options();
  o.max_queue_size = 60;
  install(o);
  server_.reset();
  std::string run_id;
  {
    auto run = trace("overflow");
    run_id = run.id();
    for (int i = 0; i < 200; ++i) log_event("step", Value::map({{"i", i}}));
  }
  const auto dropped = sink_->stats().records_dropped;
  EXPECT_GT(dropped, 0u);
  server_ = make_server(port);
  server_->start();
  const FlushResult r = sink_->flush(10s);
  EXPECT_FALSE(r.success);  // reports the drops
  const auto snap = server_->snapshot();
  ASSERT_NE(snap.find_run(run_id), nullptr);
  EXPECT_EQ(snap.find_run(run_id)->status, "ok");            // the run's end always gets in
  EXPECT_EQ(snap.events_of(run_id).size() + dropped, 200u);  // everything not dropped arrived
  EXPECT_GE(snap.events_of(run_id).size(), 50u);
}

}  // namespace
}  // namespace dagstack::logger::northstar

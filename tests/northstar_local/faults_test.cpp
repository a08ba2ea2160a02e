// faults_test.cpp: northstar-local test controls: fault injection (C++ API and /__admin/faults),
// the request log (C++ API and /__admin/requests), and the other admin endpoints.
#include <chrono>
#include <thread>

#include "support.h"

namespace nsl_test {
namespace {

using namespace std::chrono_literals;

class FaultsTest : public ServerTest {};

TEST_F(FaultsTest, FailNextAnswersTheStatusThenRecovers) {
  server_->fail_next(2, 503);
  const HttpResponse first = post(base_payload());
  const HttpResponse second = post(base_payload());
  const HttpResponse third = post(base_payload());
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.body, R"({"error":"Injected fault"})");
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(third.body, R"({"accepted":true})");

  const auto log = server_->requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].fault, "fail");
  EXPECT_EQ(log[1].fault, "fail");
  EXPECT_EQ(log[2].fault, "");
  EXPECT_EQ(log[0].status, 503);
  EXPECT_EQ(log[2].status, 200);
  EXPECT_EQ(server_->faults().fail_next, 0);
}

TEST_F(FaultsTest, InjectedFailureStoresNothingByDefault) {
  server_->fail_next(1, 500);
  EXPECT_EQ(post(base_payload()).status, 500);
  EXPECT_TRUE(server_->snapshot().runs.empty());
}

TEST_F(FaultsTest, IngestAnywayCommitsButAnswersTheFailure) {
  server_->fail_next(1, 502, /*ingest_anyway=*/true);
  EXPECT_EQ(post(base_payload()).status, 502);
  EXPECT_EQ(server_->snapshot().runs.size(), 1u);
  // A retry of the same batch is an idempotent upsert.
  EXPECT_EQ(post(base_payload()).status, 200);
  EXPECT_EQ(server_->snapshot().runs.size(), 1u);
}

TEST_F(FaultsTest, BadBodyAnswers200WithNonJson) {
  server_->bad_body_next(1);
  const HttpResponse r = post(base_payload());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "text/html");
  EXPECT_EQ(r.body.find("accepted"), std::string::npos);
  EXPECT_EQ(r.body.front(), '<');
  EXPECT_TRUE(server_->snapshot().runs.empty());
  EXPECT_EQ(server_->requests().back().fault, "bad_body");
  EXPECT_EQ(post(base_payload()).body, R"({"accepted":true})");
}

TEST_F(FaultsTest, BadBodyCanStillIngest) {
  server_->bad_body_next(1, /*ingest_anyway=*/true);
  EXPECT_EQ(post(base_payload()).status, 200);
  EXPECT_EQ(server_->snapshot().runs.size(), 1u);
}

TEST_F(FaultsTest, FailIsConsumedBeforeBadBody) {
  server_->fail_next(1, 429);
  server_->bad_body_next(1);
  EXPECT_EQ(post(base_payload()).status, 429);
  const HttpResponse second = post(base_payload());
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.headers.at("content-type"), "text/html");
  EXPECT_EQ(post(base_payload()).body, R"({"accepted":true})");
}

TEST_F(FaultsTest, FaultsApplyOnlyToIngestPosts) {
  server_->fail_next(1, 503);
  EXPECT_EQ(http("OPTIONS", server_->ingest_url()).status, 204);
  EXPECT_EQ(http("GET", server_->ingest_url()).status, 405);
  EXPECT_EQ(http("POST", server_->base_url() + "/elsewhere").status, 404);
  EXPECT_EQ(post(base_payload()).status, 503);
}

TEST_F(FaultsTest, FaultsHitRequestsThatWouldFailAnyway) {
  server_->fail_next(1, 503);
  EXPECT_EQ(post(base_payload(), "ns_unknown").status, 503);
  EXPECT_EQ(post(base_payload(), "ns_unknown").status, 401);
}

TEST_F(FaultsTest, DelaySlowsEveryIngestPostUntilCleared) {
  server_->set_delay(300ms);
  const HttpResponse slow = post(base_payload());
  EXPECT_EQ(slow.status, 200);
  EXPECT_GE(slow.seconds, 0.29);
  EXPECT_GE(server_->requests().back().duration_ms, 290.0);
  server_->set_delay(0ms);
  const HttpResponse fast = post(base_payload());
  EXPECT_LT(fast.seconds, 0.25);
}

TEST_F(FaultsTest, DelayLongerThanTheClientTimeoutTimesOut) {
  server_->set_delay(2000ms);
  const HttpResponse r = http("POST", server_->ingest_url(), base_payload(),
                              {"Authorization: Bearer " + std::string(kKey)}, /*timeout_ms=*/200);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(FaultsTest, StopCutsInjectedDelaysShort) {
  server_->set_delay(10000ms);
  long status = 0;
  std::string error;
  std::thread client([this, &status, &error] {
    const HttpResponse r = post(base_payload());
    status = r.status;
    error = r.error;
  });
  std::this_thread::sleep_for(150ms);  // the request is now inside its 10 s delay
  const auto started = std::chrono::steady_clock::now();
  server_->stop();
  client.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_EQ(status, 200) << error;  // the in-flight request is still answered
}

TEST_F(FaultsTest, RetryAfterHeaderIsOptional) {
  northstar_local::FaultState faults;
  faults.fail_next = 1;
  faults.fail_status = 429;
  faults.fail_retry_after_s = 2;
  server_->set_faults(faults);
  const HttpResponse r = post(base_payload());
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.at("retry-after"), "2");
  server_->fail_next(1, 503);
  EXPECT_EQ(post(base_payload()).headers.count("retry-after"), 0u);
}

TEST_F(FaultsTest, ClearFaultsResetsEverything) {
  server_->fail_next(5);
  server_->bad_body_next(5);
  server_->set_delay(50ms);
  server_->fail_store_next(5);
  server_->fail_key_lookup_next(5);
  server_->clear_faults();
  const auto faults = server_->faults();
  EXPECT_EQ(faults.fail_next, 0);
  EXPECT_EQ(faults.bad_body_next, 0);
  EXPECT_EQ(faults.delay.count(), 0);
  EXPECT_EQ(faults.store_error_next, 0);
  EXPECT_EQ(faults.key_lookup_error_next, 0);
  EXPECT_EQ(post(base_payload()).status, 200);
}

TEST_F(FaultsTest, InvalidFaultStatusThrows) {
  EXPECT_THROW(server_->fail_next(1, 99), std::invalid_argument);
  EXPECT_THROW(server_->fail_next(1, 600), std::invalid_argument);
}

TEST_F(FaultsTest, AdminFaultEndpointControlsTheSameState) {
  HttpResponse r = admin("POST", "faults", R"({"fail_next":1,"status":504,"retry_after":3})");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("fail_next":1)"), std::string::npos);
  EXPECT_EQ(server_->faults().fail_next, 1);
  EXPECT_EQ(server_->faults().fail_status, 504);
  const HttpResponse failed = post(base_payload());
  EXPECT_EQ(failed.status, 504);
  EXPECT_EQ(failed.headers.at("retry-after"), "3");

  r = admin("POST", "faults", R"({"bad_body_next":1,"body":"oops","ingest_anyway":true})");
  ASSERT_EQ(r.status, 200);
  const HttpResponse bad = post(base_payload());
  EXPECT_EQ(bad.status, 200);
  EXPECT_EQ(bad.body, "oops");
  EXPECT_EQ(server_->snapshot().runs.size(), 1u);

  r = admin("POST", "faults", R"({"delay_ms":120,"store_error_next":1,"key_lookup_error_next":1})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(admin("GET", "faults").body, r.body);
  EXPECT_EQ(post(base_payload()).status, 500);  // key lookup
  EXPECT_EQ(post(base_payload()).status, 500);  // store
  const HttpResponse delayed = post(base_payload());
  EXPECT_EQ(delayed.status, 200);
  EXPECT_GE(delayed.seconds, 0.11);

  r = admin("DELETE", "faults");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(server_->faults().delay.count(), 0);
  r = admin("POST", "faults", R"({"fail_next":3,"clear":true})");
  EXPECT_EQ(server_->faults().fail_next, 3);
}

TEST_F(FaultsTest, AdminFaultEndpointRejectsBadInput) {
  EXPECT_EQ(admin("POST", "faults", "nope").status, 400);
  EXPECT_EQ(admin("POST", "faults", "[]").status, 400);
  const HttpResponse unknown = admin("POST", "faults", R"({"explode":true})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body, R"({"error":"unknown fault key: explode"})");
  EXPECT_EQ(admin("POST", "faults", R"({"fail_next":-1})").status, 400);
  EXPECT_EQ(admin("POST", "faults", R"({"status":700})").status, 400);
  EXPECT_EQ(admin("POST", "faults", R"({"delay_ms":"5"})").status, 400);
  EXPECT_EQ(admin("PUT", "faults").status, 405);
  // A rejected request changes nothing.
  EXPECT_EQ(admin("POST", "faults", R"({"fail_next":2,"status":1})").status, 400);
  EXPECT_EQ(server_->faults().fail_next, 0);
}

TEST_F(FaultsTest, RequestLogRecordsWhatArrived) {
  const auto before = std::chrono::system_clock::now();
  const std::string body = base_payload();
  ASSERT_EQ(post(body).status, 200);
  ASSERT_EQ(post("{", kKey).status, 400);
  ASSERT_EQ(http("OPTIONS", server_->ingest_url()).status, 204);
  const auto log = server_->requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(server_->request_count(), 3u);

  const auto& first = log[0];
  EXPECT_EQ(first.seq, 1u);
  EXPECT_EQ(first.method, "POST");
  EXPECT_EQ(first.path, "/functions/v1/ingest-traces");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, body);
  EXPECT_EQ(first.body_bytes, body.size());
  EXPECT_EQ(first.response_body, R"({"accepted":true})");
  EXPECT_GE(first.received_at, before - 1s);
  EXPECT_GE(first.duration_ms, 0.0);
  bool saw_auth = false;
  for (const auto& [name, value] : first.headers) {
    if (name == "Authorization") {
      saw_auth = true;
      // The key itself is never logged: only the first 12 hex digits of its SHA-256.
      EXPECT_EQ(value, "Bearer [REDACTED] sha256:" + northstar_local::sha256_hex(kKey).substr(0, 12));
    }
  }
  EXPECT_TRUE(saw_auth);

  EXPECT_EQ(log[1].status, 400);
  EXPECT_EQ(log[1].response_body, R"({"error":"Invalid JSON body"})");
  EXPECT_FALSE(log[1].detail.empty());
  EXPECT_EQ(log[2].method, "OPTIONS");
  EXPECT_EQ(log[2].seq, 3u);
}

TEST_F(FaultsTest, AdminRequestsAreNotLogged) {
  ASSERT_EQ(post(base_payload()).status, 200);
  ASSERT_EQ(admin("GET", "health").status, 200);
  ASSERT_EQ(admin("GET", "requests").status, 200);
  ASSERT_EQ(admin("GET", "dump").status, 200);
  EXPECT_EQ(server_->request_count(), 1u);
}

TEST_F(FaultsTest, AdminRequestLogEndpoint) {
  ASSERT_EQ(post(base_payload()).status, 200);
  server_->fail_next(1, 503);
  ASSERT_EQ(post("{}").status, 503);
  HttpResponse r = admin("GET", "requests");
  ASSERT_EQ(r.status, 200);
  const auto entries = parse(r.body);
  ASSERT_TRUE(entries.IsArray());
  ASSERT_EQ(entries.Size(), 2u);
  EXPECT_EQ(std::string(entries[0]["method"].GetString()), "POST");
  EXPECT_EQ(std::string(entries[0]["path"].GetString()), "/functions/v1/ingest-traces");
  EXPECT_EQ(entries[0]["status"].GetInt(), 200);
  EXPECT_EQ(entries[0]["body_bytes"].GetUint64(), base_payload().size());
  EXPECT_EQ(std::string(entries[0]["time"].GetString()).back(), 'Z');
  EXPECT_TRUE(entries[0]["duration_ms"].IsNumber());
  EXPECT_FALSE(entries[0].HasMember("body"));
  EXPECT_EQ(std::string(entries[1]["fault"].GetString()), "fail");
  EXPECT_EQ(entries[1]["status"].GetInt(), 503);

  r = admin("GET", "requests?bodies=1");
  const auto with_bodies = parse(r.body);
  EXPECT_EQ(std::string(with_bodies[0]["body"].GetString()), base_payload());

  ASSERT_EQ(admin("DELETE", "requests").status, 200);
  EXPECT_EQ(admin("GET", "requests").body, "[]");
  EXPECT_EQ(server_->request_count(), 0u);
  ASSERT_EQ(post(base_payload()).status, 200);
  EXPECT_EQ(server_->requests().at(0).seq, 3u);  // sequence numbers keep counting
}

TEST_F(FaultsTest, UnroutableRequestsAreLoggedToo) {
  EXPECT_EQ(http("POST", server_->base_url() + "/nope").status, 404);
  ASSERT_EQ(server_->request_count(), 1u);
  EXPECT_EQ(server_->requests()[0].path, "/nope");
  EXPECT_EQ(server_->requests()[0].status, 404);
}

TEST_F(FaultsTest, WaitForRequests) {
  EXPECT_FALSE(server_->wait_for_requests(1, 20ms));
  std::thread sender([this] {
    std::this_thread::sleep_for(50ms);
    (void)post(base_payload());
    (void)post(base_payload());
  });
  EXPECT_TRUE(server_->wait_for_requests(2, 5s));
  sender.join();
  server_->clear_requests();
  EXPECT_EQ(server_->request_count(), 0u);
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(FaultsTest, AdminHealthDumpTreeAndData) {
  ASSERT_EQ(post(example_payload()).status, 200);
  HttpResponse r = admin("GET", "health");
  EXPECT_EQ(r.status, 200);
  const auto health = parse(r.body);
  EXPECT_EQ(health["port"].GetInt(), server_->port());
  EXPECT_EQ(std::string(health["ingest_path"].GetString()), "/functions/v1/ingest-traces");

  r = admin("GET", "dump");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, server_->json_lines());
  r = admin("GET", "tree");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, server_->tree());

  EXPECT_EQ(admin("GET", "nothing-here").status, 404);
  EXPECT_EQ(admin("POST", "dump").status, 405);
  ASSERT_EQ(admin("DELETE", "data").status, 200);
  EXPECT_TRUE(server_->snapshot().runs.empty());
}

class NoAdminTest : public ServerTest {
 protected:
  northstar_local::ServerOptions options() override {
    auto options = ServerTest::options();
    options.admin_endpoints = false;
    return options;
  }
};

TEST_F(NoAdminTest, AdminEndpointsCanBeTurnedOff) {
  EXPECT_EQ(admin("GET", "health").status, 404);
  EXPECT_EQ(admin("POST", "faults", R"({"fail_next":1})").status, 404);
  EXPECT_EQ(post(base_payload()).status, 200);
  EXPECT_EQ(server_->request_count(), 3u);  // now ordinary unknown paths, so logged
}

class SmallLogTest : public ServerTest {
 protected:
  northstar_local::ServerOptions options() override {
    auto options = ServerTest::options();
    options.request_log_capacity = 2;
    options.max_body_bytes = 4096;
    return options;
  }
};

TEST_F(SmallLogTest, LogKeepsTheNewestEntries) {
  for (int i = 0; i < 4; ++i) (void)post("{}");
  const auto log = server_->requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].seq, 3u);
  EXPECT_EQ(log[1].seq, 4u);
  EXPECT_EQ(server_->request_count(), 4u);
}

TEST_F(SmallLogTest, OversizedBodiesGet413AndAreLogged) {
  const HttpResponse r = post(std::string(8192, ' ') + "{}");
  EXPECT_EQ(r.status, 413);
  ASSERT_TRUE(server_->wait_for_requests(1, 2s));
  EXPECT_EQ(server_->requests().back().status, 413);
}

}  // namespace
}  // namespace nsl_test

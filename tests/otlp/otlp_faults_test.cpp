// otlp_faults_test.cpp: the OTLP sink against a misbehaving receiver over 127.0.0.1: 503 then
// 200, 429 with Retry-After, non-retryable statuses, retries exhausted, a collector down for a
// while (DAGSTACK_OTLP_DOWN_SECONDS; default 30 s, 10 s in sanitizer builds), a slow collector, the
// byte bound during an outage, and a bounded close. Every record within the bound arrives exactly
// once; counters exact.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "dagstack/logger/otlp/otlp_sink.h"
#include "otlp_test_support.h"

namespace dagstack::logger::otlp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::arr;
using testing::at;
using testing::attr;
using testing::items;
using testing::Receiver;

class OtlpFaultsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sink_) sink_->close();
  }

  OtlpOptions options() {
    OtlpOptions o;
    o.endpoint = receiver_.base_url();
    o.export_traces = false;
    o.batch_delay = 60s;
    o.timeout = 5s;
    o.retry.backoff.initial = 20ms;
    o.retry.backoff.max = 500ms;
    return o;
  }

  void emit(int seq, std::size_t body_size = 16) {
    const std::string body(body_size, 'x');
    std::vector<Attribute> attrs = {{"seq", seq}};
    LogRecord r;
    r.time_unix_nano = 1700000000000000000ULL + static_cast<std::uint64_t>(seq);
    r.body = body;
    r.attributes = attrs;
    r.resource = &resource_;
    r.instrumentation_scope = &scope_;
    sink_->emit(r);
  }

  // seq -> how many times it was delivered (in requests answered 2xx).
  std::map<std::int64_t, int> delivered_seqs() {
    std::map<std::int64_t, int> out;
    for (const Value& log : items(receiver_.requests(), "/v1/logs")) {
      const Value& v = at(attr(at(log, "attributes"), "seq"), "intValue");
      out[std::stoll(v.as_string())] += 1;
    }
    return out;
  }

  void expect_exactly_once(int first, int count) {
    const auto seqs = delivered_seqs();
    EXPECT_EQ(seqs.size(), static_cast<std::size_t>(count));
    for (int i = first; i < first + count; ++i) {
      auto it = seqs.find(i);
      ASSERT_NE(it, seqs.end()) << "seq " << i << " never delivered";
      EXPECT_EQ(it->second, 1) << "seq " << i << " delivered " << it->second << " times";
    }
  }

  std::size_t requests_with_status(int status) {
    std::size_t n = 0;
    const Value requests = receiver_.requests();  // kept alive for the loop
    for (const Value& r : arr(requests)) n += at(r, "status") == Value(status) ? 1 : 0;
    return n;
  }

  Receiver receiver_;
  std::shared_ptr<OtlpSink> sink_;
  Resource resource_{Value::Map{{"service.name", Value("faults")}}};
  InstrumentationScope scope_{"faults", "", {}};
};

TEST_F(OtlpFaultsTest, ServiceUnavailableThenOkDeliversOnce) {
  sink_ = make_otlp_sink(options());
  receiver_.script(R"([{"status":503},{"status":503}])");
  for (int i = 0; i < 20; ++i) emit(i);
  EXPECT_TRUE(sink_->flush(10s).success);
  expect_exactly_once(0, 20);
  EXPECT_EQ(requests_with_status(503), 2u);
  EXPECT_EQ(requests_with_status(200), 1u);
  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.requests, 3u);
  EXPECT_EQ(st.retries, 2u);
  EXPECT_EQ(st.logs.accepted, 20u);
  EXPECT_EQ(st.logs.delivered, 20u);
  EXPECT_EQ(st.logs.rejected + st.logs.failed + st.records_dropped, 0u);
}

TEST_F(OtlpFaultsTest, TooManyRequestsHonoursRetryAfter) {
  sink_ = make_otlp_sink(options());
  receiver_.script(R"([{"status":429,"retryAfter":"1"}])");
  for (int i = 0; i < 5; ++i) emit(i);
  EXPECT_TRUE(sink_->flush(10s).success);
  const Value requests = receiver_.requests();
  ASSERT_EQ(arr(requests).size(), 2u);
  const std::int64_t gap =
      at(arr(requests)[1], "at").as_int() - at(arr(requests)[0], "at").as_int();
  EXPECT_GE(gap, 950) << "Retry-After: 1 must delay the retry by a second (backoff alone: 20 ms)";
  expect_exactly_once(0, 5);
  EXPECT_EQ(sink_->stats().retries, 1u);
}

class OtlpFinalStatusTest : public OtlpFaultsTest, public ::testing::WithParamInterface<int> {};

TEST_P(OtlpFinalStatusTest, IsNotRetriedAndDoesNotPoisonLaterBatches) {
  sink_ = make_otlp_sink(options());
  const std::string huge(200000, 'E');  // the echoed error text must be bounded
  receiver_.script("[{\"status\":" + std::to_string(GetParam()) + ",\"body\":\"" + huge + "\"}]");
  for (int i = 0; i < 5; ++i) emit(i);
  const FlushResult fr = sink_->flush(10s);
  EXPECT_FALSE(fr.success);
  ASSERT_EQ(fr.failed_sinks.size(), 1u);
  EXPECT_NE(fr.failed_sinks[0].error.find("5 items rejected"), std::string::npos)
      << fr.failed_sinks[0].error;
  const Value requests = receiver_.requests();
  EXPECT_EQ(arr(requests).size(), 1u);  // no retry
  for (int i = 5; i < 8; ++i) emit(i);
  EXPECT_TRUE(sink_->flush(10s).success);
  expect_exactly_once(5, 3);
  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.requests, 2u);
  EXPECT_EQ(st.retries, 0u);
  EXPECT_EQ(st.logs.accepted, 8u);
  EXPECT_EQ(st.logs.rejected, 5u);
  EXPECT_EQ(st.logs.delivered, 3u);
}

// 500 is final too: OTLP/HTTP retries only 429, 502, 503 and 504.
INSTANTIATE_TEST_SUITE_P(Statuses, OtlpFinalStatusTest, ::testing::Values(400, 401, 404, 413, 500));

TEST_F(OtlpFaultsTest, RetryableAnswersStopAfterMaxAttempts) {
  OtlpOptions o = options();
  o.retry.max_attempts = 3;
  sink_ = make_otlp_sink(o);
  receiver_.script(R"([{"status":502},{"status":504},{"status":503}])");
  for (int i = 0; i < 4; ++i) emit(i);
  const FlushResult fr = sink_->flush(10s);
  EXPECT_FALSE(fr.success);
  EXPECT_NE(fr.failed_sinks.at(0).error.find("4 items given up"), std::string::npos);
  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.requests, 3u);
  EXPECT_EQ(st.retries, 2u);
  EXPECT_EQ(st.logs.failed, 4u);
  EXPECT_EQ(st.logs.delivered, 0u);
}

TEST_F(OtlpFaultsTest, CollectorDownForAWhileLosesNothing) {
  const char* env = std::getenv("DAGSTACK_OTLP_DOWN_SECONDS");
  const int down_s =
      env != nullptr ? std::max(1, std::atoi(env)) : DAGSTACK_OTLP_DEFAULT_DOWN_SECONDS;
  OtlpOptions o = options();
  o.retry.backoff.max = 1s;
  o.batch_delay = 200ms;
  sink_ = make_otlp_sink(o);
  receiver_.down(down_s * 1000);
  const auto t0 = Clock::now();
  for (int i = 0; i < 50; ++i) emit(i);
  std::this_thread::sleep_for(std::chrono::milliseconds(down_s * 500));
  for (int i = 50; i < 100; ++i) emit(i);
  EXPECT_GT(sink_->stats().retries, 0u);  // it kept trying while the port was closed
  EXPECT_EQ(sink_->stats().logs.delivered, 0u);
  EXPECT_TRUE(sink_->flush(std::chrono::seconds(down_s + 20)).success);
  EXPECT_GE(Clock::now() - t0, std::chrono::seconds(down_s));
  expect_exactly_once(0, 100);
  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.logs.accepted, 100u);
  EXPECT_EQ(st.logs.delivered, 100u);
  EXPECT_EQ(st.logs.failed + st.logs.rejected + st.records_dropped, 0u);
}

TEST_F(OtlpFaultsTest, SlowCollectorGetsEverythingOnce) {
  OtlpOptions o = options();
  o.max_batch_records = 50;
  sink_ = make_otlp_sink(o);
  receiver_.script(
      R"([{"status":200,"delayMs":300},{"status":200,"delayMs":300},{"status":200,"delayMs":300}])");
  for (int i = 0; i < 300; ++i) emit(i);
  EXPECT_TRUE(sink_->flush(30s).success);
  expect_exactly_once(0, 300);
  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.requests, 6u);  // 300 / 50
  EXPECT_EQ(st.logs.delivered, 300u);
  const auto t0 = Clock::now();
  sink_->close();
  EXPECT_LT(Clock::now() - t0, 2s);
}

TEST_F(OtlpFaultsTest, QueueIsBoundedInBytesDuringAnOutage) {
  OtlpOptions o = options();
  o.max_queue_bytes = 64 * 1024;
  o.retry.backoff.max = 200ms;
  sink_ = make_otlp_sink(o);
  receiver_.down(5000);
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i) {
    emit(i, 100);
    ASSERT_LE(sink_->stats().queue_bytes, o.max_queue_bytes);
  }
  const OtlpStats during = sink_->stats();
  EXPECT_GT(during.records_dropped, 0u);
  EXPECT_EQ(during.logs.accepted + during.records_dropped, static_cast<std::uint64_t>(kCount));
  const FlushResult fr = sink_->flush(20s);
  EXPECT_FALSE(fr.success);  // the drops are reported
  EXPECT_NE(fr.failed_sinks.at(0).error.find("dropped (queue full)"), std::string::npos);
  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.logs.delivered, st.logs.accepted);
  // Exactly the accepted records, each once: the first `accepted` sequence numbers (drop-newest).
  expect_exactly_once(0, static_cast<int>(st.logs.accepted));
  EXPECT_EQ(st.queue_bytes, 0u);
}

TEST_F(OtlpFaultsTest, CloseIsBoundedWhenTheCollectorNeverComesBack) {
  OtlpOptions o = options();
  o.shutdown_timeout = 500ms;
  sink_ = make_otlp_sink(o);
  receiver_.down(120000);
  for (int i = 0; i < 10; ++i) emit(i);
  const auto t0 = Clock::now();
  sink_->close();
  EXPECT_LT(Clock::now() - t0, 3s);
  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.logs.accepted, 10u);
  EXPECT_EQ(st.logs.lost_at_close, 10u);
  EXPECT_EQ(st.logs.delivered, 0u);
  sink_->emit(LogRecord{});  // after close: a silent no-op
  EXPECT_EQ(sink_->stats().logs.accepted, 10u);
}

}  // namespace
}  // namespace dagstack::logger::otlp

// northstar_delivery_test.cpp: the NorthStar sink's worker with a fake transport: batch-size and
// interval triggers, batch splitting in FIFO order, retries with exponential backoff, jitter and
// Retry-After, unlimited retries on network errors, dead letters for 400s and exhausted retries,
// the drop-newest queue cap, snapshot ordering, concurrency, flush and close.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/northstar.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "dagstack/logger/span.h"
#include "northstar_test_support.h"

namespace dagstack::logger::northstar {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::collect;
using testing::Collected;
using testing::FakeTransport;
using testing::str;

long long gap_ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

class NorthStarDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override { Logger::reset(); }
  void TearDown() override {
    transport_->set_gate(true);
    if (sink_) sink_->close();
    Logger::reset();
  }

  NorthStarOptions options() {
    NorthStarOptions o;
    o.api_key = "ns_test";
    o.endpoint = "http://127.0.0.1:9/functions/v1/ingest-traces";
    o.transport = transport_;
    o.flush_interval = 60s;
    o.batch_size = 100000;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 200ms;
    o.retry.jitter = 0.0;
    o.shutdown_timeout = 2s;
    return o;
  }

  void install(const NorthStarOptions& o) {
    sink_ = make_northstar_sink(o);
    ConfigureOptions c;
    c.sinks = SinkList{sink_};
    configure(c);
  }

  // One run (a core root span) with `events` log records inside.
  static void run_with_events(std::string_view name, int events) {
    Span run(name);
    Logger log = Logger::get("app");
    for (int i = 0; i < events; ++i) log.info("step", {{"i", i}});
  }

  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::shared_ptr<NorthStarSink> sink_;
};

TEST_F(NorthStarDeliveryTest, BatchSizeWakesTheWorker) {
  auto o = options();
  o.batch_size = 5;
  install(o);
  run_with_events("busy", 10);
  EXPECT_TRUE(transport_->wait_for_calls(1, 2s));  // no flush() call: the count woke the worker
}

TEST_F(NorthStarDeliveryTest, FlushIntervalSendsWithoutFlush) {
  auto o = options();
  o.flush_interval = 100ms;
  install(o);
  run_with_events("quiet", 1);
  EXPECT_TRUE(transport_->wait_for_calls(1, 2s));
}

TEST_F(NorthStarDeliveryTest, BatchesAreSplitInFifoOrder) {
  auto o = options();
  o.max_batch_records = 4;
  install(o);
  run_with_events("split", 10);
  ASSERT_TRUE(sink_->flush(5s).success);
  const auto bodies = transport_->accepted_bodies();
  ASSERT_GE(bodies.size(), 3u);
  std::set<std::string> seen_runs;
  bool session_seen = false;
  std::size_t events = 0;
  for (const auto& b : bodies) {
    const Value doc = testing::parse_json(b);
    std::size_t n = 0;
    for (const char* k : {"sessions", "runs", "spans", "events"})
      n += doc.find(k)->as_array().size();
    EXPECT_LE(n, 4u);
    session_seen = session_seen || !doc.find("sessions")->as_array().empty();
    for (const auto& r : doc.find("runs")->as_array()) {
      EXPECT_TRUE(session_seen) << "run before its session";
      seen_runs.insert(str(r, "id"));
    }
    for (const auto& e : doc.find("events")->as_array()) {
      EXPECT_TRUE(seen_runs.count(str(e, "run_id"))) << "event before its run";
      ++events;
    }
  }
  EXPECT_EQ(events, 10u);
  EXPECT_EQ(sink_->stats().batches_delivered, bodies.size());
}

TEST_F(NorthStarDeliveryTest, FlushCoversRecordsStitchedWhileBatchesAreInFlight) {
  // The worker stitches a batch's worth ahead (here 4 snapshots) and the rest while each batch is
  // in flight: flush() still returns only once every record queued before it is delivered, in
  // FIFO order.
  auto o = options();
  o.batch_size = 2;
  o.max_batch_records = 4;
  install(o);
  run_with_events("pipelined", 300);
  ASSERT_TRUE(sink_->flush(10s).success);
  const Collected c = collect(transport_->accepted_bodies());
  ASSERT_EQ(c.runs.size(), 1u);
  const auto events = c.events_of(c.runs.begin()->first);
  ASSERT_EQ(events.size(), 300u);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Value* data = events[i].find("content")->find("data");
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(*data->find("i"), Value(static_cast<std::int64_t>(i)));
  }
  EXPECT_EQ(str(c.runs.begin()->second, "status"), "ok");
  EXPECT_EQ(sink_->stats().backlog, 0u);
  EXPECT_EQ(sink_->stats().queued_bytes, 0u);
}

TEST_F(NorthStarDeliveryTest, RetriesWithExponentialBackoffAndIdenticalBodies) {
  auto o = options();
  o.retry.initial_backoff = 60ms;
  o.retry.multiplier = 2.0;
  install(o);
  transport_->push(503, R"({"error":"Injected fault"})");
  transport_->push(503, R"({"error":"Injected fault"})");
  run_with_events("retried", 2);
  ASSERT_TRUE(sink_->flush(5s).success);
  const auto calls = transport_->calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].request.body, calls[1].request.body);
  EXPECT_EQ(calls[1].request.body, calls[2].request.body);
  EXPECT_GE(gap_ms(calls[0].at, calls[1].at), 55);
  EXPECT_GE(gap_ms(calls[1].at, calls[2].at), 115);
  const auto s = sink_->stats();
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(s.batches_delivered, 1u);
  EXPECT_EQ(s.batches_rejected, 0u);
  const Collected c = collect({calls[2].request.body});
  EXPECT_EQ(c.events.size(), 2u);
}

TEST_F(NorthStarDeliveryTest, RetryAfterRaisesTheDelay) {
  auto o = options();
  o.retry.initial_backoff = 10ms;
  install(o);
  transport_->push(429, R"({"error":"slow down"})", 300ms);
  run_with_events("throttled", 1);
  ASSERT_TRUE(sink_->flush(5s).success);
  const auto calls = transport_->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_GE(gap_ms(calls[0].at, calls[1].at), 290);
}

TEST_F(NorthStarDeliveryTest, JitterKeepsDelaysWithinBounds) {
  auto o = options();
  o.retry.initial_backoff = 120ms;
  o.retry.multiplier = 1.0;
  o.retry.jitter = 0.5;
  install(o);
  for (int i = 0; i < 4; ++i) transport_->push(0);
  run_with_events("jittered", 1);
  ASSERT_TRUE(sink_->flush(5s).success);
  const auto calls = transport_->calls();
  ASSERT_EQ(calls.size(), 5u);
  for (std::size_t i = 1; i < calls.size(); ++i) {
    const long long g = gap_ms(calls[i - 1].at, calls[i].at);
    EXPECT_GE(g, 58) << i;   // >= 120 * (1 - 0.5)
    EXPECT_LE(g, 700) << i;  // <= 120 plus (generous) scheduling slack
  }
}

TEST_F(NorthStarDeliveryTest, NetworkErrorsAreRetriedPastMaxAttempts) {
  auto o = options();
  o.retry.max_attempts = 2;
  o.retry.initial_backoff = 5ms;
  o.retry.max_backoff = 10ms;
  install(o);
  for (int i = 0; i < 6; ++i) transport_->push(0);
  run_with_events("unreachable", 1);
  ASSERT_TRUE(sink_->flush(5s).success);
  EXPECT_EQ(transport_->count(), 7u);
  EXPECT_EQ(sink_->stats().batches_rejected, 0u);
  EXPECT_EQ(sink_->stats().batches_delivered, 1u);
}

TEST_F(NorthStarDeliveryTest, RetryableHttpErrorsAreDeadLetteredAfterMaxAttempts) {
  auto o = options();
  o.retry.max_attempts = 3;
  o.retry.initial_backoff = 5ms;
  install(o);
  transport_->set_fallback(500, R"({"error":"Internal server error"})");
  run_with_events("poison", 1);
  const FlushResult r = sink_->flush(5s);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(transport_->count(), 3u);  // not retried forever (SDK bug B2)
  EXPECT_EQ(sink_->stats().batches_rejected, 1u);
  transport_->set_fallback(200, R"({"accepted":true})");
  run_with_events("after", 1);
  EXPECT_TRUE(sink_->flush(5s).success);
  EXPECT_EQ(transport_->count(), 4u);
}

TEST_F(NorthStarDeliveryTest, RefusedBatchIsSplitAndOnlyTheRefusedRecordIsDeadLettered) {
  const auto dead_letter = std::filesystem::temp_directory_path() /
                           ("dagstack_ns_dead_letter_" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(dead_letter);
  auto internal = std::make_shared<InMemorySink>(100);
  auto o = options();
  o.dead_letter_path = dead_letter.string();
  install(o);
  Logger::get(std::string(kInternalLoggerName)).set_sinks({internal});
  transport_->push(400, R"({"error":"runs[0].name is required"})");  // session + run: split
  transport_->push(200, R"({"accepted":true})");                     // the session alone
  transport_->push(400, R"({"error":"runs[0].name is required"})");  // the run alone: dead
  std::string first_trace;
  {
    Span run("refused");
    first_trace = run.trace_id().to_hex();
  }
  const FlushResult r = sink_->flush(5s);
  ASSERT_FALSE(r.success);
  ASSERT_FALSE(r.failed_sinks.empty());
  EXPECT_NE(r.failed_sinks[0].error.find("rejected"), std::string::npos) << r.failed_sinks[0].error;
  ASSERT_EQ(transport_->count(), 3u);  // the batch, then each half once; a 400 is never re-sent
  const auto bodies = transport_->bodies();
  const Value whole = testing::parse_json(bodies[0]);
  const Value session_part = testing::parse_json(bodies[1]);
  const Value run_part = testing::parse_json(bodies[2]);
  EXPECT_EQ(whole.find("sessions")->as_array().size(), 1u);
  EXPECT_EQ(whole.find("runs")->as_array().size(), 1u);
  EXPECT_EQ(session_part.find("sessions")->as_array().size(), 1u);
  EXPECT_EQ(session_part.find("runs")->as_array().size(), 0u);
  // The session was accepted meanwhile, so the run's half need not carry it again.
  EXPECT_EQ(run_part.find("sessions")->as_array().size(), 0u);
  EXPECT_EQ(run_part.find("runs")->as_array().size(), 1u);

  run_with_events("accepted", 1);
  EXPECT_TRUE(sink_->flush(5s).success);  // the failure was reported once
  ASSERT_EQ(transport_->count(), 4u);
  EXPECT_EQ(transport_->bodies()[3].find("refused"), std::string::npos);

  std::ifstream in(dead_letter);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1u);
  const Value dl = testing::parse_json(lines[0]);
  EXPECT_EQ(*dl.find("status"), Value(400));
  EXPECT_EQ(str(dl, "reason"), "rejected");
  EXPECT_EQ(str(dl, "error"), R"({"error":"runs[0].name is required"})");
  EXPECT_EQ(*dl.find("records"), Value(1));
  EXPECT_EQ(*dl.find("payload"), run_part);
  std::filesystem::remove(dead_letter);

  bool reported = false;
  for (const auto& rec : internal->records()) {
    if (rec.body == Value("northstar batch rejected")) {
      reported = true;
      EXPECT_EQ(*rec.attribute("http.status"), Value(400));
    }
  }
  EXPECT_TRUE(reported);
  const auto s = sink_->stats();
  EXPECT_EQ(s.batches_rejected, 1u);
  EXPECT_EQ(s.entities_rejected, 1u);  // the run alone
  EXPECT_EQ(s.batches_delivered, 2u);  // the session half, then the later run
}

TEST_F(NorthStarDeliveryTest, EveryBatchCarriesTheRowsItReferencesUntilTheServerHasThem) {
  auto o = options();
  o.retry.max_attempts = 1;
  install(o);
  transport_->push(503,
                   R"({"error":"Injected fault"})");  // the first batch (session + run A) is lost
  run_with_events("lost", 1);
  EXPECT_FALSE(sink_->flush(5s).success);
  std::string trace_b;
  {
    Span run("b");
    trace_b = run.trace_id().to_hex();
    Logger::get("app").info("inside b");
    ASSERT_TRUE(sink_->flush(5s).success);  // run B and its event, with the session again
    Logger::get("app").info("later in b");
  }
  ASSERT_TRUE(sink_->flush(5s).success);  // B's end and event: B is known by now, nothing else
  const auto bodies = transport_->bodies();
  ASSERT_EQ(bodies.size(), 3u);
  const Value second = testing::parse_json(bodies[1]);
  ASSERT_EQ(second.find("sessions")->as_array().size(), 1u);
  EXPECT_EQ(str(second.find("sessions")->as_array()[0], "id"), sink_->session_id());
  const Value third = testing::parse_json(bodies[2]);
  EXPECT_EQ(third.find("sessions")->as_array().size(), 0u);
  ASSERT_EQ(third.find("runs")->as_array().size(), 1u);  // B's final snapshot (its end)
  EXPECT_EQ(str(third.find("runs")->as_array()[0], "status"), "ok");
  ASSERT_EQ(third.find("events")->as_array().size(), 1u);
}

TEST_F(NorthStarDeliveryTest, NulAndIllFormedTextAreMadeAcceptable) {
  install(options());
  {
    Span run("nul");
    // A NUL, a lone surrogate encoded as UTF-8 (ED A0 80) and a literal backslash-u0000 text.
    Logger::get("app").info("tool", {{"result", std::string("a\0b\xED\xA0\x80"
                                                            "c",
                                                            7)},
                                     {"text", std::string("\\u0000 stays")}});
  }
  ASSERT_TRUE(sink_->flush(5s).success);
  const std::string body = transport_->bodies().at(0);
  EXPECT_EQ(body.find("\\u0000\""), std::string::npos);
  EXPECT_NE(body.find("a\\ufffdb\xEF\xBF\xBD"), std::string::npos) << body;
  EXPECT_NE(body.find("\\\\u0000 stays"), std::string::npos) << body;  // escaped backslash kept
  EXPECT_EQ(body.find("\xED\xA0\x80"), std::string::npos);
}

TEST_F(NorthStarDeliveryTest, SuccessNeedsAnAcceptedBody) {
  install(options());
  transport_->push(200, "<html>captive portal</html>");
  transport_->push(200, R"({"accepted":false})");
  run_with_events("bad-body", 1);
  ASSERT_TRUE(sink_->flush(5s).success);
  EXPECT_EQ(transport_->count(), 3u);
  EXPECT_EQ(sink_->stats().retries, 2u);
}

TEST_F(NorthStarDeliveryTest, FullQueueDropsTheNewestButSpanEndsGetIn) {
  auto o = options();
  o.max_queue_size = 20;
  o.batch_size = 1;
  install(o);
  transport_->set_gate(false);  // the first POST hangs: nothing drains
  {
    Span run("flood");
    ASSERT_TRUE(transport_->wait_for_calls(1, 2s));
    Logger log = Logger::get("app");
    for (int i = 0; i < 100; ++i) log.info("e", {{"i", i}});
  }
  auto s = sink_->stats();
  EXPECT_GT(s.records_dropped, 0u);
  EXPECT_EQ(s.records_accepted + s.records_dropped, 102u);  // start + 100 + end
  transport_->set_gate(true);
  const FlushResult r = sink_->flush(5s);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.failed_sinks.at(0).error.find("dropped"), std::string::npos);
  const Collected c = collect(transport_->accepted_bodies());
  ASSERT_EQ(c.runs.size(), 1u);
  EXPECT_EQ(str(c.runs.begin()->second, "status"), "ok");  // the end always gets in
  EXPECT_EQ(c.events.size() + s.records_dropped, 100u);
  EXPECT_TRUE(sink_->flush(5s).success);
}

TEST_F(NorthStarDeliveryTest, QueueIsBoundedInBytesSpanEndsIncludedAndDropsAreReported) {
  auto o = options();
  o.max_queue_bytes = 64 << 10;
  o.batch_size = 1;
  install(o);
  auto internal = std::make_shared<InMemorySink>(100);
  Logger::get(std::string(kInternalLoggerName)).set_sinks({internal});
  transport_->set_gate(false);  // the first POST hangs: nothing drains
  std::uint64_t most = 0;
  {
    Span run("flood");
    ASSERT_TRUE(transport_->wait_for_calls(1, 2s));
    Logger log = Logger::get("app");
    for (int i = 0; i < 3000; ++i) {
      Span child("child");  // a start and an end each
      log.info("e", {{"i", i}, {"pad", std::string(64, 'x')}});
      most = std::max(most, sink_->stats().queued_bytes);
    }
  }
  const auto s = sink_->stats();
  EXPECT_LE(most, o.max_queue_bytes);
  EXPECT_GT(s.records_dropped, 0u);
  EXPECT_EQ(s.records_accepted + s.records_dropped, 2u + 3000u * 3u);
  std::size_t reports = 0;
  for (const auto& rec : internal->records()) {
    reports += rec.body == Value("northstar queue full; dropping trace records") ? 1 : 0;
  }
  EXPECT_GE(reports, 1u);
  EXPECT_LE(reports, 3u);  // rate-limited: at most one a second
  transport_->set_gate(true);
  EXPECT_FALSE(sink_->flush(5s).success);  // reports the drops
  const Collected c = collect(transport_->accepted_bodies());
  ASSERT_EQ(c.runs.size(), 1u);
  EXPECT_EQ(str(c.runs.begin()->second, "status"), "ok");  // its end used the reserve
}

// Answers 500 to any body holding the marker, 200 {"accepted":true} otherwise; keeps the bodies.
class MarkerTransport final : public HttpTransport {
 public:
  HttpResponse post(const HttpRequest& request) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (request.body.find("POISON-500") != std::string::npos)
      return {500, R"({"error":"Internal server error"})", std::nullopt, ""};
    accepted_.push_back(request.body);
    return {200, R"({"accepted":true})", std::nullopt, ""};
  }
  std::vector<std::string> accepted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return accepted_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> accepted_;
};

TEST_F(NorthStarDeliveryTest, AnOutboxBatchThatKeepsFailingIsSplitAndDoesNotBlockTheOutbox) {
  const auto outbox =
      std::filesystem::temp_directory_path() / ("dagstack_ns_outbox_" + std::to_string(::getpid()));
  std::filesystem::remove_all(outbox);
  auto transport = std::make_shared<MarkerTransport>();
  auto o = options();
  o.transport = transport;
  o.retry.max_attempts = 2;
  o.retry.initial_backoff = 1ms;
  o.retry.max_backoff = 5ms;
  o.outbox_dir = outbox.string();
  install(o);
  for (int i = 0; i < 8; ++i) {
    Span run("run-" + std::to_string(i));
    Logger::get("app").info(i == 5 ? "POISON-500" : "fine");
  }
  const FlushResult r = sink_->flush(10s);
  EXPECT_FALSE(r.success);  // one record dead-lettered
  const Collected c = collect(transport->accepted());
  EXPECT_EQ(c.runs.size(), 8u);
  EXPECT_EQ(c.events.size(), 7u);  // all but the poisoned one
  const auto s = sink_->stats();
  EXPECT_EQ(s.entities_rejected, 1u);
  EXPECT_EQ(s.outbox_batches_stored, 1u);
  EXPECT_EQ(s.outbox_pending, 0u);
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(outbox, ec));
  std::filesystem::remove_all(outbox);
}

TEST_F(NorthStarDeliveryTest, NeverAStaleSnapshotAfterANewerOne) {
  auto o = options();
  o.batch_size = 1;
  install(o);
  transport_->set_gate(false);
  transport_->push(
      503, R"({"error":"Injected fault"})");  // the stale batch is retried after the run ended
  {
    Span run("stale");
    ASSERT_TRUE(transport_->wait_for_calls(1, 2s));
    Logger::get("app").info("inside");
  }
  transport_->set_gate(true);
  ASSERT_TRUE(sink_->flush(5s).success);
  std::vector<std::string> statuses;
  for (const auto& body : transport_->bodies()) {
    const Value doc = testing::parse_json(body);
    for (const auto& r : doc.find("runs")->as_array()) statuses.push_back(str(r, "status"));
  }
  ASSERT_GE(statuses.size(), 2u);
  EXPECT_EQ(statuses.back(), "ok");
  bool ok_seen = false;
  for (const auto& st : statuses) {
    if (st == "ok") ok_seen = true;
    EXPECT_FALSE(ok_seen && st == "running") << "running sent after ok";
  }
}

TEST_F(NorthStarDeliveryTest, ConcurrentEmittersLoseNothing) {
  auto o = options();
  o.batch_size = 25;
  o.max_batch_records = 30;
  o.max_queue_size = 100000;
  o.retry.initial_backoff = 2ms;
  install(o);
  for (int i = 0; i < 3; ++i) transport_->push(503, R"({"error":"Injected fault"})");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] { run_with_events("worker-" + std::to_string(t), 200); });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(sink_->flush(10s).success);
  const Collected c = collect(transport_->accepted_bodies());
  ASSERT_EQ(c.runs.size(), 4u);
  for (const auto& [id, r] : c.runs) {
    EXPECT_EQ(str(r, "status"), "ok");
    EXPECT_EQ(c.events_of(id).size(), 200u) << str(r, "name");
  }
  std::set<std::string> event_ids;
  for (const auto& e : c.events) event_ids.insert(str(e, "id"));
  EXPECT_EQ(event_ids.size(), 800u);  // no duplicates either
  EXPECT_EQ(sink_->stats().records_dropped, 0u);
}

TEST_F(NorthStarDeliveryTest, FlushTimeoutAndBadTimeout) {
  install(options());
  const FlushResult zero = sink_->flush(0ms);
  EXPECT_FALSE(zero.success);
  EXPECT_EQ(zero.failed_sinks.at(0).error, "timeout must be greater than zero");
  EXPECT_FALSE(sink_->flush(-5ms).success);
  transport_->set_gate(false);
  run_with_events("hung", 1);
  const auto start = Clock::now();
  const FlushResult r = sink_->flush(200ms);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.failed_sinks.at(0).error.find("timed out"), std::string::npos);
  EXPECT_LT(gap_ms(start, Clock::now()), 1500);
  transport_->set_gate(true);
  EXPECT_TRUE(sink_->flush(5s).success);
}

TEST_F(NorthStarDeliveryTest, CloseEndsTheSessionAndIgnoresLaterEmits) {
  install(options());
  run_with_events("closing", 1);
  ASSERT_TRUE(sink_->flush(5s).success);
  sink_->close();
  const auto bodies = transport_->accepted_bodies();
  ASSERT_GE(bodies.size(), 2u);
  const Value last = testing::parse_json(bodies.back());
  ASSERT_EQ(last.find("sessions")->as_array().size(), 1u);
  const Value& session = last.find("sessions")->as_array()[0];
  EXPECT_EQ(str(session, "id"), sink_->session_id());
  EXPECT_FALSE(str(session, "ended_at").empty());
  const auto accepted = sink_->stats().records_accepted;
  run_with_events("after-close", 3);
  EXPECT_EQ(sink_->stats().records_accepted, accepted);
  EXPECT_EQ(transport_->count(), bodies.size());
}

TEST_F(NorthStarDeliveryTest, CloseGivesUpAfterTheShutdownTimeout) {
  auto o = options();
  o.shutdown_timeout = 300ms;
  o.retry.initial_backoff = 50ms;
  install(o);
  transport_->set_fallback(0, "");
  run_with_events("down", 2);
  const auto start = Clock::now();
  sink_->close();
  EXPECT_LT(gap_ms(start, Clock::now()), 2000);
  const auto s = sink_->stats();
  EXPECT_GT(s.entities_lost_at_close, 0u);
  EXPECT_EQ(s.batches_delivered, 0u);
  const FlushResult r = sink_->flush(100ms);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.failed_sinks.at(0).error.find("unsent at close"), std::string::npos);
}

}  // namespace
}  // namespace dagstack::logger::northstar

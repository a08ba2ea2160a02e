// northstar_no_loss_test.cpp: the NorthStar sink against northstar-local under the faults of
// issue 11 ("no record lost"): one 400 first, 3 x 503 with max_attempts=3, a NUL in one tool
// result, a poison record, a burst of 8 threads x 20 traces, the server down for a while (60 s in
// the plain build, DAGSTACK_NS_OUTAGE_SECONDS overrides) and down across a process restart, exit
// with the endpoint down or a black hole, and flush() latency. Every run must arrive exactly
// once (except a poison record, dead-lettered alone), and outages and recoveries must be reported
// on the internal channel. Loss figures are printed.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/northstar.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "dagstack/logger/span.h"
#include "northstar_local/server.h"
#include "northstar_test_support.h"

#include "support/sanitizers.h"

namespace dagstack::logger::northstar {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::parse_json;

constexpr const char* kKey = "ns_nolosskey0123456789abcdefghijklmn";

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// A small agent trace: a run with a tool span (arguments, result) and one log event.
std::string small_trace(const std::string& name, const Value& tool_result = Value("ok")) {
  auto run = trace(name);
  {
    auto tool = span("lookup", SpanKind::kTool);
    tool.record_arguments(Value::map({{"q", name}}));
    tool.record_result(tool_result);
  }
  log_event("step", Value::map({{"name", name}}));
  return run.id();
}

// A TCP listener on 127.0.0.1 that never accepts: connections complete, requests are never
// answered (a black hole).
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/functions/v1/ingest-traces";
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port nobody listens on (connection refused).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class NorthStarNoLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    dir_ = std::filesystem::temp_directory_path() /
           ("dagstack_ns_noloss_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (sink_) sink_->close();
    Logger::reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start_server(int port = 0, bool in_memory = false) {
    northstar_local::ServerOptions so;
    so.api_keys.push_back({kKey, ""});
    so.db_path = in_memory ? std::string(":memory:") : (dir_ / "northstar.db").string();
    so.port = port;
    so.log_requests_to_stderr = false;
    server_ = std::make_unique<northstar_local::Server>(std::move(so));
    server_->start();
  }

  NorthStarOptions options(const std::string& endpoint) {
    NorthStarOptions o;
    o.api_key = kKey;
    o.endpoint = endpoint;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 200ms;
    o.request_timeout = 3s;
    o.dead_letter_path = (dir_ / "dead_letter.jsonl").string();
    o.debug = std::getenv("DAGSTACK_NS_TEST_VERBOSE") != nullptr;
    return o;
  }

  // Installs the sink, plus an InMemorySink on the internal channel.
  // The internal sink goes first: the sink's worker may report (e.g. an outbox to replay) as
  // soon as it exists.
  void install(const NorthStarOptions& o) {
    internal_ = std::make_shared<InMemorySink>(10000);
    Logger::get(std::string(kInternalLoggerName)).set_sinks({internal_});
    sink_ = make_northstar_sink(o);
    ConfigureOptions c;
    c.sinks = SinkList{sink_};
    configure(c);
  }

  std::size_t internal_count(std::string_view body) const {
    std::size_t n = 0;
    if (std::getenv("DAGSTACK_NS_TEST_VERBOSE") != nullptr) {
      for (const auto& r : internal_->records())
        std::printf("internal: %s\n", to_canonical_json(r.body).c_str());
    }
    for (const auto& r : internal_->records()) n += r.body == Value(std::string(body)) ? 1 : 0;
    return n;
  }

  std::vector<std::string> dead_letters() const {
    std::vector<std::string> lines;
    std::ifstream in(dir_ / "dead_letter.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::size_t outbox_files(const std::filesystem::path& dir) const {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      n += e.path().extension() == ".json" ? 1 : 0;
    }
    return n;
  }

  // Every id in `runs` is stored once, ended ok, with its span and two events.
  void expect_all_delivered(const std::vector<std::string>& runs, const char* what) {
    const auto snap = server_->snapshot();
    std::size_t missing = 0;
    for (const auto& id : runs) {
      const auto* run = snap.find_run(id);
      if (run == nullptr) {
        ++missing;
        continue;
      }
      EXPECT_EQ(run->status, "ok") << id;
      EXPECT_EQ(snap.spans_of(id).size(), 1u) << id;
    }
    std::set<std::string> stored;
    for (const auto& r : snap.runs) stored.insert(r.id);
    std::printf("[%s] runs sent %zu, stored %zu, missing %zu\n", what, runs.size(), stored.size(),
                missing);
    EXPECT_EQ(missing, 0u) << what;
    EXPECT_EQ(snap.runs.size(), runs.size()) << what << ": every run exactly once";
  }

  std::filesystem::path dir_;
  std::unique_ptr<northstar_local::Server> server_;
  std::shared_ptr<NorthStarSink> sink_;
  std::shared_ptr<InMemorySink> internal_;
};

TEST_F(NorthStarNoLossTest, OneBadRequestFirstLosesNothing) {
  start_server();
  install(options(server_->ingest_url()));
  server_->fail_next(1, 400);  // the very first batch (it holds the session row) is refused
  std::vector<std::string> runs;
  for (int i = 0; i < 5; ++i) runs.push_back(small_trace("first-400-" + std::to_string(i)));
  ASSERT_TRUE(sink_->flush(10s).success);
  for (int i = 0; i < 5; ++i) runs.push_back(small_trace("after-" + std::to_string(i)));
  ASSERT_TRUE(sink_->flush(10s).success);
  expect_all_delivered(runs, "one 400 first");
  EXPECT_EQ(server_->requests().at(0).status, 400);
  EXPECT_TRUE(dead_letters().empty());
}

TEST_F(NorthStarNoLossTest, Three503sWithMaxAttemptsThreeGoToTheOutboxAndArrive) {
  start_server();
  auto o = options(server_->ingest_url());
  o.retry.max_attempts = 3;
  o.outbox_dir = (dir_ / "outbox").string();
  install(o);
  server_->fail_next(3, 503);
  std::vector<std::string> runs;
  for (int i = 0; i < 5; ++i) runs.push_back(small_trace("503-" + std::to_string(i)));
  ASSERT_TRUE(sink_->flush(10s).success);
  for (int i = 0; i < 5; ++i) runs.push_back(small_trace("after-" + std::to_string(i)));
  ASSERT_TRUE(sink_->flush(10s).success);
  expect_all_delivered(runs, "3 x 503, max_attempts=3, outbox");
  EXPECT_EQ(sink_->stats().outbox_batches_stored, 1u);
  EXPECT_EQ(sink_->stats().outbox_batches_replayed, 1u);
  EXPECT_EQ(outbox_files(dir_ / "outbox"), 0u);
  EXPECT_TRUE(dead_letters().empty());
  EXPECT_EQ(internal_count("northstar endpoint unavailable; retrying"), 1u);
  EXPECT_EQ(internal_count("northstar endpoint recovered"), 1u);
}

TEST_F(NorthStarNoLossTest, Three503sWithoutAnOutboxLoseOnlyThatBatch) {
  start_server();
  auto o = options(server_->ingest_url());
  o.retry.max_attempts = 3;
  install(o);
  server_->fail_next(3, 503);
  for (int i = 0; i < 5; ++i) small_trace("lost-" + std::to_string(i));
  EXPECT_FALSE(sink_->flush(10s).success);  // dead-lettered: reported
  std::vector<std::string> later;
  for (int i = 0; i < 5; ++i) later.push_back(small_trace("later-" + std::to_string(i)));
  ASSERT_TRUE(sink_->flush(10s).success);  // not poisoned: the session row came along again
  const auto snap = server_->snapshot();
  for (const auto& id : later) EXPECT_NE(snap.find_run(id), nullptr) << id;
  ASSERT_EQ(dead_letters().size(), 1u);
  std::printf("[3 x 503, no outbox] later runs stored %zu of %zu\n", snap.runs.size(),
              later.size());
  EXPECT_EQ(snap.runs.size(), later.size());
}

TEST_F(NorthStarNoLossTest, NulInOneToolResultIsReplacedAndNothingIsLost) {
  start_server();
  install(options(server_->ingest_url()));
  std::vector<std::string> runs;
  for (int i = 0; i < 10; ++i) {
    runs.push_back(i == 4 ? small_trace("nul", Value(std::string("be\0fore", 7)))
                          : small_trace("plain-" + std::to_string(i)));
  }
  ASSERT_TRUE(sink_->flush(10s).success);
  expect_all_delivered(runs, "NUL in one tool result");
  bool found = false;
  const auto snap = server_->snapshot();
  for (const auto* e : snap.events_of(runs[4])) {
    if (e->type == "tool_result") {
      found = true;
      EXPECT_NE(e->content.find("be\xEF\xBF\xBD"
                                "fore"),
                std::string::npos)
          << e->content;
    }
  }
  EXPECT_TRUE(found);
  // Accepted at once: no retry and no refusal. The worker may split the ten traces into more
  // than one batch on a slow machine, so the request count is compared with the batches, not 1.
  const NorthStarStats st = sink_->stats();
  EXPECT_EQ(st.retries, 0u);
  EXPECT_EQ(st.batches_rejected, 0u);
  EXPECT_EQ(st.requests, st.batches_delivered);
  EXPECT_EQ(server_->request_count(), st.requests);
}

TEST_F(NorthStarNoLossTest, PoisonRecordIsDeadLetteredAloneWithItsReason) {
  start_server();
  northstar_local::FaultState f;
  f.reject_body_containing = "POISON-7f3a";
  server_->set_faults(f);
  install(options(server_->ingest_url()));
  std::vector<std::string> runs;
  for (int i = 0; i < 20; ++i) {
    runs.push_back(i == 13 ? small_trace("poisoned", Value("POISON-7f3a"))
                           : small_trace("clean-" + std::to_string(i)));
  }
  const FlushResult r = sink_->flush(10s);
  EXPECT_FALSE(r.success);  // the dead letter is reported
  expect_all_delivered(runs, "poison record");
  const auto snap = server_->snapshot();
  std::size_t events = 0;
  for (const auto& id : runs) events += snap.events_of(id).size();
  EXPECT_EQ(events, runs.size() * 3 - 1);  // every event but the poisoned tool result
  const auto lines = dead_letters();
  ASSERT_EQ(lines.size(), 1u);
  const Value dl = parse_json(lines[0]);
  EXPECT_EQ(*dl.find("status"), Value(400));
  EXPECT_EQ(*dl.find("records"), Value(1));
  EXPECT_NE(testing::str(dl, "error").find("poison marker"), std::string::npos);
  const Value& payload = *dl.find("payload");
  ASSERT_EQ(payload.find("events")->as_array().size(), 1u);
  EXPECT_EQ(payload.find("spans")->as_array().size(), 0u);  // its span was already accepted
  EXPECT_EQ(sink_->stats().entities_rejected, 1u);
  std::printf("[poison] requests %zu for 1 poison record among %zu runs\n",
              server_->request_count(), runs.size());
}

TEST_F(NorthStarNoLossTest, BurstOfEightThreadsTimesTwentyTracesDeliversEverythingByDefault) {
  start_server();
  server_->set_delay(20ms);  // a server that takes a while to answer, as a real one does
  NorthStarOptions o;        // the defaults, but for the destination
  o.api_key = kKey;
  o.endpoint = server_->ingest_url();
  install(o);
  std::vector<std::vector<std::string>> per_thread(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &per_thread] {
      for (int i = 0; i < 20; ++i) {
        per_thread[t].push_back(
            small_trace("burst-" + std::to_string(t) + "-" + std::to_string(i)));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(sink_->flush(30s).success);
  std::vector<std::string> runs;
  for (const auto& v : per_thread) runs.insert(runs.end(), v.begin(), v.end());
  expect_all_delivered(runs, "burst 8 x 20");
  EXPECT_EQ(sink_->stats().records_dropped, 0u);
}

TEST_F(NorthStarNoLossTest, ServerDownThenBackDeliversEverythingAndReportsIt) {
  // The outage lasts 60 s in the plain build (10 s under sanitizers, where everything is slower);
  // DAGSTACK_NS_OUTAGE_SECONDS overrides both.
#ifdef DAGSTACK_TEST_SANITIZED
  int outage_s = 10;
#else
  int outage_s = 60;
#endif
  if (const char* env = std::getenv("DAGSTACK_NS_OUTAGE_SECONDS")) outage_s = std::atoi(env);
  start_server();
  const int port = server_->port();
  auto o = options(server_->ingest_url());
  o.outbox_dir = (dir_ / "outbox").string();
  o.max_queue_bytes = 256 << 10;  // small, so that the outage moves batches to disk
  o.flush_interval = 1s;
  o.retry.max_backoff = 1s;
  install(o);
  std::vector<std::string> runs;
  runs.push_back(small_trace("before"));
  ASSERT_TRUE(sink_->flush(10s).success);

  server_.reset();  // down: connection refused
  const auto down_at = Clock::now();
  while (ms_since(down_at) < outage_s * 1000) {
    runs.push_back(small_trace("during-" + std::to_string(runs.size())));
    std::this_thread::sleep_for(20ms);
  }
  const auto during = runs.size() - 1;
  EXPECT_GT(sink_->stats().outbox_batches_stored, 0u);

  start_server(port);  // back, same port and database
  const auto up_at = std::chrono::system_clock::now();
  ASSERT_TRUE(server_->wait_for_requests(1, 10s));
  const auto first_request_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    server_->requests().at(0).received_at - up_at)
                                    .count();
  runs.push_back(small_trace("after"));
  ASSERT_TRUE(sink_->flush(60s).success);
  std::printf(
      "[outage %d s] %zu runs during the outage, first request %lld ms after the server "
      "came back, %llu batches via the outbox, %llu dropped\n",
      outage_s, during, static_cast<long long>(first_request_ms),
      static_cast<unsigned long long>(sink_->stats().outbox_batches_stored),
      static_cast<unsigned long long>(sink_->stats().records_dropped));
  EXPECT_LE(first_request_ms, 3000);  // outage_probe_interval (2 s) plus slack
  expect_all_delivered(runs, "server down then back");
  EXPECT_EQ(sink_->stats().records_dropped, 0u);
  EXPECT_EQ(internal_count("northstar endpoint unavailable; retrying"), 1u);
  EXPECT_EQ(internal_count("northstar endpoint recovered"), 1u);
  EXPECT_EQ(outbox_files(dir_ / "outbox"), 0u);
}

// The first process of ServerDownAcrossARestartIsReplayedByTheNextProcess (run as a child):
// traces with the endpoint down, then exits; what it could not send must be in the outbox.
TEST_F(NorthStarNoLossTest, ChildProcessTracesWhileTheServerIsDown) {
  const char* outbox = std::getenv("DAGSTACK_NS_CHILD_OUTBOX");
  if (outbox == nullptr) GTEST_SKIP() << "runs as the child of ServerDownAcrossARestart...";
  auto o = options(std::getenv("DAGSTACK_NS_CHILD_ENDPOINT"));
  o.outbox_dir = outbox;
  install(o);
  std::ofstream ids(std::filesystem::path(outbox).parent_path() / "run_ids.txt");
  for (int i = 0; i < 30; ++i) ids << small_trace("child-" + std::to_string(i)) << "\n";
  ids.close();
  const auto start = Clock::now();
  sink_->close();
  EXPECT_LE(ms_since(start), 3000);
  EXPECT_EQ(sink_->stats().entities_lost_at_close, 0u);
  EXPECT_GT(outbox_files(outbox), 0u);
}

TEST_F(NorthStarNoLossTest, ServerDownAcrossARestartIsReplayedByTheNextProcess) {
  const auto outbox = dir_ / "outbox";
  const std::string endpoint =
      "http://127.0.0.1:" + std::to_string(closed_port()) + "/functions/v1/ingest-traces";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setenv("DAGSTACK_NS_CHILD_OUTBOX", outbox.c_str(), 1);
    ::setenv("DAGSTACK_NS_CHILD_ENDPOINT", endpoint.c_str(), 1);
    ::execl("/proc/self/exe", "northstar_no_loss_test",
            "--gtest_filter=NorthStarNoLossTest.ChildProcessTracesWhileTheServerIsDown", nullptr);
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::vector<std::string> runs;
  {
    std::ifstream ids(dir_ / "run_ids.txt");
    for (std::string id; std::getline(ids, id);) runs.push_back(id);
  }
  ASSERT_EQ(runs.size(), 30u);
  const std::size_t stored = outbox_files(outbox);
  ASSERT_GT(stored, 0u);

  start_server();  // the endpoint is back; this process replays the child's outbox
  auto o = options(server_->ingest_url());
  o.outbox_dir = outbox.string();
  install(o);
  runs.push_back(small_trace("next-process"));
  ASSERT_TRUE(sink_->flush(20s).success);
  std::printf("[restart] %zu outbox files from the previous process replayed\n", stored);
  expect_all_delivered(runs, "down across a restart");
  EXPECT_EQ(outbox_files(outbox), 0u);
  EXPECT_EQ(sink_->stats().outbox_batches_replayed, stored);
  EXPECT_EQ(internal_count("northstar outbox holds undelivered batches; replaying them"), 1u);
}

TEST_F(NorthStarNoLossTest, ExitWithABlackHoleEndpointIsBoundedAndFillsTheOutbox) {
  BlackHole hole;
  auto o = options(hole.url());
  o.request_timeout = 10s;  // the default: a request in flight must not hold close() that long
  o.outbox_dir = (dir_ / "outbox").string();
  install(o);
  std::vector<std::string> runs;
  for (int i = 0; i < 20; ++i) runs.push_back(small_trace("hole-" + std::to_string(i)));
  EXPECT_FALSE(sink_->flush(300ms).success);  // a request is now stuck in the black hole
  const auto start = Clock::now();
  sink_->close();
  const auto took = ms_since(start);
  std::printf("[black hole] close() took %lld ms (shutdown_timeout %lld ms)\n",
              static_cast<long long>(took), static_cast<long long>(o.shutdown_timeout.count()));
  EXPECT_LE(took, 3000);
  EXPECT_EQ(sink_->stats().entities_lost_at_close, 0u);
  EXPECT_GT(outbox_files(dir_ / "outbox"), 0u);

  // A later sink with a working endpoint delivers the outbox: every run once.
  start_server();
  sink_.reset();
  auto o2 = options(server_->ingest_url());
  o2.outbox_dir = (dir_ / "outbox").string();
  install(o2);
  ASSERT_TRUE(sink_->flush(20s).success);
  expect_all_delivered(runs, "black hole, then replay");
}

TEST_F(NorthStarNoLossTest, ShutdownAtExitWithABlackHoleIsBoundedByOneTimeout) {
  BlackHole hole;
  auto o = options(hole.url());
  o.request_timeout = 10s;
  o.outbox_dir = (dir_ / "outbox").string();
  install(o);
  for (int i = 0; i < 20; ++i) small_trace("exit-" + std::to_string(i));
  const auto start = Clock::now();
  const FlushResult r = shutdown(2000ms);  // what the library's atexit handler does
  const auto took = ms_since(start);
  std::printf("[black hole] shutdown(2 s) took %lld ms\n", static_cast<long long>(took));
  EXPECT_FALSE(r.success);
  EXPECT_LE(took, 3000);  // flush() and close() share the budget
  EXPECT_EQ(sink_->stats().entities_lost_at_close, 0u);
  EXPECT_GT(outbox_files(dir_ / "outbox"), 0u);
}

TEST_F(NorthStarNoLossTest, ExitWithTheEndpointDownIsBoundedAndFillsTheOutbox) {
  auto o =
      options("http://127.0.0.1:" + std::to_string(closed_port()) + "/functions/v1/ingest-traces");
  o.outbox_dir = (dir_ / "outbox").string();
  o.retry = RetryPolicy{};  // the default backoff
  install(o);
  for (int i = 0; i < 20; ++i) small_trace("down-" + std::to_string(i));
  const auto start = Clock::now();
  sink_->close();
  const auto took = ms_since(start);
  std::printf("[endpoint down] close() took %lld ms\n", static_cast<long long>(took));
  EXPECT_LE(took, 3000);
  EXPECT_EQ(sink_->stats().entities_lost_at_close, 0u);
  EXPECT_GT(outbox_files(dir_ / "outbox"), 0u);
  EXPECT_EQ(internal_count("northstar sink closed; undelivered records stored in the outbox"), 1u);
}

TEST_F(NorthStarNoLossTest, FlushReturnsAsSoonAsEverythingIsDelivered) {
  // Each repetition: a run of 4096 records, then flush(). The whole flush, from the call to its
  // return, must stay under 100 ms every time (issue 11, acceptance 5): the sink stitches a
  // batch's worth of what is queued, sends it (batches of up to 1000 records) and stitches the
  // rest while it is in flight, and northstar-local ingests the batches into its SQLite store,
  // which keeps the rows of every repetition. Also bounded and printed: the time from the
  // server's last answer to flush()'s return (the old worker slept until the next flush_interval
  // tick there: up to 5 s). 50 repetitions by default, 1,000 with DAGSTACK_NS_FLUSH_REPS=1000
  // (the count). CTest runs this test alone (RUN_SERIAL): other tests on the same cores
  // would be measured too.
  // The whole flush is bounded in every repetition when DAGSTACK_NS_FLUSH_STRICT=1 (the
  // README's command for the check). By default its median is bounded: the mean is
  // ~30 ms on the idle 2-vCPU machine, worst ~50 ms in 1,000 (~40 ms, worst ~70 ms, with a build
  // running beside it), but a busier shared CI machine can still push a single repetition past
  // 100 ms. Under sanitizers, 3 repetitions and only the gap after the server's answer:
  // instrumentation makes the flush itself take seconds.
#ifdef DAGSTACK_TEST_SANITIZED
  int reps = 3;
  const bool bound_whole_flush = false;
#else
  int reps = 50;
  const bool bound_whole_flush = true;
#endif
  const char* strict_env = std::getenv("DAGSTACK_NS_FLUSH_STRICT");
  const bool strict = strict_env != nullptr && std::string_view(strict_env) == "1";
  if (const char* env = std::getenv("DAGSTACK_NS_FLUSH_REPS")) reps = std::max(1, std::atoi(env));
  const long long bound_ms = 100;
  start_server(0, /*in_memory=*/true);
  auto o = options(server_->ingest_url());
  o.debug = false;
  install(o);

  struct Repetition {
    long long flush_ms = 0;  // flush() called to returned
    long long gap_ms = 0;    // the server's last answer to flush()'s return
    std::size_t requests = 0;
    double server_ms = 0;  // answering time of this repetition's requests within the flush
  };
  std::vector<Repetition> seen;
  seen.reserve(static_cast<std::size_t>(reps));
  Logger log = Logger::get("app");
  for (int rep = 0; rep < reps; ++rep) {
    server_->clear_requests();
    {
      Span run("flush-latency");
      for (int i = 0; i < 4094; ++i) log.info("r", {{"i", i}});
    }  // with the run's start and end: 4096 records
    const auto called = std::chrono::system_clock::now();
    const auto start = Clock::now();
    const FlushResult r = sink_->flush(60s);
    const long long took = ms_since(start);
    const auto returned = std::chrono::system_clock::now();
    ASSERT_TRUE(r.success) << "rep " << rep << ": " << r.failed_sinks.at(0).error;
    const auto requests = server_->requests();
    ASSERT_FALSE(requests.empty());
    Repetition x;
    x.flush_ms = took;
    x.requests = requests.size();
    for (const auto& q : requests) {
      const auto answered =
          q.received_at + std::chrono::microseconds(static_cast<long long>(q.duration_ms * 1000));
      const auto from = std::max(q.received_at, called);
      if (answered > from) {
        x.server_ms += std::chrono::duration<double, std::milli>(answered - from).count();
      }
    }
    const auto& last = requests.back();
    const auto answered = last.received_at + std::chrono::microseconds(
                                                 static_cast<long long>(last.duration_ms * 1000));
    x.gap_ms = std::chrono::duration_cast<std::chrono::milliseconds>(returned - answered).count();
    seen.push_back(x);
  }

  std::vector<long long> flushes;
  long long total = 0, worst_gap = 0;
  double server_total = 0;
  int flush_over = 0, gap_over = 0;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    flushes.push_back(seen[i].flush_ms);
    total += seen[i].flush_ms;
    server_total += seen[i].server_ms;
    worst_gap = std::max(worst_gap, seen[i].gap_ms);
    flush_over += seen[i].flush_ms > bound_ms ? 1 : 0;
    gap_over += seen[i].gap_ms > bound_ms ? 1 : 0;
    if (seen[i].flush_ms > seen[worst].flush_ms) worst = i;
  }
  std::sort(flushes.begin(), flushes.end());
  const auto at = [&](double q) {
    return flushes[std::min(flushes.size() - 1, static_cast<std::size_t>(q * flushes.size()))];
  };
  std::printf(
      "[flush latency] %d x (4096 records, flush()): whole flush mean %lld ms (the server "
      "answering %.0f ms of it), median %lld, p99 %lld, worst %lld (%d over %lld ms); after the "
      "server's last answer worst %lld ms (%d over); worst repetition #%zu: %zu requests, the "
      "server answering %.0f ms of it\n",
      reps, total / reps, server_total / reps, at(0.5), at(0.99), flushes.back(), flush_over,
      bound_ms, worst_gap, gap_over, worst, seen[worst].requests, seen[worst].server_ms);
  // Long runs: how the flush changes as the store fills up, in tenths of the run.
  if (reps >= 200) {
    const std::size_t block = seen.size() / 10;
    for (std::size_t first = 0; first + block <= seen.size(); first += block) {
      long long sum = 0, most = 0;
      double server = 0;
      int over = 0;
      for (std::size_t i = first; i < first + block; ++i) {
        sum += seen[i].flush_ms;
        most = std::max(most, seen[i].flush_ms);
        server += seen[i].server_ms;
        over += seen[i].flush_ms > bound_ms ? 1 : 0;
      }
      std::printf(
          "  #%zu-%zu (%zu events stored before): mean %lld ms (server %.0f), worst %lld, "
          "%d over\n",
          first, first + block - 1, first * 4094, sum / static_cast<long long>(block),
          server / static_cast<double>(block), most, over);
    }
  }
  EXPECT_EQ(gap_over, 0);
  if (bound_whole_flush && strict) {
    EXPECT_EQ(flush_over, 0);
  } else if (bound_whole_flush) {
    EXPECT_LE(at(0.5), bound_ms);
  }
}

}  // namespace
}  // namespace dagstack::logger::northstar

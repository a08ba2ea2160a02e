// backtrace_subscription_test.cpp: the opt-in backtrace ring, Logger::version() and
// on_reconfigure() (mirroring the Python binding's test_subscription.py and test_logger.py).
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"

namespace dl = dagstack::logger;

namespace {

class BacktraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dl::Logger::reset();
    sink_ = std::make_shared<dl::InMemorySink>(5000);
    internal_ = std::make_shared<dl::InMemorySink>(100);
    dl::ConfigureOptions o;
    o.sinks = dl::SinkList{sink_};
    o.root_level = "INFO";
    dl::configure(o);
    dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal_});
  }
  void TearDown() override { dl::Logger::reset(); }
  std::vector<std::string> bodies() {
    std::vector<std::string> out;
    for (const auto& r : sink_->records()) out.push_back(r.body.as_string());
    return out;
  }
  std::shared_ptr<dl::InMemorySink> sink_;
  std::shared_ptr<dl::InMemorySink> internal_;
};

TEST_F(BacktraceTest, OffByDefault) {
  auto log = dl::Logger::get("svc");
  log.debug("d1");
  log.error("e");
  EXPECT_EQ(bodies(), (std::vector<std::string>{"e"}));
  EXPECT_EQ(log.dump_backtrace(), 0u);
}

TEST_F(BacktraceTest, KeptRecordsComeOutInOrderBeforeAnError) {
  auto log = dl::Logger::get("svc");
  log.enable_backtrace(10);
  log.debug("d1", {{"step", 1}});
  log.trace("t2 {}", 2);
  log.info("i3");  // passes the level: emitted now, not kept
  DAGSTACK_LOG_DEBUG(log, "d4 {}", 4, {{"step", 4}});
  EXPECT_EQ(bodies(), (std::vector<std::string>{"i3"}));
  log.error("boom {}", 5);
  EXPECT_EQ(bodies(), (std::vector<std::string>{"i3", "d1", "t2 2", "d4 4", "boom 5"}));
  const auto records = sink_->records();
  EXPECT_EQ(records[1].severity_number, dl::kSeverityDebug);
  EXPECT_EQ(records[2].severity_number, dl::kSeverityTrace);
  EXPECT_EQ(*records[1].attribute("step"), dl::Value(1));
  // Each kept record has the time it was logged, not the time it was emitted.
  EXPECT_LE(records[1].time_unix_nano, records[2].time_unix_nano);
  EXPECT_LE(records[3].time_unix_nano, records[0].time_unix_nano + 60'000'000'000ULL);
  EXPECT_LT(records[1].time_unix_nano, records[4].time_unix_nano);
  // The ring is empty again: the next error comes alone.
  log.error("again");
  EXPECT_EQ(sink_->size(), 6u);
}

TEST_F(BacktraceTest, BoundedKeepsTheNewest) {
  auto log = dl::Logger::get("svc");
  log.enable_backtrace(3);
  for (int i = 0; i < 10; ++i) log.debug("d{}", i);
  EXPECT_EQ(log.dump_backtrace(), 3u);
  EXPECT_EQ(bodies(), (std::vector<std::string>{"d7", "d8", "d9"}));
  EXPECT_EQ(log.dump_backtrace(), 0u);
}

TEST_F(BacktraceTest, ExceptionAndFatalAlsoTriggerAndContextIsKept) {
  auto log = dl::Logger::get("svc");
  log.enable_backtrace(5);
  {
    dl::ScopedContext ctx(
        dl::Context::with_span(dl::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736"),
                               dl::SpanId::from_hex("00f067aa0ba902b7"), 1));
    log.debug("in span");
  }
  log.exception(std::runtime_error("x"), "failed");
  const auto records = sink_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].body, dl::Value("in span"));
  EXPECT_EQ(records[0].trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(records[1].body, dl::Value("failed"));
  log.debug("before fatal");
  log.fatal("fatal");
  EXPECT_EQ(bodies().back(), "fatal");
  EXPECT_EQ(bodies()[bodies().size() - 2], "before fatal");
}

TEST_F(BacktraceTest, PerLoggerAndDisable) {
  auto a = dl::Logger::get("a");
  auto b = dl::Logger::get("b");
  a.enable_backtrace(5);
  a.debug("a1");
  b.debug("b1");  // b has no ring: dropped as usual
  b.error("b-error");
  EXPECT_EQ(bodies(), (std::vector<std::string>{"b-error"}));
  a.disable_backtrace();
  a.error("a-error");
  EXPECT_EQ(bodies(), (std::vector<std::string>{"b-error", "a-error"}));
  EXPECT_FALSE(a.accepts(dl::kSeverityDebug));
}

TEST_F(BacktraceTest, ConcurrentKeepAndDumpLoseNothingWithinCapacity) {
  auto log = dl::Logger::get("mt");
  log.enable_backtrace(100000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) log.debug("t{} {}", t, i);
    });
  }
  std::size_t dumped = 0;
  for (int i = 0; i < 20; ++i) dumped += log.dump_backtrace();
  for (auto& th : threads) th.join();
  dumped += log.dump_backtrace();
  EXPECT_EQ(dumped, 2000u);
  EXPECT_EQ(sink_->size(), 2000u);
}

TEST_F(BacktraceTest, VersionAccessor) {
  EXPECT_EQ(dl::Logger::get("v").version(), "");
  EXPECT_EQ(dl::Logger::get("v", "1.2.0").version(), "1.2.0");
  EXPECT_EQ(dl::Logger::get("v").version(), "1.2.0");  // omitting it keeps it
  EXPECT_EQ(dl::Logger::get("v", "2.0").version(), "2.0");
  EXPECT_EQ(dl::Logger::get().version(), "");
}

// test_subscription.py: inactive; unsubscribe once; a warning on dagstack.logger.internal.
TEST_F(BacktraceTest, OnReconfigureReturnsAnInactiveSubscription) {
  int calls = 0;
  dl::Subscription s =
      dl::Logger::get("svc.api").on_reconfigure([&](const dl::Logger&) { ++calls; });
  EXPECT_EQ(s.path(), "logger:svc.api");
  EXPECT_FALSE(s.active());
  EXPECT_EQ(s.inactive_reason(), "Phase 1 logger does not support watch-based reconfigure");
  EXPECT_TRUE(s.unsubscribe());
  EXPECT_FALSE(s.unsubscribe());
  EXPECT_TRUE(s.unsubscribed());
  dl::configure(dl::ConfigureOptions{});
  EXPECT_EQ(calls, 0);
  const auto internal = internal_->records();
  ASSERT_EQ(internal.size(), 1u);
  EXPECT_EQ(internal[0].body, dl::Value("subscription_without_watch"));
  EXPECT_EQ(internal[0].severity_number, dl::kSeverityWarn);
  EXPECT_EQ(*internal[0].attribute("subscription.path"), dl::Value("logger:svc.api"));
  // Nothing leaked to the application's sinks.
  EXPECT_EQ(sink_->size(), 0u);
  EXPECT_EQ(dl::Logger::get().on_reconfigure({}).path(), "logger:");
}

}  // namespace

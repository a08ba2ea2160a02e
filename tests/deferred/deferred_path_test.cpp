// deferred_path_test.cpp: the deferred caller path's behaviour: options errors, flush through
// Logger::flush(), scoped overrides resolved at the call, per-thread order and time merge, the
// drop policy's exact counts, blocking with tiny rings, rings released when threads end, fork
// while the writer runs, and a stress of 8 threads with thread churn while flush() and
// configure() run (no record lost with kBlock).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "dagstack/logger/clock.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/deferred.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/file_sink.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "deferred/deferred_path.h"
#include "deferred/deferred_support.h"
#include "deferred/tsc_clock.h"
#include "support/sanitizers.h"

namespace dagstack::logger {
namespace {

using testing::JsonLinesSink;

// A sink that waits on a gate before each record: keeps the writer busy so rings fill up.
class GatedSink final : public Sink {
 public:
  std::string_view id() const noexcept override { return "gated"; }
  void emit(const LogRecord& r) override {
    entered.store(true);
    while (closed_.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    std::lock_guard<std::mutex> lock(mutex_);
    std::int64_t seq = -1;
    for (const auto& a : r.attributes) {
      if (a.key == "seq") seq = a.value.as_int();
    }
    seqs_.push_back(seq);
  }
  FlushResult flush(std::chrono::milliseconds) override { return FlushResult::ok(); }
  void close() override {}
  void hold() { closed_.store(true); }
  std::atomic<bool> entered{false};  // emit() was called at least once
  void release() { closed_.store(false); }
  std::vector<std::int64_t> seqs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seqs_;
  }

 private:
  std::atomic<bool> closed_{false};
  mutable std::mutex mutex_;
  std::vector<std::int64_t> seqs_;
};

// A sink that writes behind, slowly: end_batch() hands the batch to its own thread, which takes
// 5 ms to deliver it; settle_batches() waits for that. Shows whether the deferred writer waits.
class SlowBehindSink final : public Sink {
 public:
  SlowBehindSink() : thread_([this] { run(); }) {}
  ~SlowBehindSink() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::string_view id() const noexcept override { return "slow-behind"; }
  void emit(const LogRecord& /*r*/) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++open_;
  }
  void end_batch() noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_ == 0) return;
    queued_.push_back(open_);
    open_ = 0;
    ++handed_;
    cv_.notify_all();
  }
  std::uint64_t batch_ticket() const noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    return handed_;
  }
  void settle_batches(std::uint64_t ticket) noexcept override {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return written_ >= ticket; });
  }
  FlushResult flush(std::chrono::milliseconds) override { return FlushResult::ok(); }
  void close() override {}
  std::uint64_t delivered() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return delivered_;
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queued_.empty(); });
      if (queued_.empty()) return;
      const std::uint64_t n = queued_.front();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      lock.lock();
      queued_.erase(queued_.begin());
      delivered_ += n;
      ++written_;
      cv_.notify_all();
    }
  }
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::uint64_t> queued_;
  std::uint64_t open_ = 0, handed_ = 0, written_ = 0, delivered_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// Makes `sink` the only root sink (the environment's levels left out).
void configure_root(const std::shared_ptr<Sink>& sink) {
  ConfigureOptions c;
  c.sinks = SinkList{sink};
  c.apply_environment = false;
  configure(c);
}

class DeferredPathTest : public ::testing::Test {
 protected:
  void SetUp() override { Logger::reset(); }
  void TearDown() override {
    (void)stop_deferred();
    Logger::reset();
  }
  std::shared_ptr<InMemorySink> install_memory(std::size_t capacity = 100000) {
    auto sink = std::make_shared<InMemorySink>(capacity);
    configure_root(sink);
    return sink;
  }
};

TEST_F(DeferredPathTest, BadOptionsThrowAndChangeNothing) {
  DeferredOptions o;
  o.ring_bytes = 1024;
  EXPECT_THROW(start_deferred(o), ConfigError);
  EXPECT_FALSE(deferred_running());
  o = {};
  o.max_delay = std::chrono::microseconds(0);
  EXPECT_THROW(start_deferred(o), ConfigError);
  EXPECT_FALSE(deferred_running());
  start_deferred();
  try {
    start_deferred();
    ADD_FAILURE() << "a second start must throw";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "deferred path already running");
  }
  EXPECT_TRUE(deferred_running());
  EXPECT_TRUE(stop_deferred());
  EXPECT_FALSE(deferred_running());
  EXPECT_TRUE(stop_deferred());  // idempotent
}

TEST_F(DeferredPathTest, StopWithTheWriterStuckInASinkIsBounded) {
  auto gated = std::make_shared<GatedSink>();
  configure_root(gated);
  const DeferredStats before = deferred_stats();
  start_deferred();
  gated->hold();
  Logger log = Logger::get("stuck");
  for (int i = 0; i < 5; ++i) log.info("r", {{"seq", i}});
  while (!gated->entered.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(stop_deferred(std::chrono::milliseconds(100)));  // the writer is left behind
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_FALSE(deferred_running());
  EXPECT_THROW(start_deferred(), ConfigError);  // until the old writer has ended
  gated->release();
  // The writer ends once the sink returns; every record is then written or counted as dropped.
  DeferredStats st;
  for (int i = 0; i < 500; ++i) {
    st = deferred_stats();
    if (st.written - before.written + st.dropped - before.dropped == 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(st.written - before.written + st.dropped - before.dropped, 5u);
  EXPECT_EQ(gated->seqs().size(), st.written - before.written);
  for (int i = 0; i < 500; ++i) {  // and the path can start again
    try {
      start_deferred();
      break;
    } catch (const ConfigError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_TRUE(deferred_running());
}

TEST_F(DeferredPathTest, RecordsArriveAfterLoggerFlushNotBefore) {
  auto sink = install_memory();
  auto gated = std::make_shared<GatedSink>();
  Logger::get("held").set_sinks({gated});
  start_deferred();
  gated->hold();
  Logger held = Logger::get("held");
  held.info("x", {{"seq", 0}});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(gated->seqs().empty());  // the caller returned; the writer waits in the sink
  gated->release();
  Logger log = Logger::get("app");
  for (int i = 0; i < 100; ++i) log.info("r", {{"seq", i}});
  EXPECT_TRUE(log.flush().success);
  EXPECT_EQ(sink->records().size(), 100u);
  EXPECT_EQ(gated->seqs().size(), 1u);
}

// A FileSink writes the writer's passes behind (its own thread): flush_deferred() must still
// return only once the records are in the file. Another thread logs all the time, so the rings
// rarely run dry and the writer settles each pass one pass later.
TEST_F(DeferredPathTest, FlushSeesEveryRecordInAFileWrittenBehind) {
  char dir_template[] = "/tmp/dagstack-deferred-file-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/behind.jsonl";
  FileSinkOptions fo;
  fo.path = path;
  fo.buffer_bytes = 4096;  // many chunks per pass
  fo.write_behind = true;
  auto file = make_file_sink(fo);
  configure_root(file);
  DeferredOptions o;
  o.ring_bytes = 256 * 1024;
  start_deferred(o);
  std::atomic<bool> stop{false};
  std::thread noise([&stop] {
    Logger log = Logger::get("noise");
    // Bursts, bounded: enough to keep the writer busy, not to fill the disk.
    for (int i = 0; i < 200000 && !stop.load(std::memory_order_relaxed); ++i) {
      log.info("noise", {{"who", 1}});
      if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  Logger log = Logger::get("main");
  const auto count_main = [&path] {
    std::ifstream in(path);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"main\"") != std::string::npos) ++n;
    }
    return n;
  };
  std::size_t total = 0;
  std::srand(7);
  for (int round = 0; round < 20; ++round) {
    const int n = 1 + std::rand() % 3000;
    for (int i = 0; i < n; ++i) log.info("r", {{"seq", static_cast<std::int64_t>(total + i)}});
    total += static_cast<std::size_t>(n);
    ASSERT_TRUE(flush_deferred(std::chrono::seconds(10)));
    ASSERT_EQ(count_main(), total) << "round " << round;
  }
  stop.store(true);
  noise.join();
  ASSERT_TRUE(stop_deferred());
  file->close();
  std::error_code ec;
  std::filesystem::remove_all(dir_template, ec);
}

// The writer's side of write-behind: a flush returns only once a sink that writes behind has
// settled every pass that carried the flushed records, with a thread logging all the while.
TEST_F(DeferredPathTest, FlushWaitsForASinkThatWritesBehind) {
  auto slow = std::make_shared<SlowBehindSink>();
  configure_root(slow);
  start_deferred();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> noise_sent{0};
  std::thread noise([&] {
    Logger log = Logger::get("noise");
    for (int i = 0; i < 100000 && !stop.load(std::memory_order_relaxed); ++i) {
      log.info("noise");
      noise_sent.fetch_add(1, std::memory_order_relaxed);
      if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  Logger log = Logger::get("main");
  std::uint64_t sent = 0;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 700; ++i) log.info("r");
    sent += 700;
    const std::uint64_t noise_before = noise_sent.load();
    ASSERT_TRUE(flush_deferred(std::chrono::seconds(10)));
    // At least the records sent before the flush were delivered, not just handed on.
    ASSERT_GE(slow->delivered(), sent + noise_before) << "round " << round;
  }
  stop.store(true);
  noise.join();
  ASSERT_TRUE(stop_deferred());
}

TEST_F(DeferredPathTest, ScopedOverrideIsResolvedAtTheCall) {
  auto root = install_memory();
  start_deferred();
  Logger log = Logger::get("scoped");
  auto captured = std::make_shared<InMemorySink>(100);
  {
    const auto scope = log.scope_sinks({captured});
    log.info("inside");
  }  // the override is gone before the writer may have run
  log.info("outside");
  ASSERT_TRUE(flush_deferred());
  ASSERT_EQ(captured->records().size(), 1u);
  EXPECT_EQ(captured->records()[0].body, Value("inside"));
  ASSERT_EQ(root->records().size(), 1u);
  EXPECT_EQ(root->records()[0].body, Value("outside"));
}

TEST_F(DeferredPathTest, AHandleOfTheOldRegistryOutlivedByItsQueuedRecord) {
  auto old_sink = install_memory();
  start_deferred();
  auto gated = std::make_shared<GatedSink>();
  {
    Logger log = Logger::get("old.registry");
    Logger::reset();  // the registry drops the node: only `log` keeps it now
    Logger::get("gate").set_sinks({gated});
    gated->hold();
    Logger::get("gate").info("hold the writer");
    while (!gated->entered.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    log.info("queued after the reset", {{"k", 1}});
  }  // the handle goes while the record waits in the ring (ASan: no use after free)
  gated->release();
  ASSERT_TRUE(flush_deferred());
  ASSERT_EQ(old_sink->records().size(), 1u);  // the old node's sinks, as on the synchronous path
  EXPECT_EQ(old_sink->records()[0].body, Value("queued after the reset"));
}

TEST_F(DeferredPathTest, EachThreadKeepsItsOrderAndThreadsAreMergedByTime) {
  auto sink = install_memory();
  auto gated = std::make_shared<GatedSink>();
  Logger::get("gate").set_sinks({gated});
  DeferredOptions o;
  o.ring_bytes = 1u << 20;
  start_deferred(o);
  // The writer is held inside a sink while four threads fill their rings: it then finds every
  // record queued, and must write them in time order, each thread's in its own order. (The
  // logger exists first: adding a name waits for the writer, like any configuration change.)
  (void)Logger::get("order");
  gated->hold();
  Logger::get("gate").info("hold the writer");
  while (!gated->entered.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      Logger log = Logger::get("order");
      for (int i = 0; i < kEach; ++i) log.info("r", {{"t", t}, {"seq", i}});
    });
  }
  for (auto& th : threads) th.join();
  gated->release();
  ASSERT_TRUE(flush_deferred());
  const auto records = sink->records();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kThreads * kEach));
  std::map<std::int64_t, std::int64_t> next;
  std::size_t out_of_time_order = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto t = records[i].attribute("t")->as_int();
    EXPECT_EQ(records[i].attribute("seq")->as_int(), next[t]++) << "thread " << t;
    if (i > 0 && records[i].time_unix_nano < records[i - 1].time_unix_nano) ++out_of_time_order;
  }
  EXPECT_EQ(out_of_time_order, 0u);
}

// With the default clock the calls read the time-stamp counter (x86-64 with an invariant one)
// and the writer converts it: every record's time lies between two clock readings taken around
// its call, within the conversion's tolerance, across many re-basings (the calls are spread
// over ~300 ms), and each thread's times never go back. With use_tsc = false, the clock itself.
TEST_F(DeferredPathTest, CounterTimesMatchTheClockAroundEachCall) {
  for (const bool use_tsc : {true, false}) {
    auto sink = install_memory();
    DeferredOptions o;
    o.use_tsc = use_tsc;
    start_deferred(o);
    // Where the CPU has no invariant counter (or is not x86-64) the clock is read either way.
    EXPECT_EQ(deferred_stats().tsc_clock, use_tsc && detail::tsc_invariant());
    Logger log = Logger::get("tsc");
    constexpr int kCalls = 3000;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> around(kCalls);
    for (int i = 0; i < kCalls; ++i) {
      around[i].first = system_clock().now_unix_nano();
      log.info("t", {{"seq", i}});
      around[i].second = system_clock().now_unix_nano();
      if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(stop_deferred(std::chrono::seconds(10)));
    const auto records = sink->records();
    ASSERT_EQ(records.size(), static_cast<std::size_t>(kCalls));
    // Sanitizers slow the conversion's calibration reads; the bound stays far below a real skew.
    const std::uint64_t tolerance = testing::kSanitized ? 200000 : 20000;  // ns
    std::size_t outside = 0, backwards = 0;
    std::uint64_t worst = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto seq = static_cast<std::size_t>(records[i].attribute("seq")->as_int());
      ASSERT_EQ(seq, i);
      const std::uint64_t t = records[i].time_unix_nano;
      const auto [lo, hi] = around[seq];
      const std::uint64_t off = t < lo ? lo - t : (t > hi ? t - hi : 0);
      worst = std::max(worst, off);
      outside += off > tolerance ? 1 : 0;
      if (i > 0 && t < records[i - 1].time_unix_nano) ++backwards;
    }
    std::printf("[deferred time] use_tsc=%d: worst distance outside the call %llu ns\n",
                use_tsc ? 1 : 0, static_cast<unsigned long long>(worst));
    EXPECT_EQ(outside, 0u) << "worst " << worst << " ns";
    EXPECT_EQ(backwards, 0u);
  }
}

TEST_F(DeferredPathTest, DropPolicyCountsExactly) {
  auto gated = std::make_shared<GatedSink>();
  configure_root(gated);
  DeferredOptions o;
  o.ring_bytes = 4096;
  o.overflow = DeferredOverflow::kDrop;
  const DeferredStats before = deferred_stats();
  start_deferred(o);
  gated->hold();
  Logger log = Logger::get("drop");
  constexpr int kCalls = 2000;
  for (int i = 0; i < kCalls; ++i) log.info("r", {{"seq", i}});
  gated->release();
  ASSERT_TRUE(flush_deferred());
  DeferredStats st = deferred_stats();
  st.dropped -= before.dropped;
  st.enqueued -= before.enqueued;
  st.written -= before.written;
  const auto seqs = gated->seqs();
  std::printf("[drop] %d calls: %zu written, %llu dropped\n", kCalls, seqs.size(),
              static_cast<unsigned long long>(st.dropped));
  EXPECT_GT(st.dropped, 0u);
  EXPECT_EQ(st.enqueued + st.dropped, static_cast<std::uint64_t>(kCalls));
  EXPECT_EQ(st.written, st.enqueued);
  EXPECT_EQ(seqs.size(), st.written);
  for (std::size_t i = 1; i < seqs.size(); ++i) EXPECT_LT(seqs[i - 1], seqs[i]);
}

TEST_F(DeferredPathTest, BlockPolicyWithATinyRingLosesNothing) {
  auto gated = std::make_shared<GatedSink>();
  configure_root(gated);
  DeferredOptions o;
  o.ring_bytes = 4096;
  const DeferredStats before = deferred_stats();
  start_deferred(o);
  gated->hold();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gated->release();
  });
  Logger log = Logger::get("block");
  for (int i = 0; i < 3000; ++i) log.info("r", {{"seq", i}});
  releaser.join();
  ASSERT_TRUE(flush_deferred());
  const auto seqs = gated->seqs();
  ASSERT_EQ(seqs.size(), 3000u);
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<std::int64_t>(i));
  const DeferredStats st = deferred_stats();
  EXPECT_GT(st.blocked, before.blocked);
  EXPECT_EQ(st.dropped, before.dropped);
}

// The writer's sleep between wake-ups: max_delay while traffic is light, shorter when a ring
// would otherwise fill half its wake step first, never below 50 us nor above max_delay.
TEST(WriterNap, FollowsTheFastestRingWithinItsBounds) {
  using std::chrono::microseconds;
  const microseconds max_delay(1000);
  EXPECT_EQ(detail::writer_nap(0.0, 1000.0, max_delay), max_delay);  // nothing came
  EXPECT_EQ(detail::writer_nap(0.2, 1000.0, max_delay), max_delay);  // half a step: 2.5 ms
  EXPECT_EQ(detail::writer_nap(1.2, 1100.0, max_delay), microseconds(458));
  EXPECT_EQ(detail::writer_nap(0.5, 400.0, max_delay), microseconds(400));
  EXPECT_EQ(detail::writer_nap(100.0, 100.0, max_delay), microseconds(50));  // the floor
  EXPECT_EQ(detail::writer_nap(100.0, 100.0, microseconds(20)), microseconds(20));
  EXPECT_EQ(detail::writer_nap(-1.0, 100.0, max_delay), max_delay);
  EXPECT_EQ(detail::writer_nap(std::numeric_limits<double>::quiet_NaN(), 100.0, max_delay),
            max_delay);
  EXPECT_EQ(detail::writer_nap(1.0, 0.0, max_delay), max_delay);
}

// A steady stream that reaches a ring's wake step well within max_delay: the writer shortens its
// sleep to keep up, so the logging thread almost never pays for waking it (a system call on its
// own call). With max_delay alone, about every other burst would wake it.
TEST_F(DeferredPathTest, SteadyTrafficDoesNotMakeTheCallerWakeTheWriter) {
  if (testing::kSanitized) GTEST_SKIP() << "the writer runs many times slower under sanitizers";
  auto sink = install_memory(1000);
  DeferredOptions o;
  o.ring_bytes = 64 * 1024;  // wake step 8 KiB
  const DeferredStats before = deferred_stats();
  start_deferred(o);
  Logger log = Logger::get("steady");
  constexpr int kBursts = 1000;
  constexpr int kBurst = 40;
  for (int b = 0; b < kBursts; ++b) {
    for (int i = 0; i < kBurst; ++i) log.info("steady traffic", {{"seq", b * kBurst + i}});
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_TRUE(flush_deferred());
  const DeferredStats st = deferred_stats();
  const std::uint64_t enqueued = st.enqueued - before.enqueued;
  const std::uint64_t bytes_per_step = 8 * 1024;
  // Each record takes at least 64 ring bytes, so the stream crossed this many wake steps.
  const std::uint64_t steps = enqueued * 64 / bytes_per_step;
  const std::uint64_t wakes = st.writer_wakes - before.writer_wakes;
  std::printf("[steady] %llu records over %llu+ wake steps: %llu caller wakes\n",
              static_cast<unsigned long long>(enqueued), static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(wakes));
  EXPECT_EQ(enqueued, static_cast<std::uint64_t>(kBursts * kBurst));
  EXPECT_LT(wakes, steps / 4);
}

TEST_F(DeferredPathTest, RingsOfEndedThreadsAreReleased) {
  auto sink = install_memory();
  start_deferred();
  const DeferredStats before = deferred_stats();
  for (int round = 0; round < 20; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 5; ++t) {
      threads.emplace_back([] { Logger::get("short").info("once"); });
    }
    for (auto& th : threads) th.join();
  }
  ASSERT_TRUE(flush_deferred());
  EXPECT_EQ(sink->records().size(), 100u);
  // The writer releases a ring once its thread ended and it is empty (on its next idle pass).
  DeferredStats st;
  for (int i = 0; i < 200; ++i) {
    st = deferred_stats();
    if (st.rings_released - before.rings_released >= 100) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(st.rings_created - before.rings_created, 100u);
  EXPECT_EQ(st.rings_released - before.rings_released, 100u);
  EXPECT_LE(st.rings_live, before.rings_live + 1);  // this thread's ring, at most
}

TEST_F(DeferredPathTest, ForkWhileThreadsLogChildLogsSynchronously) {
  if (testing::kSanitized) {
    // As in ForkStress: the sanitizers' allocators are not fork-safe while other threads
    // allocate (a child can block in the sanitizer's own allocator lock).
    GTEST_SKIP() << "the plain and Release builds run this test";
  }
  const std::string path = ::testing::TempDir() + "deferred_fork_" + std::to_string(::getpid());
  auto sink = install_memory(1000000);
  start_deferred();
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      Logger log = Logger::get("busy");
      while (!stop.load()) log.info("busy");
    });
  }
  for (int i = 0; i < 20; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The writer does not exist here: the child's records go straight to its sinks.
      const bool off = !deferred_running();
      auto child_sink = std::make_shared<InMemorySink>(10);
      Logger::get("child").set_sinks({child_sink});
      Logger::get("child").info("from the child");
      std::_Exit(off && child_sink->records().size() == 1 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "fork " << i;
  }
  stop.store(true);
  for (auto& th : threads) th.join();
  EXPECT_TRUE(flush_deferred());
}

// 8 logging threads, each a chain of short-lived threads (rings come and go), with a thread
// flushing and one reconfiguring all along. Returns the calls made and the counters' deltas.
struct StressResult {
  std::uint64_t calls = 0;
  DeferredStats delta;
};
StressResult stress(DeferredOverflow overflow, const std::shared_ptr<JsonLinesSink>& sink) {
  configure_root(sink);
  DeferredOptions o;
  o.ring_bytes = 8192;  // small: the callers block (or drop) now and then
  o.overflow = overflow;
  const DeferredStats before = deferred_stats();
  start_deferred(o);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&, t] {
      for (int gen = 0; !stop.load(); ++gen) {
        std::thread([&, t, gen] {
          Logger log = Logger::get("stress.t" + std::to_string(t));
          Logger child = log.child({{"gen", gen}});
          for (int i = 0; i < 200; ++i) {
            child.info("s", {{"t", t}, {"i", i}, {"secret_token", "x"}});
            calls.fetch_add(1, std::memory_order_relaxed);
          }
        }).join();
      }
    });
  }
  std::thread flusher([&] {
    while (!stop.load()) {
      (void)flush_deferred(std::chrono::seconds(10));
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });
  std::thread reconfigurer([&] {
    for (int i = 0; !stop.load(); ++i) {
      ConfigureOptions again;
      again.resource_attributes = Value::Map{{"round", Value(i)}};
      configure(again);
      Logger::get("stress.t" + std::to_string(i % 8)).set_level(Level(kSeverityTrace));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop.store(true);
  for (auto& w : workers) w.join();
  flusher.join();
  reconfigurer.join();
  EXPECT_TRUE(flush_deferred(std::chrono::seconds(30)));
  const DeferredStats st = deferred_stats();
  StressResult r;
  r.calls = calls.load();
  r.delta.enqueued = st.enqueued - before.enqueued;
  r.delta.written = st.written - before.written;
  r.delta.dropped = st.dropped - before.dropped;
  r.delta.blocked = st.blocked - before.blocked;
  r.delta.synchronous = st.synchronous - before.synchronous;
  r.delta.rings_created = st.rings_created - before.rings_created;
  std::printf("[stress %s] %llu calls, %llu written, %llu dropped, %llu blocked, %llu rings\n",
              overflow == DeferredOverflow::kBlock ? "block" : "drop",
              static_cast<unsigned long long>(r.calls),
              static_cast<unsigned long long>(r.delta.written),
              static_cast<unsigned long long>(r.delta.dropped),
              static_cast<unsigned long long>(r.delta.blocked),
              static_cast<unsigned long long>(r.delta.rings_created));
  for (const auto& line : sink->lines()) {
    EXPECT_EQ(line.find("\"x\""), std::string::npos) << "a secret reached a sink: " << line;
  }
  return r;
}

TEST_F(DeferredPathTest, EightThreadsWithChurnWhileFlushAndConfigureRunLoseNothing) {
  auto sink = std::make_shared<JsonLinesSink>();
  const StressResult r = stress(DeferredOverflow::kBlock, sink);
  EXPECT_EQ(sink->size(), r.calls);
  EXPECT_EQ(r.delta.enqueued, r.calls);
  EXPECT_EQ(r.delta.written, r.calls);
  EXPECT_EQ(r.delta.dropped, 0u);
  EXPECT_EQ(r.delta.synchronous, 0u);
}

TEST_F(DeferredPathTest, EightThreadsWithChurnUnderTheDropPolicyCountExactly) {
  auto sink = std::make_shared<JsonLinesSink>();
  const StressResult r = stress(DeferredOverflow::kDrop, sink);
  // Every call is either in the sink or counted as dropped, never both, never neither.
  EXPECT_EQ(r.delta.enqueued + r.delta.dropped, r.calls);
  EXPECT_EQ(r.delta.written, r.delta.enqueued);
  EXPECT_EQ(sink->size(), r.delta.written);
  EXPECT_EQ(r.delta.blocked, 0u);
  EXPECT_EQ(r.delta.synchronous, 0u);
}

}  // namespace
}  // namespace dagstack::logger

// Integration: AsyncSink under stress: many producers through a small queue into a real file
// (kBlock loses nothing), exact accounting under both drop policies with a slow inner sink,
// flushes racing producers, close racing producers, and many short-lived sinks.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/async_sink.h"
#include "dagstack/logger/sinks/file_sink.h"

namespace dl = dagstack::logger;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Counts records per producer and checks their order; optionally spins for a while per record
// to be slower than the producers. Thread-safe.
class CheckingSink final : public dl::Sink {
 public:
  CheckingSink(int producers, std::chrono::nanoseconds work) : next_(producers, -1), work_(work) {}
  std::string_view id() const noexcept override { return "checking"; }
  void emit(const dl::LogRecord& r) override {
    const auto end = std::chrono::steady_clock::now() + work_;
    while (std::chrono::steady_clock::now() < end) {
    }
    std::int64_t producer = -1;
    std::int64_t seq = -1;
    for (const auto& a : r.attributes) {
      if (a.key == "producer") producer = a.value.as_int();
      if (a.key == "seq") seq = a.value.as_int();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    if (producer < 0 || producer >= static_cast<std::int64_t>(next_.size()) ||
        seq <= next_[producer]) {
      ++disorder_;
    } else {
      next_[producer] = seq;
    }
  }
  dl::FlushResult flush(std::chrono::milliseconds) override { return dl::FlushResult::ok(); }
  void close() override {}
  std::uint64_t count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }
  std::uint64_t disorder() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return disorder_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::int64_t> next_;
  std::chrono::nanoseconds work_;
  std::uint64_t count_ = 0;
  std::uint64_t disorder_ = 0;
};

void produce(dl::Sink& sink, int producers, int per_producer) {
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&sink, p, per_producer] {
      dl::InstrumentationScope scope{"stress", {}, {}};
      for (int i = 0; i < per_producer; ++i) {
        const dl::Attribute attrs[] = {{"producer", p}, {"seq", i}, {"note", "some text to copy"}};
        dl::LogRecord r;
        r.time_unix_nano = 1;
        r.body = "stress";
        r.attributes = attrs;
        r.instrumentation_scope = &scope;
        sink.emit(r);
      }
    });
  }
  for (auto& t : threads) t.join();
}

class AsyncStress : public ::testing::Test {
 protected:
  void SetUp() override { dl::Logger::reset(); }
  void TearDown() override { dl::Logger::reset(); }
};

TEST_F(AsyncStress, BlockThroughASmallQueueIntoAFileLosesNothing) {
  std::string dir = (fs::temp_directory_path() / "dagstack-async-stress-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/stress.jsonl";
  constexpr int kProducers = 8;
  constexpr int kPer = 4000;
  {
    dl::FileSinkOptions fo;
    fo.path = path;
    dl::AsyncSinkOptions ao;
    ao.queue_capacity = 64;
    ao.batch_size = 16;
    dl::AsyncSink sink(dl::make_file_sink(fo), ao);
    produce(sink, kProducers, kPer);
    sink.close();
    auto st = sink.stats();
    EXPECT_EQ(st.enqueued, static_cast<std::uint64_t>(kProducers * kPer));
    EXPECT_EQ(st.delivered, st.enqueued);
    EXPECT_EQ(st.dropped_newest + st.dropped_oldest + st.dropped_on_close + st.dropped_errors, 0u);
  }
  std::ifstream in(path);
  std::vector<std::int64_t> next(kProducers, 0);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const dl::OwnedLogRecord r = dl::parse_jsonl_record(line);
    const auto p = r.attribute("producer")->as_int();
    ASSERT_EQ(r.attribute("seq")->as_int(), next[p]);
    ++next[p];
  }
  EXPECT_EQ(lines, static_cast<std::size_t>(kProducers * kPer));
  fs::remove_all(dir);
}

// Six producers of 5000 records each through a 32-slot queue into a sink slower than they are,
// under `policy`; returns the sink's counters once everything queued was handled.
constexpr int kOverflowProducers = 6;
constexpr int kOverflowPer = 5000;
dl::AsyncSinkStats overflow_run(dl::OverflowPolicy policy,
                               const std::shared_ptr<CheckingSink>& inner) {
  dl::AsyncSinkOptions ao;
  ao.queue_capacity = 32;
  ao.batch_size = 8;
  ao.overflow = policy;
  dl::AsyncSink sink(inner, ao);
  produce(sink, kOverflowProducers, kOverflowPer);
  EXPECT_TRUE(sink.flush(5000ms).success);
  return sink.stats();
}

TEST_F(AsyncStress, DropOldestAccountsForEveryRecord) {
  constexpr int kProducers = kOverflowProducers;
  constexpr int kPer = kOverflowPer;
  auto inner = std::make_shared<CheckingSink>(kProducers, 2us);
  auto st = overflow_run(dl::OverflowPolicy::kDropOldest, inner);
  EXPECT_GT(st.dropped_oldest, 0u) << "the inner sink should be too slow to keep up";
  EXPECT_EQ(st.dropped_newest, 0u);
  EXPECT_EQ(st.enqueued, static_cast<std::uint64_t>(kProducers * kPer));
  EXPECT_EQ(st.enqueued, st.delivered + st.dropped_oldest);
  EXPECT_EQ(inner->count(), st.delivered);
  EXPECT_EQ(inner->disorder(), 0u) << "survivors must keep their per-producer order";
}

TEST_F(AsyncStress, DropNewestAccountsForEveryRecord) {
  constexpr int kProducers = kOverflowProducers;
  constexpr int kPer = kOverflowPer;
  auto inner = std::make_shared<CheckingSink>(kProducers, 2us);
  auto st = overflow_run(dl::OverflowPolicy::kDropNewest, inner);
  EXPECT_GT(st.dropped_newest, 0u);
  EXPECT_EQ(st.dropped_oldest, 0u);
  EXPECT_EQ(st.enqueued + st.dropped_newest, static_cast<std::uint64_t>(kProducers * kPer));
  EXPECT_EQ(st.delivered, st.enqueued);
  EXPECT_EQ(inner->count(), st.delivered);
  EXPECT_EQ(inner->disorder(), 0u);
}

TEST_F(AsyncStress, FlushesRacingProducersAlwaysSucceed) {
  constexpr int kProducers = 4;
  constexpr int kPer = 5000;
  auto inner = std::make_shared<CheckingSink>(kProducers, 0ns);
  dl::AsyncSinkOptions ao;
  ao.queue_capacity = 128;
  dl::AsyncSink sink(inner, ao);
  std::atomic<bool> done{false};
  std::atomic<int> flushes{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> flushers;
  for (int f = 0; f < 2; ++f) {
    flushers.emplace_back([&] {
      while (!done.load()) {
        const std::uint64_t before = sink.stats().enqueued;
        if (!sink.flush(5000ms).success) ++failures;
        // Everything enqueued before the call has been delivered.
        if (inner->count() < before) ++failures;
        ++flushes;
      }
    });
  }
  produce(sink, kProducers, kPer);
  done = true;
  for (auto& t : flushers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(flushes.load(), 0);
  ASSERT_TRUE(sink.flush(5000ms).success);
  EXPECT_EQ(inner->count(), static_cast<std::uint64_t>(kProducers * kPer));
  EXPECT_EQ(inner->disorder(), 0u);
}

TEST_F(AsyncStress, CloseRacingProducersNeitherHangsNorMiscounts) {
  constexpr int kProducers = 4;
  auto inner = std::make_shared<CheckingSink>(kProducers, 1us);
  dl::AsyncSinkOptions ao;
  ao.queue_capacity = 64;
  dl::AsyncSink sink(inner, ao);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      std::int64_t seq = 0;
      while (!stop.load()) {
        const dl::Attribute a[] = {{"producer", p}, {"seq", seq++}};
        dl::LogRecord r;
        r.body = "racing close";
        r.attributes = a;
        sink.emit(r);
      }
    });
  }
  std::this_thread::sleep_for(30ms);
  const auto start = std::chrono::steady_clock::now();
  sink.close();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  std::this_thread::sleep_for(10ms);
  stop = true;
  for (auto& t : threads) t.join();
  const auto st = sink.stats();
  // Every queued record was either delivered or counted as dropped at close, none in limbo.
  EXPECT_EQ(st.enqueued, st.delivered + st.dropped_on_close);
  EXPECT_EQ(st.dropped_oldest + st.dropped_errors, 0u);
  EXPECT_EQ(inner->count(), st.delivered);
  EXPECT_GT(st.delivered, 0u);
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(sink.stats().enqueued, st.enqueued) << "emits after close are ignored";
  EXPECT_EQ(inner->disorder(), 0u);
}

TEST_F(AsyncStress, ManyShortLivedSinksDeliverEverythingEmittedBeforeClose) {
  // A writer that has just started (or just found its queue empty) and then sees close() must
  // still deliver what was emitted before close(): nothing may be counted as dropped here.
  auto inner = std::make_shared<CheckingSink>(1, 0ns);
  std::uint64_t expected = 0;
  std::uint64_t dropped = 0;
  for (int i = 0; i < 400; ++i) {
    dl::AsyncSinkOptions ao;
    ao.queue_capacity = 16;
    auto sink = dl::make_async_sink(inner, ao);
    if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(i % 7 * 50));
    for (int j = 0; j <= i % 5; ++j) {
      const dl::Attribute a[] = {{"producer", 0}, {"seq", static_cast<std::int64_t>(expected)}};
      dl::LogRecord r;
      r.body = "short-lived";
      r.attributes = a;
      sink->emit(r);
      ++expected;
    }
    if (i % 2 == 0) {
      sink->close();  // the other half close in the destructor
      dropped += sink->stats().dropped_on_close;
    }
  }
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(inner->count(), expected);
  EXPECT_EQ(inner->disorder(), 0u);
}

}  // namespace

// Tests for AsyncSink (DESIGN §3, contract §4.1): order per producer, flush semantics and
// timeout, overflow policies with exact counts, close draining and its bound, deep copies of
// records, exception isolation, zero caller-side allocations, and draining at process exit.
#include "dagstack/logger/sinks/async_sink.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/file_sink.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "support/alloc_counter.h"
#include "support/test_sinks.h"


namespace dl = dagstack::logger;
using namespace std::chrono_literals;

namespace {

// Records everything it receives (as owning copies); optionally slow, optionally gated: while
// the gate is closed, emit blocks after announcing itself. Thread-safe.
class RecordingSink final : public dl::Sink {
 public:
  explicit RecordingSink(std::string id = "recording") : id_(std::move(id)) {}
  std::string_view id() const noexcept override { return id_; }
  void emit(const dl::LogRecord& r) override {
    dl::OwnedLogRecord copy = dl::OwnedLogRecord::from(r);
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return gate_open_; });
    if (delay_.count() > 0) {
      lock.unlock();
      std::this_thread::sleep_for(delay_);
      lock.lock();
    }
    records_.push_back(std::move(copy));
    cv_.notify_all();
  }
  dl::FlushResult flush(std::chrono::milliseconds) override {
    ++flushes;
    return dl::FlushResult::ok();
  }
  void close() override { ++closes; }

  void close_gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    gate_open_ = false;
  }
  void open_gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    gate_open_ = true;
    cv_.notify_all();
  }
  void set_delay(std::chrono::microseconds d) { delay_ = d; }
  bool wait_entered(int n, std::chrono::milliseconds timeout = 2000ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return entered_ >= n; });
  }
  bool wait_records(std::size_t n, std::chrono::milliseconds timeout = 2000ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
  }
  std::vector<dl::OwnedLogRecord> records() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_.size();
  }
  std::atomic<int> flushes{0};
  std::atomic<int> closes{0};

 private:
  std::string id_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool gate_open_ = true;
  int entered_ = 0;
  std::chrono::microseconds delay_{0};
  std::vector<dl::OwnedLogRecord> records_;
};

struct Maker {
  dl::InstrumentationScope scope{"async.test", {}, {}};
  dl::LogRecord make(std::int64_t producer, std::int64_t seq, std::vector<dl::Attribute>& storage,
                     int severity = dl::kSeverityInfo) {
    storage = {{"producer", producer}, {"seq", seq}, {"http.method", "GET"}};
    dl::LogRecord r;
    r.time_unix_nano = 1700000000000000000ULL + static_cast<std::uint64_t>(seq);
    r.severity_number = severity;
    r.body = "async record";
    r.attributes = storage;
    r.instrumentation_scope = &scope;
    return r;
  }
};

std::int64_t attr_int(const dl::OwnedLogRecord& r, const char* key) {
  const dl::Value* v = r.attribute(key);
  if (v == nullptr || !v->is_int())
    throw std::runtime_error(std::string("missing int attribute ") + key);
  return v->as_int();
}

std::vector<std::int64_t> seqs(const std::vector<dl::OwnedLogRecord>& rs) {
  std::vector<std::int64_t> out;
  for (const auto& r : rs) out.push_back(attr_int(r, "seq"));
  return out;
}

dl::AsyncSinkOptions small_queue(std::size_t capacity, dl::OverflowPolicy policy) {
  dl::AsyncSinkOptions o;
  o.queue_capacity = capacity;
  o.batch_size = 1;
  o.overflow = policy;
  return o;
}

class AsyncSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { dl::Logger::reset(); }
  void TearDown() override { dl::Logger::reset(); }
  Maker maker_;
};

TEST_F(AsyncSinkTest, IdCapacityAndSeverityComeFromTheInnerSink) {
  auto inner = std::make_shared<dl::InMemorySink>(10, dl::kSeverityWarn);
  dl::AsyncSinkOptions o;
  o.queue_capacity = 1000;
  dl::AsyncSink sink(inner, o);
  EXPECT_EQ(sink.id(), "async:" + std::string(inner->id()));
  EXPECT_EQ(sink.capacity(), 1024u);
  EXPECT_FALSE(sink.supports_severity(dl::kSeverityInfo));
  EXPECT_TRUE(sink.supports_severity(dl::kSeverityError));
  EXPECT_EQ(sink.inner(), inner);
  EXPECT_THROW(dl::AsyncSink(nullptr), dl::ConfigError);
}

TEST_F(AsyncSinkTest, DeliversEveryRecordInOrderPerProducer) {
  auto inner = std::make_shared<RecordingSink>();
  auto sink = dl::make_async_sink(inner);
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 3000;
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      Maker m;
      std::vector<dl::Attribute> storage;
      for (int i = 0; i < kPerProducer; ++i) sink->emit(m.make(p, i, storage));
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(sink->flush(5000ms).success);
  auto records = inner->records();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kProducers * kPerProducer));
  std::vector<std::int64_t> next(kProducers, 0);
  for (const auto& r : records) {
    const auto p = attr_int(r, "producer");
    EXPECT_EQ(attr_int(r, "seq"), next[p]) << "producer " << p;
    next[p] = attr_int(r, "seq") + 1;
  }
  EXPECT_EQ(sink->delivered(), static_cast<std::uint64_t>(kProducers * kPerProducer));
  EXPECT_EQ(sink->stats().enqueued, static_cast<std::uint64_t>(kProducers * kPerProducer));
}

TEST_F(AsyncSinkTest, FlushWaitsUntilEverythingIsDeliveredAndFlushesTheInnerSink) {
  auto inner = std::make_shared<RecordingSink>();
  inner->set_delay(200us);
  dl::AsyncSink sink(inner);
  std::vector<dl::Attribute> storage;
  for (int i = 0; i < 50; ++i) sink.emit(maker_.make(0, i, storage));
  EXPECT_LT(inner->size(), 50u) << "the slow inner sink cannot have everything yet";
  const int flushes_before = inner->flushes.load();
  dl::FlushResult r = sink.flush(5000ms);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(inner->size(), 50u);
  EXPECT_EQ(inner->flushes.load(), flushes_before + 1);
  // Nothing pending: flush returns at once.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(sink.flush(5000ms).success);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
}

TEST_F(AsyncSinkTest, FlushTimeoutIsReportedAsFailure) {
  auto inner = std::make_shared<RecordingSink>();
  inner->close_gate();
  dl::AsyncSink sink(inner, small_queue(8, dl::OverflowPolicy::kBlock));
  std::vector<dl::Attribute> storage;
  sink.emit(maker_.make(0, 0, storage));
  sink.emit(maker_.make(0, 1, storage));
  ASSERT_TRUE(inner->wait_entered(1));
  const auto start = std::chrono::steady_clock::now();
  dl::FlushResult r = sink.flush(80ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.success);
  ASSERT_EQ(r.failed_sinks.size(), 1u);
  EXPECT_EQ(r.failed_sinks[0].sink_id, sink.id());
  EXPECT_NE(r.failed_sinks[0].error.find("timed out"), std::string::npos)
      << r.failed_sinks[0].error;
  EXPECT_NE(r.failed_sinks[0].error.find("2 records"), std::string::npos)
      << r.failed_sinks[0].error;
  EXPECT_GE(took, 75ms);
  EXPECT_LT(took, 1000ms);
  inner->open_gate();
  EXPECT_TRUE(sink.flush(2000ms).success);
  EXPECT_EQ(inner->size(), 2u);
}

TEST_F(AsyncSinkTest, DropNewestCountsExactly) {
  auto inner = std::make_shared<RecordingSink>();
  inner->close_gate();
  dl::AsyncSink sink(inner, small_queue(4, dl::OverflowPolicy::kDropNewest));
  std::vector<dl::Attribute> storage;
  sink.emit(maker_.make(0, 0, storage));
  ASSERT_TRUE(inner->wait_entered(1));  // the writer holds record 0, the queue is empty
  for (int i = 1; i <= 10; ++i) sink.emit(maker_.make(0, i, storage));
  EXPECT_EQ(sink.dropped_newest(), 6u);
  EXPECT_EQ(sink.dropped_oldest(), 0u);
  inner->open_gate();
  ASSERT_TRUE(sink.flush(2000ms).success);
  EXPECT_EQ(seqs(inner->records()), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  auto st = sink.stats();
  EXPECT_EQ(st.delivered, 5u);
  EXPECT_EQ(st.enqueued, 5u);
  EXPECT_EQ(st.dropped_newest, 6u);
}

TEST_F(AsyncSinkTest, DropOldestCountsExactly) {
  auto inner = std::make_shared<RecordingSink>();
  inner->close_gate();
  dl::AsyncSink sink(inner, small_queue(4, dl::OverflowPolicy::kDropOldest));
  std::vector<dl::Attribute> storage;
  sink.emit(maker_.make(0, 0, storage));
  ASSERT_TRUE(inner->wait_entered(1));
  for (int i = 1; i <= 10; ++i) sink.emit(maker_.make(0, i, storage));
  EXPECT_EQ(sink.dropped_oldest(), 6u);
  EXPECT_EQ(sink.dropped_newest(), 0u);
  inner->open_gate();
  ASSERT_TRUE(sink.flush(2000ms).success);
  EXPECT_EQ(seqs(inner->records()), (std::vector<std::int64_t>{0, 7, 8, 9, 10}));
  auto st = sink.stats();
  EXPECT_EQ(st.enqueued, 11u);
  EXPECT_EQ(st.delivered, 5u);
  EXPECT_EQ(st.enqueued, st.delivered + st.dropped_oldest);
}

TEST_F(AsyncSinkTest, BlockMakesTheCallerWaitAndLosesNothing) {
  auto inner = std::make_shared<RecordingSink>();
  inner->close_gate();
  dl::AsyncSink sink(inner, small_queue(2, dl::OverflowPolicy::kBlock));
  std::vector<dl::Attribute> storage;
  sink.emit(maker_.make(0, 0, storage));
  ASSERT_TRUE(inner->wait_entered(1));
  sink.emit(maker_.make(0, 1, storage));
  sink.emit(maker_.make(0, 2, storage));  // the queue is full now
  std::atomic<bool> returned{false};
  std::thread blocked([&] {
    std::vector<dl::Attribute> s;
    Maker m;
    sink.emit(m.make(0, 3, s));
    returned = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(returned.load()) << "emit should wait for room under kBlock";
  inner->open_gate();
  blocked.join();
  EXPECT_TRUE(returned.load());
  ASSERT_TRUE(sink.flush(2000ms).success);
  EXPECT_EQ(seqs(inner->records()), (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(sink.dropped_newest() + sink.dropped_oldest(), 0u);
}

TEST_F(AsyncSinkTest, BlockWithManyProducersThroughATinyQueueLosesNothing) {
  auto inner = std::make_shared<RecordingSink>();
  dl::AsyncSinkOptions o;
  o.queue_capacity = 4;
  o.batch_size = 3;
  dl::AsyncSink sink(inner, o);
  constexpr int kProducers = 8;
  constexpr int kPerProducer = 1500;
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      Maker m;
      std::vector<dl::Attribute> storage;
      for (int i = 0; i < kPerProducer; ++i) sink.emit(m.make(p, i, storage));
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(sink.flush(5000ms).success);
  auto records = inner->records();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kProducers * kPerProducer));
  std::vector<std::int64_t> next(kProducers, 0);
  for (const auto& r : records) {
    const auto p = attr_int(r, "producer");
    ASSERT_EQ(attr_int(r, "seq"), next[p]);
    ++next[p];
  }
  auto st = sink.stats();
  EXPECT_EQ(st.dropped_newest + st.dropped_oldest + st.dropped_on_close, 0u);
}

TEST_F(AsyncSinkTest, CloseDrainsThenClosesTheInnerSink) {
  auto inner = std::make_shared<RecordingSink>();
  inner->set_delay(50us);
  dl::AsyncSink sink(inner);
  std::vector<dl::Attribute> storage;
  for (int i = 0; i < 300; ++i) sink.emit(maker_.make(0, i, storage));
  sink.close();
  EXPECT_EQ(inner->size(), 300u);
  EXPECT_EQ(inner->closes.load(), 1);
  EXPECT_EQ(sink.delivered(), 300u);
  // Idempotent, and silent afterwards.
  sink.close();
  sink.emit(maker_.make(0, 999, storage));
  EXPECT_TRUE(sink.flush(100ms).success);
  EXPECT_EQ(inner->closes.load(), 1);
  EXPECT_EQ(inner->size(), 300u);
  EXPECT_EQ(sink.stats().enqueued, 300u);
}

TEST_F(AsyncSinkTest, DestructorDrains) {
  auto inner = std::make_shared<RecordingSink>();
  {
    dl::AsyncSink sink(inner);
    std::vector<dl::Attribute> storage;
    for (int i = 0; i < 100; ++i) sink.emit(maker_.make(0, i, storage));
  }
  EXPECT_EQ(inner->size(), 100u);
  EXPECT_EQ(inner->closes.load(), 1);
}

TEST_F(AsyncSinkTest, CloseIsBoundedByShutdownTimeoutWhenTheInnerSinkIsStuck) {
  auto inner = std::make_shared<RecordingSink>();
  inner->close_gate();
  auto o = small_queue(16, dl::OverflowPolicy::kBlock);
  o.shutdown_timeout = 100ms;
  auto sink = std::make_shared<dl::AsyncSink>(inner, o);
  std::vector<dl::Attribute> storage;
  for (int i = 0; i < 10; ++i) sink->emit(maker_.make(0, i, storage));
  ASSERT_TRUE(inner->wait_entered(1));
  const auto start = std::chrono::steady_clock::now();
  sink->close();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 1000ms);
  EXPECT_EQ(inner->closes.load(), 1);
  // When the inner sink finally returns, the writer gives up on the rest and counts them.
  inner->open_gate();
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (sink->stats().dropped_on_close < 9 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  auto st = sink->stats();
  EXPECT_EQ(st.dropped_on_close, 9u);
  EXPECT_EQ(st.delivered, 1u);
  EXPECT_EQ(inner->size(), 1u);
}

TEST_F(AsyncSinkTest, RecordsAreDeepCopiedIncludingNestedValuesResourceAndScope) {
  auto inner = std::make_shared<RecordingSink>();
  inner->close_gate();
  dl::AsyncSink sink(inner, small_queue(8, dl::OverflowPolicy::kBlock));
  std::vector<dl::Attribute> storage;
  sink.emit(maker_.make(0, 0, storage));
  ASSERT_TRUE(inner->wait_entered(1));

  std::string body = "a body that will be overwritten";
  std::string key = "user.name";
  std::string value = "ada";
  auto nested =
      std::make_unique<dl::Value>(dl::Value::map({{"k", dl::Value::array({1, "two", 3.5})}}));
  auto resource = std::make_unique<dl::Resource>(dl::Resource{{{"service.name", "svc"}}});
  auto scope =
      std::make_unique<dl::InstrumentationScope>(dl::InstrumentationScope{"copy.scope", "1.2", {}});
  std::vector<dl::Attribute> attrs = {{key, dl::AttrValue(value)},
                                      {"nested", dl::AttrValue(*nested)},
                                      {"n", 7},
                                      {"d", 0.25},
                                      {"b", false},
                                      {"z", nullptr}};
  dl::LogRecord r;
  r.time_unix_nano = 42;
  r.observed_time_unix_nano = 43;
  r.severity_number = 13;
  r.body = dl::AttrValue(body);
  r.attributes = attrs;
  r.resource = resource.get();
  r.instrumentation_scope = scope.get();
  r.trace_id = dl::TraceId::from_hex("0af7651916cd43dd8448eb211c80319c");
  r.span_id = dl::SpanId::from_hex("b7ad6b7169203331");
  r.trace_flags = 1;
  const std::string expected = dl::to_jsonl(r);
  sink.emit(r);

  // Destroy or overwrite everything the record pointed at.
  body.assign(body.size(), 'X');
  key.assign(key.size(), 'Y');
  value.assign(value.size(), 'Z');
  nested.reset();
  resource.reset();
  scope.reset();
  attrs.assign(attrs.size(), dl::Attribute{"gone", 0});

  inner->open_gate();
  ASSERT_TRUE(sink.flush(2000ms).success);
  auto records = inner->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(dl::to_jsonl(records[1]), expected);
}

TEST_F(AsyncSinkTest, ReusedScopeAddressWithNewContentIsNotConfused) {
  auto inner = std::make_shared<RecordingSink>();
  dl::AsyncSink sink(inner, small_queue(2, dl::OverflowPolicy::kBlock));
  std::optional<dl::InstrumentationScope> scope;
  std::vector<dl::Attribute> storage;
  for (int i = 0; i < 20; ++i) {
    // Same storage, different content every time (what a freed-and-reused pointer looks like).
    scope.emplace(dl::InstrumentationScope{"scope." + std::to_string(i), {}, {}});
    dl::LogRecord r = maker_.make(0, i, storage);
    r.instrumentation_scope = &*scope;
    sink.emit(r);
    ASSERT_TRUE(sink.flush(2000ms).success);
  }
  auto records = inner->records();
  ASSERT_EQ(records.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(records[i].instrumentation_scope.has_value());
    EXPECT_EQ(records[i].instrumentation_scope->name, "scope." + std::to_string(i));
  }
}

TEST_F(AsyncSinkTest, InnerExceptionsAreCountedAndDoNotStopTheWriter) {
  auto inner = std::make_shared<dl::testing::ThrowingSink>("thrower");
  auto internal = std::make_shared<dl::InMemorySink>(100);
  dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal});
  dl::AsyncSink sink(inner);
  std::vector<dl::Attribute> storage;
  for (int i = 0; i < 5; ++i) sink.emit(maker_.make(0, i, storage));
  dl::FlushResult r = sink.flush(2000ms);  // the inner flush throws too
  EXPECT_FALSE(r.success);
  ASSERT_EQ(r.failed_sinks.size(), 1u);
  EXPECT_NE(r.failed_sinks[0].error.find("flush boom"), std::string::npos);
  EXPECT_EQ(inner->emits.load(), 5);
  EXPECT_EQ(sink.stats().inner_errors, 5u);
  EXPECT_GE(internal->size(), 1u);
  EXPECT_NO_THROW(sink.close());  // the inner close throws: reported, not propagated
}

TEST_F(AsyncSinkTest, AnIdleWriterPicksUpARecordWithoutAFlush) {
  auto inner = std::make_shared<RecordingSink>();
  dl::AsyncSink sink(inner);
  std::vector<dl::Attribute> storage;
  sink.emit(maker_.make(0, 0, storage));
  EXPECT_TRUE(inner->wait_records(1, 500ms));
  // After a long idle period the writer sleeps deeply; the next record wakes it at once.
  std::this_thread::sleep_for(250ms);
  const auto start = std::chrono::steady_clock::now();
  sink.emit(maker_.make(0, 1, storage));
  EXPECT_TRUE(inner->wait_records(2, 2000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);
}

// An AsyncSink whose writer polls only every 3 s and is already polling (not yet in deep idle),
// so within a test only an early wake delivers a record.
std::unique_ptr<dl::AsyncSink> slow_polling_sink(const std::shared_ptr<RecordingSink>& inner,
                                                 int wake_severity) {
  dl::AsyncSinkOptions o;
  o.max_delay = 3000ms;
  o.wake_severity = wake_severity;
  auto sink = std::make_unique<dl::AsyncSink>(inner, o);
  std::this_thread::sleep_for(30ms);
  return sink;
}

TEST_F(AsyncSinkTest, AnErrorRecordWakesAPollingWriterAtOnce) {
  auto inner = std::make_shared<RecordingSink>();
  auto sink_owner = slow_polling_sink(inner, dl::kSeverityError);
  dl::AsyncSink& sink = *sink_owner;
  std::vector<dl::Attribute> storage;
  sink.emit(maker_.make(0, 0, storage, dl::kSeverityInfo));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(inner->size(), 0u) << "an INFO record waits for the writer's next poll";
  const auto start = std::chrono::steady_clock::now();
  sink.emit(maker_.make(0, 1, storage, dl::kSeverityError));
  EXPECT_TRUE(inner->wait_records(2, 2000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  EXPECT_EQ(seqs(inner->records()), (std::vector<std::int64_t>{0, 1}));
}

TEST_F(AsyncSinkTest, WakeSeverityAboveFatalNeverWakesEarly) {
  auto inner = std::make_shared<RecordingSink>();
  auto sink_owner = slow_polling_sink(inner, 25);
  dl::AsyncSink& sink = *sink_owner;
  std::vector<dl::Attribute> storage;
  sink.emit(maker_.make(0, 0, storage, dl::kSeverityFatal));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inner->size(), 0u) << "no severity wakes the writer early";
  ASSERT_TRUE(sink.flush(2000ms).success);  // flush still wakes it
  EXPECT_EQ(inner->size(), 1u);
}

TEST_F(AsyncSinkTest, ConcurrentFlushesSeeTheirOwnRecordsDelivered) {
  auto inner = std::make_shared<RecordingSink>();
  dl::AsyncSinkOptions o;
  o.queue_capacity = 64;
  dl::AsyncSink sink(inner, o);
  constexpr int kProducers = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      Maker m;
      std::vector<dl::Attribute> storage;
      for (int i = 0; i < 400; ++i) {
        sink.emit(m.make(p, i, storage));
        if (i % 50 == 49) {
          if (!sink.flush(5000ms).success) ++failures;
          // Everything this thread emitted so far must have reached the inner sink.
          std::size_t mine = 0;
          for (const auto& r : inner->records()) mine += attr_int(r, "producer") == p ? 1 : 0;
          if (mine < static_cast<std::size_t>(i + 1)) ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(sink.flush(2000ms).success);
  EXPECT_EQ(inner->size(), static_cast<std::size_t>(kProducers * 400));
}

TEST_F(AsyncSinkTest, CallerSideDoesNotAllocateInSteadyState) {
  auto inner = std::make_shared<dl::testing::CountingSink>();
  dl::AsyncSinkOptions o;
  o.queue_capacity = 64;
  o.batch_size = 8;
  dl::AsyncSink sink(inner, o);
  dl::Resource resource{{{"service.name", "svc"}, {"host.name", "h1"}}};
  std::vector<dl::Attribute> storage;
  auto make = [&](int i) {
    dl::LogRecord r = maker_.make(1, i, storage);
    storage.push_back({"d", 1.5});
    storage.push_back({"s", "a longer string value that does not fit in any small buffer"});
    r.attributes = storage;
    r.resource = &resource;
    r.trace_id = dl::TraceId::from_hex("0af7651916cd43dd8448eb211c80319c");
    r.span_id = dl::SpanId::from_hex("b7ad6b7169203331");
    return r;
  };
  for (int round = 0; round < 20; ++round) {  // every slot and spare has been used
    for (int i = 0; i < 64; ++i) sink.emit(make(i));
    ASSERT_TRUE(sink.flush(2000ms).success);
  }
  std::size_t allocs = 0;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 48; ++i) {
      dl::LogRecord r = make(i);
      dl::testing::AllocationCounter counter;
      sink.emit(r);
      allocs += counter.stop();
    }
    ASSERT_TRUE(sink.flush(2000ms).success);
  }
  EXPECT_EQ(allocs, 0u);
  EXPECT_EQ(inner->emits.load(), 64 * 20 + 48 * 10);
}

TEST_F(AsyncSinkTest, ShutdownDrainsAnAsyncSinkRegisteredOnTheRoot) {
  auto inner = std::make_shared<RecordingSink>();
  inner->set_delay(20us);
  auto sink = dl::make_async_sink(inner);
  dl::ConfigureOptions c;
  c.sinks = dl::SinkList{sink};
  dl::configure(c);
  auto log = dl::Logger::get("svc");
  for (int i = 0; i < 200; ++i) log.info("through the logger", {{"seq", i}});
  dl::FlushResult r = dl::shutdown(2000ms);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(inner->size(), 200u);
  EXPECT_EQ(inner->closes.load(), 1);
}

TEST_F(AsyncSinkTest, ForkedChildWritesThroughAnInheritedSinkWithoutDuplicates) {
  std::string dir =
      (std::filesystem::temp_directory_path() / "dagstack-async-fork-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/fork.jsonl";
  dl::FileSinkOptions fo;
  fo.path = path;
  auto sink = dl::make_async_sink(dl::make_file_sink(fo));
  // A parent thread keeps emitting across the fork (producer 1); the main thread emits producer 0.
  std::atomic<bool> stop{false};
  std::atomic<int> busy_sent{0};
  std::thread busy([&] {
    Maker m;
    std::vector<dl::Attribute> storage;
    for (int i = 0; !stop.load(); ++i) {
      sink->emit(m.make(1, i, storage));
      busy_sent = i + 1;
    }
  });
  std::vector<dl::Attribute> storage;
  for (int i = 0; i < 100; ++i) sink->emit(maker_.make(0, i, storage));
  while (busy_sent.load() < 1000) std::this_thread::yield();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Maker m;
    std::vector<dl::Attribute> s;
    for (int i = 0; i < 50; ++i) sink->emit(m.make(2, i, s));
    sink->close();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  stop = true;
  busy.join();
  for (int i = 100; i < 110; ++i) sink->emit(maker_.make(0, i, storage));
  sink->close();

  std::map<std::int64_t, std::vector<std::int64_t>> by_producer;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const dl::OwnedLogRecord r = dl::parse_jsonl_record(line);
    by_producer[attr_int(r, "producer")].push_back(attr_int(r, "seq"));
  }
  auto iota = [](std::int64_t n) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
    return v;
  };
  EXPECT_EQ(by_producer[0], iota(110));
  EXPECT_EQ(by_producer[1], iota(busy_sent.load()));
  auto child = by_producer[2];
  EXPECT_EQ(child, iota(50));
  std::filesystem::remove_all(dir);
}

TEST_F(AsyncSinkTest, ProcessExitDrainsAnUnregisteredAsyncSink) {
  std::string dir =
      (std::filesystem::temp_directory_path() / "dagstack-async-exit-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/exit.jsonl";
  constexpr int kRecords = 3000;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: an AsyncSink that is never destroyed nor registered on a logger, over a slow-ish
    // file sink; returning through exit() must still drain it.
    dl::FileSinkOptions fo;
    fo.path = path;
    auto* leaked = new std::shared_ptr<dl::AsyncSink>(dl::make_async_sink(dl::make_file_sink(fo)));
    Maker m;
    std::vector<dl::Attribute> storage;
    for (int i = 0; i < kRecords; ++i) (*leaked)->emit(m.make(0, i, storage));
    std::exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, kRecords);
  std::filesystem::remove_all(dir);
}

}  // namespace

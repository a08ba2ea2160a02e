// Tests for the spdlog bridges: spdlog -> dagstack (DagstackSpdlogSink) and dagstack -> spdlog
// (make_spdlog_sink), with real spdlog loggers, sinks, files and threads.
#include <gtest/gtest.h>

#include <spdlog/async_logger.h>
#include <spdlog/details/os.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "dagstack/logger/spdlog/dagstack_spdlog_sink.h"
#include "dagstack/logger/spdlog/level_mapping.h"
#include "dagstack/logger/spdlog/spdlog_sink.h"
#include "support/test_sinks.h"

namespace dl = dagstack::logger;
namespace fs = std::filesystem;

namespace {

const dl::TraceId kTrace = dl::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
const dl::SpanId kSpan = dl::SpanId::from_hex("00f067aa0ba902b7");

// An spdlog sink that counts what it gets and can be told to throw. Thread-safe.
class ProbeSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ProbeSink(bool throw_on_log = false, bool throw_on_flush = false)
      : throw_on_log_(throw_on_log), throw_on_flush_(throw_on_flush) {}
  std::atomic<int> logs{0};
  std::atomic<int> flushes{0};
  std::vector<std::string> payloads() {
    std::lock_guard<std::mutex> lock(base_sink<std::mutex>::mutex_);
    return payloads_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    ++logs;
    if (throw_on_log_) throw spdlog::spdlog_ex("probe log failure");
    payloads_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {
    ++flushes;
    if (throw_on_flush_) throw spdlog::spdlog_ex("probe flush failure");
  }

 private:
  bool throw_on_log_;
  bool throw_on_flush_;
  std::vector<std::string> payloads_;
};

// A clock frozen at a known instant.
class FixedClock final : public dl::Clock {
 public:
  explicit FixedClock(std::uint64_t t) : t_(t) {}
  std::uint64_t now_unix_nano() const noexcept override { return t_; }

 private:
  std::uint64_t t_;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> seq{0};
    path_ = fs::temp_directory_path() /
            ("dagstack_spdlog_" + std::to_string(::getpid()) + "_" + std::to_string(seq++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string string_attr(const dl::OwnedLogRecord& r, std::string_view key) {
  const dl::Value* v = r.attribute(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string("<missing>");
}

}  // namespace

class SpdlogBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dl::Logger::reset();
    mem_ = std::make_shared<dl::InMemorySink>(10000);
    internal_ = std::make_shared<dl::InMemorySink>(100);
    dl::ConfigureOptions o;
    o.sinks = dl::SinkList{mem_};
    o.root_level = "TRACE";
    dl::configure(o);
    dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal_});
  }
  void TearDown() override { dl::Logger::reset(); }

  static std::shared_ptr<spdlog::logger> make_spdlog(std::string name, spdlog::sink_ptr sink) {
    auto lg = std::make_shared<spdlog::logger>(std::move(name), std::move(sink));
    lg->set_level(spdlog::level::trace);
    return lg;
  }

  bool internal_reported(std::string_view needle) const {
    for (const auto& r : internal_->records()) {
      if (r.body.is_string() && r.body.as_string().find(needle) != std::string_view::npos)
        return true;
    }
    return false;
  }

  std::shared_ptr<dl::InMemorySink> mem_;
  std::shared_ptr<dl::InMemorySink> internal_;
};

// ---- level mapping ------------------------------------------------------------------------

TEST(SpdlogLevelMapping, SpdlogLevelsMapToTheSixBaselinesAndOffToZero) {
  EXPECT_EQ(dl::severity_from_spdlog_level(spdlog::level::trace), 1);
  EXPECT_EQ(dl::severity_from_spdlog_level(spdlog::level::debug), 5);
  EXPECT_EQ(dl::severity_from_spdlog_level(spdlog::level::info), 9);
  EXPECT_EQ(dl::severity_from_spdlog_level(spdlog::level::warn), 13);
  EXPECT_EQ(dl::severity_from_spdlog_level(spdlog::level::err), 17);
  EXPECT_EQ(dl::severity_from_spdlog_level(spdlog::level::critical), 21);
  EXPECT_EQ(dl::severity_from_spdlog_level(spdlog::level::off), 0);
}

TEST(SpdlogLevelMapping, SeverityBucketsMapToSpdlogLevels) {
  const spdlog::level::level_enum expected[] = {spdlog::level::trace, spdlog::level::debug,
                                                spdlog::level::info,  spdlog::level::warn,
                                                spdlog::level::err,   spdlog::level::critical};
  for (int n = 1; n <= 24; ++n) {
    EXPECT_EQ(dl::spdlog_level_from_severity(n), expected[(n - 1) / 4]) << n;
  }
  EXPECT_EQ(dl::spdlog_level_from_severity(0), spdlog::level::trace);
  EXPECT_EQ(dl::spdlog_level_from_severity(99), spdlog::level::critical);
}

// ---- spdlog -> dagstack -------------------------------------------------------------------

TEST_F(SpdlogBridgeTest, SpdlogLevelsArriveAsMappedSeverities) {
  auto lg = make_spdlog("svc.db", dl::make_spdlog_to_dagstack_sink());
  lg->trace("t");
  lg->debug("d");
  lg->info("i");
  lg->warn("w");
  lg->error("e");
  lg->critical("c");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 6u);
  const int expected[] = {1, 5, 9, 13, 17, 21};
  const char* bodies[] = {"t", "d", "i", "w", "e", "c"};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(records[i].severity_number, expected[i]);
    EXPECT_EQ(records[i].body.as_string(), bodies[i]);
  }
}

TEST_F(SpdlogBridgeTest, BodyIsTheFormattedPayloadAndScopeIsTheSpdlogLoggerName) {
  auto lg = make_spdlog("svc.payments", dl::make_spdlog_to_dagstack_sink());
  lg->info("user {} paid {:.2f} EUR", "ann", 12.5);
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].body.as_string(), "user ann paid 12.50 EUR");
  ASSERT_TRUE(records[0].instrumentation_scope.has_value());
  EXPECT_EQ(records[0].instrumentation_scope->name, "svc.payments");
}

TEST_F(SpdlogBridgeTest, EmptySpdlogNameGoesToTheRootLogger) {
  auto lg = make_spdlog("", dl::make_spdlog_to_dagstack_sink());
  lg->info("from the default-style logger");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].instrumentation_scope->name, "root");
}

TEST_F(SpdlogBridgeTest, SourceLocationComesFromSpdlogMacrosOnly) {
  dl::ConfigureOptions o;
  o.include_code_location = true;  // must not make the bridge report its own file
  dl::configure(o);
  auto lg = make_spdlog("svc.loc", dl::make_spdlog_to_dagstack_sink());
  const int line = __LINE__ + 1;
  SPDLOG_LOGGER_INFO(lg, "with location {}", 1);
  lg->info("without location");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(string_attr(records[0], "code.filepath"), __FILE__);
  ASSERT_NE(records[0].attribute("code.lineno"), nullptr);
  EXPECT_EQ(records[0].attribute("code.lineno")->as_int(), line);
  EXPECT_EQ(string_attr(records[0], "code.function"), __FUNCTION__);
  EXPECT_EQ(records[1].attribute("code.filepath"), nullptr);
  EXPECT_EQ(records[1].attribute("code.lineno"), nullptr);
  EXPECT_EQ(records[1].attribute("code.function"), nullptr);
}

TEST_F(SpdlogBridgeTest, SourceLocationAndThreadIdCanBeTurnedOff) {
  dl::DagstackBridgeOptions opts;
  opts.include_source_location = false;
  opts.include_thread_id = false;
  auto lg = make_spdlog("svc.quiet", dl::make_spdlog_to_dagstack_sink(opts));
  SPDLOG_LOGGER_WARN(lg, "no extras");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].attributes.empty());
}

TEST_F(SpdlogBridgeTest, ThreadIdIsTheLoggingThread) {
  auto lg = make_spdlog("svc.threads", dl::make_spdlog_to_dagstack_sink());
  std::size_t worker_tid = 0;
  std::thread t([&] {
    worker_tid = spdlog::details::os::thread_id();
    lg->info("from worker");
  });
  t.join();
  lg->info("from main");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 2u);
  ASSERT_NE(records[0].attribute("thread.id"), nullptr);
  EXPECT_EQ(records[0].attribute("thread.id")->as_int(), static_cast<std::int64_t>(worker_tid));
  EXPECT_EQ(records[1].attribute("thread.id")->as_int(),
            static_cast<std::int64_t>(spdlog::details::os::thread_id()));
  EXPECT_NE(worker_tid, spdlog::details::os::thread_id());
}

TEST_F(SpdlogBridgeTest, DagstackLevelGateStillApplies) {
  dl::ConfigureOptions o;
  o.root_level = "WARN";
  o.per_logger_levels = {{"svc.strict", "ERROR"}};
  dl::configure(o);
  auto sink = dl::make_spdlog_to_dagstack_sink();
  auto lg = make_spdlog("svc.db", sink);
  auto strict = make_spdlog("svc.strict", sink);
  lg->debug("d");
  lg->info("i");
  lg->warn("w");
  lg->error("e");
  strict->warn("strict w");
  strict->critical("strict c");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].body.as_string(), "w");
  EXPECT_EQ(records[1].body.as_string(), "e");
  EXPECT_EQ(records[2].body.as_string(), "strict c");
  EXPECT_EQ(records[2].instrumentation_scope->name, "svc.strict");
  const auto stats = sink->stats();
  EXPECT_EQ(stats.forwarded, 3u);
  EXPECT_EQ(stats.filtered, 3u);
}

TEST_F(SpdlogBridgeTest, LevelOffIsNeverEmitted) {
  auto sink = dl::make_spdlog_to_dagstack_sink();
  auto lg = make_spdlog("svc.off", sink);
  lg->log(spdlog::level::off, "spdlog hands off-level messages to its sinks");
  sink->log(spdlog::details::log_msg("svc.off", spdlog::level::off, "direct"));
  lg->info("kept");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].body.as_string(), "kept");
  EXPECT_EQ(sink->stats().filtered, 2u);
}

TEST_F(SpdlogBridgeTest, CurrentTraceContextIsInjected) {
  auto lg = make_spdlog("svc.traced", dl::make_spdlog_to_dagstack_sink());
  {
    dl::ScopedContext scope(dl::Context::with_span(kTrace, kSpan));
    lg->info("inside the span");
  }
  lg->info("outside");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].trace_id, kTrace);
  EXPECT_EQ(records[0].span_id, kSpan);
  EXPECT_EQ(records[0].trace_flags, 1);
  EXPECT_FALSE(records[1].trace_id.valid());
  EXPECT_FALSE(records[1].span_id.valid());
}

TEST_F(SpdlogBridgeTest, BaggageKeysFromTheCurrentContextBecomeAttributes) {
  auto lg = make_spdlog("svc.tenant", dl::make_spdlog_to_dagstack_sink());
  {
    dl::ScopedContext scope(dl::Context::with_span(kTrace, kSpan).set_baggage("tenant.id", "acme"));
    lg->info("tenant work");
  }
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(string_attr(records[0], "tenant.id"), "acme");
}

TEST_F(SpdlogBridgeTest, AsyncSpdlogLoggerDeliversWithTheCallersThreadId) {
  auto bridge = dl::make_spdlog_to_dagstack_sink();
  auto pool = std::make_shared<spdlog::details::thread_pool>(128, 1);
  auto lg = std::make_shared<spdlog::async_logger>("svc.async", bridge, pool,
                                                   spdlog::async_overflow_policy::block);
  lg->set_level(spdlog::level::trace);
  for (int i = 0; i < 50; ++i) lg->info("async {}", i);
  lg->flush();  // async flush is queued after the messages
  // Destroying the pool joins spdlog's worker, so every queued message has been handled.
  lg.reset();
  pool.reset();
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 50u);
  EXPECT_EQ(records[49].body.as_string(), "async 49");
  EXPECT_EQ(records[0].attribute("thread.id")->as_int(),
            static_cast<std::int64_t>(spdlog::details::os::thread_id()));
  EXPECT_EQ(bridge->stats().forwarded, 50u);
}

TEST_F(SpdlogBridgeTest, LoggerOverrideCarriesBoundAttributesAndRedactsSecrets) {
  dl::DagstackBridgeOptions opts;
  opts.logger = dl::Logger::get("legacy").child({{"component", "billing"}, {"api_key", "s3cr3t"}});
  auto lg = make_spdlog("whatever", dl::make_spdlog_to_dagstack_sink(opts));
  lg->info("charged");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].instrumentation_scope->name, "legacy");
  EXPECT_EQ(string_attr(records[0], "component"), "billing");
  EXPECT_EQ(string_attr(records[0], "api_key"), "***");
}

TEST_F(SpdlogBridgeTest, LoggerNameOverrideRoutesEveryLoggerToOneScope) {
  dl::DagstackBridgeOptions opts;
  opts.logger_name = "legacy.all";
  auto sink = dl::make_spdlog_to_dagstack_sink(opts);
  make_spdlog("a", sink)->info("from a");
  make_spdlog("b", sink)->info("from b");
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].instrumentation_scope->name, "legacy.all");
  EXPECT_EQ(records[1].instrumentation_scope->name, "legacy.all");
}

TEST_F(SpdlogBridgeTest, BridgeFeedsTheNewTreeAfterAReset) {
  auto lg = make_spdlog("svc.reset", dl::make_spdlog_to_dagstack_sink());
  lg->info("before");
  dl::Logger::reset();
  auto fresh = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{fresh};
  dl::configure(o);
  lg->info("after");
  ASSERT_EQ(mem_->size(), 1u);
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ(fresh->records()[0].body.as_string(), "after");
}

TEST_F(SpdlogBridgeTest, SpdlogFlushFlushesTheDagstackLoggersFed) {
  auto counting = std::make_shared<dl::testing::CountingSink>();
  dl::Logger::get("svc.flush").set_sinks({counting});
  auto lg = make_spdlog("svc.flush", dl::make_spdlog_to_dagstack_sink());
  lg->flush();
  EXPECT_EQ(counting->flushes.load(), 0);  // nothing fed yet: nothing to flush
  lg->info("one");
  lg->flush();
  EXPECT_EQ(counting->emits.load(), 1);
  EXPECT_EQ(counting->flushes.load(), 1);

  dl::DagstackBridgeOptions opts;
  opts.forward_flush = false;
  auto quiet = make_spdlog("svc.flush", dl::make_spdlog_to_dagstack_sink(opts));
  quiet->info("two");
  quiet->flush();
  EXPECT_EQ(counting->emits.load(), 2);
  EXPECT_EQ(counting->flushes.load(), 1);
}

TEST_F(SpdlogBridgeTest, EachBridgeFlushesEveryLoggerItFed) {
  auto first = std::make_shared<dl::testing::CountingSink>("first");
  auto second = std::make_shared<dl::testing::CountingSink>("second");
  dl::Logger::get("svc.first").set_sinks({first});
  dl::Logger::get("svc.second").set_sinks({second});
  auto bridge_a = dl::make_spdlog_to_dagstack_sink();
  auto bridge_b = dl::make_spdlog_to_dagstack_sink();
  make_spdlog("svc.first", bridge_a)->info("a1");
  make_spdlog("svc.first", bridge_b)->info("b1");  // same name, same thread, other bridge
  make_spdlog("svc.second", bridge_a)->info("a2");
  make_spdlog("svc.first", bridge_a)->info("a3");
  bridge_b->flush();
  EXPECT_EQ(first->flushes.load(), 1);
  EXPECT_EQ(second->flushes.load(), 0);
  bridge_a->flush();
  EXPECT_EQ(first->flushes.load(), 2);
  EXPECT_EQ(second->flushes.load(), 1);
}

TEST_F(SpdlogBridgeTest, ConcurrentSpdlogThreadsLoseNothing) {
  auto lg = std::make_shared<spdlog::logger>("svc.mt", dl::make_spdlog_to_dagstack_sink());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) lg->info("t{} m{}", t, i);
    });
  }
  for (auto& t : threads) t.join();
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::map<char, int> per_thread;
  for (const auto& r : records) per_thread[r.body.as_string()[1]]++;
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_thread[static_cast<char>('0' + t)], kPerThread);
}

TEST_F(SpdlogBridgeTest, RoutingLoopIsStoppedAfterOneRecord) {
  auto bridge = dl::make_spdlog_to_dagstack_sink();
  // dagstack root -> spdlog sinks -> the bridge -> dagstack root -> ...
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{mem_, dl::make_spdlog_sink({bridge})};
  dl::configure(o);
  auto lg = make_spdlog("svc.loop", bridge);
  lg->info("once");
  lg->flush();  // the flush loop must end too
  const auto records = mem_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].body.as_string(), "once");
  EXPECT_EQ(bridge->stats().forwarded, 1u);
  EXPECT_EQ(bridge->stats().dropped_recursive, 1u);
  EXPECT_TRUE(internal_reported("loop"));
}

TEST_F(SpdlogBridgeTest, ChainSpdlogToDagstackToSpdlogIsNotALoop) {
  std::ostringstream out;
  auto os = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  dl::SpdlogSinkOptions so;
  so.pattern = "%n|%l|%v";
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{dl::make_spdlog_sink({os}, so)};
  dl::configure(o);
  dl::DagstackBridgeOptions bo;
  bo.include_thread_id = false;
  auto lg = make_spdlog("legacy", dl::make_spdlog_to_dagstack_sink(bo));
  {
    dl::ScopedContext scope(dl::Context::with_span(kTrace, kSpan));
    lg->warn("disk {}% full", 91);
  }
  EXPECT_EQ(out.str(), "legacy|warning|disk 91% full | trace_id=" + kTrace.to_hex() +
                           " span_id=" + kSpan.to_hex() + "\n");
}

// ---- dagstack -> spdlog -------------------------------------------------------------------

TEST_F(SpdlogBridgeTest, TextFormatWritesBodyAndAttributesToAnOstreamSink) {
  std::ostringstream out;
  auto os = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  dl::SpdlogSinkOptions so;
  so.pattern = "%n|%l|%v";
  auto log = dl::Logger::get("svc.api");
  log.set_sinks({dl::make_spdlog_sink({os}, so)});
  log.info("paid", {{"order.id", 42},
                    {"currency", "EUR"},
                    {"note", "two words"},
                    {"ratio", 0.5},
                    {"ok", true},
                    {"api_key", "sk_live"}});
  dl::Logger::get().info("root record");
  dl::Logger::get().set_sinks({dl::make_spdlog_sink({os}, so)});
  dl::Logger::get().info("root record");
  EXPECT_EQ(out.str(),
            "svc.api|info|paid | order.id=42 currency=EUR note=\"two words\" ratio=0.5 ok=true "
            "api_key=***\n"
            "root|info|root record\n");
}

TEST_F(SpdlogBridgeTest, SeverityBucketsBecomeSpdlogLevels) {
  std::ostringstream out;
  auto os = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  os->set_pattern("%l");
  auto log = dl::Logger::get("svc.levels");
  log.set_sinks({dl::make_spdlog_sink({os})});
  for (int n = 1; n <= 24; ++n) log.log(n, "x");
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 24u);
  const char* names[] = {"trace", "debug", "info", "warning", "error", "critical"};
  for (int n = 1; n <= 24; ++n) EXPECT_EQ(lines[n - 1], names[(n - 1) / 4]) << n;
}

TEST_F(SpdlogBridgeTest, TextFormatCarriesTheTraceContext) {
  std::ostringstream out;
  auto os = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  os->set_pattern("%v");
  auto log = dl::Logger::get("svc.t");
  log.set_sinks({dl::make_spdlog_sink({os})});
  {
    dl::ScopedContext scope(dl::Context::with_span(kTrace, kSpan));
    log.info("step", {{"n", 1}});
  }
  EXPECT_EQ(out.str(),
            "step | n=1 trace_id=" + kTrace.to_hex() + " span_id=" + kSpan.to_hex() + "\n");
}

TEST_F(SpdlogBridgeTest, FormatSpdlogTextQuotesWhatWouldBeAmbiguous) {
  const dl::Value list = dl::Value::array({1, "a"});
  const dl::Attribute attrs[] = {{"empty", ""},    {"eq", "a=b"},     {"quote", "say \"hi\""},
                                 {"nl", "a\nb"},   {"null", nullptr}, {"list", dl::AttrValue(list)},
                                 {"utf8", "naïve"}};
  dl::LogRecord r;
  r.body = dl::AttrValue(std::int64_t{42});
  r.attributes = attrs;
  EXPECT_EQ(
      dl::format_spdlog_text(r),
      "42 | empty=\"\" eq=\"a=b\" quote=\"say \\\"hi\\\"\" nl=\"a\\nb\" null=null list=[1,\"a\"] "
      "utf8=naïve");
  dl::LogRecord bare;
  bare.body = "just the body";
  EXPECT_EQ(dl::format_spdlog_text(bare), "just the body");
}

TEST_F(SpdlogBridgeTest, JsonFormatToRotatingFileParsesBack) {
  TempDir dir;
  const fs::path file = dir.path() / "app.jsonl";
  auto rotating =
      std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file.string(), 1024 * 1024, 2);
  dl::SpdlogSinkOptions so;
  so.format = dl::SpdlogFormat::kJson;
  so.pattern = "%v";
  auto log = dl::Logger::get("svc.json", "2.1.0");
  log.set_sinks({dl::make_spdlog_sink({rotating}, so)});
  {
    dl::ScopedContext scope(dl::Context::with_span(kTrace, kSpan));
    log.warn("card declined", {{"order.id", 7}, {"db_password", "hunter2"}, {"amount", 12.5}});
  }
  log.info("plain");
  ASSERT_TRUE(log.flush().success);

  const auto lines = split_lines(read_file(file));
  ASSERT_EQ(lines.size(), 2u);
  const dl::OwnedLogRecord first = dl::parse_jsonl_record(lines[0]);
  EXPECT_EQ(first.severity_number, 13);
  EXPECT_EQ(first.body.as_string(), "card declined");
  EXPECT_EQ(first.instrumentation_scope->name, "svc.json");
  EXPECT_EQ(first.instrumentation_scope->version, "2.1.0");
  EXPECT_EQ(first.attribute("order.id")->as_int(), 7);
  EXPECT_EQ(first.attribute("amount")->as_double(), 12.5);
  EXPECT_EQ(string_attr(first, "db_password"), "***");
  EXPECT_EQ(first.trace_id, kTrace);
  EXPECT_EQ(first.span_id, kSpan);
  EXPECT_EQ(dl::to_jsonl(first), lines[0]);  // the payload is the exact dagstack line
  const dl::OwnedLogRecord second = dl::parse_jsonl_record(lines[1]);
  EXPECT_EQ(second.severity_number, 9);
  EXPECT_FALSE(second.trace_id.valid());
}

TEST_F(SpdlogBridgeTest, RotatingFileSinkRotatesAndKeepsEveryRecord) {
  TempDir dir;
  const fs::path file = dir.path() / "app.jsonl";
  auto rotating = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file.string(), 4096, 50);
  dl::SpdlogSinkOptions so;
  so.format = dl::SpdlogFormat::kJson;
  so.pattern = "%v";
  auto log = dl::Logger::get("svc.rot");
  log.set_sinks({dl::make_spdlog_sink({rotating}, so)});
  constexpr int kRecords = 200;
  for (int i = 0; i < kRecords; ++i) log.info("record", {{"i", i}, {"pad", std::string(40, 'x')}});
  ASSERT_TRUE(log.flush().success);

  std::vector<int> seen;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    ++files;
    for (const auto& line : split_lines(read_file(entry.path()))) {
      const auto r = dl::parse_jsonl_record(line);
      EXPECT_EQ(r.instrumentation_scope->name, "svc.rot");
      seen.push_back(static_cast<int>(r.attribute("i")->as_int()));
    }
  }
  EXPECT_GT(files, 2);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kRecords));
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < kRecords; ++i) EXPECT_EQ(seen[i], i);
}

TEST_F(SpdlogBridgeTest, RecordTimeAndSourceLocationReachSpdlog) {
  dl::ConfigureOptions o;
  o.clock = std::make_shared<FixedClock>(1700000000123456789ULL);
  o.include_code_location = true;
  dl::configure(o);
  std::ostringstream out;
  auto os = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  dl::SpdlogSinkOptions so;
  so.pattern = "%E.%F|%s|%#|%!";
  auto log = dl::Logger::get("svc.time");
  log.set_sinks({dl::make_spdlog_sink({os}, so)});
  const int line = __LINE__ + 1;
  log.info("hello");
  EXPECT_EQ(out.str(), "1700000000.123456789|spdlog_bridge_test.cpp|" + std::to_string(line) + "|" +
                           __FUNCTION__ + "\n");
}

TEST_F(SpdlogBridgeTest, MinSeverityAndSpdlogSinkLevelsBothFilter) {
  auto probe = std::make_shared<ProbeSink>();
  dl::SpdlogSinkOptions so;
  so.min_severity = dl::kSeverityWarn;
  auto sink = dl::make_spdlog_sink({probe}, so);
  EXPECT_FALSE(sink->supports_severity(9));
  EXPECT_TRUE(sink->supports_severity(13));
  auto log = dl::Logger::get("svc.min");
  log.set_sinks({sink});
  log.info("dropped by min_severity");
  log.warn("kept");
  probe->set_level(spdlog::level::err);
  EXPECT_FALSE(sink->supports_severity(13));
  EXPECT_TRUE(sink->supports_severity(17));
  log.warn("dropped by the spdlog sink level");
  log.error("kept too");
  EXPECT_EQ(probe->payloads(), (std::vector<std::string>{"kept", "kept too"}));
}

TEST_F(SpdlogBridgeTest, ThrowingSpdlogSinkIsIsolatedAndFlushReportsIt) {
  auto bad = std::make_shared<ProbeSink>(true, true);
  auto good = std::make_shared<ProbeSink>();
  auto sink = dl::make_spdlog_sink({bad, nullptr, good});
  EXPECT_EQ(sink->id(), "spdlog:2");
  auto log = dl::Logger::get("svc.iso");
  log.set_sinks({sink});
  log.error("still delivered");
  EXPECT_EQ(bad->logs.load(), 1);
  EXPECT_EQ(good->payloads(), (std::vector<std::string>{"still delivered"}));
  EXPECT_TRUE(internal_reported("spdlog sink failed to log"));

  const dl::FlushResult r = log.flush();
  EXPECT_FALSE(r.success);
  ASSERT_EQ(r.failed_sinks.size(), 1u);
  EXPECT_EQ(r.failed_sinks[0].sink_id, "spdlog:2");
  EXPECT_NE(r.failed_sinks[0].error.find("probe flush failure"), std::string::npos);
  EXPECT_EQ(good->flushes.load(), 1);  // the good sink is flushed even after the bad one threw
}

TEST_F(SpdlogBridgeTest, CloseFlushesAndStopsDelivery) {
  auto probe = std::make_shared<ProbeSink>();
  dl::SpdlogSinkOptions so;
  so.id = "spdlog:audit";
  auto sink = dl::make_spdlog_sink({probe}, so);
  EXPECT_EQ(sink->id(), "spdlog:audit");
  auto log = dl::Logger::get("svc.close");
  log.set_sinks({sink});
  log.info("before");
  sink->close();
  sink->close();  // idempotent
  log.info("after");
  EXPECT_EQ(probe->payloads(), (std::vector<std::string>{"before"}));
  EXPECT_EQ(probe->flushes.load(), 1);
  EXPECT_FALSE(sink->supports_severity(21));
}

TEST_F(SpdlogBridgeTest, ConcurrentEmitsIntoASingleThreadedSpdlogSinkStayIntact) {
  std::ostringstream out;
  auto st = std::make_shared<spdlog::sinks::ostream_sink_st>(out);  // no locking of its own
  dl::SpdlogSinkOptions so;
  so.format = dl::SpdlogFormat::kJson;
  so.pattern = "%v";
  auto log = dl::Logger::get("svc.st");
  log.set_sinks({dl::make_spdlog_sink({st}, so)});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) log.info("m", {{"t", t}, {"i", i}});
    });
  }
  for (auto& t : threads) t.join();
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::map<std::int64_t, int> per_thread;
  for (const auto& line : lines)
    per_thread[dl::parse_jsonl_record(line).attribute("t")->as_int()]++;
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_thread[t], kPerThread);
}

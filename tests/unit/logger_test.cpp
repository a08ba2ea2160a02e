// Tests for Logger: registry, hierarchy, emit pipeline, children, flush/close (contract §3, §4.2).
#include "dagstack/logger/logger.h"

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <string_view>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "support/test_sinks.h"

namespace dl = dagstack::logger;

class LoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dl::Logger::reset();
    sink_ = std::make_shared<dl::InMemorySink>(100);
    dl::ConfigureOptions o;
    o.sinks = dl::SinkList{sink_};
    o.root_level = "TRACE";
    dl::configure(o);
  }
  void TearDown() override { dl::Logger::reset(); }
  std::shared_ptr<dl::InMemorySink> sink_;
};

TEST_F(LoggerTest, GetReturnsTheSameNodeForTheSameName) {
  EXPECT_EQ(dl::Logger::get("a.b"), dl::Logger::get("a.b"));
  EXPECT_FALSE(dl::Logger::get("a.b") == dl::Logger::get("a"));
  EXPECT_EQ(dl::Logger::get("a.b").name(), "a.b");
  EXPECT_EQ(dl::Logger::get().name(), "");
}

TEST_F(LoggerTest, RootScopeIsNamedRoot) {
  dl::Logger::get().info("hi");
  ASSERT_EQ(sink_->size(), 1u);
  EXPECT_EQ(sink_->records()[0].instrumentation_scope->name, "root");
}

TEST_F(LoggerTest, ScopeCarriesNameAndVersionAndVersionUpdatesInPlace) {
  auto log = dl::Logger::get("svc.api", "1.0.0");
  log.info("one");
  dl::Logger::get("svc.api", "2.0.0");
  log.info("two");
  dl::Logger::get("svc.api");  // omitting the version never clears it
  log.info("three");
  auto records = sink_->records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].instrumentation_scope->name, "svc.api");
  EXPECT_EQ(records[0].instrumentation_scope->version, "1.0.0");
  EXPECT_EQ(records[1].instrumentation_scope->version, "2.0.0");
  EXPECT_EQ(records[2].instrumentation_scope->version, "2.0.0");
}

TEST_F(LoggerTest, SixMethodsEmitTheBaselines) {
  auto log = dl::Logger::get("m");
  log.trace("t");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  log.fatal("f");
  auto records = sink_->records();
  ASSERT_EQ(records.size(), 6u);
  const int expected[] = {1, 5, 9, 13, 17, 21};
  const char* texts[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(records[i].severity_number, expected[i]);
    EXPECT_EQ(records[i].severity_text(), texts[i]);
  }
}

TEST_F(LoggerTest, LogWithIntermediateNumbers) {
  dl::Logger::get("m").log(10, "ten");
  dl::Logger::get("m").log(11, "eleven");
  auto records = sink_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].severity_number, 10);
  EXPECT_EQ(records[0].severity_text(), "INFO");
  EXPECT_EQ(records[1].severity_number, 11);
}

TEST_F(LoggerTest, OutOfRangeNumbersAreClampedAndReported) {
  auto internal = std::make_shared<dl::InMemorySink>(10);
  dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal});
  const auto before = dl::internal_stats().severity_clamped;
  dl::Logger::get("m").log(99, "too high");
  dl::Logger::get("m").log(-5, "too low");
  auto records = sink_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].severity_number, 24);
  EXPECT_EQ(records[1].severity_number, 1);
  EXPECT_EQ(dl::internal_stats().severity_clamped, before + 2);
  ASSERT_GE(internal->size(), 2u);
  EXPECT_EQ(internal->records()[0].attribute("severity.original")->as_int(), 99);
}

TEST_F(LoggerTest, AttributesReachTheRecordWithTypesKept) {
  dl::Logger::get("m").info("x", {{"i", 1}, {"d", 1.0}, {"b", true}, {"s", "str"}, {"n", nullptr}});
  auto r = sink_->records().at(0);
  EXPECT_TRUE(r.attribute("i")->is_int());
  EXPECT_TRUE(r.attribute("d")->is_double());
  EXPECT_TRUE(r.attribute("b")->is_bool());
  EXPECT_EQ(r.attribute("s")->as_string(), "str");
  EXPECT_TRUE(r.attribute("n")->is_null());
}

TEST_F(LoggerTest, DuplicateCallSiteKeysKeepTheLast) {
  dl::Logger::get("m").info("x", {{"k", 1}, {"k", 2}});
  auto r = sink_->records().at(0);
  EXPECT_EQ(r.attributes.size(), 1u);
  EXPECT_EQ(r.attribute("k")->as_int(), 2);
}

TEST_F(LoggerTest, StructuredBodyIsAllowed) {
  const dl::Value body = dl::Value::map({{"event", "login"}, {"ok", true}});
  dl::Logger::get("m").info(body);
  auto r = sink_->records().at(0);
  ASSERT_TRUE(r.body.is_map());
  EXPECT_EQ(r.body.find("event")->as_string(), "login");
}

TEST_F(LoggerTest, FormatStyleBody) {
  dl::Logger::get("m").info("user {} logged in {} times", "ana", 3);
  EXPECT_EQ(sink_->records().at(0).body.as_string(), "user ana logged in 3 times");
}

TEST_F(LoggerTest, FormatArgumentsAreNotFormattedBelowTheLevel) {
  int formatted = 0;
  auto log = dl::Logger::get("quiet");
  log.set_level("ERROR");
  DAGSTACK_LOG_INFO(log, "value {}", ++formatted);
  EXPECT_EQ(formatted, 0) << "the macro must not evaluate its arguments";
  DAGSTACK_LOG_ERROR(log, "value {}", ++formatted);
  EXPECT_EQ(formatted, 1);
  EXPECT_EQ(sink_->records().back().body.as_string(), "value 1");
}

TEST_F(LoggerTest, LevelInheritsFromTheNearestExplicitAncestor) {
  dl::Logger::get("a").set_level("WARN");
  auto abc = dl::Logger::get("a.b.c");
  EXPECT_EQ(abc.effective_level(), 13);
  abc.info("dropped");
  abc.warn("kept");
  ASSERT_EQ(sink_->size(), 1u);
  EXPECT_EQ(sink_->records()[0].body.as_string(), "kept");
  dl::Logger::get("a").clear_level();
  EXPECT_EQ(abc.effective_level(), 1);  // the root is TRACE in this fixture
}

TEST_F(LoggerTest, ExplicitTraceLevelBelowAStricterParentWorks) {
  dl::Logger::get("a").set_level("ERROR");
  dl::Logger::get("a.b").set_level("TRACE");
  dl::Logger::get("a.b").trace("deep");
  EXPECT_EQ(sink_->size(), 1u);
}

TEST_F(LoggerTest, SinksInheritAndOverride) {
  auto own = std::make_shared<dl::InMemorySink>(10);
  dl::Logger::get("svc.db").set_sinks({own});
  dl::Logger::get("svc.db.pool").info("to own");
  dl::Logger::get("svc.api").info("to root");
  EXPECT_EQ(own->size(), 1u);
  EXPECT_EQ(sink_->size(), 1u);
  dl::Logger::get("svc.db").clear_sinks();
  dl::Logger::get("svc.db.pool").info("back to root");
  EXPECT_EQ(sink_->size(), 2u);
}

TEST_F(LoggerTest, ResourceIsInherited) {
  dl::ConfigureOptions o;
  o.resource_attributes = dl::Value::Map{{"service.name", "orders"}};
  dl::configure(o);
  dl::Logger::get("x.y").info("r");
  auto r = sink_->records().at(0);
  ASSERT_TRUE(r.resource.has_value());
  EXPECT_EQ(r.resource->attributes.at("service.name").as_string(), "orders");
}

TEST_F(LoggerTest, ChildBindsAttributesAndCallSiteWins) {
  auto base = dl::Logger::get("svc");
  auto child = base.child({{"request.id", "r-1"}, {"tenant", "a"}});
  auto grandchild = child.child({{"tenant", "b"}});
  grandchild.info("x", {{"request.id", "r-2"}});
  auto r = sink_->records().at(0);
  EXPECT_EQ(r.attribute("request.id")->as_string(), "r-2");
  EXPECT_EQ(r.attribute("tenant")->as_string(), "b");
  EXPECT_EQ(r.instrumentation_scope->name, "svc");
  // The registry node is untouched.
  dl::Logger::get("svc").info("plain");
  EXPECT_EQ(sink_->records().at(1).attributes.size(), 0u);
}

TEST_F(LoggerTest, ChildFollowsParentLevelDynamically) {
  auto child = dl::Logger::get("svc").child({{"k", 1}});
  dl::Logger::get("svc").set_level("ERROR");
  child.warn("dropped");
  child.error("kept");
  EXPECT_EQ(sink_->size(), 1u);
}

TEST_F(LoggerTest, WithSinksAppendSinksWithoutSinks) {
  auto base = dl::Logger::get("svc");
  auto extra = std::make_shared<dl::InMemorySink>(10);
  base.with_sinks({extra}).info("only extra");
  EXPECT_EQ(extra->size(), 1u);
  EXPECT_EQ(sink_->size(), 0u);
  base.append_sinks({extra}).info("both");
  EXPECT_EQ(extra->size(), 2u);
  EXPECT_EQ(sink_->size(), 1u);
  base.without_sinks().error("nowhere");
  EXPECT_EQ(extra->size(), 2u);
  EXPECT_EQ(sink_->size(), 1u);
  base.info("base unaffected");
  EXPECT_EQ(sink_->size(), 2u);
}

TEST_F(LoggerTest, AThrowingSinkNeverStopsTheOthersNorTheCaller) {
  auto bad = std::make_shared<dl::testing::ThrowingSink>();
  auto good = std::make_shared<dl::InMemorySink>(10);
  auto internal = std::make_shared<dl::InMemorySink>(10);
  dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal});
  auto log = dl::Logger::get("svc").with_sinks({bad, good});
  const auto before = dl::internal_stats().sink_errors;
  log.info("survives");
  EXPECT_EQ(bad->emits.load(), 1);
  EXPECT_EQ(good->size(), 1u);
  EXPECT_EQ(dl::internal_stats().sink_errors, before + 1);
  ASSERT_EQ(internal->size(), 1u);
  auto report = internal->records()[0];
  EXPECT_EQ(report.attribute("sink.id")->as_string(), "throwing");
  EXPECT_NE(report.attribute("error.message")->as_string().find("boom"), std::string::npos);
}

// A user's exception whose what() returns nullptr (a broken override) thrown by a sink's emit and
// flush: counted and reported like any other, never a crash.
struct NullWhat final : std::exception {
  const char* what() const noexcept override { return nullptr; }
};
class NullWhatSink final : public dl::Sink {
 public:
  std::string_view id() const noexcept override { return "null-what"; }
  void emit(const dl::LogRecord&) override { throw NullWhat(); }
  dl::FlushResult flush(std::chrono::milliseconds) override { throw NullWhat(); }
  void close() override {}
};

TEST_F(LoggerTest, ASinkThrowingANullWhatIsReportedNotACrash) {
  auto internal = std::make_shared<dl::InMemorySink>(10);
  dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal});
  auto log = dl::Logger::get("svc").with_sinks({std::make_shared<NullWhatSink>()});
  const auto before = dl::internal_stats().sink_errors;
  log.info("survives");
  EXPECT_EQ(dl::internal_stats().sink_errors, before + 1);
  ASSERT_EQ(internal->size(), 1u);
  EXPECT_EQ(internal->records()[0].attribute("sink.id")->as_string(), "null-what");
  const auto result = log.flush();
  EXPECT_FALSE(result.success);
  ASSERT_EQ(result.failed_sinks.size(), 1u);
  EXPECT_EQ(result.failed_sinks[0].sink_id, "null-what");
}

TEST_F(LoggerTest, FlushAggregatesPartialFailure) {
  auto bad = std::make_shared<dl::testing::ThrowingSink>("bad");
  auto good = std::make_shared<dl::testing::CountingSink>("good");
  auto log = dl::Logger::get("svc").with_sinks({bad, good});
  auto result = log.flush();
  EXPECT_FALSE(result.success);
  EXPECT_TRUE(result.partial);
  ASSERT_EQ(result.failed_sinks.size(), 1u);
  EXPECT_EQ(result.failed_sinks[0].sink_id, "bad");
  EXPECT_EQ(good->flushes.load(), 1);

  auto all_bad = dl::Logger::get("svc").with_sinks({bad});
  auto r2 = all_bad.flush();
  EXPECT_FALSE(r2.success);
  EXPECT_FALSE(r2.partial);

  auto none = dl::Logger::get("svc").without_sinks().flush();
  EXPECT_TRUE(none.success);
}

TEST_F(LoggerTest, CloseAggregatesAndClosesEverySink) {
  auto bad = std::make_shared<dl::testing::ThrowingSink>("bad");
  auto good = std::make_shared<dl::testing::CountingSink>("good");
  auto result = dl::Logger::get("svc").with_sinks({bad, good}).close();
  EXPECT_FALSE(result.success);
  EXPECT_EQ(good->closes.load(), 1);
}

TEST_F(LoggerTest, ResetDetachesOldHandles) {
  auto old = dl::Logger::get("svc");
  dl::Logger::reset();
  EXPECT_FALSE(old == dl::Logger::get("svc"));
  old.info("still works");  // no crash; goes to the old tree's sinks
  EXPECT_EQ(sink_->size(), 1u);
}

TEST_F(LoggerTest, EmitsAreNoexcept) {
  auto log = dl::Logger::get("svc");
  static_assert(noexcept(log.info("x")));
  static_assert(noexcept(log.log(3, "x")));
  SUCCEED();
}

TEST_F(LoggerTest, CodeLocationIsOptIn) {
  dl::Logger::get("svc").info("without");
  EXPECT_EQ(sink_->records().at(0).attribute("code.lineno"), nullptr);
  dl::ConfigureOptions o;
  o.include_code_location = true;
  dl::configure(o);
  dl::Logger::get("svc").info("with");
  auto r = sink_->records().at(1);
  ASSERT_NE(r.attribute("code.lineno"), nullptr);
  EXPECT_GT(r.attribute("code.lineno")->as_int(), 0);
  EXPECT_NE(r.attribute("code.filepath")->as_string().find("logger_test.cpp"), std::string::npos);
}

TEST_F(LoggerTest, InjectableClockStampsRecords) {
  struct FixedClock final : dl::Clock {
    std::uint64_t now_unix_nano() const noexcept override { return 1700000000000000000ULL; }
  };
  dl::ConfigureOptions o;
  o.clock = std::make_shared<FixedClock>();
  dl::configure(o);
  dl::Logger::get("svc").info("t");
  EXPECT_EQ(sink_->records().at(0).time_unix_nano, 1700000000000000000ULL);
}

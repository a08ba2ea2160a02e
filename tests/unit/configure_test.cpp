// Tests for configure(): validate-then-apply, only-given semantics, defaults (contract §10.1).
#include "dagstack/logger/configure.h"

#include <gtest/gtest.h>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/sinks/in_memory_sink.h"

namespace dl = dagstack::logger;

class ConfigureTest : public ::testing::Test {
 protected:
  void SetUp() override { dl::Logger::reset(); }
  void TearDown() override { dl::Logger::reset(); }
};

TEST_F(ConfigureTest, BeforeConfigureTheRootIsInfoToAConsole) {
  auto root = dl::Logger::get();
  EXPECT_EQ(root.effective_level(), dl::kSeverityInfo);
  auto sinks = root.effective_sinks();
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0]->id(), "console:auto");
}

TEST_F(ConfigureTest, InternalChannelHasItsOwnStderrJsonSink) {
  auto internal = dl::Logger::get(dl::kInternalLoggerName);
  auto sinks = internal.effective_sinks();
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0]->id(), "console:json");
  // Replacing the root sinks does not change it.
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{std::make_shared<dl::InMemorySink>(1)};
  dl::configure(o);
  EXPECT_EQ(internal.effective_sinks()[0]->id(), "console:json");
}

TEST_F(ConfigureTest, AppliesOnlyTheGivenOptions) {
  auto sink = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions first;
  first.root_level = "DEBUG";
  first.sinks = dl::SinkList{sink};
  dl::configure(first);

  dl::ConfigureOptions second;
  second.resource_attributes = dl::Value::Map{{"service.name", "x"}};
  dl::configure(second);

  auto root = dl::Logger::get();
  EXPECT_EQ(root.effective_level(), dl::kSeverityDebug);
  ASSERT_EQ(root.effective_sinks().size(), 1u);
  EXPECT_EQ(root.effective_sinks()[0], sink);
}

TEST_F(ConfigureTest, NumericAndCaseInsensitiveLevels) {
  dl::ConfigureOptions o;
  o.root_level = "warning";
  dl::configure(o);
  EXPECT_EQ(dl::Logger::get().effective_level(), 13);
  o.root_level = 3;
  dl::configure(o);
  EXPECT_EQ(dl::Logger::get().effective_level(), 3);
}

TEST_F(ConfigureTest, PerLoggerLevelsAreAdditive) {
  dl::ConfigureOptions o;
  o.per_logger_levels = {{"svc.db", "DEBUG"}};
  dl::configure(o);
  dl::ConfigureOptions o2;
  o2.per_logger_levels = {{"svc.api", "ERROR"}};
  dl::configure(o2);
  EXPECT_EQ(dl::Logger::get("svc.db").effective_level(), 5);
  EXPECT_EQ(dl::Logger::get("svc.api").effective_level(), 17);
}

TEST_F(ConfigureTest, InvalidInputThrowsBeforeAnythingChanges) {
  auto sink = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions bad;
  bad.root_level = "ERROR";
  bad.sinks = dl::SinkList{sink};
  bad.per_logger_levels = {{"svc", "LOUD"}};
  try {
    dl::configure(bad);
    FAIL();
  } catch (const dl::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("per_logger_levels['svc']"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown severity name 'LOUD'"), std::string::npos);
  }
  EXPECT_EQ(dl::Logger::get().effective_level(), dl::kSeverityInfo);
  EXPECT_EQ(dl::Logger::get().effective_sinks()[0]->id(), "console:auto");

  dl::ConfigureOptions bad_redaction;
  bad_redaction.root_level = "ERROR";
  bad_redaction.redaction = dl::RedactionConfig{{"_APIKEY"}, false};
  EXPECT_THROW(dl::configure(bad_redaction), dl::ConfigError);
  EXPECT_EQ(dl::Logger::get().effective_level(), dl::kSeverityInfo);

  dl::ConfigureOptions bad_name;
  bad_name.per_logger_levels = {{"svc..db", "INFO"}};
  EXPECT_THROW(dl::configure(bad_name), dl::ConfigError);

  dl::ConfigureOptions null_sink;
  null_sink.sinks = dl::SinkList{nullptr};
  EXPECT_THROW(dl::configure(null_sink), dl::ConfigError);
}

TEST_F(ConfigureTest, ConfigErrorIsAnInvalidArgument) {
  dl::ConfigureOptions bad;
  bad.root_level = 0;
  EXPECT_THROW(dl::configure(bad), std::invalid_argument);
}

TEST_F(ConfigureTest, EmptyResourceAttributesClearTheResource) {
  auto sink = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{sink};
  o.resource_attributes = dl::Value::Map{{"service.name", "a"}};
  dl::configure(o);
  dl::ConfigureOptions clear;
  clear.resource_attributes = dl::Value::Map{};
  dl::configure(clear);
  dl::Logger::get().info("x");
  EXPECT_FALSE(sink->records().at(0).resource.has_value());
}

TEST_F(ConfigureTest, ResetRestoresAutoInject) {
  dl::ConfigureOptions o;
  o.auto_inject_trace_context = false;
  dl::configure(o);
  dl::Logger::reset();
  auto sink = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions o2;
  o2.sinks = dl::SinkList{sink};
  dl::configure(o2);
  dl::ScopedContext ctx(dl::Context::with_span(dl::TraceId::from_hex("0123456789abcdef0123456789abcdef"),
                                               dl::SpanId::from_hex("0123456789abcdef")));
  dl::Logger::get().info("x");
  EXPECT_TRUE(sink->records().at(0).trace_id.valid());
}

TEST_F(ConfigureTest, ShutdownFlushesAndClosesRegistrySinks) {
  auto sink = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{sink};
  dl::configure(o);
  dl::Logger::get().info("before");
  auto r = dl::shutdown();
  EXPECT_TRUE(r.success);
  dl::Logger::get().info("after");  // closed: silently ignored
  EXPECT_EQ(sink->size(), 1u);
}

// Tests for environment configuration: DAGSTACK_LOG_LEVEL, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES.
#include "dagstack/logger/environment.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/sinks/in_memory_sink.h"

namespace dl = dagstack::logger;

TEST(ParseEnvironment, LevelSpecWithRootAndLoggers) {
  auto cfg = dl::parse_environment("info, svc.db=debug ,svc.http=WARNING,svc.x=3", "", "");
  EXPECT_TRUE(cfg.errors.empty());
  EXPECT_EQ(cfg.root_level, 9);
  EXPECT_EQ(cfg.logger_levels.at("svc.db"), 5);
  EXPECT_EQ(cfg.logger_levels.at("svc.http"), 13);
  EXPECT_EQ(cfg.logger_levels.at("svc.x"), 3);
}

TEST(ParseEnvironment, BadEntriesAreReportedAndSkipped) {
  auto cfg = dl::parse_environment("loud,svc.db=debug,svc..x=info,a=99", "", "good=1,broken,k=%zz");
  EXPECT_FALSE(cfg.root_level.has_value());
  EXPECT_EQ(cfg.logger_levels.size(), 1u);
  ASSERT_EQ(cfg.errors.size(), 5u);
  EXPECT_NE(cfg.errors[0].find("unknown severity name 'loud'"), std::string::npos) << cfg.errors[0];
  EXPECT_NE(cfg.errors[1].find("invalid logger name"), std::string::npos);
  EXPECT_NE(cfg.errors[2].find("not in [1, 24]"), std::string::npos);
  EXPECT_NE(cfg.errors[3].find("expected key=value"), std::string::npos);
  EXPECT_NE(cfg.errors[4].find("percent-encoding"), std::string::npos);
  EXPECT_EQ(cfg.resource_attributes.at("good").as_string(), "1");
}

TEST(ParseEnvironment, ResourceAttributesArePercentDecodedAndServiceNameWins) {
  auto cfg = dl::parse_environment("", "checkout",
                                   "service.name=ignored,deployment.environment=prod,team=a%2Cb%20c");
  EXPECT_TRUE(cfg.errors.empty());
  EXPECT_EQ(cfg.resource_attributes.at("service.name").as_string(), "checkout");
  EXPECT_EQ(cfg.resource_attributes.at("deployment.environment").as_string(), "prod");
  EXPECT_EQ(cfg.resource_attributes.at("team").as_string(), "a,b c");
}

class EnvironmentTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ::unsetenv("DAGSTACK_LOG_LEVEL");
    ::unsetenv("OTEL_SERVICE_NAME");
    ::unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    dl::Logger::reset();
  }
};

TEST_F(EnvironmentTest, AppliedWhenTheRegistryIsBuilt) {
  ::setenv("DAGSTACK_LOG_LEVEL", "warn,svc.db=debug", 1);
  dl::Logger::reset();
  EXPECT_EQ(dl::Logger::get().effective_level(), 13);
  EXPECT_EQ(dl::Logger::get("svc.db.pool").effective_level(), 5);
}

TEST_F(EnvironmentTest, LevelsOverrideCodeAndResourceIsTheBase) {
  ::setenv("DAGSTACK_LOG_LEVEL", "error", 1);
  ::setenv("OTEL_SERVICE_NAME", "from-env", 1);
  ::setenv("OTEL_RESOURCE_ATTRIBUTES", "region=eu,team=core", 1);
  dl::Logger::reset();
  auto sink = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions o;
  o.root_level = "DEBUG";
  o.sinks = dl::SinkList{sink};
  o.resource_attributes = dl::Value::Map{{"team", "payments"}};
  dl::configure(o);
  EXPECT_EQ(dl::Logger::get().effective_level(), 17);  // the operator's override wins
  dl::Logger::get().error("x");
  auto r = sink->records().at(0);
  ASSERT_TRUE(r.resource.has_value());
  EXPECT_EQ(r.resource->attributes.at("service.name").as_string(), "from-env");
  EXPECT_EQ(r.resource->attributes.at("region").as_string(), "eu");
  EXPECT_EQ(r.resource->attributes.at("team").as_string(), "payments");  // code wins on conflict
}

TEST_F(EnvironmentTest, ApplyEnvironmentFalseIgnoresIt) {
  ::setenv("DAGSTACK_LOG_LEVEL", "error", 1);
  dl::Logger::reset();
  dl::ConfigureOptions o;
  o.root_level = "DEBUG";
  o.apply_environment = false;
  dl::configure(o);
  EXPECT_EQ(dl::Logger::get().effective_level(), 5);
}

TEST_F(EnvironmentTest, BadValuesAreReportedOnTheInternalChannelNeverThrown) {
  ::setenv("DAGSTACK_LOG_LEVEL", "nonsense", 1);
  // The report happens when the registry is rebuilt (reset builds the new tree at once), on the
  // default stderr internal sink; the counter shows it.
  const auto before = dl::internal_stats().internal_reports;
  dl::Logger::reset();
  EXPECT_EQ(dl::Logger::get().effective_level(), 9);  // default kept
  EXPECT_GE(dl::internal_stats().internal_reports, before + 1);
}

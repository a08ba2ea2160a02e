// northstar_options_test.cpp: NorthStarOptions defaults, NORTHSTAR_* environment handling,
// endpoint derivation, validation, and the disabled (no-op) sink.
#include <gtest/gtest.h>

#include <dirent.h>

#include <cstdlib>
#include <string>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/log_record.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/northstar_sink.h"
#include "dagstack/logger/northstar/uuid.h"
#include "northstar_test_support.h"

namespace dagstack::logger::northstar {
namespace {

using namespace std::chrono_literals;

const char* const kEnvNames[] = {"NORTHSTAR_API_KEY", "NORTHSTAR_PROJECT_ID",  "NORTHSTAR_ENDPOINT",
                                 "NORTHSTAR_PROJECT", "NORTHSTAR_ENVIRONMENT", "NORTHSTAR_ENABLED",
                                 "NORTHSTAR_DEBUG"};

class NorthStarOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    for (const char* n : kEnvNames) unsetenv(n);
  }
  void TearDown() override {
    for (const char* n : kEnvNames) unsetenv(n);
  }
};

std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n;
}

TEST_F(NorthStarOptionsTest, DefaultsMatchTheSdk) {
  NorthStarOptions o;
  EXPECT_EQ(o.batch_size, 50u);
  EXPECT_EQ(o.flush_interval, 5000ms);
  EXPECT_EQ(o.max_queue_size, 0u);  // no record cap: bounded in bytes instead
  EXPECT_EQ(o.max_queue_bytes, 16u << 20);
  EXPECT_EQ(o.shutdown_timeout, 2000ms);  // the documented bound on close()
  EXPECT_TRUE(o.outbox_dir.empty());
  EXPECT_EQ(o.request_timeout, 10000ms);
  EXPECT_TRUE(o.capture_inputs);
  EXPECT_TRUE(o.capture_outputs);
  EXPECT_FALSE(o.enabled.has_value());
  EXPECT_EQ(o.outside_trace, OutsideTracePolicy::kDrop);
  EXPECT_FALSE(o.active());
}

TEST_F(NorthStarOptionsTest, EnvBooleans) {
  for (const char* t : {"1", "true", "TRUE", " yes ", "On"})
    EXPECT_TRUE(parse_env_bool("X", t)) << t;
  for (const char* f : {"0", "false", "No", "off\n"}) EXPECT_FALSE(parse_env_bool("X", f)) << f;
  try {
    parse_env_bool("NORTHSTAR_ENABLED", "maybe");
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "NORTHSTAR_ENABLED must be a boolean");
  }
  setenv("NORTHSTAR_DEBUG", "sometimes", 1);
  EXPECT_THROW(NorthStarOptions::from_env(), ConfigError);
}

TEST_F(NorthStarOptionsTest, FromEnvFillsUnsetFieldsOnly) {
  setenv("NORTHSTAR_API_KEY", "ns_env", 1);
  setenv("NORTHSTAR_PROJECT_ID", "abc123", 1);
  setenv("NORTHSTAR_PROJECT", "support", 1);
  setenv("NORTHSTAR_ENVIRONMENT", "dev", 1);
  setenv("NORTHSTAR_ENABLED", "yes", 1);
  setenv("NORTHSTAR_DEBUG", "0", 1);
  NorthStarOptions base;
  base.project = "explicit";
  base.enabled = false;
  const NorthStarOptions o = NorthStarOptions::from_env(base);
  EXPECT_EQ(o.api_key, "ns_env");
  EXPECT_EQ(o.project_id, "abc123");
  EXPECT_EQ(o.project, "explicit");  // the argument wins
  EXPECT_EQ(o.environment, "dev");
  EXPECT_EQ(o.enabled, std::optional<bool>(false));
  EXPECT_EQ(o.debug, std::optional<bool>(false));
  EXPECT_EQ(o.resolved_endpoint(), "https://abc123.supabase.co/functions/v1/ingest-traces");
}

TEST_F(NorthStarOptionsTest, EndpointWinsAndTrailingSlashIsStripped) {
  NorthStarOptions o;
  o.project_id = "bad_id";  // not validated when an endpoint is set
  o.endpoint = "http://127.0.0.1:9/functions/v1/ingest-traces//";
  EXPECT_EQ(o.resolved_endpoint(), "http://127.0.0.1:9/functions/v1/ingest-traces");
}

TEST_F(NorthStarOptionsTest, BadProjectIdsAreRejected) {
  for (const char* bad : {"https://x.supabase.co", "proj_a3f9c1d8e27b", "ABC"}) {
    NorthStarOptions o;
    o.project_id = bad;
    EXPECT_THROW(o.resolved_endpoint(), ConfigError) << bad;
    o.api_key = "k";
    EXPECT_THROW(o.validate(), ConfigError) << bad;
  }
  NorthStarOptions none;
  EXPECT_THROW(none.resolved_endpoint(), ConfigError);
}

TEST_F(NorthStarOptionsTest, ActiveNeedsEnabledKeyAndDestination) {
  NorthStarOptions o;
  o.api_key = "k";
  EXPECT_FALSE(o.active());
  o.project_id = "abc";
  EXPECT_TRUE(o.active());
  o.enabled = false;
  EXPECT_FALSE(o.active());
  o.enabled = true;
  o.api_key.clear();
  EXPECT_FALSE(o.active());
}

TEST_F(NorthStarOptionsTest, ValidateNamesTheBadField) {
  auto expect_bad = [](NorthStarOptions o, const std::string& needle) {
    try {
      o.validate();
      ADD_FAILURE() << "no exception for " << needle;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  NorthStarOptions o;
  o.batch_size = 0;
  expect_bad(o, "batch_size");
  o = {};
  o.flush_interval = 0ms;
  expect_bad(o, "flush_interval");
  o = {};
  o.max_queue_bytes = 1000;
  expect_bad(o, "max_queue_bytes");
  o = NorthStarOptions{};
  o.retry.outage_probe_interval = 0ms;
  expect_bad(o, "outage_probe_interval");
  o = {};
  o.retry.jitter = 1.5;
  expect_bad(o, "jitter");
  o = {};
  o.retry.max_attempts = 0;
  expect_bad(o, "max_attempts");
  o = {};
  o.request_timeout = -1ms;
  expect_bad(o, "request_timeout");
  EXPECT_THROW(make_northstar_sink(o), ConfigError);
}

TEST_F(NorthStarOptionsTest, InactiveOptionsGiveADisabledSinkWithoutThreadOrRequests) {
  auto transport = std::make_shared<testing::FakeTransport>();
  const std::size_t threads_before = thread_count();
  NorthStarOptions o;
  o.api_key = "ns_key";
  o.endpoint = "http://127.0.0.1:9/ingest";
  o.enabled = false;
  o.transport = transport;
  auto sink = make_northstar_sink(o);
  EXPECT_FALSE(sink->enabled());
  EXPECT_EQ(thread_count(), threads_before);
  EXPECT_EQ(enabled_northstar_sink_count(), 0u);
  EXPECT_FALSE(sink->supports_severity(kSeverityFatal));
  LogRecord r;
  r.body = "x";
  r.trace_id = TraceId::from_hex("0123456789abcdef0123456789abcdef");
  r.span_id = SpanId::from_hex("0123456789abcdef");
  for (int i = 0; i < 100; ++i) sink->emit(r);
  EXPECT_TRUE(sink->flush(100ms).success);
  EXPECT_FALSE(sink->flush(0ms).success);
  sink->close();
  EXPECT_EQ(transport->count(), 0u);
  EXPECT_EQ(sink->stats().records_accepted, 0u);
  EXPECT_EQ(sink->session_id(), "");

  // No key: also disabled.
  NorthStarOptions no_key;
  no_key.project_id = "abc";
  EXPECT_FALSE(make_northstar_sink(no_key)->enabled());
}

TEST_F(NorthStarOptionsTest, ActiveSinkStartsOneWorkerAndStopsIt) {
  auto transport = std::make_shared<testing::FakeTransport>();
  const std::size_t threads_before = thread_count();
  NorthStarOptions o;
  o.api_key = "ns_key";
  o.endpoint = "http://127.0.0.1:9/ingest";
  o.transport = transport;
  auto sink = make_northstar_sink(o);
  EXPECT_TRUE(sink->enabled());
  EXPECT_EQ(enabled_northstar_sink_count(), 1u);
  const std::size_t threads_during = thread_count();
  // ThreadSanitizer starts a background thread of its own with the first thread created, so
  // only the worker's own stop is exact there.
#if defined(__SANITIZE_THREAD__)
  EXPECT_GE(threads_during, threads_before + 1);
#else
  EXPECT_EQ(threads_during, threads_before + 1);
#endif
  EXPECT_TRUE(is_uuid_v4(sink->session_id()));
  EXPECT_EQ(sink->id(), "northstar:http://127.0.0.1:9/ingest");
  sink->close();
  sink->close();  // idempotent
  EXPECT_EQ(thread_count(), threads_during - 1);
  EXPECT_EQ(enabled_northstar_sink_count(), 0u);
  EXPECT_EQ(transport->count(), 0u);  // nothing was traced: no session, no request
}

}  // namespace
}  // namespace dagstack::logger::northstar

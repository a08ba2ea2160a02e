// Property: random nested attributes and event data holding secrets under secret-suffixed keys
// never appear in any NorthStar request body (log records, event data, run input and metadata).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/northstar/northstar.h"
#include "northstar_test_support.h"

namespace dagstack::logger::northstar {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecretKeys[] = {"api_key", "DB_PASSWORD", "session_token", "client_secret",
                                       "gpg_passphrase", "aws_credentials"};

class SecretGenerator {
 public:
  explicit SecretGenerator(std::uint32_t seed) : rng_(seed) {}

  Value::Map map(int depth) {
    Value::Map m;
    const int n = 1 + static_cast<int>(rng_() % 4);
    for (int i = 0; i < n; ++i) {
      const int pick = static_cast<int>(rng_() % 4);
      if (pick == 0) {
        m[kSecretKeys[rng_() % 6]] = Value(marker());
      } else if (pick == 1 && depth > 0) {
        m["nested" + std::to_string(i)] = Value(map(depth - 1));
      } else if (pick == 2 && depth > 0) {
        m["list" + std::to_string(i)] = Value(Value::Array{Value(map(depth - 1)), Value(i)});
      } else {
        m["plain" + std::to_string(i)] = Value("visible-" + std::to_string(rng_() % 100));
      }
    }
    return m;
  }
  std::string marker() {
    markers_.push_back("NSSECRET-" + std::to_string(markers_.size()) + "-Z");
    return markers_.back();
  }
  const std::vector<std::string>& markers() const { return markers_; }

 private:
  std::mt19937 rng_;
  std::vector<std::string> markers_;
};

TEST(NorthStarSecretProperty, NoSecretReachesTheWire) {
  Logger::reset();
  auto transport = std::make_shared<testing::FakeTransport>();
  NorthStarOptions o;
  o.api_key = "ns_test";
  o.endpoint = "http://127.0.0.1:9/functions/v1/ingest-traces";
  o.batch_size = 100000;
  o.max_queue_size = 100000;
  o.max_batch_records = 100000;
  o.flush_interval = 600s;
  o.transport = transport;
  auto sink = make_northstar_sink(o);
  ConfigureOptions c;
  c.sinks = SinkList{sink};
  configure(c);

  SecretGenerator gen(4242);
  auto log = Logger::get("agent");
  for (int r = 0; r < 5; ++r) {
    Value::Map input = gen.map(2);
    Value::Map metadata = gen.map(1);
    auto run = trace("run-" + std::to_string(r), {.input = Value(input), .metadata = metadata});
    for (int i = 0; i < 20; ++i) {
      Value::Map attrs = gen.map(3);
      std::vector<Attribute> views;
      for (const auto& [k, v] : attrs) views.push_back({k, AttrValue(v)});
      log.info("step", views);
      log_event("tool_output", Value(gen.map(2)));
    }
    run.set_output(Value(gen.map(1)));
  }
  ASSERT_TRUE(sink->flush(5s).success);
  const auto bodies = transport->bodies();
  ASSERT_FALSE(bodies.empty());
  ASSERT_GT(gen.markers().size(), 100u);
  std::string all;
  for (const auto& b : bodies) all += b;
  EXPECT_NE(all.find("visible-"), std::string::npos) << "non-secret data must still arrive";
  for (const auto& m : gen.markers()) ASSERT_EQ(all.find(m), std::string::npos) << m;
  sink->close();
  Logger::reset();
}

}  // namespace
}  // namespace dagstack::logger::northstar

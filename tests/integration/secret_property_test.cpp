// Property: random nested attributes holding secrets under secret-suffixed keys never reach any
// sink's output (console JSON, console pretty, file, in-memory, async file).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dagstack/logger.hpp"

namespace dl = dagstack::logger;

namespace {

constexpr const char* kSecretKeys[] = {"api_key", "DB_PASSWORD", "session_token", "client_Secret",
                                       "gpg_passphrase", "aws_credentials"};
constexpr const char* kPlainKeys[] = {"user.id", "items", "note", "key", "password", "token.count"};

// Builds a random value; every secret placed under a secret key is a unique marker string.
class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  dl::Value value(int depth) {
    const int pick = static_cast<int>(rng_() % (depth > 0 ? 6 : 4));
    switch (pick) {
      case 0: return dl::Value(static_cast<std::int64_t>(rng_() % 1000));
      case 1: return dl::Value("plain-" + std::to_string(rng_() % 100));
      case 2: return dl::Value(rng_() % 2 == 0);
      case 3: return dl::Value(0.25 * static_cast<double>(rng_() % 16));
      case 4: {
        dl::Value::Array a;
        const int n = static_cast<int>(rng_() % 4);
        for (int i = 0; i < n; ++i) a.push_back(value(depth - 1));
        return dl::Value(std::move(a));
      }
      default: return dl::Value(map(depth - 1));
    }
  }

  dl::Value::Map map(int depth) {
    dl::Value::Map m;
    const int n = 1 + static_cast<int>(rng_() % 4);
    for (int i = 0; i < n; ++i) {
      if (rng_() % 3 == 0) {
        // A secret key holds either a marker string or a container of markers.
        const std::string key = kSecretKeys[rng_() % 6];
        m[key] = rng_() % 2 == 0 ? dl::Value(marker())
                                 : dl::Value(dl::Value::Array{dl::Value(marker()), dl::Value(marker())});
      } else {
        m[std::string(kPlainKeys[rng_() % 6]) + std::to_string(i)] = value(depth);
      }
    }
    return m;
  }

  std::string marker() {
    std::string s = "SECRET-" + std::to_string(counter_++) + "-X";
    markers_.push_back(s);
    return s;
  }
  const std::vector<std::string>& markers() const { return markers_; }

 private:
  std::mt19937 rng_;
  int counter_ = 0;
  std::vector<std::string> markers_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(SecretProperty, NoSecretReachesAnySinkOutput) {
  dl::Logger::reset();
  char tmpl[] = "/tmp/dagstack_secret_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;

  std::ostringstream json_out;
  std::ostringstream pretty_out;
  auto memory = std::make_shared<dl::InMemorySink>(100000);
  auto file = dl::make_file_sink({.path = dir + "/plain.jsonl"});
  auto async_file = dl::make_async_sink(dl::make_file_sink({.path = dir + "/async.jsonl"}));
  dl::ConfigureOptions options;
  options.sinks = dl::SinkList{
      dl::make_console_sink({.mode = dl::ConsoleMode::kJson, .ostream = &json_out}),
      dl::make_console_sink({.mode = dl::ConsoleMode::kPretty, .ostream = &pretty_out}), memory,
      file, async_file};
  dl::configure(options);

  Generator gen(20261121);
  auto log = dl::Logger::get("property");
  int emitted = 0;
  for (int i = 0; i < 300; ++i) {
    dl::Value::Map attrs = gen.map(3);
    std::vector<dl::Attribute> views;
    for (const auto& [k, v] : attrs) views.push_back({k, dl::AttrValue(v)});
    // Also through a bound child and through baggage-free explicit context.
    if (i % 3 == 0) {
      log.child({{"service_token", dl::AttrValue(gen.marker())}}).info("bound", views);
    } else {
      log.warn("record", views);
    }
    ++emitted;
  }
  ASSERT_TRUE(dl::Logger::get().flush(std::chrono::seconds(5)).success);
  ASSERT_GT(gen.markers().size(), 100u) << "the generator must actually place secrets";

  const std::string outputs[] = {json_out.str(), pretty_out.str(), read_file(dir + "/plain.jsonl"),
                                 read_file(dir + "/async.jsonl")};
  for (const auto& out : outputs) ASSERT_FALSE(out.empty());
  std::string memory_text;
  for (const auto& line : memory->lines()) memory_text += line + "\n";
  EXPECT_EQ(memory->size(), static_cast<std::size_t>(emitted));

  for (const auto& m : gen.markers()) {
    for (const auto& out : outputs) ASSERT_EQ(out.find(m), std::string::npos) << m;
    ASSERT_EQ(memory_text.find(m), std::string::npos) << m;
  }
  // The masked values are there instead.
  EXPECT_NE(json_out.str().find("\"***\""), std::string::npos);
  dl::shutdown();
  dl::Logger::reset();
}

// redaction_conformance_test.cpp: runs every case of the vendored
// fixtures/redaction_extra_suffixes.json (contract §11.1): configure() with the case's
// redaction config, emit its input as attributes into an InMemorySink, and compare the redacted
// attributes canonically; the validation failures must throw a ConfigError containing the
// expected substring (case-insensitive) and change nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "support/json_value.h"

namespace dagstack::logger {
namespace {

const std::string kFixture = std::string(DAGSTACK_FIXTURES_DIR) + "/redaction_extra_suffixes.json";

const Value& fixture() {
  static const Value v = testing::load_json_file(kFixture);
  return v;
}

std::vector<std::string> names_of(const char* list) {
  std::vector<std::string> names;
  try {
    for (const Value& c : fixture().find(list)->as_array()) names.push_back(c.find("name")->as_string());
  } catch (...) {
    // Reported by FixtureShape below.
  }
  return names;
}

const Value& find_case(const char* list, const std::string& name) {
  for (const Value& c : fixture().find(list)->as_array()) {
    if (c.find("name")->as_string() == name) return c;
  }
  throw std::runtime_error("no case " + name);
}

RedactionConfig to_config(const Value& config) {
  const Value* r = config.find("redaction");
  RedactionConfig cfg;
  if (r == nullptr) return cfg;
  if (const Value* extra = r->find("extra_suffixes")) {
    for (const Value& s : extra->as_array()) cfg.extra_suffixes.push_back(s.as_string());
  }
  if (const Value* replace = r->find("replace_defaults")) cfg.replace_defaults = replace->as_bool();
  return cfg;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class RedactionConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    app_ = std::make_shared<InMemorySink>(100);
    internal_ = std::make_shared<InMemorySink>(100);
    Logger::get(kInternalLoggerName).set_sinks({internal_});
  }
  void TearDown() override { Logger::reset(); }

  // Emits `input` as the attributes of one record and returns the record's attributes.
  Value::Map emit(const Value::Map& input) {
    app_->clear();
    std::vector<Attribute> attrs;
    for (const auto& [k, v] : input) attrs.push_back({k, AttrValue(v)});
    Logger::get("conformance.redaction").info("probe", AttributeSpan(attrs));
    const auto records = app_->records();
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? Value::Map{} : records[0].attributes;
  }

  std::shared_ptr<InMemorySink> app_;
  std::shared_ptr<InMemorySink> internal_;
};

class RedactionCase : public RedactionConformance, public ::testing::WithParamInterface<std::string> {};
class RedactionValidationFailure : public RedactionConformance,
                                   public ::testing::WithParamInterface<std::string> {};

TEST(RedactionFixture, FixtureShape) {
  const Value& f = fixture();
  EXPECT_EQ(f.find("_validation_error_match")->as_string(), "substring");
  EXPECT_EQ(names_of("cases").size(), 6u);
  EXPECT_EQ(names_of("validation_failures").size(), 3u);
}

TEST_P(RedactionCase, RedactsAsExpected) {
  const Value& c = find_case("cases", GetParam());
  const RedactionConfig cfg = to_config(*c.find("config"));
  ConfigureOptions o;
  o.sinks = SinkList{app_};
  o.redaction = cfg;
  configure(o);

  const Value::Map out = emit(c.find("input")->as_map());
  EXPECT_EQ(to_canonical_json(Value(out)), to_canonical_json(*c.find("expected")));

  // The disable-all warning appears on the internal channel, never on the application's sinks.
  const bool disables_all = cfg.replace_defaults && cfg.extra_suffixes.empty();
  const auto internal = internal_->records();
  if (disables_all) {
    ASSERT_EQ(internal.size(), 1u);
    EXPECT_EQ(internal[0].severity_number, kSeverityWarn);
    ASSERT_TRUE(internal[0].instrumentation_scope.has_value());
    EXPECT_EQ(internal[0].instrumentation_scope->name, kInternalLoggerName);
  } else {
    EXPECT_TRUE(internal.empty());
  }
  for (const auto& r : app_->records()) EXPECT_EQ(r.body, Value("probe"));
}

TEST_P(RedactionValidationFailure, ThrowsAndChangesNothing) {
  const Value& c = find_case("validation_failures", GetParam());
  // A valid configuration first, so "nothing changed" is observable.
  ConfigureOptions good;
  good.sinks = SinkList{app_};
  good.redaction = RedactionConfig{{"_apikey"}, false};
  configure(good);
  const auto before = Logger::get().effective_secret_suffixes();

  auto other_sink = std::make_shared<InMemorySink>(10);
  ConfigureOptions bad;
  bad.sinks = SinkList{other_sink};
  bad.root_level = "ERROR";
  bad.redaction = to_config(*c.find("config"));
  const std::string expected = c.find("expected_error")->as_string();
  try {
    configure(bad);
    ADD_FAILURE() << "configure() accepted " << GetParam();
  } catch (const ConfigError& e) {
    EXPECT_NE(lower(e.what()).find(lower(expected)), std::string::npos)
        << "message '" << e.what() << "' lacks '" << expected << "'";
  }
  EXPECT_EQ(Logger::get().effective_secret_suffixes(), before);
  EXPECT_EQ(Logger::get().effective_level(), kSeverityInfo);
  const Value::Map out = emit({{"stripe_apikey", "s"}, {"api_key", "k"}, {"user.id", 1}});
  EXPECT_EQ(out.at("stripe_apikey"), Value("***"));
  EXPECT_EQ(out.at("api_key"), Value("***"));
  EXPECT_EQ(out.at("user.id"), Value(1));
  EXPECT_EQ(other_sink->size(), 0u);
  EXPECT_TRUE(internal_->records().empty());
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Fixture, RedactionCase, ::testing::ValuesIn(names_of("cases")), param_name);
INSTANTIATE_TEST_SUITE_P(Fixture, RedactionValidationFailure,
                         ::testing::ValuesIn(names_of("validation_failures")), param_name);

}  // namespace
}  // namespace dagstack::logger

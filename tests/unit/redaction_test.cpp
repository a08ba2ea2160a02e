// redaction_test.cpp: suffix redaction and RedactionConfig (contract §6), mirroring the Python
// binding's test_redaction.py and the redaction parts of test_logger.py.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/redaction_config.h"
#include "dagstack/logger/sinks/in_memory_sink.h"

namespace dagstack::logger {
namespace {

class RedactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    sink_ = std::make_shared<InMemorySink>(100);
    internal_ = std::make_shared<InMemorySink>(100);
    ConfigureOptions o;
    o.sinks = SinkList{sink_};
    configure(o);
    Logger::get(kInternalLoggerName).set_sinks({internal_});
  }
  void TearDown() override { Logger::reset(); }

  // Emits one record with `attrs` through `log` and returns its (redacted) attributes.
  Value::Map emit(Logger log, const Value::Map& attrs) {
    sink_->clear();
    std::vector<Attribute> views;
    for (const auto& [k, v] : attrs) views.push_back({k, AttrValue(v)});
    log.info("redaction probe", AttributeSpan(views));
    EXPECT_EQ(sink_->size(), 1u);
    if (sink_->size() != 1) return {};
    return sink_->records()[0].attributes;
  }
  Value::Map emit(const Value::Map& attrs) { return emit(Logger::get("svc"), attrs); }

  std::shared_ptr<InMemorySink> sink_;
  std::shared_ptr<InMemorySink> internal_;
};

// Expects `fn` to throw ConfigError whose message contains `needle`.
template <typename Fn>
void expect_config_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

const Value kMask = Value("***");

TEST_F(RedactionTest, DefaultSuffixMatrix) {
  const std::vector<std::string> secret = {
      "api_key",        "OPENAI_API_KEY",    "session_token", "client_secret", "db_password",
      "gpg_passphrase", "aws_credentials",   "x_key",         "a.b_token",     "Refresh_Token",
      "_key",           "nested.db_password"};
  const std::vector<std::string> plain = {
      "key",    "password", "token",  "secret", "credentials",   "passphrase",  "user.id",
      "apikey", "keyboard", "tokens", "key_id", "password_hint", "secret_name", "STRIPE_APIKEY"};
  Value::Map in;
  for (const auto& k : secret) in.emplace(k, "value-of-" + k);
  for (const auto& k : plain) in.emplace(k, "value-of-" + k);
  const Value::Map out = emit(in);
  ASSERT_EQ(out.size(), in.size());
  for (const auto& k : secret) EXPECT_EQ(out.at(k), kMask) << k;
  for (const auto& k : plain) EXPECT_EQ(out.at(k), Value("value-of-" + k)) << k;
}

TEST_F(RedactionTest, IsSecretKeyMatchesSuffixesCaseInsensitively) {
  const std::vector<std::string> defaults(kDefaultSecretSuffixes.begin(),
                                          kDefaultSecretSuffixes.end());
  EXPECT_TRUE(is_secret_key("api_key", defaults));
  EXPECT_TRUE(is_secret_key("API_KEY", defaults));
  EXPECT_TRUE(is_secret_key("Api_Key", defaults));
  EXPECT_FALSE(is_secret_key("key", defaults));
  EXPECT_FALSE(is_secret_key("", defaults));
  EXPECT_FALSE(is_secret_key("api_key", {}));
  EXPECT_TRUE(is_secret_key("stripe_apikey", {"_apikey"}));
}

// Python's str.lower(), Go's strings.ToLower and JS toLowerCase map U+212A KELVIN SIGN to 'k', so
// the other bindings mask "api_\u212Aey"; Go also maps U+0130 to 'i'; simple case folding maps
// U+017F LONG S to 's'. Keys written with them are masked here too.
TEST_F(RedactionTest, UnicodeLowerCasingOfTheKeyMatchesTheOtherBindings) {
  const std::vector<std::string> defaults(kDefaultSecretSuffixes.begin(),
                                          kDefaultSecretSuffixes.end());
  EXPECT_TRUE(is_secret_key("api_\u212Aey", defaults));
  EXPECT_TRUE(is_secret_key("API_\u212AEY", defaults));
  EXPECT_TRUE(is_secret_key("db_credent\u0130als", defaults));
  EXPECT_TRUE(is_secret_key("app_\u017Fecret", defaults));
  EXPECT_TRUE(is_secret_key("\u043A\u043B\u044E\u0447_key", defaults));  // Cyrillic prefix
  EXPECT_FALSE(is_secret_key("api_k\u00E9y", defaults));                 // e-acute is not 'e'
  EXPECT_FALSE(is_secret_key("api_\u041Aey", defaults));                 // Cyrillic KA is not 'k'
  EXPECT_FALSE(
      is_secret_key("api_\xE2\x84"
                    "ey",
                    defaults));                                   // truncated UTF-8
  EXPECT_FALSE(is_secret_key("\x84\x84\x84\x84\x84", {"_key"}));  // stray continuation bytes
  const Value::Map out =
      emit({{"api_\u212Aey", "s3cr3t"}, {"nested", Value::map({{"X_\u212AEY", "s"}})}});
  EXPECT_EQ(out.at("api_\u212Aey"), kMask);
  EXPECT_EQ(out.at("nested").as_map().at("X_\u212AEY"), kMask);
}

TEST_F(RedactionTest, ScalarTypesAreMaskedAsAString) {
  const Value::Map out =
      emit({{"a_token", 42}, {"b_token", 1.5}, {"c_token", true}, {"d_token", nullptr}});
  for (const char* k : {"a_token", "b_token", "c_token", "d_token"})
    EXPECT_EQ(out.at(k), kMask) << k;
}

TEST_F(RedactionTest, CustomSuffixesPerLogger) {
  Logger::get("svc").set_redaction_suffixes(std::vector<std::string>{"_pin", "_apikey"});
  const Value::Map out = emit({{"card_pin", "1234"}, {"stripe_apikey", "pk"}, {"api_key", "kept"}});
  EXPECT_EQ(out.at("card_pin"), kMask);
  EXPECT_EQ(out.at("stripe_apikey"), kMask);
  EXPECT_EQ(out.at("api_key"), Value("kept"));  // an explicit set replaces the defaults
  EXPECT_EQ(Logger::get("svc").effective_secret_suffixes(),
            (std::vector<std::string>{"_pin", "_apikey"}));
}

// The attribute path's quick filter on the keys' last two letters never changes a verdict:
// every random key (mixed case, Unicode letters that fold to ASCII, very short) is masked exactly
// when is_secret_key() says so, for the defaults, one-letter suffixes and a long suffix list.
TEST_F(RedactionTest, AttributePathAgreesWithIsSecretKeyOnRandomKeys) {
  const char* const pieces[] = {
      "a",        "K",        "k", "E",   "y", "_", "key", "_KEY", "token", "N", "\xE2\x84\xAA",
      "\xC5\xBF", "\xC4\xB0", "s", "pin", "x", "."};
  std::vector<std::vector<std::string>> lists = {
      {kDefaultSecretSuffixes.begin(), kDefaultSecretSuffixes.end()}, {"x", "_pin"}, {}};
  for (int i = 0; i < 20; ++i) lists.back().push_back("_s" + std::to_string(i) + "ey");
  std::uint32_t seed = 12345;
  const auto next = [&seed] { return seed = seed * 1103515245u + 12345u, seed >> 8; };
  for (const auto& suffixes : lists) {
    Logger::get("svc").set_redaction_suffixes(suffixes);
    for (int n = 0; n < 400; ++n) {
      std::string key;
      for (std::uint32_t parts = next() % 5; parts > 0; --parts) key += pieces[next() % 17];
      const Value::Map out = emit({{key, "v"}});
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out.begin()->second == kMask, is_secret_key(key, suffixes))
          << "key '" << key << "'";
    }
  }
}

TEST_F(RedactionTest, PerLoggerOverrideIsInheritedByDescendantsOnly) {
  Logger::get("svc").set_redaction_suffixes(std::vector<std::string>{"_pin"});
  EXPECT_EQ(emit(Logger::get("svc.db.pool"), {{"card_pin", "1"}}).at("card_pin"), kMask);
  EXPECT_EQ(emit(Logger::get("other"), {{"card_pin", "1"}}).at("card_pin"), Value("1"));
  EXPECT_EQ(emit(Logger::get("other"), {{"api_key", "1"}}).at("api_key"), kMask);
  // Clearing the override makes the node inherit the defaults again.
  Logger::get("svc").set_redaction_suffixes(std::nullopt);
  EXPECT_EQ(emit(Logger::get("svc.db.pool"), {{"card_pin", "1"}}).at("card_pin"), Value("1"));
  EXPECT_EQ(emit(Logger::get("svc.db.pool"), {{"api_key", "1"}}).at("api_key"), kMask);
}

TEST_F(RedactionTest, SetRedactionSuffixesValidates) {
  expect_config_error(
      [] { Logger::get("svc").set_redaction_suffixes(std::vector<std::string>{"_PIN"}); },
      "must be lowercase ASCII");
  // Nothing changed.
  EXPECT_EQ(emit({{"api_key", "1"}, {"card_pin", "2"}}).at("api_key"), kMask);
}

TEST_F(RedactionTest, CopyNotMutate) {
  const Value original = Value::map({{"db_password", "hunter2"}, {"host", "db"}});
  const Value copy = original;
  sink_->clear();
  Logger::get("svc").info("connect", {{"db", original}, {"cfg_token", original}});
  ASSERT_EQ(sink_->size(), 1u);
  EXPECT_EQ(original, copy);  // the caller's value is untouched
  const Value::Map out = sink_->records()[0].attributes;
  EXPECT_EQ(out.at("db").find("db_password")->as_string(), "***");
  EXPECT_EQ(out.at("db").find("host")->as_string(), "db");
  EXPECT_EQ(out.at("cfg_token"), kMask);
}

TEST_F(RedactionTest, NestedMaps) {
  const Value::Map out =
      emit({{"outer", Value::map({{"inner_secret", "s"}, {"ok", 1}})}, {"top", "t"}});
  EXPECT_EQ(out.at("outer"), Value::map({{"inner_secret", "***"}, {"ok", 1}}));
  EXPECT_EQ(out.at("top"), Value("t"));
}

TEST_F(RedactionTest, DeepNesting) {
  // Six levels down, a secret is still found; siblings at every level survive.
  Value v = Value::map({{"deep_token", "s"}, {"leaf", "l"}});
  Value expected = Value::map({{"deep_token", "***"}, {"leaf", "l"}});
  for (int i = 0; i < 6; ++i) {
    v = Value::map({{"level", i}, {"next", v}});
    expected = Value::map({{"level", i}, {"next", expected}});
  }
  EXPECT_EQ(emit({{"root", v}}).at("root"), expected);
}

TEST_F(RedactionTest, ListOfMaps) {
  const Value in = Value::array({Value::map({{"type", "auth"}, {"bearer_token", "t"}}),
                                 Value::map({{"type", "fetch"}, {"url", "/x"}})});
  const Value expected = Value::array({Value::map({{"type", "auth"}, {"bearer_token", "***"}}),
                                       Value::map({{"type", "fetch"}, {"url", "/x"}})});
  EXPECT_EQ(emit({{"events", in}}).at("events"), expected);
}

TEST_F(RedactionTest, MixedListsKeepPrimitivesAndRecurseIntoContainers) {
  const Value in = Value::array(
      {1, "api_key", nullptr, true, 2.5, Value::array({Value::map({{"x_secret", "s"}}), "y"}),
       Value::map({{"n", Value::array({Value::map({{"z_password", "p"}})})}})});
  const Value expected = Value::array(
      {1, "api_key", nullptr, true, 2.5, Value::array({Value::map({{"x_secret", "***"}}), "y"}),
       Value::map({{"n", Value::array({Value::map({{"z_password", "***"}})})}})});
  EXPECT_EQ(emit({{"mixed", in}}).at("mixed"), expected);
}

TEST_F(RedactionTest, ContainersWithoutSecretsPassThroughUnchanged) {
  const Value in =
      Value::map({{"list", Value::array({1, 2, Value::map({{"a", "b"}})})}, {"n", nullptr}});
  EXPECT_EQ(emit({{"payload", in}}).at("payload"), in);
}

TEST_F(RedactionTest, CaseInsensitiveKeys) {
  const Value::Map out = emit({{"API_KEY", "a"},
                               {"Session_Token", "b"},
                               {"DB_PASSWORD", "c"},
                               {"nested", Value::map({{"Client_SECRET", "d"}})}});
  EXPECT_EQ(out.at("API_KEY"), kMask);
  EXPECT_EQ(out.at("Session_Token"), kMask);
  EXPECT_EQ(out.at("DB_PASSWORD"), kMask);
  EXPECT_EQ(*out.at("nested").find("Client_SECRET"), kMask);
}

TEST_F(RedactionTest, DefaultSetIsExactlySix) {
  ASSERT_EQ(kDefaultSecretSuffixes.size(), 6u);
  const std::vector<std::string> expected = {"_key",      "_secret",     "_token",
                                             "_password", "_passphrase", "_credentials"};
  EXPECT_EQ(std::vector<std::string>(kDefaultSecretSuffixes.begin(), kDefaultSecretSuffixes.end()),
            expected);
  EXPECT_EQ(Logger::get().effective_secret_suffixes(), expected);
  EXPECT_EQ(Logger::get("no.override.here").effective_secret_suffixes(), expected);
  EXPECT_EQ(kRedactedPlaceholder, "***");
}

TEST_F(RedactionTest, ConfigAdditive) {
  const RedactionConfig cfg{{"_apikey", "_pin"}, false};
  const std::vector<std::string> expected = {"_key",        "_secret",      "_token",  "_password",
                                             "_passphrase", "_credentials", "_apikey", "_pin"};
  EXPECT_EQ(cfg.effective_suffixes(), expected);
}

TEST_F(RedactionTest, ConfigDeduplicatesKeepingOrder) {
  const RedactionConfig cfg{{"_pin", "_key", "_pin"}, false};
  EXPECT_EQ(cfg.effective_suffixes(),
            (std::vector<std::string>{"_key", "_secret", "_token", "_password", "_passphrase",
                                      "_credentials", "_pin"}));
}

TEST_F(RedactionTest, ConfigReplace) {
  const RedactionConfig cfg{{"_pin", "_password"}, true};
  EXPECT_EQ(cfg.effective_suffixes(), (std::vector<std::string>{"_pin", "_password"}));
}

TEST_F(RedactionTest, ConfigDisableAll) {
  const RedactionConfig cfg{{}, true};
  EXPECT_TRUE(cfg.effective_suffixes().empty());
  EXPECT_EQ(RedactionConfig{}.effective_suffixes().size(),
            6u);  // the default config keeps the defaults
}

TEST_F(RedactionTest, ConfigValidationMessages) {
  expect_config_error(
      [] {
        RedactionConfig{{""}, false}.validate();
      },
      "redaction.extra_suffixes contains an empty string");
  expect_config_error(
      [] {
        RedactionConfig{{"_ok", "_my secret"}, false}.validate();
      },
      "redaction.extra_suffixes contains whitespace");
  expect_config_error([] { RedactionConfig{{"_ok", "_my secret"}, false}.validate(); }, "index 1");
  expect_config_error([] { RedactionConfig{{"_tab\t"}, false}.validate(); }, "contains whitespace");
  expect_config_error([] { RedactionConfig{{"\n_x"}, false}.validate(); }, "contains whitespace");
  expect_config_error([] { RedactionConfig{{"   "}, false}.validate(); }, "contains whitespace");
  expect_config_error(
      [] {
        RedactionConfig{{"_APIKEY"}, false}.validate();
      },
      "redaction.extra_suffixes must be lowercase ASCII");
  expect_config_error(
      [] {
        RedactionConfig{{"_Pin"}, true}.validate();
      },
      "must be lowercase ASCII");
  // Cyrillic "_ключ": lowercase, but not ASCII.
  expect_config_error(
      [] {
        RedactionConfig{{"_\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87"}, false}.validate();
      },
      "must be lowercase ASCII");
  EXPECT_NO_THROW((RedactionConfig{{"_api-key.v2", "_x_1"}, false}.validate()));
}

TEST_F(RedactionTest, EffectiveSuffixesAreLowercase) {
  for (const auto& s : RedactionConfig{{"_apikey"}, false}.effective_suffixes()) {
    for (char c : s) EXPECT_FALSE(c >= 'A' && c <= 'Z') << s;
  }
}

TEST_F(RedactionTest, ConfigureInstallsOnTheRootForTheWholeTree) {
  ConfigureOptions o;
  o.redaction = RedactionConfig{{"_apikey"}, false};
  configure(o);
  const Value::Map out =
      emit(Logger::get("deep.down.the.tree"), {{"stripe_apikey", "x"}, {"api_key", "y"}});
  EXPECT_EQ(out.at("stripe_apikey"), kMask);
  EXPECT_EQ(out.at("api_key"), kMask);
  // A later configure() without `redaction` keeps it.
  ConfigureOptions other;
  other.root_level = "DEBUG";
  configure(other);
  EXPECT_EQ(emit({{"stripe_apikey", "x"}}).at("stripe_apikey"), kMask);
}

TEST_F(RedactionTest, ConfigureReplaceNarrowsTheSet) {
  ConfigureOptions o;
  o.redaction = RedactionConfig{{"_password"}, true};
  configure(o);
  const Value::Map out = emit({{"db_password", "p"}, {"api_key", "k"}, {"client_secret", "s"}});
  EXPECT_EQ(out.at("db_password"), kMask);
  EXPECT_EQ(out.at("api_key"), Value("k"));
  EXPECT_EQ(out.at("client_secret"), Value("s"));
}

TEST_F(RedactionTest, InvalidConfigureChangesNothing) {
  ConfigureOptions o;
  o.root_level = "ERROR";
  o.redaction = RedactionConfig{{"_ok", "_BAD"}, true};
  expect_config_error([&] { configure(o); }, "must be lowercase ASCII");
  EXPECT_EQ(Logger::get().effective_level(), kSeverityInfo);
  EXPECT_EQ(Logger::get().effective_secret_suffixes().size(), 6u);
  EXPECT_EQ(emit({{"api_key", "k"}}).at("api_key"), kMask);
  EXPECT_EQ(internal_->size(), 0u);
}

TEST_F(RedactionTest, DisableAllWarnsOnTheInternalChannelOnly) {
  ConfigureOptions o;
  o.redaction = RedactionConfig{{}, true};
  configure(o);
  EXPECT_EQ(sink_->size(), 0u);  // nothing on the application's sinks
  const auto internal = internal_->records();
  ASSERT_EQ(internal.size(), 1u);
  EXPECT_EQ(internal[0].severity_number, kSeverityWarn);
  ASSERT_TRUE(internal[0].body.is_string());
  EXPECT_NE(internal[0].body.as_string().find("redaction disabled"), std::string::npos);
  EXPECT_EQ(emit({{"api_key", "k"}}).at("api_key"), Value("k"));
}

TEST_F(RedactionTest, ChildInheritsDisableAll) {
  ConfigureOptions o;
  o.redaction = RedactionConfig{{}, true};
  configure(o);
  Logger child = Logger::get("svc.api").child({{"bound_token", "b"}});
  const Value::Map out = emit(child, {{"api_key", "k"}});
  EXPECT_EQ(out.at("api_key"), Value("k"));
  EXPECT_EQ(out.at("bound_token"), Value("b"));
}

TEST_F(RedactionTest, ChildInheritsLaterChangesDynamically) {
  Logger child = Logger::get("svc").child({});
  EXPECT_EQ(emit(child, {{"card_pin", "1"}}).at("card_pin"), Value("1"));
  Logger::get("svc").set_redaction_suffixes(std::vector<std::string>{"_pin"});
  EXPECT_EQ(emit(child, {{"card_pin", "1"}}).at("card_pin"), kMask);
}

TEST_F(RedactionTest, BoundAttributesAreRedacted) {
  Logger child = Logger::get("svc").child({{"service_token", "t"}, {"region", "eu"}});
  const Value::Map out = emit(child, {});
  EXPECT_EQ(out.at("service_token"), kMask);
  EXPECT_EQ(out.at("region"), Value("eu"));
}

TEST_F(RedactionTest, BaggageInjectedAttributesAreRedacted) {
  ConfigureOptions o;
  o.baggage_keys = std::vector<std::string>{"tenant.id", "session_token"};
  configure(o);
  ScopedContext scope(Context().set_baggage("session_token", "abc").set_baggage("tenant.id", "t1"));
  const Value::Map out = emit({});
  EXPECT_EQ(out.at("session_token"), kMask);
  EXPECT_EQ(out.at("tenant.id"), Value("t1"));
}

TEST_F(RedactionTest, BodyIsNeverTouched) {
  sink_->clear();
  Logger::get("svc").info("api_key=hunter2 and db_password=x");
  const Value map_body = Value::map({{"api_key", "hunter2"}});
  Logger::get("svc").info(map_body);
  const auto records = sink_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].body, Value("api_key=hunter2 and db_password=x"));
  EXPECT_EQ(records[1].body, map_body);
}

TEST_F(RedactionTest, SecretKeyHoldingAContainerIsMaskedWhole) {
  const Value::Map out =
      emit({{"aws_credentials", Value::map({{"id", "AKIA"}, {"region", "eu"}})},
            {"refresh_token", Value::array({"a", "b"})},
            {"wrapper", Value::map({{"inner_secret", Value::map({{"x", 1}})}})}});
  EXPECT_EQ(out.at("aws_credentials"), kMask);
  EXPECT_EQ(out.at("refresh_token"), kMask);
  EXPECT_EQ(out.at("wrapper"), Value::map({{"inner_secret", "***"}}));
}

TEST_F(RedactionTest, KeysAreKeptAndOnlyValuesMasked) {
  const Value::Map out = emit({{"api_key", "k"}});
  ASSERT_EQ(out.count("api_key"), 1u);
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace dagstack::logger

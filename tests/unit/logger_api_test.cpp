// logger_api_test.cpp: the emit API a C++ user expects: fmt bodies with attributes, lazy macros
// with attributes, attribute conversions (to_attribute, chrono, enums, optional, ranges, maps),
// source location on every overload, exception() with a custom body, and zero allocations.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/file_sink.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "support/alloc_counter.h"

namespace dl = dagstack::logger;
using namespace std::chrono_literals;

namespace shop {
struct Money {
  std::int64_t cents;
  std::string currency;
};
dl::Value to_attribute(const Money& m) {
  return dl::Value::map({{"cents", m.cents}, {"currency", m.currency}});
}
enum class Status { kOpen, kPaid };
std::string_view to_attribute(Status s) { return s == Status::kOpen ? "open" : "paid"; }
enum class Priority : std::uint8_t { kLow = 1, kHigh = 7 };
enum Legacy { kLegacyA, kLegacyB };
std::string_view to_attribute(Legacy l) { return l == kLegacyA ? "a" : "b"; }
struct Tagged {
  std::string tag;
};
std::string to_attribute(const Tagged& t) { return "tag:" + t.tag; }
}  // namespace shop

// A type whose formatting is counted, to prove what is and is not formatted.
struct CountedFormat {
  int value;
};
inline int g_formatted = 0;
template <>
struct fmt::formatter<CountedFormat> : fmt::formatter<int> {
  auto format(const CountedFormat& c, fmt::format_context& ctx) const {
    ++g_formatted;
    return fmt::formatter<int>::format(c.value, ctx);
  }
};

namespace {

class LoggerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dl::Logger::reset();
    sink_ = std::make_shared<dl::InMemorySink>(100);
    dl::ConfigureOptions o;
    o.sinks = dl::SinkList{sink_};
    o.root_level = "INFO";
    dl::configure(o);
  }
  void TearDown() override { dl::Logger::reset(); }
  const dl::OwnedLogRecord& last() {
    records_ = sink_->records();
    return records_.back();
  }
  std::shared_ptr<dl::InMemorySink> sink_;
  std::vector<dl::OwnedLogRecord> records_;
};

TEST_F(LoggerApiTest, FormatArgumentsFollowedByAttributes) {
  auto log = dl::Logger::get("pay");
  const double amount = 12.5;
  const std::string currency = "EUR";
  log.info("paid {} {}", amount, currency, {{"order.id", 42}});
  const auto& r = last();
  EXPECT_EQ(r.body, dl::Value("paid 12.5 EUR"));
  EXPECT_EQ(*r.attribute("order.id"), dl::Value(42));
  log.warn("retry {} of {}", 2, 5, {{"order.id", 42}, {"backoff_ms", 250}});
  EXPECT_EQ(last().body, dl::Value("retry 2 of 5"));
  EXPECT_EQ(last().severity_number, dl::kSeverityWarn);
  EXPECT_EQ(*last().attribute("backoff_ms"), dl::Value(250));
  log.log(10, "at {}", 10, {{"k", "v"}});
  EXPECT_EQ(last().severity_number, 10);
  EXPECT_EQ(last().body, dl::Value("at 10"));
  std::vector<dl::Attribute> attrs{{"from.vector", true}};
  log.error("eight {} {} {} {} {} {} {} {}", 1, 2, 3, 4, 5, 6, 7, 8, attrs);
  EXPECT_EQ(last().body, dl::Value("eight 1 2 3 4 5 6 7 8"));
  EXPECT_EQ(*last().attribute("from.vector"), dl::Value(true));
  // Plain fmt bodies still work, and a body plus attributes.
  log.info("user {} in", "ann");
  EXPECT_EQ(last().body, dl::Value("user ann in"));
  log.info("plain", {{"k", 1}});
  EXPECT_EQ(last().body, dl::Value("plain"));
  // Braces that are escaped are not placeholders.
  log.info("{{literal}} {}", 1);
  EXPECT_EQ(last().body, dl::Value("{literal} 1"));
}

TEST_F(LoggerApiTest, BelowTheLevelNothingIsFormatted) {
  int formatted = 0;
  auto log = dl::Logger::get("quiet");
  log.set_level("WARN");
  const std::size_t before = sink_->size();
  g_formatted = 0;
  log.info("value {}", CountedFormat{1}, {{"k", 1}});
  log.info("value {}", CountedFormat{1});
  EXPECT_EQ(g_formatted, 0);
  EXPECT_EQ(sink_->size(), before);
  log.warn("value {}", CountedFormat{1}, {{"k", 1}});
  EXPECT_EQ(g_formatted, 1);
  EXPECT_EQ(last().body, dl::Value("value 1"));
  // The macros do not even evaluate their arguments when the level is off.
  DAGSTACK_LOG_INFO(log, "value {}", ++formatted, {{"k", 1}});
  EXPECT_EQ(formatted, 0);
  DAGSTACK_LOG_WARN(log, "value {}", ++formatted, {{"k", 2}});
  EXPECT_EQ(formatted, 1);
  EXPECT_EQ(last().body, dl::Value("value 1"));
  EXPECT_EQ(*last().attribute("k"), dl::Value(2));
  DAGSTACK_LOG_ERROR(log, "plain body");
  EXPECT_EQ(last().body, dl::Value("plain body"));
  DAGSTACK_LOG_ERROR(log, "body", {{"a", 1}});
  EXPECT_EQ(*last().attribute("a"), dl::Value(1));
}

TEST_F(LoggerApiTest, BuiltInConversions) {
  auto log = dl::Logger::get("conv");
  const std::vector<int> ids{1, 2, 3};
  const std::map<std::string, int> counts{{"a", 1}, {"b", 2}};
  const std::unordered_map<std::string, std::string> labels{{"env", "prod"}};
  const std::list<std::string> names{"x", "y"};
  const std::set<double> set{0.5};
  const std::optional<int> some = 7;
  const std::optional<std::string> none;
  const auto when = std::chrono::system_clock::time_point{} + 1700000000s + 123456789ns;
  log.info("conv", {{"ids", ids},
                    {"counts", counts},
                    {"labels", labels},
                    {"names", names},
                    {"set", set},
                    {"some", some},
                    {"none", none},
                    {"opt_vec", std::optional<std::vector<int>>{{4, 5}}},
                    {"elapsed", 1500ms},
                    {"tiny", 250ns},
                    {"when", when},
                    {"status", shop::Status::kPaid},
                    {"prio", shop::Priority::kHigh},
                    {"legacy", shop::kLegacyB},
                    {"money", shop::Money{1250, "EUR"}},
                    {"tagged", shop::Tagged{"t"}},
                    {"monies", std::vector<shop::Money>{{1, "USD"}}},
                    {"big", std::numeric_limits<std::uint64_t>::max()},
                    {"i8", static_cast<std::int8_t>(-3)}});
  const auto& r = last();
  EXPECT_EQ(*r.attribute("ids"), dl::Value::array({1, 2, 3}));
  EXPECT_EQ(*r.attribute("counts"), dl::Value::map({{"a", 1}, {"b", 2}}));
  EXPECT_EQ(*r.attribute("labels"), dl::Value::map({{"env", "prod"}}));
  EXPECT_EQ(*r.attribute("names"), dl::Value::array({"x", "y"}));
  EXPECT_EQ(*r.attribute("set"), dl::Value::array({0.5}));
  EXPECT_EQ(*r.attribute("some"), dl::Value(7));
  EXPECT_EQ(*r.attribute("none"), dl::Value());
  EXPECT_EQ(*r.attribute("opt_vec"), dl::Value::array({4, 5}));
  EXPECT_EQ(*r.attribute("elapsed"), dl::Value(1.5));
  EXPECT_EQ(*r.attribute("tiny"), dl::Value(2.5e-7));
  EXPECT_EQ(*r.attribute("when"), dl::Value("2023-11-14T22:13:20.123456789Z"));
  EXPECT_EQ(*r.attribute("status"), dl::Value("paid"));
  EXPECT_EQ(*r.attribute("prio"), dl::Value(7));
  EXPECT_EQ(*r.attribute("legacy"), dl::Value("b"));
  EXPECT_EQ(*r.attribute("money"), dl::Value::map({{"cents", 1250}, {"currency", "EUR"}}));
  EXPECT_EQ(*r.attribute("tagged"), dl::Value("tag:t"));
  EXPECT_EQ(*r.attribute("monies"),
            dl::Value::array({dl::Value::map({{"cents", 1}, {"currency", "USD"}})}));
  EXPECT_EQ(*r.attribute("big"), dl::Value(std::numeric_limits<std::uint64_t>::max()));
  EXPECT_EQ(*r.attribute("i8"), dl::Value(-3));
  // Scalars convert as bodies too.
  log.info(shop::Status::kOpen);
  EXPECT_EQ(last().body, dl::Value("open"));
  log.info(2s);
  EXPECT_EQ(last().body, dl::Value(2.0));
}

TEST_F(LoggerApiTest, SourceLocationOnEveryOverload) {
  dl::ConfigureOptions o;
  o.include_code_location = true;
  dl::configure(o);
  auto log = dl::Logger::get("loc");
  const auto check = [&](int line, const char* what) {
    const auto& r = last();
    ASSERT_NE(r.attribute("code.lineno"), nullptr) << what;
    EXPECT_EQ(*r.attribute("code.lineno"), dl::Value(line)) << what;
    EXPECT_NE(r.attribute("code.filepath")->as_string().find("logger_api_test.cpp"),
              std::string::npos)
        << what;
  };
  log.info("plain");
  check(__LINE__ - 1, "plain");
  log.info("fmt {}", 1);
  check(__LINE__ - 1, "fmt");
  log.info("fmt {} attrs", 1, {{"k", 1}});
  check(__LINE__ - 1, "fmt+attrs");
  log.log(13, "log {}", 1);
  check(__LINE__ - 1, "log fmt");
  log.info_ctx(dl::Context(), "ctx");
  check(__LINE__ - 1, "ctx");
  log.log_ctx(dl::Context(), 9, "log ctx");
  check(__LINE__ - 1, "log ctx");
  log.exception(std::runtime_error("boom"));
  check(__LINE__ - 1, "exception");
  log.exception(std::runtime_error("boom"), "custom");
  check(__LINE__ - 1, "exception body");
  log.exception(std::make_exception_ptr(std::runtime_error("boom")));
  check(__LINE__ - 1, "exception_ptr");
  log.exception_ctx(dl::Context(), std::runtime_error("boom"));
  check(__LINE__ - 1, "exception_ctx");
  DAGSTACK_LOG_WARN(log, "macro {}", 1, {{"k", 1}});
  check(__LINE__ - 1, "macro");
}

TEST_F(LoggerApiTest, ExceptionWithACustomBody) {
  auto log = dl::Logger::get("exc");
  try {
    throw std::runtime_error("card declined");
  } catch (const std::exception& e) {
    log.exception(e, "payment failed", {{"order.id", 42}});
  }
  const auto& r = last();
  EXPECT_EQ(r.severity_number, dl::kSeverityError);
  EXPECT_EQ(r.body, dl::Value("payment failed"));
  EXPECT_EQ(*r.attribute("exception.message"), dl::Value("card declined"));
  EXPECT_EQ(*r.attribute("exception.type"), dl::Value("std::runtime_error"));
  EXPECT_EQ(*r.attribute("order.id"), dl::Value(42));
  try {
    throw 7;
  } catch (...) {
    log.exception(std::current_exception(), "odd failure");
  }
  EXPECT_EQ(last().body, dl::Value("odd failure"));
  EXPECT_EQ(*last().attribute("exception.type"), dl::Value("int"));
  // The default body is still the message.
  log.exception(std::runtime_error("plain"), {{"k", 1}});
  EXPECT_EQ(last().body, dl::Value("plain"));
}

// Zero heap allocations for an enabled fmt call with attributes into FileSink, and for the lazy
// macros (enabled and disabled), in steady state.
TEST_F(LoggerApiTest, FormatWithAttributesIntoFileSinkDoesNotAllocate) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("dagstack-api-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  dl::FileSinkOptions fo;
  fo.path = (dir / "api.jsonl").string();
  fo.max_bytes = 64 * 1024;
  auto sink = dl::make_file_sink(fo);
  dl::ConfigureOptions c;
  c.sinks = dl::SinkList{sink};
  dl::configure(c);
  auto log = dl::Logger::get("bench");
  const double amount = 12.5;
  const std::string_view currency = "EUR";
  const auto run = [&] {
    log.info("paid {} {}", amount, currency, {{"order.id", 42}, {"ok", true}});
    DAGSTACK_LOG_INFO(log, "paid {} {}", amount, currency, {{"order.id", 42}});
    DAGSTACK_LOG_DEBUG(log, "hidden {}", amount, {{"order.id", 42}});
    log.debug("hidden {}", amount, {{"order.id", 42}});
  };
  for (int i = 0; i < 1000; ++i) run();
  dl::testing::AllocationCounter counter;
  for (int i = 0; i < 3000; ++i) run();
  EXPECT_EQ(counter.stop(), 0u);
  sink->close();
  std::filesystem::remove_all(dir);
}

}  // namespace

namespace {

// format_rfc3339_nanos computes the date itself: every other day from 1900 to 2262, at a time
// of day that moves through the hours, against gmtime_r; nanoseconds before 1970 round down.
TEST(Rfc3339Time, MatchesGmtimeFrom1900To2262) {
  constexpr std::int64_t kDay = 86400;
  for (std::int64_t days = -25567; days <= 106750; days += 2) {  // int64 nanoseconds end in 2262
    const std::int64_t secs = days * kDay + (days * 3607) % kDay;
    const std::int64_t nanos = secs * 1'000'000'000 + 123456789;
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.123456789Z", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    ASSERT_EQ(dl::detail::format_rfc3339_nanos(nanos), want) << "day " << days;
  }
  EXPECT_EQ(dl::detail::format_rfc3339_nanos(-1), "1969-12-31T23:59:59.999999999Z");
}

}  // namespace

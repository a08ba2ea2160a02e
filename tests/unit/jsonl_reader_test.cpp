// jsonl_reader_test.cpp: parse_jsonl_record: round trips (contract §14.1, JSON-lines) and the
// rejections (unknown severity, missing instrumentation_scope, malformed ids, wrong types).
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/jsonl_reader.h"

namespace dagstack::logger {
namespace {

constexpr const char* kTraceHex = "0123456789abcdef0123456789abcdef";
constexpr const char* kSpanHex = "0123456789abcdef";
// The smallest record the reader accepts.
constexpr const char* kMinimal =
    R"({"body":"hi","instrumentation_scope":{"name":"root"},"severity_number":9,)"
    R"("severity_text":"INFO","time_unix_nano":100})";

// Parses and re-encodes; the line must come back byte for byte.
void expect_round_trip(const std::string& line) {
  const OwnedLogRecord record = parse_jsonl_record(line);
  EXPECT_EQ(to_jsonl(record), line);
}

void expect_rejected(const std::string& line, const std::string& needle) {
  try {
    parse_jsonl_record(line);
    ADD_FAILURE() << "accepted: " << line;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nline: " << line;
  }
}

// kMinimal with `from` replaced by `to` (which must occur).
std::string minimal_with(const std::string& from, const std::string& to) {
  std::string s = kMinimal;
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  s.replace(pos, from.size(), to);
  return s;
}

TEST(JsonlReaderTest, Minimal) {
  const OwnedLogRecord r = parse_jsonl_record(kMinimal);
  EXPECT_EQ(r.time_unix_nano, 100u);
  EXPECT_EQ(r.severity_number, 9);
  EXPECT_EQ(r.body, Value("hi"));
  ASSERT_TRUE(r.instrumentation_scope.has_value());
  EXPECT_EQ(r.instrumentation_scope->name, "root");
  EXPECT_TRUE(r.instrumentation_scope->version.empty());
  EXPECT_FALSE(r.resource.has_value());
  EXPECT_TRUE(r.attributes.empty());
  EXPECT_FALSE(r.trace_id.valid());
  EXPECT_FALSE(r.span_id.valid());
  EXPECT_EQ(r.trace_flags, 0);
  EXPECT_EQ(r.observed_time_unix_nano, 0u);
  expect_round_trip(kMinimal);
}

TEST(JsonlReaderTest, RoundTripOneRecordPerSeverity) {
  const char* texts[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
  for (int n = 1; n <= 24; ++n) {
    const std::string line = R"({"body":"message )" + std::to_string(n) +
                             R"(","instrumentation_scope":{"name":"svc"},"severity_number":)" +
                             std::to_string(n) + R"(,"severity_text":")" + texts[(n - 1) / 4] +
                             R"(","time_unix_nano":1729800000000000000})";
    expect_round_trip(line);
    EXPECT_EQ(parse_jsonl_record(line).severity_number, n);
  }
}

TEST(JsonlReaderTest, RoundTripFullContext) {
  const std::string line =
      R"({"attributes":{"api_key":"***","order.id":1234,"ratio":0.5,"tags":["a","b"]},)"
      R"("body":"payment declined","instrumentation_scope":{"attributes":{"k":true},)"
      R"("name":"order_service.checkout","version":"1.0.0"},"observed_time_unix_nano":1729800000000000001,)"
      R"("resource":{"attributes":{"service.name":"order-service","service.version":"1.2.3"}},)"
      R"("severity_number":17,"severity_text":"ERROR","span_id":"0123456789abcdef",)"
      R"("time_unix_nano":1729800000000000000,"trace_flags":1,)"
      R"("trace_id":"0123456789abcdef0123456789abcdef"})";
  expect_round_trip(line);
  const OwnedLogRecord r = parse_jsonl_record(line);
  EXPECT_EQ(r.trace_id.to_hex(), kTraceHex);
  EXPECT_EQ(r.span_id.to_hex(), kSpanHex);
  EXPECT_EQ(r.trace_flags, 1);
  EXPECT_EQ(r.observed_time_unix_nano, 1729800000000000001u);
  ASSERT_TRUE(r.resource.has_value());
  EXPECT_EQ(r.resource->attributes.at("service.name"), Value("order-service"));
  EXPECT_EQ(r.instrumentation_scope->version, "1.0.0");
  EXPECT_EQ(r.instrumentation_scope->attributes.at("k"), Value(true));
  EXPECT_EQ(*r.attribute("order.id"), Value(1234));
  EXPECT_EQ(*r.attribute("tags"), Value::array({"a", "b"}));
}

TEST(JsonlReaderTest, RoundTripRedactedAndStructured) {
  expect_round_trip(
      R"({"attributes":{"password":"***","user":{"id":7,"token":"***"}},)"
      R"("body":{"items":[1,2.5,null,true,"x"],"nested":{"a":{}}},)"
      R"("instrumentation_scope":{"name":"a.b"},"severity_number":13,"severity_text":"WARN",)"
      R"("time_unix_nano":5})");
}

TEST(JsonlReaderTest, IntegersAndDoublesStayApart) {
  const OwnedLogRecord r = parse_jsonl_record(
      R"({"attributes":{"d":1.0,"e":1e2,"E":2E-3,"i":1,"neg":-0,"negd":-0.0,"big":9223372036854775807,)"
      R"("bigger":9223372036854775808,"small":-9223372036854775808,"huge":1.2345678901234568e+29},)"
      R"("body":null,"instrumentation_scope":{"name":"x"},"severity_number":1,"severity_text":"TRACE",)"
      R"("time_unix_nano":0})");
  EXPECT_TRUE(r.attribute("d")->is_double());
  EXPECT_TRUE(r.attribute("e")->is_double());
  EXPECT_EQ(r.attribute("e")->as_double(), 100.0);
  EXPECT_TRUE(r.attribute("E")->is_double());
  EXPECT_TRUE(r.attribute("i")->is_int());
  EXPECT_TRUE(r.attribute("neg")->is_int());
  EXPECT_TRUE(r.attribute("negd")->is_double());
  EXPECT_TRUE(r.attribute("big")->is_int());
  EXPECT_EQ(r.attribute("big")->as_int(), std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(r.attribute("bigger")->is_uint());
  EXPECT_TRUE(r.attribute("small")->is_int());
  EXPECT_TRUE(r.attribute("huge")->is_double());
  EXPECT_TRUE(r.body.is_null());
  const std::string line = to_jsonl(r);
  EXPECT_NE(line.find(R"("d":1.0)"), std::string::npos);
  EXPECT_NE(line.find(R"("e":100.0)"), std::string::npos);
  EXPECT_NE(line.find(R"("E":0.002)"), std::string::npos);
  EXPECT_NE(line.find(R"("i":1,)"), std::string::npos);
  EXPECT_NE(line.find(R"("neg":0,)"), std::string::npos);
  EXPECT_NE(line.find(R"("negd":0.0)"), std::string::npos);
  EXPECT_NE(line.find(R"("bigger":9223372036854775808,)"), std::string::npos);
  EXPECT_NE(line.find(R"("huge":1.2345678901234568e+29)"), std::string::npos);
  expect_round_trip(line);
}

TEST(JsonlReaderTest, FullPrecisionDoubles) {
  const char* texts[] = {"0.1",
                         "0.30000000000000004",
                         "5e-324",
                         "1.7976931348623157e+308",
                         "2.2250738585072014e-308",
                         "1.5e-07",
                         "1e+16",
                         "9007199254740993.0"};
  for (const char* t : texts) {
    const std::string line = minimal_with(R"("body":"hi")", std::string(R"("body":)") + t);
    const OwnedLogRecord r = parse_jsonl_record(line);
    ASSERT_TRUE(r.body.is_double()) << t;
    double expected = 0;
    std::from_chars(t, t + std::strlen(t), expected);
    EXPECT_EQ(r.body.as_double(), expected) << t;
  }
  expect_round_trip(minimal_with(R"("body":"hi")", R"("body":0.30000000000000004)"));
}

TEST(JsonlReaderTest, SubnormalBoundaryIsCorrectlyRounded) {
  // Found by jsonl_reader_fuzz: RapidJSON's own conversion reads 1e-324 as NaN and 2e-324 as
  // 5e-324; the reader converts number tokens with std::from_chars instead.
  struct Case {
    const char* text;
    double value;
  };
  const Case cases[] = {{"1e-324", 0.0},
                        {"2e-324", 0.0},
                        {"2.4703282292062327e-324", 0.0},
                        {"2.4703282292062328e-324", 5e-324},
                        {"3e-324", 5e-324},
                        {"1e-400", 0.0},
                        {"0.000001e-320", 0.0},
                        {"4e-320", 4e-320},
                        {"1.7976931348623157e308", 1.7976931348623157e308}};
  for (const Case& c : cases) {
    const OwnedLogRecord r = parse_jsonl_record(minimal_with(R"("hi")", c.text));
    ASSERT_TRUE(r.body.is_double()) << c.text;
    EXPECT_EQ(r.body.as_double(), c.value) << c.text;
  }
  const OwnedLogRecord neg = parse_jsonl_record(minimal_with(R"("hi")", "-1e-400"));
  EXPECT_TRUE(std::signbit(neg.body.as_double()));
  EXPECT_EQ(to_jsonl(neg).substr(0, 13), R"({"body":0.0,")");
}

TEST(JsonlReaderTest, RejectsNumbersBeyondDoubleRange) {
  expect_rejected(minimal_with(R"("hi")", "1.7976931348623159e308"),
                  "number out of range: 1.7976931348623159e308");
  expect_rejected(minimal_with(R"("hi")", "179769313486231590000" + std::string(288, '0')),
                  "integer out of range");
  expect_rejected(minimal_with(R"("hi")", "-1" + std::string(400, '0')),
                  "invalid JSON-lines record");
  // Long mantissas with large exponents are fine when the value is in range.
  const OwnedLogRecord r =
      parse_jsonl_record(minimal_with(R"("hi")", "0." + std::string(400, '0') + "1e400"));
  EXPECT_EQ(r.body.as_double(), 0.1);
}

// Integers are exact over the whole 64-bit range the other bindings write (INT64_MIN ..
// UINT64_MAX) and round-trip byte for byte; integer tokens beyond it are refused, never rounded.
TEST(JsonlReaderTest, SixtyFourBitIntegersAreExact) {
  const OwnedLogRecord u = parse_jsonl_record(minimal_with(R"("hi")", "18446744073709551615"));
  ASSERT_TRUE(u.body.is_uint());
  EXPECT_EQ(u.body.as_uint(), std::numeric_limits<std::uint64_t>::max());
  const OwnedLogRecord v = parse_jsonl_record(minimal_with(R"("hi")", "9223372036854775808"));
  ASSERT_TRUE(v.body.is_uint());
  EXPECT_EQ(v.body.as_uint(), 9223372036854775808ULL);
  const OwnedLogRecord i = parse_jsonl_record(minimal_with(R"("hi")", "-9223372036854775808"));
  ASSERT_TRUE(i.body.is_int());
  EXPECT_EQ(i.body.as_int(), std::numeric_limits<std::int64_t>::min());
  expect_round_trip(minimal_with(R"("hi")", "18446744073709551615"));
  expect_round_trip(
      minimal_with(R"("hi")", R"({"a":18446744073709551615,"b":[9223372036854775808]})"));
}

TEST(JsonlReaderTest, IntegersBeyondSixtyFourBitsAreRejected) {
  expect_rejected(
      minimal_with(R"("hi")", "18446744073709551616"),
      "integer out of range (must be within -9223372036854775808..18446744073709551615): "
      "18446744073709551616");
  expect_rejected(minimal_with(R"("hi")", "-9223372036854775809"), "integer out of range");
  expect_rejected(minimal_with(R"("hi")", "1" + std::string(30, '0')), "integer out of range");
  // The same magnitude written as a double is a double.
  const OwnedLogRecord r = parse_jsonl_record(minimal_with(R"("hi")", "1e30"));
  ASSERT_TRUE(r.body.is_double());
  EXPECT_EQ(r.body.as_double(), 1e30);
}

TEST(JsonlReaderTest, StringsWithEscapesAndUnicode) {
  const std::string line =
      minimal_with(R"("body":"hi")", "\"body\":\"a\\\"b\\\\c\\n\\u0000\\u001f\x7f\u2028привет💎\"");
  const OwnedLogRecord r = parse_jsonl_record(line);
  constexpr char kExpected[] = "a\"b\\c\n\0\x1f\x7f\u2028привет💎";
  EXPECT_EQ(r.body.as_string(), std::string(kExpected, sizeof kExpected - 1));
  expect_round_trip(line);
  // Escaped input decodes to the same string and re-encodes canonically.
  const OwnedLogRecord e = parse_jsonl_record(minimal_with(R"("hi")", R"("\u00e4\ud83d\udc8e\/")"));
  EXPECT_EQ(e.body.as_string(), "ä💎/");
}

TEST(JsonlReaderTest, AcceptsSurroundingWhitespaceAndAnyKeyOrder) {
  const OwnedLogRecord r =
      parse_jsonl_record(std::string(" \t") +
                         R"({ "time_unix_nano" : 100, "severity_text":"INFO", "severity_number":9,)"
                         R"( "instrumentation_scope":{"name":"root"}, "body":"hi" })" +
                         "\r\n");
  EXPECT_EQ(to_jsonl(r), kMinimal);
}

TEST(JsonlReaderTest, NonCanonicalInputIsCanonicalizedOnEncode) {
  const OwnedLogRecord r = parse_jsonl_record(
      R"({"attributes":{"b":1,"a":2,"dup":1,"dup":2},"body":"hi","instrumentation_scope":{"name":"root"},)"
      R"("severity_number":9,"severity_text":"INFO","time_unix_nano":100,"trace_flags":0,)"
      R"("trace_id":"0123456789ABCDEF0123456789ABCDEF","observed_time_unix_nano":0})");
  EXPECT_EQ(
      to_jsonl(r),
      R"({"attributes":{"a":2,"b":1,"dup":2},"body":"hi","instrumentation_scope":{"name":"root"},)"
      R"("severity_number":9,"severity_text":"INFO","time_unix_nano":100,)"
      R"("trace_id":"0123456789abcdef0123456789abcdef"})");
}

TEST(JsonlReaderTest, AllZeroIdsAreWellFormedButNotWritten) {
  const OwnedLogRecord r = parse_jsonl_record(
      minimal_with(R"("time_unix_nano":100)",
                   R"("time_unix_nano":100,"trace_id":"00000000000000000000000000000000")"));
  EXPECT_FALSE(r.trace_id.valid());
  EXPECT_EQ(to_jsonl(r), kMinimal);
}

TEST(JsonlReaderTest, RejectsUnknownSeverity) {
  expect_rejected(minimal_with(R"("severity_number":9)", R"("severity_number":0)"),
                  "unknown severity_number 0");
  expect_rejected(minimal_with(R"("severity_number":9)", R"("severity_number":25)"),
                  "unknown severity_number 25");
  expect_rejected(minimal_with(R"("severity_number":9)", R"("severity_number":-1)"),
                  "unknown severity_number -1");
  expect_rejected(minimal_with(R"("severity_number":9)", R"("severity_number":9.0)"),
                  "severity_number must be an integer");
  expect_rejected(minimal_with(R"("severity_number":9)", R"("severity_number":"9")"),
                  "severity_number must be an integer");
  expect_rejected(minimal_with(R"("severity_number":9)", R"("severity_number":4294967305)"),
                  "severity_number must be an integer");
}

TEST(JsonlReaderTest, RejectsMismatchedSeverityText) {
  expect_rejected(minimal_with(R"("INFO")", R"("WARN")"),
                  "severity_text 'WARN' does not match severity_number 9 (expected 'INFO')");
  expect_rejected(minimal_with(R"("INFO")", R"("info")"), "does not match");
  expect_rejected(minimal_with(R"("INFO")", R"("INFO2")"), "does not match");
  expect_rejected(minimal_with(R"("INFO")", R"(9)"), "severity_text must be a string");
}

TEST(JsonlReaderTest, RejectsMissingRequiredFields) {
  expect_rejected(minimal_with(R"("instrumentation_scope":{"name":"root"},)", ""),
                  "missing required field 'instrumentation_scope'");
  expect_rejected(minimal_with(R"("body":"hi",)", ""), "missing required field 'body'");
  expect_rejected(minimal_with(R"(,"time_unix_nano":100)", ""),
                  "missing required field 'time_unix_nano'");
  expect_rejected(minimal_with(R"("severity_number":9,)", ""),
                  "missing required field 'severity_number'");
  expect_rejected(minimal_with(R"("severity_text":"INFO",)", ""),
                  "missing required field 'severity_text'");
  // The minimal encoder output (no scope) is not a complete record.
  expect_rejected(
      R"({"body":"hi","severity_number":9,"severity_text":"INFO","time_unix_nano":100})",
      "instrumentation_scope");
}

TEST(JsonlReaderTest, RejectsBadScopeAndResource) {
  expect_rejected(minimal_with(R"({"name":"root"})", "null"),
                  "instrumentation_scope must be an object");
  expect_rejected(minimal_with(R"({"name":"root"})", "{}"),
                  "missing required field 'instrumentation_scope.name'");
  expect_rejected(minimal_with(R"({"name":"root"})", R"({"name":1})"),
                  "instrumentation_scope.name must be a string");
  expect_rejected(minimal_with(R"({"name":"root"})", R"({"name":"r","version":1})"),
                  "instrumentation_scope.version must be a string");
  expect_rejected(minimal_with(R"({"name":"root"})", R"({"name":"r","attributes":[]})"),
                  "instrumentation_scope.attributes must be an object");
  expect_rejected(minimal_with(R"({"name":"root"})", R"({"name":"r","extra":1})"),
                  "unknown field 'instrumentation_scope.extra'");
  expect_rejected(minimal_with(R"("body":"hi")", R"("body":"hi","resource":[])"),
                  "resource must be an object");
  expect_rejected(minimal_with(R"("body":"hi")", R"("body":"hi","resource":{"attributes":1})"),
                  "resource.attributes must be an object");
  expect_rejected(minimal_with(R"("body":"hi")", R"("body":"hi","resource":{"x":{}})"),
                  "unknown field 'resource.x'");
}

TEST(JsonlReaderTest, RejectsMalformedTraceIds) {
  const std::string base = R"("time_unix_nano":100)";
  expect_rejected(minimal_with(base, base + R"(,"trace_id":"0123")"),
                  "trace_id hex must be 32 chars, got 4");
  expect_rejected(minimal_with(base, base + R"(,"trace_id":"0123456789abcdef0123456789abcdeg")"),
                  "trace_id hex contains invalid chars");
  expect_rejected(minimal_with(base, base + R"(,"trace_id":123)"), "trace_id must be a string");
  expect_rejected(minimal_with(base, base + R"(,"trace_id":null)"), "trace_id must be a string");
  expect_rejected(minimal_with(base, base + R"(,"span_id":"0123456789abcdef00")"),
                  "span_id hex must be 16 chars, got 18");
  expect_rejected(minimal_with(base, base + R"(,"span_id":"0123456789abcdeZ")"),
                  "span_id hex contains invalid chars");
  expect_rejected(minimal_with(base, base + R"(,"trace_flags":256)"),
                  "trace_flags must be an integer in [0, 255]");
  expect_rejected(minimal_with(base, base + R"(,"trace_flags":-1)"), "trace_flags");
  expect_rejected(minimal_with(base, base + R"(,"trace_flags":1.0)"), "trace_flags");
}

TEST(JsonlReaderTest, RejectsWrongTypes) {
  expect_rejected(minimal_with("100", "\"100\""), "time_unix_nano must be a non-negative integer");
  expect_rejected(minimal_with("100", "-1"), "time_unix_nano must be a non-negative integer");
  expect_rejected(minimal_with("100", "100.0"), "time_unix_nano must be a non-negative integer");
  expect_rejected(minimal_with("100", "18446744073709551616"), "integer out of range");
  expect_rejected(minimal_with("100", "100,\"observed_time_unix_nano\":true"),
                  "observed_time_unix_nano must be a non-negative integer");
  expect_rejected(minimal_with(R"("body":"hi")", R"("attributes":[],"body":"hi")"),
                  "attributes must be an object");
}

TEST(JsonlReaderTest, RejectsUnknownAndDuplicateFields) {
  expect_rejected(minimal_with(R"("body":"hi")", R"("body":"hi","event.domain":"x")"),
                  "unknown field 'event.domain'");
  expect_rejected(minimal_with(R"("body":"hi")", R"("body":"hi","body":"again")"),
                  "duplicate field 'body'");
}

TEST(JsonlReaderTest, RejectsNonJsonAndNonObjects) {
  expect_rejected("", "invalid JSON-lines record");
  expect_rejected("not json", "invalid JSON-lines record");
  expect_rejected("[]", "not a JSON object");
  expect_rejected("42", "not a JSON object");
  expect_rejected(std::string(kMinimal) + "x", "invalid JSON-lines record");
  expect_rejected(std::string(kMinimal) + "\n" + kMinimal, "invalid JSON-lines record");
  expect_rejected(std::string(kMinimal).substr(0, 40), "invalid JSON-lines record");
  expect_rejected(minimal_with(R"("hi")", "NaN"), "invalid JSON-lines record");
  expect_rejected(minimal_with(R"("hi")", "1e400"), "invalid JSON-lines record");
}

TEST(JsonlReaderTest, RejectsInvalidUtf8) {
  expect_rejected(minimal_with(R"("hi")", "\"h\xff\""), "invalid JSON-lines record");
  expect_rejected(minimal_with(R"("hi")", "\"\xed\xa0\x80\""), "invalid JSON-lines record");
  expect_rejected(minimal_with(R"("hi")", R"("\ud800")"), "invalid JSON-lines record");
}

TEST(JsonlReaderTest, RejectsUnpairedSurrogateEscapes) {
  // Found by jsonl_reader_fuzz: RapidJSON decodes a lone low surrogate into ill-formed UTF-8.
  expect_rejected(minimal_with(R"("hi")", R"("#\udc8e")"), "unpaired surrogate escape");
  expect_rejected(minimal_with(R"("hi")", R"("\udfff")"), "unpaired surrogate escape");
  expect_rejected(minimal_with(R"("hi")", R"({"\udc00":1})"), "unpaired surrogate escape");
  expect_rejected(minimal_with(R"("hi")", R"("\ud83d")"), "invalid JSON-lines record");
  // A proper pair, and the BMP characters around the surrogate range, are fine.
  const OwnedLogRecord r =
      parse_jsonl_record(minimal_with(R"("hi")", R"("\ud83d\udc8e\ud7ff\ue000\u00ed")"));
  EXPECT_EQ(r.body.as_string(), "💎\ud7ff\ue000í");
}

TEST(JsonlReaderTest, EmbeddedNulInTheLineIsAnError) {
  std::string line = kMinimal;
  line.insert(1, 1, '\0');
  expect_rejected(line, "invalid JSON-lines record");
  // RapidJSON alone would stop at the NUL and accept the record before it.
  expect_rejected(std::string(kMinimal) + std::string(1, '\0') + "junk",
                  "unexpected data at offset");
  expect_rejected(std::string(kMinimal) + std::string(1, '\0'), "unexpected data at offset");
}

TEST(JsonlReaderTest, NestingLimit) {
  const std::string deep_ok = std::string(200, '[') + std::string(200, ']');
  expect_round_trip(minimal_with(R"("hi")", deep_ok));
  const std::string too_deep = std::string(100000, '[') + std::string(100000, ']');
  expect_rejected(minimal_with(R"("hi")", too_deep), "nesting deeper than 256");
}

TEST(JsonlReaderTest, ErrorsAreConfigErrors) {
  EXPECT_THROW(parse_jsonl_record("{}"), ConfigError);
}

}  // namespace
}  // namespace dagstack::logger

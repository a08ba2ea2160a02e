// wire_test.cpp: the dagstack JSON-lines record encoder (contract §1.4): exact bytes, omission
// rules, attribute ordering and zero heap allocations on the hot path.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/log_record.h"
#include "support/alloc_counter.h"

namespace dagstack::logger {
namespace {

constexpr const char* kTraceHex = "0123456789abcdef0123456789abcdef";
constexpr const char* kSpanHex = "0123456789abcdef";

std::string encode(const LogRecord& r) {
  std::string out;
  EXPECT_TRUE(append_jsonl_record(r, out));
  return out;
}

LogRecord minimal_record() {
  LogRecord r;
  r.time_unix_nano = 100;
  r.severity_number = 9;
  r.body = "hi";
  return r;
}

TEST(WireTest, MinimalRecordExactBytes) {
  EXPECT_EQ(encode(minimal_record()),
            R"({"body":"hi","severity_number":9,"severity_text":"INFO","time_unix_nano":100})");
  EXPECT_EQ(to_jsonl(minimal_record()),
            R"({"body":"hi","severity_number":9,"severity_text":"INFO","time_unix_nano":100})");
}

TEST(WireTest, ContractExampleByteForByte) {
  const Value tags = Value::array({"a", "b"});
  // Deliberately out of order: the encoder sorts.
  const Attribute attrs[] = {{"tags", tags}, {"ratio", 0.5}, {"order.id", 1234}, {"api_key", "***"}};
  const Resource resource{{{"service.name", "order-service"}}};
  const InstrumentationScope scope{"order_service.checkout", "1.0.0", {}};
  LogRecord r;
  r.time_unix_nano = 1729800000000000000ull;
  r.severity_number = 17;
  r.body = "payment declined";
  r.attributes = attrs;
  r.resource = &resource;
  r.instrumentation_scope = &scope;
  r.trace_id = TraceId::from_hex(kTraceHex);
  r.span_id = SpanId::from_hex(kSpanHex);
  r.trace_flags = 1;
  EXPECT_EQ(
      encode(r),
      R"({"attributes":{"api_key":"***","order.id":1234,"ratio":0.5,"tags":["a","b"]},)"
      R"("body":"payment declined","instrumentation_scope":{"name":"order_service.checkout",)"
      R"("version":"1.0.0"},"resource":{"attributes":{"service.name":"order-service"}},)"
      R"("severity_number":17,"severity_text":"ERROR","span_id":"0123456789abcdef",)"
      R"("time_unix_nano":1729800000000000000,"trace_flags":1,)"
      R"("trace_id":"0123456789abcdef0123456789abcdef"})");
}

TEST(WireTest, NoTrailingNewline) {
  const std::string line = encode(minimal_record());
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '}');
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(WireTest, AppendsAfterExistingContent) {
  std::string out = "x\n";
  append_jsonl_record(minimal_record(), out);
  append_jsonl_record(minimal_record(), out);
  const std::string one = encode(minimal_record());
  EXPECT_EQ(out, "x\n" + one + one);
}

TEST(WireTest, NullBodyIsWrittenAsNull) {
  LogRecord r = minimal_record();
  r.body = nullptr;
  EXPECT_EQ(encode(r), R"({"body":null,"severity_number":9,"severity_text":"INFO","time_unix_nano":100})");
}

TEST(WireTest, StructuredBody) {
  const Value body = Value::map({{"z", 1}, {"a", Value::array({1.0, false})}});
  LogRecord r = minimal_record();
  r.body = body;
  EXPECT_EQ(encode(r),
            R"({"body":{"a":[1.0,false],"z":1},"severity_number":9,"severity_text":"INFO",)"
            R"("time_unix_nano":100})");
  r.body = 3.25;
  EXPECT_TRUE(encode(r).starts_with(R"({"body":3.25,")")) << encode(r);
}

TEST(WireTest, ObservedTimeOnlyWhenSet) {
  LogRecord r = minimal_record();
  EXPECT_EQ(encode(r).find("observed_time_unix_nano"), std::string::npos);
  r.observed_time_unix_nano = 200;
  EXPECT_EQ(encode(r),
            R"({"body":"hi","observed_time_unix_nano":200,"severity_number":9,)"
            R"("severity_text":"INFO","time_unix_nano":100})");
}

TEST(WireTest, EmptyAttributesOmitted) {
  LogRecord r = minimal_record();
  std::vector<Attribute> none;
  r.attributes = none;
  EXPECT_EQ(encode(r).find("attributes"), std::string::npos);
}

TEST(WireTest, ScopeNameOnly) {
  const InstrumentationScope scope{"root", "", {}};
  LogRecord r = minimal_record();
  r.instrumentation_scope = &scope;
  EXPECT_EQ(encode(r),
            R"({"body":"hi","instrumentation_scope":{"name":"root"},"severity_number":9,)"
            R"("severity_text":"INFO","time_unix_nano":100})");
}

TEST(WireTest, ScopeWithVersionAndAttributes) {
  const InstrumentationScope scope{"svc", "2.0", {{"b", 2}, {"a", "x"}}};
  LogRecord r = minimal_record();
  r.instrumentation_scope = &scope;
  EXPECT_EQ(encode(r),
            R"({"body":"hi","instrumentation_scope":{"attributes":{"a":"x","b":2},"name":"svc",)"
            R"("version":"2.0"},"severity_number":9,"severity_text":"INFO","time_unix_nano":100})");
}

TEST(WireTest, ScopeWithAttributesNoVersion) {
  const InstrumentationScope scope{"svc", "", {{"k", true}}};
  LogRecord r = minimal_record();
  r.instrumentation_scope = &scope;
  EXPECT_NE(encode(r).find(R"("instrumentation_scope":{"attributes":{"k":true},"name":"svc"})"),
            std::string::npos);
}

TEST(WireTest, ResourceOnlyWhenItHasAttributes) {
  LogRecord r = minimal_record();
  const Resource empty;
  r.resource = &empty;
  EXPECT_EQ(encode(r).find("resource"), std::string::npos);
  const Resource full{{{"service.version", "1"}, {"service.name", "svc"}}};
  r.resource = &full;
  EXPECT_EQ(encode(r),
            R"({"body":"hi","resource":{"attributes":{"service.name":"svc","service.version":"1"}},)"
            R"("severity_number":9,"severity_text":"INFO","time_unix_nano":100})");
}

TEST(WireTest, TraceContextOnlyWhenValid) {
  LogRecord r = minimal_record();
  r.trace_id = TraceId{};  // all zeros: never written
  r.span_id = SpanId{};
  const std::string none = encode(r);
  EXPECT_EQ(none.find("trace_id"), std::string::npos);
  EXPECT_EQ(none.find("span_id"), std::string::npos);
  EXPECT_EQ(none.find("trace_flags"), std::string::npos);

  r.trace_id = TraceId::from_hex("ABCDEF0123456789ABCDEF0123456789");
  r.span_id = SpanId::from_hex("ABCDEF0123456789");
  EXPECT_EQ(encode(r),
            R"({"body":"hi","severity_number":9,"severity_text":"INFO","span_id":"abcdef0123456789",)"
            R"("time_unix_nano":100,"trace_id":"abcdef0123456789abcdef0123456789"})");
}

TEST(WireTest, UnsampledSpanHasIdsWithoutFlags) {
  LogRecord r = minimal_record();
  r.trace_id = TraceId::from_hex(kTraceHex);
  r.span_id = SpanId::from_hex(kSpanHex);
  r.trace_flags = 0;
  const std::string line = encode(r);
  EXPECT_NE(line.find(R"("trace_id":")"), std::string::npos);
  EXPECT_NE(line.find(R"("span_id":")"), std::string::npos);
  EXPECT_EQ(line.find("trace_flags"), std::string::npos);
}

TEST(WireTest, TraceFlagsAsUnsignedInteger) {
  LogRecord r = minimal_record();
  r.trace_flags = 255;
  EXPECT_EQ(encode(r),
            R"({"body":"hi","severity_number":9,"severity_text":"INFO","time_unix_nano":100,)"
            R"("trace_flags":255})");
}

TEST(WireTest, SeverityTextForEveryNumber) {
  const char* texts[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
  for (int n = 1; n <= 24; ++n) {
    LogRecord r = minimal_record();
    r.severity_number = n;
    const std::string expected = R"({"body":"hi","severity_number":)" + std::to_string(n) +
                                 R"(,"severity_text":")" + texts[(n - 1) / 4] +
                                 R"(","time_unix_nano":100})";
    EXPECT_EQ(encode(r), expected);
  }
}

TEST(WireTest, OutOfRangeSeverityIsClampedSoNumberMatchesText) {
  LogRecord r = minimal_record();
  r.severity_number = 99;
  EXPECT_NE(encode(r).find(R"("severity_number":24,"severity_text":"FATAL")"), std::string::npos);
  r.severity_number = -3;
  EXPECT_NE(encode(r).find(R"("severity_number":1,"severity_text":"TRACE")"), std::string::npos);
}

TEST(WireTest, LargeTimestamps) {
  LogRecord r = minimal_record();
  r.time_unix_nano = std::numeric_limits<std::uint64_t>::max();
  r.observed_time_unix_nano = std::numeric_limits<std::uint64_t>::max();
  const std::string line = encode(r);
  EXPECT_NE(line.find(R"("time_unix_nano":18446744073709551615)"), std::string::npos);
  EXPECT_NE(line.find(R"("observed_time_unix_nano":18446744073709551615)"), std::string::npos);
}

TEST(WireTest, AttributesSortedByUtf16CodeUnits) {
  const Attribute attrs[] = {{"\ue000", 1}, {"b", 2}, {"\U00020000", 3}, {"a", 4}, {"ä", 5}};
  LogRecord r = minimal_record();
  r.attributes = attrs;
  EXPECT_EQ(encode(r),
            "{\"attributes\":{\"a\":4,\"b\":2,\"ä\":5,\"\U00020000\":3,\"\ue000\":1},\"body\":\"hi\","
            "\"severity_number\":9,\"severity_text\":\"INFO\",\"time_unix_nano\":100}");
}

TEST(WireTest, AttributePermutationsGiveTheSameBytes) {
  const Value nested = Value::map({{"y", 1}, {"x", 2}});
  std::vector<Attribute> attrs = {{"user.id", 42},  {"ok", true},   {"ratio", 0.25},
                                  {"name", "n\"q"}, {"obj", nested}, {"none", nullptr}};
  std::sort(attrs.begin(), attrs.end(), [](const Attribute& a, const Attribute& b) { return a.key < b.key; });
  LogRecord r = minimal_record();
  std::string first;
  int permutations = 0;
  do {
    r.attributes = attrs;
    const std::string line = encode(r);
    if (first.empty()) first = line;
    ASSERT_EQ(line, first);
    ++permutations;
  } while (std::next_permutation(attrs.begin(), attrs.end(),
                                 [](const Attribute& a, const Attribute& b) { return a.key < b.key; }));
  EXPECT_EQ(permutations, 720);
  EXPECT_EQ(first,
            R"({"attributes":{"name":"n\"q","none":null,"obj":{"x":2,"y":1},"ok":true,"ratio":0.25,)"
            R"("user.id":42},"body":"hi","severity_number":9,"severity_text":"INFO","time_unix_nano":100})");
}

TEST(WireTest, DuplicateAttributeKeysLastWins) {
  const Attribute attrs[] = {{"k", 1}, {"a", 0}, {"k", 2}, {"k", 3}, {"z", 9}};
  LogRecord r = minimal_record();
  r.attributes = attrs;
  EXPECT_TRUE(encode(r).starts_with(R"({"attributes":{"a":0,"k":3,"z":9},"body")")) << encode(r);
}

TEST(WireTest, ManyAttributesBeyondTheInlineBuffer) {
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("key" + std::to_string(1000 - i * 7));
  std::vector<Attribute> attrs;
  for (int i = 0; i < 40; ++i) attrs.push_back({keys[static_cast<std::size_t>(i)], i});
  attrs.push_back({keys[3], "dup"});  // a duplicate beyond the inline buffer: last wins
  LogRecord r = minimal_record();
  r.attributes = attrs;

  std::vector<std::pair<std::string, std::string>> expected;
  for (int i = 0; i < 40; ++i) {
    expected.emplace_back(keys[static_cast<std::size_t>(i)], i == 3 ? "\"dup\"" : std::to_string(i));
  }
  std::sort(expected.begin(), expected.end());
  std::string want = R"({"attributes":{)";
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (i > 0) want += ',';
    want += '"' + expected[i].first + "\":" + expected[i].second;
  }
  want += R"(},"body":"hi","severity_number":9,"severity_text":"INFO","time_unix_nano":100})";
  EXPECT_EQ(encode(r), want);
}

TEST(WireTest, NonFiniteNumbersBecomeNullAndReportFalse) {
  const Attribute attrs[] = {{"bad", std::numeric_limits<double>::quiet_NaN()}, {"good", 1}};
  LogRecord r = minimal_record();
  r.attributes = attrs;
  std::string out;
  EXPECT_FALSE(append_jsonl_record(r, out));
  EXPECT_TRUE(out.starts_with(R"({"attributes":{"bad":null,"good":1},"body")")) << out;

  LogRecord b = minimal_record();
  b.body = std::numeric_limits<double>::infinity();
  out.clear();
  EXPECT_FALSE(append_jsonl_record(b, out));
  EXPECT_TRUE(out.starts_with(R"({"body":null,")")) << out;

  const Resource resource{{{"x", -std::numeric_limits<double>::infinity()}}};
  LogRecord c = minimal_record();
  c.resource = &resource;
  out.clear();
  EXPECT_FALSE(append_jsonl_record(c, out));
  EXPECT_NE(out.find(R"("resource":{"attributes":{"x":null}})"), std::string::npos);
}

TEST(WireTest, InvalidUtf8IsReplacedEverywhere) {
  const Attribute attrs[] = {{"k\xff", "v\xc3"}};
  const InstrumentationScope scope{"n\x80", "", {}};
  LogRecord r = minimal_record();
  r.body = "b\xfe";
  r.attributes = attrs;
  r.instrumentation_scope = &scope;
  EXPECT_EQ(encode(r),
            "{\"attributes\":{\"k\uFFFD\":\"v\uFFFD\"},\"body\":\"b\uFFFD\","
            "\"instrumentation_scope\":{\"name\":\"n\uFFFD\"},\"severity_number\":9,"
            "\"severity_text\":\"INFO\",\"time_unix_nano\":100}");
}

TEST(WireTest, Deterministic) {
  const Attribute attrs[] = {{"b", 1}, {"a", 2}};
  LogRecord r = minimal_record();
  r.attributes = attrs;
  EXPECT_EQ(encode(r), encode(r));
}

TEST(WireTest, OwnedRecordEncodesLikeItsView) {
  const Value tags = Value::array({"a"});
  const Attribute attrs[] = {{"z", 1}, {"tags", tags}, {"s", "x"}};
  const Resource resource{{{"service.name", "svc"}}};
  const InstrumentationScope scope{"n", "v", {}};
  LogRecord r = minimal_record();
  r.attributes = attrs;
  r.resource = &resource;
  r.instrumentation_scope = &scope;
  r.trace_id = TraceId::from_hex(kTraceHex);
  r.span_id = SpanId::from_hex(kSpanHex);
  r.trace_flags = 1;
  r.observed_time_unix_nano = 7;
  EXPECT_EQ(to_jsonl(OwnedLogRecord::from(r)), to_jsonl(r));
}

TEST(WireTest, NoHeapAllocationOnceTheBufferHasCapacity) {
  const Value tags = Value::array({"a", "b"});
  const Value nested = Value::map({{"\ue000", 1}, {"\U00020000", 2}});  // needs a sort
  const Resource resource{{{"service.name", "svc"}, {"host.name", "h"}}};
  const InstrumentationScope scope{"svc.api", "1.0", {{"k", 1}}};
  const Attribute attrs[] = {{"user.id", 42},      {"ok", true},          {"ratio", 0.5},
                             {"tags", tags},       {"nested", nested},    {"escaped", "a\"b\n"},
                             {"utf8", "привет"},   {"bad", "x\xff"},      {"n1", 1},
                             {"n2", 2},            {"n3", 3},             {"n4", 4},
                             {"n5", 5},            {"n6", 6},             {"n7", 7},
                             {"n8", 8}};
  static_assert(std::size(attrs) == 16);
  LogRecord r = minimal_record();
  r.body = "request handled";
  r.attributes = attrs;
  r.resource = &resource;
  r.instrumentation_scope = &scope;
  r.trace_id = TraceId::from_hex(kTraceHex);
  r.span_id = SpanId::from_hex(kSpanHex);
  r.trace_flags = 1;
  r.observed_time_unix_nano = 1;

  std::string out;
  out.reserve(4096);
  testing::AllocationCounter counter;
  for (int i = 0; i < 100; ++i) {
    out.clear();
    append_jsonl_record(r, out);
  }
  EXPECT_EQ(counter.stop(), 0u);
  EXPECT_GT(out.size(), 100u);
}

}  // namespace
}  // namespace dagstack::logger

namespace dagstack::logger {
namespace {
// The zero-allocation assertions above mean something only if the counter sees allocations.
TEST(AllocationCounter, CountsAnAllocationOnThisThread) {
  testing::AllocationCounter counter;
  auto* p = new std::string(64, 'x');
  const std::size_t seen = counter.stop();
  delete p;
  EXPECT_GE(seen, 1u);
}
}  // namespace
}  // namespace dagstack::logger

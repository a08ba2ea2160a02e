// northstar_wire_test.cpp: NorthStar UUIDs, timestamps, exact-key redaction, the pricing table,
// the record codec and the kind/event-type names.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/northstar/pricing.h"
#include "dagstack/logger/northstar/record_convention.h"
#include "dagstack/logger/northstar/span_kind.h"
#include "dagstack/logger/northstar/uuid.h"
#include "record_codec.h"
#include "wire.h"

namespace dagstack::logger::northstar {
namespace {

const TraceId kTrace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
const SpanId kSpan = SpanId::from_hex("00f067aa0ba902b7");

TEST(NorthStarUuidTest, DerivedIdsAreDeterministicV4AndDistinct) {
  const std::string run = derive_run_uuid(kTrace, kSpan);
  const std::string span = derive_span_uuid(kTrace, kSpan);
  EXPECT_TRUE(is_uuid_v4(run)) << run;
  EXPECT_TRUE(is_uuid_v4(span)) << span;
  EXPECT_EQ(run, derive_run_uuid(kTrace, kSpan));
  EXPECT_EQ(span, derive_span_uuid(kTrace, kSpan));
  EXPECT_NE(run, span);
  EXPECT_NE(span, derive_span_uuid(kTrace, SpanId::from_hex("00f067aa0ba902b8")));
  EXPECT_NE(span, derive_span_uuid(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4737"), kSpan));
  EXPECT_NE(derive_event_uuid(kTrace, kSpan, 1, 0), derive_event_uuid(kTrace, kSpan, 1, 1));
  EXPECT_EQ(derive_event_uuid(kTrace, kSpan, 7, 3), derive_event_uuid(kTrace, kSpan, 7, 3));
  // The dashboard's regex: version nibble 1-5, variant 8/9/a/b.
  const std::regex dashboard(
      "^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    SpanId s;
    s.bytes[0] = static_cast<std::uint8_t>(i & 0xff);
    s.bytes[1] = static_cast<std::uint8_t>(i >> 8);
    s.bytes[7] = 1;
    const std::string id = derive_span_uuid(kTrace, s);
    EXPECT_TRUE(std::regex_match(id, dashboard)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
  const std::string r1 = random_uuid_v4();
  EXPECT_TRUE(is_uuid_v4(r1));
  EXPECT_NE(r1, random_uuid_v4());
}

TEST(NorthStarUuidTest, EventIdsSortByTime) {
  // Milliseconds since the epoch lead (big-endian), so a store's id index grows at its edge;
  // one event per millisecond here (within one, the order is the hash's).
  constexpr std::uint64_t kMs = 1'000'000;
  const std::uint64_t t0 = 1'729'800'000'000 * kMs;
  std::string previous;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    const std::string id = derive_event_uuid(kTrace, kSpan, t0 + i * 1'000'003, i % 7);
    EXPECT_TRUE(is_uuid_v4(id)) << id;
    EXPECT_GE(id, previous) << i;
    previous = id;
  }
  EXPECT_EQ(derive_event_uuid(kTrace, kSpan, t0, 0).substr(0, 13), "0192c01d-5200");
  // Within one millisecond the rest is hashed: distinct for distinct inputs.
  EXPECT_NE(derive_event_uuid(kTrace, kSpan, t0, 0), derive_event_uuid(kTrace, kSpan, t0 + 1, 0));
}

TEST(NorthStarUuidTest, CheckerRejectsNonV4) {
  EXPECT_FALSE(is_uuid_v4("0b9d5c1e-3f7a-1c2b-9e1d-5a6f7b8c9d01"));  // version 1
  EXPECT_FALSE(is_uuid_v4("0b9d5c1e-3f7a-4c2b-7e1d-5a6f7b8c9d01"));  // variant
  EXPECT_FALSE(is_uuid_v4("0B9D5C1E-3F7A-4C2B-9E1D-5A6F7B8C9D01"));  // uppercase
  EXPECT_FALSE(is_uuid_v4("0b9d5c1e3f7a4c2b9e1d5a6f7b8c9d01"));
  EXPECT_TRUE(is_uuid_v4("0b9d5c1e-3f7a-4c2b-9e1d-5a6f7b8c9d01"));
}

TEST(NorthStarWireTest, TimestampsAreUtcWithOptionalMicros) {
  EXPECT_EQ(detail::format_timestamp(1704067200000000000ull), "2024-01-01T00:00:00Z");
  EXPECT_EQ(detail::format_timestamp(1714566896123456789ull), "2024-05-01T12:34:56.123456Z");
  EXPECT_EQ(detail::format_timestamp(1714566896000001000ull), "2024-05-01T12:34:56.000001Z");
  EXPECT_EQ(detail::format_timestamp(1714566896000000999ull),
            "2024-05-01T12:34:56Z");  // sub-µs dropped
  const std::regex server(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)");
  EXPECT_TRUE(std::regex_match(detail::format_timestamp(1714566896123456789ull), server));
}

TEST(NorthStarWireTest, TimestampsMatchGmtimeAcrossTheRange) {
  // Every day from 1970 to 2554 (the 64-bit nanosecond range), at varying times of day, against
  // the C library's calendar.
  constexpr std::uint64_t kDay = 86400;
  for (std::uint64_t day = 0, i = 0; day * kDay < 18'446'744'073ull - kDay; day += 1 + i % 3, ++i) {
    const std::uint64_t secs = day * kDay + (i * 7919) % kDay;
    const std::uint64_t micros = i % 4 == 0 ? 0 : (i * 104729) % 1000000;
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char expected[40];
    int n =
        std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (micros != 0) {
      n += std::snprintf(expected + n, sizeof expected - static_cast<std::size_t>(n), ".%06u",
                         static_cast<unsigned>(micros));
    }
    std::snprintf(expected + n, sizeof expected - static_cast<std::size_t>(n), "Z");
    ASSERT_EQ(detail::format_timestamp(secs * 1'000'000'000ull + micros * 1000 + i % 1000),
              expected)
        << secs;
  }
}

TEST(NorthStarWireTest, RedactionIsExactCaseInsensitiveAndDeep) {
  const auto& keys = detail::default_redact_keys();
  const Value in =
      Value::map({{"Password", "p"},
                  {"access_token", "kept"},
                  {"nested", Value::map({{"API_KEY", Value::map({{"inner", 1}})}, {"ok", 2}})},
                  {"list", Value::array({Value::map({{"token", "t"}}), 3})},
                  {"authorization", "Bearer x"},
                  {"X-Api-Key", "k"}});
  const Value out = detail::redact(in, keys);
  EXPECT_EQ(*out.find("Password"), Value("[REDACTED]"));
  EXPECT_EQ(*out.find("access_token"), Value("kept"));
  EXPECT_EQ(*out.find("nested")->find("API_KEY"), Value("[REDACTED]"));  // whole object replaced
  EXPECT_EQ(*out.find("nested")->find("ok"), Value(2));
  EXPECT_EQ(*out.find("list")->as_array()[0].find("token"), Value("[REDACTED]"));
  EXPECT_EQ(out.find("list")->as_array()[1], Value(3));
  EXPECT_EQ(*out.find("authorization"), Value("[REDACTED]"));
  EXPECT_EQ(*out.find("X-Api-Key"), Value("[REDACTED]"));
  EXPECT_EQ(detail::redact(Value("token"), keys), Value("token"));  // values are never scanned
}

TEST(NorthStarWireTest, CaptureClassesAndTypeModule) {
  EXPECT_TRUE(detail::is_input_event(EventType::kUserInput));
  EXPECT_TRUE(detail::is_input_event(EventType::kToolArguments));
  EXPECT_TRUE(detail::is_output_event(EventType::kFinalResponse));
  EXPECT_TRUE(detail::is_output_event(EventType::kToolResult));
  EXPECT_FALSE(detail::is_input_event(EventType::kCustom));
  EXPECT_FALSE(detail::is_output_event(EventType::kCustom));
  EXPECT_EQ(detail::type_module("std::runtime_error"), "std");
  EXPECT_EQ(detail::type_module("app::tools::ToolError"), "app::tools");
  EXPECT_EQ(detail::type_module("ToolError"), "");
  EXPECT_EQ(detail::type_module("ns::Box<std::string>"), "ns");
}

TEST(NorthStarWireTest, KindAndEventTypeNames) {
  EXPECT_EQ(to_string(SpanKind::kAgent), "agent");
  EXPECT_EQ(to_string(SpanKind::kModel), "model");
  EXPECT_EQ(span_kind_from_operation_kind("TOOL"), SpanKind::kTool);
  EXPECT_EQ(span_kind_from_operation_kind("llm"), SpanKind::kModel);
  EXPECT_EQ(span_kind_from_operation_kind("chain"), SpanKind::kWorkflow);
  EXPECT_EQ(span_kind_from_operation_kind("internal"), SpanKind::kCustom);
  EXPECT_EQ(span_kind_from_operation_kind(""), SpanKind::kCustom);
  for (auto t : {EventType::kUserInput, EventType::kSystemMessage, EventType::kAssistantMessage,
                 EventType::kReasoning, EventType::kToolArguments, EventType::kToolResult,
                 EventType::kFinalResponse, EventType::kCustom}) {
    EXPECT_EQ(parse_event_type(to_string(t)), t);
  }
  EXPECT_EQ(parse_event_type("metric"), std::nullopt);
}

TEST(NorthStarPricingTest, BuiltinTableAndLookups) {
  const PricingTable& t = PricingTable::builtin();
  ASSERT_NE(t.find("gpt-4o"), nullptr);
  EXPECT_DOUBLE_EQ(t.find("gpt-4o")->input_usd_per_token, 2.5e-6);
  EXPECT_DOUBLE_EQ(t.find("gpt-4o")->output_usd_per_token, 1.0e-5);
  EXPECT_DOUBLE_EQ(*t.cost("gpt-4o", 1200, 85), 1200 * 2.5e-6 + 85 * 1.0e-5);
  EXPECT_EQ(t.find("openai/gpt-4o"), t.find("gpt-4o"));
  EXPECT_EQ(t.find("gpt-4o-2024-08-06"), t.find("gpt-4o"));
  EXPECT_EQ(t.find("gpt-4o-mini-2024-07-18"), t.find("gpt-4o-mini"));
  EXPECT_NE(t.find("gpt-4o-mini"), t.find("gpt-4o"));
  EXPECT_EQ(t.find("gpt-4obot"), nullptr);
  EXPECT_EQ(t.find("my-local-model"), nullptr);
  EXPECT_EQ(t.cost("my-local-model", 1, 1), std::nullopt);
  EXPECT_EQ(t.find(""), nullptr);
}

TEST(NorthStarPricingTest, ParseLoadAndErrors) {
  PricingTable t =
      PricingTable::parse(R"({"models":{"m1":{"input_usd_per_1m":1,"output_usd_per_1m":2}}})");
  ASSERT_NE(t.find("m1"), nullptr);
  EXPECT_DOUBLE_EQ(t.find("m1")->output_usd_per_token, 2e-6);
  t.set("m2", {0.5, 0.25});
  EXPECT_DOUBLE_EQ(*t.cost("m2", 2, 4), 2.0);
  EXPECT_THROW(t.set("m3", {-1, 0}), ConfigError);
  EXPECT_THROW(PricingTable::parse("{"), ConfigError);
  EXPECT_THROW(PricingTable::parse("[]"), ConfigError);
  EXPECT_THROW(
      PricingTable::parse(R"({"models":{"m":{"input_usd_per_1m":"x","output_usd_per_1m":1}}})"),
      ConfigError);
  const auto path = std::filesystem::temp_directory_path() / "dagstack_northstar_pricing_test.json";
  {
    std::ofstream f(path);
    f << R"({"models":{"file-model":{"input_usd_per_1m":3,"output_usd_per_1m":4}}})";
  }
  PricingTable loaded = PricingTable::load_file(path.string());
  EXPECT_EQ(loaded.size(), 1u);
  std::filesystem::remove(path);
  EXPECT_THROW(PricingTable::load_file(path.string()), ConfigError);
  // The installed data file parses and is the built-in table.
  PricingTable shipped =
      PricingTable::load_file(DAGSTACK_SOURCE_DIR "/sinks/northstar/pricing.json");
  EXPECT_EQ(shipped.prices(), PricingTable::builtin().prices());
}

TEST(NorthStarCodecTest, RoundTripKeepsEveryType) {
  const Value nested = Value::map(
      {{"a", Value::array({1, 2.5, "s", nullptr, true})}, {"m", Value::map({{"k", false}})}});
  const Resource resource{{{"service.name", "svc"}}};
  const InstrumentationScope scope{"app.agent", "", {}};
  const std::vector<Attribute> attrs = {{"i", -42},  {"d", 0.125},   {"s", "text"},
                                        {"b", true}, {"n", nullptr}, {"v", AttrValue(nested)}};
  LogRecord r;
  r.time_unix_nano = 123456789;
  r.severity_number = kSeverityWarn;
  r.body = "hello";
  r.attributes = attrs;
  r.resource = &resource;
  r.instrumentation_scope = &scope;
  r.trace_id = kTrace;
  r.span_id = kSpan;
  detail::QueuedRecord q;
  detail::encode_record(r, q);
  const detail::DecodedRecord d = detail::decode_record(q);
  EXPECT_EQ(d.time_unix_nano, 123456789u);
  EXPECT_EQ(d.severity_number, kSeverityWarn);
  EXPECT_EQ(d.trace_id, kTrace);
  EXPECT_EQ(d.span_id, kSpan);
  EXPECT_EQ(d.scope, "app.agent");
  EXPECT_EQ(d.body, Value("hello"));
  EXPECT_EQ(d.attributes.size(), 6u);
  EXPECT_EQ(*d.attr("i"), Value(-42));
  EXPECT_EQ(*d.attr("d"), Value(0.125));
  EXPECT_EQ(*d.attr("s"), Value("text"));
  EXPECT_EQ(*d.attr("b"), Value(true));
  EXPECT_TRUE(d.attr("n")->is_null());
  EXPECT_EQ(*d.attr("v"), nested);
  detail::QueuedRecord corrupt = q;
  corrupt.blob.resize(corrupt.blob.size() / 2);
  EXPECT_THROW(detail::decode_record(corrupt), std::runtime_error);
}

}  // namespace
}  // namespace dagstack::logger::northstar

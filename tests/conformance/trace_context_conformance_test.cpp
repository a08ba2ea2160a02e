// trace_context_conformance_test.cpp: runs all 8 cases of the vendored
// fixtures/trace_context_propagation.json (contract §11.2). This binding supports both modes
// (auto-inject through the thread's current Context, explicit-ctx through the *_ctx overloads),
// so every case applies. The active span is opened with the fixture's _sample_* ids; the wire
// line is checked for the substituted ids or for the absence of the listed keys, and, with a
// fixed clock, compared byte for byte with the canonical record.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dagstack/logger/clock.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "support/json_value.h"

namespace dagstack::logger {
namespace {

const std::string kFixture = std::string(DAGSTACK_FIXTURES_DIR) + "/trace_context_propagation.json";
constexpr std::uint64_t kFixedTime = 1729800000000000000ull;

const Value& fixture() {
  static const Value v = testing::load_json_file(kFixture);
  return v;
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  try {
    for (const Value& c : fixture().find("cases")->as_array()) names.push_back(c.find("name")->as_string());
  } catch (...) {
    // Reported by FixtureShape.
  }
  return names;
}

const Value& find_case(const std::string& name) {
  for (const Value& c : fixture().find("cases")->as_array()) {
    if (c.find("name")->as_string() == name) return c;
  }
  throw std::runtime_error("no case " + name);
}

class FixedClock final : public Clock {
 public:
  std::uint64_t now_unix_nano() const noexcept override { return kFixedTime; }
};

bool get_bool(const Value& v, std::string_view key, bool fallback) {
  const Value* b = v.find(key);
  return b != nullptr && b->is_bool() ? b->as_bool() : fallback;
}

class TraceContextCase : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { Logger::reset(); }
  void TearDown() override { Logger::reset(); }
};

TEST(TraceContextFixture, FixtureShape) {
  EXPECT_EQ(case_names().size(), 8u);
  EXPECT_EQ(fixture().find("_sample_trace_id")->as_string(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(fixture().find("_sample_span_id")->as_string(), "0123456789abcdef");
  EXPECT_EQ(*fixture().find("_sample_trace_flags"), Value(1));
}

TEST_P(TraceContextCase, WireFieldsMatch) {
  const Value& c = find_case(GetParam());
  const Value& f = fixture();
  const std::string sample_trace = f.find("_sample_trace_id")->as_string();
  const std::string sample_span = f.find("_sample_span_id")->as_string();
  const std::int64_t sample_flags = f.find("_sample_trace_flags")->as_int();

  auto sink = std::make_shared<InMemorySink>(10);
  ConfigureOptions o;
  o.sinks = SinkList{sink};
  o.clock = std::make_shared<FixedClock>();
  o.auto_inject_trace_context = get_bool(*c.find("config"), "auto_inject_trace_context", true);
  configure(o);

  const Value& emit = *c.find("emit");
  ASSERT_EQ(emit.find("method")->as_string(), "info");
  const std::string body = emit.find("body")->as_string();
  const bool use_ctx = get_bool(emit, "use_ctx_variant", false);
  const bool without_context = get_bool(emit, "via_without_context", false);

  Logger log = Logger::get("conformance.trace_context");
  {
    std::optional<ScopedContext> active;
    if (c.find("with_active_span")->as_bool()) {
      active.emplace(Context::with_span(TraceId::from_hex(sample_trace), SpanId::from_hex(sample_span),
                                        static_cast<std::uint8_t>(sample_flags)));
    }
    // Explicit-ctx bindings receive the active span through ctx.
    const Context ctx = Context::current();
    Logger target = without_context ? log.without_context() : log;
    EXPECT_NO_THROW({
      if (use_ctx) {
        target.info_ctx(ctx, body);
      } else {
        target.info(body);
      }
    });
  }

  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  const Value wire = testing::parse_json(lines[0]);
  const Value& expected = *c.find("expected");
  std::string canonical = R"({"body":")" + body +
                          R"(","instrumentation_scope":{"name":"conformance.trace_context"},"severity_number":9,"severity_text":"INFO",)";
  if (const Value* absent = expected.find("fields_absent")) {
    for (const Value& key : absent->as_array()) {
      EXPECT_EQ(wire.find(key.as_string()), nullptr) << key.as_string() << " present in " << lines[0];
    }
    canonical += R"("time_unix_nano":)" + std::to_string(kFixedTime) + "}";
  } else {
    // Substitute the placeholders.
    ASSERT_EQ(expected.find("trace_id")->as_string(), "_sample_trace_id");
    ASSERT_EQ(expected.find("span_id")->as_string(), "_sample_span_id");
    ASSERT_EQ(expected.find("trace_flags")->as_string(), "_sample_trace_flags");
    ASSERT_NE(wire.find("trace_id"), nullptr) << lines[0];
    ASSERT_NE(wire.find("span_id"), nullptr) << lines[0];
    ASSERT_NE(wire.find("trace_flags"), nullptr) << lines[0];
    EXPECT_EQ(wire.find("trace_id")->as_string(), sample_trace);
    EXPECT_EQ(wire.find("span_id")->as_string(), sample_span);
    ASSERT_TRUE(wire.find("trace_flags")->is_int());  // an unsigned integer, not a string
    EXPECT_EQ(wire.find("trace_flags")->as_int(), sample_flags);
    canonical += R"("span_id":")" + sample_span + R"(","time_unix_nano":)" + std::to_string(kFixedTime) +
                 R"(,"trace_flags":)" + std::to_string(sample_flags) + R"(,"trace_id":")" + sample_trace + R"("})";
  }
  // cross_binding_parity: the canonical wire bytes, hex lowercase, flags an unsigned integer.
  EXPECT_EQ(lines[0], canonical);
}

std::string param_name(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

INSTANTIATE_TEST_SUITE_P(Fixture, TraceContextCase, ::testing::ValuesIn(case_names()), param_name);

}  // namespace
}  // namespace dagstack::logger

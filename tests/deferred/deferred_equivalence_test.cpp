// deferred_equivalence_test.cpp: the deferred caller path writes byte-identical JSON lines to the
// synchronous path: 10,000 random records (scalars, strings with control bytes and NULs, nested
// values, secrets at every depth, baggage, bound attributes of child loggers made per call,
// explicit contexts, scoped sink overrides, code locations, fmt bodies), the 400 canonical-JSON
// vectors, and the redaction fixture cases. Each workload runs twice from the same seed, once
// per path, into fresh sinks, with a clock that steps once per record.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/deferred.h"
#include "dagstack/logger/logger.h"
#include "deferred/deferred_support.h"
#include "support/json_value.h"

namespace dagstack::logger {
namespace {
struct Money {
  int cents;
};
}  // namespace
}  // namespace dagstack::logger

// A type with its own formatter: never copied into the ring (the caller formats the body).
template <>
struct fmt::formatter<dagstack::logger::Money> : fmt::formatter<std::string_view> {
  auto format(const dagstack::logger::Money& m, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}.{:02}", m.cents / 100, m.cents % 100);
  }
};

namespace dagstack::logger {
namespace {

using testing::JsonLinesSink;
using testing::SteppingClock;

// The sinks a workload writes to: the root sink and the one a scoped override installs.
struct Sinks {
  std::shared_ptr<JsonLinesSink> root = std::make_shared<JsonLinesSink>("root");
  std::shared_ptr<JsonLinesSink> scoped = std::make_shared<JsonLinesSink>("scoped");
};

using Workload = std::function<void(const Sinks&)>;

// Runs `work` on the synchronous path, then on the deferred path, each time after a fresh
// configuration; returns both outputs (root lines, then scoped lines).
std::pair<std::vector<std::string>, std::vector<std::string>> run_both(
    std::size_t expected_lines, const Workload& work,
    const std::function<void(ConfigureOptions&)>& tweak = {}) {
  std::vector<std::string> out[2];
  for (int deferred = 0; deferred <= 1; ++deferred) {
    Logger::reset();
    auto clock = std::make_shared<SteppingClock>();
    Sinks sinks;
    ConfigureOptions c;
    c.root_level = Level(kSeverityTrace);
    c.sinks = SinkList{sinks.root};
    c.clock = clock;
    c.apply_environment = false;
    if (tweak) tweak(c);
    configure(c);
    const DeferredStats before = deferred_stats();
    if (deferred == 1) start_deferred();
    work(sinks);
    if (deferred == 1) {
      EXPECT_TRUE(flush_deferred(std::chrono::seconds(30)));
      const DeferredStats st = deferred_stats();
      EXPECT_TRUE(stop_deferred());
      EXPECT_EQ(st.enqueued - before.enqueued, expected_lines);  // every record took the path
      EXPECT_EQ(st.dropped, before.dropped);
      EXPECT_EQ(st.synchronous, before.synchronous);
    }
    out[deferred] = sinks.root->lines();
    for (auto& l : sinks.scoped->lines()) out[deferred].push_back("scoped " + l);
  }
  Logger::reset();
  return {out[0], out[1]};
}

void expect_same(const std::vector<std::string>& sync, const std::vector<std::string>& deferred,
                 std::size_t expected_lines) {
  ASSERT_EQ(sync.size(), expected_lines);
  ASSERT_EQ(deferred.size(), sync.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < sync.size(); ++i) {
    if (sync[i] != deferred[i] && differ++ < 3) {
      ADD_FAILURE() << "line " << i << "\n  sync:     " << sync[i]
                    << "\n  deferred: " << deferred[i];
    }
  }
  EXPECT_EQ(differ, 0u);
}

// ---- random records ----

const char* const kKeys[] = {
    "user.id",   "http.route", "password",  "api_key",  "db.token",      "k1", "k2",
    "nested",    "tenant.id",  "my_secret", "card_pin", "Authorization", "x",  "\xC3\xA9t\xC3\xA9",
    "request.id"};

std::string random_string(std::mt19937_64& rng) {
  static const char kAlphabet[] = "abcXYZ 09\"\\/\n\t\x01\x1f\x7f{}";
  const std::size_t n = rng() % 40;
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = rng() % 64;
    if (r == 0) {
      s.push_back('\0');
    } else if (r == 1) {
      s += "\xE2\x82\xAC";  // euro sign
    } else if (r == 2) {
      s += "\xF0\x9F\x98\x80";  // an emoji (outside the BMP)
    } else if (r == 3) {
      s.push_back('\xC3');  // a truncated UTF-8 sequence
    } else {
      s.push_back(kAlphabet[r % (sizeof kAlphabet - 1)]);
    }
  }
  if (rng() % 8 == 0) s.assign(200 + rng() % 100, 'L');  // long strings (up to 300 bytes)
  return s;
}

Value random_value(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth < 3 ? 9 : 6)) {
    case 0: return Value(nullptr);
    case 1: return Value(rng() % 2 == 0);
    case 2: return Value(static_cast<std::int64_t>(rng()));
    case 3: {
      const double d[] = {0.0, -0.0, 1.5, 1e300, -2.5e-7, 12.5, 3.0, 1e21, 123456789.125};
      return Value(d[rng() % 9]);
    }
    case 4:
    case 5: return Value(random_string(rng));
    case 6: {
      Value::Array a;
      for (std::size_t i = rng() % 4; i > 0; --i) a.push_back(random_value(rng, depth + 1));
      return Value(std::move(a));
    }
    default: {
      Value::Map m;
      for (std::size_t i = rng() % 5; i > 0; --i) {
        m[kKeys[rng() % std::size(kKeys)]] = random_value(rng, depth + 1);
      }
      return Value(std::move(m));
    }
  }
}

// An attribute value viewing `v`: scalars and strings as themselves, containers as a Value.
AttrValue view_of(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return AttrValue();
    case Value::Type::kBool: return AttrValue(v.as_bool());
    case Value::Type::kInt: return AttrValue(v.as_int());
    case Value::Type::kDouble: return AttrValue(v.as_double());
    case Value::Type::kString: return AttrValue(std::string_view(v.as_string()));
    default: return AttrValue(v);
  }
}

// fmt bodies: arguments the writer formats (numbers, chars, bools, strings, pointers, with
// specs) and one with its own formatter (the caller formats it).
void fmt_record(Logger& logger, std::mt19937_64& rng, int i, AttributeSpan attrs) {
  static const char* const kWords[] = {"alpha", "", "\x01ctl\n", "\xC3\xA9t\xC3\xA9"};
  const std::string word = kWords[rng() % 4];
  switch (rng() % 6) {
    case 0: logger.info("fmt {} and {} of {}", i, std::string_view(word), 2.5, attrs); break;
    case 1:
      logger.warn("{:>8}|{:<6.3f}|{:x}|{:#o}", static_cast<unsigned>(rng()), 1.0f / 3, -i,
                  static_cast<unsigned long long>(rng()), attrs);
      break;
    case 2: logger.error("{}{}{}", 'c', true, word.c_str(), attrs); break;
    case 3: logger.debug("{:e} {} {}", static_cast<long double>(i) / 7, 1e-300, -0.0, attrs); break;
    case 4: logger.info("money {} for {}", Money{i * 7}, word, attrs); break;
    default:
      logger.info("{:*^11} {:+d} {}", std::string(word), i, static_cast<short>(-3), attrs);
      break;
  }
}

void random_records(std::uint64_t seed, int count, const Sinks& sinks) {
  std::mt19937_64 rng(seed);
  Logger base = Logger::get("eq");
  Logger sub = Logger::get("eq.sub.deep");
  Logger bound = base.child({{"bound.k", 1}, {"k1", "from-bound"}, {"password", "bound-pw"}});
  const Context span_ctx = Context::with_span(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736"),
                                              SpanId::from_hex("00f067aa0ba902b7"), 1)
                               .set_baggage("tenant.id", "acme")
                               .set_baggage("not.copied", "x")
                               .set_baggage("request.id", "r-1");
  const Context explicit_ctx =
      Context::with_span(TraceId::from_hex("0af7651916cd43dd8448eb211c80319c"),
                         SpanId::from_hex("b7ad6b7169203331"), 0)
          .set_baggage("user.id", "u-9");
  for (int i = 0; i < count; ++i) {
    const int severity = 1 + static_cast<int>(rng() % 24);
    const Value body = random_value(rng, 1);
    std::vector<Value> values;
    std::vector<std::string> keys;
    const std::size_t n = rng() % 9;
    for (std::size_t k = 0; k < n; ++k) {
      keys.emplace_back(kKeys[rng() % std::size(kKeys)]);
      values.push_back(random_value(rng, 0));
    }
    std::vector<Attribute> attrs;
    for (std::size_t k = 0; k < n; ++k) attrs.emplace_back(keys[k], view_of(values[k]));
    const int who = static_cast<int>(rng() % 4);
    // A child logger made for this call alone: its node may be gone before the writer runs.
    Logger logger = who == 0   ? base
                    : who == 1 ? sub
                    : who == 2 ? bound
                               : sub.child({{"per.call", i}, {"k2", "per-call"}});
    switch (rng() % 5) {
      case 0: logger.log(severity, view_of(body), attrs); break;
      case 1: {
        const ScopedContext scope(span_ctx);
        logger.log(severity, view_of(body), attrs);
        break;
      }
      case 2: logger.log_ctx(explicit_ctx, severity, view_of(body), attrs); break;
      case 3: {
        const ScopedContext scope(span_ctx);
        const auto scoped = logger.scope_sinks({sinks.scoped});
        logger.log(severity, view_of(body), attrs);
        break;
      }
      default: fmt_record(logger, rng, i, AttributeSpan(attrs)); break;
    }
  }
}

TEST(DeferredEquivalence, TenThousandRandomRecordsAreByteIdentical) {
  const auto [sync, deferred] = run_both(
      10000, [](const Sinks& s) { random_records(42, 10000, s); },
      [](ConfigureOptions& c) {
        c.include_code_location = true;
        RedactionConfig r;
        r.extra_suffixes = {"_pin"};
        c.redaction = r;
      });
  EXPECT_GT(deferred_stats().formatted, 1000u);  // most fmt bodies were formatted by the writer
  std::size_t scoped = 0;
  for (const auto& l : sync) scoped += l.rfind("scoped ", 0) == 0 ? 1 : 0;
  EXPECT_GT(scoped, 1000u);  // the override case ran (about a fifth of the records)
  expect_same(sync, deferred, 10000);
}

TEST(DeferredEquivalence, SmallRingsSendLargeRecordsThroughTheHeapWithTheSameBytes) {
  // 4 KiB rings: records above 2 KiB (long strings, many attributes) take the heap path.
  std::vector<std::string> out[2];
  for (int deferred = 0; deferred <= 1; ++deferred) {
    Logger::reset();
    auto sink = std::make_shared<JsonLinesSink>();
    ConfigureOptions c;
    c.sinks = SinkList{sink};
    c.clock = std::make_shared<SteppingClock>();
    c.apply_environment = false;
    configure(c);
    if (deferred == 1) {
      DeferredOptions o;
      o.ring_bytes = 4096;
      start_deferred(o);
    }
    Logger log = Logger::get("big");
    for (int i = 0; i < 200; ++i) {
      const std::string big(static_cast<std::size_t>(i) * 37, static_cast<char>('a' + i % 26));
      log.info(std::string_view(big), {{"i", i}, {"big", std::string_view(big)}});
    }
    if (deferred == 1) {
      ASSERT_TRUE(flush_deferred());
      EXPECT_GT(deferred_stats().large, 0u);
      ASSERT_TRUE(stop_deferred());
    }
    out[deferred] = sink->lines();
  }
  Logger::reset();
  expect_same(out[0], out[1], 200);
}

TEST(DeferredEquivalence, CanonicalJsonVectorsAreByteIdentical) {
  std::ifstream in(std::string(DAGSTACK_FIXTURES_DIR) + "/canonical_json_vectors.jsonl");
  std::vector<Value> inputs;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) inputs.push_back(*testing::parse_json(line).find("input"));
  }
  ASSERT_EQ(inputs.size(), 400u);
  const auto [sync, deferred] = run_both(400, [&](const Sinks&) {
    Logger log = Logger::get("vectors");
    for (const Value& v : inputs) {
      log.info(view_of(v), {{"value", view_of(v)}});
    }
  });
  expect_same(sync, deferred, 400);
}

TEST(DeferredEquivalence, RedactionFixtureCasesAreByteIdentical) {
  const Value fixture = testing::load_json_file(std::string(DAGSTACK_FIXTURES_DIR) +
                                                "/redaction_extra_suffixes.json");
  const auto& cases = fixture.find("cases")->as_array();
  ASSERT_FALSE(cases.empty());
  for (const Value& c : cases) {
    RedactionConfig cfg;
    if (const Value* r = c.find("config")->find("redaction")) {
      if (const Value* extra = r->find("extra_suffixes")) {
        for (const Value& s : extra->as_array()) cfg.extra_suffixes.push_back(s.as_string());
      }
      if (const Value* rd = r->find("replace_defaults")) cfg.replace_defaults = rd->as_bool();
    }
    const Value& input = *c.find("input");
    const auto [sync, deferred] = run_both(
        1,
        [&](const Sinks&) {
          std::vector<Attribute> attrs;
          for (const auto& [k, v] : input.as_map()) attrs.emplace_back(k, view_of(v));
          Logger::get("redaction").info("case", attrs);
        },
        [&](ConfigureOptions& o) { o.redaction = cfg; });
    SCOPED_TRACE(c.find("name")->as_string());
    expect_same(sync, deferred, 1);
  }
}

}  // namespace
}  // namespace dagstack::logger

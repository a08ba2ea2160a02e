// w3c_test.cpp: W3C traceparent / tracestate / baggage parsing and formatting, and the Context
// conversions for HTTP hops (DESIGN §4.5).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "dagstack/logger/context.h"
#include "dagstack/logger/w3c.h"

namespace dagstack::logger {
namespace {

using w3c::parse_baggage;
using w3c::parse_traceparent;
using w3c::parse_tracestate;

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Expects `fn` to throw std::invalid_argument whose message contains `needle`.
template <typename Fn>
void expect_invalid(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ---- traceparent ----------------------------------------------------------------------------

TEST(TraceParentTest, ParsesTheSpecExample) {
  const w3c::TraceParent tp = parse_traceparent(kValid);
  EXPECT_EQ(tp.version, 0);
  EXPECT_EQ(tp.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(tp.parent_id.to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(tp.trace_flags, 1);
  EXPECT_TRUE(tp.sampled());
  EXPECT_EQ(w3c::format_traceparent(tp), kValid);
}

TEST(TraceParentTest, UnsampledAndOtherFlagsRoundTrip) {
  const auto tp = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  EXPECT_FALSE(tp.sampled());
  EXPECT_EQ(
      parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03").trace_flags, 3);
  EXPECT_EQ(w3c::format_traceparent(tp.trace_id, tp.parent_id, 0xab),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ab");
}

TEST(TraceParentTest, SurroundingWhitespaceIsIgnored) {
  EXPECT_EQ(parse_traceparent(std::string(" \t") + kValid + " ").trace_flags, 1);
}

TEST(TraceParentTest, FutureVersionsAreParsedForwardCompatibly) {
  const auto tp = parse_traceparent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
  EXPECT_EQ(tp.version, 0xcc);
  EXPECT_EQ(tp.parent_id.to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").version,
            1);
  // Re-emitted as version 00.
  EXPECT_EQ(w3c::format_traceparent(tp), kValid);
  expect_invalid(
      [] { parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.x"); },
      "must start with '-'");
}

TEST(TraceParentTest, RejectsBadInput) {
  expect_invalid([] { parse_traceparent(""); }, "traceparent: empty header");
  expect_invalid(
      [] { parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"); },
      "version ff is invalid");
  expect_invalid(
      [] { parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"); },
      "exactly 55 characters");
  expect_invalid(
      [] { parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"); },
      "55 characters");
  expect_invalid(
      [] { parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e47361-0f067aa0ba902b7-01"); },
      "separated by '-'");
  expect_invalid(
      [] { parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"); },
      "trace-id must be lowercase hex");
  expect_invalid(
      [] { parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"); },
      "parent-id must be lowercase hex");
  expect_invalid(
      [] { parse_traceparent("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"); },
      "version must be lowercase hex");
  expect_invalid(
      [] { parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"); },
      "trace-flags contains non-hex");
  expect_invalid(
      [] { parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"); },
      "55 characters");
  expect_invalid(
      [] { parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"); },
      "trace-id must not be all zeros");
  expect_invalid(
      [] { parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"); },
      "parent-id must not be all zeros");
  expect_invalid(
      [] { parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"); },
      "separated by '-'");
  expect_invalid(
      [] { parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\x01"); },
      "exactly 55");
}

TEST(TraceParentTest, FormatRejectsInvalidIds) {
  expect_invalid(
      [] { w3c::format_traceparent(TraceId{}, SpanId::from_hex("00f067aa0ba902b7"), 1); },
      "trace-id must not be all zeros");
  expect_invalid(
      [] {
        w3c::format_traceparent(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736"), SpanId{}, 1);
      },
      "parent-id must not be all zeros");
}

// ---- tracestate -----------------------------------------------------------------------------

TEST(TraceStateTest, ParsesAndFormats) {
  const auto s =
      parse_tracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,\t, tenant1@vendor=x y");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], (w3c::TraceStateEntry{"rojo", "00f067aa0ba902b7"}));
  EXPECT_EQ(s[1], (w3c::TraceStateEntry{"congo", "t61rcWkgMzE"}));
  EXPECT_EQ(s[2], (w3c::TraceStateEntry{"tenant1@vendor", "x y"}));
  EXPECT_EQ(w3c::format_tracestate(s),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant1@vendor=x y");
  EXPECT_TRUE(parse_tracestate("").empty());
  EXPECT_TRUE(parse_tracestate(" , ,").empty());
}

TEST(TraceStateTest, KeyGrammar) {
  EXPECT_NO_THROW(parse_tracestate("a0_-*/=1"));
  EXPECT_NO_THROW(parse_tracestate("0tenant@sys=1"));
  expect_invalid([] { parse_tracestate("Rojo=1"); }, "key must start with a lowercase letter");
  expect_invalid([] { parse_tracestate("0abc=1"); }, "key must start with a lowercase letter");
  expect_invalid([] { parse_tracestate("ro.jo=1"); }, "outside [a-z0-9_*/-]");
  expect_invalid([] { parse_tracestate("=1"); }, "empty key");
  expect_invalid([] { parse_tracestate("t@=1"); }, "system id must be 1..14");
  expect_invalid([] { parse_tracestate("t@0sys=1"); },
                 "system id must start with a lowercase letter");
  expect_invalid([] { parse_tracestate("t@abcdefghijklmno=1"); }, "system id must be 1..14");
  expect_invalid([] { parse_tracestate(std::string(257, 'a') + "=1"); }, "key longer than 256");
}

TEST(TraceStateTest, ValueGrammar) {
  expect_invalid([] { parse_tracestate("a="); }, "empty value");
  expect_invalid([] { parse_tracestate("a=b=c"); }, "outside printable ASCII");
  expect_invalid([] { parse_tracestate("a=\x7f"); }, "outside printable ASCII");
  expect_invalid([] { parse_tracestate("a"); }, "member without '='");
  expect_invalid([] { w3c::format_tracestate({{"a", "ends "}}); }, "value ends with a space");
  expect_invalid([] { parse_tracestate("a=" + std::string(257, 'v')); }, "value longer than 256");
}

TEST(TraceStateTest, Limits) {
  std::string header;
  for (int i = 0; i < 32; ++i)
    header += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_EQ(parse_tracestate(header).size(), 32u);
  expect_invalid([&] { parse_tracestate(header + ",k32=v"); }, "more than 32 list members");
  expect_invalid([] { parse_tracestate("a=" + std::string(511, 'v')); },
                 "longer than 512 characters");
  expect_invalid([] { parse_tracestate("a=1,b=2,a=3"); }, "duplicate key 'a'");
  w3c::TraceState many;
  for (int i = 0; i < 33; ++i) many.push_back({"k" + std::to_string(i), "v"});
  expect_invalid([&] { w3c::format_tracestate(many); }, "more than 32");
}

// ---- baggage --------------------------------------------------------------------------------

TEST(BaggageTest, ParsesMembersPropertiesAndPercentEncoding) {
  const auto b = parse_baggage(
      "userId=alice, serverNode = DF%2028 ;prop1;k=v,isProduction=false,city=M%C3%BCnchen");
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0], (w3c::BaggageEntry{"userId", "alice", ""}));
  EXPECT_EQ(b[1].key, "serverNode");
  EXPECT_EQ(b[1].value, "DF 28");
  EXPECT_EQ(b[1].metadata, "prop1;k=v");
  EXPECT_EQ(b[2].value, "false");
  EXPECT_EQ(b[3].value, "M\xc3\xbcnchen");
  EXPECT_TRUE(parse_baggage("").empty());
  EXPECT_TRUE(parse_baggage("  ").empty());
  EXPECT_EQ(parse_baggage("k=").at(0).value, "");
}

TEST(BaggageTest, RepeatedKeyKeepsTheLastValue) {
  const auto b = parse_baggage("a=1,b=2,a=3");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].value, "3");
}

TEST(BaggageTest, FormatPercentEncodesAndRoundTrips) {
  const w3c::Baggage b = {{"tenant.id", "acme corp", ""},
                          {"path", "a,b;c=d%\"\\", ""},
                          {"city", "M\xc3\xbcnchen", "ttl=60"}};
  const std::string header = w3c::format_baggage(b);
  EXPECT_EQ(header, "tenant.id=acme%20corp,path=a%2Cb%3Bc=d%25%22%5C,city=M%C3%BCnchen;ttl=60");
  EXPECT_EQ(parse_baggage(header), b);
}

TEST(BaggageTest, RejectsBadInput) {
  expect_invalid([] { parse_baggage("a=1,,b=2"); }, "baggage: empty list member");
  expect_invalid([] { parse_baggage("novalue"); }, "member without '='");
  expect_invalid([] { parse_baggage("bad key=1"); }, "key is not a token");
  expect_invalid([] { parse_baggage("k(1)=1"); }, "key is not a token");
  expect_invalid([] { parse_baggage("=1"); }, "key is not a token");
  expect_invalid([] { parse_baggage("k=a b"); }, "forbidden character");
  expect_invalid([] { parse_baggage("k=\"q\""); }, "forbidden character");
  expect_invalid([] { parse_baggage("k=\xc3\xbc"); }, "forbidden character");
  expect_invalid([] { parse_baggage("k=%zz"); }, "malformed percent escape");
  expect_invalid([] { parse_baggage("k=%4"); }, "malformed percent escape");
  expect_invalid([] { parse_baggage("k=1;bad prop"); },
                 "property of 'k' has a key that is not a token");
  expect_invalid([] { w3c::format_baggage({{"bad key", "v", ""}}); }, "key is not a token");
}

TEST(BaggageTest, Limits) {
  std::string header;
  for (int i = 0; i < 180; ++i)
    header += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_EQ(parse_baggage(header).size(), 180u);
  expect_invalid([&] { parse_baggage(header + ",k180=v"); }, "more than 180 list members");
  expect_invalid([] { parse_baggage("k=" + std::string(8191, 'v')); }, "longer than 8192 bytes");
  EXPECT_NO_THROW(parse_baggage("k=" + std::string(8190, 'v')));
  // Percent-encoding can push a formatted header past the limit.
  expect_invalid(
      [] {
        w3c::format_baggage({{"k", std::string(3000, ' '), ""}});
      },
      "longer than 8192 bytes");
}

// ---- Context conversions --------------------------------------------------------------------

TEST(W3CContextTest, FromHeaders) {
  const Context c = from_w3c_headers(kValid, "rojo=1, congo=2", "tenant.id=acme,user.id=u%201;p");
  EXPECT_TRUE(c.has_span());
  EXPECT_EQ(c.trace_id().to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c.span_id().to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(c.trace_flags(), 1);
  EXPECT_EQ(c.trace_state(), "rojo=1,congo=2");
  EXPECT_EQ(*c.baggage_value("tenant.id"), "acme");
  EXPECT_EQ(*c.baggage_value("user.id"), "u 1");
}

TEST(W3CContextTest, BadHeadersAreIgnoredNotThrown) {
  // Bad traceparent: no span and the tracestate is dropped too; the baggage still counts.
  Context c = from_w3c_headers("garbage", "rojo=1", "tenant.id=acme");
  EXPECT_FALSE(c.has_span());
  EXPECT_EQ(c.trace_state(), "");
  EXPECT_EQ(*c.baggage_value("tenant.id"), "acme");
  // Bad tracestate alone is dropped; bad baggage alone is dropped.
  c = from_w3c_headers(kValid, "Bad=1", "a b=1");
  EXPECT_TRUE(c.has_span());
  EXPECT_EQ(c.trace_state(), "");
  EXPECT_TRUE(c.baggage().empty());
  // Nothing at all: the empty context.
  c = from_w3c_headers("", "", "");
  EXPECT_FALSE(c.has_span());
  EXPECT_EQ(c.data(), nullptr);
}

TEST(W3CContextTest, InjectRoundTrips) {
  const Context c = from_w3c_headers(kValid, "rojo=1", "tenant.id=acme%20corp");
  const W3CHeaders h = inject_w3c_headers(c);
  EXPECT_EQ(h.traceparent, kValid);
  EXPECT_EQ(h.tracestate, "rojo=1");
  EXPECT_EQ(h.baggage, "tenant.id=acme%20corp");
  const Context back = from_w3c_headers(h.traceparent, h.tracestate, h.baggage);
  EXPECT_EQ(back.trace_id(), c.trace_id());
  EXPECT_EQ(back.span_id(), c.span_id());
  EXPECT_EQ(back.baggage(), c.baggage());
}

TEST(W3CContextTest, InjectWithoutSpanOrBaggageIsEmpty) {
  const W3CHeaders h = inject_w3c_headers(Context());
  EXPECT_EQ(h.traceparent, "");
  EXPECT_EQ(h.tracestate, "");
  EXPECT_EQ(h.baggage, "");
  EXPECT_EQ(inject_w3c_headers(Context().set_baggage("k", "v")).baggage, "k=v");
}

TEST(W3CContextTest, InjectSkipsInvalidKeysAndKeepsWithinLimits) {
  Context c = Context().set_baggage("bad key", "x").set_baggage("ok", "y");
  EXPECT_EQ(inject_w3c_headers(c).baggage, "ok=y");
  c = Context();
  for (int i = 0; i < 200; ++i) c = c.set_baggage("k" + std::to_string(i), "v");
  const std::string many = inject_w3c_headers(c).baggage;
  EXPECT_EQ(parse_baggage(many).size(), 180u);
  c = Context().set_baggage("big", std::string(5000, ' ')).set_baggage("small", "s");
  const std::string sized = inject_w3c_headers(c).baggage;
  EXPECT_EQ(sized, "small=s");  // the oversized member is dropped, the rest still sent
}

// ---- receiver leniency and properties (as the other dagstack bindings do) --------------------

TEST(W3CContextTest, BaggageKeepsTheValidMembers) {
  const Context trailing = from_w3c_headers("", "", "k=v,");
  EXPECT_EQ(trailing.baggage(), (Context::Baggage{{"k", "v"}}));
  const Context doubled = from_w3c_headers("", "", "k=v,,k2=v2");
  EXPECT_EQ(doubled.baggage(), (Context::Baggage{{"k", "v"}, {"k2", "v2"}}));
  const Context mixed =
      from_w3c_headers("", "", "a b=1, ok=1 ,novalue, k=%zz,  good=%C3%BC;p=1 , =x");
  EXPECT_EQ(mixed.baggage(), (Context::Baggage{{"ok", "1"}, {"good", "\xC3\xBC"}}));
  EXPECT_TRUE(w3c::parse_baggage_lenient(",,, ,").empty());
  // Limits: members past the 180th are dropped, the first 180 kept.
  std::string many;
  for (int i = 0; i < 200; ++i) many += "k" + std::to_string(i) + "=v,";
  const auto kept = w3c::parse_baggage_lenient(many);
  ASSERT_EQ(kept.size(), w3c::kMaxBaggageMembers);
  EXPECT_EQ(kept.back().key, "k179");
}

TEST(W3CContextTest, BaggagePropertiesSurviveReInjection) {
  const Context c = from_w3c_headers(kValid, "", "user=alice;ttl=60;private, plain=1");
  EXPECT_EQ(*c.baggage_value("user"), "alice");
  EXPECT_EQ(inject_w3c_headers(c).baggage, "user=alice;ttl=60;private,plain=1");
  // A child context keeps them; a new value for the key drops the old properties.
  EXPECT_EQ(inject_w3c_headers(c.set_baggage("x", "1")).baggage,
            "user=alice;ttl=60;private,plain=1,x=1");
  EXPECT_EQ(inject_w3c_headers(c.set_baggage("user", "bob")).baggage, "user=bob,plain=1");
}

TEST(W3CContextTest, TraceparentWithTrailingOrLeadingWhitespaceIsAccepted) {
  for (const std::string& tp : {std::string(kValid) + " ", std::string(kValid) + "\t \t",
                                " " + std::string(kValid), "\t" + std::string(kValid) + " "}) {
    EXPECT_NO_THROW(w3c::parse_traceparent(tp)) << "'" << tp << "'";
    EXPECT_TRUE(from_w3c_headers(tp).has_span()) << "'" << tp << "'";
  }
}

}  // namespace
}  // namespace dagstack::logger

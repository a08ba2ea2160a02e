// trace_ids_test.cpp: TraceId and SpanId hex and byte helpers (contract §1.6).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/trace_ids.h"

namespace dagstack::logger {
namespace {

constexpr const char* kTraceHex = "0123456789abcdef0123456789abcdef";
constexpr const char* kSpanHex = "0123456789abcdef";

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

TEST(TraceIdTest, KnownHex) {
  const TraceId id = TraceId::from_hex(kTraceHex);
  const std::array<std::uint8_t, 16> expected = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                                 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_EQ(id.bytes, expected);
  EXPECT_EQ(id.to_hex(), kTraceHex);
  EXPECT_TRUE(id.valid());
}

TEST(TraceIdTest, ToHexIntoBuffer) {
  const TraceId id = TraceId::from_hex(kTraceHex);
  char buf[33] = {};
  id.to_hex(buf);
  EXPECT_EQ(std::string(buf, 32), kTraceHex);
  EXPECT_EQ(buf[32], '\0');  // writes exactly 32 chars
}

TEST(TraceIdTest, UppercaseAcceptedLowercaseWritten) {
  const TraceId id = TraceId::from_hex("0123456789ABCDEF0123456789ABCDEF");
  EXPECT_EQ(id.to_hex(), kTraceHex);
}

TEST(TraceIdTest, AllZeroEncodesButIsInvalid) {
  const TraceId zero;
  EXPECT_FALSE(zero.valid());
  EXPECT_EQ(zero.to_hex(), std::string(32, '0'));
  EXPECT_EQ(TraceId::from_hex(std::string(32, '0')), zero);
  TraceId last;
  last.bytes[15] = 1;
  EXPECT_TRUE(last.valid());
  TraceId first;
  first.bytes[0] = 0x80;
  EXPECT_TRUE(first.valid());
}

TEST(TraceIdTest, WrongHexLength) {
  expect_invalid([] { TraceId::from_hex("abc"); }, "trace_id hex must be 32 chars, got 3");
  expect_invalid([] { TraceId::from_hex(""); }, "trace_id hex must be 32 chars, got 0");
  expect_invalid([] { TraceId::from_hex(std::string(33, 'a')); },
                 "trace_id hex must be 32 chars, got 33");
}

TEST(TraceIdTest, InvalidHexChars) {
  expect_invalid([] { TraceId::from_hex("0123456789abcdef0123456789abcdeg"); },
                 "trace_id hex contains invalid chars");
  expect_invalid([] { TraceId::from_hex(" 123456789abcdef0123456789abcdef"); },
                 "trace_id hex contains invalid chars");
  expect_invalid([] { TraceId::from_hex(std::string(32, '\0')); },
                 "trace_id hex contains invalid chars");
}

TEST(TraceIdTest, ErrorsAreConfigErrors) {
  EXPECT_THROW(TraceId::from_hex("zz"), ConfigError);
  EXPECT_THROW(TraceId::from_bytes(std::vector<std::uint8_t>(3)), ConfigError);
}

TEST(TraceIdTest, FromBytes) {
  std::vector<std::uint8_t> bytes(16);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(0xf0 + i);
  const TraceId id = TraceId::from_bytes(bytes);
  EXPECT_EQ(id.to_hex(), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  expect_invalid([] { TraceId::from_bytes(std::vector<std::uint8_t>(15)); },
                 "trace_id must be 16 bytes, got 15");
  expect_invalid([] { TraceId::from_bytes({}); }, "trace_id must be 16 bytes, got 0");
}

TEST(TraceIdTest, RoundTripsEveryByteValue) {
  for (int start = 0; start < 256; start += 16) {
    TraceId id;
    for (int i = 0; i < 16; ++i) id.bytes[i] = static_cast<std::uint8_t>(start + i);
    EXPECT_EQ(TraceId::from_hex(id.to_hex()), id);
    EXPECT_EQ(TraceId::from_bytes(id.bytes), id);
  }
}

TEST(SpanIdTest, KnownHex) {
  const SpanId id = SpanId::from_hex(kSpanHex);
  const std::array<std::uint8_t, 8> expected = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_EQ(id.bytes, expected);
  EXPECT_EQ(id.to_hex(), kSpanHex);
  char buf[16];
  id.to_hex(buf);
  EXPECT_EQ(std::string(buf, 16), kSpanHex);
  EXPECT_TRUE(id.valid());
}

TEST(SpanIdTest, AllZero) {
  const SpanId zero;
  EXPECT_FALSE(zero.valid());
  EXPECT_EQ(zero.to_hex(), std::string(16, '0'));
}

TEST(SpanIdTest, Errors) {
  expect_invalid([] { SpanId::from_hex(kTraceHex); }, "span_id hex must be 16 chars, got 32");
  expect_invalid([] { SpanId::from_hex("0123456789abcdeX"); }, "span_id hex contains invalid chars");
  expect_invalid([] { SpanId::from_bytes(std::vector<std::uint8_t>(16)); },
                 "span_id must be 8 bytes, got 16");
}

TEST(SpanIdTest, RoundTrip) {
  const std::vector<std::uint8_t> bytes = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0xff};
  const SpanId id = SpanId::from_bytes(bytes);
  EXPECT_EQ(id.to_hex(), "deadbeef000102ff");
  EXPECT_EQ(SpanId::from_hex(id.to_hex()), id);
}

}  // namespace
}  // namespace dagstack::logger

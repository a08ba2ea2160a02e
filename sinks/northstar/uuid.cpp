// uuid.cpp: deterministic v4-shaped UUIDs from trace/span ids (event ones time-ordered), random
// session UUIDs.
#include "dagstack/logger/northstar/uuid.h"

#include <array>
#include <cstring>
#include <mutex>
#include <random>

namespace dagstack::logger::northstar {
namespace {

std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// 128 bits hashed from a domain tag and a list of 64-bit words.
std::array<std::uint8_t, 16> hash128(std::uint64_t domain,
                                     std::initializer_list<std::uint64_t> words) noexcept {
  std::uint64_t h1 = mix64(0x6a09e667f3bcc908ull ^ domain);
  std::uint64_t h2 = mix64(0xbb67ae8584caa73bull + domain);
  for (std::uint64_t w : words) {
    h1 = mix64(h1 ^ w) + 0x9e3779b97f4a7c15ull;
    h2 = mix64(h2 + w * 0xff51afd7ed558ccdull) ^ (h1 >> 17);
  }
  h1 = mix64(h1 ^ h2);
  h2 = mix64(h2 ^ h1);
  std::array<std::uint8_t, 16> out{};
  std::memcpy(out.data(), &h1, 8);
  std::memcpy(out.data() + 8, &h2, 8);
  return out;
}

std::string format_v4(std::array<std::uint8_t, 16> b) {
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10xx
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[static_cast<std::size_t>(i)] >> 4]);
    s.push_back(kHex[b[static_cast<std::size_t>(i)] & 0x0f]);
  }
  return s;
}

std::uint64_t word(const std::uint8_t* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

constexpr std::uint64_t kRunDomain = 0x52554e0000000001ull;
constexpr std::uint64_t kSpanDomain = 0x5350414e00000002ull;
constexpr std::uint64_t kEventDomain = 0x4556454e54000003ull;
constexpr std::size_t kTimeBytes = 6;  // the time prefix of an event UUID

}  // namespace

std::string derive_run_uuid(const TraceId& t, const SpanId& s) {
  return format_v4(
      hash128(kRunDomain, {word(t.bytes.data()), word(t.bytes.data() + 8), word(s.bytes.data())}));
}

std::string derive_span_uuid(const TraceId& t, const SpanId& s) {
  return format_v4(
      hash128(kSpanDomain, {word(t.bytes.data()), word(t.bytes.data() + 8), word(s.bytes.data())}));
}

// The first 48 bits are the event's time in milliseconds since the epoch (big-endian, as in a
// UUIDv7), the other 74 free bits the hash: still v4-shaped and deterministic, and events sort by
// time, so a store's unique index on event ids (northstar-local's SQLite, the service's
// PostgreSQL) grows at its right edge instead of touching a random leaf page per insert.
std::string derive_event_uuid(const TraceId& t, const SpanId& s, std::uint64_t time_unix_nano,
                              std::uint64_t sequence) {
  std::array<std::uint8_t, 16> b =
      hash128(kEventDomain, {word(t.bytes.data()), word(t.bytes.data() + 8), word(s.bytes.data()),
                             time_unix_nano, sequence});
  const std::uint64_t ms = time_unix_nano / 1000000;
  for (std::size_t i = 0; i < kTimeBytes; ++i) {
    b[i] = static_cast<std::uint8_t>(ms >> (8 * (kTimeBytes - 1 - i)));
  }
  return format_v4(b);
}

std::string random_uuid_v4() {
  static std::mutex mu;
  static std::mt19937_64 rng{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  std::array<std::uint8_t, 16> b{};
  {
    std::lock_guard<std::mutex> lock(mu);
    std::uint64_t a = rng();
    std::uint64_t c = rng();
    std::memcpy(b.data(), &a, 8);
    std::memcpy(b.data() + 8, &c, 8);
  }
  return format_v4(b);
}

bool is_uuid_v4(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  if (s[14] != '4') return false;
  const char v = s[19];
  return v == '8' || v == '9' || v == 'a' || v == 'b';
}

}  // namespace dagstack::logger::northstar

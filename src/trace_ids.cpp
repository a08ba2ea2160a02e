// trace_ids.cpp: implements the `TraceId` and `SpanId` hex and byte helpers.
#include "dagstack/logger/trace_ids.h"

#include <algorithm>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dagstack/logger/config_error.h"

namespace dagstack::logger {
namespace {

// Two lowercase hex characters per byte value.
struct HexPairs {
  char chars[512];
};

constexpr HexPairs make_hex_pairs() {
  constexpr char kDigits[] = "0123456789abcdef";
  HexPairs t{};
  for (int i = 0; i < 256; ++i) {
    t.chars[2 * i] = kDigits[i >> 4];
    t.chars[2 * i + 1] = kDigits[i & 15];
  }
  return t;
}

constexpr HexPairs kHexPairs = make_hex_pairs();

constexpr int hex_nibble(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

#if defined(__SSE2__)
// The lowercase hex digits of 8 nibbles, one per byte (high nibble first), at once.
inline __m128i nibbles_to_hex(__m128i nibbles) noexcept {
  const __m128i letter = _mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9));
  const __m128i shift = _mm_and_si128(letter, _mm_set1_epi8('a' - '0' - 10));
  return _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), shift);
}
#endif

template <std::size_t N>
void bytes_to_hex(const std::array<std::uint8_t, N>& bytes, char* out) noexcept {
#if defined(__SSE2__)
  if constexpr (N == 8 || N == 16) {
    // Each byte split into its two nibbles, interleaved high first, then made digits.
    const __m128i low_nibble = _mm_set1_epi8(0x0f);
    const __m128i v = N == 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes.data()))
                              : _mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes.data()));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low_nibble);
    const __m128i lo = _mm_and_si128(v, low_nibble);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), nibbles_to_hex(_mm_unpacklo_epi8(hi, lo)));
    if constexpr (N == 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16),
                       nibbles_to_hex(_mm_unpackhi_epi8(hi, lo)));
    }
    return;
  }
#endif
  for (std::size_t i = 0; i < N; ++i) std::memcpy(out + 2 * i, kHexPairs.chars + 2 * bytes[i], 2);
}

template <std::size_t N>
std::array<std::uint8_t, N> hex_to_bytes(std::string_view hex, const char* name) {
  if (hex.size() != 2 * N) {
    throw ConfigError(std::string(name) + " hex must be " + std::to_string(2 * N) + " chars, got " +
                      std::to_string(hex.size()));
  }
  std::array<std::uint8_t, N> bytes{};
  for (std::size_t i = 0; i < N; ++i) {
    int hi = hex_nibble(hex[2 * i]);
    int lo = hex_nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) throw ConfigError(std::string(name) + " hex contains invalid chars");
    bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return bytes;
}

template <std::size_t N>
std::array<std::uint8_t, N> copy_bytes(std::span<const std::uint8_t> in, const char* name) {
  if (in.size() != N) {
    throw ConfigError(std::string(name) + " must be " + std::to_string(N) + " bytes, got " +
                      std::to_string(in.size()));
  }
  std::array<std::uint8_t, N> bytes{};
  std::copy(in.begin(), in.end(), bytes.begin());
  return bytes;
}

template <std::size_t N>
bool any_nonzero(const std::array<std::uint8_t, N>& bytes) noexcept {
  static_assert(N % 8 == 0);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < N; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    acc |= word;
  }
  return acc != 0;
}

}  // namespace

bool TraceId::valid() const noexcept { return any_nonzero(bytes); }

std::string TraceId::to_hex() const {
  std::string s(32, '\0');
  bytes_to_hex(bytes, s.data());
  return s;
}

void TraceId::to_hex(char* out) const noexcept { bytes_to_hex(bytes, out); }

TraceId TraceId::from_hex(std::string_view hex) {
  return TraceId{hex_to_bytes<16>(hex, "trace_id")};
}

TraceId TraceId::from_bytes(std::span<const std::uint8_t> in) {
  return TraceId{copy_bytes<16>(in, "trace_id")};
}

bool SpanId::valid() const noexcept { return any_nonzero(bytes); }

std::string SpanId::to_hex() const {
  std::string s(16, '\0');
  bytes_to_hex(bytes, s.data());
  return s;
}

void SpanId::to_hex(char* out) const noexcept { bytes_to_hex(bytes, out); }

SpanId SpanId::from_hex(std::string_view hex) { return SpanId{hex_to_bytes<8>(hex, "span_id")}; }

SpanId SpanId::from_bytes(std::span<const std::uint8_t> in) {
  return SpanId{copy_bytes<8>(in, "span_id")};
}

}  // namespace dagstack::logger

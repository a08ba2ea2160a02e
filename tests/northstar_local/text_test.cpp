// text_test.cpp: decode_utf8_lossy() (TextDecoder semantics) against a plain code-point decoder,
// on the edge cases of the WHATWG algorithm and on random bytes.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "src/text.h"

namespace nsl_test {
namespace {

using northstar_local::detail::decode_utf8_lossy;

void append_code_point(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The WHATWG UTF-8 decoder one byte at a time, building code points and re-encoding them.
std::string reference_decode(const std::string& bytes) {
  std::string out;
  std::size_t i = 0;
  if (bytes.rfind("\xEF\xBB\xBF", 0) == 0) i = 3;
  char32_t cp = 0;
  int needed = 0, seen = 0;
  unsigned char lower = 0x80, upper = 0xBF;
  while (i < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (needed == 0) {
      ++i;
      if (b < 0x80) {
        out.push_back(static_cast<char>(b));
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
        cp = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower = 0xA0;
        if (b == 0xED) upper = 0x9F;
        needed = 2;
        cp = b & 0x0F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower = 0x90;
        if (b == 0xF4) upper = 0x8F;
        needed = 3;
        cp = b & 0x07;
      } else {
        append_code_point(out, 0xFFFD);
      }
      continue;
    }
    if (b < lower || b > upper) {
      // The byte is read again as the start of the next sequence.
      cp = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xBF;
      append_code_point(out, 0xFFFD);
      continue;
    }
    ++i;
    lower = 0x80;
    upper = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    if (++seen == needed) {
      append_code_point(out, cp);
      cp = 0;
      needed = seen = 0;
    }
  }
  if (needed != 0) append_code_point(out, 0xFFFD);
  return out;
}

TEST(TextTest, DecodeUtf8LossyEdgeCases) {
  const std::vector<std::string> cases = {
      "",
      "plain ascii {\"a\":1}",
      "\xEF\xBB\xBFwith a BOM",
      "\xEF\xBB\xBF",
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\x8E",  // 2-, 3- and 4-byte sequences
      "\xC0\x80",                                   // overlong NUL
      "\xC1\xBF",                                   // overlong
      "\xE0\x80\x80",                               // overlong 3-byte
      "\xED\xA0\x80",                               // a surrogate
      "\xF0\x8F\xBF\xBF",                           // overlong 4-byte
      "\xF4\x90\x80\x80",                           // past U+10FFFF
      "\xF5\x80",                                   // never a lead byte
      "\xFF\xFE",
      "\x80 lone continuation",
      "cut at the end \xE2\x82",
      "cut then ascii \xF0\x9F\x92z",
      "\xE2\x82\xE2\x82\xAC",  // a cut sequence followed by a whole one
  };
  for (const std::string& bytes : cases) {
    EXPECT_EQ(decode_utf8_lossy(bytes), reference_decode(bytes)) << "case: " << bytes;
  }
}

TEST(TextTest, DecodeUtf8LossyMatchesTheReferenceOnRandomBytes) {
  std::mt19937 rng(20260610);
  // Mostly ASCII with bursts of high bytes, as real payloads with bad bytes look.
  std::uniform_int_distribution<int> any(0, 255), pick(0, 9), length(0, 64);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    const int n = length(rng);
    for (int k = 0; k < n; ++k) {
      bytes.push_back(static_cast<char>(pick(rng) < 6 ? 0x20 + any(rng) % 0x5F : any(rng)));
    }
    ASSERT_EQ(decode_utf8_lossy(bytes), reference_decode(bytes)) << "round " << round;
  }
}

}  // namespace
}  // namespace nsl_test

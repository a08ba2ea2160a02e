// canonical_json_test.cpp: the canonical JSON encoder (contract §1.5): primitives, Python-repr
// floats, escaping, U+FFFD replacement, UTF-16 key order and the non-finite number errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger {
namespace {

std::string encode(const Value& v) {
  std::string out;
  EXPECT_TRUE(append_canonical_json(v, out));
  return out;
}

std::string encode_double(double d) {
  std::string out;
  EXPECT_TRUE(append_canonical_double(d, out));
  return out;
}

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(s, out);
  return out;
}

// ---- primitives --------------------------------------------------------------------------

TEST(CanonicalJsonTest, Primitives) {
  EXPECT_EQ(encode(Value()), "null");
  EXPECT_EQ(encode(Value(true)), "true");
  EXPECT_EQ(encode(Value(false)), "false");
  EXPECT_EQ(encode(Value("hi")), "\"hi\"");
  EXPECT_EQ(encode(Value("")), "\"\"");
}

TEST(CanonicalJsonTest, Integers) {
  EXPECT_EQ(encode(Value(0)), "0");
  EXPECT_EQ(encode(Value(1)), "1");
  EXPECT_EQ(encode(Value(-1)), "-1");
  EXPECT_EQ(encode(Value(1234)), "1234");
  EXPECT_EQ(encode(Value(std::numeric_limits<std::int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(encode(Value(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
}

// The encoder writes short numbers from a table and long ones in groups of eight digits: every
// digit count and group boundary, both signs, against std::to_string.
TEST(CanonicalJsonTest, IntegersAtEveryDigitCountMatchToString) {
  std::vector<std::uint64_t> values = {0, std::numeric_limits<std::uint64_t>::max()};
  std::uint64_t p = 1;
  for (int digits = 1; digits <= 19; ++digits, p *= 10) {
    for (const std::uint64_t v : {p - 1, p, p + 1, 2 * p - 1, 9 * p + 7}) values.push_back(v);
  }
  std::mt19937_64 rng(31337);
  for (int i = 0; i < 20000; ++i) values.push_back(rng() >> (rng() % 64));
  for (const std::uint64_t u : values) {
    ASSERT_EQ(encode(Value(u)), std::to_string(u)) << u;
    const auto i = static_cast<std::int64_t>(u);
    ASSERT_EQ(encode(Value(i)), std::to_string(i)) << i;
    std::string out;
    ASSERT_TRUE(append_canonical_json(AttrValue(u), out));
    ASSERT_EQ(out, std::to_string(u));
  }
}

TEST(CanonicalJsonTest, IntegerAndDoubleDiffer) {
  EXPECT_EQ(encode(Value(1)), "1");
  EXPECT_EQ(encode(Value(1.0)), "1.0");
}

TEST(CanonicalJsonTest, NonAsciiWrittenRaw) {
  EXPECT_EQ(encode(Value("привет")), "\"привет\"");
  EXPECT_EQ(encode(Value("💎 ä 𠀀")), "\"💎 ä 𠀀\"");
}

TEST(CanonicalJsonTest, EmptyContainers) {
  EXPECT_EQ(encode(Value(Value::Array{})), "[]");
  EXPECT_EQ(encode(Value(Value::Map{})), "{}");
}

TEST(CanonicalJsonTest, NoWhitespaceAndArraysKeepOrder) {
  const Value v =
      Value::map({{"b", Value::array({3, 1, 2})}, {"a", Value::map({{"y", 1}, {"x", 2}})}});
  EXPECT_EQ(encode(v), R"({"a":{"x":2,"y":1},"b":[3,1,2]})");
}

TEST(CanonicalJsonTest, ToCanonicalJson) {
  EXPECT_EQ(to_canonical_json(Value::map({{"k", 1.5}})), R"({"k":1.5})");
}

// ---- doubles -----------------------------------------------------------------------------

struct DoubleCase {
  double value;
  const char* text;
};

// Expected texts are Python 3 repr() of the same doubles.
constexpr DoubleCase kDoubleCases[] = {
    {0.1, "0.1"},
    {0.30000000000000004, "0.30000000000000004"},
    {0.3333333333333333, "0.3333333333333333"},
    {100.0, "100.0"},
    {1.5, "1.5"},
    {-1.5, "-1.5"},
    {0.5, "0.5"},
    {1.5e-07, "1.5e-07"},
    {1234567.0, "1234567.0"},
    {1e+16, "1e+16"},
    {1e+21, "1e+21"},
    {1e+22, "1e+22"},
    {1e+23, "1e+23"},
    {1e+100, "1e+100"},
    {-1e-100, "-1e-100"},
    {1000000000000000.0, "1000000000000000.0"},
    {9999999999999998.0, "9999999999999998.0"},
    {9007199254740992.0, "9007199254740992.0"},
    {9007199254740994.0, "9007199254740994.0"},
    {9223372036854775808.0, "9.223372036854776e+18"},
    {0.0001, "0.0001"},
    {0.00011, "0.00011"},
    {0.00015000000000000001, "0.00015000000000000001"},
    {1e-05, "1e-05"},
    {9.999e-05, "9.999e-05"},
    {5e-324, "5e-324"},
    {1.7976931348623157e+308, "1.7976931348623157e+308"},
    {2.2250738585072014e-308, "2.2250738585072014e-308"},
    {1.2345678901234568e+17, "1.2345678901234568e+17"},
    {3.14159, "3.14159"},
    {12345.6789, "12345.6789"},
    {4.35, "4.35"},
    {9.5367431640625e-07, "9.5367431640625e-07"},
    {-1.989032661366619e+244, "-1.989032661366619e+244"},
    {3.980498358697587e-249, "3.980498358697587e-249"},
    {6.294675241195386e-44, "6.294675241195386e-44"},
    {6.387016158513563e-12, "6.387016158513563e-12"},
    {-1.5096162171497206e+17, "-1.5096162171497206e+17"},
    {0.013090738838615935, "0.013090738838615935"},
    {2612518314.634742, "2612518314.634742"},
    {1.1332979587418524e-05, "1.1332979587418524e-05"},
    {-4.207814273366475e-05, "-4.207814273366475e-05"},
    {813717710.6428494, "813717710.6428494"},
    {3.6400538952240917e-06, "3.6400538952240917e-06"},
    {163200327324.9325, "163200327324.9325"},
};

TEST(CanonicalJsonTest, DoublesFollowPythonRepr) {
  for (const DoubleCase& c : kDoubleCases) {
    EXPECT_EQ(encode_double(c.value), c.text) << c.text;
    EXPECT_EQ(encode(Value(c.value)), c.text) << c.text;
  }
}

TEST(CanonicalJsonTest, NegativeZeroIsZero) {
  EXPECT_EQ(encode_double(-0.0), "0.0");
  EXPECT_EQ(encode_double(0.0), "0.0");
  EXPECT_EQ(encode(Value::array({-0.0})), "[0.0]");
}

// Every finite double: the text parses back to the same bits, and its shape follows the rules.
TEST(CanonicalJsonTest, RandomDoublesRoundTripAndFollowTheShapeRules) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d) || d == 0.0) continue;
    const std::string text = encode_double(d);
    double back = 0;
    const auto res = std::from_chars(text.data(), text.data() + text.size(), back);
    ASSERT_EQ(res.ec, std::errc()) << text;
    ASSERT_EQ(res.ptr, text.data() + text.size()) << text;
    ASSERT_EQ(back, d) << text;
    const int exp10 = static_cast<int>(std::floor(std::log10(std::fabs(d))));
    const bool has_exp = text.find('e') != std::string::npos;
    // log10 can be off by one right at powers of ten; only check clear cases.
    if (exp10 >= -3 && exp10 <= 14) {
      ASSERT_FALSE(has_exp) << text;
      ASSERT_NE(text.find('.'), std::string::npos) << text;
    } else if (exp10 <= -6 || exp10 >= 17) {
      ASSERT_TRUE(has_exp) << text;
      const auto e = text.find('e');
      ASSERT_TRUE(text[e + 1] == '+' || text[e + 1] == '-') << text;
      ASSERT_GE(text.size() - e - 2, 2u) << text;
    }
  }
}

// Python repr() rebuilt with plain string operations from std::to_chars's shortest digits.
std::string reference_repr(double d) {
  if (d == 0.0) return "0.0";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);
  const auto e = sci.find('e');
  const int exp10 = std::stoi(sci.substr(e + 1));
  if (exp10 < -4 || exp10 >= 16) return sci;
  std::string sign = sci[0] == '-' ? "-" : "";
  std::string digits;
  for (char c : sci.substr(sign.size(), e - sign.size())) {
    if (c != '.') digits += c;
  }
  if (exp10 < 0)
    return sign + "0." + std::string(static_cast<std::size_t>(-exp10 - 1), '0') + digits;
  const auto int_digits = static_cast<std::size_t>(exp10) + 1;
  if (digits.size() <= int_digits)
    return sign + digits + std::string(int_digits - digits.size(), '0') + ".0";
  return sign + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

TEST(CanonicalJsonTest, ShortDecimalsMatchTheReference) {
  std::mt19937_64 rng(777);
  const double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  for (int i = 0; i < 300000; ++i) {
    // Integers of 1 to 16 digits scaled by 10^-k: the values people log (12.5, 0.25, 99.95).
    const int digits = 1 + static_cast<int>(rng() % 16);
    std::uint64_t bound = 1;
    for (int k = 0; k < digits; ++k) bound *= 10;
    const auto m = static_cast<double>(rng() % bound);
    const double d = (rng() & 1 ? -1 : 1) * m / kPow10[rng() % 7];
    ASSERT_EQ(encode_double(d), reference_repr(d)) << reference_repr(d);
  }
  for (double d : {0.001, 0.002, 0.0015, 0.1, 0.25, 12.5, 99.95, 999999999999999.9, 1e15 - 1, 1e15,
                   1e15 + 0.5, 0.000999, 123456789012.345, 0.30000000000000004}) {
    EXPECT_EQ(encode_double(d), reference_repr(d)) << reference_repr(d);
    EXPECT_EQ(encode_double(-d), reference_repr(-d)) << reference_repr(-d);
  }
}

TEST(CanonicalJsonTest, RandomBitPatternsMatchTheReference) {
  std::mt19937_64 rng(4242);
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    ASSERT_EQ(encode_double(d), reference_repr(d));
  }
}

TEST(CanonicalJsonTest, NonFiniteDoubles) {
  const double kNonFinite[] = {std::numeric_limits<double>::quiet_NaN(),
                               std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity()};
  for (double d : kNonFinite) {
    std::string out = "x";
    EXPECT_FALSE(append_canonical_double(d, out));
    EXPECT_EQ(out, "x");  // nothing written

    out.clear();
    EXPECT_FALSE(append_canonical_json(Value(d), out));
    EXPECT_EQ(out, "null");

    out.clear();
    EXPECT_FALSE(append_canonical_json(Value::map({{"a", d}, {"b", 1}}), out));
    EXPECT_EQ(out, R"({"a":null,"b":1})");

    out.clear();
    EXPECT_FALSE(append_canonical_json(AttrValue(d), out));
    EXPECT_EQ(out, "null");

    EXPECT_THROW(to_canonical_json(Value::array({1, d})), std::invalid_argument);
    EXPECT_THROW(to_canonical_json(Value(d)), ConfigError);
  }
}

// ---- strings -----------------------------------------------------------------------------

TEST(CanonicalJsonTest, ShortEscapes) {
  EXPECT_EQ(json_string("\""), R"("\"")");
  EXPECT_EQ(json_string("\\"), R"("\\")");
  EXPECT_EQ(json_string("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(json_string("a\"b\\c\nd"), R"("a\"b\\c\nd")");
}

TEST(CanonicalJsonTest, OtherControlsAsLowercaseUnicodeEscapes) {
  EXPECT_EQ(json_string(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(json_string("\x01"), R"("\u0001")");
  EXPECT_EQ(json_string("\x0b"), R"("\u000b")");
  EXPECT_EQ(json_string("\x1f"), R"("\u001f")");
  EXPECT_EQ(json_string("\x1a;\x03"), R"("\u001a;\u0003")");
  for (int c = 0; c < 0x20; ++c) {
    const std::string s = json_string(std::string(1, static_cast<char>(c)));
    EXPECT_TRUE(s.size() == 4 || s.size() == 8) << c;
    EXPECT_EQ(s[1], '\\') << c;
  }
}

TEST(CanonicalJsonTest, DelAndLineSeparatorsStayRaw) {
  EXPECT_EQ(json_string("\x7f"), "\"\x7f\"");
  EXPECT_EQ(json_string("\u2028\u2029"), "\"\u2028\u2029\"");
  EXPECT_EQ(json_string("/<>&'"), "\"/<>&'\"");
}

TEST(CanonicalJsonTest, LongStringsTakeEveryPath) {
  // Long enough for the 8-byte scan, with specials at every offset.
  const std::string base = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (std::size_t pos = 0; pos < base.size(); ++pos) {
    for (const char* special : {"\"", "\\", "\n", "\x01", "é", "\xff"}) {
      std::string s = base;
      s.insert(pos, special);
      std::string expected = base;
      const std::string escaped = std::string(special) == "\""     ? "\\\""
                                  : std::string(special) == "\\"   ? "\\\\"
                                  : std::string(special) == "\n"   ? "\\n"
                                  : std::string(special) == "\x01" ? "\\u0001"
                                  : std::string(special) == "\xff" ? "\xEF\xBF\xBD"
                                                                   : std::string(special);
      expected.insert(pos, escaped);
      EXPECT_EQ(json_string(s), "\"" + expected + "\"") << pos << " " << special;
    }
  }
}

// Escapes well-formed UTF-8 byte by byte: the rules of §1.5, written the simple way.
std::string reference_json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

TEST(CanonicalJsonTest, RandomStringsMatchTheReferenceEscaper) {
  std::mt19937 rng(2024);
  const char* pieces[] = {
      "a",  "b",      "Z",  " ",          "~",      "\x7f",     "\"",
      "\\", "\n",     "\t", "\x01",       "\x1f",   "é",        "я",
      "€",  "\u2028", "💎",  "\U0010FFFF", "\ufffd", "abcdefgh", "0123456789abcdef"};
  std::uniform_int_distribution<std::size_t> pick(0, std::size(pieces) - 1);
  for (int i = 0; i < 20000; ++i) {
    // Mostly short strings (every tail length), some past the encoder's staging buffer.
    const std::size_t count = i % 100 == 0 ? 3000 : static_cast<std::size_t>(rng() % 24);
    std::string s;
    for (std::size_t k = 0; k < count; ++k) s += pieces[pick(rng)];
    ASSERT_EQ(json_string(s), reference_json_string(s));
    // Also as a key and inside a record-sized document.
    ASSERT_EQ(encode(Value::map({{s, s}})),
              "{" + reference_json_string(s) + ":" + reference_json_string(s) + "}");
  }
}

TEST(CanonicalJsonTest, EveryLengthAndSpecialPosition) {
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";
  for (std::size_t len = 0; len <= alphabet.size(); ++len) {
    const std::string base = alphabet.substr(0, len);
    ASSERT_EQ(json_string(base), "\"" + base + "\"");
    for (std::size_t pos = 0; pos <= len; ++pos) {
      for (const char* special : {"\"", "\\", "\x02", "ä", "\xff"}) {
        std::string s = base;
        s.insert(pos, special);
        std::string expected = base;
        expected.insert(pos, std::string(special) == "\xff"
                                 ? "\uFFFD"
                                 : reference_json_string(special).substr(
                                       1, reference_json_string(special).size() - 2));
        ASSERT_EQ(json_string(s), "\"" + expected + "\"") << len << " " << pos;
      }
    }
  }
}

struct Utf8Case {
  const char* input;
  const char* expected;
};

TEST(CanonicalJsonTest, InvalidUtf8BecomesReplacementCharacters) {
  // One U+FFFD per maximal subpart of an ill-formed sequence (Unicode §3.9).
  const Utf8Case cases[] = {
      {"\x80", "\uFFFD"},  // lone continuation byte
      {"a\xbf"
       "b",
       "a\uFFFD"
       "b"},                                             // lone continuation byte in text
      {"\xc3", "\uFFFD"},                                // truncated 2-byte sequence at the end
      {"\xc3(", "\uFFFD("},                              // truncated 2-byte sequence
      {"\xe2\x82", "\uFFFD"},                            // truncated 3-byte sequence: one U+FFFD
      {"\xe2\x82z", "\uFFFDz"},                          //
      {"\xf0\x9f\x92", "\uFFFD"},                        // truncated 4-byte sequence
      {"\xc0\xaf", "\uFFFD\uFFFD"},                      // overlong '/': C0 is never valid
      {"\xe0\x80\xaf", "\uFFFD\uFFFD\uFFFD"},            // overlong 3-byte
      {"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},            // UTF-16 surrogate D800 (CESU)
      {"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},  // above U+10FFFF
      {"\xf5\x80", "\uFFFD\uFFFD"},                      // F5 is never valid
      {"\xff\xfe", "\uFFFD\uFFFD"},                      //
      {"\xef\xbf\xbd", "\uFFFD"},                        // a real U+FFFD stays
      {"ok\xe2\x82\xac\xe2\x82", "ok\u20AC\uFFFD"},      // valid then truncated
  };
  for (const Utf8Case& c : cases) {
    EXPECT_EQ(json_string(c.input), std::string("\"") + c.expected + "\"") << c.input;
  }
}

TEST(CanonicalJsonTest, ValidUtf8Boundaries) {
  const char* valid[] = {"\u0080", "\u07ff", "\u0800",     "\ud7ff",
                         "\ue000", "\uffff", "\U00010000", "\U0010FFFF"};
  for (const char* s : valid) EXPECT_EQ(json_string(s), std::string("\"") + s + "\"");
}

TEST(CanonicalJsonTest, InvalidUtf8InKeysIsReplacedToo) {
  const Value v = Value::map({{"k\xff", 1}});
  EXPECT_EQ(encode(v), "{\"k\uFFFD\":1}");
}

TEST(CanonicalJsonTest, KeysThatCollideAfterReplacementAreWrittenOnce) {
  // "\xfe" and "\xff" both become U+FFFD; the last in map order wins.
  const Value v = Value::map({{"\xfe", 1}, {"\xff", 2}, {"a", 0}});
  EXPECT_EQ(encode(v), "{\"a\":0,\"\uFFFD\":2}");
}

TEST(CanonicalJsonTest, KeysNeedEscaping) {
  const Value v = Value::map({{"a\"b", 1}, {"\n", 2}});
  EXPECT_EQ(encode(v), R"({"\n":2,"a\"b":1})");
}

// ---- key order ---------------------------------------------------------------------------

TEST(CanonicalJsonTest, RecursiveKeySort) {
  const Value v = Value::map({{"z", Value::map({{"b", 1}, {"a", 2}})}, {"a", 0}});
  EXPECT_EQ(encode(v), R"({"a":0,"z":{"a":2,"b":1}})");
}

TEST(CanonicalJsonTest, CyrillicAfterAscii) {
  const Value v = Value::map({{"я", 1}, {"z", 2}});
  EXPECT_EQ(encode(v), "{\"z\":2,\"я\":1}");
}

TEST(CanonicalJsonTest, Utf16OrderFixtures) {
  EXPECT_EQ(encode(Value::map({{"aa", 1}, {"💎", 2}, {"ab", 3}, {"äz", 4}, {"🍕", 5}})),
            "{\"aa\":1,\"ab\":3,\"äz\":4,\"🍕\":5,\"💎\":2}");
  EXPECT_EQ(encode(Value::map({{"z", 1}, {"🍕", 2}})), "{\"z\":1,\"🍕\":2}");
  // U+20000 (surrogates D840 DC00) before U+E000: UTF-8 byte order gets this wrong.
  EXPECT_EQ(encode(Value::map({{"\ue000", 1}, {"\U00020000", 2}})),
            "{\"\U00020000\":2,\"\ue000\":1}");
}

TEST(CanonicalJsonTest, ManyKeysNeedingSortUseTheHeapPath) {
  Value::Map m;
  std::string expected = "{";
  for (int i = 0; i < 20; ++i) {
    // Keys "k<i>" followed by U+E000 or U+1F355; the supplementary ones sort first per index.
    const std::string idx = (i < 10 ? "0" : "") + std::to_string(i);
    m.emplace("k" + idx + "\ue000", i);
    m.emplace("k" + idx + "\U0001F355", 100 + i);
  }
  for (int i = 0; i < 20; ++i) {
    const std::string idx = (i < 10 ? "0" : "") + std::to_string(i);
    if (i > 0) expected += ",";
    expected += "\"k" + idx + "\U0001F355\":" + std::to_string(100 + i) + ",\"k" + idx +
                "\ue000\":" + std::to_string(i);
  }
  expected += "}";
  EXPECT_EQ(encode(Value(m)), expected);
}

TEST(CanonicalJsonTest, MixedKeyClasses) {
  const Value::Map m = {{"b", 1}, {"a", 2}, {"\ue000", 3}, {"\U00020000", 4},
                        {"ä", 5}, {"", 6},  {"aa", 7}};
  EXPECT_EQ(encode(Value(m)),
            "{\"\":6,\"a\":2,\"aa\":7,\"b\":1,\"ä\":5,\"\U00020000\":4,\"\ue000\":3}");
}

TEST(CanonicalJsonTest, AttrValueEncoding) {
  const Value nested = Value::map({{"b", 1}, {"a", Value::array({true, nullptr})}});
  auto enc = [](const AttrValue& v) {
    std::string out;
    EXPECT_TRUE(append_canonical_json(v, out));
    return out;
  };
  EXPECT_EQ(enc(AttrValue()), "null");
  EXPECT_EQ(enc(AttrValue(true)), "true");
  EXPECT_EQ(enc(AttrValue(false)), "false");
  EXPECT_EQ(enc(AttrValue(-42)), "-42");
  EXPECT_EQ(enc(AttrValue(2.0)), "2.0");
  EXPECT_EQ(enc(AttrValue("q\"")), R"("q\"")");
  EXPECT_EQ(enc(AttrValue(nested)), R"({"a":[true,null],"b":1})");
}

TEST(CanonicalJsonTest, AppendsWithoutClearing) {
  std::string out = "prefix:";
  append_canonical_json(Value(1), out);
  EXPECT_EQ(out, "prefix:1");
}

// ---- utf16_less --------------------------------------------------------------------------

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void append_utf16(char32_t cp, std::u16string& out) {
  if (cp < 0x10000) {
    out += static_cast<char16_t>(cp);
  } else {
    out += static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10));
    out += static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF));
  }
}

TEST(Utf16LessTest, Basics) {
  EXPECT_TRUE(utf16_less("", "a"));
  EXPECT_FALSE(utf16_less("a", ""));
  EXPECT_FALSE(utf16_less("a", "a"));
  EXPECT_TRUE(utf16_less("a", "aa"));
  EXPECT_TRUE(utf16_less("a", "b"));
  EXPECT_TRUE(utf16_less("Z", "a"));
  EXPECT_TRUE(utf16_less("z", "ä"));
  EXPECT_TRUE(utf16_less("\U00020000", "\ue000"));
  EXPECT_FALSE(utf16_less("\ue000", "\U00020000"));
  EXPECT_TRUE(utf16_less("\ud7ff", "\U00010000"));
  EXPECT_TRUE(utf16_less("\U0001F355", "\U0001F48E"));
  EXPECT_TRUE(utf16_less("\U0010FFFF", "\uffff"));
}

TEST(Utf16LessTest, IllFormedComparesAsReplacementCharacter) {
  EXPECT_FALSE(utf16_less("\xff", "\xef\xbf\xbd"));
  EXPECT_FALSE(utf16_less("\xef\xbf\xbd", "\xff"));
  EXPECT_TRUE(utf16_less("\U00010000", "\xff"));        // D800 < FFFD
  EXPECT_TRUE(utf16_less("\xe2\x82\xac", "\xe2\x82"));  // U+20AC < U+FFFD
  EXPECT_FALSE(utf16_less("\xe2\x82", "\xe2\x82\xac"));
  EXPECT_TRUE(utf16_less("\xe2\x82",
                         "\xe2\x82"
                         "A"));                 // U+FFFD is a prefix of U+FFFD 'A'
  EXPECT_TRUE(utf16_less("\xc3\xa4", "\x80"));  // U+00E4 < U+FFFD despite 0xC3 > 0x80
}

TEST(Utf16LessTest, MatchesUtf16CodeUnitOrderOnRandomStrings) {
  std::mt19937 rng(99);
  // Code points from every UTF-8 length class and both sides of the surrogate gap.
  const char32_t pool[] = {'a',     'b',     'z',     0x7f,    0xe4,     0x44f,   0x7ff,
                           0x800,   0x20ac,  0xd7ff,  0xe000,  0xe001,   0xfffd,  0xffff,
                           0x10000, 0x1f355, 0x1f48e, 0x20000, 0x10fffd, 0x10ffff};
  std::uniform_int_distribution<std::size_t> pick(0, std::size(pool) - 1);
  std::uniform_int_distribution<int> len(0, 4);
  for (int i = 0; i < 50000; ++i) {
    std::string a8, b8;
    std::u16string a16, b16;
    const int shared = len(rng);
    for (int k = 0; k < shared; ++k) {
      const char32_t cp = pool[pick(rng)];
      append_utf8(cp, a8);
      append_utf8(cp, b8);
      append_utf16(cp, a16);
      append_utf16(cp, b16);
    }
    for (int k = len(rng); k > 0; --k) {
      const char32_t cp = pool[pick(rng)];
      append_utf8(cp, a8);
      append_utf16(cp, a16);
    }
    for (int k = len(rng); k > 0; --k) {
      const char32_t cp = pool[pick(rng)];
      append_utf8(cp, b8);
      append_utf16(cp, b16);
    }
    ASSERT_EQ(utf16_less(a8, b8), a16 < b16) << a8 << " vs " << b8;
    ASSERT_EQ(utf16_less(b8, a8), b16 < a16) << b8 << " vs " << a8;
  }
}

}  // namespace
}  // namespace dagstack::logger

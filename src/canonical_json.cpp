// canonical_json.cpp: implements the canonical JSON encoder (contract §1.5) and the dagstack
// JSON-lines record encoder (contract §1.4). Output is staged in a stack buffer and appended to
// the caller's string: no temporaries, and no heap allocation unless an object has more than
// kInlineKeys keys that need sorting.
#include "dagstack/logger/canonical_json.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "dagstack/logger/config_error.h"

namespace dagstack::logger {
namespace detail {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8
constexpr char32_t kBadSequence = 0x110000;      // decoder result for an ill-formed sequence
constexpr std::size_t kInlineKeys = 16;          // keys sorted without touching the heap

// Writer
//
// Stages output in a stack buffer and hands it to the caller's string in large appends:
// std::string::push_back/append are out-of-line calls, and a record is made of dozens of small
// pieces. Call flush() before the target string is read.
class Writer {
 public:
  static constexpr std::size_t kCapacity = 512;

  explicit Writer(std::string& out) noexcept : out_(out) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void put(char c) {
    if (size_ == kCapacity) flush();
    buf_[size_++] = c;
  }
  void write(const char* p, std::size_t n) {
    if (n > kCapacity - size_) {
      flush();
      if (n > kCapacity) {
        out_.append(p, n);
        return;
      }
    }
    std::memcpy(buf_ + size_, p, n);
    size_ += n;
  }
  void write(std::string_view s) { write(s.data(), s.size()); }
  // A string literal: a copy of a size known at compile time, inlined.
  template <std::size_t N>
  [[gnu::always_inline]] void literal(const char (&lit)[N]) {
    static_assert(N - 1 <= kCapacity);
    if (N - 1 > kCapacity - size_) flush();
    std::memcpy(buf_ + size_, lit, N - 1);
    size_ += N - 1;
  }
  // Room for `n` (<= kCapacity) more bytes; write them at the pointer, then commit().
  char* reserve(std::size_t n) {
    if (n > kCapacity - size_) flush();
    return buf_ + size_;
  }
  void commit(const char* end) noexcept { size_ = static_cast<std::size_t>(end - buf_); }
  void flush() {
    out_.append(buf_, size_);
    size_ = 0;
  }

 private:
  std::string& out_;
  std::size_t size_ = 0;
  char buf_[kCapacity];
};

// Decodes one UTF-8 sequence at p[0..n) (n >= 1) and returns its length. An ill-formed sequence
// yields kBadSequence and the length of its maximal subpart (Unicode §3.9, "U+FFFD substitution
// of maximal subparts"), so each such subpart becomes exactly one U+FFFD.
inline std::size_t decode_utf8(const unsigned char* p, std::size_t n, char32_t& cp) noexcept {
  const unsigned c = p[0];
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t len;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  char32_t v;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;  // no overlongs
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
    if (c == 0xF0) lo = 0x90;  // no overlongs
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    cp = kBadSequence;
    return 1;
  }
  for (std::size_t i = 1; i < len; ++i) {
    if (i >= n || p[i] < lo || p[i] > hi) {
      cp = kBadSequence;
      return i;
    }
    lo = 0x80;
    hi = 0xBF;
    v = (v << 6) | (p[i] & 0x3Fu);
  }
  cp = v;
  return len;
}

// The first UTF-16 code unit of a code point (the high surrogate for supplementary planes).
inline char32_t first_utf16_unit(char32_t cp) noexcept {
  return cp >= 0x10000 ? 0xD800 + ((cp - 0x10000) >> 10) : cp;
}

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighBits = 0x8080808080808080ull;
constexpr bool kLittleEndian = std::endian::native == std::endian::little;

// Loads the n < 8 bytes at p into the low bytes of a word whose other bytes are `fill`.
inline std::uint64_t load_tail(const char* p, std::size_t n, unsigned char fill) noexcept {
  std::uint64_t w = 0;
  std::size_t shift = 0;
  if (n & 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    w = v;
    p += 4;
    shift = 32;
  }
  if (n & 2) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    w |= static_cast<std::uint64_t>(v) << shift;
    p += 2;
    shift += 16;
  }
  if (n & 1) {
    w |= static_cast<std::uint64_t>(static_cast<unsigned char>(*p)) << shift;
    shift += 8;
  }
  return shift == 64 ? w : w | ((kOnes * fill) << shift);
}

// High bit set in each byte of w that a JSON string cannot carry verbatim (C0 controls, '"',
// '\\', non-ASCII). Bits above the first such byte may be spurious; the lowest one is exact.
inline std::uint64_t special_bytes(std::uint64_t w) noexcept {
  const std::uint64_t q = w ^ (kOnes * '"');
  const std::uint64_t bs = w ^ (kOnes * '\\');
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w;
  const std::uint64_t quote = (q - kOnes) & ~q;
  const std::uint64_t backslash = (bs - kOnes) & ~bs;
  return (below_space | quote | backslash | w) & kHighBits;
}

// Length of the prefix of s[0..n) that a JSON string can carry verbatim: printable ASCII other
// than '"' and '\\'. Eight bytes at a time.
inline std::size_t plain_ascii_prefix(const char* s, std::size_t n) noexcept {
  if constexpr (kLittleEndian) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (const std::uint64_t m = special_bytes(w)) {
        return i + static_cast<std::size_t>(std::countr_zero(m)) / 8;
      }
    }
    if (i == n) return n;
    const std::uint64_t m = special_bytes(load_tail(s + i, n - i, 'a'));
    return m == 0 ? n : i + static_cast<std::size_t>(std::countr_zero(m)) / 8;
  } else {
    std::size_t i = 0;
    for (; i < n; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
    }
    return i;
  }
}

// Index of the first byte where a and b differ, or n (both have at least n bytes).
inline std::size_t first_difference(const char* a, const char* b, std::size_t n) noexcept {
  std::size_t i = 0;
  if constexpr (kLittleEndian) {
    for (; i + 8 <= n; i += 8) {
      std::uint64_t x;
      std::uint64_t y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return i + static_cast<std::size_t>(std::countr_zero(x ^ y)) / 8;
    }
    if (i == n) return n;
    const std::uint64_t d = load_tail(a + i, n - i, 0) ^ load_tail(b + i, n - i, 0);
    return d == 0 ? n : i + static_cast<std::size_t>(std::countr_zero(d)) / 8;
  } else {
    while (i < n && a[i] == b[i]) ++i;
    return i;
  }
}

// Writes s[i..) escaped for the inside of a JSON string (s[0..i) has been written already):
// the general case, for strings that need escaping or hold non-ASCII text.
[[gnu::noinline]] void write_escaped_from(std::string_view s, std::size_t i, Writer& w) {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t run = i;  // start of the pending verbatim run
  while (i < n) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x80) {
      char32_t cp;
      const std::size_t len = decode_utf8(reinterpret_cast<const unsigned char*>(p + i), n - i, cp);
      if (cp != kBadSequence) {
        i += len;  // valid multi-byte sequences stay in the verbatim run
      } else {
        w.write(p + run, i - run);
        w.literal(kReplacement);
        i += len;
        run = i;
      }
    } else if (c < 0x20 || c == '"' || c == '\\') {
      w.write(p + run, i - run);
      switch (c) {
        case '"': w.literal("\\\""); break;
        case '\\': w.literal("\\\\"); break;
        case '\b': w.literal("\\b"); break;
        case '\f': w.literal("\\f"); break;
        case '\n': w.literal("\\n"); break;
        case '\r': w.literal("\\r"); break;
        case '\t': w.literal("\\t"); break;
        default: {
          const char esc[6] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 15]};
          w.write(esc, 6);
        }
      }
      ++i;
      run = i;
    } else {
      i += 1 + plain_ascii_prefix(p + i + 1, n - i - 1);
    }
  }
  w.write(p + run, n - run);
}

// Copies the plain prefix of s[0..n) to dst and returns its length, in one pass over 8-byte
// words. Writes up to 8 bytes past the returned length (dst needs n + 8 bytes of room); reads
// only s[0..n).
inline std::size_t copy_plain_prefix(const char* s, std::size_t n, char* dst) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, s + i, 8);
    std::memcpy(dst + i, &v, 8);
    if (const std::uint64_t m = special_bytes(v)) {
      return i + static_cast<std::size_t>(std::countr_zero(m)) / 8;
    }
  }
  if (i == n) return n;
  if (n >= 8) {
    // The last eight bytes, overlapping what was checked already (plain, so a special byte
    // found here lies past i).
    std::uint64_t v;
    std::memcpy(&v, s + n - 8, 8);
    std::memcpy(dst + n - 8, &v, 8);
    const std::uint64_t m = special_bytes(v);
    return m == 0 ? n : n - 8 + static_cast<std::size_t>(std::countr_zero(m)) / 8;
  }
  const std::uint64_t v = load_tail(s + i, n - i, 'a');
  std::memcpy(dst + i, &v, 8);
  const std::uint64_t m = special_bytes(v);
  return m == 0 ? n : i + static_cast<std::size_t>(std::countr_zero(m)) / 8;
}

// Writes `open`, `s` escaped, then `close` (each 1 or 2 chars: the quotes, or `":` for keys).
template <std::size_t kOpen, std::size_t kClose>
inline void write_quoted(std::string_view s, const char (&open)[kOpen], const char (&close)[kClose],
                         Writer& w) {
  constexpr std::size_t kOpenLen = kOpen - 1;
  constexpr std::size_t kCloseLen = kClose - 1;
  constexpr std::size_t kFastMax = Writer::kCapacity / 2;
  const std::size_t n = s.size();
  if (kLittleEndian && n <= kFastMax) {
    // Room for the copy's overshoot covers the closing chars.
    char* const out = w.reserve(kOpenLen + n + 8);
    std::memcpy(out, open, kOpenLen);
    const std::size_t plain = copy_plain_prefix(s.data(), n, out + kOpenLen);
    if (plain == n) [[likely]] {
      std::memcpy(out + kOpenLen + n, close, kCloseLen);
      w.commit(out + kOpenLen + n + kCloseLen);
      return;
    }
    w.commit(out + kOpenLen + plain);
    write_escaped_from(s, plain, w);
  } else {
    w.write(open, kOpenLen);
    write_escaped_from(s, 0, w);
  }
  w.write(close, kCloseLen);
}

inline void write_string(std::string_view s, Writer& w) { write_quoted(s, "\"", "\"", w); }

// "00" to "99".
constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[static_cast<std::size_t>(2 * i)] = static_cast<char>('0' + i / 10);
    t[static_cast<std::size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// Writes v < 10^8 as exactly eight digits (leading zeros kept) at p.
inline void write_8_digits(std::uint32_t v, char* p) noexcept {
  const std::uint32_t hi = v / 10000;
  const std::uint32_t lo = v % 10000;
  std::memcpy(p, &kDigitPairs[2 * (hi / 100)], 2);
  std::memcpy(p + 2, &kDigitPairs[2 * (hi % 100)], 2);
  std::memcpy(p + 4, &kDigitPairs[2 * (lo / 100)], 2);
  std::memcpy(p + 6, &kDigitPairs[2 * (lo % 100)], 2);
}

// Decimal digits of v at p; returns the end. Numbers of nine digits or more (timestamps) go by
// eight-digit groups; shorter ones through std::to_chars.
inline char* write_unsigned(std::uint64_t v, char* p) noexcept {
  constexpr std::uint64_t kGroup = 100000000;
  if (v < 100) {  // flags, severities, small counts
    if (v < 10) {
      *p = static_cast<char>('0' + v);
      return p + 1;
    }
    std::memcpy(p, &kDigitPairs[2 * v], 2);
    return p + 2;
  }
  if (v < kGroup) return std::to_chars(p, p + 24, static_cast<std::uint32_t>(v)).ptr;
  const std::uint64_t high = v / kGroup;
  const auto low = static_cast<std::uint32_t>(v % kGroup);
  if (high < kGroup) {
    p = std::to_chars(p, p + 24, static_cast<std::uint32_t>(high)).ptr;
  } else {
    p = std::to_chars(p, p + 24, static_cast<std::uint32_t>(high / kGroup)).ptr;
    write_8_digits(static_cast<std::uint32_t>(high % kGroup), p);
    p += 8;
  }
  write_8_digits(low, p);
  return p + 8;
}

template <typename T>
inline void write_integer(T v, Writer& w) {
  char* p = w.reserve(24);
  if constexpr (std::is_signed_v<T>) {
    if (v < 0) {
      *p++ = '-';
      // The magnitude, also of the most negative value.
      w.commit(write_unsigned(~static_cast<std::uint64_t>(v) + 1, p));
      return;
    }
  }
  w.commit(write_unsigned(static_cast<std::uint64_t>(v), p));
}

// Fast path for doubles that are short decimals (12.5, 0.25, 1234.0): finds an integer m with
// |m| < 10^15 and k <= 3 such that m / 10^k (one correctly rounded division) is exactly d. Two
// decimals of at most 15 significant digits never round to the same double, so m / 10^k with
// trailing zeros dropped is the shortest round-trip form, as std::to_chars would find, and
// 10^-3 <= |d| < 10^15 puts it in Python's fixed-notation range. False when d is not one.
bool write_short_decimal(double d, Writer& w) {
  constexpr double kPow10[] = {1.0, 10.0, 100.0, 1000.0};
  constexpr std::uint64_t kPow10Int[] = {1, 10, 100, 1000};
  constexpr double kLimit = 1e15;
  const double a = std::fabs(d);
  if (!(a >= 1e-3 && a < kLimit)) return false;
  for (int k = 0; k <= 3; ++k) {
    const double scaled = a * kPow10[k];
    if (scaled >= kLimit) return false;
    const double m = std::nearbyint(scaled);
    if (m / kPow10[k] != a) continue;
    // Drop trailing zeros of the fraction (m = 1250, k = 2 -> 125, one fraction digit).
    auto digits = static_cast<std::uint64_t>(m);
    int frac = k;
    while (frac > 0 && digits % 10 == 0) {
      digits /= 10;
      --frac;
    }
    char* out = w.reserve(32);
    if (d < 0) *out++ = '-';
    out = write_unsigned(digits / kPow10Int[frac], out);  // "0" when below 1
    *out++ = '.';
    if (frac == 0) {
      *out++ = '0';
    } else {
      std::uint64_t rest = digits % kPow10Int[frac];  // leading zeros kept: 0.05
      for (int i = frac - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + rest % 10);
        rest /= 10;
      }
      out += frac;
    }
    w.commit(out);
    return true;
  }
  return false;
}

// Writes the Python repr of a finite double; false (nothing written) for NaN and infinities.
bool write_double(double d, Writer& w) {
  if (!std::isfinite(d)) return false;
  if (d == 0.0) {  // 0.0 and -0.0
    w.literal("0.0");
    return true;
  }
  if (write_short_decimal(d, w)) return true;
  // Shortest round-trip digits in scientific form: "-d.ddde+XX" (sign always, >= 2 exp digits).
  char sci[32];
  const char* end = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific).ptr;
  const char* e = std::find(static_cast<const char*>(sci), end, 'e');
  int exp10 = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), end, exp10);
  if (exp10 < -4 || exp10 >= 16) {  // Python repr switches to exponent form here
    w.write(sci, static_cast<std::size_t>(end - sci));
    return true;
  }
  // Fixed notation: at most 17 digits, a sign, "0." and 3 leading zeros, or 16 integer digits
  // and ".0".
  const bool negative = sci[0] == '-';
  char digits[20];
  std::size_t nd = 0;
  for (const char* p = sci + (negative ? 1 : 0); p < e; ++p) {
    if (*p != '.') digits[nd++] = *p;
  }
  char* const start = w.reserve(32);
  char* out = start;
  if (negative) *out++ = '-';
  if (exp10 >= 0) {
    const auto int_digits = static_cast<std::size_t>(exp10) + 1;
    if (nd <= int_digits) {
      out = std::copy_n(digits, nd, out);
      out = std::fill_n(out, int_digits - nd, '0');
      *out++ = '.';
      *out++ = '0';
    } else {
      out = std::copy_n(digits, int_digits, out);
      *out++ = '.';
      out = std::copy_n(digits + int_digits, nd - int_digits, out);
    }
  } else {
    *out++ = '0';
    *out++ = '.';
    out = std::fill_n(out, -exp10 - 1, '0');
    out = std::copy_n(digits, nd, out);
  }
  w.commit(out);
  return true;
}

// Three-way comparison of two UTF-8 strings by their UTF-16 code units; ill-formed sequences
// compare as U+FFFD, as they are written.
int utf16_compare_general(std::string_view a, std::string_view b) noexcept {
  const std::size_t i = first_difference(a.data(), b.data(), std::min(a.size(), b.size()));
  const bool a_end = i == a.size();
  const bool b_end = i == b.size();
  if (a_end && b_end) return 0;
  const auto ca = a_end ? 0u : static_cast<unsigned char>(a[i]);
  const auto cb = b_end ? 0u : static_cast<unsigned char>(b[i]);
  // ASCII (or the end) on both sides ends any sequence of the common prefix the same way, so
  // the first differing bytes decide.
  if (ca < 0x80 && cb < 0x80) {
    if (a_end) return -1;
    if (b_end) return 1;
    return ca < cb ? -1 : 1;
  }
  // Decode from the last point where both strings are in step: after an ASCII byte.
  std::size_t k = i;
  while (k > 0 && static_cast<unsigned char>(a[k - 1]) >= 0x80) --k;
  const auto* pa = reinterpret_cast<const unsigned char*>(a.data());
  const auto* pb = reinterpret_cast<const unsigned char*>(b.data());
  std::size_t ia = k;
  std::size_t ib = k;
  while (ia < a.size() && ib < b.size()) {
    char32_t x;
    char32_t y;
    ia += decode_utf8(pa + ia, a.size() - ia, x);
    ib += decode_utf8(pb + ib, b.size() - ib, y);
    if (x == kBadSequence) x = 0xFFFD;
    if (y == kBadSequence) y = 0xFFFD;
    if (x == y) continue;
    const char32_t ux = first_utf16_unit(x);
    const char32_t uy = first_utf16_unit(y);
    if (ux != uy) return ux < uy ? -1 : 1;
    return x < y ? -1 : 1;  // same high surrogate: the low surrogates follow code point order
  }
  if (ia == a.size() && ib == b.size()) return 0;
  return ia == a.size() ? -1 : 1;
}

// Keys usually differ in their first, ASCII byte: decide that inline.
inline int utf16_compare(std::string_view a, std::string_view b) noexcept {
  if (!a.empty() && !b.empty()) {
    const auto ca = static_cast<unsigned char>(a[0]);
    const auto cb = static_cast<unsigned char>(b[0]);
    if (ca != cb && (ca | cb) < 0x80) return ca < cb ? -1 : 1;
  }
  return utf16_compare_general(a, b);
}

// Sorts `n` entries by key into UTF-16 order and calls `emit(entry, first)` for each distinct
// key. Entries whose keys are equal (or become equal once ill-formed UTF-8 turns into U+FFFD)
// are written once, with the value of the last of them in input order.
template <typename Entry, typename KeyOf, typename Emit>
void for_each_sorted(const Entry* const* entries, std::size_t n, KeyOf key_of, Emit emit) {
  struct Slot {
    const Entry* entry;
    std::size_t index;
  };
  Slot inline_slots[kInlineKeys];
  std::unique_ptr<Slot[]> heap_slots;
  Slot* slots = inline_slots;
  if (n > kInlineKeys) {
    heap_slots = std::make_unique_for_overwrite<Slot[]>(n);
    slots = heap_slots.get();
  }
  for (std::size_t i = 0; i < n; ++i) slots[i] = Slot{entries[i], i};

  bool has_ties = false;  // adjacent output items are always compared directly, so ties show
  auto less = [&](const Slot& x, const Slot& y) {
    const int c = utf16_compare(key_of(*x.entry), key_of(*y.entry));
    if (c != 0) return c < 0;
    has_ties = true;
    return x.index < y.index;
  };
  if (n <= kInlineKeys) {
    for (std::size_t i = 1; i < n; ++i) {  // insertion sort: cheap for the usual few keys
      const Slot s = slots[i];
      std::size_t j = i;
      for (; j > 0 && less(s, slots[j - 1]); --j) slots[j] = slots[j - 1];
      slots[j] = s;
    }
  } else {
    std::sort(slots, slots + n, less);
  }
  bool first = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (has_ties && i + 1 < n &&
        utf16_compare(key_of(*slots[i].entry), key_of(*slots[i + 1].entry)) == 0) {
      continue;
    }
    emit(*slots[i].entry, first);
    first = false;
  }
}

bool write_value(const Value& v, Writer& w);

// Nesting depth of the array/map being written (per thread: the writer functions recurse).
// Deeper containers are written as kDepthMarker, so no value can exhaust the stack.
thread_local int tl_depth = 0;

struct DepthGuard {
  bool ok;
  DepthGuard() noexcept : ok(++tl_depth <= kMaxJsonDepth) {}
  ~DepthGuard() { --tl_depth; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
};

inline void write_key(std::string_view key, Writer& w) { write_quoted(key, "\"", "\":", w); }

bool write_map(const Value::Map& map, Writer& w) {
  const DepthGuard depth;
  if (!depth.ok) {
    write_string(kDepthMarker, w);
    return true;
  }
  w.put('{');
  bool ok = true;
  // std::map iterates in byte order, which is UTF-16 order unless keys mix U+E000..U+FFFF with
  // supplementary characters or hold ill-formed UTF-8: check, and only sort when needed.
  bool ordered = true;
  for (auto it = map.begin(), prev = it; it != map.end(); prev = it, ++it) {
    if (it != map.begin() && utf16_compare(prev->first, it->first) >= 0) {
      ordered = false;
      break;
    }
  }
  if (ordered) {
    bool first = true;
    for (const auto& [key, value] : map) {
      if (!first) w.put(',');
      first = false;
      write_key(key, w);
      ok &= write_value(value, w);
    }
  } else {
    using Entry = Value::Map::value_type;
    const Entry* inline_entries[kInlineKeys];
    std::unique_ptr<const Entry*[]> heap_entries;
    const Entry** entries = inline_entries;
    if (map.size() > kInlineKeys) {
      heap_entries = std::make_unique_for_overwrite<const Entry*[]>(map.size());
      entries = heap_entries.get();
    }
    std::size_t n = 0;
    for (const Entry& e : map) entries[n++] = &e;
    for_each_sorted(
        entries, n, [](const Entry& e) -> std::string_view { return e.first; },
        [&](const Entry& e, bool first) {
          if (!first) w.put(',');
          write_key(e.first, w);
          ok &= write_value(e.second, w);
        });
  }
  w.put('}');
  return ok;
}

bool write_value(const Value& v, Writer& w) {
  switch (v.type()) {
    case Value::Type::kNull: w.literal("null"); return true;
    case Value::Type::kBool:
      if (v.as_bool()) {
        w.literal("true");
      } else {
        w.literal("false");
      }
      return true;
    case Value::Type::kInt: write_integer(v.as_int(), w); return true;
    case Value::Type::kUint: write_integer(v.as_uint(), w); return true;
    case Value::Type::kDouble:
      if (write_double(v.as_double(), w)) return true;
      w.literal("null");
      return false;
    case Value::Type::kString: write_string(v.as_string(), w); return true;
    case Value::Type::kArray: {
      const DepthGuard depth;
      if (!depth.ok) {
        write_string(kDepthMarker, w);
        return true;
      }
      w.put('[');
      bool ok = true;
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) w.put(',');
        first = false;
        ok &= write_value(e, w);
      }
      w.put(']');
      return ok;
    }
    case Value::Type::kMap: return write_map(v.as_map(), w);
  }
  return true;
}

bool write_attr_value(const AttrValue& v, Writer& w) {
  switch (v.kind()) {
    case AttrValue::Kind::kNull: w.literal("null"); return true;
    case AttrValue::Kind::kBool:
      if (v.as_bool()) {
        w.literal("true");
      } else {
        w.literal("false");
      }
      return true;
    case AttrValue::Kind::kInt: write_integer(v.as_int(), w); return true;
    case AttrValue::Kind::kUint: write_integer(v.as_uint(), w); return true;
    case AttrValue::Kind::kDouble:
      if (write_double(v.as_double(), w)) return true;
      w.literal("null");
      return false;
    case AttrValue::Kind::kString: write_string(v.as_string(), w); return true;
    case AttrValue::Kind::kValue: return write_value(v.as_value(), w);
  }
  return true;
}

bool write_attributes(std::span<const Attribute> attrs, Writer& w) {
  const Attribute* inline_entries[kInlineKeys];
  std::unique_ptr<const Attribute*[]> heap_entries;
  const Attribute** entries = inline_entries;
  const std::size_t n = attrs.size();
  if (n > kInlineKeys) {
    heap_entries = std::make_unique_for_overwrite<const Attribute*[]>(n);
    entries = heap_entries.get();
  }
  for (std::size_t i = 0; i < n; ++i) entries[i] = &attrs[i];
  bool ok = true;
  w.put('{');
  for_each_sorted(
      entries, n, [](const Attribute& a) { return a.key; },
      [&](const Attribute& a, bool first) {
        if (!first) w.put(',');
        write_key(a.key, w);
        ok &= write_attr_value(a.value, w);
      });
  w.put('}');
  return ok;
}

// `,"severity_number":N,"severity_text":"TEXT"` of each severity, made once (no heap: the
// encoder allocates nothing once its output has capacity).
std::string_view severity_fields(int severity) noexcept {
  struct Field {
    char bytes[48];
    std::size_t size;
  };
  static const std::array<Field, kSeverityMax + 1> kTable = [] {
    std::array<Field, kSeverityMax + 1> t{};
    for (int n = kSeverityMin; n <= kSeverityMax; ++n) {
      Field& f = t[static_cast<std::size_t>(n)];
      char* p = f.bytes;
      const auto put = [&p](std::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
      };
      put(",\"severity_number\":");
      p = std::to_chars(p, f.bytes + sizeof f.bytes, n).ptr;
      put(",\"severity_text\":\"");
      put(severity_text(n));
      put("\"");
      f.size = static_cast<std::size_t>(p - f.bytes);
    }
    return t;
  }();
  const Field& f = kTable[static_cast<std::size_t>(severity)];
  return {f.bytes, f.size};
}

// Writes `"<32 or 16 hex>"`.
template <typename Id>
void write_hex_id(const Id& id, Writer& w) {
  constexpr std::size_t kLen = 2 * sizeof(id.bytes) + 2;
  char* p = w.reserve(kLen);
  p[0] = '"';
  id.to_hex(p + 1);
  p[kLen - 1] = '"';
  w.commit(p + kLen);
}

}  // namespace
}  // namespace detail

bool append_canonical_double(double d, std::string& out) {
  detail::Writer w(out);
  const bool ok = detail::write_double(d, w);
  w.flush();
  return ok;
}

void append_json_string(std::string_view s, std::string& out) {
  detail::Writer w(out);
  detail::write_string(s, w);
  w.flush();
}

bool utf16_less(std::string_view a, std::string_view b) noexcept {
  return detail::utf16_compare(a, b) < 0;
}

bool append_canonical_json(const Value& v, std::string& out) {
  detail::Writer w(out);
  const bool ok = detail::write_value(v, w);
  w.flush();
  return ok;
}

bool append_canonical_json(const AttrValue& v, std::string& out) {
  detail::Writer w(out);
  const bool ok = detail::write_attr_value(v, w);
  w.flush();
  return ok;
}

std::string to_canonical_json(const Value& v) {
  std::string out;
  if (!append_canonical_json(v, out)) {
    throw ConfigError("canonical JSON cannot represent NaN or Infinity");
  }
  return out;
}

bool append_jsonl_record(const LogRecord& record, std::string& out) {
  detail::Writer w(out);
  bool ok = true;
  // Top-level keys are ASCII and fixed, so they are written in their canonical order directly.
  w.put('{');
  if (!record.attributes.empty()) {
    w.literal("\"attributes\":");
    ok &= detail::write_attributes(record.attributes, w);
    w.put(',');
  }
  w.literal("\"body\":");
  ok &= detail::write_attr_value(record.body, w);
  if (const InstrumentationScope* scope = record.instrumentation_scope) {
    w.literal(",\"instrumentation_scope\":{");
    if (!scope->attributes.empty()) {
      w.literal("\"attributes\":");
      ok &= detail::write_map(scope->attributes, w);
      w.put(',');
    }
    w.literal("\"name\":");
    detail::write_string(scope->name, w);
    if (!scope->version.empty()) {
      w.literal(",\"version\":");
      detail::write_string(scope->version, w);
    }
    w.put('}');
  }
  if (record.observed_time_unix_nano != 0) {
    w.literal(",\"observed_time_unix_nano\":");
    detail::write_integer(record.observed_time_unix_nano, w);
  }
  if (record.resource != nullptr && !record.resource->attributes.empty()) {
    w.literal(",\"resource\":{\"attributes\":");
    ok &= detail::write_map(record.resource->attributes, w);
    w.put('}');
  }
  // Clamped so that the number always matches the text (the logger clamps before this anyway).
  const int severity = clamp_severity(record.severity_number);
  w.write(detail::severity_fields(severity));
  if (record.span_id.valid()) {
    w.literal(",\"span_id\":");
    detail::write_hex_id(record.span_id, w);
  }
  w.literal(",\"time_unix_nano\":");
  detail::write_integer(record.time_unix_nano, w);
  if (record.trace_flags != 0) {
    w.literal(",\"trace_flags\":");
    detail::write_integer(static_cast<unsigned>(record.trace_flags), w);
  }
  if (record.trace_id.valid()) {
    w.literal(",\"trace_id\":");
    detail::write_hex_id(record.trace_id, w);
  }
  w.put('}');
  w.flush();
  return ok;
}

std::string to_jsonl(const LogRecord& record) {
  std::string out;
  out.reserve(256);
  append_jsonl_record(record, out);
  return out;
}

std::string to_jsonl(const OwnedLogRecord& record) {
  std::vector<Attribute> scratch;
  return to_jsonl(record.view(scratch));
}

}  // namespace dagstack::logger

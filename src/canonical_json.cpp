// canonical_json.cpp: implements the canonical JSON encoder (contract §1.5) and the dagstack
// JSON-lines record encoder (contract §1.4). Everything writes straight into the caller's string:
// no temporaries, and no heap allocation unless an object has more than kInlineKeys keys that
// need sorting.
#include "dagstack/logger/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "dagstack/logger/config_error.h"

namespace dagstack::logger {
namespace detail {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8
constexpr char32_t kBadSequence = 0x110000;      // decoder result for an ill-formed sequence
constexpr std::size_t kInlineKeys = 16;          // keys sorted without touching the heap

template <std::size_t N>
inline void append_literal(std::string& out, const char (&lit)[N]) {
  out.append(lit, N - 1);
}

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

// Length of the prefix of s[0..n) that a JSON string can carry verbatim: printable ASCII other
// than '"' and '\\'. Eight bytes at a time (SWAR), then byte by byte.
inline std::size_t plain_ascii_prefix(const char* s, std::size_t n) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s + i, 8);
    const std::uint64_t below_space = (w - kOnes * 0x20) & ~w;
    const std::uint64_t q = w ^ (kOnes * '"');
    const std::uint64_t bs = w ^ (kOnes * '\\');
    const std::uint64_t quote = (q - kOnes) & ~q;
    const std::uint64_t backslash = (bs - kOnes) & ~bs;
    if (((below_space | quote | backslash) & kHigh) != 0 || (w & kHigh) != 0) break;
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
  }
  return i;
}

// Appends `s` escaped for the inside of a JSON string.
void append_escaped(std::string_view s, std::string& out) {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = plain_ascii_prefix(p, n);
  if (i == n) {  // the common case: one append
    out.append(p, n);
    return;
  }
  std::size_t run = 0;  // start of the pending verbatim run
  while (i < n) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x80) {
      char32_t cp;
      const std::size_t len = decode_utf8(reinterpret_cast<const unsigned char*>(p + i), n - i, cp);
      if (cp != kBadSequence) {
        i += len;  // valid multi-byte sequences stay in the verbatim run
      } else {
        out.append(p + run, i - run);
        append_literal(out, kReplacement);
        i += len;
        run = i;
      }
    } else if (c < 0x20 || c == '"' || c == '\\') {
      out.append(p + run, i - run);
      switch (c) {
        case '"': append_literal(out, "\\\""); break;
        case '\\': append_literal(out, "\\\\"); break;
        case '\b': append_literal(out, "\\b"); break;
        case '\f': append_literal(out, "\\f"); break;
        case '\n': append_literal(out, "\\n"); break;
        case '\r': append_literal(out, "\\r"); break;
        case '\t': append_literal(out, "\\t"); break;
        default: {
          const char esc[6] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 15]};
          out.append(esc, 6);
        }
      }
      ++i;
      run = i;
    } else {
      i += 1 + plain_ascii_prefix(p + i + 1, n - i - 1);
    }
  }
  out.append(p + run, n - run);
}

template <typename T>
inline void append_integer(T v, std::string& out) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

// Three-way comparison of two UTF-8 strings by their UTF-16 code units; ill-formed sequences
// compare as U+FFFD, as they are written.
int utf16_compare(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
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

bool append_value(const Value& v, std::string& out);

void append_key(std::string_view key, std::string& out) {
  out.push_back('"');
  append_escaped(key, out);
  append_literal(out, "\":");
}

bool append_map(const Value::Map& map, std::string& out) {
  out.push_back('{');
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
      if (!first) out.push_back(',');
      first = false;
      append_key(key, out);
      ok &= append_value(value, out);
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
          if (!first) out.push_back(',');
          append_key(e.first, out);
          ok &= append_value(e.second, out);
        });
  }
  out.push_back('}');
  return ok;
}

bool append_value(const Value& v, std::string& out) {
  switch (v.type()) {
    case Value::Type::kNull:
      append_literal(out, "null");
      return true;
    case Value::Type::kBool:
      if (v.as_bool()) {
        append_literal(out, "true");
      } else {
        append_literal(out, "false");
      }
      return true;
    case Value::Type::kInt:
      append_integer(v.as_int(), out);
      return true;
    case Value::Type::kDouble:
      if (append_canonical_double(v.as_double(), out)) return true;
      append_literal(out, "null");
      return false;
    case Value::Type::kString:
      append_json_string(v.as_string(), out);
      return true;
    case Value::Type::kArray: {
      out.push_back('[');
      bool ok = true;
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        ok &= append_value(e, out);
      }
      out.push_back(']');
      return ok;
    }
    case Value::Type::kMap:
      return append_map(v.as_map(), out);
  }
  return true;
}

// Writes `"<32 or 16 hex>"`.
template <typename Id>
void append_hex_id(const Id& id, std::string& out) {
  char buf[2 * sizeof(id.bytes) + 2];
  buf[0] = '"';
  id.to_hex(buf + 1);
  buf[sizeof buf - 1] = '"';
  out.append(buf, sizeof buf);
}

}  // namespace
}  // namespace detail

bool append_canonical_double(double d, std::string& out) {
  if (!std::isfinite(d)) return false;
  if (d == 0.0) {  // 0.0 and -0.0
    detail::append_literal(out, "0.0");
    return true;
  }
  // Shortest round-trip digits in scientific form: "-d.ddde+XX" (sign always, >= 2 exp digits).
  char sci[32];
  const auto res = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
  const char* end = res.ptr;
  const char* e = std::find(static_cast<const char*>(sci), end, 'e');
  int exp10 = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), end, exp10);
  if (exp10 < -4 || exp10 >= 16) {  // Python repr switches to exponent form here
    out.append(sci, static_cast<std::size_t>(end - sci));
    return true;
  }
  const bool negative = sci[0] == '-';
  const char* m = sci + (negative ? 1 : 0);
  char digits[20];
  std::size_t nd = 0;
  for (const char* p = m; p < e; ++p) {
    if (*p != '.') digits[nd++] = *p;
  }
  char buf[48];
  std::size_t len = 0;
  if (negative) buf[len++] = '-';
  if (exp10 >= 0) {
    const auto int_digits = static_cast<std::size_t>(exp10) + 1;
    if (nd <= int_digits) {
      std::memcpy(buf + len, digits, nd);
      len += nd;
      std::memset(buf + len, '0', int_digits - nd);
      len += int_digits - nd;
      buf[len++] = '.';
      buf[len++] = '0';
    } else {
      std::memcpy(buf + len, digits, int_digits);
      len += int_digits;
      buf[len++] = '.';
      std::memcpy(buf + len, digits + int_digits, nd - int_digits);
      len += nd - int_digits;
    }
  } else {
    const auto zeros = static_cast<std::size_t>(-exp10 - 1);
    buf[len++] = '0';
    buf[len++] = '.';
    std::memset(buf + len, '0', zeros);
    len += zeros;
    std::memcpy(buf + len, digits, nd);
    len += nd;
  }
  out.append(buf, len);
  return true;
}

void append_json_string(std::string_view s, std::string& out) {
  out.push_back('"');
  detail::append_escaped(s, out);
  out.push_back('"');
}

bool utf16_less(std::string_view a, std::string_view b) noexcept {
  return detail::utf16_compare(a, b) < 0;
}

bool append_canonical_json(const Value& v, std::string& out) { return detail::append_value(v, out); }

bool append_canonical_json(const AttrValue& v, std::string& out) {
  switch (v.kind()) {
    case AttrValue::Kind::kNull:
      detail::append_literal(out, "null");
      return true;
    case AttrValue::Kind::kBool:
      if (v.as_bool()) {
        detail::append_literal(out, "true");
      } else {
        detail::append_literal(out, "false");
      }
      return true;
    case AttrValue::Kind::kInt:
      detail::append_integer(v.as_int(), out);
      return true;
    case AttrValue::Kind::kDouble:
      if (append_canonical_double(v.as_double(), out)) return true;
      detail::append_literal(out, "null");
      return false;
    case AttrValue::Kind::kString:
      append_json_string(v.as_string(), out);
      return true;
    case AttrValue::Kind::kValue:
      return detail::append_value(v.as_value(), out);
  }
  return true;
}

std::string to_canonical_json(const Value& v) {
  std::string out;
  if (!append_canonical_json(v, out)) {
    throw ConfigError("canonical JSON cannot represent NaN or Infinity");
  }
  return out;
}

bool append_jsonl_record(const LogRecord& record, std::string& out) {
  using detail::append_literal;
  bool ok = true;
  // Top-level keys are ASCII and fixed, so they are written in their canonical order directly.
  out.push_back('{');
  if (!record.attributes.empty()) {
    append_literal(out, "\"attributes\":{");
    const Attribute* inline_entries[detail::kInlineKeys];
    std::unique_ptr<const Attribute*[]> heap_entries;
    const Attribute** entries = inline_entries;
    const std::size_t n = record.attributes.size();
    if (n > detail::kInlineKeys) {
      heap_entries = std::make_unique_for_overwrite<const Attribute*[]>(n);
      entries = heap_entries.get();
    }
    for (std::size_t i = 0; i < n; ++i) entries[i] = &record.attributes[i];
    detail::for_each_sorted(
        entries, n, [](const Attribute& a) { return a.key; },
        [&](const Attribute& a, bool first) {
          if (!first) out.push_back(',');
          detail::append_key(a.key, out);
          ok &= append_canonical_json(a.value, out);
        });
    append_literal(out, "},");
  }
  append_literal(out, "\"body\":");
  ok &= append_canonical_json(record.body, out);
  if (const InstrumentationScope* scope = record.instrumentation_scope) {
    append_literal(out, ",\"instrumentation_scope\":{");
    if (!scope->attributes.empty()) {
      append_literal(out, "\"attributes\":");
      ok &= detail::append_map(scope->attributes, out);
      out.push_back(',');
    }
    append_literal(out, "\"name\":");
    append_json_string(scope->name, out);
    if (!scope->version.empty()) {
      append_literal(out, ",\"version\":");
      append_json_string(scope->version, out);
    }
    out.push_back('}');
  }
  if (record.observed_time_unix_nano != 0) {
    append_literal(out, ",\"observed_time_unix_nano\":");
    detail::append_integer(record.observed_time_unix_nano, out);
  }
  if (record.resource != nullptr && !record.resource->attributes.empty()) {
    append_literal(out, ",\"resource\":{\"attributes\":");
    ok &= detail::append_map(record.resource->attributes, out);
    out.push_back('}');
  }
  // Clamped so that the number always matches the text (the logger clamps before this anyway).
  const int severity = clamp_severity(record.severity_number);
  append_literal(out, ",\"severity_number\":");
  detail::append_integer(severity, out);
  append_literal(out, ",\"severity_text\":\"");
  out.append(severity_text(severity));
  out.push_back('"');
  if (record.span_id.valid()) {
    append_literal(out, ",\"span_id\":");
    detail::append_hex_id(record.span_id, out);
  }
  append_literal(out, ",\"time_unix_nano\":");
  detail::append_integer(record.time_unix_nano, out);
  if (record.trace_flags != 0) {
    append_literal(out, ",\"trace_flags\":");
    detail::append_integer(static_cast<unsigned>(record.trace_flags), out);
  }
  if (record.trace_id.valid()) {
    append_literal(out, ",\"trace_id\":");
    detail::append_hex_id(record.trace_id, out);
  }
  out.push_back('}');
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

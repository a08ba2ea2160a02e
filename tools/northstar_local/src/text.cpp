// text.cpp: JavaScript-compatible text helpers and timestamp conversion (see text.h).
#include "text.h"

#include <array>
#include <cstdio>

namespace northstar_local::detail {
namespace {

void append_utf8(std::string& out, char32_t cp) {
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

// Decodes one code point from valid UTF-8 at `pos`; advances `pos`.
char32_t next_code_point(std::string_view s, std::size_t& pos) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : 1;
  char32_t cp = b0 & (0x3F >> extra);
  ++pos;
  for (; extra > 0 && pos < s.size(); --extra, ++pos) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[pos]) & 0x3F);
  }
  return cp;
}

bool is_js_whitespace(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF: return true;
    default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int digits(std::string_view s, std::size_t pos, std::size_t count) {
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) value = value * 10 + (s[pos + i] - '0');
  return value;
}

bool all_digits(std::string_view s, std::size_t pos, std::size_t count) {
  if (pos + count > s.size()) return false;
  for (std::size_t i = 0; i < count; ++i) {
    if (!is_digit(s[pos + i])) return false;
  }
  return true;
}

bool is_leap_year(std::int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(std::int64_t year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

std::string decode_utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xEF &&
      static_cast<unsigned char>(bytes[1]) == 0xBB &&
      static_cast<unsigned char>(bytes[2]) == 0xBF) {
    i = 3;
  }
  constexpr char32_t kReplacement = 0xFFFD;
  while (i < bytes.size()) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    if (b0 < 0x80) {
      // A run of ASCII is copied as is.
      std::size_t end = i + 1;
      while (end < bytes.size() && static_cast<unsigned char>(bytes[end]) < 0x80) ++end;
      out.append(bytes.data() + i, end - i);
      i = end;
      continue;
    }
    // WHATWG UTF-8 decoder: the lead byte fixes the length and the allowed range of the 2nd byte;
    // on a bad continuation byte emit U+FFFD and re-read that byte. The ranges exclude overlong
    // forms and surrogates, so a well-formed sequence is copied as is.
    int needed = 0;
    unsigned char lower = 0x80, upper = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      needed = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      needed = 2;
      if (b0 == 0xE0) lower = 0xA0;
      if (b0 == 0xED) upper = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      needed = 3;
      if (b0 == 0xF0) lower = 0x90;
      if (b0 == 0xF4) upper = 0x8F;
    } else {
      append_utf8(out, kReplacement);
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    bool ok = true;
    for (int k = 0; k < needed; ++k, ++j) {
      if (j >= bytes.size()) {
        ok = false;
        break;
      }
      const auto b = static_cast<unsigned char>(bytes[j]);
      if (b < lower || b > upper) {
        ok = false;
        break;
      }
      lower = 0x80;
      upper = 0xBF;
    }
    if (ok) {
      out.append(bytes.data() + i, j - i);
      i = j;
    } else {
      append_utf8(out, kReplacement);
      i = j;  // the offending byte (or end) is processed again
    }
  }
  return out;
}

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) append_utf8(out, static_cast<unsigned char>(c));
  return out;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view js_trim(std::string_view utf8) {
  std::size_t begin = 0;
  while (begin < utf8.size()) {
    std::size_t next = begin;
    if (!is_js_whitespace(next_code_point(utf8, next))) break;
    begin = next;
  }
  std::size_t end = utf8.size();
  while (end > begin) {
    std::size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(utf8[start]) & 0xC0) == 0x80) --start;
    std::size_t probe = start;
    if (!is_js_whitespace(next_code_point(utf8, probe))) break;
    end = start;
  }
  return utf8.substr(begin, end - begin);
}

std::string_view pg_btrim(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(' ');
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(' ');
  return text.substr(begin, end - begin + 1);
}

std::string json_quote(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() + 2);
  out.push_back('"');
  for (const char c : utf8) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

int json_nesting_depth(std::string_view json) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::optional<IsoTimestamp> parse_iso_timestamp(std::string_view s) {
  // Shape: YYYY-MM-DDTHH:MM:SS
  if (s.size() < 20) return std::nullopt;
  if (!all_digits(s, 0, 4) || s[4] != '-' || !all_digits(s, 5, 2) || s[7] != '-' ||
      !all_digits(s, 8, 2) || s[10] != 'T' || !all_digits(s, 11, 2) || s[13] != ':' ||
      !all_digits(s, 14, 2) || s[16] != ':' || !all_digits(s, 17, 2)) {
    return std::nullopt;
  }
  IsoTimestamp ts;
  ts.year = digits(s, 0, 4);
  ts.month = digits(s, 5, 2);
  ts.day = digits(s, 8, 2);
  ts.hour = digits(s, 11, 2);
  ts.minute = digits(s, 14, 2);
  ts.second = digits(s, 17, 2);
  std::size_t pos = 19;
  if (s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && is_digit(s[pos])) ++pos;
    if (pos == start) return std::nullopt;
    ts.fraction = std::string(s.substr(start, pos - start));
  }
  // Zone: Z or [+-]HH:MM, then end of string.
  if (pos >= s.size()) return std::nullopt;
  int offset_hours = 0, offset_mins = 0;
  if (s[pos] == 'Z') {
    if (pos + 1 != s.size()) return std::nullopt;
  } else if (s[pos] == '+' || s[pos] == '-') {
    if (pos + 6 != s.size() || !all_digits(s, pos + 1, 2) || s[pos + 3] != ':' ||
        !all_digits(s, pos + 4, 2)) {
      return std::nullopt;
    }
    offset_hours = digits(s, pos + 1, 2);
    offset_mins = digits(s, pos + 4, 2);
    ts.offset_minutes = (s[pos] == '-' ? -1 : 1) * (offset_hours * 60 + offset_mins);
  } else {
    return std::nullopt;
  }

  // JavaScript Date validity (V8's ISO parser).
  if (ts.month < 1 || ts.month > 12 || ts.day < 1 || ts.day > 31) return std::nullopt;
  if (ts.minute > 59 || ts.second > 59) return std::nullopt;
  if (ts.hour > 24) return std::nullopt;
  if (ts.hour == 24) {
    const bool zero_millis = ts.fraction.find_first_not_of('0') == std::string::npos ||
                             ts.fraction.substr(0, 3).find_first_not_of('0') == std::string::npos;
    if (ts.minute != 0 || ts.second != 0 || !zero_millis) return std::nullopt;
  }
  if (offset_hours > 23 || offset_mins > 59) return std::nullopt;
  return ts;
}

std::optional<std::int64_t> timestamp_to_epoch_us(const IsoTimestamp& ts) {
  if (ts.year == 0) return std::nullopt;
  if (ts.day > days_in_month(ts.year, ts.month)) return std::nullopt;
  if (ts.offset_minutes > 15 * 60 + 59 || ts.offset_minutes < -(15 * 60 + 59)) return std::nullopt;
  // Fraction rounded half-up to microseconds.
  std::int64_t micros = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    micros = micros * 10 + (i < ts.fraction.size() ? ts.fraction[i] - '0' : 0);
  }
  if (ts.fraction.size() > 6 && ts.fraction[6] >= '5') ++micros;
  if (ts.hour == 24 && (ts.minute != 0 || ts.second != 0 || micros != 0)) return std::nullopt;
  const std::int64_t days = days_from_civil(ts.year, ts.month, ts.day);
  const std::int64_t seconds = days * 86400 + ts.hour * 3600 + ts.minute * 60 + ts.second -
                               static_cast<std::int64_t>(ts.offset_minutes) * 60;
  return seconds * 1000000 + micros;
}

std::string format_epoch_us(std::int64_t epoch_us) {
  std::int64_t seconds = epoch_us / 1000000;
  std::int64_t micros = epoch_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t year = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) ++year;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<long long>(year), static_cast<long long>(month),
                static_cast<long long>(day), static_cast<long long>(rem / 3600),
                static_cast<long long>((rem / 60) % 60), static_cast<long long>(rem % 60),
                static_cast<long long>(micros));
  return buf;
}

bool is_array_index_key(std::string_view key, std::uint32_t* index) {
  if (key.empty() || key.size() > 10) return false;
  if (key.size() > 1 && key[0] == '0') return false;
  std::uint64_t value = 0;
  for (const char c : key) {
    if (!is_digit(c)) return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value >= 4294967295ULL) return false;
  if (index != nullptr) *index = static_cast<std::uint32_t>(value);
  return true;
}

std::int64_t epoch_us_or_zero(std::string_view timestamp) {
  const auto parsed = parse_iso_timestamp(timestamp);
  const auto epoch = parsed ? timestamp_to_epoch_us(*parsed) : std::nullopt;
  return epoch.value_or(0);
}

}  // namespace northstar_local::detail

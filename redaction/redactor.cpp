// redactor.cpp: the contract's suffix redaction (§6) and RedactionConfig validation.
#include "redaction/redactor.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/redaction_config.h"

namespace dagstack::logger {
namespace {

char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// The lowercase ASCII letter a non-ASCII key character stands for when the key is matched, or 0.
// Suffixes are lowercase ASCII, so only characters whose lowercase or simple case folding is an
// ASCII letter can take part in a match: U+212A KELVIN SIGN -> k (lowercase in Python, Go, TS;
// simple folding), U+017F LATIN SMALL LONG S -> s (simple folding), U+0130 LATIN CAPITAL I WITH
// DOT ABOVE -> i (Go's strings.ToLower).
char ascii_for(std::uint32_t cp) noexcept {
  switch (cp) {
    case 0x212A: return 'k';
    case 0x017F: return 's';
    case 0x0130: return 'i';
    default: return 0;
  }
}

// The character ending at key[0, end): its ASCII match letter (or 0 for any other non-ASCII
// character) and its length in bytes (at least 1; invalid UTF-8 counts byte by byte).
char last_char(std::string_view key, std::size_t end, std::size_t& len) noexcept {
  const auto last = static_cast<unsigned char>(key[end - 1]);
  len = 1;
  if (last < 0x80) return lower_ascii(static_cast<char>(last));
  std::size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<unsigned char>(key[start]) & 0xC0) == 0x80) {
    --start;
  }
  const auto lead = static_cast<unsigned char>(key[start]);
  const std::size_t n = end - start;
  std::uint32_t cp = 0;
  if (n == 2 && (lead & 0xE0) == 0xC0) {
    cp = lead & 0x1Fu;
  } else if (n == 3 && (lead & 0xF0) == 0xE0) {
    cp = lead & 0x0Fu;
  } else if (n == 4 && (lead & 0xF8) == 0xF0) {
    cp = lead & 0x07u;
  } else {
    return 0;  // a stray continuation or lead byte: one byte that matches nothing
  }
  for (std::size_t i = start + 1; i < end; ++i) {
    cp = (cp << 6) | (static_cast<unsigned char>(key[i]) & 0x3Fu);
  }
  len = n;
  return ascii_for(cp);
}

// The character-by-character comparison, for keys whose tail is not ASCII.
[[gnu::noinline]] bool ends_with_ci_unicode(std::string_view key,
                                            std::string_view suffix) noexcept {
  std::size_t k = key.size();
  std::size_t s = suffix.size();
  while (s > 0) {
    if (k == 0) return false;
    std::size_t len = 1;
    if (last_char(key, k, len) != suffix[s - 1]) return false;
    k -= len;
    --s;
  }
  return true;
}

// Compares from the end with the key lower-cased as the dagstack bindings do (ASCII, plus the
// non-ASCII characters that lower-case or fold to ASCII). A matching non-ASCII character takes
// at least two bytes for one suffix letter, so a key shorter in bytes than the suffix never
// matches; while the key's tail is ASCII (nearly every key) it is one byte per letter, and the
// first non-ASCII byte from the end hands over to ends_with_ci_unicode().
inline bool ends_with_ci(std::string_view key, std::string_view suffix) noexcept {
  if (suffix.size() > key.size()) return false;
  const char* kp = key.data() + key.size();
  const char* sp = suffix.data() + suffix.size();
  while (sp != suffix.data()) {
    const char c = *--kp;
    if (static_cast<unsigned char>(c) >= 0x80) [[unlikely]]
      return ends_with_ci_unicode(key, suffix);
    if (lower_ascii(c) != *--sp) return false;
  }
  return true;
}

// Iterative (an explicit stack, allocated only for nested containers): a value of any depth.
bool needs_redaction(const Value& v, const std::vector<std::string>& suffixes) {
  std::vector<const Value*> pending;
  const Value* next = &v;
  while (next != nullptr) {
    if (next->is_map()) {
      for (const auto& [k, child] : next->as_map()) {
        if (is_secret_key(k, suffixes)) return true;
        if (child.is_map() || child.is_array()) pending.push_back(&child);
      }
    } else if (next->is_array()) {
      for (const auto& child : next->as_array()) {
        if (child.is_map() || child.is_array()) pending.push_back(&child);
      }
    }
    next = nullptr;
    if (!pending.empty()) {
      next = pending.back();
      pending.pop_back();
    }
  }
  return false;
}

}  // namespace

bool is_secret_key(std::string_view key, const std::vector<std::string>& suffixes) noexcept {
  for (const auto& s : suffixes) {
    if (ends_with_ci(key, s)) return true;
  }
  return false;
}

void RedactionConfig::validate() const {
  for (std::size_t i = 0; i < extra_suffixes.size(); ++i) {
    const std::string& s = extra_suffixes[i];
    const std::string where = " (index " + std::to_string(i) + ")";
    if (s.empty()) throw ConfigError("redaction.extra_suffixes contains an empty string" + where);
    for (char c : s) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        throw ConfigError("redaction.extra_suffixes contains whitespace" + where + ": '" + s + "'");
      }
    }
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (u > 0x7F || (c >= 'A' && c <= 'Z')) {
        throw ConfigError("redaction.extra_suffixes must be lowercase ASCII" + where + ": '" + s +
                          "'");
      }
    }
  }
}

std::vector<std::string> RedactionConfig::effective_suffixes() const {
  validate();
  std::vector<std::string> out;
  if (!replace_defaults) out.assign(kDefaultSecretSuffixes.begin(), kDefaultSecretSuffixes.end());
  for (const auto& s : extra_suffixes) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

namespace detail {

Value redact_value(const Value& v, const std::vector<std::string>& suffixes) {
  Value out = v;  // an iterative copy; then the secrets in it are masked, without recursion
  std::vector<Value*> pending{&out};
  while (!pending.empty()) {
    Value* p = pending.back();
    pending.pop_back();
    if (p->is_map()) {
      for (auto& [k, child] : p->as_map()) {
        if (is_secret_key(k, suffixes)) {
          child = Value(std::string(kRedactedPlaceholder));
        } else if (child.is_map() || child.is_array()) {
          pending.push_back(&child);
        }
      }
    } else if (p->is_array()) {
      for (auto& child : p->as_array()) {
        if (child.is_map() || child.is_array()) pending.push_back(&child);
      }
    }
  }
  return out;
}

namespace {

// The bit of a key's (or suffix's) last two letters, lowercase ASCII.
std::uint64_t tail_bit(char a, char b) noexcept {
  const unsigned h = (static_cast<unsigned char>(a) * 7u) ^ static_cast<unsigned char>(b);
  return std::uint64_t{1} << (h & 63u);
}

// False only when `key` ends with none of the suffixes whose tail bits are `bits`: a key whose
// last two bytes are ASCII can end with a suffix only if they match, case aside, that suffix's
// last two letters, so nearly every key is told apart by one bit test instead of a comparison
// per suffix (a key that hits a set bit is compared in full).
bool may_be_secret(std::string_view key, std::uint64_t bits) noexcept {
  if (key.size() < 2) return true;
  const char a = key[key.size() - 2];
  const char b = key.back();
  if (static_cast<unsigned char>(a) >= 0x80 || static_cast<unsigned char>(b) >= 0x80) return true;
  return (bits & tail_bit(lower_ascii(a), lower_ascii(b))) != 0;
}

}  // namespace

std::uint64_t suffix_tail_bits(const std::vector<std::string>& suffixes) noexcept {
  std::uint64_t bits = 0;
  for (const auto& s : suffixes) {
    if (s.size() < 2) return ~std::uint64_t{0};  // a one-letter suffix: no filtering
    bits |= tail_bit(s[s.size() - 2], s.back());
  }
  return bits;
}

void redact_attributes(std::span<Attribute> attrs, const std::vector<std::string>& suffixes,
                       std::uint64_t tail_bits, std::forward_list<Value>& storage) {
  if (suffixes.empty()) return;
  for (auto& a : attrs) {
    if (may_be_secret(a.key, tail_bits) && is_secret_key(a.key, suffixes)) {
      a.value = AttrValue(kRedactedPlaceholder);
    } else if (a.value.kind() == AttrValue::Kind::kValue &&
               needs_redaction(a.value.as_value(), suffixes)) {
      storage.push_front(redact_value(a.value.as_value(), suffixes));
      a.value = AttrValue(storage.front());
    }
  }
}

}  // namespace detail
}  // namespace dagstack::logger

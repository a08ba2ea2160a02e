// redactor.cpp: the contract's suffix redaction (§6) and RedactionConfig validation.
#include "redaction/redactor.h"

#include <algorithm>
#include <string>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/redaction_config.h"

namespace dagstack::logger {
namespace {

char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Compares from the end: most keys differ from a suffix in their last character.
bool ends_with_ci(std::string_view key, std::string_view suffix) noexcept {
  if (suffix.size() > key.size()) return false;
  const char* k = key.data() + key.size();
  const char* s = suffix.data() + suffix.size();
  while (s != suffix.data()) {
    if (lower_ascii(*--k) != *--s) return false;
  }
  return true;
}

bool needs_redaction(const Value& v, const std::vector<std::string>& suffixes) {
  if (v.is_map()) {
    for (const auto& [k, child] : v.as_map()) {
      if (is_secret_key(k, suffixes) || needs_redaction(child, suffixes)) return true;
    }
  } else if (v.is_array()) {
    for (const auto& child : v.as_array()) {
      if (needs_redaction(child, suffixes)) return true;
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
  if (v.is_map()) {
    Value::Map out;
    for (const auto& [k, child] : v.as_map()) {
      if (is_secret_key(k, suffixes)) {
        out.emplace(k, Value(std::string(kRedactedPlaceholder)));
      } else {
        out.emplace(k, redact_value(child, suffixes));
      }
    }
    return Value(std::move(out));
  }
  if (v.is_array()) {
    Value::Array out;
    out.reserve(v.as_array().size());
    for (const auto& child : v.as_array()) out.push_back(redact_value(child, suffixes));
    return Value(std::move(out));
  }
  return v;
}

void redact_attributes(std::span<Attribute> attrs, const std::vector<std::string>& suffixes,
                       std::forward_list<Value>& storage) {
  if (suffixes.empty()) return;
  for (auto& a : attrs) {
    if (is_secret_key(a.key, suffixes)) {
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

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

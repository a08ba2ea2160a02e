// redaction_config.h: declares `RedactionConfig` and the default secret-key suffixes.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace dagstack::logger {

// The suffixes that mark an attribute key as secret (matched case-insensitively at the key's end).
inline constexpr std::array<std::string_view, 6> kDefaultSecretSuffixes = {
    "_key", "_secret", "_token", "_password", "_passphrase", "_credentials"};

// What replaces a secret value.
inline constexpr std::string_view kRedactedPlaceholder = "***";

// RedactionConfig
//
// Extra suffixes on top of the defaults, or instead of them. An empty effective set disables
// masking (and warns on the internal channel). Value type, thread-compatible.
struct RedactionConfig {
  std::vector<std::string>
      extra_suffixes;  // default: none; each must be non-empty lowercase ASCII without whitespace
  bool replace_defaults = false;  // default: extras are added to kDefaultSecretSuffixes

  // Checks the extras. Throws ConfigError naming the problem, e.g.
  // "redaction.extra_suffixes contains an empty string (index 0)".
  void validate() const;
  // The effective suffix list (defaults first, deduplicated, order kept). Validates first.
  std::vector<std::string> effective_suffixes() const;
};

// True when `key`, lower-cased, ends with one of `suffixes` (lowercase ASCII). Lower-casing
// covers ASCII and the non-ASCII characters that lower-case or simple-case-fold to an ASCII
// letter (U+212A KELVIN SIGN, U+017F LONG S, U+0130 CAPITAL I WITH DOT), so every key the
// Python, Go and TypeScript bindings mask is masked here too.
bool is_secret_key(std::string_view key, const std::vector<std::string>& suffixes) noexcept;

}  // namespace dagstack::logger

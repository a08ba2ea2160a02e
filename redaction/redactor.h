// redactor.h (private): masks secret attributes of an emit in place, without touching the input.
#pragma once

#include <cstdint>
#include <forward_list>
#include <span>
#include <string>
#include <vector>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::detail {

// A 64-bit set of the suffixes' last two letters, computed once per suffix list: a key whose last
// two bytes are ASCII and hit no bit ends with none of the suffixes (see redact_attributes).
std::uint64_t suffix_tail_bits(const std::vector<std::string>& suffixes) noexcept;

// Masks every attribute whose key is secret (suffix match, case-insensitive as is_secret_key) with
// "***"; nested maps and lists are walked, and a nested value that needs masking is replaced by a
// redacted copy kept in `storage`. An empty suffix list disables masking. `tail_bits` is
// suffix_tail_bits(suffixes) (or all ones).
void redact_attributes(std::span<Attribute> attrs, const std::vector<std::string>& suffixes,
                       std::uint64_t tail_bits, std::forward_list<Value>& storage);

// The redacted copy of a Value (maps at any depth; lists element by element).
Value redact_value(const Value& v, const std::vector<std::string>& suffixes);

}  // namespace dagstack::logger::detail

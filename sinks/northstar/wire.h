// wire.h (private): NorthStar wire helpers: timestamps, exact-key redaction, capture classes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/northstar/record_convention.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::northstar::detail {

// The keys redacted by default (exact, ASCII case-insensitive): the SDK's six plus x-api-key and
// bearer.
const std::vector<std::string>& default_redact_keys();
// The placeholder that replaces a redacted value.
inline constexpr std::string_view kRedacted = "[REDACTED]";

// UTC `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; the fraction only when the microseconds are non-zero.
std::string format_timestamp(std::uint64_t time_unix_nano);

// A copy of `v` where the value of every map key equal (ASCII case-insensitively) to one of
// `keys` (lowercase) is "[REDACTED]", at any depth, through maps and arrays.
Value redact(const Value& v, const std::vector<std::string>& keys);
// The same for a map, in place.
void redact_in_place(Value::Map& m, const std::vector<std::string>& keys);

// Input-side event types (capture_inputs): user_input, system_message, tool_arguments.
bool is_input_event(EventType type) noexcept;
// Output-side event types (capture_outputs): assistant_message, reasoning, tool_result,
// final_response.
bool is_output_event(EventType type) noexcept;

// The namespace part of a demangled C++ type name ("std::runtime_error" -> "std"), or "".
std::string type_module(std::string_view type_name);

// ms rounded to 3 decimals.
double round_ms(double ms) noexcept;

}  // namespace dagstack::logger::northstar::detail

// canonical_json.h: declares the canonical JSON encoder and the dagstack JSON-lines record encoder.
#pragma once

#include <string>
#include <string_view>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/log_record.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger {

// Canonical JSON (contract §1.5): object keys sorted by UTF-16 code units, no whitespace, raw
// UTF-8 (invalid sequences become U+FFFD), Python-repr floats (`1.0`, `1e+16`, `1.5e-07`),
// `-0.0` written `0.0`, C0 controls escaped as \u00xx. NaN and infinities are not JSON: the
// functions below that return bool write `null` in their place and return false; the throwing
// variants throw std::invalid_argument instead.

// Depth cap: an array or map nested deeper than kMaxJsonDepth levels (the outermost container
// is level 1) is written as the string kDepthMarker instead, so that no value, however deep, can
// exhaust the stack of the thread that encodes it. Not an error: the functions return true.
inline constexpr int kMaxJsonDepth = 256;
inline constexpr std::string_view kDepthMarker = "[dagstack: nested deeper than 256 levels]";

// Appends the canonical text of `v` to `out`. Returns false if a non-finite double was replaced.
bool append_canonical_json(const Value& v, std::string& out);
// Appends the canonical text of a viewed value.
bool append_canonical_json(const AttrValue& v, std::string& out);
// Returns the canonical text of `v`; throws std::invalid_argument on NaN/Infinity.
std::string to_canonical_json(const Value& v);

// Appends the canonical text of a double (Python repr rules); false for NaN/Inf (nothing written).
bool append_canonical_double(double d, std::string& out);
// Appends a JSON string literal (quotes included) with the canonical escaping.
void append_json_string(std::string_view s, std::string& out);

// Compares two UTF-8 strings by their UTF-16 code units (the canonical key order).
bool utf16_less(std::string_view a, std::string_view b) noexcept;

// Appends one dagstack JSON-lines record (contract §1.4 omission rules) to `out`, without a
// trailing newline. Never throws except std::bad_alloc; returns false if a non-finite number
// was written as null.
bool append_jsonl_record(const LogRecord& record, std::string& out);
// Convenience: the record as a JSON line (no trailing newline).
std::string to_jsonl(const LogRecord& record);
std::string to_jsonl(const OwnedLogRecord& record);

}  // namespace dagstack::logger

// text.h: declares the text helpers that reproduce the edge function's JavaScript semantics
// (UTF-8 decoding, JSON.stringify quoting, String.prototype.trim, the UUID and ISO-timestamp
// checks) and the Postgres-side timestamp conversion.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace northstar_local::detail {

// Decodes bytes the way TextDecoder("utf-8") does for Request.json(): a leading BOM is dropped and
// every ill-formed sequence becomes U+FFFD. The result is valid UTF-8.
std::string decode_utf8_lossy(std::string_view bytes);

// Re-encodes an HTTP header value (a ByteString: one code unit per byte) as UTF-8.
std::string latin1_to_utf8(std::string_view bytes);

// True for 8-4-4-4-12 hex digits in either case (the edge function's UUID regex).
bool is_uuid(std::string_view text);

std::string ascii_lower(std::string_view text);

// String.prototype.trim(): strips JavaScript WhiteSpace and LineTerminator code points.
std::string_view js_trim(std::string_view utf8);

// Postgres btrim(text): strips ASCII spaces only.
std::string_view pg_btrim(std::string_view text);

// The JSON string literal JSON.stringify() would write for `utf8` (quotes included).
std::string json_quote(std::string_view utf8);

// The deepest array/object nesting in a JSON text (strings are skipped; no validation).
int json_nesting_depth(std::string_view json);

// A timestamp that passed the edge function's check: matches
// ^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$ and `new Date(v)` is valid.
struct IsoTimestamp {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::string fraction;    // digits after '.', possibly empty
  int offset_minutes = 0;  // east of UTC
};

// Applies the edge function's isIsoDate(): the regex, then JavaScript Date validity (month 1-12,
// day 1-31, hour 0-23 or 24:00:00.000, minute and second 0-59, offset hour 0-23 and minute 0-59).
std::optional<IsoTimestamp> parse_iso_timestamp(std::string_view text);

// Converts like Postgres `::timestamptz`: microseconds since the Unix epoch, fraction rounded to
// microseconds. Returns nullopt where Postgres raises "date/time field value out of range" (year 0,
// day past the end of the month, 24:00 with a non-zero remainder, offset beyond 15:59) even though
// JavaScript accepted the value.
std::optional<std::int64_t> timestamp_to_epoch_us(const IsoTimestamp& ts);

// Microseconds since the epoch of a stored ISO timestamp; 0 when it does not parse.
std::int64_t epoch_us_or_zero(std::string_view timestamp);

// Formats microseconds since the epoch as YYYY-MM-DDTHH:MM:SS.ffffffZ.
std::string format_epoch_us(std::int64_t epoch_us);

// True if `key` is a JavaScript array index ("0".."4294967294" without leading zeros); such own
// keys are enumerated first, in numeric order, by Object.keys().
bool is_array_index_key(std::string_view key, std::uint32_t* index);

}  // namespace northstar_local::detail

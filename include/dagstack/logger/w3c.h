// w3c.h: declares the W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage header
// parsers and formatters, and `from_w3c_headers` / `inject_w3c_headers` for HTTP hops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/context.h"
#include "dagstack/logger/trace_ids.h"

namespace dagstack::logger {

// Error model: the parse_* functions are strict and throw std::invalid_argument with a message
// that starts with the header name ("traceparent: ...", "tracestate: ...", "baggage: ...") and
// says what is wrong; they never accept input they could not re-emit. from_w3c_headers() is the
// lenient entry point for requests: a bad header is ignored, as the W3C specs require of a
// receiver, and never throws for bad input. All functions are thread-safe (pure).
namespace w3c {

// Limits from the W3C specifications.
inline constexpr std::size_t kMaxTraceStateMembers = 32;
inline constexpr std::size_t kMaxTraceStateLength = 512;  // characters of the whole header
inline constexpr std::size_t kMaxBaggageMembers = 180;
inline constexpr std::size_t kMaxBaggageBytes = 8192;  // bytes of the whole header

// TraceParent
//
// A parsed `traceparent` header (W3C Trace Context level 1). Value type, thread-compatible.
struct TraceParent {
  std::uint8_t version = 0;      // 0x00; parsing accepts later versions 01..fe (forward compatible)
  TraceId trace_id;              // never all-zero once parsed
  SpanId parent_id;              // never all-zero once parsed
  std::uint8_t trace_flags = 0;  // bit 0 = sampled

  bool sampled() const noexcept { return (trace_flags & 0x01) != 0; }
  friend bool operator==(const TraceParent&, const TraceParent&) = default;
};

// Parses `version-traceid-parentid-flags`, lowercase hex only. Surrounding spaces and tabs
// (HTTP optional whitespace) are ignored. Version 00 must be exactly 55 characters; a higher
// version (01..fe) may carry more fields after a '-', which are ignored. Rejects version ff,
// wrong field lengths, uppercase or non-hex digits, wrong separators, and all-zero ids.
TraceParent parse_traceparent(std::string_view header);
// Formats as version 00: "00-<32 hex>-<16 hex>-<2 hex>". Throws std::invalid_argument when an
// id is all-zero.
std::string format_traceparent(const TraceParent& tp);
std::string format_traceparent(const TraceId& trace_id, const SpanId& span_id,
                               std::uint8_t trace_flags);

// One `tracestate` list member.
struct TraceStateEntry {
  std::string key;    // simple-key, or tenant@system
  std::string value;  // 1..256 printable ASCII, no ',' or '=', not ending in a space
  friend bool operator==(const TraceStateEntry&, const TraceStateEntry&) = default;
};
using TraceState = std::vector<TraceStateEntry>;

// Parses a `tracestate` header (members separated by ',', with optional whitespace; empty
// members are skipped). Rejects more than 32 members, a header longer than 512 characters, a
// duplicate key, and keys or values outside the W3C grammar.
TraceState parse_tracestate(std::string_view header);
// Formats as "k1=v1,k2=v2" (no spaces). Throws std::invalid_argument when an entry breaks the
// grammar or the limits (the same checks as parsing).
std::string format_tracestate(const TraceState& state);

// One `baggage` list member.
struct BaggageEntry {
  std::string key;       // an RFC 7230 token
  std::string value;     // percent-decoded (UTF-8 text as sent)
  std::string metadata;  // the properties after the first ';' as received ("" when none)
  friend bool operator==(const BaggageEntry&, const BaggageEntry&) = default;
};
using Baggage = std::vector<BaggageEntry>;

// Parses a W3C `baggage` header: `key=value` members separated by ',' with optional
// whitespace, each with optional `;property` parts; values are percent-decoded. An empty (or
// all-whitespace) header is an empty list. Rejects more than 180 members, more than 8192 bytes,
// empty members, keys that are not tokens, values or properties with forbidden characters, and
// malformed percent escapes. A repeated key keeps its last value.
Baggage parse_baggage(std::string_view header);
// Formats as "k1=v1,k2=v2;prop" with values percent-encoded (every byte outside the W3C
// baggage-octet set, and '%', becomes %XX). Throws std::invalid_argument on a key that is not a
// token, on malformed metadata, or when the result would break the limits.
std::string format_baggage(const Baggage& baggage);

// Parses a `baggage` header as a receiver should: invalid and empty members are dropped one by
// one and the valid ones kept (`k=v,` and `k=v,,k2=v2` keep k and k2); members past the 180th or
// past 8192 bytes are dropped. Never throws for bad input.
Baggage parse_baggage_lenient(std::string_view header);

}  // namespace w3c

// W3CHeaders: the three propagation headers; an empty string means "do not send this header".
struct W3CHeaders {
  std::string traceparent;
  std::string tracestate;
  std::string baggage;
};

// The Context described by incoming headers: the remote span (trace id, parent span id, flags)
// from `traceparent`, its `tracestate`, and the valid `baggage` members (parse_baggage_lenient;
// their properties are kept for inject_w3c_headers). An invalid `traceparent` yields no span and
// makes `tracestate` ignored; an invalid `tracestate` is ignored on its own. Never throws for bad
// input (only std::bad_alloc).
Context from_w3c_headers(std::string_view traceparent, std::string_view tracestate = {},
                         std::string_view baggage = {});

// The headers to send downstream for `ctx`: `traceparent` when it has a span (version 00),
// `tracestate` when it carries one, and `baggage` from its entries (with the properties a
// member arrived with, as long as its value is unchanged). Baggage entries whose key
// is not a token are skipped, and entries past the 180-member / 8192-byte limits are dropped,
// so the result is always valid. Never throws except std::bad_alloc.
W3CHeaders inject_w3c_headers(const Context& ctx);

}  // namespace dagstack::logger

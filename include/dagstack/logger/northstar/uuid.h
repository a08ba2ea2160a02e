// uuid.h: declares the deterministic NorthStar UUIDs derived from trace and span ids, and a
// checker for RFC 4122 version-4 strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dagstack/logger/trace_ids.h"

namespace dagstack::logger::northstar {

// The Run UUID of the run whose root span is (`trace_id`, `root_span_id`): a lowercase RFC 4122
// v4-shaped UUID (version nibble 4, variant 10xx) hashed from the ids, so a replayed log maps to
// the same rows. northstar::current_trace_id() returns this value.
std::string derive_run_uuid(const TraceId& trace_id, const SpanId& root_span_id);
// The Span UUID of (`trace_id`, `span_id`); differs from the run UUID of the same ids.
std::string derive_span_uuid(const TraceId& trace_id, const SpanId& span_id);
// An Event UUID for the `sequence`-th event recorded at `time_unix_nano` under (`trace_id`,
// `span_id`): v4-shaped and deterministic; its first 48 bits are the event's Unix time in
// milliseconds (as in a UUIDv7), so a store's index on event ids grows in time order.
std::string derive_event_uuid(const TraceId& trace_id, const SpanId& span_id,
                              std::uint64_t time_unix_nano, std::uint64_t sequence);
// A random v4 UUID (used for sessions).
std::string random_uuid_v4();

// True when `s` is 36 chars, lowercase hex in 8-4-4-4-12 layout, version 4 and variant 8/9/a/b.
bool is_uuid_v4(std::string_view s) noexcept;

}  // namespace dagstack::logger::northstar

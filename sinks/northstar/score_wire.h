// score_wire.h (private): turns a score record (northstar::log_score) into the JSON of one entry of
// the batch's `scores` array.
#pragma once

#include <optional>
#include <string>

#include "record_codec.h"

namespace dagstack::logger::northstar::detail {

// True when `r` is a score record.
bool is_score_record(const DecodedRecord& r);

// The score's JSON object (protocol §9: id, trace_id, span_id?, name, value, data_type,
// string_value?, source "api", comment?, created_at), or nullopt when the server would refuse it.
std::optional<std::string> score_json(const DecodedRecord& r);

}  // namespace dagstack::logger::northstar::detail

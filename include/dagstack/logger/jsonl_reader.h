// jsonl_reader.h: declares `parse_jsonl_record`, which reads one dagstack JSON-lines record back.
#pragma once

#include <string_view>

#include "dagstack/logger/log_record.h"

namespace dagstack::logger {

// Parses one dagstack JSON-lines record into an owning record. Throws std::invalid_argument with
// a clear message when the line is not a JSON object, a required field is missing or mistyped,
// the severity is unknown (not an integer in [1, 24], or a text that does not match the number),
// `instrumentation_scope` is missing, or `trace_id`/`span_id` is malformed. Integers and doubles
// are kept apart, so parse -> encode reproduces the line byte for byte.
OwnedLogRecord parse_jsonl_record(std::string_view line);

}  // namespace dagstack::logger

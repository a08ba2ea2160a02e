// validation.h: declares the per-entity payload validators of the ingest endpoint (protocol §4.1).
#pragma once

#include <optional>
#include <string>

#include "json.h"

namespace northstar_local::detail {

// Each validator takes the entity array and returns the first failing message, exactly as the
// edge function words it (e.g. "runs[3].status must be one of: running, ok, error"), or nullopt.
std::optional<std::string> validate_sessions(const JsonValue& sessions);
std::optional<std::string> validate_runs(const JsonValue& runs);
std::optional<std::string> validate_spans(const JsonValue& spans);
std::optional<std::string> validate_events(const JsonValue& events);
std::optional<std::string> validate_prompt_links(const JsonValue& prompt_links);
std::optional<std::string> validate_scores(const JsonValue& scores);

}  // namespace northstar_local::detail

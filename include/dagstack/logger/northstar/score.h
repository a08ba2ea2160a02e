// score.h: declares northstar::log_score(), which attaches a score (numeric, boolean or
// categorical) to a run; the NorthStar sink sends it in the batch's `scores` array.
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <string_view>

namespace dagstack::logger::northstar {

// Optional parts of a score (protocol §9).
struct ScoreOptions {
  std::optional<std::string> span_id;  // a span of that run (NorthStar span UUID); default none
  std::optional<std::string> comment;  // free text; default none
};

// Record keys of a score record (consumed by the sink, see record_convention.h for the scheme).
namespace keys {
inline constexpr std::string_view kEventTypeScore = "score";  // value of northstar.event_type
inline constexpr std::string_view kScoreTraceId = "northstar.score.trace_id";
inline constexpr std::string_view kScoreSpanId = "northstar.score.span_id";
inline constexpr std::string_view kScoreValue = "northstar.score.value";
inline constexpr std::string_view kScoreDataType = "northstar.score.data_type";
inline constexpr std::string_view kScoreStringValue = "northstar.score.string_value";
inline constexpr std::string_view kScoreComment = "northstar.score.comment";
}  // namespace keys

// Attaches a score named `name` to the run `trace_id` (a run UUID, e.g. from
// current_trace_id() or TraceScope::id()), the way the SDK's Northstar.score() does: a double is a
// `numeric` score, a bool a `boolean` one (1.0/0.0), a string a `categorical` one (value 0,
// string_value = the string); source is always "api". It needs no open span. A score the server
// would refuse (blank name, non-finite value, trace or span id that is not a UUID, blank category)
// is dropped by the sink and counted with the records outside any trace. Never throws.
void log_score(std::string_view trace_id, std::string_view name, double value,
               ScoreOptions options = {});
void log_score(std::string_view trace_id, std::string_view name, bool value,
               ScoreOptions options = {});
void log_score(std::string_view trace_id, std::string_view name, std::string_view category,
               ScoreOptions options = {});
inline void log_score(std::string_view trace_id, std::string_view name, const char* category,
                      ScoreOptions options = {}) {
  log_score(trace_id, name, std::string_view(category), std::move(options));
}
template <std::integral T>
requires(!std::same_as<T, bool>) void log_score(std::string_view trace_id, std::string_view name,
                                                T value, ScoreOptions options = {}) {
  log_score(trace_id, name, static_cast<double>(value), std::move(options));
}

}  // namespace dagstack::logger::northstar

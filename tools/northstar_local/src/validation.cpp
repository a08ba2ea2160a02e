// validation.cpp: the ingest payload validators, check for check and message for message as in
// the edge function (protocol §4.1).
#include "validation.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "text.h"

namespace northstar_local::detail {
namespace {

using Keys = std::vector<std::string_view>;

constexpr std::array<std::string_view, 3> kStatuses = {"running", "ok", "error"};
constexpr std::array<std::string_view, 5> kSpanKinds = {"agent", "workflow", "model", "tool",
                                                        "custom"};
constexpr std::array<std::string_view, 8> kEventTypes = {
    "user_input",     "system_message", "assistant_message", "reasoning",
    "tool_arguments", "tool_result",    "final_response",    "custom"};
constexpr std::array<std::string_view, 3> kScoreDataTypes = {"numeric", "categorical", "boolean"};

const Keys kSessionKeys = {"id", "project_id", "created_at", "ended_at", "metadata"};
const Keys kRunKeys = {"id",         "session_id", "project_id", "name",    "started_at",
                       "ended_at",   "status",     "error",      "metadata"};
const Keys kSpanKeys = {"id",       "run_id",   "project_id", "parent_span_id",
                        "kind",     "name",     "started_at", "ended_at",
                        "status",   "error",    "iteration",  "attributes"};
const Keys kEventKeys = {"id",   "run_id",     "span_id", "project_id",
                         "type", "created_at", "content", "attributes"};
const Keys kPromptLinkKeys = {"project_id", "trace_id", "span_id", "prompt_version_id",
                              "variable_values"};
const Keys kScoreKeys = {"id",        "project_id",   "trace_id", "span_id",
                         "name",      "value",        "data_type", "string_value",
                         "source",    "comment",      "created_at"};

template <std::size_t N>
std::string one_of(const std::array<std::string_view, N>& values) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += ", ";
    out += values[i];
  }
  return out;
}

template <std::size_t N>
bool string_in(const JsonValue* value, const std::array<std::string_view, N>& values) {
  if (value == nullptr || !value->IsString()) return false;
  const std::string_view text(value->GetString(), value->GetStringLength());
  return std::find(values.begin(), values.end(), text) != values.end();
}

std::string_view view(const JsonValue& string_value) {
  return {string_value.GetString(), string_value.GetStringLength()};
}

bool is_uuid_value(const JsonValue* value) {
  return value != nullptr && value->IsString() && is_uuid(view(*value));
}

bool is_iso_value(const JsonValue* value) {
  return value != nullptr && value->IsString() && parse_iso_timestamp(view(*value)).has_value();
}

bool is_plain_object(const JsonValue* value) { return value != nullptr && value->IsObject(); }

bool is_nonempty_string(const JsonValue* value) {
  return value != nullptr && value->IsString() && value->GetStringLength() > 0;
}

bool is_nonblank_string(const JsonValue* value) {
  return value != nullptr && value->IsString() && !js_trim(view(*value)).empty();
}

// validateKeys(): the first own key, in Object.keys() order (array indices ascending first, then
// the other keys in insertion order), that is not whitelisted.
std::optional<std::string> first_disallowed_key(const JsonValue& record, const Keys& allowed) {
  std::vector<std::pair<std::uint32_t, std::string_view>> index_keys;
  std::optional<std::string_view> first_plain;
  for (auto it = record.MemberBegin(); it != record.MemberEnd(); ++it) {
    const std::string_view key = view(it->name);
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::uint32_t index = 0;
    if (is_array_index_key(key, &index)) {
      index_keys.emplace_back(index, key);
    } else if (!first_plain) {
      first_plain = key;
    }
  }
  if (!index_keys.empty()) {
    return std::string(std::min_element(index_keys.begin(), index_keys.end())->second);
  }
  if (first_plain) return std::string(*first_plain);
  return std::nullopt;
}

// Runs `check(record, path)` on every element; returns the first message.
template <typename Check>
std::optional<std::string> validate_each(const JsonValue& array, std::string_view entity,
                                         const Keys& allowed, Check check) {
  for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
    const std::string path = std::string(entity) + "[" + std::to_string(i) + "]";
    const JsonValue& record = array[i];
    if (!record.IsObject()) return path + " is not an object";
    if (auto key = first_disallowed_key(record, allowed)) {
      return path + "." + *key + " is not allowed";
    }
    if (auto message = check(record, path)) return message;
  }
  return std::nullopt;
}

std::optional<std::string> optional_project_id(const JsonValue& record, const std::string& path) {
  const JsonValue* value = member(record, "project_id");
  if (!is_nullish(value) && !is_uuid_value(value)) return path + ".project_id is not a valid UUID";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate_sessions(const JsonValue& sessions) {
  return validate_each(sessions, "sessions", kSessionKeys,
                       [](const JsonValue& s, const std::string& path) -> std::optional<std::string> {
    if (!is_uuid_value(member(s, "id"))) return path + ".id is not a valid UUID";
    if (auto message = optional_project_id(s, path)) return message;
    if (!is_iso_value(member(s, "created_at"))) return path + ".created_at is not a valid ISO timestamp";
    const JsonValue* ended_at = member(s, "ended_at");
    if (!is_nullish(ended_at) && !is_iso_value(ended_at)) {
      return path + ".ended_at is not a valid ISO timestamp";
    }
    const JsonValue* metadata = member(s, "metadata");
    if (!is_nullish(metadata) && !is_plain_object(metadata)) return path + ".metadata must be an object";
    return std::nullopt;
  });
}

std::optional<std::string> validate_runs(const JsonValue& runs) {
  return validate_each(runs, "runs", kRunKeys,
                       [](const JsonValue& r, const std::string& path) -> std::optional<std::string> {
    if (!is_uuid_value(member(r, "id"))) return path + ".id is not a valid UUID";
    if (!is_uuid_value(member(r, "session_id"))) return path + ".session_id is not a valid UUID";
    if (auto message = optional_project_id(r, path)) return message;
    if (!is_nonempty_string(member(r, "name"))) return path + ".name is required";
    if (!is_iso_value(member(r, "started_at"))) return path + ".started_at is not a valid ISO timestamp";
    const JsonValue* ended_at = member(r, "ended_at");
    if (!is_nullish(ended_at) && !is_iso_value(ended_at)) {
      return path + ".ended_at is not a valid ISO timestamp";
    }
    if (!string_in(member(r, "status"), kStatuses)) {
      return path + ".status must be one of: " + one_of(kStatuses);
    }
    const JsonValue* error = member(r, "error");
    if (!is_nullish(error) && !is_plain_object(error)) return path + ".error must be an object";
    const JsonValue* metadata = member(r, "metadata");
    if (!is_nullish(metadata) && !is_plain_object(metadata)) return path + ".metadata must be an object";
    return std::nullopt;
  });
}

std::optional<std::string> validate_spans(const JsonValue& spans) {
  return validate_each(spans, "spans", kSpanKeys,
                       [](const JsonValue& sp, const std::string& path) -> std::optional<std::string> {
    if (!is_uuid_value(member(sp, "id"))) return path + ".id is not a valid UUID";
    if (!is_uuid_value(member(sp, "run_id"))) return path + ".run_id is not a valid UUID";
    if (auto message = optional_project_id(sp, path)) return message;
    const JsonValue* parent = member(sp, "parent_span_id");
    if (!is_nullish(parent) && !is_uuid_value(parent)) {
      return path + ".parent_span_id is not a valid UUID";
    }
    if (!string_in(member(sp, "kind"), kSpanKinds)) {
      return path + ".kind must be one of: " + one_of(kSpanKinds);
    }
    if (!is_nonempty_string(member(sp, "name"))) return path + ".name is required";
    if (!is_iso_value(member(sp, "started_at"))) return path + ".started_at is not a valid ISO timestamp";
    const JsonValue* ended_at = member(sp, "ended_at");
    if (!is_nullish(ended_at) && !is_iso_value(ended_at)) {
      return path + ".ended_at is not a valid ISO timestamp";
    }
    if (!string_in(member(sp, "status"), kStatuses)) {
      return path + ".status must be one of: " + one_of(kStatuses);
    }
    const JsonValue* error = member(sp, "error");
    if (!is_nullish(error) && !is_plain_object(error)) return path + ".error must be an object";
    const JsonValue* iteration = member(sp, "iteration");
    if (!is_nullish(iteration) && !is_integral_number(*iteration)) {
      return path + ".iteration must be an integer";
    }
    const JsonValue* attributes = member(sp, "attributes");
    if (!is_nullish(attributes) && !is_plain_object(attributes)) {
      return path + ".attributes must be an object";
    }
    return std::nullopt;
  });
}

std::optional<std::string> validate_events(const JsonValue& events) {
  return validate_each(events, "events", kEventKeys,
                       [](const JsonValue& e, const std::string& path) -> std::optional<std::string> {
    if (!is_uuid_value(member(e, "id"))) return path + ".id is not a valid UUID";
    if (!is_uuid_value(member(e, "run_id"))) return path + ".run_id is not a valid UUID";
    if (auto message = optional_project_id(e, path)) return message;
    const JsonValue* span_id = member(e, "span_id");
    if (!is_nullish(span_id) && !is_uuid_value(span_id)) return path + ".span_id is not a valid UUID";
    if (!string_in(member(e, "type"), kEventTypes)) {
      return path + ".type must be one of: " + one_of(kEventTypes);
    }
    if (!is_iso_value(member(e, "created_at"))) return path + ".created_at is not a valid ISO timestamp";
    if (member(e, "content") == nullptr) return path + ".content is required";
    const JsonValue* attributes = member(e, "attributes");
    if (!is_nullish(attributes) && !is_plain_object(attributes)) {
      return path + ".attributes must be an object";
    }
    return std::nullopt;
  });
}

std::optional<std::string> validate_prompt_links(const JsonValue& prompt_links) {
  return validate_each(prompt_links, "prompt_links", kPromptLinkKeys,
                       [](const JsonValue& l, const std::string& path) -> std::optional<std::string> {
    if (auto message = optional_project_id(l, path)) return message;
    if (!is_uuid_value(member(l, "trace_id"))) return path + ".trace_id is not a valid UUID";
    if (!is_uuid_value(member(l, "span_id"))) return path + ".span_id is not a valid UUID";
    if (!is_uuid_value(member(l, "prompt_version_id"))) {
      return path + ".prompt_version_id is not a valid UUID";
    }
    const JsonValue* variables = member(l, "variable_values");
    if (!is_nullish(variables) && !is_plain_object(variables)) {
      return path + ".variable_values must be an object";
    }
    return std::nullopt;
  });
}

std::optional<std::string> validate_scores(const JsonValue& scores) {
  if (scores.Size() > 500) return std::string("scores must contain at most 500 items");
  return validate_each(scores, "scores", kScoreKeys,
                       [](const JsonValue& s, const std::string& path) -> std::optional<std::string> {
    if (!is_uuid_value(member(s, "id"))) return path + ".id is not a valid UUID";
    if (auto message = optional_project_id(s, path)) return message;
    if (!is_uuid_value(member(s, "trace_id"))) return path + ".trace_id is not a valid UUID";
    const JsonValue* span_id = member(s, "span_id");
    if (!is_nullish(span_id) && !is_uuid_value(span_id)) return path + ".span_id is not a valid UUID";
    if (!is_nonblank_string(member(s, "name"))) return path + ".name is required";
    const JsonValue* value = member(s, "value");
    if (value == nullptr || !value->IsNumber() || !std::isfinite(value->GetDouble())) {
      return path + ".value must be a finite number";
    }
    const JsonValue* data_type = member(s, "data_type");
    if (!string_in(data_type, kScoreDataTypes)) {
      return path + ".data_type must be one of: " + one_of(kScoreDataTypes);
    }
    const std::string_view type = view(*data_type);
    const JsonValue* string_value = member(s, "string_value");
    if (type == "categorical") {
      if (!is_nonblank_string(string_value)) {
        return path + ".string_value is required for categorical scores";
      }
    } else if (!is_nullish(string_value)) {
      return path + ".string_value is only allowed for categorical scores";
    }
    if (type == "boolean" && value->GetDouble() != 0.0 && value->GetDouble() != 1.0) {
      return path + ".value must be 0 or 1 for boolean scores";
    }
    const auto source = string_member(s, "source");
    if (!source || *source != "api") return path + ".source must be api";
    const JsonValue* comment = member(s, "comment");
    if (!is_nullish(comment) && !comment->IsString()) return path + ".comment must be a string";
    if (!is_iso_value(member(s, "created_at"))) return path + ".created_at is not a valid ISO timestamp";
    return std::nullopt;
  });
}

}  // namespace northstar_local::detail

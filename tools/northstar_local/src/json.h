// json.h: declares the RapidJSON aliases and helpers shared by the ingest pipeline and the store.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace northstar_local::detail {

using JsonDocument = rapidjson::Document;
using JsonValue = rapidjson::Value;

// Member `key` of object `object`, or nullptr when absent (or `object` is not an object).
const JsonValue* member(const JsonValue& object, std::string_view key);

// JavaScript `v == null`: the key is absent or its value is null.
inline bool is_nullish(const JsonValue* value) { return value == nullptr || value->IsNull(); }

// A string member as a string_view (nullopt when absent or not a string).
std::optional<std::string_view> string_member(const JsonValue& object, std::string_view key);

// Rewrites objects the way JSON.parse builds them: for a repeated key the last value wins and the
// key keeps its first position. Recursive; callers bound the nesting depth first.
void collapse_duplicate_keys(JsonValue& value, rapidjson::Document::AllocatorType& allocator);

// True if any string or object key anywhere inside `value` contains U+0000 (which Postgres jsonb
// and text reject).
bool contains_nul(const JsonValue& value);

// Compact JSON text of `value`.
std::string to_json(const JsonValue& value);

// JavaScript Number.isInteger() for a JSON number.
bool is_integral_number(const JsonValue& value);

// A stored JSON column, parsed (an empty object when it is missing or not an object), with typed
// lookups. Not thread-safe; local use.
struct JsonObject {
  explicit JsonObject(const std::optional<std::string>& text) {
    if (text) doc.Parse(text->data(), text->size());
    if (!text || doc.HasParseError() || !doc.IsObject()) doc.SetObject();
  }
  // Member `key` when it is a number.
  std::optional<double> number(const char* key) const {
    const auto* value = member(doc, key);
    if (value == nullptr || !value->IsNumber()) return std::nullopt;
    return value->GetDouble();
  }
  // Member `key` when it is a string.
  std::optional<std::string> string(const char* key) const {
    const auto* value = member(doc, key);
    if (value == nullptr || !value->IsString()) return std::nullopt;
    return std::string(value->GetString(), value->GetStringLength());
  }
  JsonDocument doc;
};

}  // namespace northstar_local::detail

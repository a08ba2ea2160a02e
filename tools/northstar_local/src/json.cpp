// json.cpp: RapidJSON helpers (see json.h).
#include "json.h"

#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace northstar_local::detail {

const JsonValue* member(const JsonValue& object, std::string_view key) {
  if (!object.IsObject()) return nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key) {
      return &it->value;
    }
  }
  return nullptr;
}

std::optional<std::string_view> string_member(const JsonValue& object, std::string_view key) {
  const JsonValue* value = member(object, key);
  if (value == nullptr || !value->IsString()) return std::nullopt;
  return std::string_view(value->GetString(), value->GetStringLength());
}

namespace {

std::string_view name_of(const JsonValue::ConstMemberIterator& it) {
  return {it->name.GetString(), it->name.GetStringLength()};
}

// True if two members of `object` share a name. Small objects (nearly all of them) are compared
// pairwise, without allocating.
bool has_duplicate_names(const JsonValue& object) {
  const rapidjson::SizeType count = object.MemberCount();
  const auto begin = object.MemberBegin();
  if (count <= 16) {
    for (rapidjson::SizeType i = 1; i < count; ++i) {
      for (rapidjson::SizeType j = 0; j < i; ++j) {
        if (name_of(begin + i) == name_of(begin + j)) return true;
      }
    }
    return false;
  }
  std::unordered_set<std::string_view> names;
  names.reserve(count);
  for (rapidjson::SizeType i = 0; i < count; ++i) {
    if (!names.insert(name_of(begin + i)).second) return true;
  }
  return false;
}

}  // namespace

void collapse_duplicate_keys(JsonValue& value, rapidjson::Document::AllocatorType& allocator) {
  if (value.IsArray()) {
    for (auto& element : value.GetArray()) collapse_duplicate_keys(element, allocator);
    return;
  }
  if (!value.IsObject()) return;
  // Index loops: comparing RapidJSON's mutable member iterators is ambiguous in C++20.
  const rapidjson::SizeType count = value.MemberCount();
  for (rapidjson::SizeType i = 0; i < count; ++i) {
    collapse_duplicate_keys((value.MemberBegin() + i)->value, allocator);
  }
  if (!has_duplicate_names(value)) return;

  // Rebuild: keep each key at its first position, with the value of its last occurrence.
  std::vector<JsonValue*> slot_values;
  std::vector<JsonValue*> slot_names;
  std::unordered_map<std::string_view, std::size_t> slot_of;
  for (rapidjson::SizeType i = 0; i < count; ++i) {
    const auto it = value.MemberBegin() + i;
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    auto found = slot_of.find(name);
    if (found == slot_of.end()) {
      slot_of.emplace(name, slot_names.size());
      slot_names.push_back(&it->name);
      slot_values.push_back(&it->value);
    } else {
      slot_values[found->second] = &it->value;
    }
  }
  JsonValue rebuilt(rapidjson::kObjectType);
  for (std::size_t i = 0; i < slot_names.size(); ++i) {
    JsonValue name(*slot_names[i], allocator);
    JsonValue member_value;
    member_value.Swap(*slot_values[i]);
    rebuilt.AddMember(name, member_value, allocator);
  }
  value.Swap(rebuilt);
}

bool contains_nul(const JsonValue& value) {
  if (value.IsString()) {
    return std::memchr(value.GetString(), '\0', value.GetStringLength()) != nullptr;
  }
  if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      if (contains_nul(element)) return true;
    }
    return false;
  }
  if (value.IsObject()) {
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
      if (contains_nul(it->name) || contains_nul(it->value)) return true;
    }
  }
  return false;
}

std::string to_json(const JsonValue& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool is_integral_number(const JsonValue& value) {
  if (!value.IsNumber()) return false;
  if (value.IsInt64() || value.IsUint64()) return true;
  const double d = value.GetDouble();
  return std::isfinite(d) && std::trunc(d) == d;
}

}  // namespace northstar_local::detail

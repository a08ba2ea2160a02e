// jsonl_reader.cpp: implements `parse_jsonl_record`, the strict dagstack JSON-lines reader.
#include "dagstack/logger/jsonl_reader.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstdint>
#include <string>

#include "dagstack/logger/config_error.h"

namespace dagstack::logger {
namespace detail {
namespace {

// Full-precision doubles, UTF-8 validated, and an explicit stack so deep input cannot overflow.
constexpr unsigned kParseFlags = rapidjson::kParseFullPrecisionFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseIterativeFlag;
// Deeper values are rejected (the conversion below and the Value destructor recurse).
constexpr int kMaxDepth = 256;

[[noreturn]] void fail(const std::string& what) {
  throw ConfigError("invalid JSON-lines record: " + what);
}

std::string_view name_of(const rapidjson::Value& s) { return {s.GetString(), s.GetStringLength()}; }

Value to_value(const rapidjson::Value& j, int depth);

Value::Map to_map(const rapidjson::Value& j, int depth) {
  Value::Map map;
  for (const auto& member : j.GetObject()) {
    // A repeated key keeps its last value.
    map.insert_or_assign(std::string(name_of(member.name)), to_value(member.value, depth + 1));
  }
  return map;
}

Value to_value(const rapidjson::Value& j, int depth) {
  if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
  switch (j.GetType()) {
    case rapidjson::kNullType:
      return Value();
    case rapidjson::kFalseType:
      return Value(false);
    case rapidjson::kTrueType:
      return Value(true);
    case rapidjson::kStringType:
      return Value(std::string(name_of(j)));
    case rapidjson::kNumberType:
      // Integers stay integers; a number written with '.', 'e' or 'E', or one beyond int64, is a
      // double (RapidJSON marks exactly those IsDouble, or not IsInt64).
      if (j.IsInt64()) return Value(j.GetInt64());
      if (j.IsUint64()) return Value(static_cast<double>(j.GetUint64()));
      return Value(j.GetDouble());
    case rapidjson::kArrayType: {
      Value::Array array;
      array.reserve(j.Size());
      for (const auto& e : j.GetArray()) array.push_back(to_value(e, depth + 1));
      return Value(std::move(array));
    }
    case rapidjson::kObjectType:
      return Value(to_map(j, depth));
  }
  return Value();
}

std::uint64_t to_uint64(const rapidjson::Value& j, std::string_view field) {
  if (!j.IsUint64() || j.IsDouble()) {
    fail(std::string(field) + " must be a non-negative integer");
  }
  return j.GetUint64();
}

const rapidjson::Value& expect_object(const rapidjson::Value& j, std::string_view field) {
  if (!j.IsObject()) fail(std::string(field) + " must be an object");
  return j;
}

std::string_view to_string_view(const rapidjson::Value& j, std::string_view field) {
  if (!j.IsString()) fail(std::string(field) + " must be a string");
  return name_of(j);
}

std::string to_string(const rapidjson::Value& j, std::string_view field) {
  return std::string(to_string_view(j, field));
}

template <typename Id>
Id to_id(const rapidjson::Value& j, std::string_view field) {
  const std::string_view hex = to_string_view(j, field);
  try {
    return Id::from_hex(hex);
  } catch (const ConfigError& e) {
    fail(e.what());
  }
}

InstrumentationScope to_scope(const rapidjson::Value& j) {
  expect_object(j, "instrumentation_scope");
  InstrumentationScope scope;
  bool has_name = false;
  for (const auto& member : j.GetObject()) {
    const std::string_view key = name_of(member.name);
    if (key == "name") {
      scope.name = to_string(member.value, "instrumentation_scope.name");
      has_name = true;
    } else if (key == "version") {
      scope.version = to_string(member.value, "instrumentation_scope.version");
    } else if (key == "attributes") {
      scope.attributes = to_map(expect_object(member.value, "instrumentation_scope.attributes"), 1);
    } else {
      fail("unknown field 'instrumentation_scope." + std::string(key) + "'");
    }
  }
  if (!has_name) fail("missing required field 'instrumentation_scope.name'");
  return scope;
}

Resource to_resource(const rapidjson::Value& j) {
  expect_object(j, "resource");
  Resource resource;
  for (const auto& member : j.GetObject()) {
    const std::string_view key = name_of(member.name);
    if (key != "attributes") fail("unknown field 'resource." + std::string(key) + "'");
    resource.attributes = to_map(expect_object(member.value, "resource.attributes"), 1);
  }
  return resource;
}

// The top-level fields, one bit each, to spot duplicates and missing required fields.
enum Field : unsigned {
  kAttributes = 1u << 0,
  kBody = 1u << 1,
  kScope = 1u << 2,
  kObservedTime = 1u << 3,
  kResource = 1u << 4,
  kSeverityNumber = 1u << 5,
  kSeverityText = 1u << 6,
  kSpanId = 1u << 7,
  kTime = 1u << 8,
  kTraceFlags = 1u << 9,
  kTraceId = 1u << 10,
};

struct FieldName {
  std::string_view name;
  Field field;
};

constexpr FieldName kFields[] = {
    {"attributes", kAttributes},
    {"body", kBody},
    {"instrumentation_scope", kScope},
    {"observed_time_unix_nano", kObservedTime},
    {"resource", kResource},
    {"severity_number", kSeverityNumber},
    {"severity_text", kSeverityText},
    {"span_id", kSpanId},
    {"time_unix_nano", kTime},
    {"trace_flags", kTraceFlags},
    {"trace_id", kTraceId},
};

constexpr FieldName kRequired[] = {
    {"time_unix_nano", kTime},
    {"severity_number", kSeverityNumber},
    {"severity_text", kSeverityText},
    {"body", kBody},
    {"instrumentation_scope", kScope},
};

}  // namespace
}  // namespace detail

OwnedLogRecord parse_jsonl_record(std::string_view line) {
  using namespace detail;  // NOLINT(google-build-using-namespace)
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(line.data(), line.size());
  if (doc.HasParseError()) {
    fail(std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at offset " +
         std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) fail("not a JSON object");

  OwnedLogRecord record;
  unsigned seen = 0;
  std::string severity_text_seen;
  for (const auto& member : doc.GetObject()) {
    const std::string_view key = name_of(member.name);
    const rapidjson::Value& v = member.value;
    Field field{};
    bool known = false;
    for (const FieldName& f : kFields) {
      if (f.name == key) {
        field = f.field;
        known = true;
        break;
      }
    }
    if (!known) fail("unknown field '" + std::string(key) + "'");
    if ((seen & field) != 0) fail("duplicate field '" + std::string(key) + "'");
    seen |= field;
    switch (field) {
      case kAttributes:
        record.attributes = to_map(expect_object(v, key), 1);
        break;
      case kBody:
        record.body = to_value(v, 1);
        break;
      case kScope:
        record.instrumentation_scope = to_scope(v);
        break;
      case kObservedTime:
        record.observed_time_unix_nano = to_uint64(v, key);
        break;
      case kResource:
        record.resource = to_resource(v);
        break;
      case kSeverityNumber:
        if (!v.IsInt() || v.IsDouble()) fail("severity_number must be an integer in [1, 24]");
        if (v.GetInt() < kSeverityMin || v.GetInt() > kSeverityMax) {
          fail("unknown severity_number " + std::to_string(v.GetInt()) +
               "; expected an integer in [1, 24]");
        }
        record.severity_number = v.GetInt();
        break;
      case kSeverityText:
        severity_text_seen = to_string(v, key);
        break;
      case kSpanId:
        record.span_id = to_id<SpanId>(v, key);
        break;
      case kTime:
        record.time_unix_nano = to_uint64(v, key);
        break;
      case kTraceFlags:
        if (!v.IsUint() || v.GetUint() > 255) fail("trace_flags must be an integer in [0, 255]");
        record.trace_flags = static_cast<std::uint8_t>(v.GetUint());
        break;
      case kTraceId:
        record.trace_id = to_id<TraceId>(v, key);
        break;
    }
  }
  for (const FieldName& f : kRequired) {
    if ((seen & f.field) == 0) fail("missing required field '" + std::string(f.name) + "'");
  }
  if (severity_text_seen != record.severity_text()) {
    fail("severity_text '" + severity_text_seen + "' does not match severity_number " +
         std::to_string(record.severity_number) + " (expected '" +
         std::string(record.severity_text()) + "')");
  }
  return record;
}

}  // namespace dagstack::logger

// jsonl_reader.cpp: implements `parse_jsonl_record`, the strict dagstack JSON-lines reader.
#include "dagstack/logger/jsonl_reader.h"

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "dagstack/logger/config_error.h"

namespace dagstack::logger {
namespace detail {
namespace {

// Numbers arrive as text (converted below), UTF-8 is validated, and the parser keeps an explicit
// stack so deep input cannot overflow the call stack.
constexpr unsigned kParseFlags = rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseIterativeFlag;
// Deeper values are rejected (the conversion below and the Value destructor recurse).
constexpr int kMaxDepth = 256;

[[noreturn]] void fail(const std::string& what) {
  throw ConfigError("invalid JSON-lines record: " + what);
}

// Every string (keys included) goes through here. RapidJSON validates the raw bytes and rejects
// an unpaired high surrogate escape, but decodes an unpaired low one (\udc00-\udfff) into
// ill-formed UTF-8 (a surrogate, ED B0..BF xx) that the encoder would then replace with U+FFFD:
// reject any encoded surrogate (ED A0..BF) instead.
std::string_view name_of(const rapidjson::Value& s) {
  const std::string_view text(s.GetString(), s.GetStringLength());
  for (std::size_t i = text.find('\xED'); i != std::string_view::npos;
       i = text.find('\xED', i + 1)) {
    if (i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0xA0) {
      fail("string contains an unpaired surrogate escape");
    }
  }
  return text;
}

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
    case rapidjson::kNullType: return Value();
    case rapidjson::kFalseType: return Value(false);
    case rapidjson::kTrueType: return Value(true);
    case rapidjson::kStringType: return Value(std::string(name_of(j)));
    case rapidjson::kNumberType:
      // Integers stay integers, exactly, up to UINT64_MAX (NumberConvertingHandler made doubles
      // of '.'/'e'/'E' tokens and refused integers beyond the 64-bit range).
      if (j.IsInt64()) return Value(j.GetInt64());
      if (j.IsUint64()) return Value(j.GetUint64());
      return Value(j.GetDouble());
    case rapidjson::kArrayType: {
      Value::Array array;
      array.reserve(j.Size());
      for (const auto& e : j.GetArray()) array.push_back(to_value(e, depth + 1));
      return Value(std::move(array));
    }
    case rapidjson::kObjectType: return Value(to_map(j, depth));
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
    {"time_unix_nano", kTime},         {"severity_number", kSeverityNumber},
    {"severity_text", kSeverityText},  {"body", kBody},
    {"instrumentation_scope", kScope},
};

// The power of ten of the leading digit of a JSON number token ("0.05e3" -> 1); only called for
// non-zero values. Saturates on absurd exponents.
long decimal_exponent(std::string_view text) {
  std::size_t i = text[0] == '-' ? 1 : 0;
  long int_digits = 0;  // digits before the point
  long first_nonzero = -1;
  long position = 0;  // index among the mantissa digits
  bool in_fraction = false;
  for (; i < text.size() && text[i] != 'e' && text[i] != 'E'; ++i) {
    if (text[i] == '.') {
      in_fraction = true;
      continue;
    }
    if (first_nonzero < 0 && text[i] != '0') first_nonzero = position;
    if (!in_fraction) ++int_digits;
    ++position;
  }
  long exponent = 0;
  if (i < text.size()) {
    ++i;
    const bool negative = text[i] == '-';
    if (text[i] == '+' || text[i] == '-') ++i;
    for (; i < text.size(); ++i) exponent = std::min(exponent * 10 + (text[i] - '0'), 1000000L);
    if (negative) exponent = -exponent;
  }
  return int_digits - 1 - first_nonzero + exponent;
}

// Forwards RapidJSON's SAX events to a Document, converting number tokens itself:
// RapidJSON 1.1.0's own double conversion is not correctly rounded near the subnormal range
// (it reads 1e-324 as NaN and 2e-324 as 5e-324), while std::from_chars is exact. A token with
// '.', 'e' or 'E' is a double; any other is an integer, stored as a double beyond 64 bits.
// The method names are RapidJSON's SAX handler interface.
// NOLINTBEGIN(readability-identifier-naming)
class NumberConvertingHandler {
 public:
  explicit NumberConvertingHandler(rapidjson::Document& doc) noexcept : doc_(doc) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(std::int64_t i) { return doc_.Int64(i); }
  bool Uint64(std::uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return doc_.EndObject(n); }
  bool StartArray() { return doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return doc_.EndArray(n); }

  bool RawNumber(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    const std::string_view text(s, n);
    const char* end = s + n;
    if (text.find_first_of(".eE") == std::string_view::npos) {
      std::int64_t i = 0;
      if (std::from_chars(s, end, i).ec == std::errc()) return doc_.Int64(i);
      std::uint64_t u = 0;
      if (s[0] != '-' && std::from_chars(s, end, u).ec == std::errc()) return doc_.Uint64(u);
      // An integer token outside [INT64_MIN, UINT64_MAX]: refused, never rounded to a double.
      integer_out_of_range_ = std::string(text);
      return false;
    }
    double d = 0;
    const auto res = std::from_chars(s, end, d);
    if (res.ec == std::errc::result_out_of_range) {
      if (decimal_exponent(text) >= 0) {
        out_of_range_ = std::string(text);
        return false;
      }
      d = s[0] == '-' ? -0.0 : 0.0;  // below the smallest subnormal: rounds to zero
    } else if (res.ec != std::errc() || res.ptr != end) {
      out_of_range_ = std::string(text);
      return false;
    }
    return doc_.Double(d);
  }

  // The number token that stopped the parse, if any.
  const std::string& out_of_range() const noexcept { return out_of_range_; }
  // The integer token beyond the 64-bit range that stopped the parse, if any.
  const std::string& integer_out_of_range() const noexcept { return integer_out_of_range_; }

 private:
  rapidjson::Document& doc_;
  std::string out_of_range_;
  std::string integer_out_of_range_;
};
// NOLINTEND(readability-identifier-naming)

// Parses `line` into `doc`; the whole line must be one JSON value (plus whitespace).
void parse_document(std::string_view line, rapidjson::Document& doc) {
  rapidjson::ParseResult result;
  std::size_t consumed = 0;
  NumberConvertingHandler handler(doc);
  auto generator = [&](rapidjson::Document&) {
    rapidjson::MemoryStream ms(line.data(), line.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
    rapidjson::Reader reader;
    result = reader.Parse<kParseFlags>(is, handler);
    consumed = is.Tell();
    return !result.IsError();
  };
  doc.Populate(generator);
  if (!handler.out_of_range().empty()) fail("number out of range: " + handler.out_of_range());
  if (!handler.integer_out_of_range().empty()) {
    fail("integer out of range (must be within -9223372036854775808..18446744073709551615): " +
         handler.integer_out_of_range());
  }
  if (result.IsError()) {
    fail(std::string(rapidjson::GetParseError_En(result.Code())) + " at offset " +
         std::to_string(result.Offset()));
  }
  // RapidJSON stops at a NUL byte as if the input ended there.
  if (consumed != line.size()) fail("unexpected data at offset " + std::to_string(consumed));
}

}  // namespace
}  // namespace detail

OwnedLogRecord parse_jsonl_record(std::string_view line) {
  using namespace detail;  // NOLINT(google-build-using-namespace)
  rapidjson::Document doc;
  parse_document(line, doc);
  if (!doc.IsObject()) fail("not a JSON object");

  OwnedLogRecord record;
  unsigned seen = 0;
  std::string severity_text_seen;
  const rapidjson::Value& root = doc;  // const iterators (clang: -Wambiguous-reversed-operator)
  for (const auto& member : root.GetObject()) {
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
      case kAttributes: record.attributes = to_map(expect_object(v, key), 1); break;
      case kBody: record.body = to_value(v, 1); break;
      case kScope: record.instrumentation_scope = to_scope(v); break;
      case kObservedTime: record.observed_time_unix_nano = to_uint64(v, key); break;
      case kResource: record.resource = to_resource(v); break;
      case kSeverityNumber:
        if (!v.IsInt() || v.IsDouble()) fail("severity_number must be an integer in [1, 24]");
        if (v.GetInt() < kSeverityMin || v.GetInt() > kSeverityMax) {
          fail("unknown severity_number " + std::to_string(v.GetInt()) +
               "; expected an integer in [1, 24]");
        }
        record.severity_number = v.GetInt();
        break;
      case kSeverityText: severity_text_seen = to_string(v, key); break;
      case kSpanId: record.span_id = to_id<SpanId>(v, key); break;
      case kTime: record.time_unix_nano = to_uint64(v, key); break;
      case kTraceFlags:
        if (!v.IsUint() || v.GetUint() > 255) fail("trace_flags must be an integer in [0, 255]");
        record.trace_flags = static_cast<std::uint8_t>(v.GetUint());
        break;
      case kTraceId: record.trace_id = to_id<TraceId>(v, key); break;
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

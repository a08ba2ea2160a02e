// otlp_encoder.cpp: hand-written OTLP protobuf and OTLP/JSON encoders for log records and
// spans, the request envelope, and the partial_success reader.
#include "otlp_encoder.h"

#include <rapidjson/document.h>

#include <cmath>
#include <cstring>
#include <string>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/conventions.h"

namespace dagstack::logger::otlp::detail {
namespace {

constexpr int kMaxDepth = 64;  // deeper values are replaced (decoders limit recursion)
constexpr std::string_view kTooDeep = "[nesting too deep]";

// ---- protobuf primitives ---------------------------------------------------------------------

enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

void put_varint(std::string& out, std::uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, static_cast<std::size_t>(n));
}

void put_tag(std::string& out, std::uint32_t field, WireType type) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | type);
}

void put_fixed64(std::string& out, std::uint32_t field, std::uint64_t v) {
  put_tag(out, field, kFixed64);
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(buf, 8);
}

void put_fixed32(std::string& out, std::uint32_t field, std::uint32_t v) {
  put_tag(out, field, kFixed32);
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(buf, 4);
}

void put_double(std::string& out, std::uint32_t field, double d) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  put_fixed64(out, field, bits);
}

void put_bytes(std::string& out, std::uint32_t field, const void* data, std::size_t size) {
  put_tag(out, field, kLen);
  put_varint(out, size);
  out.append(static_cast<const char*>(data), size);
}

bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

void put_string(std::string& out, std::uint32_t field, std::string_view s) {
  if (is_valid_utf8(s)) {
    put_bytes(out, field, s.data(), s.size());
  } else {
    const std::string fixed = to_valid_utf8(s);
    put_bytes(out, field, fixed.data(), fixed.size());
  }
}

// Starts a length-delimited field whose length is written by close_message(); returns the
// position of the one-byte length placeholder.
std::size_t open_message(std::string& out, std::uint32_t field) {
  put_tag(out, field, kLen);
  out.push_back('\0');
  return out.size() - 1;
}

void close_message(std::string& out, std::size_t pos) {
  const std::size_t len = out.size() - pos - 1;
  if (len < 0x80) {
    out[pos] = static_cast<char>(len);
    return;
  }
  std::string varint;
  put_varint(varint, len);
  out.replace(pos, 1, varint);
}

// ---- AnyValue, protobuf ----------------------------------------------------------------------

void pb_any(std::string& out, const Value& v, int depth);

void pb_key_values(std::string& out, std::uint32_t field, const Value::Map& map, int depth) {
  for (const auto& [k, v] : map) {
    const std::size_t kv = open_message(out, field);
    put_string(out, 1, k);
    const std::size_t val = open_message(out, 2);
    pb_any(out, v, depth + 1);
    close_message(out, val);
    close_message(out, kv);
  }
}

void pb_any(std::string& out, const Value& v, int depth) {
  if (depth > kMaxDepth) {
    put_string(out, 1, kTooDeep);
    return;
  }
  switch (v.type()) {
    case Value::Type::kNull: return;  // an AnyValue with no field set: the empty value
    case Value::Type::kBool:
      put_tag(out, 2, kVarint);
      put_varint(out, v.as_bool() ? 1 : 0);
      return;
    case Value::Type::kInt:
      put_tag(out, 3, kVarint);
      put_varint(out, static_cast<std::uint64_t>(v.as_int()));
      return;
    case Value::Type::kUint: put_string(out, 1, std::to_string(v.as_uint())); return;
    case Value::Type::kDouble: put_double(out, 4, v.as_double()); return;
    case Value::Type::kString: put_string(out, 1, v.as_string()); return;
    case Value::Type::kArray: {
      const std::size_t arr = open_message(out, 5);
      for (const Value& item : v.as_array()) {
        const std::size_t one = open_message(out, 1);
        pb_any(out, item, depth + 1);
        close_message(out, one);
      }
      close_message(out, arr);
      return;
    }
    case Value::Type::kMap: {
      const std::size_t kvlist = open_message(out, 6);
      pb_key_values(out, 1, v.as_map(), depth);
      close_message(out, kvlist);
      return;
    }
  }
}

void pb_any(std::string& out, const AttrValue& v) {
  switch (v.kind()) {
    case AttrValue::Kind::kNull: return;
    case AttrValue::Kind::kBool:
      put_tag(out, 2, kVarint);
      put_varint(out, v.as_bool() ? 1 : 0);
      return;
    case AttrValue::Kind::kInt:
      put_tag(out, 3, kVarint);
      put_varint(out, static_cast<std::uint64_t>(v.as_int()));
      return;
    case AttrValue::Kind::kUint: put_string(out, 1, std::to_string(v.as_uint())); return;
    case AttrValue::Kind::kDouble: put_double(out, 4, v.as_double()); return;
    case AttrValue::Kind::kString: put_string(out, 1, v.as_string()); return;
    case AttrValue::Kind::kValue: pb_any(out, v.as_value(), 0); return;
  }
}

// ---- AnyValue, JSON --------------------------------------------------------------------------

void json_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "\"%llu\"", static_cast<unsigned long long>(v));
  out.append(buf, static_cast<std::size_t>(n));
}

void json_i64(std::string& out, std::int64_t v) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "\"%lld\"", static_cast<long long>(v));
  out.append(buf, static_cast<std::size_t>(n));
}

void json_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out.append("\"NaN\"");
  } else if (std::isinf(d)) {
    out.append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    append_canonical_double(d, out);
  }
}

void json_hex(std::string& out, const std::uint8_t* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
  out.push_back('"');
}

void json_any(std::string& out, const Value& v, int depth);

void json_key_values(std::string& out, const Value::Map& map, int depth) {
  out.push_back('[');
  bool first = true;
  for (const auto& [k, v] : map) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"key\":");
    append_json_string(k, out);
    out.append(",\"value\":");
    json_any(out, v, depth + 1);
    out.push_back('}');
  }
  out.push_back(']');
}

void json_any(std::string& out, const Value& v, int depth) {
  if (depth > kMaxDepth) {
    out.append("{\"stringValue\":");
    append_json_string(kTooDeep, out);
    out.push_back('}');
    return;
  }
  switch (v.type()) {
    case Value::Type::kNull: out.append("{}"); return;
    case Value::Type::kBool:
      out.append(v.as_bool() ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
      return;
    case Value::Type::kInt:
      out.append("{\"intValue\":");
      json_i64(out, v.as_int());
      out.push_back('}');
      return;
    case Value::Type::kUint:
      out.append("{\"stringValue\":\"").append(std::to_string(v.as_uint())).append("\"}");
      return;
    case Value::Type::kDouble:
      out.append("{\"doubleValue\":");
      json_double(out, v.as_double());
      out.push_back('}');
      return;
    case Value::Type::kString:
      out.append("{\"stringValue\":");
      append_json_string(v.as_string(), out);
      out.push_back('}');
      return;
    case Value::Type::kArray: {
      out.append("{\"arrayValue\":{\"values\":[");
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        json_any(out, item, depth + 1);
      }
      out.append("]}}");
      return;
    }
    case Value::Type::kMap:
      out.append("{\"kvlistValue\":{\"values\":");
      json_key_values(out, v.as_map(), depth);
      out.append("}}");
      return;
  }
}

void json_any(std::string& out, const AttrValue& v) {
  switch (v.kind()) {
    case AttrValue::Kind::kNull: out.append("{}"); return;
    case AttrValue::Kind::kBool:
      out.append(v.as_bool() ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
      return;
    case AttrValue::Kind::kInt:
      out.append("{\"intValue\":");
      json_i64(out, v.as_int());
      out.push_back('}');
      return;
    case AttrValue::Kind::kUint:
      out.append("{\"stringValue\":\"").append(std::to_string(v.as_uint())).append("\"}");
      return;
    case AttrValue::Kind::kDouble:
      out.append("{\"doubleValue\":");
      json_double(out, v.as_double());
      out.push_back('}');
      return;
    case AttrValue::Kind::kString:
      out.append("{\"stringValue\":");
      append_json_string(v.as_string(), out);
      out.push_back('}');
      return;
    case AttrValue::Kind::kValue: json_any(out, v.as_value(), 0); return;
  }
}

std::string_view event_name_of(const LogRecord& record) {
  const AttrValue* ev = record.find_attribute(conventions::kEventName);
  if (ev != nullptr && ev->kind() == AttrValue::Kind::kString) return ev->as_string();
  return {};
}

// ---- the envelope ----------------------------------------------------------------------------

struct ScopeGroup {
  std::uint32_t scope;
  std::vector<const EncodedItem*> items;
};
struct ResourceGroup {
  std::uint32_t resource;
  std::vector<ScopeGroup> scopes;
};

std::vector<ResourceGroup> group(std::span<const EncodedItem* const> items) {
  std::vector<ResourceGroup> groups;
  for (const EncodedItem* item : items) {
    ResourceGroup* rg = nullptr;
    for (auto& g : groups) {
      if (g.resource == item->resource) rg = &g;
    }
    if (rg == nullptr) rg = &groups.emplace_back(ResourceGroup{item->resource, {}});
    ScopeGroup* sg = nullptr;
    for (auto& s : rg->scopes) {
      if (s.scope == item->scope) sg = &s;
    }
    if (sg == nullptr) sg = &rg->scopes.emplace_back(ScopeGroup{item->scope, {}});
    sg->items.push_back(item);
  }
  return groups;
}

const Resource& resource_at(std::span<const Resource> resources, std::uint32_t i) {
  static const Resource kEmpty;
  return i < resources.size() ? resources[i] : kEmpty;
}
const InstrumentationScope& scope_at(std::span<const InstrumentationScope> scopes,
                                     std::uint32_t i) {
  static const InstrumentationScope kEmpty;
  return i < scopes.size() ? scopes[i] : kEmpty;
}

// ---- a minimal protobuf reader (for the response) --------------------------------------------

struct PbReader {
  const unsigned char* p;
  const unsigned char* end;

  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
      const unsigned char b = *p++;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  // Reads one field; for kLen fields `data`/`size` point at the payload.
  bool field(std::uint32_t& number, std::uint32_t& type, std::uint64_t& value,
             const unsigned char*& data, std::size_t& size) {
    std::uint64_t key = 0;
    if (!varint(key)) return false;
    number = static_cast<std::uint32_t>(key >> 3);
    type = static_cast<std::uint32_t>(key & 7);
    switch (type) {
      case kVarint: return varint(value);
      case kFixed64:
        if (end - p < 8) return false;
        p += 8;
        return true;
      case kFixed32:
        if (end - p < 4) return false;
        p += 4;
        return true;
      case kLen: {
        std::uint64_t len = 0;
        if (!varint(len) || len > static_cast<std::uint64_t>(end - p)) return false;
        data = p;
        size = static_cast<std::size_t>(len);
        p += len;
        return true;
      }
      default: return false;
    }
  }
};

std::optional<PartialSuccess> parse_pb(std::string_view body) {
  PbReader top{reinterpret_cast<const unsigned char*>(body.data()),
               reinterpret_cast<const unsigned char*>(body.data()) + body.size()};
  std::optional<PartialSuccess> result;
  while (top.p < top.end) {
    std::uint32_t number = 0, type = 0;
    std::uint64_t value = 0;
    const unsigned char* data = nullptr;
    std::size_t size = 0;
    if (!top.field(number, type, value, data, size)) return std::nullopt;
    if (number != 1 || type != kLen) continue;
    PartialSuccess ps;
    PbReader inner{data, data + size};
    while (inner.p < inner.end) {
      std::uint32_t n2 = 0, t2 = 0;
      std::uint64_t v2 = 0;
      const unsigned char* d2 = nullptr;
      std::size_t s2 = 0;
      if (!inner.field(n2, t2, v2, d2, s2)) return std::nullopt;
      if (n2 == 1 && t2 == kVarint) ps.rejected = static_cast<std::int64_t>(v2);
      if (n2 == 2 && t2 == kLen) ps.error_message.assign(reinterpret_cast<const char*>(d2), s2);
    }
    result = std::move(ps);
  }
  return result;
}

std::optional<std::int64_t> json_int(const rapidjson::Value& v) {
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsUint64()) return static_cast<std::int64_t>(v.GetUint64());
  if (v.IsString()) {
    const char* s = v.GetString();
    if (*s == '\0') return std::nullopt;
    std::int64_t n = 0;
    for (; *s != '\0'; ++s) {
      if (*s < '0' || *s > '9' || n > (INT64_MAX - 9) / 10) return std::nullopt;
      n = n * 10 + (*s - '0');
    }
    return n;
  }
  return std::nullopt;
}

std::optional<PartialSuccess> parse_json(Signal signal, std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  const rapidjson::Value* ps = nullptr;
  for (const char* key : {"partialSuccess", "partial_success"}) {
    if (doc.HasMember(key) && doc[key].IsObject()) ps = &doc[key];
  }
  if (ps == nullptr) return std::nullopt;
  PartialSuccess out;
  const char* const keys[] = {signal == Signal::kLogs ? "rejectedLogRecords" : "rejectedSpans",
                              signal == Signal::kLogs ? "rejected_log_records" : "rejected_spans"};
  for (const char* key : keys) {
    if (ps->HasMember(key)) {
      if (auto n = json_int((*ps)[key])) out.rejected = *n;
    }
  }
  for (const char* key : {"errorMessage", "error_message"}) {
    if (ps->HasMember(key) && (*ps)[key].IsString()) out.error_message = (*ps)[key].GetString();
  }
  return out;
}

}  // namespace

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t i = 0;
  while (i < text.size()) {
    // Take the longest valid prefix of length 1..4 starting here.
    std::size_t len = 0;
    for (std::size_t l = 1; l <= 4 && i + l <= text.size(); ++l) {
      if (is_valid_utf8(text.substr(i, l))) {
        len = l;
        break;
      }
    }
    if (len == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

void encode_log_record(const LogRecord& record, Encoding encoding, std::string& out) {
  const std::uint64_t observed =
      record.observed_time_unix_nano != 0 ? record.observed_time_unix_nano : record.time_unix_nano;
  const std::string_view event_name = event_name_of(record);
  if (encoding == Encoding::kProtobuf) {
    put_fixed64(out, 1, record.time_unix_nano);
    put_fixed64(out, 11, observed);
    put_tag(out, 2, kVarint);
    put_varint(out, static_cast<std::uint64_t>(record.severity_number));
    put_string(out, 3, record.severity_text());
    if (!record.body.is_null()) {
      const std::size_t body = open_message(out, 5);
      pb_any(out, record.body);
      close_message(out, body);
    }
    for (const Attribute& a : record.attributes) {
      const std::size_t kv = open_message(out, 6);
      put_string(out, 1, a.key);
      const std::size_t val = open_message(out, 2);
      pb_any(out, a.value);
      close_message(out, val);
      close_message(out, kv);
    }
    if (record.trace_flags != 0) put_fixed32(out, 8, record.trace_flags);
    if (record.trace_id.valid()) put_bytes(out, 9, record.trace_id.bytes.data(), 16);
    if (record.span_id.valid()) put_bytes(out, 10, record.span_id.bytes.data(), 8);
    if (!event_name.empty()) put_string(out, 12, event_name);
    return;
  }
  out.append("{\"timeUnixNano\":");
  json_u64(out, record.time_unix_nano);
  out.append(",\"observedTimeUnixNano\":");
  json_u64(out, observed);
  out.append(",\"severityNumber\":");
  out.append(std::to_string(record.severity_number));
  out.append(",\"severityText\":");
  append_json_string(record.severity_text(), out);
  if (!record.body.is_null()) {
    out.append(",\"body\":");
    json_any(out, record.body);
  }
  if (!record.attributes.empty()) {
    out.append(",\"attributes\":[");
    bool first = true;
    for (const Attribute& a : record.attributes) {
      if (!first) out.push_back(',');
      first = false;
      out.append("{\"key\":");
      append_json_string(a.key, out);
      out.append(",\"value\":");
      json_any(out, a.value);
      out.push_back('}');
    }
    out.push_back(']');
  }
  if (record.trace_flags != 0) out.append(",\"flags\":").append(std::to_string(record.trace_flags));
  if (record.trace_id.valid()) {
    out.append(",\"traceId\":");
    json_hex(out, record.trace_id.bytes.data(), 16);
  }
  if (record.span_id.valid()) {
    out.append(",\"spanId\":");
    json_hex(out, record.span_id.bytes.data(), 8);
  }
  if (!event_name.empty()) {
    out.append(",\"eventName\":");
    append_json_string(event_name, out);
  }
  out.push_back('}');
}

void encode_span(const SpanData& span, Encoding encoding, std::string& out) {
  if (encoding == Encoding::kProtobuf) {
    put_bytes(out, 1, span.trace_id.bytes.data(), 16);
    put_bytes(out, 2, span.span_id.bytes.data(), 8);
    if (span.parent_span_id.valid()) put_bytes(out, 4, span.parent_span_id.bytes.data(), 8);
    put_string(out, 5, span.name);
    put_tag(out, 6, kVarint);
    put_varint(out, static_cast<std::uint64_t>(span.kind));
    put_fixed64(out, 7, span.start_unix_nano);
    put_fixed64(out, 8, span.end_unix_nano);
    pb_key_values(out, 9, span.attributes, 0);
    for (const SpanEvent& e : span.events) {
      const std::size_t ev = open_message(out, 11);
      put_fixed64(out, 1, e.time_unix_nano);
      put_string(out, 2, e.name);
      pb_key_values(out, 3, e.attributes, 0);
      close_message(out, ev);
    }
    const std::size_t st = open_message(out, 15);
    if (!span.status_message.empty()) put_string(out, 2, span.status_message);
    if (span.status != StatusCode::kUnset) {
      put_tag(out, 3, kVarint);
      put_varint(out, static_cast<std::uint64_t>(span.status));
    }
    close_message(out, st);
    return;
  }
  out.append("{\"traceId\":");
  json_hex(out, span.trace_id.bytes.data(), 16);
  out.append(",\"spanId\":");
  json_hex(out, span.span_id.bytes.data(), 8);
  if (span.parent_span_id.valid()) {
    out.append(",\"parentSpanId\":");
    json_hex(out, span.parent_span_id.bytes.data(), 8);
  }
  out.append(",\"name\":");
  append_json_string(span.name, out);
  out.append(",\"kind\":").append(std::to_string(static_cast<int>(span.kind)));
  out.append(",\"startTimeUnixNano\":");
  json_u64(out, span.start_unix_nano);
  out.append(",\"endTimeUnixNano\":");
  json_u64(out, span.end_unix_nano);
  out.append(",\"attributes\":");
  json_key_values(out, span.attributes, 0);
  if (!span.events.empty()) {
    out.append(",\"events\":[");
    bool first = true;
    for (const SpanEvent& e : span.events) {
      if (!first) out.push_back(',');
      first = false;
      out.append("{\"timeUnixNano\":");
      json_u64(out, e.time_unix_nano);
      out.append(",\"name\":");
      append_json_string(e.name, out);
      out.append(",\"attributes\":");
      json_key_values(out, e.attributes, 0);
      out.push_back('}');
    }
    out.push_back(']');
  }
  out.append(",\"status\":{");
  bool any = false;
  if (!span.status_message.empty()) {
    out.append("\"message\":");
    append_json_string(span.status_message, out);
    any = true;
  }
  if (span.status != StatusCode::kUnset) {
    if (any) out.push_back(',');
    out.append("\"code\":").append(std::to_string(static_cast<int>(span.status)));
  }
  out.append("}}");
}

std::string build_request(Signal signal, Encoding encoding, std::span<const Resource> resources,
                          std::span<const InstrumentationScope> scopes,
                          std::span<const EncodedItem* const> items) {
  const std::vector<ResourceGroup> groups = group(items);
  std::size_t total = 64;
  for (const EncodedItem* item : items) total += item->bytes.size() + 8;
  std::string out;
  out.reserve(total);
  if (encoding == Encoding::kProtobuf) {
    for (const ResourceGroup& rg : groups) {
      const std::size_t r = open_message(out, 1);
      const std::size_t res = open_message(out, 1);
      pb_key_values(out, 1, resource_at(resources, rg.resource).attributes, 0);
      close_message(out, res);
      for (const ScopeGroup& sg : rg.scopes) {
        const std::size_t s = open_message(out, 2);
        const InstrumentationScope& scope = scope_at(scopes, sg.scope);
        const std::size_t sc = open_message(out, 1);
        put_string(out, 1, scope.name);
        if (!scope.version.empty()) put_string(out, 2, scope.version);
        pb_key_values(out, 3, scope.attributes, 0);
        close_message(out, sc);
        for (const EncodedItem* item : sg.items)
          put_bytes(out, 2, item->bytes.data(), item->bytes.size());
        close_message(out, s);
      }
      close_message(out, r);
    }
    return out;
  }
  const bool logs = signal == Signal::kLogs;
  out.append(logs ? "{\"resourceLogs\":[" : "{\"resourceSpans\":[");
  bool first_r = true;
  for (const ResourceGroup& rg : groups) {
    if (!first_r) out.push_back(',');
    first_r = false;
    out.append("{\"resource\":{\"attributes\":");
    json_key_values(out, resource_at(resources, rg.resource).attributes, 0);
    out.append(logs ? "},\"scopeLogs\":[" : "},\"scopeSpans\":[");
    bool first_s = true;
    for (const ScopeGroup& sg : rg.scopes) {
      if (!first_s) out.push_back(',');
      first_s = false;
      const InstrumentationScope& scope = scope_at(scopes, sg.scope);
      out.append("{\"scope\":{\"name\":");
      append_json_string(scope.name, out);
      if (!scope.version.empty()) {
        out.append(",\"version\":");
        append_json_string(scope.version, out);
      }
      if (!scope.attributes.empty()) {
        out.append(",\"attributes\":");
        json_key_values(out, scope.attributes, 0);
      }
      out.append(logs ? "},\"logRecords\":[" : "},\"spans\":[");
      bool first_i = true;
      for (const EncodedItem* item : sg.items) {
        if (!first_i) out.push_back(',');
        first_i = false;
        out.append(item->bytes);
      }
      out.append("]}");
    }
    out.append("]}");
  }
  out.append("]}");
  return out;
}

std::optional<PartialSuccess> parse_partial_success(Signal signal, Encoding encoding,
                                                    std::string_view body) noexcept {
  try {
    if (body.empty()) return std::nullopt;
    return encoding == Encoding::kProtobuf ? parse_pb(body) : parse_json(signal, body);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace dagstack::logger::otlp::detail

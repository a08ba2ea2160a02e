// otlp_encoder_fuzz: bytes -> a LogRecord (a Value tree for the body and an attribute, ids,
// times, severity) and a span -> the OTLP encoders. Invariants: the protobuf LogRecord is
// well-formed and its body decodes back to the same value (strings made valid UTF-8, nesting
// past the cap replaced); every protobuf string is valid UTF-8; the OTLP/JSON output parses as
// JSON; build_request wraps both; parse_partial_success never crashes on the same bytes.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "otlp_encoder.h"

namespace d = dagstack::logger::otlp::detail;
using dagstack::logger::Attribute;
using dagstack::logger::AttrValue;
using dagstack::logger::InstrumentationScope;
using dagstack::logger::LogRecord;
using dagstack::logger::Resource;
using dagstack::logger::Value;

namespace {

struct Input {
  const std::uint8_t* p;
  const std::uint8_t* end;
  std::uint8_t byte() { return p < end ? *p++ : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  std::string str() {
    const std::size_t n = std::min<std::size_t>(byte(), static_cast<std::size_t>(end - p));
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
};

Value make_value(Input& in, int depth) {
  switch (in.byte() % 7) {
    case 0: return Value();
    case 1: return Value((in.byte() & 1) != 0);
    case 2: return Value(static_cast<std::int64_t>(in.u64()));
    case 3: {
      const std::uint64_t bits = in.u64();
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      return Value(d);
    }
    case 4: return Value(in.str());
    case 5: {
      Value::Array a;
      const int n = depth > 80 ? 0 : in.byte() % 4;
      for (int i = 0; i < n; ++i) a.push_back(make_value(in, depth + 1));
      return Value(std::move(a));
    }
    default: {
      Value::Map m;
      const int n = depth > 80 ? 0 : in.byte() % 4;
      for (int i = 0; i < n; ++i) {
        std::string k = in.str();
        m.insert_or_assign(std::move(k), make_value(in, depth + 1));
      }
      return Value(std::move(m));
    }
  }
}

// ---- an independent protobuf walk (wire format only) ----

struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) return false;
      const unsigned char b = *p++;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
};

bool valid_utf8(std::string_view s) { return d::to_valid_utf8(s) == s; }

// Decodes an AnyValue message into a Value; aborts on malformed input.
Value decode_any(const unsigned char* p, const unsigned char* end);

// Decodes one KeyValue message.
void decode_keyvalue(const unsigned char* p, const unsigned char* end, std::string& k, Value& v) {
  Reader kv{p, end};
  while (kv.p < kv.end) {
    std::uint64_t t = 0, l = 0;
    if (!kv.varint(t) || (t & 7) != 2 || !kv.varint(l) ||
        l > static_cast<std::uint64_t>(kv.end - kv.p))
      std::abort();
    if ((t >> 3) == 1) {
      k.assign(reinterpret_cast<const char*>(kv.p), l);
      if (!valid_utf8(k)) std::abort();
    } else if ((t >> 3) == 2) {
      v = decode_any(kv.p, kv.p + l);
    } else {
      std::abort();
    }
    kv.p += l;
  }
}

Value decode_kvlist(const unsigned char* p, const unsigned char* end) {
  Value::Map m;
  Reader r{p, end};
  while (r.p < r.end) {
    std::uint64_t key = 0, len = 0;
    if (!r.varint(key) || key != ((1 << 3) | 2) || !r.varint(len) ||
        len > static_cast<std::uint64_t>(r.end - r.p))
      std::abort();
    std::string k;
    Value v;
    decode_keyvalue(r.p, r.p + len, k, v);
    r.p += len;
    m.insert_or_assign(std::move(k), std::move(v));
  }
  return Value(std::move(m));
}

Value decode_any(const unsigned char* p, const unsigned char* end) {
  Reader r{p, end};
  Value out;
  while (r.p < r.end) {
    std::uint64_t key = 0;
    if (!r.varint(key)) std::abort();
    const std::uint64_t field = key >> 3, type = key & 7;
    if (type == 0) {
      std::uint64_t v = 0;
      if (!r.varint(v)) std::abort();
      if (field == 2)
        out = Value(v != 0);
      else if (field == 3)
        out = Value(static_cast<std::int64_t>(v));
      else
        std::abort();
    } else if (type == 1) {
      if (field != 4 || r.end - r.p < 8) std::abort();
      std::uint64_t bits = 0;
      for (int i = 7; i >= 0; --i) bits = (bits << 8) | r.p[i];
      r.p += 8;
      double dv = 0;
      std::memcpy(&dv, &bits, sizeof dv);
      out = Value(dv);
    } else if (type == 2) {
      std::uint64_t len = 0;
      if (!r.varint(len) || len > static_cast<std::uint64_t>(r.end - r.p)) std::abort();
      const unsigned char* q = r.p;
      r.p += len;
      if (field == 1) {
        std::string s(reinterpret_cast<const char*>(q), len);
        if (!valid_utf8(s)) std::abort();
        out = Value(std::move(s));
      } else if (field == 5) {
        Value::Array a;
        Reader ar{q, q + len};
        while (ar.p < ar.end) {
          std::uint64_t t = 0, l = 0;
          if (!ar.varint(t) || t != ((1 << 3) | 2) || !ar.varint(l) ||
              l > static_cast<std::uint64_t>(ar.end - ar.p))
            std::abort();
          a.push_back(decode_any(ar.p, ar.p + l));
          ar.p += l;
        }
        out = Value(std::move(a));
      } else if (field == 6) {
        out = decode_kvlist(q, q + len);
      } else {
        std::abort();
      }
    } else {
      std::abort();
    }
  }
  return out;
}

// The value the encoder is meant to write: strings made valid, nesting past 64 replaced.
Value expected(const Value& v, int depth) {
  if (depth > 64) return Value("[nesting too deep]");
  switch (v.type()) {
    case Value::Type::kString: return Value(d::to_valid_utf8(v.as_string()));
    case Value::Type::kArray: {
      Value::Array a;
      for (const Value& x : v.as_array()) a.push_back(expected(x, depth + 1));
      return Value(std::move(a));
    }
    case Value::Type::kMap: {
      Value::Map m;
      for (const auto& [k, x] : v.as_map())
        m.insert_or_assign(d::to_valid_utf8(k), expected(x, depth + 1));
      return Value(std::move(m));
    }
    default: return v;
  }
}

// Equality with doubles compared bit for bit (NaN == NaN).
bool same(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kDouble: {
      const double x = a.as_double(), y = b.as_double();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    case Value::Type::kArray: {
      if (a.as_array().size() != b.as_array().size()) return false;
      for (std::size_t i = 0; i < a.as_array().size(); ++i)
        if (!same(a.as_array()[i], b.as_array()[i])) return false;
      return true;
    }
    case Value::Type::kMap: {
      if (a.as_map().size() != b.as_map().size()) return false;
      auto it = b.as_map().begin();
      for (const auto& [k, v] : a.as_map()) {
        if (k != it->first || !same(v, it->second)) return false;
        ++it;
      }
      return true;
    }
    default: return a == b;
  }
}

// Finds the body (field 5) and the first attribute (field 6) of an encoded LogRecord, checking
// every top-level field.
Value body_of(const std::string& pb, std::string& first_key, Value& first_value) {
  bool seen_attribute = false;
  Reader r{reinterpret_cast<const unsigned char*>(pb.data()),
           reinterpret_cast<const unsigned char*>(pb.data()) + pb.size()};
  Value body;
  while (r.p < r.end) {
    std::uint64_t key = 0;
    if (!r.varint(key)) std::abort();
    const std::uint64_t type = key & 7;
    if (type == 0) {
      std::uint64_t v = 0;
      if (!r.varint(v)) std::abort();
    } else if (type == 1) {
      if (r.end - r.p < 8) std::abort();
      r.p += 8;
    } else if (type == 5) {
      if (r.end - r.p < 4) std::abort();
      r.p += 4;
    } else if (type == 2) {
      std::uint64_t len = 0;
      if (!r.varint(len) || len > static_cast<std::uint64_t>(r.end - r.p)) std::abort();
      if ((key >> 3) == 5) body = decode_any(r.p, r.p + len);
      if ((key >> 3) == 6) {
        std::string k;
        Value v;
        decode_keyvalue(r.p, r.p + len, k, v);
        if (!seen_attribute) {
          first_key = std::move(k);
          first_value = std::move(v);
          seen_attribute = true;
        }
      }
      r.p += len;
    } else {
      std::abort();
    }
  }
  return body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, data + size};
  const Value body = make_value(in, 0);
  const Value attr_value = make_value(in, 0);
  const std::string key = in.str();
  LogRecord r;
  r.time_unix_nano = in.u64();
  r.observed_time_unix_nano = in.u64();
  r.severity_number = 1 + in.byte() % 24;
  r.body = AttrValue(body);
  std::vector<Attribute> attrs = {{key, AttrValue(attr_value)}, {"event.name", AttrValue(key)}};
  r.attributes = attrs;
  for (auto& b : r.trace_id.bytes) b = in.byte();
  for (auto& b : r.span_id.bytes) b = in.byte();
  r.trace_flags = in.byte();

  std::string pb;
  d::encode_log_record(r, d::Encoding::kProtobuf, pb);
  std::string first_key;
  Value first_value;
  const Value decoded = body_of(pb, first_key, first_value);
  if (!same(decoded, expected(body, 0))) std::abort();
  if (first_key != d::to_valid_utf8(key) || !same(first_value, expected(attr_value, 0)))
    std::abort();

  std::string json;
  d::encode_log_record(r, d::Encoding::kJson, json);
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) std::abort();

  d::SpanData span;
  span.trace_id = r.trace_id;
  span.span_id = r.span_id;
  span.name = key;
  span.attributes = Value::Map{{key, attr_value}};
  span.events.push_back({r.time_unix_nano, key, Value::Map{{"x", body}}});
  span.status = static_cast<d::StatusCode>(in.byte() % 3);
  span.status_message = key;
  for (d::Encoding enc : {d::Encoding::kProtobuf, d::Encoding::kJson}) {
    d::EncodedItem log_item{"", 0, 0};
    d::encode_log_record(r, enc, log_item.bytes);
    d::EncodedItem span_item{"", 0, 1};
    d::encode_span(span, enc, span_item.bytes);
    const Resource resources[] = {Resource{Value::Map{{key, body}}}};
    const InstrumentationScope scopes[] = {{key, key, {}}};
    const d::EncodedItem* items[] = {&log_item};
    const d::EncodedItem* span_items[] = {&span_item};
    const std::string logs = d::build_request(d::Signal::kLogs, enc, resources, scopes, items);
    const std::string traces =
        d::build_request(d::Signal::kTraces, enc, resources, scopes, span_items);  // scope 1: none
    if (enc == d::Encoding::kJson) {
      for (const std::string* s : {&logs, &traces}) {
        rapidjson::Document d2;
        d2.Parse(s->data(), s->size());
        if (d2.HasParseError()) std::abort();
      }
    }
  }
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  (void)d::parse_partial_success(d::Signal::kLogs, d::Encoding::kProtobuf, raw);
  (void)d::parse_partial_success(d::Signal::kTraces, d::Encoding::kJson, raw);
  return 0;
}

// record_codec.cpp: a tagged byte encoding of a record's scope, body and attributes.
#include "record_codec.h"

#include <cstring>
#include <stdexcept>

namespace dagstack::logger::northstar::detail {
namespace {

enum Tag : char {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kDouble = 4,
  kString = 5,
  kArray = 6,
  kMap = 7,
  kUint = 8
};

void put_u32(std::string& out, std::uint32_t n) {
  char b[4];
  std::memcpy(b, &n, 4);
  out.append(b, 4);
}

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s.data(), s.size());
}

void put_fixed8(std::string& out, char tag, const void* bytes) {
  out.push_back(tag);
  out.append(static_cast<const char*>(bytes), 8);
}

void put_attr(std::string& out, const AttrValue& v);

// Containers here; scalars go through AttrValue, which flattens a scalar Value.
void put_value(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kArray:
      out.push_back(kArray);
      put_u32(out, static_cast<std::uint32_t>(v.as_array().size()));
      for (const auto& e : v.as_array()) put_value(out, e);
      break;
    case Value::Type::kMap:
      out.push_back(kMap);
      put_u32(out, static_cast<std::uint32_t>(v.as_map().size()));
      for (const auto& [k, e] : v.as_map()) {
        put_str(out, k);
        put_value(out, e);
      }
      break;
    default: put_attr(out, AttrValue(v)); break;
  }
}

void put_attr(std::string& out, const AttrValue& v) {
  switch (v.kind()) {
    case AttrValue::Kind::kNull: out.push_back(kNull); break;
    case AttrValue::Kind::kBool: out.push_back(v.as_bool() ? kTrue : kFalse); break;
    case AttrValue::Kind::kInt: {
      const std::int64_t i = v.as_int();
      put_fixed8(out, kInt, &i);
      break;
    }
    case AttrValue::Kind::kUint: {
      const std::uint64_t u = v.as_uint();
      put_fixed8(out, kUint, &u);
      break;
    }
    case AttrValue::Kind::kDouble: {
      const double d = v.as_double();
      put_fixed8(out, kDouble, &d);
      break;
    }
    case AttrValue::Kind::kString:
      out.push_back(kString);
      put_str(out, v.as_string());
      break;
    case AttrValue::Kind::kValue: put_value(out, v.as_value()); break;
  }
}

std::size_t estimate(const AttrValue& v) {
  switch (v.kind()) {
    case AttrValue::Kind::kString: return 5 + v.as_string().size();
    case AttrValue::Kind::kValue: return 256;
    default: return 9;
  }
}

class Reader {
 public:
  explicit Reader(const std::string& s) : p_(s.data()), end_(s.data() + s.size()) {}

  std::uint32_t u32() {
    need(4);
    std::uint32_t n;
    std::memcpy(&n, p_, 4);
    p_ += 4;
    return n;
  }
  std::string str() {
    std::uint32_t n = u32();
    need(n);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  Value value(int depth = 0) {
    if (depth > 256) throw std::runtime_error("northstar record blob nested too deeply");
    need(1);
    char tag = *p_++;
    switch (tag) {
      case kNull: return Value();
      case kFalse: return Value(false);
      case kTrue: return Value(true);
      case kInt: {
        need(8);
        std::int64_t i;
        std::memcpy(&i, p_, 8);
        p_ += 8;
        return Value(i);
      }
      case kUint: {
        need(8);
        std::uint64_t u;
        std::memcpy(&u, p_, 8);
        p_ += 8;
        return Value(u);
      }
      case kDouble: {
        need(8);
        double d;
        std::memcpy(&d, p_, 8);
        p_ += 8;
        return Value(d);
      }
      case kString: return Value(str());
      case kArray: {
        std::uint32_t n = u32();
        Value::Array a;
        a.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) a.push_back(value(depth + 1));
        return Value(std::move(a));
      }
      case kMap: {
        std::uint32_t n = u32();
        Value::Map m;
        for (std::uint32_t i = 0; i < n; ++i) {
          std::string k = str();
          m.insert_or_assign(std::move(k), value(depth + 1));
        }
        return Value(std::move(m));
      }
      default: throw std::runtime_error("northstar record blob has an unknown tag");
    }
  }

 private:
  void need(std::size_t n) const {
    if (static_cast<std::size_t>(end_ - p_) < n)
      throw std::runtime_error("northstar record blob truncated");
  }
  const char* p_;
  const char* end_;
};

}  // namespace

std::size_t SpanKeyHash::operator()(const SpanKey& k) const noexcept {
  std::uint64_t a, b, c;
  std::memcpy(&a, k.trace_id.bytes.data(), 8);
  std::memcpy(&b, k.trace_id.bytes.data() + 8, 8);
  std::memcpy(&c, k.span_id.bytes.data(), 8);
  std::uint64_t h = c * 0x9e3779b97f4a7c15ull;
  h ^= a + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= b + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return static_cast<std::size_t>(h);
}

void encode_record(const LogRecord& record, QueuedRecord& out) {
  out.time_unix_nano = record.time_unix_nano;
  out.severity_number = record.severity_number;
  out.trace_id = record.trace_id;
  out.span_id = record.span_id;
  std::string_view scope = record.instrumentation_scope
                               ? std::string_view(record.instrumentation_scope->name)
                               : std::string_view();
  std::size_t size = 16 + scope.size() + estimate(record.body);
  for (const auto& a : record.attributes) size += 4 + a.key.size() + estimate(a.value);
  out.blob.clear();
  out.blob.reserve(size);
  put_str(out.blob, scope);
  put_attr(out.blob, record.body);
  put_u32(out.blob, static_cast<std::uint32_t>(record.attributes.size()));
  for (const auto& a : record.attributes) {
    put_str(out.blob, a.key);
    put_attr(out.blob, a.value);
  }
}

DecodedRecord decode_record(const QueuedRecord& record) {
  DecodedRecord d;
  d.time_unix_nano = record.time_unix_nano;
  d.severity_number = record.severity_number;
  d.trace_id = record.trace_id;
  d.span_id = record.span_id;
  Reader r(record.blob);
  d.scope = r.str();
  d.body = r.value();
  std::uint32_t n = r.u32();
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string k = r.str();
    d.attributes.insert_or_assign(std::move(k), r.value());
  }
  return d;
}

}  // namespace dagstack::logger::northstar::detail

// attribute.cpp: implements `AttrValue` conversions and `to_value_map`.
#include "dagstack/logger/attribute.h"

#include <cstdio>

#include "detail/civil_date.h"

namespace dagstack::logger {

namespace detail {
std::string format_rfc3339_nanos(std::int64_t unix_nanos) {
  std::int64_t secs = unix_nanos / 1'000'000'000;
  std::int64_t nanos = unix_nanos % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t of_day = secs % 86400;
  if (of_day < 0) {
    of_day += 86400;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ",
                static_cast<long long>(date.year), date.month, date.day,
                static_cast<long long>(of_day / 3600), static_cast<long long>(of_day / 60 % 60),
                static_cast<long long>(of_day % 60), static_cast<long long>(nanos));
  return buf;
}
}  // namespace detail

AttrValue::AttrValue(const Value& v) noexcept : kind_(Kind::kNull), i_(0) {
  switch (v.type()) {
    case Value::Type::kNull: break;
    case Value::Type::kBool:
      kind_ = Kind::kBool;
      b_ = v.as_bool();
      break;
    case Value::Type::kInt:
      kind_ = Kind::kInt;
      i_ = v.as_int();
      break;
    case Value::Type::kUint:
      kind_ = Kind::kUint;
      u_ = v.as_uint();
      break;
    case Value::Type::kDouble:
      kind_ = Kind::kDouble;
      d_ = v.as_double();
      break;
    case Value::Type::kString: {
      const std::string& s = v.as_string();
      kind_ = Kind::kString;
      s_ = Str{s.data(), s.size()};
      break;
    }
    case Value::Type::kArray:
    case Value::Type::kMap:
      kind_ = Kind::kValue;
      v_ = &v;
      break;
  }
}

Value AttrValue::to_value() const {
  switch (kind_) {
    case Kind::kNull: return Value();
    case Kind::kBool: return Value(b_);
    case Kind::kInt: return Value(i_);
    case Kind::kDouble: return Value(d_);
    case Kind::kUint: return Value(u_);
    case Kind::kString: return Value(std::string(s_.data, s_.size));
    case Kind::kValue: return *v_;
  }
  return Value();
}

Value::Map to_value_map(AttributeSpan attrs) {
  Value::Map map;
  // Keys are meant to be unique; when they are not, the last one wins (as in the encoder).
  for (const Attribute& a : attrs) map.insert_or_assign(std::string(a.key), a.value.to_value());
  return map;
}

}  // namespace dagstack::logger

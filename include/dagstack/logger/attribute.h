// attribute.h: declares `AttrValue`, `Attribute` and `AttributeSpan`, the borrowed views that
// carry bodies and attributes from a call site to the sinks without copying them.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/value.h"

namespace dagstack::logger {

// AttrValue
//
// A view of one value: scalars are held inline, strings and nested Values by reference, so
// building one never allocates and it is trivially copyable and destructible. A view is valid
// only as long as what it refers to; inside an emit call that is the whole call.
// Thread-compatible.
class AttrValue {
 public:
  enum class Kind : std::uint8_t { kNull, kBool, kInt, kDouble, kString, kValue };

  constexpr AttrValue() noexcept : kind_(Kind::kNull), i_(0) {}
  constexpr AttrValue(std::nullptr_t) noexcept : kind_(Kind::kNull), i_(0) {}  // NOLINT
  constexpr AttrValue(bool b) noexcept : kind_(Kind::kBool), b_(b) {}          // NOLINT
  template <std::integral T>
  requires(!std::same_as<T, bool>) constexpr AttrValue(
      T v) noexcept  // NOLINT(google-explicit-constructor)
      : kind_(Kind::kInt), i_(static_cast<std::int64_t>(v)) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (v > static_cast<T>(INT64_MAX)) {
        kind_ = Kind::kDouble;
        d_ = static_cast<double>(v);
      }
    }
  }
  template <std::floating_point T>
  constexpr AttrValue(T v) noexcept : kind_(Kind::kDouble), d_(static_cast<double>(v)) {}  // NOLINT
  constexpr AttrValue(const char* s) noexcept  // NOLINT(google-explicit-constructor)
      : kind_(Kind::kString), s_{s, std::char_traits<char>::length(s)} {}
  constexpr AttrValue(std::string_view s) noexcept  // NOLINT(google-explicit-constructor)
      : kind_(Kind::kString), s_{s.data(), s.size()} {}
  AttrValue(const std::string& s) noexcept  // NOLINT(google-explicit-constructor)
      : kind_(Kind::kString), s_{s.data(), s.size()} {}
  // A nested Value is viewed (it must outlive the view); scalar Values are flattened into the
  // view. Containers go through Value: `{"tags", Value(tags_vector)}` (the temporary Value
  // lives until the end of the full expression, i.e. the whole emit call).
  AttrValue(const Value& v) noexcept;  // NOLINT(google-explicit-constructor)

  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::kNull; }
  bool as_bool() const noexcept { return b_; }
  std::int64_t as_int() const noexcept { return i_; }
  double as_double() const noexcept { return d_; }
  std::string_view as_string() const noexcept { return {s_.data, s_.size}; }
  // The viewed Value when kind() == kValue (always an array or a map).
  const Value& as_value() const noexcept { return *v_; }

  // An owning copy.
  Value to_value() const;

 private:
  struct Str {
    const char* data;
    std::size_t size;
  };
  Kind kind_;
  union {
    bool b_;
    std::int64_t i_;
    double d_;
    Str s_;
    const Value* v_;
  };
};

// Attribute
//
// One key/value pair viewed at the call site. Keys are UTF-8. Valid for the call only.
struct Attribute {
  std::string_view key;
  AttrValue value;
};

// AttributeSpan
//
// A borrowed list of attributes, built implicitly from a braced list
// (`{{"user.id", 42}, {"ok", true}}`), a std::vector<Attribute> or a std::span. Thread-compatible.
class AttributeSpan {
 public:
  constexpr AttributeSpan() noexcept = default;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"  // a view for the call, by design
#endif
  constexpr AttributeSpan(std::initializer_list<Attribute> il) noexcept  // NOLINT
      : data_(il.begin()), size_(il.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  constexpr AttributeSpan(std::span<const Attribute> s) noexcept  // NOLINT
      : data_(s.data()), size_(s.size()) {}
  AttributeSpan(const std::vector<Attribute>& v) noexcept  // NOLINT
      : data_(v.data()), size_(v.size()) {}

  constexpr const Attribute* begin() const noexcept { return data_; }
  constexpr const Attribute* end() const noexcept { return data_ + size_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const Attribute& operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  const Attribute* data_ = nullptr;
  std::size_t size_ = 0;
};

// Builds owning attributes from views (copies keys and values).
Value::Map to_value_map(AttributeSpan attrs);

}  // namespace dagstack::logger

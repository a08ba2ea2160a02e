// attribute.h: declares `AttrValue`, `Attribute` and `AttributeSpan`, the borrowed views that
// carry bodies and attributes from a call site to the sinks without copying them.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dagstack/logger/to_attribute.h"
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
  // kUint holds only integers above INT64_MAX; smaller ones are kInt.
  enum class Kind : std::uint8_t { kNull, kBool, kInt, kDouble, kString, kValue, kUint };

  constexpr AttrValue() noexcept : kind_(Kind::kNull), i_(0) {}
  constexpr AttrValue(std::nullptr_t) noexcept : kind_(Kind::kNull), i_(0) {}  // NOLINT
  constexpr AttrValue(bool b) noexcept : kind_(Kind::kBool), b_(b) {}          // NOLINT
  template <std::integral T>
  requires(!std::same_as<T, bool> && !detail::CharType<T>) constexpr AttrValue(
      T v) noexcept  // NOLINT(google-explicit-constructor)
      : kind_(Kind::kInt), i_(static_cast<std::int64_t>(v)) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (v > static_cast<T>(INT64_MAX)) {
        kind_ = Kind::kUint;
        u_ = static_cast<std::uint64_t>(v);
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
  // Durations are written as double seconds (`1500ms` -> 1.5).
  template <typename R, typename P>
  constexpr AttrValue(std::chrono::duration<R, P> d) noexcept  // NOLINT
      : kind_(Kind::kDouble), d_(std::chrono::duration<double>(d).count()) {}
  // An enum class is its underlying integer, unless it has a to_attribute returning a scalar or
  // a string view (e.g. its enumerator name), which is used instead.
  template <typename E>
  requires(std::is_enum_v<E> &&
           ((detail::ScopedEnum<E> && !detail::HasToAttribute<E>) ||
            detail::ViewableToAttribute<E>)) constexpr AttrValue(E e) noexcept  // NOLINT
      : AttrValue(convert_enum(e)) {}
  // An optional is its value, or null when empty (the optional must outlive the view).
  template <typename T>
  requires std::is_convertible_v<const T&, AttrValue> AttrValue(const std::optional<T>& o)
  noexcept  // NOLINT
      : AttrValue(o.has_value() ? AttrValue(*o) : AttrValue()) {}
  // Raw pointers (other than C strings), unscoped enums without to_attribute and char never
  // convert silently: the compile error names the type.
  template <typename T>
  requires detail::RejectedAttributeType<T> AttrValue(T)
  noexcept {  // NOLINT
    static_assert(detail::kAlwaysFalse<T>,
                  "not an attribute value (raw pointer, unscoped enum or char): log the pointee, "
                  "static_cast<int>(e), std::string(1, c), or define to_attribute(T)");
  }
  // A nested Value is viewed (it must outlive the view); scalar Values are flattened into the
  // view. Containers go through Value: `{"tags", Value(tags_vector)}` (the temporary Value
  // lives until the end of the full expression, i.e. the whole emit call).
  AttrValue(const Value& v) noexcept;  // NOLINT(google-explicit-constructor)

  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::kNull; }
  bool as_bool() const noexcept { return b_; }
  std::int64_t as_int() const noexcept { return i_; }
  double as_double() const noexcept { return d_; }
  std::uint64_t as_uint() const noexcept { return u_; }
  std::string_view as_string() const noexcept { return {s_.data, s_.size}; }
  // The viewed Value when kind() == kValue (always an array or a map).
  const Value& as_value() const noexcept { return *v_; }

  // An owning copy.
  Value to_value() const;

 private:
  template <typename E>
  static constexpr AttrValue convert_enum(E e) noexcept {
    if constexpr (detail::HasToAttribute<E>) {
      return AttrValue(to_attribute(e));
    } else {
      return AttrValue(static_cast<std::underlying_type_t<E>>(e));
    }
  }

  struct Str {
    const char* data;
    std::size_t size;
  };
  Kind kind_;
  union {
    bool b_;
    std::int64_t i_;
    std::uint64_t u_;
    double d_;
    Str s_;
    const Value* v_;
  };
};

// Attribute
//
// One key/value pair viewed at the call site. Keys are UTF-8. Valid for the call only.
// Values that cannot be viewed (containers, maps, system_clock time points, types with an owning
// to_attribute; see to_attribute.h) are converted into a temporary that lives until the end of
// the full expression, i.e. the emit call: `log.info("cart", {{"items", items_vector}})`. Build
// such an Attribute only inside the emit call expression.
struct Attribute {
  std::string_view key;
  AttrValue value;

  constexpr Attribute() noexcept = default;
  constexpr Attribute(std::string_view k, AttrValue v) noexcept : key(k), value(v) {}
  template <typename T>
  requires(!std::is_convertible_v<const T&, AttrValue>)
      Attribute(std::string_view k, const T& v,
                detail::AttributeHolder&& holder = detail::AttributeHolder{})
      : key(k), value((holder.value = detail::to_owned_value(v), AttrValue(holder.value))) {}
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

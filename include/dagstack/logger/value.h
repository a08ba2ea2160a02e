// value.h: declares `Value`, the owning JSON-shaped value used for bodies and attributes.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace dagstack::logger {

// Value
//
// A recursive JSON value: null, bool, integer, double, string (UTF-8), array or string-keyed map.
// Integers and doubles are distinct alternatives (`1` and `1.0` encode differently) and a bool
// never converts to a number. Integers cover INT64_MIN..UINT64_MAX exactly: values up to
// INT64_MAX are kInt, values above it kUint (never both, so equality is by value). Copy,
// assignment and destruction are iterative (any depth); the comparison operator recurses.
// Thread-compatible: concurrent const access is safe.
class Value {
 public:
  using Array = std::vector<Value>;
  using Map = std::map<std::string, Value, std::less<>>;
  enum class Type : std::uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kMap, kUint };

  // Null.
  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}     // NOLINT(google-explicit-constructor)
  Value(bool b) noexcept : data_(b) {}  // NOLINT(google-explicit-constructor)
  // Any integer type; unsigned values above INT64_MAX are stored exactly as kUint.
  template <std::integral T>
  requires(!std::same_as<T, bool>) Value(T v)
  noexcept : data_(to_integer(v)) {}  // NOLINT(google-explicit-constructor)
  template <std::floating_point T>
  Value(T v) noexcept : data_(static_cast<double>(v)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* s) : data_(std::string(s)) {}         // NOLINT(google-explicit-constructor)
  Value(std::string s) noexcept : data_(std::move(s)) {}  // NOLINT(google-explicit-constructor)
  Value(std::string_view s) : data_(std::string(s)) {}    // NOLINT(google-explicit-constructor)
  Value(Array a) noexcept : data_(std::move(a)) {}        // NOLINT(google-explicit-constructor)
  Value(Map m) noexcept : data_(std::move(m)) {}          // NOLINT(google-explicit-constructor)
  // Any sequence container of convertible elements becomes an array.
  template <typename T>
  Value(const std::vector<T>& v) : data_(Array(v.begin(), v.end())) {}  // NOLINT
  // Any string-keyed map of convertible values becomes a map.
  template <typename T, typename C>
  Value(const std::map<std::string, T, C>& m) : data_(Map(m.begin(), m.end())) {}  // NOLINT

  // Copying and destroying work with an explicit stack, not recursion, so a value nested a
  // million levels deep copies and frees without exhausting the thread's stack.
  Value(const Value& other) {
    if (other.is_array() || other.is_map()) {
      copy_nested(other);
    } else {
      data_ = other.data_;
    }
  }
  Value(Value&& other) noexcept = default;
  Value& operator=(const Value& other) {
    if (this != &other) {
      Value copy(other);
      data_.swap(copy.data_);  // the old contents go with `copy`
    }
    return *this;
  }
  Value& operator=(Value&& other) noexcept {
    if (this != &other) {
      Value taken(std::move(other));
      data_.swap(taken.data_);
    }
    return *this;
  }
  ~Value() {
    if (is_array() || is_map()) release_nested();
  }

  // Builds an array from a braced list: Value::array({1, "two", 3.0}).
  static Value array(std::initializer_list<Value> items) { return Value(Array(items)); }
  // Builds a map from a braced list of pairs: Value::map({{"k", 1}, {"n", nullptr}}).
  static Value map(std::initializer_list<std::pair<const std::string, Value>> items) {
    return Value(Map(items));
  }

  Type type() const noexcept { return static_cast<Type>(data_.index()); }
  bool is_null() const noexcept { return type() == Type::kNull; }
  bool is_bool() const noexcept { return type() == Type::kBool; }
  bool is_int() const noexcept { return type() == Type::kInt; }
  bool is_double() const noexcept { return type() == Type::kDouble; }
  bool is_string() const noexcept { return type() == Type::kString; }
  bool is_array() const noexcept { return type() == Type::kArray; }
  bool is_map() const noexcept { return type() == Type::kMap; }
  // True for an integer above INT64_MAX (read it with as_uint()).
  bool is_uint() const noexcept { return type() == Type::kUint; }

  // Typed accessors; each throws std::bad_variant_access when the type differs.
  bool as_bool() const { return std::get<bool>(data_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(data_); }
  double as_double() const { return std::get<double>(data_); }
  std::uint64_t as_uint() const { return std::get<std::uint64_t>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const Array& as_array() const { return std::get<Array>(data_); }
  const Map& as_map() const { return std::get<Map>(data_); }
  Array& as_array() { return std::get<Array>(data_); }
  Map& as_map() { return std::get<Map>(data_); }

  // Map lookup: the value under `key`, or nullptr when this is not a map or has no such key.
  const Value* find(std::string_view key) const noexcept;

  friend bool operator==(const Value& a, const Value& b) noexcept { return a.data_ == b.data_; }

 private:
  void copy_nested(const Value& other);
  void release_nested() noexcept;

  template <typename T>
  static std::variant<std::monostate, bool, std::int64_t, double, std::string, Array, Map,
                      std::uint64_t>
  to_integer(T v) noexcept {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (v > static_cast<T>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::uint64_t>(v);
      }
    }
    return static_cast<std::int64_t>(v);
  }

  std::variant<std::monostate, bool, std::int64_t, double, std::string, Array, Map, std::uint64_t>
      data_;
};

}  // namespace dagstack::logger

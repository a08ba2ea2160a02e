// to_attribute.h: declares the `to_attribute` customization point that teaches the library a
// user type, and the built-in conversions of standard types (durations, time points, enums,
// std::optional, ranges, string-keyed maps) to attribute values.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "dagstack/logger/value.h"

// Customization point
//
// A type T becomes an attribute value when a function `to_attribute(const T&)` is found by
// argument-dependent lookup (declare it in T's namespace). It returns anything that is itself an
// attribute value: a scalar, a string, a dagstack::logger::Value, a container, another type with
// its own to_attribute. It is called only while the record is being built.
//
//   namespace shop {
//   struct Money { std::int64_t cents; std::string currency; };
//   inline dagstack::logger::Value to_attribute(const Money& m) {
//     return dagstack::logger::Value::map({{"cents", m.cents}, {"currency", m.currency}});
//   }
//   enum class Status { kOpen, kPaid };
//   inline std::string_view to_attribute(Status s) { return s == Status::kOpen ? "open" : "paid"; }
//   }  // namespace shop
//
// Built in: bool, integers, floating point, strings, nullptr; durations (as double seconds);
// system_clock time points (as an RFC 3339 UTC string with nanoseconds); enum class (as its
// underlying integer, or its to_attribute); std::optional (the value or null); string-keyed maps
// (as maps); other ranges (as arrays). Raw pointers, unscoped enums and char are refused at
// compile time (an error that names the type): log `*p`, `static_cast<int>(e)` or
// `std::string(1, c)`, or give the type a to_attribute.

namespace dagstack::logger {
namespace detail {

// Hides every other `to_attribute` so that user overloads are found by ADL only.
void to_attribute() = delete;

template <typename T>
concept HasToAttribute = requires(const T& v) {
  to_attribute(v);
};

template <typename T>
inline constexpr bool kAlwaysFalse = false;

// A to_attribute whose result can be viewed without storage (a scalar or a string view).
template <typename T>
concept ViewableToAttribute = HasToAttribute<T> && requires(const T& v) {
  requires std::is_arithmetic_v<std::remove_cvref_t<decltype(to_attribute(v))>> ||
      std::same_as<std::remove_cvref_t<decltype(to_attribute(v))>, std::string_view> ||
      std::same_as < std::remove_cvref_t<decltype(to_attribute(v))>,
  const char* > ;
};

template <typename T>
concept CharType = std::same_as < std::remove_cv_t<T>,
char > || std::same_as<std::remove_cv_t<T>, wchar_t> ||
    std::same_as<std::remove_cv_t<T>, char8_t> || std::same_as<std::remove_cv_t<T>, char16_t> ||
    std::same_as<std::remove_cv_t<T>, char32_t>;

template <typename T>
concept UnscopedEnum = std::is_enum_v<T> && std::is_convertible_v<T, std::underlying_type_t<T>>;

template <typename T>
concept ScopedEnum = std::is_enum_v<T> && !std::is_convertible_v<T, std::underlying_type_t<T>>;

// Pointers other than `const char*` / `char*` (C strings), and pointers to members.
template <typename T>
concept NonStringPointer = (std::is_pointer_v<T> &&
                            !std::same_as<std::remove_cv_t<std::remove_pointer_t<T>>, char>) ||
                           std::is_member_pointer_v<T>;

// Types that must never turn into an attribute value silently (a pointer would become `true`,
// an unscoped enum `true` or a number, a char a number).
template <typename T>
concept RejectedAttributeType = CharType<T> || NonStringPointer<T> ||
    (UnscopedEnum<T> && !HasToAttribute<T>);

template <typename T>
struct IsDuration : std::false_type {};
template <typename R, typename P>
struct IsDuration<std::chrono::duration<R, P>> : std::true_type {};

template <typename T>
struct IsTimePoint : std::false_type {};
template <typename C, typename D>
struct IsTimePoint<std::chrono::time_point<C, D>> : std::true_type {};

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
concept StringKeyedMap = std::ranges::input_range<const T> && requires(const T& m) {
  typename T::key_type;
  typename T::mapped_type;
  requires std::is_convertible_v<const typename T::key_type&, std::string_view>;
};

// "2026-12-04T05:47:23.123456789Z" for nanoseconds since the Unix epoch.
std::string format_rfc3339_nanos(std::int64_t unix_nanos);

// The owning Value for any attribute value type; a static_assert names a type that is not one.
template <typename T>
Value to_owned_value(const T& v) {
  using U = std::remove_cvref_t<T>;
  if constexpr (HasToAttribute<U>) {
    return to_owned_value(to_attribute(v));
  } else if constexpr (std::same_as<U, Value>) {
    return v;
  } else if constexpr (std::same_as<U, bool> || std::same_as<U, std::nullptr_t>) {
    return Value(v);
  } else if constexpr (CharType<U>) {
    static_assert(kAlwaysFalse<U>,
                  "char is not an attribute value: log std::string(1, c) or static_cast<int>(c)");
    return Value();
  } else if constexpr (std::is_arithmetic_v<U>) {
    return Value(v);
  } else if constexpr (UnscopedEnum<U>) {
    static_assert(kAlwaysFalse<U>,
                  "an unscoped enum is not an attribute value: use enum class, cast it, or "
                  "define to_attribute(E) in its namespace");
    return Value();
  } else if constexpr (ScopedEnum<U>) {
    return Value(static_cast<std::underlying_type_t<U>>(v));
  } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
    return Value(std::string_view(v));
  } else if constexpr (NonStringPointer<U>) {
    static_assert(kAlwaysFalse<U>,
                  "a raw pointer is not an attribute value: log the pointee (*p) or define "
                  "to_attribute for the pointed-to type");
    return Value();
  } else if constexpr (IsDuration<U>::value) {
    return Value(std::chrono::duration<double>(v).count());
  } else if constexpr (IsTimePoint<U>::value) {
    static_assert(std::same_as<typename U::clock, std::chrono::system_clock>,
                  "only system_clock time points are attribute values (other clocks have no "
                  "calendar meaning): log a duration instead");
    return Value(format_rfc3339_nanos(
        std::chrono::duration_cast<std::chrono::nanoseconds>(v.time_since_epoch()).count()));
  } else if constexpr (IsOptional<U>::value) {
    return v.has_value() ? to_owned_value(*v) : Value();
  } else if constexpr (StringKeyedMap<U>) {
    Value::Map m;
    for (const auto& [k, e] : v)
      m.insert_or_assign(std::string(std::string_view(k)), to_owned_value(e));
    return Value(std::move(m));
  } else if constexpr (std::ranges::input_range<const U>) {
    Value::Array a;
    if constexpr (std::ranges::sized_range<const U>) a.reserve(std::ranges::size(v));
    for (const auto& e : v) a.push_back(to_owned_value(e));
    return Value(std::move(a));
  } else {
    static_assert(kAlwaysFalse<U>,
                  "this type is not an attribute value: define to_attribute(const T&) in its "
                  "namespace (see dagstack/logger/to_attribute.h)");
    return Value();
  }
}

// The owning storage of one converted attribute value; a temporary of this type lives until
// the end of the full expression (the emit call) that builds the Attribute.
struct AttributeHolder {
  Value value;
};

}  // namespace detail
}  // namespace dagstack::logger

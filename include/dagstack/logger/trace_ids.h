// trace_ids.h: declares `TraceId` and `SpanId`, W3C trace and span identifiers, and their hex
// helpers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dagstack::logger {

// TraceId
//
// 16 bytes; all zeros means "no trace" (invalid) and is never written to the wire.
// Value type, thread-compatible.
struct TraceId {
  std::array<std::uint8_t, 16> bytes{};

  // True when any byte is non-zero.
  bool valid() const noexcept;
  // 32 lowercase hex characters.
  std::string to_hex() const;
  // Writes 32 lowercase hex characters to `out` (which must hold 32 chars).
  void to_hex(char* out) const noexcept;
  // Parses 32 hex characters (either case). Throws std::invalid_argument with
  // "trace_id hex must be 32 chars, got N" or "trace_id hex contains invalid chars".
  static TraceId from_hex(std::string_view hex);
  // Copies exactly 16 bytes. Throws std::invalid_argument "trace_id must be 16 bytes, got N".
  static TraceId from_bytes(std::span<const std::uint8_t> bytes);

  friend bool operator==(const TraceId&, const TraceId&) = default;
};

// SpanId
//
// 8 bytes; all zeros means "no span" (invalid). Value type, thread-compatible.
struct SpanId {
  std::array<std::uint8_t, 8> bytes{};

  bool valid() const noexcept;
  // 16 lowercase hex characters.
  std::string to_hex() const;
  void to_hex(char* out) const noexcept;
  // Throws std::invalid_argument "span_id hex must be 16 chars, got N" or
  // "span_id hex contains invalid chars".
  static SpanId from_hex(std::string_view hex);
  // Throws std::invalid_argument "span_id must be 8 bytes, got N".
  static SpanId from_bytes(std::span<const std::uint8_t> bytes);

  friend bool operator==(const SpanId&, const SpanId&) = default;
};

}  // namespace dagstack::logger

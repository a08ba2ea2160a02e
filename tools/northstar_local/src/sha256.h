// sha256.h: declares the SHA-256 digest used to hash API keys.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace northstar_local::detail {

// The 32-byte SHA-256 digest of `data` (FIPS 180-4).
std::array<std::uint8_t, 32> sha256(std::string_view data);

}  // namespace northstar_local::detail

// sanitizers.h: kSanitized, true when the test is built with AddressSanitizer or ThreadSanitizer
// (GCC's __SANITIZE_* macros or Clang's __has_feature).
#pragma once

namespace dagstack::logger::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace dagstack::logger::testing

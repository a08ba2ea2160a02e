// sanitizers.h: kSanitized (and the macro DAGSTACK_TEST_SANITIZED, for #if), true when the test
// is built with AddressSanitizer or ThreadSanitizer (GCC's __SANITIZE_* macros or Clang's
// __has_feature).
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DAGSTACK_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DAGSTACK_TEST_SANITIZED 1
#endif
#endif

namespace dagstack::logger::testing {

#ifdef DAGSTACK_TEST_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace dagstack::logger::testing

// alloc_counter.h: replaces the global operator new/delete with versions that count allocations
// made on the calling thread while an AllocationCounter is alive. Include it in exactly one
// source file of a test executable (each test file here is its own executable).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace dagstack::logger::testing {
namespace alloc_detail {
inline thread_local bool counting = false;
inline thread_local std::size_t count = 0;
}  // namespace alloc_detail

// AllocationCounter
//
// Counts heap allocations on this thread from construction until stop() or destruction.
// Not thread-safe (per-thread by design).
class AllocationCounter {
 public:
  AllocationCounter() noexcept {
    alloc_detail::count = 0;
    alloc_detail::counting = true;
  }
  ~AllocationCounter() { alloc_detail::counting = false; }
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;

  // Stops counting and returns the number of allocations seen.
  std::size_t stop() noexcept {
    alloc_detail::counting = false;
    return alloc_detail::count;
  }
};

}  // namespace dagstack::logger::testing

// noinline: GCC would otherwise pair malloc/free with new/delete after inlining and warn.
__attribute__((noinline)) void* operator new(std::size_t n) {
  if (dagstack::logger::testing::alloc_detail::counting)
    ++dagstack::logger::testing::alloc_detail::count;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new[](std::size_t n) {
  if (dagstack::logger::testing::alloc_detail::counting)
    ++dagstack::logger::testing::alloc_detail::count;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

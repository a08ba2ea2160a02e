// alloc_counter.cpp: global operator new/delete replaced by versions that count allocations per
// thread, for the allocs_per_call counters (bench_common.h: thread_allocations()). Kept alone in
// its own translation unit so the compiler never inlines malloc into a container's new/delete.
#include <cstdlib>
#include <new>

#include "bench_common.h"

namespace {
thread_local std::size_t tl_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  ++tl_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  ++tl_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++tl_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  ++tl_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace dagstack_bench {
std::size_t thread_allocations() noexcept { return tl_allocations; }
}  // namespace dagstack_bench

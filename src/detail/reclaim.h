// reclaim.h: read-side critical sections and grace periods for the published configuration.
//
// The emit path reads configuration snapshots (a node's Resolved, the Settings, the name map)
// through plain atomic pointers. A writer that replaces a snapshot keeps the old one until
// synchronize() has seen every thread that could still be reading it leave its read section;
// only then is the old snapshot (and any sink only it still held) released.
//
// Readers pay two stores to a cache line of their own and, where the kernel offers
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), no fence: the writer forces the barrier on every
// running thread instead (the asymmetric scheme of userspace RCU). Without it, readers use a
// full fence.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

// ThreadSanitizer does not model std::atomic_thread_fence (GCC refuses it under -fsanitize=thread):
// there, readers enter with a read-modify-write and writers read each slot with one, which orders
// them through the slot itself.
#if defined(__SANITIZE_THREAD__)
#define DAGSTACK_LOGGER_RECLAIM_RMW 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DAGSTACK_LOGGER_RECLAIM_RMW 1
#endif
#endif

namespace dagstack::logger::detail {

// One thread's read-section state. `seq` is odd while the thread is inside a read section.
struct alignas(64) ReaderSlot {
  std::atomic<std::uint64_t> seq{0};
  std::atomic<bool> in_use{false};
  ReaderSlot* next = nullptr;  // immutable once linked
};

inline constinit thread_local ReaderSlot* tl_reader_slot = nullptr;
inline constinit thread_local std::uint32_t tl_read_depth = 0;
// Set once, before any reader exists: true when writers force barriers with membarrier().
extern std::atomic<bool> g_asymmetric_barrier;

// Slow path of read_enter(): finds or links a slot for this thread.
ReaderSlot* acquire_reader_slot() noexcept;

// Enters a read section (nestable). Everything read from published snapshots stays valid until
// the matching read_exit().
inline void read_enter() noexcept {
  if (tl_read_depth++ != 0) return;
  ReaderSlot* slot = tl_reader_slot;
  if (slot == nullptr) slot = acquire_reader_slot();
#ifdef DAGSTACK_LOGGER_RECLAIM_RMW
  slot->seq.fetch_add(1, std::memory_order_seq_cst);
#else
  slot->seq.store(slot->seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (g_asymmetric_barrier.load(std::memory_order_relaxed)) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
#endif
}

// Leaves a read section.
inline void read_exit() noexcept {
  if (--tl_read_depth != 0) return;
  ReaderSlot* slot = tl_reader_slot;
  slot->seq.store(slot->seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// RAII read section.
class ReadSection {
 public:
  ReadSection() noexcept { read_enter(); }
  ~ReadSection() { read_exit(); }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;
};

// Waits until every thread that was inside a read section when called has left it (a grace
// period). Returns false when the calling thread is itself inside a read section (it cannot wait
// for itself) or when `timeout` passed first; the caller must then keep what it retired.
// Never call it while holding a lock an emitting thread may need.
bool synchronize(std::chrono::milliseconds timeout) noexcept;

// In the child of fork(): only the forking thread exists; every other slot is released.
void reclaim_after_fork_child() noexcept;

// Grace periods completed / given up (for tests and benchmarks).
std::uint64_t grace_periods_completed() noexcept;
std::uint64_t grace_periods_abandoned() noexcept;

}  // namespace dagstack::logger::detail

// reclaim.cpp: reader slots, grace periods (synchronize) and the membarrier set-up.
#include "detail/reclaim.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "deferred/deferred_path.h"

namespace dagstack::logger::detail {

std::atomic<bool> g_asymmetric_barrier{false};

namespace {

// Every slot ever linked; never freed (a slot is reused by a later thread once released).
std::atomic<ReaderSlot*> g_slots{nullptr};
std::atomic<std::uint64_t> g_completed{0};
std::atomic<std::uint64_t> g_abandoned{0};

long membarrier(int cmd) noexcept { return ::syscall(__NR_membarrier, cmd, 0, 0); }

// Registers the process for expedited private membarriers; readers then skip their fence.
// Sanitizer builds keep the fence so their models see every ordering explicitly.
const bool kBarrierReady = [] {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  return false;
#else
  const long supported = membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) return false;
  g_asymmetric_barrier.store(true, std::memory_order_seq_cst);
  return true;
#endif
}();

// Releases this thread's slot when the thread ends.
struct SlotReleaser {
  ReaderSlot* slot = nullptr;
  ~SlotReleaser() {
    if (slot == nullptr || tl_read_depth != 0) return;  // still reading: keep it (leaked)
    tl_reader_slot = nullptr;
    slot->in_use.store(false, std::memory_order_release);
  }
};

thread_local bool tl_releaser_gone = false;

void full_barrier() noexcept {
  if (g_asymmetric_barrier.load(std::memory_order_relaxed)) {
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    // A failing membarrier cannot happen once registered; if it does, readers that skipped
    // their fence are not covered, so never trust the asymmetric scheme again.
    g_asymmetric_barrier.store(false, std::memory_order_seq_cst);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
#ifndef DAGSTACK_LOGGER_RECLAIM_RMW
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace

ReaderSlot* acquire_reader_slot() noexcept {
  (void)kBarrierReady;
  ReaderSlot* slot = nullptr;
  for (ReaderSlot* s = g_slots.load(std::memory_order_acquire); s != nullptr; s = s->next) {
    bool expected = false;
    if (!s->in_use.load(std::memory_order_relaxed) &&
        s->in_use.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      slot = s;
      break;
    }
  }
  if (slot == nullptr) {
    slot = new (std::nothrow) ReaderSlot();
    if (slot == nullptr) std::abort();  // out of memory for 64 bytes: nothing sane remains
    slot->in_use.store(true, std::memory_order_relaxed);
    ReaderSlot* head = g_slots.load(std::memory_order_relaxed);
    do {
      slot->next = head;
    } while (!g_slots.compare_exchange_weak(head, slot, std::memory_order_release,
                                            std::memory_order_relaxed));
  }
  tl_reader_slot = slot;
  if (!tl_releaser_gone) {
    // Function-local so it is constructed (and its destructor registered) on first use only.
    static thread_local SlotReleaser releaser;
    struct Mark {
      ~Mark() { tl_releaser_gone = true; }
    };
    static thread_local Mark mark;
    (void)mark;
    releaser.slot = slot;
  }
  return slot;
}

bool synchronize(std::chrono::milliseconds timeout) noexcept {
  const bool self_reading = tl_read_depth != 0;
  full_barrier();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool complete = !self_reading;
  for (ReaderSlot* s = g_slots.load(std::memory_order_acquire); s != nullptr; s = s->next) {
    if (self_reading && s == tl_reader_slot) continue;
#ifdef DAGSTACK_LOGGER_RECLAIM_RMW
    const std::uint64_t seen = s->seq.fetch_add(0, std::memory_order_seq_cst);
#else
    const std::uint64_t seen = s->seq.load(std::memory_order_acquire);
#endif
    if ((seen & 1U) == 0) continue;
    int spins = 0;
    while (s->seq.load(std::memory_order_acquire) == seen) {
      if (++spins < 64) {
        ::sched_yield();
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        complete = false;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(spins < 256 ? 50 : 1000));
    }
  }
  // Records queued on the deferred path still point into what the caller is about to release.
  if (complete) complete = deferred_drain(deadline);
  (complete ? g_completed : g_abandoned).fetch_add(1, std::memory_order_relaxed);
  return complete;
}

void reclaim_after_fork_child() noexcept {
  for (ReaderSlot* s = g_slots.load(std::memory_order_acquire); s != nullptr; s = s->next) {
    if (s == tl_reader_slot) continue;
    const std::uint64_t v = s->seq.load(std::memory_order_relaxed);
    s->seq.store(v + (v & 1U), std::memory_order_relaxed);
    s->in_use.store(false, std::memory_order_relaxed);
  }
}

std::uint64_t grace_periods_completed() noexcept {
  return g_completed.load(std::memory_order_relaxed);
}
std::uint64_t grace_periods_abandoned() noexcept {
  return g_abandoned.load(std::memory_order_relaxed);
}

}  // namespace dagstack::logger::detail

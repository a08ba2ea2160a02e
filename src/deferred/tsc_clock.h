// tsc_clock.h: the deferred path's record clock: the CPU's invariant time-stamp counter, read by
// the logging thread in a few cycles and turned into system_clock() nanoseconds by the writer.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace dagstack::logger::detail {

// True on x86-64 when the CPU reports an invariant TSC (constant rate in every power state, the
// same on every core): only then may one thread's reading be compared with another's.
bool tsc_invariant() noexcept;

// The time-stamp counter now; 0 where there is none (tsc_invariant() is false there).
inline std::uint64_t tsc_read() noexcept {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return 0;
#endif
}

// TscCalibration
//
// Maps counter readings to Unix nanoseconds of system_clock(): the time of a recent base reading
// plus the ticks since, at a rate measured against the steady clock over everything since
// calibrate(). One thread (the writer) calls calibrate() and resync(); to_unix_nano() may also be
// called by the crash drain while the writer is parked (fields are relaxed atomics: a stale base
// costs accuracy, never safety).
class TscCalibration {
 public:
  // Measures the rate over about `window_ns` of busy waiting and takes the first base. Called
  // once per process (by start_deferred()); later calls keep the first measurement.
  void calibrate(std::uint64_t window_ns) noexcept;

  // Takes a new base reading if the last one is older than about a millisecond, and refines the
  // rate over the whole time since calibrate(). Cheap when nothing is due (one counter read).
  void resync() noexcept;

  // The Unix time in nanoseconds at which the counter read `ticks` (a reading from before or
  // after the base). Monotonic in `ticks` between two resync() calls.
  std::uint64_t to_unix_nano(std::uint64_t ticks) const noexcept;

 private:
  struct Sample {
    std::uint64_t ticks;
    std::uint64_t ns;
  };
  // A (counter, clock) pair from the tightest of a few tries; `steady` picks the clock.
  static Sample sample(bool steady) noexcept;

  bool calibrated_ = false;
  Sample first_steady_{};
  std::uint64_t resync_every_ticks_ = 0;
  std::atomic<std::uint64_t> base_ticks_{0};
  std::atomic<std::uint64_t> base_ns_{0};
  std::atomic<double> ns_per_tick_{0.0};
};

}  // namespace dagstack::logger::detail

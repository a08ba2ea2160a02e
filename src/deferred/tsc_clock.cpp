// tsc_clock.cpp: calibration of the deferred path's counter clock against system_clock().
#include "deferred/tsc_clock.h"

#include <chrono>
#include <limits>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "dagstack/logger/clock.h"

namespace dagstack::logger::detail {

bool tsc_invariant() noexcept {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) == 0 || eax < 0x80000007u) return false;
  if (__get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1u << 8)) != 0;  // "TscInvariant"
#else
  return false;
#endif
}

TscCalibration::Sample TscCalibration::sample(bool steady) noexcept {
  Sample best{0, 0};
  std::uint64_t best_window = std::numeric_limits<std::uint64_t>::max();
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t before = tsc_read();
    const std::uint64_t ns =
        steady ? static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::steady_clock::now().time_since_epoch())
                                                .count())
               : system_clock().now_unix_nano();
    const std::uint64_t after = tsc_read();
    if (after - before < best_window) {
      best_window = after - before;
      best = Sample{before + (after - before) / 2, ns};
    }
  }
  return best;
}

void TscCalibration::calibrate(std::uint64_t window_ns) noexcept {
  if (calibrated_) return;
  first_steady_ = sample(true);
  Sample end = first_steady_;
  while (end.ns - first_steady_.ns < window_ns) end = sample(true);
  const double rate = static_cast<double>(end.ns - first_steady_.ns) /
                      static_cast<double>(end.ticks - first_steady_.ticks);
  ns_per_tick_.store(rate, std::memory_order_relaxed);
  resync_every_ticks_ = static_cast<std::uint64_t>(1e6 / rate);  // about a millisecond
  const Sample base = sample(false);
  base_ticks_.store(base.ticks, std::memory_order_relaxed);
  base_ns_.store(base.ns, std::memory_order_relaxed);
  calibrated_ = true;
}

void TscCalibration::resync() noexcept {
  if (!calibrated_) return;
  if (tsc_read() - base_ticks_.load(std::memory_order_relaxed) < resync_every_ticks_) return;
  // The rate over the whole time since calibration: its error shrinks as the baseline grows.
  const Sample now_steady = sample(true);
  if (now_steady.ns > first_steady_.ns && now_steady.ticks > first_steady_.ticks) {
    const double rate = static_cast<double>(now_steady.ns - first_steady_.ns) /
                        static_cast<double>(now_steady.ticks - first_steady_.ticks);
    const double old = ns_per_tick_.load(std::memory_order_relaxed);
    if (rate > old * 0.5 && rate < old * 2.0) ns_per_tick_.store(rate, std::memory_order_relaxed);
  }
  const Sample base = sample(false);
  base_ticks_.store(base.ticks, std::memory_order_relaxed);
  base_ns_.store(base.ns, std::memory_order_relaxed);
}

std::uint64_t TscCalibration::to_unix_nano(std::uint64_t ticks) const noexcept {
  const auto delta = static_cast<std::int64_t>(ticks - base_ticks_.load(std::memory_order_relaxed));
  const double ns = static_cast<double>(delta) * ns_per_tick_.load(std::memory_order_relaxed);
  return base_ns_.load(std::memory_order_relaxed) +
         static_cast<std::uint64_t>(static_cast<std::int64_t>(ns));
}

}  // namespace dagstack::logger::detail

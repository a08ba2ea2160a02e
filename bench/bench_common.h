// bench_common.h: what the dagstack-vs-spdlog benchmark pairs share: the reference record (the
// same content on both sides), scratch files, the allocation counter and burst percentiles.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/logger.h"
#include "dagstack/logger/sink.h"

namespace dagstack_bench {

// The DESIGN.md §6 reference record: body + 3 attributes + trace context, emitted through the
// logger "bench". spdlog gets the same content as one text line:
//   [time] [bench] [info] request handled user.id=42 http.route=/api/orders duration_ms=12.5
//   trace_id=4bf9... span_id=00f0... trace_flags=1
inline constexpr std::string_view kBody = "request handled";
inline constexpr std::string_view kTraceHex = "4bf92f3577b34da6a3ce929d0e0e4736";
inline constexpr std::string_view kSpanHex = "00f067aa0ba902b7";
inline constexpr const char* kSpdlogFormat =
    "request handled user.id={} http.route={} duration_ms={} trace_id={} span_id={} trace_flags={}";
inline constexpr std::string_view kLoggerName = "bench";

// The reference call on each side (kept identical across every benchmark).
#define DAGSTACK_BENCH_INFO(log)      \
  (log).info(::dagstack_bench::kBody, \
             {{"user.id", 42}, {"http.route", "/api/orders"}, {"duration_ms", 12.5}})
#define DAGSTACK_BENCH_DEBUG(log)      \
  (log).debug(::dagstack_bench::kBody, \
              {{"user.id", 42}, {"http.route", "/api/orders"}, {"duration_ms", 12.5}})
#define SPDLOG_BENCH_INFO(lg)                                          \
  (lg)->info(::dagstack_bench::kSpdlogFormat, 42, "/api/orders", 12.5, \
             ::dagstack_bench::kTraceHex, ::dagstack_bench::kSpanHex, 1)
#define SPDLOG_BENCH_DEBUG(lg)                                          \
  (lg)->debug(::dagstack_bench::kSpdlogFormat, 42, "/api/orders", 12.5, \
              ::dagstack_bench::kTraceHex, ::dagstack_bench::kSpanHex, 1)

// Resets the dagstack registry, makes `sinks` the root sinks at INFO and returns the "bench"
// logger. Call from thread 0 before the timed loop.
dagstack::logger::Logger configure_dagstack(dagstack::logger::SinkList sinks);

// The Context carrying the reference trace; make it current with ScopedContext on each thread.
dagstack::logger::Context reference_context();

// A fresh path in the benchmark scratch directory (on tmpfs when /dev/shm exists).
std::string scratch_file(const std::string& name);
// Truncates the file to zero bytes (both sides open in append mode, so writing goes on at 0).
void truncate_file(const std::string& path);
// How many bytes a benchmark may write before the file is truncated, outside the timed region.
inline constexpr std::int64_t kTruncateEvery = 1 << 16;  // iterations (~20 MB of lines)

// Heap allocations made so far by the calling thread (counted by the replaced operator new in
// main.cpp).
std::size_t thread_allocations() noexcept;

// Adds p50/p90/p99/p99.9 (ns) of `samples` (per-call times of each burst) as counters, averaged
// across benchmark threads.
void report_percentiles(benchmark::State& state, std::vector<double>& samples,
                        const std::string& prefix = "");

// Busy-waits for `ns` nanoseconds (the pause between bursts; busy, as quill's benchmark does).
void busy_wait_ns(std::int64_t ns);

// The caller-side measurement of the exporting sinks: per iteration a burst of `kCallerBurst`
// calls timed together (manual time = per-call time), then a busy pause of `kCallerPauseNs` so
// the worker drains; percentiles over bursts.
inline constexpr int kCallerBurst = 20;
inline constexpr std::int64_t kCallerPauseNs = 50'000;
template <typename Call>
void run_caller_bursts(benchmark::State& state, Call&& call) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (int i = 0; i < kCallerBurst; ++i) call();
    const auto t1 = Clock::now();
    const double per_call = std::chrono::duration<double>(t1 - t0).count() / kCallerBurst;
    state.SetIterationTime(per_call);
    samples.push_back(per_call * 1e9);
    busy_wait_ns(kCallerPauseNs);
  }
  state.SetItemsProcessed(state.iterations() * kCallerBurst);
  report_percentiles(state, samples);
}

}  // namespace dagstack_bench

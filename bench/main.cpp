// main.cpp: the dagstack_bench entry point and the shared helpers of bench_common.h.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "bench_common.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"

namespace dagstack_bench {

namespace dl = dagstack::logger;

dl::Logger configure_dagstack(dl::SinkList sinks) {
  dl::Logger::reset();
  dl::ConfigureOptions options;
  options.root_level = dl::Level(dl::kSeverityInfo);
  options.sinks = std::move(sinks);
  dl::configure(options);
  return dl::Logger::get(kLoggerName);
}

dl::Context reference_context() {
  return dl::Context::with_span(dl::TraceId::from_hex(kTraceHex), dl::SpanId::from_hex(kSpanHex),
                                1);
}

namespace {
struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? "/dev/shm"
                                           : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "dagstack-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
ScratchDir& scratch() {
  static ScratchDir dir;
  return dir;
}
}  // namespace

std::string scratch_file(const std::string& name) {
  static int counter = 0;
  return (scratch().path / (name + "-" + std::to_string(++counter) + ".log")).string();
}

void truncate_file(const std::string& path) { (void)::truncate(path.c_str(), 0); }

void report_percentiles(benchmark::State& state, std::vector<double>& samples,
                        const std::string& prefix) {
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1));
    return samples[i];
  };
  using benchmark::Counter;
  state.counters[prefix + "p50_ns"] = Counter(at(0.50), Counter::kAvgThreads);
  state.counters[prefix + "p90_ns"] = Counter(at(0.90), Counter::kAvgThreads);
  state.counters[prefix + "p99_ns"] = Counter(at(0.99), Counter::kAvgThreads);
  state.counters[prefix + "p999_ns"] = Counter(at(0.999), Counter::kAvgThreads);
}

void busy_wait_ns(std::int64_t ns) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  while (std::chrono::steady_clock::now() < end) {
  }
}

}  // namespace dagstack_bench

BENCHMARK_MAIN();

// api_bench.cpp: the emit API rows: an fmt body with attributes into FileSink (time and heap
// allocations per call), the lazy macros with attributes (allocations), calls below the level,
// and the compile-time stripped macro beside an empty loop. spdlog's row for the same fmt call
// is printed beside it.
//
// This translation unit strips DEBUG and TRACE macros at compile time (DAGSTACK_LOG_ACTIVE_LEVEL
// 13 = WARN): DAGSTACK_LOG_DEBUG below must cost nothing, not even the level check.
#define DAGSTACK_LOG_ACTIVE_LEVEL 13

#include <benchmark/benchmark.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

#include "bench_common.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/file_sink.h"

namespace dl = dagstack::logger;
using namespace dagstack_bench;  // NOLINT(google-build-using-namespace)

namespace {

constexpr int kWarmup = 2000;
const double kAmount = 12.5;
constexpr std::string_view kCurrency = "EUR";

std::shared_ptr<dl::Sink> file_sink_at(const std::string& path) {
  dl::FileSinkOptions o;
  o.path = path;
  return dl::make_file_sink(o);
}

struct FileSetup {
  explicit FileSetup(const char* name)
      : path(scratch_file(name)), sink(file_sink_at(path)), log(configure_dagstack({sink})) {}
  ~FileSetup() {
    configure_dagstack({});
    sink->close();
  }
  FileSetup(const FileSetup&) = delete;
  FileSetup& operator=(const FileSetup&) = delete;
  std::string path;
  std::shared_ptr<dl::Sink> sink;
  dl::Logger log;
};

// `log.info("paid {} {}", amount, currency, {{"order.id", 42}})` into FileSink (buffered).
void FmtAttrs_FileSync_dagstack(benchmark::State& state) {
  FileSetup f("fmt-attrs-dagstack");
  std::int64_t n = 0;
  for (auto _ : state) {
    f.log.info("paid {} {}", kAmount, kCurrency, {{"order.id", 42}});
    if (++n % kTruncateEvery == 0) truncate_file(f.path);
  }
}

// spdlog writing the same content as text: "paid 12.5 EUR order.id=42".
void FmtAttrs_FileSync_spdlog(benchmark::State& state) {
  const std::string path = scratch_file("fmt-attrs-spdlog");
  auto lg = std::make_shared<spdlog::logger>(
      std::string(kLoggerName), std::make_shared<spdlog::sinks::basic_file_sink_st>(path));
  std::int64_t n = 0;
  for (auto _ : state) {
    lg->info("paid {} {} order.id={}", kAmount, kCurrency, 42);
    if (++n % kTruncateEvery == 0) truncate_file(path);
  }
}

// Heap allocations per call, steady state, for the fmt + attributes call and the lazy macro
// with attributes, both enabled, into FileSink.
void Allocs_FmtAttrs_FileSync_dagstack(benchmark::State& state) {
  FileSetup f("allocs-fmt-attrs");
  for (int i = 0; i < kWarmup; ++i)
    f.log.info("paid {} {}", kAmount, kCurrency, {{"order.id", 42}});
  const std::size_t before = thread_allocations();
  for (auto _ : state) f.log.info("paid {} {}", kAmount, kCurrency, {{"order.id", 42}});
  state.counters["allocs_per_call"] =
      static_cast<double>(thread_allocations() - before) / static_cast<double>(state.iterations());
}

void Allocs_Macro_FileSync_dagstack(benchmark::State& state) {
  FileSetup f("allocs-macro");
  for (int i = 0; i < kWarmup; ++i)
    DAGSTACK_LOG_WARN(f.log, "paid {} {}", kAmount, kCurrency, {{"order.id", 42}});
  const std::size_t before = thread_allocations();
  for (auto _ : state)
    DAGSTACK_LOG_WARN(f.log, "paid {} {}", kAmount, kCurrency, {{"order.id", 42}});
  state.counters["allocs_per_call"] =
      static_cast<double>(thread_allocations() - before) / static_cast<double>(state.iterations());
}

// Below the level at run time: the fmt + attributes call and the macro (level check only).
void BelowLevel_FmtAttrs_dagstack(benchmark::State& state) {
  FileSetup f("below-fmt-attrs");
  for (auto _ : state) f.log.debug("paid {} {}", kAmount, kCurrency, {{"order.id", 42}});
}

void BelowLevel_Macro_dagstack(benchmark::State& state) {
  FileSetup f("below-macro");
  f.log.set_level("ERROR");
  for (auto _ : state)
    DAGSTACK_LOG_WARN(f.log, "paid {} {}", kAmount, kCurrency, {{"order.id", 42}});
}

// Stripped at compile time (DEBUG < DAGSTACK_LOG_ACTIVE_LEVEL) beside an empty loop: equal.
void Stripped_Macro_dagstack(benchmark::State& state) {
  FileSetup f("stripped");
  f.log.set_level("TRACE");  // even with the run-time level open, nothing is left to run
  for (auto _ : state)
    DAGSTACK_LOG_DEBUG(f.log, "paid {} {}", kAmount, kCurrency, {{"order.id", 42}});
}

void EmptyLoop_baseline(benchmark::State& state) {
  for (auto _ : state) {
  }
}

}  // namespace

BENCHMARK(FmtAttrs_FileSync_dagstack);
BENCHMARK(FmtAttrs_FileSync_spdlog);
BENCHMARK(Allocs_FmtAttrs_FileSync_dagstack)->Iterations(100000);
BENCHMARK(Allocs_Macro_FileSync_dagstack)->Iterations(100000);
BENCHMARK(BelowLevel_FmtAttrs_dagstack);
BENCHMARK(BelowLevel_Macro_dagstack);
BENCHMARK(Stripped_Macro_dagstack);
BENCHMARK(EmptyLoop_baseline);

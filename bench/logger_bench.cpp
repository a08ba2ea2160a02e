// logger_bench.cpp: the front end without I/O: a call below the level, and an enabled record
// into a sink that discards it (dagstack: full pipeline up to Sink::emit; spdlog: payload
// formatting up to null_sink).
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_common.h"
#include "dagstack/logger/context.h"

namespace dl = dagstack::logger;
using namespace dagstack_bench;

namespace {

// Receives the finished record and drops it.
class DiscardSink final : public dl::Sink {
 public:
  std::string_view id() const noexcept override { return "discard"; }
  void emit(const dl::LogRecord& record) override {
    benchmark::DoNotOptimize(record.attributes.data());
    benchmark::DoNotOptimize(record.time_unix_nano);
  }
  dl::FlushResult flush(std::chrono::milliseconds) override { return dl::FlushResult::ok(); }
  void close() override {}
};

std::optional<dl::Logger> g_log;
std::shared_ptr<spdlog::logger> g_spdlog;

void setup_dagstack() { g_log = configure_dagstack({std::make_shared<DiscardSink>()}); }

void setup_spdlog(int threads) {
  spdlog::sink_ptr sink;
  if (threads == 1) {
    sink = std::make_shared<spdlog::sinks::null_sink_st>();
  } else {
    sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  }
  g_spdlog = std::make_shared<spdlog::logger>(std::string(kLoggerName), sink);
  g_spdlog->set_level(spdlog::level::info);
}

void BelowLevel_dagstack(benchmark::State& state) {
  if (state.thread_index() == 0) setup_dagstack();
  dl::ScopedContext ctx(reference_context());
  for (auto _ : state) DAGSTACK_BENCH_DEBUG(*g_log);
}

void BelowLevel_spdlog(benchmark::State& state) {
  if (state.thread_index() == 0) setup_spdlog(state.threads());
  for (auto _ : state) SPDLOG_BENCH_DEBUG(g_spdlog);
}

void NullSink_dagstack(benchmark::State& state) {
  if (state.thread_index() == 0) setup_dagstack();
  dl::ScopedContext ctx(reference_context());
  for (auto _ : state) DAGSTACK_BENCH_INFO(*g_log);
  state.SetItemsProcessed(state.iterations());
}

void NullSink_spdlog(benchmark::State& state) {
  if (state.thread_index() == 0) setup_spdlog(state.threads());
  for (auto _ : state) SPDLOG_BENCH_INFO(g_spdlog);
  state.SetItemsProcessed(state.iterations());
}

// One record with N distinct call-site attributes (and a child's bound attribute) into the
// discarding sink: the merge is linear (a hash index past 32 attributes), so the time per
// attribute stays flat from 10k to 40k (it was quadratic: 114 ms at 10k, 1.3 s at 40k).
void ManyAttributes_dagstack(benchmark::State& state) {
  setup_dagstack();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) keys.push_back("attr." + std::to_string(i));
  std::vector<dl::Attribute> attrs;
  attrs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    attrs.push_back({keys[i], dl::AttrValue(static_cast<std::int64_t>(i))});
  }
  dl::Logger child = g_log->child({{"request.id", "r-1"}});
  for (auto _ : state) child.info("wide", attrs);
  state.counters["s_per_attribute"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(ManyAttributes_dagstack)
    ->Arg(10000)
    ->Arg(20000)
    ->Arg(40000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BelowLevel_dagstack);
BENCHMARK(BelowLevel_spdlog);
BENCHMARK(NullSink_dagstack)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(NullSink_spdlog)->Threads(1)->Threads(2)->UseRealTime();

// file_bench.cpp: the reference record into a file, synchronously (dagstack FileSink through
// the logger, durable default and buffered opt-out, vs spdlog basic_file_sink), the JSON-lines
// writer alone, and heap allocations per enabled call into FileSink.
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

#include "bench_common.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/sinks/file_sink.h"

namespace dl = dagstack::logger;
using namespace dagstack_bench;

namespace {

std::optional<dl::Logger> g_log;
std::shared_ptr<dl::Sink> g_file_sink;
std::shared_ptr<spdlog::logger> g_spdlog;
std::string g_path;

void setup_dagstack_file(const char* name,
                         dl::FileDurability durability = dl::FileDurability::kWriteThrough) {
  g_path = scratch_file(name);
  dl::FileSinkOptions o;
  o.path = g_path;
  o.durability = durability;
  g_file_sink = dl::make_file_sink(o);
  g_log = configure_dagstack({g_file_sink});
}

void teardown_dagstack_file() {
  g_log = configure_dagstack({});
  g_file_sink->close();
  g_file_sink.reset();
}

void setup_spdlog_file(const char* name, int threads) {
  g_path = scratch_file(name);
  spdlog::sink_ptr sink;
  if (threads == 1) {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_st>(g_path);
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(g_path);
  }
  g_spdlog = std::make_shared<spdlog::logger>(std::string(kLoggerName), sink);
  g_spdlog->set_level(spdlog::level::info);
}

// Keeps the scratch file small, outside the timed region.
inline void maybe_truncate(benchmark::State& state, std::int64_t& n) {
  if (++n % kTruncateEvery == 0 && state.thread_index() == 0) {
    state.PauseTiming();
    truncate_file(g_path);
    state.ResumeTiming();
  }
}

void FileSync_dagstack(benchmark::State& state) {
  if (state.thread_index() == 0) setup_dagstack_file("filesync-dagstack");
  dl::ScopedContext ctx(reference_context());
  std::int64_t n = 0;
  for (auto _ : state) {
    DAGSTACK_BENCH_INFO(*g_log);
    maybe_truncate(state, n);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) teardown_dagstack_file();
}

// The throughput opt-out: 64 KiB buffer, one write(2) per buffer (what spdlog's stdio does).
void FileSyncBuffered_dagstack(benchmark::State& state) {
  if (state.thread_index() == 0) {
    setup_dagstack_file("filesync-buffered-dagstack", dl::FileDurability::kBuffered);
  }
  dl::ScopedContext ctx(reference_context());
  std::int64_t n = 0;
  for (auto _ : state) {
    DAGSTACK_BENCH_INFO(*g_log);
    maybe_truncate(state, n);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) teardown_dagstack_file();
}

void FileSync_spdlog(benchmark::State& state) {
  if (state.thread_index() == 0) setup_spdlog_file("filesync-spdlog", state.threads());
  std::int64_t n = 0;
  for (auto _ : state) {
    SPDLOG_BENCH_INFO(g_spdlog);
    maybe_truncate(state, n);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    g_spdlog->flush();
    g_spdlog.reset();
  }
}

// The reference record, built once (what the async writer hands to FileSink).
struct ReferenceRecord {
  dl::InstrumentationScope scope{std::string(kLoggerName), {}, {}};
  dl::Attribute attrs[3] = {{"user.id", 42}, {"http.route", "/api/orders"}, {"duration_ms", 12.5}};
  dl::LogRecord record;
  ReferenceRecord() {
    record.time_unix_nano = 1729800000123456789ull;
    record.severity_number = dl::kSeverityInfo;
    record.body = kBody;
    record.attributes = attrs;
    record.instrumentation_scope = &scope;
    record.trace_id = dl::TraceId::from_hex(kTraceHex);
    record.span_id = dl::SpanId::from_hex(kSpanHex);
    record.trace_flags = 1;
  }
};

// One thread encoding and writing finished records through FileSink (the writer's work), in
// buffered mode: behind AsyncSink the durable default writes once per batch (up to 256 records),
// which costs about the same per record.
void WriterThroughput_dagstack(benchmark::State& state) {
  ReferenceRecord ref;
  g_path = scratch_file("writer-dagstack");
  dl::FileSinkOptions o;
  o.path = g_path;
  o.durability = dl::FileDurability::kBuffered;
  dl::FileSink sink(o);
  std::int64_t n = 0;
  for (auto _ : state) {
    sink.emit(ref.record);
    maybe_truncate(state, n);
  }
  sink.close();
  state.SetItemsProcessed(state.iterations());
}

// The same with the durable default and no batch around it: one write(2) per record.
void WriterThroughputDurable_dagstack(benchmark::State& state) {
  ReferenceRecord ref;
  g_path = scratch_file("writer-durable-dagstack");
  dl::FileSink sink({.path = g_path});
  std::int64_t n = 0;
  for (auto _ : state) {
    sink.emit(ref.record);
    maybe_truncate(state, n);
  }
  sink.close();
  state.SetItemsProcessed(state.iterations());
}

// spdlog's writer work for the same line: pattern formatting of an already formatted payload
// (what its async worker does) plus the buffered file write.
void WriterThroughput_spdlog(benchmark::State& state) {
  g_path = scratch_file("writer-spdlog");
  spdlog::sinks::basic_file_sink_st sink(g_path);
  const std::string payload =
      fmt::format(kSpdlogFormat, 42, "/api/orders", 12.5, kTraceHex, kSpanHex, 1);
  const spdlog::details::log_msg msg(kLoggerName, spdlog::level::info, payload);  // time taken once
  std::int64_t n = 0;
  for (auto _ : state) {
    sink.log(msg);
    maybe_truncate(state, n);
  }
  sink.flush();
  state.SetItemsProcessed(state.iterations());
}

constexpr int kWarmup = 2000;

// Heap allocations per enabled call (reference record) into FileSink, in steady state.
void Allocs_FileSync_dagstack(benchmark::State& state) {
  setup_dagstack_file("allocs-dagstack");
  dl::ScopedContext ctx(reference_context());
  for (int i = 0; i < kWarmup; ++i) DAGSTACK_BENCH_INFO(*g_log);
  const std::size_t before = thread_allocations();
  for (auto _ : state) DAGSTACK_BENCH_INFO(*g_log);
  const std::size_t allocs = thread_allocations() - before;
  state.counters["allocs_per_call"] =
      static_cast<double>(allocs) / static_cast<double>(state.iterations());
  teardown_dagstack_file();
}

// The same with 8 scalar attributes (the DESIGN.md §6 row: <= 8 scalar attributes).
void Allocs8_FileSync_dagstack(benchmark::State& state) {
  setup_dagstack_file("allocs8-dagstack");
  dl::ScopedContext ctx(reference_context());
  auto call = [] {
    g_log->info(kBody, {{"user.id", 42},
                        {"http.route", "/api/orders"},
                        {"duration_ms", 12.5},
                        {"http.method", "POST"},
                        {"http.status_code", 201},
                        {"cache.hit", false},
                        {"order.id", "ord-7f3a9c"},
                        {"retry", nullptr}});
  };
  for (int i = 0; i < kWarmup; ++i) call();
  const std::size_t before = thread_allocations();
  for (auto _ : state) call();
  const std::size_t allocs = thread_allocations() - before;
  state.counters["allocs_per_call"] =
      static_cast<double>(allocs) / static_cast<double>(state.iterations());
  teardown_dagstack_file();
}

void Allocs_FileSync_spdlog(benchmark::State& state) {
  setup_spdlog_file("allocs-spdlog", 1);
  for (int i = 0; i < kWarmup; ++i) SPDLOG_BENCH_INFO(g_spdlog);
  const std::size_t before = thread_allocations();
  for (auto _ : state) SPDLOG_BENCH_INFO(g_spdlog);
  const std::size_t allocs = thread_allocations() - before;
  state.counters["allocs_per_call"] =
      static_cast<double>(allocs) / static_cast<double>(state.iterations());
  g_spdlog.reset();
}

}  // namespace

BENCHMARK(FileSync_dagstack)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(FileSyncBuffered_dagstack)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(FileSync_spdlog)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(WriterThroughput_dagstack);
BENCHMARK(WriterThroughputDurable_dagstack);
BENCHMARK(WriterThroughput_spdlog);
BENCHMARK(Allocs_FileSync_dagstack)->Iterations(100000);
BENCHMARK(Allocs8_FileSync_dagstack)->Iterations(100000);
BENCHMARK(Allocs_FileSync_spdlog)->Iterations(100000);

// async_bench.cpp: the reference record into an asynchronous file logger, caller side, quill
// style (bursts of 20 calls, then a pause so the writer can drain; per-call time of each burst;
// percentiles over bursts), dagstack AsyncSink(FileSink) vs spdlog's async logger
// (thread pool of 8192 slots, one worker, block policy, basic_file_sink_mt). Also the end-to-end
// throughput of AsyncSink(FileSink) and caller-side allocations. The deferred caller path
// (deferred.h) into the same FileSink gets the same rows, next to the floor: a clock read and a
// copy of the same argument bytes into a per-thread SPSC ring that another thread empties.
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "dagstack/logger/clock.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/deferred.h"
#include "dagstack/logger/sinks/async_sink.h"
#include "dagstack/logger/sinks/file_sink.h"
#include "deferred/byte_ring.h"

namespace dl = dagstack::logger;
using namespace dagstack_bench;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kBurst = 20;
constexpr std::int64_t kPauseNs = 50'000;
constexpr std::int64_t kTruncateEveryBursts = 4096;
constexpr std::size_t kQueue = 8192;

// Bursts per run: fixed, because with manual time Google Benchmark would otherwise aim at
// --benchmark_min_time of *measured* time, i.e. millions of bursts and their pauses.
// DAGSTACK_BENCH_BURSTS overrides it (scripts/run_bench.sh --quick uses a few hundred).
std::int64_t bursts_per_run() {
  if (const char* env = std::getenv("DAGSTACK_BENCH_BURSTS")) {
    const long long n = std::atoll(env);
    if (n > 0) return n;
  }
  return 20000;
}

std::optional<dl::Logger> g_log;
std::shared_ptr<dl::AsyncSink> g_async;
std::shared_ptr<spdlog::logger> g_spdlog;
std::string g_path;

// With one producer the pause is a busy wait (quill's method: the producer keeps its core and
// caches); with more producers than free cores a busy wait would starve the writer thread on a
// 2-core box, so they sleep instead. Both libraries get the same pause.
void pause_between_bursts(const benchmark::State& state) {
  if (state.threads() == 1) {
    busy_wait_ns(kPauseNs);
  } else {
    std::this_thread::sleep_for(std::chrono::nanoseconds(kPauseNs));
  }
}

template <typename Call>
void run_bursts(benchmark::State& state, Call&& call) {
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations));
  std::int64_t bursts = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (int i = 0; i < kBurst; ++i) call();
    const auto t1 = Clock::now();
    const double per_call = std::chrono::duration<double>(t1 - t0).count() / kBurst;
    state.SetIterationTime(per_call);
    samples.push_back(per_call * 1e9);
    pause_between_bursts(state);
    if (++bursts % kTruncateEveryBursts == 0 && state.thread_index() == 0) truncate_file(g_path);
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  report_percentiles(state, samples);
}

void setup_dagstack_async(bool write_behind = false) {
  g_path = scratch_file("async-dagstack");
  dl::FileSinkOptions fo;
  fo.path = g_path;
  fo.write_behind = write_behind;
  dl::AsyncSinkOptions ao;
  ao.queue_capacity = kQueue;
  ao.overflow = dl::OverflowPolicy::kBlock;
  g_async = dl::make_async_sink(dl::make_file_sink(fo), ao);
  g_log = configure_dagstack({g_async});
  // Warm every queue slot and spare once, so steady state is measured.
  dl::ScopedContext ctx(reference_context());
  for (std::size_t i = 0; i < 3 * kQueue; ++i) DAGSTACK_BENCH_INFO(*g_log);
  (void)g_async->flush(std::chrono::seconds(10));
}

void teardown_dagstack_async(benchmark::State& state) {
  (void)g_async->flush(std::chrono::seconds(10));
  const dl::AsyncSinkStats st = g_async->stats();
  state.counters["dropped"] = static_cast<double>(st.dropped_newest + st.dropped_oldest);
  g_log = configure_dagstack({});
  g_async->close();
  g_async.reset();
}

void AsyncFile_dagstack(benchmark::State& state) {
  if (state.thread_index() == 0) setup_dagstack_async();
  dl::ScopedContext ctx(reference_context());
  run_bursts(state, [] { DAGSTACK_BENCH_INFO(*g_log); });
  if (state.thread_index() == 0) teardown_dagstack_async(state);
}

void AsyncFile_spdlog(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_path = scratch_file("async-spdlog");
    spdlog::init_thread_pool(kQueue, 1);
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(g_path);
    g_spdlog = std::make_shared<spdlog::async_logger>(std::string(kLoggerName), sink,
                                                      spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
    g_spdlog->set_level(spdlog::level::info);
    for (std::size_t i = 0; i < 3 * kQueue; ++i) SPDLOG_BENCH_INFO(g_spdlog);
    while (spdlog::thread_pool()->queue_size() != 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  run_bursts(state, [] { SPDLOG_BENCH_INFO(g_spdlog); });
  if (state.thread_index() == 0) {
    g_spdlog.reset();
    spdlog::shutdown();  // drains the queue and joins the worker
  }
}

// The noise floor of the burst method on this machine: the same bursts and pauses around a
// fixed ~100 ns of arithmetic instead of a log call. Its p99/p99.9 are what the scheduler,
// interrupts and the hypervisor add to any 2 us burst, logging or not.
void AsyncFileNoise_baseline(benchmark::State& state) {
  std::uint64_t x = 88172645463325252ull;
  run_bursts(state, [&x] {
    for (int i = 0; i < 60; ++i) {  // xorshift: ~100 ns of dependent work
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    benchmark::DoNotOptimize(x);
  });
}

// End to end: one producer emits batches of 4096 records and waits for them to be written
// (flush); the writer thread is the bottleneck, so this is its throughput.
// `write_behind`: FileSinkOptions::write_behind, the file written by the sink's own thread.
void async_writer_throughput(benchmark::State& state, bool write_behind) {
  setup_dagstack_async(write_behind);
  dl::ScopedContext ctx(reference_context());
  std::int64_t n = 0;
  for (auto _ : state) {
    for (int i = 0; i < 4096; ++i) DAGSTACK_BENCH_INFO(*g_log);
    (void)g_async->flush(std::chrono::seconds(10));
    if (++n % 16 == 0) {
      state.PauseTiming();
      truncate_file(g_path);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations() * 4096);
  teardown_dagstack_async(state);
}
void AsyncWriterThroughput_dagstack(benchmark::State& state) {
  async_writer_throughput(state, false);
}
void AsyncWriterThroughputWriteBehind_dagstack(benchmark::State& state) {
  async_writer_throughput(state, true);
}

// Heap allocations on the caller per enabled call into AsyncSink(FileSink), steady state.
void Allocs_AsyncFile_dagstack(benchmark::State& state) {
  setup_dagstack_async();
  dl::ScopedContext ctx(reference_context());
  const std::size_t before = thread_allocations();
  for (auto _ : state) DAGSTACK_BENCH_INFO(*g_log);
  const std::size_t allocs = thread_allocations() - before;
  state.counters["allocs_per_call"] =
      static_cast<double>(allocs) / static_cast<double>(state.iterations());
  teardown_dagstack_async(state);
}

// Heap allocations on the caller with 64 loggers of distinct scopes (names and versions) into one
// AsyncSink(FileSink), round-robin: the sink shares each record's scope and resource by
// reference (no table, no copy), so a steady state with many loggers allocates nothing either.
void AllocsAsync64Loggers(benchmark::State& state) {
  setup_dagstack_async();
  dl::ScopedContext ctx(reference_context());
  std::vector<dl::Logger> loggers;
  for (int i = 0; i < 64; ++i) {
    loggers.push_back(
        dl::Logger::get("bench.many.l" + std::to_string(i), "1." + std::to_string(i)));
  }
  for (int round = 0; round < 3 * static_cast<int>(kQueue) / 64; ++round) {
    for (auto& log : loggers) DAGSTACK_BENCH_INFO(log);
  }
  (void)g_async->flush(std::chrono::seconds(10));
  std::size_t next = 0;
  const std::size_t before = thread_allocations();
  for (auto _ : state) {
    DAGSTACK_BENCH_INFO(loggers[next]);
    next = (next + 1) & 63;
  }
  const std::size_t allocs = thread_allocations() - before;
  state.counters["allocs_per_call"] =
      static_cast<double>(allocs) / static_cast<double>(state.iterations());
  loggers.clear();
  teardown_dagstack_async(state);
}

// ---- the deferred caller path ----

// Ring bytes per thread for the caller rows (the floor gets the same): ~2,900 reference records
// of ~180 bytes, far more than the bursts between two passes of the writer.
constexpr std::size_t kDeferredRing = 512u << 10;

dl::DeferredStats g_deferred_before;  // deferred_stats() when the measured part begins

void setup_dagstack_deferred(std::size_t ring_bytes = kDeferredRing, const char* path = nullptr,
                             bool write_behind = false) {
  g_path = path != nullptr ? std::string(path) : scratch_file("deferred-dagstack");
  dl::FileSinkOptions fo;
  fo.path = g_path;
  fo.write_behind = write_behind;
  g_log = configure_dagstack({dl::make_file_sink(fo)});
  dl::DeferredOptions o;
  o.ring_bytes = ring_bytes;
  dl::start_deferred(o);
  dl::ScopedContext ctx(reference_context());
  for (std::size_t i = 0; i < 3 * kQueue; ++i) DAGSTACK_BENCH_INFO(*g_log);
  (void)dl::flush_deferred(std::chrono::seconds(10));
  g_deferred_before = dl::deferred_stats();  // the warm-up fills the ring: not counted
}

// The path's counters over the measured part of the run: deferred_stats() adds up over the
// process (warm-up and earlier repetitions), so the values at the end of set-up are subtracted.
void teardown_dagstack_deferred(benchmark::State& state) {
  (void)dl::flush_deferred(std::chrono::seconds(10));
  const dl::DeferredStats st = dl::deferred_stats();
  const dl::DeferredStats& b = g_deferred_before;
  state.counters["dropped"] = static_cast<double>(st.dropped - b.dropped);
  state.counters["blocked"] = static_cast<double>(st.blocked - b.blocked);
  state.counters["writer_wakes"] = static_cast<double>(st.writer_wakes - b.writer_wakes);
  (void)dl::stop_deferred(std::chrono::seconds(10));
  g_log = configure_dagstack({});
}

// The reference call on the deferred path: the caller copies the call into its ring; the
// writer thread merges, redacts, encodes and writes (FileSink, default durability, one write
// per pass of the writer).
void AsyncFile_deferred(benchmark::State& state) {
  if (state.thread_index() == 0) setup_dagstack_deferred();
  dl::ScopedContext ctx(reference_context());
  run_bursts(state, [] { DAGSTACK_BENCH_INFO(*g_log); });
  if (state.thread_index() == 0) teardown_dagstack_deferred(state);
}

// The floor of any deferred design: per call, a clock read (the same clock the logger uses) and
// a copy of the reference call's bytes (body, three keys and values, trace id, span id, flags)
// into the calling thread's SPSC ring; a consumer thread empties the rings.
struct FloorRings {
  std::mutex mutex;
  std::vector<dl::detail::ByteRing*> rings;
  std::atomic<bool> stop{false};
  std::thread consumer;
};
std::atomic<FloorRings*> g_floor{nullptr};
thread_local dl::detail::ByteRing* tl_floor_ring = nullptr;

void floor_consumer() {
  while (!g_floor.load()->stop.load(std::memory_order_relaxed)) {
    bool any = false;
    {
      std::lock_guard<std::mutex> lock(g_floor.load()->mutex);
      for (auto* r : g_floor.load()->rings) {
        while (const auto* h = r->peek()) {
          benchmark::DoNotOptimize(h->time);
          r->pop(h);
          any = true;
        }
      }
    }
    if (!any) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Starts the floor's consumer thread (once per row).
void start_floor() {
  auto* f = new FloorRings();
  f->consumer = std::thread(floor_consumer);
  g_floor.store(f);
}
// Gives the calling thread a floor ring (made before the timed loop).
void attach_floor_ring() {
  auto* ring = new dl::detail::ByteRing(kDeferredRing);
  while (g_floor.load() == nullptr) std::this_thread::yield();
  {
    std::lock_guard<std::mutex> lock(g_floor.load()->mutex);
    g_floor.load()->rings.push_back(ring);
  }
  tl_floor_ring = ring;
}
// Stops the consumer and frees every ring.
void stop_floor() {
  g_floor.load()->stop.store(true);
  g_floor.load()->consumer.join();
  for (auto* r : g_floor.load()->rings) delete r;
  delete g_floor.exchange(nullptr);
}

void floor_call(const dl::Context& ctx) {
  dl::detail::ByteRing* ring = tl_floor_ring;
  const std::uint64_t now = dl::system_clock().now_unix_nano();
  constexpr std::size_t kBytes = 16 + 128;
  std::byte* p;
  while ((p = ring->reserve(kBytes)) == nullptr) std::this_thread::yield();
  const dl::detail::EntryHeader h{static_cast<std::uint32_t>(kBytes), dl::detail::kEntryInline,
                                  now};
  std::memcpy(p, &h, sizeof h);
  char* out = reinterpret_cast<char*>(p + sizeof h);
  const auto put = [&out](const void* src, std::size_t n) {
    std::memcpy(out, src, n);
    out += n;
  };
  const std::int64_t user = 42;
  const double duration = 12.5;
  put(kBody.data(), kBody.size());
  put("user.id", 7);
  put(&user, sizeof user);
  put("http.route", 10);
  put("/api/orders", 11);
  put("duration_ms", 11);
  put(&duration, sizeof duration);
  const dl::TraceId t = ctx.trace_id();
  const dl::SpanId sp = ctx.span_id();
  put(t.bytes.data(), 16);
  put(&sp, sizeof sp);
  const std::uint8_t flags = 1;
  put(&flags, 1);
  ring->commit(kBytes);
}

void AsyncFileFloor(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_path = scratch_file("floor");  // truncated by run_bursts; never written
    start_floor();
  }
  // Google Benchmark starts every thread's loop together: rings are made before it.
  attach_floor_ring();
  const dl::Context ctx = reference_context();
  run_bursts(state, [&ctx] { floor_call(ctx); });
  if (state.thread_index() == 0) stop_floor();
}

// The deferred path and the floor in the same minutes: bursts alternate between the two (one
// producer), so a change of the guest's state hits both alike. Question: is the caller's tail
// (p99.9) the logger's or the machine's? Counters: each side's p50/p99/p99.9 per call.
void AsyncFileInterleaved(benchmark::State& state) {
  setup_dagstack_deferred();
  start_floor();
  attach_floor_ring();
  const dl::Context ref = reference_context();
  dl::ScopedContext ctx(ref);
  std::vector<double> floor_ns;
  std::vector<double> deferred_ns;
  floor_ns.reserve(static_cast<std::size_t>(state.max_iterations));
  deferred_ns.reserve(static_cast<std::size_t>(state.max_iterations));
  std::int64_t bursts = 0;
  for (auto _ : state) {
    for (const bool deferred : {false, true}) {
      const auto t0 = Clock::now();
      if (deferred) {
        for (int i = 0; i < kBurst; ++i) DAGSTACK_BENCH_INFO(*g_log);
      } else {
        for (int i = 0; i < kBurst; ++i) floor_call(ref);
      }
      const auto t1 = Clock::now();
      const double per_call = std::chrono::duration<double>(t1 - t0).count() / kBurst;
      (deferred ? deferred_ns : floor_ns).push_back(per_call * 1e9);
      if (deferred) state.SetIterationTime(per_call);
      pause_between_bursts(state);
    }
    if (++bursts % kTruncateEveryBursts == 0) truncate_file(g_path);
  }
  report_percentiles(state, floor_ns, "floor_");
  report_percentiles(state, deferred_ns, "deferred_");
  state.SetItemsProcessed(state.iterations() * kBurst);
  teardown_dagstack_deferred(state);
  stop_floor();
  tl_floor_ring = nullptr;
}

// End to end on the deferred path: 4096 calls, then flush_deferred(): the writer's throughput
// (merge, redaction, encoding, write to tmpfs).
// `path` nullptr: a file on tmpfs; "/dev/null": the same without the kernel's copy.
// `write_behind`: FileSinkOptions::write_behind, the file written by the sink's own thread.
void deferred_writer_throughput(benchmark::State& state, const char* path,
                                bool write_behind = false) {
  setup_dagstack_deferred(2u << 20, path,
                          write_behind);  // a batch of 4096 fits, as in AsyncSink's 8192 slots
  dl::ScopedContext ctx(reference_context());
  std::int64_t n = 0;
  for (auto _ : state) {
    for (int i = 0; i < 4096; ++i) DAGSTACK_BENCH_INFO(*g_log);
    (void)dl::flush_deferred(std::chrono::seconds(10));
    if (++n % 16 == 0 && path == nullptr) {
      state.PauseTiming();
      truncate_file(g_path);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations() * 4096);
  teardown_dagstack_deferred(state);
}
void DeferredWriterThroughput_dagstack(benchmark::State& state) {
  deferred_writer_throughput(state, nullptr);
}
// The writer's own share: everything above but the bytes reaching a file.
void DeferredWriterThroughputDevNull_dagstack(benchmark::State& state) {
  deferred_writer_throughput(state, "/dev/null");
}
// The same into tmpfs with the write(2) of each chunk on the FileSink's write-behind thread.
void DeferredWriterThroughputWriteBehind_dagstack(benchmark::State& state) {
  deferred_writer_throughput(state, nullptr, true);
}

// The ceiling of any writer on this machine: write(2) of the reference record's JSON line,
// already built, 4096 lines per iteration in chunks of 512 (one deferred pass), to a file on
// tmpfs truncated as in the row above. The kernel's share of DeferredWriterThroughput.
void WriteFloor_raw(benchmark::State& state) {
  const std::string path = scratch_file("write-floor");
  dl::FileSinkOptions fo;
  fo.path = path;
  std::string line;
  {
    // The line the FileSink writes for the reference record (same bytes, same length).
    auto sink = dl::make_file_sink(fo);
    auto log = configure_dagstack({sink});
    dl::ScopedContext ctx(reference_context());
    DAGSTACK_BENCH_INFO(log);
    (void)sink->flush(std::chrono::seconds(10));
    (void)configure_dagstack({});
    std::FILE* f = std::fopen(path.c_str(), "r");
    char buf[4096];
    if (f != nullptr && std::fgets(buf, sizeof buf, f) != nullptr) line = buf;
    if (f != nullptr) std::fclose(f);
  }
  if (line.empty()) {
    state.SkipWithError("could not read the reference line");
    return;
  }
  std::string chunk;
  for (int i = 0; i < 512; ++i) chunk += line;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  std::int64_t n = 0;
  for (auto _ : state) {
    for (int k = 0; k < 8; ++k) {
      if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
        state.SkipWithError("write failed");
        break;
      }
    }
    if (++n % 16 == 0) {
      state.PauseTiming();
      (void)::ftruncate(fd, 0);
      state.ResumeTiming();
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations() * 4096);
  state.counters["line_bytes"] = static_cast<double>(line.size());
}

// Heap allocations on the caller per call on the deferred path, steady state: the reference
// call (3 attributes), 8 scalar attributes, an fmt body, and string attributes of 256 bytes.
template <typename Call>
void deferred_allocs(benchmark::State& state, Call&& call) {
  setup_dagstack_deferred();
  dl::ScopedContext ctx(reference_context());
  for (int i = 0; i < 2000; ++i) call();
  (void)dl::flush_deferred(std::chrono::seconds(10));
  const std::size_t before = thread_allocations();
  for (auto _ : state) call();
  const std::size_t allocs = thread_allocations() - before;
  state.counters["allocs_per_call"] =
      static_cast<double>(allocs) / static_cast<double>(state.iterations());
  teardown_dagstack_deferred(state);
}
void Allocs_Deferred_dagstack(benchmark::State& state) {
  deferred_allocs(state, [] { DAGSTACK_BENCH_INFO(*g_log); });
}
void Allocs_Deferred8_dagstack(benchmark::State& state) {
  deferred_allocs(state, [] {
    g_log->info(kBody, {{"a1", 1},
                        {"a2", 2},
                        {"a3", 3.5},
                        {"a4", true},
                        {"a5", "five"},
                        {"a6", 6},
                        {"a7", "seven"},
                        {"a8", 8}});
  });
}
void Allocs_DeferredFmt_dagstack(benchmark::State& state) {
  deferred_allocs(state, [] {
    g_log->info("order {} paid {} {}", 42, 12.5, std::string_view("EUR"),
                {{"user.id", 42}, {"http.route", "/api/orders"}});
  });
}
void Allocs_DeferredString256_dagstack(benchmark::State& state) {
  static const std::string k256(256, 's');
  deferred_allocs(state, [] {
    g_log->info(kBody, {{"s1", std::string_view(k256)},
                        {"s2", std::string_view(k256)},
                        {"s3", std::string_view(k256)}});
  });
}

}  // namespace

BENCHMARK(AsyncFile_dagstack)
    ->UseManualTime()
    ->Iterations(bursts_per_run())
    ->Threads(1)
    ->Threads(2);
BENCHMARK(AsyncFile_spdlog)->UseManualTime()->Iterations(bursts_per_run())->Threads(1)->Threads(2);
BENCHMARK(AsyncFileNoise_baseline)->UseManualTime()->Iterations(bursts_per_run())->Threads(1);
BENCHMARK(AsyncWriterThroughput_dagstack)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(AsyncWriterThroughputWriteBehind_dagstack)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(Allocs_AsyncFile_dagstack)->Iterations(100000);
BENCHMARK(AllocsAsync64Loggers)->Iterations(100000);
BENCHMARK(AsyncFile_deferred)
    ->UseManualTime()
    ->Iterations(bursts_per_run())
    ->Threads(1)
    ->Threads(2);
BENCHMARK(AsyncFileFloor)->UseManualTime()->Iterations(bursts_per_run())->Threads(1)->Threads(2);
BENCHMARK(AsyncFileInterleaved)->UseManualTime()->Iterations(bursts_per_run());
BENCHMARK(DeferredWriterThroughput_dagstack)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(DeferredWriterThroughputDevNull_dagstack)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(DeferredWriterThroughputWriteBehind_dagstack)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(WriteFloor_raw)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(Allocs_Deferred_dagstack)->Iterations(100000);
BENCHMARK(Allocs_Deferred8_dagstack)->Iterations(100000);
BENCHMARK(Allocs_DeferredFmt_dagstack)->Iterations(100000);
BENCHMARK(Allocs_DeferredString256_dagstack)->Iterations(100000);

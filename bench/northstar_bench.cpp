// northstar_bench.cpp: the NorthStar sink. Caller side: NorthStarSink::emit (and the whole
// logger call) for the reference record inside a traced run, with a transport that answers
// {"accepted":true} at once (bursts of 20 calls, then a pause so the worker can drain; per-call
// time; percentiles over bursts); and a disabled sink. End to end: events per second from emit
// to rows stored by an in-process northstar-local over 127.0.0.1 (when bench links
// northstar_local_core).
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "bench_common.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/deferred.h"
#include "dagstack/logger/northstar/northstar.h"
#include "dagstack/logger/span.h"

#if __has_include("northstar_local/server.h")
#include "northstar_local/server.h"
#define DAGSTACK_BENCH_HAVE_NORTHSTAR_LOCAL 1
#endif

namespace dl = dagstack::logger;
namespace ns = dagstack::logger::northstar;
using namespace dagstack_bench;

namespace {

// Answers every batch with 200 {"accepted":true}, keeping nothing.
class BlackholeTransport final : public ns::HttpTransport {
 public:
  ns::HttpResponse post(const ns::HttpRequest& request) noexcept override {
    benchmark::DoNotOptimize(request.body.size());
    return {200, R"({"accepted":true})", std::nullopt, ""};
  }
};

std::shared_ptr<ns::NorthStarSink> blackhole_sink(bool enabled) {
  ns::NorthStarOptions o;
  o.api_key = "ns_bench";
  o.endpoint = "http://127.0.0.1:9/functions/v1/ingest-traces";
  o.enabled = enabled;
  o.transport = std::make_shared<BlackholeTransport>();
  o.max_queue_size = 1 << 16;
  o.max_batch_records = 1000;
  return ns::make_northstar_sink(o);
}

void add_stats(benchmark::State& state, const ns::NorthStarSink& sink) {
  const ns::NorthStarStats s = sink.stats();
  state.counters["dropped"] = static_cast<double>(s.records_dropped);
  state.counters["batches"] = static_cast<double>(s.batches_delivered);
}

// NorthStarSink::emit alone: the reference record (body + 3 attributes + trace context of an
// open run), as the logger hands it to the sink.
void NorthStarEmit_direct(benchmark::State& state) {
  auto sink = blackhole_sink(true);
  dl::Logger log = configure_dagstack({sink});
  std::optional<dl::Span> run;
  run.emplace("bench-run");  // a real run, so the worker stitches real events
  const dl::InstrumentationScope scope{std::string(kLoggerName), "", {}};
  const dl::Attribute attrs[] = {
      {"user.id", 42}, {"http.route", "/api/orders"}, {"duration_ms", 12.5}};
  dl::LogRecord record;
  record.time_unix_nano = 1729800000123456789ull;
  record.severity_number = dl::kSeverityInfo;
  record.body = kBody;
  record.attributes = attrs;
  record.instrumentation_scope = &scope;
  record.trace_id = run->trace_id();
  record.span_id = run->span_id();
  record.trace_flags = 1;
  run_caller_bursts(state, [&] { sink->emit(record); });
  run.reset();
  (void)sink->flush(std::chrono::seconds(30));
  add_stats(state, *sink);
  configure_dagstack({});
  sink->close();
}
BENCHMARK(NorthStarEmit_direct)->UseManualTime()->Iterations(20000);

// The whole reference call (level gate, attributes, context, redaction) into a NorthStar sink.
void NorthStarLoggerCall(benchmark::State& state) {
  auto sink = blackhole_sink(true);
  dl::Logger log = configure_dagstack({sink});
  std::optional<dl::Span> run;
  run.emplace("bench-run");
  run_caller_bursts(state, [&] { DAGSTACK_BENCH_INFO(log); });
  run.reset();
  (void)sink->flush(std::chrono::seconds(30));
  add_stats(state, *sink);
  configure_dagstack({});
  sink->close();
}
BENCHMARK(NorthStarLoggerCall)->UseManualTime()->Iterations(20000);

// Issue 15: the caller's cost of a span open/close with one event inside a run (three records:
// span start, the event, span end), synchronous and on the deferred path (where the records
// are copied into the thread's ring and stitched by the sink on the writer thread).
void northstar_span_rows(benchmark::State& state, bool deferred) {
  auto sink = blackhole_sink(true);
  dl::Logger log = configure_dagstack({sink});
  if (deferred) {
    dl::DeferredOptions o;
    o.ring_bytes = 4u << 20;
    dl::start_deferred(o);
  }
  {
    auto run = ns::trace("bench-run");
    run_caller_bursts(state, [] {
      auto s = ns::span("step", ns::SpanKind::kTool);
      ns::log_event("tick", dl::Value(1));
    });
  }
  if (deferred) (void)dl::stop_deferred(std::chrono::seconds(30));
  (void)sink->flush(std::chrono::seconds(30));
  add_stats(state, *sink);
  configure_dagstack({});
  sink->close();
}
void NorthStarSpan_sync(benchmark::State& state) { northstar_span_rows(state, false); }
void NorthStarSpan_deferred(benchmark::State& state) { northstar_span_rows(state, true); }
BENCHMARK(NorthStarSpan_sync)->UseManualTime()->Iterations(1000);
BENCHMARK(NorthStarSpan_deferred)->UseManualTime()->Iterations(1000);

// A disabled sink (no key / NORTHSTAR_ENABLED=false): emit is one branch.
void NorthStarEmit_disabled(benchmark::State& state) {
  auto sink = blackhole_sink(false);
  const dl::Attribute attrs[] = {
      {"user.id", 42}, {"http.route", "/api/orders"}, {"duration_ms", 12.5}};
  dl::LogRecord record;
  record.body = kBody;
  record.attributes = attrs;
  record.trace_id = dl::TraceId::from_hex(kTraceHex);
  record.span_id = dl::SpanId::from_hex(kSpanHex);
  for (auto _ : state) {
    sink->emit(record);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(NorthStarEmit_disabled);

// The worker alone: per iteration one run with 4096 log records, then flush() through a transport
// that accepts at once. Items = events stitched, serialised and "sent" per second.
void NorthStarWorkerThroughput_blackhole(benchmark::State& state) {
  auto sink = blackhole_sink(true);
  dl::Logger log = configure_dagstack({sink});
  constexpr int kEvents = 4096;
  for (auto _ : state) {
    {
      dl::Span run("throughput-run");
      for (int i = 0; i < kEvents; ++i) DAGSTACK_BENCH_INFO(log);
    }
    (void)sink->flush(std::chrono::seconds(60));
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
  add_stats(state, *sink);
  configure_dagstack({});
  sink->close();
}
BENCHMARK(NorthStarWorkerThroughput_blackhole)->UseRealTime()->Unit(benchmark::kMillisecond);

#ifdef DAGSTACK_BENCH_HAVE_NORTHSTAR_LOCAL
// End to end: per iteration one run with 2000 log records, then flush() until northstar-local
// (in-process, SQLite in memory, 127.0.0.1) has accepted every batch. Items = events stored.
void NorthStarEndToEnd_northstar_local(benchmark::State& state) {
  northstar_local::ServerOptions so;
  so.api_keys.push_back({"ns_bench_key_0123456789abcdefghijklm", ""});
  northstar_local::Server server(std::move(so));
  server.start();
  ns::NorthStarOptions o;
  o.api_key = "ns_bench_key_0123456789abcdefghijklm";
  o.endpoint = server.ingest_url();
  o.batch_size = 500;
  o.max_batch_records = 1000;
  o.max_queue_size = 1 << 16;
  auto sink = ns::make_northstar_sink(o);
  dl::Logger log = configure_dagstack({sink});
  constexpr int kEvents = 2000;
  bool ok = true;
  for (auto _ : state) {
    {
      dl::Span run("e2e-run");
      for (int i = 0; i < kEvents; ++i) DAGSTACK_BENCH_INFO(log);
    }
    ok = sink->flush(std::chrono::seconds(60)).success && ok;
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
  state.counters["all_accepted"] = ok ? 1 : 0;
  state.counters["requests"] = static_cast<double>(server.request_count());
  add_stats(state, *sink);
  configure_dagstack({});
  sink->close();
  server.stop();
}
BENCHMARK(NorthStarEndToEnd_northstar_local)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
#endif

}  // namespace

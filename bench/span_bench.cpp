// span_bench.cpp: the cost of tracing: opening and ending a Span (two records into a sink that
// discards them), W3C header parsing for an HTTP hop, id generation, and logging an exception
// with its symbolised stack trace (steady state, after the first one loaded the debug info).
#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sink.h"
#include "dagstack/logger/span.h"
#include "dagstack/logger/w3c.h"

namespace dagstack::logger {
namespace {

class DiscardSink final : public Sink {
 public:
  std::string_view id() const noexcept override { return "discard"; }
  void emit(const LogRecord& record) override { benchmark::DoNotOptimize(record.span_id); }
  FlushResult flush(std::chrono::milliseconds) override { return FlushResult::ok(); }
  void close() override {}
};

void discard_everything() {
  Logger::reset();
  ConfigureOptions o;
  o.sinks = SinkList{std::make_shared<DiscardSink>()};
  configure(o);
}

void BM_SpanOpenEnd(benchmark::State& state) {
  discard_everything();
  for (auto _ : state) {
    Span span("db_query");
    benchmark::DoNotOptimize(span.span_id());
  }
  Logger::reset();
}
BENCHMARK(BM_SpanOpenEnd);

// The same from 1 and 2 threads at once (each its own spans): span start and end take no
// registry-wide lock, so the per-thread time with 2 threads should stay near the 1-thread time
// on a machine with 2 free cores.
void BM_SpanOpenEndThreads(benchmark::State& state) {
  if (state.thread_index() == 0) discard_everything();
  for (auto _ : state) {
    Span span("db_query");
    benchmark::DoNotOptimize(span.span_id());
  }
}
BENCHMARK(BM_SpanOpenEndThreads)->Threads(1)->Threads(2)->UseRealTime();

void BM_SpanOpenEndWithAttributes(benchmark::State& state) {
  discard_everything();
  SpanOptions options;
  options.kind = "llm";
  options.attributes = {{"gen_ai.system", "openai"}, {"gen_ai.request.model", "gpt-4o"}};
  for (auto _ : state) {
    Span span("call_llm", options);
    span.set_attribute("gen_ai.usage.input_tokens", 812);
    span.set_attribute("gen_ai.usage.output_tokens", 97);
  }
  Logger::reset();
}
BENCHMARK(BM_SpanOpenEndWithAttributes);

void BM_ChildSpanAndOneRecord(benchmark::State& state) {
  discard_everything();
  Logger log = Logger::get("bench.span");
  Span parent("request");
  for (auto _ : state) {
    Span child("step");
    log.info("inside", {{"step.index", 3}});
  }
  parent.end();
  Logger::reset();
}
BENCHMARK(BM_ChildSpanAndOneRecord);

void BM_NewSpanId(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(new_span_id());
}
BENCHMARK(BM_NewSpanId);

void BM_ParseTraceparent(benchmark::State& state) {
  const std::string header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  for (auto _ : state) benchmark::DoNotOptimize(w3c::parse_traceparent(header));
}
BENCHMARK(BM_ParseTraceparent);

void BM_FromAndInjectW3CHeaders(benchmark::State& state) {
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const std::string ts = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  const std::string bg = "tenant.id=acme,request.id=r-42,user.id=u%2017";
  for (auto _ : state) {
    const Context ctx = from_w3c_headers(tp, ts, bg);
    benchmark::DoNotOptimize(inject_w3c_headers(ctx));
  }
}
BENCHMARK(BM_FromAndInjectW3CHeaders);

__attribute__((noinline)) void fail_and_log(Logger& log) {
  try {
    throw std::runtime_error("connection reset");
  } catch (const std::exception& e) {
    log.exception(e);
  }
}

void BM_LogException(benchmark::State& state) {
  discard_everything();
  Logger log = Logger::get("bench.exception");
  fail_and_log(log);  // the first one loads the debug info
  for (auto _ : state) fail_and_log(log);
  Logger::reset();
}
BENCHMARK(BM_LogException);

}  // namespace
}  // namespace dagstack::logger

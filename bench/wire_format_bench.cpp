// wire_format_bench.cpp: the dagstack JSON-lines encoder (append_jsonl_record) and reader, the
// hot path of the file and console sinks. The output buffer is reused, as a sink does.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/log_record.h"

namespace dagstack::logger {
namespace {

// What a service's logger attaches to every record.
const Resource kResource{{{"service.name", "order-service"}, {"service.version", "1.4.2"}}};
const InstrumentationScope kScope{"order_service.checkout", "", {}};

LogRecord traced_record() {
  LogRecord r;
  r.time_unix_nano = 1729800000123456789ull;
  r.severity_number = kSeverityInfo;
  r.body = "request handled";
  r.resource = &kResource;
  r.instrumentation_scope = &kScope;
  r.trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  r.span_id = SpanId::from_hex("00f067aa0ba902b7");
  r.trace_flags = 1;
  return r;
}

void run_encode(benchmark::State& state, const LogRecord& r) {
  std::string out;
  out.reserve(1024);
  for (auto _ : state) {
    out.clear();
    append_jsonl_record(r, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}

// Body + 3 attributes + trace context (the DESIGN.md §6 reference record).
void BM_EncodeRecord(benchmark::State& state) {
  const Attribute attrs[] = {{"user.id", 42}, {"http.route", "/api/orders"}, {"duration_ms", 12.5}};
  LogRecord r = traced_record();
  r.attributes = attrs;
  run_encode(state, r);
}
BENCHMARK(BM_EncodeRecord);

void BM_EncodeRecord8Attrs(benchmark::State& state) {
  const Attribute attrs[] = {{"user.id", 42},          {"http.route", "/api/orders"},
                             {"duration_ms", 12.5},    {"http.method", "POST"},
                             {"http.status_code", 201}, {"cache.hit", false},
                             {"order.id", "ord-7f3a9c"}, {"retry", 0}};
  LogRecord r = traced_record();
  r.attributes = attrs;
  run_encode(state, r);
}
BENCHMARK(BM_EncodeRecord8Attrs);

// A message with escapes and non-ASCII text, to price the slow string path.
void BM_EncodeRecordEscapedUtf8(benchmark::State& state) {
  const Attribute attrs[] = {{"user.name", "Ёжик \"в тумане\""}, {"path", "C:\\temp\\x.log"},
                             {"note", "line1\nline2\ttab"}};
  LogRecord r = traced_record();
  r.body = "платёж отклонён: недостаточно средств 💳";
  r.attributes = attrs;
  run_encode(state, r);
}
BENCHMARK(BM_EncodeRecordEscapedUtf8);

void BM_EncodeCanonicalValue(benchmark::State& state) {
  const Value v = Value::map({{"items", Value::array({1, 2.5, "three", true, nullptr})},
                              {"customer", Value::map({{"id", 7}, {"tier", "gold"}})},
                              {"total", 99.95}});
  std::string out;
  out.reserve(1024);
  for (auto _ : state) {
    out.clear();
    append_canonical_json(v, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeCanonicalValue);

void BM_ParseJsonlRecord(benchmark::State& state) {
  const Attribute attrs[] = {{"user.id", 42}, {"http.route", "/api/orders"}, {"duration_ms", 12.5}};
  LogRecord r = traced_record();
  r.attributes = attrs;
  const std::string line = to_jsonl(r);
  for (auto _ : state) {
    OwnedLogRecord parsed = parse_jsonl_record(line);
    benchmark::DoNotOptimize(parsed.time_unix_nano);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(line.size()));
}
BENCHMARK(BM_ParseJsonlRecord);

}  // namespace
}  // namespace dagstack::logger

// otlp_bench.cpp: the OTLP sink. Encoding throughput: the reference record as an OTLP protobuf
// (and OTLP/JSON) LogRecord plus its share of the request envelope, records per second on one
// thread. Caller side: OtlpSink::emit (and the whole logger call) for the reference record with
// a transport that answers 200 at once (bursts of 20 calls, then a pause so the worker can
// drain; per-call time; percentiles over bursts). Budget: the NorthStar sink's, 300 ns p50.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <vector>

#include "bench_common.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/otlp/otlp_sink.h"
#include "otlp_encoder.h"

namespace dl = dagstack::logger;
namespace otlp = dagstack::logger::otlp;
using namespace dagstack_bench;

namespace {

// Answers every request 200 with an empty body, keeping nothing.
class OkTransport final : public dl::http::HttpTransport {
 public:
  dl::http::HttpResponse post(const dl::http::HttpRequest& request) noexcept override {
    benchmark::DoNotOptimize(request.body.size());
    return {200, "", std::nullopt, "", false};
  }
};

std::shared_ptr<otlp::OtlpSink> ok_sink() {
  otlp::OtlpOptions o;
  o.endpoint = "http://127.0.0.1:9";
  o.transport = std::make_shared<OkTransport>();
  o.max_queue_bytes = 64u << 20;
  return otlp::make_otlp_sink(o);
}

struct Reference {
  dl::Resource resource{dl::Value::Map{{"service.name", dl::Value("bench")}}};
  dl::InstrumentationScope scope{std::string(kLoggerName), "", {}};
  dl::Attribute attrs[3] = {{"user.id", 42}, {"http.route", "/api/orders"}, {"duration_ms", 12.5}};
  dl::LogRecord record;
  Reference() {
    record.time_unix_nano = 1729800000123456789ull;
    record.severity_number = dl::kSeverityInfo;
    record.body = kBody;
    record.attributes = attrs;
    record.resource = &resource;
    record.instrumentation_scope = &scope;
    record.trace_id = dl::TraceId::from_hex(kTraceHex);
    record.span_id = dl::SpanId::from_hex(kSpanHex);
    record.trace_flags = 1;
  }
};

// Encoding alone: 512 reference records -> LogRecord messages -> one ExportLogsServiceRequest.
void encode_batch(benchmark::State& state, otlp::detail::Encoding encoding) {
  Reference ref;
  constexpr int kBatch = 512;
  std::vector<otlp::detail::EncodedItem> items(kBatch);
  std::vector<const otlp::detail::EncodedItem*> ptrs;
  for (auto& i : items) ptrs.push_back(&i);
  const dl::Resource resources[] = {ref.resource};
  const dl::InstrumentationScope scopes[] = {ref.scope};
  std::size_t bytes = 0;
  for (auto _ : state) {
    for (auto& i : items) {
      i.bytes.clear();
      otlp::detail::encode_log_record(ref.record, encoding, i.bytes);
    }
    const std::string body =
        otlp::detail::build_request(otlp::detail::Signal::kLogs, encoding, resources, scopes, ptrs);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["bytes_per_record"] = static_cast<double>(bytes) / kBatch;
}

void OtlpEncode_protobuf(benchmark::State& state) {
  encode_batch(state, otlp::detail::Encoding::kProtobuf);
}
BENCHMARK(OtlpEncode_protobuf);

void OtlpEncode_json(benchmark::State& state) {
  encode_batch(state, otlp::detail::Encoding::kJson);
}
BENCHMARK(OtlpEncode_json);

void add_stats(benchmark::State& state, const otlp::OtlpSink& sink) {
  const otlp::OtlpStats s = sink.stats();
  state.counters["dropped"] = static_cast<double>(s.records_dropped);
  state.counters["delivered"] = static_cast<double>(s.logs.delivered);
}

// OtlpSink::emit alone: the reference record as the logger hands it to the sink.
void OtlpEmit_direct(benchmark::State& state) {
  auto sink = ok_sink();
  Reference ref;
  run_caller_bursts(state, [&] { sink->emit(ref.record); });
  (void)sink->flush(std::chrono::seconds(30));
  add_stats(state, *sink);
  sink->close();
}
BENCHMARK(OtlpEmit_direct)->UseManualTime()->Iterations(20000);

// The whole reference call (level gate, attributes, context, redaction) into an OTLP sink.
void OtlpLoggerCall(benchmark::State& state) {
  auto sink = ok_sink();
  dl::Logger log = configure_dagstack({sink});
  dl::ScopedContext ctx(reference_context());
  run_caller_bursts(state, [&] { DAGSTACK_BENCH_INFO(log); });
  (void)sink->flush(std::chrono::seconds(30));
  add_stats(state, *sink);
  configure_dagstack({});
  sink->close();
}
BENCHMARK(OtlpLoggerCall)->UseManualTime()->Iterations(20000);

}  // namespace

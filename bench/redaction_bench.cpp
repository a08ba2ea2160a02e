// redaction_bench.cpp: the cost of suffix redaction on the emit path, per attribute. Each case
// emits one record with N attributes into a sink that discards it, with the default suffix set
// and, as the baseline, with redaction disabled on the logger; the difference is what redaction
// costs. `per_attr` is wall time per attribute (lower is better).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/redaction_config.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger {
namespace {

class DiscardSink final : public Sink {
 public:
  std::string_view id() const noexcept override { return "discard"; }
  void emit(const LogRecord& record) override { benchmark::DoNotOptimize(record.attributes.data()); }
  FlushResult flush(std::chrono::milliseconds) override { return FlushResult::ok(); }
  void close() override {}
};

enum class Shape { kPlain, kSecrets, kNested };

// A logger that writes to DiscardSink, with default redaction or none.
Logger bench_logger(bool redact) {
  Logger::reset();
  ConfigureOptions o;
  o.sinks = SinkList{std::make_shared<DiscardSink>()};
  configure(o);
  Logger log = Logger::get("bench.redaction");
  if (!redact) log.set_redaction_suffixes(std::vector<std::string>{});
  return log;
}

struct Attrs {
  std::vector<std::string> keys;
  std::vector<Value> nested;
  std::vector<Attribute> views;
};

// N attributes: plain scalar keys; or every other key secret ("*_token"); or every attribute a
// small map holding one secret key (so a redacted copy is made).
Attrs make_attrs(Shape shape, int n) {
  Attrs a;
  a.keys.reserve(static_cast<std::size_t>(n));
  a.nested.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const bool secret = shape == Shape::kSecrets && i % 2 == 1;
    a.keys.push_back((secret ? "session_" + std::to_string(i) + "_token" : "request.field_" + std::to_string(i)));
    a.nested.push_back(Value::map({{"host", "db-1"}, {"port", 5432}, {"db_password", "hunter2"}}));
  }
  for (int i = 0; i < n; ++i) {
    if (shape == Shape::kNested) {
      a.views.push_back({a.keys[static_cast<std::size_t>(i)], AttrValue(a.nested[static_cast<std::size_t>(i)])});
    } else {
      a.views.push_back({a.keys[static_cast<std::size_t>(i)], AttrValue("some-value")});
    }
  }
  return a;
}

void run(benchmark::State& state, Shape shape, bool redact) {
  const int n = static_cast<int>(state.range(0));
  Logger log = bench_logger(redact);
  const Attrs attrs = make_attrs(shape, n);
  for (auto _ : state) {
    log.info("request handled", AttributeSpan(attrs.views));
  }
  state.counters["per_attr"] = benchmark::Counter(static_cast<double>(state.iterations()) * n,
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  Logger::reset();
}

void BM_Redact_NoneSecret(benchmark::State& state) { run(state, Shape::kPlain, true); }
void BM_Redact_HalfSecret(benchmark::State& state) { run(state, Shape::kSecrets, true); }
void BM_Redact_NestedSecret(benchmark::State& state) { run(state, Shape::kNested, true); }
void BM_NoRedaction_Plain(benchmark::State& state) { run(state, Shape::kPlain, false); }
void BM_NoRedaction_Nested(benchmark::State& state) { run(state, Shape::kNested, false); }

BENCHMARK(BM_Redact_NoneSecret)->Arg(1)->Arg(8)->Arg(24);
BENCHMARK(BM_Redact_HalfSecret)->Arg(1)->Arg(8)->Arg(24);
BENCHMARK(BM_Redact_NestedSecret)->Arg(1)->Arg(8);
BENCHMARK(BM_NoRedaction_Plain)->Arg(1)->Arg(8)->Arg(24);
BENCHMARK(BM_NoRedaction_Nested)->Arg(1)->Arg(8);

// The suffix test alone, per key (6 default suffixes).
void BM_IsSecretKey(benchmark::State& state) {
  const std::vector<std::string> suffixes(kDefaultSecretSuffixes.begin(), kDefaultSecretSuffixes.end());
  const std::vector<std::string> keys = {"request.id", "user.id", "http.response.status_code", "api_key",
                                         "OPENAI_API_KEY", "db.statement", "session_token", "k"};
  for (auto _ : state) {
    for (const auto& k : keys) benchmark::DoNotOptimize(is_secret_key(k, suffixes));
  }
  state.counters["per_key"] = benchmark::Counter(static_cast<double>(state.iterations() * keys.size()),
                                                 benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_IsSecretKey);

}  // namespace
}  // namespace dagstack::logger

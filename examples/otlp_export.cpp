// otlp_export: logs and spans to an OpenTelemetry Collector over OTLP/HTTP. The sink is
// configured from the standard OTEL_EXPORTER_OTLP_* variables (default endpoint
// http://localhost:4318, protobuf); records become OTLP logs, spans become OTLP traces.
//
//   export OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 OTEL_EXPORTER_OTLP_COMPRESSION=gzip
//   OTEL_SERVICE_NAME=checkout ./otlp_export
//
// Exits 0 when the collector accepted everything, 1 otherwise (with the reason).
#include <dagstack/logger/configure.h>
#include <dagstack/logger/logger.h>
#include <dagstack/logger/otlp/otlp_sink.h>
#include <dagstack/logger/sinks/console_sink.h>
#include <dagstack/logger/span.h>

#include <cstdio>
#include <stdexcept>

namespace dl = dagstack::logger;

int main() {
  std::shared_ptr<dl::otlp::OtlpSink> otlp;
  try {
    dl::otlp::OtlpOptions options = dl::otlp::OtlpOptions::from_env();  // ConfigError on bad values
    options.shutdown_timeout = std::chrono::seconds(3);
    otlp = dl::otlp::make_otlp_sink(options);
    dl::ConfigureOptions c;
    c.sinks = dl::SinkList{
        dl::make_console_sink({.mode = dl::ConsoleMode::kPretty, .stream = stdout}), otlp};
    // The resource comes from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (read by the core).
    dl::configure(c);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otlp_export: configuration failed: %s\n", e.what());
    return 2;
  }

  dl::Logger log = dl::Logger::get("checkout");
  {
    dl::Span request("POST /checkout",
                     {.kind = "server", .attributes = {{"http.request.method", "POST"}}});
    log.info("cart loaded", {{"cart.items", 3}, {"cart.total", 59.97}});
    {
      dl::Span payment("charge card", {.kind = "client"});
      payment.set_attribute("payment.provider", "acme-pay");
      try {
        throw std::runtime_error("card declined");
      } catch (const std::exception& e) {
        payment.record_exception(e);
        log.warn("payment failed", {{"retry", true}});
      }
    }
    request.set_attribute("http.response.status_code", 402);
  }

  const dl::FlushResult flushed = otlp->flush(std::chrono::seconds(10));
  const dl::otlp::OtlpStats stats = otlp->stats();
  (void)dl::shutdown(std::chrono::seconds(5));
  std::printf("OTLP: %llu log records and %llu spans delivered, %llu requests\n",
              static_cast<unsigned long long>(stats.logs.delivered),
              static_cast<unsigned long long>(stats.spans.delivered),
              static_cast<unsigned long long>(stats.requests));
  if (!flushed.success) {
    std::fprintf(stderr, "otlp_export: %s\n",
                 flushed.failed_sinks.empty() ? "not everything was delivered"
                                              : flushed.failed_sinks[0].error.c_str());
    return 1;
  }
  return 0;
}

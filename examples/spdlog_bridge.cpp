// spdlog_bridge: existing spdlog code routed into dagstack, and dagstack records handed to an
// spdlog rotating file sink.
//
//   ./spdlog_bridge                  dagstack JSON-lines on stdout
//   cat spdlog_bridge_logs/app.log   the same records as spdlog text lines
//
// Flow: spdlog loggers -> DagstackSpdlogSink -> dagstack root logger (level gate, redaction,
// trace context) -> { console JSON-lines, make_spdlog_sink(rotating_file_sink_mt) }.
#include <dagstack/logger/span.h>
#include <dagstack/logger/spdlog/dagstack_spdlog_sink.h>
#include <dagstack/logger/spdlog/spdlog_sink.h>
#include <dagstack/logger.hpp>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace dl = dagstack::logger;

namespace legacy {

// Code written against spdlog long ago; it is not changed at all.
void connect_database() {
  auto db = spdlog::get("legacy.db");
  SPDLOG_LOGGER_INFO(db, "connecting to {}:{}", "db.internal", 5432);
  db->debug("pool size {}", 8);  // below the dagstack level: dropped by the dagstack gate
  db->warn("slow handshake: {} ms", 412);
}

void handle_request(int id) {
  SPDLOG_INFO("handling request {}", id);  // the spdlog default logger
  spdlog::get("legacy.db")->error("query failed for request {}", id);
}

}  // namespace legacy

int main() {
  // 1. dagstack: JSON-lines on stdout, and every record also goes to an spdlog rotating file
  //    (1 MiB x 3 files) as a classic spdlog text line.
  auto rotating = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
      "spdlog_bridge_logs/app.log", 1024 * 1024, 3);
  dl::SpdlogSinkOptions file_options;
  file_options.format = dl::SpdlogFormat::kText;
  file_options.pattern = "[%Y-%m-%d %H:%M:%S.%f] [%n] [%l] %v";

  dl::ConfigureOptions options;
  options.root_level = "INFO";
  options.sinks =
      dl::SinkList{dl::make_console_sink({.mode = dl::ConsoleMode::kJson, .stream = stdout}),
                   dl::make_spdlog_sink({rotating}, file_options)};
  options.resource_attributes = dl::Value::Map{{"service.name", "legacy-orders"}};
  dl::configure(options);

  // 2. spdlog: every logger the old code uses writes into dagstack through one bridge sink.
  auto bridge = dl::make_spdlog_to_dagstack_sink();
  auto default_logger = std::make_shared<spdlog::logger>("legacy", bridge);
  default_logger->set_level(spdlog::level::trace);  // let dagstack's levels decide
  spdlog::set_default_logger(default_logger);
  auto db = std::make_shared<spdlog::logger>("legacy.db", bridge);
  db->set_level(spdlog::level::trace);
  spdlog::register_logger(db);

  legacy::connect_database();
  {
    // Inside a dagstack span every spdlog message carries trace_id / span_id.
    dl::Span span("handle_request");
    legacy::handle_request(42);
  }

  // New code logs through dagstack directly, with typed attributes; secrets are masked.
  dl::Logger::get("orders.checkout")
      .info("order placed", {{"order.id", 1234}, {"api_key", "sk_live_1"}});

  spdlog::shutdown();    // drops the spdlog loggers
  (void)dl::shutdown();  // flushes and closes the dagstack sinks, the rotating file included
  std::fprintf(stderr, "bridge: %llu forwarded, %llu filtered\n",
               static_cast<unsigned long long>(bridge->stats().forwarded),
               static_cast<unsigned long long>(bridge->stats().filtered));
  return 0;
}

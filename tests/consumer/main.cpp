// A consumer program: configures JSON output on stderr and logs one record.
#include <dagstack/logger.hpp>

#ifndef CONSUMER_MODE
#define CONSUMER_MODE "unknown"
#endif

int main() {
  namespace dl = dagstack::logger;
  dl::ConfigureOptions options;
  options.sinks = dl::SinkList{dl::make_console_sink({.mode = dl::ConsoleMode::kJson})};
  dl::configure(options);
  dl::Logger::get("consumer").info("hello from a consumer", {{"consumer.mode", CONSUMER_MODE}});
  return 0;
}

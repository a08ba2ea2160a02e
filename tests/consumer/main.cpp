// A consumer program: configures JSON output on stderr, logs one record and one exception (which
// needs the stack-trace dependencies at link time); when built with the NorthStar target it also
// builds a disabled NorthStar sink (no key, so no thread, no request).
#include <dagstack/logger.hpp>

#include <stdexcept>

#ifdef CONSUMER_WITH_NORTHSTAR
#include <dagstack/logger/northstar/northstar.h>
#endif

#ifndef CONSUMER_MODE
#define CONSUMER_MODE "unknown"
#endif

int main() {
  namespace dl = dagstack::logger;
  dl::ConfigureOptions options;
  options.sinks = dl::SinkList{dl::make_console_sink({.mode = dl::ConsoleMode::kJson})};
#ifdef CONSUMER_WITH_NORTHSTAR
  auto northstar = dl::northstar::make_northstar_sink(dl::northstar::NorthStarOptions{});
  if (northstar->enabled()) return 3;  // no key configured: it must be a no-op
  options.sinks->push_back(northstar);
#endif
  dl::configure(options);
  auto log = dl::Logger::get("consumer");
  log.info("hello from a consumer", {{"consumer.mode", CONSUMER_MODE}});
  try {
    throw std::runtime_error("consumer failure");
  } catch (const std::exception& e) {
    log.exception(e, "caught in the consumer", {{"consumer.mode", CONSUMER_MODE}});
  }
  return 0;
}

// quick_start: configure the console sink once, then log from a few modules.
//
// Run it in a terminal for coloured lines, or redirect stderr for dagstack JSON-lines:
//   ./quick_start 2> records.jsonl
#include <dagstack/logger.hpp>
#include <dagstack/logger/span.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace dl = dagstack::logger;

namespace {

// A function with a real name, so the exception's stack trace has something to show.
void charge_card(const std::string& card) {
  if (card.empty()) throw std::runtime_error("card number missing");
}

}  // namespace

int main() {
  dl::ConfigureOptions options;
  options.root_level = "DEBUG";
  options.sinks = dl::SinkList{dl::make_console_sink({.mode = dl::ConsoleMode::kAuto})};
  options.resource_attributes = dl::Value::Map{{"service.name", "order-service"},
                                               {"service.version", "1.4.2"},
                                               {"deployment.environment", "dev"}};
  dl::configure(options);

  auto log = dl::Logger::get("order_service.checkout", "1.0.0");
  log.info("service started", {{"http.port", 8080}, {"tls", false}});
  log.debug("cache warmed", {{"cache.entries", 1532}, {"cache.hit_ratio", 0.87}});

  // Nested attributes: containers go through dl::Value.
  const std::vector<std::string> items = {"sku-1", "sku-7"};
  log.info("order received", {{"order.id", 1234},
                              {"order.items", dl::Value(items)},
                              {"customer", dl::Value::map({{"id", "c-42"}, {"tier", "gold"}})}});

  // A child logger binds attributes to every record it emits.
  auto payment = log.child({{"payment.provider", "stripe"}});
  // Secret-looking keys are masked: api_key -> "***".
  payment.warn("payment retry", {{"attempt", 2}, {"api_key", "sk_live_123"}});

  // Baggage on the current context reaches records under allow-listed keys (tenant.id, ...).
  {
    dl::ScopedContext scope(dl::Context::current().set_baggage("tenant.id", "acme"));
    log.info("tenant resolved", {{"tenant.plan", "enterprise"}});
  }

  // fmt-style bodies.
  log.info("shipping {} items to {}", items.size(), "Berlin");

  // A span: its start and end records go to the dagstack.trace logger, and every record emitted
  // while it is open carries its trace_id/span_id.
  {
    dl::Span checkout("checkout", {.kind = "query", .attributes = {{"order.id", 1234}}});
    log.info("reserving stock", {{"warehouse", "ber-1"}});
    {
      dl::Span charge("charge_card");
      try {
        charge_card("");
      } catch (const std::exception& e) {
        log.exception(e, {{"order.id", 1234}});
        charge.record_exception(e);
      }
    }
    checkout.set_attribute("order.total", 99.5);
  }

  log.log(11, "settled", {{"order.id", 1234}, {"amount", 99.5}});
  log.error("payment declined", {{"order.id", 1234}, {"reason", "insufficient_funds"}});
  dl::Logger::get().flush();
  return 0;
}

// context_propagation: a trace continued from an incoming W3C `traceparent`, handed to a worker
// thread, and sent on to the next service as headers.
#include <dagstack/logger.hpp>

#include <cstdio>
#include <thread>

namespace dl = dagstack::logger;

int main() {
  dl::ConfigureOptions options;
  options.sinks = dl::SinkList{dl::make_console_sink({.mode = dl::ConsoleMode::kJson, .stream = stdout})};
  dl::configure(options);
  auto log = dl::Logger::get("gateway");

  // 1. An incoming request carries trace context and baggage in its headers.
  const dl::Context incoming = dl::from_w3c_headers(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc",
      "tenant.id=acme,request.id=req-42");

  {
    dl::ScopedContext request(incoming);  // records now carry that trace id and the baggage
    dl::Span handle("handle_request", {.kind = "query"});
    log.info("request accepted", {{"http.route", "/orders"}});

    // 2. Work handed to another thread keeps the context.
    std::thread worker(dl::bind_context([&log] { log.info("computed on a worker thread"); }));
    worker.join();

    // 3. The outgoing call carries the current span as the parent.
    const dl::W3CHeaders out = dl::inject_w3c_headers(dl::Context::current());
    log.info("calling inventory", {{"http.header.traceparent", out.traceparent},
                                   {"http.header.baggage", out.baggage}});
  }

  // 4. An explicit context, whatever the thread's current one is.
  log.info_ctx(incoming, "explicit context");
  // 5. Opting out: no ids, no baggage.
  log.without_context().info("no context");
  return 0;
}

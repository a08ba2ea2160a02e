// w3c_fuzz.cpp: libFuzzer target for the W3C header parsers (traceparent, tracestate, baggage)
// and the Context conversions. Every input goes to all three parsers; whatever parses must
// format and parse back to the same value, and from_w3c_headers / inject_w3c_headers must never
// throw and must only produce headers that parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "dagstack/logger/context.h"
#include "dagstack/logger/w3c.h"

namespace {

namespace dl = dagstack::logger;
namespace w3c = dagstack::logger::w3c;

void check(bool ok) {
  if (!ok) std::abort();
}

void traceparent(std::string_view in) {
  w3c::TraceParent tp;
  try {
    tp = w3c::parse_traceparent(in);
  } catch (const std::invalid_argument&) {
    return;
  }
  check(tp.trace_id.valid() && tp.parent_id.valid() && tp.version != 0xff);
  const std::string out = w3c::format_traceparent(tp);
  check(out.size() == 55);
  const w3c::TraceParent again = w3c::parse_traceparent(out);
  check(again.trace_id == tp.trace_id && again.parent_id == tp.parent_id &&
        again.trace_flags == tp.trace_flags);
}

void tracestate(std::string_view in) {
  w3c::TraceState ts;
  try {
    ts = w3c::parse_tracestate(in);
  } catch (const std::invalid_argument&) {
    return;
  }
  check(ts.size() <= w3c::kMaxTraceStateMembers);
  const std::string out = w3c::format_tracestate(ts);  // must not throw: it was just parsed
  check(out.size() <= in.size());
  check(w3c::parse_tracestate(out) == ts);
}

// The lenient parser never throws, keeps within the limits, agrees with the strict one on
// headers the strict one accepts, and keeps only members that format and parse back.
void baggage_lenient(std::string_view in) {
  const w3c::Baggage lenient = w3c::parse_baggage_lenient(in);
  check(lenient.size() <= w3c::kMaxBaggageMembers);
  for (const auto& e : lenient) {
    std::string one;
    try {
      one = w3c::format_baggage({e});
    } catch (const std::invalid_argument&) {
      continue;  // percent-encoding may push one huge member past 8192 bytes
    }
    check(w3c::parse_baggage(one) == w3c::Baggage{e});
  }
  try {
    check(w3c::parse_baggage(in) == lenient);
  } catch (const std::invalid_argument&) {
  }
}

void baggage(std::string_view in) {
  baggage_lenient(in);
  w3c::Baggage b;
  try {
    b = w3c::parse_baggage(in);
  } catch (const std::invalid_argument&) {
    return;
  }
  check(b.size() <= w3c::kMaxBaggageMembers);
  std::string out;
  try {
    out = w3c::format_baggage(b);
  } catch (const std::invalid_argument&) {
    return;  // percent-encoding may push a re-formatted header past 8192 bytes
  }
  check(w3c::parse_baggage(out) == b);
}

void context(std::string_view a, std::string_view b, std::string_view c) {
  const dl::Context ctx = dl::from_w3c_headers(a, b, c);
  const dl::W3CHeaders h = dl::inject_w3c_headers(ctx);
  if (!h.traceparent.empty()) (void)w3c::parse_traceparent(h.traceparent);
  (void)w3c::parse_tracestate(h.tracestate);
  (void)w3c::parse_baggage(h.baggage);
  check(h.traceparent.empty() == !ctx.has_span());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  traceparent(in);
  tracestate(in);
  baggage(in);
  // Split the input in three at the first two newlines, as three headers.
  const std::size_t first = in.find('\n');
  const std::size_t second =
      first == std::string_view::npos ? std::string_view::npos : in.find('\n', first + 1);
  const std::string_view h1 = in.substr(0, first);
  const std::string_view h2 = first == std::string_view::npos
                                  ? std::string_view{}
                                  : in.substr(first + 1, second - first - 1);
  const std::string_view h3 =
      second == std::string_view::npos ? std::string_view{} : in.substr(second + 1);
  context(h1, h2, h3);
  return 0;
}

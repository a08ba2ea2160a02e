// internal_channel.cpp: the dagstack.logger.internal channel: recursion guard, rate limit,
// counters.
#include "detail/internal_channel.h"

#include <unistd.h>

#include <chrono>
#include <mutex>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"

namespace dagstack::logger {
namespace detail {
namespace {

thread_local bool tl_reporting = false;

// Token bucket: bursts of kBurst, refilled at kPerSecond.
constexpr double kBurst = 50.0;
constexpr double kPerSecond = 10.0;

struct RateLimit {
  std::mutex mutex;
  double tokens = kBurst;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  std::uint64_t suppressed_since_last = 0;
};

RateLimit& rate_limit() {
  static RateLimit* r = new RateLimit();
  return *r;
}

// Returns true when a report may go out now; sets `suppressed` to the number dropped before it.
bool take_token(std::uint64_t& suppressed) {
  auto& r = rate_limit();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - r.last).count();
  r.last = now;
  r.tokens = std::min(kBurst, r.tokens + elapsed * kPerSecond);
  if (r.tokens < 1.0) {
    ++r.suppressed_since_last;
    return false;
  }
  r.tokens -= 1.0;
  suppressed = r.suppressed_since_last;
  r.suppressed_since_last = 0;
  return true;
}

}  // namespace

Counters& counters() noexcept {
  static Counters c;
  return c;
}

void report_internal(int severity, std::string_view body, AttributeSpan attrs) noexcept {
  if (tl_reporting) return;  // a report about a report: drop it rather than recurse
  tl_reporting = true;
  try {
    std::uint64_t suppressed = 0;
    if (take_token(suppressed)) {
      counters().internal_reports.fetch_add(1, std::memory_order_relaxed);
      Logger internal = Logger::get(kInternalLoggerName).without_context();
      if (suppressed == 0) {
        internal.log(severity, body, attrs);
      } else {
        std::vector<Attribute> all(attrs.begin(), attrs.end());
        all.push_back({"dagstack.internal.suppressed", suppressed});
        internal.log(severity, body, all);
      }
    } else {
      counters().internal_suppressed.fetch_add(1, std::memory_order_relaxed);
    }
  } catch (...) {
    // Nothing else can be done about a failure to report a failure.
  }
  tl_reporting = false;
}

void report_sink_error(std::string_view sink_id, std::string_view what,
                       std::string_view error) noexcept {
  report_internal(kSeverityError, what, {{"sink.id", sink_id}, {"error.message", error}});
}

}  // namespace detail

namespace detail {
void note_emit_after_shutdown() noexcept {
  Counters& c = counters();
  c.emits_after_shutdown.fetch_add(1, std::memory_order_relaxed);
  if (c.after_shutdown_reported.exchange(true, std::memory_order_relaxed)) return;
  static constexpr char kLine[] =
      "{\"body\":\"a record was emitted after shutdown(); the closed sinks drop it (counted in "
      "internal_stats().emits_after_shutdown)\",\"instrumentation_scope\":{\"name\":"
      "\"dagstack.logger.internal\"},\"severity_number\":13,\"severity_text\":\"WARN\"}\n";
  const ssize_t ignored = ::write(2, kLine, sizeof kLine - 1);
  (void)ignored;
}
}  // namespace detail

InternalStats internal_stats() noexcept {
  const auto& c = detail::counters();
  InternalStats s;
  s.sink_errors = c.sink_errors.load(std::memory_order_relaxed);
  s.severity_clamped = c.severity_clamped.load(std::memory_order_relaxed);
  s.internal_reports = c.internal_reports.load(std::memory_order_relaxed);
  s.internal_suppressed = c.internal_suppressed.load(std::memory_order_relaxed);
  s.encode_errors = c.encode_errors.load(std::memory_order_relaxed);
  s.emits_after_shutdown = c.emits_after_shutdown.load(std::memory_order_relaxed);
  return s;
}

}  // namespace dagstack::logger

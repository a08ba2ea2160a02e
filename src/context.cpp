// context.cpp: Context values, the thread's current context, and ScopedContext.
#include "dagstack/logger/context.h"

#include <algorithm>
#include <chrono>

#include "dagstack/logger/clock.h"
#include "dagstack/logger/w3c.h"
#include "detail/context_data.h"

namespace dagstack::logger {
namespace detail {
namespace {
// The emit path reads the raw pointer only (trivially destructible, no TLS guard). The owner
// keeps the installed data alive for as long as it is current, so a guard or Span that ends
// out of order, or on another thread, can leave a stale context current but never a dangling
// pointer.
thread_local const ContextData* tl_current = nullptr;
thread_local std::shared_ptr<const ContextData> tl_owner;
}  // namespace

const ContextData* current_context_data() noexcept { return tl_current; }

const ContextData* exchange_current_context_data(const ContextData* data) noexcept {
  const ContextData* prev = tl_current;
  // Every ContextData is owned by a shared_ptr (Context only holds it that way), so this lock
  // succeeds for any pointer obtained from a live Context.
  std::shared_ptr<const ContextData> owner = data ? data->weak_from_this().lock() : nullptr;
  tl_current = data;
  tl_owner.swap(owner);
  // `owner` now holds the previous data; it is released here, after the switch. A caller that
  // restores `prev` later keeps its own reference to it (the guard that installed it).
  return prev;
}

}  // namespace detail

namespace {

std::shared_ptr<detail::ContextData> copy_data(const detail::ContextData* d) {
  return d ? std::make_shared<detail::ContextData>(*d) : std::make_shared<detail::ContextData>();
}

const Context::Baggage& empty_baggage() {
  static const Context::Baggage empty;
  return empty;
}

}  // namespace

Context Context::with_span(const TraceId& trace_id, const SpanId& span_id,
                           std::uint8_t trace_flags) {
  return Context().set_span(trace_id, span_id, trace_flags);
}

Context Context::current() noexcept {
  // tl_owner always owns tl_current (see exchange_current_context_data).
  return Context(detail::tl_owner);
}

bool Context::has_span() const noexcept { return data_ && data_->has_span(); }
TraceId Context::trace_id() const noexcept { return data_ ? data_->trace_id : TraceId{}; }
SpanId Context::span_id() const noexcept { return data_ ? data_->span_id : SpanId{}; }
std::uint8_t Context::trace_flags() const noexcept { return data_ ? data_->trace_flags : 0; }
const Context::Baggage& Context::baggage() const noexcept {
  return data_ ? data_->baggage : empty_baggage();
}

const std::string& Context::trace_state() const noexcept {
  static const std::string empty;
  return data_ ? data_->trace_state : empty;
}

Context Context::set_trace_state(std::string_view state) const {
  std::string normalised = w3c::format_tracestate(w3c::parse_tracestate(state));
  auto d = copy_data(data_.get());
  d->trace_state = std::move(normalised);
  return Context(std::move(d));
}

std::optional<std::string_view> Context::baggage_value(std::string_view key) const noexcept {
  for (const auto& [k, v] : baggage()) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

Context Context::set_span(const TraceId& trace_id, const SpanId& span_id,
                          std::uint8_t trace_flags) const {
  auto d = copy_data(data_.get());
  d->trace_id = trace_id;
  d->span_id = span_id;
  d->trace_flags = trace_flags;
  return Context(std::move(d));
}

Context Context::clear_span() const {
  auto d = copy_data(data_.get());
  d->trace_id = {};
  d->span_id = {};
  d->trace_flags = 0;
  d->trace_state.clear();
  d->span_extra.reset();
  return Context(std::move(d));
}

Context Context::set_baggage(std::string_view key, std::string_view value) const {
  auto d = copy_data(data_.get());
  auto it = std::find_if(d->baggage.begin(), d->baggage.end(),
                         [&](const auto& kv) { return kv.first == key; });
  if (it != d->baggage.end()) {
    it->second = std::string(value);
  } else {
    d->baggage.emplace_back(std::string(key), std::string(value));
  }
  return Context(std::move(d));
}

ScopedContext::ScopedContext(Context ctx) noexcept
    : ctx_(std::move(ctx)), previous_(Context::current()) {
  detail::exchange_current_context_data(ctx_.data());
}

ScopedContext::~ScopedContext() { detail::exchange_current_context_data(previous_.data()); }

namespace {
class SystemClock final : public Clock {
 public:
  std::uint64_t now_unix_nano() const noexcept override {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }
};
}  // namespace

const Clock& system_clock() noexcept {
  // Never destroyed: threads may still log while std::exit runs static destructors.
  static const SystemClock* const clock = new SystemClock();
  return *clock;
}

}  // namespace dagstack::logger

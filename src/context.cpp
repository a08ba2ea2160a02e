// context.cpp: Context values, the thread's current context, and ScopedContext.
#include "dagstack/logger/context.h"

#include <algorithm>

#include "dagstack/logger/clock.h"
#include "detail/context_data.h"

#include <chrono>

namespace dagstack::logger {
namespace detail {
namespace {
thread_local const ContextData* tl_current = nullptr;
}  // namespace

const ContextData* current_context_data() noexcept { return tl_current; }

const ContextData* exchange_current_context_data(const ContextData* data) noexcept {
  const ContextData* prev = tl_current;
  tl_current = data;
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
  const detail::ContextData* d = detail::current_context_data();
  if (d == nullptr) return Context();
  return Context(d->shared_from_this());
}

bool Context::has_span() const noexcept { return data_ && data_->has_span(); }
TraceId Context::trace_id() const noexcept { return data_ ? data_->trace_id : TraceId{}; }
SpanId Context::span_id() const noexcept { return data_ ? data_->span_id : SpanId{}; }
std::uint8_t Context::trace_flags() const noexcept { return data_ ? data_->trace_flags : 0; }
const Context::Baggage& Context::baggage() const noexcept {
  return data_ ? data_->baggage : empty_baggage();
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
    : ctx_(std::move(ctx)), previous_(detail::exchange_current_context_data(ctx_.data())) {}

ScopedContext::~ScopedContext() { detail::exchange_current_context_data(previous_); }

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
  static const SystemClock clock;
  return clock;
}

}  // namespace dagstack::logger

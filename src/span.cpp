// span.cpp: Span (start/end records on dagstack.trace, the thread's current context while
// open) and the trace/span id generators.
#include "dagstack/logger/span.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "detail/context_data.h"
#include "detail/exception_info.h"

namespace dagstack::logger {
namespace detail {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

// xoshiro256** (Blackman & Vigna), one per thread, seeded on first use.
class IdGenerator {
 public:
  IdGenerator() noexcept {
    std::uint64_t seed = 0;
    try {
      std::random_device rd;
      seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {
      // No entropy device: the clock, the thread and the counter below still differ.
    }
    static std::atomic<std::uint64_t> instances{0};
    seed ^= static_cast<std::uint64_t>(
        std::chrono::high_resolution_clock::now().time_since_epoch().count());
    seed ^= rotl(
        static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id())), 17);
    seed ^= rotl(instances.fetch_add(1, std::memory_order_relaxed) * 0x9e3779b97f4a7c15ULL, 41);
    seed ^= reinterpret_cast<std::uintptr_t>(this);
    for (auto& word : s_) word = splitmix64(seed);
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  std::uint64_t s_[4];
};

IdGenerator& generator() noexcept {
  thread_local IdGenerator g;
  return g;
}

void append_attr(std::vector<Attribute>& out, std::string_view key, AttrValue value) {
  out.push_back({key, value});
}

}  // namespace
}  // namespace detail

TraceId new_trace_id() noexcept {
  TraceId id;
  do {
    const std::uint64_t hi = detail::generator().next();
    const std::uint64_t lo = detail::generator().next();
    std::memcpy(id.bytes.data(), &hi, 8);
    std::memcpy(id.bytes.data() + 8, &lo, 8);
  } while (!id.valid());
  return id;
}

SpanId new_span_id() noexcept {
  SpanId id;
  do {
    const std::uint64_t v = detail::generator().next();
    std::memcpy(id.bytes.data(), &v, 8);
  } while (!id.valid());
  return id;
}

std::string_view to_string(SpanStatus status) noexcept {
  switch (status) {
    case SpanStatus::kUnset: return "unset";
    case SpanStatus::kOk: return "ok";
    case SpanStatus::kError: return "error";
    case SpanStatus::kCancelled: return "cancelled";
    case SpanStatus::kTimeout: return "timeout";
  }
  return "unset";
}

std::string_view wire_status(SpanStatus status) noexcept {
  return status == SpanStatus::kUnset ? std::string_view("ok") : to_string(status);
}

Span::Span(std::string_view name, SpanOptions options)
    : name_(name),
      kind_(std::move(options.kind)),
      previous_(Context::current()),
      attributes_(std::move(options.attributes)),
      logger_(Logger::get(kTraceLoggerName)) {
  const Context parent = options.parent ? std::move(*options.parent) : previous_;
  const detail::ContextData* p = parent.data();
  auto data =
      p ? std::make_shared<detail::ContextData>(*p) : std::make_shared<detail::ContextData>();
  if (p != nullptr && p->has_span()) {
    parent_span_id_ = p->span_id;
  } else {
    data->trace_id = new_trace_id();
    data->trace_state.clear();  // a new trace starts without vendor state
  }
  data->span_id = new_span_id();
  data->trace_flags = 1;
  data->span_extra.reset();
  context_ = Context(std::move(data));
  span_hex_ = context_.span_id().to_hex();
  if (parent_span_id_.valid()) parent_hex_ = parent_span_id_.to_hex();

  detail::exchange_current_context_data(context_.data());
  installed_ = true;
  start_ = std::chrono::steady_clock::now();
  emit_start();
}

Span::~Span() { end(); }

Span::Span(Span&& other) noexcept
    : name_(std::move(other.name_)),
      kind_(std::move(other.kind_)),
      context_(std::move(other.context_)),
      previous_(std::move(other.previous_)),
      installed_(other.installed_),
      parent_span_id_(other.parent_span_id_),
      span_hex_(std::move(other.span_hex_)),
      parent_hex_(std::move(other.parent_hex_)),
      attributes_(std::move(other.attributes_)),
      exception_attributes_(std::move(other.exception_attributes_)),
      status_(other.status_),
      status_message_(std::move(other.status_message_)),
      start_(other.start_),
      logger_(other.logger_),
      ended_(other.ended_) {
  // The thread's current pointer names the ContextData object, which moved along with
  // context_ (shared ownership), so it stays valid; the source becomes inert.
  other.installed_ = false;
  other.ended_ = true;
  other.parent_span_id_ = {};
}

Span& Span::operator=(Span&& other) noexcept {
  if (this == &other) return *this;
  end();
  name_ = std::move(other.name_);
  kind_ = std::move(other.kind_);
  context_ = std::move(other.context_);
  previous_ = std::move(other.previous_);
  installed_ = other.installed_;
  parent_span_id_ = other.parent_span_id_;
  span_hex_ = std::move(other.span_hex_);
  parent_hex_ = std::move(other.parent_hex_);
  attributes_ = std::move(other.attributes_);
  exception_attributes_ = std::move(other.exception_attributes_);
  status_ = other.status_;
  status_message_ = std::move(other.status_message_);
  start_ = other.start_;
  logger_ = other.logger_;
  ended_ = other.ended_;
  other.installed_ = false;
  other.ended_ = true;
  other.parent_span_id_ = {};
  return *this;
}

void Span::set_attribute(std::string_view key, Value value) {
  if (ended_) return;
  attributes_.insert_or_assign(std::string(key), std::move(value));
}

void Span::set_status(SpanStatus status, std::string_view message) {
  if (ended_) return;
  status_ = status;
  status_message_ = std::string(message);
}

namespace {
// Replaces `out` with the exception.* attributes of `info`.
void store_exception(const detail::ExceptionInfo& info, Value::Map& out) {
  std::vector<std::string> keys;
  out.clear();
  for (const Attribute& a : info.attributes(keys))
    out.insert_or_assign(std::string(a.key), a.value.to_value());
}
}  // namespace

__attribute__((noinline)) void Span::record_exception(const std::exception& e) {
  if (ended_) return;
  const detail::ExceptionInfo info = detail::describe_exception(e);
  store_exception(info, exception_attributes_);
  status_ = SpanStatus::kError;
  if (status_message_.empty()) status_message_ = info.message;
}

__attribute__((noinline)) void Span::record_exception(std::exception_ptr e) {
  if (ended_ || !e) return;
  const detail::ExceptionInfo info = detail::describe_exception(e);
  store_exception(info, exception_attributes_);
  status_ = SpanStatus::kError;
  if (status_message_.empty()) status_message_ = info.message;
}

void Span::end() noexcept {
  if (ended_) return;
  ended_ = true;
  emit_end();
  restore_context();
}

void Span::restore_context() noexcept {
  if (!installed_) return;
  installed_ = false;
  // Only when this span is still current on this thread: a span ended out of order (or on
  // another thread) must not clobber whatever is current now.
  if (detail::current_context_data() == context_.data()) {
    detail::exchange_current_context_data(previous_.data());
  }
}

void Span::emit_start() noexcept {
  if (!logger_.is_enabled(kSeverityInfo)) return;
  try {
    std::vector<Attribute> attrs;
    attrs.reserve(attributes_.size() + 5);
    for (const auto& [k, v] : attributes_) detail::append_attr(attrs, k, AttrValue(v));
    detail::append_attr(attrs, "dagstack.span.event", "start");
    detail::append_attr(attrs, "operation.name", AttrValue(name_));
    detail::append_attr(attrs, "operation.id", AttrValue(span_hex_));
    detail::append_attr(attrs, "operation.kind", AttrValue(kind_));
    if (!parent_hex_.empty())
      detail::append_attr(attrs, "operation.parent.id", AttrValue(parent_hex_));
    logger_.log_ctx(context_, kSeverityInfo, AttrValue(name_), attrs);
  } catch (...) {
    // Out of memory while building the record: the span simply has no start record.
  }
}

void Span::emit_end() noexcept {
  if (!logger_.is_enabled(kSeverityInfo)) return;
  try {
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
    std::vector<Attribute> attrs;
    attrs.reserve(attributes_.size() + exception_attributes_.size() + 9);
    for (const auto& [k, v] : attributes_) detail::append_attr(attrs, k, AttrValue(v));
    for (const auto& [k, v] : exception_attributes_) detail::append_attr(attrs, k, AttrValue(v));
    detail::append_attr(attrs, "dagstack.span.event", "end");
    detail::append_attr(attrs, "operation.name", AttrValue(name_));
    detail::append_attr(attrs, "operation.id", AttrValue(span_hex_));
    detail::append_attr(attrs, "operation.kind", AttrValue(kind_));
    if (!parent_hex_.empty())
      detail::append_attr(attrs, "operation.parent.id", AttrValue(parent_hex_));
    detail::append_attr(attrs, "operation.status", wire_status(status_));
    if (!status_message_.empty()) {
      detail::append_attr(attrs, "operation.status.message", AttrValue(status_message_));
    }
    detail::append_attr(attrs, "operation.duration_ms", ns / 1'000'000);
    detail::append_attr(attrs, "dagstack.span.duration_ns", ns);
    logger_.log_ctx(context_, kSeverityInfo, AttrValue(name_), attrs);
  } catch (...) {
    // Out of memory while building the record: the span has no end record (readers cope).
  }
}

}  // namespace dagstack::logger

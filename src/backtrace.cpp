// backtrace.cpp: the opt-in per-logger backtrace ring (records below the level kept in a
// bounded ring and emitted, in order, before the next ERROR-or-worse record or on demand).
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dagstack/logger/logger.h"
#include "detail/backtrace.h"
#include "detail/context_data.h"
#include "detail/emit.h"
#include "detail/internal_channel.h"
#include "detail/node.h"

namespace dagstack::logger {
namespace detail {

constinit thread_local std::uint64_t t_record_time_override = 0;

namespace {

struct KeptRecord {
  std::uint64_t time_unix_nano = 0;
  int severity = 0;
  Value body;
  std::vector<OwnedAttribute> attrs;
  Context ctx;
  SourceLocation loc;
};

// One ring. Thread-safe (its own mutex; never held while records are emitted).
class BacktraceRing {
 public:
  explicit BacktraceRing(std::size_t capacity) : capacity_(capacity) {}

  void keep(KeptRecord r) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (records_.size() == capacity_) records_.pop_front();
    records_.push_back(std::move(r));
  }
  std::deque<KeptRecord> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(records_, {});
  }

 private:
  std::mutex mutex_;
  std::size_t capacity_;
  std::deque<KeptRecord> records_;
};

struct RingEntry {
  std::weak_ptr<Node> node;
  std::shared_ptr<BacktraceRing> ring;
};

std::mutex& rings_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<const Node*, RingEntry>& rings() {
  static auto* map = new std::unordered_map<const Node*, RingEntry>();  // never destroyed
  return *map;
}

std::shared_ptr<BacktraceRing> ring_of(const std::shared_ptr<Node>& node) {
  std::lock_guard<std::mutex> lock(rings_mutex());
  auto it = rings().find(node.get());
  if (it == rings().end() || it->second.node.lock() != node) return nullptr;
  return it->second.ring;
}

}  // namespace
}  // namespace detail

void Logger::enable_backtrace(std::size_t capacity) const {
  if (capacity == 0) {
    disable_backtrace();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(detail::rings_mutex());
    auto& map = detail::rings();
    for (auto it = map.begin(); it != map.end();) {  // drop rings of nodes that are gone
      it = it->second.node.expired() ? map.erase(it) : std::next(it);
    }
    map[node_.get()] = {node_, std::make_shared<detail::BacktraceRing>(capacity)};
  }
  node_->gate.backtrace.store(true, std::memory_order_relaxed);
}

void Logger::disable_backtrace() const {
  node_->gate.backtrace.store(false, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(detail::rings_mutex());
  detail::rings().erase(node_.get());
}

std::size_t Logger::dump_backtrace() const noexcept {
  try {
    const auto ring = detail::ring_of(node_);
    if (!ring) return 0;
    std::deque<detail::KeptRecord> kept = ring->take();
    std::vector<Attribute> view;
    for (const detail::KeptRecord& r : kept) {
      view.clear();
      for (const auto& a : r.attrs) view.push_back({a.key, AttrValue(a.value)});
      detail::t_record_time_override = r.time_unix_nano;
      try {
        detail::emit_record(node_.get(), false, r.severity, &r.ctx, AttrValue(r.body), view,
                            &r.loc);
      } catch (...) {
        detail::counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
      }
      detail::t_record_time_override = 0;
    }
    return kept.size();
  } catch (...) {
    detail::t_record_time_override = 0;
    return 0;
  }
}

void Logger::backtrace_store(int severity, const Context* ctx, AttrValue body, AttributeSpan attrs,
                             const SourceLocation& loc) const noexcept {
  try {
    const auto ring = detail::ring_of(node_);
    if (!ring) return;
    detail::KeptRecord r;
    r.time_unix_nano = detail::Registry::instance().settings().clock->now_unix_nano();
    r.severity = severity;
    r.body = body.to_value();
    r.attrs.reserve(attrs.size());
    for (const Attribute& a : attrs) r.attrs.push_back({std::string(a.key), a.value.to_value()});
    if (ctx != nullptr) {
      r.ctx = *ctx;
    } else if (use_context_) {
      r.ctx = Context::current();
    }
    r.loc = loc;
    ring->keep(std::move(r));
  } catch (...) {
    // Out of memory while keeping a below-level record: it is simply not kept.
  }
}

}  // namespace dagstack::logger

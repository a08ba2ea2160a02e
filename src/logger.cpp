// logger.cpp: the emit pipeline (gate -> merge -> baggage -> redaction -> context -> fan-out)
// and the Logger handle's configuration methods.
#include "dagstack/logger/logger.h"

#include <algorithm>
#include <array>
#include <forward_list>
#include <functional>
#include <new>
#include <type_traits>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/deferred.h"
#include "deferred/deferred_path.h"
#include "deferred/tsc_clock.h"
#include "detail/backtrace.h"
#include "detail/context_data.h"
#include "detail/emit.h"
#include "detail/internal_channel.h"
#include "detail/node.h"
#include "detail/reclaim.h"
#include "redaction/redactor.h"

namespace dagstack::logger {
namespace detail {
namespace {

// A fixed-capacity attribute buffer on the stack that spills to the heap past kInline entries.
class AttrBuffer {
 public:
  static constexpr std::size_t kInline = 24;
  static_assert(std::is_trivially_copyable_v<Attribute> &&
                std::is_trivially_destructible_v<Attribute>);

  AttrBuffer() noexcept {}  // the inline storage stays uninitialised until used
  AttrBuffer(const AttrBuffer&) = delete;
  AttrBuffer& operator=(const AttrBuffer&) = delete;

  std::size_t size() const noexcept { return size_; }
  Attribute* data() noexcept { return heap_.empty() ? inline_ : heap_.data(); }

  Attribute* find(std::string_view key) noexcept {
    // From kIndexFrom entries on, the index holds every entry (see push()).
    if (size_ >= kIndexFrom) [[unlikely]]
      return find_indexed(key);
    Attribute* d = data();
    for (std::size_t i = 0; i < size_; ++i) {
      if (d[i].key == key) return &d[i];
    }
    return nullptr;
  }
  void push(const Attribute& a) {
    if (heap_.empty() && size_ < kInline) {
      new (&inline_[size_]) Attribute(a);
      ++size_;
      return;
    }
    if (heap_.empty()) heap_.assign(inline_, inline_ + size_);
    heap_.push_back(a);
    ++size_;
    // Past kIndexFrom entries, lookups go through an open-addressing index so merging n
    // attributes stays linear (a record with 40k attributes must not cost seconds).
    if (size_ >= kIndexFrom) index_add(size_ - 1);
  }
  // Adds `a`, replacing an existing value under the same key.
  void set(const Attribute& a) {
    if (Attribute* existing = find(a.key)) {
      existing->value = a.value;
    } else {
      push(a);
    }
  }
  // Adds `a` only when the key is absent.
  void set_if_absent(const Attribute& a) {
    if (find(a.key) == nullptr) push(a);
  }

 private:
  static constexpr std::size_t kIndexFrom = 32;

  [[gnu::noinline]] Attribute* find_indexed(std::string_view key) noexcept {
    Attribute* d = heap_.data();
    const std::size_t mask = index_.size() - 1;
    for (std::size_t h = hash(key) & mask;; h = (h + 1) & mask) {
      const std::uint32_t slot = index_[h];
      if (slot == 0) return nullptr;
      if (d[slot - 1].key == key) return &d[slot - 1];
    }
  }

  static std::size_t hash(std::string_view key) noexcept {
    return std::hash<std::string_view>{}(key);
  }
  // Adds entry `pos` to the index, rebuilding it (twice the entries, power of two) when it is
  // more than half full.
  void index_add(std::size_t pos) {
    if ((size_ + 1) * 2 > index_.size()) {
      std::size_t cap = 64;
      while (cap < size_ * 4) cap *= 2;
      index_.assign(cap, 0);
      for (std::size_t i = 0; i < size_; ++i) index_insert(i);
      return;
    }
    index_insert(pos);
  }
  void index_insert(std::size_t pos) noexcept {
    const std::size_t mask = index_.size() - 1;
    std::size_t h = hash(heap_[pos].key) & mask;
    while (index_[h] != 0) h = (h + 1) & mask;
    index_[h] = static_cast<std::uint32_t>(pos + 1);
  }

  union {
    Attribute inline_[kInline];
  };
  std::size_t size_ = 0;
  std::vector<Attribute> heap_;
  std::vector<std::uint32_t> index_;  // 0 = empty, else position + 1; used once size_ >= kIndexFrom
};

}  // namespace

constinit thread_local SinkBatch* tl_sink_batch = nullptr;

namespace {

const std::shared_ptr<const SinkList>* find_override(const Node* node,
                                                     const ContextData* data) noexcept {
  for (const Node* n = node; n != nullptr; n = n->parent.get()) {
    for (auto it = data->overrides.rbegin(); it != data->overrides.rend(); ++it) {
      if (it->node.get() == n) return &it->sinks;
    }
    // A node with its own sinks does not inherit its parent's (scoped or not).
    if (n->resolved.load(std::memory_order_acquire)->sinks_explicit) return nullptr;
  }
  return nullptr;
}

void dispatch(const SinkList& sinks, const LogRecord& record) noexcept {
  for (const auto& sink : sinks) {
    Sink* s = sink.get();
    if (s == nullptr || !s->supports_severity(record.severity_number)) continue;
    try {
      if (SinkBatch* batch = tl_sink_batch) batch->add(sink);
      s->emit(record);
    } catch (const std::exception& e) {
      counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
      report_sink_error(s->id(), "sink emit failed", detail::what_of(e));
    } catch (...) {
      counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
      report_sink_error(s->id(), "sink emit failed", "unknown exception");
    }
  }
}

// The baggage entries named by the settings, in the context's order; a few on the stack.
class BaggageSelection {
 public:
  static constexpr std::size_t kInline = 8;
  BaggageSelection(const ContextData* src, const Settings& settings) {  // NOLINT: union member
    if (src == nullptr || src->baggage.empty() || settings.baggage_keys.empty()) return;
    for (const auto& [k, v] : src->baggage) {
      if (std::find(settings.baggage_keys.begin(), settings.baggage_keys.end(), k) ==
          settings.baggage_keys.end()) {
        continue;
      }
      if (size_ < kInline) {
        new (&inline_[size_++]) BaggageEntry{k, v};
        continue;
      }
      if (heap_.empty()) heap_.assign(inline_, inline_ + kInline);
      heap_.push_back({k, v});
      ++size_;
    }
  }
  std::span<const BaggageEntry> view() const noexcept {
    return {heap_.empty() ? inline_ : heap_.data(), size_};
  }

 private:
  union {
    BaggageEntry inline_[kInline];  // only the first size_ entries are constructed and read
  };
  std::size_t size_ = 0;
  std::vector<BaggageEntry> heap_;
};

// Redacts the merged attributes in place, builds the record and hands it to the call site's
// sinks (through emergency_emit() in a crash).
void emit_merged(const CallSite& site, std::span<Attribute> attrs) {
  const Resolved* r = site.resolved;
  std::forward_list<Value> storage;
  redact_attributes(attrs, *r->redaction, r->redaction_tail_bits, storage);

  LogRecord record;
  record.time_unix_nano = site.time_unix_nano;
  record.severity_number = site.severity;
  record.body = site.body;
  record.attributes = std::span<const Attribute>(attrs.data(), attrs.size());
  record.resource = r->resource.get();
  record.instrumentation_scope = r->scope.get();
  record.owners = &r->owners;
  if (site.has_span) {
    record.trace_id = site.trace_id;
    record.span_id = site.span_id;
    record.trace_flags = site.trace_flags;
  }
  if (site.emergency) {
    for (const auto& sink : *site.sinks) {
      if (sink && sink->supports_severity(record.severity_number)) {
        (void)sink->emergency_emit(record);
      }
    }
    return;
  }
  dispatch(*site.sinks, record);
}

// True when two of a few attributes share a key (or there are too many to look cheaply).
bool may_repeat_a_key(std::span<const Attribute> attrs) noexcept {
  constexpr std::size_t kPairwise = 16;
  if (attrs.size() > kPairwise) return true;
  for (std::size_t i = 1; i < attrs.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (attrs[i].key == attrs[j].key) return true;
    }
  }
  return false;
}

}  // namespace

void finish_record(const CallSite& site) noexcept {
  try {
    AttrBuffer buf;
    for (const auto& a : site.attrs) buf.set(a);
    for (const auto& a : site.node->bound_view) buf.set_if_absent(a);
    for (const auto& b : site.baggage) buf.set_if_absent({b.key, AttrValue(b.value)});
    if (site.loc != nullptr) {
      buf.set_if_absent({"code.filepath", AttrValue(site.loc->file)});
      buf.set_if_absent({"code.lineno", static_cast<std::int64_t>(site.loc->line)});
      buf.set_if_absent({"code.function", AttrValue(site.loc->function)});
    }
    emit_merged(site, std::span<Attribute>(buf.data(), buf.size()));
  } catch (...) {
    counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void finish_record_in_place(const CallSite& site, std::span<Attribute> attrs) noexcept {
  if (!site.node->bound_view.empty() || !site.baggage.empty() || site.loc != nullptr ||
      may_repeat_a_key(attrs)) {
    finish_record(site);  // something merges in: the general path
    return;
  }
  try {
    emit_merged(site, attrs);
  } catch (...) {
    counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

// The shared emit path; `explicit_ctx` set means only that context is consulted.
void emit_record(const Node* node, bool use_context, int severity, const Context* explicit_ctx,
                 AttrValue body, AttributeSpan attrs, const SourceLocation* loc,
                 const FormatCall* format) {
  if (severity < kSeverityMin || severity > kSeverityMax) {
    counters().severity_clamped.fetch_add(1, std::memory_order_relaxed);
    const int original = severity;
    severity = clamp_severity(severity);
    report_internal(kSeverityWarn, "severity_number out of range; clamped",
                    {{"severity.original", original}, {"severity.clamped", severity}});
  }
  // Everything read from the published configuration stays valid until this section ends (and,
  // on the deferred path, until the writer has finished the record: see deferred_path.h).
  const ReadSection section;
  const Resolved* r = node->resolved.load(std::memory_order_acquire);
  const Settings& settings = Registry::instance().settings();
  const ContextData* current = current_context_data();
  const ContextData* explicit_data = explicit_ctx ? explicit_ctx->data() : nullptr;

  const std::shared_ptr<const SinkList>* override_sinks = nullptr;
  if (explicit_data != nullptr && !explicit_data->overrides.empty()) {
    override_sinks = find_override(node, explicit_data);
  } else if (current != nullptr && !current->overrides.empty()) {
    override_sinks = find_override(node, current);
  }
  const SinkList* sinks = override_sinks != nullptr ? override_sinks->get() : &r->sinks;
  if (sinks->empty()) return;
  if (counters().shut_down.load(std::memory_order_relaxed)) note_emit_after_shutdown();

  const ContextData* trace_src = nullptr;
  if (explicit_ctx != nullptr) {
    trace_src = explicit_data;
  } else if (use_context && settings.auto_inject_trace_context) {
    trace_src = current;
  }

  const BaggageSelection baggage(trace_src, settings);
  CallSite site;
  site.node = node;
  site.resolved = r;
  site.sinks = sinks;
  site.severity = severity;
  const bool deferred = deferred_active();
  if (t_record_time_override != 0) {  // a backtrace dump: the record's own time
    site.time_unix_nano = t_record_time_override;
  } else if (deferred && settings.system_clock && g_deferred_tsc.load(std::memory_order_relaxed)) {
    site.time_unix_nano = tsc_read();  // converted by the writer
    site.time_tsc = true;
  } else {
    site.time_unix_nano = settings.clock->now_unix_nano();
  }
  site.body = body;
  site.attrs = attrs;
  site.baggage = baggage.view();
  if (settings.include_code_location && loc != nullptr && loc->line != 0) site.loc = loc;
  if (trace_src != nullptr && trace_src->has_span()) {
    site.has_span = true;
    site.trace_id = trace_src->trace_id;
    site.span_id = trace_src->span_id;
    site.trace_flags = trace_src->trace_flags;
  }
  // Finished here after all (the deferred path stopped meanwhile): the clock's time, read now.
  const auto on_caller = [&] {
    if (site.time_tsc) {
      site.time_unix_nano = settings.clock->now_unix_nano();
      site.time_tsc = false;
    }
  };
  if (format == nullptr) {
    if (deferred && deferred_enqueue(site, override_sinks)) return;
    on_caller();
    finish_record(site);
    return;
  }
  // An fmt body is formatted here unless the writer can (deferred path, copyable arguments).
  fmt::memory_buffer buf;
  const auto format_here = [&] {
    fmt::vformat_to(std::back_inserter(buf), format->format, format->args);
    site.format = nullptr;
    site.body = AttrValue(std::string_view(buf.data(), buf.size()));
  };
  site.format = format;
  if (!deferred || !deferrable_format_args(format->args)) format_here();
  if (deferred && deferred_enqueue(site, override_sinks)) return;
  if (site.format != nullptr) format_here();
  on_caller();
  finish_record(site);
}

}  // namespace detail

Logger::Logger(std::shared_ptr<detail::Node> node, bool use_context) noexcept
    : node_(std::move(node)), gate_(&node_->gate), use_context_(use_context) {}

Logger Logger::get(std::string_view name, std::string_view version) {
  return Logger(detail::Registry::instance().get(name, version));
}

void Logger::reset() { detail::Registry::instance().reset(); }

const std::string& Logger::name() const noexcept { return node_->name; }

void Logger::emit_impl(int severity, const Context* ctx, AttrValue body, AttributeSpan attrs,
                       const SourceLocation& loc) const noexcept {
  if (!is_enabled(clamp_severity(severity))) {  // let through for the backtrace ring
    backtrace_store(clamp_severity(severity), ctx, body, attrs, loc);
    return;
  }
  if (severity >= kSeverityError && gate_->backtrace.load(std::memory_order_relaxed)) {
    (void)dump_backtrace();
  }
  try {
    detail::emit_record(node_.get(), use_context_, severity, ctx, body, attrs, &loc);
  } catch (...) {
    detail::counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Logger::format_emit_impl(int severity, fmt::string_view f, fmt::format_args args,
                              AttributeSpan attrs, const SourceLocation& loc) const noexcept {
  try {
    // On the deferred path the writer formats, when every argument is a scalar or a string.
    if (detail::deferred_active() && is_enabled(clamp_severity(severity))) {
      if (severity >= kSeverityError && gate_->backtrace.load(std::memory_order_relaxed)) {
        (void)dump_backtrace();
      }
      const detail::FormatCall call{f, args};
      detail::emit_record(node_.get(), use_context_, severity, nullptr, AttrValue(), attrs, &loc,
                          &call);
      return;
    }
    fmt::memory_buffer buf;  // 500 bytes inline: no heap allocation for ordinary bodies
    fmt::vformat_to(std::back_inserter(buf), f, args);
    const AttrValue body(std::string_view(buf.data(), buf.size()));
    if (!is_enabled(clamp_severity(severity))) {  // let through for the backtrace ring
      backtrace_store(clamp_severity(severity), nullptr, body, attrs, loc);
      return;
    }
    if (severity >= kSeverityError && gate_->backtrace.load(std::memory_order_relaxed)) {
      (void)dump_backtrace();
    }
    detail::emit_record(node_.get(), use_context_, severity, nullptr, body, attrs, &loc);
  } catch (const std::exception& e) {
    detail::report_internal(kSeverityError, "log message formatting failed",
                            {{"error.message", detail::what_of(e)}});
  } catch (...) {
  }
}

Logger Logger::child(AttributeSpan attrs) const {
  std::vector<detail::OwnedAttribute> bound;
  bound.reserve(attrs.size());
  for (const auto& a : attrs) bound.push_back({std::string(a.key), a.value.to_value()});
  return Logger(
      detail::Registry::instance().make_detached(node_, std::move(bound), std::nullopt, false));
}

Logger Logger::with_sinks(SinkList sinks) const {
  return Logger(detail::Registry::instance().make_detached(node_, {}, std::move(sinks), false));
}

Logger Logger::append_sinks(SinkList sinks) const {
  return Logger(detail::Registry::instance().make_detached(node_, {}, std::move(sinks), true));
}

Logger Logger::without_sinks() const {
  return Logger(detail::Registry::instance().make_detached(node_, {}, SinkList{}, false));
}

Logger Logger::without_context() const { return Logger(node_, false); }

ScopedSinks Logger::scope_sinks(SinkList sinks) const {
  const detail::ContextData* cur = detail::current_context_data();
  auto data =
      cur ? std::make_shared<detail::ContextData>(*cur) : std::make_shared<detail::ContextData>();
  data->overrides.push_back({node_, std::make_shared<const SinkList>(std::move(sinks))});
  return ScopedSinks(*this, Context(std::move(data)));
}

ScopedSinks::ScopedSinks(Logger logger, Context ctx)
    : logger_(std::move(logger)),
      ctx_(std::move(ctx)),
      previous_(Context::current()),
      active_(true) {
  detail::exchange_current_context_data(ctx_.data());
}

ScopedSinks::ScopedSinks(ScopedSinks&& other) noexcept
    : logger_(other.logger_), ctx_(other.ctx_), previous_(other.previous_), active_(other.active_) {
  other.active_ = false;
}

ScopedSinks::~ScopedSinks() {
  if (active_) detail::exchange_current_context_data(previous_.data());
}

void Logger::set_level(Level level) const {
  const int n = level.resolve();
  detail::Registry::instance().mutate(*node_, [n](detail::Node& node) { node.level = n; });
}

void Logger::clear_level() const {
  detail::Registry::instance().mutate(*node_, [](detail::Node& node) { node.level.reset(); });
}

int Logger::effective_level() const noexcept {
  const detail::ReadSection section;
  return node_->resolved.load(std::memory_order_acquire)->min_severity;
}

void Logger::set_sinks(SinkList sinks) const {
  auto& registry = detail::Registry::instance();
  registry.mutate(*node_, [&](detail::Node& node) {
    if (node.sinks) registry.retire_locked(std::make_shared<SinkList>(std::move(*node.sinks)));
    node.sinks = std::move(sinks);
  });
}

void Logger::clear_sinks() const {
  detail::Registry::instance().mutate(*node_, [](detail::Node& node) { node.sinks.reset(); });
}

SinkList Logger::effective_sinks() const {
  const detail::ReadSection section;
  return node_->resolved.load(std::memory_order_acquire)->sinks;
}

void Logger::set_resource(std::shared_ptr<const Resource> resource) const {
  detail::Registry::instance().mutate(
      *node_, [&](detail::Node& node) { node.resource = std::move(resource); });
}

void Logger::set_redaction_suffixes(std::optional<std::vector<std::string>> suffixes) const {
  if (suffixes) {
    RedactionConfig cfg{*suffixes, true};
    cfg.validate();
  }
  detail::Registry::instance().mutate(*node_, [&](detail::Node& node) {
    if (suffixes) {
      node.redaction = std::make_shared<const detail::SuffixList>(std::move(*suffixes));
    } else {
      node.redaction.reset();
    }
  });
}

std::vector<std::string> Logger::effective_secret_suffixes() const {
  const detail::ReadSection section;
  return *node_->resolved.load(std::memory_order_acquire)->redaction;
}

namespace {
FlushResult aggregate(const SinkList& sinks, const std::function<FlushResult(Sink&)>& op) {
  FlushResult total;
  std::size_t failed = 0;
  std::size_t count = 0;
  for (const auto& s : sinks) {
    if (!s) continue;
    ++count;
    FlushResult r;
    try {
      r = op(*s);
    } catch (const std::exception& e) {
      r = FlushResult::failed(s->id(), detail::what_of(e));
    } catch (...) {
      r = FlushResult::failed(s->id(), "unknown exception");
    }
    if (!r.success) {
      ++failed;
      if (r.failed_sinks.empty()) r.failed_sinks.push_back({std::string(s->id()), "failed"});
      total.failed_sinks.insert(total.failed_sinks.end(), r.failed_sinks.begin(),
                                r.failed_sinks.end());
    }
  }
  total.success = failed == 0;
  total.partial = failed > 0 && failed < count;
  return total;
}
}  // namespace

FlushResult Logger::flush(std::chrono::milliseconds timeout) const {
  (void)flush_deferred(timeout);  // records still queued on the deferred path first
  return aggregate(effective_sinks(), [timeout](Sink& s) { return s.flush(timeout); });
}

FlushResult Logger::close() const {
  return aggregate(effective_sinks(), [](Sink& s) {
    s.close();
    return FlushResult::ok();
  });
}

namespace detail {
// Used by shutdown(): the same aggregation over an arbitrary list.
FlushResult flush_and_close(const SinkList& sinks, std::chrono::milliseconds timeout) {
  FlushResult r = aggregate(sinks, [timeout](Sink& s) { return s.flush(timeout); });
  FlushResult c = aggregate(sinks, [](Sink& s) {
    s.close();
    return FlushResult::ok();
  });
  r.failed_sinks.insert(r.failed_sinks.end(), c.failed_sinks.begin(), c.failed_sinks.end());
  r.success = r.success && c.success;
  r.partial = !r.success && (r.partial || c.partial);
  return r;
}
}  // namespace detail

}  // namespace dagstack::logger

// configure.cpp: configure() (validate everything, then apply what is given) and shutdown().
#include "dagstack/logger/configure.h"

#include <algorithm>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/deferred.h"
#include "dagstack/logger/logger.h"
#include "detail/internal_channel.h"
#include "detail/node.h"

namespace dagstack::logger {
namespace detail {
FlushResult flush_and_close(const SinkList& sinks, std::chrono::milliseconds timeout);
}  // namespace detail

namespace {

void validate_logger_name(const std::string& name) {
  if (name.empty()) return;  // the root
  std::size_t start = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    std::size_t end = dot == std::string::npos ? name.size() : dot;
    if (end == start) {
      throw ConfigError("per_logger_levels: invalid logger name '" + name + "' (empty segment)");
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
}

}  // namespace

void configure(const ConfigureOptions& options) {
  // 1. Validate everything; nothing changes if anything is wrong.
  std::optional<int> root_level;
  if (options.root_level) root_level = options.root_level->resolve();
  std::vector<std::pair<std::string, int>> levels;
  for (const auto& [name, level] : options.per_logger_levels) {
    validate_logger_name(name);
    try {
      levels.emplace_back(name, level.resolve());
    } catch (const ConfigError& e) {
      throw ConfigError("per_logger_levels['" + name + "']: " + e.what());
    }
  }
  std::optional<std::vector<std::string>> suffixes;
  if (options.redaction) suffixes = options.redaction->effective_suffixes();
  if (options.sinks) {
    for (const auto& s : *options.sinks) {
      if (!s) throw ConfigError("sinks contains a null sink");
    }
  }
  if (options.baggage_keys) {
    for (const auto& k : *options.baggage_keys) {
      if (k.empty()) throw ConfigError("baggage_keys contains an empty string");
    }
  }

  // 2. Apply.
  auto& registry = detail::Registry::instance();
  {
    detail::Registry::Lock lock(registry);
    auto root = registry.root_locked();
    if (root_level) root->level = *root_level;
    if (options.sinks) {
      // The replaced list goes with the old snapshots, after the grace period (not under the
      // lock): a sink whose last reference this was is flushed and closed by its destructor.
      if (root->sinks) registry.retire_locked(std::make_shared<SinkList>(std::move(*root->sinks)));
      root->sinks = *options.sinks;
      detail::counters().shut_down.store(false, std::memory_order_relaxed);  // open sinks again
    }
    if (options.resource_attributes) {
      Value::Map merged;
      if (options.apply_environment) merged = registry.environment_locked().resource_attributes;
      for (const auto& [k, v] : *options.resource_attributes) merged[k] = v;
      if (merged.empty()) {
        root->resource.reset();
      } else {
        root->resource = std::make_shared<const Resource>(Resource{std::move(merged)});
      }
    }
    if (suffixes) root->redaction = std::make_shared<const detail::SuffixList>(*suffixes);
    for (const auto& [name, n] : levels) {
      auto node = registry.get_locked(name);
      node->level = n;
      registry.resolve_subtree_locked(*node);
    }
    if (options.apply_environment && (root_level || !levels.empty())) {
      registry.apply_environment_levels_locked();
    }
    if (options.auto_inject_trace_context || options.baggage_keys ||
        options.include_code_location || options.clock) {
      detail::Settings s = registry.settings();
      if (options.auto_inject_trace_context)
        s.auto_inject_trace_context = *options.auto_inject_trace_context;
      if (options.baggage_keys) s.baggage_keys = *options.baggage_keys;
      if (options.include_code_location) s.include_code_location = *options.include_code_location;
      if (options.clock) s.clock = options.clock;
      registry.publish_settings_locked(std::move(s));
    }
    registry.resolve_subtree_locked(*root);
  }
  if (suffixes && suffixes->empty()) {
    detail::report_internal(
        kSeverityWarn, "redaction disabled: replace_defaults with no extra_suffixes masks nothing",
        {{"redaction.replace_defaults", true}});
  }
}

FlushResult shutdown(std::chrono::milliseconds timeout) {
  // Records still queued on the deferred path reach their sinks before those are flushed.
  (void)flush_deferred(timeout);
  // The internal channel's own sinks go last, so that what flushing and closing the others
  // reports (undelivered records, abandoned queues) still reaches them (stderr by default).
  const SinkList internal = Logger::get(kInternalLoggerName).effective_sinks();
  SinkList first;
  SinkList last;
  for (auto& s : detail::Registry::instance().all_sinks()) {
    (std::find(internal.begin(), internal.end(), s) != internal.end() ? last : first).push_back(s);
  }
  FlushResult r = detail::flush_and_close(first, timeout);
  for (const auto& f : r.failed_sinks) {
    detail::report_internal(
        kSeverityError, "shutdown: a sink did not deliver everything",
        {{"sink.id", std::string_view(f.sink_id)}, {"error.message", std::string_view(f.error)}});
  }
  const FlushResult l = detail::flush_and_close(last, timeout);
  detail::counters().after_shutdown_reported.store(false, std::memory_order_relaxed);
  detail::counters().shut_down.store(true, std::memory_order_relaxed);
  r.failed_sinks.insert(r.failed_sinks.end(), l.failed_sinks.begin(), l.failed_sinks.end());
  r.partial = (!r.success || !l.success) && (r.success || l.success || r.partial || l.partial);
  r.success = r.success && l.success;
  return r;
}

}  // namespace dagstack::logger

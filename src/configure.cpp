// configure.cpp: configure() (validate everything, then apply what is given) and shutdown().
#include "dagstack/logger/configure.h"

#include "dagstack/logger/config_error.h"
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
  return detail::flush_and_close(detail::Registry::instance().all_sinks(), timeout);
}

}  // namespace dagstack::logger

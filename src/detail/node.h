// node.h: a node of the logger tree, its resolved (cached) state, and the registry that owns them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dagstack/logger/clock.h"
#include "dagstack/logger/environment.h"
#include "dagstack/logger/log_record.h"
#include "dagstack/logger/logger.h"

namespace dagstack::logger::detail {

using SuffixList = std::vector<std::string>;

// What an emit needs from its node, resolved once per configuration change (never per emit).
struct Resolved {
  std::uint64_t generation = 0;
  int min_severity = kSeverityInfo;
  bool sinks_explicit = false;
  SinkList sinks;
  std::shared_ptr<const Resource> resource;
  std::shared_ptr<const InstrumentationScope> scope;
  std::shared_ptr<const SuffixList> redaction;
};

struct OwnedAttribute {
  std::string key;
  Value value;
};

struct Node {
  NodeGate gate;  // the level gate read inline by Logger::is_enabled
  std::string name;
  std::shared_ptr<Node> parent;  // nullptr for the root
  bool detached = false;         // made by child()/with_sinks(); not in the registry map
  std::atomic<const Resolved*> resolved{nullptr};

  // Guarded by Registry::mutex_.
  std::optional<int> level;
  std::optional<SinkList> sinks;
  std::shared_ptr<const Resource> resource;
  std::optional<std::shared_ptr<const SuffixList>> redaction;
  std::shared_ptr<const InstrumentationScope> scope;  // nullptr on detached nodes: inherited
  std::vector<std::weak_ptr<Node>> children;
  std::vector<std::unique_ptr<const Resolved>> history;  // every Resolved ever published

  // Immutable after creation.
  std::vector<OwnedAttribute> bound;
  std::vector<Attribute> bound_view;
};

// Process-wide settings read on the emit path, published as one immutable snapshot.
struct Settings {
  bool auto_inject_trace_context = true;
  bool include_code_location = false;
  std::vector<std::string> baggage_keys;
  std::shared_ptr<const Clock> clock;
};

// Registry
//
// Owns the named nodes and the process-wide settings. Thread-safe: all mutation happens under
// one mutex; emits read only atomically published snapshots.
class Registry {
 public:
  static Registry& instance();

  std::shared_ptr<Node> get(std::string_view name, std::string_view version);
  std::shared_ptr<Node> make_detached(const std::shared_ptr<Node>& parent,
                                      std::vector<OwnedAttribute> extra_bound,
                                      std::optional<SinkList> sinks, bool append);
  void reset();

  // Runs `fn` under the registry mutex, then re-resolves `node`'s subtree.
  template <typename Fn>
  void mutate(Node& node, Fn&& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    fn(node);
    resolve_subtree_locked(node);
  }
  std::mutex& mutex() noexcept { return mutex_; }
  void resolve_subtree_locked(Node& node);
  std::shared_ptr<Node> get_locked(std::string_view name);

  const Settings& settings() const noexcept { return *settings_.load(std::memory_order_acquire); }
  // Replaces the settings snapshot (caller holds the mutex).
  void publish_settings_locked(Settings s);

  std::shared_ptr<Node> root_locked() const { return root_; }
  // The environment read when the registry was (re)built.
  const EnvironmentConfig& environment_locked() const noexcept { return env_; }
  // Applies the environment's levels (the operator's override) to the tree.
  void apply_environment_levels_locked();
  // Every sink held explicitly by a registry node (deduplicated).
  SinkList all_sinks();

 private:
  Registry();
  void install_defaults_locked();

  void report_environment_errors();

  std::mutex mutex_;
  std::atomic<bool> env_report_pending_{false};
  EnvironmentConfig env_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<Node> root_;
  std::unordered_map<std::string, std::shared_ptr<Node>> nodes_;
  std::atomic<const Settings*> settings_{nullptr};
  std::vector<std::unique_ptr<const Settings>> settings_history_;
};

}  // namespace dagstack::logger::detail

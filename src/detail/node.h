// node.h: a node of the logger tree, its resolved (cached) state, and the registry that owns them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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
// Published through Node::resolved and reclaimed after a grace period (reclaim.h).
struct Resolved {
  std::uint64_t generation = 0;
  int min_severity = kSeverityInfo;
  bool sinks_explicit = false;
  SinkList sinks;
  std::shared_ptr<const Resource> resource;
  std::shared_ptr<const InstrumentationScope> scope;
  std::shared_ptr<const SuffixList> redaction;
  std::uint64_t redaction_tail_bits = ~std::uint64_t{0};  // suffix_tail_bits(*redaction)
  LogRecordOwners owners;  // the same resource and scope, lent to records (LogRecord::owners)
};

struct OwnedAttribute {
  std::string key;
  Value value;
};

// Objects replaced under the registry lock, released after the next grace period.
using RetiredList = std::vector<std::shared_ptr<const void>>;

struct Node : std::enable_shared_from_this<Node> {
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Unlinks the node from its parent's child list (under the registry lock).
  ~Node();

  NodeGate gate;  // the level gate read inline by Logger::is_enabled
  std::string name;
  std::shared_ptr<Node> parent;  // nullptr for the root
  bool detached = false;         // made by child()/with_sinks(); not in the registry map
  // Set by Logger::reset() on the nodes of the registry it drops: from then on only handles keep
  // them, so a record queued on the deferred path holds a reference (as for detached nodes).
  std::atomic<bool> unregistered{false};
  // The snapshot emits read (inside a read section); owned by `resolved_owner`.
  std::atomic<const Resolved*> resolved{nullptr};

  // Guarded by Registry::mutex_.
  std::optional<int> level;
  std::optional<SinkList> sinks;
  std::shared_ptr<const Resource> resource;
  std::optional<std::shared_ptr<const SuffixList>> redaction;
  std::shared_ptr<const InstrumentationScope> scope;  // nullptr on detached nodes: inherited
  std::shared_ptr<const Resolved> resolved_owner;
  // Intrusive list of live children: a child links itself on creation and unlinks in its
  // destructor, so short-lived children cost nothing once their handles are gone.
  Node* first_child = nullptr;
  Node* prev_sibling = nullptr;
  Node* next_sibling = nullptr;

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
  bool system_clock = true;  // `clock` is system_clock() (set by publish_settings_locked())
};

// Registry
//
// Owns the named nodes and the process-wide settings. Thread-safe: all mutation happens under
// one mutex (through Registry::Lock); emits read only atomically published snapshots inside a
// read section, and replaced snapshots are released after a grace period, outside the lock.
class Registry {
 public:
  static Registry& instance();

  // Holds the registry mutex; on destruction unlocks, then waits for a grace period and releases
  // everything retired meanwhile (old snapshots, and the sinks only they held).
  class Lock {
   public:
    explicit Lock(Registry& r);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    Registry& registry_;
  };

  // Lock-free for a name that exists (and whose version matches or is not given).
  std::shared_ptr<Node> get(std::string_view name, std::string_view version);
  std::shared_ptr<Node> make_detached(const std::shared_ptr<Node>& parent,
                                      std::vector<OwnedAttribute> extra_bound,
                                      std::optional<SinkList> sinks, bool append);
  void reset();

  // Runs `fn` under the registry mutex, then re-resolves `node`'s subtree.
  template <typename Fn>
  void mutate(Node& node, Fn&& fn) {
    Lock lock(*this);
    fn(node);
    resolve_subtree_locked(node);
  }
  void resolve_subtree_locked(Node& node);
  std::shared_ptr<Node> get_locked(std::string_view name);

  // Valid inside a read section (or under the lock).
  const Settings& settings() const noexcept { return *settings_.load(std::memory_order_acquire); }
  // Replaces the settings snapshot (caller holds the lock).
  void publish_settings_locked(Settings s);

  std::shared_ptr<Node> root_locked() const { return root_; }
  // The environment read when the registry was (re)built.
  const EnvironmentConfig& environment_locked() const noexcept { return env_; }
  // Applies the environment's levels (the operator's override) to the tree.
  void apply_environment_levels_locked();
  // Every sink held explicitly by a registry node (deduplicated).
  SinkList all_sinks();
  // Keeps `object` alive until the grace period that follows the current lock (caller holds it).
  void retire_locked(std::shared_ptr<const void> object) {
    if (object) retired_.push_back(std::move(object));
  }

  // Called by Node::~Node.
  void unlink(Node& node) noexcept;

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using NodeMap = std::unordered_map<std::string, std::shared_ptr<Node>, NameHash, std::equal_to<>>;

  Registry();
  void install_defaults_locked();
  void publish_map_locked();
  void release_retired() noexcept;

  void report_environment_errors();

  std::mutex mutex_;
  std::atomic<bool> env_report_pending_{false};
  EnvironmentConfig env_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<Node> root_;
  NodeMap nodes_;
  // Copy of nodes_ for lock-free lookups, republished when a node is added.
  std::atomic<const NodeMap*> map_{nullptr};
  std::shared_ptr<const NodeMap> map_owner_;
  std::atomic<const Settings*> settings_{nullptr};
  std::shared_ptr<const Settings> settings_owner_;
  RetiredList retired_;  // guarded by mutex_
  std::mutex deferred_mutex_;
  RetiredList deferred_;  // retired objects whose grace period could not complete yet
};

// True while the calling thread holds the registry lock.
bool registry_lock_held() noexcept;

}  // namespace dagstack::logger::detail

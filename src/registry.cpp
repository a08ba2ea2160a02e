// registry.cpp: the logger tree, its eager resolution, and the process-wide defaults.
#include "detail/node.h"

#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <unordered_set>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/redaction_config.h"
#include "dagstack/logger/sinks/console_sink.h"
#include "deferred/deferred_path.h"
#include "detail/internal_channel.h"
#include "detail/reclaim.h"
#include "redaction/redactor.h"

namespace dagstack::logger::detail {
namespace {

thread_local bool tl_lock_held = false;

// How long a configuration change waits for emits still inside old snapshots before it leaves
// them to a later change (a sink that hangs in emit must not hang configure()).
constexpr std::chrono::milliseconds kGraceTimeout{2000};

std::string_view parent_name(std::string_view name) {
  auto dot = name.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : name.substr(0, dot);
}

std::shared_ptr<const SuffixList> default_suffixes() {
  static const auto suffixes = std::make_shared<const SuffixList>(kDefaultSecretSuffixes.begin(),
                                                                  kDefaultSecretSuffixes.end());
  return suffixes;
}

}  // namespace

bool registry_lock_held() noexcept { return tl_lock_held; }

Registry::Lock::Lock(Registry& r) : registry_(r) {
  registry_.mutex_.lock();
  tl_lock_held = true;
}

Registry::Lock::~Lock() {
  RetiredList retired;
  retired.swap(registry_.retired_);
  tl_lock_held = false;
  registry_.mutex_.unlock();
  if (!retired.empty()) {
    std::lock_guard<std::mutex> lock(registry_.deferred_mutex_);
    for (auto& r : retired) registry_.deferred_.push_back(std::move(r));
  }
  registry_.release_retired();
}

void Registry::release_retired() noexcept {
  {
    std::lock_guard<std::mutex> lock(deferred_mutex_);
    if (deferred_.empty()) return;
  }
  // Everything retired so far was unpublished before this point: one grace period covers it.
  RetiredList batch;
  {
    std::lock_guard<std::mutex> lock(deferred_mutex_);
    batch.swap(deferred_);
  }
  if (synchronize(kGraceTimeout)) {
    batch.clear();  // sinks only the old snapshots held are flushed, closed and destroyed here
    return;
  }
  std::lock_guard<std::mutex> lock(deferred_mutex_);
  for (auto& r : batch) deferred_.push_back(std::move(r));
}

Registry& Registry::instance() {
  // Leaked on purpose: sinks may log during static destruction.
  static Registry* registry = [] {
    auto* r = new Registry();
    std::atexit([] { (void)shutdown(std::chrono::milliseconds(2000)); });
    // fork(): hold the registry lock across the fork so the child never inherits it locked by a
    // thread that does not exist there. The child can then reconfigure and log (docs/index.md).
    ::pthread_atfork([] { Registry::instance().mutex_.lock(); },
                     [] { Registry::instance().mutex_.unlock(); },
                     [] {
                       auto& reg = Registry::instance();
                       new (&reg.deferred_mutex_) std::mutex();
                       reclaim_after_fork_child();
                       deferred_after_fork_child();
                       reg.mutex_.unlock();
                     });
    return r;
  }();
  // Errors found in the environment are reported once, outside the registry lock (the report
  // itself goes through the registry, so this must come after construction).
  if (registry->env_report_pending_.load(std::memory_order_relaxed) &&
      registry->env_report_pending_.exchange(false)) {
    registry->report_environment_errors();
  }
  return *registry;
}

void Registry::report_environment_errors() {
  std::vector<std::string> errors;
  {
    Lock lock(*this);
    errors = env_.errors;
  }
  for (const auto& e : errors) {
    report_internal(kSeverityWarn, "ignored a bad environment setting", {{"error.message", e}});
  }
}

void Registry::apply_environment_levels_locked() {
  if (env_.root_level) {
    root_->level = *env_.root_level;
  }
  for (const auto& [name, level] : env_.logger_levels) {
    get_locked(name)->level = level;
  }
}

Registry::Registry() {
  std::lock_guard<std::mutex> lock(mutex_);
  tl_lock_held = true;
  install_defaults_locked();
  tl_lock_held = false;
  // Nothing can be reading yet: what the defaults replaced is released at once.
  retired_.clear();
}

void Registry::install_defaults_locked() {
  nodes_.clear();
  root_ = std::make_shared<Node>();
  root_->scope = std::make_shared<const InstrumentationScope>(InstrumentationScope{"root", {}, {}});
  // Contract §4.3 / DESIGN §4.3: before configure(), the root logs at INFO to the console.
  root_->level = kSeverityInfo;
  root_->sinks = SinkList{make_console_sink({})};
  root_->redaction = default_suffixes();
  nodes_.emplace("", root_);

  Settings s;
  s.baggage_keys = default_baggage_keys();
  s.clock = std::shared_ptr<const Clock>(&system_clock(), [](const Clock*) {});
  publish_settings_locked(std::move(s));

  // The environment: levels override, resource attributes are the base.
  env_ = read_environment();
  apply_environment_levels_locked();
  if (!env_.resource_attributes.empty()) {
    root_->resource = std::make_shared<const Resource>(Resource{env_.resource_attributes});
  }
  if (!env_.errors.empty()) env_report_pending_.store(true, std::memory_order_relaxed);

  // The internal channel never inherits the root's sinks (no feedback loops) and keeps its own
  // level; the trace channel keeps its own level so spans survive a raised root level.
  auto internal = get_locked(kInternalLoggerName);
  internal->sinks =
      SinkList{make_console_sink({ConsoleMode::kJson, stderr, nullptr, kSeverityWarn})};
  internal->level = kSeverityWarn;
  auto trace = get_locked("dagstack.trace");
  trace->level = kSeverityInfo;
  resolve_subtree_locked(*root_);
  publish_map_locked();
}

void Registry::publish_settings_locked(Settings s) {
  s.system_clock = s.clock.get() == &system_clock();
  auto owned = std::make_shared<const Settings>(std::move(s));
  settings_.store(owned.get(), std::memory_order_release);
  retire_locked(std::move(settings_owner_));
  settings_owner_ = std::move(owned);
}

void Registry::publish_map_locked() {
  auto copy = std::make_shared<const NodeMap>(nodes_);
  map_.store(copy.get(), std::memory_order_release);
  retire_locked(std::move(map_owner_));
  map_owner_ = std::move(copy);
}

namespace {
void link_child(Node& parent, Node& child) noexcept {
  child.prev_sibling = nullptr;
  child.next_sibling = parent.first_child;
  if (parent.first_child != nullptr) parent.first_child->prev_sibling = &child;
  parent.first_child = &child;
}
}  // namespace

std::shared_ptr<Node> Registry::get_locked(std::string_view name) {
  auto it = nodes_.find(name);
  if (it != nodes_.end()) return it->second;
  auto parent = get_locked(parent_name(name));
  auto node = std::make_shared<Node>();
  node->name = std::string(name);
  node->parent = parent;
  node->scope =
      std::make_shared<const InstrumentationScope>(InstrumentationScope{node->name, {}, {}});
  link_child(*parent, *node);
  nodes_.emplace(node->name, node);
  resolve_subtree_locked(*node);
  publish_map_locked();
  return node;
}

std::shared_ptr<Node> Registry::get(std::string_view name, std::string_view version) {
  {
    ReadSection section;
    const NodeMap* map = map_.load(std::memory_order_acquire);
    if (map != nullptr) {
      auto it = map->find(name);
      if (it != map->end()) {
        const Resolved* r = it->second->resolved.load(std::memory_order_acquire);
        if (version.empty() || (r->scope && r->scope->version == version)) return it->second;
      }
    }
  }
  Lock lock(*this);
  auto node = get_locked(name);
  if (!version.empty() && node->scope->version != version) {
    InstrumentationScope scope = *node->scope;
    scope.version = std::string(version);
    node->scope = std::make_shared<const InstrumentationScope>(std::move(scope));
    resolve_subtree_locked(*node);
  }
  return node;
}

std::shared_ptr<Node> Registry::make_detached(const std::shared_ptr<Node>& parent,
                                              std::vector<OwnedAttribute> extra_bound,
                                              std::optional<SinkList> sinks, bool append) {
  auto node = std::make_shared<Node>();
  node->name = parent->name;
  node->parent = parent;
  node->detached = true;
  node->bound = parent->bound;
  for (auto& attr : extra_bound) {
    auto it = std::find_if(node->bound.begin(), node->bound.end(),
                           [&](const OwnedAttribute& a) { return a.key == attr.key; });
    if (it != node->bound.end()) {
      it->value = std::move(attr.value);
    } else {
      node->bound.push_back(std::move(attr));
    }
  }
  node->bound_view.reserve(node->bound.size());
  for (const auto& a : node->bound) node->bound_view.push_back({a.key, AttrValue(a.value)});

  Lock lock(*this);
  if (sinks) {
    if (append) {
      SinkList combined = parent->resolved.load(std::memory_order_acquire)->sinks;
      combined.insert(combined.end(), sinks->begin(), sinks->end());
      node->sinks = std::move(combined);
    } else {
      node->sinks = std::move(*sinks);
    }
  }
  link_child(*parent, *node);
  resolve_subtree_locked(*node);
  return node;
}

void Registry::unlink(Node& node) noexcept {
  if (!node.parent) return;
  const bool locked_here = !tl_lock_held;
  if (locked_here) {
    mutex_.lock();
    tl_lock_held = true;
  }
  Node& parent = *node.parent;
  if (node.prev_sibling != nullptr) {
    node.prev_sibling->next_sibling = node.next_sibling;
  } else if (parent.first_child == &node) {
    parent.first_child = node.next_sibling;
  }
  if (node.next_sibling != nullptr) node.next_sibling->prev_sibling = node.prev_sibling;
  node.prev_sibling = node.next_sibling = nullptr;
  if (locked_here) {
    tl_lock_held = false;
    mutex_.unlock();
  }
}

Node::~Node() {
  if (parent) Registry::instance().unlink(*this);
  // No handle refers to this node any more, so no emit can be reading its snapshot: the
  // snapshot (and any sink only it held) goes with the node, on this thread.
}

void Registry::resolve_subtree_locked(Node& node) {
  ++generation_;
  const Resolved* parent =
      node.parent ? node.parent->resolved.load(std::memory_order_relaxed) : nullptr;
  auto r = std::make_shared<Resolved>();
  r->generation = generation_;
  r->min_severity = node.level ? *node.level : (parent ? parent->min_severity : kSeverityTrace);
  r->sinks_explicit = node.sinks.has_value();
  r->sinks = node.sinks ? *node.sinks : (parent ? parent->sinks : SinkList{});
  r->resource = node.resource ? node.resource : (parent ? parent->resource : nullptr);
  r->scope = node.scope ? node.scope : (parent ? parent->scope : nullptr);
  r->redaction =
      node.redaction ? *node.redaction : (parent ? parent->redaction : default_suffixes());
  r->redaction_tail_bits = suffix_tail_bits(*r->redaction);
  r->owners.resource = r->resource;
  r->owners.scope = r->scope;
  node.resolved.store(r.get(), std::memory_order_release);
  node.gate.min_severity.store(r->min_severity, std::memory_order_relaxed);
  retire_locked(std::move(node.resolved_owner));
  node.resolved_owner = std::move(r);

  for (Node* child = node.first_child; child != nullptr; child = child->next_sibling) {
    resolve_subtree_locked(*child);
  }
}

void Registry::reset() {
  // The old tree (and any sink only it still holds) is released after the lock and a grace
  // period: a sink's destructor may flush and report on the internal channel, which needs the
  // registry, and emits through old handles may still be inside old snapshots.
  Lock lock(*this);
  counters().shut_down.store(false, std::memory_order_relaxed);
  root_->unregistered.store(true, std::memory_order_release);
  for (const auto& [name, node] : nodes_) node->unregistered.store(true, std::memory_order_release);
  retire_locked(std::move(root_));
  retire_locked(std::make_shared<NodeMap>(std::move(nodes_)));
  nodes_ = NodeMap{};
  install_defaults_locked();
}

SinkList Registry::all_sinks() {
  Lock lock(*this);
  SinkList out;
  std::unordered_set<const Sink*> seen;
  for (const auto& [name, node] : nodes_) {
    if (!node->sinks) continue;
    for (const auto& s : *node->sinks) {
      if (s && seen.insert(s.get()).second) out.push_back(s);
    }
  }
  return out;
}

}  // namespace dagstack::logger::detail

// subscription.h: declares `Subscription`, the handle returned by Logger::on_reconfigure().
#pragma once

#include <atomic>
#include <memory>
#include <string>

namespace dagstack::logger {

// Subscription
//
// A registration for configuration-change callbacks, as in the dagstack Python, Go and
// TypeScript bindings. Loggers do not watch a configuration source yet, so every subscription is
// inactive (`active() == false`, with `inactive_reason()` saying why) and its callback is never
// called. unsubscribe() is idempotent. Thread-safe; copies share the unsubscribed state.
class Subscription {
 public:
  Subscription(std::string path, bool active, std::string inactive_reason);

  // "logger:<name>" for a logger's subscription ("logger:" for the root).
  const std::string& path() const noexcept { return state_->path; }
  // False while no watch-based reconfiguration exists, and after unsubscribe().
  bool active() const noexcept {
    return state_->active && !state_->unsubscribed.load(std::memory_order_acquire);
  }
  // Why the subscription is inactive ("" when active).
  const std::string& inactive_reason() const noexcept { return state_->inactive_reason; }
  // Ends the subscription. Returns true on the first call, false on later ones (a no-op).
  bool unsubscribe() noexcept {
    return !state_->unsubscribed.exchange(true, std::memory_order_acq_rel);
  }
  bool unsubscribed() const noexcept {
    return state_->unsubscribed.load(std::memory_order_acquire);
  }

 private:
  struct State {
    std::string path;
    bool active = false;
    std::string inactive_reason;
    std::atomic<bool> unsubscribed{false};
  };
  std::shared_ptr<State> state_;
};

}  // namespace dagstack::logger

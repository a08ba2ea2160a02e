// logger_api.cpp: Logger accessors and registrations beside the emit path: version(),
// on_reconfigure().
#include <string>
#include <utility>

#include "dagstack/logger/logger.h"
#include "detail/internal_channel.h"
#include "detail/node.h"

namespace dagstack::logger {

Subscription::Subscription(std::string path, bool active, std::string inactive_reason)
    : state_(std::make_shared<State>()) {
  state_->path = std::move(path);
  state_->active = active;
  state_->inactive_reason = std::move(inactive_reason);
}

std::string Logger::version() const {
  const detail::Resolved* r = node_->resolved.load(std::memory_order_acquire);
  return r != nullptr && r->scope != nullptr ? r->scope->version : std::string();
}

Subscription Logger::on_reconfigure(ReconfigureCallback callback) const {
  (void)callback;  // never called: there is no watch-based reconfiguration to report
  std::string path = "logger:" + name();
  detail::report_internal(kSeverityWarn, "subscription_without_watch",
                          {{"subscription.path", path}, {"logger.name", name()}});
  return Subscription(std::move(path), false,
                      "Phase 1 logger does not support watch-based reconfigure");
}

}  // namespace dagstack::logger

// northstar_options.cpp: NORTHSTAR_* environment handling, endpoint derivation, validation.
#include "dagstack/logger/northstar/northstar_options.h"

#include <cmath>
#include <cstdlib>

#include "dagstack/logger/config_error.h"

namespace dagstack::logger::northstar {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

void fill(std::string& field, const char* name) {
  if (field.empty()) field = env(name);
}

std::optional<bool> env_bool(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return parse_env_bool(name, v);
}

bool valid_project_id(std::string_view id) noexcept {
  if (id.empty()) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

bool parse_env_bool(std::string_view name, std::string_view value) {
  std::size_t b = 0;
  std::size_t e = value.size();
  while (b < e && (value[b] == ' ' || value[b] == '\t' || value[b] == '\n' || value[b] == '\r'))
    ++b;
  while (e > b && (value[e - 1] == ' ' || value[e - 1] == '\t' || value[e - 1] == '\n' ||
                   value[e - 1] == '\r'))
    --e;
  std::string v(value.substr(b, e - b));
  for (char& c : v) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw ConfigError(std::string(name) + " must be a boolean");
}

NorthStarOptions NorthStarOptions::from_env(NorthStarOptions base) {
  fill(base.api_key, "NORTHSTAR_API_KEY");
  fill(base.project_id, "NORTHSTAR_PROJECT_ID");
  fill(base.endpoint, "NORTHSTAR_ENDPOINT");
  fill(base.project, "NORTHSTAR_PROJECT");
  fill(base.environment, "NORTHSTAR_ENVIRONMENT");
  if (!base.enabled) base.enabled = env_bool("NORTHSTAR_ENABLED");
  if (!base.debug) base.debug = env_bool("NORTHSTAR_DEBUG");
  return base;
}

NorthStarOptions NorthStarOptions::from_env() { return from_env(NorthStarOptions{}); }

bool NorthStarOptions::active() const noexcept {
  return enabled.value_or(true) && !api_key.empty() && (!endpoint.empty() || !project_id.empty());
}

std::string NorthStarOptions::resolved_endpoint() const {
  if (!endpoint.empty()) {
    std::string url = endpoint;
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.empty()) throw ConfigError("northstar endpoint must not be empty");
    return url;
  }
  if (project_id.empty()) throw ConfigError("northstar project_id is required (or set endpoint)");
  if (!valid_project_id(project_id)) {
    throw ConfigError("northstar project_id must match ^[a-z0-9]+$, got '" + project_id + "'");
  }
  return "https://" + project_id + ".supabase.co/functions/v1/ingest-traces";
}

void NorthStarOptions::validate() const {
  if (batch_size == 0) throw ConfigError("northstar batch_size must be greater than zero");
  if (flush_interval.count() <= 0)
    throw ConfigError("northstar flush_interval must be greater than zero");
  if (max_queue_bytes < 65536)
    throw ConfigError("northstar max_queue_bytes must be at least 65536");
  if (max_batch_records == 0)
    throw ConfigError("northstar max_batch_records must be greater than zero");
  if (request_timeout.count() <= 0)
    throw ConfigError("northstar request_timeout must be greater than zero");
  if (shutdown_timeout.count() < 0)
    throw ConfigError("northstar shutdown_timeout must not be negative");
  if (retry.initial_backoff.count() < 0 || retry.max_backoff.count() < 0 ||
      retry.max_retry_after.count() < 0) {
    throw ConfigError("northstar retry delays must not be negative");
  }
  if (!(retry.multiplier >= 1.0) || !std::isfinite(retry.multiplier)) {
    throw ConfigError("northstar retry.multiplier must be >= 1");
  }
  if (!(retry.jitter >= 0.0 && retry.jitter <= 1.0))
    throw ConfigError("northstar retry.jitter must be in [0, 1]");
  if (retry.max_attempts < 1) throw ConfigError("northstar retry.max_attempts must be at least 1");
  if (retry.outage_probe_interval.count() <= 0)
    throw ConfigError("northstar retry.outage_probe_interval must be greater than zero");
  if (!outbox_dir.empty() && outbox_max_bytes == 0)
    throw ConfigError("northstar outbox_max_bytes must be greater than zero");
  for (const auto& k : redact_keys) {
    if (k.empty()) throw ConfigError("northstar redact_keys contains an empty string");
  }
  if (active()) (void)resolved_endpoint();
}

}  // namespace dagstack::logger::northstar

// environment.cpp: parsing of DAGSTACK_LOG_LEVEL, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
#include "dagstack/logger/environment.h"

#include <cstdlib>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/severity.h"

namespace dagstack::logger {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <typename Fn>
void for_each_item(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `s`; returns false on a malformed escape.
bool percent_decode(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int hi = hex_digit(s[i + 1]);
    const int lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool valid_logger_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  return name.find("..") == std::string_view::npos;
}

}  // namespace

EnvironmentConfig parse_environment(std::string_view level_spec, std::string_view service_name,
                                    std::string_view resource_attributes) {
  EnvironmentConfig cfg;
  for_each_item(level_spec, [&](std::string_view item) {
    const auto eq = item.find('=');
    const std::string_view name =
        eq == std::string_view::npos ? std::string_view{} : trim(item.substr(0, eq));
    const std::string_view level = eq == std::string_view::npos ? item : trim(item.substr(eq + 1));
    if (eq != std::string_view::npos && !valid_logger_name(name)) {
      cfg.errors.push_back("DAGSTACK_LOG_LEVEL: invalid logger name in '" + std::string(item) +
                           "'");
      return;
    }
    try {
      const int n = parse_severity(level);
      if (eq == std::string_view::npos) {
        cfg.root_level = n;
      } else {
        cfg.logger_levels[std::string(name)] = n;
      }
    } catch (const ConfigError& e) {
      cfg.errors.push_back("DAGSTACK_LOG_LEVEL: " + std::string(e.what()) + " in '" +
                           std::string(item) + "'");
    }
  });
  for_each_item(resource_attributes, [&](std::string_view item) {
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || trim(item.substr(0, eq)).empty()) {
      cfg.errors.push_back("OTEL_RESOURCE_ATTRIBUTES: expected key=value, got '" +
                           std::string(item) + "'");
      return;
    }
    std::string value;
    if (!percent_decode(trim(item.substr(eq + 1)), value)) {
      cfg.errors.push_back("OTEL_RESOURCE_ATTRIBUTES: bad percent-encoding in '" +
                           std::string(item) + "'");
      return;
    }
    cfg.resource_attributes[std::string(trim(item.substr(0, eq)))] = Value(std::move(value));
  });
  const std::string_view service = trim(service_name);
  if (!service.empty()) cfg.resource_attributes["service.name"] = Value(service);
  return cfg;
}

EnvironmentConfig read_environment() {
  auto get = [](const char* name) -> std::string_view {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string_view{} : std::string_view(v);
  };
  return parse_environment(get("DAGSTACK_LOG_LEVEL"), get("OTEL_SERVICE_NAME"),
                           get("OTEL_RESOURCE_ATTRIBUTES"));
}

}  // namespace dagstack::logger

// value.cpp: implements `Value` lookups.
#include "dagstack/logger/value.h"

namespace dagstack::logger {

const Value* Value::find(std::string_view key) const noexcept {
  const auto* map = std::get_if<Map>(&data_);
  if (map == nullptr) return nullptr;
  auto it = map->find(key);
  return it == map->end() ? nullptr : &it->second;
}

}  // namespace dagstack::logger

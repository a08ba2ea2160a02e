// value.cpp: implements `Value` lookups, and its iterative copy and destruction.
#include "dagstack/logger/value.h"

#include <utility>
#include <vector>

namespace dagstack::logger {

const Value* Value::find(std::string_view key) const noexcept {
  const auto* map = std::get_if<Map>(&data_);
  if (map == nullptr) return nullptr;
  auto it = map->find(key);
  return it == map->end() ? nullptr : &it->second;
}

void Value::copy_nested(const Value& other) {
  // Each entry: a source container and the (still null) Value that becomes its copy.
  std::vector<std::pair<const Value*, Value*>> work;
  work.emplace_back(&other, this);
  while (!work.empty()) {
    const auto [src, dst] = work.back();
    work.pop_back();
    if (const auto* array = std::get_if<Array>(&src->data_)) {
      // Sized first: element addresses stay valid while they wait in `work`.
      auto& out = dst->data_.emplace<Array>(array->size());
      for (std::size_t i = 0; i < array->size(); ++i) {
        const Value& e = (*array)[i];
        if (e.is_array() || e.is_map()) {
          work.emplace_back(&e, &out[i]);
        } else {
          out[i].data_ = e.data_;
        }
      }
    } else if (const auto* map = std::get_if<Map>(&src->data_)) {
      auto& out = dst->data_.emplace<Map>();
      for (const auto& [key, e] : *map) {
        Value& slot = out.emplace_hint(out.end(), key, Value())->second;
        if (e.is_array() || e.is_map()) {
          work.emplace_back(&e, &slot);
        } else {
          slot.data_ = e.data_;
        }
      }
    } else {
      dst->data_ = src->data_;
    }
  }
}

void Value::release_nested() noexcept {
  // Nested containers are moved out onto a list and freed one at a time, each after its own
  // nested containers were moved out: the destructor never recurses more than one level.
  auto take_children = [](Value& v, std::vector<Value>& pending) {
    if (auto* array = std::get_if<Array>(&v.data_)) {
      for (Value& e : *array) {
        if (e.is_array() || e.is_map()) {
          Value taken;  // `e` is left null: nothing left to walk there
          taken.data_.swap(e.data_);
          pending.push_back(std::move(taken));
        }
      }
    } else if (auto* map = std::get_if<Map>(&v.data_)) {
      for (auto& entry : *map) {
        if (entry.second.is_array() || entry.second.is_map()) {
          Value taken;
          taken.data_.swap(entry.second.data_);
          pending.push_back(std::move(taken));
        }
      }
    }
  };
  try {
    std::vector<Value> pending;
    take_children(*this, pending);
    while (!pending.empty()) {
      Value v = std::move(pending.back());
      pending.pop_back();
      take_children(v, pending);
    }
  } catch (...) {
    // Out of memory for the list: what is left is freed recursively by the members.
  }
}

}  // namespace dagstack::logger

// pricing.cpp: the model price table (JSON file, built-in copy, lookups).
#include "dagstack/logger/northstar/pricing.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "dagstack/logger/config_error.h"

namespace dagstack::logger::northstar {
namespace detail {
extern const char* const kBuiltinPricingJson;
}  // namespace detail

namespace {

// (Member access by name and by index only: clang warns about rapidjson 1.1's iterator
// comparisons in C++20.)
double read_price(const rapidjson::Value& model, const char* key, const std::string& name) {
  if (!model.HasMember(key) || !model[key].IsNumber()) {
    throw ConfigError("pricing: models[\"" + name + "\"]." + key + " must be a number");
  }
  return model[key].GetDouble();
}

}  // namespace

const PricingTable& PricingTable::builtin() {
  static const PricingTable table = parse(detail::kBuiltinPricingJson);
  return table;
}

PricingTable PricingTable::parse(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    throw ConfigError(std::string("pricing: invalid JSON: ") +
                      rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                      std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) throw ConfigError("pricing: the document must be a JSON object");
  if (!doc.HasMember("models") || !doc["models"].IsObject()) {
    throw ConfigError("pricing: \"models\" must be an object");
  }
  const rapidjson::Value& models = doc["models"];
  PricingTable table;
  for (rapidjson::SizeType i = 0; i < models.MemberCount(); ++i) {
    const auto& m = *(models.MemberBegin() + i);
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!m.value.IsObject())
      throw ConfigError("pricing: models[\"" + name + "\"] must be an object");
    ModelPrice p;
    p.input_usd_per_token = read_price(m.value, "input_usd_per_1m", name) / 1e6;
    p.output_usd_per_token = read_price(m.value, "output_usd_per_1m", name) / 1e6;
    table.set(std::move(name), p);
  }
  return table;
}

PricingTable PricingTable::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("pricing: cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return parse(ss.str());
  } catch (const ConfigError& e) {
    throw ConfigError(std::string(e.what()) + " (file '" + path + "')");
  }
}

void PricingTable::set(std::string model, ModelPrice price) {
  if (model.empty()) throw ConfigError("pricing: model name must not be empty");
  if (!std::isfinite(price.input_usd_per_token) || !std::isfinite(price.output_usd_per_token) ||
      price.input_usd_per_token < 0 || price.output_usd_per_token < 0) {
    throw ConfigError("pricing: price of '" + model + "' must be finite and >= 0");
  }
  prices_.insert_or_assign(std::move(model), price);
}

const ModelPrice* PricingTable::find(std::string_view model) const noexcept {
  if (model.empty()) return nullptr;
  auto it = prices_.find(model);
  if (it != prices_.end()) return &it->second;
  // "openai/gpt-4o" -> "gpt-4o"
  if (auto slash = model.rfind('/'); slash != std::string_view::npos) {
    if (const ModelPrice* p = find(model.substr(slash + 1))) return p;
  }
  // "gpt-4o-2024-08-06" -> the longest known name followed by '-'.
  const ModelPrice* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [name, price] : prices_) {
    if (name.size() < model.size() && name.size() > best_len &&
        model.compare(0, name.size(), name) == 0 && model[name.size()] == '-') {
      best = &price;
      best_len = name.size();
    }
  }
  return best;
}

std::optional<double> PricingTable::cost(std::string_view model, std::int64_t input_tokens,
                                         std::int64_t output_tokens) const noexcept {
  const ModelPrice* p = find(model);
  if (p == nullptr) return std::nullopt;
  return static_cast<double>(input_tokens) * p->input_usd_per_token +
         static_cast<double>(output_tokens) * p->output_usd_per_token;
}

}  // namespace dagstack::logger::northstar

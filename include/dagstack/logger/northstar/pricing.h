// pricing.h: declares `ModelPrice` and `PricingTable`, the USD per-token prices the NorthStar sink
// uses to put `cost_usd` on model spans.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace dagstack::logger::northstar {

// The USD price of one input (prompt) token and one output (completion) token.
struct ModelPrice {
  double input_usd_per_token = 0.0;
  double output_usd_per_token = 0.0;

  friend bool operator==(const ModelPrice&, const ModelPrice&) = default;
};

// PricingTable
//
// Model name -> price. The file format is JSON:
//   {"models": {"gpt-4o": {"input_usd_per_1m": 2.5, "output_usd_per_1m": 10.0}, ...}}
// (other top-level keys such as "source" are ignored). Lookups try the exact name, then the name
// without a provider prefix ("openai/gpt-4o" -> "gpt-4o"), then the longest known name followed by
// '-' ("gpt-4o-2024-08-06" -> "gpt-4o"). Value type; concurrent const use is safe.
class PricingTable {
 public:
  PricingTable() = default;

  // The table compiled into the library from sinks/northstar/pricing.json.
  static const PricingTable& builtin();
  // Parses the JSON text. Throws ConfigError naming the problem.
  static PricingTable parse(std::string_view json);
  // Reads and parses a file. Throws ConfigError when it cannot be read or parsed.
  static PricingTable load_file(const std::string& path);

  // Adds or replaces one model's price. Prices must be finite and >= 0 (ConfigError otherwise).
  void set(std::string model, ModelPrice price);
  // The price for `model` (see the lookup rules above), or nullptr.
  const ModelPrice* find(std::string_view model) const noexcept;
  // input * in_price + output * out_price, or nullopt for an unknown model.
  std::optional<double> cost(std::string_view model, std::int64_t input_tokens,
                             std::int64_t output_tokens) const noexcept;
  std::size_t size() const noexcept { return prices_.size(); }
  const std::map<std::string, ModelPrice, std::less<>>& prices() const noexcept { return prices_; }

 private:
  std::map<std::string, ModelPrice, std::less<>> prices_;
};

}  // namespace dagstack::logger::northstar

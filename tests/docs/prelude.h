// prelude.h: what the documentation's code fragments take from their surrounding code (the
// names a page's earlier text introduced), for scripts/check_doc_snippets.py.
#pragma once

#include <dagstack/logger.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#define EXPECT_EQ(a, b) static_cast<void>((a) == (b))

namespace doc_prelude {
struct Order {};
struct Card {};
inline dagstack::logger::Logger log = dagstack::logger::Logger::get("doc");
inline dagstack::logger::ConfigureOptions options;
inline int attempt = 1;
inline int max_attempts = 3;
inline double amount = 12.5;
inline std::string currency = "EUR";
inline Order order;
inline Card card;
inline std::string expensive_dump() { return "state"; }
inline void code_under_test() {}
inline void charge(const Order&) {}
inline void charge(const Card&) {}
}  // namespace doc_prelude

// Values nested a million levels deep are copied, encoded (depth-capped with a marker), logged
// through File, InMemory and Async sinks, and destroyed without exhausting the stack; an
// exception whose what() returns nullptr is logged without crashing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dagstack/logger.hpp"

namespace dl = dagstack::logger;

namespace {

constexpr int kDepth = 1000000;

dl::Value deep_array(int depth) {
  dl::Value v = 42;
  for (int i = 0; i < depth; ++i) {
    dl::Value::Array a;
    a.push_back(std::move(v));
    v = dl::Value(std::move(a));
  }
  return v;
}

dl::Value deep_map(int depth) {
  dl::Value v = "leaf";
  for (int i = 0; i < depth; ++i) {
    dl::Value::Map m;
    m.emplace("k", std::move(v));
    v = dl::Value(std::move(m));
  }
  return v;
}

std::string capped_array_text() {
  std::string s(dl::kMaxJsonDepth, '[');
  dl::append_json_string(dl::kDepthMarker, s);
  s.append(dl::kMaxJsonDepth, ']');
  return s;
}

}  // namespace

TEST(DeepValue, MillionLevelsEncodeWithTheDepthMarker) {
  const dl::Value v = deep_array(kDepth);
  std::string out;
  EXPECT_TRUE(dl::append_canonical_json(v, out));
  EXPECT_EQ(out, capped_array_text());

  const dl::Value m = deep_map(kDepth);
  out.clear();
  EXPECT_TRUE(dl::append_canonical_json(m, out));
  EXPECT_EQ(out.substr(0, 10), "{\"k\":{\"k\":");
  EXPECT_NE(out.find(std::string(dl::kDepthMarker)), std::string::npos);
}

TEST(DeepValue, ShallowValuesAreUnchanged) {
  const dl::Value v = deep_array(dl::kMaxJsonDepth);  // exactly at the cap: written in full
  std::string out;
  dl::append_canonical_json(v, out);
  EXPECT_EQ(out, std::string(dl::kMaxJsonDepth, '[') + "42" + std::string(dl::kMaxJsonDepth, ']'));
}

TEST(DeepValue, MillionLevelsCopyAssignAndDestroy) {
  dl::Value v = deep_array(kDepth);
  dl::Value copy = v;  // iterative copy
  EXPECT_TRUE(copy.is_array());
  // Walk the copy down to the leaf without recursion.
  const dl::Value* p = &copy;
  int depth = 0;
  while (p->is_array()) {
    p = &p->as_array().front();
    ++depth;
  }
  EXPECT_EQ(depth, kDepth);
  EXPECT_EQ(p->as_int(), 42);
  dl::Value other = deep_map(kDepth);
  other = copy;  // the old deep map is freed iteratively
  other = deep_map(kDepth);
  copy = std::move(other);
  EXPECT_TRUE(copy.is_map());
}

TEST(DeepValue, MillionLevelsThroughEverySink) {
  dl::Logger::reset();
  const auto dir = std::filesystem::temp_directory_path() / "dagstack-deep-value";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "deep.jsonl").string();
  std::filesystem::remove(path);
  auto memory = std::make_shared<dl::InMemorySink>(10);
  auto async_memory = std::make_shared<dl::InMemorySink>(10);
  auto async = dl::make_async_sink(async_memory);
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{dl::make_file_sink({.path = path}), memory, async};
  dl::configure(o);
  {
    const dl::Value v = deep_array(kDepth);
    dl::Logger::get("deep").info("deep value", {{"payload", v}});
  }
  EXPECT_TRUE(dl::Logger::get().flush().success);
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_NE(line.find("\"payload\":" + capped_array_text()), std::string::npos);
  ASSERT_EQ(memory->size(), 1u);
  ASSERT_EQ(async_memory->size(), 1u);
  EXPECT_NE(memory->lines()[0].find(std::string(dl::kDepthMarker)), std::string::npos);
  dl::Logger::reset();
  std::filesystem::remove_all(dir);
}

namespace {
struct NullWhat : std::exception {
  const char* what() const noexcept override { return nullptr; }
};
}  // namespace

TEST(DeepValue, ExceptionWhoseWhatIsNullIsLogged) {
  dl::Logger::reset();
  auto memory = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{memory};
  dl::configure(o);
  dl::Logger::get("x").exception(NullWhat{});
  try {
    throw NullWhat{};
  } catch (...) {
    dl::Logger::get("x").exception(std::current_exception());
  }
  ASSERT_EQ(memory->size(), 2u);
  for (const auto& r : memory->records()) {
    const dl::Value* msg = r.attribute("exception.message");
    ASSERT_NE(msg, nullptr);
    EXPECT_EQ(msg->as_string(), "");
  }
  dl::Logger::reset();
}

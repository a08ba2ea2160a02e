// canonical_json_conformance_test.cpp: runs the vendored canonical JSON fixtures
// (tests/conformance/fixtures/): the 5 key-order cases of canonical_json_key_order.json and the
// 400 vectors of canonical_json_vectors.jsonl.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/value.h"
#include "support/json_value.h"

namespace dagstack::logger {
namespace {

using testing::to_value;

constexpr unsigned kParseFlags =
    rapidjson::kParseFullPrecisionFlag | rapidjson::kParseValidateEncodingFlag;

std::string read_file(const std::string& name) {
  const std::string path = std::string(DAGSTACK_FIXTURES_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string str(const rapidjson::Value& j) { return std::string(j.GetString(), j.GetStringLength()); }

struct Vector {
  int line;
  Value input;
  std::string expected;
};

std::vector<Vector> load_vectors() {
  std::vector<Vector> vectors;
  std::istringstream in(read_file("canonical_json_vectors.jsonl"));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    rapidjson::Document doc;
    doc.Parse<kParseFlags>(line.data(), line.size());
    EXPECT_FALSE(doc.HasParseError())
        << "line " << number << ": " << rapidjson::GetParseError_En(doc.GetParseError());
    if (doc.HasParseError()) continue;
    EXPECT_TRUE(doc.IsObject() && doc.HasMember("input") && doc.HasMember("expected") &&
                doc["expected"].IsString())
        << "line " << number;
    vectors.push_back({number, to_value(doc["input"]), str(doc["expected"])});
  }
  return vectors;
}

TEST(CanonicalJsonConformanceTest, VectorFileHas400Vectors) {
  EXPECT_EQ(load_vectors().size(), 400u);
}

TEST(CanonicalJsonConformanceTest, AllVectorsEncodeToExpected) {
  const std::vector<Vector> vectors = load_vectors();
  int passed = 0;
  for (const Vector& v : vectors) {
    std::string out;
    EXPECT_TRUE(append_canonical_json(v.input, out)) << "line " << v.line;
    EXPECT_EQ(out, v.expected) << "line " << v.line;
    if (out == v.expected) ++passed;
    EXPECT_EQ(to_canonical_json(v.input), v.expected) << "line " << v.line;
  }
  EXPECT_EQ(passed, 400);
}

// The same vectors through the library's own reader: each input, as the body of a record line,
// parses and re-encodes to the expected canonical text.
TEST(CanonicalJsonConformanceTest, VectorsThroughTheJsonlReader) {
  std::istringstream in(read_file("canonical_json_vectors.jsonl"));
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    rapidjson::Document doc;
    doc.Parse<kParseFlags>(line.data(), line.size());
    ASSERT_FALSE(doc.HasParseError());
    // The raw text of "input": between `{"input": ` and `, "expected": ` on the line.
    const std::string expected = str(doc["expected"]);
    const std::size_t start = line.find(':') + 1;
    const std::size_t end = line.rfind(", \"expected\":");
    ASSERT_NE(end, std::string::npos);
    const std::string record = R"({"body":)" + line.substr(start, end - start) +
                               R"(,"instrumentation_scope":{"name":"c"},"severity_number":9,)"
                               R"("severity_text":"INFO","time_unix_nano":0})";
    const std::string encoded = to_jsonl(parse_jsonl_record(record));
    EXPECT_EQ(encoded, R"({"body":)" + expected +
                           R"(,"instrumentation_scope":{"name":"c"},"severity_number":9,)"
                           R"("severity_text":"INFO","time_unix_nano":0})")
        << line;
    ++checked;
  }
  EXPECT_EQ(checked, 400);
}

// The canonical text is a fixed point: parse(expected) encodes to expected again.
TEST(CanonicalJsonConformanceTest, ExpectedTextIsAFixedPoint) {
  for (const Vector& v : load_vectors()) {
    rapidjson::Document doc;
    doc.Parse<kParseFlags>(v.expected.data(), v.expected.size());
    ASSERT_FALSE(doc.HasParseError()) << "line " << v.line;
    EXPECT_EQ(to_canonical_json(to_value(doc)), v.expected) << "line " << v.line;
  }
}

TEST(CanonicalJsonConformanceTest, KeyOrderFixtureAllCases) {
  const std::string text = read_file("canonical_json_key_order.json");
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  ASSERT_FALSE(doc.HasParseError()) << rapidjson::GetParseError_En(doc.GetParseError());
  ASSERT_TRUE(doc.HasMember("cases") && doc["cases"].IsArray());
  const std::set<std::string> expected_names = {
      "ascii_then_latin1_then_cyrillic", "emoji_after_bmp", "supplementary_plane_pin",
      "drift_witness_pua_vs_supplementary", "nested_recursion"};
  std::set<std::string> names;
  for (const auto& c : doc["cases"].GetArray()) {
    const std::string name = str(c["name"]);
    names.insert(name);
    const std::string expected = str(c["expected_wire"]);
    EXPECT_EQ(to_canonical_json(to_value(c["input"])), expected) << name;
  }
  EXPECT_EQ(names, expected_names);
  EXPECT_EQ(doc["cases"].Size(), 5u);
}

}  // namespace
}  // namespace dagstack::logger

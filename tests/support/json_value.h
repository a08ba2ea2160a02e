// json_value.h: test helpers that load JSON text and files (the conformance fixtures) as Values.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "dagstack/logger/value.h"

namespace dagstack::logger::testing {

// Converts a RapidJSON value; integers stay integers, numbers with '.'/exponent become doubles.
inline Value to_value(const rapidjson::Value& j) {
  switch (j.GetType()) {
    case rapidjson::kNullType: return Value();
    case rapidjson::kFalseType: return Value(false);
    case rapidjson::kTrueType: return Value(true);
    case rapidjson::kStringType: return Value(std::string(j.GetString(), j.GetStringLength()));
    case rapidjson::kNumberType:
      if (j.IsInt64()) return Value(j.GetInt64());
      return Value(j.GetDouble());
    case rapidjson::kArrayType: {
      Value::Array a;
      for (const auto& e : j.GetArray()) a.push_back(to_value(e));
      return Value(std::move(a));
    }
    case rapidjson::kObjectType: {
      Value::Map m;
      for (const auto& member : j.GetObject()) {
        m.insert_or_assign(std::string(member.name.GetString(), member.name.GetStringLength()),
                           to_value(member.value));
      }
      return Value(std::move(m));
    }
  }
  return Value();
}

// Parses JSON text; throws std::runtime_error on a syntax error.
inline Value parse_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(text.c_str(), text.size());
  if (doc.HasParseError()) {
    throw std::runtime_error(std::string("JSON parse error: ") + rapidjson::GetParseError_En(doc.GetParseError()) +
                             " at offset " + std::to_string(doc.GetErrorOffset()));
  }
  return to_value(doc);
}

// Reads and parses a JSON file; throws std::runtime_error when it cannot be read or parsed.
inline Value load_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json(text.str());
}

}  // namespace dagstack::logger::testing

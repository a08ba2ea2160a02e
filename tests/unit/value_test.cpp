// value_test.cpp: Value, AttrValue, to_value_map, LogRecord lookups and OwnedLogRecord copies.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/log_record.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger {
namespace {

TEST(ValueTest, DefaultIsNull) {
  Value v;
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(v.type(), Value::Type::kNull);
  EXPECT_TRUE(Value(nullptr).is_null());
}

TEST(ValueTest, IntAndDoubleStayApart) {
  EXPECT_TRUE(Value(1).is_int());
  EXPECT_TRUE(Value(1.0).is_double());
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_TRUE(Value(1.0f).is_double());
  EXPECT_TRUE(Value(std::uint8_t{7}).is_int());
}

TEST(ValueTest, BoolNeverBecomesANumber) {
  EXPECT_TRUE(Value(true).is_bool());
  EXPECT_FALSE(Value(false).is_int());
  EXPECT_NE(Value(true), Value(1));
}

TEST(ValueTest, UnsignedAboveInt64MaxStaysExact) {
  const auto big = std::numeric_limits<std::uint64_t>::max();
  EXPECT_TRUE(Value(big).is_uint());
  EXPECT_EQ(Value(big).as_uint(), big);
  EXPECT_NE(Value(big), Value(big - 1));
  EXPECT_NE(Value(big), Value(static_cast<double>(big)));
  const auto fits = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(Value(fits).is_int());
  EXPECT_EQ(Value(fits), Value(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(to_canonical_json(Value(big)), "18446744073709551615");
  EXPECT_EQ(to_canonical_json(Value::array({big, -1})), "[18446744073709551615,-1]");
  // Through the borrowed view and back.
  const AttrValue view(big);
  EXPECT_EQ(view.kind(), AttrValue::Kind::kUint);
  EXPECT_EQ(view.as_uint(), big);
  EXPECT_EQ(view.to_value(), Value(big));
  const Value owned(big);
  EXPECT_EQ(AttrValue(owned).kind(), AttrValue::Kind::kUint);
}

TEST(ValueTest, StringsAndContainers) {
  EXPECT_EQ(Value("x").as_string(), "x");
  EXPECT_EQ(Value(std::string_view("y")).as_string(), "y");
  Value arr = Value::array({1, "two", 3.0});
  ASSERT_TRUE(arr.is_array());
  EXPECT_EQ(arr.as_array().size(), 3u);
  Value from_vector(std::vector<int>{1, 2});
  EXPECT_EQ(from_vector, Value::array({1, 2}));
}

TEST(ValueTest, FindLooksUpMapKeys) {
  Value m = Value::map({{"a", 1}, {"n", nullptr}});
  ASSERT_NE(m.find("a"), nullptr);
  EXPECT_EQ(*m.find("a"), Value(1));
  ASSERT_NE(m.find("n"), nullptr);
  EXPECT_TRUE(m.find("n")->is_null());
  EXPECT_EQ(m.find("missing"), nullptr);
  EXPECT_EQ(m.find(""), nullptr);
}

TEST(ValueTest, FindOnNonMapIsNull) {
  EXPECT_EQ(Value(1).find("a"), nullptr);
  EXPECT_EQ(Value("a").find("a"), nullptr);
  EXPECT_EQ(Value::array({"a"}).find("a"), nullptr);
  EXPECT_EQ(Value().find("a"), nullptr);
}

TEST(AttrValueTest, ScalarValuesAreFlattened) {
  const Value null_value;
  const Value b(true);
  const Value i(-5);
  const Value d(2.5);
  const Value s("text");
  EXPECT_EQ(AttrValue(null_value).kind(), AttrValue::Kind::kNull);
  EXPECT_EQ(AttrValue(b).kind(), AttrValue::Kind::kBool);
  EXPECT_TRUE(AttrValue(b).as_bool());
  EXPECT_EQ(AttrValue(i).kind(), AttrValue::Kind::kInt);
  EXPECT_EQ(AttrValue(i).as_int(), -5);
  EXPECT_EQ(AttrValue(d).kind(), AttrValue::Kind::kDouble);
  EXPECT_EQ(AttrValue(d).as_double(), 2.5);
  const AttrValue sv(s);
  EXPECT_EQ(sv.kind(), AttrValue::Kind::kString);
  EXPECT_EQ(sv.as_string(), "text");
  EXPECT_EQ(sv.as_string().data(), s.as_string().data());  // a view, not a copy
}

TEST(AttrValueTest, ContainersAreViewedByPointer) {
  const Value arr = Value::array({1, 2});
  const Value map = Value::map({{"k", "v"}});
  const AttrValue a(arr);
  const AttrValue m(map);
  EXPECT_EQ(a.kind(), AttrValue::Kind::kValue);
  EXPECT_EQ(&a.as_value(), &arr);
  EXPECT_EQ(m.kind(), AttrValue::Kind::kValue);
  EXPECT_EQ(&m.as_value(), &map);
}

TEST(AttrValueTest, InlineScalars) {
  EXPECT_EQ(AttrValue(42).kind(), AttrValue::Kind::kInt);
  EXPECT_EQ(AttrValue(std::numeric_limits<std::uint64_t>::max()).kind(), AttrValue::Kind::kUint);
  EXPECT_EQ(AttrValue(1.5f).kind(), AttrValue::Kind::kDouble);
  EXPECT_EQ(AttrValue("lit").as_string(), "lit");
  EXPECT_TRUE(AttrValue(nullptr).is_null());
  EXPECT_TRUE(AttrValue().is_null());
}

TEST(AttrValueTest, ToValueCopiesEveryKind) {
  const Value nested = Value::map({{"a", Value::array({1, 2.0, "x"})}});
  EXPECT_EQ(AttrValue().to_value(), Value());
  EXPECT_EQ(AttrValue(false).to_value(), Value(false));
  EXPECT_EQ(AttrValue(7).to_value(), Value(7));
  EXPECT_EQ(AttrValue(0.25).to_value(), Value(0.25));
  EXPECT_EQ(AttrValue("s").to_value(), Value("s"));
  EXPECT_EQ(AttrValue(nested).to_value(), nested);
  EXPECT_TRUE(AttrValue(7).to_value().is_int());
  EXPECT_TRUE(AttrValue(7.0).to_value().is_double());
}

TEST(AttrValueTest, ToValueMapCopiesAndLastDuplicateWins) {
  const std::string key = "user.id";
  const Value tags = Value::array({"a"});
  const Value::Map m = to_value_map({{key, 42}, {"tags", tags}, {"dup", 1}, {"dup", 2}});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.at("user.id"), Value(42));
  EXPECT_EQ(m.at("tags"), tags);
  EXPECT_EQ(m.at("dup"), Value(2));
  EXPECT_TRUE(to_value_map({}).empty());
}

TEST(LogRecordTest, FindAttribute) {
  const Attribute attrs[] = {{"a", 1}, {"b", "x"}, {"a", 2}};
  LogRecord r;
  r.attributes = attrs;
  ASSERT_NE(r.find_attribute("b"), nullptr);
  EXPECT_EQ(r.find_attribute("b")->as_string(), "x");
  ASSERT_NE(r.find_attribute("a"), nullptr);
  EXPECT_EQ(r.find_attribute("a")->as_int(), 2);  // last duplicate, as on the wire
  EXPECT_EQ(r.find_attribute("zzz"), nullptr);
  EXPECT_EQ(LogRecord{}.find_attribute("a"), nullptr);
}

TEST(LogRecordTest, Defaults) {
  LogRecord r;
  EXPECT_EQ(r.trace_flags, 0);
  EXPECT_EQ(r.observed_time_unix_nano, 0u);
  EXPECT_EQ(r.resource, nullptr);
  EXPECT_EQ(r.instrumentation_scope, nullptr);
  EXPECT_FALSE(r.trace_id.valid());
  EXPECT_FALSE(r.span_id.valid());
  EXPECT_EQ(r.severity_text(), "INFO");
}

TEST(OwnedLogRecordTest, FromDeepCopiesEverything) {
  Resource resource{{{"service.name", "svc"}}};
  InstrumentationScope scope{"svc.api", "1.2", {}};
  const Value body = Value::map({{"k", Value::array({1, 2})}});
  std::string key = "k1";
  std::string text = "value";
  std::vector<Attribute> attrs = {{key, text}, {"n", 3}, {"d", 0.5}};

  LogRecord r;
  r.time_unix_nano = 10;
  r.observed_time_unix_nano = 11;
  r.severity_number = 17;
  r.body = body;
  r.attributes = attrs;
  r.resource = &resource;
  r.instrumentation_scope = &scope;
  r.trace_id.bytes[0] = 1;
  r.span_id.bytes[7] = 2;
  r.trace_flags = 1;

  OwnedLogRecord owned = OwnedLogRecord::from(r);
  key = "changed";
  text = "changed";
  resource.attributes.clear();
  scope.name = "changed";

  EXPECT_EQ(owned.time_unix_nano, 10u);
  EXPECT_EQ(owned.observed_time_unix_nano, 11u);
  EXPECT_EQ(owned.severity_number, 17);
  EXPECT_EQ(owned.severity_text(), "ERROR");
  EXPECT_EQ(owned.body, body);
  ASSERT_NE(owned.attribute("k1"), nullptr);
  EXPECT_EQ(*owned.attribute("k1"), Value("value"));
  EXPECT_EQ(*owned.attribute("n"), Value(3));
  EXPECT_EQ(*owned.attribute("d"), Value(0.5));
  EXPECT_EQ(owned.attribute("changed"), nullptr);
  ASSERT_TRUE(owned.resource.has_value());
  EXPECT_EQ(owned.resource->attributes.at("service.name"), Value("svc"));
  ASSERT_TRUE(owned.instrumentation_scope.has_value());
  EXPECT_EQ(owned.instrumentation_scope->name, "svc.api");
  EXPECT_EQ(owned.instrumentation_scope->version, "1.2");
  EXPECT_EQ(owned.trace_id, r.trace_id);
  EXPECT_EQ(owned.span_id, r.span_id);
  EXPECT_EQ(owned.trace_flags, 1);
}

TEST(OwnedLogRecordTest, FromWithoutOptionalParts) {
  LogRecord r;
  OwnedLogRecord owned = OwnedLogRecord::from(r);
  EXPECT_FALSE(owned.resource.has_value());
  EXPECT_FALSE(owned.instrumentation_scope.has_value());
  EXPECT_TRUE(owned.body.is_null());
  EXPECT_TRUE(owned.attributes.empty());
}

TEST(OwnedLogRecordTest, ViewPointsIntoTheOwnedRecord) {
  OwnedLogRecord owned;
  owned.time_unix_nano = 5;
  owned.severity_number = 13;
  owned.body = "hello";
  owned.attributes = {{"a", 1}, {"m", Value::map({{"x", true}})}};
  owned.resource = Resource{{{"service.name", "svc"}}};
  owned.instrumentation_scope = InstrumentationScope{"n", "", {}};
  owned.trace_id.bytes[3] = 9;
  owned.trace_flags = 1;

  std::vector<Attribute> scratch = {{"stale", 0}};
  LogRecord v = owned.view(scratch);
  EXPECT_EQ(v.time_unix_nano, 5u);
  EXPECT_EQ(v.severity_number, 13);
  EXPECT_EQ(v.body.as_string(), "hello");
  EXPECT_EQ(v.body.as_string().data(), owned.body.as_string().data());
  ASSERT_EQ(v.attributes.size(), 2u);
  EXPECT_EQ(v.attributes.data(), scratch.data());
  ASSERT_NE(v.find_attribute("m"), nullptr);
  EXPECT_EQ(&v.find_attribute("m")->as_value(), &owned.attributes.at("m"));
  EXPECT_EQ(v.find_attribute("stale"), nullptr);
  EXPECT_EQ(v.resource, &*owned.resource);
  EXPECT_EQ(v.instrumentation_scope, &*owned.instrumentation_scope);
  EXPECT_EQ(v.trace_id, owned.trace_id);
  EXPECT_EQ(v.trace_flags, 1);

  // from(view(x)) reproduces x.
  OwnedLogRecord again = OwnedLogRecord::from(v);
  EXPECT_EQ(again.body, owned.body);
  EXPECT_EQ(again.attributes, owned.attributes);
  EXPECT_EQ(again.resource, owned.resource);
  EXPECT_EQ(again.instrumentation_scope, owned.instrumentation_scope);
}

}  // namespace
}  // namespace dagstack::logger

// Tests for InMemorySink (contract §4.5).
#include "dagstack/logger/sinks/in_memory_sink.h"

#include <gtest/gtest.h>

#include <set>

namespace dl = dagstack::logger;

namespace {
dl::LogRecord record_with_body(const char* body, int severity = 9) {
  dl::LogRecord r;
  r.time_unix_nano = 100;
  r.severity_number = severity;
  r.body = body;
  return r;
}
}  // namespace

TEST(InMemorySink, RingDropsTheOldest) {
  dl::InMemorySink sink(3);
  for (const char* b : {"0", "1", "2", "3", "4"}) sink.emit(record_with_body(b));
  auto records = sink.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].body.as_string(), "2");
  EXPECT_EQ(records[1].body.as_string(), "3");
  EXPECT_EQ(records[2].body.as_string(), "4");
}

TEST(InMemorySink, RecordsAreASnapshotCopy) {
  dl::InMemorySink sink(10);
  sink.emit(record_with_body("a"));
  auto snapshot = sink.records();
  sink.emit(record_with_body("b"));
  EXPECT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(sink.records().size(), 2u);
}

TEST(InMemorySink, ClearEmpties) {
  dl::InMemorySink sink(10);
  sink.emit(record_with_body("a"));
  sink.clear();
  EXPECT_EQ(sink.size(), 0u);
}

TEST(InMemorySink, CloseStopsAppendsButKeepsRecords) {
  dl::InMemorySink sink(10);
  sink.emit(record_with_body("a"));
  sink.close();
  sink.close();  // idempotent
  sink.emit(record_with_body("b"));
  ASSERT_EQ(sink.size(), 1u);
  EXPECT_EQ(sink.records()[0].body.as_string(), "a");
}

TEST(InMemorySink, IdsAreUniqueAndNameTheCapacity) {
  dl::InMemorySink a(42);
  dl::InMemorySink b(42);
  EXPECT_EQ(std::string(a.id()).rfind("in-memory:cap=42#", 0), 0u) << a.id();
  EXPECT_NE(a.id(), b.id());
  EXPECT_EQ(a.capacity(), 42u);
}

TEST(InMemorySink, ZeroCapacityIsRaisedToOne) {
  dl::InMemorySink sink(0);
  EXPECT_EQ(sink.capacity(), 1u);
  sink.emit(record_with_body("a"));
  sink.emit(record_with_body("b"));
  ASSERT_EQ(sink.size(), 1u);
  EXPECT_EQ(sink.records()[0].body.as_string(), "b");
}

TEST(InMemorySink, MinSeverityIsASinkGate) {
  dl::InMemorySink sink(10, dl::kSeverityWarn);
  EXPECT_FALSE(sink.supports_severity(9));
  EXPECT_TRUE(sink.supports_severity(13));
  EXPECT_TRUE(sink.supports_severity(24));
}

TEST(InMemorySink, KeepsAttributesAsOwningCopies) {
  dl::InMemorySink sink(10);
  {
    std::string transient = "value-that-goes-away";
    dl::Attribute attrs[] = {{"k", transient}, {"n", 7}};
    dl::LogRecord r = record_with_body("x");
    r.attributes = attrs;
    sink.emit(r);
    transient.assign(transient.size(), 'z');
  }
  auto rec = sink.records().at(0);
  ASSERT_NE(rec.attribute("k"), nullptr);
  EXPECT_EQ(rec.attribute("k")->as_string(), "value-that-goes-away");
  EXPECT_EQ(rec.attribute("n")->as_int(), 7);
}

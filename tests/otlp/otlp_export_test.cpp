// otlp_export_test.cpp: the OTLP sink against a real receiver over 127.0.0.1 whose decoder is
// the protobufjs code of @opentelemetry/otlp-transformer@0.52.1 (not written here): every field
// of a known workload of records and spans, types kept, ids, parent links and status, in
// protobuf and OTLP/JSON, with and without gzip; the OTLP/JSON rules; partial success.
#include <gtest/gtest.h>

#include <set>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/otlp/otlp_sink.h"
#include "dagstack/logger/span.h"
#include "otlp_test_support.h"

namespace dagstack::logger::otlp {
namespace {

using namespace std::chrono_literals;
using testing::arr;
using testing::at;
using testing::attr;
using testing::items;
using testing::Receiver;

struct Mode {
  OtlpProtocol protocol;
  OtlpCompression compression;
  const char* name;
};

// Test names show the mode, not the struct's bytes.
void PrintTo(const Mode& m, std::ostream* os) { *os << m.name; }

class OtlpExportTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override { Logger::reset(); }
  void TearDown() override {
    if (sink_) sink_->close();
    Logger::reset();
  }

  OtlpOptions options() {
    OtlpOptions o;
    o.endpoint = receiver_.base_url();
    o.protocol = GetParam().protocol;
    o.compression = GetParam().compression;
    o.batch_delay = 60s;  // only flush() sends: the tests decide what one request holds
    o.retry.backoff.initial = 20ms;
    o.retry.backoff.max = 200ms;
    return o;
  }

  void check_request_format(const Value& requests) {
    const bool json = GetParam().protocol == OtlpProtocol::kHttpJson;
    for (const Value& r : arr(requests)) {
      EXPECT_EQ(at(r, "contentType").as_string(),
                json ? "application/json" : "application/x-protobuf");
      EXPECT_EQ(at(r, "contentEncoding").as_string(),
                GetParam().compression == OtlpCompression::kGzip ? "gzip" : "");
      EXPECT_TRUE(at(r, "decodeError").is_null()) << at(r, "decodeError").as_string();
      for (const Value& e : arr(at(r, "jsonErrors")))
        ADD_FAILURE() << "OTLP/JSON rule: " << e.as_string();
    }
  }

  Receiver receiver_;
  std::shared_ptr<OtlpSink> sink_;
};

const Value& any(const Value& record, std::string_view key) {
  return attr(at(record, "attributes"), key);
}

TEST_P(OtlpExportTest, EveryLogRecordFieldSurvivesTheReferenceDecoder) {
  sink_ = make_otlp_sink(options());
  const Resource svc{Value::Map{{"service.name", Value("svc")}, {"host.name", Value("h1")}}};
  const Resource other{Value::Map{{"service.name", Value("other")}}};
  const InstrumentationScope api{"svc.api", "1.2.3", {}};
  const InstrumentationScope db{"svc.db", "", Value::Map{{"db.system", Value("sqlite")}}};
  const Value arr_value = Value::array({Value(1), Value("two"), Value(3.5), Value(false)});
  const Value map_value =
      Value::map({{"k", Value(1)}, {"nested", Value::map({{"x", Value("y")}})}});

  // Record A: every attribute type, trace context, event name.
  std::vector<Attribute> a_attrs = {
      {"s", "v"},
      {"i", std::int64_t{-42}},
      {"big", std::int64_t{9007199254740993}},  // 2^53 + 1: not representable as a double
      {"d", 1.5},
      {"dw", 2.0},  // a whole double stays a double
      {"b", true},
      {"n", nullptr},
      {"arr", AttrValue(arr_value)},
      {"m", AttrValue(map_value)},
      {"event.name", "user.login"},
  };
  LogRecord a;
  a.time_unix_nano = 1700000000123456789ULL;
  a.observed_time_unix_nano = 1700000000123456999ULL;
  a.severity_number = 10;  // INFO2: the number is kept, the text is the family's
  a.body = "hello \xC3\xA9";
  a.attributes = a_attrs;
  a.resource = &svc;
  a.instrumentation_scope = &api;
  a.trace_id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c");
  a.span_id = SpanId::from_hex("b7ad6b7169203331");
  a.trace_flags = 1;
  sink_->emit(a);

  // Record B: another scope, a map body, invalid UTF-8, no trace context, no observed time.
  const Value body_map = Value::map({{"msg", Value("structured")}, {"n", Value(7)}});
  std::vector<Attribute> b_attrs = {{"bad", std::string_view("x\xFFy")}};
  LogRecord b;
  b.time_unix_nano = 1700000001000000000ULL;
  b.severity_number = 17;
  b.body = AttrValue(body_map);
  b.attributes = b_attrs;
  b.resource = &svc;
  b.instrumentation_scope = &db;
  sink_->emit(b);

  // Record C: another resource.
  LogRecord c;
  c.time_unix_nano = 1700000002000000000ULL;
  c.severity_number = 5;
  c.body = "from other";
  c.resource = &other;
  c.instrumentation_scope = &api;
  sink_->emit(c);

  ASSERT_TRUE(sink_->flush(10s).success);
  const Value requests = receiver_.requests();
  check_request_format(requests);
  ASSERT_EQ(arr(requests).size(), 1u);
  const Value& decoded = at(arr(requests)[0], "decoded");
  // Grouping: two resources; the first holds two scopes.
  ASSERT_EQ(arr(at(decoded, "resourceLogs")).size(), 2u);
  const Value& rl0 = arr(at(decoded, "resourceLogs"))[0];
  EXPECT_EQ(attr(at(at(rl0, "resource"), "attributes"), "service.name"),
            Value::map({{"stringValue", Value("svc")}}));
  EXPECT_EQ(attr(at(at(rl0, "resource"), "attributes"), "host.name"),
            Value::map({{"stringValue", Value("h1")}}));
  ASSERT_EQ(arr(at(rl0, "scopeLogs")).size(), 2u);
  const Value& sl_api = arr(at(rl0, "scopeLogs"))[0];
  EXPECT_EQ(at(at(sl_api, "scope"), "name"), Value("svc.api"));
  EXPECT_EQ(at(at(sl_api, "scope"), "version"), Value("1.2.3"));
  const Value& sl_db = arr(at(rl0, "scopeLogs"))[1];
  EXPECT_EQ(at(at(sl_db, "scope"), "name"), Value("svc.db"));
  EXPECT_EQ(attr(at(at(sl_db, "scope"), "attributes"), "db.system"),
            Value::map({{"stringValue", Value("sqlite")}}));

  const std::vector<Value> logs = items(requests, "/v1/logs");
  ASSERT_EQ(logs.size(), 3u);
  const Value& ra = logs[0];
  EXPECT_EQ(at(ra, "timeUnixNano"), Value("1700000000123456789"));
  EXPECT_EQ(at(ra, "observedTimeUnixNano"), Value("1700000000123456999"));
  EXPECT_EQ(at(ra, "severityNumber"), Value(10));
  EXPECT_EQ(at(ra, "severityText"), Value("INFO"));
  EXPECT_EQ(at(ra, "body"), Value::map({{"stringValue", Value("hello \xC3\xA9")}}));
  EXPECT_EQ(at(ra, "traceId"), Value("0af7651916cd43dd8448eb211c80319c"));
  EXPECT_EQ(at(ra, "spanId"), Value("b7ad6b7169203331"));
  EXPECT_EQ(at(ra, "flags"), Value(1));
  EXPECT_EQ(any(ra, "s"), Value::map({{"stringValue", Value("v")}}));
  EXPECT_EQ(any(ra, "i"), Value::map({{"intValue", Value("-42")}}));
  EXPECT_EQ(any(ra, "big"), Value::map({{"intValue", Value("9007199254740993")}}));
  EXPECT_EQ(any(ra, "d"), Value::map({{"doubleValue", Value(1.5)}}));
  ASSERT_TRUE(any(ra, "dw").is_map());
  ASSERT_NE(any(ra, "dw").find("doubleValue"), nullptr);  // not intValue
  EXPECT_EQ(at(any(ra, "dw"), "doubleValue").is_int()
                ? 2.0
                : at(any(ra, "dw"), "doubleValue").as_double(),
            2.0);
  EXPECT_EQ(any(ra, "b"), Value::map({{"boolValue", Value(true)}}));
  EXPECT_EQ(any(ra, "n"), Value(Value::Map{}));  // the empty AnyValue
  const Value& av = at(at(any(ra, "arr"), "arrayValue"), "values");
  ASSERT_EQ(arr(av).size(), 4u);
  EXPECT_EQ(arr(av)[0], Value::map({{"intValue", Value("1")}}));
  EXPECT_EQ(arr(av)[1], Value::map({{"stringValue", Value("two")}}));
  EXPECT_EQ(arr(av)[2], Value::map({{"doubleValue", Value(3.5)}}));
  EXPECT_EQ(arr(av)[3], Value::map({{"boolValue", Value(false)}}));
  const Value& kv = at(at(any(ra, "m"), "kvlistValue"), "values");
  EXPECT_EQ(attr(kv, "k"), Value::map({{"intValue", Value("1")}}));
  EXPECT_EQ(attr(at(at(attr(kv, "nested"), "kvlistValue"), "values"), "x"),
            Value::map({{"stringValue", Value("y")}}));
  EXPECT_EQ(any(ra, "event.name"), Value::map({{"stringValue", Value("user.login")}}));
  EXPECT_EQ(arr(at(ra, "attributes")).size(), 10u);

  const Value& rb = logs[1];
  EXPECT_EQ(at(rb, "severityNumber"), Value(17));
  EXPECT_EQ(at(rb, "severityText"), Value("ERROR"));
  EXPECT_EQ(at(rb, "observedTimeUnixNano"), Value("1700000001000000000"));  // = time when unset
  EXPECT_TRUE(at(rb, "traceId").is_null());
  EXPECT_TRUE(at(rb, "spanId").is_null());
  EXPECT_TRUE(at(rb, "flags").is_null());
  EXPECT_EQ(attr(at(at(at(rb, "body"), "kvlistValue"), "values"), "n"),
            Value::map({{"intValue", Value("7")}}));
  EXPECT_EQ(any(rb, "bad"), Value::map({{"stringValue", Value("x\xEF\xBF\xBDy")}}));

  EXPECT_EQ(at(logs[2], "body"), Value::map({{"stringValue", Value("from other")}}));
  EXPECT_EQ(attr(at(at(logs[2], "_resource"), "attributes"), "service.name"),
            Value::map({{"stringValue", Value("other")}}));

  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.logs.accepted, 3u);
  EXPECT_EQ(st.logs.delivered, 3u);
  EXPECT_EQ(st.requests, 1u);
  EXPECT_EQ(st.queue_bytes, 0u);
}

TEST_P(OtlpExportTest, SpansFromSpanRecordsWithParentsStatusAndExceptions) {
  OtlpOptions o = options();
  sink_ = make_otlp_sink(o);
  ConfigureOptions c;
  c.sinks = SinkList{sink_};
  c.resource_attributes = Value::Map{{"service.name", Value("agent")}};
  configure(c);

  TraceId trace;
  SpanId root_id;
  SpanId child_id;
  SpanId open_id;
  std::optional<Span> open;
  {
    SpanOptions ro;
    ro.kind = "llm";
    ro.attributes = Value::Map{{"gen_ai.request.model", Value("m-1")}, {"tokens", Value(12)}};
    Span root("agent.run", ro);
    trace = root.trace_id();
    root_id = root.span_id();
    Logger::get("agent").info("inside root", {{"step", 1}});
    {
      Span child("tool.call", SpanOptions{"server", {}, std::nullopt});
      child_id = child.span_id();
      child.set_attribute("ratio", 0.25);
      child.set_attribute("ok", false);
      child.record_exception(std::runtime_error("tool exploded"));
    }
    {
      Span cancelled("step.cancelled");
      cancelled.set_status(SpanStatus::kCancelled, "user gave up");
    }
    root.set_status(SpanStatus::kOk);
  }
  open.emplace("never.ended");  // still open at close
  open_id = open->span_id();
  sink_->close();  // exports the open span as ended with an error
  open.reset();

  const Value requests = receiver_.requests();
  check_request_format(requests);
  const std::vector<Value> spans = items(requests, "/v1/traces");
  ASSERT_EQ(spans.size(), 4u);
  auto find = [&](const std::string& name) -> const Value& {
    for (const Value& s : spans) {
      if (at(s, "name") == Value(name)) return s;
    }
    static const Value kNull;
    ADD_FAILURE() << "no span " << name;
    return kNull;
  };
  const Value& root = find("agent.run");
  const Value& child = find("tool.call");
  const Value& cancelled = find("step.cancelled");
  const Value& unfinished = find("never.ended");

  EXPECT_EQ(at(root, "traceId"), Value(trace.to_hex()));
  EXPECT_EQ(at(root, "spanId"), Value(root_id.to_hex()));
  EXPECT_TRUE(at(root, "parentSpanId").is_null()) << "a root span has no parent";
  EXPECT_EQ(at(root, "kind"), Value(3));  // llm -> CLIENT
  EXPECT_EQ(any(root, "dagstack.operation.kind"), Value::map({{"stringValue", Value("llm")}}));
  EXPECT_EQ(any(root, "gen_ai.request.model"), Value::map({{"stringValue", Value("m-1")}}));
  EXPECT_EQ(any(root, "tokens"), Value::map({{"intValue", Value("12")}}));
  EXPECT_TRUE(any(root, "operation.name").is_null());     // span fields are not repeated
  EXPECT_TRUE(at(at(root, "status"), "code").is_null());  // ok -> UNSET (code 0 omitted)
  const std::uint64_t start = std::stoull(at(root, "startTimeUnixNano").as_string());
  const std::uint64_t end = std::stoull(at(root, "endTimeUnixNano").as_string());
  EXPECT_GT(start, 1600000000000000000ULL);
  EXPECT_GE(end, start);
  EXPECT_EQ(at(at(root, "_scope"), "name"), Value("dagstack.trace"));
  EXPECT_EQ(attr(at(at(root, "_resource"), "attributes"), "service.name"),
            Value::map({{"stringValue", Value("agent")}}));

  EXPECT_EQ(at(child, "traceId"), Value(trace.to_hex()));
  EXPECT_EQ(at(child, "spanId"), Value(child_id.to_hex()));
  EXPECT_EQ(at(child, "parentSpanId"), Value(root_id.to_hex()));
  EXPECT_EQ(at(child, "kind"), Value(2));  // SERVER
  EXPECT_EQ(any(child, "ratio"), Value::map({{"doubleValue", Value(0.25)}}));
  EXPECT_EQ(any(child, "ok"), Value::map({{"boolValue", Value(false)}}));
  EXPECT_EQ(at(at(child, "status"), "code"), Value(2));
  EXPECT_EQ(at(at(child, "status"), "message"), Value("tool exploded"));
  ASSERT_EQ(arr(at(child, "events")).size(), 1u);
  const Value& ev = arr(at(child, "events"))[0];
  EXPECT_EQ(at(ev, "name"), Value("exception"));
  EXPECT_EQ(attr(at(ev, "attributes"), "exception.type"),
            Value::map({{"stringValue", Value("std::runtime_error")}}));
  EXPECT_EQ(attr(at(ev, "attributes"), "exception.message"),
            Value::map({{"stringValue", Value("tool exploded")}}));
  EXPECT_TRUE(attr(at(ev, "attributes"), "exception.stacktrace").is_map());
  EXPECT_TRUE(any(child, "exception.type").is_null());  // in the event, not the span

  EXPECT_EQ(at(cancelled, "parentSpanId"), Value(root_id.to_hex()));
  EXPECT_EQ(at(at(cancelled, "status"), "code"), Value(2));
  EXPECT_EQ(at(at(cancelled, "status"), "message"), Value("user gave up"));
  EXPECT_EQ(any(cancelled, "dagstack.span.status"),
            Value::map({{"stringValue", Value("cancelled")}}));
  EXPECT_EQ(at(cancelled, "kind"), Value(1));  // internal

  EXPECT_EQ(at(unfinished, "spanId"), Value(open_id.to_hex()));
  EXPECT_EQ(at(at(unfinished, "status"), "code"), Value(2));
  EXPECT_EQ(at(at(unfinished, "status"), "message"), Value("span not ended before shutdown"));
  EXPECT_EQ(any(unfinished, "dagstack.span.unfinished"), Value::map({{"boolValue", Value(true)}}));

  // The record inside the root span is a log with the span's ids; span records are not logs.
  const std::vector<Value> logs = items(requests, "/v1/logs");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(at(logs[0], "body"), Value::map({{"stringValue", Value("inside root")}}));
  EXPECT_EQ(at(logs[0], "traceId"), Value(trace.to_hex()));
  EXPECT_EQ(at(logs[0], "spanId"), Value(root_id.to_hex()));
  EXPECT_EQ(at(logs[0], "flags"), Value(1));

  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.spans.accepted, 4u);
  EXPECT_EQ(st.spans.delivered, 4u);
  EXPECT_EQ(st.spans_unfinished, 1u);
  EXPECT_EQ(st.logs.delivered, 1u);
}

TEST_P(OtlpExportTest, PartialSuccessIsCountedAndReported) {
  sink_ = make_otlp_sink(options());
  receiver_.script(R"([{"status":200,"rejected":2,"errorMessage":"2 records too old"}])");
  const Resource res{Value::Map{{"service.name", Value("svc")}}};
  const InstrumentationScope scope{"svc", "", {}};
  for (int i = 0; i < 5; ++i) {
    LogRecord r;
    r.time_unix_nano = 1700000000000000000ULL + static_cast<std::uint64_t>(i);
    r.body = "r";
    r.resource = &res;
    r.instrumentation_scope = &scope;
    sink_->emit(r);
  }
  const FlushResult fr = sink_->flush(10s);
  EXPECT_FALSE(fr.success);
  ASSERT_EQ(fr.failed_sinks.size(), 1u);
  EXPECT_NE(fr.failed_sinks[0].error.find("2 items rejected"), std::string::npos);
  const OtlpStats st = sink_->stats();
  EXPECT_EQ(st.logs.accepted, 5u);
  EXPECT_EQ(st.logs.delivered, 3u);
  EXPECT_EQ(st.logs.rejected, 2u);
  EXPECT_TRUE(sink_->flush(1s).success);  // reported once
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, OtlpExportTest,
    ::testing::Values(Mode{OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone, "protobuf"},
                      Mode{OtlpProtocol::kHttpProtobuf, OtlpCompression::kGzip, "protobuf_gzip"},
                      Mode{OtlpProtocol::kHttpJson, OtlpCompression::kNone, "json"},
                      Mode{OtlpProtocol::kHttpJson, OtlpCompression::kGzip, "json_gzip"}),
    [](const ::testing::TestParamInfo<Mode>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace dagstack::logger::otlp

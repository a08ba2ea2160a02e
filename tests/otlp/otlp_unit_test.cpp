// otlp_unit_test.cpp: OTLP options (defaults, validation, OTEL_EXPORTER_OTLP_* parsing and its
// ConfigError messages), the span kind mapping, the partial_success reader and gzip.
#include <gtest/gtest.h>
#include <zlib.h>

#include "dagstack/logger/config_error.h"
#include "dagstack/logger/otlp/otlp_sink.h"
#include "gzip.h"
#include "otlp_encoder.h"
#include "span_builder.h"

namespace dagstack::logger::otlp {
namespace {

using Env = std::map<std::string, std::string>;

std::string config_error(const Env& env) {
  try {
    OtlpOptions::from_env(env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(OtlpOptionsTest, DefaultsAndEndpointResolution) {
  OtlpOptions o;
  EXPECT_EQ(o.resolved_logs_endpoint(), "http://localhost:4318/v1/logs");
  EXPECT_EQ(o.resolved_traces_endpoint(), "http://localhost:4318/v1/traces");
  EXPECT_EQ(o.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(o.compression, OtlpCompression::kNone);
  o.endpoint = "https://collector:4318/prefix/";
  EXPECT_EQ(o.resolved_logs_endpoint(), "https://collector:4318/prefix/v1/logs");
  o.logs_endpoint = "http://other/custom";
  EXPECT_EQ(o.resolved_logs_endpoint(), "http://other/custom");  // used as is
}

TEST(OtlpOptionsTest, ReadsTheStandardEnvironment) {
  const OtlpOptions o = OtlpOptions::from_env(Env{
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
      {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4318/v1/traces"},
      {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret, x-tenant = acme "},
      {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
      {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
  });
  EXPECT_EQ(o.resolved_logs_endpoint(), "http://c:4318/v1/logs");
  EXPECT_EQ(o.resolved_traces_endpoint(), "http://t:4318/v1/traces");
  ASSERT_EQ(o.headers.size(), 2u);
  EXPECT_EQ(o.headers[0], (std::pair<std::string, std::string>{"api-key", "s=cret"}));
  EXPECT_EQ(o.headers[1], (std::pair<std::string, std::string>{"x-tenant", "acme"}));
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.compression, OtlpCompression::kGzip);
  EXPECT_EQ(o.protocol, OtlpProtocol::kHttpJson);
  // Empty values are unset.
  EXPECT_EQ(OtlpOptions::from_env(Env{{"OTEL_EXPORTER_OTLP_PROTOCOL", ""}}).protocol,
            OtlpProtocol::kHttpProtobuf);
}

TEST(OtlpOptionsTest, BadEnvironmentValuesThrowStableMessages) {
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}}),
            "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL");
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"}}),
            "OTEL_EXPORTER_OTLP_TIMEOUT must be a positive integer number of milliseconds");
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_TIMEOUT", "0"}}),
            "OTEL_EXPORTER_OTLP_TIMEOUT must be a positive integer number of milliseconds");
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"}}),
            "OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none");
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}),
            "OTEL_EXPORTER_OTLP_PROTOCOL grpc is not supported; use http/protobuf or http/json");
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"}}),
            "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json");
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}}),
            "OTEL_EXPORTER_OTLP_HEADERS: each entry must be key=value");
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_HEADERS", "k=%zz"}}),
            "OTEL_EXPORTER_OTLP_HEADERS: bad percent-encoding in a header value");
  EXPECT_EQ(config_error({{"OTEL_EXPORTER_OTLP_LOGS_HEADERS", "k=a%0Db"}}),
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS: header value contains a control character");
}

TEST(OtlpOptionsTest, ValidateRejectsOutOfRangeOptions) {
  auto message = [](auto edit) {
    OtlpOptions o;
    edit(o);
    try {
      make_otlp_sink(o);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message([](OtlpOptions& o) { o.max_queue_bytes = 1000; }),
            "otlp: max_queue_bytes must be at least 65536");
  EXPECT_EQ(message([](OtlpOptions& o) { o.max_batch_records = 0; }),
            "otlp: max_batch_records must be greater than zero");
  EXPECT_EQ(message([](OtlpOptions& o) { o.endpoint = "ftp://x"; }),
            "otlp: the logs endpoint must be an http:// or https:// URL");
  EXPECT_EQ(message([](OtlpOptions& o) { o.timeout = std::chrono::milliseconds(0); }),
            "otlp: timeout must be greater than zero");
}

TEST(OtlpEncoderTest, SpanKindMapping) {
  using detail::SpanKind;
  EXPECT_EQ(detail::map_span_kind("internal"), SpanKind::kInternal);
  EXPECT_EQ(detail::map_span_kind("server"), SpanKind::kServer);
  EXPECT_EQ(detail::map_span_kind("client"), SpanKind::kClient);
  EXPECT_EQ(detail::map_span_kind("llm"), SpanKind::kClient);
  EXPECT_EQ(detail::map_span_kind("producer"), SpanKind::kProducer);
  EXPECT_EQ(detail::map_span_kind("consumer"), SpanKind::kConsumer);
  EXPECT_EQ(detail::map_span_kind("query"), SpanKind::kInternal);
}

TEST(OtlpEncoderTest, ReadsPartialSuccessInBothEncodings) {
  using detail::Encoding;
  using detail::Signal;
  // ExportLogsServiceResponse{partial_success{rejected_log_records: 3, error_message: "old"}}
  const std::string pb("\x0a\x07\x08\x03\x12\x03old", 9);
  auto p = detail::parse_partial_success(Signal::kLogs, Encoding::kProtobuf, pb);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->rejected, 3);
  EXPECT_EQ(p->error_message, "old");
  EXPECT_FALSE(detail::parse_partial_success(Signal::kLogs, Encoding::kProtobuf, "").has_value());
  EXPECT_FALSE(
      detail::parse_partial_success(Signal::kLogs, Encoding::kProtobuf, "\x0a\x7f").has_value());
  p = detail::parse_partial_success(
      Signal::kTraces, Encoding::kJson,
      R"({"partialSuccess":{"rejectedSpans":"4","errorMessage":"x"}})");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->rejected, 4);
  EXPECT_EQ(p->error_message, "x");
  EXPECT_FALSE(detail::parse_partial_success(Signal::kLogs, Encoding::kJson, "{}").has_value());
}

TEST(OtlpEncoderTest, GzipRoundTripsThroughZlib) {
  const std::string text(100000, 'a');
  const std::string gz = detail::gzip_compress(text);
  ASSERT_GT(gz.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(text.size() + 16, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(out, text);
}

TEST(OtlpEncoderTest, InvalidUtf8IsReplaced) {
  EXPECT_EQ(detail::to_valid_utf8("ok"), "ok");
  EXPECT_EQ(detail::to_valid_utf8("a\xFF"
                                  "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(detail::to_valid_utf8("\xC3"), "\xEF\xBF\xBD");
  EXPECT_EQ(detail::to_valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace dagstack::logger::otlp

// Tests for the console sink (contract §4.3).
#include "dagstack/logger/sinks/console_sink.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include <unistd.h>

#include "dagstack/logger/canonical_json.h"

namespace dl = dagstack::logger;

namespace {
dl::LogRecord sample(const dl::InstrumentationScope* scope, std::span<const dl::Attribute> attrs) {
  dl::LogRecord r;
  r.time_unix_nano = 1700000000000000000ULL;  // 2023-11-14T22:13:20Z
  r.severity_number = 13;
  r.body = "disk almost full";
  r.attributes = attrs;
  r.instrumentation_scope = scope;
  return r;
}
}  // namespace

TEST(ConsoleSink, JsonModeWritesOneCanonicalLinePerRecord) {
  std::ostringstream out;
  auto sink = dl::make_console_sink({dl::ConsoleMode::kJson, stderr, &out});
  dl::InstrumentationScope scope{"svc", "", {}};
  dl::Attribute attrs[] = {{"disk.free_bytes", 1024}};
  sink->emit(sample(&scope, attrs));
  const std::string text = out.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.rfind("{\"attributes\":", 0), 0u);
  EXPECT_EQ(text, dl::to_jsonl(sample(&scope, attrs)) + "\n");
  EXPECT_EQ(sink->id(), "console:json");
}

TEST(ConsoleSink, AutoOnANonFileStreamIsJson) {
  std::ostringstream out;
  auto sink = dl::make_console_sink({dl::ConsoleMode::kAuto, stderr, &out});
  sink->emit(sample(nullptr, {}));
  EXPECT_EQ(out.str().rfind("{\"body\":", 0), 0u) << out.str();
  EXPECT_EQ(sink->id(), "console:auto");
}

TEST(ConsoleSink, AutoOnAPipeIsJson) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::FILE* w = ::fdopen(fds[1], "w");
  auto sink = dl::make_console_sink({dl::ConsoleMode::kAuto, w});
  sink->emit(sample(nullptr, {}));
  std::fclose(w);
  char buf[256] = {};
  auto n = ::read(fds[0], buf, sizeof buf - 1);
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf).rfind("{\"body\":", 0), 0u) << buf;
}

TEST(ConsoleSink, PrettyFormatMatchesTheContract) {
  dl::InstrumentationScope scope{"svc.disk", "", {}};
  dl::Attribute attrs[] = {{"path", "/var/log"}, {"note", "a b"},   {"eq", "x=y"},
                           {"ok", true},         {"none", nullptr}, {"n", 3}};
  const std::string line = dl::format_pretty(sample(&scope, attrs));
  EXPECT_EQ(
      line,
      "\033[2m2023-11-14T22:13:20.000000Z\033[0m [\033[33mWARN \033[0m] \033[2msvc.disk\033[0m: "
      "disk almost full \033[2m|\033[0m eq=\"x=y\" n=3 none=null note=\"a b\" ok=true "
      "path=/var/log");
}

TEST(ConsoleSink, PrettyUsesRootWithoutScopeAndJsonForNonStringBodies) {
  dl::Value body = dl::Value::map({{"k", 1}});
  dl::LogRecord r = sample(nullptr, {});
  r.body = dl::AttrValue(body);
  r.severity_number = 17;
  const std::string line = dl::format_pretty(r);
  EXPECT_NE(line.find("\033[2mroot\033[0m: {\"k\":1}"), std::string::npos) << line;
  EXPECT_NE(line.find("\033[31mERROR"), std::string::npos);
}

TEST(ConsoleSink, PrettyModeWritesAnsiEvenToANonTty) {
  std::ostringstream out;
  auto sink = dl::make_console_sink(
      {.mode = dl::ConsoleMode::kPretty, .ostream = &out, .color = dl::ConsoleColor::kAlways});
  sink->emit(sample(nullptr, {}));
  EXPECT_NE(out.str().find("\033["), std::string::npos);
  EXPECT_EQ(sink->id(), "console:pretty");
}

TEST(ConsoleSink, MinSeverityAndClose) {
  std::ostringstream out;
  auto sink = dl::make_console_sink({dl::ConsoleMode::kJson, stderr, &out, dl::kSeverityError});
  EXPECT_FALSE(sink->supports_severity(13));
  EXPECT_TRUE(sink->supports_severity(17));
  sink->close();
  sink->close();
  sink->emit(sample(nullptr, {}));
  EXPECT_TRUE(out.str().empty());
}

// Tests for the pretty console rendering: escaping of logged text, colours, NO_COLOR/TERM,
// padded levels, compact span lines, indented stack traces, and a real pseudo-terminal.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/console_sink.h"
#include "dagstack/logger/span.h"

namespace dl = dagstack::logger;

namespace {

// The text a terminal would receive from a forging body: a second fake record line, a
// window-title OSC, a screen clear, a C1 CSI, a bidi override and an invalid byte.
const std::string kForgery =
    "paid\n2026-01-01T00:00:00.000000Z [ERROR] billing: refund sent\r\033]0;owned\007\033[2J"
    "\xC2\x9B"
    "31m\xE2\x80\xAEtxt\xFF\x7F\t";

dl::LogRecord record_with(std::string_view body, std::span<const dl::Attribute> attrs,
                          int severity = dl::kSeverityInfo) {
  dl::LogRecord r;
  r.time_unix_nano = 1700000000000000000ULL;
  r.severity_number = severity;
  r.body = body;
  r.attributes = attrs;
  return r;
}

std::string plain(const dl::LogRecord& r, dl::PrettySpans spans = dl::PrettySpans::kCompact) {
  std::string out;
  EXPECT_TRUE(dl::format_pretty(r, {.color = false, .spans = spans}, out));
  return out;
}

// Every ESC in `s` starts an SGR sequence `ESC [ digits/; m`; no other control byte appears
// except the final newline(s) given in `allowed_newlines`.
::testing::AssertionResult only_sgr_and_newlines(const std::string& s, std::size_t allowed_newlines,
                                                 bool allow_cr = false) {
  std::size_t newlines = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      ++newlines;
      continue;
    }
    if (c == '\r' && allow_cr && i + 1 < s.size() && s[i + 1] == '\n') continue;
    if (c == 0x1B) {
      std::size_t j = i + 1;
      if (j >= s.size() || s[j] != '[')
        return ::testing::AssertionFailure() << "ESC not CSI at " << i;
      ++j;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == ';')) ++j;
      if (j >= s.size() || s[j] != 'm')
        return ::testing::AssertionFailure() << "non-SGR escape at " << i;
      i = j;
      continue;
    }
    if (c < 0x20 || c == 0x7F)
      return ::testing::AssertionFailure() << "raw control byte " << int(c) << " at " << i;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9F)
      return ::testing::AssertionFailure() << "raw C1 control at " << i;
    if (c == 0xE2 && s.compare(i, 3, "\xE2\x80\xAE") == 0)
      return ::testing::AssertionFailure() << "raw bidi override at " << i;
    if (c == 0xFF) return ::testing::AssertionFailure() << "invalid UTF-8 byte at " << i;
  }
  if (newlines != allowed_newlines)
    return ::testing::AssertionFailure() << newlines << " newlines, want " << allowed_newlines;
  return ::testing::AssertionSuccess();
}

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    const char* v = std::getenv(name);
    if (v != nullptr) old_ = v;
    had_ = v != nullptr;
  }
  ~EnvGuard() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

}  // namespace

TEST(ConsolePretty, BodyControlCharactersAreEscaped) {
  const std::string line = plain(record_with(kForgery, {}));
  EXPECT_TRUE(only_sgr_and_newlines(line, 0)) << line;
  EXPECT_NE(line.find("paid\\n2026-01-01T00:00:00.000000Z [ERROR] billing: refund sent\\r"
                      "\\x1b]0;owned\\x07\\x1b[2J\\u009B31m\\u202Etxt\\xff\\x7f\\t"),
            std::string::npos)
      << line;
}

TEST(ConsolePretty, KeysValuesAndScopeAreEscaped) {
  dl::InstrumentationScope scope{"svc\033[2J", "", {}};
  const dl::Attribute attrs[] = {{"k\nfake=1", "v"}, {"msg", kForgery}, {"tag", "a\033[31mb"}};
  dl::LogRecord r = record_with("ok", attrs);
  r.instrumentation_scope = &scope;
  std::string colored;
  ASSERT_TRUE(dl::format_pretty(r, {.color = true}, colored));
  EXPECT_TRUE(only_sgr_and_newlines(colored, 0)) << colored;
  const std::string line = plain(r);
  EXPECT_TRUE(only_sgr_and_newlines(line, 0)) << line;
  EXPECT_EQ(line.find('\033'), std::string::npos) << line;
  EXPECT_NE(line.find("svc\\x1b[2J: ok"), std::string::npos) << line;
  EXPECT_NE(line.find(" k\\nfake=1=v"), std::string::npos) << line;
  EXPECT_NE(line.find(" tag=a\\x1b[31mb"), std::string::npos) << line;
  EXPECT_NE(line.find(" msg=\"paid\\n2026-01-01"), std::string::npos) << line;
}

TEST(ConsolePretty, QuotedValuesEscapeQuotesAndBackslashes) {
  const dl::Attribute attrs[] = {{"q", "say \"hi\" \\ bye"}, {"empty", ""}};
  const std::string line = plain(record_with("x", attrs));
  EXPECT_NE(line.find("empty=\"\" q=\"say \\\"hi\\\" \\\\ bye\""), std::string::npos) << line;
}

TEST(ConsolePretty, LevelColumnIsPadded) {
  EXPECT_NE(plain(record_with("a", {}, dl::kSeverityInfo)).find(" [INFO ] root: a"),
            std::string::npos);
  EXPECT_NE(plain(record_with("a", {}, dl::kSeverityWarn)).find(" [WARN ] root: a"),
            std::string::npos);
  EXPECT_NE(plain(record_with("a", {}, dl::kSeverityError)).find(" [ERROR] root: a"),
            std::string::npos);
  EXPECT_NE(plain(record_with("a", {}, dl::kSeverityDebug)).find(" [DEBUG] root: a"),
            std::string::npos);
}

TEST(ConsolePretty, ShortTraceAndSpanIdsAreShown) {
  dl::LogRecord r = record_with("in span", {});
  r.trace_id = dl::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  r.span_id = dl::SpanId::from_hex("00f067aa0ba902b7");
  EXPECT_EQ(plain(r),
            "2023-11-14T22:13:20.000000Z [INFO ] root: in span trace=4bf92f35 span=00f067aa");
}

TEST(ConsolePretty, StackTracesAreIndentedOnTheirOwnLines) {
  const dl::Attribute attrs[] = {{"exception.type", "std::runtime_error"},
                                 {"exception.stacktrace", "#0 f() at a.cpp:1\n#1 main\033[2J"}};
  const std::string text = plain(record_with("boom", attrs, dl::kSeverityError));
  EXPECT_EQ(text,
            "2023-11-14T22:13:20.000000Z [ERROR] root: boom | exception.type=std::runtime_error\n"
            "    exception.stacktrace:\n"
            "    #0 f() at a.cpp:1\n"
            "    #1 main\\x1b[2J");
}

TEST(ConsolePretty, CompactSpansHideTheStartAndSummariseTheEnd) {
  const dl::Attribute start[] = {{"dagstack.span.event", "start"}, {"operation.name", "fetch"}};
  std::string out;
  EXPECT_FALSE(dl::format_pretty(record_with("fetch", start), {.color = false}, out));
  EXPECT_TRUE(out.empty());
  const dl::Attribute end[] = {{"dagstack.span.event", "end"},
                               {"operation.name", "fetch"},
                               {"operation.id", "00f067aa0ba902b7"},
                               {"operation.kind", "internal"},
                               {"operation.status", "error"},
                               {"operation.status.message", "timeout"},
                               {"operation.duration_ms", 12},
                               {"dagstack.span.duration_ns", 12'345'678},
                               {"http.route", "/x"}};
  dl::LogRecord r = record_with("fetch", end);
  r.trace_id = dl::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  r.span_id = dl::SpanId::from_hex("00f067aa0ba902b7");
  EXPECT_EQ(plain(r),
            "2023-11-14T22:13:20.000000Z [INFO ] root: span fetch error: timeout 12.3ms | "
            "http.route=/x trace=4bf92f35 span=00f067aa");
  // Full mode shows both records as ordinary lines.
  EXPECT_NE(plain(record_with("fetch", start), dl::PrettySpans::kFull).find("root: fetch |"),
            std::string::npos);
}

TEST(ConsolePretty, RealSpansGiveOneLineEach) {
  dl::Logger::reset();
  std::ostringstream out;
  auto sink = dl::make_console_sink(
      {.mode = dl::ConsoleMode::kPretty, .ostream = &out, .color = dl::ConsoleColor::kNever});
  dl::Logger::get().set_sinks({sink});
  dl::Logger::get("dagstack.trace").set_sinks({sink});
  {
    dl::Span outer("outer");
    dl::Logger::get("app").info("inside");
    dl::Span inner("inner", {.kind = "llm"});
  }
  const std::string text = out.str();
  std::istringstream lines(text);
  std::string l;
  std::vector<std::string> all;
  while (std::getline(lines, l)) all.push_back(l);
  ASSERT_EQ(all.size(), 3u) << text;
  EXPECT_NE(all[0].find("app: inside"), std::string::npos) << text;
  EXPECT_NE(all[1].find("span inner ok "), std::string::npos) << text;
  EXPECT_NE(all[1].find("operation.kind=llm"), std::string::npos) << text;
  EXPECT_NE(all[2].find("span outer ok "), std::string::npos) << text;
  EXPECT_NE(all[2].find(" trace="), std::string::npos) << text;
  dl::Logger::reset();
}

TEST(ConsolePretty, NoColorAndDumbTermAreHonoured) {
  EnvGuard no_color("NO_COLOR");
  EnvGuard term("TERM");
  const auto render = [] {
    std::ostringstream out;
    auto sink = dl::make_console_sink({.mode = dl::ConsoleMode::kPretty, .ostream = &out});
    sink->emit(record_with("hello", {}));
    return out.str();
  };
  ::unsetenv("NO_COLOR");
  ::setenv("TERM", "xterm-256color", 1);
  EXPECT_NE(render().find('\033'), std::string::npos);
  ::setenv("NO_COLOR", "1", 1);
  EXPECT_EQ(render().find('\033'), std::string::npos);
  ::setenv("NO_COLOR", "", 1);  // empty means unset (no-color.org)
  EXPECT_NE(render().find('\033'), std::string::npos);
  ::setenv("TERM", "dumb", 1);
  EXPECT_EQ(render().find('\033'), std::string::npos);
  // An explicit choice wins over the environment.
  std::ostringstream forced;
  dl::make_console_sink(
      {.mode = dl::ConsoleMode::kPretty, .ostream = &forced, .color = dl::ConsoleColor::kAlways})
      ->emit(record_with("hello", {}));
  EXPECT_NE(forced.str().find('\033'), std::string::npos);
}

namespace {
// Reads what the terminal side of a pty received, until `deadline_ms` of silence.
std::string drain(int master) {
  std::string got;
  char buf[4096];
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 300) <= 0) break;
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}
}  // namespace

TEST(ConsolePretty, PseudoTerminalReceivesOneSafeLinePerRecord) {
  EnvGuard no_color("NO_COLOR");
  EnvGuard term("TERM");
  ::unsetenv("NO_COLOR");
  ::setenv("TERM", "xterm", 1);
  int master = -1;
  int slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  std::FILE* tty = ::fdopen(slave, "w");
  ASSERT_NE(tty, nullptr);
  {
    auto sink = dl::make_console_sink({.mode = dl::ConsoleMode::kAuto, .stream = tty});
    const dl::Attribute attrs[] = {{"note", kForgery}, {kForgery, 1}};
    sink->emit(record_with(kForgery, attrs));
    sink->emit(record_with("second", {}));
  }
  const std::string got = drain(master);
  std::fclose(tty);
  ::close(master);
  // The auto mode saw a terminal: pretty with colours, and exactly two lines (the terminal's
  // line discipline turns each '\n' into "\r\n").
  EXPECT_NE(got.find("\033["), std::string::npos) << got;
  EXPECT_TRUE(only_sgr_and_newlines(got, 2, /*allow_cr=*/true)) << got;
  EXPECT_NE(got.find("second"), std::string::npos);
}

TEST(ConsolePretty, PseudoTerminalWithDumbTermGetsNoEscapes) {
  EnvGuard term("TERM");
  ::setenv("TERM", "dumb", 1);
  int master = -1;
  int slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  std::FILE* tty = ::fdopen(slave, "w");
  ASSERT_NE(tty, nullptr);
  dl::make_console_sink({.stream = tty})->emit(record_with(kForgery, {}));
  const std::string got = drain(master);
  std::fclose(tty);
  ::close(master);
  EXPECT_EQ(got.find('\033'), std::string::npos) << got;
  EXPECT_TRUE(only_sgr_and_newlines(got, 1, true)) << got;
  EXPECT_NE(got.find(" [INFO ] root: paid\\n2026"), std::string::npos) << got;
}

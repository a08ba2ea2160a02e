// conventions_test.cpp: semantic-convention names (contract §9), UTF-8-safe truncation with the
// *_truncated / *_original_bytes markers, and the rate-limited Progress reporter.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/conventions.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"

namespace dagstack::logger {
namespace {

namespace cv = conventions;
using namespace std::chrono_literals;

// True when `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(ConventionNamesTest, SpotChecks) {
  EXPECT_EQ(cv::kOperationName, "operation.name");
  EXPECT_EQ(cv::kOperationDurationMs, "operation.duration_ms");
  EXPECT_EQ(cv::kProgressEtaMs, "progress.eta_ms");
  EXPECT_EQ(cv::kGenAiUsageCacheReadInputTokens, "gen_ai.usage.cache.read_input_tokens");
  EXPECT_EQ(cv::kGenAiResponseFinishReasons, "gen_ai.response.finish_reasons");
  EXPECT_EQ(cv::kMcpResponseIsError, "mcp.response.is_error");
  EXPECT_EQ(cv::kRagRerankerTopNBeforeRerank, "rag.reranker.top_n_before_rerank");
  EXPECT_EQ(cv::kAgentDecisionRationale, "agent.decision.rationale");
  EXPECT_EQ(cv::kPromptSectionHistoryTokens, "prompt.section.history.tokens");
  EXPECT_EQ(cv::gen_ai_prompt_role(0), "gen_ai.prompt.0.role");
  EXPECT_EQ(cv::gen_ai_prompt_content(12), "gen_ai.prompt.12.content");
}

TEST(TruncateTest, ShortValuesAreKept) {
  const auto t = cv::truncate("hello", 5);
  EXPECT_EQ(t.value, "hello");
  EXPECT_FALSE(t.truncated);
  EXPECT_EQ(t.original_bytes, 5u);
  EXPECT_EQ(cv::truncate("", 0).value, "");
}

TEST(TruncateTest, AsciiIsCutAtTheLimit) {
  const auto t = cv::truncate("abcdefgh", 3);
  EXPECT_EQ(t.value, "abc");
  EXPECT_TRUE(t.truncated);
  EXPECT_EQ(t.original_bytes, 8u);
  EXPECT_EQ(cv::truncate("abc", 0).value, "");
}

TEST(TruncateTest, MultiByteCharactersAreNeverSplit) {
  // "aé€😀": 1 + 2 + 3 + 4 bytes.
  const std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  ASSERT_EQ(s.size(), 10u);
  EXPECT_EQ(cv::truncate(s, 2).value, "a");             // é would be split
  EXPECT_EQ(cv::truncate(s, 3).value, "a\xc3\xa9");
  EXPECT_EQ(cv::truncate(s, 5).value, "a\xc3\xa9");     // € would be split
  EXPECT_EQ(cv::truncate(s, 6).value, "a\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(cv::truncate(s, 9).value, "a\xc3\xa9\xe2\x82\xac");  // 😀 would be split
  for (std::size_t max = 0; max <= s.size() + 1; ++max) {
    const auto t = cv::truncate(s, max);
    EXPECT_LE(t.value.size(), max);
    EXPECT_TRUE(valid_utf8(t.value)) << max;
    EXPECT_EQ(s.compare(0, t.value.size(), t.value), 0);
    EXPECT_LT(std::min(max, s.size()) - t.value.size(), 4u);
    EXPECT_EQ(t.truncated, max < s.size());
  }
}

TEST(TruncateTest, InvalidUtf8IsCutByBytes) {
  const std::string junk(10, '\x80');  // continuation bytes only
  EXPECT_EQ(cv::truncate(junk, 6).value.size(), 6u);
}

TEST(TruncateTest, PutTruncatedAddsMarkersOnlyWhenCut) {
  Value::Map attrs;
  EXPECT_FALSE(cv::put_truncated(attrs, "prompt.content", "short", 100));
  EXPECT_EQ(attrs.size(), 1u);
  EXPECT_EQ(attrs.at("prompt.content"), Value("short"));
  EXPECT_TRUE(cv::put_truncated(attrs, "prompt.content", std::string(5000, 'x')));
  EXPECT_EQ(attrs.at("prompt.content").as_string().size(), cv::kDefaultMaxBodyBytes);
  EXPECT_EQ(attrs.at("prompt.content_truncated"), Value(true));
  EXPECT_EQ(attrs.at("prompt.content_original_bytes"), Value(5000));
}

TEST(TruncateTest, BodyKeys) {
  for (const char* k : {"prompt.content", "doc.markdown", "snippet.code", "result.table_json", "page.html", "content"}) {
    EXPECT_TRUE(cv::is_body_key(k)) << k;
  }
  for (const char* k : {"snippet.code.lang", "contentx", "mycontent", "prompt.content_truncated", "code_owner", ""}) {
    EXPECT_FALSE(cv::is_body_key(k)) << k;
  }
}

TEST(TruncateTest, TruncateBodiesCutsOnlyLongBodyStrings) {
  Value::Map attrs = {{"prompt.content", std::string(50, 'a')},
                      {"answer.markdown", "short"},
                      {"user.note", std::string(50, 'b')},
                      {"rows.table_json", 42}};
  EXPECT_EQ(cv::truncate_bodies(attrs, 10), 1u);
  EXPECT_EQ(attrs.at("prompt.content").as_string(), std::string(10, 'a'));
  EXPECT_EQ(attrs.at("prompt.content_original_bytes"), Value(50));
  EXPECT_EQ(attrs.at("answer.markdown"), Value("short"));
  EXPECT_EQ(attrs.at("user.note").as_string().size(), 50u);  // not a body key
  EXPECT_EQ(attrs.count("answer.markdown_truncated"), 0u);
}

class ProgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    sink_ = std::make_shared<InMemorySink>(1000);
    ConfigureOptions o;
    o.sinks = SinkList{sink_};
    o.root_level = "DEBUG";
    configure(o);
  }
  void TearDown() override { Logger::reset(); }

  cv::ProgressOptions options() {
    cv::ProgressOptions o;
    o.unit = std::string(cv::kUnitFiles);
    o.total = 100;
    o.operation_id = "op-1";
    o.now = [this] { return now_; };
    return o;
  }
  std::vector<OwnedLogRecord> events(std::string_view name) const {
    std::vector<OwnedLogRecord> out;
    for (auto& r : sink_->records()) {
      if (const Value* n = r.attribute("event.name"); n != nullptr && n->as_string() == name) out.push_back(r);
    }
    return out;
  }

  std::shared_ptr<InMemorySink> sink_;
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
};

TEST_F(ProgressTest, TicksFasterThanTheIntervalAreDropped) {
  cv::Progress p(Logger::get("indexer"), options());
  p.started();
  EXPECT_TRUE(p.progress(10));    // t = 0: the first tick always goes out
  now_ += 100ms;
  EXPECT_FALSE(p.progress(20));   // t = 100 ms
  now_ += 399ms;
  EXPECT_FALSE(p.progress(30));   // t = 499 ms
  now_ += 1ms;
  EXPECT_TRUE(p.progress(40));    // t = 500 ms
  now_ += 700ms;
  EXPECT_TRUE(p.progress(60));    // t = 1200 ms
  EXPECT_FALSE(p.progress(61));   // same instant
  p.completed();                  // never dropped, even right after a tick
  EXPECT_EQ(p.emitted_ticks(), 3u);
  EXPECT_EQ(p.dropped_ticks(), 3u);

  const auto ticks = events("tick");
  ASSERT_EQ(ticks.size(), 3u);
  EXPECT_EQ(ticks[0].attribute("progress.current")->as_int(), 10);
  EXPECT_EQ(ticks[1].attribute("progress.current")->as_int(), 40);
  EXPECT_EQ(ticks[2].attribute("progress.current")->as_int(), 60);
  for (const auto& t : ticks) {
    EXPECT_EQ(t.severity_number, kSeverityDebug);
    EXPECT_EQ(*t.attribute("event.domain"), Value("progress"));
    EXPECT_EQ(*t.attribute("progress.unit"), Value("files"));
    EXPECT_EQ(*t.attribute("progress.total"), Value(100));
    EXPECT_EQ(*t.attribute("operation.id"), Value("op-1"));
  }
  // 60 files in 1.2 s = 50 files/s; 40 left = 800 ms.
  ASSERT_NE(ticks[2].attribute("progress.rate"), nullptr);
  EXPECT_DOUBLE_EQ(ticks[2].attribute("progress.rate")->as_double(), 50.0);
  EXPECT_EQ(ticks[2].attribute("progress.eta_ms")->as_int(), 800);
  EXPECT_EQ(ticks[2].body, Value("progress tick 60/100 files"));

  const auto started = events("started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].severity_number, kSeverityInfo);
  const auto completed = events("completed");
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].severity_number, kSeverityInfo);
  EXPECT_EQ(completed[0].attribute("progress.current")->as_int(), 61);
}

TEST_F(ProgressTest, FailedIsNeverDroppedAndCarriesTheReason) {
  cv::Progress p(Logger::get("indexer"), options());
  p.started();
  EXPECT_TRUE(p.progress(5));
  p.failed("disk full", {{"path", "/data"}});
  const auto failed = events("failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].severity_number, kSeverityError);
  EXPECT_EQ(*failed[0].attribute("operation.status"), Value("error"));
  EXPECT_EQ(*failed[0].attribute("operation.status.message"), Value("disk full"));
  EXPECT_EQ(*failed[0].attribute("path"), Value("/data"));
  EXPECT_EQ(failed[0].attribute("progress.current")->as_int(), 5);
}

TEST_F(ProgressTest, TotalAndUnitCanChangeAndOperationIdComesFromTheSpan) {
  cv::ProgressOptions o;
  o.now = [this] { return now_; };
  std::optional<cv::Progress> p;
  {
    ScopedContext span(Context::with_span(TraceId::from_hex("0123456789abcdef0123456789abcdef"),
                                          SpanId::from_hex("00000000000000aa")));
    p.emplace(Logger::get("indexer"), o);
  }
  EXPECT_TRUE(p->progress(3, 9, cv::kUnitChunks));
  now_ += 1s;
  EXPECT_TRUE(p->progress(6));
  const auto ticks = events("tick");
  ASSERT_EQ(ticks.size(), 2u);
  EXPECT_EQ(*ticks[1].attribute("progress.unit"), Value("chunks"));
  EXPECT_EQ(*ticks[1].attribute("progress.total"), Value(9));
  EXPECT_EQ(*ticks[1].attribute("operation.id"), Value("00000000000000aa"));
  EXPECT_EQ(ticks[0].attribute("progress.rate"), nullptr);  // no time has passed yet
}

TEST_F(ProgressTest, TicksAreDroppedBelowTheLoggerLevelButStillCounted) {
  Logger::get("indexer").set_level("INFO");
  cv::Progress p(Logger::get("indexer"), options());
  p.started();
  p.progress(1);
  p.completed(100);
  EXPECT_EQ(events("tick").size(), 0u);
  EXPECT_EQ(events("started").size(), 1u);
  EXPECT_EQ(events("completed").at(0).attribute("progress.current")->as_int(), 100);
}

TEST_F(ProgressTest, ConcurrentReportersAreCountedExactly) {
  cv::ProgressOptions o = options();
  o.now = {};  // the real clock
  o.min_interval = 50ms;
  cv::Progress p(Logger::get("indexer"), o);
  constexpr int kThreads = 4;
  constexpr int kCalls = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&p] {
      for (int i = 0; i < kCalls; ++i) p.progress(i);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(p.emitted_ticks() + p.dropped_ticks(), static_cast<std::size_t>(kThreads * kCalls));
  EXPECT_GE(p.emitted_ticks(), 1u);
  EXPECT_EQ(events("tick").size(), p.emitted_ticks());
}

}  // namespace
}  // namespace dagstack::logger

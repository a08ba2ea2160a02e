// Integration: 8 threads writing through FileSink rotation (directly, through the Logger, and
// through an AsyncSink) leave every record exactly once across the files, each line whole and
// parseable by the strict JSON-lines reader, per-thread order intact from the oldest archive to
// the live file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/async_sink.h"
#include "dagstack/logger/sinks/file_sink.h"

namespace dl = dagstack::logger;
namespace fs = std::filesystem;

namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 400;
constexpr std::uint64_t kMaxBytes = 8 * 1024;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dagstack-rotation-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Every file of the rotation set, oldest archive first, live file last.
std::vector<std::string> rotation_files(const std::string& path) {
  std::map<int, std::string, std::greater<>> archives;  // highest number (oldest) first
  const std::string prefix = fs::path(path).filename().string() + ".";
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0)
      archives.emplace(std::stoi(name.substr(prefix.size())), e.path().string());
  }
  std::vector<std::string> files;
  for (const auto& [n, f] : archives) files.push_back(f);
  if (fs::exists(path)) files.push_back(path);
  return files;
}

struct Collected {
  std::vector<dl::OwnedLogRecord> records;  // in file order
  std::size_t files = 0;
};

Collected collect(const std::string& path) {
  Collected c;
  for (const auto& f : rotation_files(path)) {
    ++c.files;
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string content = ss.str();
    EXPECT_LE(content.size(), kMaxBytes) << f;
    if (!content.empty()) {
      EXPECT_EQ(content.back(), '\n') << f << " ends with a partial line";
    }
    std::istringstream lines(content);
    for (std::string line; std::getline(lines, line);) {
      try {
        c.records.push_back(dl::parse_jsonl_record(line));
      } catch (const std::exception& e) {
        ADD_FAILURE() << "torn or invalid line in " << f << ": " << e.what() << "\n" << line;
      }
    }
  }
  return c;
}

std::int64_t int_attr(const dl::OwnedLogRecord& r, const char* key) {
  const dl::Value* v = r.attribute(key);
  if (v == nullptr || !v->is_int())
    throw std::runtime_error(std::string("no int attribute ") + key);
  return v->as_int();
}

// Each (thread, seq) exactly once, in increasing seq order per thread.
void expect_every_record_once_in_order(const Collected& c) {
  ASSERT_EQ(c.records.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::vector<std::int64_t> next(kThreads, 0);
  for (const auto& r : c.records) {
    const auto t = int_attr(r, "thread");
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    ASSERT_EQ(int_attr(r, "seq"), next[t]) << "thread " << t;
    ++next[t];
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kPerThread);
}

dl::FileSinkOptions rotating(const std::string& path, int keep) {
  dl::FileSinkOptions o;
  o.path = path;
  o.max_bytes = kMaxBytes;
  o.keep = keep;
  o.durability = dl::FileDurability::kBuffered;
  o.buffer_bytes = 4096;  // smaller than max_bytes, so buffer-full writes and rotations interleave
  return o;
}

void write_from_threads(dl::Sink& sink) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&sink, t] {
      dl::InstrumentationScope scope{"rotation.threads", {}, {}};
      // A long string makes interleaving visible if two writes ever overlapped.
      const std::string payload(40 + t * 7, static_cast<char>('a' + t));
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<dl::Attribute> attrs = {{"thread", t}, {"seq", i}, {"payload", payload}};
        dl::LogRecord r;
        r.time_unix_nano = 1700000000000000000ULL + static_cast<std::uint64_t>(i);
        r.severity_number = (i % 97 == 0) ? dl::kSeverityError : dl::kSeverityInfo;
        r.body = "rotation under threads";
        r.attributes = attrs;
        r.instrumentation_scope = &scope;
        sink.emit(r);
      }
    });
  }
  for (auto& th : threads) th.join();
}

class FileRotationThreads : public ::testing::Test {
 protected:
  void SetUp() override { dl::Logger::reset(); }
  void TearDown() override { dl::Logger::reset(); }
  TempDir dir_;
};

TEST_F(FileRotationThreads, DirectEmitsLeaveEveryRecordOnceAcrossFiles) {
  const std::string path = dir_.file("direct.jsonl");
  dl::FileSink sink(rotating(path, 1000));
  write_from_threads(sink);
  sink.close();
  const Collected c = collect(path);
  EXPECT_GT(c.files, 10u);
  EXPECT_EQ(c.files, sink.stats().rotations + 1);
  expect_every_record_once_in_order(c);
  EXPECT_EQ(sink.stats().records_written, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(sink.stats().write_errors, 0u);
}

TEST_F(FileRotationThreads, LoggerEmitsWithPerThreadTraceContext) {
  const std::string path = dir_.file("logger.jsonl");
  dl::ConfigureOptions c;
  c.sinks = dl::SinkList{dl::make_file_sink(rotating(path, 1000))};
  dl::configure(c);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      auto log = dl::Logger::get("rotation.logger");
      char trace[33];
      std::snprintf(trace, sizeof trace, "%032x", t + 1);
      dl::ScopedContext ctx(dl::Context::with_span(dl::TraceId::from_hex(trace),
                                                   dl::SpanId::from_hex("00000000000000ff")));
      for (int i = 0; i < kPerThread; ++i)
        log.info("through the logger", {{"thread", t}, {"seq", i}});
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(dl::shutdown(std::chrono::milliseconds(2000)).success);
  const Collected col = collect(path);
  expect_every_record_once_in_order(col);
  for (const auto& r : col.records) {
    EXPECT_EQ(r.trace_id.bytes[15], static_cast<std::uint8_t>(int_attr(r, "thread") + 1));
  }
}

TEST_F(FileRotationThreads, ThroughAnAsyncSinkNothingIsLostOrTorn) {
  const std::string path = dir_.file("async.jsonl");
  dl::AsyncSinkOptions ao;
  ao.queue_capacity = 128;  // small: producers block now and then
  dl::AsyncSink sink(dl::make_file_sink(rotating(path, 1000)), ao);
  write_from_threads(sink);
  sink.close();
  expect_every_record_once_in_order(collect(path));
  EXPECT_EQ(sink.delivered(), static_cast<std::uint64_t>(kThreads * kPerThread));
}

TEST_F(FileRotationThreads, SmallKeepRetainsOnlyWholeNewestRecordsWithoutDuplicates) {
  const std::string path = dir_.file("keep3.jsonl");
  dl::FileSink sink(rotating(path, 3));
  write_from_threads(sink);
  sink.close();
  EXPECT_FALSE(fs::exists(path + ".4"));
  const Collected c = collect(path);
  EXPECT_EQ(c.files, 4u);
  // The retained files hold everything written after some moment, so each thread's retained
  // records are a contiguous run ending at its last record (or nothing, if it finished earlier).
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  std::vector<std::vector<std::int64_t>> per_thread(kThreads);
  for (const auto& r : c.records) {
    const auto key = std::make_pair(int_attr(r, "thread"), int_attr(r, "seq"));
    EXPECT_TRUE(seen.insert(key).second) << "duplicate record";
    per_thread[key.first].push_back(key.second);
  }
  EXPECT_FALSE(seen.empty());
  for (int t = 0; t < kThreads; ++t) {
    const auto& s = per_thread[t];
    if (s.empty()) continue;
    EXPECT_EQ(s.back(), kPerThread - 1) << "thread " << t;
    for (std::size_t i = 1; i < s.size(); ++i) EXPECT_EQ(s[i], s[i - 1] + 1) << "thread " << t;
  }
}

}  // namespace

// Tests for FileSink (contract §4.4, DESIGN §4.7): JSON lines, append mode, absolute id, Go-style
// rotation, buffering and its flush triggers, write failures (/dev/full), reopen after unlink,
// and zero heap allocations per emit in steady state.
#include "dagstack/logger/sinks/file_sink.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "support/alloc_counter.h"

namespace dl = dagstack::logger;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dagstack-file-sink-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
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

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::uintmax_t file_size(const std::string& path) {
  std::error_code ec;
  auto s = fs::file_size(path, ec);
  return ec ? 0 : s;
}

// A record with a fixed-width body so every line has the same length.
struct RecordFactory {
  dl::InstrumentationScope scope{"file.test", {}, {}};
  std::string body;
  std::vector<dl::Attribute> attrs;

  dl::LogRecord make(int seq, int severity = dl::kSeverityInfo) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "record %05d", seq);
    body = buf;
    attrs = {{"seq", seq}, {"http.method", "GET"}, {"ratio", 0.5}};
    dl::LogRecord r;
    r.time_unix_nano = 1700000000000000000ULL;
    r.severity_number = severity;
    r.body = dl::AttrValue(body);
    r.attributes = attrs;
    r.instrumentation_scope = &scope;
    return r;
  }

  // A record of about 95 bytes, so two fit under max_bytes = 200.
  dl::LogRecord make_small(int seq) {
    attrs = {{"seq", seq}};
    dl::LogRecord r;
    r.time_unix_nano = 1;
    r.body = "r";
    r.attributes = attrs;
    return r;
  }
};

int seq_of(const std::string& line) {
  dl::OwnedLogRecord r = dl::parse_jsonl_record(line);
  const dl::Value* v = r.attribute("seq");
  if (v == nullptr || !v->is_int()) throw std::runtime_error("no seq in " + line);
  return static_cast<int>(v->as_int());
}

// The seq of a small record (no instrumentation_scope, which the strict reader requires).
int small_seq_of(const std::string& line) {
  const auto at = line.find("\"seq\":");
  if (at == std::string::npos || line.front() != '{' || line.back() != '}') {
    throw std::runtime_error("not a small record: " + line);
  }
  return std::stoi(line.substr(at + 6));
}

dl::FileSinkOptions opts(const std::string& path) {
  dl::FileSinkOptions o;
  o.path = path;
  return o;
}

// The file holds records 0..n-1 once each, in order.
::testing::AssertionResult holds_in_order(const std::string& path, int n) {
  const auto lines = read_lines(path);
  if (lines.size() != static_cast<std::size_t>(n)) {
    return ::testing::AssertionFailure() << lines.size() << " lines, expected " << n;
  }
  for (int i = 0; i < n; ++i) {
    const int seq = seq_of(lines[static_cast<std::size_t>(i)]);
    if (seq != i) return ::testing::AssertionFailure() << "line " << i << " holds seq " << seq;
  }
  return ::testing::AssertionSuccess();
}

// After close(): every one of `n` records written, none dropped, and the bytes are the file's.
void expect_all_written(dl::FileSink& sink, const std::string& path, int n) {
  const auto st = sink.stats();
  EXPECT_EQ(st.records_written, static_cast<std::uint64_t>(n));
  EXPECT_EQ(st.records_dropped, 0u);
  EXPECT_EQ(st.bytes_written, file_size(path));
}

// An internal record reports a full disk (optionally for one sink id).
bool reports_full_disk(const dl::InMemorySink& internal, std::string_view sink_id = {}) {
  for (const auto& rec : internal.records()) {
    const dl::Value* id = rec.attribute("sink.id");
    const dl::Value* err = rec.attribute("error.message");
    if (!sink_id.empty() && !(id != nullptr && id->is_string() && id->as_string() == sink_id)) {
      continue;
    }
    if (err != nullptr && err->is_string() &&
        err->as_string().find("No space left on device") != std::string::npos) {
      return true;
    }
  }
  return false;
}

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { dl::Logger::reset(); }
  void TearDown() override { dl::Logger::reset(); }
  TempDir dir_;
  RecordFactory rf_;
};

TEST_F(FileSinkTest, WritesOneCanonicalJsonLinePerRecord) {
  const std::string path = dir_.file("app.jsonl");
  dl::FileSink sink(opts(path));
  for (int i = 0; i < 3; ++i) sink.emit(rf_.make(i));
  sink.close();
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i], dl::to_jsonl(rf_.make(i)));
    EXPECT_EQ(seq_of(lines[i]), i);
  }
  EXPECT_EQ(read_file(path).back(), '\n');
  auto st = sink.stats();
  EXPECT_EQ(st.records_written, 3u);
  EXPECT_EQ(st.bytes_written, file_size(path));
  EXPECT_EQ(st.write_errors, 0u);
}

TEST_F(FileSinkTest, IdIsFileColonAbsolutePath) {
  const std::string path = dir_.file("abs.jsonl");
  dl::FileSink sink(opts(path));
  EXPECT_EQ(sink.id(), "file:" + path);
  EXPECT_EQ(sink.path(), path);

  // A relative path is resolved against the working directory at construction.
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir_.path());
  auto rel = dl::make_file_sink(opts("./sub/../rel.jsonl"));
  fs::current_path(old_cwd);
  const std::string expected = (fs::path(dir_.path()) / "rel.jsonl").string();
  EXPECT_EQ(rel->id(), "file:" + expected);
  EXPECT_TRUE(fs::exists(expected));
  ASSERT_NE(std::dynamic_pointer_cast<dl::FileSink>(rel), nullptr);
}

TEST_F(FileSinkTest, OpenFailureThrowsConfigErrorWithPathAndReason) {
  const std::string missing = dir_.file("no/such/dir/app.jsonl");
  try {
    dl::FileSink sink(opts(missing));
    FAIL() << "expected ConfigError";
  } catch (const dl::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(missing), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  }
  try {
    dl::FileSink sink(opts(dir_.path()));  // a directory
    FAIL() << "expected ConfigError";
  } catch (const dl::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("Is a directory"), std::string::npos) << e.what();
  }
  EXPECT_THROW(dl::FileSink(opts("")), dl::ConfigError);
}

TEST_F(FileSinkTest, OpensInAppendModeWithMode0644) {
  const std::string path = dir_.file("append.jsonl");
  {
    std::ofstream out(path);
    out << "existing line\n";
  }
  {
    dl::FileSink sink(opts(path));
    sink.emit(rf_.make(1));
  }  // destructor closes and writes
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "existing line");
  EXPECT_EQ(seq_of(lines[1]), 1);

  const std::string fresh = dir_.file("fresh.jsonl");
  const mode_t old_mask = ::umask(022);
  { dl::FileSink sink(opts(fresh)); }
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(FileSinkTest, MinSeverityFilters) {
  const std::string path = dir_.file("min.jsonl");
  auto o = opts(path);
  o.min_severity = dl::kSeverityWarn;
  dl::FileSink sink(o);
  EXPECT_FALSE(sink.supports_severity(dl::kSeverityInfo));
  EXPECT_TRUE(sink.supports_severity(dl::kSeverityWarn));
  sink.emit(rf_.make(1, dl::kSeverityInfo));
  sink.emit(rf_.make(2, dl::kSeverityWarn));
  sink.emit(rf_.make(3, dl::kSeverityFatal));
  sink.close();
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(seq_of(lines[0]), 2);
  EXPECT_EQ(seq_of(lines[1]), 3);
}

TEST_F(FileSinkTest, CloseIsIdempotentAndLaterCallsAreSilent) {
  const std::string path = dir_.file("close.jsonl");
  dl::FileSink sink(opts(path));
  sink.emit(rf_.make(1));
  sink.close();
  const auto size = file_size(path);
  EXPECT_GT(size, 0u);
  sink.close();
  sink.emit(rf_.make(2));
  EXPECT_TRUE(sink.flush(std::chrono::milliseconds(100)).success);
  sink.close();
  EXPECT_EQ(file_size(path), size);
  EXPECT_EQ(read_lines(path).size(), 1u);
}

TEST_F(FileSinkTest, BuffersUntilFlush) {
  const std::string path = dir_.file("buffered.jsonl");
  auto o = opts(path);
  o.durability = dl::FileDurability::kBuffered;
  o.flush_interval = std::chrono::milliseconds(0);  // no timer
  dl::FileSink sink(o);
  for (int i = 0; i < 10; ++i) sink.emit(rf_.make(i));
  EXPECT_EQ(file_size(path), 0u) << "records should wait in the buffer";
  EXPECT_TRUE(sink.flush(std::chrono::milliseconds(100)).success);
  EXPECT_EQ(read_lines(path).size(), 10u);
}

TEST_F(FileSinkTest, FullBufferIsWrittenInOneGo) {
  const std::string path = dir_.file("full.jsonl");
  auto o = opts(path);
  o.durability = dl::FileDurability::kBuffered;
  const std::size_t line = dl::to_jsonl(rf_.make(0)).size() + 1;
  o.buffer_bytes = line * 4;
  o.flush_interval = std::chrono::milliseconds(0);
  dl::FileSink sink(o);
  for (int i = 0; i < 3; ++i) sink.emit(rf_.make(i));
  EXPECT_EQ(file_size(path), 0u);
  sink.emit(rf_.make(3));  // reaches buffer_bytes
  EXPECT_EQ(file_size(path), line * 4);
  sink.emit(rf_.make(4));
  EXPECT_EQ(file_size(path), line * 4);
}

TEST_F(FileSinkTest, RecordAtFlushSeverityIsWrittenThrough) {
  const std::string path = dir_.file("through.jsonl");
  auto o = opts(path);
  o.durability = dl::FileDurability::kBuffered;
  o.flush_interval = std::chrono::milliseconds(0);
  dl::FileSink sink(o);
  sink.emit(rf_.make(1, dl::kSeverityInfo));
  EXPECT_EQ(file_size(path), 0u);
  sink.emit(rf_.make(2, dl::kSeverityError));
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);  // the buffered INFO goes first, in order
  EXPECT_EQ(seq_of(lines[0]), 1);
  EXPECT_EQ(seq_of(lines[1]), 2);
}

TEST_F(FileSinkTest, ZeroBufferWritesEveryRecord) {
  const std::string path = dir_.file("unbuffered.jsonl");
  auto o = opts(path);
  o.buffer_bytes = 0;
  dl::FileSink sink(o);
  sink.emit(rf_.make(1));
  EXPECT_EQ(read_lines(path).size(), 1u);
  sink.emit(rf_.make(2));
  EXPECT_EQ(read_lines(path).size(), 2u);
}

TEST_F(FileSinkTest, TimerWritesABufferedRecordWithinTheInterval) {
  const std::string path = dir_.file("timer.jsonl");
  auto o = opts(path);
  o.durability = dl::FileDurability::kBuffered;
  o.flush_interval = std::chrono::milliseconds(50);
  dl::FileSink sink(o);
  const auto start = std::chrono::steady_clock::now();
  sink.emit(rf_.make(1));
  EXPECT_EQ(file_size(path), 0u);
  while (file_size(path) == 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(3)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(read_lines(path).size(), 1u);
  EXPECT_GE(waited, std::chrono::milliseconds(40));
  EXPECT_LT(waited, std::chrono::milliseconds(1000));
}

TEST_F(FileSinkTest, RotationKeepsOneToTwoBackups) {
  const std::string path = dir_.file("rot.jsonl");
  auto o = opts(path);
  o.max_bytes = 200;
  o.keep = 2;
  dl::FileSink sink(o);
  for (int i = 0; i < 20; ++i) sink.emit(rf_.make_small(i));
  sink.close();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(fs::exists(path + ".1"));
  EXPECT_FALSE(fs::exists(path + ".3"));
  EXPECT_FALSE(fs::exists(dir_.file("rot.1.jsonl")));
  // Oldest archive first, live file last: sequence numbers keep increasing, ending at 19.
  std::vector<int> seqs;
  for (const std::string& f : {path + ".2", path + ".1", path}) {
    if (!fs::exists(f)) continue;
    for (const auto& line : read_lines(f)) seqs.push_back(small_seq_of(line));
  }
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.back(), 19);
  for (std::size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
  EXPECT_GT(sink.stats().rotations, 0u);
  for (const std::string& f : {path + ".2", path + ".1", path}) EXPECT_LE(file_size(f), 200u) << f;
}

TEST_F(FileSinkTest, RotationFollowsGoSemanticsExactly) {
  const std::string path = dir_.file("exact.jsonl");
  const std::size_t line = dl::to_jsonl(rf_.make(0)).size() + 1;
  auto o = opts(path);
  o.max_bytes = 2 * line;  // exactly two lines fit: size + L > max only for the third
  o.keep = 5;
  dl::FileSink sink(o);
  for (int i = 0; i < 5; ++i) sink.emit(rf_.make(i));
  sink.close();
  auto seqs_in = [&](const std::string& f) {
    std::vector<int> s;
    for (const auto& l : read_lines(f)) s.push_back(seq_of(l));
    return s;
  };
  EXPECT_EQ(seqs_in(path + ".2"), (std::vector<int>{0, 1}));
  EXPECT_EQ(seqs_in(path + ".1"), (std::vector<int>{2, 3}));
  EXPECT_EQ(seqs_in(path), (std::vector<int>{4}));
  EXPECT_FALSE(fs::exists(path + ".3"));
  EXPECT_EQ(sink.stats().rotations, 2u);
}

TEST_F(FileSinkTest, LineLargerThanMaxBytesStillGoesIntoAnEmptyFile) {
  const std::string path = dir_.file("big.jsonl");
  auto o = opts(path);
  o.max_bytes = 10;  // smaller than any line
  o.keep = 3;
  dl::FileSink sink(o);
  for (int i = 0; i < 3; ++i) sink.emit(rf_.make(i));
  sink.close();
  EXPECT_EQ(read_lines(path).size(), 1u);
  EXPECT_EQ(read_lines(path + ".1").size(), 1u);
  EXPECT_EQ(read_lines(path + ".2").size(), 1u);
  EXPECT_EQ(seq_of(read_lines(path)[0]), 2);
}

TEST_F(FileSinkTest, RotationWithKeepZeroTruncates) {
  const std::string path = dir_.file("trunc.jsonl");
  auto o = opts(path);
  o.max_bytes = 200;
  o.keep = 0;
  dl::FileSink sink(o);
  for (int i = 0; i < 20; ++i) sink.emit(rf_.make_small(i));
  sink.close();
  EXPECT_FALSE(fs::exists(path + ".1"));
  EXPECT_LE(file_size(path), 200u);
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);  // 18 and 19: two ~95-byte lines fit under 200
  EXPECT_EQ(small_seq_of(lines.back()), 19);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    if (e.path().filename().string().front() != '.') ++entries;  // the hidden rotation lock
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(FileSinkTest, RotationCountsAnExistingFile) {
  const std::string path = dir_.file("existing.jsonl");
  {
    std::ofstream out(path);
    out << std::string(190, 'x') << "\n";
  }
  auto o = opts(path);
  o.max_bytes = 200;
  o.keep = 1;
  dl::FileSink sink(o);
  sink.emit(rf_.make(1));
  sink.close();
  EXPECT_EQ(read_lines(path + ".1").size(), 1u);
  EXPECT_EQ(read_lines(path + ".1")[0], std::string(190, 'x'));
  EXPECT_EQ(seq_of(read_lines(path)[0]), 1);
}

TEST_F(FileSinkTest, RotationShiftsArchivesLeftByAnEarlierRun) {
  const std::string path = dir_.file("shift.jsonl");
  auto write = [](const std::string& f, const std::string& text) {
    std::ofstream out(f);
    out << text << "\n";
  };
  write(path, "live");
  write(path + ".2", "two");   // path.1 is missing: a gap the Go algorithm steps over
  write(path + ".4", "four");  // beyond keep: left alone
  auto o = opts(path);
  o.max_bytes = 10;
  o.keep = 3;
  dl::FileSink sink(o);
  sink.emit(rf_.make(1));  // rotation 1: .2 -> .3, (.1 missing), live -> .1
  EXPECT_EQ(read_lines(path + ".3"), (std::vector<std::string>{"two"}));
  EXPECT_FALSE(fs::exists(path + ".2"));
  EXPECT_EQ(read_lines(path + ".1"), (std::vector<std::string>{"live"}));
  sink.emit(rf_.make(2));  // rotation 2: delete .3, .1 -> .2, live -> .1
  sink.close();
  EXPECT_EQ(read_lines(path + ".4"), (std::vector<std::string>{"four"}));
  EXPECT_FALSE(fs::exists(path + ".3"));
  EXPECT_EQ(read_lines(path + ".2"), (std::vector<std::string>{"live"}));
  EXPECT_EQ(seq_of(read_lines(path + ".1").at(0)), 1);
  EXPECT_EQ(seq_of(read_lines(path).at(0)), 2);
  EXPECT_EQ(sink.stats().rotations, 2u);
}

TEST_F(FileSinkTest, DiskFullIsReportedCountedAndNeverThrown) {
  auto internal = std::make_shared<dl::InMemorySink>(1000);
  dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal});

  auto o = opts("/dev/full");
  o.buffer_bytes = 0;    // every record tries to write
  dl::FileSink sink(o);  // opening /dev/full works
  EXPECT_EQ(sink.id(), "file:/dev/full");
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) EXPECT_NO_THROW(sink.emit(rf_.make(i)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));

  auto st = sink.stats();
  EXPECT_GE(st.write_errors, 10u);
  EXPECT_EQ(st.records_written, 0u);
  // Each failed record is kept for one retry, then dropped to make room for the next.
  EXPECT_EQ(st.records_dropped, 9u);

  dl::FlushResult r = sink.flush(std::chrono::milliseconds(100));
  EXPECT_FALSE(r.success);
  ASSERT_EQ(r.failed_sinks.size(), 1u);
  EXPECT_EQ(r.failed_sinks[0].sink_id, "file:/dev/full");
  EXPECT_NE(r.failed_sinks[0].error.find("No space left on device"), std::string::npos)
      << r.failed_sinks[0].error;

  EXPECT_TRUE(reports_full_disk(*internal, "file:/dev/full"))
      << "no report on " << dl::kInternalLoggerName;
  sink.close();  // the pending record is dropped, silently for the caller
  EXPECT_EQ(sink.stats().records_dropped, 10u);
}

TEST_F(FileSinkTest, WriteFailureKeepsBufferedRecordsForTheNextAttempt) {
  // /dev/full fails every write; the buffered records survive one failed attempt and the
  // buffer never grows past its size (older records are dropped and counted).
  auto o = opts("/dev/full");
  o.durability = dl::FileDurability::kBuffered;
  const std::size_t line = dl::to_jsonl(rf_.make(0)).size() + 1;
  o.buffer_bytes = line * 3;
  o.flush_interval = std::chrono::milliseconds(0);
  dl::FileSink sink(o);
  for (int i = 0; i < 3; ++i) sink.emit(rf_.make(i));  // third fills the buffer: write fails
  auto st = sink.stats();
  EXPECT_EQ(st.write_errors, 1u);
  EXPECT_EQ(st.records_dropped, 0u);
  sink.emit(rf_.make(3));  // no room: retry fails, the three are dropped, the new one kept
  st = sink.stats();
  EXPECT_EQ(st.write_errors, 2u);
  EXPECT_EQ(st.records_dropped, 3u);
}

TEST_F(FileSinkTest, ReopensAfterTheFileWasRemoved) {
  const std::string path = dir_.file("removed.jsonl");
  auto o = opts(path);
  o.buffer_bytes = 0;
  dl::FileSink sink(o);
  sink.emit(rf_.make(1));
  ASSERT_EQ(::unlink(path.c_str()), 0);
  sink.emit(rf_.make(2));
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(seq_of(lines[0]), 2);
  EXPECT_EQ(sink.stats().reopens, 1u);
}

TEST_F(FileSinkTest, ReopensAfterTheDescriptorWasLost) {
  const std::string path = dir_.file("lostfd.jsonl");
  auto o = opts(path);
  o.buffer_bytes = 0;
  dl::FileSink sink(o);
  sink.emit(rf_.make(1));
  // Find and close the sink's descriptor behind its back.
  int victim = -1;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(e.path(), ec) == fs::path(path))
      victim = std::stoi(e.path().filename().string());
  }
  ASSERT_GE(victim, 0);
  ASSERT_EQ(::close(victim), 0);
  sink.emit(rf_.make(2));
  sink.emit(rf_.make(3));
  std::vector<int> seqs;
  for (const auto& l : read_lines(path)) seqs.push_back(seq_of(l));
  EXPECT_EQ(seqs, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(sink.stats().reopens, 1u);
}

TEST_F(FileSinkTest, FsyncOptionSyncsOnFlush) {
  const std::string path = dir_.file("fsync.jsonl");
  auto o = opts(path);
  o.fsync = true;
  dl::FileSink sink(o);
  sink.emit(rf_.make(1));
  EXPECT_TRUE(sink.flush(std::chrono::milliseconds(100)).success);
  EXPECT_EQ(read_lines(path).size(), 1u);
  EXPECT_EQ(sink.stats().write_errors, 0u);
}

TEST_F(FileSinkTest, ThroughTheLoggerWithTraceContext) {
  const std::string path = dir_.file("logger.jsonl");
  auto sink = dl::make_file_sink(opts(path));
  dl::ConfigureOptions c;
  c.sinks = dl::SinkList{sink};
  dl::configure(c);
  auto log = dl::Logger::get("svc.api");
  {
    dl::ScopedContext ctx(
        dl::Context::with_span(dl::TraceId::from_hex("0123456789abcdef0123456789abcdef"),
                               dl::SpanId::from_hex("0123456789abcdef")));
    log.info("request received", {{"request.id", "r-1"}, {"api_key", "s3cr3t"}, {"n", 3}});
  }
  EXPECT_TRUE(log.flush().success);
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  auto rec = dl::parse_jsonl_record(lines[0]);
  EXPECT_EQ(rec.body.as_string(), "request received");
  EXPECT_EQ(rec.trace_id.to_hex(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(rec.span_id.to_hex(), "0123456789abcdef");
  EXPECT_EQ(rec.attribute("api_key")->as_string(), "***");
  ASSERT_TRUE(rec.instrumentation_scope.has_value());
  EXPECT_EQ(rec.instrumentation_scope->name, "svc.api");
}

TEST_F(FileSinkTest, ForkedChildInheritsAnEmptyBufferAndAWorkingSink) {
  const std::string path = dir_.file("fork.jsonl");
  auto o = opts(path);
  o.durability = dl::FileDurability::kBuffered;
  o.flush_interval = std::chrono::milliseconds(0);
  dl::FileSink sink(o);
  for (int i = 0; i < 5; ++i) sink.emit(rf_.make(i));  // buffered in the parent
  ASSERT_EQ(file_size(path), 0u);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sink.emit(rf_.make(100));
    sink.close();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  sink.emit(rf_.make(5));
  sink.close();
  std::vector<int> seqs;
  for (const auto& l : read_lines(path)) seqs.push_back(seq_of(l));
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(seqs, (std::vector<int>{0, 1, 2, 3, 4, 5, 100})) << "each record exactly once";
}

TEST_F(FileSinkTest, EmitDoesNotAllocateInSteadyState) {
  const std::string path = dir_.file("alloc.jsonl");
  auto o = opts(path);
  o.max_bytes = 16 * 1024;  // rotation on the way must not allocate either
  o.keep = 2;
  dl::FileSink sink(o);
  for (int i = 0; i < 2000; ++i) sink.emit(rf_.make(i));  // warm-up
  // Scalar attributes, strings included: up to 8 of them.
  dl::LogRecord r = rf_.make(0);
  std::vector<dl::Attribute> attrs = {{"a", 1},  {"b", 2.5},         {"c", true},    {"d", "text"},
                                      {"e", -7}, {"f", "more text"}, {"g", nullptr}, {"h", 42}};
  r.attributes = attrs;
  dl::testing::AllocationCounter counter;
  for (int i = 0; i < 5000; ++i) sink.emit(r);
  EXPECT_EQ(counter.stop(), 0u);
  EXPECT_GT(sink.stats().rotations, 0u);
}

TEST_F(FileSinkTest, LoggerEmitIntoFileSinkDoesNotAllocateInSteadyState) {
  const std::string path = dir_.file("alloc-logger.jsonl");
  auto sink = dl::make_file_sink(opts(path));
  dl::ConfigureOptions c;
  c.sinks = dl::SinkList{sink};
  dl::configure(c);
  auto log = dl::Logger::get("bench");
  dl::ScopedContext ctx(
      dl::Context::with_span(dl::TraceId::from_hex("0123456789abcdef0123456789abcdef"),
                             dl::SpanId::from_hex("0123456789abcdef")));
  for (int i = 0; i < 1000; ++i)
    log.info("request handled",
             {{"http.method", "GET"}, {"http.status_code", 200}, {"duration_ms", 12.5}});
  dl::testing::AllocationCounter counter;
  for (int i = 0; i < 5000; ++i) {
    log.info("request handled",
             {{"http.method", "GET"}, {"http.status_code", 200}, {"duration_ms", 12.5}});
  }
  EXPECT_EQ(counter.stop(), 0u);
}

// Options with write-behind on and chunks of 4 KiB, so that a batch spans many chunks.
dl::FileSinkOptions write_behind_opts(const std::string& path) {
  auto o = opts(path);
  o.buffer_bytes = 4096;
  o.write_behind = true;
  return o;
}

// Write-behind (FileSinkOptions::write_behind): a batch's chunks are written by the sink's own
// thread; settle_batches() returns once they are in the file; the order is the emit order.
TEST_F(FileSinkTest, WriteBehindWritesEveryBatchInOrderAndSettleWaitsForIt) {
  const std::string path = dir_.file("behind.jsonl");
  auto o = write_behind_opts(path);
  dl::FileSink sink(o);
  int seq = 0;
  std::uint64_t last_ticket = 0;
  for (int batch = 0; batch < 5; ++batch) {
    sink.begin_batch();
    for (int i = 0; i < 400; ++i) sink.emit(rf_.make(seq++));
    sink.end_batch();
    const std::uint64_t ticket = sink.batch_ticket();
    EXPECT_GT(ticket, last_ticket);  // 400 lines of ~150 bytes: several 4 KiB chunks
    last_ticket = ticket;
    sink.settle_batches(ticket);
    // Settled: every record of this batch is in the file now, none twice, in order.
    ASSERT_TRUE(holds_in_order(path, seq)) << "batch " << batch;
  }
  sink.close();
  expect_all_written(sink, path, seq);
}

TEST_F(FileSinkTest, WithoutWriteBehindTheBatchIsInTheFileWhenEndBatchReturns) {
  const std::string path = dir_.file("no-behind.jsonl");
  auto o = opts(path);
  o.write_behind = false;
  dl::FileSink sink(o);
  sink.begin_batch();
  for (int i = 0; i < 300; ++i) sink.emit(rf_.make(i));
  sink.end_batch();
  EXPECT_EQ(sink.batch_ticket(), 0u);  // nothing to settle
  EXPECT_EQ(read_lines(path).size(), 300u);
}

// A batch its own thread writes (no write-behind) encodes straight into the chunk; a line that
// would overfill a chunk starts the next one. Order, counts and sizes hold across many chunks.
TEST_F(FileSinkTest, ABatchWrittenByItsOwnThreadKeepsOrderAcrossManyChunks) {
  const std::string path = dir_.file("own-chunks.jsonl");
  auto o = opts(path);
  o.buffer_bytes = 1000;  // a few ~150-byte lines per chunk, never a whole number of them
  dl::FileSink sink(o);
  int seq = 0;
  for (int batch = 0; batch < 4; ++batch) {
    sink.begin_batch();
    for (int i = 0; i < 250; ++i) sink.emit(rf_.make(seq++));
    sink.end_batch();
    sink.emit(rf_.make(seq++));  // between batches: written at once
    ASSERT_TRUE(holds_in_order(path, seq)) << "batch " << batch;
  }
  sink.close();
  expect_all_written(sink, path, seq);
}

// The same batch against a disk that refuses every byte: each record is counted once, as
// dropped, and the pending buffer stays bounded (the general way drops the unstarted ones).
TEST_F(FileSinkTest, ABatchWrittenByItsOwnThreadCountsEveryRefusedRecord) {
  auto internal = std::make_shared<dl::InMemorySink>(1000);
  dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal});
  auto o = opts("/dev/full");
  o.buffer_bytes = 1000;
  dl::FileSink sink(o);
  // Two chunks' worth: past the first, each record is refused and reported; few enough that the
  // internal channel's rate limit (bursts of 50) has reports left for the tests after this one.
  constexpr int kRecords = 12;
  sink.begin_batch();
  for (int i = 0; i < kRecords; ++i) sink.emit(rf_.make(i));
  sink.end_batch();
  sink.close();
  const auto st = sink.stats();
  EXPECT_EQ(st.records_written, 0u);
  EXPECT_EQ(st.records_dropped, static_cast<std::uint64_t>(kRecords));
  EXPECT_GT(st.write_errors, 0u);
  EXPECT_TRUE(reports_full_disk(*internal)) << "the refused writes were not reported";
}

TEST_F(FileSinkTest, WriteBehindFailuresAreCountedAndNothingIsLostSilently) {
  auto internal = std::make_shared<dl::InMemorySink>(1000);
  dl::Logger::get(dl::kInternalLoggerName).set_sinks({internal});
  auto o = write_behind_opts("/dev/full");
  dl::FileSink sink(o);
  constexpr int kRecords = 200;
  sink.begin_batch();
  for (int i = 0; i < kRecords; ++i) sink.emit(rf_.make(i));
  sink.end_batch();
  sink.settle_batches(sink.batch_ticket());
  EXPECT_FALSE(sink.flush(std::chrono::milliseconds(100)).success);
  sink.close();
  const auto st = sink.stats();
  EXPECT_GE(st.write_errors, 1u);
  EXPECT_EQ(st.records_written, 0u);
  EXPECT_EQ(st.records_written + st.records_dropped, static_cast<std::uint64_t>(kRecords));
  EXPECT_TRUE(reports_full_disk(*internal));
}

// Two writer threads batch into one sink (two AsyncSinks in front of it): one writes behind, the
// other writes its own batches; a third thread emits outside any batch and flushes. Every record
// lands once, each thread's in its order.
TEST_F(FileSinkTest, WriteBehindWithConcurrentBatchesAndPlainEmits) {
  const std::string path = dir_.file("behind-threads.jsonl");
  auto o = write_behind_opts(path);
  dl::FileSink sink(o);
  constexpr int kPerThread = 3000;
  const auto batcher = [&sink](int base) {
    RecordFactory rf;
    for (int i = 0; i < kPerThread;) {
      sink.begin_batch();
      for (int k = 0; k < 100; ++k, ++i) sink.emit(rf.make(base + i));
      sink.end_batch();
      sink.settle_batches(sink.batch_ticket());
    }
  };
  std::thread a(batcher, 0);
  std::thread b(batcher, 100000);
  {
    RecordFactory rf;
    for (int i = 0; i < kPerThread; ++i) {
      sink.emit(rf.make(200000 + i));
      if (i % 500 == 0) (void)sink.flush(std::chrono::milliseconds(100));
    }
  }
  a.join();
  b.join();
  sink.close();
  std::vector<int> last(3, -1);
  std::size_t count = 0;
  for (const auto& line : read_lines(path)) {
    const int seq = seq_of(line);
    const int who = seq / 100000;
    ASSERT_LT(who, 3);
    ASSERT_GT(seq, last[static_cast<std::size_t>(who)]) << "out of order: " << line;
    last[static_cast<std::size_t>(who)] = seq;
    ++count;
  }
  EXPECT_EQ(count, 3u * kPerThread);
  EXPECT_EQ(sink.stats().records_written, 3u * kPerThread);
}

// close() while a writer thread is in the middle of batches: what it emits after close() is
// dropped and counted, so written + dropped is every record, and nothing hangs.
TEST_F(FileSinkTest, WriteBehindCloseDuringABatchCountsEveryRecord) {
  const std::string path = dir_.file("behind-close.jsonl");
  auto o = write_behind_opts(path);
  dl::FileSink sink(o);
  std::atomic<int> emitted{0};
  std::atomic<bool> go{false};
  std::thread writer([&] {
    RecordFactory rf;
    int i = 0;
    while (i < 20000) {
      sink.begin_batch();
      for (int k = 0; k < 50; ++k, ++i) {
        sink.emit(rf.make(i));
        emitted.fetch_add(1, std::memory_order_relaxed);
        if (i == 2000) go.store(true);
      }
      sink.end_batch();
    }
  });
  while (!go.load()) std::this_thread::yield();
  sink.close();
  writer.join();
  const auto st = sink.stats();
  EXPECT_EQ(st.records_written + st.records_dropped, static_cast<std::uint64_t>(emitted.load()));
  EXPECT_GT(st.records_dropped, 0u);
  EXPECT_EQ(read_lines(path).size(), st.records_written);
}

}  // namespace

// FileSink under faults (issue 11): /dev/full, the file removed, its directory removed, a
// logrotate-style rename, a full disk that is freed again (a small tmpfs, when mounting is
// allowed), and a pre-fork server (parent + 4 workers) writing one rotating file. Every line on
// disk is a whole record, the counters match the files exactly, and the sink recovers.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "dagstack/logger.hpp"

namespace dl = dagstack::logger;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dagstack-faults-XXXXXX").string();
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

struct Lines {
  std::vector<std::int64_t> seqs;  // seq of every whole record, in file order
  std::size_t bad = 0;             // lines that are not a whole record
};

Lines read_records(const std::string& path) {
  Lines out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    try {
      const dl::OwnedLogRecord r = dl::parse_jsonl_record(line);
      const dl::Value* seq = r.attribute("seq");
      if (seq == nullptr || !seq->is_int()) throw std::runtime_error("no seq");
      out.seqs.push_back(seq->as_int());
    } catch (const std::exception&) {
      ++out.bad;
    }
  }
  return out;
}

struct Records {
  dl::InstrumentationScope scope{"faults", {}, {}};
  std::string body = std::string(100, 'x');
  std::vector<dl::Attribute> attrs;
  dl::LogRecord make(std::int64_t seq) {
    attrs = {{"seq", seq}};
    dl::LogRecord r;
    r.time_unix_nano = 1700000000000000000ULL;
    r.body = dl::AttrValue(std::string_view(body));
    r.attributes = attrs;
    r.instrumentation_scope = &scope;
    return r;
  }
};

class FileFaults : public ::testing::Test {
 protected:
  void SetUp() override { dl::Logger::reset(); }
  void TearDown() override { dl::Logger::reset(); }
  TempDir dir_;
  Records rec_;
};

TEST_F(FileFaults, DevFullCountsEveryRecordAsDroppedAndNeverWrites) {
  dl::FileSink sink({.path = "/dev/full", .buffer_bytes = 1024});
  for (int i = 0; i < 100; ++i) sink.emit(rec_.make(i));
  EXPECT_FALSE(sink.flush(std::chrono::milliseconds(100)).success);
  sink.close();
  const auto st = sink.stats();
  EXPECT_EQ(st.records_written, 0u);
  EXPECT_EQ(st.records_dropped, 100u);
  EXPECT_GE(st.write_errors, 100u);
}

TEST_F(FileFaults, RemovedFileIsRecreatedAndCountersMatch) {
  const std::string path = dir_.file("app.jsonl");
  dl::FileSink sink({.path = path});
  for (int i = 0; i < 5; ++i) sink.emit(rec_.make(i));
  ASSERT_EQ(::unlink(path.c_str()), 0);
  for (int i = 5; i < 10; ++i) sink.emit(rec_.make(i));
  sink.close();
  const Lines now = read_records(path);
  EXPECT_EQ(now.bad, 0u);
  EXPECT_EQ(now.seqs, (std::vector<std::int64_t>{5, 6, 7, 8, 9}));
  EXPECT_EQ(sink.stats().records_written, 10u);
  EXPECT_EQ(sink.stats().records_dropped, 0u);
  EXPECT_EQ(sink.stats().reopens, 1u);
}

TEST_F(FileFaults, RemovedDirectoryKeepsRecordsUntilItIsBack) {
  const std::string sub = dir_.file("logs");
  fs::create_directories(sub);
  const std::string path = sub + "/app.jsonl";
  dl::FileSink sink({.path = path});
  for (int i = 0; i < 5; ++i) sink.emit(rec_.make(i));
  fs::remove_all(sub);
  for (int i = 5; i < 10; ++i) sink.emit(rec_.make(i));  // no directory: kept for retry
  auto st = sink.stats();
  EXPECT_EQ(st.records_written, 5u);
  EXPECT_EQ(st.records_dropped, 0u);
  EXPECT_GE(st.write_errors, 1u);
  fs::create_directories(sub);
  sink.emit(rec_.make(10));
  sink.close();
  const Lines back = read_records(path);
  EXPECT_EQ(back.bad, 0u);
  EXPECT_EQ(back.seqs, (std::vector<std::int64_t>{5, 6, 7, 8, 9, 10}));
  st = sink.stats();
  EXPECT_EQ(st.records_written, 11u);
  EXPECT_EQ(st.records_dropped, 0u);
}

TEST_F(FileFaults, LogrotateRenameIsNoticedAndReopenWorks) {
  const std::string path = dir_.file("app.jsonl");
  // Checked before every write: the rename is noticed at the next record.
  dl::FileSink sink({.path = path, .reopen_check_interval = std::chrono::milliseconds(0)});
  for (int i = 0; i < 3; ++i) sink.emit(rec_.make(i));
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  for (int i = 3; i < 6; ++i) sink.emit(rec_.make(i));
  EXPECT_EQ(read_records(path + ".1").seqs, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(read_records(path).seqs, (std::vector<std::int64_t>{3, 4, 5}));
  EXPECT_EQ(sink.stats().reopens, 1u);

  // The default checks once a second; reopen() (logrotate's postrotate) switches at once.
  dl::FileSink slow({.path = dir_.file("b.jsonl")});
  slow.emit(rec_.make(0));
  ASSERT_EQ(::rename(dir_.file("b.jsonl").c_str(), dir_.file("b.jsonl.1").c_str()), 0);
  EXPECT_TRUE(slow.reopen());
  slow.emit(rec_.make(1));
  slow.close();
  EXPECT_EQ(read_records(dir_.file("b.jsonl.1")).seqs, (std::vector<std::int64_t>{0}));
  EXPECT_EQ(read_records(dir_.file("b.jsonl")).seqs, (std::vector<std::int64_t>{1}));
}

// Inside a writer's batch (AsyncSink and the deferred path call begin_batch/end_batch) the path
// is checked when the batch is written: a batch logged before the rename is found goes to the
// renamed file, the next one to the new file, and nothing is lost or torn.
TEST_F(FileFaults, LogrotateRenameIsNoticedBetweenBatches) {
  const std::string path = dir_.file("batched.jsonl");
  dl::FileSink sink({.path = path, .reopen_check_interval = std::chrono::milliseconds(0)});
  sink.begin_batch();
  for (int i = 0; i < 3; ++i) sink.emit(rec_.make(i));
  sink.end_batch();
  sink.settle_batches(sink.batch_ticket());  // written behind: in the file now
  sink.begin_batch();
  for (int i = 3; i < 6; ++i) sink.emit(rec_.make(i));
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);  // during the batch
  sink.end_batch();
  sink.settle_batches(sink.batch_ticket());  // written behind: in the file now
  sink.begin_batch();
  for (int i = 6; i < 9; ++i) sink.emit(rec_.make(i));
  sink.end_batch();
  sink.settle_batches(sink.batch_ticket());  // written behind: in the file now
  const Lines old_file = read_records(path + ".1");
  const Lines new_file = read_records(path);
  EXPECT_EQ(old_file.bad + new_file.bad, 0u);
  EXPECT_EQ(old_file.seqs, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(new_file.seqs, (std::vector<std::int64_t>{6, 7, 8}));
  EXPECT_EQ(sink.stats().reopens, 1u);
  EXPECT_EQ(sink.stats().records_written, 9u);
}

// A 64 KiB tmpfs fills up mid-record; then space is freed. The half-written record is finished
// first, no line is torn, and the counters add up to the file's contents exactly.
TEST_F(FileFaults, DiskFullThenFreedOnTmpfs) {
  const std::string mnt = dir_.file("mnt");
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); /dev/full covers the always-failing disk";
  }
  struct Unmount {
    std::string at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string path = mnt + "/app.jsonl";
  const std::string filler = mnt + "/filler";
  {
    // Leave about 3 KiB free (tmpfs counts whole 4 KiB pages).
    std::ofstream f(filler, std::ios::binary);
    f << std::string(60 * 1024 - 1000, 'f');
  }
  dl::FileSink sink({.path = path, .buffer_bytes = 8 * 1024});
  int emitted = 0;
  for (; emitted < 200; ++emitted) sink.emit(rec_.make(emitted));
  auto st = sink.stats();
  EXPECT_GT(st.write_errors, 0u) << "the disk never filled up";
  EXPECT_GT(st.records_dropped, 0u);
  std::printf("[ disk ] full: written %llu, dropped %llu, errors %llu\n",
              static_cast<unsigned long long>(st.records_written),
              static_cast<unsigned long long>(st.records_dropped),
              static_cast<unsigned long long>(st.write_errors));
  ASSERT_EQ(::unlink(filler.c_str()), 0);  // space freed
  for (; emitted < 250; ++emitted) sink.emit(rec_.make(emitted));
  EXPECT_TRUE(sink.flush(std::chrono::milliseconds(100)).success);
  sink.close();
  st = sink.stats();
  const Lines lines = read_records(path);
  EXPECT_EQ(lines.bad, 0u) << "a torn or corrupted line";
  EXPECT_EQ(lines.seqs.size(), st.records_written);
  EXPECT_EQ(st.records_written + st.records_dropped, static_cast<std::uint64_t>(emitted));
  std::set<std::int64_t> unique(lines.seqs.begin(), lines.seqs.end());
  EXPECT_EQ(unique.size(), lines.seqs.size()) << "a record written twice";
  // After recovery every new record is there.
  for (int i = 200; i < 250; ++i) EXPECT_EQ(unique.count(i), 1u) << i;
}

// A pre-fork server: the parent opens one rotating FileSink, forks 4 workers, and all five log
// into it. Rotation is coordinated (lock file, real size): every record is in exactly one file.
TEST_F(FileFaults, PreForkParentAndFourWorkersRotateOneFileWithoutLoss) {
  const std::string path = dir_.file("app.jsonl");
  constexpr int kPerProcess = 10000;
  constexpr int kWorkers = 4;
  constexpr std::uint64_t kMax = 256 * 1024;
  auto sink = std::make_shared<dl::FileSink>(
      dl::FileSinkOptions{.path = path, .max_bytes = kMax, .keep = 200});
  auto produce = [&](int proc) {
    Records r;
    for (int i = 0; i < kPerProcess; ++i) sink->emit(r.make(proc * 1000000 + i));
  };
  std::vector<pid_t> workers;
  for (int w = 1; w <= kWorkers; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      produce(w);
      sink->close();
      ::_exit(sink->stats().records_written == kPerProcess ? 0 : 1);
    }
    workers.push_back(pid);
  }
  produce(0);
  for (pid_t pid : workers) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a worker lost records";
  }
  sink->close();

  std::map<std::int64_t, int> seen;
  std::size_t bad = 0;
  std::size_t files = 0;
  EXPECT_EQ(sink->stats().torn_tails, 0u) << "a line being appended taken for a torn tail";
  std::uintmax_t biggest = 0;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("app.jsonl", 0) != 0) continue;
    ++files;
    biggest = std::max(biggest, fs::file_size(e.path()));
    const Lines l = read_records(e.path().string());
    bad += l.bad;
    for (auto s : l.seqs) ++seen[s];
  }
  std::size_t missing = 0;
  std::size_t twice = 0;
  for (int p = 0; p <= kWorkers; ++p) {
    for (int i = 0; i < kPerProcess; ++i) {
      auto it = seen.find(p * 1000000 + i);
      if (it == seen.end()) {
        ++missing;
      } else if (it->second > 1) {
        ++twice;
      }
    }
  }
  std::printf("[ prefork ] %d records in %zu files (largest %ju bytes): %zu missing, %zu twice\n",
              (kWorkers + 1) * kPerProcess, files, biggest, missing, twice);
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(twice, 0u);
  EXPECT_EQ(bad, 0u);
  EXPECT_GT(files, 5u) << "rotation did not happen";
  // A process may add a line to a file another process is rotating away at that moment.
  EXPECT_LE(biggest, kMax + kWorkers * 300);
}

}  // namespace

// The crash matrix (issue 11): real child processes die by abort(), a real SIGSEGV, an uncaught
// exception (std::terminate), _Exit or SIGKILL from the parent, logging through the default
// (write-through) FileSink, AsyncSink(FileSink) or FileSink behind the deferred path. Every
// record whose emit() returned must be on disk, except after _Exit/SIGKILL behind an AsyncSink or
// the deferred path, where at most the queue's (ring's) content may be lost (counted and printed).
// A restart on the same file never appends to a torn line.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger.hpp"

namespace dl = dagstack::logger;
namespace fs = std::filesystem;

namespace {

enum class Death { kAbort, kSegv, kTerminate, kExit, kKill };
// ...WriteBehind: the same with FileSinkOptions::write_behind (the file written by its own thread).
enum class Setup {
  kFile,
  kAsyncFile,
  kDeferredFile,
  kAsyncFileWriteBehind,
  kDeferredFileWriteBehind
};

bool is_async(Setup s) { return s == Setup::kAsyncFile || s == Setup::kAsyncFileWriteBehind; }
bool is_deferred(Setup s) {
  return s == Setup::kDeferredFile || s == Setup::kDeferredFileWriteBehind;
}

const char* death_name(Death d) {
  switch (d) {
    case Death::kAbort: return "abort";
    case Death::kSegv: return "SIGSEGV";
    case Death::kTerminate: return "std::terminate";
    case Death::kExit: return "_Exit";
    case Death::kKill: return "SIGKILL";
  }
  return "?";
}

constexpr int kRecords = 3000;
constexpr std::size_t kQueue = 8192;  // AsyncSink defaults
constexpr std::size_t kBatch = 256;

struct Shared {
  std::atomic<long> returned{0};  // emits that returned in the child
};

[[noreturn]] void die(Death how) {
  switch (how) {
    case Death::kAbort: std::abort();
    case Death::kSegv: {
      // A real fault: a store into a page without access rights.
      void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      *static_cast<volatile int*>(page) = 1;
      break;
    }
    case Death::kTerminate: {
      std::thread t([] { throw std::runtime_error("nobody catches this"); });
      t.join();
      break;
    }
    case Death::kExit: std::_Exit(3);
    case Death::kKill:
      for (;;) ::pause();
  }
  std::_Exit(99);
}

void child(const std::string& path, Setup setup, Death how, Shared* shared) {
  dl::FileSinkOptions fo;
  fo.path = path;
  fo.write_behind =
      setup == Setup::kAsyncFileWriteBehind || setup == Setup::kDeferredFileWriteBehind;
  std::shared_ptr<dl::Sink> sink = dl::make_file_sink(fo);
  if (is_async(setup)) sink = dl::make_async_sink(sink);
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{sink};
  dl::configure(o);
  if (is_deferred(setup)) dl::start_deferred();  // 64 KiB ring
  auto log = dl::Logger::get("crash.child");
  const long n = how == Death::kKill ? 1L << 40 : kRecords;
  for (long i = 0; i < n; ++i) {
    log.info("crash matrix record", {{"seq", static_cast<std::int64_t>(i)}});
    shared->returned.store(i + 1, std::memory_order_release);
  }
  die(how);
}

struct FileCheck {
  std::set<long> seqs;
  long duplicates = 0;
  long torn = 0;  // lines that are not a whole record
  bool restart_seen = false;
};

FileCheck read_back(const std::string& path) {
  FileCheck c;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    try {
      const dl::OwnedLogRecord r = dl::parse_jsonl_record(line);
      if (r.body.is_string() && r.body.as_string() == "after restart") {
        c.restart_seen = true;
        continue;
      }
      const dl::Value* seq = r.attribute("seq");
      if (seq == nullptr || !seq->is_int()) {
        ++c.torn;
        continue;
      }
      if (!c.seqs.insert(static_cast<long>(seq->as_int())).second) ++c.duplicates;
    } catch (const std::exception&) {
      ++c.torn;
    }
  }
  return c;
}

void run_cell(Setup setup, Death how) {
  dl::Logger::reset();
  const fs::path dir = fs::temp_directory_path() / ("dagstack-crash-" + std::to_string(::getpid()) +
                                                    "-" + std::to_string(static_cast<int>(setup)) +
                                                    std::to_string(static_cast<int>(how)));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "app.jsonl").string();

  auto* shared = static_cast<Shared*>(
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(shared, MAP_FAILED);
  new (shared) Shared();

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::unsetenv("DAGSTACK_LOGGER_CRASH_HANDLER");
    child(path, setup, how, shared);
    std::_Exit(98);
  }
  if (how == Death::kKill) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (shared->returned.load() < kRecords && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  const long returned = shared->returned.load();
  ::munmap(shared, sizeof(Shared));
  EXPECT_FALSE(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) >= 98))
      << "the child did not die as planned, status " << status;
  if (how == Death::kKill) {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }
  ASSERT_GE(returned, how == Death::kKill ? 1 : kRecords);

  // Restart: a new sink on the same file; its record must be a line of its own.
  {
    dl::FileSink again({.path = path});
    dl::InstrumentationScope scope{"restart", {}, {}};
    dl::LogRecord r;
    r.time_unix_nano = 1;
    r.body = "after restart";
    r.instrumentation_scope = &scope;
    again.emit(r);
    again.close();
  }
  const FileCheck c = read_back(path);
  long missing = 0;
  for (long i = 0; i < returned; ++i) missing += c.seqs.count(i) == 0 ? 1 : 0;
  std::printf("[ loss ] %-10s x %-16s emits returned %ld, on disk %zu, lost %ld, torn lines %ld\n",
              setup == Setup::kFile                   ? "FileSink"
              : setup == Setup::kAsyncFile            ? "Async(File)"
              : setup == Setup::kDeferredFile         ? "Deferred(File)"
              : setup == Setup::kAsyncFileWriteBehind ? "Async(File, write-behind)"
                                                      : "Deferred(File, write-behind)",
              death_name(how), returned, c.seqs.size(), missing, c.torn);
  EXPECT_TRUE(c.restart_seen) << "the record after the restart is not a whole line";
  EXPECT_EQ(c.duplicates, 0);
  const bool may_lose = setup != Setup::kFile && (how == Death::kExit || how == Death::kKill);
  if (may_lose) {
    // What the queue (or the ring) held: the default 64 KiB ring holds 682 entries of this
    // record (96 bytes: header, call site, body, one attribute), a writer's pass in progress
    // included (its entries are handed back only once the sinks have them).
    EXPECT_LE(static_cast<std::size_t>(missing),
              is_async(setup) ? kQueue + kBatch : std::size_t{65536 / 96});
  } else {
    EXPECT_EQ(missing, 0) << "records whose emit returned are missing from the file";
  }
  // A kill can land inside a write(2) (the kernel stops between pages): the restart cuts the
  // partial line off, so no cell leaves one behind.
  EXPECT_EQ(c.torn, 0);
  fs::remove_all(dir);
}

}  // namespace

#define CRASH_CELL(setup, death) \
  TEST(CrashMatrix, setup##_##death) { run_cell(Setup::k##setup, Death::k##death); }

CRASH_CELL(File, Abort)
CRASH_CELL(File, Segv)
CRASH_CELL(File, Terminate)
CRASH_CELL(File, Exit)
CRASH_CELL(File, Kill)
CRASH_CELL(AsyncFile, Abort)
CRASH_CELL(AsyncFile, Segv)
CRASH_CELL(AsyncFile, Terminate)
CRASH_CELL(AsyncFile, Exit)
CRASH_CELL(AsyncFile, Kill)
CRASH_CELL(DeferredFile, Abort)
CRASH_CELL(DeferredFile, Segv)
CRASH_CELL(DeferredFile, Terminate)
CRASH_CELL(DeferredFile, Exit)
CRASH_CELL(DeferredFile, Kill)
CRASH_CELL(AsyncFileWriteBehind, Abort)
CRASH_CELL(AsyncFileWriteBehind, Segv)
CRASH_CELL(AsyncFileWriteBehind, Terminate)
CRASH_CELL(AsyncFileWriteBehind, Exit)
CRASH_CELL(AsyncFileWriteBehind, Kill)
CRASH_CELL(DeferredFileWriteBehind, Abort)
CRASH_CELL(DeferredFileWriteBehind, Segv)
CRASH_CELL(DeferredFileWriteBehind, Terminate)
CRASH_CELL(DeferredFileWriteBehind, Exit)
CRASH_CELL(DeferredFileWriteBehind, Kill)

// A file left with a torn last line (a writer killed mid-record) is repaired on open: the partial
// line is cut off (its emit never returned), the next record follows the last whole one, and it
// is counted. A file holding nothing but a partial line is emptied.
TEST(CrashMatrix, TornTailIsDetectedOnOpen) {
  const fs::path dir = fs::temp_directory_path() / ("dagstack-torn-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto lines_of = [](const std::string& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };
  dl::LogRecord r;
  r.time_unix_nano = 1;
  r.body = "next";
  {
    const std::string path = (dir / "app.jsonl").string();
    {
      std::ofstream out(path);
      out << "{\"body\":\"whole\"}\n{\"body\":\"half of a rec";
    }
    dl::FileSink sink({.path = path});
    EXPECT_EQ(sink.stats().torn_tails, 1u);
    EXPECT_EQ(fs::file_size(path), std::string("{\"body\":\"whole\"}\n").size());
    sink.emit(r);
    sink.close();
    const auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "{\"body\":\"whole\"}");
    EXPECT_EQ(lines[1].rfind("{", 0), 0u);
    EXPECT_NE(lines[1].find("\"body\":\"next\""), std::string::npos);
    EXPECT_EQ(sink.stats().records_written, 1u);
  }
  {
    // A partial line longer than one read-back chunk, with no newline before it.
    const std::string path = (dir / "only.jsonl").string();
    {
      std::ofstream out(path);
      out << "{\"body\":\"" << std::string(10000, 'x');
    }
    dl::FileSink sink({.path = path});
    EXPECT_EQ(sink.stats().torn_tails, 1u);
    EXPECT_EQ(fs::file_size(path), 0u);
    sink.emit(r);
    sink.close();
    const auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("\"body\":\"next\""), std::string::npos);
  }
  fs::remove_all(dir);
}

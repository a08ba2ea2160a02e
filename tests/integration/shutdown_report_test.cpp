// Losses at shutdown reach stderr: a process that returns from main (std::exit) with a slow
// sink behind an AsyncSink reports the undelivered and abandoned records on the internal
// channel's console sink, which shutdown() closes last. Emits after close are counted.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "dagstack/logger.hpp"

namespace dl = dagstack::logger;

namespace {

// Takes 2 ms per record.
class SlowSink final : public dl::Sink {
 public:
  std::string_view id() const noexcept override { return "slow"; }
  void emit(const dl::LogRecord& /*record*/) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  dl::FlushResult flush(std::chrono::milliseconds /*timeout*/) override {
    return dl::FlushResult::ok();
  }
  void close() override {}
};

}  // namespace

// Runs a child that logs 2000 records into AsyncSink(slow sink) and then either exits (the
// exit-time handlers close the sinks) or calls shutdown() itself; returns its stderr.
std::string run_child(bool explicit_shutdown) {
  const std::string err_path = (std::filesystem::temp_directory_path() /
                                ("dagstack-shutdown-" + std::to_string(::getpid()) + ".stderr"))
                                   .string();
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    const int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    dl::Logger::reset();  // the internal channel's console sink on (the new) stderr
    auto async = dl::make_async_sink(std::make_shared<SlowSink>(),
                                     {.shutdown_timeout = std::chrono::milliseconds(200)});
    dl::ConfigureOptions o;
    o.sinks = dl::SinkList{async};
    dl::configure(o);
    for (int i = 0; i < 2000; ++i) dl::Logger::get("app").info("r", {{"i", i}});
    if (explicit_shutdown) (void)dl::shutdown(std::chrono::milliseconds(300));
    std::exit(0);  // returning from main: the exit-time shutdown must report the loss
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::filesystem::remove(err_path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed";
  return ss.str();
}

TEST(ShutdownReport, ExitWithASlowSinkReportsTheLossOnStderr) {
  const std::string err = run_child(false);
  // Two outcomes, by where the writer is when close() begins: inside a batch (it does not stop
  // within shutdown_timeout and leaves the queue behind: "records.abandoned"), or between two
  // (a slow, instrumented producer gives it small batches: it stops and discards the queue,
  // "records.dropped"). Either way the loss is counted on stderr.
  const bool left_behind =
      err.find("async sink writer did not stop within shutdown_timeout") != std::string::npos;
  const bool discarded =
      err.find("async sink abandoned queued records at close") != std::string::npos;
  EXPECT_TRUE(left_behind || discarded) << err;
  const std::string key = left_behind ? "\"records.abandoned\":" : "\"records.dropped\":";
  const auto at = err.find(key);
  ASSERT_NE(at, std::string::npos) << err;
  const long abandoned = std::strtol(err.c_str() + at + key.size(), nullptr, 10);
  std::printf("[ shutdown ] abandoned %ld of 2000 records, reported on stderr\n", abandoned);
  EXPECT_GT(abandoned, 0);
  EXPECT_LT(abandoned, 2000) << "the writer's batch in progress is delivered, not abandoned";
}

// shutdown() closes the internal channel's console last: the flush timeout and the abandoned
// queue are both reported on stderr.
TEST(ShutdownReport, ExplicitShutdownReportsBeforeClosingTheInternalChannel) {
  const std::string err = run_child(true);
  EXPECT_NE(err.find("shutdown: a sink did not deliver everything"), std::string::npos) << err;
  // Either the writer stopped in time and counted what it discarded, or it did not and close()
  // reported what it left behind.
  EXPECT_TRUE(err.find("async sink abandoned queued records at close") != std::string::npos ||
              err.find("\"records.abandoned\":") != std::string::npos)
      << err;
}

// Emits after shutdown() go to closed sinks: counted by the logger, said once on stderr; a new
// configure() with sinks opens logging again.
TEST(ShutdownReport, EmitsAfterShutdownAreCountedAndSaidOnce) {
  dl::Logger::reset();
  auto sink = std::make_shared<dl::InMemorySink>(10);
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{sink};
  dl::configure(o);
  auto log = dl::Logger::get("late");
  log.info("before");
  (void)dl::shutdown(std::chrono::milliseconds(500));
  const auto before = dl::internal_stats().emits_after_shutdown;
  ::testing::internal::CaptureStderr();
  log.info("late 1");
  log.info("late 2");
  log.warn("late 3");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(dl::internal_stats().emits_after_shutdown, before + 3);
  EXPECT_EQ(sink->size(), 1u) << "the closed sink took nothing";
  std::size_t said = 0;
  for (std::size_t at = err.find("emitted after shutdown()"); at != std::string::npos;
       at = err.find("emitted after shutdown()", at + 1)) {
    ++said;
  }
  EXPECT_EQ(said, 1u) << err;

  auto fresh = std::make_shared<dl::InMemorySink>(10);
  o.sinks = dl::SinkList{fresh};
  dl::configure(o);
  log.info("after a new configure");
  EXPECT_EQ(fresh->size(), 1u);
  EXPECT_EQ(dl::internal_stats().emits_after_shutdown, before + 3);
  dl::Logger::reset();
}

TEST(ShutdownReport, EmitsAfterCloseAreCounted) {
  auto inner = std::make_shared<dl::InMemorySink>(10);
  auto async = dl::make_async_sink(inner);
  async->close();
  dl::LogRecord r;
  r.body = "late";
  async->emit(r);
  async->emit(r);
  EXPECT_EQ(async->stats().dropped_after_close, 2u);

  const auto path = std::filesystem::temp_directory_path() /
                    ("dagstack-late-" + std::to_string(::getpid()) + ".jsonl");
  dl::FileSink file({.path = path.string()});
  file.close();
  file.emit(r);
  EXPECT_EQ(file.stats().records_dropped, 1u);
  std::filesystem::remove(path);
}

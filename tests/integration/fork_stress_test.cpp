// fork() while three threads log through every kind of sink (Console, write-through File,
// AsyncSink(buffered File), InMemory): the child logs through the same sinks and exits; no run
// may hang (each child gets 10 s, and is killed and counted as hung past that).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "dagstack/logger.hpp"
#include "support/sanitizers.h"

namespace dl = dagstack::logger;

namespace {

using dagstack::logger::testing::kSanitized;
constexpr int kRuns = kSanitized ? 200 : 1000;  // fork is slow under the sanitizers
// The whole test stays bounded on a slow machine: no new fork after this much time.
constexpr auto kBudget = std::chrono::seconds(45);

// Waits for `pid` at most `limit`; kills it and returns false when it does not end in time.
bool wait_bounded(pid_t pid, std::chrono::milliseconds limit, int& status) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace

TEST(ForkStress, ChildLogsWhileThreeThreadsLogNoHang) {
  if (kSanitized) {
    // Seen with GCC 12 under ASan and under TSan (1 child in 200, stack taken with gdb): the child
    // blocks in the sanitizer's own allocator lock
    // (__sanitizer::SizeClassAllocator64::GetFromAllocator) that another thread held at the fork,
    // inside operator new, before any library lock. The plain and Release builds run it.
    GTEST_SKIP() << "the sanitizer allocators are not fork-safe while other threads allocate; "
                    "the plain and Release builds run this test";
  }
  dl::Logger::reset();
  std::FILE* devnull = std::fopen("/dev/null", "w");
  ASSERT_NE(devnull, nullptr);
  auto memory = std::make_shared<dl::InMemorySink>(64);
  dl::SinkList sinks{
      dl::make_console_sink({dl::ConsoleMode::kJson, devnull, nullptr}),
      dl::make_file_sink({.path = "/dev/null"}),
      dl::make_async_sink(
          dl::make_file_sink({.path = "/dev/null", .durability = dl::FileDurability::kBuffered})),
      memory,
  };
  auto busy = dl::Logger::get("fork.busy");
  busy.set_sinks(sinks);

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::int64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        busy.info("busy", {{"thread", t}, {"i", i++}});
      }
    });
  }

  int hung = 0;
  int failed = 0;
  const auto start = std::chrono::steady_clock::now();
  int runs = 0;
  for (int run = 0; run < kRuns && std::chrono::steady_clock::now() - start < kBudget; ++run) {
    ++runs;
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      busy.info("child", {{"run", run}});
      busy.flush(std::chrono::milliseconds(1000));
      bool seen = false;
      for (const auto& r : memory->records()) {
        if (r.body.is_string() && r.body.as_string() == "child") seen = true;
      }
      ::_exit(seen ? 0 : 1);
    }
    int status = 0;
    if (!wait_bounded(pid, std::chrono::seconds(10), status)) {
      ++hung;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failed;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  for (auto& t : threads) t.join();
  std::printf("[ fork ] %d runs in %.1f s: %d hung, %d failed\n", runs, secs, hung, failed);
  EXPECT_GE(runs, kRuns / 10) << "too few runs to mean anything";
  EXPECT_EQ(hung, 0);
  EXPECT_EQ(failed, 0);
  dl::Logger::reset();
  std::fclose(devnull);
}

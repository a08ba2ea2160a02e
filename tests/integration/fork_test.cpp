// fork(): the child inherits the configuration, can reconfigure and log; the parent is unaffected.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/console_sink.h"
#include "dagstack/logger/sinks/in_memory_sink.h"

namespace dl = dagstack::logger;

TEST(Fork, ChildCanReconfigureAndLogWhileParentThreadsKeepLogging) {
  dl::Logger::reset();
  auto parent_sink = std::make_shared<dl::InMemorySink>(100000);
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{parent_sink};
  dl::configure(o);

  // Another thread keeps emitting and reconfiguring, so the fork may land while it holds the
  // registry lock; the atfork handlers must keep the child from deadlocking.
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    int i = 0;
    while (!stop.load()) {
      dl::Logger::get("parent.busy").info("tick", {{"i", i++}});
      dl::Logger::get("parent.busy").set_level(i % 2 ? "INFO" : "DEBUG");
    }
  });

  char path[] = "/tmp/dagstack_fork_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);

  for (int round = 0; round < 5; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::FILE* f = std::fopen(path, "a");
      dl::ConfigureOptions child;
      child.sinks = dl::SinkList{dl::make_console_sink({dl::ConsoleMode::kJson, f})};
      dl::configure(child);
      dl::Logger::get("child").info("hello from the child", {{"round", round}});
      dl::Logger::get().flush();
      std::fclose(f);
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  stop = true;
  busy.join();

  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    EXPECT_NE(line.find("\"body\":\"hello from the child\""), std::string::npos) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 5);
  ::unlink(path);
  // The parent's sink never saw the child's records.
  for (const auto& r : parent_sink->records()) EXPECT_NE(r.body.as_string(), "hello from the child");
  dl::Logger::reset();
}

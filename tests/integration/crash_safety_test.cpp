// A child process that logs through AsyncSink(FileSink) and calls exit() loses nothing emitted
// before exit(): the shutdown registered at exit drains the queue and flushes the file.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "dagstack/logger.hpp"

namespace dl = dagstack::logger;

TEST(CrashSafety, ExitDrainsAsyncFileSink) {
  char tmpl[] = "/tmp/dagstack_exit_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/app.jsonl";
  constexpr int kRecords = 20000;

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // A slow-ish configuration on purpose: a small queue that blocks, a big file buffer.
    auto file = dl::make_file_sink({.path = path, .durability = dl::FileDurability::kBuffered, .buffer_bytes = 1 << 20, .flush_interval = std::chrono::milliseconds(0)});
    auto async = dl::make_async_sink(file, {.queue_capacity = 256});
    dl::ConfigureOptions options;
    options.sinks = dl::SinkList{async};
    dl::configure(options);
    auto log = dl::Logger::get("child");
    for (int i = 0; i < kRecords; ++i) log.info("record", {{"seq", i}});
    std::exit(0);  // no flush, no close: the atexit shutdown must do it
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  std::ifstream in(path);
  std::string line;
  int count = 0;
  std::int64_t expected = 0;
  while (std::getline(in, line)) {
    const dl::OwnedLogRecord r = dl::parse_jsonl_record(line);
    ASSERT_EQ(r.attribute("seq")->as_int(), expected) << "records must arrive in order, once";
    ++expected;
    ++count;
  }
  EXPECT_EQ(count, kRecords);
}

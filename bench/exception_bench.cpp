// exception_bench.cpp: the cost of the first Logger::exception() of a process (stack capture and
// symbolisation set-up), each measurement in a fresh process: this binary is started again with
// DAGSTACK_BENCH_FIRST_EXCEPTION set, logs one exception (then a second one) into a discarding
// sink, prints the two times and exits before main(); the parent reports them.
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "bench_common.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"

extern char** environ;

namespace dl = dagstack::logger;

namespace {

class DiscardSink final : public dl::Sink {
 public:
  std::string_view id() const noexcept override { return "discard"; }
  void emit(const dl::LogRecord& record) override { benchmark::DoNotOptimize(&record); }
  dl::FlushResult flush(std::chrono::milliseconds /*timeout*/) override {
    return dl::FlushResult::ok();
  }
  void close() override {}
};

// In the child: runs during static initialisation, before Google Benchmark starts.
const bool g_child = [] {
  const char* fd_text = std::getenv("DAGSTACK_BENCH_FIRST_EXCEPTION");
  if (fd_text == nullptr) return false;
  dl::ConfigureOptions o;
  o.sinks = dl::SinkList{std::make_shared<DiscardSink>()};
  dl::configure(o);
  dl::Logger log = dl::Logger::get("bench.first_exception");
  const std::runtime_error error("payment declined");
  const auto t0 = std::chrono::steady_clock::now();
  log.exception(error);
  const auto t1 = std::chrono::steady_clock::now();
  log.exception(error);
  const auto t2 = std::chrono::steady_clock::now();
  std::printf("%lld %lld\n",
              static_cast<long long>(std::chrono::nanoseconds(t1 - t0).count()),
              static_cast<long long>(std::chrono::nanoseconds(t2 - t1).count()));
  std::fflush(stdout);
  std::_Exit(0);
}();

// Runs the child once; returns false on failure. Times in nanoseconds.
bool run_child(long long& first, long long& second) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  ::setenv("DAGSTACK_BENCH_FIRST_EXCEPTION", "1", 1);
  char arg0[] = "dagstack_bench";
  char* argv[] = {arg0, nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv, environ);
  ::unsetenv("DAGSTACK_BENCH_FIRST_EXCEPTION");
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return false;
  }
  char buf[128] = {};
  std::size_t got = 0;
  for (ssize_t n; (n = ::read(fds[0], buf + got, sizeof buf - 1 - got)) > 0;) {
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return std::sscanf(buf, "%lld %lld", &first, &second) == 2;
}

// Manual time: the first exception() call of a fresh process. Counter: the second call.
void FirstException_dagstack(benchmark::State& state) {
  double second_total = 0;
  for (auto _ : state) {
    long long first = 0;
    long long second = 0;
    if (!run_child(first, second)) {
      state.SkipWithError("the measuring child failed");
      break;
    }
    state.SetIterationTime(static_cast<double>(first) / 1e9);
    second_total += static_cast<double>(second);
  }
  state.counters["second_call_ns"] =
      second_total / static_cast<double>(std::max<std::int64_t>(state.iterations(), 1));
}

}  // namespace

BENCHMARK(FirstException_dagstack)
    ->UseManualTime()
    ->Iterations(20)
    ->Unit(benchmark::kMicrosecond);

// Logger::reset() releases the old tree outside the registry lock, so a sink whose destructor
// logs (through the internal channel, or any logger) cannot deadlock it.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"

namespace dl = dagstack::logger;

namespace {
// A sink that logs from its destructor, as a sink reporting a last failed write does.
class LogsOnDestruction final : public dl::Sink {
 public:
  explicit LogsOnDestruction(bool* destroyed) : destroyed_(destroyed) {}
  ~LogsOnDestruction() override {
    dl::Logger::get("destructor").warn("last words");  // takes the registry lock
    *destroyed_ = true;
  }
  std::string_view id() const noexcept override { return "logs-on-destruction"; }
  void emit(const dl::LogRecord&) override {}
  dl::FlushResult flush(std::chrono::milliseconds) override { return dl::FlushResult::ok(); }
  void close() override {}

 private:
  bool* destroyed_;
};
}  // namespace

TEST(RegistryReset, ASinkThatLogsWhileDestroyedDoesNotDeadlock) {
  bool destroyed = false;
  auto done = std::async(std::launch::async, [&destroyed] {
    dl::Logger::reset();
    dl::Logger::get("svc").set_sinks({std::make_shared<LogsOnDestruction>(&destroyed)});
    dl::Logger::reset();  // the only owner of the sink is the old tree
    dl::Logger::reset();
  });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "reset() deadlocked destroying a sink";
  done.get();
  EXPECT_TRUE(destroyed);
}

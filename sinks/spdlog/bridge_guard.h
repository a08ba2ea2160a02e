// bridge_guard.h: the per-thread re-entrancy marks that stop spdlog <-> dagstack routing loops.
#pragma once

namespace dagstack::logger::detail {

// Which bridges the calling thread is inside right now.
struct BridgeDepth {
  int to_dagstack = 0;        // inside DagstackSpdlogSink::log
  int to_spdlog = 0;          // inside the emit of a sink made by make_spdlog_sink
  int flushing_dagstack = 0;  // inside DagstackSpdlogSink::flush
  int flushing_spdlog = 0;    // inside the flush of a sink made by make_spdlog_sink
};

// The calling thread's marks.
BridgeDepth& bridge_depth() noexcept;

// Increments a mark for a scope. Not copyable; thread-bound.
class BridgeMark {
 public:
  explicit BridgeMark(int& counter) noexcept : counter_(counter) { ++counter_; }
  ~BridgeMark() { --counter_; }
  BridgeMark(const BridgeMark&) = delete;
  BridgeMark& operator=(const BridgeMark&) = delete;

 private:
  int& counter_;
};

}  // namespace dagstack::logger::detail

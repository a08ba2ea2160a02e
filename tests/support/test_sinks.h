// test_sinks.h: test doubles for sinks (a throwing sink, a counting sink).
#pragma once

#include <atomic>
#include <stdexcept>
#include <string>

#include "dagstack/logger/sink.h"

namespace dagstack::logger::testing {

// A sink whose emit, flush and close throw or fail, to prove isolation. Thread-safe.
class ThrowingSink final : public Sink {
 public:
  explicit ThrowingSink(std::string id = "throwing") : id_(std::move(id)) {}
  std::string_view id() const noexcept override { return id_; }
  void emit(const LogRecord&) override {
    ++emits;
    throw std::runtime_error("boom from " + id_);
  }
  FlushResult flush(std::chrono::milliseconds) override { throw std::runtime_error("flush boom"); }
  void close() override { throw std::runtime_error("close boom"); }
  std::atomic<int> emits{0};

 private:
  std::string id_;
};

// Counts emits and flushes. Thread-safe.
class CountingSink final : public Sink {
 public:
  explicit CountingSink(std::string id = "counting") : id_(std::move(id)) {}
  std::string_view id() const noexcept override { return id_; }
  void emit(const LogRecord&) override { ++emits; }
  FlushResult flush(std::chrono::milliseconds) override {
    ++flushes;
    return FlushResult::ok();
  }
  void close() override { ++closes; }
  std::atomic<int> emits{0};
  std::atomic<int> flushes{0};
  std::atomic<int> closes{0};

 private:
  std::string id_;
};

}  // namespace dagstack::logger::testing

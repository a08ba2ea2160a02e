// console_sink.cpp: the console sink (auto / json / pretty) of contract §4.3.
#include "dagstack/logger/sinks/console_sink.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "detail/internal_channel.h"

namespace dagstack::logger {
namespace {

class ConsoleSink;

// Every live ConsoleSink, for the fork handler.
struct LiveConsoleSinks {
  std::mutex mutex;
  std::vector<ConsoleSink*> sinks;
};

LiveConsoleSinks& live_console_sinks() {
  static auto* live = new LiveConsoleSinks();  // leaked: used by the fork handler
  return *live;
}

void console_after_fork_child() noexcept;

// fork(): in the child only the forking thread exists, so a lock another thread held at the fork
// would never be released. The child re-initialises such a lock, and the line buffer it guarded
// (which that thread may have left half-changed) is replaced by a fresh one (the old is leaked).
class ConsoleSink final : public Sink {
 public:
  explicit ConsoleSink(const ConsoleSinkOptions& o) : options_(o) {
    static const bool fork_hook = [] {
      ::pthread_atfork(nullptr, nullptr, &console_after_fork_child);
      return true;
    }();
    (void)fork_hook;
    {
      auto& live = live_console_sinks();
      std::lock_guard<std::mutex> lock(live.mutex);
      live.sinks.push_back(this);
    }
    switch (o.mode) {
      case ConsoleMode::kAuto: id_ = "console:auto"; break;
      case ConsoleMode::kJson: id_ = "console:json"; break;
      case ConsoleMode::kPretty: id_ = "console:pretty"; break;
    }
    pretty_ = o.mode == ConsoleMode::kPretty;
    if (o.mode == ConsoleMode::kAuto && o.ostream == nullptr && o.stream != nullptr) {
      pretty_ = ::isatty(::fileno(o.stream)) == 1;
    }
    pretty_options_.spans = o.spans;
    pretty_options_.color = o.color == ConsoleColor::kAlways ||
                            (o.color == ConsoleColor::kAuto && console_colors_allowed());
  }

  ~ConsoleSink() override {
    auto& live = live_console_sinks();
    std::lock_guard<std::mutex> lock(live.mutex);
    live.sinks.erase(std::remove(live.sinks.begin(), live.sinks.end(), this), live.sinks.end());
  }

  std::string_view id() const noexcept override { return id_; }

  // In the child of fork(): see the class comment.
  void reset_after_fork() noexcept {
    if (mutex_.try_lock()) {
      mutex_.unlock();
      return;
    }
    new (&mutex_) std::mutex();
    new (&line_) std::string();
  }

  void emit(const LogRecord& record) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    line_.clear();
    if (pretty_) {
      if (!format_pretty(record, pretty_options_, line_)) return;  // hidden (span start)
    } else {
      if (!append_jsonl_record(record, line_)) {
        detail::counters().encode_errors.fetch_add(1, std::memory_order_relaxed);
      }
    }
    line_.push_back('\n');
    if (options_.ostream != nullptr) {
      options_.ostream->write(line_.data(), static_cast<std::streamsize>(line_.size()));
      options_.ostream->flush();
    } else if (options_.stream != nullptr) {
      std::fwrite(line_.data(), 1, line_.size(), options_.stream);
      std::fflush(options_.stream);
    }
  }

  FlushResult flush(std::chrono::milliseconds /*timeout*/) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (options_.ostream != nullptr) {
      options_.ostream->flush();
    } else if (options_.stream != nullptr) {
      std::fflush(options_.stream);
    }
    return FlushResult::ok();
  }

  void close() override {
    (void)flush(std::chrono::milliseconds(0));
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;  // the stream itself is never closed
  }

  bool supports_severity(int severity_number) const noexcept override {
    return severity_number >= options_.min_severity;
  }

 private:
  ConsoleSinkOptions options_;
  std::string id_;
  bool pretty_ = false;
  PrettyOptions pretty_options_;
  std::mutex mutex_;
  std::string line_;
  bool closed_ = false;
};

void console_after_fork_child() noexcept {
  auto& live = live_console_sinks();
  if (!live.mutex.try_lock()) {
    // Held by a thread that does not exist here: the list may be half-changed; start afresh.
    new (&live.mutex) std::mutex();
    new (&live.sinks) std::vector<ConsoleSink*>();
    return;
  }
  for (ConsoleSink* sink : live.sinks) sink->reset_after_fork();
  live.mutex.unlock();
}

}  // namespace

std::shared_ptr<Sink> make_console_sink(const ConsoleSinkOptions& options) {
  return std::make_shared<ConsoleSink>(options);
}

}  // namespace dagstack::logger

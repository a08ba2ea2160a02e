// console_sink.cpp: the console sink (auto / json / pretty) of contract §4.3.
#include "dagstack/logger/sinks/console_sink.h"

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "dagstack/logger/canonical_json.h"
#include "detail/internal_channel.h"

namespace dagstack::logger {
namespace {

class ConsoleSink final : public Sink {
 public:
  explicit ConsoleSink(const ConsoleSinkOptions& o) : options_(o) {
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

  std::string_view id() const noexcept override { return id_; }

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

}  // namespace

std::shared_ptr<Sink> make_console_sink(const ConsoleSinkOptions& options) {
  return std::make_shared<ConsoleSink>(options);
}

}  // namespace dagstack::logger

// console_sink.cpp: the console sink (auto / json / pretty) of contract §4.3.
#include "dagstack/logger/sinks/console_sink.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "detail/internal_channel.h"

namespace dagstack::logger {
namespace {

constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kDim = "\033[2m";

std::string_view color_for(int severity) {
  switch ((clamp_severity(severity) - 1) / 4) {
    case 0: return "\033[2;37m";
    case 1: return "\033[36m";
    case 2: return "\033[32m";
    case 3: return "\033[33m";
    case 4: return "\033[31m";
    default: return "\033[1;31m";
  }
}

void append_timestamp(std::uint64_t unix_nano, std::string& out) {
  const std::time_t secs = static_cast<std::time_t>(unix_nano / 1000000000ULL);
  const auto micros = static_cast<unsigned>((unix_nano % 1000000000ULL) / 1000ULL);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  out += buf;
}

void append_pretty_value(const AttrValue& v, std::string& out) {
  switch (v.kind()) {
    case AttrValue::Kind::kNull: out += "null"; break;
    case AttrValue::Kind::kBool: out += v.as_bool() ? "true" : "false"; break;
    case AttrValue::Kind::kString: {
      const std::string_view s = v.as_string();
      if (s.find_first_of(" =") != std::string_view::npos) {
        append_json_string(s, out);
      } else {
        out += s;
      }
      break;
    }
    default: append_canonical_json(v, out); break;
  }
}

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
      line_ = format_pretty(record);
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

std::string format_pretty(const LogRecord& record) {
  std::string out;
  out.reserve(128);
  out += kDim;
  append_timestamp(record.time_unix_nano, out);
  out += kReset;
  out += " [";
  out += color_for(record.severity_number);
  out += record.severity_text();
  out += kReset;
  out += "] ";
  out += kDim;
  out += record.instrumentation_scope != nullptr
             ? std::string_view(record.instrumentation_scope->name)
             : std::string_view("root");
  out += kReset;
  out += ": ";
  if (record.body.kind() == AttrValue::Kind::kString) {
    out += record.body.as_string();
  } else {
    append_canonical_json(record.body, out);
  }
  if (!record.attributes.empty()) {
    std::vector<const Attribute*> sorted;
    sorted.reserve(record.attributes.size());
    for (const auto& a : record.attributes) sorted.push_back(&a);
    std::sort(sorted.begin(), sorted.end(),
              [](const Attribute* a, const Attribute* b) { return a->key < b->key; });
    out += ' ';
    out += kDim;
    out += '|';
    out += kReset;
    for (const Attribute* a : sorted) {
      out += ' ';
      out += a->key;
      out += '=';
      append_pretty_value(a->value, out);
    }
  }
  return out;
}

std::shared_ptr<Sink> make_console_sink(const ConsoleSinkOptions& options) {
  return std::make_shared<ConsoleSink>(options);
}

}  // namespace dagstack::logger

// custom_sink: a sink of your own — counts records per severity text and prints a summary.
//
// A sink implements five methods (id, emit, flush, close, supports_severity), does its own
// locking, and copies whatever it keeps: the record is only valid during emit().
#include <dagstack/logger.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

namespace dl = dagstack::logger;

namespace {

// Thread-safe: one mutex around the counters.
class SeverityCounterSink final : public dl::Sink {
 public:
  std::string_view id() const noexcept override { return "severity-counter"; }

  void emit(const dl::LogRecord& record) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    ++counts_[std::string(record.severity_text())];
    if (const dl::AttrValue* user = record.find_attribute("user.id")) {
      if (user->kind() == dl::AttrValue::Kind::kInt) users_.insert({user->as_int(), true});
    }
  }

  dl::FlushResult flush(std::chrono::milliseconds /*timeout*/) override { return dl::FlushResult::ok(); }

  void close() override {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }

  // Only WARN and above interest this sink; the logger skips it for the rest.
  bool supports_severity(int severity_number) const noexcept override {
    return severity_number >= dl::kSeverityWarn;
  }

  void print_summary() const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [text, n] : counts_) std::printf("%-5s %d\n", text.c_str(), n);
    std::printf("distinct users with problems: %zu\n", users_.size());
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> counts_;
  std::map<std::int64_t, bool> users_;
  bool closed_ = false;
};

}  // namespace

int main() {
  auto counter = std::make_shared<SeverityCounterSink>();
  dl::ConfigureOptions options;
  options.sinks = dl::SinkList{counter};
  dl::configure(options);

  auto log = dl::Logger::get("billing");
  for (int user = 1; user <= 6; ++user) {
    log.info("invoice sent", {{"user.id", user}});
    if (user % 2 == 0) log.warn("payment late", {{"user.id", user}});
    if (user % 3 == 0) log.error("payment failed", {{"user.id", user}});
  }
  counter->print_summary();
  return 0;
}

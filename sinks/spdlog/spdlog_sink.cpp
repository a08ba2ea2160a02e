// spdlog_sink.cpp: the dagstack sink that hands records to spdlog sinks.
#include "dagstack/logger/spdlog/spdlog_sink.h"

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>

#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/sink.h>

#include "bridge_guard.h"
#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/spdlog/level_mapping.h"
#include "detail/internal_channel.h"

namespace dagstack::logger {
namespace {

// A string value that needs no quoting in `key=value` text.
bool is_bare(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '=') return false;
  }
  return true;
}

void append_text_value(const AttrValue& v, std::string& out) {
  if (v.kind() == AttrValue::Kind::kString) {
    const std::string_view s = v.as_string();
    if (is_bare(s)) {
      out.append(s);
    } else {
      append_json_string(s, out);
    }
    return;
  }
  if (!append_canonical_json(v, out)) {
    detail::counters().encode_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void append_spdlog_text(const LogRecord& record, std::string& out) {
  if (record.body.kind() == AttrValue::Kind::kString) {
    out.append(record.body.as_string());
  } else if (!record.body.is_null()) {
    if (!append_canonical_json(record.body, out)) {
      detail::counters().encode_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  const bool has_trace = record.trace_id.valid();
  if (record.attributes.empty() && !has_trace) return;
  out.append(" |");
  for (const auto& a : record.attributes) {
    out.push_back(' ');
    out.append(a.key);
    out.push_back('=');
    append_text_value(a.value, out);
  }
  if (has_trace) {
    char hex[32];
    out.append(" trace_id=");
    record.trace_id.to_hex(hex);
    out.append(hex, 32);
    if (record.span_id.valid()) {
      out.append(" span_id=");
      record.span_id.to_hex(hex);
      out.append(hex, 16);
    }
  }
}

// Per-thread scratch: the payload and the NUL-terminated source strings handed to spdlog. Only
// one spdlog bridge sink is active per thread at a time (the loop guard), so sharing is safe.
struct Scratch {
  std::string payload;
  std::string file;
  std::string function;
};

Scratch& scratch() {
  thread_local Scratch s = [] {
    Scratch x;
    x.payload.reserve(1024);
    return x;
  }();
  return s;
}

::spdlog::string_view_t to_spdlog_sv(std::string_view s) noexcept { return {s.data(), s.size()}; }

// SpdlogSink: see make_spdlog_sink in spdlog_sink.h. Thread-safe.
class SpdlogSink final : public Sink {
 public:
  SpdlogSink(std::vector<::spdlog::sink_ptr> sinks, const SpdlogSinkOptions& options)
      : format_(options.format), min_severity_(options.min_severity) {
    for (auto& s : sinks) {
      if (s) sinks_.push_back(std::move(s));
    }
    id_ = options.id.empty() ? "spdlog:" + std::to_string(sinks_.size()) : options.id;
    if (options.pattern) {
      for (const auto& s : sinks_) s->set_pattern(*options.pattern);
    }
  }

  std::string_view id() const noexcept override { return id_; }

  bool supports_severity(int severity_number) const noexcept override {
    if (severity_number < min_severity_ || closed_.load(std::memory_order_acquire)) return false;
    return any_sink_wants(spdlog_level_from_severity(severity_number));
  }

  void emit(const LogRecord& record) override {
    if (record.severity_number < min_severity_ || closed_.load(std::memory_order_acquire)) return;
    const ::spdlog::level::level_enum level = spdlog_level_from_severity(record.severity_number);
    if (!any_sink_wants(level)) return;
    detail::BridgeDepth& depth = detail::bridge_depth();
    if (depth.to_spdlog > 0) {
      dropped_recursive_.fetch_add(1, std::memory_order_relaxed);
      detail::report_internal(kSeverityWarn,
                              "record dropped: it would loop back into an spdlog sink",
                              {{"sink.id", id_}});
      return;
    }
    detail::BridgeMark mark(depth.to_spdlog);

    Scratch& s = scratch();
    s.payload.clear();
    if (format_ == SpdlogFormat::kJson) {
      if (!append_jsonl_record(record, s.payload)) {
        detail::counters().encode_errors.fetch_add(1, std::memory_order_relaxed);
      }
    } else {
      append_spdlog_text(record, s.payload);
    }

    ::spdlog::source_loc loc;
    const AttrValue* line = record.find_attribute("code.lineno");
    if (line != nullptr && line->kind() == AttrValue::Kind::kInt && line->as_int() > 0 &&
        line->as_int() <= INT32_MAX) {
      loc.line = static_cast<int>(line->as_int());
      if (const AttrValue* f = record.find_attribute("code.filepath");
          f != nullptr && f->kind() == AttrValue::Kind::kString) {
        s.file.assign(f->as_string());
        loc.filename = s.file.c_str();
      }
      if (const AttrValue* f = record.find_attribute("code.function");
          f != nullptr && f->kind() == AttrValue::Kind::kString) {
        s.function.assign(f->as_string());
        loc.funcname = s.function.c_str();
      }
    }

    const std::string_view name = record.instrumentation_scope != nullptr
                                      ? std::string_view(record.instrumentation_scope->name)
                                      : std::string_view{};
    const auto time = record.time_unix_nano != 0
                          ? ::spdlog::log_clock::time_point(
                                std::chrono::duration_cast<::spdlog::log_clock::duration>(
                                    std::chrono::nanoseconds(record.time_unix_nano)))
                          : ::spdlog::log_clock::now();
    const ::spdlog::details::log_msg msg(time, loc, to_spdlog_sv(name), level,
                                         to_spdlog_sv(s.payload));

    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.load(std::memory_order_relaxed)) return;
    for (const auto& sink : sinks_) {
      if (!sink->should_log(level)) continue;
      try {
        sink->log(msg);
      } catch (const std::exception& e) {
        detail::report_sink_error(id_, "spdlog sink failed to log", detail::what_of(e));
      } catch (...) {
        detail::report_sink_error(id_, "spdlog sink failed to log", "unknown exception");
      }
    }
  }

  FlushResult flush(std::chrono::milliseconds /*timeout*/) override {
    detail::BridgeDepth& depth = detail::bridge_depth();
    if (depth.flushing_spdlog > 0) return FlushResult::ok();  // a flush loop
    detail::BridgeMark mark(depth.flushing_spdlog);
    std::lock_guard<std::mutex> lock(mutex_);
    return flush_locked();
  }

  void close() override {
    detail::BridgeDepth& depth = detail::bridge_depth();
    detail::BridgeMark mark(depth.flushing_spdlog);
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.load(std::memory_order_relaxed)) return;
    (void)flush_locked();
    closed_.store(true, std::memory_order_release);
  }

 private:
  bool any_sink_wants(::spdlog::level::level_enum level) const noexcept {
    for (const auto& s : sinks_) {
      if (s->should_log(level)) return true;
    }
    return false;
  }

  FlushResult flush_locked() {
    FlushResult result;
    for (const auto& sink : sinks_) {
      try {
        sink->flush();
      } catch (const std::exception& e) {
        result.success = false;
        result.failed_sinks.push_back({id_, detail::what_of(e)});
      } catch (...) {
        result.success = false;
        result.failed_sinks.push_back({id_, "unknown exception"});
      }
    }
    return result;
  }

  std::vector<::spdlog::sink_ptr> sinks_;  // immutable after construction
  const SpdlogFormat format_;
  const int min_severity_;
  std::string id_;
  std::mutex mutex_;  // serialises every call into the spdlog sinks
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> dropped_recursive_{0};
};

}  // namespace

std::shared_ptr<Sink> make_spdlog_sink(std::vector<::spdlog::sink_ptr> sinks,
                                       const SpdlogSinkOptions& options) {
  return std::make_shared<SpdlogSink>(std::move(sinks), options);
}

std::string format_spdlog_text(const LogRecord& record) {
  std::string out;
  append_spdlog_text(record, out);
  return out;
}

}  // namespace dagstack::logger

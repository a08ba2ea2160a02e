// dagstack_spdlog_sink.cpp: the spdlog sink that feeds dagstack loggers.
#include "dagstack/logger/spdlog/dagstack_spdlog_sink.h"

#include <array>
#include <exception>
#include <span>
#include <vector>

#include "bridge_guard.h"
#include "dagstack/logger/spdlog/level_mapping.h"
#include "detail/internal_channel.h"

namespace dagstack::logger {
namespace detail {

BridgeDepth& bridge_depth() noexcept {
  thread_local BridgeDepth depth;
  return depth;
}

}  // namespace detail

namespace {

std::atomic<std::uint64_t> g_bridge_seq{0};

// The last (bridge, logger name) this thread recorded for flush forwarding: repeated messages
// from the same logger skip the bridge's mutex.
struct LastSeen {
  std::uint64_t bridge = 0;
  std::string name;
};

LastSeen& last_seen() noexcept {
  thread_local LastSeen last;
  return last;
}

std::string_view to_sv(::spdlog::string_view_t s) noexcept { return {s.data(), s.size()}; }

// Emits `msg` at `severity` through `log`; false when the level gate stopped it.
bool emit_to(Logger& log, int severity, const ::spdlog::details::log_msg& msg,
             const DagstackBridgeOptions& options) {
  if (!log.is_enabled(severity)) return false;
  std::array<Attribute, 4> attrs;
  std::size_t n = 0;
  if (options.include_source_location && !msg.source.empty()) {
    if (msg.source.filename != nullptr)
      attrs[n++] = {"code.filepath", AttrValue(msg.source.filename)};
    attrs[n++] = {"code.lineno", AttrValue(static_cast<std::int64_t>(msg.source.line))};
    if (msg.source.funcname != nullptr)
      attrs[n++] = {"code.function", AttrValue(msg.source.funcname)};
  }
  if (options.include_thread_id) {
    attrs[n++] = {"thread.id", AttrValue(static_cast<std::int64_t>(msg.thread_id))};
  }
  // A default SourceLocation (line 0) keeps the core from adding this file as the call site.
  log.log(severity, AttrValue(to_sv(msg.payload)),
          AttributeSpan(std::span<const Attribute>(attrs.data(), n)), SourceLocation{});
  return true;
}

}  // namespace

DagstackSpdlogSink::DagstackSpdlogSink(DagstackBridgeOptions options)
    : options_(std::move(options)),
      seq_(g_bridge_seq.fetch_add(1, std::memory_order_relaxed) + 1) {}

void DagstackSpdlogSink::remember(std::string_view name) {
  LastSeen& last = last_seen();
  if (last.bridge == seq_ && last.name == name) return;
  {
    std::lock_guard<std::mutex> lock(seen_mutex_);
    if (seen_.find(name) == seen_.end()) seen_.emplace(name);
  }
  last.bridge = seq_;
  last.name.assign(name);
}

void DagstackSpdlogSink::log(const ::spdlog::details::log_msg& msg) {
  const int severity = severity_from_spdlog_level(msg.level);
  if (severity == 0) {
    filtered_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  detail::BridgeDepth& depth = detail::bridge_depth();
  if (depth.to_dagstack > 0 || depth.to_spdlog > 0) {
    dropped_recursive_.fetch_add(1, std::memory_order_relaxed);
    detail::report_internal(kSeverityWarn,
                            "spdlog message dropped: it would loop back into a dagstack logger",
                            {{"spdlog.logger", to_sv(msg.logger_name)}});
    return;
  }
  detail::BridgeMark mark(depth.to_dagstack);
  try {
    bool emitted = false;
    if (options_.logger) {
      emitted = emit_to(*options_.logger, severity, msg, options_);
    } else {
      const std::string_view name =
          options_.logger_name ? std::string_view(*options_.logger_name) : to_sv(msg.logger_name);
      Logger log = Logger::get(name);
      emitted = emit_to(log, severity, msg, options_);
      if (emitted && options_.forward_flush) remember(name);
    }
    (emitted ? forwarded_ : filtered_).fetch_add(1, std::memory_order_relaxed);
  } catch (const std::exception& e) {
    detail::report_internal(kSeverityError, "spdlog bridge failed to emit a message",
                            {{"error.message", detail::what_of(e)}});
  } catch (...) {
    detail::report_internal(kSeverityError, "spdlog bridge failed to emit a message");
  }
}

void DagstackSpdlogSink::flush() {
  if (!options_.forward_flush) return;
  detail::BridgeDepth& depth = detail::bridge_depth();
  if (depth.flushing_dagstack > 0 || depth.flushing_spdlog > 0) return;  // a flush loop
  detail::BridgeMark mark(depth.flushing_dagstack);
  try {
    std::vector<Logger> targets;
    if (options_.logger) {
      targets.push_back(*options_.logger);
    } else {
      std::lock_guard<std::mutex> lock(seen_mutex_);
      for (const auto& name : seen_) targets.push_back(Logger::get(name));
    }
    for (const auto& log : targets) {
      const FlushResult r = log.flush(options_.flush_timeout);
      if (!r.success) {
        for (const auto& f : r.failed_sinks) {
          detail::report_internal(kSeverityWarn, "spdlog bridge: forwarded flush failed",
                                  {{"sink.id", f.sink_id}, {"error.message", f.error}});
        }
      }
    }
  } catch (const std::exception& e) {
    detail::report_internal(kSeverityError, "spdlog bridge failed to flush",
                            {{"error.message", detail::what_of(e)}});
  } catch (...) {
    detail::report_internal(kSeverityError, "spdlog bridge failed to flush");
  }
}

void DagstackSpdlogSink::set_pattern(const std::string& /*pattern*/) {}

void DagstackSpdlogSink::set_formatter(std::unique_ptr<::spdlog::formatter> /*sink_formatter*/) {}

DagstackBridgeStats DagstackSpdlogSink::stats() const noexcept {
  DagstackBridgeStats s;
  s.forwarded = forwarded_.load(std::memory_order_relaxed);
  s.filtered = filtered_.load(std::memory_order_relaxed);
  s.dropped_recursive = dropped_recursive_.load(std::memory_order_relaxed);
  return s;
}

std::shared_ptr<DagstackSpdlogSink> make_spdlog_to_dagstack_sink(DagstackBridgeOptions options) {
  return std::make_shared<DagstackSpdlogSink>(std::move(options));
}

}  // namespace dagstack::logger

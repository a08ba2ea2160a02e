// otlp_sink.cpp: OtlpSink: the caller side (encode, byte-bounded queue), the worker thread
// (span rebuilding, batching, OTLP/HTTP delivery with retries, flush marks, bounded shutdown).
#include "dagstack/logger/otlp/otlp_sink.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "dagstack/logger/http/retry.h"
#include "detail/internal_channel.h"
#include "gzip.h"
#include "otlp_encoder.h"
#include "span_builder.h"

namespace dagstack::logger::otlp {
namespace {

using Clock = std::chrono::steady_clock;
using detail::EncodedItem;
using detail::Signal;
using std::chrono::milliseconds;

constexpr std::size_t kItemOverhead = 64;  // bookkeeping bytes charged per queued item
constexpr std::size_t kReportExcerpt = 512;

std::uint64_t now_unix_nano() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

bool retryable(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// A span start/end record waiting for the worker.
struct QueuedSpanRecord {
  OwnedLogRecord record;
  std::uint32_t resource = 0;
  std::uint32_t scope = 0;
  std::size_t bytes = 0;
};

// Counters of one signal (atomics: read by stats() on any thread).
struct SignalCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> lost{0};

  OtlpSignalStats snapshot() const noexcept {
    return {accepted.load(std::memory_order_relaxed), delivered.load(std::memory_order_relaxed),
            rejected.load(std::memory_order_relaxed), failed.load(std::memory_order_relaxed),
            lost.load(std::memory_order_relaxed)};
  }
};

// Allows a few reports per window and counts the rest, so a dead collector cannot flood the
// internal channel.
class ReportLimiter {
 public:
  // True when a report may go out now; `suppressed` is how many were held back before it.
  bool allow(std::uint64_t& suppressed) {
    const auto now = Clock::now();
    if (now - window_start_ > std::chrono::seconds(10)) {
      window_start_ = now;
      in_window_ = 0;
    }
    if (in_window_ >= 5) {
      ++suppressed_;
      return false;
    }
    ++in_window_;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  Clock::time_point window_start_{};
  int in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

class ActiveOtlpSink final : public OtlpSink {
 public:
  explicit ActiveOtlpSink(OtlpOptions options)
      : options_(std::move(options)),
        encoding_(options_.protocol == OtlpProtocol::kHttpJson ? detail::Encoding::kJson
                                                               : detail::Encoding::kProtobuf),
        id_("otlp:" + (options_.export_logs ? options_.resolved_logs_endpoint()
                                            : options_.resolved_traces_endpoint())),
        transport_(options_.transport ? options_.transport
                                      : http::make_curl_transport("dagstack-logger-cpp/0.1 otlp")),
        rng_(std::random_device{}()) {
    logs_.signal = Signal::kLogs;
    logs_.url = options_.resolved_logs_endpoint();
    traces_.signal = Signal::kTraces;
    traces_.url = options_.resolved_traces_endpoint();
    headers_.emplace_back("Content-Type", encoding_ == detail::Encoding::kJson
                                              ? "application/json"
                                              : "application/x-protobuf");
    if (options_.compression == OtlpCompression::kGzip)
      headers_.emplace_back("Content-Encoding", "gzip");
    for (const auto& h : options_.headers) headers_.push_back(h);
    default_resource_.attributes = options_.resource;
    worker_ = std::thread([this] { worker_main(); });
  }

  ~ActiveOtlpSink() override { close(); }

  std::string_view id() const noexcept override { return id_; }

  bool supports_severity(int severity) const noexcept override {
    return severity >= options_.min_severity;
  }

  void emit(const LogRecord& record) override {
    if (closed_.load(std::memory_order_acquire)) return;
    if (record.severity_number < options_.min_severity) return;
    if (dagstack::logger::detail::is_internal_record(record)) {
      return;  // never export (or loop on) the library's own diagnostics
    }
    const bool span_record = options_.export_traces && detail::is_span_record(record);
    const bool as_log = options_.export_logs && (!span_record || options_.span_records_as_logs);
    if (!span_record && !as_log) return;
    try {
      EncodedItem item;
      std::size_t need = 0;
      if (as_log) {
        item.bytes.reserve(256);
        detail::encode_log_record(record, encoding_, item.bytes);
        need += item.bytes.size() + kItemOverhead;
      }
      std::optional<QueuedSpanRecord> span;
      if (span_record) {
        span.emplace();
        span->record = OwnedLogRecord::from(record);
        span->record.resource.reset();  // interned below
        span->record.instrumentation_scope.reset();
        span->bytes = 256 + 64 * record.attributes.size() + kItemOverhead;
        need += span->bytes;
      }
      bool notify = false;
      bool dropped = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_) return;
        if (held_bytes_ + need > options_.max_queue_bytes) {
          dropped = true;
        } else {
          const std::uint32_t resource = intern_resource(record.resource);
          const std::uint32_t scope = intern_scope(record.instrumentation_scope);
          held_bytes_ += need;
          if (as_log) {
            item.resource = resource;
            item.scope = scope;
            raw_logs_.push_back(std::move(item));
            logs_counters_.accepted.fetch_add(1, std::memory_order_relaxed);
          }
          if (span) {
            span->resource = resource;
            span->scope = scope;
            raw_spans_.push_back(std::move(*span));
          }
          notify = raw_logs_.size() == options_.max_batch_records ||
                   raw_spans_.size() == options_.max_batch_records;
        }
      }
      if (dropped) {
        const std::uint64_t n = dropped_.fetch_add(1, std::memory_order_relaxed) + 1;
        unreported_dropped_.fetch_add(1, std::memory_order_relaxed);
        if ((n & (n - 1)) == 0) {  // 1, 2, 4, 8...: bounded reporting of a sustained overflow
          dagstack::logger::detail::report_internal(
              kSeverityWarn, "otlp queue full; dropping records",
              {{"sink.id", id_},
               {"otlp.records_dropped", static_cast<std::int64_t>(n)},
               {"otlp.max_queue_bytes", static_cast<std::int64_t>(options_.max_queue_bytes)}});
        }
        return;
      }
      if (notify) cv_.notify_one();
    } catch (const std::exception& e) {
      dagstack::logger::detail::report_sink_error(id_, "otlp record could not be encoded",
                                                  dagstack::logger::detail::what_of(e));
    }
  }

  FlushResult flush(milliseconds timeout) override {
    if (timeout.count() <= 0) return FlushResult::failed(id_, "timeout must be greater than zero");
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!worker_done_) {
        const std::uint64_t target = ++flush_requested_;
        cv_.notify_all();
        if (!done_cv_.wait_for(lock, timeout, [&] { return flush_done_ >= target; })) {
          return FlushResult::failed(id_, "flush timed out after " +
                                              std::to_string(timeout.count()) + " ms with " +
                                              std::to_string(held_bytes_) + " bytes waiting");
        }
      }
    }
    const std::uint64_t rejected = unreported_rejected_.exchange(0);
    const std::uint64_t failed = unreported_failed_.exchange(0);
    const std::uint64_t dropped = unreported_dropped_.exchange(0);
    const std::uint64_t lost = unreported_lost_.exchange(0);
    if (rejected == 0 && failed == 0 && dropped == 0 && lost == 0) return FlushResult::ok();
    std::string what;
    auto add = [&](std::uint64_t n, const char* text) {
      if (n == 0) return;
      if (!what.empty()) what += "; ";
      what += std::to_string(n) + text;
    };
    add(rejected, " items rejected by the collector");
    add(failed, " items given up after retries");
    add(dropped, " records dropped (queue full)");
    add(lost, " items unsent at close");
    return FlushResult::failed(id_, what + " since the previous flush");
  }

  void close() override {
    std::lock_guard<std::mutex> close_lock(close_mutex_);
    if (!worker_.joinable()) return;
    closed_.store(true, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      stop_deadline_ = Clock::now() + options_.shutdown_timeout;
    }
    cv_.notify_all();
    worker_.join();
  }

  OtlpStats stats() const noexcept override {
    OtlpStats s;
    s.logs = logs_counters_.snapshot();
    s.spans = spans_counters_.snapshot();
    s.records_dropped = dropped_.load(std::memory_order_relaxed);
    s.spans_unfinished = unfinished_.load(std::memory_order_relaxed);
    s.requests = requests_.load(std::memory_order_relaxed);
    s.retries = retries_.load(std::memory_order_relaxed);
    s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    s.queue_bytes = held_bytes_;
    return s;
  }

 private:
  struct Batch {
    std::string body;
    std::size_t count = 0;
    std::size_t held = 0;  // bytes charged to the queue bound, released when resolved
    int attempts = 0;
  };
  struct Channel {
    Signal signal = Signal::kLogs;
    std::string url;
    std::deque<EncodedItem> queue;
    std::optional<Batch> inflight;
    Clock::time_point retry_at{};
    std::uint64_t enqueued = 0;  // items ever queued
    std::uint64_t taken = 0;     // items ever put in a batch
    std::uint64_t resolved = 0;  // items delivered, rejected or given up
    bool pending() const { return inflight.has_value() || !queue.empty(); }
  };
  enum class Step { kIdle, kWaiting, kSent };

  // ---- interning (caller side, under mutex_) ----

  std::uint32_t intern_resource(const Resource* r) {
    const Resource& res = r != nullptr ? *r : default_resource_;
    if (last_resource_ < resources_.size() && resources_[last_resource_] == res)
      return last_resource_;
    for (std::uint32_t i = 0; i < resources_.size(); ++i) {
      if (resources_[i] == res) return last_resource_ = i;
    }
    resources_.push_back(res);
    return last_resource_ = static_cast<std::uint32_t>(resources_.size() - 1);
  }

  std::uint32_t intern_scope(const InstrumentationScope* s) {
    static const InstrumentationScope kNone;
    const InstrumentationScope& scope = s != nullptr ? *s : kNone;
    if (last_scope_ < scopes_.size() && scopes_[last_scope_] == scope) return last_scope_;
    for (std::uint32_t i = 0; i < scopes_.size(); ++i) {
      if (scopes_[i] == scope) return last_scope_ = i;
    }
    scopes_.push_back(scope);
    return last_scope_ = static_cast<std::uint32_t>(scopes_.size() - 1);
  }

  // ---- worker ----

  void worker_main() {
    auto next_tick = Clock::now() + options_.batch_delay;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        auto wake = next_tick;
        for (const Channel* ch : {&logs_, &traces_}) {
          if (ch->inflight && ch->retry_at < wake) wake = ch->retry_at;
        }
        cv_.wait_until(lock, wake, [&] {
          return stop_ || raw_logs_.size() >= options_.max_batch_records ||
                 raw_spans_.size() >= options_.max_batch_records || flush_requested_ != flush_seen_;
        });
        if (stop_) break;
      }
      absorb();
      const auto now = Clock::now();
      const bool tick = now >= next_tick;
      if (tick) next_tick = now + options_.batch_delay;
      const bool flushing = !flush_marks_.empty();
      for (Channel* ch : {&logs_, &traces_}) {
        const std::uint64_t target = (tick || flushing) ? ch->enqueued : 0;
        while (!closed_.load(std::memory_order_acquire) &&
               deliver_one(*ch, target, std::nullopt) == Step::kSent) {
          absorb();
          complete_flushes();
        }
      }
      complete_flushes();
    }
    shutdown_path();
  }

  // Moves queued records to the channels (spans through the span builder); records flush marks.
  void absorb() {
    std::uint64_t requested = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      spare_logs_.swap(raw_logs_);
      spare_spans_.swap(raw_spans_);
      requested = flush_requested_;
      flush_seen_ = requested;
      if (resources_.size() != resources_copy_.size()) resources_copy_ = resources_;
      if (scopes_.size() != scopes_copy_.size()) scopes_copy_ = scopes_;
    }
    for (auto& item : spare_logs_) logs_.queue.push_back(std::move(item));
    logs_.enqueued += spare_logs_.size();
    spare_logs_.clear();
    std::size_t released = 0;
    std::size_t added = 0;
    for (auto& q : spare_spans_) {
      released += q.bytes;
      try {
        if (auto finished = builder_.process(q.record, q.resource, q.scope)) {
          added += queue_span(std::move(*finished));
        }
      } catch (const std::exception& e) {
        dagstack::logger::detail::report_sink_error(id_, "otlp span could not be built",
                                                    dagstack::logger::detail::what_of(e));
      }
    }
    spare_spans_.clear();
    if (released != 0 || added != 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      held_bytes_ = held_bytes_ + added - released;
    }
    if (requested > last_marked_) {
      flush_marks_.push_back({requested, logs_.enqueued, traces_.enqueued});
      last_marked_ = requested;
    }
  }

  // Encodes a finished span into the traces channel; returns the bytes it holds.
  std::size_t queue_span(detail::FinishedSpan finished) {
    EncodedItem item;
    item.resource = finished.resource;
    item.scope = finished.scope;
    detail::encode_span(finished.span, encoding_, item.bytes);
    const std::size_t bytes = item.bytes.size() + kItemOverhead;
    traces_.queue.push_back(std::move(item));
    ++traces_.enqueued;
    spans_counters_.accepted.fetch_add(1, std::memory_order_relaxed);
    return bytes;
  }

  void complete_flushes() {
    std::uint64_t done = 0;
    while (!flush_marks_.empty() && logs_.resolved >= flush_marks_.front().logs &&
           traces_.resolved >= flush_marks_.front().spans) {
      done = flush_marks_.front().number;
      flush_marks_.pop_front();
    }
    if (done != 0) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        flush_done_ = std::max(flush_done_, done);
      }
      done_cv_.notify_all();
    }
  }

  SignalCounters& counters(const Channel& ch) {
    return ch.signal == Signal::kLogs ? logs_counters_ : spans_counters_;
  }

  // Sends (or re-sends) at most one request of `ch`. A new batch is formed when a full batch is
  // waiting or items up to `target` are not yet taken. With a deadline (shutdown) the request
  // timeout is clipped to it.
  Step deliver_one(Channel& ch, std::uint64_t target, std::optional<Clock::time_point> deadline) {
    if (!ch.inflight) {
      const bool want = ch.queue.size() >= options_.max_batch_records || ch.taken < target;
      if (!want || ch.queue.empty()) return Step::kIdle;
      if (!form_batch(ch)) {
        counters(ch).failed.fetch_add(ch.inflight->count, std::memory_order_relaxed);
        unreported_failed_.fetch_add(ch.inflight->count, std::memory_order_relaxed);
        finish(ch);
        return Step::kSent;  // progress: the next batch may go
      }
    }
    auto now = Clock::now();
    if (now < ch.retry_at) return Step::kWaiting;
    if (deadline && now >= *deadline) return Step::kWaiting;
    milliseconds timeout = options_.timeout;
    if (deadline) {
      timeout = std::min(
          timeout,
          std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(*deadline - now)));
    }
    http::HttpRequest request;
    request.url = ch.url;
    request.headers = headers_;
    request.body = ch.inflight->body;
    request.timeout = timeout;
    const http::HttpResponse response = transport_->post(request);
    requests_.fetch_add(1, std::memory_order_relaxed);
    bytes_sent_.fetch_add(request.body.size(), std::memory_order_relaxed);
    handle_response(ch, response);
    return Step::kSent;
  }

  // Takes the next batch off `ch` into its in-flight slot; false when it could not be encoded
  // (reported; the caller counts it as failed).
  bool form_batch(Channel& ch) {
    const std::size_t n = std::min(options_.max_batch_records, ch.queue.size());
    std::vector<const EncodedItem*> items;
    items.reserve(n);
    std::size_t held = 0;
    for (std::size_t i = 0; i < n; ++i) {
      items.push_back(&ch.queue[i]);
      held += ch.queue[i].bytes.size() + kItemOverhead;
    }
    Batch batch;
    batch.count = n;
    batch.held = held;
    bool ok = true;
    try {
      batch.body =
          detail::build_request(ch.signal, encoding_, resources_copy_, scopes_copy_, items);
      if (options_.compression == OtlpCompression::kGzip)
        batch.body = detail::gzip_compress(batch.body);
    } catch (const std::exception& e) {
      ok = false;
      dagstack::logger::detail::report_sink_error(id_, "otlp request could not be encoded",
                                                  dagstack::logger::detail::what_of(e));
    }
    ch.queue.erase(ch.queue.begin(), ch.queue.begin() + static_cast<std::ptrdiff_t>(n));
    ch.taken += n;
    ch.inflight = std::move(batch);
    return ok;
  }

  void finish(Channel& ch) {
    ch.resolved += ch.inflight->count;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held_bytes_ -= std::min(held_bytes_, ch.inflight->held);
    }
    ch.inflight.reset();
    ch.retry_at = Clock::time_point{};
  }

  void handle_response(Channel& ch, const http::HttpResponse& response) {
    SignalCounters& c = counters(ch);
    const std::size_t n = ch.inflight->count;
    const char* what = ch.signal == Signal::kLogs ? "log records" : "spans";
    if (response.status >= 200 && response.status < 300) {
      std::uint64_t rejected = 0;
      if (auto ps = detail::parse_partial_success(ch.signal, encoding_, response.body)) {
        rejected = static_cast<std::uint64_t>(
            std::clamp<std::int64_t>(ps->rejected, 0, static_cast<std::int64_t>(n)));
        if (rejected != 0 || !ps->error_message.empty()) {
          report(kSeverityWarn, std::string("otlp partial success: collector rejected ") + what,
                 response.status, http::excerpt(ps->error_message, kReportExcerpt), rejected);
        }
      }
      c.delivered.fetch_add(n - rejected, std::memory_order_relaxed);
      c.rejected.fetch_add(rejected, std::memory_order_relaxed);
      unreported_rejected_.fetch_add(rejected, std::memory_order_relaxed);
      finish(ch);
      return;
    }
    if (response.status == 0 || retryable(response.status)) {
      ++ch.inflight->attempts;
      if (response.status != 0 && ch.inflight->attempts >= options_.retry.max_attempts) {
        c.failed.fetch_add(n, std::memory_order_relaxed);
        unreported_failed_.fetch_add(n, std::memory_order_relaxed);
        report(kSeverityError, std::string("otlp export of ") + what + " failed: retries exhausted",
               response.status, http::excerpt(response.body, kReportExcerpt), n);
        finish(ch);
        return;
      }
      retries_.fetch_add(1, std::memory_order_relaxed);
      std::uniform_real_distribution<double> u(0.0, 1.0);
      const milliseconds delay = http::backoff_delay(options_.retry.backoff, ch.inflight->attempts,
                                                     response.retry_after, u(rng_));
      ch.retry_at = Clock::now() + delay;
      return;
    }
    c.rejected.fetch_add(n, std::memory_order_relaxed);
    unreported_rejected_.fetch_add(n, std::memory_order_relaxed);
    report(kSeverityError, std::string("otlp export of ") + what + " rejected by the collector",
           response.status, http::excerpt(response.body, kReportExcerpt), n);
    finish(ch);
  }

  void report(int severity, const std::string& what, int status, const std::string& error,
              std::uint64_t items) {
    std::uint64_t suppressed = 0;
    if (!limiter_.allow(suppressed)) return;
    dagstack::logger::detail::report_internal(
        severity, what,
        {{"sink.id", id_},
         {"http.status", status},
         {"error.message", error},
         {"otlp.items", static_cast<std::int64_t>(items)},
         {"otlp.reports_suppressed", static_cast<std::int64_t>(suppressed)}});
  }

  void shutdown_path() {
    Clock::time_point deadline;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      deadline = stop_deadline_;
    }
    absorb();
    if (options_.export_traces) {
      std::size_t added = 0;
      for (auto& fs : builder_.close_open(now_unix_nano())) {
        added += queue_span(std::move(fs));
        unfinished_.fetch_add(1, std::memory_order_relaxed);
      }
      std::lock_guard<std::mutex> lock(mutex_);
      held_bytes_ += added;
    }
    for (;;) {
      bool sent = false;
      auto wake = deadline;
      for (Channel* ch : {&logs_, &traces_}) {
        const Step step = deliver_one(*ch, ch->enqueued, deadline);
        if (step == Step::kSent) sent = true;
        if (step == Step::kWaiting && ch->retry_at < wake) wake = ch->retry_at;
      }
      complete_flushes();
      if (Clock::now() >= deadline) break;
      if (!logs_.pending() && !traces_.pending()) break;
      if (!sent) std::this_thread::sleep_until(wake);
    }
    for (Channel* ch : {&logs_, &traces_}) {
      const std::uint64_t lost = ch->queue.size() + (ch->inflight ? ch->inflight->count : 0);
      if (lost == 0) continue;
      counters(*ch).lost.fetch_add(lost, std::memory_order_relaxed);
      unreported_lost_.fetch_add(lost, std::memory_order_relaxed);
      report(kSeverityError,
             std::string("otlp sink closed with undelivered ") +
                 (ch->signal == Signal::kLogs ? "log records" : "spans"),
             0, "", lost);
      ch->queue.clear();
      ch->inflight.reset();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      worker_done_ = true;
      flush_done_ = flush_requested_;
      held_bytes_ = 0;
    }
    done_cv_.notify_all();
  }

  // ---- configuration ----
  const OtlpOptions options_;
  const detail::Encoding encoding_;
  const std::string id_;
  const std::shared_ptr<http::HttpTransport> transport_;
  std::vector<std::pair<std::string, std::string>> headers_;
  Resource default_resource_;

  // ---- shared between callers and the worker (guarded by mutex_) ----
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::vector<EncodedItem> raw_logs_;
  std::vector<QueuedSpanRecord> raw_spans_;
  std::vector<Resource> resources_;
  std::vector<InstrumentationScope> scopes_;
  std::uint32_t last_resource_ = 0;
  std::uint32_t last_scope_ = 0;
  std::size_t held_bytes_ = 0;
  bool stop_ = false;
  Clock::time_point stop_deadline_{};
  std::uint64_t flush_requested_ = 0;
  std::uint64_t flush_seen_ = 0;
  std::uint64_t flush_done_ = 0;
  bool worker_done_ = false;

  std::mutex close_mutex_;
  std::atomic<bool> closed_{false};

  // ---- counters ----
  SignalCounters logs_counters_;
  SignalCounters spans_counters_;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> unfinished_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> bytes_sent_{0};
  std::atomic<std::uint64_t> unreported_rejected_{0};
  std::atomic<std::uint64_t> unreported_failed_{0};
  std::atomic<std::uint64_t> unreported_dropped_{0};
  std::atomic<std::uint64_t> unreported_lost_{0};

  // ---- worker-only ----
  struct FlushMark {
    std::uint64_t number;
    std::uint64_t logs;   // logs_.enqueued when the flush was seen
    std::uint64_t spans;  // traces_.enqueued when the flush was seen
  };
  Channel logs_;
  Channel traces_;
  std::vector<EncodedItem> spare_logs_;
  std::vector<QueuedSpanRecord> spare_spans_;
  std::vector<Resource> resources_copy_;
  std::vector<InstrumentationScope> scopes_copy_;
  detail::SpanBuilder builder_;
  std::deque<FlushMark> flush_marks_;
  std::uint64_t last_marked_ = 0;
  ReportLimiter limiter_;
  std::mt19937_64 rng_;

  std::thread worker_;  // last: started once everything above exists
};

}  // namespace

std::shared_ptr<OtlpSink> make_otlp_sink(OtlpOptions options) {
  options.validate();
  return std::make_shared<ActiveOtlpSink>(std::move(options));
}

}  // namespace dagstack::logger::otlp

// northstar_sink.cpp: NorthStarSink: the caller-side queue, the worker thread that stitches and
// delivers batches (retries, backoff, dead letters, flush marks), and the disabled variant.
#include "dagstack/logger/northstar/northstar_sink.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include <rapidjson/document.h>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/northstar/uuid.h"
#include "detail/internal_channel.h"
#include "record_codec.h"
#include "response.h"
#include "stitcher.h"
#include "wire.h"

namespace dagstack::logger::northstar {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kInternalScope = "dagstack.logger.internal";

std::atomic<std::size_t> g_enabled_sinks{0};

struct SinkRegistry {
  std::mutex mutex;
  std::vector<std::weak_ptr<NorthStarSink>> sinks;
};

SinkRegistry& sink_registry() {
  static auto* r = new SinkRegistry();  // never destroyed: sinks may close during static teardown
  return *r;
}

std::uint64_t now_unix_nano() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string lowercase(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
class DisabledSink final : public NorthStarSink {
 public:
  std::string_view id() const noexcept override { return "northstar:disabled"; }
  void emit(const LogRecord&) override {}
  FlushResult flush(milliseconds timeout) override {
    if (timeout.count() <= 0) return FlushResult::failed(id(), "timeout must be greater than zero");
    return FlushResult::ok();
  }
  void close() override {}
  bool supports_severity(int) const noexcept override { return false; }
  bool enabled() const noexcept override { return false; }
  const std::string& session_id() const noexcept override { return empty_; }
  const std::string& endpoint() const noexcept override { return empty_; }
  NorthStarStats stats() const noexcept override { return {}; }

 private:
  std::string empty_;
};

// ---------------------------------------------------------------------------------------------
class ActiveSink final : public NorthStarSink {
 public:
  ActiveSink(NorthStarOptions options, PricingTable pricing)
      : options_(std::move(options)),
        endpoint_(options_.resolved_endpoint()),
        session_id_(random_uuid_v4()),
        id_("northstar:" + endpoint_),
        auth_header_("Bearer " + options_.api_key),
        transport_(options_.transport ? options_.transport : make_curl_transport()),
        debug_(options_.debug.value_or(false)),
        drop_outside_(options_.outside_trace == OutsideTracePolicy::kDrop),
        stitcher_(make_config(options_, session_id_, std::move(pricing))),
        rng_(std::random_device{}()) {
    raw_.reserve(std::clamp<std::size_t>(options_.batch_size * 2, 64, 4096));
    spare_.reserve(raw_.capacity());
    g_enabled_sinks.fetch_add(1, std::memory_order_relaxed);
    worker_ = std::thread([this] { worker_main(); });
  }

  ~ActiveSink() override { close(); }

  std::string_view id() const noexcept override { return id_; }
  bool enabled() const noexcept override { return true; }
  const std::string& session_id() const noexcept override { return session_id_; }
  const std::string& endpoint() const noexcept override { return endpoint_; }
  bool supports_severity(int severity) const noexcept override {
    return severity >= options_.min_severity;
  }

  void emit(const LogRecord& record) override {
    if (closed_.load(std::memory_order_acquire)) return;
    if (record.severity_number < options_.min_severity) return;
    if (record.instrumentation_scope != nullptr &&
        std::string_view(record.instrumentation_scope->name).substr(0, kInternalScope.size()) ==
            kInternalScope) {
      return;  // never ship (or loop on) the library's own diagnostics
    }
    if (drop_outside_ && !record.span_id.valid()) {
      outside_emit_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    detail::QueuedRecord q;
    detail::encode_record(record, q);
    bool notify = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) return;
      if (raw_.size() + backlog_.load(std::memory_order_relaxed) >= options_.max_queue_size) {
        const AttrValue* ev = record.find_attribute("dagstack.span.event");
        const bool is_end =
            ev != nullptr && ev->kind() == AttrValue::Kind::kString && ev->as_string() == "end";
        if (!is_end) {  // span ends always get in, so started runs and spans still finish
          if (ev != nullptr && ev->kind() == AttrValue::Kind::kString &&
              ev->as_string() == "start") {
            dropped_starts_.push_back({record.trace_id, record.span_id});
          }
          const std::uint64_t n = dropped_.fetch_add(1, std::memory_order_relaxed) + 1;
          unreported_dropped_.fetch_add(1, std::memory_order_relaxed);
          if (debug_ && (n & (n - 1)) == 0)
            debug("queue is full; dropping trace data (" + std::to_string(n) + " dropped)");
          return;
        }
      }
      raw_.push_back(std::move(q));
      notify = raw_.size() == options_.batch_size;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    if (notify) cv_.notify_one();
  }

  FlushResult flush(milliseconds timeout) override {
    if (timeout.count() <= 0) return FlushResult::failed(id_, "timeout must be greater than zero");
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!worker_done_) {
        const std::uint64_t target = ++flush_requested_;
        cv_.notify_all();
        if (!done_cv_.wait_for(lock, timeout, [&] { return flush_done_ >= target; })) {
          const std::uint64_t waiting = raw_.size() + backlog_.load(std::memory_order_relaxed);
          return FlushResult::failed(id_, "flush timed out after " +
                                              std::to_string(timeout.count()) + " ms with " +
                                              std::to_string(waiting) + " records waiting");
        }
      }
    }
    const std::uint64_t rejected = unreported_rejected_.exchange(0);
    const std::uint64_t dropped = unreported_dropped_.exchange(0);
    const std::uint64_t lost = unreported_lost_.exchange(0);
    if (rejected == 0 && dropped == 0 && lost == 0) return FlushResult::ok();
    std::string what;
    if (rejected != 0)
      what += std::to_string(rejected) + " records rejected by the server (dead-lettered)";
    if (dropped != 0)
      what +=
          (what.empty() ? "" : "; ") + std::to_string(dropped) + " records dropped (queue full)";
    if (lost != 0)
      what += (what.empty() ? "" : "; ") + std::to_string(lost) + " records unsent at close";
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
    g_enabled_sinks.fetch_sub(1, std::memory_order_relaxed);
  }

  NorthStarStats stats() const noexcept override {
    NorthStarStats s;
    s.records_accepted = accepted_.load(std::memory_order_relaxed);
    s.records_dropped = dropped_.load(std::memory_order_relaxed);
    s.records_outside_trace = outside_emit_.load(std::memory_order_relaxed) +
                              outside_stitch_.load(std::memory_order_relaxed);
    s.events_not_captured = not_captured_.load(std::memory_order_relaxed);
    s.entities_delivered = entities_delivered_.load(std::memory_order_relaxed);
    s.entities_rejected = entities_rejected_.load(std::memory_order_relaxed);
    s.entities_lost_at_close = entities_lost_.load(std::memory_order_relaxed);
    s.batches_delivered = batches_delivered_.load(std::memory_order_relaxed);
    s.batches_rejected = batches_rejected_.load(std::memory_order_relaxed);
    s.requests = requests_.load(std::memory_order_relaxed);
    s.retries = retries_.load(std::memory_order_relaxed);
    s.dead_letter_write_errors = dead_letter_errors_.load(std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s.backlog = raw_.size() + backlog_.load(std::memory_order_relaxed);
    }
    return s;
  }

 private:
  struct Inflight {
    std::string body;
    std::size_t entities = 0;
    std::uint64_t end_position = 0;  // stitcher FIFO position just past this batch
    int attempts = 0;
  };

  static detail::StitchConfig make_config(const NorthStarOptions& o, const std::string& session_id,
                                          PricingTable pricing) {
    detail::StitchConfig c;
    c.session_id = session_id;
    c.project = o.project;
    c.environment = o.environment;
    c.capture_inputs = o.capture_inputs;
    c.capture_outputs = o.capture_outputs;
    c.redact_keys = detail::default_redact_keys();
    for (const auto& k : o.redact_keys) {
      std::string lk = lowercase(k);
      if (std::find(c.redact_keys.begin(), c.redact_keys.end(), lk) == c.redact_keys.end()) {
        c.redact_keys.push_back(std::move(lk));
      }
    }
    c.outside_trace = o.outside_trace;
    c.default_run_name = o.default_run_name;
    c.pricing = std::move(pricing);
    return c;
  }

  void debug(const std::string& message) const {
    if (debug_) std::fprintf(stderr, "[NorthStar] %s\n", message.c_str());
  }

  // ---- worker thread ----

  void worker_main() {
    auto next_tick = Clock::now() + options_.flush_interval;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        auto wake = next_tick;
        if (inflight_ && retry_at_ < wake) wake = retry_at_;
        cv_.wait_until(lock, wake, [&] {
          return stop_ || raw_.size() >= options_.batch_size || flush_requested_ != flush_seen_;
        });
        if (stop_) break;
      }
      absorb();
      const auto now = Clock::now();
      std::uint64_t target = 0;
      if (now >= next_tick) {
        target = stitcher_.enqueued_total();
        next_tick = now + options_.flush_interval;
      }
      if (!flush_marks_.empty()) target = std::max(target, flush_marks_.back().second);
      deliver(target, std::nullopt);
      complete_flushes();
    }
    shutdown_path();
  }

  void shutdown_path() {
    Clock::time_point deadline;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      deadline = stop_deadline_;
    }
    absorb();
    stitcher_.close_session(now_unix_nano());
    deliver(stitcher_.enqueued_total(), deadline);
    const std::uint64_t lost = stitcher_.pending() + (inflight_ ? inflight_->entities : 0);
    if (lost != 0) {
      entities_lost_.fetch_add(lost, std::memory_order_relaxed);
      unreported_lost_.fetch_add(lost, std::memory_order_relaxed);
      detail_report("northstar sink closed with undelivered records", 0, "", lost);
      debug("closed with " + std::to_string(lost) + " undelivered records");
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      worker_done_ = true;
      flush_done_ = flush_requested_;
      backlog_.store(0, std::memory_order_relaxed);
    }
    done_cv_.notify_all();
  }

  // Moves queued records into the stitcher and records flush marks.
  void absorb() {
    std::uint64_t requested = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      spare_.swap(raw_);
      spare_dropped_.swap(dropped_starts_);
      requested = flush_requested_;
      flush_seen_ = requested;
    }
    for (const auto& key : spare_dropped_) stitcher_.note_dropped_span(key);
    spare_dropped_.clear();
    for (const auto& q : spare_) {
      try {
        stitcher_.process(detail::decode_record(q));
      } catch (const std::exception& e) {
        dagstack::logger::detail::report_sink_error(id_, "northstar record could not be stitched",
                                                    e.what());
      }
    }
    spare_.clear();
    if (requested > last_marked_) {
      flush_marks_.emplace_back(requested, stitcher_.enqueued_total());
      last_marked_ = requested;
    }
    outside_stitch_.store(stitcher_.outside_trace(), std::memory_order_relaxed);
    not_captured_.store(stitcher_.not_captured(), std::memory_order_relaxed);
    update_backlog();
  }

  void update_backlog() {
    backlog_.store(stitcher_.pending() + (inflight_ ? inflight_->entities : 0),
                   std::memory_order_relaxed);
  }

  void complete_flushes() {
    const bool idle = !inflight_ && stitcher_.pending() == 0;
    std::uint64_t done = 0;
    while (!flush_marks_.empty() && (idle || completed_total_ >= flush_marks_.front().second)) {
      done = flush_marks_.front().first;
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

  milliseconds backoff(int attempt, std::optional<milliseconds> retry_after) {
    const RetryPolicy& p = options_.retry;
    const http::BackoffPolicy policy{p.initial_backoff, p.max_backoff, p.multiplier, p.jitter,
                                     p.max_retry_after};
    std::uniform_real_distribution<double> u(0.0, 1.0);
    return http::backoff_delay(policy, attempt, retry_after, u(rng_));
  }

  // Sends batches until the stitcher FIFO is delivered up to `target` (and while a full batch is
  // waiting). Without a deadline it returns when a retry must wait (the main loop sleeps); with one
  // (shutdown) it sleeps through backoffs until the deadline.
  void deliver(std::uint64_t target, std::optional<Clock::time_point> deadline) {
    for (;;) {
      if (!deadline && closed_.load(std::memory_order_acquire))
        return;  // the shutdown path takes over
      if (!inflight_) {
        const bool want = completed_total_ < target || stitcher_.pending() >= options_.batch_size;
        if (!want || stitcher_.pending() == 0) return;
        auto batch = stitcher_.take_batch(options_.max_batch_records);
        if (!batch) return;
        taken_total_ += batch->entities;
        inflight_ = Inflight{std::move(batch->body), batch->entities, taken_total_, 0};
        update_backlog();
      }
      auto now = Clock::now();
      if (now < retry_at_) {
        if (!deadline || retry_at_ >= *deadline) return;
        std::this_thread::sleep_until(retry_at_);
        now = Clock::now();
      }
      if (deadline && now >= *deadline) return;
      milliseconds timeout = options_.request_timeout;
      if (deadline) {
        timeout = std::min(
            timeout,
            std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(*deadline - now)));
      }
      HttpRequest request;
      request.url = endpoint_;
      request.headers = {{"Authorization", auth_header_}, {"Content-Type", "application/json"}};
      request.body = inflight_->body;
      request.timeout = timeout;
      const HttpResponse response = transport_->post(request);
      requests_.fetch_add(1, std::memory_order_relaxed);

      const detail::ResponseOutcome outcome = detail::classify_response(response);

      if (outcome == detail::ResponseOutcome::kAccepted) {
        batches_delivered_.fetch_add(1, std::memory_order_relaxed);
        entities_delivered_.fetch_add(inflight_->entities, std::memory_order_relaxed);
        debug("sent batch of " + std::to_string(inflight_->entities) + " records");
        finish_inflight();
      } else if (outcome == detail::ResponseOutcome::kRetry) {
        ++inflight_->attempts;
        if (response.status != 0 && inflight_->attempts >= options_.retry.max_attempts) {
          dead_letter(response, "retries exhausted");
          finish_inflight();
        } else {
          retries_.fetch_add(1, std::memory_order_relaxed);
          const milliseconds delay = backoff(inflight_->attempts, response.retry_after);
          retry_at_ = Clock::now() + delay;
          debug("flush failed: " + describe(response) + "; retry " +
                std::to_string(inflight_->attempts) + " in " + std::to_string(delay.count()) +
                " ms");
        }
      } else {
        dead_letter(response, "rejected");
        finish_inflight();
      }
      if (!deadline) absorb();  // keep stitching (and honouring the queue cap) between batches
      complete_flushes();
    }
  }

  void finish_inflight() {
    completed_total_ = inflight_->end_position;
    inflight_.reset();
    retry_at_ = Clock::time_point{};
    update_backlog();
  }

  static std::string describe(const HttpResponse& r) {
    if (r.status == 0) return "network error: " + r.error;
    std::string body = r.body.size() > 500 ? r.body.substr(0, 500) + "..." : r.body;
    return "HTTP " + std::to_string(r.status) + " " + body;
  }

  void detail_report(std::string_view what, int status, std::string_view error,
                     std::uint64_t records) {
    dagstack::logger::detail::report_internal(
        kSeverityError, what,
        {{"sink.id", id_},
         {"http.status", status},
         {"error.message", error},
         {"northstar.records", static_cast<std::int64_t>(records)},
         {"northstar.dead_letter_path", options_.dead_letter_path}});
  }

  void dead_letter(const HttpResponse& response, std::string_view reason) {
    const std::size_t n = inflight_->entities;
    batches_rejected_.fetch_add(1, std::memory_order_relaxed);
    entities_rejected_.fetch_add(n, std::memory_order_relaxed);
    unreported_rejected_.fetch_add(n, std::memory_order_relaxed);
    const std::string error = response.status == 0 ? response.error : http::excerpt(response.body);
    detail_report(std::string("northstar batch ") + std::string(reason), response.status, error, n);
    debug("batch " + std::string(reason) + ": " + describe(response));
    if (options_.dead_letter_path.empty()) return;
    std::string line;
    line.reserve(inflight_->body.size() + 256);
    line.append("{\"time\":");
    append_json_string(detail::format_timestamp(now_unix_nano()), line);
    line.append(",\"status\":").append(std::to_string(response.status));
    line.append(",\"reason\":");
    append_json_string(reason, line);
    line.append(",\"error\":");
    append_json_string(error, line);
    line.append(",\"endpoint\":");
    append_json_string(endpoint_, line);
    line.append(",\"records\":").append(std::to_string(n));
    line.append(",\"payload\":").append(inflight_->body).append("}\n");
    std::ofstream out(options_.dead_letter_path, std::ios::app | std::ios::binary);
    out << line;
    out.flush();
    if (!out) {
      dead_letter_errors_.fetch_add(1, std::memory_order_relaxed);
      dagstack::logger::detail::report_sink_error(id_, "northstar dead-letter write failed",
                                                  options_.dead_letter_path);
    }
  }

  // ---- configuration ----
  const NorthStarOptions options_;
  const std::string endpoint_;
  const std::string session_id_;
  const std::string id_;
  const std::string auth_header_;
  const std::shared_ptr<HttpTransport> transport_;
  const bool debug_;
  const bool drop_outside_;

  // ---- shared between callers and the worker (guarded by mutex_) ----
  mutable std::mutex mutex_;
  std::condition_variable cv_;       // wakes the worker
  std::condition_variable done_cv_;  // wakes flush() callers
  std::vector<detail::QueuedRecord> raw_;
  std::vector<detail::SpanKey> dropped_starts_;
  bool stop_ = false;
  Clock::time_point stop_deadline_{};
  std::uint64_t flush_requested_ = 0;
  std::uint64_t flush_seen_ = 0;
  std::uint64_t flush_done_ = 0;
  bool worker_done_ = false;

  std::mutex close_mutex_;
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> backlog_{0};

  // ---- counters ----
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> outside_emit_{0};
  std::atomic<std::uint64_t> outside_stitch_{0};
  std::atomic<std::uint64_t> not_captured_{0};
  std::atomic<std::uint64_t> entities_delivered_{0};
  std::atomic<std::uint64_t> entities_rejected_{0};
  std::atomic<std::uint64_t> entities_lost_{0};
  std::atomic<std::uint64_t> batches_delivered_{0};
  std::atomic<std::uint64_t> batches_rejected_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> dead_letter_errors_{0};
  std::atomic<std::uint64_t> unreported_rejected_{0};
  std::atomic<std::uint64_t> unreported_dropped_{0};
  std::atomic<std::uint64_t> unreported_lost_{0};

  // ---- worker-only ----
  detail::Stitcher stitcher_;
  std::vector<detail::QueuedRecord> spare_;
  std::vector<detail::SpanKey> spare_dropped_;
  std::optional<Inflight> inflight_;
  Clock::time_point retry_at_{};
  std::uint64_t taken_total_ = 0;
  std::uint64_t completed_total_ = 0;
  std::deque<std::pair<std::uint64_t, std::uint64_t>>
      flush_marks_;  // (flush number, FIFO position)
  std::uint64_t last_marked_ = 0;
  std::mt19937_64 rng_;

  std::thread worker_;  // last: started once everything above exists
};

}  // namespace

std::shared_ptr<NorthStarSink> make_northstar_sink(NorthStarOptions options) {
  options.validate();
  if (!options.active()) {
    if (options.debug.value_or(false)) {
      std::fprintf(stderr, "[NorthStar] %s\n",
                   options.enabled.value_or(true)
                       ? "disabled because NORTHSTAR_API_KEY and NORTHSTAR_PROJECT_ID are required"
                       : "disabled by NORTHSTAR_ENABLED / enabled=false");
    }
    return std::make_shared<DisabledSink>();
  }
  PricingTable pricing = options.pricing_path.empty()
                             ? PricingTable::builtin()
                             : PricingTable::load_file(options.pricing_path);
  for (const auto& [model, price] : options.pricing_overrides) pricing.set(model, price);
  auto sink = std::make_shared<ActiveSink>(std::move(options), std::move(pricing));
  auto& reg = sink_registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  reg.sinks.erase(
      std::remove_if(reg.sinks.begin(), reg.sinks.end(), [](const auto& w) { return w.expired(); }),
      reg.sinks.end());
  reg.sinks.push_back(sink);
  return sink;
}

bool flush_all_northstar_sinks(milliseconds timeout) {
  std::vector<std::shared_ptr<NorthStarSink>> live;
  {
    auto& reg = sink_registry();
    std::lock_guard<std::mutex> lock(reg.mutex);
    for (const auto& w : reg.sinks) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  const auto deadline = Clock::now() + timeout;
  bool ok = true;
  for (const auto& s : live) {
    const auto left = std::max(milliseconds(1),
                               std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
    ok = s->flush(left).success && ok;
  }
  return ok;
}

std::size_t enabled_northstar_sink_count() noexcept {
  return g_enabled_sinks.load(std::memory_order_relaxed);
}

}  // namespace dagstack::logger::northstar

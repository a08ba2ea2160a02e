// northstar_sink.cpp: NorthStarSink: the caller-side queue, the worker thread that stitches and
// delivers batches (retries, backoff, splitting refused batches, dead letters, the disk outbox,
// flush marks, outage reports), the poster thread that bounds close(), and the disabled variant.
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
#include <unordered_set>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iterator>

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
// The poster: one thread that performs the HTTP requests, so that the worker can stop waiting for
// an answer when close() runs out of time (a black-hole endpoint). Shared with its thread, which
// outlives the sink when it is abandoned mid-request (it then ends with that request).
struct PostChannel {
  std::mutex mutex;
  std::condition_variable cv;
  std::shared_ptr<HttpTransport> transport;
  std::optional<HttpRequest> request;
  std::optional<HttpResponse> response;
  std::uint64_t generation = 0;  // the request whose answer is wanted
  bool busy = false;
  bool stop = false;
};

void poster_main(const std::shared_ptr<PostChannel>& ch) {
  std::unique_lock<std::mutex> lock(ch->mutex);
  for (;;) {
    ch->cv.wait(lock, [&] { return ch->stop || ch->request.has_value(); });
    if (ch->request) {
      HttpRequest request = std::move(*ch->request);
      ch->request.reset();
      const std::uint64_t generation = ch->generation;
      ch->busy = true;
      lock.unlock();
      HttpResponse response = ch->transport->post(request);
      lock.lock();
      ch->busy = false;
      if (generation == ch->generation) ch->response = std::move(response);
      ch->cv.notify_all();
      continue;
    }
    return;  // stop, nothing left to send
  }
}

constexpr std::size_t kMaxDroppedKeys = 4096;  // dropped span starts remembered by emit()
constexpr std::size_t kRecordOverhead = 96;    // bytes counted per queued record beyond its blob
constexpr std::size_t kMaxEchoedError = 2048;  // response text kept in reports and dead letters
constexpr std::size_t kStitchAll = SIZE_MAX;   // a stitch goal or count without limit

bool content_refusal(int status) { return status == 400 || status == 413 || status == 422; }

std::string capped(std::string_view text) {
  if (text.size() <= kMaxEchoedError) return std::string(text);
  return std::string(text.substr(0, kMaxEchoedError)) + "... (" + std::to_string(text.size()) +
         " bytes)";
}

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
        end_reserve_(options_.max_queue_bytes / 16),
        stitcher_(make_config(options_, session_id_, std::move(pricing))),
        rng_(std::random_device{}()) {
    raw_.reserve(std::clamp<std::size_t>(options_.batch_size * 2, 64, 4096));
    unstitched_.reserve(raw_.capacity());
    channel_ = std::make_shared<PostChannel>();
    channel_->transport = transport_;
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
    if (dagstack::logger::detail::is_internal_record(record)) {
      return;  // never ship (or loop on) the library's own diagnostics
    }
    if (drop_outside_ && !record.span_id.valid()) {
      outside_emit_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    detail::QueuedRecord q;
    detail::encode_record(record, q);
    const std::size_t bytes = q.blob.size() + kRecordOverhead;
    bool notify = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) return;
      if (!dropped_keys_.empty() &&
          dropped_keys_.count(detail::SpanKey{record.trace_id, record.span_id}) != 0) {
        // A record of a span whose start was dropped: the span will never be sent, so its end
        // and events would only take room (the reserve for ends among them).
        dropped_.fetch_add(1, std::memory_order_relaxed);
        unreported_dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      const std::size_t used = raw_bytes_ + worker_bytes_.load(std::memory_order_relaxed);
      const bool near_bytes = used + bytes > options_.max_queue_bytes - end_reserve_;
      const bool near_count =
          options_.max_queue_size != 0 &&
          raw_.size() + backlog_.load(std::memory_order_relaxed) >= options_.max_queue_size;
      if (near_bytes || near_count) {
        const AttrValue* ev = record.find_attribute("dagstack.span.event");
        const bool is_end =
            ev != nullptr && ev->kind() == AttrValue::Kind::kString && ev->as_string() == "end";
        // Span ends may use the reserve (so started runs and spans still finish), not more.
        if (!is_end || used + bytes > options_.max_queue_bytes) {
          if (ev != nullptr && ev->kind() == AttrValue::Kind::kString &&
              ev->as_string() == "start") {
            const detail::SpanKey key{record.trace_id, record.span_id};
            dropped_starts_.push_back(key);
            if (dropped_keys_.insert(key).second) {
              dropped_keys_order_.push_back(key);
              if (dropped_keys_order_.size() > kMaxDroppedKeys) {
                dropped_keys_.erase(dropped_keys_order_.front());
                dropped_keys_order_.pop_front();
              }
            }
          }
          dropped_.fetch_add(1, std::memory_order_relaxed);
          unreported_dropped_.fetch_add(1, std::memory_order_relaxed);
          notify = true;
        }
      }
      if (!notify) {
        const std::size_t wake_bytes = options_.max_queue_bytes / 4;
        notify = raw_bytes_ < wake_bytes && raw_bytes_ + bytes >= wake_bytes;
        raw_bytes_ += bytes;
        raw_.push_back(std::move(q));
        notify = notify || raw_.size() == options_.batch_size;
        if (notify) {
          cv_.notify_one();
        }
        accepted_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    report_drops();
  }

  FlushResult flush(milliseconds timeout) override {
    if (timeout.count() <= 0) return FlushResult::failed(id_, "timeout must be greater than zero");
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!worker_done_) {
        const std::uint64_t target = ++flush_requested_;
        cv_.notify_all();
        const auto began = Clock::now();
        if (!done_cv_.wait_for(lock, timeout, [&] { return flush_done_ >= target; })) {
          // A close() right after this (dagstack::logger::shutdown(), the exit path) shares the
          // budget instead of waiting for the same undeliverable batches again.
          const auto ended = Clock::now();
          last_flush_timeout_end_.store(ended.time_since_epoch().count(),
                                        std::memory_order_relaxed);
          last_flush_waited_.store((ended - began).count(), std::memory_order_relaxed);
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
    const auto now = Clock::now();
    Clock::duration budget = options_.shutdown_timeout;
    const Clock::time_point flush_end(
        Clock::duration(last_flush_timeout_end_.load(std::memory_order_relaxed)));
    if (flush_end.time_since_epoch().count() != 0 &&
        now - flush_end < std::chrono::milliseconds(250)) {
      // A flush() just timed out: it already spent part (or all) of the budget.
      budget -=
          std::min(budget, Clock::duration(last_flush_waited_.load(std::memory_order_relaxed)));
    }
    const auto deadline = now + budget;
    stop_deadline_ns_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
    closed_.store(true, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    {
      std::lock_guard<std::mutex> lock(channel_->mutex);  // the worker may wait for an answer
    }
    channel_->cv.notify_all();
    worker_.join();
    stop_poster();
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
    s.outbox_batches_stored = outbox_stored_.load(std::memory_order_relaxed);
    s.outbox_batches_replayed = outbox_replayed_.load(std::memory_order_relaxed);
    s.outbox_pending = outbox_pending_.load(std::memory_order_relaxed);
    s.outages = outages_.load(std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s.backlog = raw_.size() + backlog_.load(std::memory_order_relaxed);
      s.queued_bytes = raw_bytes_ + worker_bytes_.load(std::memory_order_relaxed);
    }
    return s;
  }

 private:
  // The batch being delivered: a live one taken from the stitcher, or an outbox file replayed.
  struct Current {
    detail::Batch batch;
    std::uint64_t end_position = 0;                // live: stitcher FIFO position just past it
    std::string claimed;                           // replay: the claimed outbox file (full path)
    std::uint64_t file_bytes = 0;                  // replay: its size
    std::deque<std::vector<std::uint32_t>> parts;  // primary subsets still to send; front first
    std::string body;                              // the body of parts.front() ("" = not built)
    int attempts = 0;
    bool replay() const { return !claimed.empty(); }
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

  // Reports drops on the internal channel: the first one, then at most once a second.
  void report_drops() {
    const auto now = Clock::now().time_since_epoch().count();
    auto last = last_drop_report_.load(std::memory_order_relaxed);
    constexpr std::int64_t kSecond =
        std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)).count();
    if (last != 0 && now - last < kSecond) return;
    if (!last_drop_report_.compare_exchange_strong(last, now)) return;
    const std::uint64_t n = dropped_.load(std::memory_order_relaxed);
    dagstack::logger::detail::report_internal(
        kSeverityWarn, "northstar queue full; dropping trace records",
        {{"sink.id", id_},
         {"northstar.dropped_total", static_cast<std::int64_t>(n)},
         {"northstar.max_queue_bytes", static_cast<std::int64_t>(options_.max_queue_bytes)}});
    debug("queue is full; dropping trace data (" + std::to_string(n) + " dropped)");
  }

  // Stops the poster thread: joined when idle, detached when abandoned mid-request (it then ends
  // when that request times out; it owns everything it uses).
  void stop_poster() {
    if (!poster_.joinable()) return;
    bool busy = false;
    {
      std::lock_guard<std::mutex> lock(channel_->mutex);
      channel_->stop = true;
      channel_->request.reset();
      busy = channel_->busy;
    }
    channel_->cv.notify_all();
    if (busy) {
      poster_.detach();
    } else {
      poster_.join();
    }
  }

  // ---- worker thread ----

  bool outbox_enabled() const { return !outbox_dir_.empty(); }

  void worker_main() {
    open_outbox();
    auto next_tick = Clock::now() + options_.flush_interval;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        auto wake = next_tick;
        if (cur_ && retry_at_ < wake) wake = retry_at_;
        const bool work_now = (!cur_ && !outbox_files_.empty()) || stitch_wanted();
        if (!work_now) {
          cv_.wait_until(lock, wake, [&] {
            return stop_ || raw_.size() >= options_.batch_size || flush_requested_ != flush_seen_ ||
                   raw_bytes_ >= options_.max_queue_bytes / 4;
          });
        }
        if (stop_) break;
      }
      absorb(stitch_goal());
      const auto now = Clock::now();
      if (now >= next_tick) {
        tick_target_ = stitcher_.enqueued_total();
        next_tick = now + options_.flush_interval;
      }
      deliver(std::nullopt);
      complete_flushes();
    }
    shutdown_path();
  }

  Clock::time_point stop_deadline() const {
    return Clock::time_point(Clock::duration(stop_deadline_ns_.load(std::memory_order_relaxed)));
  }

  void shutdown_path() {
    const Clock::time_point deadline = stop_deadline();
    absorb(kStitchAll);
    stitcher_.close_session(now_unix_nano());
    tick_target_ = stitcher_.enqueued_total();
    deliver(deadline);
    std::uint64_t stored = 0;
    std::uint64_t lost = 0;
    if (outbox_enabled()) {
      if (cur_ && cur_->replay()) {
        unclaim(*cur_);
      } else if (cur_) {
        const std::size_t n = remaining_entities(*cur_);
        if (spill_current("unsent at close"))
          stored += n;
        else
          lost += n;
      }
      cur_.reset();
      while (auto batch = stitcher_.take_batch(options_.max_batch_records)) {
        const std::size_t n = batch->entities;
        const std::string body = detail::batch_body(*batch, detail::primary_items(*batch));
        if (store_in_outbox(body, n)) {
          stored += n;
        } else {
          lost += n;
        }
      }
    } else {
      lost = stitcher_.pending() + (cur_ ? remaining_entities(*cur_) : 0);
    }
    if (stored != 0) {
      dagstack::logger::detail::report_internal(
          kSeverityWarn, "northstar sink closed; undelivered records stored in the outbox",
          {{"sink.id", id_},
           {"northstar.records", static_cast<std::int64_t>(stored)},
           {"northstar.outbox_dir", outbox_dir_}});
      debug("closed with " + std::to_string(stored) + " records stored in the outbox");
    }
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
      worker_bytes_.store(0, std::memory_order_relaxed);
    }
    done_cv_.notify_all();
  }

  // Takes what callers queued, then stitches it up to `goal` snapshots (take_queued, stitch).
  void absorb(std::size_t goal) {
    take_queued();
    stitch(goal, kStitchAll);
  }

  // Moves the callers' queue (records, dropped span starts, flush requests) to the worker. A new
  // flush request is noted with the count of records taken so far: its mark is recorded once
  // they are all stitched.
  void take_queued() {
    std::uint64_t requested = 0;
    std::size_t moved_bytes = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      taken_records_ += raw_.size();
      if (unstitched_next_ * 2 >= unstitched_.size()) {  // drop the stitched prefix
        unstitched_.erase(unstitched_.begin(),
                          unstitched_.begin() + static_cast<std::ptrdiff_t>(unstitched_next_));
        unstitched_next_ = 0;
      }
      if (unstitched_.empty()) {
        unstitched_.swap(raw_);  // raw_ keeps the capacity of the emptied vector
      } else {
        std::move(raw_.begin(), raw_.end(), std::back_inserter(unstitched_));
        raw_.clear();
      }
      spare_dropped_.swap(dropped_starts_);
      moved_bytes = raw_bytes_;  // what moves stays counted until it is stitched
      raw_bytes_ = 0;
      requested = flush_requested_;
      flush_seen_ = requested;
      worker_bytes_.fetch_add(moved_bytes, std::memory_order_relaxed);
    }
    unstitched_bytes_ += moved_bytes;
    for (const auto& key : spare_dropped_) stitcher_.note_dropped_span(key);
    spare_dropped_.clear();
    if (requested > last_noted_flush_) {
      pending_marks_.emplace_back(requested, taken_records_);
      last_noted_flush_ = requested;
    }
  }

  // Stitches taken records, oldest first, until the stitcher holds `goal` snapshots, `max`
  // records are stitched, or none is left. A flush's mark (its FIFO position) is recorded as soon
  // as every record taken before it was noted is stitched.
  void stitch(std::size_t goal, std::size_t max) {
    std::size_t done = 0;
    for (;;) {
      while (!pending_marks_.empty() && pending_marks_.front().second <= stitched_records_) {
        flush_marks_.emplace_back(pending_marks_.front().first, stitcher_.enqueued_total());
        pending_marks_.pop_front();
      }
      if (unstitched_next_ == unstitched_.size() || stitcher_.pending() >= goal || done == max) {
        break;
      }
      const detail::QueuedRecord& q = unstitched_[unstitched_next_];
      try {
        stitcher_.process(detail::decode_record(q));
      } catch (const std::exception& e) {
        dagstack::logger::detail::report_sink_error(id_, "northstar record could not be stitched",
                                                    dagstack::logger::detail::what_of(e));
      }
      unstitched_bytes_ -= std::min(unstitched_bytes_, q.blob.size() + kRecordOverhead);
      unstitched_[unstitched_next_] = detail::QueuedRecord{};  // its blob freed now
      ++unstitched_next_;
      ++stitched_records_;
      ++done;
    }
    outside_stitch_.store(stitcher_.outside_trace(), std::memory_order_relaxed);
    not_captured_.store(stitcher_.not_captured(), std::memory_order_relaxed);
    update_backlog();
  }

  // How many snapshots the worker stitches ahead of delivery: a batch's worth, so the first
  // batch leaves before the whole queue is stitched (the rest is stitched while it is in flight).
  // Everything during an outage (spill_if_needed weighs what is stitched) and at close.
  std::size_t stitch_goal() const {
    if (outage_ || closed_.load(std::memory_order_acquire)) return kStitchAll;
    return std::max(options_.batch_size, options_.max_batch_records);
  }

  // Taken records wait to be stitched and the stitcher holds less than stitch_goal().
  bool stitch_wanted() const {
    return unstitched_next_ != unstitched_.size() && stitcher_.pending() < stitch_goal();
  }

  // While a request is in flight: takes and stitches what callers queued, a chunk at a time,
  // until the answer arrives, nothing is left or close() begins. The batch in flight is already
  // serialised, and stitching does not depend on what the server accepts.
  void absorb_in_flight() {
    constexpr std::size_t kChunk = 64;  // records stitched between two looks at the answer
    while (!closed_.load(std::memory_order_acquire)) {
      take_queued();
      if (unstitched_next_ == unstitched_.size()) {
        stitch(kStitchAll, 0);  // records the marks of flushes requested with nothing left
        return;
      }
      stitch(kStitchAll, kChunk);
      std::lock_guard<std::mutex> lock(channel_->mutex);
      if (channel_->response) return;
    }
  }

  static std::size_t remaining_entities(const Current& c) {
    std::size_t n = 0;
    for (const auto& part : c.parts) n += part.size();
    return n;
  }

  void update_backlog() {
    backlog_.store(stitcher_.pending() + (cur_ ? remaining_entities(*cur_) : 0) +
                       (unstitched_.size() - unstitched_next_),
                   std::memory_order_relaxed);
    std::size_t bytes = stitcher_.pending_bytes() + unstitched_bytes_;
    if (cur_ && !cur_->replay()) bytes += cur_->batch.bytes;
    worker_bytes_.store(bytes, std::memory_order_relaxed);
    outbox_pending_.store(outbox_files_.size() + (cur_ && cur_->replay() ? 1 : 0),
                          std::memory_order_relaxed);
  }

  std::uint64_t current_target() const {
    std::uint64_t target = tick_target_;
    if (!flush_marks_.empty()) target = std::max(target, flush_marks_.back().second);
    return target;
  }

  void complete_flushes() {
    const bool outbox_clear = outbox_files_.empty() && !(cur_ && cur_->replay());
    const bool idle =
        !cur_ && stitcher_.pending() == 0 && unstitched_next_ == unstitched_.size() && outbox_clear;
    std::uint64_t done = 0;
    while (!flush_marks_.empty() &&
           (idle || (outbox_clear && completed_total_ >= flush_marks_.front().second))) {
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

  // Posts one request through the poster thread. Waits for the answer; once close() has begun,
  // only until its deadline: then the request is abandoned (`abandoned` set, status 0). Before
  // close(), what callers queue is stitched during the wait (absorb_in_flight).
  HttpResponse post(HttpRequest request, std::optional<Clock::time_point> deadline,
                    bool& abandoned) {
    if (!poster_.joinable()) poster_ = std::thread([ch = channel_] { poster_main(ch); });
    std::unique_lock<std::mutex> lock(channel_->mutex);
    channel_->response.reset();
    ++channel_->generation;
    channel_->request = std::move(request);
    channel_->cv.notify_all();
    if (!deadline) {
      lock.unlock();
      absorb_in_flight();
      lock.lock();
    }
    for (;;) {
      if (channel_->response) {
        HttpResponse r = std::move(*channel_->response);
        channel_->response.reset();
        return r;
      }
      std::optional<Clock::time_point> limit = deadline;
      if (!limit && closed_.load(std::memory_order_acquire)) limit = stop_deadline();
      if (limit) {
        if (Clock::now() >= *limit) {
          ++channel_->generation;  // its answer, if it ever comes, is ignored
          channel_->request.reset();
          abandoned = true;
          HttpResponse r;
          r.error = "request abandoned at close (shutdown_timeout)";
          return r;
        }
        channel_->cv.wait_until(lock, *limit);
      } else {
        channel_->cv.wait(lock);
      }
    }
  }

  // Takes the next batch to send: the oldest outbox file first, then the stitcher FIFO when
  // something is wanted. False when there is nothing to do now.
  bool next_batch() {
    while (!outbox_files_.empty()) {
      if (load_outbox_file()) return true;
    }
    const std::uint64_t target = current_target();
    const bool want = completed_total_ < target || stitcher_.pending() >= options_.batch_size;
    if (!want || stitcher_.pending() == 0) return false;
    auto batch = stitcher_.take_batch(options_.max_batch_records);
    if (!batch) return false;
    taken_total_ = stitcher_.enqueued_total() - stitcher_.pending();
    Current c;
    c.parts.push_back(detail::primary_items(*batch));
    c.batch = std::move(*batch);
    c.end_position = taken_total_;
    cur_ = std::move(c);
    update_backlog();
    return true;
  }

  // During an outage with an outbox, keeps memory at most half full by moving live batches to
  // disk (oldest first, after the batch being retried).
  void spill_if_needed() {
    if (!outbox_enabled() || !outage_) return;
    std::size_t live =
        stitcher_.pending_bytes() + (cur_ && !cur_->replay() ? cur_->batch.bytes : 0);
    if (live <= options_.max_queue_bytes / 2) return;
    if (cur_ && !cur_->replay()) {
      spill_current("outage: memory queue half full");
      cur_.reset();
      retry_at_ = Clock::time_point{};
    }
    while (stitcher_.pending_bytes() > options_.max_queue_bytes / 4) {
      auto batch = stitcher_.take_batch(options_.max_batch_records);
      if (!batch) break;
      const std::string body = detail::batch_body(*batch, detail::primary_items(*batch));
      if (!store_in_outbox(body, batch->entities)) {
        dead_letter_body(body, batch->entities, 0, "outbox full", "");
      }
      completed_total_ = stitcher_.enqueued_total() - stitcher_.pending();
      taken_total_ = completed_total_;
    }
    update_backlog();
  }

  // Sends batches until everything wanted (tick, flush marks, a full batch) is delivered, and
  // while outbox files wait. Without a deadline it returns when a retry must wait (the main loop
  // sleeps); with one (close) it sleeps through backoffs until the deadline.
  void deliver(std::optional<Clock::time_point> deadline) {
    for (;;) {
      if (!deadline && closed_.load(std::memory_order_acquire))
        return;  // the shutdown path takes over
      spill_if_needed();
      if (!cur_ && !next_batch()) return;
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
      Current& c = *cur_;
      if (c.body.empty()) c.body = detail::batch_body(c.batch, c.parts.front());
      HttpRequest request;
      request.url = endpoint_;
      request.headers = {{"Authorization", auth_header_}, {"Content-Type", "application/json"}};
      request.body = c.body;
      request.timeout = timeout;
      bool abandoned = false;
      const HttpResponse response = post(std::move(request), deadline, abandoned);
      requests_.fetch_add(1, std::memory_order_relaxed);
      if (abandoned) return;

      const detail::ResponseOutcome outcome = detail::classify_response(response);
      const std::size_t part_entities = c.parts.front().size();
      if (outcome == detail::ResponseOutcome::kAccepted) {
        on_success();
        batches_delivered_.fetch_add(1, std::memory_order_relaxed);
        entities_delivered_.fetch_add(part_entities, std::memory_order_relaxed);
        if (!c.replay()) detail::mark_delivered(c.batch, c.parts.front());
        debug("sent batch of " + std::to_string(part_entities) + " records");
        next_part();
      } else if (outcome == detail::ResponseOutcome::kRetry) {
        on_failure(response);
        ++c.attempts;
        const bool http = response.status != 0;
        if (c.attempts >= options_.retry.max_attempts && !c.replay() &&
            (http || outbox_enabled())) {
          if (outbox_enabled()) {
            spill_current("retries exhausted");
          } else {
            for (const auto& part : c.parts) {
              dead_letter_body(detail::batch_body(c.batch, part), part.size(), response.status,
                               "retries exhausted",
                               response.status == 0 ? response.error : response.body);
            }
          }
          finish_current();
        } else if (c.attempts >= options_.retry.max_attempts && c.replay() && http) {
          // A replayed batch the server keeps failing (a 5xx for its content, say) must not block
          // the outbox: isolate the record at fault as for a 400, then dead-letter it.
          if (part_entities > 1) {
            split_front_part();
          } else {
            dead_letter_body(c.body, part_entities, response.status, "retries exhausted",
                             response.body);
            next_part();
          }
        } else {
          retries_.fetch_add(1, std::memory_order_relaxed);
          milliseconds delay = backoff(std::min(c.attempts, 64), response.retry_after);
          if (!http) delay = std::min(delay, options_.retry.outage_probe_interval);
          retry_at_ = Clock::now() + delay;
          debug("flush failed: " + describe(response) + "; retry " + std::to_string(c.attempts) +
                " in " + std::to_string(delay.count()) + " ms");
        }
      } else if (content_refusal(response.status) && part_entities > 1) {
        // Refused for its content: split it to find the record(s) at fault.
        split_front_part();
        debug("batch refused (" + describe(response) + "); splitting it");
      } else {
        if (response.status != 401 && response.status != 403) on_success();  // the server answers
        dead_letter_body(c.body, part_entities, response.status, "rejected", response.body);
        next_part();
      }
      if (!deadline) absorb(stitch_goal());  // keep stitching (and honouring the queue cap)
      complete_flushes();
    }
  }

  // Replaces the front part by its two halves (sent next, in order).
  void split_front_part() {
    Current& c = *cur_;
    std::vector<std::uint32_t> part = std::move(c.parts.front());
    c.parts.pop_front();
    const auto half = static_cast<std::ptrdiff_t>(part.size() / 2);
    c.parts.emplace_front(part.begin() + half, part.end());
    c.parts.emplace_front(part.begin(), part.begin() + half);
    c.body.clear();
    c.attempts = 0;
    retry_at_ = Clock::time_point{};
  }

  // The front part is done (delivered or dead-lettered): moves to the next one, or finishes.
  void next_part() {
    Current& c = *cur_;
    c.parts.pop_front();
    c.body.clear();
    c.attempts = 0;
    retry_at_ = Clock::time_point{};
    if (c.parts.empty()) finish_current();
  }

  void finish_current() {
    Current& c = *cur_;
    if (c.replay()) {
      std::error_code ec;
      std::filesystem::remove(c.claimed, ec);
      outbox_bytes_ -= std::min<std::uint64_t>(outbox_bytes_, c.file_bytes);
      outbox_replayed_.fetch_add(1, std::memory_order_relaxed);
    } else {
      completed_total_ = std::max(completed_total_, c.end_position);
    }
    cur_.reset();
    retry_at_ = Clock::time_point{};
    update_backlog();
  }

  // ---- outage state ----

  void on_failure(const HttpResponse& response) {
    if (outage_) return;
    outage_ = true;
    outage_since_ = Clock::now();
    outages_.fetch_add(1, std::memory_order_relaxed);
    const std::string error = capped(response.status == 0 ? response.error : response.body);
    dagstack::logger::detail::report_internal(kSeverityWarn,
                                              "northstar endpoint unavailable; retrying",
                                              {{"sink.id", id_},
                                               {"http.status", response.status},
                                               {"error.message", error},
                                               {"northstar.outbox_dir", outbox_dir_}});
    debug("endpoint unavailable: " + describe(response));
  }

  void on_success() {
    if (!outage_) return;
    outage_ = false;
    const auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - outage_since_).count();
    dagstack::logger::detail::report_internal(
        kSeverityWarn, "northstar endpoint recovered",
        {{"sink.id", id_},
         {"northstar.outage_ms", static_cast<std::int64_t>(ms)},
         {"northstar.outbox_batches", static_cast<std::int64_t>(outbox_files_.size())}});
    debug("endpoint recovered after " + std::to_string(ms) + " ms");
  }

  // ---- outbox ----

  void open_outbox() {
    if (options_.outbox_dir.empty()) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(options_.outbox_dir, ec);
    if (ec || !fs::is_directory(options_.outbox_dir, ec)) {
      dagstack::logger::detail::report_sink_error(id_, "northstar outbox directory unusable",
                                                  options_.outbox_dir);
      return;
    }
    outbox_dir_ = options_.outbox_dir;
    std::vector<std::string> names;
    for (fs::directory_iterator it(outbox_dir_, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const auto claim = name.find(".claim-");
      if (claim != std::string::npos) {
        // Claimed by a process that is gone: take it back.
        const int pid = std::atoi(name.c_str() + claim + 7);
        if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) {
          std::error_code rc;
          fs::rename(it->path(), fs::path(outbox_dir_) / name.substr(0, claim), rc);
          if (!rc) names.push_back(name.substr(0, claim));
        }
        continue;
      }
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0 && name[0] != '.') {
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      std::error_code se;
      outbox_bytes_ += fs::file_size(fs::path(outbox_dir_) / n, se);
      outbox_files_.push_back(n);
    }
    if (!outbox_files_.empty()) {
      dagstack::logger::detail::report_internal(
          kSeverityWarn, "northstar outbox holds undelivered batches; replaying them",
          {{"sink.id", id_},
           {"northstar.outbox_batches", static_cast<std::int64_t>(outbox_files_.size())},
           {"northstar.outbox_dir", outbox_dir_}});
    }
    update_backlog();
  }

  // Writes one batch body as a new outbox file (write, fsync, rename). False when the outbox is
  // off, full or unwritable.
  bool store_in_outbox(const std::string& body, std::size_t records) {
    if (!outbox_enabled()) return false;
    if (outbox_bytes_ + body.size() > options_.outbox_max_bytes) return false;
    std::uint64_t stamp = now_unix_nano();
    if (stamp <= last_outbox_stamp_) stamp = last_outbox_stamp_ + 1;
    last_outbox_stamp_ = stamp;
    char name[96];
    std::snprintf(name, sizeof name, "%020llu-%d.json", static_cast<unsigned long long>(stamp),
                  static_cast<int>(::getpid()));
    const std::string final_path = outbox_dir_ + "/" + name;
    const std::string tmp_path = outbox_dir_ + "/." + name + ".tmp";
    const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    std::size_t off = 0;
    while (ok && off < body.size()) {
      const ssize_t n = ::write(fd, body.data() + off, body.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = false;
        break;
      }
      off += static_cast<std::size_t>(n);
    }
    if (ok) ok = ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (ok) ok = ::rename(tmp_path.c_str(), final_path.c_str()) == 0;
    if (!ok) {
      ::unlink(tmp_path.c_str());
      dagstack::logger::detail::report_sink_error(id_, "northstar outbox write failed", final_path);
      return false;
    }
    outbox_files_.emplace_back(name);
    outbox_bytes_ += body.size();
    outbox_stored_.fetch_add(1, std::memory_order_relaxed);
    debug("stored a batch of " + std::to_string(records) + " records in the outbox");
    return true;
  }

  // Stores what is left of the current (live) batch in the outbox, or dead-letters it.
  bool spill_current(std::string_view why) {
    Current& c = *cur_;
    std::vector<std::uint32_t> all;
    for (const auto& part : c.parts) all.insert(all.end(), part.begin(), part.end());
    const std::string body = detail::batch_body(c.batch, all);
    if (store_in_outbox(body, all.size())) {
      completed_total_ = std::max(completed_total_, c.end_position);
      return true;
    }
    dead_letter_body(body, all.size(), 0, std::string(why) + "; outbox full or unavailable", "");
    completed_total_ = std::max(completed_total_, c.end_position);
    return false;
  }

  // Claims the oldest outbox file (renames it to <name>.claim-<pid>) and makes it current.
  bool load_outbox_file() {
    const std::string name = outbox_files_.front();
    outbox_files_.pop_front();
    const std::string path = outbox_dir_ + "/" + name;
    const std::string claimed = path + ".claim-" + std::to_string(::getpid());
    if (::rename(path.c_str(), claimed.c_str()) != 0) return false;  // another process has it
    std::ifstream in(claimed, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Current c;
    c.claimed = claimed;
    c.file_bytes = body.size();
    try {
      c.batch = detail::parse_batch(body);
    } catch (const std::exception& e) {
      dead_letter_body(
          body, 0, 0,
          std::string("unreadable outbox file: ") + dagstack::logger::detail::what_of(e), name);
      std::error_code ec;
      std::filesystem::remove(claimed, ec);
      outbox_bytes_ -= std::min<std::uint64_t>(outbox_bytes_, body.size());
      return false;
    }
    if (c.batch.items.empty()) {
      std::error_code ec;
      std::filesystem::remove(claimed, ec);
      outbox_bytes_ -= std::min<std::uint64_t>(outbox_bytes_, body.size());
      return false;
    }
    c.parts.push_back(detail::primary_items(c.batch));
    cur_ = std::move(c);
    retry_at_ = Clock::time_point{};
    update_backlog();
    return true;
  }

  void unclaim(const Current& c) {
    const std::string original = c.claimed.substr(0, c.claimed.rfind(".claim-"));
    std::error_code ec;
    std::filesystem::rename(c.claimed, original, ec);
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
         {"error.message", capped(error)},
         {"northstar.records", static_cast<std::int64_t>(records)},
         {"northstar.dead_letter_path", options_.dead_letter_path}});
  }

  // Dead-letters one body of `n` records: counted, reported, and appended to dead_letter_path.
  void dead_letter_body(const std::string& body, std::size_t n, int status, std::string_view reason,
                        std::string_view error_text) {
    batches_rejected_.fetch_add(1, std::memory_order_relaxed);
    entities_rejected_.fetch_add(n, std::memory_order_relaxed);
    unreported_rejected_.fetch_add(n, std::memory_order_relaxed);
    const std::string error = capped(error_text);
    detail_report(std::string("northstar batch ") + std::string(reason), status, error, n);
    debug("batch " + std::string(reason) + ": HTTP " + std::to_string(status) + " " + error);
    if (options_.dead_letter_path.empty()) return;
    std::string line;
    line.reserve(body.size() + 256);
    line.append("{\"time\":");
    append_json_string(detail::format_timestamp(now_unix_nano()), line);
    line.append(",\"status\":").append(std::to_string(status));
    line.append(",\"reason\":");
    append_json_string(reason, line);
    line.append(",\"error\":");
    append_json_string(error, line);
    line.append(",\"endpoint\":");
    append_json_string(endpoint_, line);
    line.append(",\"records\":").append(std::to_string(n));
    line.append(",\"payload\":");
    if (body.empty() || (body.front() != '{' && body.front() != '[')) {
      append_json_string(body, line);
    } else {
      line.append(body);
    }
    line.append("}\n");
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
  const std::size_t end_reserve_;

  // ---- shared between callers and the worker (guarded by mutex_) ----
  mutable std::mutex mutex_;
  std::condition_variable cv_;       // wakes the worker
  std::condition_variable done_cv_;  // wakes flush() callers
  std::vector<detail::QueuedRecord> raw_;
  std::size_t raw_bytes_ = 0;
  std::vector<detail::SpanKey> dropped_starts_;
  std::unordered_set<detail::SpanKey, detail::SpanKeyHash> dropped_keys_;  // recent, bounded
  std::deque<detail::SpanKey> dropped_keys_order_;
  bool stop_ = false;
  std::uint64_t flush_requested_ = 0;
  std::uint64_t flush_seen_ = 0;
  std::uint64_t flush_done_ = 0;
  bool worker_done_ = false;

  std::mutex close_mutex_;
  std::atomic<bool> closed_{false};
  std::atomic<Clock::rep> stop_deadline_ns_{0};
  std::atomic<std::uint64_t> backlog_{0};
  std::atomic<std::size_t> worker_bytes_{0};
  std::atomic<Clock::rep> last_drop_report_{0};
  std::atomic<Clock::rep> last_flush_timeout_end_{0};  // when a flush() last timed out
  std::atomic<Clock::rep> last_flush_waited_{0};       // how long that flush() waited

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
  std::atomic<std::uint64_t> outbox_stored_{0};
  std::atomic<std::uint64_t> outbox_replayed_{0};
  std::atomic<std::uint64_t> outbox_pending_{0};
  std::atomic<std::uint64_t> outages_{0};
  std::atomic<std::uint64_t> unreported_rejected_{0};
  std::atomic<std::uint64_t> unreported_dropped_{0};
  std::atomic<std::uint64_t> unreported_lost_{0};

  // ---- worker-only ----
  detail::Stitcher stitcher_;
  std::vector<detail::QueuedRecord> unstitched_;  // taken from callers; stitched up to next_
  std::size_t unstitched_next_ = 0;
  std::size_t unstitched_bytes_ = 0;    // counted bytes of the records not yet stitched
  std::uint64_t taken_records_ = 0;     // records ever taken from callers
  std::uint64_t stitched_records_ = 0;  // of which stitched
  std::deque<std::pair<std::uint64_t, std::uint64_t>>
      pending_marks_;  // (flush number, records taken when it was noted), not yet stitched
  std::uint64_t last_noted_flush_ = 0;
  std::vector<detail::SpanKey> spare_dropped_;
  std::optional<Current> cur_;
  Clock::time_point retry_at_{};
  std::uint64_t taken_total_ = 0;
  std::uint64_t completed_total_ = 0;
  std::uint64_t tick_target_ = 0;
  std::deque<std::pair<std::uint64_t, std::uint64_t>>
      flush_marks_;  // (flush number, FIFO position)
  std::mt19937_64 rng_;
  bool outage_ = false;
  Clock::time_point outage_since_{};
  std::string outbox_dir_;                // "" = no outbox (none configured, or unusable)
  std::deque<std::string> outbox_files_;  // unclaimed file names, oldest first
  std::uint64_t outbox_bytes_ = 0;
  std::uint64_t last_outbox_stamp_ = 0;

  std::shared_ptr<PostChannel> channel_;
  std::thread poster_;
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

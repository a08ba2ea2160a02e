// stitcher.h (private): turns decoded records into NorthStar entities (session, runs, spans,
// events) and keeps the FIFO of snapshots waiting to be sent. Used by the sink's worker thread
// only (not thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "dagstack/logger/northstar/northstar_options.h"
#include "dagstack/logger/northstar/pricing.h"
#include "record_codec.h"

namespace dagstack::logger::northstar::detail {

struct StitchConfig {
  std::string session_id;
  std::string project;
  std::string environment;
  bool capture_inputs = true;
  bool capture_outputs = true;
  std::vector<std::string> redact_keys;  // lowercase; defaults included
  OutsideTracePolicy outside_trace = OutsideTracePolicy::kDrop;
  std::string default_run_name = "log";
  PricingTable pricing;
};

// One POST body and how many snapshots it carries.
struct Batch {
  std::string body;
  std::size_t entities = 0;
};

struct SessionEntity;
struct RunEntity;
struct SpanEntity;

class Stitcher {
 public:
  explicit Stitcher(StitchConfig config);
  ~Stitcher();
  Stitcher(const Stitcher&) = delete;
  Stitcher& operator=(const Stitcher&) = delete;

  // Applies one record (span start/end, typed event, metric, metadata, or plain log record).
  void process(const DecodedRecord& record);
  // A span start that emit() dropped (queue full): it and its descendants are ignored.
  void note_dropped_span(const SpanKey& key);
  // Ends the session (and the default run) at `now`; queues their final snapshots.
  void close_session(std::uint64_t now_unix_nano);

  // Snapshots waiting (each session/run/span at most once; events once each).
  std::size_t pending() const noexcept { return pending_.size(); }
  // Snapshots ever queued (a position counter: the FIFO's tail).
  std::uint64_t enqueued_total() const noexcept { return enqueued_total_; }
  // Removes up to `max` snapshots from the head and serialises them as one batch body; nullopt
  // when nothing is pending.
  std::optional<Batch> take_batch(std::size_t max);

  std::uint64_t outside_trace() const noexcept { return outside_trace_; }
  std::uint64_t not_captured() const noexcept { return not_captured_; }

 private:
  struct IndexEntry;
  struct ScoreJson {  // one entry of the `scores` array (northstar::log_score)
    std::string json;
  };
  using Pending = std::variant<std::shared_ptr<SessionEntity>, std::shared_ptr<RunEntity>,
                               std::shared_ptr<SpanEntity>, std::string, ScoreJson>;

  void on_start(const DecodedRecord& r);
  void on_end(const DecodedRecord& r);
  void on_record(const DecodedRecord& r);
  void ensure_session(std::uint64_t time);
  std::shared_ptr<RunEntity> default_run(std::uint64_t time);
  void enqueue(const std::shared_ptr<SessionEntity>& s);
  void enqueue(const std::shared_ptr<RunEntity>& r);
  void enqueue(const std::shared_ptr<SpanEntity>& s);
  void enqueue_event(std::string json);
  void mark_ended(const SpanKey& key);
  bool is_dropped(const SpanKey& key) const;
  void apply_model_usage(SpanEntity& span, const DecodedRecord& r, bool final);

  std::string serialize(const SessionEntity& s) const;
  std::string serialize(const RunEntity& r) const;
  std::string serialize(const SpanEntity& s) const;

  StitchConfig config_;
  std::shared_ptr<SessionEntity> session_;
  std::shared_ptr<RunEntity> default_run_;
  std::unordered_map<SpanKey, std::unique_ptr<IndexEntry>, SpanKeyHash> index_;
  std::deque<SpanKey> ended_order_;
  std::unordered_set<SpanKey, SpanKeyHash> dropped_;
  std::deque<SpanKey> dropped_order_;
  std::deque<Pending> pending_;
  std::uint64_t enqueued_total_ = 0;
  std::uint64_t outside_trace_ = 0;
  std::uint64_t not_captured_ = 0;
};

}  // namespace dagstack::logger::northstar::detail

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

// The row kinds of an ingest body, in the order the server processes its arrays.
enum class WireKind : std::uint8_t { kSession, kRun, kSpan, kEvent, kScore, kPromptLink };

// What every session, run and span snapshot shares: its place in the FIFO and whether the server
// has accepted a snapshot of it (then rows that reference it need not carry it again).
struct EntityState {
  bool queued = false;            // a snapshot of it waits in the FIFO
  bool delivered = false;         // some snapshot of it was in an accepted batch
  std::uint64_t batch_no = 0;     // the batch being built that already holds it
  std::uint32_t batch_index = 0;  // its item index in that batch
};

// One row of a batch.
struct WireItem {
  WireKind kind = WireKind::kEvent;
  std::string json;                    // the row, serialised
  std::vector<std::uint32_t> deps;     // items of the same batch this row references
  std::shared_ptr<EntityState> state;  // marked delivered on acceptance (nullptr for events)
  bool primary = true;  // false: a copy of a referenced row, added so the batch stands alone
};

// One POST's worth of rows: the FIFO items taken (primary) plus the current snapshot of every
// session, run and span they reference that the server is not known to have.
struct Batch {
  std::vector<WireItem> items;
  std::size_t entities = 0;  // primary items (the snapshots taken from the FIFO)
  std::size_t bytes = 0;     // sum of the rows' sizes
};

// The primary item indices of `batch` (all of them, in order).
std::vector<std::uint32_t> primary_items(const Batch& batch);
// The ingest body for the primary items `subset` of `batch` and every row they reference
// (transitively), each row once, with NUL characters replaced (see sanitize_body).
std::string batch_body(const Batch& batch, const std::vector<std::uint32_t>& subset);
// Makes a body acceptable to the real ingest path: PostgreSQL jsonb refuses the \u0000 escape,
// so every escaped NUL becomes U+FFFD (same length, in place). The canonical writer already
// replaces ill-formed UTF-8 (lone surrogates included) with U+FFFD.
void sanitize_body(std::string& body) noexcept;
// Rebuilds a Batch from a body (an outbox file): one primary item per row, references resolved
// by id within the body. Throws std::runtime_error when the body is not an ingest object.
Batch parse_batch(std::string_view body);
// Marks every row of `subset` (and the rows it references) as delivered.
void mark_delivered(const Batch& batch, const std::vector<std::uint32_t>& subset);

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
  // Approximate bytes of the pending snapshots (events exactly, entities estimated).
  std::size_t pending_bytes() const noexcept { return pending_bytes_; }
  // Removes up to `max` snapshots from the head and serialises them, with the rows they reference
  // that the server is not known to have; nullopt when nothing is pending.
  std::optional<Batch> take_batch(std::size_t max);

  std::uint64_t outside_trace() const noexcept { return outside_trace_; }
  std::uint64_t not_captured() const noexcept { return not_captured_; }

 private:
  struct IndexEntry;
  struct EventItem {
    std::string json;
    std::shared_ptr<RunEntity> run;
    std::shared_ptr<SpanEntity> span;  // nullptr: the event belongs to the run directly
  };
  struct ScoreJson {  // one entry of the `scores` array (northstar::log_score); names its run
    std::string json;
  };
  using Pending = std::variant<std::shared_ptr<SessionEntity>, std::shared_ptr<RunEntity>,
                               std::shared_ptr<SpanEntity>, EventItem, ScoreJson>;
  class BatchBuilder;

  void on_start(const DecodedRecord& r);
  void on_end(const DecodedRecord& r);
  void on_record(const DecodedRecord& r);
  void ensure_session(std::uint64_t time);
  std::shared_ptr<RunEntity> default_run(std::uint64_t time);
  void enqueue(const std::shared_ptr<SessionEntity>& s);
  void enqueue(const std::shared_ptr<RunEntity>& r);
  void enqueue(const std::shared_ptr<SpanEntity>& s);
  void enqueue_event(EventItem item);
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
  std::size_t pending_bytes_ = 0;
  std::uint64_t batch_no_ = 0;
  std::uint64_t outside_trace_ = 0;
  std::uint64_t not_captured_ = 0;
};

}  // namespace dagstack::logger::northstar::detail

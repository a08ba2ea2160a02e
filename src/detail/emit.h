// emit.h: the two halves of an emit shared by the synchronous and the deferred path: what the call
// site fixes (`CallSite`) and what turns it into a record for the sinks (finish_record()).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/source_location.h"
#include "dagstack/logger/trace_ids.h"

namespace dagstack::logger::detail {

struct Node;
struct Resolved;

// One baggage entry already selected by the settings' baggage_keys, in the context's order.
struct BaggageEntry {
  std::string_view key;
  std::string_view value;
};

// An fmt-style body not formatted yet: the format string and the call's arguments (views, valid
// for the call). The deferred path copies both and formats on the writer thread.
struct FormatCall {
  fmt::string_view format;
  fmt::format_args args;
};

// Everything an emit needs after the call site: the node (bound attributes), the configuration
// snapshot read at the call (redaction, resource, scope), the sinks chosen at the call (a scoped
// override or the node's), the time, the trace fields and the call's own data. Views only: valid
// for the duration of finish_record().
struct CallSite {
  const Node* node = nullptr;
  const Resolved* resolved = nullptr;
  const SinkList* sinks = nullptr;
  int severity = 0;
  std::uint64_t time_unix_nano = 0;  // a counter reading instead while `time_tsc` is set
  bool time_tsc = false;             // deferred path only: the writer converts (tsc_clock.h)
  AttrValue body;                    // unused while `format` is set
  const FormatCall* format = nullptr;
  AttributeSpan attrs;
  std::span<const BaggageEntry> baggage;
  const SourceLocation* loc = nullptr;  // set only when code locations are to be added
  bool has_span = false;
  TraceId trace_id;
  SpanId span_id;
  std::uint8_t trace_flags = 0;
  bool emergency = false;  // the crash handler: through Sink::emergency_emit(), best effort
};

// The sinks a thread has begun a batch on (Sink::begin_batch) since the last end(); set by the
// deferred writer around each pass so file sinks write once per pass, not once per record.
struct SinkBatch {
  std::vector<std::shared_ptr<Sink>> sinks;
  // Sinks that write behind (Sink::batch_ticket), with their ticket at end(), until settle().
  std::vector<std::pair<std::shared_ptr<Sink>, std::uint64_t>> handed;
  // begin_batch() on `s` the first time it is met; keeps it alive until end() (or settle()).
  void add(const std::shared_ptr<Sink>& s) {
    for (const auto& have : sinks) {
      if (have == s) return;
    }
    sinks.push_back(s);
    handed.reserve(sinks.size());  // so that end() does not allocate
    s->begin_batch();
  }
  // end_batch() on every sink met.
  void end() noexcept {
    for (auto& s : sinks) {
      s->end_batch();
      if (const std::uint64_t ticket = s->batch_ticket(); ticket != 0) {
        handed.emplace_back(std::move(s), ticket);
      }
    }
    sinks.clear();
  }
  // Returns once what the sinks write behind since end() has reached them.
  void settle() noexcept {
    for (const auto& [s, ticket] : handed) s->settle_batches(ticket);
    handed.clear();
  }
};
extern constinit thread_local SinkBatch* tl_sink_batch;

// Merges the call's attributes with the node's bound attributes, the baggage and the code
// location (first wins), redacts, builds the LogRecord and hands it to every sink of the call
// site. Never throws: a sink's exception is counted and reported.
void finish_record(const CallSite& site) noexcept;

// finish_record() for a call site whose attributes (`attrs`, the same as site.attrs) sit in
// scratch storage of the caller's: when nothing merges in (no bound attributes, baggage or code
// location, no repeated key) they are redacted in place instead of being copied first. The
// deferred writer's decoded entries.
void finish_record_in_place(const CallSite& site, std::span<Attribute> attrs) noexcept;

// The synchronous emit path; `explicit_ctx` set means only that context is consulted. With the
// deferred path running (deferred.h), the call site is queued for the writer instead. With
// `format` set, `body` is ignored: the body is formatted from it (by the writer, if queued).
void emit_record(const Node* node, bool use_context, int severity, const Context* explicit_ctx,
                 AttrValue body, AttributeSpan attrs, const SourceLocation* loc,
                 const FormatCall* format = nullptr);

}  // namespace dagstack::logger::detail

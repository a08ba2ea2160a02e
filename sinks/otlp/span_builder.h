// span_builder.h (private): rebuilds OTLP spans from the `dagstack.trace` span start/end
// records: a start record opens a span, the matching end record finishes it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dagstack/logger/log_record.h"
#include "otlp_encoder.h"

namespace dagstack::logger::otlp::detail {

// The marker attribute of a span that was still open at shutdown.
inline constexpr std::string_view kUnfinishedAttribute = "dagstack.span.unfinished";

// A finished span and the indexes of its resource and scope.
struct FinishedSpan {
  SpanData span;
  std::uint32_t resource = 0;
  std::uint32_t scope = 0;
};

// The OTLP kind of an operation.kind text: server, client, producer, consumer map to themselves,
// llm and http.client to CLIENT, everything else (internal, query, tool, ...) to INTERNAL.
SpanKind map_span_kind(std::string_view kind) noexcept;

// True for a record that carries dagstack.span.event = "start" or "end".
bool is_span_record(const LogRecord& record) noexcept;

// SpanBuilder
//
// Keeps the spans that started and have not ended yet. Thread-compatible (the sink's worker).
class SpanBuilder {
 public:
  // Processes one span record; returns the finished span for an end record (also when its
  // start was never seen: the start time is then derived from dagstack.span.duration_ns).
  std::optional<FinishedSpan> process(const OwnedLogRecord& record, std::uint32_t resource,
                                      std::uint32_t scope);
  // Ends every open span at `now_unix_nano` with status ERROR, the message "span not ended
  // before shutdown" and the attribute dagstack.span.unfinished = true.
  std::vector<FinishedSpan> close_open(std::uint64_t now_unix_nano);
  std::size_t open_count() const noexcept { return open_.size(); }

 private:
  using Key = std::array<std::uint8_t, 24>;
  struct Open {
    FinishedSpan span;  // start time, name, ids, kind, start attributes
  };
  static Key key_of(const OwnedLogRecord& record) noexcept;

  std::map<Key, Open> open_;
};

}  // namespace dagstack::logger::otlp::detail

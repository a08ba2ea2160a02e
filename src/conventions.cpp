// conventions.cpp: truncation helpers and the Progress reporter (contract §9).
#include "dagstack/logger/conventions.h"

#include <array>
#include <string>
#include <vector>

#include "dagstack/logger/context.h"

namespace dagstack::logger::conventions {
namespace {

bool is_continuation(char c) noexcept { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string gen_ai_prompt_role(std::size_t index) {
  return "gen_ai.prompt." + std::to_string(index) + ".role";
}

std::string gen_ai_prompt_content(std::size_t index) {
  return "gen_ai.prompt." + std::to_string(index) + ".content";
}

Truncated truncate(std::string_view value, std::size_t max_bytes) {
  Truncated out;
  out.original_bytes = value.size();
  if (value.size() <= max_bytes) {
    out.value = std::string(value);
    return out;
  }
  // value[cut] is the first byte left out; if it continues a character, that character started
  // earlier and is left out whole (a UTF-8 character has at most 3 continuation bytes).
  std::size_t cut = max_bytes;
  int back = 0;
  while (cut > 0 && back < 3 && is_continuation(value[cut])) {
    --cut;
    ++back;
  }
  if (is_continuation(value[cut])) cut = max_bytes;  // not UTF-8 here: cut the bytes as they are
  out.value = std::string(value.substr(0, cut));
  out.truncated = true;
  return out;
}

bool put_truncated(Value::Map& attrs, std::string_view key, std::string_view value,
                   std::size_t max_bytes) {
  Truncated t = truncate(value, max_bytes);
  attrs.insert_or_assign(std::string(key), Value(std::move(t.value)));
  if (!t.truncated) return false;
  attrs.insert_or_assign(std::string(key) + std::string(kTruncatedSuffix), Value(true));
  attrs.insert_or_assign(std::string(key) + std::string(kOriginalBytesSuffix),
                         Value(static_cast<std::int64_t>(t.original_bytes)));
  return true;
}

bool is_body_key(std::string_view key) noexcept {
  static constexpr std::array<std::string_view, 5> kBodies = {"content", "markdown", "code",
                                                              "table_json", "html"};
  for (std::string_view body : kBodies) {
    if (key == body) return true;
    if (key.size() > body.size() && ends_with(key, body) &&
        key[key.size() - body.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::size_t truncate_bodies(Value::Map& attrs, std::size_t max_bytes) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : attrs) {
    if (v.is_string() && v.as_string().size() > max_bytes && is_body_key(k)) keys.push_back(k);
  }
  for (const auto& k : keys) {
    const std::string original = attrs.find(k)->second.as_string();
    put_truncated(attrs, k, original, max_bytes);
  }
  return keys.size();
}

// ---- Progress -------------------------------------------------------------------------------

Progress::Progress(Logger logger, ProgressOptions options)
    : logger_(std::move(logger)), options_(std::move(options)) {
  if (!options_.now) options_.now = [] { return Clock::now(); };
  if (options_.operation_id.empty()) {
    const Context ctx = Context::current();
    if (ctx.has_span()) options_.operation_id = ctx.span_id().to_hex();
  }
}

void Progress::started(AttributeSpan attrs) {
  std::lock_guard<std::mutex> lock(mutex_);
  first_ = options_.now();
  last_current_ = 0;
  emit_locked(kSeverityInfo, kProgressStarted, 0, attrs);
}

bool Progress::progress(std::int64_t current, std::optional<std::int64_t> total,
                        std::string_view unit) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (total) options_.total = total;
  if (!unit.empty()) options_.unit = std::string(unit);
  last_current_ = current;
  const auto now = options_.now();
  if (!first_) first_ = now;
  if (last_tick_ && now - *last_tick_ < options_.min_interval) {
    ++dropped_ticks_;
    return false;
  }
  last_tick_ = now;
  ++emitted_ticks_;
  emit_locked(kSeverityDebug, kProgressTick, current, {});
  return true;
}

void Progress::completed(std::optional<std::int64_t> current, AttributeSpan attrs) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::int64_t value = last_current_;
  if (current) {
    value = *current;
  } else if (options_.total && last_current_ == 0) {
    value = *options_.total;
  }
  last_current_ = value;
  emit_locked(kSeverityInfo, kProgressCompleted, value, attrs);
}

void Progress::failed(std::string_view reason, AttributeSpan attrs) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Attribute> all(attrs.begin(), attrs.end());
  all.push_back({kOperationStatus, AttrValue(kStatusError)});
  if (!reason.empty()) all.push_back({kOperationStatusMessage, AttrValue(reason)});
  emit_locked(kSeverityError, kProgressFailed, last_current_, all);
}

std::size_t Progress::emitted_ticks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return emitted_ticks_;
}

std::size_t Progress::dropped_ticks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_ticks_;
}

void Progress::emit_locked(int severity, std::string_view event, std::int64_t current,
                           AttributeSpan extra) {
  if (!logger_.is_enabled(severity)) return;
  std::vector<Attribute> attrs(extra.begin(), extra.end());
  attrs.push_back({kEventDomain, AttrValue(kProgressDomain)});
  attrs.push_back({kEventName, AttrValue(event)});
  attrs.push_back({kProgressCurrent, current});
  attrs.push_back({kProgressUnit, AttrValue(options_.unit)});
  if (options_.total) attrs.push_back({kProgressTotal, *options_.total});
  if (!options_.phase.empty()) attrs.push_back({kProgressPhase, AttrValue(options_.phase)});
  if (!options_.operation_id.empty())
    attrs.push_back({kOperationId, AttrValue(options_.operation_id)});
  if (first_ && current > 0) {
    const double seconds = std::chrono::duration<double>(options_.now() - *first_).count();
    if (seconds > 0) {
      const double rate = static_cast<double>(current) / seconds;
      attrs.push_back({kProgressRate, rate});
      if (options_.total && *options_.total > current && rate > 0) {
        const double remaining = static_cast<double>(*options_.total - current);
        attrs.push_back({kProgressEtaMs, static_cast<std::int64_t>(remaining / rate * 1000.0)});
      }
    }
  }
  std::string body = "progress ";
  body += event;
  if (event == kProgressTick || event == kProgressCompleted) {
    body += ' ';
    body += std::to_string(current);
    if (options_.total) body += '/' + std::to_string(*options_.total);
    body += ' ';
    body += options_.unit;
  }
  logger_.log(severity, AttrValue(body), attrs);
}

}  // namespace dagstack::logger::conventions

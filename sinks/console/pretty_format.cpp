// pretty_format.cpp: the human console rendering of records (escaping, colours, compact spans).
#include "dagstack/logger/sinks/pretty_format.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "dagstack/logger/canonical_json.h"

namespace dagstack::logger {
namespace {

constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kDim = "\033[2m";
constexpr std::string_view kGreen = "\033[32m";
constexpr std::string_view kRed = "\033[31m";
constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kSpanEventKey = "dagstack.span.event";

std::string_view color_for(int severity) {
  switch ((clamp_severity(severity) - 1) / 4) {
    case 0: return "\033[2;37m";
    case 1: return "\033[36m";
    case 2: return "\033[32m";
    case 3: return "\033[33m";
    case 4: return "\033[31m";
    default: return "\033[1;31m";
  }
}

void append_byte_escape(unsigned char c, std::string& out) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

void append_code_point_escape(std::uint32_t cp, std::string& out) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(cp));
  out += buf;
}

// Code points (above U+007F) that a terminal treats as controls or that reorder text.
bool is_dangerous_code_point(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

// Length of the valid UTF-8 sequence at `s[i]` and its code point; 0 when invalid.
std::size_t decode_utf8(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  std::uint32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Appends `text` with terminal escaping; `quote` also escapes '"' and '\'.
void append_escaped(std::string_view text, bool quote, std::string& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '"':
        case '\\':
          if (quote) out += '\\';
          out += static_cast<char>(c);
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            append_byte_escape(c, out);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t len = decode_utf8(text, i, cp);
    if (len == 0) {
      append_byte_escape(c, out);
      ++i;
    } else if (is_dangerous_code_point(cp)) {
      append_code_point_escape(cp, out);
      i += len;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
}

bool needs_quotes(std::string_view s) {
  return s.empty() || s.find_first_of(" =\"") != std::string_view::npos;
}

void append_string_value(std::string_view s, std::string& out) {
  if (needs_quotes(s)) {
    out += '"';
    append_escaped(s, true, out);
    out += '"';
  } else {
    append_escaped(s, false, out);
  }
}

void append_value(const AttrValue& v, std::string& out) {
  switch (v.kind()) {
    case AttrValue::Kind::kNull: out += "null"; break;
    case AttrValue::Kind::kBool: out += v.as_bool() ? "true" : "false"; break;
    case AttrValue::Kind::kString: append_string_value(v.as_string(), out); break;
    default: {
      std::string json;
      append_canonical_json(v, json);
      append_escaped(json, false, out);
    }
  }
}

void append_timestamp(std::uint64_t unix_nano, std::string& out) {
  const auto secs = static_cast<std::time_t>(unix_nano / 1000000000ULL);
  const auto micros = static_cast<unsigned>((unix_nano % 1000000000ULL) / 1000ULL);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  out += buf;
}

void append_duration(std::int64_t ns, std::string& out) {
  char buf[32];
  if (ns < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(ns / 1000));
  } else if (ns < 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(ns) / 1e9);
  }
  out += buf;
}

class Painter {
 public:
  Painter(bool color, std::string& out) : color_(color), out_(out) {}
  void begin(std::string_view sgr) {
    if (color_) out_ += sgr;
  }
  void end() {
    if (color_) out_ += kReset;
  }

 private:
  bool color_;
  std::string& out_;
};

bool is_stacktrace_key(std::string_view key) {
  constexpr std::string_view kSuffix = "stacktrace";
  return key.size() >= kSuffix.size() && key.substr(key.size() - kSuffix.size()) == kSuffix;
}

// Keys a compact span line shows in its own fields.
bool is_span_bookkeeping_key(std::string_view key) {
  return key.starts_with("dagstack.span.") || key == "operation.name" || key == "operation.id" ||
         key == "operation.parent.id" || key == "operation.status" ||
         key == "operation.status.message" || key == "operation.duration_ms";
}

void append_short_id(std::string_view label, const char* hex, std::string& out) {
  out += label;
  out += '=';
  out.append(hex, 8);
}

}  // namespace

void append_terminal_safe(std::string_view text, std::string& out) {
  append_escaped(text, false, out);
}

bool console_colors_allowed() noexcept {
  const char* no_color = std::getenv("NO_COLOR");  // NOLINT(concurrency-mt-unsafe)
  if (no_color != nullptr && no_color[0] != '\0') return false;
  const char* term = std::getenv("TERM");  // NOLINT(concurrency-mt-unsafe)
  return term == nullptr || std::strcmp(term, "dumb") != 0;
}

bool format_pretty(const LogRecord& record, const PrettyOptions& options, std::string& out) {
  const AttrValue* span_event = record.find_attribute(kSpanEventKey);
  const bool span_line = options.spans == PrettySpans::kCompact && span_event != nullptr &&
                         span_event->kind() == AttrValue::Kind::kString;
  if (span_line && span_event->as_string() == "start") return false;

  Painter paint(options.color, out);
  paint.begin(kDim);
  append_timestamp(record.time_unix_nano, out);
  paint.end();
  out += " [";
  paint.begin(color_for(record.severity_number));
  const std::string_view level = record.severity_text();
  out += level;
  for (std::size_t n = level.size(); n < 5; ++n) out += ' ';
  paint.end();
  out += "] ";
  paint.begin(kDim);
  append_escaped(record.instrumentation_scope != nullptr
                     ? std::string_view(record.instrumentation_scope->name)
                     : std::string_view("root"),
                 false, out);
  paint.end();
  out += ": ";

  if (span_line) {
    out += "span ";
    const AttrValue* name = record.find_attribute("operation.name");
    append_value(name != nullptr ? *name : record.body, out);
    const AttrValue* status = record.find_attribute("operation.status");
    const bool failed = status != nullptr && status->kind() == AttrValue::Kind::kString &&
                        status->as_string() == "error";
    out += ' ';
    paint.begin(failed ? kRed : kGreen);
    append_value(status != nullptr ? *status : AttrValue("ok"), out);
    paint.end();
    if (const AttrValue* message = record.find_attribute("operation.status.message")) {
      out += ": ";
      append_value(*message, out);
    }
    if (const AttrValue* ns = record.find_attribute("dagstack.span.duration_ns");
        ns != nullptr && ns->kind() == AttrValue::Kind::kInt) {
      out += ' ';
      append_duration(ns->as_int(), out);
    }
  } else if (record.body.kind() == AttrValue::Kind::kString) {
    append_escaped(record.body.as_string(), false, out);
  } else {
    append_value(record.body, out);
  }

  std::vector<const Attribute*> sorted;
  std::vector<const Attribute*> traces;
  sorted.reserve(record.attributes.size());
  for (const auto& a : record.attributes) {
    if (span_line && (is_span_bookkeeping_key(a.key) ||
                      (a.key == "operation.kind" && a.value.kind() == AttrValue::Kind::kString &&
                       a.value.as_string() == "internal"))) {
      continue;
    }
    if (is_stacktrace_key(a.key) && a.value.kind() == AttrValue::Kind::kString) {
      traces.push_back(&a);
    } else {
      sorted.push_back(&a);
    }
  }
  const auto by_key = [](const Attribute* a, const Attribute* b) { return a->key < b->key; };
  std::sort(sorted.begin(), sorted.end(), by_key);
  std::sort(traces.begin(), traces.end(), by_key);
  if (!sorted.empty()) {
    out += ' ';
    paint.begin(kDim);
    out += '|';
    paint.end();
    for (const Attribute* a : sorted) {
      out += ' ';
      append_escaped(a->key, false, out);
      out += '=';
      append_value(a->value, out);
    }
  }
  if (record.trace_id.valid()) {
    char trace_hex[32];
    record.trace_id.to_hex(trace_hex);
    out += ' ';
    paint.begin(kDim);
    append_short_id("trace", trace_hex, out);
    if (record.span_id.valid()) {
      char span_hex[16];
      record.span_id.to_hex(span_hex);
      out += ' ';
      append_short_id("span", span_hex, out);
    }
    paint.end();
  }
  for (const Attribute* t : traces) {
    out += '\n';
    out += "    ";
    append_escaped(t->key, false, out);
    out += ':';
    std::string_view rest = t->value.as_string();
    while (!rest.empty()) {
      const std::size_t nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      out += "\n    ";
      append_escaped(line, false, out);
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
  }
  return true;
}

std::string format_pretty(const LogRecord& record) {
  std::string out;
  out.reserve(128);
  (void)format_pretty(record, PrettyOptions{}, out);
  return out;
}

}  // namespace dagstack::logger

// w3c.cpp: W3C traceparent / tracestate / baggage parsing and formatting, and the Context
// conversions for HTTP hops.
#include "dagstack/logger/w3c.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "detail/context_data.h"

namespace dagstack::logger {
namespace w3c {
namespace {

[[noreturn]] void fail(std::string_view header, const std::string& what) {
  throw std::invalid_argument(std::string(header) + ": " + what);
}

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

int lower_hex_nibble(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int any_hex_nibble(char c) noexcept {
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return lower_hex_nibble(c);
}

// A printable rendering of untrusted input for error messages (at most 64 bytes, controls and
// non-ASCII escaped).
std::string quote(std::string_view s) {
  std::string out = "'";
  const std::size_t n = std::min<std::size_t>(s.size(), 64);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kDigits[] = "0123456789abcdef";
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  if (s.size() > n) out += "...";
  out += "'";
  return out;
}

// Parses `field` as lowercase hex into `out` (size = field.size() / 2).
void parse_lower_hex(std::string_view field, std::uint8_t* out, const char* name) {
  for (std::size_t i = 0; i < field.size(); i += 2) {
    const int hi = lower_hex_nibble(field[i]);
    const int lo = lower_hex_nibble(field[i + 1]);
    if (hi < 0 || lo < 0) {
      const bool upper = any_hex_nibble(field[i]) >= 0 && any_hex_nibble(field[i + 1]) >= 0;
      fail("traceparent",
           std::string(name) +
               (upper ? " must be lowercase hex, got " : " contains non-hex characters: ") +
               quote(field));
    }
    out[i / 2] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
}

// ---- tracestate grammar -------------------------------------------------------------------

bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_key_char(char c) noexcept {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// simple-key = lcalpha 0*255(keychar); multi-tenant-key = tenant-id "@" system-id with
// tenant-id = (lcalpha / DIGIT) 0*240(keychar), system-id = lcalpha 0*13(keychar).
const char* tracestate_key_problem(std::string_view key) noexcept {
  if (key.empty()) return "empty key";
  const auto at = key.find('@');
  if (at == std::string_view::npos) {
    if (key.size() > 256) return "key longer than 256 characters";
    if (!is_lcalpha(key.front())) return "key must start with a lowercase letter";
    for (char c : key) {
      if (!is_key_char(c)) return "key contains a character outside [a-z0-9_*/-]";
    }
    return nullptr;
  }
  const std::string_view tenant = key.substr(0, at);
  const std::string_view system = key.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241) return "tenant id must be 1..241 characters";
  if (system.empty() || system.size() > 14) return "system id must be 1..14 characters";
  if (!is_lcalpha(tenant.front()) && !is_digit(tenant.front())) {
    return "tenant id must start with a lowercase letter or digit";
  }
  if (!is_lcalpha(system.front())) return "system id must start with a lowercase letter";
  for (char c : tenant) {
    if (!is_key_char(c)) return "tenant id contains a character outside [a-z0-9_*/-]";
  }
  for (char c : system) {
    if (!is_key_char(c)) return "system id contains a character outside [a-z0-9_*/-]";
  }
  return nullptr;
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E.
bool is_nblk_chr(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != ',' && c != '=';
}

const char* tracestate_value_problem(std::string_view value) noexcept {
  if (value.empty()) return "empty value";
  if (value.size() > 256) return "value longer than 256 characters";
  for (char c : value) {
    if (c != ' ' && !is_nblk_chr(c))
      return "value contains a character outside printable ASCII or ',' or '='";
  }
  if (value.back() == ' ') return "value ends with a space";
  return nullptr;
}

// ---- baggage grammar ----------------------------------------------------------------------

// token = 1*tchar (RFC 7230 §3.2.6).
bool is_tchar(char c) noexcept {
  if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
  }
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
bool is_baggage_octet(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != '"' && c != ',' && c != ';' && c != '\\';
}

std::string percent_decode(std::string_view raw, std::string_view key) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (!is_baggage_octet(c)) {
      fail("baggage", "value of " + quote(key) +
                          " contains a forbidden character (whitespace, '\"', "
                          "',', ';', '\\\\' or non-ASCII must be percent-encoded): " +
                          quote(raw));
    }
    if (c != '%') {
      out += c;
      continue;
    }
    const int hi = i + 1 < raw.size() ? any_hex_nibble(raw[i + 1]) : -1;
    const int lo = i + 2 < raw.size() ? any_hex_nibble(raw[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      fail("baggage", "value of " + quote(key) + " has a malformed percent escape: " + quote(raw));
    }
    out += static_cast<char>((hi << 4) | lo);
    i += 2;
  }
  return out;
}

void percent_encode(std::string_view value, std::string& out) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (char c : value) {
    if (is_baggage_octet(c) && c != '%') {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kDigits[u >> 4];
      out += kDigits[u & 15];
    }
  }
}

// property = key OWS "=" OWS value / key OWS; validates one property (raw, not decoded).
void check_property(std::string_view prop, std::string_view key) {
  prop = trim_ows(prop);
  const auto eq = prop.find('=');
  const std::string_view pkey = trim_ows(prop.substr(0, eq));
  if (!is_token(pkey)) {
    fail("baggage", "property of " + quote(key) + " has a key that is not a token: " + quote(prop));
  }
  if (eq != std::string_view::npos) {
    const std::string_view pvalue = trim_ows(prop.substr(eq + 1));
    for (char c : pvalue) {
      if (!is_baggage_octet(c)) {
        fail("baggage", "property of " + quote(key) + " has a forbidden character: " + quote(prop));
      }
    }
  }
}

// Splits on `sep` (no quoting exists in these grammars).
template <typename Fn>
void for_each_part(std::string_view s, char sep, Fn&& fn) {
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    fn(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
}

}  // namespace

// ---- traceparent ----------------------------------------------------------------------------

TraceParent parse_traceparent(std::string_view header) {
  const std::string_view s = trim_ows(header);
  if (s.empty()) fail("traceparent", "empty header");
  if (s.size() < 55) {
    fail("traceparent", "must be 55 characters (version-traceid-parentid-flags), got " +
                            std::to_string(s.size()) + ": " + quote(s));
  }
  TraceParent tp;
  parse_lower_hex(s.substr(0, 2), &tp.version, "version");
  if (tp.version == 0xff) fail("traceparent", "version ff is invalid");
  if (tp.version == 0x00 && s.size() != 55) {
    fail("traceparent",
         "version 00 must be exactly 55 characters, got " + std::to_string(s.size()));
  }
  if (tp.version != 0x00 && s.size() > 55 && s[55] != '-') {
    fail("traceparent", "fields after the flags must start with '-'");
  }
  if (s[2] != '-' || s[35] != '-' || s[52] != '-') {
    fail("traceparent", "fields must be separated by '-' at positions 2, 35 and 52: " + quote(s));
  }
  parse_lower_hex(s.substr(3, 32), tp.trace_id.bytes.data(), "trace-id");
  parse_lower_hex(s.substr(36, 16), tp.parent_id.bytes.data(), "parent-id");
  parse_lower_hex(s.substr(53, 2), &tp.trace_flags, "trace-flags");
  if (!tp.trace_id.valid()) fail("traceparent", "trace-id must not be all zeros");
  if (!tp.parent_id.valid()) fail("traceparent", "parent-id must not be all zeros");
  return tp;
}

std::string format_traceparent(const TraceId& trace_id, const SpanId& span_id,
                               std::uint8_t trace_flags) {
  if (!trace_id.valid()) throw std::invalid_argument("traceparent: trace-id must not be all zeros");
  if (!span_id.valid()) throw std::invalid_argument("traceparent: parent-id must not be all zeros");
  std::string out(55, '-');
  out[0] = '0';
  out[1] = '0';
  trace_id.to_hex(out.data() + 3);
  span_id.to_hex(out.data() + 36);
  static constexpr char kDigits[] = "0123456789abcdef";
  out[53] = kDigits[trace_flags >> 4];
  out[54] = kDigits[trace_flags & 15];
  return out;
}

std::string format_traceparent(const TraceParent& tp) {
  return format_traceparent(tp.trace_id, tp.parent_id, tp.trace_flags);
}

// ---- tracestate -----------------------------------------------------------------------------

TraceState parse_tracestate(std::string_view header) {
  if (header.size() > kMaxTraceStateLength) {
    fail("tracestate", "longer than " + std::to_string(kMaxTraceStateLength) + " characters (" +
                           std::to_string(header.size()) + ")");
  }
  TraceState state;
  for_each_part(header, ',', [&](std::string_view raw) {
    const std::string_view member = trim_ows(raw);
    if (member.empty()) return;  // empty and whitespace-only members are allowed
    if (state.size() == kMaxTraceStateMembers) {
      fail("tracestate", "more than " + std::to_string(kMaxTraceStateMembers) + " list members");
    }
    const auto eq = member.find('=');
    if (eq == std::string_view::npos) fail("tracestate", "member without '=': " + quote(member));
    const std::string_view key = member.substr(0, eq);
    const std::string_view value = member.substr(eq + 1);
    if (const char* p = tracestate_key_problem(key))
      fail("tracestate", std::string(p) + ": " + quote(member));
    if (const char* p = tracestate_value_problem(value))
      fail("tracestate", std::string(p) + ": " + quote(member));
    for (const auto& e : state) {
      if (e.key == key) fail("tracestate", "duplicate key " + quote(key));
    }
    state.push_back({std::string(key), std::string(value)});
  });
  return state;
}

std::string format_tracestate(const TraceState& state) {
  if (state.size() > kMaxTraceStateMembers) {
    fail("tracestate", "more than " + std::to_string(kMaxTraceStateMembers) + " list members");
  }
  std::string out;
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto& e = state[i];
    if (const char* p = tracestate_key_problem(e.key))
      fail("tracestate", std::string(p) + ": " + quote(e.key));
    if (const char* p = tracestate_value_problem(e.value))
      fail("tracestate", std::string(p) + ": " + quote(e.value));
    for (std::size_t j = 0; j < i; ++j) {
      if (state[j].key == e.key) fail("tracestate", "duplicate key " + quote(e.key));
    }
    if (i > 0) out += ',';
    out += e.key;
    out += '=';
    out += e.value;
  }
  if (out.size() > kMaxTraceStateLength) {
    fail("tracestate", "longer than " + std::to_string(kMaxTraceStateLength) + " characters (" +
                           std::to_string(out.size()) + ")");
  }
  return out;
}

// ---- baggage --------------------------------------------------------------------------------

namespace {
// Parses one trimmed, non-empty member into `out` (a repeated key keeps its last value).
// Throws std::invalid_argument when the member is invalid, leaving `out` unchanged.
void add_baggage_member(std::string_view member, Baggage& out);
}  // namespace

Baggage parse_baggage(std::string_view header) {
  if (header.size() > kMaxBaggageBytes) {
    fail("baggage", "longer than " + std::to_string(kMaxBaggageBytes) + " bytes (" +
                        std::to_string(header.size()) + ")");
  }
  Baggage out;
  if (trim_ows(header).empty()) return out;
  std::size_t members = 0;
  for_each_part(header, ',', [&](std::string_view raw) {
    const std::string_view member = trim_ows(raw);
    if (member.empty()) fail("baggage", "empty list member");
    if (++members > kMaxBaggageMembers) {
      fail("baggage", "more than " + std::to_string(kMaxBaggageMembers) + " list members");
    }
    add_baggage_member(member, out);
  });
  return out;
}

Baggage parse_baggage_lenient(std::string_view header) {
  Baggage out;
  std::size_t bytes = 0;
  for_each_part(header, ',', [&](std::string_view raw) {
    bytes += raw.size() + 1;
    if (bytes > kMaxBaggageBytes + 1 || out.size() == kMaxBaggageMembers) return;
    const std::string_view member = trim_ows(raw);
    if (member.empty()) return;
    try {
      add_baggage_member(member, out);
    } catch (const std::invalid_argument&) {
      // An invalid member is dropped on its own; the valid ones are kept.
    }
  });
  return out;
}

namespace {
void add_baggage_member(std::string_view member, Baggage& out) {
  const auto semi = member.find(';');
  const std::string_view kv = trim_ows(member.substr(0, semi));
  const std::string_view metadata =
      semi == std::string_view::npos ? std::string_view{} : trim_ows(member.substr(semi + 1));
  const auto eq = kv.find('=');
  if (eq == std::string_view::npos) fail("baggage", "member without '=': " + quote(member));
  const std::string_view key = trim_ows(kv.substr(0, eq));
  if (!is_token(key)) fail("baggage", "key is not a token: " + quote(key));
  std::string value = percent_decode(trim_ows(kv.substr(eq + 1)), key);
  if (semi != std::string_view::npos) {
    for_each_part(metadata, ';', [&](std::string_view prop) { check_property(prop, key); });
  }
  auto it =
      std::find_if(out.begin(), out.end(), [&](const BaggageEntry& e) { return e.key == key; });
  if (it != out.end()) {
    it->value = std::move(value);
    it->metadata = std::string(metadata);
  } else {
    out.push_back({std::string(key), std::move(value), std::string(metadata)});
  }
}
}  // namespace

namespace {
// Appends one member; throws std::invalid_argument (appending nothing) when it is invalid.
void append_baggage_member(const BaggageEntry& e, std::string& out) {
  if (!is_token(e.key)) fail("baggage", "key is not a token: " + quote(e.key));
  if (!e.metadata.empty()) {
    for_each_part(e.metadata, ';', [&](std::string_view prop) { check_property(prop, e.key); });
  }
  out += e.key;
  out += '=';
  percent_encode(e.value, out);
  if (!e.metadata.empty()) {
    out += ';';
    out += e.metadata;
  }
}
}  // namespace

std::string format_baggage(const Baggage& baggage) {
  if (baggage.size() > kMaxBaggageMembers) {
    fail("baggage", "more than " + std::to_string(kMaxBaggageMembers) + " list members");
  }
  std::string out;
  for (const auto& e : baggage) {
    if (!out.empty()) out += ',';
    append_baggage_member(e, out);
  }
  if (out.size() > kMaxBaggageBytes) {
    fail("baggage", "longer than " + std::to_string(kMaxBaggageBytes) + " bytes (" +
                        std::to_string(out.size()) + ")");
  }
  return out;
}

}  // namespace w3c

Context from_w3c_headers(std::string_view traceparent, std::string_view tracestate,
                         std::string_view baggage) {
  auto data = std::make_shared<detail::ContextData>();
  try {
    const w3c::TraceParent tp = w3c::parse_traceparent(traceparent);
    data->trace_id = tp.trace_id;
    data->span_id = tp.parent_id;
    data->trace_flags = tp.trace_flags;
    try {
      data->trace_state = w3c::format_tracestate(w3c::parse_tracestate(tracestate));
    } catch (const std::invalid_argument&) {
      // An invalid tracestate is dropped on its own; the traceparent still counts.
    }
  } catch (const std::invalid_argument&) {
    // No valid traceparent: no span, and the tracestate has nothing to belong to.
  }
  for (auto& e : w3c::parse_baggage_lenient(baggage)) {
    if (!e.metadata.empty()) data->baggage_properties.push_back({e.key, e.value, e.metadata});
    data->baggage.emplace_back(std::move(e.key), std::move(e.value));
  }
  if (!data->has_span() && data->baggage.empty()) return Context();
  return Context(std::move(data));
}

W3CHeaders inject_w3c_headers(const Context& ctx) {
  W3CHeaders h;
  if (ctx.has_span()) {
    h.traceparent = w3c::format_traceparent(ctx.trace_id(), ctx.span_id(), ctx.trace_flags());
    h.tracestate = ctx.trace_state();
  }
  std::size_t members = 0;
  std::string member;
  for (const auto& [key, value] : ctx.baggage()) {
    if (!w3c::is_token(key)) continue;
    if (members == w3c::kMaxBaggageMembers) break;
    member.clear();
    std::string metadata;
    if (const detail::ContextData* d = ctx.data()) {
      for (const auto& p : d->baggage_properties) {
        if (p.key == key && p.value == value) metadata = p.metadata;
      }
    }
    try {
      w3c::append_baggage_member({key, value, std::move(metadata)}, member);
    } catch (const std::invalid_argument&) {
      continue;
    }
    const std::size_t needed = member.size() + (h.baggage.empty() ? 0 : 1);
    if (h.baggage.size() + needed > w3c::kMaxBaggageBytes) continue;  // a smaller one may still fit
    if (!h.baggage.empty()) h.baggage += ',';
    h.baggage += member;
    ++members;
  }
  return h;
}

}  // namespace dagstack::logger

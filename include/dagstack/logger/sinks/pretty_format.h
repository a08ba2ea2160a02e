// pretty_format.h: declares `PrettyOptions` and `format_pretty()`, the human console rendering.
#pragma once

#include <string>

#include "dagstack/logger/log_record.h"

namespace dagstack::logger {

// How span start/end records are shown in pretty mode.
enum class PrettySpans {
  kCompact,  // start records hidden; the end record is one line: name, status, duration, ids
  kFull,     // both records shown as ordinary lines
};

// Options of the pretty rendering.
struct PrettyOptions {
  bool color = true;                          // default true: ANSI SGR colours (never other CSIs)
  PrettySpans spans = PrettySpans::kCompact;  // default compact span lines
};

// Renders `record` as one human line (no trailing newline) into `out` (appended) and returns
// true; returns false and appends nothing for a record that is not shown (a span start in
// compact mode). Every control character of the body, scope, keys and values (C0, DEL, C1,
// U+2028/U+2029, bidi overrides and isolates) and every invalid UTF-8 byte is escaped, so one
// record is one line and logged text never reaches the terminal as a control sequence. The one
// exception is `exception.stacktrace`, written as extra lines each indented by four spaces
// (escaped the same way), so a line starting in column 0 always starts a record.
bool format_pretty(const LogRecord& record, const PrettyOptions& options, std::string& out);

// The same with colours on and compact spans; returns the line ("" for a hidden record).
std::string format_pretty(const LogRecord& record);

// True when colours should be used on a terminal: `NO_COLOR` unset or empty and `TERM` not
// "dumb" (read from the environment at the call).
bool console_colors_allowed() noexcept;

// Appends `text` escaped for a terminal (see format_pretty) to `out`.
void append_terminal_safe(std::string_view text, std::string& out);

}  // namespace dagstack::logger

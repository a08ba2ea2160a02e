// console_sink.h: declares `ConsoleSinkOptions` and `make_console_sink()`, the terminal sink.
#pragma once

#include <cstdio>
#include <memory>
#include <ostream>

#include "dagstack/logger/severity.h"
#include "dagstack/logger/sink.h"
#include "dagstack/logger/sinks/pretty_format.h"

namespace dagstack::logger {

enum class ConsoleMode {
  kAuto,    // pretty when the stream is a terminal, JSON-lines otherwise
  kJson,    // dagstack JSON-lines, one record per line
  kPretty,  // one coloured human line per record (never parsed)
};

// Whether pretty mode colours its output.
enum class ConsoleColor {
  kAuto,    // colours unless NO_COLOR is set (non-empty) or TERM=dumb
  kAlways,  // colours whatever the environment says
  kNever,   // plain text
};

struct ConsoleSinkOptions {
  ConsoleMode mode = ConsoleMode::kAuto;      // default auto
  std::FILE* stream = stderr;                 // default stderr; ignored when `ostream` is set
  std::ostream* ostream = nullptr;            // default none; a non-file stream is never a TTY
  int min_severity = kSeverityTrace;          // default 1: everything the logger lets through
  ConsoleColor color = ConsoleColor::kAuto;   // default auto (NO_COLOR, TERM=dumb honoured)
  PrettySpans spans = PrettySpans::kCompact;  // default: one line per span, at its end
};

// A console sink with id "console:<mode>" (auto, json or pretty). Each record is written and
// flushed under the sink's lock; the stream is never closed. Thread-safe.
std::shared_ptr<Sink> make_console_sink(const ConsoleSinkOptions& options = {});

}  // namespace dagstack::logger

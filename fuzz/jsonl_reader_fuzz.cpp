// jsonl_reader_fuzz.cpp: libFuzzer target for the dagstack JSON-lines reader.
//
// Any input either throws std::invalid_argument or parses; a parsed record re-encodes to a line
// that parses again and re-encodes to the same bytes (encode is a fixed point after one parse).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/jsonl_reader.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b = {}) {
  std::fprintf(stderr, "jsonl_reader_fuzz: %s\n%s\n%s\n", what, a.c_str(), b.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dagstack::logger;  // NOLINT(google-build-using-namespace)
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  OwnedLogRecord record;
  try {
    record = parse_jsonl_record(line);
  } catch (const std::invalid_argument&) {
    return 0;  // rejected with a message: fine
  }
  const std::string first = to_jsonl(record);
  OwnedLogRecord again;
  try {
    again = parse_jsonl_record(first);
  } catch (const std::invalid_argument& e) {
    fail("re-encoded record rejected", first, e.what());
  }
  const std::string second = to_jsonl(again);
  if (second != first) fail("encode(parse(encode(x))) differs from encode(x)", first, second);
  if (again.severity_number != record.severity_number ||
      again.time_unix_nano != record.time_unix_nano || again.trace_id != record.trace_id ||
      again.span_id != record.span_id || again.trace_flags != record.trace_flags ||
      !(again.body == record.body) || again.attributes != record.attributes) {
    fail("record fields changed across a round trip", first);
  }
  return 0;
}

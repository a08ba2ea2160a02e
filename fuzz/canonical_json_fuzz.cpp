// canonical_json_fuzz.cpp: libFuzzer target for the canonical JSON encoder.
//
// The input is read as a tiny program that builds a Value tree (any strings, including ill-formed
// UTF-8, any doubles, including NaN and infinities). The tree is encoded, and the output must be
// valid JSON whose own canonical encoding is itself. The raw bytes are also encoded as one string,
// and the tree goes into a record that must round-trip through the JSON-lines reader.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/jsonl_reader.h"

namespace {

using dagstack::logger::Value;

constexpr int kMaxDepth = 12;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "canonical_json_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t byte() { return empty() ? 0 : data_[pos_++]; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  std::string bytes(std::size_t n) {
    n = std::min(n, size_ - std::min(pos_, size_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

Value build(ByteReader& r, int depth) {
  if (r.empty()) return Value();
  const std::uint8_t op = r.byte();
  switch (op % 9) {
    case 0:
      return Value();
    case 1:
      return Value((op & 0x10) != 0);
    case 2:
      return Value(static_cast<std::int64_t>(r.u64()));
    case 3: {
      const std::uint64_t bits = r.u64();
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return Value(d);
    }
    case 4:
      return Value(static_cast<double>(static_cast<std::int8_t>(r.byte())) / 8.0);
    case 5:
      return Value(static_cast<std::int64_t>(static_cast<std::int8_t>(r.byte())));
    case 6:
      return Value(r.bytes(r.byte() % 48));
    case 7: {
      Value::Array a;
      const int n = depth < kMaxDepth ? r.byte() % 8 : 0;
      for (int i = 0; i < n && !r.empty(); ++i) a.push_back(build(r, depth + 1));
      return Value(std::move(a));
    }
    default: {
      Value::Map m;
      const int n = depth < kMaxDepth ? r.byte() % 8 : 0;
      for (int i = 0; i < n && !r.empty(); ++i) {
        std::string key = r.bytes(r.byte() % 16);
        m.insert_or_assign(std::move(key), build(r, depth + 1));
      }
      return Value(std::move(m));
    }
  }
}

// `text` must be valid JSON whose canonical encoding is itself. Checked through the library's
// reader (exact number conversion, strict UTF-8, duplicate keys collapse and so show up as a
// difference): `text` becomes the body of a record line, which must round-trip byte for byte.
void check_fixed_point(const std::string& text) {
  const std::string line = R"({"body":)" + text +
                           R"(,"instrumentation_scope":{"name":"f"},"severity_number":9,)"
                           R"("severity_text":"INFO","time_unix_nano":0})";
  std::string again;
  try {
    again = dagstack::logger::to_jsonl(dagstack::logger::parse_jsonl_record(line));
  } catch (const std::invalid_argument& e) {
    fail("canonical output does not parse", line + "\n" + e.what());
  }
  if (again != line) fail("canonical output is not a fixed point", line + "\n" + again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dagstack::logger;  // NOLINT(google-build-using-namespace)

  // 1. A Value tree built from the bytes.
  ByteReader reader(data, size);
  const Value v = build(reader, 0);
  std::string out;
  const bool finite = append_canonical_json(v, out);
  try {
    if (to_canonical_json(v) != out) fail("to_canonical_json differs from append", out);
    if (!finite) fail("to_canonical_json accepted a non-finite number", out);
  } catch (const std::invalid_argument&) {
    if (finite) fail("to_canonical_json threw on a finite tree", out);
  }
  check_fixed_point(out);

  // 2. The raw bytes as one string value, and key-order sanity on two halves of them.
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  std::string quoted;
  append_json_string(raw, quoted);
  check_fixed_point(quoted);
  const std::string_view a = raw.substr(0, size / 2);
  const std::string_view b = raw.substr(size / 2);
  if (utf16_less(a, b) && utf16_less(b, a)) fail("utf16_less is not antisymmetric", quoted);
  if (utf16_less(a, a)) fail("utf16_less is not irreflexive", quoted);

  // 3. Inside a record: the body is the tree, the attributes are the tree's map entries (if any).
  std::vector<Attribute> attrs;
  if (v.is_map()) {
    for (const auto& [key, value] : v.as_map()) attrs.push_back({key, AttrValue(value)});
  }
  const InstrumentationScope scope{"fuzz", "", {}};
  LogRecord record;
  record.time_unix_nano = size;
  record.severity_number = static_cast<int>(size % 30);  // out-of-range numbers get clamped
  record.body = AttrValue(v);
  record.attributes = attrs;
  record.instrumentation_scope = &scope;
  std::string line;
  const bool record_finite = append_jsonl_record(record, line);
  if (record_finite != finite) fail("record and value disagree on finiteness", line);
  check_fixed_point(line);
  try {
    if (to_jsonl(parse_jsonl_record(line)) != line) fail("record does not round-trip", line);
  } catch (const std::invalid_argument& e) {
    fail("reader rejected an encoded record", line + "\n" + e.what());
  }
  return 0;
}

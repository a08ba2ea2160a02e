// deferred.cpp: the deferred caller path (deferred.h): per-thread rings filled by log calls, and
// the writer thread that merges them by time and finishes each record (deferred_path.h).
#include "dagstack/logger/deferred.h"

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/args.h>

#include "dagstack/logger/config_error.h"
#include "deferred/byte_ring.h"
#include "deferred/deferred_path.h"
#include "deferred/tsc_clock.h"
#include "detail/internal_channel.h"
#include "detail/node.h"
#include "detail/reclaim.h"

namespace dagstack::logger {
namespace detail {

std::atomic<bool> g_deferred_running{false};
std::atomic<bool> g_deferred_tsc{false};
constinit thread_local bool tl_deferred_writer = false;

namespace {

constexpr std::size_t kMinRingBytes = 4 * 1024;
constexpr std::size_t kMaxRingBytes = 64u * 1024 * 1024;
constexpr std::size_t kPassRecords = 512;  // records per pass: one sink batch, then publish
constexpr auto kParkAfter = std::chrono::milliseconds(100);
constexpr auto kParkedPoll = std::chrono::milliseconds(50);
// A logging thread wakes a sleeping writer each time it has committed a step of its ring while
// that much is waiting (a burst starts the writer early, not at its next poll): 1/kWakeSteps of
// the ring, at most kMaxWakeStep (~450 reference records), so that a large ring does not hold
// the writer back longer (a 2 MiB ring: 0.4 ms of a burst of 4096 records with the writer idle).
constexpr std::size_t kWakeSteps = 8;
constexpr std::size_t kMaxWakeStep = 64 * 1024;
inline std::size_t wake_step(const ByteRing& ring) noexcept {
  return std::min(ring.capacity() / kWakeSteps, kMaxWakeStep);
}
// The writer's sleep while records keep coming (writer_nap()): short enough that no ring fills
// half a wake step meanwhile, because a logging thread that has to wake a sleeping writer pays a
// system call and a cross-core wake-up (5-20 us on a VM) on its own call. Never below kMinNap.
constexpr auto kMinNap = std::chrono::microseconds(50);
constexpr std::uint64_t kSmoothNs = 1000000;  // counter times: the largest step back smoothed

// A counter with one writing thread: a plain load and store, no read-modify-write.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// One logging thread's ring and counters. The producer counters are written by that thread only,
// `written` by the writer only.
struct ThreadRing {
  explicit ThreadRing(std::size_t capacity) : ring(capacity) {}
  ByteRing ring;
  std::atomic<bool> orphaned{false};  // the thread ended; released once empty
  std::atomic<std::uint64_t> enqueued{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> blocked{0};
  std::atomic<std::uint64_t> writer_wakes{0};
  std::atomic<std::uint64_t> synchronous{0};
  std::atomic<std::uint64_t> large{0};
  std::atomic<std::uint64_t> errors{0};
  alignas(64) std::atomic<std::uint64_t> written{0};  // the writer's own line
  std::uint64_t nap_mark = 0;  // the writer's: ring.consumed() when it last went to sleep
};

struct Decoded;

// Rings, the writer and the counters of released rings. Leaked on purpose: threads may log
// during static destruction.
struct State {
  std::mutex rings_mutex;
  std::vector<ThreadRing*> rings;  // guarded by rings_mutex
  std::atomic<std::uint64_t> rings_version{0};
  DeferredStats released;           // counters of released rings; guarded by rings_mutex
  std::uint64_t rings_created = 0;  // guarded by rings_mutex

  std::mutex control_mutex;  // start/stop
  std::mutex mutex;          // the writer's sleep and the flush waits
  std::condition_variable wake_cv;
  std::condition_variable done_cv;
  bool wake = false;              // guarded by mutex
  std::atomic<bool> stop{false};  // written under mutex
  std::chrono::steady_clock::time_point stop_deadline;
  std::thread thread;
  std::atomic<int> flush_waiters{0};
  std::chrono::microseconds max_delay{1000};
  std::atomic<bool> crash_parked{false};
  Decoded* crash_decoded = nullptr;  // reserved by start_deferred() for the crash drain
  TscCalibration tsc;                // calibrated by start_deferred(); resynced by the writer
  // Read by every call, written only by start/stop: a line of their own.
  alignas(64) std::atomic<std::size_t> ring_bytes{64 * 1024};
  std::atomic<bool> drop_when_full{false};
  std::atomic<bool> alive{false};       // the writer thread exists
  std::atomic<bool> crash_stop{false};  // read by the writer between records
  // Read by every call, written when the writer goes to sleep and wakes.
  alignas(64) std::atomic<bool> parked{false};  // sleeping long: the next record wakes it
  // Written by the writer for every record.
  alignas(64) std::atomic<const EntryHeader*> current{nullptr};  // being finished (crash drain)
  std::atomic<std::uint64_t> formatted{0};
  alignas(64) bool atexit_registered = false;  // guarded by control_mutex
};

State& state() noexcept {
  static State* s = new State();
  return *s;
}

// Frees a thread's ring reference when the thread ends (the writer releases the ring).
constinit thread_local ThreadRing* tl_ring = nullptr;
struct RingOwner {
  ThreadRing* ring = nullptr;
  ~RingOwner() {
    if (ring != nullptr) ring->orphaned.store(true, std::memory_order_release);
    tl_ring = nullptr;
  }
};

ThreadRing* acquire_ring() noexcept {
  State& s = state();
  std::size_t bytes = s.ring_bytes.load(std::memory_order_relaxed);
  auto* r = new (std::nothrow) ThreadRing(bytes);
  if (r == nullptr) return nullptr;
  try {
    std::lock_guard<std::mutex> lock(s.rings_mutex);
    s.rings.push_back(r);
    ++s.rings_created;
    s.rings_version.fetch_add(1, std::memory_order_release);
  } catch (...) {
    delete r;
    return nullptr;
  }
  static thread_local RingOwner owner;
  owner.ring = r;
  tl_ring = r;
  return r;
}

void wake_writer() noexcept {
  State& s = state();
  try {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.wake = true;
  } catch (...) {
  }
  s.wake_cv.notify_one();
}

// ---- encoding ----

// The fixed part of a queued call site.
struct SiteHead {
  const Node* node;
  const Resolved* resolved;
  const SinkList* sinks;
  std::int32_t severity;
  std::uint32_t n_attrs;
  std::uint32_t n_baggage;
  std::uint8_t trace_flags;
  std::uint8_t flags;
};
static_assert(std::is_trivially_copyable_v<SiteHead>);
// Follows the head when kHasSpan is set; a SourceLocation follows when kHasLoc is set.
struct SiteTrace {
  TraceId trace_id;
  SpanId span_id;
};
static_assert(sizeof(SiteTrace) == 24 && sizeof(SourceLocation) == 24);
constexpr std::uint8_t kHasSpan = 1;
constexpr std::uint8_t kHasLoc = 2;
constexpr std::uint8_t kOwnsSinks = 4;
constexpr std::uint8_t kOwnsNode = 8;
constexpr std::uint8_t kHasFormat = 16;  // the body is a format string and its arguments

using SinksRef = std::shared_ptr<const SinkList>;
using NodeRef = std::shared_ptr<const Node>;

// Or'ed into EntryHeader::kind: the header's time is a counter reading (tsc_clock.h).
constexpr std::uint32_t kTimeTsc = 0x100;
constexpr std::uint32_t kKindMask = 0xff;

constexpr std::size_t round8(std::size_t n) noexcept { return (n + 7) & ~std::size_t{7}; }
// Entry sizes are multiples of the header's 16 bytes, so the padding before a wrap always holds
// a whole header.
constexpr std::size_t round16(std::size_t n) noexcept { return (n + 15) & ~std::size_t{15}; }
constexpr std::size_t kHeadBytes = round8(sizeof(SiteHead));

// Bytes of an encoded value by kind (null, bool, int, double, string without its text, nested
// value pointer, uint), in AttrValue::Kind order.
constexpr std::uint8_t kValueBytes[] = {1, 2, 9, 9, 5, 9, 9};
static_assert(static_cast<int>(AttrValue::Kind::kNull) == 0 &&
              static_cast<int>(AttrValue::Kind::kString) == 4 &&
              static_cast<int>(AttrValue::Kind::kUint) == 6);

inline std::size_t value_bytes(const AttrValue& v) noexcept {
  const auto kind = v.kind();
  return kValueBytes[static_cast<std::size_t>(kind)] +
         (kind == AttrValue::Kind::kString ? v.as_string().size() : 0);
}

// A cursor writing unaligned fields (the fmt arguments; the call site has write_value()).
struct Out {
  std::byte* p;
  template <typename T>
  void put(const T& v) noexcept {
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  }
  void put_string(std::string_view s) noexcept {
    put(static_cast<std::uint32_t>(s.size()));
    copy_bytes(p, s.data(), s.size());
    p += s.size();
  }
  // Short copies (most keys and values) with fixed-size moves instead of a call to memcpy.
  [[gnu::always_inline]] static void copy_bytes(std::byte* to, const char* from,
                                                std::size_t n) noexcept {
    if (n >= 8 && n <= 16) {
      std::memcpy(to, from, 8);
      std::memcpy(to + n - 8, from + n - 8, 8);
    } else if (n > 16 && n <= 32) {
      std::memcpy(to, from, 16);
      std::memcpy(to + n - 16, from + n - 16, 16);
    } else if (n >= 4 && n < 8) {
      std::memcpy(to, from, 4);
      std::memcpy(to + n - 4, from + n - 4, 4);
    } else if (n != 0) {
      std::memcpy(to, from, n);
    }
  }
};

// A cursor reading what Out wrote.
struct In {
  const std::byte* p;
  template <typename T>
  T get() noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
  std::string_view get_string() noexcept {
    const auto n = get<std::uint32_t>();
    const std::string_view s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
  [[gnu::always_inline]] AttrValue get_value(std::vector<Value*>& owned) noexcept {
    switch (static_cast<AttrValue::Kind>(get<std::uint8_t>())) {
      case AttrValue::Kind::kNull: return AttrValue();
      case AttrValue::Kind::kBool: return AttrValue(get<std::uint8_t>() != 0);
      case AttrValue::Kind::kInt: return AttrValue(get<std::int64_t>());
      case AttrValue::Kind::kUint: return AttrValue(get<std::uint64_t>());
      case AttrValue::Kind::kDouble: return AttrValue(get<double>());
      case AttrValue::Kind::kString: return AttrValue(get_string());
      case AttrValue::Kind::kValue: {
        Value* v = get<Value*>();
        owned.push_back(v);
        return AttrValue(*v);
      }
    }
    return AttrValue();
  }
};

// ---- fmt arguments ----

enum FmtTag : std::uint8_t {
  kFmtInt = 1,
  kFmtUint,
  kFmtBool,
  kFmtChar,
  kFmtFloat,
  kFmtDouble,
  kFmtLongDouble,
  kFmtString,
  kFmtPointer,
};
constexpr std::size_t kNotCopyable = ~std::size_t{0};

// Sizes (and, with `out`, writes) one fmt argument: a tag and its value; kNotCopyable for a type
// with its own formatter, a 128-bit integer or a null C string (the caller formats those).
struct FmtArgCopy {
  Out* out;
  template <typename V>
  std::size_t scalar(std::uint8_t tag, const V& v) noexcept {
    if (out != nullptr) {
      out->put(tag);
      out->put(v);
    }
    return 1 + sizeof(V);
  }
  std::size_t text(std::string_view v) noexcept {
    if (out != nullptr) {
      out->put(static_cast<std::uint8_t>(kFmtString));
      out->put_string(v);
    }
    return 1 + 4 + v.size();
  }
  template <typename T>
  std::size_t operator()(T v) noexcept {
    if constexpr (std::is_same_v<T, bool>) {
      return scalar(kFmtBool, static_cast<std::uint8_t>(v ? 1 : 0));
    } else if constexpr (std::is_same_v<T, char>) {
      return scalar(kFmtChar, v);
    } else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, long long>) {
      return scalar(kFmtInt, static_cast<long long>(v));
    } else if constexpr (std::is_same_v<T, unsigned> || std::is_same_v<T, unsigned long long>) {
      return scalar(kFmtUint, static_cast<unsigned long long>(v));
    } else if constexpr (std::is_same_v<T, float>) {
      return scalar(kFmtFloat, v);
    } else if constexpr (std::is_same_v<T, double>) {
      return scalar(kFmtDouble, v);
    } else if constexpr (std::is_same_v<T, long double>) {
      return scalar(kFmtLongDouble, v);
    } else if constexpr (std::is_same_v<T, const char*>) {
      return v == nullptr ? kNotCopyable : text(v);
    } else if constexpr (std::is_same_v<T, fmt::string_view>) {
      return text(std::string_view(v.data(), v.size()));
    } else if constexpr (std::is_same_v<T, const void*>) {
      return scalar(kFmtPointer, v);
    } else {
      return kNotCopyable;
    }
  }
};

// The bytes of a format call (its format string, the argument count, the arguments), or
// kNotCopyable.
std::size_t format_bytes(const FormatCall& f, Out* out) noexcept {
  std::size_t n = 4 + f.format.size() + 4;
  std::uint32_t count = 0;
  while (f.args.get(static_cast<int>(count))) ++count;
  if (out != nullptr) {
    out->put_string(std::string_view(f.format.data(), f.format.size()));
    out->put(count);
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t a = fmt::visit_format_arg(FmtArgCopy{out}, f.args.get(static_cast<int>(i)));
    if (a == kNotCopyable) return kNotCopyable;
    n += a;
  }
  return n;
}

// The heap copies of a call's nested values, made before anything is reserved. Reused per thread.
struct NestedCopies {
  std::vector<Value*> values;
  ~NestedCopies() { release(); }
  void release() noexcept {
    for (Value* v : values) delete v;
    values.clear();
  }
  // False (nothing kept) when a copy could not be made.
  bool copy(const AttrValue& v) noexcept {
    if (v.kind() != AttrValue::Kind::kValue) return true;
    try {
      values.push_back(nullptr);
      values.back() = new Value(v.as_value());
      return true;
    } catch (...) {
      if (!values.empty() && values.back() == nullptr) values.pop_back();
      release();
      return false;
    }
  }
};

}  // namespace

bool deferrable_format_args(fmt::format_args args) noexcept {
  for (int i = 0;; ++i) {
    const auto arg = args.get(i);
    if (!arg) return true;
    if (fmt::visit_format_arg(FmtArgCopy{nullptr}, arg) == kNotCopyable) return false;
  }
}

namespace {

// The writers of the variable part. The output never aliases the call's data (`restrict`), so
// the compiler keeps the cursor and the attribute fields in registers across the stores.
[[gnu::always_inline]] inline std::byte* write_string(std::byte* __restrict p,
                                                      std::string_view v) noexcept {
  const auto n = static_cast<std::uint32_t>(v.size());
  std::memcpy(p, &n, sizeof n);
  Out::copy_bytes(p + sizeof n, v.data(), n);
  return p + sizeof n + n;
}

[[gnu::always_inline]] inline std::byte* write_value(std::byte* __restrict p, const AttrValue& v,
                                                     Value* const*& owned) noexcept {
  const AttrValue::Kind kind = v.kind();
  *p = static_cast<std::byte>(kind);
  switch (kind) {
    case AttrValue::Kind::kNull: return p + 1;
    case AttrValue::Kind::kBool: p[1] = static_cast<std::byte>(v.as_bool() ? 1 : 0); return p + 2;
    case AttrValue::Kind::kInt: {
      const std::int64_t x = v.as_int();
      std::memcpy(p + 1, &x, 8);
      return p + 9;
    }
    case AttrValue::Kind::kUint: {
      const std::uint64_t x = v.as_uint();
      std::memcpy(p + 1, &x, 8);
      return p + 9;
    }
    case AttrValue::Kind::kDouble: {
      const double x = v.as_double();
      std::memcpy(p + 1, &x, 8);
      return p + 9;
    }
    case AttrValue::Kind::kString: return write_string(p + 1, v.as_string());
    case AttrValue::Kind::kValue: {
      Value* x = *owned++;
      std::memcpy(p + 1, &x, sizeof x);
      return p + 1 + sizeof x;
    }
  }
  return p + 1;
}

[[gnu::noinline]] std::byte* write_attributes(std::byte* __restrict p,
                                              const Attribute* __restrict attrs, std::size_t n,
                                              Value* const* owned) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    p = write_string(p, attrs[i].key);
    p = write_value(p, attrs[i].value, owned);
  }
  return p;
}

// The entry's bytes but the attributes (and before rounding).
std::size_t site_head_bytes(const CallSite& site, bool owns_sinks, bool owns_node) noexcept {
  std::size_t n = sizeof(EntryHeader) + kHeadBytes;
  if (site.has_span) n += sizeof(SiteTrace);
  if (site.loc != nullptr) n += sizeof(SourceLocation);
  if (owns_sinks) n += sizeof(SinksRef);
  if (owns_node) n += sizeof(NodeRef);
  n += site.format != nullptr ? format_bytes(*site.format, nullptr) : value_bytes(site.body);
  for (const auto& b : site.baggage) n += 4 + b.key.size() + 4 + b.value.size();
  return n;
}

// Writes the fixed part of a call site (its head, then the trace fields and the code location
// when present) at `p`; returns where the rest goes.
[[gnu::always_inline]] inline std::byte* write_head(std::byte* __restrict p, const CallSite& site,
                                                    std::uint8_t flags) noexcept {
  SiteHead head;
  head.node = site.node;
  head.resolved = site.resolved;
  head.sinks = site.sinks;
  head.severity = site.severity;
  head.n_attrs = static_cast<std::uint32_t>(site.attrs.size());
  head.n_baggage = static_cast<std::uint32_t>(site.baggage.size());
  head.trace_flags = site.trace_flags;
  head.flags = static_cast<std::uint8_t>(flags | (site.has_span ? kHasSpan : 0) |
                                         (site.loc != nullptr ? kHasLoc : 0));
  std::memcpy(p, &head, sizeof head);
  p += kHeadBytes;
  if (site.has_span) {
    const SiteTrace trace{site.trace_id, site.span_id};
    std::memcpy(p, &trace, sizeof trace);
    p += sizeof trace;
  }
  if (site.loc != nullptr) {
    std::memcpy(p, site.loc, sizeof(SourceLocation));
    p += sizeof(SourceLocation);
  }
  return p;
}

// Writes the call site after its header at `out` (a 16-aligned block of the size computed by
// deferred_enqueue()).
void write_site(std::byte* __restrict out, const CallSite& site, const SinksRef* sinks_ref,
                const Node* node_for_ref, const NestedCopies* nested) noexcept {
  std::byte* p = write_head(out, site,
                            static_cast<std::uint8_t>((sinks_ref != nullptr ? kOwnsSinks : 0) |
                                                      (node_for_ref != nullptr ? kOwnsNode : 0) |
                                                      (site.format != nullptr ? kHasFormat : 0)));
  if (sinks_ref != nullptr) {
    new (p) SinksRef(*sinks_ref);
    p += sizeof(SinksRef);
  }
  if (node_for_ref != nullptr) {
    new (p) NodeRef(node_for_ref->shared_from_this());
    p += sizeof(NodeRef);
  }
  Value* const* owned = nested != nullptr ? nested->values.data() : nullptr;
  if (site.format != nullptr) {
    Out o{p};
    (void)format_bytes(*site.format, &o);
    p = o.p;
  } else {
    p = write_value(p, site.body, owned);
  }
  p = write_attributes(p, site.attrs.begin(), site.attrs.size(), owned);
  for (const auto& b : site.baggage) {
    p = write_string(p, b.key);
    p = write_string(p, b.value);
  }
}

// Reads one argument written by FmtArgCopy into `store` (strings as views of the entry).
void push_fmt_arg(In& in, fmt::dynamic_format_arg_store<fmt::format_context>& store) {
  switch (in.get<std::uint8_t>()) {
    case kFmtInt: store.push_back(in.get<long long>()); break;
    case kFmtUint: store.push_back(in.get<unsigned long long>()); break;
    case kFmtBool: store.push_back(in.get<std::uint8_t>() != 0); break;
    case kFmtChar: store.push_back(in.get<char>()); break;
    case kFmtFloat: store.push_back(in.get<float>()); break;
    case kFmtDouble: store.push_back(in.get<double>()); break;
    case kFmtLongDouble: store.push_back(in.get<long double>()); break;
    case kFmtString: {
      const std::string_view v = in.get_string();
      store.push_back(fmt::string_view(v.data(), v.size()));
      break;
    }
    case kFmtPointer: store.push_back(in.get<const void*>()); break;
    default: break;
  }
}

// Moves past one argument written by FmtArgCopy.
void skip_fmt_arg(In& in) noexcept {
  switch (in.get<std::uint8_t>()) {
    case kFmtBool:
    case kFmtChar: in.p += 1; break;
    case kFmtFloat: in.p += sizeof(float); break;
    case kFmtLongDouble: in.p += sizeof(long double); break;
    case kFmtString: (void)in.get_string(); break;
    default:  // int, uint, double, pointer
      in.p += 8;
      break;
  }
}

// The writer's reusable decoding space.
struct Decoded {
  fmt::dynamic_format_arg_store<fmt::format_context> fmt_args;
  fmt::memory_buffer body;
  std::vector<Attribute> attrs;
  std::vector<BaggageEntry> baggage;
  std::vector<Value*> owned;
};

// An entry's fixed part, read back, and where its variable part starts.
struct OpenedEntry {
  SiteHead head;
  SiteTrace trace;
  SourceLocation loc;
  SinksRef* sinks_ref = nullptr;
  NodeRef* node_ref = nullptr;
  std::byte* heap = nullptr;  // the block of a record too big for the ring
  std::byte* rest = nullptr;  // body, attributes, baggage
};

OpenedEntry open_entry(const EntryHeader* h) noexcept {
  OpenedEntry e;
  const std::byte* block = reinterpret_cast<const std::byte*>(h + 1);
  if ((h->kind & kKindMask) == kEntryHeap) {
    std::memcpy(&e.heap, block, sizeof e.heap);
    block = e.heap;
  }
  std::memcpy(&e.head, block, sizeof e.head);
  std::byte* p = const_cast<std::byte*>(block) + kHeadBytes;
  if ((e.head.flags & kHasSpan) != 0) {
    std::memcpy(&e.trace, p, sizeof e.trace);
    p += sizeof e.trace;
  }
  if ((e.head.flags & kHasLoc) != 0) {
    std::memcpy(&e.loc, p, sizeof e.loc);
    p += sizeof e.loc;
  }
  if ((e.head.flags & kOwnsSinks) != 0) {
    e.sinks_ref = std::launder(reinterpret_cast<SinksRef*>(p));
    p += sizeof(SinksRef);
  }
  if ((e.head.flags & kOwnsNode) != 0) {
    e.node_ref = std::launder(reinterpret_cast<NodeRef*>(p));
    p += sizeof(NodeRef);
  }
  e.rest = p;
  return e;
}

// Releases the references and the heap block an entry owns (its nested values aside).
void release_entry(const OpenedEntry& e) noexcept {
  if (e.sinks_ref != nullptr) e.sinks_ref->~SinksRef();
  if (e.node_ref != nullptr) e.node_ref->~NodeRef();
  if (e.heap != nullptr) ::operator delete(e.heap);
}

// Finishes the record of entry `h`, stamped `time` (emergency: through the sinks' emergency_emit)
// and releases what the entry owns.
void finish_entry(const EntryHeader* h, std::uint64_t time, Decoded& d, bool emergency) noexcept {
  const OpenedEntry entry = open_entry(h);
  const SiteHead& head = entry.head;
  std::byte* p = entry.rest;
  d.owned.clear();
  In in{p};
  CallSite site;
  try {
    if ((head.flags & kHasFormat) != 0) {
      const std::string_view format = in.get_string();
      const auto count = in.get<std::uint32_t>();
      d.fmt_args.clear();
      for (std::uint32_t i = 0; i < count; ++i) push_fmt_arg(in, d.fmt_args);
      d.body.clear();
      try {
        fmt::vformat_to(std::back_inserter(d.body), fmt::string_view(format.data(), format.size()),
                        fmt::format_args(d.fmt_args));
      } catch (const std::exception& e) {
        // As on the synchronous path: reported, and the record is not emitted.
        report_internal(kSeverityError, "log message formatting failed",
                        {{"error.message", what_of(e)}});
        throw;
      }
      site.body = AttrValue(std::string_view(d.body.data(), d.body.size()));
      bump(state().formatted);
    } else {
      site.body = in.get_value(d.owned);
    }
    // Grown once, then reused: filled by index (Attribute is trivially copyable).
    if (d.attrs.size() < head.n_attrs) d.attrs.resize(head.n_attrs);
    if (d.baggage.size() < head.n_baggage) d.baggage.resize(head.n_baggage);
    Attribute* attrs = d.attrs.data();
    for (std::uint32_t i = 0; i < head.n_attrs; ++i) {
      attrs[i].key = in.get_string();
      attrs[i].value = in.get_value(d.owned);
    }
    for (std::uint32_t i = 0; i < head.n_baggage; ++i) {
      d.baggage[i].key = in.get_string();
      d.baggage[i].value = in.get_string();
    }
    site.node = head.node;
    site.resolved = head.resolved;
    site.sinks = entry.sinks_ref != nullptr ? entry.sinks_ref->get() : head.sinks;
    site.severity = head.severity;
    site.time_unix_nano = time;
    site.attrs = AttributeSpan(std::span<const Attribute>(d.attrs.data(), head.n_attrs));
    site.baggage = std::span<const BaggageEntry>(d.baggage.data(), head.n_baggage);
    site.loc = (head.flags & kHasLoc) != 0 ? &entry.loc : nullptr;
    if ((head.flags & kHasSpan) != 0) {
      site.has_span = true;
      site.trace_id = entry.trace.trace_id;
      site.span_id = entry.trace.span_id;
      site.trace_flags = head.trace_flags;
    }
    site.emergency = emergency;
    finish_record_in_place(site, std::span<Attribute>(d.attrs.data(), head.n_attrs));
  } catch (...) {
    counters().sink_errors.fetch_add(1, std::memory_order_relaxed);
  }
  if (emergency) return;  // the process is dying: no destructor that may take a lock
  for (Value* v : d.owned) delete v;
  release_entry(entry);
}

// Releases what a never-finished entry owns (stop() past its deadline).
void discard_entry(const EntryHeader* h) noexcept {
  Decoded d;
  const OpenedEntry entry = open_entry(h);
  const SiteHead& head = entry.head;
  In in{entry.rest};
  if ((head.flags & kHasFormat) != 0) {
    (void)in.get_string();
    const auto count = in.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < count; ++i) skip_fmt_arg(in);
  } else {
    (void)in.get_value(d.owned);
  }
  for (std::uint32_t i = 0; i < head.n_attrs; ++i) {
    (void)in.get_string();
    (void)in.get_value(d.owned);
  }
  for (Value* v : d.owned) delete v;
  release_entry(entry);
}

// ---- the writer ----

// The Unix time of entry `h`: its header's, converted when it is a counter reading.
std::uint64_t entry_time(const EntryHeader* h) noexcept {
  return (h->kind & kTimeTsc) != 0 ? state().tsc.to_unix_nano(h->time) : h->time;
}

struct Active {
  ThreadRing* ring;
  const EntryHeader* next;
  std::uint64_t finished;  // entries consumed in this pass
  std::uint64_t time;      // next's time in Unix nanoseconds

  // The ring's first entry, if it has one.
  static std::optional<Active> first(ThreadRing* r) noexcept {
    const EntryHeader* h = r->ring.peek();
    if (h == nullptr) return std::nullopt;
    return Active{r, h, 0, entry_time(h)};
  }
  // Moves to the ring's next entry (the current one consumed); false when there is none now.
  bool advance() noexcept {
    next = ring->ring.peek();
    if (next == nullptr) return false;
    time = entry_time(next);
    return true;
  }
};

// Moves the counters of `r` into the released totals (rings_mutex held).
void add_counters_locked(State& s, const ThreadRing* r) {
  s.released.enqueued += r->enqueued.load(std::memory_order_relaxed);
  s.released.written += r->written.load(std::memory_order_relaxed);
  s.released.dropped += r->dropped.load(std::memory_order_relaxed);
  s.released.blocked += r->blocked.load(std::memory_order_relaxed);
  s.released.writer_wakes += r->writer_wakes.load(std::memory_order_relaxed);
  s.released.synchronous += r->synchronous.load(std::memory_order_relaxed);
  s.released.large += r->large.load(std::memory_order_relaxed);
  s.released.errors += r->errors.load(std::memory_order_relaxed);
  ++s.released.rings_released;
}

// How long the writer may sleep now (writer_nap()): the ring that received the largest share of
// its wake step since the last sleep began sets the pace. Updates `nap_start` and the marks.
std::chrono::microseconds next_nap(const std::vector<ThreadRing*>& rings,
                                   std::chrono::steady_clock::time_point& nap_start,
                                   std::chrono::microseconds max_delay) noexcept {
  const auto now = std::chrono::steady_clock::now();
  double fill = 0;
  for (ThreadRing* r : rings) {
    const std::uint64_t pos = r->ring.consumed();
    const auto bytes = static_cast<double>(pos - r->nap_mark);
    fill = std::max(fill, bytes / static_cast<double>(wake_step(r->ring)));
    r->nap_mark = pos;
  }
  const double elapsed = std::chrono::duration<double, std::micro>(now - nap_start).count();
  nap_start = now;
  return writer_nap(fill, elapsed, max_delay);
}

void writer_main() {
  State& s = state();
  tl_deferred_writer = true;
  std::vector<ThreadRing*> rings;
  std::uint64_t version = ~std::uint64_t{0};
  std::vector<Active> active;
  std::vector<Active> exhausted;
  std::vector<ThreadRing*> graveyard;  // unlinked, freed when no flush waits
  Decoded decoded;
  // Write-behind: a pass's ring bytes go back (and a flush sees its records) once the sinks that
  // write behind have written them; that is checked after the next pass has been encoded, so
  // their writing overlaps it. A pass no sink wrote behind, or that empties the rings, is
  // settled at once.
  SinkBatch batches[2];
  int cur = 0;
  struct Finished {
    ThreadRing* ring;
    std::uint64_t pos;       // ByteRing::consumed() after the pass
    std::uint64_t finished;  // records of this ring in the pass
  };
  std::vector<Finished> unsettled;  // the last pass's, not yet handed back
  const auto settle_and_publish = [&unsettled](SinkBatch& b) {
    b.settle();
    for (const Finished& f : unsettled) {
      f.ring->ring.publish_to(f.pos);
      bump(f.ring->written, f.finished);
    }
    unsettled.clear();
  };
  auto last_work = std::chrono::steady_clock::now();
  auto nap_start = last_work;       // when the writer last went to sleep
  std::uint64_t last_tsc_time = 0;  // of the last record with a counter time
  for (;;) {
    if (s.crash_stop.load(std::memory_order_acquire)) {
      s.crash_parked.store(true, std::memory_order_release);
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    const std::uint64_t v = s.rings_version.load(std::memory_order_acquire);
    if (v != version) {
      std::lock_guard<std::mutex> lock(s.rings_mutex);
      rings = s.rings;
      version = s.rings_version.load(std::memory_order_relaxed);
    }
    s.tsc.resync();
    active.clear();
    exhausted.clear();
    bool reap = false;  // an ended thread's ring is empty
    for (ThreadRing* r : rings) {
      if (const auto a = Active::first(r)) {
        active.push_back(*a);
      } else if (r->orphaned.load(std::memory_order_acquire)) {
        reap = true;
      }
    }
    std::size_t done = 0;
    // One pass: a batch on every sink met (a file sink writes once at its end), then the rings'
    // bytes are handed back, so a flush that sees them back knows the sinks have the records.
    // Records of different threads are merged by time (a heap once there are many rings); each
    // thread's own order is kept.
    const auto later = [](const Active& a, const Active& b) { return a.time > b.time; };
    const bool use_heap = active.size() > 4;
    if (use_heap) std::make_heap(active.begin(), active.end(), later);
    SinkBatch& batch = batches[cur];
    tl_sink_batch = &batch;
    while (!active.empty() && done < kPassRecords) {
      std::size_t best = 0;
      if (use_heap) {
        std::pop_heap(active.begin(), active.end(), later);
        best = active.size() - 1;
      } else {
        for (std::size_t i = 1; i < active.size(); ++i) {
          if (active[i].time < active[best].time) best = i;
        }
      }
      Active& a = active[best];
      std::uint64_t time = a.time;
      if ((a.next->kind & kTimeTsc) != 0) {
        // Counter times are in order across threads; a resync may shift the conversion by a
        // little, which is smoothed so that they stay in order (a clock step is not hidden).
        if (time < last_tsc_time && last_tsc_time - time < kSmoothNs) time = last_tsc_time;
        last_tsc_time = time;
      }
      s.current.store(a.next, std::memory_order_relaxed);
      finish_entry(a.next, time, decoded, false);
      s.current.store(nullptr, std::memory_order_relaxed);
      a.ring->ring.consume(a.next);
      ++a.finished;
      ++done;
      if (!a.advance()) {
        exhausted.push_back(a);
        a = active.back();
        active.pop_back();
      } else if (use_heap) {
        std::push_heap(active.begin(), active.end(), later);
      }
      if (s.crash_stop.load(std::memory_order_relaxed)) break;
    }
    tl_sink_batch = nullptr;
    batch.end();
    settle_and_publish(batches[cur ^ 1]);  // the previous pass, written behind meanwhile
    for (auto* list : {&active, &exhausted}) {
      for (Active& a : *list) {
        // A ring with records here is not reaped before they are handed back (tail < head).
        if (a.finished != 0) unsettled.push_back({a.ring, a.ring->ring.consumed(), a.finished});
      }
    }
    if (batch.handed.empty() || active.empty() || s.stop.load(std::memory_order_acquire)) {
      settle_and_publish(batch);  // nothing written behind, or nothing more to overlap with
    } else {
      cur ^= 1;
    }
    // Rings of ended threads leave the list as soon as they are empty (busy or not, so the list
    // stays as long as the live threads); they are freed once no flush may hold them.
    if (reap || !graveyard.empty()) {
      std::lock_guard<std::mutex> lock(s.rings_mutex);
      if (reap) {
        auto& all = s.rings;
        const auto gone = std::partition(all.begin(), all.end(), [](ThreadRing* r) {
          return !(r->orphaned.load(std::memory_order_acquire) && r->ring.head() == r->ring.tail());
        });
        for (auto it = gone; it != all.end(); ++it) {
          add_counters_locked(s, *it);
          graveyard.push_back(*it);
        }
        all.erase(gone, all.end());
        s.rings_version.fetch_add(1, std::memory_order_release);
        rings = s.rings;
        version = s.rings_version.load(std::memory_order_relaxed);
      }
      // A flush registers as a waiter before it looks at the rings (under this mutex).
      if (s.flush_waiters.load(std::memory_order_acquire) == 0) {
        for (ThreadRing* r : graveyard) delete r;
        graveyard.clear();
      }
    }
    if (done != 0) {
      last_work = std::chrono::steady_clock::now();
      if (s.flush_waiters.load(std::memory_order_acquire) > 0) {
        { std::lock_guard<std::mutex> lock(s.mutex); }
        s.done_cv.notify_all();
      }
      if (s.stop.load(std::memory_order_acquire) &&
          std::chrono::steady_clock::now() >= s.stop_deadline) {
        break;
      }
      continue;
    }
    const auto nap = next_nap(rings, nap_start, s.max_delay);
    std::unique_lock<std::mutex> lock(s.mutex);
    if (s.stop.load(std::memory_order_relaxed)) break;
    if (!s.wake) {
      const bool park = std::chrono::steady_clock::now() - last_work > kParkAfter;
      if (park) s.parked.store(true, std::memory_order_seq_cst);
      s.wake_cv.wait_for(lock, park ? std::chrono::microseconds(kParkedPoll) : nap,
                         [&] { return s.wake || s.stop.load(std::memory_order_relaxed); });
      if (park) s.parked.store(false, std::memory_order_relaxed);
    }
    s.wake = false;
  }
  // Stopping: what is still queued past the deadline is discarded and counted.
  std::uint64_t discarded = 0;
  {
    std::lock_guard<std::mutex> lock(s.rings_mutex);
    rings = s.rings;
    if (s.flush_waiters.load(std::memory_order_acquire) == 0) {
      for (ThreadRing* r : graveyard) delete r;
      graveyard.clear();
    }
  }
  for (ThreadRing* r : rings) {
    while (const EntryHeader* h = r->ring.peek()) {
      discard_entry(h);
      r->ring.pop(h);
      bump(r->dropped);
      ++discarded;
    }
  }
  if (discarded != 0) {
    tl_deferred_writer = false;
    report_internal(kSeverityError, "deferred path stopped with records still queued",
                    {{"records.dropped", static_cast<std::int64_t>(discarded)}});
  }
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.alive.store(false, std::memory_order_release);
  }
  s.done_cv.notify_all();
}

void stop_at_exit() { (void)dagstack::logger::stop_deferred(std::chrono::milliseconds(2000)); }

// The largest entry enqueue_small() writes.
constexpr std::size_t kSmallEntry = 512;

// The header of an entry of `size` bytes holding `site` (kind: inline or heap).
EntryHeader entry_header(std::size_t size, std::uint32_t kind, const CallSite& site) noexcept {
  return EntryHeader{static_cast<std::uint32_t>(size), kind | (site.time_tsc ? kTimeTsc : 0),
                     site.time_unix_nano};
}

// After a commit: wakes the writer for an ERROR-or-worse record, when it has fallen another
// wake_step() behind, or when it sleeps long.
void wake_if_due(ThreadRing& tr, const CallSite& site, State& s) noexcept {
  if (site.severity >= kSeverityError || tr.ring.behind_by_step(wake_step(tr.ring)) ||
      s.parked.load(std::memory_order_relaxed)) {
    bump(tr.writer_wakes);
    wake_writer();
  }
}

// Writes a call site without nested values, fmt body or references into a block of kSmallEntry
// reserved at once, and commits it at its real size: no separate pass to size it. False, with
// nothing committed, when the block is not free or the entry would not fit in it.
bool enqueue_small(ThreadRing& tr, const CallSite& site, State& s) noexcept {
  ByteRing& ring = tr.ring;
  std::byte* const slot = ring.reserve(kSmallEntry);
  if (slot == nullptr) return false;
  std::byte* const limit = slot + kSmallEntry;
  std::byte* p = write_head(slot + sizeof(EntryHeader), site, 0);
  Value* const* no_nested = nullptr;
  if (value_bytes(site.body) > static_cast<std::size_t>(limit - p)) return false;
  p = write_value(p, site.body, no_nested);
  for (const Attribute& a : site.attrs) {
    if (a.value.kind() == AttrValue::Kind::kValue ||
        4 + a.key.size() + value_bytes(a.value) > static_cast<std::size_t>(limit - p)) {
      return false;
    }
    p = write_string(p, a.key);
    p = write_value(p, a.value, no_nested);
  }
  for (const auto& b : site.baggage) {
    if (8 + b.key.size() + b.value.size() > static_cast<std::size_t>(limit - p)) return false;
    p = write_string(p, b.key);
    p = write_string(p, b.value);
  }
  const std::size_t size = round16(static_cast<std::size_t>(p - slot));
  const EntryHeader header = entry_header(size, kEntryInline, site);
  std::memcpy(slot, &header, sizeof header);
  ring.commit(size);
  bump(tr.enqueued);
  wake_if_due(tr, site, s);
  return true;
}

}  // namespace

bool deferred_enqueue(const CallSite& site,
                      const std::shared_ptr<const SinkList>* override_sinks) noexcept {
  State& s = state();
  ThreadRing* tr = tl_ring;
  if (tr == nullptr || tr->ring.capacity() != s.ring_bytes.load(std::memory_order_relaxed))
      [[unlikely]] {
    // First record of this thread, or the path was restarted with another ring size: the old
    // ring is released by the writer once drained.
    if (tr != nullptr) tr->orphaned.store(true, std::memory_order_release);
    tr = acquire_ring();
    if (tr == nullptr) return false;
  }
  // The common case (no nested value, no fmt body, nothing to hold a reference to) in one pass.
  // Nodes outside the registry (child loggers, and the old registry's after a reset) may go
  // with their last handle while the record is queued: the entry then holds a reference.
  const bool hold_node =
      site.node->detached || site.node->unregistered.load(std::memory_order_acquire);
  if (site.format == nullptr && override_sinks == nullptr && !hold_node &&
      site.body.kind() != AttrValue::Kind::kValue && enqueue_small(*tr, site, s)) {
    return true;
  }
  // One pass: the entry's size, and whether nested values need copying.
  const Node* node_for_ref = hold_node ? site.node : nullptr;
  bool has_nested = site.body.kind() == AttrValue::Kind::kValue;
  std::size_t bytes = site_head_bytes(site, override_sinks != nullptr, node_for_ref != nullptr);
  for (const auto& a : site.attrs) {
    has_nested |= a.value.kind() == AttrValue::Kind::kValue;
    bytes += 4 + a.key.size() + value_bytes(a.value);
  }
  bytes = round16(bytes);
  // Nested values are copied first: an allocation failure leaves nothing half-queued.
  NestedCopies* nested = nullptr;
  if (has_nested) {
    static thread_local NestedCopies copies;
    nested = &copies;
    bool ok = nested->copy(site.body);
    for (const auto& a : site.attrs) ok = ok && nested->copy(a.value);
    if (!ok) {
      bump(tr->errors);
      bump(tr->synchronous);
      return false;
    }
  }
  ByteRing& ring = tr->ring;
  std::byte* heap = nullptr;
  std::size_t entry = bytes;
  if (bytes > ring.max_entry()) {
    heap = static_cast<std::byte*>(::operator new(bytes, std::nothrow));
    if (heap == nullptr) {
      if (nested != nullptr) nested->release();
      bump(tr->errors);
      bump(tr->synchronous);
      return false;
    }
    entry = round16(sizeof(EntryHeader) + sizeof heap);
  }
  std::byte* slot = ring.reserve(entry);
  if (slot == nullptr) {
    if (s.drop_when_full.load(std::memory_order_relaxed)) {
      if (heap != nullptr) ::operator delete(heap);
      if (nested != nullptr) nested->release();
      bump(tr->dropped);
      return true;
    }
    bump(tr->blocked);
    for (int spins = 0; slot == nullptr; ++spins) {
      if (!s.alive.load(std::memory_order_acquire)) {
        if (heap != nullptr) ::operator delete(heap);
        if (nested != nullptr) nested->release();
        bump(tr->synchronous);
        return false;
      }
      wake_writer();
      if (spins < 16) {
        ::sched_yield();
      } else {
        const timespec ts{0, spins < 256 ? 20000 : 200000};
        ::nanosleep(&ts, nullptr);
      }
      slot = ring.reserve(entry);
    }
  }
  const EntryHeader header = entry_header(entry, heap != nullptr ? kEntryHeap : kEntryInline, site);
  std::memcpy(slot, &header, sizeof header);
  if (heap != nullptr) {
    std::memcpy(slot + sizeof header, &heap, sizeof heap);
    write_site(heap, site, override_sinks, node_for_ref, nested);
    bump(tr->large);
  } else {
    write_site(slot + sizeof header, site, override_sinks, node_for_ref, nested);
  }
  if (nested != nullptr) nested->values.clear();  // owned by the entry now
  ring.commit(entry);
  bump(tr->enqueued);
  wake_if_due(*tr, site, s);
  return true;
}

std::chrono::microseconds writer_nap(double fill, double elapsed_us,
                                     std::chrono::microseconds max_delay) noexcept {
  if (!(fill > 0) || !(elapsed_us > 0)) return max_delay;
  const double half_step_us = 0.5 * elapsed_us / fill;  // at the same rate, half a step arrives
  if (half_step_us >= static_cast<double>(max_delay.count())) return max_delay;
  const auto nap =
      std::max(kMinNap, std::chrono::microseconds(static_cast<std::int64_t>(half_step_us)));
  return std::min(max_delay, nap);
}

bool deferred_drain(std::chrono::steady_clock::time_point deadline) noexcept {
  State& s = state();
  if (!s.alive.load(std::memory_order_acquire)) return true;
  if (tl_deferred_writer) return false;
  try {
    std::vector<std::pair<ThreadRing*, std::uint64_t>> targets;
    s.flush_waiters.fetch_add(1, std::memory_order_acq_rel);
    {
      std::lock_guard<std::mutex> lock(s.rings_mutex);
      for (ThreadRing* r : s.rings) {
        const std::uint64_t head = r->ring.head();
        if (r->ring.tail() != head) targets.emplace_back(r, head);
      }
    }
    bool done = targets.empty();
    if (!done) wake_writer();
    std::unique_lock<std::mutex> lock(s.mutex);
    while (!done) {
      done = std::all_of(targets.begin(), targets.end(),
                         [](const auto& t) { return t.first->ring.tail() >= t.second; });
      if (done || !s.alive.load(std::memory_order_acquire)) break;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      s.done_cv.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(2)));
    }
    lock.unlock();
    s.flush_waiters.fetch_sub(1, std::memory_order_acq_rel);
    return done;
  } catch (...) {
    s.flush_waiters.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
}

void deferred_after_fork_child() noexcept {
  State& s = state();
  new (&s.rings_mutex) std::mutex();
  new (&s.control_mutex) std::mutex();
  new (&s.mutex) std::mutex();
  new (&s.wake_cv) std::condition_variable();
  new (&s.done_cv) std::condition_variable();
  g_deferred_running.store(false, std::memory_order_relaxed);
  s.alive.store(false, std::memory_order_relaxed);
  s.flush_waiters.store(0, std::memory_order_relaxed);
  // The parent's writer finishes what the rings held at the fork; the child's copies are not its
  // records to write. The writer thread does not exist here: forget it without joining.
  new (&s.thread) std::thread();
  s.stop.store(false, std::memory_order_relaxed);
  s.wake = false;
  for (ThreadRing* r : s.rings) {
    while (const EntryHeader* h = r->ring.peek()) r->ring.pop(h);
    if (r != tl_ring) r->orphaned.store(true, std::memory_order_relaxed);
  }
}

void deferred_emergency_drain() noexcept {
  State& s = state();
  if (!s.alive.load(std::memory_order_acquire)) return;
  g_deferred_running.store(false, std::memory_order_relaxed);
  s.crash_stop.store(true, std::memory_order_release);
  if (tl_deferred_writer) {
    // The writer itself is dying: the entry it was finishing is skipped (it may be the cause).
    if (const EntryHeader* cur = s.current.load(std::memory_order_relaxed)) {
      for (ThreadRing* r : s.rings) {
        if (r->ring.peek() == cur) r->ring.pop(cur);
      }
    }
  } else {
    for (int i = 0; i < 200 && !s.crash_parked.load(std::memory_order_acquire); ++i) {
      const timespec ts{0, 1000000};
      ::nanosleep(&ts, nullptr);
    }
    if (!s.crash_parked.load(std::memory_order_acquire)) return;  // stuck in a sink
  }
  if (!s.rings_mutex.try_lock()) return;
  // No allocation from here on for ordinary records (a signal handler must not call malloc):
  // the decoding space was reserved by start_deferred(), the merge uses a fixed array.
  Decoded& d = *s.crash_decoded;
  constexpr std::size_t kMerge = 64;
  Active active[kMerge];
  for (;;) {
    std::size_t n = 0;
    for (ThreadRing* r : s.rings) {
      if (n == kMerge) break;
      if (const auto a = Active::first(r)) active[n++] = *a;
    }
    if (n == 0) break;
    while (n != 0) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < n; ++i) {
        if (active[i].time < active[best].time) best = i;
      }
      Active& a = active[best];
      finish_entry(a.next, a.time, d, true);
      a.ring->ring.pop(a.next);
      if (!a.advance()) active[best] = active[--n];
    }
  }
  s.rings_mutex.unlock();
}

}  // namespace detail

void start_deferred(const DeferredOptions& options) {
  if (options.ring_bytes < detail::kMinRingBytes || options.ring_bytes > detail::kMaxRingBytes) {
    throw ConfigError("deferred ring_bytes must be between 4096 and 67108864");
  }
  if (options.max_delay <= std::chrono::microseconds(0) ||
      options.max_delay > std::chrono::seconds(1)) {
    throw ConfigError("deferred max_delay must be between 1 us and 1 s");
  }
  (void)detail::Registry::instance();  // its exit handler must run after ours
  auto& s = detail::state();
  std::lock_guard<std::mutex> control(s.control_mutex);
  if (s.alive.load(std::memory_order_acquire)) throw ConfigError("deferred path already running");
  if (s.thread.joinable()) s.thread.join();  // a writer left behind by stop() has ended since
  std::size_t bytes = detail::kMinRingBytes;
  while (bytes < options.ring_bytes) bytes *= 2;
  s.ring_bytes.store(bytes, std::memory_order_relaxed);
  s.drop_when_full.store(options.overflow == DeferredOverflow::kDrop, std::memory_order_relaxed);
  s.max_delay = options.max_delay;
  const bool tsc = options.use_tsc && detail::tsc_invariant();
  if (tsc) s.tsc.calibrate(2'000'000);  // the first start only: 2 ms
  detail::g_deferred_tsc.store(tsc, std::memory_order_relaxed);
  s.crash_stop.store(false, std::memory_order_relaxed);
  s.crash_parked.store(false, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stop.store(false, std::memory_order_relaxed);
    s.wake = false;
  }
  if (!s.atexit_registered) {
    std::atexit(detail::stop_at_exit);
    s.atexit_registered = true;
  }
  if (s.crash_decoded == nullptr) {
    auto* d = new detail::Decoded();
    d->attrs.reserve(256);
    d->baggage.reserve(64);
    d->owned.reserve(64);
    s.crash_decoded = d;
  }
  s.alive.store(true, std::memory_order_release);
  s.thread = std::thread(detail::writer_main);
  detail::g_deferred_running.store(true, std::memory_order_release);
}

bool stop_deferred(std::chrono::milliseconds timeout) {
  auto& s = detail::state();
  std::lock_guard<std::mutex> control(s.control_mutex);
  if (!s.alive.load(std::memory_order_acquire)) return true;
  if (detail::tl_deferred_writer) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  detail::g_deferred_running.store(false, std::memory_order_seq_cst);
  // Calls already past the switch finish their enqueue inside a read section: wait for them,
  // then for the writer to finish everything queued.
  (void)detail::synchronize(timeout);
  const bool drained = detail::deferred_drain(deadline);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stop_deadline = deadline;
    s.stop.store(true, std::memory_order_release);
  }
  s.wake_cv.notify_one();
  // The writer leaves at its next record boundary. One stuck inside a sink is left behind
  // (detached; it ends when the sink returns, discarding what is still queued), so that stop
  // and process exit stay bounded; the path cannot be started again until it has ended.
  bool exited = false;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    exited = s.done_cv.wait_until(
        lock, std::max(deadline, std::chrono::steady_clock::now()) + std::chrono::milliseconds(100),
        [&] { return !s.alive.load(std::memory_order_acquire); });
  }
  if (exited) {
    if (s.thread.joinable()) s.thread.join();
  } else {
    if (s.thread.joinable()) s.thread.detach();
    detail::report_internal(kSeverityError, "deferred writer did not stop in time; left running",
                            {{"timeout_ms", static_cast<std::int64_t>(timeout.count())}});
  }
  return drained && exited;
}

bool deferred_running() noexcept {
  return detail::g_deferred_running.load(std::memory_order_acquire);
}

bool flush_deferred(std::chrono::milliseconds timeout) {
  return detail::deferred_drain(std::chrono::steady_clock::now() + timeout);
}

DeferredStats deferred_stats() noexcept {
  auto& s = detail::state();
  DeferredStats out;
  try {
    std::lock_guard<std::mutex> lock(s.rings_mutex);
    out = s.released;
    out.rings_created = s.rings_created;
    out.rings_live = s.rings.size();
    out.tsc_clock = detail::g_deferred_running.load(std::memory_order_relaxed) &&
                    detail::g_deferred_tsc.load(std::memory_order_relaxed);
    out.formatted = s.formatted.load(std::memory_order_relaxed);
    for (const auto* r : s.rings) {
      out.enqueued += r->enqueued.load(std::memory_order_relaxed);
      out.written += r->written.load(std::memory_order_relaxed);
      out.dropped += r->dropped.load(std::memory_order_relaxed);
      out.blocked += r->blocked.load(std::memory_order_relaxed);
      out.writer_wakes += r->writer_wakes.load(std::memory_order_relaxed);
      out.synchronous += r->synchronous.load(std::memory_order_relaxed);
      out.large += r->large.load(std::memory_order_relaxed);
      out.errors += r->errors.load(std::memory_order_relaxed);
    }
  } catch (...) {
  }
  return out;
}

}  // namespace dagstack::logger

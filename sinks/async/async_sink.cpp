// async_sink.cpp: AsyncSink: a bounded ring of pre-allocated record slots (Vyukov's MPMC
// sequence ring, so producers can also discard the oldest record) and one writer thread.
#include "dagstack/logger/sinks/async_sink.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "dagstack/logger/config_error.h"
#include "detail/crash_handler.h"
#include "detail/internal_channel.h"

namespace dagstack::logger {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kNever = ~std::uint64_t{0};
constexpr std::size_t kKeepArenaBytes = 64 * 1024;  // larger arenas are released after use
constexpr std::size_t kInternLimit = 16;            // distinct resources/scopes kept interned
constexpr auto kDeepIdle = std::chrono::milliseconds(100);
constexpr auto kDeepSleepCheck = std::chrono::seconds(1);
constexpr auto kBlockedRecheck = std::chrono::milliseconds(10);
constexpr int kBlockSpins = 32;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// memcpy for the short strings records are made of (keys, ids, small values): fixed-size moves
// instead of a library call; longer strings go to memcpy.
inline void copy_bytes(char* dst, const char* src, std::size_t n) noexcept {
  if (n > 16) {
    std::memcpy(dst, src, n);
  } else if (n >= 8) {
    std::uint64_t a;
    std::uint64_t b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    std::uint32_t a;
    std::uint32_t b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

std::size_t round_up_pow2(std::size_t n) {
  std::size_t c = 2;
  while (c < n) c <<= 1;
  return c;
}

// One queued record in owning form: the scalars inline, the attribute array and every string in
// one reused arena, nested arrays/maps deep-copied into `values`, resource and scope as shared
// immutable copies.
struct Rec {
  std::uint64_t time = 0;
  std::uint64_t observed = 0;
  int severity = kSeverityInfo;
  std::uint8_t flags = 0;
  bool ok = false;
  TraceId trace_id;
  SpanId span_id;
  AttrValue body;
  std::size_t nattrs = 0;
  std::unique_ptr<char[]> arena;
  std::size_t arena_cap = 0;
  std::vector<Value> values;
  const Resource* resource = nullptr;
  std::shared_ptr<const Resource> resource_hold;
  const InstrumentationScope* scope = nullptr;
  std::shared_ptr<const InstrumentationScope> scope_hold;

  void grow(std::size_t need) {
    std::size_t cap = std::max<std::size_t>(need, 256);
    cap = (cap + 63) & ~std::size_t{63};
    arena.reset(new char[cap]);
    arena_cap = cap;
  }

  LogRecord view() const noexcept {
    LogRecord v;
    v.time_unix_nano = time;
    v.observed_time_unix_nano = observed;
    v.severity_number = severity;
    v.body = body;
    if (nattrs != 0) {
      v.attributes = std::span<const Attribute>(
          std::launder(reinterpret_cast<const Attribute*>(arena.get())), nattrs);
    }
    v.resource = resource;
    v.instrumentation_scope = scope;
    v.trace_id = trace_id;
    v.span_id = span_id;
    v.trace_flags = flags;
    return v;
  }
};

struct Cell {
  std::atomic<std::uint64_t> seq{0};
  Rec* rec = nullptr;
};

// Returns an object equal to `*src` that stays alive with the slot: `src` itself when the slot
// already holds it or the producer lent its shared owner (no copy, no lock: the logger always
// does), else a copy from the sink's small intern table (a new copy when none matches).
template <typename T>
const T* intern(const T* src, const std::shared_ptr<const T>* owner, std::shared_ptr<const T>& hold,
                std::mutex& mutex, std::vector<std::shared_ptr<const T>>& table) {
  if (src == nullptr) return nullptr;
  // `hold` keeps its object alive, so an equal address is the same object.
  if (hold.get() == src) return src;
  if (owner != nullptr && owner->get() == src) {
    hold = *owner;
    return src;
  }
  if (hold && *hold == *src) return hold.get();
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& entry : table) {
    if (*entry == *src) {
      hold = entry;
      return hold.get();
    }
  }
  auto copy = std::make_shared<const T>(*src);
  table.push_back(copy);
  if (table.size() > kInternLimit) table.erase(table.begin());
  hold = std::move(copy);
  return hold.get();
}

}  // namespace

struct AsyncState : std::enable_shared_from_this<AsyncState> {
  AsyncState(std::shared_ptr<Sink> inner_sink, const AsyncSinkOptions& o)
      : inner(std::move(inner_sink)),
        id("async:" + std::string(inner->id())),
        capacity(round_up_pow2(o.queue_capacity)),
        mask(capacity - 1),
        batch(std::max<std::size_t>(o.batch_size, 1)),
        wake_threshold(std::max<std::size_t>(1, capacity / 2)),
        policy(o.overflow),
        shutdown_timeout(o.shutdown_timeout),
        max_delay(std::max(o.max_delay, std::chrono::milliseconds(1))),
        wake_severity(o.wake_severity),
        cells(new Cell[capacity]),
        recs(new Rec[capacity + batch + 1]),
        emergency_rec(&recs[capacity + batch]) {
    for (std::size_t i = 0; i < capacity; ++i) {
      cells[i].seq.store(i, std::memory_order_relaxed);
      cells[i].rec = &recs[i];
    }
    spares.reserve(batch);
    for (std::size_t i = 0; i < batch; ++i) spares.push_back(&recs[capacity + i]);
  }

  ~AsyncState() {
    if (writer.joinable()) writer.detach();  // only reachable if close() could not join
  }

  // ---- configuration (immutable) ----
  const std::shared_ptr<Sink> inner;
  const std::string id;
  const std::size_t capacity;
  const std::size_t mask;
  const std::size_t batch;
  const std::size_t wake_threshold;
  const OverflowPolicy policy;
  const std::chrono::milliseconds shutdown_timeout;
  const std::chrono::milliseconds max_delay;
  const int wake_severity;
  const std::unique_ptr<Cell[]> cells;
  const std::unique_ptr<Rec[]> recs;
  Rec* emergency_rec;        // the crash drain's slot
  std::vector<Rec*> spares;  // the writer's batch (owned by the writer thread)
  std::thread::id writer_id;
  std::atomic<bool> closed{false};
  std::atomic<bool> writer_done{false};  // the writer has taken its last record
  // In a fork()ed child: no writer exists, records go straight to the inner sink.
  std::atomic<bool> passthrough{false};
  std::atomic<bool> passthrough_closed{false};
  // Crash drain: set by the handler; the writer takes no new batch once it sees it, and
  // `in_batch` tells the handler when the writer's current batch is done.
  std::atomic<bool> crashed{false};
  std::atomic<bool> in_batch{false};

  // ---- hot, each on its own cache line ----
  alignas(64) std::atomic<std::uint64_t> enqueue_pos{0};
  alignas(64) std::atomic<std::uint64_t> dequeue_pos{0};
  // The enqueue position at which a producer must wake the sleeping writer; kNever while awake.
  alignas(64) std::atomic<std::uint64_t> wake_at{kNever};
  alignas(64) std::atomic<std::uint64_t> done_pos{0};  // every position below it is handled
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> inner_errors{0};
  alignas(64) std::atomic<std::uint64_t> dropped_newest{0};
  std::atomic<std::uint64_t> dropped_oldest{0};
  std::atomic<std::uint64_t> dropped_on_close{0};
  std::atomic<std::uint64_t> dropped_errors{0};
  std::atomic<std::uint64_t> dropped_after_close{0};
  std::atomic<int> producers_waiting{0};
  std::atomic<int> flush_waiters{0};
  std::atomic<bool> stopping{false};

  // ---- slow path ----
  std::mutex mutex;
  std::condition_variable writer_cv;  // the writer sleeps here
  std::condition_variable space_cv;   // blocked producers sleep here
  std::condition_variable flush_cv;   // flush() and close() wait here
  bool stop = false;                  // guarded by mutex
  bool writer_exited = false;         // guarded by mutex
  Clock::time_point stop_deadline{};  // written before `stopping` is released
  std::thread writer;

  std::mutex intern_mutex;
  std::vector<std::shared_ptr<const Resource>> resources;
  std::vector<std::shared_ptr<const InstrumentationScope>> scopes;

  // ---- the ring ----

  // Claims the next free cell for writing, or returns nullptr when the ring is full.
  Cell* claim(std::uint64_t& pos) noexcept {
    pos = enqueue_pos.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = cells[pos & mask];
      const std::uint64_t seq = c.seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::int64_t>(seq - pos);
      if (dif == 0) {
        if (enqueue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) return &c;
      } else if (dif < 0) {
        return nullptr;
      } else {
        pos = enqueue_pos.load(std::memory_order_relaxed);
      }
    }
  }

  // Takes the oldest published cell. With `swap_in` set, exchanges the cell's Rec for it (the
  // writer's path: the cell is free again at once); without, just discards the record.
  bool take(Rec** swap_in, std::uint64_t& out_pos) noexcept {
    std::uint64_t pos = dequeue_pos.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = cells[pos & mask];
      const std::uint64_t seq = c.seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::int64_t>(seq - (pos + 1));
      if (dif == 0) {
        if (dequeue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          if (swap_in != nullptr) std::swap(c.rec, *swap_in);
          c.seq.store(pos + capacity, std::memory_order_release);
          out_pos = pos;
          return true;
        }
      } else if (dif < 0) {
        return false;
      } else {
        pos = dequeue_pos.load(std::memory_order_relaxed);
      }
    }
  }

  bool full_hint() const noexcept {
    const std::uint64_t pos = enqueue_pos.load(std::memory_order_relaxed);
    const std::uint64_t seq = cells[pos & mask].seq.load(std::memory_order_seq_cst);
    return static_cast<std::int64_t>(seq - pos) < 0;
  }

  bool empty_hint() const noexcept {
    const std::uint64_t pos = dequeue_pos.load(std::memory_order_relaxed);
    const std::uint64_t seq = cells[pos & mask].seq.load(std::memory_order_seq_cst);
    return static_cast<std::int64_t>(seq - (pos + 1)) < 0;
  }

  // Wakes the writer if it is sleeping (or about to).
  void force_wake() {
    if (wake_at.exchange(kNever, std::memory_order_seq_cst) != kNever) {
      std::lock_guard<std::mutex> lock(mutex);
      writer_cv.notify_one();
    }
  }

  // ---- producer side ----

  void copy_in(Rec& r, const LogRecord& record) {
    r.ok = false;
    r.time = record.time_unix_nano;
    r.observed = record.observed_time_unix_nano;
    r.severity = record.severity_number;
    r.flags = record.trace_flags;
    r.trace_id = record.trace_id;
    r.span_id = record.span_id;

    const std::size_t n = record.attributes.size();
    std::size_t bytes = n * sizeof(Attribute);
    std::size_t nvalues = 0;
    auto measure = [&](const AttrValue& v) {
      if (v.kind() == AttrValue::Kind::kString) {
        bytes += v.as_string().size();
      } else if (v.kind() == AttrValue::Kind::kValue) {
        ++nvalues;
      }
    };
    measure(record.body);
    for (const Attribute& a : record.attributes) {
      bytes += a.key.size();
      measure(a.value);
    }
    if (bytes > r.arena_cap) r.grow(bytes);
    if (!r.values.empty()) r.values.clear();
    if (nvalues != 0) r.values.reserve(nvalues);

    char* base = r.arena.get();
    char* p = base + n * sizeof(Attribute);
    auto copy_str = [&](std::string_view s) {
      if (s.empty()) return std::string_view();
      copy_bytes(p, s.data(), s.size());
      std::string_view out(p, s.size());
      p += s.size();
      return out;
    };
    auto copy_value = [&](const AttrValue& v) -> AttrValue {
      switch (v.kind()) {
        case AttrValue::Kind::kString: return AttrValue(copy_str(v.as_string()));
        case AttrValue::Kind::kValue:
          r.values.push_back(v.as_value());
          return AttrValue(r.values.back());
        default: return v;
      }
    };
    r.body = copy_value(record.body);
    for (std::size_t i = 0; i < n; ++i) {
      const Attribute& a = record.attributes[i];
      const std::string_view key = copy_str(a.key);
      new (base + i * sizeof(Attribute)) Attribute{key, copy_value(a.value)};
    }
    r.nattrs = n;
    r.resource = intern(record.resource, record.owners ? &record.owners->resource : nullptr,
                        r.resource_hold, intern_mutex, resources);
    r.scope = intern(record.instrumentation_scope, record.owners ? &record.owners->scope : nullptr,
                     r.scope_hold, intern_mutex, scopes);
    r.ok = true;
  }

  void emit(const LogRecord& record) {
    if (closed.load(std::memory_order_relaxed)) {
      if (passthrough.load(std::memory_order_relaxed)) {
        inner->emit(record);
      } else {
        dropped_after_close.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    std::uint64_t pos = 0;
    Cell* cell = claim(pos);
    if (cell == nullptr) {
      cell = overflow(pos);
      if (cell == nullptr) return;
    }
    Rec& rec = *cell->rec;
    try {
      copy_in(rec, record);
    } catch (...) {
      rec.ok = false;
      dropped_errors.fetch_add(1, std::memory_order_relaxed);
    }
    // Publish, then (store-load ordered by the seq_cst exchange) see whether the writer sleeps.
    cell->seq.exchange(pos + 1, std::memory_order_seq_cst);
    const std::uint64_t wake = wake_at.load(std::memory_order_seq_cst);
    if (pos >= wake || (wake != kNever && record.severity_number >= wake_severity)) force_wake();
    // Raced with close() and lost: nobody will deliver it, so account for it here. (Either this
    // load sees writer_done, or the writer's final sweep, which follows it, sees the record.)
    if (writer_done.load(std::memory_order_seq_cst)) sweep_closed();
  }

  // Discards whatever is still queued after the writer stopped, counting it.
  void sweep_closed() noexcept {
    std::uint64_t pos = 0;
    while (take(nullptr, pos)) dropped_on_close.fetch_add(1, std::memory_order_relaxed);
  }

  Cell* overflow(std::uint64_t& pos) {
    switch (policy) {
      case OverflowPolicy::kDropNewest:
        dropped_newest.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      case OverflowPolicy::kDropOldest:
        for (int spins = 0;; ++spins) {
          std::uint64_t dropped_pos = 0;
          if (take(nullptr, dropped_pos)) dropped_oldest.fetch_add(1, std::memory_order_relaxed);
          if (Cell* c = claim(pos)) return c;
          // The writer is between claiming the oldest cell and freeing it: a moment.
          if (spins < kBlockSpins) {
            cpu_relax();
          } else {
            std::this_thread::yield();
          }
        }
      case OverflowPolicy::kBlock: break;
    }
    if (std::this_thread::get_id() == writer_id) {
      // The writer itself emitting (e.g. a report routed back here) must never wait for itself.
      dropped_newest.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    for (int spins = 0;; ++spins) {
      if (Cell* c = claim(pos)) return c;
      if (closed.load(std::memory_order_acquire)) {
        dropped_newest.fetch_add(1, std::memory_order_relaxed);  // refused: full, and closing
        return nullptr;
      }
      if (spins < kBlockSpins) {
        cpu_relax();
        continue;
      }
      force_wake();
      producers_waiting.fetch_add(1, std::memory_order_seq_cst);
      {
        std::unique_lock<std::mutex> lock(mutex);
        space_cv.wait_for(lock, kBlockedRecheck,
                          [&] { return !full_hint() || closed.load(std::memory_order_relaxed); });
      }
      producers_waiting.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  // ---- writer side ----

  void notify_space_if_waiting() {
    // An RMW, not a plain load: it reads the latest count, and a producer that increments after
    // it reads (via the release sequence) the cells freed before it. (No fence: TSan lacks them.)
    if (producers_waiting.fetch_add(0, std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex);
      space_cv.notify_all();
    }
  }

  void publish_done(std::uint64_t pos) {
    if (pos > done_pos.load(std::memory_order_relaxed))
      done_pos.store(pos, std::memory_order_seq_cst);
    if (flush_waiters.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex);
      flush_cv.notify_all();
    }
  }

  void deliver(Rec& r) {
    if (r.ok) {
      const LogRecord v = r.view();
      try {
        inner->emit(v);
      } catch (const std::exception& e) {
        inner_errors.fetch_add(1, std::memory_order_relaxed);
        report_sink_error(inner->id(), "async sink: inner sink emit failed",
                          (e.what() != nullptr ? e.what() : ""));
      } catch (...) {
        inner_errors.fetch_add(1, std::memory_order_relaxed);
        report_sink_error(inner->id(), "async sink: inner sink emit failed", "unknown exception");
      }
    }
    if (!r.values.empty()) r.values.clear();
    if (r.arena_cap > kKeepArenaBytes) {
      r.arena.reset();
      r.arena_cap = 0;
    }
  }

  void run() {
    std::vector<Rec*>& batch_recs = spares;
    Clock::time_point idle_since = Clock::now();
    bool was_idle = false;
    bool abandon = false;
    for (;;) {
      std::size_t n = 0;
      std::uint64_t last = 0;
      in_batch.store(true, std::memory_order_seq_cst);
      if (crashed.load(std::memory_order_seq_cst)) {
        // The crash handler drains the queue now; stay out of its way.
        in_batch.store(false, std::memory_order_seq_cst);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      while (n < batch && take(&batch_recs[n], last)) ++n;
      if (n > 0) {
        notify_space_if_waiting();
        std::uint64_t ok = 0;
        inner->begin_batch();
        for (std::size_t i = 0; i < n; ++i) {
          ok += batch_recs[i]->ok ? 1 : 0;
          deliver(*batch_recs[i]);
        }
        inner->end_batch();
        in_batch.store(false, std::memory_order_seq_cst);
        delivered.fetch_add(ok, std::memory_order_relaxed);
        publish_done(last + 1);
        was_idle = false;
        if (stopping.load(std::memory_order_acquire) && Clock::now() >= stop_deadline) {
          abandon = true;
          break;
        }
        continue;
      }
      in_batch.store(false, std::memory_order_seq_cst);
      publish_done(dequeue_pos.load(std::memory_order_acquire));
      const Clock::time_point now = Clock::now();
      if (!was_idle) {
        was_idle = true;
        idle_since = now;
      }
      std::unique_lock<std::mutex> lock(mutex);
      if (stop) {
        // Records published between the empty look above and close() must still be drained.
        if (empty_hint()) break;
        continue;
      }
      const bool deep = now - idle_since >= kDeepIdle;
      const std::uint64_t dq = dequeue_pos.load(std::memory_order_relaxed);
      const bool eager = deep || flush_waiters.load(std::memory_order_seq_cst) > 0;
      wake_at.store(eager ? dq : dq + wake_threshold - 1, std::memory_order_seq_cst);
      // Re-check after announcing the sleep: a record published meanwhile, or a flush that
      // started before the announcement, must not wait for the timeout.
      if (!empty_hint() || (!eager && flush_waiters.load(std::memory_order_seq_cst) > 0)) {
        wake_at.store(kNever, std::memory_order_relaxed);
        continue;
      }
      writer_cv.wait_for(lock,
                         deep ? std::chrono::duration_cast<Clock::duration>(kDeepSleepCheck)
                              : std::chrono::duration_cast<Clock::duration>(max_delay),
                         [&] { return wake_at.load(std::memory_order_relaxed) == kNever || stop; });
      wake_at.store(kNever, std::memory_order_relaxed);
    }
    if (abandon) sweep_closed();
    writer_done.store(true, std::memory_order_seq_cst);
    sweep_closed();  // records published while stopping; later ones are swept by their producer
    publish_done(dequeue_pos.load(std::memory_order_acquire));
    {
      std::lock_guard<std::mutex> lock(mutex);
      writer_exited = true;
    }
    flush_cv.notify_all();
  }

  void start() {
    auto self = shared_from_this();
    writer = std::thread([self] { self->run(); });
    writer_id = writer.get_id();
  }

  // ---- control ----

  FlushResult flush(std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    if (closed.load(std::memory_order_acquire)) {
      return passthrough.load(std::memory_order_relaxed) && !passthrough_closed.load()
                 ? inner->flush(timeout)
                 : FlushResult::ok();
    }
    const std::uint64_t target = enqueue_pos.load(std::memory_order_seq_cst);
    if (done_pos.load(std::memory_order_seq_cst) < target) {
      if (std::this_thread::get_id() == writer_id) {
        return FlushResult::failed(id, "flush called from the sink's own writer thread");
      }
      flush_waiters.fetch_add(1, std::memory_order_seq_cst);
      force_wake();
      bool drained = false;
      {
        std::unique_lock<std::mutex> lock(mutex);
        drained = flush_cv.wait_until(lock, deadline, [&] {
          return done_pos.load(std::memory_order_seq_cst) >= target || writer_exited;
        });
      }
      flush_waiters.fetch_sub(1, std::memory_order_relaxed);
      if (!drained) {
        const std::uint64_t done = done_pos.load(std::memory_order_relaxed);
        return FlushResult::failed(id, "flush timed out after " + std::to_string(timeout.count()) +
                                           " ms with " +
                                           std::to_string(target > done ? target - done : 0) +
                                           " records not yet delivered");
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    FlushResult r;
    try {
      r = inner->flush(std::max(left, std::chrono::milliseconds(0)));
    } catch (const std::exception& e) {
      r = FlushResult::failed(inner->id(), (e.what() != nullptr ? e.what() : ""));
    } catch (...) {
      r = FlushResult::failed(inner->id(), "unknown exception");
    }
    if (r.success) return r;
    std::string error = "inner sink flush failed";
    for (const auto& f : r.failed_sinks) error += "; " + f.sink_id + ": " + f.error;
    return FlushResult::failed(id, error);
  }

  void close() {
    if (passthrough.load(std::memory_order_acquire)) {
      if (!passthrough_closed.exchange(true)) close_inner();
      return;
    }
    if (closed.exchange(true, std::memory_order_acq_rel)) return;
    const Clock::time_point deadline = Clock::now() + shutdown_timeout;
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
      stop_deadline = deadline;
      stopping.store(true, std::memory_order_release);
      writer_cv.notify_all();
      space_cv.notify_all();
    }
    const std::uint64_t abandoned_before = dropped_on_close.load(std::memory_order_relaxed);
    bool exited = false;
    if (std::this_thread::get_id() == writer_id) {
      writer.detach();  // called from inside the inner sink: the writer stops when it returns
    } else {
      {
        std::unique_lock<std::mutex> lock(mutex);
        exited = flush_cv.wait_until(lock, deadline + std::chrono::milliseconds(100),
                                     [&] { return writer_exited; });
      }
      if (exited) {
        writer.join();
        sweep_closed();  // records that raced with close() after the writer's last look
      } else {
        writer.detach();  // it keeps the state alive and stops when the inner sink returns
        // What is still queued is abandoned: the writer finishes the batch it is in, then
        // discards (and counts in dropped_on_close) the rest.
        const std::uint64_t enq = enqueue_pos.load(std::memory_order_seq_cst);
        const std::uint64_t done = dequeue_pos.load(std::memory_order_seq_cst);
        report_internal(
            kSeverityError, "async sink writer did not stop within shutdown_timeout",
            {{"sink.id", std::string_view(id)},
             {"shutdown_timeout_ms", static_cast<std::int64_t>(shutdown_timeout.count())},
             {"records.abandoned", enq > done ? enq - done : std::uint64_t{0}}});
      }
    }
    const std::uint64_t abandoned =
        dropped_on_close.load(std::memory_order_relaxed) - abandoned_before;
    if (abandoned != 0) {
      report_internal(kSeverityError, "async sink abandoned queued records at close",
                      {{"sink.id", std::string_view(id)}, {"records.dropped", abandoned}});
    }
    close_inner();
  }

  void close_inner() noexcept {
    try {
      inner->close();
    } catch (const std::exception& e) {
      report_sink_error(inner->id(), "async sink: inner sink close failed",
                        (e.what() != nullptr ? e.what() : ""));
    } catch (...) {
      report_sink_error(inner->id(), "async sink: inner sink close failed", "unknown exception");
    }
  }

  // The crash handler's drain (see crash_handler.h): stops the writer taking new batches, waits
  // (bounded) for its current batch, then hands every queued record to the inner sink's
  // emergency_emit(), counting what it could not write. No lock, no allocation of its own.
  void emergency_drain() noexcept {
    if (passthrough.load(std::memory_order_relaxed)) {
      inner->emergency_flush();
      return;
    }
    crashed.store(true, std::memory_order_seq_cst);
    if (std::this_thread::get_id() != writer_id) {
      for (int i = 0; i < 500 && in_batch.load(std::memory_order_seq_cst); ++i) {
        const struct timespec pause { 0, 1000 * 1000 };
        ::nanosleep(&pause, nullptr);
      }
    }
    unsigned long long written = 0;
    unsigned long long lost = 0;
    Rec* spare = emergency_rec;
    std::uint64_t pos = 0;
    while (take(&spare, pos)) {
      if (!spare->ok) continue;
      if (inner->emergency_emit(spare->view())) {
        ++written;
      } else {
        ++lost;
      }
    }
    emergency_rec = spare;
    inner->emergency_flush();
    note_crash_drain(written, lost);
  }

  // In the child of fork(): the writer thread is gone and the queue belongs to the parent (whose
  // writer delivers it), so the child's sink writes synchronously from now on.
  void enter_passthrough_after_fork() noexcept {
    passthrough.store(true, std::memory_order_relaxed);
    if (closed.load(std::memory_order_relaxed)) passthrough_closed.store(true);
    closed.store(true, std::memory_order_release);
    if (writer.joinable()) new std::thread(std::move(writer));  // forget it: never joined
  }

  AsyncSinkStats stats() const noexcept {
    AsyncSinkStats s;
    s.enqueued = enqueue_pos.load(std::memory_order_relaxed);
    s.delivered = delivered.load(std::memory_order_relaxed);
    s.dropped_newest = dropped_newest.load(std::memory_order_relaxed);
    s.dropped_oldest = dropped_oldest.load(std::memory_order_relaxed);
    s.dropped_on_close = dropped_on_close.load(std::memory_order_relaxed);
    s.dropped_errors = dropped_errors.load(std::memory_order_relaxed);
    s.dropped_after_close = dropped_after_close.load(std::memory_order_relaxed);
    s.inner_errors = inner_errors.load(std::memory_order_relaxed);
    const std::uint64_t dq = dequeue_pos.load(std::memory_order_relaxed);
    s.queued = s.enqueued > dq ? s.enqueued - dq : 0;
    return s;
  }
};

namespace {

// Every live AsyncSink, closed by an exit handler so queued records reach their sink even when
// the sink was never registered on a logger (shutdown() covers the registered ones).
struct LiveSinks {
  std::mutex mutex;
  std::vector<std::weak_ptr<AsyncState>> states;
};

LiveSinks& live_sinks() {
  static LiveSinks* live = new LiveSinks();  // leaked: used from an exit handler
  return *live;
}

void close_live_sinks() {
  std::vector<std::weak_ptr<AsyncState>> states;
  {
    std::lock_guard<std::mutex> lock(live_sinks().mutex);
    states = live_sinks().states;
  }
  for (auto& weak : states) {
    if (auto state = weak.lock()) state->close();
  }
}

// In the child of fork(): only this thread exists, so the list's lock is re-initialised (a
// holder would be gone) and every inherited sink switches to pass-through.
void after_fork_child() noexcept {
  auto& live = live_sinks();
  new (&live.mutex) std::mutex();
  for (auto& weak : live.states) {
    if (auto state = weak.lock()) state->enter_passthrough_after_fork();
  }
}

void register_live(const std::shared_ptr<AsyncState>& state) {
  static const bool registered = [] {
    std::atexit(close_live_sinks);
    ::pthread_atfork(nullptr, nullptr, after_fork_child);
    return true;
  }();
  (void)registered;
  auto& live = live_sinks();
  std::lock_guard<std::mutex> lock(live.mutex);
  live.states.erase(std::remove_if(live.states.begin(), live.states.end(),
                                   [](const auto& w) { return w.expired(); }),
                    live.states.end());
  live.states.push_back(state);
}

}  // namespace
}  // namespace detail

AsyncSink::AsyncSink(std::shared_ptr<Sink> inner, const AsyncSinkOptions& options) {
  if (!inner) throw ConfigError("async sink: inner sink is null");
  state_ = std::make_shared<detail::AsyncState>(std::move(inner), options);
  state_->start();
  detail::register_live(state_);
  detail::register_crash_sink(this, detail::CrashPhase::kQueue);
  detail::ensure_crash_handler();
}

AsyncSink::~AsyncSink() {
  detail::unregister_crash_sink(this);
  state_->close();
}

void AsyncSink::emergency_flush() noexcept { state_->emergency_drain(); }

std::string_view AsyncSink::id() const noexcept { return state_->id; }

void AsyncSink::emit(const LogRecord& record) { state_->emit(record); }

FlushResult AsyncSink::flush(std::chrono::milliseconds timeout) { return state_->flush(timeout); }

void AsyncSink::close() { state_->close(); }

bool AsyncSink::supports_severity(int severity_number) const noexcept {
  return state_->inner->supports_severity(severity_number);
}

std::uint64_t AsyncSink::dropped_newest() const noexcept {
  return state_->dropped_newest.load(std::memory_order_relaxed);
}

std::uint64_t AsyncSink::dropped_oldest() const noexcept {
  return state_->dropped_oldest.load(std::memory_order_relaxed);
}

std::uint64_t AsyncSink::delivered() const noexcept {
  return state_->delivered.load(std::memory_order_relaxed);
}

AsyncSinkStats AsyncSink::stats() const noexcept { return state_->stats(); }

std::size_t AsyncSink::capacity() const noexcept { return state_->capacity; }

const std::shared_ptr<Sink>& AsyncSink::inner() const noexcept { return state_->inner; }

std::shared_ptr<AsyncSink> make_async_sink(std::shared_ptr<Sink> inner,
                                           const AsyncSinkOptions& options) {
  return std::make_shared<AsyncSink>(std::move(inner), options);
}

}  // namespace dagstack::logger

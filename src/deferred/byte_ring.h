// byte_ring.h: a single-producer single-consumer ring of variable-sized, 16-byte aligned entries.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

namespace dagstack::logger::detail {

// The header of every entry: its size in bytes (header included, a multiple of 16), its kind and
// the record's time (the writer merges rings by it without decoding the entry).
struct EntryHeader {
  std::uint32_t size;
  std::uint32_t kind;
  std::uint64_t time;
};
static_assert(sizeof(EntryHeader) == 16);

enum EntryKind : std::uint32_t {
  kEntryInline = 1,  // the record follows the header
  kEntryHeap = 2,    // a pointer to a heap block holding the record follows the header
  kEntryWrap = 3,    // padding to the end of the buffer; the next entry starts at offset 0
};

// A hint that the line holding `p` is about to be written: the core asks for it owned.
inline void prefetch_for_write(const std::byte* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetchw %0" : : "m"(*reinterpret_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

// ByteRing
//
// One producer thread reserves and commits entries; one consumer thread peeks and pops them, in
// order. Positions grow without wrapping (64 bits); offsets are positions modulo the capacity.
// An entry never straddles the end: a wrap entry pads to the end instead. Thread-safe for one
// producer and one consumer at a time.
class ByteRing {
 public:
  // Bytes ahead of the last entry whose lines commit() prefetches (smaller rings: an eighth).
  static constexpr std::size_t kPrefetchAhead = 2048;
  // The most bytes one commit() prefetches.
  static constexpr std::size_t kPrefetchSpan = 512;

  // `capacity` must be a power of two of at least 64 bytes.
  explicit ByteRing(std::size_t capacity)
      : buffer_(static_cast<std::byte*>(::operator new (capacity, std::align_val_t{64}))),
        capacity_(capacity),
        mask_(capacity - 1),
        ahead_(capacity / 8 < kPrefetchAhead ? capacity / 8 : kPrefetchAhead) {}
  ~ByteRing() { ::operator delete (buffer_, std::align_val_t{64}); }
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  std::size_t capacity() const noexcept { return capacity_; }
  // The largest entry reserve() accepts.
  std::size_t max_entry() const noexcept { return capacity_ / 2; }

  // Producer: `n` contiguous bytes (a multiple of 16, at most max_entry()), or nullptr when the
  // ring has no room now. The entry becomes visible with commit().
  std::byte* reserve(std::size_t n) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::size_t offset = static_cast<std::size_t>(head & mask_);
    const std::size_t to_end = capacity_ - offset;
    const std::size_t need = n <= to_end ? n : to_end + n;
    if (head + need - cached_tail_ > capacity_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head + need - cached_tail_ > capacity_) return nullptr;
    }
    if (n <= to_end) {
      skip_ = 0;
      return buffer_ + offset;
    }
    const EntryHeader wrap{static_cast<std::uint32_t>(to_end), kEntryWrap, 0};
    std::memcpy(buffer_ + offset, &wrap, sizeof wrap);
    skip_ = to_end;
    return buffer_;
  }
  // Producer: publishes the entry of `n` bytes returned by the last reserve(), and asks for the
  // lines an entry as large would take prefetch_ahead() bytes further on (see prefetch_ahead()).
  void commit(std::size_t n) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed) + skip_ + n;
    head_.store(head, std::memory_order_release);
    const std::uint64_t from = head + ahead_;
    const std::size_t span = n < kPrefetchSpan ? n : kPrefetchSpan;
    if (from + span - cached_tail_ > capacity_) return;  // the consumer has not read those yet
    for (std::size_t off = 0; off < span; off += 64)
      prefetch_for_write(buffer_ + ((from + off) & mask_));
  }
  // How far ahead of its last entry the producer asks for the lines it will write next (a write
  // prefetch: the lines come over, owned, while the producer does other work). The consumer has
  // read those lines on the other core, so without it each line of a new entry stalls the
  // producer for a transfer between cores (up to ~250 ns each on far-apart vCPUs).
  std::size_t prefetch_ahead() const noexcept { return ahead_; }
  // Producer: true once per `step` bytes committed when more than `step` bytes are in use, i.e.
  // the consumer has fallen that far behind (reads its position at most once per step).
  bool behind_by_step(std::size_t step) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - step_mark_ < step) return false;
    step_mark_ = head;
    if (head - cached_tail_ <= step) return false;
    cached_tail_ = tail_.load(std::memory_order_acquire);
    return head - cached_tail_ > step;
  }

  // Consumer: the next entry's header (wrap entries are skipped), or nullptr when empty.
  const EntryHeader* peek() noexcept {
    for (;;) {
      if (tail_local_ == cached_head_) {
        cached_head_ = head_.load(std::memory_order_acquire);
        if (tail_local_ == cached_head_) return nullptr;
      }
      const auto* h = reinterpret_cast<const EntryHeader*>(buffer_ + (tail_local_ & mask_));
      if (h->kind != kEntryWrap) return h;
      tail_local_ += h->size;
    }
  }
  // Consumer: moves past the entry returned by peek(); its bytes stay reserved (and readable)
  // until publish().
  void consume(const EntryHeader* h) noexcept { tail_local_ += h->size; }
  // Consumer: hands every consumed entry's bytes back to the producer.
  void publish() noexcept { tail_.store(tail_local_, std::memory_order_release); }
  // Consumer: the position after the last consumed entry, for publish_to().
  std::uint64_t consumed() const noexcept { return tail_local_; }
  // Consumer: hands back the bytes before `pos` (a consumed() value); an older one is ignored.
  void publish_to(std::uint64_t pos) noexcept {
    if (pos > tail_.load(std::memory_order_relaxed)) tail_.store(pos, std::memory_order_release);
  }
  // Consumer: consume() and publish() at once.
  void pop(const EntryHeader* h) noexcept {
    consume(h);
    publish();
  }

  // Any thread: the producer's and the consumer's positions.
  std::uint64_t head() const noexcept { return head_.load(std::memory_order_acquire); }
  std::uint64_t tail() const noexcept { return tail_.load(std::memory_order_acquire); }

 private:
  std::byte* const buffer_;
  const std::size_t capacity_;
  const std::size_t mask_;
  const std::size_t ahead_;
  // Producer's line.
  alignas(64) std::atomic<std::uint64_t> head_{0};
  std::uint64_t cached_tail_ = 0;
  std::uint64_t step_mark_ = 0;
  std::size_t skip_ = 0;
  // Consumer's line.
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::uint64_t tail_local_ = 0;
  std::uint64_t cached_head_ = 0;
};

}  // namespace dagstack::logger::detail

// byte_ring_test.cpp: the deferred path's SPSC byte ring: entries of every size (multiples of
// 16) cross the end of the buffer intact and in order, with one producer and one consumer
// thread, and a full ring refuses instead of overwriting.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>

#include "deferred/byte_ring.h"

namespace dagstack::logger::detail {
namespace {

TEST(ByteRing, FullRingRefusesAndEmptyRingHasNothing) {
  ByteRing ring(256);
  EXPECT_EQ(ring.peek(), nullptr);
  std::size_t accepted = 0;
  while (std::byte* p = ring.reserve(32)) {
    const EntryHeader h{32, kEntryInline, accepted};
    std::memcpy(p, &h, sizeof h);
    ring.commit(32);
    ++accepted;
  }
  EXPECT_EQ(accepted, 8u);  // 256 / 32: never more than the capacity
  for (std::size_t i = 0; i < accepted; ++i) {
    const EntryHeader* h = ring.peek();
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->time, i);
    ring.pop(h);
  }
  EXPECT_EQ(ring.peek(), nullptr);
}

TEST(ByteRing, PrefetchesAnEighthOfSmallRingsAndAtMostTwoKibAhead) {
  EXPECT_EQ(ByteRing(256).prefetch_ahead(), 32u);
  EXPECT_EQ(ByteRing(4096).prefetch_ahead(), 512u);
  EXPECT_EQ(ByteRing(16384).prefetch_ahead(), ByteRing::kPrefetchAhead);
  EXPECT_EQ(ByteRing(1u << 20).prefetch_ahead(), ByteRing::kPrefetchAhead);
}

// A producer that keeps the ring nearly full commits next to entries the consumer has not read:
// the prefetch that skips them must not disturb them (contents checked byte for byte).
TEST(ByteRing, ANearlyFullRingKeepsEveryEntryIntact) {
  ByteRing ring(1024);
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (int round = 0; round < 2000; ++round) {
    while (std::byte* p = ring.reserve(48)) {
      const EntryHeader h{48, kEntryInline, next_in};
      std::memcpy(p, &h, sizeof h);
      std::memset(p + sizeof h, static_cast<int>(next_in & 0xff), 32);
      ring.commit(48);
      ++next_in;
    }
    const EntryHeader* h = ring.peek();  // one out, then fill again: always nearly full
    ASSERT_NE(h, nullptr);
    ASSERT_EQ(h->time, next_out);
    const auto* body = reinterpret_cast<const unsigned char*>(h) + sizeof(EntryHeader);
    for (int i = 0; i < 32; ++i) ASSERT_EQ(body[i], next_out & 0xff) << "entry " << next_out;
    ring.pop(h);
    ++next_out;
  }
  EXPECT_GT(next_in, 2000u);
}

TEST(ByteRing, EntriesOfEverySizeWrapIntactAcrossTwoThreads) {
  ByteRing ring(4096);
  constexpr std::uint64_t kEntries = 200000;
  std::thread producer([&] {
    std::mt19937 rng(7);
    for (std::uint64_t i = 0; i < kEntries; ++i) {
      const std::size_t n = 16 * (1 + rng() % (ring.max_entry() / 16));  // 16 .. 2048
      std::byte* p;
      while ((p = ring.reserve(n)) == nullptr) std::this_thread::yield();
      const EntryHeader h{static_cast<std::uint32_t>(n), kEntryInline, i};
      std::memcpy(p, &h, sizeof h);
      std::memset(p + sizeof h, static_cast<int>(i & 0xff), n - sizeof h);
      ring.commit(n);
    }
  });
  std::uint64_t next = 0;
  std::uint64_t bad = 0;
  while (next < kEntries) {
    const EntryHeader* h = ring.peek();
    if (h == nullptr) {
      std::this_thread::yield();
      continue;
    }
    bad += h->time != next ? 1 : 0;
    const auto* body = reinterpret_cast<const unsigned char*>(h + 1);
    for (std::size_t k = 0; k < h->size - sizeof *h; ++k) bad += body[k] != (next & 0xff) ? 1 : 0;
    ring.pop(h);
    ++next;
  }
  producer.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(ring.peek(), nullptr);
  EXPECT_EQ(ring.head(), ring.tail());
}

}  // namespace
}  // namespace dagstack::logger::detail

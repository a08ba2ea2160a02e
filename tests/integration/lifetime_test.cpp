// Lifetime of what the registry publishes: replaced sinks are flushed, closed and destroyed once
// no emit can reach them; short-lived children and old snapshots cost no memory; context guards
// are memory-safe in any end order; a reconfiguration while threads emit never sends a record
// to a sink that was not configured during its emit, nor to a destroyed one.
#include <dirent.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dagstack/logger.hpp"

#include "support/sanitizers.h"

#ifdef DAGSTACK_TEST_SANITIZED
// From the sanitizer runtime's allocator interface (its header ships with Clang, not GCC).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();  // NOLINT
#endif

namespace dl = dagstack::logger;
namespace fs = std::filesystem;

namespace {

// Bytes the allocator has handed out and not taken back (the sanitizer's allocator when there is
// one, glibc's otherwise).
std::size_t heap_in_use() {
#ifdef DAGSTACK_TEST_SANITIZED
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

std::size_t count_entries(const char* dir) {
  std::size_t n = 0;
  DIR* d = ::opendir(dir);
  if (d == nullptr) return 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}
// Minus the descriptor opendir() itself holds while listing.
std::size_t open_fds() { return count_entries("/proc/self/fd") - 1; }
std::size_t threads() { return count_entries("/proc/self/task"); }

std::size_t line_count(const fs::path& p) {
  std::ifstream in(p);
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) ++n;
  }
  return n;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dagstack-lifetime-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void configure_sinks(dl::SinkList sinks) {
  dl::ConfigureOptions o;
  o.sinks = std::move(sinks);
  o.root_level = "INFO";
  dl::configure(o);
}

class LifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override { dl::Logger::reset(); }
  void TearDown() override { dl::Logger::reset(); }
};

// Acceptance: 100 reconfigurations with AsyncSink(FileSink), logging into each; afterwards the
// descriptors and threads are those of the current sink only, and every record is in its file.
TEST_F(LifetimeTest, HundredReconfigurationsLeaveOnlyTheCurrentSinksFilesAndThreads) {
  TempDir dir;
  auto file_for = [&](int i) { return dir.path() / ("log-" + std::to_string(i) + ".jsonl"); };
  auto install = [&](int i) {
    dl::FileSinkOptions f;
    f.path = file_for(i).string();
    configure_sinks({dl::make_async_sink(dl::make_file_sink(f))});
  };
  constexpr int kRecords = 50;
  auto log_into_current = [&](int i) {
    auto log = dl::Logger::get("lifetime.reconfig");
    for (int r = 0; r < kRecords; ++r) log.info("record", {{"sink", i}, {"n", r}});
  };

  // Warm-up: whatever the library starts once per process (none expected) is in the baseline.
  install(-1);
  log_into_current(-1);
  configure_sinks({std::make_shared<dl::InMemorySink>(8)});
  const std::size_t base_fds = open_fds();
  const std::size_t base_threads = threads();

  install(0);
  log_into_current(0);
  const std::size_t one_fds = open_fds() - base_fds;
  const std::size_t one_threads = threads() - base_threads;
  EXPECT_GE(one_fds, 1u);
  EXPECT_GE(one_threads, 1u);

  for (int i = 1; i < 100; ++i) {
    install(i);
    log_into_current(i);
  }
  EXPECT_EQ(open_fds(), base_fds + one_fds) << "replaced file sinks still hold descriptors";
  EXPECT_EQ(threads(), base_threads + one_threads) << "replaced async sinks still run threads";
  // Every replaced sink wrote everything by the time the configure() that replaced it returned.
  for (int i = 0; i < 99; ++i) {
    EXPECT_EQ(line_count(file_for(i)), static_cast<std::size_t>(kRecords)) << "sink " << i;
  }
  configure_sinks({std::make_shared<dl::InMemorySink>(8)});
  EXPECT_EQ(line_count(file_for(99)), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(open_fds(), base_fds);
  EXPECT_EQ(threads(), base_threads);
}

// A buffered FileSink the user no longer holds: configure() returns only after it wrote all.
TEST_F(LifetimeTest, ReplacedBufferedFileSinkHasWrittenEverythingWhenConfigureReturns) {
  TempDir dir;
  const fs::path path = dir.path() / "buffered.jsonl";
  {
    dl::FileSinkOptions f;
    f.path = path.string();
    f.durability = dl::FileDurability::kBuffered;
    f.flush_interval = std::chrono::milliseconds(0);  // no timer: only flush/close write it
    configure_sinks({dl::make_file_sink(f)});
  }
  auto log = dl::Logger::get("lifetime.buffered");
  for (int i = 0; i < 100; ++i) log.info("buffered", {{"n", i}});
  EXPECT_EQ(line_count(path), 0u) << "the test needs the records to sit in the buffer";
  configure_sinks({std::make_shared<dl::InMemorySink>(8)});
  EXPECT_EQ(line_count(path), 100u);
}

// The same sink still held by the user: written when the user's last reference goes.
TEST_F(LifetimeTest, ReplacedFileSinkHeldByTheUserWritesWhenTheLastReferenceGoes) {
  TempDir dir;
  const fs::path path = dir.path() / "held.jsonl";
  dl::FileSinkOptions f;
  f.path = path.string();
  f.durability = dl::FileDurability::kBuffered;
  f.flush_interval = std::chrono::milliseconds(0);
  auto held = dl::make_file_sink(f);
  std::weak_ptr<dl::Sink> watch = held;
  configure_sinks({held});
  auto log = dl::Logger::get("lifetime.held");
  for (int i = 0; i < 100; ++i) log.info("held", {{"n", i}});
  configure_sinks({std::make_shared<dl::InMemorySink>(8)});
  EXPECT_FALSE(watch.expired()) << "the user still holds it";
  held.reset();
  EXPECT_TRUE(watch.expired()) << "the registry kept a replaced sink";
  EXPECT_EQ(line_count(path), 100u);
}

// set_sinks() on a named logger releases the list it replaces, too.
TEST_F(LifetimeTest, SetSinksReleasesTheReplacedSinks) {
  std::weak_ptr<dl::Sink> first;
  auto log = dl::Logger::get("lifetime.set_sinks");
  {
    auto sink = std::make_shared<dl::InMemorySink>(8);
    first = sink;
    log.set_sinks({sink});
  }
  log.info("into the first");
  log.set_sinks({std::make_shared<dl::InMemorySink>(8)});
  EXPECT_TRUE(first.expired());
}

// Acceptance: 1e6 short-lived child() loggers grow the heap by less than 8 MiB after warm-up.
TEST_F(LifetimeTest, MillionShortLivedChildrenCostNoMemory) {
  configure_sinks({std::make_shared<dl::InMemorySink>(4)});
  auto parent = dl::Logger::get("lifetime.request");
  auto make_some = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto child = parent.child({{"request.id", i}});
      if (i % 4096 == 0) child.info("handled");
    }
  };
  make_some(20000);  // warm-up
  const std::size_t before = heap_in_use();
  make_some(1000000);
  const std::size_t after = heap_in_use();
  EXPECT_LT(after, before + 8u * 1024 * 1024) << "before " << before << " after " << after;
}

// Acceptance: 1e5 set_level and 1e5 configure() level toggles grow the heap by less than 8 MiB.
TEST_F(LifetimeTest, HundredThousandLevelTogglesCostNoMemory) {
  configure_sinks({std::make_shared<dl::InMemorySink>(4)});
  auto log = dl::Logger::get("lifetime.toggle");
  auto child = dl::Logger::get("lifetime.toggle.sub");
  auto toggle = [&](int n) {
    for (int i = 0; i < n; ++i) {
      log.set_level(i % 2 == 0 ? "DEBUG" : "WARN");
      dl::ConfigureOptions o;
      o.root_level = i % 2 == 0 ? "INFO" : "ERROR";
      dl::configure(o);
      if (i % 1024 == 0) child.warn("toggled");
    }
  };
  toggle(2000);  // warm-up
  const std::size_t before = heap_in_use();
  toggle(100000);
  const std::size_t after = heap_in_use();
  EXPECT_LT(after, before + 8u * 1024 * 1024) << "before " << before << " after " << after;
}

// ---- reconfiguration while threads emit ---------------------------------------------------

std::atomic<std::uint64_t> g_epoch{0};  // k after the configure() that installed sink k returned
std::atomic<std::uint64_t> g_violations{0};
std::atomic<std::uint64_t> g_received{0};
std::atomic<std::uint64_t> g_destroyed{0};

// Sink k of the stress test: checks that it is alive and that the emit began before the
// configure() that replaced it returned. Thread-safe.
class EpochSink final : public dl::Sink {
 public:
  explicit EpochSink(std::uint64_t k) : k_(k), id_("epoch:" + std::to_string(k)) {}
  ~EpochSink() override {
    state_.store(kDead, std::memory_order_release);
    g_destroyed.fetch_add(1, std::memory_order_relaxed);
  }
  std::string_view id() const noexcept override { return id_; }
  void emit(const dl::LogRecord& record) override {
    if (state_.load(std::memory_order_acquire) != kAlive) {
      g_violations.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::optional<std::uint64_t> began;
    for (const dl::Attribute& a : record.attributes) {
      if (a.key == "epoch" && a.value.kind() == dl::AttrValue::Kind::kInt) {
        began = static_cast<std::uint64_t>(a.value.as_int());
      }
    }
    if (!began) return;  // not a counted record
    // Sink k is current from inside configure(k) (epoch k-1) until configure(k+1) returned
    // (epoch k+1): an emit that began at epoch k+1 or later must not reach it, and it cannot
    // receive anything before it was published.
    if (*began > k_ || k_ > g_epoch.load(std::memory_order_acquire) + 1) {
      g_violations.fetch_add(1, std::memory_order_relaxed);
    }
    g_received.fetch_add(1, std::memory_order_relaxed);
  }
  dl::FlushResult flush(std::chrono::milliseconds) override { return dl::FlushResult::ok(); }
  void close() override {}

 private:
  static constexpr std::uint32_t kAlive = 0xA11FE;
  static constexpr std::uint32_t kDead = 0xDEAD;
  std::atomic<std::uint32_t> state_{kAlive};
  const std::uint64_t k_;
  const std::string id_;
};

// Acceptance: 4 threads emit through Logger::get and children while another reconfigures sinks
// and levels 10,000 times; every counted record reaches exactly one sink that was configured
// during its emit, and none reaches a destroyed sink.
TEST_F(LifetimeTest, ReconfigurationWhileFourThreadsEmit) {
  g_epoch = 0;
  g_violations = 0;
  g_received = 0;
  g_destroyed = 0;
  constexpr std::uint64_t kReconfigurations = 10000;
  configure_sinks({std::make_shared<EpochSink>(0)});

  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> emitted{0};
  std::vector<std::thread> emitters;
  for (int t = 0; t < 4; ++t) {
    emitters.emplace_back([&, t] {
      std::uint64_t n = 0;
      while (!done.load(std::memory_order_acquire)) {
        const auto began = static_cast<std::int64_t>(g_epoch.load(std::memory_order_acquire));
        if (n % 3 == 0) {
          dl::Logger::get("stress").error("counted", {{"epoch", began}, {"thread", t}});
        } else if (n % 3 == 1) {
          dl::Logger::get("stress.sub")
              .child({{"n", static_cast<std::int64_t>(n)}})
              .error("counted", {{"epoch", began}});
        } else {
          auto log = dl::Logger::get("stress.sub.deep");
          log.debug("level-dependent, not counted");
          log.error("counted", {{"epoch", began}});
        }
        ++n;
      }
      emitted.fetch_add(n, std::memory_order_relaxed);
    });
  }
  std::thread reconfigurer([&] {
    for (std::uint64_t k = 1; k <= kReconfigurations; ++k) {
      dl::ConfigureOptions o;
      o.sinks = dl::SinkList{std::make_shared<EpochSink>(k)};
      o.root_level = k % 2 == 0 ? "INFO" : "WARN";
      dl::configure(o);
      dl::Logger::get("stress.sub").set_level(k % 3 == 0 ? "DEBUG" : "ERROR");
      g_epoch.store(k, std::memory_order_release);
    }
    done.store(true, std::memory_order_release);
  });
  reconfigurer.join();
  for (auto& t : emitters) t.join();

  configure_sinks({std::make_shared<dl::InMemorySink>(4)});  // replaces the last EpochSink
  EXPECT_EQ(g_violations.load(), 0u);
  EXPECT_EQ(g_received.load(), emitted.load()) << "every counted record reached one sink";
  EXPECT_GT(emitted.load(), 0u);
  EXPECT_EQ(g_destroyed.load(), kReconfigurations + 1) << "a replaced sink was never destroyed";
}

// ---- out-of-order ends --------------------------------------------------------------------

// One guard of each kind, opened in one order and ended in another: every pair of orders runs,
// with a log call after every step. Memory safety is the sanitizer's to check (this test runs in
// the ASan build); the test checks that LIFO ends restore exactly and that after any order the
// thread can open guards and spans afresh.
TEST_F(LifetimeTest, EveryEndOrderOfSpansScopedContextsAndScopedSinks) {
  auto root_sink = std::make_shared<dl::InMemorySink>(100000);
  configure_sinks({root_sink});
  auto log = dl::Logger::get("lifetime.order");
  std::array<int, 3> open_order{0, 1, 2};
  int cases = 0;
  do {
    std::array<int, 3> end_order{0, 1, 2};
    do {
      // Each case starts from the empty context (and this guard, ended last, restores it).
      dl::ScopedContext base{dl::Context()};
      auto scoped_sink = std::make_shared<dl::InMemorySink>(1000);
      std::optional<dl::Span> span;
      std::unique_ptr<dl::ScopedContext> context;
      std::unique_ptr<dl::ScopedSinks> sinks;
      for (int g : open_order) {
        if (g == 0) {
          span.emplace("order.span");
        } else if (g == 1) {
          const dl::Context other =
              dl::Context::with_span(dl::new_trace_id(), dl::new_span_id()).set_baggage("k", "v");
          context = std::make_unique<dl::ScopedContext>(other);
        } else {
          sinks = std::make_unique<dl::ScopedSinks>(log.scope_sinks({scoped_sink}));
        }
        log.info("opened");
      }
      for (int g : end_order) {
        if (g == 0) {
          span.reset();
        } else if (g == 1) {
          context.reset();
        } else {
          sinks.reset();
        }
        log.info("ended");
      }
      const bool lifo = end_order[0] == open_order[2] && end_order[2] == open_order[0];
      if (lifo) {
        EXPECT_FALSE(dl::Context::current().has_span());
        const std::size_t before = root_sink->size();
        log.info("after");
        EXPECT_EQ(root_sink->size(), before + 1) << "LIFO ends restore the root routing";
      }
      // Whatever the order, the thread can start afresh: a LIFO guard over an empty context.
      {
        dl::ScopedContext clean{dl::Context()};
        dl::Span fresh("order.fresh");
        EXPECT_TRUE(fresh.context().has_span());
        log.info("inside a fresh span");
      }
      ++cases;
    } while (std::next_permutation(end_order.begin(), end_order.end()));
  } while (std::next_permutation(open_order.begin(), open_order.end()));
  EXPECT_EQ(cases, 36);
}

// Spans of one thread ended in every order of three, and nested guards of one kind reversed.
TEST_F(LifetimeTest, NestedGuardsOfOneKindEndedOutOfOrder) {
  configure_sinks({std::make_shared<dl::InMemorySink>(1000)});
  auto log = dl::Logger::get("lifetime.nested");
  {
    auto a = std::make_unique<dl::Span>("a");
    auto b = std::make_unique<dl::Span>("b");
    auto c = std::make_unique<dl::Span>("c");
    EXPECT_EQ(c->parent_span_id(), b->span_id());
    a.reset();
    log.info("after a");
    c.reset();
    log.info("after c");
    b.reset();
    log.info("after b");
  }
  {
    auto s1 = std::make_shared<dl::InMemorySink>(10);
    auto s2 = std::make_shared<dl::InMemorySink>(10);
    auto g1 = std::make_unique<dl::ScopedSinks>(log.scope_sinks({s1}));
    auto g2 = std::make_unique<dl::ScopedSinks>(log.scope_sinks({s2}));
    log.info("to s2");
    EXPECT_EQ(s2->size(), 1u);
    g1.reset();  // out of order: brings back the routing before g1 (documented)
    log.info("after g1");
    g2.reset();  // brings back the routing g1 had set up; s1 is still alive (owned context)
    log.info("after g2");
    s1.reset();
    s2.reset();
    log.info("sinks released by the test");
  }
}

// Level owns its text: one made from a temporary string is valid after the string is gone.
TEST_F(LifetimeTest, LevelFromATemporaryString) {
  auto make_name = [] { return std::string("WARN") + std::string(64, '\0').substr(0, 0); };
  dl::ConfigureOptions o;
  o.root_level.emplace(make_name());
  o.per_logger_levels.emplace("lifetime.level", dl::Level(std::string("DEBUG")));
  dl::configure(o);
  EXPECT_EQ(dl::Logger::get().effective_level(), 13);
  EXPECT_EQ(dl::Logger::get("lifetime.level").effective_level(), 5);
}

}  // namespace

// Scoped sink overrides (DESIGN §4.6): per thread/context, captured through Logger::get, LIFO.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"

namespace dl = dagstack::logger;

namespace {
// Code under test that looks its logger up itself, as application code does.
void handle_order(int id) { dl::Logger::get("shop.orders.handler").info("order handled", {{"order.id", id}}); }
}  // namespace

class ScopeSinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dl::Logger::reset();
    base_ = std::make_shared<dl::InMemorySink>(1000);
    dl::ConfigureOptions o;
    o.sinks = dl::SinkList{base_};
    dl::configure(o);
  }
  void TearDown() override { dl::Logger::reset(); }
  std::shared_ptr<dl::InMemorySink> base_;
};

TEST_F(ScopeSinksTest, BeforeDuringAfter) {
  auto log = dl::Logger::get("shop");
  auto scoped = std::make_shared<dl::InMemorySink>(10);
  log.info("before");
  {
    auto guard = log.scope_sinks({scoped});
    log.info("during");
    EXPECT_EQ(guard.logger(), log);
  }
  log.info("after");
  ASSERT_EQ(scoped->size(), 1u);
  EXPECT_EQ(scoped->records()[0].body.as_string(), "during");
  ASSERT_EQ(base_->size(), 2u);
  EXPECT_EQ(base_->records()[0].body.as_string(), "before");
  EXPECT_EQ(base_->records()[1].body.as_string(), "after");
}

TEST_F(ScopeSinksTest, CapturesChildrenThatCallGetThemselves) {
  auto scoped = std::make_shared<dl::InMemorySink>(10);
  {
    auto guard = dl::Logger::get("shop").scope_sinks({scoped});
    handle_order(7);
    dl::Logger::get("shop").child({{"k", 1}}).info("bound child");
    dl::Logger::get("other").info("not under shop");
  }
  ASSERT_EQ(scoped->size(), 2u);
  EXPECT_EQ(scoped->records()[0].attribute("order.id")->as_int(), 7);
  EXPECT_EQ(base_->size(), 1u);
  EXPECT_EQ(base_->records()[0].body.as_string(), "not under shop");
}

TEST_F(ScopeSinksTest, ANodeWithItsOwnSinksIsNotCaptured) {
  auto own = std::make_shared<dl::InMemorySink>(10);
  dl::Logger::get("shop.audit").set_sinks({own});
  auto scoped = std::make_shared<dl::InMemorySink>(10);
  {
    auto guard = dl::Logger::get("shop").scope_sinks({scoped});
    dl::Logger::get("shop.audit").info("audit");
  }
  EXPECT_EQ(own->size(), 1u);
  EXPECT_EQ(scoped->size(), 0u);
}

TEST_F(ScopeSinksTest, NestedScopesRestoreLifo) {
  auto log = dl::Logger::get("shop");
  auto outer = std::make_shared<dl::InMemorySink>(10);
  auto inner = std::make_shared<dl::InMemorySink>(10);
  {
    auto g1 = log.scope_sinks({outer});
    log.info("1");
    {
      auto g2 = log.scope_sinks({inner});
      log.info("2");
    }
    log.info("3");
  }
  EXPECT_EQ(outer->size(), 2u);
  EXPECT_EQ(inner->size(), 1u);
  EXPECT_EQ(base_->size(), 0u);
}

TEST_F(ScopeSinksTest, TwoThreadsWithTheirOwnScopesNeverSeeEachOthersRecords) {
  constexpr int kPerThread = 500;
  auto a = std::make_shared<dl::InMemorySink>(10000);
  auto b = std::make_shared<dl::InMemorySink>(10000);
  std::barrier sync(2);
  auto worker = [&](std::shared_ptr<dl::InMemorySink> sink, int base_id) {
    auto guard = dl::Logger::get("shop").scope_sinks({sink});
    sync.arrive_and_wait();  // both scopes are open at the same time
    for (int i = 0; i < kPerThread; ++i) handle_order(base_id + i);
    sync.arrive_and_wait();
  };
  std::thread t1(worker, a, 0);
  std::thread t2(worker, b, 100000);
  t1.join();
  t2.join();
  ASSERT_EQ(a->size(), static_cast<std::size_t>(kPerThread));
  ASSERT_EQ(b->size(), static_cast<std::size_t>(kPerThread));
  for (const auto& r : a->records()) EXPECT_LT(r.attribute("order.id")->as_int(), 100000);
  for (const auto& r : b->records()) EXPECT_GE(r.attribute("order.id")->as_int(), 100000);
  EXPECT_EQ(base_->size(), 0u);
}

TEST_F(ScopeSinksTest, ScopeTravelsWithAHandedOnContext) {
  auto scoped = std::make_shared<dl::InMemorySink>(10);
  {
    auto guard = dl::Logger::get("shop").scope_sinks({scoped});
    dl::Context captured = dl::Context::current();
    std::thread worker([captured] {
      dl::ScopedContext attach(captured);
      handle_order(1);
    });
    worker.join();
  }
  EXPECT_EQ(scoped->size(), 1u);
  EXPECT_EQ(base_->size(), 0u);
}

TEST_F(ScopeSinksTest, GuardIsMovable) {
  auto scoped = std::make_shared<dl::InMemorySink>(10);
  auto make = [&] { return dl::Logger::get("shop").scope_sinks({scoped}); };
  {
    dl::ScopedSinks guard = make();
    handle_order(3);
  }
  handle_order(4);
  EXPECT_EQ(scoped->size(), 1u);
  EXPECT_EQ(base_->size(), 1u);
}

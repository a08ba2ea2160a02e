// context_test.cpp: the thread's current Context, ScopedContext, capture-and-attach across
// threads (bind_context), baggage injection, without_context() and the *_ctx variants
// (contract §5, DESIGN §4.5).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/bind_context.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"

namespace dagstack::logger {
namespace {

const TraceId kTraceA = TraceId::from_hex("0123456789abcdef0123456789abcdef");
const SpanId kSpanA = SpanId::from_hex("0123456789abcdef");
const TraceId kTraceB = TraceId::from_hex("fedcba9876543210fedcba9876543210");
const SpanId kSpanB = SpanId::from_hex("fedcba9876543210");

class ContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    sink_ = std::make_shared<InMemorySink>(1000);
    ConfigureOptions o;
    o.sinks = SinkList{sink_};
    configure(o);
    log_ = Logger::get("ctx.test");  // a handle into the fresh tree
  }
  void TearDown() override { Logger::reset(); }

  OwnedLogRecord last() const {
    const auto records = sink_->records();
    EXPECT_FALSE(records.empty());
    return records.empty() ? OwnedLogRecord{} : records.back();
  }

  std::shared_ptr<InMemorySink> sink_;
  Logger log_ = Logger::get("ctx.test");
};

// The last JSON line, or "" when there is none.
std::string last_line(const InMemorySink& sink) {
  const auto lines = sink.lines();
  return lines.empty() ? std::string() : lines.back();
}

TEST_F(ContextTest, EmptyByDefault) {
  const Context c = Context::current();
  EXPECT_FALSE(c.has_span());
  EXPECT_FALSE(c.trace_id().valid());
  EXPECT_TRUE(c.baggage().empty());
  EXPECT_EQ(c.trace_state(), "");
  log_.info("outside");
  const OwnedLogRecord r = last();
  EXPECT_FALSE(r.trace_id.valid());
  EXPECT_FALSE(r.span_id.valid());
  EXPECT_EQ(r.trace_flags, 0);
  // Absent, never zeros, on the wire.
  const std::string line = last_line(*sink_);
  EXPECT_EQ(line.find("trace_id"), std::string::npos);
  EXPECT_EQ(line.find("span_id"), std::string::npos);
  EXPECT_EQ(line.find("trace_flags"), std::string::npos);
}

TEST_F(ContextTest, ScopedContextInjectsIdsAndRestores) {
  {
    ScopedContext scope(Context::with_span(kTraceA, kSpanA));
    EXPECT_EQ(Context::current().span_id(), kSpanA);
    log_.info("inside");
    EXPECT_EQ(last().trace_id, kTraceA);
    EXPECT_EQ(last().span_id, kSpanA);
    EXPECT_EQ(last().trace_flags, 1);
  }
  EXPECT_FALSE(Context::current().has_span());
  log_.info("after");
  EXPECT_FALSE(last().trace_id.valid());
}

TEST_F(ContextTest, NestingOverridesAndRestoresTheOuterContext) {
  ScopedContext outer(Context::with_span(kTraceA, kSpanA));
  {
    ScopedContext inner(Context::with_span(kTraceB, kSpanB));
    log_.info("inner");
    EXPECT_EQ(last().trace_id, kTraceB);
    EXPECT_EQ(last().span_id, kSpanB);
    {
      ScopedContext empty{Context()};
      log_.info("explicitly empty");
      EXPECT_FALSE(last().trace_id.valid());
    }
    log_.info("inner again");
    EXPECT_EQ(last().span_id, kSpanB);
  }
  log_.info("outer");
  EXPECT_EQ(last().trace_id, kTraceA);
  EXPECT_EQ(last().span_id, kSpanA);
}

TEST_F(ContextTest, UnsampledSpanHasIdsButNoFlagsKey) {
  ScopedContext scope(Context::with_span(kTraceA, kSpanA, 0));
  log_.info("unsampled");
  const std::string line = last_line(*sink_);
  EXPECT_NE(line.find("\"trace_id\":\"0123456789abcdef0123456789abcdef\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"span_id\":\"0123456789abcdef\""), std::string::npos) << line;
  EXPECT_EQ(line.find("trace_flags"), std::string::npos) << line;
}

TEST_F(ContextTest, ThreadsAreIsolated) {
  std::latch both_inside(2);
  std::latch both_logged(2);
  std::atomic<bool> b_saw_span{true};
  std::thread a([&] {
    ScopedContext scope(Context::with_span(kTraceA, kSpanA));
    both_inside.arrive_and_wait();
    log_.info("from a");
    both_logged.arrive_and_wait();
  });
  std::thread b([&] {
    both_inside.arrive_and_wait();  // a's context is current on a right now
    b_saw_span = Context::current().has_span();
    log_.info("from b");
    both_logged.arrive_and_wait();
  });
  a.join();
  b.join();
  EXPECT_FALSE(b_saw_span.load());
  int with_ids = 0;
  for (const auto& r : sink_->records()) {
    if (r.body == Value("from a")) {
      EXPECT_EQ(r.span_id, kSpanA);
      ++with_ids;
    } else {
      EXPECT_FALSE(r.trace_id.valid());
    }
  }
  EXPECT_EQ(with_ids, 1);
  EXPECT_EQ(sink_->size(), 2u);
}

TEST_F(ContextTest, CaptureAndAttachOnAnotherThread) {
  ScopedContext scope(Context::with_span(kTraceA, kSpanA).set_baggage("tenant.id", "acme"));
  const Context captured = Context::current();
  std::thread worker([&, captured] {
    EXPECT_FALSE(Context::current().has_span());  // a new thread starts empty
    ScopedContext attach(captured);
    log_.info("on the worker");
  });
  worker.join();
  const OwnedLogRecord r = last();
  EXPECT_EQ(r.trace_id, kTraceA);
  EXPECT_EQ(r.span_id, kSpanA);
  ASSERT_NE(r.attribute("tenant.id"), nullptr);
  EXPECT_EQ(*r.attribute("tenant.id"), Value("acme"));
}

TEST_F(ContextTest, BindContextRunsUnderTheCapturedContext) {
  std::function<int(int)> task;
  {
    ScopedContext scope(Context::with_span(kTraceB, kSpanB));
    task = bind_context([this](int x) {
      log_.info("bound");
      return x * 2;
    });
  }
  int result = 0;
  std::thread worker([&] {
    ScopedContext own(Context::with_span(kTraceA, kSpanA));
    result = task(21);
    // The worker's own context is back after the call.
    EXPECT_EQ(Context::current().span_id(), kSpanA);
  });
  worker.join();
  EXPECT_EQ(result, 42);
  EXPECT_EQ(last().span_id, kSpanB);
  EXPECT_EQ(last().trace_id, kTraceB);
}

TEST_F(ContextTest, BindContextRestoresWhenTheCallableThrows) {
  auto task = bind_context(Context::with_span(kTraceA, kSpanA), [] { throw std::runtime_error("fail"); });
  EXPECT_THROW(task(), std::runtime_error);
  EXPECT_FALSE(Context::current().has_span());
}

TEST_F(ContextTest, BindContextWithExplicitContextAndMutableState) {
  int calls = 0;
  auto task = bind_context(Context::with_span(kTraceA, kSpanA), [&calls]() mutable {
    ++calls;
    return Context::current().span_id();
  });
  EXPECT_EQ(task(), kSpanA);
  EXPECT_EQ(task(), kSpanA);
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(Context::current().has_span());
}

TEST_F(ContextTest, BaggageAllowListIsSetIfAbsent) {
  ScopedContext scope(Context()
                          .set_baggage("tenant.id", "acme")
                          .set_baggage("request.id", "r-1")
                          .set_baggage("user.id", "u-7")
                          .set_baggage("custom.key", "nope"));
  log_.info("with baggage", {{"request.id", "explicit"}});
  const OwnedLogRecord r = last();
  EXPECT_EQ(*r.attribute("tenant.id"), Value("acme"));
  EXPECT_EQ(*r.attribute("user.id"), Value("u-7"));
  EXPECT_EQ(*r.attribute("request.id"), Value("explicit"));  // never overrides
  EXPECT_EQ(r.attribute("custom.key"), nullptr);             // not on the allow-list
  EXPECT_FALSE(r.trace_id.valid());                          // baggage alone has no span
}

TEST_F(ContextTest, BoundAttributesAlsoBeatBaggage) {
  Logger child = log_.child({{"tenant.id", "bound"}});
  ScopedContext scope(Context().set_baggage("tenant.id", "from-baggage"));
  child.info("x");
  EXPECT_EQ(*last().attribute("tenant.id"), Value("bound"));
}

TEST_F(ContextTest, BaggageKeysAreConfigurable) {
  ConfigureOptions o;
  o.baggage_keys = std::vector<std::string>{"custom.key", "session.id"};
  configure(o);
  ScopedContext scope(Context().set_baggage("tenant.id", "acme").set_baggage("custom.key", "yes").set_baggage("session.id", "s"));
  log_.info("x");
  const OwnedLogRecord r = last();
  EXPECT_EQ(r.attribute("tenant.id"), nullptr);
  EXPECT_EQ(*r.attribute("custom.key"), Value("yes"));
  EXPECT_EQ(*r.attribute("session.id"), Value("s"));
  // An empty list turns baggage injection off; reset() restores the defaults.
  o.baggage_keys = std::vector<std::string>{};
  configure(o);
  log_.info("y");
  EXPECT_EQ(last().attribute("custom.key"), nullptr);
}

TEST_F(ContextTest, BaggageKeysValidation) {
  ConfigureOptions o;
  o.baggage_keys = std::vector<std::string>{"ok", ""};
  EXPECT_THROW(configure(o), ConfigError);
}

TEST_F(ContextTest, WithoutContextSkipsTraceAndBaggage) {
  ScopedContext scope(Context::with_span(kTraceA, kSpanA).set_baggage("tenant.id", "acme"));
  Logger quiet = log_.without_context();
  quiet.info("opted out");
  OwnedLogRecord r = last();
  EXPECT_FALSE(r.trace_id.valid());
  EXPECT_EQ(r.attribute("tenant.id"), nullptr);
  // Children of the opted-out handle read the context again.
  quiet.child({}).info("child");
  r = last();
  EXPECT_EQ(r.span_id, kSpanA);
  EXPECT_EQ(*r.attribute("tenant.id"), Value("acme"));
  // The original handle is unaffected.
  log_.info("original");
  EXPECT_EQ(last().span_id, kSpanA);
}

TEST_F(ContextTest, WithoutContextStillHonoursAnExplicitContext) {
  ScopedContext scope(Context::with_span(kTraceA, kSpanA));
  log_.without_context().info_ctx(Context::with_span(kTraceB, kSpanB), "explicit");
  EXPECT_EQ(last().span_id, kSpanB);
}

TEST_F(ContextTest, CtxVariantsIgnoreTheAmbientContextEvenWithTheFlagOn) {
  ConfigureOptions o;
  o.auto_inject_trace_context = true;
  configure(o);
  ScopedContext scope(Context::with_span(kTraceA, kSpanA).set_baggage("tenant.id", "ambient"));
  const Context explicit_ctx = Context::with_span(kTraceB, kSpanB).set_baggage("user.id", "u");
  log_.info_ctx(explicit_ctx, "b");
  OwnedLogRecord r = last();
  EXPECT_EQ(r.trace_id, kTraceB);
  EXPECT_EQ(r.span_id, kSpanB);
  EXPECT_EQ(*r.attribute("user.id"), Value("u"));
  EXPECT_EQ(r.attribute("tenant.id"), nullptr);
  // An empty explicit context means no ids, whatever is ambient.
  log_.warn_ctx(Context(), "none");
  r = last();
  EXPECT_FALSE(r.trace_id.valid());
  EXPECT_EQ(r.attribute("tenant.id"), nullptr);
  // Every severity variant, and log_ctx at an intermediate number.
  log_.trace_ctx(explicit_ctx, "t");
  log_.debug_ctx(explicit_ctx, "d");
  log_.error_ctx(explicit_ctx, "e");
  log_.fatal_ctx(explicit_ctx, "f");
  log_.log_ctx(explicit_ctx, 11, "eleven");
  const auto records = sink_->records();
  ASSERT_GE(records.size(), 4u);
  const OwnedLogRecord& eleven = records.back();
  EXPECT_EQ(eleven.severity_number, 11);
  EXPECT_EQ(eleven.severity_text(), "INFO");
  EXPECT_EQ(eleven.span_id, kSpanB);
  for (std::size_t i = records.size() - 3; i < records.size(); ++i) EXPECT_EQ(records[i].span_id, kSpanB);
}

TEST_F(ContextTest, AutoInjectOffSkipsAmbientButNotExplicit) {
  ConfigureOptions o;
  o.auto_inject_trace_context = false;
  configure(o);
  ScopedContext scope(Context::with_span(kTraceA, kSpanA).set_baggage("tenant.id", "acme"));
  log_.info("plain");
  EXPECT_FALSE(last().trace_id.valid());
  EXPECT_EQ(last().attribute("tenant.id"), nullptr);
  log_.info_ctx(Context::current(), "explicit current");
  EXPECT_EQ(last().span_id, kSpanA);
  EXPECT_EQ(*last().attribute("tenant.id"), Value("acme"));
  // reset() restores the default (true).
  Logger::reset();
  auto sink = std::make_shared<InMemorySink>(10);
  Logger::get().set_sinks({sink});
  Logger::get("x").info("after reset");
  ASSERT_EQ(sink->size(), 1u);
  EXPECT_EQ(sink->records()[0].span_id, kSpanA);
}

TEST_F(ContextTest, ExceptionCtxUsesTheExplicitContext) {
  ScopedContext scope(Context::with_span(kTraceA, kSpanA));
  log_.exception_ctx(Context::with_span(kTraceB, kSpanB), std::runtime_error("x"));
  EXPECT_EQ(last().span_id, kSpanB);
  EXPECT_EQ(last().severity_number, kSeverityError);
}

TEST_F(ContextTest, ContextIsAnImmutableValue) {
  const Context base = Context::with_span(kTraceA, kSpanA, 1);
  const Context with_bag = base.set_baggage("k", "v1");
  const Context replaced = with_bag.set_baggage("k", "v2").set_baggage("k2", "x");
  EXPECT_TRUE(base.baggage().empty());
  EXPECT_EQ(*with_bag.baggage_value("k"), "v1");
  EXPECT_EQ(*replaced.baggage_value("k"), "v2");
  ASSERT_EQ(replaced.baggage().size(), 2u);
  EXPECT_EQ(replaced.baggage()[0].first, "k");  // insertion order kept on replace
  EXPECT_FALSE(replaced.baggage_value("missing").has_value());
  const Context cleared = replaced.clear_span();
  EXPECT_FALSE(cleared.has_span());
  EXPECT_EQ(cleared.baggage().size(), 2u);
  EXPECT_TRUE(replaced.has_span());
  const Context moved_span = base.set_span(kTraceB, kSpanB, 0);
  EXPECT_EQ(moved_span.trace_id(), kTraceB);
  EXPECT_EQ(moved_span.trace_flags(), 0);
  EXPECT_EQ(base.trace_id(), kTraceA);
}

TEST_F(ContextTest, TraceStateIsValidatedAndNormalised) {
  const Context c = Context::with_span(kTraceA, kSpanA).set_trace_state(" congo=t61rcWkgMzE , rojo=00f067aa0ba902b7 ");
  EXPECT_EQ(c.trace_state(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_THROW(c.set_trace_state("Bad=1"), std::invalid_argument);
  EXPECT_EQ(c.set_trace_state("").trace_state(), "");
  EXPECT_EQ(c.clear_span().trace_state(), "");  // the state belongs to the span
}

TEST_F(ContextTest, CurrentContextOutlivesItsGuardSafely) {
  // Context::current() shares the data, so it stays valid after the guard is gone.
  Context captured;
  {
    ScopedContext scope(Context::with_span(kTraceA, kSpanA).set_baggage("tenant.id", "acme"));
    captured = Context::current();
  }
  EXPECT_EQ(captured.span_id(), kSpanA);
  EXPECT_EQ(*captured.baggage_value("tenant.id"), "acme");
}

}  // namespace
}  // namespace dagstack::logger

// span_tree_threads_test.cpp: several threads handle requests, each a span tree with a
// cross-thread child (the context is captured and attached on a worker thread), writing span and
// ordinary records to a real JSON-lines file through FileSink; the trees are then rebuilt from
// the file and checked for parentage, counts, statuses and the records inside each span, with a
// crashed (never-ended) span and a torn last line in the mix.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/bind_context.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/file_sink.h"
#include "dagstack/logger/span.h"
#include "dagstack/logger/span_tree.h"

namespace dagstack::logger {
namespace {

namespace fs = std::filesystem;

constexpr int kThreads = 4;
constexpr int kRequestsPerThread = 6;
constexpr int kRequests = kThreads * kRequestsPerThread;

class SpanTreeThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::reset();
    dir_ = fs::temp_directory_path() /
           ("dagstack_span_tree_" + std::to_string(std::random_device{}()) + "_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    fs::create_directories(dir_);
    path_ = (dir_ / "trace.jsonl").string();
  }
  void TearDown() override {
    Logger::reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path dir_;
  std::string path_;
};

// One request: request -> {validate, db_query -> cache_lookup, worker_task (on another thread)}.
// Every third request fails in db_query.
void handle_request(int id, Logger& log) {
  Span request("request", {.kind = "server", .attributes = {{"request.id", id}}});
  log.info("request received", {{"request.id", id}});
  {
    Span validate("validate");
    log.debug("validating");
  }
  {
    Span db("db_query", {.kind = "client"});
    {
      Span cache("cache_lookup");
      cache.set_attribute("cache.hit", id % 2 == 0);
    }
    log.info("query sent");
    if (id % 3 == 0) {
      try {
        throw std::runtime_error("deadlock detected");
      } catch (const std::exception& e) {
        db.record_exception(e);
        log.exception(e);
      }
    }
  }
  // Hand work to another thread with the request's context.
  std::thread worker(bind_context([&log, id] {
    Span task("worker_task");
    log.info("working on the side", {{"request.id", id}});
    task.set_status(SpanStatus::kOk);
  }));
  worker.join();
  log.info("request done");
}

TEST_F(SpanTreeThreadsTest, RebuildsEveryTraceFromTheFile) {
  auto sink = make_file_sink({.path = path_});
  ConfigureOptions o;
  o.sinks = SinkList{sink};
  o.root_level = "DEBUG";
  configure(o);
  Logger log = Logger::get("svc.api");

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &log] {
      for (int i = 0; i < kRequestsPerThread; ++i) handle_request(t * kRequestsPerThread + i, log);
    });
  }
  for (auto& th : threads) th.join();

  // A span whose process died before it ended: only its start record exists.
  const TraceId crashed_trace = new_trace_id();
  const SpanId crashed_span = new_span_id();
  Logger::get(kTraceLoggerName)
      .info_ctx(Context::with_span(crashed_trace, crashed_span), "crashed_job",
                {{"dagstack.span.event", "start"},
                 {"operation.name", "crashed_job"},
                 {"operation.id", crashed_span.to_hex()},
                 {"operation.kind", "internal"}});
  Logger::get("svc.jobs").info_ctx(Context::with_span(crashed_trace, crashed_span), "last words");
  // A record outside any trace is ignored by the reader.
  log.info("no trace here");
  sink->close();
  // And the file's last line was torn by the crash.
  {
    std::ofstream append(path_, std::ios::app);
    append << R"({"body":"torn","severity_nu)";
  }

  std::size_t skipped = 0;
  const std::vector<TraceTree> traces = build_span_trees_from_file(path_, &skipped);
  EXPECT_EQ(skipped, 1u);
  ASSERT_EQ(traces.size(), static_cast<std::size_t>(kRequests + 1));

  std::map<std::int64_t, const TraceTree*> by_request;
  const TraceTree* crashed = nullptr;
  for (const auto& t : traces) {
    if (t.trace_id == crashed_trace) {
      crashed = &t;
      continue;
    }
    ASSERT_EQ(t.roots.size(), 1u);
    const SpanNode& root = t.roots[0];
    ASSERT_EQ(root.name, "request");
    ASSERT_NE(root.attributes.find("request.id"), root.attributes.end());
    by_request[root.attributes.at("request.id").as_int()] = &t;
  }
  ASSERT_EQ(by_request.size(), static_cast<std::size_t>(kRequests));

  int errors = 0;
  for (const auto& [id, trace] : by_request) {
    SCOPED_TRACE("request " + std::to_string(id));
    EXPECT_EQ(trace->span_count(), 5u);
    EXPECT_TRUE(trace->unattached_records.empty());
    const SpanNode& root = trace->roots[0];
    EXPECT_EQ(root.kind, "server");
    EXPECT_FALSE(root.parent_span_id.valid());
    EXPECT_TRUE(root.has_start);
    EXPECT_TRUE(root.ended());
    EXPECT_EQ(root.status, "ok");
    ASSERT_TRUE(root.duration_ns.has_value());
    EXPECT_GE(*root.duration_ns, 0);
    // Children in start order: validate, db_query, worker_task (opened on another thread).
    ASSERT_EQ(root.children.size(), 3u);
    EXPECT_EQ(root.children[0].name, "validate");
    EXPECT_EQ(root.children[1].name, "db_query");
    EXPECT_EQ(root.children[2].name, "worker_task");
    for (const auto& child : root.children) {
      EXPECT_EQ(child.parent_span_id, root.span_id);
      EXPECT_EQ(child.trace_id, trace->trace_id);
    }
    // Records inside each span.
    ASSERT_EQ(root.records.size(), 2u);
    EXPECT_EQ(root.records[0].body, Value("request received"));
    EXPECT_EQ(root.records[1].body, Value("request done"));
    ASSERT_EQ(root.children[0].records.size(), 1u);
    EXPECT_EQ(root.children[0].records[0].body, Value("validating"));
    const SpanNode& db = root.children[1];
    EXPECT_EQ(db.kind, "client");
    ASSERT_EQ(db.children.size(), 1u);
    EXPECT_EQ(db.children[0].name, "cache_lookup");
    EXPECT_EQ(db.children[0].parent_span_id, db.span_id);
    EXPECT_EQ(db.children[0].attributes.at("cache.hit"), Value(id % 2 == 0));
    if (id % 3 == 0) {
      ++errors;
      EXPECT_EQ(db.status, "error");
      EXPECT_EQ(db.status_message, "deadlock detected");
      EXPECT_EQ(db.attributes.at("exception.type"), Value("std::runtime_error"));
      ASSERT_EQ(db.records.size(), 2u);  // "query sent" + the exception record
      EXPECT_EQ(db.records[1].severity_number, kSeverityError);
    } else {
      EXPECT_EQ(db.status, "ok");
      EXPECT_EQ(db.records.size(), 1u);
    }
    const SpanNode& worker = root.children[2];
    EXPECT_EQ(worker.status, "ok");
    ASSERT_EQ(worker.records.size(), 1u);
    EXPECT_EQ(worker.records[0].attribute("request.id")->as_int(), id);
    EXPECT_EQ(trace->find(worker.span_id), &worker);
  }
  EXPECT_EQ(errors, kRequests / 3);

  ASSERT_NE(crashed, nullptr);
  ASSERT_EQ(crashed->roots.size(), 1u);
  const SpanNode& job = crashed->roots[0];
  EXPECT_EQ(job.name, "crashed_job");
  EXPECT_TRUE(job.has_start);
  EXPECT_FALSE(job.ended());
  EXPECT_EQ(job.status, "");
  EXPECT_FALSE(job.duration_ns.has_value());
  ASSERT_EQ(job.records.size(), 1u);
  EXPECT_EQ(job.records[0].body, Value("last words"));
}

TEST_F(SpanTreeThreadsTest, MissingFileThrows) {
  EXPECT_THROW(build_span_trees_from_file((dir_ / "absent.jsonl").string()), std::runtime_error);
}

}  // namespace
}  // namespace dagstack::logger

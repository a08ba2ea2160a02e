// render_test.cpp: the run/span tree and JSON-lines views, and the northstar-local command line
// (serve with a port file and clean SIGINT/SIGTERM shutdown, tree, dump, hash, usage errors).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support.h"

#ifndef NORTHSTAR_LOCAL_BINARY
#error "NORTHSTAR_LOCAL_BINARY must name the northstar-local executable"
#endif

extern char** environ;

namespace nsl_test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string q(const std::string& text) { return "\"" + text + "\""; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class RenderTest : public ServerTest {};

TEST_F(RenderTest, TreeOfTheExamplePayload) {
  ASSERT_EQ(post(example_payload()).status, 200);
  const std::string project = server_->project_id_for(kKey);
  const std::string expected =
      "run \"support-agent\" [ok] 2500.000 ms  tokens in=1200 out=85  cost=$0.003850  events=3 "
      "(custom:1 final_response:1 user_input:1)\n"
      "  id=5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02 session=0b9d5c1e-3f7a-4c2b-9e1d-5a6f7b8c9d01 project=" +
      project +
      " started=2026-06-10T09:00:00.010000Z spans=3 events_total=7\n"
      "  - agent \"plan\" [ok] 2380.000 ms  iteration=1  events=0\n"
      "    - model \"answer-llm\" [ok] 1870.000 ms  model=gpt-4o  tokens in=1200 out=85 total=1285  "
      "cost=$0.003850  events=2 (system_message:1 tool_arguments:1)\n"
      "    - tool \"search_docs\" [error: TimeoutError: search backend timed out] 350.000 ms  events=2 "
      "(custom:1 tool_arguments:1)\n"
      "  * score \"relevance\" = 0.92 (numeric)\n"
      "\n"
      "1 session, 1 run, 3 spans, 7 events, 1 score, 0 prompt links\n";
  EXPECT_EQ(server_->tree(), expected);
  EXPECT_EQ(northstar_local::render_tree(server_->snapshot()), expected);
}

TEST_F(RenderTest, EmptyTree) {
  EXPECT_EQ(server_->tree(), "no runs\n0 sessions, 0 runs, 0 spans, 0 events, 0 scores, 0 prompt links\n");
}

TEST_F(RenderTest, RunningSpansHaveNoDurationAndEndedOnesAComputedOne) {
  ASSERT_EQ(post(base_payload()).status, 200);
  std::vector<std::string> lines = lines_of(server_->tree());
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "run \"agent-run\" [running] -  events=0");
  EXPECT_EQ(lines[2], "  - agent \"plan\" [running] -  events=0");
  EXPECT_EQ(lines[3], "    - tool \"search\" [running] -  iteration=1  events=1 (tool_arguments:1)");

  // Ended without latency_ms: ended_at - started_at, across time zones.
  ASSERT_EQ(post(edit(base_payload(), {{"/runs/0/status", q("ok")},
                                       {"/runs/0/ended_at", q("2026-06-10T11:00:01.510000+02:00")},
                                       {"/spans/0/status", q("error")},
                                       {"/spans/0/ended_at", q("2026-06-10T09:00:00.520000Z")}}))
                .status,
            200);
  lines = lines_of(server_->tree());
  EXPECT_EQ(lines[0], "run \"agent-run\" [ok] 1500.000 ms  events=0");
  EXPECT_EQ(lines[2], "  - agent \"plan\" [error] 500.000 ms  events=0");
}

TEST_F(RenderTest, RunsAndSpansAreOrderedByStartTime) {
  const std::string late_run = uuid(1), early_run = uuid(2);
  std::string payload = edit(base_payload(), {
      {"/runs/0/id", q(late_run)}, {"/runs/0/name", q("late")},
      {"/runs/0/started_at", q("2026-06-10T09:30:00Z")},
      {"/runs/1", R"({"id":")" + early_run + R"(","session_id":")" + kSession +
                      R"(","name":"early","started_at":"2026-06-10T11:00:00+02:00","status":"ok"})"},
      {"/spans", "[]"}, {"/events", "[]"}, {"/scores", "[]"}});
  ASSERT_EQ(post(payload).status, 200);
  // Spans of the early run listed newest first; the tree sorts siblings by started_at.
  payload = R"({"schema_version":2,"spans":[)"
            R"({"id":")" + uuid(12) + R"(","run_id":")" + early_run + R"(","kind":"tool","name":"second","started_at":"2026-06-10T09:00:02Z","status":"ok"},)"
            R"({"id":")" + uuid(11) + R"(","run_id":")" + early_run + R"(","kind":"model","name":"first","started_at":"2026-06-10T09:00:01Z","status":"ok"},)"
            R"({"id":")" + uuid(13) + R"(","run_id":")" + early_run + R"(","parent_span_id":")" + uuid(12) + R"(","kind":"custom","name":"nested","started_at":"2026-06-10T09:00:03Z","status":"ok"})"
            R"(]})";
  ASSERT_EQ(post(payload).status, 200);
  const std::string tree = server_->tree();
  const auto early = tree.find("run \"early\"");
  const auto late = tree.find("run \"late\"");
  ASSERT_NE(early, std::string::npos);
  ASSERT_NE(late, std::string::npos);
  EXPECT_LT(early, late);
  const auto first = tree.find("  - model \"first\"");
  const auto second = tree.find("  - tool \"second\"");
  const auto nested = tree.find("    - custom \"nested\"");
  EXPECT_LT(first, second);
  EXPECT_LT(second, nested);
  EXPECT_LT(nested, late);
  // Deterministic: same data, same text.
  EXPECT_EQ(tree, server_->tree());
}

TEST_F(RenderTest, JsonLinesOfTheExamplePayload) {
  ASSERT_EQ(post(example_payload()).status, 200);
  const std::vector<std::string> lines = lines_of(server_->json_lines());
  ASSERT_EQ(lines.size(), 13u);
  const std::vector<std::string> tables = {"sessions", "runs", "spans", "spans", "spans", "events", "events",
                                           "events", "events", "events", "events", "events", "scores"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto row = parse(lines[i]);
    ASSERT_TRUE(row.IsObject());
    EXPECT_EQ(std::string(row["table"].GetString()), tables[i]);
  }
  EXPECT_EQ(lines[0], R"({"table":"sessions","id":"0b9d5c1e-3f7a-4c2b-9e1d-5a6f7b8c9d01","project_id":")" +
                          server_->project_id_for(kKey) +
                          R"(","created_at":"2026-06-10T09:00:00.000100Z","ended_at":null,"metadata":{}})");
  const auto final_response = parse(lines[11]);
  EXPECT_TRUE(final_response["content"].IsNull());
  EXPECT_EQ(std::string(final_response["type"].GetString()), "final_response");
  const auto score = parse(lines[12]);
  EXPECT_DOUBLE_EQ(score["value"].GetDouble(), 0.92);
  EXPECT_EQ(lines[12].find(R"("value":0.92,)") != std::string::npos, true);
}

// --- command line ---

// A scratch directory removed at scope exit. Not thread-safe; one test owns it.
struct TempDir {
  TempDir() {
    path = fs::temp_directory_path() / ("nsl_cli_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  fs::path path;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs the program with stdout/stderr captured to files; returns the pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err,
            const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "NORTHSTAR_LOCAL_API_KEY=", 24) != 0) env.emplace_back(*e);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_storage = {NORTHSTAR_LOCAL_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  return pid;
}

// Waits for the process; returns its exit code, or -1 on timeout/abnormal exit.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(10ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

RunResult run_cli(const std::vector<std::string>& args, const TempDir& dir) {
  const fs::path out = dir.path / "run.out", err = dir.path / "run.err";
  const pid_t pid = spawn(args, out, err);
  RunResult result;
  if (pid <= 0) return result;
  result.exit_code = wait_exit(pid, 10s);
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

int wait_for_port_file(const fs::path& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) {
      const std::string text = read_file(path);
      if (!text.empty() && text.back() == '\n') return std::stoi(text);
    }
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

TEST(CliTest, ServeWritesThePortFileAndStopsCleanlyOnSigterm) {
  TempDir dir;
  const fs::path db = dir.path / "ns.db", port_file = dir.path / "port";
  const pid_t pid = spawn({"serve", "--db", db.string(), "--port", "0", "--api-key", kKey, "--port-file",
                           port_file.string()},
                          dir.path / "serve.out", dir.path / "serve.err");
  ASSERT_GT(pid, 0);
  const int port = wait_for_port_file(port_file, 10s);
  ASSERT_GT(port, 0) << read_file(dir.path / "serve.err");
  EXPECT_EQ(read_file(dir.path / "serve.out"), "listening on http://127.0.0.1:" + std::to_string(port) + "\n");

  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/functions/v1/ingest-traces";
  const HttpResponse r = http("POST", url, example_payload(), {"Authorization: Bearer " + std::string(kKey)});
  EXPECT_EQ(r.body, R"({"accepted":true})");
  EXPECT_EQ(http("POST", url, "{}", {"Authorization: Bearer wrong"}).status, 401);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(pid, 10s), 0);
  EXPECT_FALSE(fs::exists(port_file));
  const std::string log = read_file(dir.path / "serve.err");
  EXPECT_NE(log.find("accepted batch: 1 session, 1 run, 3 spans, 7 events, 1 score, 1 error span; runs: "
                     "\"support-agent\" [ok]"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("POST /functions/v1/ingest-traces -> 401"), std::string::npos) << log;
  EXPECT_NE(log.find("dashboard http://127.0.0.1:" + std::to_string(port) + "/"), std::string::npos) << log;
  EXPECT_NE(log.find("SIGTERM"), std::string::npos) << log;

  // tree and dump read the file the server left behind.
  const RunResult tree = run_cli({"tree", "--db", db.string()}, dir);
  EXPECT_EQ(tree.exit_code, 0) << tree.err;
  EXPECT_EQ(tree.out, northstar_local::render_tree(northstar_local::read_snapshot(db.string())));
  EXPECT_NE(tree.out.find("run \"support-agent\" [ok] 2500.000 ms"), std::string::npos);
  const RunResult dump = run_cli({"dump", "--db", db.string()}, dir);
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_EQ(lines_of(dump.out).size(), 13u);
  EXPECT_EQ(dump.out, northstar_local::render_json_lines(northstar_local::read_snapshot(db.string())));
}

TEST(CliTest, ServeTakesKeysFromTheEnvironmentAndStopsOnSigint) {
  TempDir dir;
  const fs::path port_file = dir.path / "port";
  const std::string pinned = "0f0f0f0f-1111-4222-8333-444444444444";
  const pid_t pid = spawn({"serve", "--port-file", port_file.string(), "--quiet"}, dir.path / "serve.out",
                          dir.path / "serve.err",
                          {"NORTHSTAR_LOCAL_API_KEY=ns_env_one,ns_env_two=" + pinned});
  ASSERT_GT(pid, 0);
  const int port = wait_for_port_file(port_file, 10s);
  ASSERT_GT(port, 0) << read_file(dir.path / "serve.err");
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  for (const std::string key : {"ns_env_one", "ns_env_two"}) {
    EXPECT_EQ(http("POST", base + "/functions/v1/ingest-traces", R"({"schema_version":2})",
                   {"Authorization: Bearer " + key})
                  .status,
              200);
  }
  EXPECT_EQ(http("POST", base + "/functions/v1/ingest-traces", base_payload(), {"Authorization: Bearer ns_env_two"}).status,
            200);
  const HttpResponse dump = http("GET", base + "/__admin/dump", "", {"Authorization: Bearer ns_env_one"});
  EXPECT_NE(dump.body.find(pinned), std::string::npos);
  ASSERT_EQ(kill(pid, SIGINT), 0);
  EXPECT_EQ(wait_exit(pid, 10s), 0);
  EXPECT_EQ(read_file(dir.path / "serve.err").find("POST"), std::string::npos);  // --quiet
}

TEST(CliTest, UsageErrorsAndHelpers) {
  TempDir dir;
  EXPECT_EQ(run_cli({}, dir).exit_code, 2);
  EXPECT_EQ(run_cli({"frobnicate"}, dir).exit_code, 2);
  const RunResult no_key = run_cli({"serve", "--port", "0"}, dir);
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_NE(no_key.err.find("--api-key"), std::string::npos);
  EXPECT_EQ(run_cli({"serve", "--port", "99999", "--api-key", "k"}, dir).exit_code, 2);
  EXPECT_EQ(run_cli({"tree"}, dir).exit_code, 2);
  EXPECT_EQ(run_cli({"tree", "--db", (dir.path / "missing.db").string()}, dir).exit_code, 1);
  const RunResult hash = run_cli({"hash", "test"}, dir);
  EXPECT_EQ(hash.exit_code, 0);
  EXPECT_EQ(hash.out, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n");
  const RunResult help = run_cli({"--help"}, dir);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("northstar-local serve"), std::string::npos);
}

}  // namespace
}  // namespace nsl_test

namespace nsl_test {
namespace {

// Polls `path` until it contains `needle` or the timeout passes.
bool wait_for_text(const fs::path& path, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_file(path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(CliTest, TreeFollowPrintsEachRunOnceItEndsWithItsEvents) {
  TempDir dir;
  const fs::path db = dir.path / "follow.db";
  northstar_local::ServerOptions options;
  options.db_path = db.string();
  options.api_keys.push_back({kKey, ""});
  northstar_local::Server server(options);
  server.start();
  auto post_batch = [&](const std::string& body) {
    return http("POST", server.ingest_url(), body, {"Authorization: Bearer " + std::string(kKey)}).status;
  };
  ASSERT_EQ(post_batch(base_payload()), 200);  // "agent-run", still running: not printed yet

  const fs::path out = dir.path / "follow.out";
  const pid_t pid = spawn({"tree", "--db", db.string(), "--follow", "--events"}, out, dir.path / "follow.err");
  ASSERT_GT(pid, 0);
  ASSERT_EQ(post_batch(example_payload()), 200);
  ASSERT_TRUE(wait_for_text(out, "run \"support-agent\" [ok]", std::chrono::seconds(10))) << read_file(out);
  ASSERT_EQ(post_batch(edit(base_payload(), {{"/runs/0/status", "\"ok\""}})), 200);
  ASSERT_TRUE(wait_for_text(out, "run \"agent-run\" [ok]", std::chrono::seconds(10))) << read_file(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // two more polls: nothing repeats
  ASSERT_EQ(kill(pid, SIGINT), 0);
  EXPECT_EQ(wait_exit(pid, std::chrono::seconds(10)), 0);

  const std::string text = read_file(out);
  EXPECT_EQ(occurrences(text, "run \"support-agent\""), 1u) << text;
  EXPECT_EQ(occurrences(text, "run \"agent-run\""), 1u) << text;
  EXPECT_LT(text.find("support-agent"), text.find("agent-run"));
  // --events: each event's type, offset and content under its span.
  EXPECT_NE(text.find("> system_message +21.000 ms \"Answer briefly.\""), std::string::npos) << text;
  EXPECT_NE(text.find("> custom/metric +2440.000 ms {\"name\":\"confidence\",\"value\":0.86}"), std::string::npos)
      << text;
  server.stop();
}

}  // namespace
}  // namespace nsl_test

// dashboard_test.cpp: the dashboard's JSON endpoints (/api/runs, /api/runs/<id>, /api/sessions)
// and pages over real HTTP: filters, paging, ordering, the span tree, totals, scores, headers.
#include <string>

#include "support.h"

namespace nsl_test {
namespace {

class DashboardTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    ASSERT_EQ(post(example_payload()).status, 200);  // "support-agent", ok, tags cpp+demo
    ASSERT_EQ(post(base_payload()).status, 200);     // "agent-run", running, same start time
    // A third run, a day later, failed.
    const std::string later =
        edit(base_payload(), {{"/runs/0/id", "\"" + uuid(900) + "\""},
                              {"/runs/0/name", "\"nightly-batch\""},
                              {"/runs/0/started_at", "\"2026-06-11T09:00:00Z\""},
                              {"/runs/0/status", "\"error\""},
                              {"/runs/0/error", R"({"type":"E","message":"m"})"},
                              {"/spans", "[]"},
                              {"/events", "[]"},
                              {"/scores", "[]"}});
    ASSERT_EQ(post(later).status, 200);
  }
  rapidjson::Document get(const std::string& path, long expect = 200) {
    const HttpResponse r = http("GET", server_->base_url() + path);
    EXPECT_EQ(r.status, expect) << path << " " << r.body;
    EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "",
              "application/json");
    return parse(r.body);
  }
  static std::vector<std::string> names(const rapidjson::Document& doc) {
    std::vector<std::string> out;
    for (const auto& run : doc["runs"].GetArray()) out.emplace_back(run["name"].GetString());
    return out;
  }
};

using Names = std::vector<std::string>;

TEST_F(DashboardTest, RunsNewestFirstWithFiltersAndPaging) {
  auto all = get("/api/runs");
  EXPECT_EQ(all["total"].GetInt(), 3);
  EXPECT_EQ(all["running"].GetInt(), 1);
  EXPECT_EQ(names(all), (Names{"nightly-batch", "support-agent", "agent-run"}));
  EXPECT_EQ(names(get("/api/runs?status=error")), Names{"nightly-batch"});
  EXPECT_EQ(names(get("/api/runs?name=AGENT")), (Names{"support-agent", "agent-run"}));
  EXPECT_EQ(names(get("/api/runs?tag=demo")), Names{"support-agent"});
  EXPECT_EQ(names(get("/api/runs?since=2026-06-10T12:00:00Z")), Names{"nightly-batch"});
  EXPECT_EQ(names(get("/api/runs?until=2026-06-10T12:00:00Z")),
            (Names{"support-agent", "agent-run"}));
  EXPECT_EQ(names(get("/api/runs?session=0B9D5C1E-3F7A-4C2B-9E1D-5A6F7B8C9D01")),
            Names{"support-agent"});
  auto page = get("/api/runs?limit=1&offset=1");
  EXPECT_EQ(page["total"].GetInt(), 3);
  EXPECT_EQ(names(page), Names{"support-agent"});
  EXPECT_EQ(names(get("/api/runs?limit=5&offset=7")), Names{});

  const auto& run = all["runs"][1];
  EXPECT_DOUBLE_EQ(run["latency_ms"].GetDouble(), 2500.0);
  EXPECT_EQ(run["input_tokens"].GetDouble(), 1200);
  EXPECT_EQ(run["output_tokens"].GetDouble(), 85);
  EXPECT_DOUBLE_EQ(run["cost_usd"].GetDouble(), 0.00385);
  EXPECT_EQ(std::string(run["model"].GetString()), "gpt-4o");
  EXPECT_EQ(run["tags"].Size(), 2u);
  EXPECT_EQ(run["span_count"].GetInt(), 3);
  EXPECT_EQ(run["error_span_count"].GetInt(), 1);
  EXPECT_EQ(run["tool_call_count"].GetInt(), 1);
  EXPECT_TRUE(run["error"].IsNull());
  EXPECT_EQ(std::string(all["runs"][0]["error"]["message"].GetString()), "m");
  EXPECT_TRUE(all["runs"][2]["latency_ms"].IsNull());  // still running
}

TEST_F(DashboardTest, RunPageHasTheSpanTreeEventsScoresAndModels) {
  auto doc = get("/api/runs/5E2F1A90-7C3B-4D8E-A1F2-3B4C5D6E7F02");  // ids are case-insensitive
  EXPECT_EQ(std::string(doc["run"]["name"].GetString()), "support-agent");
  EXPECT_EQ(std::string(doc["run"]["metadata"]["user_id"].GetString()), "u-42");
  const auto& spans = doc["spans"];
  ASSERT_EQ(spans.Size(), 3u);
  EXPECT_EQ(std::string(spans[0]["name"].GetString()), "plan");
  EXPECT_EQ(spans[0]["depth"].GetInt(), 0);
  EXPECT_EQ(std::string(spans[1]["name"].GetString()), "answer-llm");
  EXPECT_EQ(spans[1]["depth"].GetInt(), 1);
  EXPECT_DOUBLE_EQ(spans[1]["offset_ms"].GetDouble(), 20.0);
  EXPECT_DOUBLE_EQ(spans[1]["duration_ms"].GetDouble(), 1870.0);
  EXPECT_EQ(spans[1]["input_tokens"].GetDouble(), 1200);
  EXPECT_EQ(std::string(spans[2]["name"].GetString()), "search_docs");
  EXPECT_EQ(std::string(spans[2]["status"].GetString()), "error");
  EXPECT_EQ(std::string(spans[2]["error"]["type"].GetString()), "TimeoutError");
  EXPECT_EQ(spans[0]["iteration"].GetInt(), 1);

  const auto& events = doc["events"];
  ASSERT_EQ(events.Size(), 7u);
  for (rapidjson::SizeType i = 1; i < events.Size(); ++i) {
    EXPECT_LE(events[i - 1]["offset_ms"].GetDouble(), events[i]["offset_ms"].GetDouble());
  }
  EXPECT_EQ(std::string(events[0]["type"].GetString()), "user_input");
  EXPECT_EQ(std::string(events[0]["category"].GetString()), "message");
  int metrics = 0;
  for (const auto& e : events.GetArray())
    metrics += std::string(e["category"].GetString()) == "metric";
  EXPECT_EQ(metrics, 1);

  ASSERT_EQ(doc["scores"].Size(), 1u);
  EXPECT_EQ(std::string(doc["scores"][0]["name"].GetString()), "relevance");
  EXPECT_DOUBLE_EQ(doc["scores"][0]["value"].GetDouble(), 0.92);
  ASSERT_EQ(doc["models"].Size(), 1u);
  EXPECT_EQ(std::string(doc["models"][0]["model"].GetString()), "gpt-4o");
  EXPECT_DOUBLE_EQ(doc["models"][0]["cost_usd"].GetDouble(), 0.00385);

  get("/api/runs/" + uuid(12345), 404);
  get("/api/nothing", 404);
}

TEST_F(DashboardTest, SessionsNewestFirstWithCounts) {
  auto doc = get("/api/sessions");
  ASSERT_EQ(doc["sessions"].Size(), 2u);
  // base_payload's session holds agent-run (running) and nightly-batch (error).
  const auto& base = doc["sessions"][1];
  EXPECT_EQ(std::string(base["id"].GetString()), kSession);
  EXPECT_EQ(base["run_count"].GetInt(), 2);
  EXPECT_EQ(base["error_run_count"].GetInt(), 1);
  EXPECT_EQ(base["running_run_count"].GetInt(), 1);
  EXPECT_EQ(doc["sessions"][0]["tool_call_count"].GetInt(), 1);
}

TEST_F(DashboardTest, PagesAreSelfContainedWithAStrictPolicy) {
  for (const std::string path : {"/", "/ui/app.js", "/ui/app.css"}) {
    const HttpResponse r = http("GET", server_->base_url() + path);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_NE(r.headers.at("content-security-policy").find("default-src 'self'"),
              std::string::npos);
    EXPECT_EQ(r.headers.at("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.body.find("http://"), std::string::npos) << path << ": loads nothing from outside";
    EXPECT_EQ(r.body.find("https://"), std::string::npos) << path;
  }
  const HttpResponse js = http("GET", server_->base_url() + "/ui/app.js");
  EXPECT_EQ(js.body.find("innerHTML"), std::string::npos);
  EXPECT_EQ(js.body.find("eval("), std::string::npos);
  const HttpResponse html = http("GET", server_->base_url() + "/");
  EXPECT_EQ(html.body.find("<script>"), std::string::npos);  // no inline script
  EXPECT_EQ(http("DELETE", server_->base_url() + "/api/runs").status, 405);
}

}  // namespace
}  // namespace nsl_test

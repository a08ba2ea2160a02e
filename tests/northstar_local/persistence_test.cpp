// persistence_test.cpp: what northstar-local stores (protocol §4.2): project stamping, parent-first
// span ordering, referential checks and their 400/500 mapping, all-or-nothing batches, and the
// upsert rules for sessions, runs, spans, events, scores and prompt links.
#include <atomic>
#include <thread>

#include "support.h"

namespace nsl_test {
namespace {

const std::string kInvalidReferences = R"({"error":"Payload contains invalid project references"})";
const std::string kInternalError = R"({"error":"Internal server error"})";

std::string q(const std::string& text) { return "\"" + text + "\""; }

std::string session(const std::string& id) {
  return R"({"id":")" + id + R"(","created_at":"2026-06-10T09:00:00Z","metadata":{}})";
}
std::string run(const std::string& id, const std::string& session_id) {
  return R"({"id":")" + id + R"(","session_id":")" + session_id +
         R"(","name":"run","started_at":"2026-06-10T09:00:01Z","status":"running","metadata":{}})";
}
std::string span(const std::string& id, const std::string& run_id) {
  return R"({"id":")" + id + R"(","run_id":")" + run_id +
         R"(","kind":"custom","name":"span","started_at":"2026-06-10T09:00:02Z","status":"running","attributes":{}})";
}
std::string event(const std::string& id, const std::string& run_id) {
  return R"({"id":")" + id + R"(","run_id":")" + run_id +
         R"(","type":"custom","created_at":"2026-06-10T09:00:03Z","content":null,"attributes":{}})";
}
std::string score(const std::string& id, const std::string& trace_id) {
  return R"({"id":")" + id + R"(","trace_id":")" + trace_id +
         R"(","name":"quality","value":1,"data_type":"numeric","source":"api","created_at":"2026-06-10T09:00:04Z"})";
}
std::string with(const std::string& record, const std::vector<Edit>& edits) { return edit(record, edits); }

std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i > 0 ? "," : "") + items[i];
  return out + "]";
}

struct Batch {
  std::vector<std::string> sessions, runs, spans, events, scores, prompt_links;
  std::string json() const {
    return R"({"schema_version":2,"sessions":)" + list(sessions) + R"(,"runs":)" + list(runs) +
           R"(,"spans":)" + list(spans) + R"(,"events":)" + list(events) +
           R"(,"scores":)" + list(scores) + R"(,"prompt_links":)" + list(prompt_links) + "}";
  }
};

class PersistenceTest : public ServerTest {
 protected:
  std::string last_detail() const { return server_->requests().back().detail; }
  std::string project() const { return northstar_local::derive_project_id(kKey); }
};

TEST_F(PersistenceTest, ExamplePayloadIsStoredCompletely) {
  ASSERT_EQ(post(example_payload()).body, R"({"accepted":true})");
  const auto rows = server_->snapshot();
  ASSERT_EQ(rows.sessions.size(), 1u);
  ASSERT_EQ(rows.runs.size(), 1u);
  ASSERT_EQ(rows.spans.size(), 3u);
  ASSERT_EQ(rows.events.size(), 7u);
  ASSERT_EQ(rows.scores.size(), 1u);
  EXPECT_TRUE(rows.prompt_links.empty());

  const auto& r = rows.runs[0];
  EXPECT_EQ(r.id, "5e2f1a90-7c3b-4d8e-a1f2-3b4c5d6e7f02");
  EXPECT_EQ(r.project_id, project());
  EXPECT_EQ(r.name, "support-agent");
  EXPECT_EQ(r.status, "ok");
  EXPECT_EQ(r.ended_at, "2026-06-10T09:00:02.510000Z");
  EXPECT_FALSE(r.error.has_value());
  EXPECT_EQ(r.metadata,
            R"({"project":"support","environment":"dev","tags":["cpp","demo"],"user_id":"u-42",)"
            R"("cost_usd":0.00385,"total_input_tokens":1200,"total_output_tokens":85,"latency_ms":2500.0})");

  const auto* tool = rows.find_span("c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e05");
  ASSERT_NE(tool, nullptr);
  EXPECT_EQ(tool->kind, "tool");
  EXPECT_EQ(tool->status, "error");
  EXPECT_EQ(tool->parent_span_id, "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c03");
  EXPECT_EQ(tool->error, R"({"type":"TimeoutError","message":"search backend timed out","module":"cpp"})");
  EXPECT_EQ(rows.find_span("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c03")->iteration, 1);

  const auto* final_response = rows.find_event("d0e1f2a3-b4c5-4d6e-9f7a-8b9c0d1e2f12");
  ASSERT_NE(final_response, nullptr);
  EXPECT_EQ(final_response->content, "null");
  EXPECT_FALSE(final_response->span_id.has_value());
  EXPECT_EQ(rows.find_event("e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a07")->content, R"("Answer briefly.")");

  EXPECT_EQ(rows.scores[0].trace_id, r.id);
  EXPECT_DOUBLE_EQ(rows.scores[0].value, 0.92);
  EXPECT_EQ(rows.scores[0].source, "api");
  EXPECT_EQ(rows.spans_of(r.id).size(), 3u);
  EXPECT_EQ(rows.events_of(r.id).size(), 7u);
}

TEST_F(PersistenceTest, AuthenticatedProjectIsStampedOverTheClientValue) {
  const std::string payload = edit(base_payload(), {{"/sessions/0/project_id", q(kUnknown)},
                                                    {"/runs/0/project_id", q(kUnknown)},
                                                    {"/spans/0/project_id", q(kUnknown)},
                                                    {"/events/0/project_id", q(kUnknown)},
                                                    {"/scores/0/project_id", q(kUnknown)}});
  ASSERT_EQ(post(payload).status, 200);
  const auto rows = server_->snapshot();
  for (const auto& s : rows.sessions) EXPECT_EQ(s.project_id, project());
  for (const auto& r : rows.runs) EXPECT_EQ(r.project_id, project());
  for (const auto& s : rows.spans) EXPECT_EQ(s.project_id, project());
  for (const auto& e : rows.events) EXPECT_EQ(e.project_id, project());
  for (const auto& s : rows.scores) EXPECT_EQ(s.project_id, project());
}

TEST_F(PersistenceTest, ChildSpanListedBeforeItsParentIsReordered) {
  const std::string a = uuid(1), b = uuid(2), c = uuid(3);
  Batch batch;
  batch.sessions = {session(kSession)};
  batch.runs = {run(kRun, kSession)};
  batch.spans = {with(span(c, kRun), {{"/parent_span_id", q(b)}}),
                 with(span(b, kRun), {{"/parent_span_id", q(a)}}), span(a, kRun)};
  ASSERT_EQ(post(batch.json()).body, R"({"accepted":true})");
  const auto rows = server_->snapshot();
  ASSERT_EQ(rows.spans.size(), 3u);
  EXPECT_EQ(rows.spans[0].id, a);  // inserted parent-first
  EXPECT_EQ(rows.spans[1].id, b);
  EXPECT_EQ(rows.spans[2].id, c);
  EXPECT_EQ(rows.spans[2].parent_span_id, b);
}

TEST_F(PersistenceTest, ParentFromAnEarlierBatchIsFound) {
  ASSERT_EQ(post(base_payload()).status, 200);
  Batch batch;
  batch.spans = {with(span(uuid(5), kRun), {{"/parent_span_id", q(kChildSpan)}})};
  EXPECT_EQ(post(batch.json()).status, 200);
}

TEST_F(PersistenceTest, ReferencesMayComeFromEarlierBatches) {
  Batch b1, b2, b3, b4, b5;
  b1.sessions = {session(kSession)};
  b2.runs = {run(kRun, kSession)};
  b3.spans = {span(kRootSpan, kRun)};
  b4.events = {with(event(kEvent, kRun), {{"/span_id", q(kRootSpan)}})};
  b5.scores = {with(score(kScore, kRun), {{"/span_id", q(kRootSpan)}})};
  for (const Batch* b : {&b1, &b2, &b3, &b4, &b5}) EXPECT_EQ(post(b->json()).body, R"({"accepted":true})");
  const auto rows = server_->snapshot();
  EXPECT_EQ(rows.events.at(0).span_id, kRootSpan);
  EXPECT_EQ(rows.scores.at(0).span_id, kRootSpan);
}

TEST_F(PersistenceTest, RunWithoutSessionIsAnInvalidReference) {
  Batch batch;
  batch.runs = {run(kRun, kSession)};
  const HttpResponse r = post(batch.json());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "session " + std::string(kSession) + " not found for project");
}

TEST_F(PersistenceTest, SpanWithoutRunIsAnInvalidReferenceAndTheBatchIsRolledBack) {
  Batch batch;
  batch.sessions = {session(kSession)};
  batch.spans = {span(kRootSpan, kRun)};
  EXPECT_EQ(post(batch.json()).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "run " + std::string(kRun) + " not found for project");
  EXPECT_TRUE(server_->snapshot().sessions.empty());
}

TEST_F(PersistenceTest, MissingParentSpanIsAnInvalidReference) {
  const HttpResponse r = post(edit(base_payload(), {{"/spans/1/parent_span_id", q(kUnknown)}}));
  EXPECT_EQ(r.body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "parent span " + std::string(kUnknown) + " not found for project");
}

TEST_F(PersistenceTest, EventWithoutRunOrSpanIsAnInvalidReference) {
  EXPECT_EQ(post(edit(base_payload(), {{"/events/0/run_id", q(kUnknown)}})).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "run " + std::string(kUnknown) + " not found for project");
  EXPECT_EQ(post(edit(base_payload(), {{"/events/0/span_id", q(kUnknown)}})).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "span " + std::string(kUnknown) + " not found for project");
  EXPECT_TRUE(server_->snapshot().runs.empty());
}

TEST_F(PersistenceTest, ScoreReferencesAreChecked) {
  EXPECT_EQ(post(edit(base_payload(), {{"/scores/0/trace_id", q(kUnknown)}})).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "trace " + std::string(kUnknown) + " not found for project");
  // The span must belong to the scored run.
  ASSERT_EQ(post(base_payload()).status, 200);
  Batch other_run;
  other_run.runs = {run(uuid(7), kSession)};
  other_run.spans = {span(uuid(8), uuid(7))};
  other_run.scores = {with(score(uuid(9), kRun), {{"/span_id", q(uuid(8))}})};
  EXPECT_EQ(post(other_run.json()).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "span " + uuid(8) + " not found for trace");
  EXPECT_EQ(server_->snapshot().runs.size(), 1u);  // the new run was rolled back too
}

TEST_F(PersistenceTest, ScoresAreWrittenLastSoTheyCanReferenceTheSameBatch) {
  Batch batch;
  batch.scores = {score(kScore, kRun)};  // listed first in JSON, still processed after runs
  batch.sessions = {session(kSession)};
  batch.runs = {run(kRun, kSession)};
  EXPECT_EQ(post(batch.json()).status, 200);
}

TEST_F(PersistenceTest, OtherProjectsRowsAreOffLimits) {
  ASSERT_EQ(post(base_payload()).status, 200);
  // Same ids from another project: the session belongs to a different project.
  EXPECT_EQ(post(base_payload(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "session " + std::string(kSession) + " belongs to a different project");

  Batch run_in_foreign_session;
  run_in_foreign_session.runs = {run(uuid(1), kSession)};
  EXPECT_EQ(post(run_in_foreign_session.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "session " + std::string(kSession) + " belongs to a different project");

  Batch own_session_foreign_run;
  own_session_foreign_run.sessions = {session(uuid(2))};
  own_session_foreign_run.events = {event(uuid(3), kRun)};
  EXPECT_EQ(post(own_session_foreign_run.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "run " + std::string(kRun) + " belongs to a different project");

  Batch foreign_span_update;
  foreign_span_update.spans = {span(kRootSpan, kRun)};
  EXPECT_EQ(post(foreign_span_update.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "span " + std::string(kRootSpan) + " belongs to a different project");

  Batch foreign_score;
  foreign_score.scores = {score(uuid(4), kRun)};
  EXPECT_EQ(post(foreign_score.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "trace " + std::string(kRun) + " not found for project");

  // Project A's rows are untouched and nothing of B's was stored.
  const auto rows = server_->snapshot();
  EXPECT_EQ(rows.sessions.size(), 1u);
  EXPECT_EQ(rows.runs.at(0).status, "running");
  EXPECT_EQ(rows.runs.at(0).project_id, project());
}

TEST_F(PersistenceTest, ARowOfAnotherProjectIsReportedBeforeItsOtherErrors) {
  // The SQL function checks a row's own owner before its references and its timestamps.
  ASSERT_EQ(post(base_payload()).status, 200);
  Batch foreign_event_unknown_run;
  foreign_event_unknown_run.events = {event(kEvent, kUnknown)};
  EXPECT_EQ(post(foreign_event_unknown_run.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "event " + std::string(kEvent) + " belongs to a different project");

  Batch foreign_run_unknown_session;
  foreign_run_unknown_session.runs = {run(kRun, kUnknown)};
  EXPECT_EQ(post(foreign_run_unknown_session.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "run " + std::string(kRun) + " belongs to a different project");

  Batch foreign_span_unknown_parent;
  foreign_span_unknown_parent.spans = {
      with(span(kChildSpan, kRun), {{"/parent_span_id", q(kUnknown)}})};
  EXPECT_EQ(post(foreign_span_unknown_parent.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "span " + std::string(kChildSpan) + " belongs to a different project");

  // Year 0 passes validation and fails in the store (a 500 for the owner), but the row's owner
  // is checked first.
  Batch foreign_session_year_zero;
  foreign_session_year_zero.sessions = {
      with(session(kSession), {{"/created_at", q("0000-01-01T00:00:00Z")}})};
  EXPECT_EQ(post(foreign_session_year_zero.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "session " + std::string(kSession) + " belongs to a different project");
  EXPECT_EQ(post(foreign_session_year_zero.json()).body, kInternalError);

  // A new event of a known run, then one of an unknown run, in one batch: nothing is stored.
  Batch second_event_unknown_run;
  second_event_unknown_run.events = {event(uuid(5), kRun), event(uuid(6), kUnknown)};
  EXPECT_EQ(post(second_event_unknown_run.json()).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "run " + std::string(kUnknown) + " not found for project");
  EXPECT_EQ(server_->snapshot().events.size(), 1u);
}

TEST_F(PersistenceTest, EachInMemoryStoreIsPrivateToItsServer) {
  auto second = std::make_unique<northstar_local::Server>(options());  // db ":memory:" as well
  second->start();
  ASSERT_EQ(post(base_payload()).status, 200);
  EXPECT_EQ(server_->snapshot().events.size(), 1u);
  EXPECT_TRUE(second->snapshot().events.empty());
  second->stop();
  second.reset();
  EXPECT_EQ(server_->snapshot().events.size(), 1u);  // closing one store leaves the other intact
}

TEST_F(PersistenceTest, ScoreIdOwnedByAnotherProjectIsAnInvalidReference) {
  ASSERT_EQ(post(base_payload()).status, 200);
  Batch batch;
  batch.sessions = {session(uuid(1))};
  batch.runs = {run(uuid(2), uuid(1))};
  batch.scores = {score(kScore, uuid(2))};
  EXPECT_EQ(post(batch.json(), kOtherKey).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "score " + std::string(kScore) + " belongs to a different project");
  EXPECT_EQ(server_->snapshot().runs.size(), 1u);
}

TEST_F(PersistenceTest, FailedBatchChangesNothing) {
  ASSERT_EQ(post(base_payload()).status, 200);
  // Valid run update + session update, then an event with a dangling span: all rolled back.
  const std::string payload = edit(base_payload(), {{"/runs/0/status", q("ok")},
                                                    {"/sessions/0/metadata", R"({"changed":true})"},
                                                    {"/events/1", with(event(uuid(1), kRun), {{"/span_id", q(kUnknown)}})}});
  EXPECT_EQ(post(payload).body, kInvalidReferences);
  const auto rows = server_->snapshot();
  EXPECT_EQ(rows.runs.at(0).status, "running");
  EXPECT_EQ(rows.sessions.at(0).metadata, "{}");
  EXPECT_EQ(rows.events.size(), 1u);
}

TEST_F(PersistenceTest, FailingScoreRollsBackTheWholeBatch) {
  const HttpResponse r = post(edit(base_payload(), {{"/scores/1", score(uuid(1), kUnknown)}}));
  EXPECT_EQ(r.body, kInvalidReferences);
  const auto rows = server_->snapshot();
  EXPECT_TRUE(rows.sessions.empty());
  EXPECT_TRUE(rows.runs.empty());
  EXPECT_TRUE(rows.scores.empty());
}

TEST_F(PersistenceTest, RunUpsertFollowsTheStoreRules) {
  Batch first;
  first.sessions = {session(kSession), session(uuid(1))};
  first.runs = {with(run(kRun, kSession), {{"/metadata", R"({"a":1,"keep":true})"},
                                          {"/error", R"({"type":"E","message":"m"})"}})};
  ASSERT_EQ(post(first.json()).status, 200);

  // Full re-send: status, ended_at, error (missing -> NULL) and metadata (replaced) change;
  // session_id, name and started_at never do.
  Batch second;
  second.runs = {with(run(kRun, uuid(1)), {{"/status", q("ok")},
                                           {"/name", q("renamed")},
                                           {"/started_at", q("2030-01-01T00:00:00Z")},
                                           {"/ended_at", q("2026-06-10T09:00:09Z")},
                                           {"/metadata", R"({"b":2})"}})};
  ASSERT_EQ(post(second.json()).status, 200);
  auto r = server_->snapshot().runs.at(0);
  EXPECT_EQ(r.status, "ok");
  EXPECT_EQ(r.ended_at, "2026-06-10T09:00:09Z");
  EXPECT_FALSE(r.error.has_value());
  EXPECT_EQ(r.metadata, R"({"b":2})");
  EXPECT_EQ(r.name, "run");
  EXPECT_EQ(r.started_at, "2026-06-10T09:00:01Z");
  EXPECT_EQ(r.session_id, kSession);

  // A stale snapshot: status is overwritten (back to running) but ended_at is kept (COALESCE).
  Batch stale;
  stale.runs = {run(kRun, kSession)};
  ASSERT_EQ(post(stale.json()).status, 200);
  r = server_->snapshot().runs.at(0);
  EXPECT_EQ(r.status, "running");
  EXPECT_EQ(r.ended_at, "2026-06-10T09:00:09Z");
  EXPECT_EQ(r.metadata, "{}");

  // An explicit null does not clear ended_at; a new value replaces it.
  Batch null_end;
  null_end.runs = {with(run(kRun, kSession), {{"/ended_at", "null"}})};
  ASSERT_EQ(post(null_end.json()).status, 200);
  EXPECT_EQ(server_->snapshot().runs.at(0).ended_at, "2026-06-10T09:00:09Z");
  Batch new_end;
  new_end.runs = {with(run(kRun, kSession), {{"/ended_at", q("2026-06-10T09:00:10.5Z")},
                                             {"/error", "null"},
                                             {"/metadata", "null"}})};
  ASSERT_EQ(post(new_end.json()).status, 200);
  r = server_->snapshot().runs.at(0);
  EXPECT_EQ(r.ended_at, "2026-06-10T09:00:10.5Z");
  EXPECT_EQ(r.error, "null");      // JSON null is a value
  EXPECT_EQ(r.metadata, "null");   // stored as JSON null, not {}
}

TEST_F(PersistenceTest, SpanUpsertFollowsTheStoreRules) {
  Batch first;
  first.sessions = {session(kSession)};
  first.runs = {run(kRun, kSession), run(uuid(1), kSession)};
  first.spans = {span(kRootSpan, kRun), span(uuid(2), kRun),
                 with(span(kChildSpan, kRun), {{"/parent_span_id", q(kRootSpan)},
                                               {"/kind", q("tool")},
                                               {"/iteration", "1"},
                                               {"/attributes", R"({"x":1})"}})};
  ASSERT_EQ(post(first.json()).status, 200);

  Batch second;
  second.spans = {with(span(kChildSpan, uuid(1)), {{"/parent_span_id", q(uuid(2))},
                                                   {"/kind", q("model")},
                                                   {"/name", q("renamed")},
                                                   {"/iteration", "7"},
                                                   {"/started_at", q("2030-01-01T00:00:00Z")},
                                                   {"/status", q("error")},
                                                   {"/ended_at", q("2026-06-10T09:00:05Z")},
                                                   {"/error", R"({"message":"boom"})"},
                                                   {"/attributes", R"({"y":2})"}})};
  ASSERT_EQ(post(second.json()).status, 200);
  auto s = *server_->snapshot().find_span(kChildSpan);
  EXPECT_EQ(s.run_id, kRun);
  EXPECT_EQ(s.parent_span_id, kRootSpan);
  EXPECT_EQ(s.kind, "tool");
  EXPECT_EQ(s.name, "span");
  EXPECT_EQ(s.iteration, 1);
  EXPECT_EQ(s.started_at, "2026-06-10T09:00:02Z");
  EXPECT_EQ(s.status, "error");
  EXPECT_EQ(s.ended_at, "2026-06-10T09:00:05Z");
  EXPECT_EQ(s.error, R"({"message":"boom"})");
  EXPECT_EQ(s.attributes, R"({"y":2})");

  Batch third;  // missing attributes -> {}, missing error -> NULL, ended_at kept
  third.spans = {with(span(kChildSpan, kRun), {{"/status", q("ok")}, {"/attributes", std::nullopt}})};
  ASSERT_EQ(post(third.json()).status, 200);
  s = *server_->snapshot().find_span(kChildSpan);
  EXPECT_EQ(s.status, "ok");
  EXPECT_EQ(s.attributes, "{}");
  EXPECT_FALSE(s.error.has_value());
  EXPECT_EQ(s.ended_at, "2026-06-10T09:00:05Z");
}

TEST_F(PersistenceTest, EventUpsertReplacesOnlyContentAndAttributes) {
  ASSERT_EQ(post(base_payload()).status, 200);
  Batch batch;
  batch.events = {with(event(kEvent, kRun), {{"/type", q("final_response")},
                                             {"/created_at", q("2030-01-01T00:00:00Z")},
                                             {"/content", R"({"q":"y"})"},
                                             {"/attributes", std::nullopt}})};
  ASSERT_EQ(post(batch.json()).status, 200);
  const auto e = *server_->snapshot().find_event(kEvent);
  EXPECT_EQ(e.type, "tool_arguments");
  EXPECT_EQ(e.created_at, "2026-06-10T09:00:00.031000Z");
  EXPECT_EQ(e.span_id, kChildSpan);  // span_id not updated either
  EXPECT_EQ(e.content, R"({"q":"y"})");
  EXPECT_EQ(e.attributes, "{}");
}

TEST_F(PersistenceTest, SessionUpsertKeepsCreatedAtAndCoalescesEndedAt) {
  Batch first;
  first.sessions = {with(session(kSession), {{"/metadata", R"({"a":1})"}})};
  ASSERT_EQ(post(first.json()).status, 200);
  Batch ended;
  ended.sessions = {with(session(kSession), {{"/created_at", q("2030-01-01T00:00:00Z")},
                                             {"/ended_at", q("2026-06-10T10:00:00Z")},
                                             {"/metadata", R"({"b":2})"}})};
  ASSERT_EQ(post(ended.json()).status, 200);
  Batch again;
  again.sessions = {with(session(kSession), {{"/metadata", std::nullopt}})};
  ASSERT_EQ(post(again.json()).status, 200);
  const auto s = server_->snapshot().sessions.at(0);
  EXPECT_EQ(s.created_at, "2026-06-10T09:00:00Z");
  EXPECT_EQ(s.ended_at, "2026-06-10T10:00:00Z");
  EXPECT_EQ(s.metadata, "{}");
}

TEST_F(PersistenceTest, ScoreUpsertOverwritesEveryField) {
  ASSERT_EQ(post(base_payload()).status, 200);
  Batch batch;
  batch.scores = {with(score(kScore, kRun), {{"/name", q("  verdict  ")},
                                             {"/data_type", q("categorical")},
                                             {"/value", "0"},
                                             {"/string_value", q("  good  ")},
                                             {"/comment", q("second look")},
                                             {"/span_id", q(kChildSpan)},
                                             {"/created_at", q("2026-06-11T00:00:00Z")}})};
  ASSERT_EQ(post(batch.json()).status, 200);
  const auto rows = server_->snapshot();
  ASSERT_EQ(rows.scores.size(), 1u);
  const auto& s = rows.scores[0];
  EXPECT_EQ(s.name, "verdict");          // btrim
  EXPECT_EQ(s.string_value, "good");     // btrim for categorical
  EXPECT_EQ(s.data_type, "categorical");
  EXPECT_EQ(s.comment, "second look");
  EXPECT_EQ(s.span_id, kChildSpan);
  EXPECT_EQ(s.created_at, "2026-06-11T00:00:00Z");
  EXPECT_DOUBLE_EQ(s.value, 0.0);
}

TEST_F(PersistenceTest, RepeatedSpanIdInOneBatchKeepsTheFirstSnapshot) {
  // The edge function's parent-first ordering visits each span id once.
  const std::string payload = edit(base_payload(), {{"/spans/2", with(span(kRootSpan, kRun), {{"/status", q("ok")}})}});
  ASSERT_EQ(post(payload).status, 200);
  const auto rows = server_->snapshot();
  EXPECT_EQ(rows.spans.size(), 2u);
  EXPECT_EQ(rows.find_span(kRootSpan)->status, "running");
}

TEST_F(PersistenceTest, RepeatedRunIdInOneBatchKeepsTheLastSnapshot) {
  const std::string payload = edit(base_payload(), {{"/runs/1", with(run(kRun, kSession), {{"/status", q("ok")}})}});
  ASSERT_EQ(post(payload).status, 200);
  EXPECT_EQ(server_->snapshot().runs.at(0).status, "ok");
}

TEST_F(PersistenceTest, UuidsAreCaseInsensitiveAndStoredLowercase) {
  const std::string upper_session = "ABCDEF00-1111-4111-8111-111111111111";
  const std::string upper_run = "ABCDEF00-2222-4222-8222-222222222222";
  Batch batch;
  batch.sessions = {session(upper_session)};
  batch.runs = {run(upper_run, "abcdef00-1111-4111-8111-111111111111")};
  ASSERT_EQ(post(batch.json()).status, 200);
  Batch update;
  update.runs = {with(run("abcdef00-2222-4222-8222-222222222222", upper_session), {{"/status", q("ok")}})};
  ASSERT_EQ(post(update.json()).status, 200);
  const auto rows = server_->snapshot();
  ASSERT_EQ(rows.runs.size(), 1u);
  EXPECT_EQ(rows.runs[0].id, "abcdef00-2222-4222-8222-222222222222");
  EXPECT_EQ(rows.runs[0].session_id, "abcdef00-1111-4111-8111-111111111111");
  EXPECT_EQ(rows.runs[0].status, "ok");
  EXPECT_NE(rows.find_run(upper_run), nullptr);
}

TEST_F(PersistenceTest, TimestampsAreStoredAsSent) {
  ASSERT_EQ(post(edit(base_payload(), {{"/runs/0/started_at", q("2026-06-10T14:30:00.5+05:30")}})).status, 200);
  EXPECT_EQ(server_->snapshot().runs.at(0).started_at, "2026-06-10T14:30:00.5+05:30");
}

// Values JavaScript accepts but Postgres refuses surface as 500, and nothing is stored.
struct StoreFailureCase {
  const char* name;
  std::vector<Edit> edits;
};

void PrintTo(const StoreFailureCase& c, std::ostream* os) { *os << c.name; }

class StoreFailureTest : public PersistenceTest, public ::testing::WithParamInterface<StoreFailureCase> {};

TEST_P(StoreFailureTest, Returns500AndStoresNothing) {
  const HttpResponse r = post(edit(base_payload(), GetParam().edits));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, kInternalError);
  EXPECT_FALSE(last_detail().empty());
  const auto rows = server_->snapshot();
  EXPECT_TRUE(rows.sessions.empty() && rows.runs.empty() && rows.spans.empty() && rows.scores.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Postgres, StoreFailureTest,
    ::testing::Values(
        StoreFailureCase{"day_past_month_end", {{"/runs/0/started_at", "\"2026-02-30T00:00:00Z\""}}},
        StoreFailureCase{"year_zero", {{"/sessions/0/created_at", "\"0000-01-01T00:00:00Z\""}}},
        StoreFailureCase{"offset_beyond_15_59", {{"/spans/0/started_at", "\"2026-06-10T09:00:00+16:00\""}}},
        StoreFailureCase{"hour_24_with_fraction", {{"/events/0/created_at", "\"2026-06-10T24:00:00.0001Z\""}}},
        StoreFailureCase{"iteration_out_of_int_range", {{"/spans/1/iteration", "3000000000"}}},
        StoreFailureCase{"nul_in_metadata", {{"/runs/0/metadata", R"({"k":"a\u0000b"})"}}},
        StoreFailureCase{"nul_in_key", {{"/events/0/content", R"({"a\u0000":1})"}}},
        StoreFailureCase{"nul_in_score_comment", {{"/scores/0/comment", R"("x\u0000")"}}},
        StoreFailureCase{"nesting_deeper_than_1000",
                         {{"/events/0/content", std::string(1001, '[') + std::string(1001, ']')}}}),
    [](const ::testing::TestParamInfo<StoreFailureCase>& info) { return std::string(info.param.name); });

TEST_F(PersistenceTest, ReferenceErrorsComeBeforeLaterStoreFailures) {
  // The run fails its reference check before the span's bad timestamp is converted.
  const std::string payload = edit(base_payload(), {{"/runs/0/session_id", q(kUnknown)},
                                                    {"/spans/0/started_at", q("2026-02-30T00:00:00Z")}});
  EXPECT_EQ(post(payload).body, kInvalidReferences);
}

TEST_F(PersistenceTest, InjectedStoreFailureIs500AndRollsBack) {
  server_->fail_store_next(1);
  const HttpResponse r = post(base_payload());
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, kInternalError);
  EXPECT_EQ(server_->requests().back().fault, "store_error");
  EXPECT_TRUE(server_->snapshot().sessions.empty());
  EXPECT_EQ(post(base_payload()).status, 200);
}

TEST_F(PersistenceTest, PromptLinksNeedAKnownPromptVersion) {
  const std::string link = R"({"trace_id":")" + std::string(kRun) + R"(","span_id":")" + kChildSpan +
                           R"(","prompt_version_id":")" + kUnknown + R"(","variable_values":{"topic":"x"}})";
  EXPECT_EQ(post(edit(base_payload(), {{"/prompt_links/0", link}})).body, kInvalidReferences);
  EXPECT_EQ(last_detail(), "prompt version " + std::string(kUnknown) + " not found for project");

  server_->add_prompt_version(server_->project_id_for(kKey), kUnknown);
  ASSERT_EQ(post(edit(base_payload(), {{"/prompt_links/0", link}})).status, 200);
  ASSERT_EQ(post(edit(base_payload(), {{"/prompt_links/0", edit(link, {{"/variable_values", R"({"topic":"y"})"}})}})).status,
            200);
  const auto rows = server_->snapshot();
  ASSERT_EQ(rows.prompt_links.size(), 1u);  // upsert on (span_id, prompt_version_id)
  EXPECT_EQ(rows.prompt_links[0].variable_values, R"({"topic":"y"})");
  EXPECT_EQ(rows.prompt_links[0].trace_id, kRun);

  // A version registered for another project is not visible.
  EXPECT_EQ(post(edit(base_payload(), {{"/prompt_links/0", link}}), kOtherKey).body, kInvalidReferences);
}

TEST_F(PersistenceTest, PromptLinkChecks) {
  server_->add_prompt_version(server_->project_id_for(kKey), kUnknown);
  const std::string link = R"({"trace_id":")" + std::string(kRun) + R"(","span_id":")" + kChildSpan +
                           R"(","prompt_version_id":")" + kUnknown + R"("})";
  // Unknown span: reference error (400).
  EXPECT_EQ(post(edit(base_payload(), {{"/prompt_links/0", edit(link, {{"/span_id", q(uuid(3))}})}})).body,
            kInvalidReferences);
  EXPECT_EQ(last_detail(), "span " + uuid(3) + " not found for project");
  // Span of another trace: not a reference error (500).
  EXPECT_EQ(post(edit(base_payload(), {{"/prompt_links/0", edit(link, {{"/trace_id", q(uuid(4))}})}})).body,
            kInternalError);
  EXPECT_EQ(last_detail(), "span " + std::string(kChildSpan) + " is not part of trace " + uuid(4));
  // variable_values: null violates the table's object check (500); missing means {}.
  EXPECT_EQ(post(edit(base_payload(), {{"/prompt_links/0", edit(link, {{"/variable_values", "null"}})}})).body,
            kInternalError);
  EXPECT_TRUE(server_->snapshot().runs.empty());
  ASSERT_EQ(post(edit(base_payload(), {{"/prompt_links/0", link}})).status, 200);
  EXPECT_EQ(server_->snapshot().prompt_links.at(0).variable_values, "{}");
}

TEST_F(PersistenceTest, ClearDataRemovesRowsButKeepsKeys) {
  ASSERT_EQ(post(example_payload()).status, 200);
  server_->clear_data();
  const auto rows = server_->snapshot();
  EXPECT_TRUE(rows.sessions.empty() && rows.runs.empty() && rows.spans.empty() && rows.events.empty() &&
              rows.scores.empty());
  EXPECT_EQ(post(example_payload()).status, 200);
}

TEST_F(PersistenceTest, ConcurrentSendersAreSerialisedSafely) {
  constexpr int kThreads = 6;
  constexpr int kPerThread = 8;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = 1000 + t * 100 + i * 3;
        Batch batch;
        batch.sessions = {session(uuid(n))};
        batch.runs = {run(uuid(n + 1), uuid(n))};
        batch.spans = {span(uuid(n + 2), uuid(n + 1))};
        if (post(batch.json()).status == 200) ++accepted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), kThreads * kPerThread);
  const auto rows = server_->snapshot();
  EXPECT_EQ(rows.runs.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(server_->request_count(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace nsl_test

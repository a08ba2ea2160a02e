// validation_test.cpp: every record validation message of the ingest endpoint (protocol §4.1),
// the order the checks run in, and the variants that must be accepted.
#include <string>
#include <vector>

#include "support.h"

namespace nsl_test {
namespace {

struct RejectCase {
  const char* name;
  std::vector<Edit> edits;
  const char* message;
};

struct AcceptCase {
  const char* name;
  std::vector<Edit> edits;
};

// Short names in test listings instead of a byte dump of the parameter.
void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }
void PrintTo(const AcceptCase& c, std::ostream* os) { *os << c.name; }

std::string q(const std::string& text) { return "\"" + text + "\""; }

const std::string kLink = R"({"trace_id":")" + std::string(kRun) + R"(","span_id":")" + kChildSpan +
                          R"(","prompt_version_id":")" + kUnknown + R"(","variable_values":{}})";

std::vector<RejectCase> reject_cases() {
  std::vector<RejectCase> cases = {
      // --- sessions ---
      {"session_not_object_number", {{"/sessions/0", "5"}}, "sessions[0] is not an object"},
      {"session_not_object_array", {{"/sessions/0", "[]"}}, "sessions[0] is not an object"},
      {"session_not_object_null", {{"/sessions/0", "null"}}, "sessions[0] is not an object"},
      {"session_unknown_key", {{"/sessions/0/name", q("x")}}, "sessions[0].name is not allowed"},
      {"session_unknown_key_array_index_first",
       {{"/sessions/0/zeta", "1"}, {"/sessions/0/7", "1"}},
       "sessions[0].7 is not allowed"},
      {"session_keys_checked_before_id",
       {{"/sessions/0/id", q("x")}, {"/sessions/0/extra", "1"}},
       "sessions[0].extra is not allowed"},
      {"session_bad_id", {{"/sessions/0/id", q("nope")}}, "sessions[0].id is not a valid UUID"},
      {"session_missing_id", {{"/sessions/0/id", std::nullopt}}, "sessions[0].id is not a valid UUID"},
      {"session_numeric_id", {{"/sessions/0/id", "123"}}, "sessions[0].id is not a valid UUID"},
      {"session_id_without_hyphens",
       {{"/sessions/0/id", q("11111111111141118111111111111111")}},
       "sessions[0].id is not a valid UUID"},
      {"session_id_with_braces",
       {{"/sessions/0/id", q("{11111111-1111-4111-8111-111111111111}")}},
       "sessions[0].id is not a valid UUID"},
      {"session_id_non_hex",
       {{"/sessions/0/id", q("g1111111-1111-4111-8111-111111111111")}},
       "sessions[0].id is not a valid UUID"},
      {"session_bad_project_id", {{"/sessions/0/project_id", q("proj_a3f9c1d8e27b")}},
       "sessions[0].project_id is not a valid UUID"},
      {"session_project_id_checked_before_created_at",
       {{"/sessions/0/project_id", "1"}, {"/sessions/0/created_at", q("x")}},
       "sessions[0].project_id is not a valid UUID"},
      {"session_missing_created_at", {{"/sessions/0/created_at", std::nullopt}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_null_created_at", {{"/sessions/0/created_at", "null"}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_lowercase_z", {{"/sessions/0/created_at", q("2026-06-10T09:00:00z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_lowercase_t", {{"/sessions/0/created_at", q("2026-06-10t09:00:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_space_separator", {{"/sessions/0/created_at", q("2026-06-10 09:00:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_without_zone", {{"/sessions/0/created_at", q("2026-06-10T09:00:00")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_offset_without_colon", {{"/sessions/0/created_at", q("2026-06-10T09:00:00+0200")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_short_offset", {{"/sessions/0/created_at", q("2026-06-10T09:00:00+02")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_without_seconds", {{"/sessions/0/created_at", q("2026-06-10T09:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_date_only", {{"/sessions/0/created_at", q("2026-06-10")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_empty_fraction", {{"/sessions/0/created_at", q("2026-06-10T09:00:00.Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_comma_fraction", {{"/sessions/0/created_at", q("2026-06-10T09:00:00,5Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_month_13", {{"/sessions/0/created_at", q("2026-13-10T09:00:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_month_00", {{"/sessions/0/created_at", q("2026-00-10T09:00:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_day_32", {{"/sessions/0/created_at", q("2026-01-32T09:00:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_day_00", {{"/sessions/0/created_at", q("2026-01-00T09:00:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_hour_25", {{"/sessions/0/created_at", q("2026-06-10T25:00:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_minute_60", {{"/sessions/0/created_at", q("2026-06-10T09:60:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_second_60", {{"/sessions/0/created_at", q("2026-06-10T09:00:60Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_24_00_01", {{"/sessions/0/created_at", q("2026-06-10T24:00:01Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_offset_hour_24", {{"/sessions/0/created_at", q("2026-06-10T09:00:00+24:00")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_offset_minute_60", {{"/sessions/0/created_at", q("2026-06-10T09:00:00+01:60")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_unicode_digits", {{"/sessions/0/created_at", q("２026-06-10T09:00:00Z")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_trailing_space", {{"/sessions/0/created_at", q("2026-06-10T09:00:00Z ")}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_created_at_number", {{"/sessions/0/created_at", "1780000000"}}, "sessions[0].created_at is not a valid ISO timestamp"},
      {"session_bad_ended_at", {{"/sessions/0/ended_at", q("yesterday")}}, "sessions[0].ended_at is not a valid ISO timestamp"},
      {"session_metadata_array", {{"/sessions/0/metadata", "[]"}}, "sessions[0].metadata must be an object"},
      {"session_metadata_string", {{"/sessions/0/metadata", q("{}")}}, "sessions[0].metadata must be an object"},
      {"session_second_record",
       {{"/sessions/1", R"({"id":"x","created_at":"2026-06-10T09:00:00Z"})"}},
       "sessions[1].id is not a valid UUID"},
      // --- runs ---
      {"run_not_object", {{"/runs/0", q("run")}}, "runs[0] is not an object"},
      {"run_unknown_key_trace_id", {{"/runs/0/trace_id", q(kRun)}}, "runs[0].trace_id is not allowed"},
      {"run_unknown_key_kind", {{"/runs/0/kind", q("agent")}}, "runs[0].kind is not allowed"},
      {"run_bad_id", {{"/runs/0/id", q("run-1")}}, "runs[0].id is not a valid UUID"},
      {"run_missing_session_id", {{"/runs/0/session_id", std::nullopt}}, "runs[0].session_id is not a valid UUID"},
      {"run_null_session_id", {{"/runs/0/session_id", "null"}}, "runs[0].session_id is not a valid UUID"},
      {"run_bad_project_id", {{"/runs/0/project_id", "42"}}, "runs[0].project_id is not a valid UUID"},
      {"run_missing_name", {{"/runs/0/name", std::nullopt}}, "runs[0].name is required"},
      {"run_empty_name", {{"/runs/0/name", q("")}}, "runs[0].name is required"},
      {"run_numeric_name", {{"/runs/0/name", "5"}}, "runs[0].name is required"},
      {"run_name_checked_before_status",
       {{"/runs/0/name", std::nullopt}, {"/runs/0/status", q("x")}},
       "runs[0].name is required"},
      {"run_missing_started_at", {{"/runs/0/started_at", std::nullopt}}, "runs[0].started_at is not a valid ISO timestamp"},
      {"run_bad_ended_at", {{"/runs/0/ended_at", q("2026-06-10T09:00:00.123+0000")}}, "runs[0].ended_at is not a valid ISO timestamp"},
      {"run_bad_status", {{"/runs/0/status", q("done")}}, "runs[0].status must be one of: running, ok, error"},
      {"run_uppercase_status", {{"/runs/0/status", q("OK")}}, "runs[0].status must be one of: running, ok, error"},
      {"run_missing_status", {{"/runs/0/status", std::nullopt}}, "runs[0].status must be one of: running, ok, error"},
      {"run_status_checked_before_error",
       {{"/runs/0/status", q("x")}, {"/runs/0/error", "1"}},
       "runs[0].status must be one of: running, ok, error"},
      {"run_error_string", {{"/runs/0/error", q("boom")}}, "runs[0].error must be an object"},
      {"run_error_array", {{"/runs/0/error", "[]"}}, "runs[0].error must be an object"},
      {"run_metadata_number", {{"/runs/0/metadata", "1"}}, "runs[0].metadata must be an object"},
      // --- spans ---
      {"span_not_object", {{"/spans/0", "true"}}, "spans[0] is not an object"},
      {"span_unknown_key", {{"/spans/0/session_id", q(kSession)}}, "spans[0].session_id is not allowed"},
      {"span_bad_id", {{"/spans/0/id", q("")}}, "spans[0].id is not a valid UUID"},
      {"span_bad_run_id", {{"/spans/0/run_id", q("run")}}, "spans[0].run_id is not a valid UUID"},
      {"span_bad_project_id", {{"/spans/0/project_id", q("x")}}, "spans[0].project_id is not a valid UUID"},
      {"span_bad_parent_span_id", {{"/spans/1/parent_span_id", q("parent")}}, "spans[1].parent_span_id is not a valid UUID"},
      {"span_bad_kind", {{"/spans/0/kind", q("llm")}}, "spans[0].kind must be one of: agent, workflow, model, tool, custom"},
      {"span_missing_kind", {{"/spans/0/kind", std::nullopt}}, "spans[0].kind must be one of: agent, workflow, model, tool, custom"},
      {"span_kind_checked_before_name",
       {{"/spans/0/kind", q("x")}, {"/spans/0/name", std::nullopt}},
       "spans[0].kind must be one of: agent, workflow, model, tool, custom"},
      {"span_missing_name", {{"/spans/0/name", std::nullopt}}, "spans[0].name is required"},
      {"span_empty_name", {{"/spans/0/name", q("")}}, "spans[0].name is required"},
      {"span_bad_started_at", {{"/spans/0/started_at", q("2026-06-10")}}, "spans[0].started_at is not a valid ISO timestamp"},
      {"span_bad_ended_at", {{"/spans/0/ended_at", "0"}}, "spans[0].ended_at is not a valid ISO timestamp"},
      {"span_bad_status", {{"/spans/0/status", q("failed")}}, "spans[0].status must be one of: running, ok, error"},
      {"span_error_string", {{"/spans/0/error", q("boom")}}, "spans[0].error must be an object"},
      {"span_iteration_fraction", {{"/spans/1/iteration", "1.5"}}, "spans[1].iteration must be an integer"},
      {"span_iteration_string", {{"/spans/1/iteration", q("1")}}, "spans[1].iteration must be an integer"},
      {"span_iteration_bool", {{"/spans/1/iteration", "true"}}, "spans[1].iteration must be an integer"},
      {"span_attributes_array", {{"/spans/0/attributes", "[]"}}, "spans[0].attributes must be an object"},
      {"span_second_record_kind", {{"/spans/1/kind", q("Tool")}}, "spans[1].kind must be one of: agent, workflow, model, tool, custom"},
      // --- events ---
      {"event_not_object", {{"/events/0", "[]"}}, "events[0] is not an object"},
      {"event_unknown_key", {{"/events/0/name", q("x")}}, "events[0].name is not allowed"},
      {"event_bad_id", {{"/events/0/id", q("e")}}, "events[0].id is not a valid UUID"},
      {"event_bad_run_id", {{"/events/0/run_id", std::nullopt}}, "events[0].run_id is not a valid UUID"},
      {"event_bad_project_id", {{"/events/0/project_id", q("p")}}, "events[0].project_id is not a valid UUID"},
      {"event_bad_span_id", {{"/events/0/span_id", q("s")}}, "events[0].span_id is not a valid UUID"},
      {"event_bad_type", {{"/events/0/type", q("message")}},
       "events[0].type must be one of: user_input, system_message, assistant_message, reasoning, "
       "tool_arguments, tool_result, final_response, custom"},
      {"event_missing_type", {{"/events/0/type", std::nullopt}},
       "events[0].type must be one of: user_input, system_message, assistant_message, reasoning, "
       "tool_arguments, tool_result, final_response, custom"},
      {"event_bad_created_at", {{"/events/0/created_at", q("2026-06-10T09:00:00.000000z")}}, "events[0].created_at is not a valid ISO timestamp"},
      {"event_missing_content", {{"/events/0/content", std::nullopt}}, "events[0].content is required"},
      {"event_content_checked_before_attributes",
       {{"/events/0/content", std::nullopt}, {"/events/0/attributes", "1"}},
       "events[0].content is required"},
      {"event_attributes_string", {{"/events/0/attributes", q("a")}}, "events[0].attributes must be an object"},
      // --- prompt links ---
      {"link_not_object", {{"/prompt_links/0", "1"}}, "prompt_links[0] is not an object"},
      {"link_unknown_key", {{"/prompt_links/0", kLink}, {"/prompt_links/0/id", q(kUnknown)}}, "prompt_links[0].id is not allowed"},
      {"link_bad_project_id_checked_first",
       {{"/prompt_links/0", kLink}, {"/prompt_links/0/project_id", q("p")}, {"/prompt_links/0/trace_id", q("t")}},
       "prompt_links[0].project_id is not a valid UUID"},
      {"link_bad_trace_id", {{"/prompt_links/0", kLink}, {"/prompt_links/0/trace_id", std::nullopt}}, "prompt_links[0].trace_id is not a valid UUID"},
      {"link_bad_span_id", {{"/prompt_links/0", kLink}, {"/prompt_links/0/span_id", "null"}}, "prompt_links[0].span_id is not a valid UUID"},
      {"link_bad_prompt_version_id", {{"/prompt_links/0", kLink}, {"/prompt_links/0/prompt_version_id", q("v1")}}, "prompt_links[0].prompt_version_id is not a valid UUID"},
      {"link_variable_values_array", {{"/prompt_links/0", kLink}, {"/prompt_links/0/variable_values", "[]"}}, "prompt_links[0].variable_values must be an object"},
      // --- scores ---
      {"score_not_object", {{"/scores/0", q("s")}}, "scores[0] is not an object"},
      {"score_unknown_key_run_id", {{"/scores/0/run_id", q(kRun)}}, "scores[0].run_id is not allowed"},
      {"score_unknown_key_created_by", {{"/scores/0/created_by", q("me")}}, "scores[0].created_by is not allowed"},
      {"score_bad_id", {{"/scores/0/id", std::nullopt}}, "scores[0].id is not a valid UUID"},
      {"score_bad_project_id", {{"/scores/0/project_id", q("p")}}, "scores[0].project_id is not a valid UUID"},
      {"score_bad_trace_id", {{"/scores/0/trace_id", q("t")}}, "scores[0].trace_id is not a valid UUID"},
      {"score_bad_span_id", {{"/scores/0/span_id", q("s")}}, "scores[0].span_id is not a valid UUID"},
      {"score_missing_name", {{"/scores/0/name", std::nullopt}}, "scores[0].name is required"},
      {"score_blank_name", {{"/scores/0/name", q("   ")}}, "scores[0].name is required"},
      {"score_whitespace_name", {{"/scores/0/name", q("\\t\\n\\u00a0\\u3000")}}, "scores[0].name is required"},
      {"score_value_string", {{"/scores/0/value", q("0.5")}}, "scores[0].value must be a finite number"},
      {"score_value_missing", {{"/scores/0/value", std::nullopt}}, "scores[0].value must be a finite number"},
      {"score_value_null", {{"/scores/0/value", "null"}}, "scores[0].value must be a finite number"},
      {"score_value_checked_before_data_type",
       {{"/scores/0/value", "null"}, {"/scores/0/data_type", q("x")}},
       "scores[0].value must be a finite number"},
      {"score_bad_data_type", {{"/scores/0/data_type", q("float")}}, "scores[0].data_type must be one of: numeric, categorical, boolean"},
      {"score_missing_data_type", {{"/scores/0/data_type", std::nullopt}}, "scores[0].data_type must be one of: numeric, categorical, boolean"},
      {"score_categorical_without_string_value", {{"/scores/0/data_type", q("categorical")}}, "scores[0].string_value is required for categorical scores"},
      {"score_categorical_blank_string_value",
       {{"/scores/0/data_type", q("categorical")}, {"/scores/0/string_value", q("  ")}},
       "scores[0].string_value is required for categorical scores"},
      {"score_categorical_numeric_string_value",
       {{"/scores/0/data_type", q("categorical")}, {"/scores/0/string_value", "1"}},
       "scores[0].string_value is required for categorical scores"},
      {"score_numeric_with_string_value", {{"/scores/0/string_value", q("high")}}, "scores[0].string_value is only allowed for categorical scores"},
      {"score_boolean_with_string_value",
       {{"/scores/0/data_type", q("boolean")}, {"/scores/0/value", "1"}, {"/scores/0/string_value", q("yes")}},
       "scores[0].string_value is only allowed for categorical scores"},
      {"score_boolean_value_half",
       {{"/scores/0/data_type", q("boolean")}, {"/scores/0/value", "0.5"}},
       "scores[0].value must be 0 or 1 for boolean scores"},
      {"score_boolean_value_two",
       {{"/scores/0/data_type", q("boolean")}, {"/scores/0/value", "2"}},
       "scores[0].value must be 0 or 1 for boolean scores"},
      {"score_source_human", {{"/scores/0/source", q("human")}}, "scores[0].source must be api"},
      {"score_source_missing", {{"/scores/0/source", std::nullopt}}, "scores[0].source must be api"},
      {"score_comment_number", {{"/scores/0/comment", "5"}}, "scores[0].comment must be a string"},
      {"score_bad_created_at", {{"/scores/0/created_at", q("now")}}, "scores[0].created_at is not a valid ISO timestamp"},
      {"score_missing_created_at", {{"/scores/0/created_at", std::nullopt}}, "scores[0].created_at is not a valid ISO timestamp"},
      // --- entity order: sessions, runs, spans, events, prompt_links, scores ---
      {"order_sessions_before_runs",
       {{"/runs/0/status", q("x")}, {"/sessions/0/id", q("x")}},
       "sessions[0].id is not a valid UUID"},
      {"order_runs_before_spans",
       {{"/spans/0/kind", q("x")}, {"/runs/0/status", q("x")}},
       "runs[0].status must be one of: running, ok, error"},
      {"order_spans_before_events",
       {{"/events/0/content", std::nullopt}, {"/spans/0/status", q("x")}},
       "spans[0].status must be one of: running, ok, error"},
      {"order_events_before_prompt_links",
       {{"/prompt_links/0", "1"}, {"/events/0/content", std::nullopt}},
       "events[0].content is required"},
      {"order_prompt_links_before_scores",
       {{"/scores/0/source", q("human")}, {"/prompt_links/0", "1"}},
       "prompt_links[0] is not an object"},
  };
  return cases;
}

std::vector<AcceptCase> accept_cases() {
  return {
      {"as_is", {}},
      {"project_id_on_every_record",
       {{"/sessions/0/project_id", q(kUnknown)}, {"/runs/0/project_id", q(kUnknown)},
        {"/spans/0/project_id", q(kUnknown)}, {"/events/0/project_id", q(kUnknown)},
        {"/scores/0/project_id", q(kUnknown)}}},
      {"null_project_id", {{"/sessions/0/project_id", "null"}}},
      {"session_optional_fields_null", {{"/sessions/0/ended_at", "null"}, {"/sessions/0/metadata", "null"}}},
      {"session_optional_fields_missing", {{"/sessions/0/metadata", std::nullopt}}},
      {"run_name_whitespace_only", {{"/runs/0/name", q(" ")}}},
      {"run_error_object", {{"/runs/0/status", q("error")}, {"/runs/0/error", R"({"type":"E","message":"m","module":"cpp"})"}}},
      {"run_error_null", {{"/runs/0/error", "null"}}},
      {"run_ok_with_ended_at", {{"/runs/0/status", q("ok")}, {"/runs/0/ended_at", q("2026-06-10T09:00:05Z")}}},
      {"timestamp_positive_offset", {{"/runs/0/started_at", q("2026-06-10T14:30:00+05:30")}}},
      {"timestamp_negative_offset", {{"/runs/0/started_at", q("2026-06-10T01:00:00-08:00")}}},
      {"timestamp_nine_digit_fraction", {{"/runs/0/started_at", q("2026-06-10T09:00:00.123456789Z")}}},
      {"timestamp_one_digit_fraction", {{"/runs/0/started_at", q("2026-06-10T09:00:00.5Z")}}},
      {"timestamp_leap_day", {{"/runs/0/started_at", q("2024-02-29T00:00:00Z")}}},
      {"timestamp_hour_24", {{"/runs/0/started_at", q("2026-06-10T24:00:00Z")}}},
      {"timestamp_offset_15_59", {{"/runs/0/started_at", q("2026-06-10T09:00:00+15:59")}}},
      {"uppercase_uuids",
       {{"/sessions/0/id", q("AAAAAAAA-1111-4111-8111-111111111111")},
        {"/runs/0/session_id", q("aaaaaaaa-1111-4111-8111-111111111111")}}},
      {"span_parent_null", {{"/spans/1/parent_span_id", "null"}}},
      {"span_iteration_integral_float", {{"/spans/1/iteration", "1.0"}}},
      {"span_iteration_exponent", {{"/spans/1/iteration", "2e1"}}},
      {"span_iteration_negative", {{"/spans/1/iteration", "-3"}}},
      {"span_iteration_null", {{"/spans/1/iteration", "null"}}},
      {"span_attributes_null", {{"/spans/0/attributes", "null"}}},
      {"event_content_null", {{"/events/0/content", "null"}}},
      {"event_content_string", {{"/events/0/content", q("hello")}}},
      {"event_content_array", {{"/events/0/content", "[1,\"two\",null]"}}},
      {"event_content_number", {{"/events/0/content", "3.5"}}},
      {"event_span_id_null", {{"/events/0/span_id", "null"}}},
      {"event_without_span", {{"/events/0/span_id", std::nullopt}}},
      {"event_attributes_missing", {{"/events/0/attributes", std::nullopt}}},
      {"score_categorical", {{"/scores/0/data_type", q("categorical")}, {"/scores/0/value", "0"}, {"/scores/0/string_value", q(" good ")}}},
      {"score_boolean_one", {{"/scores/0/data_type", q("boolean")}, {"/scores/0/value", "1"}}},
      {"score_boolean_zero_float", {{"/scores/0/data_type", q("boolean")}, {"/scores/0/value", "0.0"}}},
      {"score_numeric_string_value_null", {{"/scores/0/string_value", "null"}}},
      {"score_comment", {{"/scores/0/comment", q("looks right")}}},
      {"score_comment_null", {{"/scores/0/comment", "null"}}},
      {"score_on_span", {{"/scores/0/span_id", q(kChildSpan)}}},
      {"score_negative_large_value", {{"/scores/0/value", "-1e300"}}},
      {"schema_version_1", {{"/schema_version", "1"}}},
  };
}

class RejectTest : public ServerTest, public ::testing::WithParamInterface<RejectCase> {};

TEST_P(RejectTest, Returns400WithTheExactMessage) {
  const RejectCase& c = GetParam();
  const HttpResponse r = post(edit(base_payload(), c.edits));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, error_body(c.message));
  // Nothing of the batch is stored.
  const auto rows = server_->snapshot();
  EXPECT_TRUE(rows.sessions.empty() && rows.runs.empty() && rows.spans.empty() &&
              rows.events.empty() && rows.scores.empty());
}

INSTANTIATE_TEST_SUITE_P(Messages, RejectTest, ::testing::ValuesIn(reject_cases()),
                         [](const ::testing::TestParamInfo<RejectCase>& info) {
                           return std::string(info.param.name);
                         });

class AcceptTest : public ServerTest, public ::testing::WithParamInterface<AcceptCase> {};

TEST_P(AcceptTest, Returns200Accepted) {
  const HttpResponse r = post(edit(base_payload(), GetParam().edits));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"accepted":true})");
  EXPECT_EQ(server_->snapshot().runs.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Variants, AcceptTest, ::testing::ValuesIn(accept_cases()),
                         [](const ::testing::TestParamInfo<AcceptCase>& info) {
                           return std::string(info.param.name);
                         });

class ValidationTest : public ServerTest {};

TEST_F(ValidationTest, AllFiveSpanKindsAreAccepted) {
  for (const std::string kind : {"agent", "workflow", "model", "tool", "custom"}) {
    SCOPED_TRACE(kind);
    EXPECT_EQ(post(edit(base_payload(), {{"/spans/0/kind", q(kind)}})).status, 200);
  }
}

TEST_F(ValidationTest, AllEightEventTypesAreAccepted) {
  for (const std::string type : {"user_input", "system_message", "assistant_message", "reasoning",
                                  "tool_arguments", "tool_result", "final_response", "custom"}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(post(edit(base_payload(), {{"/events/0/type", q(type)}})).status, 200);
  }
}

TEST_F(ValidationTest, AllThreeStatusesAreAccepted) {
  for (const std::string status : {"running", "ok", "error"}) {
    SCOPED_TRACE(status);
    EXPECT_EQ(post(edit(base_payload(), {{"/runs/0/status", q(status)}, {"/spans/0/status", q(status)}})).status,
              200);
  }
}

std::string score_list(int count) {
  std::string scores = "[";
  for (int i = 0; i < count; ++i) {
    if (i > 0) scores += ",";
    scores += R"({"id":")" + uuid(i) + R"(","trace_id":")" + kRun +
              R"(","name":"s","value":1,"data_type":"numeric","source":"api","created_at":"2026-06-10T09:00:01Z"})";
  }
  return scores + "]";
}

TEST_F(ValidationTest, AtMost500Scores) {
  const HttpResponse too_many = post(edit(base_payload(), {{"/scores", score_list(501)}}));
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(too_many.body, R"({"error":"scores must contain at most 500 items"})");
  const HttpResponse limit = post(edit(base_payload(), {{"/scores", score_list(500)}}));
  EXPECT_EQ(limit.status, 200);
  EXPECT_EQ(server_->snapshot().scores.size(), 500u);
}

TEST_F(ValidationTest, ScoreCountIsCheckedBeforeScoreRecords) {
  const std::string scores = edit(score_list(501), {{"/0/source", q("human")}});
  EXPECT_EQ(post(edit(base_payload(), {{"/scores", scores}})).body,
            R"({"error":"scores must contain at most 500 items"})");
}

TEST_F(ValidationTest, DuplicateKeysKeepTheLastValueLikeJsonParse) {
  std::string body = edit(base_payload(), {});
  const std::string status = R"("status":"running")";
  body.replace(body.find(status), status.size(), R"("status":"bogus","status":"ok")");
  EXPECT_EQ(post(body).status, 200);
  EXPECT_EQ(server_->snapshot().runs.at(0).status, "ok");

  std::string bad = edit(base_payload(), {});
  bad.replace(bad.find(status), status.size(), R"("status":"ok","status":"bogus")");
  EXPECT_EQ(post(bad).body, error_body("runs[0].status must be one of: running, ok, error"));
}

TEST_F(ValidationTest, MessagesQuoteUnusualKeysAsJson) {
  const HttpResponse r = post(edit(base_payload(), {{"/runs/0/we\"ird\nkey", "1"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"error":"runs[0].we\"ird\nkey is not allowed"})");
}

TEST_F(ValidationTest, LaterRecordIndexIsReported) {
  const std::string payload = edit(base_payload(), {{"/events/1", R"({"id":")" + uuid(9) +
                                                                          R"(","run_id":")" + kRun +
                                                                          R"(","type":"custom","created_at":"2026-06-10T09:00:02Z"})"}});
  EXPECT_EQ(post(payload).body, error_body("events[1].content is required"));
}

}  // namespace
}  // namespace nsl_test

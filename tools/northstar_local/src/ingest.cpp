// ingest.cpp: the ingest request pipeline, in the edge function's check order (protocol §3.7).
#include "ingest.h"

#include <array>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <rapidjson/error/en.h>

#include "text.h"
#include "validation.h"

namespace northstar_local::detail {
namespace {

// Deeper JSON is refused with a 500, like a serializer running out of stack would be.
constexpr int kMaxJsonDepth = 1000;

IngestResponse error_response(int status, std::string_view message, std::string detail = {}) {
  IngestResponse response;
  response.status = status;
  response.body = "{\"error\":" + json_quote(message) + "}";
  response.detail = std::move(detail);
  return response;
}

std::string_view string_of(const JsonValue& record, std::string_view key) {
  const JsonValue* value = member(record, key);
  if (value == nullptr || !value->IsString()) return {};
  return {value->GetString(), value->GetStringLength()};
}

bool has_string(const JsonValue& record, std::string_view key) {
  const JsonValue* value = member(record, key);
  return value != nullptr && value->IsString();
}

// orderSpansByParent(): depth-first, parents before children, comparing ids as raw strings. Spans
// whose parent is not in the batch are roots in their original order; a repeated id is visited
// once (so later duplicates are dropped, as in the edge function).
std::vector<const JsonValue*> order_spans_by_parent(const JsonValue& spans) {
  std::unordered_set<std::string_view> ids;
  for (const auto& span : spans.GetArray()) {
    if (has_string(span, "id")) ids.insert(string_of(span, "id"));
  }
  std::unordered_map<std::string_view, std::vector<const JsonValue*>> children;
  std::vector<const JsonValue*> roots;
  for (const auto& span : spans.GetArray()) {
    if (has_string(span, "parent_span_id") && ids.count(string_of(span, "parent_span_id")) > 0) {
      children[string_of(span, "parent_span_id")].push_back(&span);
    } else {
      roots.push_back(&span);
    }
  }

  std::vector<const JsonValue*> ordered;
  std::unordered_set<std::string_view> seen;
  auto visit = [&](const JsonValue* start) {
    std::vector<const JsonValue*> stack{start};
    while (!stack.empty()) {
      const JsonValue* span = stack.back();
      stack.pop_back();
      const bool has_id = has_string(*span, "id");
      if (has_id && !seen.insert(string_of(*span, "id")).second) continue;
      ordered.push_back(span);
      if (!has_id) continue;
      auto found = children.find(string_of(*span, "id"));
      if (found == children.end()) continue;
      for (auto it = found->second.rbegin(); it != found->second.rend(); ++it) stack.push_back(*it);
    }
  };
  for (const JsonValue* root : roots) visit(root);
  if (ordered.size() != spans.Size()) {
    for (const auto& span : spans.GetArray()) visit(&span);
  }
  return ordered;
}

std::vector<const JsonValue*> pointers(const JsonValue& array) {
  std::vector<const JsonValue*> out;
  out.reserve(array.Size());
  for (const auto& element : array.GetArray()) out.push_back(&element);
  return out;
}

bool is_line_terminator(char c) { return c == '\n' || c == '\r'; }

std::string count_of(std::size_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

// "1 session, 1 run, 7 spans, 23 events, 1 score; runs: travel-agent [ok], ..." for the serve line.
std::string batch_summary(const IngestBatch& batch) {
  std::string out = count_of(batch.sessions.size(), "session", "sessions") + ", " +
                    count_of(batch.runs.size(), "run", "runs") + ", " +
                    count_of(batch.spans.size(), "span", "spans") + ", " +
                    count_of(batch.events.size(), "event", "events") + ", " +
                    count_of(batch.scores.size(), "score", "scores");
  std::size_t errors = 0;
  for (const JsonValue* span : batch.spans) {
    if (string_of(*span, "status") == "error") ++errors;
  }
  if (errors > 0) out += ", " + count_of(errors, "error span", "error spans");
  if (!batch.runs.empty()) {
    out += "; runs:";
    std::size_t shown = 0;
    for (const JsonValue* run : batch.runs) {
      if (shown++ == 5) {
        out += " ...";
        break;
      }
      out += " " + json_quote(string_of(*run, "name")) + " [" + std::string(string_of(*run, "status"));
      if (const JsonValue* error = member(*run, "error"); error != nullptr && error->IsObject()) {
        out += ": " + std::string(string_of(*error, "type"));
        if (has_string(*error, "message")) out += ": " + std::string(string_of(*error, "message"));
      }
      out += "]";
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> extract_bearer_token(const std::string* authorization) {
  if (authorization == nullptr || authorization->empty()) return std::nullopt;
  const std::string value = latin1_to_utf8(*authorization);
  if (value.size() < 6 || ascii_lower(std::string_view(value).substr(0, 6)) != "bearer") {
    return std::nullopt;
  }
  const std::string_view rest = std::string_view(value).substr(6);
  // \s+ needs a leading whitespace code point, (.+)$ at least one more code point and no line
  // terminator anywhere after it; the captured token is then trimmed.
  const std::string_view trimmed_front = js_trim(rest);
  if (rest.empty() || trimmed_front.data() == rest.data()) {
    // No leading whitespace (or nothing at all).
    return std::nullopt;
  }
  for (const char c : rest) {
    if (is_line_terminator(c)) return std::nullopt;
  }
  // At least two code points: one whitespace plus one more.
  std::size_t code_points = 0;
  for (const char c : rest) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++code_points;
  }
  if (code_points < 2) return std::nullopt;
  if (trimmed_front.empty()) return std::nullopt;
  return std::string(trimmed_front);
}

IngestResponse handle_ingest(Store& store, const IngestRequest& request, const PipelineFaults& faults) {
  // 1. CORS preflight, 2. method.
  if (request.method == "OPTIONS") {
    IngestResponse response;
    response.status = 204;
    return response;
  }
  if (request.method != "POST") return error_response(405, "Method not allowed");

  // 3. Bearer token.
  const auto token = extract_bearer_token(request.authorization);
  if (!token) return error_response(401, "Missing or invalid authorization header");

  // 4./5. Key lookup by SHA-256 hex.
  std::optional<std::string> project_id;
  if (faults.take_key_lookup_error && faults.take_key_lookup_error()) {
    IngestResponse response =
        error_response(500, "Internal server error", "injected key lookup error (northstar-local fault)");
    response.fault = "key_lookup_error";
    return response;
  }
  try {
    project_id = store.resolve_key(sha256_hex(*token));
  } catch (const std::exception& e) {
    return error_response(500, "Internal server error", std::string("resolve_api_key error: ") + e.what());
  }
  if (!project_id) return error_response(401, "Invalid or revoked API key");

  // 6./7. JSON body, must be an object. Deno hands the function the bytes as sent: a compressed
  // body is never valid JSON text.
  if (request.encoded_body) {
    return error_response(400, "Invalid JSON body",
                          "Content-Encoding bodies are not decoded by the ingest function");
  }
  std::string text = decode_utf8_lossy(request.body);
  if (text.find('\0') != std::string::npos) return error_response(400, "Invalid JSON body");
  // Measured before the in-place parse rewrites the text; reported after the checks below.
  const int depth = json_nesting_depth(text);
  // Parsed in place (strings point into `text`, which outlives the document), as the text holds
  // no NUL and ends with one.
  JsonDocument document;
  document.ParseInsitu<rapidjson::kParseIterativeFlag>(text.data());
  if (document.HasParseError()) {
    return error_response(400, "Invalid JSON body",
                          std::string("JSON parse error at offset ") +
                              std::to_string(document.GetErrorOffset()) + ": " +
                              rapidjson::GetParseError_En(document.GetParseError()));
  }
  if (!document.IsObject()) return error_response(400, "JSON body must be an object");
  if (depth > kMaxJsonDepth) {
    return error_response(500, "Internal server error",
                          "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  collapse_duplicate_keys(document, document.GetAllocator());

  // 8. schema_version must be the number 1 or 2.
  const JsonValue* version = member(document, "schema_version");
  if (version == nullptr || !version->IsNumber() ||
      (version->GetDouble() != 1.0 && version->GetDouble() != 2.0)) {
    return error_response(400, "Unsupported schema_version (expected 1 or 2)");
  }

  // 9. Arrays (missing or null = empty), in this order.
  static constexpr std::array<std::string_view, 6> kArrayKeys = {
      "sessions", "runs", "spans", "events", "prompt_links", "scores"};
  const JsonValue empty_array(rapidjson::kArrayType);
  std::array<const JsonValue*, 6> arrays{};
  for (std::size_t i = 0; i < kArrayKeys.size(); ++i) {
    const JsonValue* value = member(document, kArrayKeys[i]);
    if (is_nullish(value)) {
      arrays[i] = &empty_array;
    } else if (!value->IsArray()) {
      return error_response(400, std::string(kArrayKeys[i]) + " must be an array");
    } else {
      arrays[i] = value;
    }
  }
  const JsonValue& sessions = *arrays[0];
  const JsonValue& runs = *arrays[1];
  const JsonValue& spans = *arrays[2];
  const JsonValue& events = *arrays[3];
  const JsonValue& prompt_links = *arrays[4];
  const JsonValue& scores = *arrays[5];

  // 10. Record validation, entity by entity.
  using Validator = std::optional<std::string> (*)(const JsonValue&);
  const std::array<std::pair<Validator, const JsonValue*>, 6> validators = {{
      {validate_sessions, &sessions},
      {validate_runs, &runs},
      {validate_spans, &spans},
      {validate_events, &events},
      {validate_prompt_links, &prompt_links},
      {validate_scores, &scores},
  }};
  for (const auto& [validate, array] : validators) {
    if (auto message = validate(*array)) return error_response(400, *message);
  }

  // Project stamping happens in the store (every row gets the authenticated project).
  IngestBatch batch;
  batch.project_id = *project_id;
  batch.sessions = pointers(sessions);
  batch.runs = pointers(runs);
  batch.spans = order_spans_by_parent(spans);
  batch.events = pointers(events);
  batch.prompt_links = pointers(prompt_links);
  batch.scores = pointers(scores);

  // 11./12. One transaction; reference errors are 400, anything else 500.
  const bool inject = faults.take_store_error && faults.take_store_error();
  try {
    store.ingest(batch, inject);
  } catch (const std::exception& e) {
    const std::string message = e.what();
    IngestResponse response =
        is_project_reference_error(message)
            ? error_response(400, "Payload contains invalid project references", message)
            : error_response(500, "Internal server error", message);
    if (inject) response.fault = "store_error";
    return response;
  }

  // 13.
  IngestResponse response;
  response.status = 200;
  response.body = R"({"accepted":true})";
  response.summary = batch_summary(batch);
  return response;
}

}  // namespace northstar_local::detail

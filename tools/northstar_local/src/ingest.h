// ingest.h: declares handle_ingest(), the ingest endpoint's request pipeline (protocol §3.7): CORS
// preflight, method, Bearer auth by key hash, JSON parsing, validation, span ordering, persistence.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "store.h"

namespace northstar_local::detail {

struct IngestRequest {
  std::string_view method;
  const std::string* authorization = nullptr;  // header value, nullptr when absent
  std::string_view body;
  bool encoded_body = false;  // sent with a Content-Encoding: the function parses the raw bytes,
                              // which are not JSON, so this is "Invalid JSON body" once past auth
};

struct IngestResponse {
  int status = 200;
  std::string body;    // JSON; empty for 204
  std::string detail;  // why a 400 reference error / 500 happened (for the request log)
  std::string fault;   // "key_lookup_error" | "store_error" when an injected fault fired
  std::string summary; // accepted batches: "1 session, 1 run, 7 spans, ... runs: name [status]"
};

// Fault hooks consulted only when the pipeline reaches the step; each returns true to fail it.
struct PipelineFaults {
  std::function<bool()> take_key_lookup_error;
  std::function<bool()> take_store_error;
};

// Answers one request to the ingest path exactly as the edge function would.
IngestResponse handle_ingest(Store& store, const IngestRequest& request, const PipelineFaults& faults);

// The edge function's Bearer parsing: /^Bearer\s+(.+)$/i on the header, then trim(); empty result
// = no token.
std::optional<std::string> extract_bearer_token(const std::string* authorization);

}  // namespace northstar_local::detail

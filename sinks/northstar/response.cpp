// response.cpp: classification of ingest responses.
#include "response.h"

#include <rapidjson/document.h>

#include <string>

namespace dagstack::logger::northstar::detail {

bool accepted_body(std::string_view body) noexcept {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  return doc.HasMember("accepted") && doc["accepted"].IsBool() && doc["accepted"].GetBool();
}

bool retryable_status(int status) noexcept {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

ResponseOutcome classify_response(const HttpResponse& response) noexcept {
  if (response.status == 0) return ResponseOutcome::kRetry;
  if (response.status >= 200 && response.status < 300) {
    return accepted_body(response.body) ? ResponseOutcome::kAccepted : ResponseOutcome::kRetry;
  }
  return retryable_status(response.status) ? ResponseOutcome::kRetry : ResponseOutcome::kReject;
}

}  // namespace dagstack::logger::northstar::detail

// support.h: declares the helpers shared by the northstar-local tests: a libcurl HTTP client, a
// fixture that runs a server on 127.0.0.1:0, and JSON payload builders.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "northstar_local/server.h"

namespace nsl_test {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names
  double seconds = 0.0;
  std::string error;  // libcurl error text when the request failed at transport level
};

// Sends one request over real HTTP. `headers` are full header lines ("Name: value").
HttpResponse http(const std::string& method, const std::string& url, const std::string& body = "",
                  const std::vector<std::string>& headers = {}, long timeout_ms = 10000);

inline constexpr const char* kKey = "ns_AbCdEfGhIjKlMnOpQrStUvWxYz012345";
inline constexpr const char* kOtherKey = "ns_other_project_key_0000000000000";

// Ids used by base_payload().
inline constexpr const char* kSession = "11111111-1111-4111-8111-111111111111";
inline constexpr const char* kRun = "22222222-2222-4222-8222-222222222222";
inline constexpr const char* kRootSpan = "33333333-3333-4333-8333-333333333333";
inline constexpr const char* kChildSpan = "44444444-4444-4444-8444-444444444444";
inline constexpr const char* kEvent = "55555555-5555-4555-8555-555555555555";
inline constexpr const char* kScore = "66666666-6666-4666-8666-666666666666";
inline constexpr const char* kUnknown = "77777777-7777-4777-8777-777777777777";

// A valid batch: one session, one run, a root span and a child span, one event on the child
// span, one numeric score, no prompt links.
std::string base_payload();

// The complete example payload of protocol §3.8.
std::string example_payload();

// A v4-shaped UUID built from n (distinct n give distinct ids).
std::string uuid(int n);

rapidjson::Document parse(const std::string& json);
std::string to_json(const rapidjson::Value& value);

// Applies JSON-pointer edits to a JSON text: {pointer, json value} sets (creating as needed),
// {pointer, std::nullopt} erases.
using Edit = std::pair<std::string, std::optional<std::string>>;
std::string edit(const std::string& json, const std::vector<Edit>& edits);

// {"error":"<message>"} exactly as the server writes it.
std::string error_body(const std::string& message);

// Runs one server per test on 127.0.0.1:0 with kKey and kOtherKey (two projects). The fixture is
// used from the test thread; the Server it owns is thread-safe.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Options used by SetUp(); override to customise.
  virtual northstar_local::ServerOptions options();

  HttpResponse post(const std::string& body, const std::string& key = kKey);
  HttpResponse post_raw(const std::string& body, const std::vector<std::string>& headers);
  HttpResponse admin(const std::string& method, const std::string& route, const std::string& body = "");

  std::unique_ptr<northstar_local::Server> server_;
};

}  // namespace nsl_test

// protocol_test.cpp: northstar-local HTTP conformance: routes, CORS, method, Bearer auth by key
// hash, body parsing and top-level checks, in the edge function's order (protocol §3.1, §3.7).
#include <curl/curl.h>
#include <sqlite3.h>

#include <chrono>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "support.h"

namespace nsl_test {
namespace {

using northstar_local::Server;
using northstar_local::ServerOptions;

class ProtocolTest : public ServerTest {};

void expect_cors(const HttpResponse& r) {
  EXPECT_EQ(r.headers.count("access-control-allow-origin"), 1u);
  if (r.headers.count("access-control-allow-origin") == 0) return;
  EXPECT_EQ(r.headers.at("access-control-allow-origin"), "*");
  EXPECT_EQ(r.headers.at("access-control-allow-headers"), "authorization, content-type");
  EXPECT_EQ(r.headers.at("access-control-allow-methods"), "POST, OPTIONS");
}

TEST(Sha256Test, MatchesTheReferenceVectors) {
  EXPECT_EQ(northstar_local::sha256_hex("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(northstar_local::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(northstar_local::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Two-block message (56 bytes) from FIPS 180-2.
  EXPECT_EQ(northstar_local::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(northstar_local::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(ProjectIdTest, DerivedProjectIdIsAStableV4Uuid) {
  const std::string id = northstar_local::derive_project_id("ns_key");
  EXPECT_EQ(id, northstar_local::derive_project_id("ns_key"));
  EXPECT_NE(id, northstar_local::derive_project_id("ns_key2"));
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
}

TEST(ServerOptionsTest, RejectsBadOptions) {
  ServerOptions no_keys;
  EXPECT_THROW(Server{no_keys}, std::invalid_argument);
  ServerOptions empty_key;
  empty_key.api_keys = {{"", ""}};
  EXPECT_THROW(Server{empty_key}, std::invalid_argument);
  ServerOptions padded_key;
  padded_key.api_keys = {{" ns_key", ""}};
  EXPECT_THROW(Server{padded_key}, std::invalid_argument);
  ServerOptions bad_project;
  bad_project.api_keys = {{"ns_key", "not-a-uuid"}};
  EXPECT_THROW(Server{bad_project}, std::invalid_argument);
  ServerOptions bad_port;
  bad_port.api_keys = {{"ns_key", ""}};
  bad_port.port = 70000;
  EXPECT_THROW(Server{bad_port}, std::invalid_argument);
  ServerOptions bad_db;
  bad_db.api_keys = {{"ns_key", ""}};
  bad_db.db_path = "/nonexistent-dir/sub/db.sqlite";
  EXPECT_THROW(Server{bad_db}, std::runtime_error);
}

TEST(ServerLifecycleTest, PortZeroPicksAFreePortAndRestartWorks) {
  ServerOptions options;
  options.api_keys = {{kKey, ""}};
  Server a(options), b(options);
  a.start();
  b.start();
  EXPECT_GT(a.port(), 0);
  EXPECT_NE(a.port(), b.port());
  EXPECT_TRUE(a.running());
  EXPECT_EQ(a.base_url(), "http://127.0.0.1:" + std::to_string(a.port()));
  EXPECT_EQ(a.ingest_url(), a.base_url() + "/functions/v1/ingest-traces");
  a.start();  // no-op while running
  a.stop();
  a.stop();  // idempotent
  EXPECT_FALSE(a.running());
  EXPECT_FALSE(http("OPTIONS", a.ingest_url()).error.empty());
  a.start();
  EXPECT_EQ(http("OPTIONS", a.ingest_url()).status, 204);
}

size_t discard_body(char*, size_t size, size_t count, void*) { return size * count; }

TEST(ServerLifecycleTest, StopIsPromptWhileAClientHoldsAKeepAliveConnection) {
  ServerOptions options;
  options.api_keys = {{kKey, ""}};
  Server server(options);
  server.start();
  // One libcurl handle reused twice keeps its connection open, as a sink's transport would.
  CURL* curl = curl_easy_init();
  ASSERT_NE(curl, nullptr);
  const std::string url = server.ingest_url();
  const std::string auth = "Authorization: Bearer " + std::string(kKey);
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, R"({"schema_version":2})");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
  ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
  long connects = -1;
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
  EXPECT_EQ(connects, 0);  // the second request reused the connection
  const auto started = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

TEST(ServerLifecycleTest, FixedPortInUseThrows) {
  ServerOptions options;
  options.api_keys = {{kKey, ""}};
  Server first(options);
  first.start();
  options.port = first.port();
  Server second(options);
  EXPECT_THROW(second.start(), std::runtime_error);
}

TEST_F(ProtocolTest, OptionsIs204WithCorsHeadersAndNoBody) {
  const HttpResponse r = http("OPTIONS", server_->ingest_url());
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  expect_cors(r);
}

TEST_F(ProtocolTest, OptionsNeedsNoAuthEvenWithGarbageHeaders) {
  const HttpResponse r = http("OPTIONS", server_->ingest_url(), "", {"Authorization: Basic xyz"});
  EXPECT_EQ(r.status, 204);
}

TEST_F(ProtocolTest, NonPostMethodsAre405) {
  for (const char* method : {"GET", "PUT", "PATCH", "DELETE"}) {
    SCOPED_TRACE(method);
    const HttpResponse r = http(method, server_->ingest_url(), "", {"Authorization: Bearer " + std::string(kKey)});
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.body, R"({"error":"Method not allowed"})");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    expect_cors(r);
  }
  EXPECT_EQ(http("HEAD", server_->ingest_url()).status, 405);
}

TEST_F(ProtocolTest, MissingAuthorizationIs401) {
  const HttpResponse r = post_raw(base_payload(), {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"error":"Missing or invalid authorization header"})");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  expect_cors(r);
}

TEST_F(ProtocolTest, MalformedAuthorizationIs401) {
  const std::string missing = error_body("Missing or invalid authorization header");
  for (const std::string& header : std::vector<std::string>{"Authorization: Basic dXNlcjpwYXNz", "Authorization: Bearer",
                                   "Authorization: Bearer    ", "Authorization: Bearer" + std::string(kKey),
                                   "Authorization: Token " + std::string(kKey), "Authorization:"}) {
    SCOPED_TRACE(header);
    const HttpResponse r = post_raw(base_payload(), {header});
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, missing);
  }
  EXPECT_TRUE(server_->snapshot().sessions.empty());
}

TEST_F(ProtocolTest, BearerSchemeIsCaseInsensitiveAndTokenIsTrimmed) {
  EXPECT_EQ(post_raw(base_payload(), {"Authorization: bearer " + std::string(kKey)}).status, 200);
  EXPECT_EQ(post_raw(base_payload(), {"Authorization: BEARER \t " + std::string(kKey) + " \t"}).status, 200);
}

TEST_F(ProtocolTest, UnknownKeyIs401) {
  const HttpResponse r = post(base_payload(), "ns_not_a_configured_key");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"error":"Invalid or revoked API key"})");
  expect_cors(r);
}

TEST_F(ProtocolTest, KeyIsCaseSensitive) {
  std::string upper = kKey;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(post(base_payload(), upper).status, 401);
}

TEST_F(ProtocolTest, RevokedKeyIs401AndCanBeReactivated) {
  ASSERT_EQ(post(base_payload()).status, 200);
  server_->revoke_api_key(kKey);
  EXPECT_EQ(server_->project_id_for(kKey), "");
  const HttpResponse r = post(base_payload());
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"error":"Invalid or revoked API key"})");
  server_->add_api_key({kKey, ""});
  EXPECT_EQ(post(base_payload()).status, 200);
}

TEST_F(ProtocolTest, AuthenticationHappensBeforeTheBodyIsParsed) {
  const HttpResponse r = post("this is not json", "ns_unknown");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"error":"Invalid or revoked API key"})");
}

TEST_F(ProtocolTest, KeyLookupFailureIs500) {
  server_->fail_key_lookup_next(1);
  const HttpResponse r = post(base_payload());
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"error":"Internal server error"})");
  expect_cors(r);
  EXPECT_EQ(server_->requests().back().fault, "key_lookup_error");
  EXPECT_EQ(post(base_payload()).status, 200);
}

TEST_F(ProtocolTest, KeyLookupFaultIsNotConsumedByRequestsThatFailEarlier) {
  server_->fail_key_lookup_next(1);
  EXPECT_EQ(post_raw(base_payload(), {}).status, 401);  // no header: never reaches the lookup
  EXPECT_EQ(post(base_payload()).status, 500);
}

TEST_F(ProtocolTest, ProjectIdForReportsTheAuthenticatedProject) {
  EXPECT_EQ(server_->project_id_for(kKey), northstar_local::derive_project_id(kKey));
  EXPECT_EQ(server_->project_id_for("ns_unknown"), "");
}

TEST_F(ProtocolTest, NonJsonBodyIs400) {
  for (const std::string body : {"not json", "", "{", "{\"schema_version\":2,}", "{'a':1}",
                                 "{\"a\":NaN}", "[1,2", "{} {}", "{\"a\":01}"}) {
    SCOPED_TRACE(body);
    const HttpResponse r = post(body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, R"({"error":"Invalid JSON body"})");
  }
  const std::string with_nul("{\"schema_version\":2}\0", 21);
  EXPECT_EQ(post(with_nul).body, R"({"error":"Invalid JSON body"})");
}

TEST_F(ProtocolTest, NonObjectJsonIs400) {
  for (const std::string body : {"[]", "[{\"schema_version\":2}]", "null", "42", "\"text\"", "true"}) {
    SCOPED_TRACE(body);
    const HttpResponse r = post(body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, R"({"error":"JSON body must be an object"})");
  }
}

TEST_F(ProtocolTest, SchemaVersionMustBeTheNumberOneOrTwo) {
  const std::string unsupported = R"j({"error":"Unsupported schema_version (expected 1 or 2)"})j";
  for (const std::string version : {"3", "0", "\"2\"", "null", "2.5", "true", "[2]"}) {
    SCOPED_TRACE(version);
    const HttpResponse r = post(edit(base_payload(), {{"/schema_version", version}}));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, unsupported);
  }
  EXPECT_EQ(post(edit(base_payload(), {{"/schema_version", std::nullopt}})).body, unsupported);
  EXPECT_EQ(post(edit(base_payload(), {{"/schema_version", "1"}})).status, 200);
  EXPECT_EQ(post(edit(base_payload(), {{"/schema_version", "2.0"}})).status, 200);
}

TEST_F(ProtocolTest, ArrayKeysMustBeArraysCheckedInOrder) {
  for (const std::string key : {"sessions", "runs", "spans", "events", "prompt_links", "scores"}) {
    SCOPED_TRACE(key);
    for (const std::string value : {"\"x\"", "{}", "1", "true"}) {
      const HttpResponse r = post(edit(base_payload(), {{"/" + key, value}}));
      EXPECT_EQ(r.status, 400);
      EXPECT_EQ(r.body, error_body(key + " must be an array"));
    }
  }
  // Order: sessions, runs, spans, events, prompt_links, scores.
  EXPECT_EQ(post(edit(base_payload(), {{"/scores", "1"}, {"/prompt_links", "1"}})).body,
            error_body("prompt_links must be an array"));
  EXPECT_EQ(post(edit(base_payload(), {{"/events", "1"}, {"/runs", "1"}})).body,
            error_body("runs must be an array"));
  // Array checks come before any record validation.
  EXPECT_EQ(post(edit(base_payload(), {{"/sessions/0/id", "\"bad\""}, {"/scores", "1"}})).body,
            error_body("scores must be an array"));
}

TEST_F(ProtocolTest, MissingOrNullArraysAreEmpty) {
  EXPECT_EQ(post(R"({"schema_version":2})").body, R"({"accepted":true})");
  EXPECT_EQ(post(R"({"schema_version":2,"sessions":null,"runs":null,"spans":null,"events":null,)"
                 R"("prompt_links":null,"scores":null})")
                .status,
            200);
  EXPECT_EQ(post(R"({"schema_version":2,"sessions":[],"runs":[],"spans":[],"events":[],)"
                 R"("prompt_links":[],"scores":[]})")
                .body,
            R"({"accepted":true})");
}

TEST_F(ProtocolTest, UnknownTopLevelKeysAreIgnored) {
  const HttpResponse r = post(edit(base_payload(), {{"/sdk", "\"cpp\""}, {"/extra", "{\"a\":[1]}"}}));
  EXPECT_EQ(r.status, 200);
}

TEST_F(ProtocolTest, SuccessIs200AcceptedWithCorsAndJsonContentType) {
  const HttpResponse r = post(base_payload());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"accepted":true})");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  expect_cors(r);
}

TEST_F(ProtocolTest, ContentTypeIsNotChecked) {
  const std::string auth = "Authorization: Bearer " + std::string(kKey);
  EXPECT_EQ(post_raw(base_payload(), {auth, "Content-Type: text/plain"}).status, 200);
  EXPECT_EQ(post_raw(base_payload(), {auth, "Content-Type:"}).status, 200);
}

TEST_F(ProtocolTest, SubPathsAndQueryStringsReachTheIngestHandler) {
  const std::vector<std::string> headers = {"Authorization: Bearer " + std::string(kKey)};
  EXPECT_EQ(http("POST", server_->ingest_url() + "?x=1", base_payload(), headers).status, 200);
  EXPECT_EQ(http("POST", server_->ingest_url() + "/v2", base_payload(), headers).status, 200);
}

TEST_F(ProtocolTest, OtherPathsAre404) {
  const std::vector<std::string> headers = {"Authorization: Bearer " + std::string(kKey)};
  for (const std::string path : {"/functions/v1/other", "/functions/v1/ingest-tracesX", "/v1/traces", "/x"}) {
    SCOPED_TRACE(path);
    const HttpResponse r = http("POST", server_->base_url() + path, base_payload(), headers);
    EXPECT_EQ(r.status, 404);
  }
  // `/` is the read-only dashboard.
  const HttpResponse root = http("POST", server_->base_url() + "/", base_payload(), headers);
  EXPECT_EQ(root.status, 405);
  EXPECT_EQ(root.body, R"({"error":"the dashboard is read-only"})");
  EXPECT_TRUE(server_->snapshot().sessions.empty());
}

TEST_F(ProtocolTest, InvalidUtf8IsDecodedLossilyNotRejected) {
  // TextDecoder turns bad bytes into U+FFFD; the batch is accepted.
  std::string with_bad_byte = edit(base_payload(), {});
  const std::string needle = "\"agent-run\"";
  with_bad_byte.replace(with_bad_byte.find(needle), needle.size(), "\"agent-\xff-run\"");
  ASSERT_EQ(post(with_bad_byte).status, 200);
  EXPECT_EQ(server_->snapshot().runs.at(0).name, "agent-\xEF\xBF\xBD-run");
}

TEST_F(ProtocolTest, Utf8BomIsAccepted) {
  EXPECT_EQ(post("\xEF\xBB\xBF" + base_payload()).status, 200);
}

TEST_F(ProtocolTest, OnlyTheKeyHashIsStored) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("nsl_keys_" + std::to_string(::getpid()) + ".db")).string();
  std::filesystem::remove(path);
  {
    ServerOptions options;
    options.db_path = path;
    options.api_keys = {{kKey, ""}};
    Server server(options);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT key_hash, project_id, revoked_at IS NULL FROM api_keys", -1,
                               &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))),
            northstar_local::sha256_hex(kKey));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1))),
            northstar_local::derive_project_id(kKey));
  EXPECT_EQ(sqlite3_column_int(stmt, 2), 1);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
  sqlite3_finalize(stmt);
  sqlite3_close(db);

  // The plaintext key appears nowhere in the file.
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find(kKey), std::string::npos);
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
}

TEST(KeyRotationTest, KeysNotConfiguredAtStartupAreRevoked) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("nsl_rotate_" + std::to_string(::getpid()) + ".db")).string();
  std::filesystem::remove(path);
  const std::string payload = base_payload();
  {
    ServerOptions options;
    options.db_path = path;
    options.api_keys = {{kKey, ""}};
    Server server(options);
    server.start();
    EXPECT_EQ(http("POST", server.ingest_url(), payload, {"Authorization: Bearer " + std::string(kKey)}).status, 200);
  }
  {
    ServerOptions options;
    options.db_path = path;
    options.api_keys = {{kOtherKey, ""}};
    Server server(options);
    server.start();
    EXPECT_EQ(http("POST", server.ingest_url(), payload, {"Authorization: Bearer " + std::string(kKey)}).body,
              R"({"error":"Invalid or revoked API key"})");
    // Stored data survives the restart.
    EXPECT_EQ(server.snapshot().runs.size(), 1u);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
}

TEST(PinnedProjectTest, ExplicitProjectIdIsUsedAndLowercased) {
  ServerOptions options;
  options.api_keys = {{kKey, "ABCDEF01-2345-4678-89AB-CDEF01234567"}};
  Server server(options);
  server.start();
  EXPECT_EQ(server.project_id_for(kKey), "abcdef01-2345-4678-89ab-cdef01234567");
  ASSERT_EQ(http("POST", server.ingest_url(), base_payload(), {"Authorization: Bearer " + std::string(kKey)}).status,
            200);
  EXPECT_EQ(server.snapshot().runs.at(0).project_id, "abcdef01-2345-4678-89ab-cdef01234567");
}

}  // namespace
}  // namespace nsl_test

// northstar_local/server.h: public API of northstar-local, a loopback NorthStar-compatible ingest server.
//
// northstar-local answers `POST /functions/v1/ingest-traces` exactly like the NorthStar edge function
// (same check order, messages, status codes and upsert rules; see
// shared/reference/northstar-protocol.md sections 3, 4 and 13) and stores what it accepts in SQLite.
// On top of that it offers test controls: fault injection, a request log and read-back of stored rows.
//
// Typical use in a test:
//
//   northstar_local::ServerOptions options;
//   options.api_keys.push_back({"ns_test_key", ""});      // project id derived from the key
//   northstar_local::Server server(std::move(options));   // opens the SQLite store
//   server.start();                                        // binds 127.0.0.1, port 0 = any free port
//   my_sink_config.endpoint = server.ingest_url();         // http://127.0.0.1:<port>/functions/v1/ingest-traces
//   server.fail_next(2, 503);                              // the next two ingest POSTs get 503
//   ... run the code under test ...
//   ASSERT_TRUE(server.wait_for_requests(3, std::chrono::seconds(5)));
//   northstar_local::Snapshot rows = server.snapshot();   // sessions, runs, spans, events, scores, links
//   EXPECT_EQ(rows.runs.at(0).status, "ok");
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace northstar_local {

// Thread-safety of the structs below: they are plain values with no synchronisation; copy them
// freely, but do not write one from two threads at once. Server is the only synchronised type.

// Path of the ingest endpoint, as deployed on Supabase. Sub-paths (`<kIngestPath>/...`) reach the
// same handler, as they do on Supabase; the query string is ignored.
inline constexpr std::string_view kIngestPath = "/functions/v1/ingest-traces";

// Prefix of the test-control endpoints (faults, request log, dump, tree). It cannot collide with a
// protocol path. See README.md for the list.
inline constexpr std::string_view kAdminPrefix = "/__admin/";

// Prefix of the dashboard's JSON endpoints (see docs/dashboard.md).
inline constexpr std::string_view kApiPrefix = "/api/";

// One accepted API key. The server keeps only the SHA-256 hex of `key` (in the `api_keys` table).
struct ApiKey {
  std::string key;         // plaintext Bearer token, e.g. "ns_" + 32 base64url characters; no
                           // surrounding whitespace (the server trims the token before hashing)
  std::string project_id;  // project UUID this key authenticates as; empty (default) = derived
                           // deterministically from the key (derive_project_id)
};

// How to run a server. Every field has a usable default except `api_keys`, which needs one entry.
struct ServerOptions {
  std::string db_path = ":memory:";         // SQLite file, created if missing; ":memory:" = private
  int port = 0;                             // TCP port on 127.0.0.1; 0 = pick a free port
  std::vector<ApiKey> api_keys;             // accepted keys; keys stored in the db but not listed
                                            // here are marked revoked at start-up
  bool admin_endpoints = true;              // serve /__admin/*; false = they answer 404. They
                                            // need a configured key (Bearer), a loopback Host
                                            // and Origin, and JSON bodies
  bool dashboard = true;                    // serve the read-only web UI at / and its JSON API
                                            // under /api/ (loopback Host and Origin only)
  std::size_t request_log_capacity = 10000; // newest entries kept; older ones are dropped
  std::size_t request_log_max_bytes = 4u << 20;  // bound on the log's bodies + headers; the oldest
                                                 // entries go first (the newest is always kept)
  std::size_t request_log_body_bytes = 256u << 10;  // request body bytes kept per entry; the rest
                                                    // is dropped (RequestLogEntry::body_truncated)
  std::size_t max_body_bytes = 64u << 20;   // larger request bodies get 413 from the HTTP layer
  bool log_requests_to_stderr = false;      // print one line per accepted batch and per request
                                            // that was not an accepted batch
  std::chrono::milliseconds read_timeout{5000};  // a connection that sends nothing for this long
                                                 // while a request's header or body is due is closed
  int keep_alive_timeout_s = 5;             // an idle keep-alive connection is closed after this
  std::size_t keep_alive_max_requests = 1000;  // requests per connection before it is closed
  std::size_t max_workers = 512;            // connection workers; the pool grows on demand, so
                                            // idle or slow connections cannot starve new ones
};

// Faults applied to ingest POSTs (other methods and paths are never faulted). Counters count down
// by one per request they hit. Precedence for one request: `fail_next`, then `bad_body_next`; a
// request hit by neither runs the normal pipeline, where `key_lookup_error_next` and
// `store_error_next` are consumed only if the pipeline reaches that step. `delay` applies to every
// ingest POST until changed.
struct FaultState {
  int fail_next = 0;                 // answer status `fail_status` with {"error":"Injected fault"}
  int fail_status = 503;             // 100..599
  int fail_retry_after_s = 0;        // > 0: add `Retry-After: <n>` to injected failures
  bool fail_ingest_anyway = false;   // true: still ingest the batch, then answer the failure
                                     // (models "committed, but the response was lost")
  int bad_body_next = 0;             // answer 200 with a body that is not JSON
  std::string bad_body = "<html><body>northstar-local: injected bad body</body></html>";
  bool bad_body_ingest_anyway = false;  // as fail_ingest_anyway, for bad bodies
  std::chrono::milliseconds delay{0};   // sleep before answering each ingest POST
  int key_lookup_error_next = 0;        // the API-key lookup "throws": 500 Internal server error
  int store_error_next = 0;             // the database write "throws": 500, nothing stored
  // Non-empty: every ingest POST whose body contains this text is refused with 400
  // {"error":"Injected content fault: body contains the poison marker"}, nothing stored (a record
  // the real server would refuse for its content, e.g. to test that a client isolates it).
  std::string reject_body_containing;
};

// One HTTP request the server answered (admin requests are not logged).
struct RequestLogEntry {
  std::uint64_t seq = 0;  // 1, 2, 3... in arrival order; not reset by clear_requests()
  std::chrono::system_clock::time_point received_at;
  std::string method;
  std::string path;  // without the query string
  std::vector<std::pair<std::string, std::string>> headers;  // as received, sorted by name;
                              // credentials (Authorization, Cookie, apikey...) are replaced by
                              // "[REDACTED]" (with the key's SHA-256 prefix for a Bearer token)
  std::size_t body_bytes = 0;
  std::string body;           // request body as received, cut to request_log_body_bytes (for an
                              // ingest POST whose key was refused only that much is ever held)
  bool body_truncated = false;  // `body` holds less than body_bytes
  int status = 0;             // status code sent
  std::string response_body;  // body sent
  std::string fault;          // "" | "fail" | "bad_body" | "key_lookup_error" | "store_error" | "poison"
  std::string detail;         // server-side reason behind a 400 reference error or a 500
                              // (e.g. "session <id> not found for project"); empty otherwise
  double duration_ms = 0.0;   // time spent answering, injected delay included
};

// Stored rows. JSON columns hold compact JSON text exactly as stored; a JSON `null` sent by the
// client is the text "null", a column that is SQL NULL is std::nullopt. UUID columns are lowercase
// (the real store casts them to uuid); timestamps are the strings the client sent.
struct SessionRow {
  std::string id;
  std::string project_id;
  std::string created_at;
  std::optional<std::string> ended_at;
  std::string metadata;  // JSON; "{}" when the key was missing
};

struct RunRow {
  std::string id;
  std::string session_id;
  std::string project_id;
  std::string name;
  std::string started_at;
  std::optional<std::string> ended_at;
  std::string status;                // running | ok | error
  std::optional<std::string> error;  // JSON; nullopt when the last snapshot had no `error` key
  std::string metadata;              // JSON
};

struct SpanRow {
  std::string id;
  std::string run_id;
  std::string project_id;
  std::optional<std::string> parent_span_id;
  std::string kind;  // agent | workflow | model | tool | custom
  std::string name;
  std::string started_at;
  std::optional<std::string> ended_at;
  std::string status;
  std::optional<std::string> error;  // JSON
  std::optional<std::int64_t> iteration;
  std::string attributes;  // JSON
};

struct EventRow {
  std::string id;
  std::string run_id;
  std::optional<std::string> span_id;
  std::string project_id;
  std::string type;
  std::string created_at;
  std::string content;     // JSON; "null" for an explicit null
  std::string attributes;  // JSON
};

struct ScoreRow {
  std::string id;
  std::string project_id;
  std::string trace_id;  // the run id
  std::optional<std::string> span_id;
  std::string name;  // trimmed of spaces, as the real store does
  double value = 0.0;
  std::string data_type;  // numeric | categorical | boolean
  std::optional<std::string> string_value;
  std::string source;  // always "api" on ingest
  std::optional<std::string> comment;
  std::string created_at;
};

struct PromptLinkRow {
  std::string project_id;
  std::string trace_id;
  std::string span_id;
  std::string prompt_version_id;
  std::string variable_values;  // JSON
  std::string linked_at;        // server time, UTC
};

// Every stored row. Tables are in first-insert order (an upsert keeps a row's position).
struct Snapshot {
  std::vector<SessionRow> sessions;
  std::vector<RunRow> runs;
  std::vector<SpanRow> spans;
  std::vector<EventRow> events;
  std::vector<ScoreRow> scores;
  std::vector<PromptLinkRow> prompt_links;

  // Lookups by id (case-insensitive); nullptr when absent.
  const SessionRow* find_session(std::string_view id) const;
  const RunRow* find_run(std::string_view id) const;
  const SpanRow* find_span(std::string_view id) const;
  const EventRow* find_event(std::string_view id) const;
  // Rows that belong to one run, in first-insert order.
  std::vector<const SpanRow*> spans_of(std::string_view run_id) const;
  std::vector<const EventRow*> events_of(std::string_view run_id) const;
};

// Reads every row of a northstar-local database file (opened read-only; the server may be running).
// Throws std::runtime_error when the file cannot be opened or is not a northstar-local database.
Snapshot read_snapshot(const std::string& db_path);

// Renders every run as an indented span tree: kind, name, status, latency (latency_ms, or
// ended_at - started_at), tokens, cost, event counts by type, and scores. Runs are ordered by
// started_at then id, child spans likewise, so the output is deterministic.
std::string render_tree(const Snapshot& snapshot);

// What render_tree() prints beyond the default.
struct TreeOptions {
  bool events = false;                // print every event under its run or span, in time order:
                                      // type, offset from the run's start and content (one line)
  std::vector<std::string> run_ids;   // only these runs, and no totals line; empty = every run
};
std::string render_tree(const Snapshot& snapshot, const TreeOptions& options);

// One JSON object per line, per row: {"table":"runs","id":...,...}; JSON columns are embedded as
// JSON, SQL NULL as null. Tables in the order sessions, runs, spans, events, scores, prompt_links.
std::string render_json_lines(const Snapshot& snapshot);

// Lowercase hex SHA-256 of `data`, the way keys are hashed (sha256_hex("test") = "9f86d0...0a08").
std::string sha256_hex(std::string_view data);

// The project UUID used for an ApiKey whose project_id is empty: an RFC 4122 v4-shaped UUID taken
// from SHA-256("northstar-local project:" + key), so the same key maps to the same project.
std::string derive_project_id(std::string_view key);

// The server. Construction opens (and if needed creates) the SQLite store and registers the keys;
// start() begins listening on 127.0.0.1 only.
//
// Thread-safety: every member function may be called concurrently from any thread, including from
// inside code that is talking to the server. start() and stop() are serialised internally. The
// destructor stops the server and must not race with other calls on the same object.
class Server {
 public:
  // Throws std::invalid_argument for bad options (no keys, a key that is empty or has surrounding
  // whitespace, a project_id that is not a UUID, port outside 0..65535) and std::runtime_error when
  // the database cannot be opened.
  explicit Server(ServerOptions options);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  Server(Server&&) = delete;
  Server& operator=(Server&&) = delete;

  // Binds 127.0.0.1:<options.port> and serves on a background thread; returns once the server
  // accepts connections. Throws std::runtime_error if the port cannot be bound. No-op if running.
  // A stopped server can be started again (same store; port 0 picks a new port).
  void start();
  // Stops listening, closes idle keep-alive connections and waits for the requests being answered
  // (injected delays are cut short, so this returns promptly). Idempotent.
  void stop();
  bool running() const;

  // The bound port (valid after start()), "http://127.0.0.1:<port>", and that + kIngestPath.
  int port() const;
  std::string base_url() const;
  std::string ingest_url() const;

  // Project UUID that `key` authenticates as, or "" if the key is unknown or revoked.
  std::string project_id_for(std::string_view key) const;
  // Accepts one more key (or re-activates a revoked one). Same validation as the constructor.
  void add_api_key(const ApiKey& key);
  // Marks a key revoked: requests using it get 401 "Invalid or revoked API key".
  void revoke_api_key(std::string_view key);
  // Registers a prompt version so prompt_links that name it are accepted (the local server has no
  // prompt registry otherwise, so every prompt link fails with "prompt version ... not found").
  void add_prompt_version(std::string_view project_id, std::string_view prompt_version_id);

  // --- Fault injection (see FaultState for semantics) ---
  // Sets the fail fields of FaultState (and clears fail_retry_after_s; use set_faults() to send
  // Retry-After). Throws std::invalid_argument for a status outside 100..599.
  void fail_next(int count, int status = 503, bool ingest_anyway = false);
  void bad_body_next(int count, bool ingest_anyway = false);
  void set_delay(std::chrono::milliseconds delay);
  void fail_key_lookup_next(int count);
  void fail_store_next(int count);
  void set_faults(const FaultState& faults);
  FaultState faults() const;
  void clear_faults();

  // --- Request log (non-admin requests, oldest first) ---
  std::vector<RequestLogEntry> requests() const;
  // Requests logged since construction or the last clear_requests().
  std::size_t request_count() const;
  void clear_requests();
  // Blocks until request_count() >= count or the timeout passes; returns whether it got there.
  bool wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const;

  // --- Stored data ---
  Snapshot snapshot() const;
  std::string tree() const;        // render_tree(snapshot())
  std::string json_lines() const;  // render_json_lines(snapshot())
  // Deletes every session, run, span, event, score and prompt link (keys and projects stay).
  void clear_data();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace northstar_local

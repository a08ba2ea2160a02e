// store.h: declares Store, the SQLite persistence of northstar-local (keys, transactional ingest
// with the real store's reference checks and upsert rules, and read-back).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "json.h"
#include "northstar_local/server.h"

struct sqlite3;

namespace northstar_local::detail {

// A failure raised while persisting a batch; the transaction has been rolled back. `message` is
// worded like the Postgres exception (e.g. "session <id> not found for project"). Immutable, so
// safe to share.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True for messages the edge function maps to 400 "Payload contains invalid project references".
bool is_project_reference_error(std::string_view message);

// One validated batch, project already authenticated, spans already in parent-first order.
struct IngestBatch {
  std::string project_id;
  std::vector<const JsonValue*> sessions;
  std::vector<const JsonValue*> runs;
  std::vector<const JsonValue*> spans;
  std::vector<const JsonValue*> events;
  std::vector<const JsonValue*> prompt_links;
  std::vector<const JsonValue*> scores;
};

// The prepared statements of one SQLite connection (defined in store.cpp).
class StatementCache;

struct KeyRecord {
  std::string key_hash;  // SHA-256 hex of the plaintext key
  std::string project_id;
};

// Thread-safety: all member functions are safe to call concurrently (one internal mutex serialises
// access to the single SQLite connection).
class Store {
 public:
  // Opens or creates the database and its schema. Throws std::runtime_error on failure. The first
  // Store of a process turns SQLite's memory statistics off (process-wide; see store.cpp).
  // ":memory:" is a private in-memory database, as in SQLite (see open_private_memory()).
  explicit Store(const std::string& path);
  // Opens an existing database read-only (for `tree`/`dump`). Throws std::runtime_error.
  static std::unique_ptr<Store> open_read_only(const std::string& path);
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Activates `keys` (creating their projects); with `revoke_others`, every other stored key is
  // marked revoked.
  void register_keys(const std::vector<KeyRecord>& keys, bool revoke_others);
  void revoke_key(const std::string& key_hash);
  // The project of an active key, or nullopt. Throws StoreError if the lookup fails.
  std::optional<std::string> resolve_key(const std::string& key_hash);
  void add_prompt_version(const std::string& project_id, const std::string& prompt_version_id);

  // Persists the batch in one transaction: sessions, runs, spans, events, prompt links, then
  // scores. Throws StoreError (after rolling back) on the first failure. `inject_failure` makes the
  // write fail after BEGIN (fault injection).
  void ingest(const IngestBatch& batch, bool inject_failure);

  Snapshot snapshot();
  void clear_data();

 private:
  struct ReadOnlyTag {};
  Store(const std::string& path, ReadOnlyTag);

  void exec(const char* sql);
  void ingest_locked(const IngestBatch& batch);
  // Opens db_ on a private in-memory database kept in one reserved buffer (SQLite's memdb VFS)
  // and read through a page cache of the usual size. With ":memory:" every page lives in the page
  // cache, and a commit whose inserts split pages (random UUID keys do) walks the whole cache
  // (pcache1TruncateUnsafe in perf): a commit of 1000 events cost about 8 ms once 1.2 million
  // events were stored, and kept growing; this way about 0.5 ms at any size.
  // Leaves db_ null if the buffer or the VFS is not available (then ":memory:" is used).
  void open_private_memory(int flags);
  // Finalizes the cached statements, then closes the connection (SQLite refuses to close a
  // connection that still has statements).
  void close();

  sqlite3* db_ = nullptr;
  std::unique_ptr<StatementCache> statements_;  // of db_; emptied before db_ is closed
  void* memory_ = nullptr;                      // the in-memory database's buffer, if any
  std::size_t memory_bytes_ = 0;
  std::mutex mutex_;
};

}  // namespace northstar_local::detail

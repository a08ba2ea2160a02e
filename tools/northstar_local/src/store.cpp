// store.cpp: SQLite persistence mirroring private.ingest_batch (migration 007),
// link_trace_prompt_links (025) and dashboard_bulk_create_scores (026).
#include "store.h"

#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

#include "text.h"

namespace northstar_local::detail {

namespace {

// Turns off SQLite's memory statistics, once per process, before its first connection: SQLite
// keeps them under one process-wide mutex taken on every allocation, and an ingest allocates
// thousands of times (journal pages, bound values). No effect if SQLite is already initialised.
// Must not race another thread's first use of SQLite (northstar-local is the only SQLite user in
// its processes).
void configure_sqlite_once() {
  static const int result = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)result;
}

// Compiles `sql` on `db`; throws StoreError if it does not compile.
sqlite3_stmt* prepare_statement(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(stmt);
    throw StoreError(std::string("sqlite prepare failed: ") + sqlite3_errmsg(db));
  }
  return stmt;
}

}  // namespace

// The prepared statements of one connection, keyed by their SQL text: each text is compiled on
// its first use and then reused (Statement resets it and clears its bindings after each use), so
// a row costs a bind and a step, not a compilation. Destruction finalizes them all and must
// happen before the connection is closed. Not thread-safe: used only while Store's mutex is held.
class StatementCache {
 public:
  struct Slot {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;  // a live Statement holds it
  };

  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache() {
    for (auto& [sql, slot] : slots_) sqlite3_finalize(slot.stmt);
  }
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  sqlite3* db() const { return db_; }

  // The slot of `sql`, compiled on first use (throws StoreError if it does not compile). The
  // reference stays valid until the cache is destroyed.
  Slot& slot(std::string_view sql) {
    if (auto found = slots_.find(sql); found != slots_.end()) return found->second;
    sqlite3_stmt* stmt = prepare_statement(db_, sql);
    return slots_.emplace(std::string(sql), Slot{stmt, false}).first->second;
  }

 private:
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };

  sqlite3* db_;
  std::unordered_map<std::string, Slot, TextHash, std::equal_to<>> slots_;
};

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS projects (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
  id         TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name       TEXT,
  key_hash   TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
  id            TEXT PRIMARY KEY,
  project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  created_at    TEXT NOT NULL,
  created_at_us INTEGER NOT NULL,
  ended_at      TEXT,
  ended_at_us   INTEGER,
  metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS runs (
  id            TEXT PRIMARY KEY,
  session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  started_at_us INTEGER NOT NULL,
  ended_at      TEXT,
  ended_at_us   INTEGER,
  status        TEXT NOT NULL CHECK (status IN ('running', 'ok', 'error')),
  error         TEXT,
  metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS spans (
  id             TEXT PRIMARY KEY,
  run_id         TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  parent_span_id TEXT REFERENCES spans(id) ON DELETE SET NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('agent', 'workflow', 'model', 'tool', 'custom')),
  name           TEXT NOT NULL,
  started_at     TEXT NOT NULL,
  started_at_us  INTEGER NOT NULL,
  ended_at       TEXT,
  ended_at_us    INTEGER,
  status         TEXT NOT NULL CHECK (status IN ('running', 'ok', 'error')),
  error          TEXT,
  iteration      INTEGER,
  attributes     TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS events (
  id            TEXT PRIMARY KEY,
  run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  span_id       TEXT REFERENCES spans(id) ON DELETE SET NULL,
  project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  type          TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  created_at_us INTEGER NOT NULL,
  content       TEXT NOT NULL,
  attributes    TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS scores (
  id            TEXT PRIMARY KEY,
  project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  trace_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  span_id       TEXT REFERENCES spans(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  value         REAL NOT NULL,
  data_type     TEXT NOT NULL,
  string_value  TEXT,
  source        TEXT NOT NULL,
  comment       TEXT,
  created_by    TEXT,
  created_at    TEXT NOT NULL,
  created_at_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS prompt_versions (
  id         TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS prompt_trace_links (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id        TEXT NOT NULL,
  trace_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  span_id           TEXT NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
  prompt_version_id TEXT NOT NULL REFERENCES prompt_versions(id) ON DELETE CASCADE,
  variable_values   TEXT NOT NULL,
  linked_at         TEXT NOT NULL,
  UNIQUE (span_id, prompt_version_id)
);
CREATE INDEX IF NOT EXISTS idx_runs_session ON runs(session_id);
CREATE INDEX IF NOT EXISTS idx_spans_run ON spans(run_id);
CREATE INDEX IF NOT EXISTS idx_spans_parent ON spans(parent_span_id);
CREATE INDEX IF NOT EXISTS idx_events_run ON events(run_id);
CREATE INDEX IF NOT EXISTS idx_events_span ON events(span_id);
CREATE INDEX IF NOT EXISTS idx_scores_trace ON scores(trace_id);
)sql";

std::string now_text() {
  const auto now = std::chrono::system_clock::now();
  return format_epoch_us(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
}

// A use of one cached statement of a connection (see StatementCache); throws StoreError on
// SQLite failures. Bindings and the statement's state last until destruction, which resets it and
// clears its bindings for the next use. Not thread-safe: used only while Store's mutex is held.
class Statement {
 public:
  // The cached statement of `sql`; if that one is in use by a live Statement, a private one,
  // finalized at destruction.
  Statement(StatementCache& cache, std::string_view sql) : db_(cache.db()) {
    StatementCache::Slot& slot = cache.slot(sql);
    if (!slot.in_use) {
      slot.in_use = true;
      slot_ = &slot;
      stmt_ = slot.stmt;
    } else {
      stmt_ = prepare_statement(db_, sql);
    }
  }
  ~Statement() {
    if (slot_ == nullptr) {
      sqlite3_finalize(stmt_);
      return;
    }
    sqlite3_reset(stmt_);  // returns the last step's error again; already reported by step()
    sqlite3_clear_bindings(stmt_);
    slot_->in_use = false;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& text(int index, std::string_view value) {
    check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Statement& text(int index, const std::string& value) {
    return text(index, std::string_view(value));
  }
  Statement& text(int index, const std::optional<std::string>& value) {
    return value ? text(index, std::string_view(*value)) : null(index);
  }
  Statement& integer(int index, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Statement& integer(int index, const std::optional<std::int64_t>& value) {
    return value ? integer(index, *value) : null(index);
  }
  Statement& real(int index, double value) {
    check(sqlite3_bind_double(stmt_, index, value));
    return *this;
  }
  Statement& null(int index) {
    check(sqlite3_bind_null(stmt_, index));
    return *this;
  }

  // Steps once; true if a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreError(std::string("sqlite error: ") + sqlite3_errmsg(db_));
  }
  void run() {
    while (step()) {
    }
  }

  std::string column_text(int index) const {
    const auto* data = sqlite3_column_text(stmt_, index);
    return data == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(data),
                             static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
  }
  std::optional<std::string> column_optional_text(int index) const {
    if (sqlite3_column_type(stmt_, index) == SQLITE_NULL) return std::nullopt;
    return column_text(index);
  }
  std::optional<std::int64_t> column_optional_int(int index) const {
    if (sqlite3_column_type(stmt_, index) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(stmt_, index);
  }
  double column_real(int index) const { return sqlite3_column_double(stmt_, index); }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      throw StoreError(std::string("sqlite bind failed: ") + sqlite3_errmsg(db_));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  StatementCache::Slot* slot_ = nullptr;  // nullptr: stmt_ is private to this Statement
};

std::string_view str(const JsonValue& record, std::string_view key) {
  const JsonValue* value = member(record, key);
  if (value == nullptr || !value->IsString()) return {};
  return {value->GetString(), value->GetStringLength()};
}

// `record->>'key'`: nullopt when missing or JSON null, else the text (strings unquoted).
std::optional<std::string> text_field(const JsonValue& record, std::string_view key) {
  const JsonValue* value = member(record, key);
  if (is_nullish(value)) return std::nullopt;
  if (value->IsString()) return std::string(value->GetString(), value->GetStringLength());
  return to_json(*value);
}

// `record->'key'` for a jsonb column with COALESCE(..., '{}'): missing -> "{}", null -> "null".
std::string json_field_or_empty_object(const JsonValue& record, std::string_view key) {
  const JsonValue* value = member(record, key);
  return value == nullptr ? std::string("{}") : to_json(*value);
}

// `record->'key'` for a nullable jsonb column: missing -> SQL NULL, null -> "null".
std::optional<std::string> json_field(const JsonValue& record, std::string_view key) {
  const JsonValue* value = member(record, key);
  if (value == nullptr) return std::nullopt;
  return to_json(*value);
}

// `(record->>'key')::timestamptz` for a validated timestamp.
std::optional<std::int64_t> timestamp_field(const JsonValue& record, std::string_view key) {
  const auto text = text_field(record, key);
  if (!text) return std::nullopt;
  const auto parsed = parse_iso_timestamp(*text);
  const auto epoch = parsed ? timestamp_to_epoch_us(*parsed) : std::nullopt;
  if (!epoch) {
    throw StoreError("date/time field value out of range: \"" + *text + "\"");
  }
  return epoch;
}

// The tables ingest looks rows up in by id.
enum class Table { kSessions, kRuns, kSpans, kEvents };

constexpr std::array<const char*, 4> kProjectOfRow = {
    "SELECT project_id FROM sessions WHERE id = ?1", "SELECT project_id FROM runs WHERE id = ?1",
    "SELECT project_id FROM spans WHERE id = ?1", "SELECT project_id FROM events WHERE id = ?1"};

// One ingest transaction: the connection's statements, the authenticated project, and the rows it
// has already found. A row found once keeps its project until the transaction ends (ingest never
// deletes rows and its upserts never change project_id), so a thousand events of one run cost one
// lookup of the run. Not thread-safe: used only while Store's mutex is held.
class IngestTransaction {
 public:
  IngestTransaction(StatementCache& statements, const std::string& project)
      : statements_(statements), project_(project) {}

  StatementCache& statements() { return statements_; }
  sqlite3* db() const { return statements_.db(); }
  const std::string& project() const { return project_; }

  // The project of row `id` (compared lowercased) in `table`, or nullptr if there is no such row.
  // The pointer stays valid for the life of this object.
  const std::string* project_of(Table table, std::string_view id) {
    std::string key = ascii_lower(id);
    auto& found = found_[static_cast<std::size_t>(table)];
    if (auto it = found.find(key); it != found.end()) return &it->second;
    Statement lookup(statements_, kProjectOfRow[static_cast<std::size_t>(table)]);
    lookup.text(1, key);
    if (!lookup.step()) return nullptr;
    return &found.emplace(std::move(key), lookup.column_text(0)).first->second;
  }

 private:
  StatementCache& statements_;
  const std::string& project_;
  std::array<std::unordered_map<std::string, std::string>, 4> found_;  // by Table: id -> project
};

void check_owner(IngestTransaction& tx, Table table, std::string_view id, const char* entity) {
  const std::string* owner = tx.project_of(table, id);
  if (owner != nullptr && *owner != tx.project()) {
    throw StoreError(entity + (" " + std::string(id)) + " belongs to a different project");
  }
}

void check_reference(IngestTransaction& tx, Table table, std::string_view id, const char* entity) {
  const std::string* owner = tx.project_of(table, id);
  if (owner == nullptr) {
    throw StoreError(entity + (" " + std::string(id)) + " not found for project");
  }
  if (*owner != tx.project()) {
    throw StoreError(entity + (" " + std::string(id)) + " belongs to a different project");
  }
}

// Writes row `id` of `table` with `write` (its reference checks and its upsert; returns the rows
// the upsert changed: none when another project owns the row, which is refused with
// "<entity> <id> belongs to a different project"). The SQL function checks the row's own owner
// before anything else; as the upsert refuses another project's row with that same error, the
// lookup only decides which error wins, so it runs only when `write` fails.
template <typename Write>
void write_row(IngestTransaction& tx, Table table, std::string_view id, const char* entity,
               Write&& write) {
  try {
    if (write() == 0) {
      throw StoreError(entity + (" " + std::string(id)) + " belongs to a different project");
    }
  } catch (...) {
    check_owner(tx, table, id, entity);
    throw;
  }
}

void ingest_session(IngestTransaction& tx, const JsonValue& s) {
  const std::string_view id = str(s, "id");
  write_row(tx, Table::kSessions, id, "session", [&] {
    const auto created_at_us = timestamp_field(s, "created_at");
    const auto ended_at_us = timestamp_field(s, "ended_at");
    Statement upsert(tx.statements(), R"sql(
    INSERT INTO sessions (id, project_id, created_at, created_at_us, ended_at, ended_at_us, metadata)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    ON CONFLICT (id) DO UPDATE SET
      ended_at    = COALESCE(excluded.ended_at, sessions.ended_at),
      ended_at_us = CASE WHEN excluded.ended_at IS NULL THEN sessions.ended_at_us
                         ELSE excluded.ended_at_us END,
      metadata    = excluded.metadata
    WHERE sessions.project_id = excluded.project_id)sql");
    upsert.text(1, ascii_lower(id))
        .text(2, tx.project())
        .text(3, str(s, "created_at"))
        .integer(4, created_at_us)
        .text(5, text_field(s, "ended_at"))
        .integer(6, ended_at_us)
        .text(7, json_field_or_empty_object(s, "metadata"));
    upsert.run();
    return sqlite3_changes(tx.db());
  });
}

void ingest_run(IngestTransaction& tx, const JsonValue& r) {
  const std::string_view id = str(r, "id");
  write_row(tx, Table::kRuns, id, "run", [&] {
    check_reference(tx, Table::kSessions, str(r, "session_id"), "session");
    const auto started_at_us = timestamp_field(r, "started_at");
    const auto ended_at_us = timestamp_field(r, "ended_at");
    Statement upsert(tx.statements(), R"sql(
    INSERT INTO runs (id, session_id, project_id, name, started_at, started_at_us, ended_at,
                      ended_at_us, status, error, metadata)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
    ON CONFLICT (id) DO UPDATE SET
      ended_at    = COALESCE(excluded.ended_at, runs.ended_at),
      ended_at_us = CASE WHEN excluded.ended_at IS NULL THEN runs.ended_at_us
                         ELSE excluded.ended_at_us END,
      status      = excluded.status,
      error       = excluded.error,
      metadata    = excluded.metadata
    WHERE runs.project_id = excluded.project_id)sql");
    upsert.text(1, ascii_lower(id))
        .text(2, ascii_lower(str(r, "session_id")))
        .text(3, tx.project())
        .text(4, str(r, "name"))
        .text(5, str(r, "started_at"))
        .integer(6, started_at_us)
        .text(7, text_field(r, "ended_at"))
        .integer(8, ended_at_us)
        .text(9, str(r, "status"))
        .text(10, json_field(r, "error"))
        .text(11, json_field_or_empty_object(r, "metadata"));
    upsert.run();
    return sqlite3_changes(tx.db());
  });
}

void ingest_span(IngestTransaction& tx, const JsonValue& sp) {
  const std::string_view id = str(sp, "id");
  write_row(tx, Table::kSpans, id, "span", [&] {
    check_reference(tx, Table::kRuns, str(sp, "run_id"), "run");
    const auto parent = text_field(sp, "parent_span_id");
    if (parent) check_reference(tx, Table::kSpans, *parent, "parent span");
    const auto started_at_us = timestamp_field(sp, "started_at");
    const auto ended_at_us = timestamp_field(sp, "ended_at");
    std::optional<std::int64_t> iteration;
    if (const JsonValue* value = member(sp, "iteration"); !is_nullish(value)) {
      const double d = value->GetDouble();
      if (d < -2147483648.0 || d > 2147483647.0) throw StoreError("integer out of range");
      iteration = static_cast<std::int64_t>(d);
    }
    Statement upsert(tx.statements(), R"sql(
    INSERT INTO spans (id, run_id, project_id, parent_span_id, kind, name, started_at,
                       started_at_us, ended_at, ended_at_us, status, error, iteration, attributes)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
    ON CONFLICT (id) DO UPDATE SET
      ended_at    = COALESCE(excluded.ended_at, spans.ended_at),
      ended_at_us = CASE WHEN excluded.ended_at IS NULL THEN spans.ended_at_us
                         ELSE excluded.ended_at_us END,
      status      = excluded.status,
      error       = excluded.error,
      attributes  = excluded.attributes
    WHERE spans.project_id = excluded.project_id)sql");
    upsert.text(1, ascii_lower(id))
        .text(2, ascii_lower(str(sp, "run_id")))
        .text(3, tx.project())
        .text(4, parent ? std::optional<std::string>(ascii_lower(*parent)) : std::nullopt)
        .text(5, str(sp, "kind"))
        .text(6, str(sp, "name"))
        .text(7, str(sp, "started_at"))
        .integer(8, started_at_us)
        .text(9, text_field(sp, "ended_at"))
        .integer(10, ended_at_us)
        .text(11, str(sp, "status"))
        .text(12, json_field(sp, "error"))
        .integer(13, iteration)
        .text(14, json_field_or_empty_object(sp, "attributes"));
    upsert.run();
    return sqlite3_changes(tx.db());
  });
}

void ingest_event(IngestTransaction& tx, const JsonValue& e) {
  const std::string_view id = str(e, "id");
  write_row(tx, Table::kEvents, id, "event", [&] {
    check_reference(tx, Table::kRuns, str(e, "run_id"), "run");
    const auto span_id = text_field(e, "span_id");
    if (span_id) check_reference(tx, Table::kSpans, *span_id, "span");
    const auto created_at_us = timestamp_field(e, "created_at");
    Statement upsert(tx.statements(), R"sql(
    INSERT INTO events (id, run_id, span_id, project_id, type, created_at, created_at_us, content,
                        attributes)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
    ON CONFLICT (id) DO UPDATE SET
      content    = excluded.content,
      attributes = excluded.attributes
    WHERE events.project_id = excluded.project_id)sql");
    upsert.text(1, ascii_lower(id))
        .text(2, ascii_lower(str(e, "run_id")))
        .text(3, span_id ? std::optional<std::string>(ascii_lower(*span_id)) : std::nullopt)
        .text(4, tx.project())
        .text(5, str(e, "type"))
        .text(6, str(e, "created_at"))
        .integer(7, created_at_us)
        .text(8, to_json(*member(e, "content")))
        .text(9, json_field_or_empty_object(e, "attributes"));
    upsert.run();
    return sqlite3_changes(tx.db());
  });
}

void ingest_prompt_link(StatementCache& statements, const JsonValue& link,
                        const std::string& project) {
  const std::string_view span_id = str(link, "span_id");
  std::string trace_id;
  {
    Statement lookup(statements, "SELECT run_id FROM spans WHERE id = ?1 AND project_id = ?2");
    lookup.text(1, ascii_lower(span_id)).text(2, project);
    if (!lookup.step()) {
      throw StoreError("span " + std::string(span_id) + " not found for project");
    }
    trace_id = lookup.column_text(0);
  }
  if (ascii_lower(str(link, "trace_id")) != trace_id) {
    throw StoreError("span " + std::string(span_id) + " is not part of trace " +
                     std::string(str(link, "trace_id")));
  }
  const std::string version_id = ascii_lower(str(link, "prompt_version_id"));
  {
    Statement lookup(statements, "SELECT 1 FROM prompt_versions WHERE id = ?1 AND project_id = ?2");
    lookup.text(1, version_id).text(2, project);
    if (!lookup.step()) {
      throw StoreError("prompt version " + version_id + " not found for project");
    }
  }
  const std::string variables = json_field_or_empty_object(link, "variable_values");
  if (variables.empty() || variables.front() != '{') {
    throw StoreError(
        "new row for relation \"prompt_trace_links\" violates check constraint "
        "\"prompt_trace_links_variables_is_object\"");
  }
  Statement upsert(statements, R"sql(
    INSERT INTO prompt_trace_links (project_id, trace_id, span_id, prompt_version_id,
                                    variable_values, linked_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (span_id, prompt_version_id) DO UPDATE SET
      variable_values = excluded.variable_values,
      linked_at       = excluded.linked_at)sql");
  upsert.text(1, project)
      .text(2, trace_id)
      .text(3, ascii_lower(span_id))
      .text(4, version_id)
      .text(5, variables)
      .text(6, now_text());
  upsert.run();
}

void ingest_score(StatementCache& statements, const JsonValue& s, const std::string& project) {
  const std::string id = ascii_lower(str(s, "id"));
  const std::string trace_id = ascii_lower(str(s, "trace_id"));
  const auto span_text = text_field(s, "span_id");
  const std::optional<std::string> span_id =
      span_text ? std::optional<std::string>(ascii_lower(*span_text)) : std::nullopt;
  {
    Statement lookup(statements, "SELECT 1 FROM runs WHERE id = ?1 AND project_id = ?2");
    lookup.text(1, trace_id).text(2, project);
    if (!lookup.step()) throw StoreError("trace " + trace_id + " not found for project");
  }
  if (span_id) {
    Statement lookup(statements,
                     "SELECT 1 FROM spans WHERE id = ?1 AND run_id = ?2 AND project_id = ?3");
    lookup.text(1, *span_id).text(2, trace_id).text(3, project);
    if (!lookup.step()) throw StoreError("span " + *span_id + " not found for trace");
  }
  const std::string data_type(str(s, "data_type"));
  std::optional<std::string> string_value = text_field(s, "string_value");
  if (string_value && data_type == "categorical")
    string_value = std::string(pg_btrim(*string_value));
  const auto created_at_us = timestamp_field(s, "created_at");
  Statement upsert(statements, R"sql(
    INSERT INTO scores (id, project_id, trace_id, span_id, name, value, data_type, string_value,
                        source, comment, created_by, created_at, created_at_us)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?12)
    ON CONFLICT (id) DO UPDATE SET
      trace_id      = excluded.trace_id,
      span_id       = excluded.span_id,
      name          = excluded.name,
      value         = excluded.value,
      data_type     = excluded.data_type,
      string_value  = excluded.string_value,
      source        = excluded.source,
      comment       = excluded.comment,
      created_by    = excluded.created_by,
      created_at    = excluded.created_at,
      created_at_us = excluded.created_at_us
    WHERE scores.project_id = excluded.project_id)sql");
  upsert.text(1, id)
      .text(2, project)
      .text(3, trace_id)
      .text(4, span_id)
      .text(5, pg_btrim(str(s, "name")))
      .real(6, member(s, "value")->GetDouble())
      .text(7, data_type)
      .text(8, string_value)
      .text(9, str(s, "source"))
      .text(10, text_field(s, "comment"))
      .text(11, str(s, "created_at"))
      .integer(12, created_at_us);
  upsert.run();
  if (sqlite3_changes(statements.db()) == 0)
    throw StoreError("score " + id + " belongs to a different project");
}

bool any_nul(const std::vector<const JsonValue*>& records) {
  for (const JsonValue* record : records) {
    if (contains_nul(*record)) return true;
  }
  return false;
}

}  // namespace

bool is_project_reference_error(std::string_view message) {
  return message.find("belongs to a different project") != std::string_view::npos ||
         message.find("not found for project") != std::string_view::npos ||
         message.find("not found for trace") != std::string_view::npos;
}

// Connections are opened without SQLite's per-call mutex (SQLITE_OPEN_NOMUTEX): Store's mutex
// already serialises every use of its connection.
Store::Store(const std::string& path) {
  configure_sqlite_once();
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (path == ":memory:") open_private_memory(flags);
  if (db_ == nullptr && sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open database '" + path + "': " + message);
  }
  statements_ = std::make_unique<StatementCache>(db_);
  try {
    sqlite3_busy_timeout(db_, 5000);
    if (path != ":memory:" && !path.empty()) exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA foreign_keys = ON");
    exec(kSchema);
  } catch (const std::exception& e) {
    close();
    throw std::runtime_error("cannot initialise database '" + path + "': " + e.what());
  }
}

void Store::open_private_memory(int flags) {
  // As much address space as memory and swap could ever back; reserved, not committed: pages are
  // only backed once written.
  struct sysinfo info {};
  if (sysinfo(&info) != 0) return;
  const std::uint64_t bytes =
      (static_cast<std::uint64_t>(info.totalram) + info.totalswap) * info.mem_unit;
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) return;
  // An empty database whose file is that buffer (SQLite's memdb VFS, not resizeable: it never
  // reallocates, and so is not held to sqlite3_realloc()'s 2 GiB limit). The buffer stays ours.
  if (sqlite3_open_v2(":memory:", &db_, flags, nullptr) != SQLITE_OK ||
      sqlite3_deserialize(db_, "main", static_cast<unsigned char*>(memory), 0,
                          static_cast<sqlite3_int64>(bytes), 0) != SQLITE_OK) {
    sqlite3_close(db_);
    db_ = nullptr;
    munmap(memory, bytes);
    return;
  }
  memory_ = memory;
  memory_bytes_ = bytes;
}

Store::Store(const std::string& path, ReadOnlyTag) {
  configure_sqlite_once();
  const int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open database '" + path + "': " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  statements_ = std::make_unique<StatementCache>(db_);
  bool has_schema = false;
  try {
    Statement check(*statements_,
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                    "('sessions', 'runs', 'spans', 'events', 'scores', 'prompt_trace_links')");
    has_schema = check.step() && check.column_text(0) == "6";
  } catch (const std::exception&) {
    has_schema = false;
  }
  if (!has_schema) {
    close();
    throw std::runtime_error("'" + path + "' is not a northstar-local database");
  }
}

std::unique_ptr<Store> Store::open_read_only(const std::string& path) {
  return std::unique_ptr<Store>(new Store(path, ReadOnlyTag{}));
}

Store::~Store() { close(); }

void Store::close() {
  statements_.reset();
  sqlite3_close(db_);
  db_ = nullptr;
  if (memory_ != nullptr) munmap(memory_, memory_bytes_);
  memory_ = nullptr;
}

void Store::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    throw StoreError("sqlite error: " + message);
  }
}

void Store::register_keys(const std::vector<KeyRecord>& keys, bool revoke_others) {
  const std::lock_guard<std::mutex> lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    const std::string now = now_text();
    if (revoke_others) {
      Statement revoke(*statements_,
                       "UPDATE api_keys SET revoked_at = ?1 WHERE revoked_at IS NULL");
      revoke.text(1, now).run();
    }
    for (const KeyRecord& key : keys) {
      Statement project(
          *statements_,
          "INSERT OR IGNORE INTO projects (id, name, created_at) VALUES (?1, ?2, ?3)");
      project.text(1, key.project_id)
          .text(2, "project " + key.project_id.substr(0, 8))
          .text(3, now)
          .run();
      Statement upsert(*statements_, R"sql(
        INSERT INTO api_keys (id, project_id, name, key_hash, created_at, revoked_at)
        VALUES (?1, ?2, ?3, ?4, ?5, NULL)
        ON CONFLICT (key_hash) DO UPDATE SET project_id = excluded.project_id, revoked_at = NULL)sql");
      upsert.text(1, derive_project_id("api key " + key.key_hash))
          .text(2, key.project_id)
          .text(3, std::string_view("northstar-local key"))
          .text(4, key.key_hash)
          .text(5, now)
          .run();
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

void Store::revoke_key(const std::string& key_hash) {
  const std::lock_guard<std::mutex> lock(mutex_);
  Statement revoke(
      *statements_,
      "UPDATE api_keys SET revoked_at = ?1 WHERE key_hash = ?2 AND revoked_at IS NULL");
  revoke.text(1, now_text()).text(2, key_hash).run();
}

std::optional<std::string> Store::resolve_key(const std::string& key_hash) {
  const std::lock_guard<std::mutex> lock(mutex_);
  Statement lookup(*statements_,
                   "SELECT project_id FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL");
  lookup.text(1, key_hash);
  if (!lookup.step()) return std::nullopt;
  return lookup.column_text(0);
}

void Store::add_prompt_version(const std::string& project_id,
                               const std::string& prompt_version_id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  Statement project(*statements_,
                    "INSERT OR IGNORE INTO projects (id, name, created_at) VALUES (?1, ?2, ?3)");
  project.text(1, project_id)
      .text(2, "project " + project_id.substr(0, 8))
      .text(3, now_text())
      .run();
  Statement insert(*statements_, R"sql(
    INSERT INTO prompt_versions (id, project_id) VALUES (?1, ?2)
    ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id)sql");
  insert.text(1, prompt_version_id).text(2, project_id).run();
}

void Store::ingest(const IngestBatch& batch, bool inject_failure) {
  const std::lock_guard<std::mutex> lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    if (inject_failure) throw StoreError("injected store error (northstar-local fault)");
    ingest_locked(batch);
    exec("COMMIT");
  } catch (const std::exception& e) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    if (dynamic_cast<const StoreError*>(&e) != nullptr) throw;
    throw StoreError(e.what());
  }
}

void Store::ingest_locked(const IngestBatch& batch) {
  const std::string& project = batch.project_id;
  // Statement 1: ingest_batch_with_prompt_links. Its jsonb arguments are parsed first, and Postgres
  // jsonb cannot hold U+0000.
  if (any_nul(batch.sessions) || any_nul(batch.runs) || any_nul(batch.spans) ||
      any_nul(batch.events) || any_nul(batch.prompt_links)) {
    throw StoreError("unsupported Unicode escape sequence (\\u0000 cannot be converted to text)");
  }
  IngestTransaction tx(*statements_, project);
  for (const JsonValue* s : batch.sessions) ingest_session(tx, *s);
  for (const JsonValue* r : batch.runs) ingest_run(tx, *r);
  for (const JsonValue* sp : batch.spans) ingest_span(tx, *sp);
  for (const JsonValue* e : batch.events) ingest_event(tx, *e);
  for (const JsonValue* link : batch.prompt_links) ingest_prompt_link(*statements_, *link, project);
  // Statement 2: dashboard_bulk_create_scores, only when there are scores.
  if (batch.scores.empty()) return;
  if (any_nul(batch.scores)) {
    throw StoreError("unsupported Unicode escape sequence (\\u0000 cannot be converted to text)");
  }
  for (const JsonValue* s : batch.scores) ingest_score(*statements_, *s, project);
}

Snapshot Store::snapshot() {
  const std::lock_guard<std::mutex> lock(mutex_);
  Snapshot out;
  {
    Statement q(
        *statements_,
        "SELECT id, project_id, created_at, ended_at, metadata FROM sessions ORDER BY rowid");
    while (q.step()) {
      out.sessions.push_back({q.column_text(0), q.column_text(1), q.column_text(2),
                              q.column_optional_text(3), q.column_text(4)});
    }
  }
  {
    Statement q(*statements_,
                "SELECT id, session_id, project_id, name, started_at, ended_at, status, error, "
                "metadata FROM runs ORDER BY rowid");
    while (q.step()) {
      out.runs.push_back({q.column_text(0), q.column_text(1), q.column_text(2), q.column_text(3),
                          q.column_text(4), q.column_optional_text(5), q.column_text(6),
                          q.column_optional_text(7), q.column_text(8)});
    }
  }
  {
    Statement q(*statements_,
                "SELECT id, run_id, project_id, parent_span_id, kind, name, started_at, "
                "ended_at, status, error, iteration, attributes FROM spans ORDER BY rowid");
    while (q.step()) {
      out.spans.push_back({q.column_text(0), q.column_text(1), q.column_text(2),
                           q.column_optional_text(3), q.column_text(4), q.column_text(5),
                           q.column_text(6), q.column_optional_text(7), q.column_text(8),
                           q.column_optional_text(9), q.column_optional_int(10),
                           q.column_text(11)});
    }
  }
  {
    Statement q(*statements_,
                "SELECT id, run_id, span_id, project_id, type, created_at, content, attributes "
                "FROM events ORDER BY rowid");
    while (q.step()) {
      out.events.push_back({q.column_text(0), q.column_text(1), q.column_optional_text(2),
                            q.column_text(3), q.column_text(4), q.column_text(5), q.column_text(6),
                            q.column_text(7)});
    }
  }
  {
    Statement q(*statements_,
                "SELECT id, project_id, trace_id, span_id, name, value, data_type, "
                "string_value, source, comment, created_at FROM scores ORDER BY rowid");
    while (q.step()) {
      out.scores.push_back({q.column_text(0), q.column_text(1), q.column_text(2),
                            q.column_optional_text(3), q.column_text(4), q.column_real(5),
                            q.column_text(6), q.column_optional_text(7), q.column_text(8),
                            q.column_optional_text(9), q.column_text(10)});
    }
  }
  {
    Statement q(*statements_,
                "SELECT project_id, trace_id, span_id, prompt_version_id, variable_values, "
                "linked_at FROM prompt_trace_links ORDER BY id");
    while (q.step()) {
      out.prompt_links.push_back({q.column_text(0), q.column_text(1), q.column_text(2),
                                  q.column_text(3), q.column_text(4), q.column_text(5)});
    }
  }
  return out;
}

void Store::clear_data() {
  const std::lock_guard<std::mutex> lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    exec(
        "DELETE FROM prompt_trace_links; DELETE FROM scores; DELETE FROM events; "
        "DELETE FROM spans; DELETE FROM runs; DELETE FROM sessions;");
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace northstar_local::detail

#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <semaphore>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "common/thread_name.h"

// Returns the error of a Result-returning expression from the enclosing function.
#define STORE_TRY(expr)                                                      \
    do {                                                                     \
        if (auto store_try_result_ = (expr); !store_try_result_) {           \
            return ::hirestream::fail(std::move(store_try_result_.error())); \
        }                                                                    \
    } while (0)

namespace hirestream::store {
namespace {

namespace json = boost::json;

constexpr int kSchemaVersion = 8;
constexpr int kMaxListLimit = 1000;
constexpr int kMaxShardCount = 1024;

// Every statement below is a constant; values only ever reach SQLite through sqlite3_bind_*.
constexpr const char* kSchema = R"sql(
CREATE TABLE tables (
    name          TEXT PRIMARY KEY,
    key_attribute TEXT NOT NULL,
    view_type     TEXT NOT NULL,
    shard_count   INTEGER NOT NULL,
    stream_label  TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
);
-- AUTOINCREMENT: a deleted newest item must not hand its position to the next one, or a
-- cursor taken before the delete would skip or repeat items.
CREATE TABLE items (
    pos        INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL REFERENCES tables(name),
    item_key   TEXT NOT NULL,
    item_json  TEXT NOT NULL,
    UNIQUE (table_name, item_key)
);
CREATE INDEX items_by_table ON items(table_name, pos);
CREATE TABLE unique_values (
    table_name TEXT NOT NULL,
    attribute  TEXT NOT NULL,
    value      TEXT NOT NULL,
    item_key   TEXT NOT NULL,
    PRIMARY KEY (table_name, attribute, value)
) WITHOUT ROWID;
CREATE INDEX unique_values_by_item ON unique_values(table_name, item_key);
-- AUTOINCREMENT: after trim_stream deletes the newest records, a plain rowid would restart
-- below sequences that consumers have already checkpointed.
CREATE TABLE stream_records (
    sequence       INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name     TEXT NOT NULL REFERENCES tables(name),
    shard          INTEGER NOT NULL,
    event_name     TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    keys_json      TEXT NOT NULL,
    new_image_json TEXT,
    old_image_json TEXT,
    size_bytes     INTEGER NOT NULL
);
CREATE INDEX stream_records_by_shard ON stream_records(table_name, shard, sequence);
CREATE INDEX stream_records_by_age ON stream_records(table_name, created_ms);
CREATE TABLE checkpoints (
    consumer   TEXT NOT NULL,
    table_name TEXT NOT NULL,
    shard      INTEGER NOT NULL,
    sequence   INTEGER NOT NULL,
    PRIMARY KEY (consumer, table_name, shard)
) WITHOUT ROWID;
CREATE TABLE deliveries (
    candidate_id    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    assignment      TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    last_reply      TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    sent_ms         INTEGER NOT NULL,
    PRIMARY KEY (candidate_id, kind)
) WITHOUT ROWID;
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms);
PRAGMA user_version = 1;
)sql";

// Version 2: on-failure destinations keep dead letters.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE dead_letters (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    destination       TEXT NOT NULL,
    function          TEXT NOT NULL,
    table_name        TEXT NOT NULL,
    shard             INTEGER NOT NULL,
    condition         TEXT NOT NULL,
    invocation_record TEXT NOT NULL,
    records           TEXT NOT NULL,
    first_sequence    INTEGER NOT NULL,
    last_sequence     INTEGER NOT NULL,
    record_count      INTEGER NOT NULL,
    created_ms        INTEGER NOT NULL,
    redriven_ms       INTEGER NOT NULL
);
CREATE INDEX dead_letters_by_function ON dead_letters(function, id);
PRAGMA user_version = 2;
)sql";

// Version 3: deliveries get an id (the API's /emails/{id}), the last reply code and the time
// their current series of attempts began; every attempt is kept; a suppression list. SQLite
// cannot add a rowid to a WITHOUT ROWID table, so the table is rebuilt (ids in creation order).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE deliveries_v3 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    candidate_id    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    assignment      TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    last_reply      TEXT NOT NULL,
    last_code       INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    sent_ms         INTEGER NOT NULL,
    queued_ms       INTEGER NOT NULL,
    UNIQUE (candidate_id, kind)
);
INSERT INTO deliveries_v3 (candidate_id, kind, recipient, recipient_name, assignment, message_id,
                           state, attempts, last_reply, last_code, created_ms, updated_ms,
                           next_attempt_ms, sent_ms, queued_ms)
    SELECT candidate_id, kind, recipient, recipient_name, assignment, message_id, state, attempts,
           last_reply, 0, created_ms, updated_ms, next_attempt_ms, sent_ms, created_ms
    FROM deliveries ORDER BY created_ms, candidate_id;
DROP TABLE deliveries;
ALTER TABLE deliveries_v3 RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms);
CREATE INDEX deliveries_by_state ON deliveries(state, id);
CREATE INDEX deliveries_sent ON deliveries(sent_ms) WHERE state = 'SENT';
CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL,
    started_ms  INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    reply_code  INTEGER NOT NULL,
    reply       TEXT NOT NULL
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts(delivery_id, id);
CREATE TABLE suppressions (
    address     TEXT PRIMARY KEY,
    reason      TEXT NOT NULL,
    delivery_id INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 3;
)sql";

// Version 4: uploaded assignments and the downloads of signed links.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE assignments (
    name       TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    delivery   TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE downloads (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    candidate_id TEXT NOT NULL,
    assignment   TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    client       TEXT NOT NULL
);
CREATE INDEX downloads_by_candidate ON downloads(candidate_id, id);
PRAGMA user_version = 4;
)sql";

// Version 5: API keys (only the SHA-256 of each secret) and the remembered answers of requests
// that carried an Idempotency-Key.
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    last_used_ms INTEGER NOT NULL DEFAULT 0,
    revoked_ms   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL,
    headers      TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_ms);
PRAGMA user_version = 5;
)sql";

// Version 6: the unique attributes each table's unique_values were built for, so a start with
// the same ones skips re-reading every item (which made start-up grow with the table).
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE unique_attribute_sets (
    table_name TEXT PRIMARY KEY,
    attributes TEXT NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 6;
)sql";

// Version 7: the due deliveries in the order they are claimed, and only those. The index on
// (state, next_attempt_ms) made each claim read and sort every due delivery to find the first
// (ORDER BY next_attempt_ms, created_ms across two states), so draining a backlog of n took
// time in n squared. A partial index holds the due ones in claim order; SENT rows leave it.
// Queries name it (INDEXED BY): without ANALYZE statistics SQLite would not pick it.
constexpr const char* kSchemaV7 = R"sql(
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due_in_order ON deliveries(next_attempt_ms, created_ms)
    WHERE state IN ('PENDING', 'RETRY');
PRAGMA user_version = 7;
)sql";

// Version 8: two indexes fewer for every write, which each commit paid for in pages (about 4
// and 3 WAL frames of a group commit's 36). unique_values_by_item found the values an item
// held in order to release them; they are the unique attributes of the item as stored, which
// every write that releases them has read already. stream_records_by_age found where expired
// records end; they lead each shard in sequence order, so the shard's own index finds it too.
constexpr const char* kSchemaV8 = R"sql(
DROP INDEX IF EXISTS unique_values_by_item;
DROP INDEX IF EXISTS stream_records_by_age;
PRAGMA user_version = 8;
)sql";

constexpr const char* kDeadLetterColumns =
    "id, destination, function, table_name, shard, condition, invocation_record, records, "
    "first_sequence, last_sequence, record_count, created_ms, redriven_ms";

constexpr const char* kDeliveryColumns =
    "candidate_id, kind, recipient, recipient_name, assignment, message_id, state, attempts, "
    "last_reply, created_ms, updated_ms, next_attempt_ms, sent_ms, queued_ms, last_code, id";

// Attempts kept per delivery in its timeline; older ones are deleted as new ones come.
constexpr int kMaxAttemptsKept = 100;

// -------------------------------------------------------------------------------------------------
// Errors

// The errno of the last failed system call on the database's WAL file, else on its main file
// (0 when none failed). SQLite's own system errno is often 0 by the time a COMMIT reports
// SQLITE_IOERR_WRITE; each unix file keeps the errno of its own failed call.
int last_file_errno(sqlite3* db) {
    int err = 0;
    sqlite3_file* wal = nullptr;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
        wal != nullptr && wal->pMethods != nullptr) {
        wal->pMethods->xFileControl(wal, SQLITE_FCNTL_LAST_ERRNO, &err);
    }
    if (err == 0) sqlite3_file_control(db, "main", SQLITE_FCNTL_LAST_ERRNO, &err);
    return err;
}

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
    const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
        case SQLITE_FULL:
            return Error(Errc::unavailable, "database is full: no space left on device");
        case SQLITE_READONLY:
            return Error(Errc::unavailable, "database is read-only: " + detail);
        case SQLITE_IOERR: {
            // A file system the kernel turned read-only under the open database (ext4's
            // errors=remount-ro after an error) fails the WAL write with EROFS, which SQLite
            // reports as a plain I/O error.
            const int err = db != nullptr ? last_file_errno(db) : 0;
            if (err == EROFS) {
                return Error(Errc::unavailable,
                             "database is read-only: its file system refuses writes (read-only "
                             "file system)");
            }
            if (err != 0) {
                return Error(Errc::unavailable, fmt::format("database I/O error: {} ({})", detail,
                                                            std::strerror(err)));
            }
            return Error(Errc::unavailable, "database I/O error: " + detail);
        }
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return Error(Errc::unavailable,
                         "database is busy (another writer holds the lock): " + detail);
        case SQLITE_CANTOPEN:
            return Error(Errc::unavailable, "cannot open the database file: " + detail);
        case SQLITE_NOTADB:
            return Error(Errc::unavailable, "the file is not a SQLite database: " + detail);
        case SQLITE_CONSTRAINT:
            return Error(Errc::conflict, "constraint failed: " + detail);
        default:
            return Error(Errc::internal, fmt::format("sqlite error in {}: {}", what, detail));
    }
}

Error with_path(Error error, const std::string& path) {
    error.message = fmt::format("{}: {}", path, error.message);
    return error;
}

// -------------------------------------------------------------------------------------------------
// Connection and statements

// Bytes bound as a BLOB rather than TEXT (zips hold NULs and are not UTF-8).
struct Blob {
    std::string_view bytes;
};

// A cached prepared statement, borrowed for one use. Resetting on destruction returns it to the
// cache in a clean state and ends any implicit read transaction it held.
class Statement {
public:
    // `wrote` is set when a statement that may change the database (not a SELECT or a
    // transaction control statement) is stepped.
    Statement(sqlite3_stmt* stmt, bool* in_use, bool* wrote)
        : stmt_(stmt), in_use_(in_use), wrote_(wrote) {
        *in_use_ = true;
    }
    Statement(Statement&& other) noexcept
        : stmt_(std::exchange(other.stmt_, nullptr)),
          in_use_(std::exchange(other.in_use_, nullptr)),
          wrote_(std::exchange(other.wrote_, nullptr)) {}
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;
    ~Statement() {
        if (stmt_ == nullptr) return;
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
        *in_use_ = false;
    }

    // Binds the arguments to parameters ?1, ?2, ... in order.
    template <typename... Args>
    Result<void> bind(const Args&... args) {
        int index = 0;
        int rc = SQLITE_OK;
        ((rc = rc == SQLITE_OK ? bind_one(++index, args) : rc), ...);
        if (rc != SQLITE_OK) return fail(error(rc));
        return {};
    }

    // Binds one argument to parameter ?index (for statements whose parameters vary).
    template <typename Arg>
    Result<void> bind_at(int index, const Arg& arg) {
        if (const int rc = bind_one(index, arg); rc != SQLITE_OK) return fail(error(rc));
        return {};
    }

    // True when a row is available, false when the statement is done.
    Result<bool> step() {
        if (sqlite3_stmt_readonly(stmt_) == 0) *wrote_ = true;
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        return fail(error(rc));
    }

    // Steps a statement that returns no rows, and returns how many rows it changed. Only a
    // statement that changed a row marks the connection as written (an INSERT ... ON CONFLICT
    // DO NOTHING that met its conflict did not).
    Result<int> run_counting_changes() {
        const bool wrote_before = *wrote_;
        auto done = run();
        if (!done) return fail(std::move(done.error()));
        const int changed = sqlite3_changes(db());
        *wrote_ = wrote_before || changed > 0;
        return changed;
    }

    // Steps to completion, discarding any rows.
    Result<void> run() {
        for (;;) {
            auto row = step();
            if (!row) return fail(std::move(row.error()));
            if (!*row) return {};
        }
    }

    std::int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
    bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
    std::string text(int column) const {
        const unsigned char* data = sqlite3_column_text(stmt_, column);
        if (data == nullptr) return {};
        return std::string(reinterpret_cast<const char*>(data),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
    }
    std::string blob(int column) const {
        const void* data = sqlite3_column_blob(stmt_, column);
        if (data == nullptr) return {};
        return std::string(static_cast<const char*>(data),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
    }
    sqlite3* db() const { return sqlite3_db_handle(stmt_); }

private:
    // SQLITE_TRANSIENT: SQLite copies the bytes, so callers may bind temporaries.
    int bind_one(int index, std::string_view value) {
        return sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8);
    }
    int bind_one(int index, Blob value) {
        // An empty view may have no data pointer, which SQLite would store as NULL.
        if (value.bytes.empty()) return sqlite3_bind_zeroblob(stmt_, index, 0);
        return sqlite3_bind_blob64(stmt_, index, value.bytes.data(), value.bytes.size(),
                                   SQLITE_TRANSIENT);
    }
    int bind_one(int index, std::int64_t value) {
        return sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value));
    }
    int bind_one(int index, int value) { return sqlite3_bind_int(stmt_, index, value); }
    int bind_one(int index, std::nullopt_t) { return sqlite3_bind_null(stmt_, index); }
    // A template so that only an actual optional matches; a string would otherwise convert
    // to both string_view and optional<string>.
    template <typename T>
        requires std::same_as<T, std::optional<std::string>> ||
                 std::same_as<T, std::optional<std::string_view>>
    int bind_one(int index, const T& value) {
        return value ? bind_one(index, std::string_view(*value)) : bind_one(index, std::nullopt);
    }

    Error error(int rc) const { return sqlite_error(db(), rc, sqlite3_sql(stmt_)); }

    sqlite3_stmt* stmt_;
    bool* in_use_;
    bool* wrote_;
};

// The checkpointer copies the WAL back into the database file beside the writer (a checkpoint
// takes SQLite's checkpoint lock, not its write lock), so it is neither query_only nor the writer.
enum class ConnectionRole { writer, reader, checkpointer };

// One SQLite connection with its statement cache. Not thread-safe: the store hands each
// connection to one thread at a time (the writer mutex, the reader pool).
class Connection {
public:
    static Result<std::unique_ptr<Connection>> open(const std::string& path, ConnectionRole role,
                                                    int busy_timeout_ms, const std::string& vfs) {
        // NOMUTEX: the store already serializes use of each connection.
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
        if (role == ConnectionRole::writer) flags |= SQLITE_OPEN_CREATE;
        sqlite3* db = nullptr;
        const int rc =
            sqlite3_open_v2(path.c_str(), &db, flags, vfs.empty() ? nullptr : vfs.c_str());
        // The handle must be closed even when opening failed.
        std::unique_ptr<Connection> conn(new Connection(db));
        if (rc != SQLITE_OK) {
            return fail(Errc::unavailable,
                        fmt::format("cannot open database file {}: {}", path,
                                    db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)),
                        "path");
        }
        sqlite3_extended_result_codes(db, 1);
        if (role == ConnectionRole::writer && sqlite3_db_readonly(db, "main") == 1) {
            return fail(Errc::unavailable,
                        fmt::format("database file {} is read-only: it must be writable", path),
                        "path");
        }
        // Set first, so that switching the journal mode below also waits for other processes.
        sqlite3_busy_timeout(db, busy_timeout_ms);

        {
            auto mode = conn->prepare("PRAGMA journal_mode=WAL");
            if (!mode) return fail(with_path(std::move(mode.error()), path));
            auto row = mode->step();
            if (!row) return fail(with_path(std::move(row.error()), path));
            // A file system without shared memory support leaves the journal in its old mode;
            // the reader/writer split and the durability promise both rely on WAL.
            if (!*row || mode->text(0) != "wal") {
                return fail(
                    Errc::unavailable,
                    fmt::format("database file {} could not be switched to WAL mode", path),
                    "path");
            }
        }
        std::vector<const char*> pragmas = {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"};
        if (role == ConnectionRole::writer) {
            // Savepoint journals (the import's per-row savepoints, a batch run again with one
            // per write) in memory: on file each page a write touched went through pwrite to a
            // temp file. A released outermost savepoint truncates its journal. Readers keep
            // temp files for large sorts.
            pragmas.push_back("PRAGMA temp_store=MEMORY");
            // Checkpoints run from checkpoint() on a background loop instead of on a commit
            // that happens to cross the threshold, so no write pays for one.
            pragmas.push_back("PRAGMA wal_autocheckpoint=0");
            // No journal_size_limit: a WAL cut back when it starts over makes the next frames
            // allocate and zero blocks again, which under sustained ingest took the POSTs' p99
            // from 8 to 20 ms. checkpoint() bounds the WAL instead.
        } else if (role == ConnectionRole::reader) {
            pragmas.push_back("PRAGMA query_only=ON");
        } else {
            pragmas.push_back("PRAGMA wal_autocheckpoint=0");
        }
        for (const char* pragma : pragmas) {
            auto done = conn->exec(pragma);
            if (!done) return fail(with_path(std::move(done.error()), path));
        }
        if (role == ConnectionRole::writer) {
            // After wal_autocheckpoint, which installs (or, at 0, removes) a hook of its own.
            sqlite3_wal_hook(db, &Connection::on_wal_commit, conn.get());
        }
        return conn;
    }

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
        sqlite3_close_v2(db_);
    }

    sqlite3* db() const { return db_; }

    Result<Statement> prepare(std::string_view sql) {
        auto it = cache_.find(sql);
        if (it == cache_.end()) {
            sqlite3_stmt* stmt = nullptr;
            const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
            if (rc != SQLITE_OK) return fail(sqlite_error(db_, rc, sql));
            it = cache_.emplace(std::string(sql), Cached{stmt, false}).first;
        }
        // Re-entering a statement that is mid-iteration would silently reset it.
        if (it->second.in_use) {
            return fail(Errc::internal, fmt::format("statement already in use: {}", sql));
        }
        return Statement(it->second.stmt, &it->second.in_use, &wrote_);
    }

    Result<void> exec(std::string_view sql) {
        auto stmt = prepare(sql);
        if (!stmt) return fail(std::move(stmt.error()));
        return stmt->run();
    }

    // Runs several constant statements at once (the schema). Never used with values.
    Result<void> exec_script(const char* sql) {
        wrote_ = true;
        const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return fail(sqlite_error(db_, rc, "schema"));
        return {};
    }

    bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

    // Whether a commit appended frames to the WAL since the last call (writer only): a COMMIT
    // of a transaction that changed nothing succeeds without writing, so proves nothing.
    bool take_wal_written() { return std::exchange(wal_written_, false); }

    // Whether a change record was appended since the last call (writer only): its commit
    // wakes the stream's readers.
    void note_stream_appended() { stream_appended_ = true; }

    // Whether a statement that may change the database (DML, DDL, a pragma that writes) ran
    // since the last call: row counts miss DDL and user_version.
    bool take_wrote() { return std::exchange(wrote_, false); }
    bool take_stream_appended() { return std::exchange(stream_appended_, false); }

    void rollback() {
        if (!in_transaction()) return;  // SQLite already rolled back (e.g. after SQLITE_FULL)
        if (auto done = exec("ROLLBACK"); !done) {
            spdlog::error("store: rollback failed: {}", done.error().message);
        }
    }

private:
    struct Cached {
        sqlite3_stmt* stmt = nullptr;
        bool in_use = false;
    };
    explicit Connection(sqlite3* db) : db_(db) {}

    // sqlite3_wal_hook: called after a commit that wrote `frames` > 0 WAL frames.
    static int on_wal_commit(void* self, sqlite3*, const char*, int /*frames*/) {
        static_cast<Connection*>(self)->wal_written_ = true;
        return SQLITE_OK;
    }

    sqlite3* db_;
    bool wal_written_ = false;
    bool stream_appended_ = false;
    bool wrote_ = false;
    // Looked up by the SQL text without copying it into a string first.
    struct SqlHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view sql) const {
            return std::hash<std::string_view>{}(sql);
        }
    };
    // Node-based, so Statement's pointer to `in_use` stays valid as the cache grows.
    std::unordered_map<std::string, Cached, SqlHash, std::equal_to<>> cache_;
};

// A bounded set of reader connections. Waiting for a free one is bounded by the busy timeout.
class ReaderPool {
public:
    class Lease {
    public:
        Lease(ReaderPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
        Lease(Lease&& other) noexcept
            : pool_(other.pool_), conn_(std::exchange(other.conn_, nullptr)) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (conn_ != nullptr) pool_->release(conn_);
        }
        Connection& operator*() const { return *conn_; }
        Connection* operator->() const { return conn_; }

    private:
        ReaderPool* pool_;
        Connection* conn_;
    };

    explicit ReaderPool(std::chrono::milliseconds wait_limit) : wait_limit_(wait_limit) {}

    void add(std::unique_ptr<Connection> conn) {
        std::lock_guard lock(mutex_);
        idle_.push_back(conn.get());
        all_.push_back(std::move(conn));
    }

    Result<Lease> acquire() {
        std::unique_lock lock(mutex_);
        if (!available_.wait_for(lock, wait_limit_, [&] { return !idle_.empty(); })) {
            return fail(Errc::unavailable,
                        fmt::format("all {} database reader connections are busy", all_.size()));
        }
        Connection* conn = idle_.back();
        idle_.pop_back();
        return Lease(this, conn);
    }

private:
    void release(Connection* conn) {
        {
            std::lock_guard lock(mutex_);
            idle_.push_back(conn);
        }
        available_.notify_one();
    }

    const std::chrono::milliseconds wait_limit_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Connection>> all_;  // guarded by mutex_
    std::vector<Connection*> idle_;                 // guarded by mutex_
};

// A read transaction on a reader, so several statements see one snapshot.
class ReadTransaction {
public:
    static Result<ReadTransaction> begin(Connection& conn) {
        STORE_TRY(conn.exec("BEGIN"));
        return ReadTransaction(&conn);
    }
    ReadTransaction(ReadTransaction&& other) noexcept
        : conn_(std::exchange(other.conn_, nullptr)) {}
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;
    ReadTransaction& operator=(ReadTransaction&&) = delete;
    ~ReadTransaction() {
        if (conn_ != nullptr) conn_->rollback();
    }

private:
    explicit ReadTransaction(Connection* conn) : conn_(conn) {}
    Connection* conn_;
};

// -------------------------------------------------------------------------------------------------
// Row helpers

Result<Item> parse_stored_item(const std::string& text) {
    auto item = Item::parse(text);
    if (!item) return fail(Errc::internal, "stored item is corrupt: " + item.error().message);
    return item;
}

Result<json::object> parse_stored_object(const std::string& text, std::string_view what) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return fail(Errc::internal, fmt::format("stored {} is corrupt", what));
    }
    return std::move(value.as_object());
}

Result<Delivery> read_delivery(const Statement& stmt) {
    Delivery out;
    out.candidate_id = stmt.text(0);
    out.kind = stmt.text(1);
    out.recipient = stmt.text(2);
    out.recipient_name = stmt.text(3);
    out.assignment = stmt.text(4);
    out.message_id = stmt.text(5);
    auto state = parse_delivery_state(stmt.text(6));
    if (!state) return fail(Errc::internal, "stored delivery is corrupt: " + state.error().message);
    out.state = *state;
    out.attempts = static_cast<int>(stmt.int64(7));
    out.last_reply = stmt.text(8);
    out.created_ms = stmt.int64(9);
    out.updated_ms = stmt.int64(10);
    out.next_attempt_ms = stmt.int64(11);
    out.sent_ms = stmt.int64(12);
    out.queued_ms = stmt.int64(13);
    out.last_code = static_cast<int>(stmt.int64(14));
    out.id = stmt.int64(15);
    return out;
}

Result<std::vector<Delivery>> read_deliveries(Statement& stmt) {
    std::vector<Delivery> out;
    for (;;) {
        auto row = stmt.step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) return out;
        auto delivery = read_delivery(stmt);
        if (!delivery) return fail(std::move(delivery.error()));
        out.push_back(std::move(*delivery));
    }
}

Result<std::optional<Item>> load_item(Connection& conn, const std::string& table,
                                      const std::string& key) {
    auto stmt = conn.prepare("SELECT item_json FROM items WHERE table_name = ?1 AND item_key = ?2");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(table, key));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<Item>();
    auto item = parse_stored_item(stmt->text(0));
    if (!item) return fail(std::move(item.error()));
    return std::optional<Item>(std::move(*item));
}

// Values that take part in uniqueness: non-empty S values. A blank optional field is absent in
// meaning and must not collide with another blank one.
std::optional<std::string_view> unique_value(const Item& item, const std::string& attribute) {
    auto value = item.string_attr(attribute);
    if (!value || value->empty()) return std::nullopt;
    return value;
}

// Releases the unique values `old`, the item stored under `key`, holds.
Result<void> release_unique_values(Connection& conn, const TableSpec& spec,
                                   const std::string& key, const Item& old) {
    for (const std::string& attribute : spec.unique_attributes) {
        auto value = unique_value(old, attribute);
        if (!value) continue;
        auto release = conn.prepare(
            "DELETE FROM unique_values "
            "WHERE table_name = ?1 AND attribute = ?2 AND value = ?3 AND item_key = ?4");
        if (!release) return fail(std::move(release.error()));
        STORE_TRY(release->bind(spec.name, attribute, *value, key));
        STORE_TRY(release->run());
    }
    return {};
}

// Checks and records the unique attribute values of `item`, releasing the values `old` (the
// item stored under `key` before, if any) held, so an item may keep (or swap) its own value.
Result<void> claim_unique_values(Connection& conn, const TableSpec& spec, const std::string& key,
                                 const Item& item, const Item* old) {
    // Whether `value` of `attribute` is held by an item other than `key`. An entry whose item
    // is gone or holds another value (a database changed behind the store's back) is stale: it
    // is removed and holds nothing. Looked at only when a value is taken, which is rare.
    auto taken = [&](const std::string& attribute, std::string_view value) -> Result<bool> {
        std::string holder;
        {
            auto owner = conn.prepare(
                "SELECT item_key FROM unique_values "
                "WHERE table_name = ?1 AND attribute = ?2 AND value = ?3");
            if (!owner) return fail(std::move(owner.error()));
            STORE_TRY(owner->bind(spec.name, attribute, value));
            auto row = owner->step();
            if (!row) return fail(std::move(row.error()));
            if (!*row) return false;
            holder = owner->text(0);
        }
        if (holder == key) return false;
        auto held = load_item(conn, spec.name, holder);
        if (!held) return fail(std::move(held.error()));
        if (*held && unique_value(**held, attribute) == value) return true;
        auto stale = conn.prepare(
            "DELETE FROM unique_values WHERE table_name = ?1 AND attribute = ?2 AND value = ?3");
        if (!stale) return fail(std::move(stale.error()));
        STORE_TRY(stale->bind(spec.name, attribute, value));
        STORE_TRY(stale->run());
        return false;
    };
    // Records `value` for `key`; an entry already there is this key's (taken() said so).
    auto record = [&](const std::string& attribute, std::string_view value) -> Result<int> {
        auto insert = conn.prepare(
            "INSERT INTO unique_values (table_name, attribute, value, item_key) "
            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
        if (!insert) return fail(std::move(insert.error()));
        STORE_TRY(insert->bind(spec.name, attribute, value, key));
        return insert->run_counting_changes();
    };
    auto conflict = [](const std::string& attribute) {
        return fail(Errc::conflict, attribute + " is already on file", attribute);
    };
    if (old == nullptr && spec.unique_attributes.size() == 1) {
        // A new item with one unique attribute (the usual insert): its value is inserted unless
        // held, in one statement, and its holder looked up only then. A refused value changed
        // nothing, so the batch it ran in needs no second run.
        const std::string& attribute = spec.unique_attributes.front();
        auto value = unique_value(item, attribute);
        if (!value) return {};
        auto inserted = record(attribute, *value);
        if (!inserted) return fail(std::move(inserted.error()));
        if (*inserted > 0) return {};
        auto held = taken(attribute, *value);
        if (!held) return fail(std::move(held.error()));
        if (*held) return conflict(attribute);
        // Free now (a stale entry gave way), or already this key's.
        auto again = record(attribute, *value);
        if (!again) return fail(std::move(again.error()));
        return {};
    }
    // Otherwise every value is checked before any is written, so a refused write changes
    // nothing.
    for (const std::string& attribute : spec.unique_attributes) {
        auto value = unique_value(item, attribute);
        if (!value) continue;
        auto held = taken(attribute, *value);
        if (!held) return fail(std::move(held.error()));
        if (*held) return conflict(attribute);
    }
    if (old != nullptr) STORE_TRY(release_unique_values(conn, spec, key, *old));
    for (const std::string& attribute : spec.unique_attributes) {
        auto value = unique_value(item, attribute);
        if (!value) continue;
        auto inserted = record(attribute, *value);
        if (!inserted) return fail(std::move(inserted.error()));
    }
    return {};
}

// Makes the unique index agree with the table's items for the given spec: attributes newly
// declared unique are indexed (refusing when existing items already share a value), attributes
// no longer declared are dropped. In steady state this reads and writes nothing but one scan.
Result<void> reconcile_unique_values(Connection& conn, const TableSpec& spec) {
    std::map<std::pair<std::string, std::string>, std::string> expected;
    if (!spec.unique_attributes.empty()) {
        auto items = conn.prepare("SELECT item_key, item_json FROM items WHERE table_name = ?1");
        if (!items) return fail(std::move(items.error()));
        STORE_TRY(items->bind(spec.name));
        for (;;) {
            auto row = items->step();
            if (!row) return fail(std::move(row.error()));
            if (!*row) break;
            const std::string key = items->text(0);
            auto item = parse_stored_item(items->text(1));
            if (!item) return fail(std::move(item.error()));
            for (const std::string& attribute : spec.unique_attributes) {
                auto value = unique_value(*item, attribute);
                if (!value) continue;
                auto [it, added] = expected.try_emplace({attribute, std::string(*value)}, key);
                if (!added && it->second != key) {
                    return fail(Errc::conflict,
                                fmt::format("{} cannot be unique in table {}: items {} and {} "
                                            "share a value",
                                            attribute, spec.name, it->second, key),
                                attribute);
                }
            }
        }
    }

    std::vector<std::pair<std::string, std::string>> stale;
    {
        auto indexed = conn.prepare(
            "SELECT attribute, value, item_key FROM unique_values WHERE table_name = ?1");
        if (!indexed) return fail(std::move(indexed.error()));
        STORE_TRY(indexed->bind(spec.name));
        for (;;) {
            auto row = indexed->step();
            if (!row) return fail(std::move(row.error()));
            if (!*row) break;
            std::pair<std::string, std::string> entry{indexed->text(0), indexed->text(1)};
            auto it = expected.find(entry);
            if (it != expected.end() && it->second == indexed->text(2)) {
                expected.erase(it);  // already indexed correctly
            } else {
                stale.push_back(std::move(entry));
            }
        }
    }
    for (const auto& [attribute, value] : stale) {
        auto erase = conn.prepare(
            "DELETE FROM unique_values WHERE table_name = ?1 AND attribute = ?2 AND value = ?3");
        if (!erase) return fail(std::move(erase.error()));
        STORE_TRY(erase->bind(spec.name, attribute, value));
        STORE_TRY(erase->run());
    }
    for (const auto& [entry, key] : expected) {
        auto insert = conn.prepare(
            "INSERT INTO unique_values (table_name, attribute, value, item_key) "
            "VALUES (?1, ?2, ?3, ?4)");
        if (!insert) return fail(std::move(insert.error()));
        STORE_TRY(insert->bind(spec.name, entry.first, entry.second, key));
        STORE_TRY(insert->run());
    }
    return {};
}

// One item write: old and new state of the item under `key`; absent means no item. The new
// item belongs to the caller, which may have its text already (`new_item_json`, else empty):
// a put serializes it before it queues for the writer, not on the writer's thread.
struct Change {
    std::string key;
    std::optional<Item> old_item;
    const Item* new_item = nullptr;
    std::string_view new_item_json;

    EventName event_name() const {
        if (!old_item) return EventName::insert;
        if (new_item == nullptr) return EventName::remove;
        return EventName::modify;
    }
};

Result<std::uint64_t> append_change_record(Connection& conn, const TableSpec& spec,
                                           const Change& change, std::string_view new_item_json,
                                           std::int64_t now_ms) {
    const json::object keys{{spec.key_attribute, json::object{{"S", change.key}}}};
    const bool wants_new = spec.view_type == StreamViewType::new_image ||
                           spec.view_type == StreamViewType::new_and_old_images;
    const bool wants_old = spec.view_type == StreamViewType::old_image ||
                           spec.view_type == StreamViewType::new_and_old_images;
    const std::string keys_json = json::serialize(keys);
    std::optional<std::string_view> new_json;
    std::optional<std::string> old_json;
    if (wants_new && change.new_item != nullptr) new_json = new_item_json;
    if (wants_old && change.old_item) old_json = change.old_item->to_json_text();
    const auto size_bytes = static_cast<std::int64_t>(
        keys_json.size() + (new_json ? new_json->size() : 0) + (old_json ? old_json->size() : 0));

    auto insert = conn.prepare(
        "INSERT INTO stream_records (table_name, shard, event_name, event_id, created_ms, "
        "keys_json, new_image_json, old_image_json, size_bytes) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!insert) return fail(std::move(insert.error()));
    STORE_TRY(insert->bind(spec.name, shard_for_key(change.key, spec.shard_count),
                           event_name_text(change.event_name()), random_hex(16), now_ms,
                           keys_json, new_json, old_json, size_bytes));
    STORE_TRY(insert->run());
    conn.note_stream_appended();
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(conn.db()));
}

// Applies `change` to the items and unique index and appends its change record, all inside the
// caller's write transaction. Returns the record's sequence.
Result<std::uint64_t> apply_change(Connection& conn, const TableSpec& spec, const Change& change,
                                   std::int64_t now_ms) {
    std::string made;  // the new item's text, when the caller had none
    std::string_view item_json = change.new_item_json;
    if (change.new_item != nullptr) {
        STORE_TRY(claim_unique_values(conn, spec, change.key, *change.new_item,
                                      change.old_item ? &*change.old_item : nullptr));
        if (item_json.empty()) item_json = made = change.new_item->to_json_text();
        // UPDATE rather than INSERT OR REPLACE: a modified item keeps its list position.
        auto write = conn.prepare(
            change.old_item
                ? "UPDATE items SET item_json = ?3 WHERE table_name = ?1 AND item_key = ?2"
                : "INSERT INTO items (table_name, item_key, item_json) VALUES (?1, ?2, ?3)");
        if (!write) return fail(std::move(write.error()));
        STORE_TRY(write->bind(spec.name, change.key, item_json));
        STORE_TRY(write->run());
    } else {
        if (change.old_item) STORE_TRY(release_unique_values(conn, spec, change.key,
                                                             *change.old_item));
        auto erase = conn.prepare("DELETE FROM items WHERE table_name = ?1 AND item_key = ?2");
        if (!erase) return fail(std::move(erase.error()));
        STORE_TRY(erase->bind(spec.name, change.key));
        STORE_TRY(erase->run());
    }
    return append_change_record(conn, spec, change, item_json, now_ms);
}

Result<void> validate_item(const Item& item) {
    for (const auto& [name, value] : item.attributes()) {
        if (name.empty()) return fail(Errc::invalid_argument, "attribute names must not be empty");
        STORE_TRY(validate_attribute_value(value, std::string(name)));
    }
    return {};
}

Result<std::string> item_key(const TableSpec& spec, const Item& item) {
    const std::string& attribute = spec.key_attribute;
    if (!item.contains(attribute)) {
        return fail(Errc::invalid_argument, "the item has no key attribute " + attribute,
                    attribute);
    }
    auto key = item.string_attr(attribute);
    if (!key) {
        return fail(Errc::invalid_argument, "the key attribute " + attribute + " must be of type S",
                    attribute);
    }
    if (key->empty()) {
        return fail(Errc::invalid_argument, "the key attribute " + attribute + " must not be empty",
                    attribute);
    }
    return std::string(*key);
}

Result<void> validate_spec(const TableSpec& spec) {
    if (spec.name.empty()) return fail(Errc::invalid_argument, "table name is empty", "name");
    if (spec.key_attribute.empty()) {
        return fail(Errc::invalid_argument, "key attribute is empty", "key_attribute");
    }
    if (spec.shard_count < 1 || spec.shard_count > kMaxShardCount) {
        return fail(Errc::invalid_argument,
                    fmt::format("shard_count must be between 1 and {}", kMaxShardCount),
                    "shard_count");
    }
    std::set<std::string_view> seen;
    for (const std::string& attribute : spec.unique_attributes) {
        if (attribute.empty() || !seen.insert(attribute).second) {
            return fail(Errc::invalid_argument,
                        "unique attributes must be non-empty and listed once",
                        "unique_attributes");
        }
    }
    return {};
}

Result<void> check_shard(const TableSpec& spec, int shard) {
    if (shard < 0 || shard >= spec.shard_count) {
        return fail(Errc::invalid_argument,
                    fmt::format("shard must be between 0 and {}", spec.shard_count - 1), "shard");
    }
    return {};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::int64_t clamp_to_int64(std::uint64_t value) {
    return static_cast<std::int64_t>(
        std::min<std::uint64_t>(value, std::numeric_limits<std::int64_t>::max()));
}

// What a write gets when SQLite rolled its whole transaction back (disk full, read-only, I/O
// error): every body that ran in it lost its changes.
Error rolled_back(Connection& conn) {
    const auto why = sqlite_error(conn.db(), sqlite3_extended_errcode(conn.db()), "write");
    return Error(Errc::unavailable,
                 fmt::format("the write was rolled back by the database ({}); nothing was stored",
                             why.message));
}

}  // namespace

// -------------------------------------------------------------------------------------------------

struct SqliteStore::Impl {
    Impl(SqliteOptions opts, const Clock& clk)
        : options(std::move(opts)),
          clock(clk),
          readers(std::chrono::milliseconds(options.busy_timeout_ms)) {
        if (auto* m = options.metrics) {
            const char* checkpoint_help =
                "WAL checkpoints: the whole of each (phase=whole), and its last part, which holds "
                "commits back (phase=commits_held).";
            const std::vector<double> checkpoint_bounds = {0.001, 0.01, 0.1, 0.5, 1, 5, 30};
            commit_seconds = &m->histogram(
                "hirestream_store_commit_seconds",
                "Group commits of the database: from BEGIN to a durable COMMIT.",
                {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
            commit_writes = &m->histogram("hirestream_store_commit_writes",
                                          "Writes (requests' transactions) per group commit.",
                                          {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
            checkpoint_seconds = &m->histogram(
                "hirestream_store_checkpoint_seconds",
                checkpoint_help, checkpoint_bounds, "phase=\"whole\"");
            checkpoint_held_seconds = &m->histogram(
                "hirestream_store_checkpoint_seconds",
                checkpoint_help, checkpoint_bounds, "phase=\"commits_held\"");
        }
    }
    // The committer finishes what is queued, then ends, before the connections close.
    ~Impl() { stop_committer(); }

    // Runs `body` in a BEGIN IMMEDIATE transaction on the writer and returns its result once
    // that transaction has committed (or `body`'s own error, its changes rolled back).
    // IMMEDIATE takes the write lock up front, so checks made inside (create_only, unique
    // values) cannot be invalidated by another process before COMMIT.
    //
    // Group commit: writes queue up for the committer thread, which runs everything queued in
    // one transaction, each body inside its own SAVEPOINT (a body that fails rolls back only
    // itself), so concurrent writers share one fsync (synchronous=FULL). A result is handed
    // back only after the COMMIT that made it durable; each waiter is woken on its own.
    template <typename Fn>
    auto write(Fn&& body) -> decltype(body(std::declval<Connection&>())) {
        using R = decltype(body(std::declval<Connection&>()));
        std::optional<R> result;
        std::optional<Error> lost;
        std::binary_semaphore ready{0};
        PendingWrite mine;
        mine.run = [&](Connection& conn) {
            result.emplace(body(conn));
            return result->has_value();
        };
        mine.forget = [&] { result.reset(); };
        mine.done = [&](const std::optional<Error>& batch_lost) {
            lost = batch_lost;
            ready.release();  // the last touch of this frame's state from the committer
        };
        if (auto queued = enqueue(std::move(mine)); !queued) return fail(std::move(queued.error()));
        ready.acquire();
        return settle(std::move(result), lost);
    }

    // As write(), without waiting: `complete` gets the result on the committer thread once its
    // fate is known, so it must be quick (hand the result over, e.g. post it to an I/O thread).
    template <typename R>
    void write_async(std::function<R(Connection&)> body, std::function<void(R)> complete) {
        auto result = std::make_shared<std::optional<R>>();
        PendingWrite w;
        w.run = [result, body = std::move(body)](Connection& conn) {
            result->emplace(body(conn));
            return (*result)->has_value();
        };
        w.forget = [result] { result->reset(); };
        w.done = [result, complete](const std::optional<Error>& lost) {
            complete(settle(std::move(*result), lost));
        };
        if (auto queued = enqueue(std::move(w)); !queued) complete(fail(std::move(queued.error())));
    }

    // What a write returns: its body's result, unless the batch it ran in was lost (then an
    // error, even for a body that succeeded: its changes were rolled back).
    template <typename R>
    static R settle(std::optional<R> result, const std::optional<Error>& lost) {
        if (!result) return fail(lost ? *lost : Error(Errc::internal, "the write never ran"));
        if (lost && *result) return fail(*lost);
        return std::move(*result);
    }

    struct PendingWrite {
        std::function<bool(Connection&)> run;                  // true when the body succeeded
        std::function<void()> forget;                          // drops the body's result
        std::function<void(const std::optional<Error>&)> done;  // with the batch's loss, if any
    };

    // Bounded: a writer beyond kMaxQueuedWrites is refused at once instead of piling up.
    static constexpr std::size_t kMaxQueuedWrites = 100'000;

    Result<void> enqueue(PendingWrite w) {
        {
            std::lock_guard lock(queue_mutex);
            if (committer_stopping) {
                return fail(Errc::unavailable, "the database is closing");
            }
            if (queue.size() >= kMaxQueuedWrites) {
                return fail(Errc::unavailable,
                            fmt::format("{} writes are already waiting for the database",
                                        kMaxQueuedWrites));
            }
            queue.push_back(std::move(w));
        }
        queue_cv.notify_one();
        return {};
    }

    void start_committer() {
        committer = std::thread([this] {
            name_this_thread("hs-commit");
            std::unique_lock lock(queue_mutex);
            for (;;) {
                queue_cv.wait(lock, [&] { return !queue.empty() || committer_stopping; });
                if (queue.empty()) return;  // stopping, and nothing left to commit
                std::vector<PendingWrite> batch;
                batch.swap(queue);
                lock.unlock();
                auto lost = commit_batch(batch);
                for (auto& w : batch) w.done(lost);
                lock.lock();
            }
        });
    }

    void stop_committer() {
        {
            std::lock_guard lock(queue_mutex);
            committer_stopping = true;
        }
        queue_cv.notify_one();
        if (committer.joinable()) committer.join();
    }

    // Runs a batch in one transaction. Returns the error that lost it (every write of the batch
    // then shares it: their changes were rolled back), or nullopt when it committed.
    //
    // A savepoint per write costs two statements and a copy of every page the write touches,
    // and is needed only to undo a write that fails after changing something; most bodies
    // check first and write after (a taken email changes nothing). So a batch runs without
    // them, and only when a body fails having changed rows is the transaction rolled back and
    // the whole batch run again, each write in its own savepoint. Bodies may therefore run
    // twice: they keep their state inside.
    std::optional<Error> commit_batch(std::vector<PendingWrite>& batch) {
        std::lock_guard lock(writer_mutex);
        const auto started = std::chrono::steady_clock::now();
        bool retry = false;
        auto lost = run_batch(batch, false, retry);
        if (retry) {
            // A body the second run does not reach (it may stop early) must not keep what it
            // answered in the first, whose changes were rolled back.
            for (auto& w : batch) w.forget();
            lost = run_batch(batch, true, retry);
        }
        if (commit_seconds) {
            commit_seconds->observe(seconds_since(started));
            commit_writes->observe(static_cast<double>(batch.size()));
        }
        return lost;
    }

    // `retry` is set (and the transaction rolled back) when, without savepoints, a body failed
    // after changing rows.
    std::optional<Error> run_batch(std::vector<PendingWrite>& batch, bool savepoints,
                                   bool& retry) {
        std::optional<Error> lost;
        retry = false;
        Connection& conn = *writer;
        conn.rollback();  // heals a transaction left open by an earlier failed rollback
        conn.take_wal_written();
        conn.take_stream_appended();
        if (auto begun = conn.exec("BEGIN IMMEDIATE"); !begun) lost = std::move(begun.error());
        for (std::size_t i = 0; !lost && i < batch.size(); ++i) {
            if (savepoints) {
                if (auto sp = conn.exec("SAVEPOINT w"); !sp) {
                    lost = std::move(sp.error());
                    break;
                }
            }
            conn.take_wrote();
            const bool ok = batch[i].run(conn);
            if (sqlite3_get_autocommit(conn.db()) != 0) {
                lost = rolled_back(conn);  // every body of the batch so far lost its changes
                break;
            }
            if (!savepoints) {
                if (!ok && conn.take_wrote()) {
                    conn.rollback();
                    retry = true;
                    return std::nullopt;
                }
                continue;
            }
            if (!ok) {
                if (auto back = conn.exec("ROLLBACK TO w"); !back) lost = back.error();
            }
            if (!lost) {
                if (auto rel = conn.exec("RELEASE w"); !rel) lost = rel.error();
            }
        }
        if (!lost) {
            if (auto committed = conn.exec("COMMIT"); !committed) {
                lost = std::move(committed.error());
            }
        }
        if (lost) conn.rollback();
        note_write_outcome(lost, conn.take_wal_written());
        // One wake-up per committed batch for the stream's readers, not one per write.
        if (!lost && conn.take_stream_appended()) stream_signal.notify();
        return lost;
    }

    // Keeps the error that lost a batch for write_problem() until a commit writes again (one
    // that changed nothing, e.g. a refused duplicate, proves nothing). Logs when writes start
    // and stop failing, not each failure: the callers log those, with their own backoff.
    void note_write_outcome(const std::optional<Error>& lost, bool wrote) {
        std::lock_guard lock(problem_mutex);
        if (lost && lost->code == Errc::unavailable) {
            if (!write_problem) {
                spdlog::error("store: writes are failing error=\"{}\"", lost->message);
            }
            write_problem = *lost;
        } else if (!lost && wrote && write_problem) {
            spdlog::info("store: writes commit again (they failed with \"{}\")",
                         write_problem->message);
            write_problem.reset();
        }
    }

    Result<std::shared_ptr<const TableInfo>> table(const std::string& name) {
        std::lock_guard lock(tables_mutex);
        auto it = tables.find(name);
        if (it == tables.end()) {
            return fail(Errc::not_found, fmt::format("table {} does not exist", name));
        }
        return it->second;
    }

    const SqliteOptions options;
    const Clock& clock;

    std::mutex writer_mutex;
    std::unique_ptr<Connection> writer;  // guarded by writer_mutex
    std::mutex checkpointer_mutex;
    std::unique_ptr<Connection> checkpointer;  // guarded by checkpointer_mutex

    Histogram* commit_seconds = nullptr;  // all four set together, with options.metrics
    Histogram* commit_writes = nullptr;
    Histogram* checkpoint_seconds = nullptr;
    Histogram* checkpoint_held_seconds = nullptr;

    // Group commit (see write()): writes waiting for the committer's next batch.
    std::mutex queue_mutex;
    std::condition_variable queue_cv;
    std::vector<PendingWrite> queue;   // guarded by queue_mutex
    bool committer_stopping = false;   // guarded by queue_mutex
    std::thread committer;             // started once the writer connection is open
    ReaderPool readers;

    std::mutex tables_mutex;
    // Specs as given to ensure_table, which is the only place unique_attributes are known.
    std::unordered_map<std::string, std::shared_ptr<const TableInfo>> tables;  // by tables_mutex

    ChangeSignal stream_signal;
    ChangeSignal delivery_signal;

    std::mutex problem_mutex;
    std::optional<Error> write_problem;  // guarded by problem_mutex
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options,
                                                       const Clock& clock) {
    if (options.path.empty()) {
        return fail(Errc::invalid_argument, "database path is empty", "path");
    }
    if (options.reader_connections < 1) {
        return fail(Errc::invalid_argument, "reader_connections must be at least 1",
                    "reader_connections");
    }
    if (options.busy_timeout_ms < 0) {
        return fail(Errc::invalid_argument, "busy_timeout_ms must not be negative",
                    "busy_timeout_ms");
    }
    auto impl = std::make_unique<Impl>(options, clock);
    auto writer = Connection::open(options.path, ConnectionRole::writer, options.busy_timeout_ms,
                                   options.vfs);
    if (!writer) return fail(std::move(writer.error()));
    impl->writer = std::move(*writer);
    impl->start_committer();

    auto migrated = impl->write([&](Connection& conn) -> Result<void> {
        std::int64_t found = 0;
        {
            // Scoped: a statement still open would make the migrations' DROP TABLE fail with
            // "database table is locked".
            auto version = conn.prepare("PRAGMA user_version");
            if (!version) return fail(std::move(version.error()));
            auto row = version->step();
            if (!row) return fail(std::move(row.error()));
            found = *row ? version->int64(0) : 0;
        }
        if (found == kSchemaVersion) return {};
        if (found > kSchemaVersion || found < 0) {
            return fail(Errc::internal,
                        fmt::format("database schema version {} is newer than this hirestream "
                                    "supports ({})",
                                    found, kSchemaVersion));
        }
        // Migrations run in order, in the one transaction: a database is never half-migrated.
        if (found < 1) STORE_TRY(conn.exec_script(kSchema));
        if (found < 2) STORE_TRY(conn.exec_script(kSchemaV2));
        if (found < 3) STORE_TRY(conn.exec_script(kSchemaV3));
        if (found < 4) STORE_TRY(conn.exec_script(kSchemaV4));
        if (found < 5) STORE_TRY(conn.exec_script(kSchemaV5));
        if (found < 6) STORE_TRY(conn.exec_script(kSchemaV6));
        if (found < 7) STORE_TRY(conn.exec_script(kSchemaV7));
        if (found < 8) STORE_TRY(conn.exec_script(kSchemaV8));
        return {};
    });
    if (!migrated) return fail(with_path(std::move(migrated.error()), options.path));

    for (int i = 0; i < options.reader_connections; ++i) {
        auto reader = Connection::open(options.path, ConnectionRole::reader,
                                       options.busy_timeout_ms, options.vfs);
        if (!reader) return fail(std::move(reader.error()));
        impl->readers.add(std::move(*reader));
    }
    auto checkpointer = Connection::open(options.path, ConnectionRole::checkpointer,
                                         options.busy_timeout_ms, options.vfs);
    if (!checkpointer) return fail(std::move(checkpointer.error()));
    impl->checkpointer = std::move(*checkpointer);
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

// ---- tables -------------------------------------------------------------------------------------

Result<TableInfo> SqliteStore::ensure_table(const TableSpec& spec) {
    STORE_TRY(validate_spec(spec));
    auto info = impl_->write([&](Connection& conn) -> Result<TableInfo> {
        TableInfo out{spec, {}, 0};
        auto stored = conn.prepare(
            "SELECT key_attribute, view_type, shard_count, stream_label, created_ms "
            "FROM tables WHERE name = ?1");
        if (!stored) return fail(std::move(stored.error()));
        STORE_TRY(stored->bind(spec.name));
        auto row = stored->step();
        if (!row) return fail(std::move(row.error()));
        if (*row) {
            const std::string key_attribute = stored->text(0);
            const std::string view_type = stored->text(1);
            const std::int64_t shard_count = stored->int64(2);
            if (key_attribute != spec.key_attribute) {
                return fail(Errc::invalid_argument,
                            fmt::format("table {} has key attribute {}; it cannot become {}",
                                        spec.name, key_attribute, spec.key_attribute),
                            "key_attribute");
            }
            if (view_type != view_type_text(spec.view_type)) {
                return fail(Errc::invalid_argument,
                            fmt::format("table {} streams {}; the view type is fixed once the "
                                        "stream exists and cannot become {}",
                                        spec.name, view_type, view_type_text(spec.view_type)),
                            "view_type");
            }
            if (shard_count != spec.shard_count) {
                return fail(Errc::invalid_argument,
                            fmt::format("table {} has {} shards; changing it to {} would reorder "
                                        "its stream",
                                        spec.name, shard_count, spec.shard_count),
                            "shard_count");
            }
            out.stream_label = stored->text(3);
            out.created_ms = stored->int64(4);
        } else {
            out.created_ms = impl_->clock.now_ms();
            out.stream_label = iso8601_ms(out.created_ms);
            if (!out.stream_label.empty() && out.stream_label.back() == 'Z') {
                out.stream_label.pop_back();  // DynamoDB stream labels carry no zone suffix
            }
            auto insert = conn.prepare(
                "INSERT INTO tables (name, key_attribute, view_type, shard_count, stream_label, "
                "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
            if (!insert) return fail(std::move(insert.error()));
            STORE_TRY(insert->bind(spec.name, spec.key_attribute, view_type_text(spec.view_type),
                                   spec.shard_count, out.stream_label, out.created_ms));
            STORE_TRY(insert->run());
        }
        // unique_values is kept by every write; it needs rebuilding from the items only when
        // the set of unique attributes differs from the one it was built for.
        std::string attributes;
        for (const auto& a : spec.unique_attributes) attributes += a + "\n";
        bool current = false;
        {
            auto built =
                conn.prepare("SELECT attributes FROM unique_attribute_sets WHERE table_name = ?1");
            if (!built) return fail(std::move(built.error()));
            STORE_TRY(built->bind(spec.name));
            auto built_row = built->step();
            if (!built_row) return fail(std::move(built_row.error()));
            current = *built_row && built->text(0) == attributes;
        }
        if (!current) {
            STORE_TRY(reconcile_unique_values(conn, spec));
            auto save = conn.prepare(
                "INSERT INTO unique_attribute_sets (table_name, attributes) VALUES (?1, ?2) "
                "ON CONFLICT (table_name) DO UPDATE SET attributes = excluded.attributes");
            if (!save) return fail(std::move(save.error()));
            STORE_TRY(save->bind(spec.name, attributes));
            STORE_TRY(save->run());
        }
        return out;
    });
    if (!info) return info;
    {
        std::lock_guard lock(impl_->tables_mutex);
        impl_->tables[spec.name] = std::make_shared<const TableInfo>(*info);
    }
    return info;
}

Result<TableInfo> SqliteStore::describe_table(const std::string& table) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    return **info;
}

// ---- items --------------------------------------------------------------------------------------

namespace {

// What a put's transaction learned: the item it replaced, and its change record. The written
// item itself stays with the caller, which adds it to the WriteResult off the writer's thread.
struct PutApplied {
    std::optional<Item> old_item;
    std::uint64_t sequence = 0;
};

// The body of one put, run in the writer's transaction. `item_json` is the item's text.
Result<PutApplied> put_in(Connection& conn, const TableSpec& spec, const std::string& key,
                          const Item& item, std::string_view item_json, PutMode mode,
                          std::int64_t now_ms) {
    auto old = load_item(conn, spec.name, key);
    if (!old) return fail(std::move(old.error()));
    if (*old && mode == PutMode::create_only) {
        return fail(Errc::conflict,
                    fmt::format("an item with {} {} already exists", spec.key_attribute, key),
                    spec.key_attribute);
    }
    Change change{key, std::move(*old), &item, item_json};
    auto sequence = apply_change(conn, spec, change, now_ms);
    if (!sequence) return fail(std::move(sequence.error()));
    return PutApplied{std::move(change.old_item), *sequence};
}

Result<WriteResult> put_result(Result<PutApplied> applied, Item item) {
    if (!applied) return fail(std::move(applied.error()));
    return WriteResult{std::move(applied->old_item), std::move(item), applied->sequence};
}

}  // namespace

Result<WriteResult> SqliteStore::put_item(const std::string& table, const Item& item,
                                          PutMode mode) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    const TableSpec& spec = (*info)->spec;
    STORE_TRY(validate_item(item));
    auto key = item_key(spec, item);
    if (!key) return fail(std::move(key.error()));
    const std::string item_json = item.to_json_text();
    auto applied = impl_->write([&](Connection& conn) {
        return put_in(conn, spec, *key, item, item_json, mode, impl_->clock.now_ms());
    });
    return put_result(std::move(applied), item);
}

void SqliteStore::put_item_async(const std::string& table, Item item, PutMode mode,
                                 std::function<void(Result<WriteResult>)> complete) {
    auto info = impl_->table(table);
    if (!info) return complete(fail(std::move(info.error())));
    if (auto valid = validate_item(item); !valid) return complete(fail(std::move(valid.error())));
    auto key = item_key((*info)->spec, item);
    if (!key) return complete(fail(std::move(key.error())));
    // Shared by the body (which may run twice) and the completion (once, after the last run),
    // which hands the item on in the result without a copy.
    struct Put {
        std::shared_ptr<const TableInfo> info;
        std::string key;
        Item item;
        std::string item_json;
    };
    auto put = std::make_shared<Put>();
    put->info = std::move(*info);
    put->key = std::move(*key);
    put->item_json = item.to_json_text();
    put->item = std::move(item);
    impl_->write_async<Result<PutApplied>>(
        [this, put, mode](Connection& conn) {
            return put_in(conn, put->info->spec, put->key, put->item, put->item_json, mode,
                          impl_->clock.now_ms());
        },
        [put, complete = std::move(complete)](Result<PutApplied> applied) {
            complete(put_result(std::move(applied), std::move(put->item)));
        });
}

void SqliteStore::close_writes() { impl_->stop_committer(); }

Result<std::vector<Result<WriteResult>>> SqliteStore::put_items(const std::string& table,
                                                                const std::vector<Item>& items,
                                                                PutMode mode) {
    if (items.size() > 1000) {
        return fail(Errc::invalid_argument, "at most 1000 items per batch", "items");
    }
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    const TableSpec& spec = (*info)->spec;
    std::vector<std::optional<Result<WriteResult>>> checked(items.size());
    std::vector<std::string> keys(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto key = item_key(spec, items[i]);
        if (auto valid = validate_item(items[i]); !valid) {
            checked[i] = fail(std::move(valid.error()));
        } else if (!key) {
            checked[i] = fail(std::move(key.error()));
        } else {
            keys[i] = std::move(*key);
        }
    }
    std::vector<std::string> texts(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!checked[i]) texts[i] = items[i].to_json_text();
    }
    auto applied = impl_->write([&](Connection& conn) -> Result<std::vector<Result<PutApplied>>> {
        std::vector<Result<PutApplied>> out;
        out.reserve(items.size());
        const auto now = impl_->clock.now_ms();
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (checked[i]) {
                out.push_back(PutApplied{});  // answered from `checked` below
                continue;
            }
            // Each item in its own savepoint: one that fails (a taken email) undoes only itself.
            if (auto sp = conn.exec("SAVEPOINT item"); !sp) return fail(std::move(sp.error()));
            auto one = put_in(conn, spec, keys[i], items[i], texts[i], mode, now);
            if (sqlite3_get_autocommit(conn.db()) != 0) return fail(rolled_back(conn));
            if (!one) {
                if (auto back = conn.exec("ROLLBACK TO item"); !back) {
                    return fail(std::move(back.error()));
                }
            }
            if (auto rel = conn.exec("RELEASE item"); !rel) return fail(std::move(rel.error()));
            out.push_back(std::move(one));
        }
        return out;
    });
    if (!applied) return fail(std::move(applied.error()));
    std::vector<Result<WriteResult>> results;
    results.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        results.push_back(checked[i] ? std::move(*checked[i])
                                     : put_result(std::move((*applied)[i]), items[i]));
    }
    return results;
}

Result<WriteResult> SqliteStore::update_item(const std::string& table, const std::string& key,
                                             const ItemUpdate& update) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    const TableSpec& spec = (*info)->spec;
    const json::value key_value = json::object{{"S", key}};
    for (const auto& [name, value] : update.set) {
        if (name.empty()) return fail(Errc::invalid_argument, "attribute names must not be empty");
        STORE_TRY(validate_attribute_value(value, std::string(name)));
        if (name == spec.key_attribute && value != key_value) {
            return fail(Errc::invalid_argument,
                        "the key attribute " + spec.key_attribute + " cannot be changed",
                        spec.key_attribute);
        }
    }
    for (const std::string& name : update.remove) {
        if (name == spec.key_attribute) {
            return fail(Errc::invalid_argument,
                        "the key attribute " + spec.key_attribute + " cannot be removed",
                        spec.key_attribute);
        }
        if (update.set.contains(name)) {
            return fail(Errc::invalid_argument, name + " is both set and removed", name);
        }
    }

    auto result = impl_->write([&](Connection& conn) -> Result<WriteResult> {
        auto old = load_item(conn, table, key);
        if (!old) return fail(std::move(old.error()));
        if (!*old) {
            return fail(Errc::not_found,
                        fmt::format("no item with {} {} in table {}", spec.key_attribute, key,
                                    table));
        }
        Item updated = **old;
        for (const auto& [name, value] : update.set) updated.set_value(name, value);
        for (const std::string& name : update.remove) updated.erase(name);
        Change change{key, std::move(*old), &updated, {}};
        auto sequence = apply_change(conn, spec, change, impl_->clock.now_ms());
        if (!sequence) return fail(std::move(sequence.error()));
        return WriteResult{std::move(change.old_item), std::move(updated), *sequence};
    });
    return result;
}

Result<WriteResult> SqliteStore::delete_item(const std::string& table, const std::string& key) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    const TableSpec& spec = (*info)->spec;

    auto result = impl_->write([&](Connection& conn) -> Result<WriteResult> {
        auto old = load_item(conn, table, key);
        if (!old) return fail(std::move(old.error()));
        if (!*old) {
            return fail(Errc::not_found,
                        fmt::format("no item with {} {} in table {}", spec.key_attribute, key,
                                    table));
        }
        Change change{key, std::move(*old), nullptr, {}};
        auto sequence = apply_change(conn, spec, change, impl_->clock.now_ms());
        if (!sequence) return fail(std::move(sequence.error()));
        return WriteResult{std::move(change.old_item), std::nullopt, *sequence};
    });
    return result;
}

Result<std::optional<Item>> SqliteStore::get_item(const std::string& table,
                                                  const std::string& key) {
    STORE_TRY(impl_->table(table));
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    return load_item(**reader, table, key);
}

Result<ItemPage> SqliteStore::list_items(const std::string& table,
                                         const std::optional<std::string>& cursor, int limit) {
    return find_items(table, ItemFilter{}, cursor, limit);
}

Result<ItemPage> SqliteStore::find_items(const std::string& table, const ItemFilter& filter,
                                         const std::optional<std::string>& cursor, int limit) {
    STORE_TRY(impl_->table(table));
    if (limit < 1 || limit > kMaxListLimit) {
        return fail(Errc::invalid_argument,
                    fmt::format("limit must be between 1 and {}", kMaxListLimit), "limit");
    }
    std::int64_t before = std::numeric_limits<std::int64_t>::max();
    if (cursor) {
        const std::string& text = *cursor;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), before);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
            before <= 0) {
            return fail(Errc::invalid_argument, "cursor is not one this service returned",
                        "cursor");
        }
    }
    const bool by_text = !filter.text.empty() && !filter.text_attributes.empty();
    const bool by_delivery = filter.assignment || filter.delivery_state;

    // The statement is assembled from fixed fragments only (values are bound), so the cache
    // holds one statement per combination of conditions. instr() rather than LIKE: the text is
    // matched literally, '%' and '_' included. lower() folds ASCII, as the filter promises.
    std::string sql = "SELECT i.pos, i.item_json FROM items i";
    if (by_delivery) {
        sql += " JOIN deliveries d ON d.candidate_id = i.item_key AND d.kind = ?4";
        if (filter.assignment) sql += " AND d.assignment = ?5";
        if (filter.delivery_state) sql += " AND d.state = ?6";
    }
    sql += " WHERE i.table_name = ?1 AND i.pos < ?2";
    if (by_text) {
        sql += " AND (";
        for (std::size_t k = 0; k < filter.text_attributes.size(); ++k) {
            sql += fmt::format("{}instr(lower(json_extract(i.item_json, ?{})), ?7) > 0",
                               k == 0 ? "" : " OR ", 8 + k);
        }
        sql += ")";
    }
    sql += " ORDER BY i.pos DESC LIMIT ?3";

    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(sql);
    if (!stmt) return fail(std::move(stmt.error()));
    // One row more than asked tells whether another page exists.
    STORE_TRY(stmt->bind(table, before, limit + 1));
    if (by_delivery) {
        STORE_TRY(stmt->bind_at(4, std::string_view(filter.delivery_kind)));
        if (filter.assignment) STORE_TRY(stmt->bind_at(5, std::string_view(*filter.assignment)));
        if (filter.delivery_state) {
            STORE_TRY(stmt->bind_at(6, delivery_state_text(*filter.delivery_state)));
        }
    }
    if (by_text) {
        std::string needle = filter.text;
        for (auto& c : needle) {
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        STORE_TRY(stmt->bind_at(7, std::string_view(needle)));
        for (std::size_t k = 0; k < filter.text_attributes.size(); ++k) {
            // A JSON path naming the attribute's S value; quoted so any name is one key.
            json::string quoted(filter.text_attributes[k]);
            const std::string path = "$." + json::serialize(quoted) + ".S";
            STORE_TRY(stmt->bind_at(static_cast<int>(8 + k), std::string_view(path)));
        }
    }
    ItemPage page;
    std::int64_t last_pos = 0;
    for (;;) {
        auto row = stmt->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) break;
        if (static_cast<int>(page.items.size()) == limit) {
            page.next_cursor = std::to_string(last_pos);
            break;
        }
        last_pos = stmt->int64(0);
        auto item = parse_stored_item(stmt->text(1));
        if (!item) return fail(std::move(item.error()));
        page.items.push_back(std::move(*item));
    }
    return page;
}

// ---- stream -------------------------------------------------------------------------------------

namespace {

// Reads change records from a statement whose columns are: sequence, shard, event_name,
// event_id, created_ms, keys_json, new_image_json, old_image_json, size_bytes.
Result<std::vector<ChangeRecord>> read_records(Statement& stmt, const TableSpec& spec) {
    std::vector<ChangeRecord> records;
    for (;;) {
        auto row = stmt.step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) break;
        ChangeRecord record;
        record.sequence = static_cast<std::uint64_t>(stmt.int64(0));
        record.table = spec.name;
        record.shard = static_cast<int>(stmt.int64(1));
        auto event_name = parse_event_name(stmt.text(2));
        if (!event_name) {
            return fail(Errc::internal, "stored change record is corrupt: " +
                                            event_name.error().message);
        }
        record.event_name = *event_name;
        record.event_id = stmt.text(3);
        record.created_ms = stmt.int64(4);
        auto keys = parse_stored_object(stmt.text(5), "change record keys");
        if (!keys) return fail(std::move(keys.error()));
        record.keys = std::move(*keys);
        if (!stmt.is_null(6)) {
            auto image = parse_stored_object(stmt.text(6), "change record new image");
            if (!image) return fail(std::move(image.error()));
            record.new_image = std::move(*image);
        }
        if (!stmt.is_null(7)) {
            auto image = parse_stored_object(stmt.text(7), "change record old image");
            if (!image) return fail(std::move(image.error()));
            record.old_image = std::move(*image);
        }
        record.size_bytes = static_cast<std::size_t>(stmt.int64(8));
        record.view_type = spec.view_type;
        records.push_back(std::move(record));
    }
    return records;
}

constexpr const char* kRecordColumns =
    "sequence, shard, event_name, event_id, created_ms, keys_json, new_image_json, "
    "old_image_json, size_bytes";

}  // namespace

Result<std::vector<ChangeRecord>> SqliteStore::read_shard(const std::string& table, int shard,
                                                          std::uint64_t after_sequence,
                                                          int limit) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    const TableSpec& spec = (*info)->spec;
    STORE_TRY(check_shard(spec, shard));
    if (limit < 1) return fail(Errc::invalid_argument, "limit must be at least 1", "limit");

    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(fmt::format(
        "SELECT {} FROM stream_records "
        "WHERE table_name = ?1 AND shard = ?2 AND sequence > ?3 ORDER BY sequence LIMIT ?4",
        kRecordColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(table, shard, clamp_to_int64(after_sequence), limit));
    return read_records(*stmt, spec);
}

Result<std::vector<ChangeRecord>> SqliteStore::read_stream(const std::string& table,
                                                           std::uint64_t after_sequence,
                                                           int limit) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    if (limit < 1) return fail(Errc::invalid_argument, "limit must be at least 1", "limit");
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    // One statement, so one snapshot: a record committed meanwhile is either in the page with
    // everything before it, or not at all.
    auto stmt = (*reader)->prepare(fmt::format(
        "SELECT {} FROM stream_records WHERE table_name = ?1 AND sequence > ?2 "
        "ORDER BY sequence LIMIT ?3",
        kRecordColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(table, clamp_to_int64(after_sequence), limit));
    return read_records(*stmt, (*info)->spec);
}

Result<std::uint64_t> SqliteStore::latest_sequence(const std::string& table, int shard) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    STORE_TRY(check_shard((*info)->spec, shard));
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT MAX(sequence) FROM stream_records WHERE table_name = ?1 AND shard = ?2");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(table, shard));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    if (!*row || stmt->is_null(0)) return std::uint64_t{0};
    return static_cast<std::uint64_t>(stmt->int64(0));
}

Result<std::uint64_t> SqliteStore::count_records_after(const std::string& table, int shard,
                                                       std::uint64_t after_sequence,
                                                       std::uint64_t limit) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    STORE_TRY(check_shard((*info)->spec, shard));
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT COUNT(*) FROM (SELECT 1 FROM stream_records "
        "WHERE table_name = ?1 AND shard = ?2 AND sequence > ?3 LIMIT ?4)");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(table, shard, clamp_to_int64(after_sequence), clamp_to_int64(limit)));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    return static_cast<std::uint64_t>(*row ? stmt->int64(0) : 0);
}

Result<std::uint64_t> SqliteStore::trim_stream(const std::string& table, std::int64_t before_ms,
                                               const std::vector<std::uint64_t>& trim_up_to) {
    auto info = impl_->table(table);
    if (!info) return fail(std::move(info.error()));
    const int shards = (*info)->spec.shard_count;
    if (!trim_up_to.empty() && trim_up_to.size() != static_cast<std::size_t>(shards)) {
        return fail(Errc::invalid_argument, "trim_up_to needs one bound per shard", "trim_up_to");
    }
    // Small transactions: a day's worth of records deleted at once would hold the write lock
    // (and every POST) for seconds.
    constexpr int kChunk = 1000;
    // How far ahead of the clock a record's stamp may be and still end the old records.
    constexpr std::int64_t kFutureStampSlackMs = 60'000;
    const std::int64_t now_ms = impl_->clock.now_ms();
    std::uint64_t total = 0;
    for (int shard = 0; shard < shards; ++shard) {
        // At most the consumers' bound, and below the shard's first record created at or after
        // the cutoff, found without holding the writer. Sequences grow with time, so the
        // records to trim lead the shard and the search walks only them (and stops at the
        // bound), as does each delete below. A condition on age alone would walk every record
        // of the shard, newer ones too, with the writer held (at 3 million records, a second
        // per shard, every pass). A record after the cut that is older than the cutoff (the
        // clock stepped back) stays: a later pass takes it. A record stamped well ahead of the
        // clock (written while the clock ran fast) is not the cut, or the shard's trim would
        // wait until real time caught up with its stamp; the delete's own age test keeps it.
        std::int64_t below = std::numeric_limits<std::int64_t>::max();
        if (!trim_up_to.empty()) {
            const auto bound = clamp_to_int64(trim_up_to[static_cast<std::size_t>(shard)]);
            if (bound != std::numeric_limits<std::int64_t>::max()) below = bound + 1;
        }
        {
            auto reader = impl_->readers.acquire();
            if (!reader) return fail(std::move(reader.error()));
            auto first_new = (*reader)->prepare(
                "SELECT sequence FROM stream_records INDEXED BY stream_records_by_shard "
                "WHERE table_name = ?1 AND shard = ?2 AND sequence < ?3 AND created_ms >= ?4 "
                "AND created_ms <= ?5 ORDER BY sequence LIMIT 1");
            if (!first_new) return fail(std::move(first_new.error()));
            STORE_TRY(first_new->bind(table, shard, below, before_ms,
                                      std::max(before_ms, now_ms) + kFutureStampSlackMs));
            auto row = first_new->step();
            if (!row) return fail(std::move(row.error()));
            if (*row) below = first_new->int64(0);
        }
        for (;;) {
            auto deleted = impl_->write([&](Connection& conn) -> Result<std::uint64_t> {
                auto stmt = conn.prepare(
                    "DELETE FROM stream_records WHERE sequence IN (SELECT sequence FROM "
                    "stream_records INDEXED BY stream_records_by_shard WHERE table_name = ?1 "
                    "AND shard = ?2 AND sequence < ?3 AND created_ms < ?4 ORDER BY sequence "
                    "LIMIT ?5)");
                if (!stmt) return fail(std::move(stmt.error()));
                STORE_TRY(stmt->bind(table, shard, below, before_ms, kChunk));
                STORE_TRY(stmt->run());
                return static_cast<std::uint64_t>(sqlite3_changes64(conn.db()));
            });
            if (!deleted) return fail(std::move(deleted.error()));
            total += *deleted;
            if (*deleted < static_cast<std::uint64_t>(kChunk)) break;
        }
    }
    return total;
}

// ---- checkpoints --------------------------------------------------------------------------------

Result<std::optional<std::uint64_t>> SqliteStore::load_checkpoint(const std::string& consumer,
                                                   const std::string& table, int shard) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT sequence FROM checkpoints "
        "WHERE consumer = ?1 AND table_name = ?2 AND shard = ?3");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(consumer, table, shard));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(stmt->int64(0)));
}

namespace {

Result<void> check_checkpoint(const std::string& consumer, std::uint64_t sequence) {
    if (consumer.empty()) {
        return fail(Errc::invalid_argument, "consumer name is empty", "consumer");
    }
    if (sequence > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return fail(Errc::invalid_argument, "sequence is out of range", "sequence");
    }
    return {};
}

Result<void> save_checkpoint_in(Connection& conn, const std::string& consumer,
                                const std::string& table, int shard, std::uint64_t sequence) {
    auto stmt = conn.prepare(
        "INSERT INTO checkpoints (consumer, table_name, shard, sequence) "
        "VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (consumer, table_name, shard) DO UPDATE SET sequence = excluded.sequence");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(consumer, table, shard, static_cast<std::int64_t>(sequence)));
    return stmt->run();
}

}  // namespace

Result<void> SqliteStore::save_checkpoint(const std::string& consumer, const std::string& table,
                                          int shard, std::uint64_t sequence) {
    STORE_TRY(check_checkpoint(consumer, sequence));
    return impl_->write([&](Connection& conn) {
        return save_checkpoint_in(conn, consumer, table, shard, sequence);
    });
}

void SqliteStore::save_checkpoint_async(const std::string& consumer, const std::string& table,
                                        int shard, std::uint64_t sequence,
                                        std::function<void(Result<void>)> complete) {
    if (auto valid = check_checkpoint(consumer, sequence); !valid) return complete(valid);
    impl_->write_async<Result<void>>(
        [consumer, table, shard, sequence](Connection& conn) {
            return save_checkpoint_in(conn, consumer, table, shard, sequence);
        },
        std::move(complete));
}

// ---- deliveries ---------------------------------------------------------------------------------

Result<bool> SqliteStore::add_delivery(const Delivery& delivery) {
    auto added = add_deliveries({delivery});
    if (!added) return fail(std::move(added.error()));
    const auto& stored = added->front();
    if (stored && (stored->state == DeliveryState::pending ||
                   stored->state == DeliveryState::retry)) {
        impl_->delivery_signal.notify();
    }
    return stored.has_value();
}

Result<std::vector<std::optional<Delivery>>> SqliteStore::add_deliveries(
    const std::vector<Delivery>& deliveries) {
    for (const auto& d : deliveries) {
        if (d.candidate_id.empty()) {
            return fail(Errc::invalid_argument, "candidate_id is empty", "candidate_id");
        }
        if (d.kind.empty()) return fail(Errc::invalid_argument, "kind is empty", "kind");
    }
    const std::int64_t now_ms = impl_->clock.now_ms();
    const std::string insert_sql = fmt::format(
        "INSERT INTO deliveries (candidate_id, kind, recipient, recipient_name, assignment, "
        "message_id, state, attempts, last_reply, created_ms, updated_ms, next_attempt_ms, "
        "sent_ms, queued_ms, last_code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13, ?14, ?15) ON CONFLICT (candidate_id, kind) DO NOTHING RETURNING {}",
        kDeliveryColumns);
    auto added = impl_->write([&](Connection& conn) -> Result<std::vector<std::optional<Delivery>>> {
        // ON CONFLICT DO NOTHING rather than INSERT OR IGNORE: only the (candidate, kind) clash
        // is expected; OR IGNORE would also hide NOT NULL violations.
        std::vector<std::optional<Delivery>> out;
        out.reserve(deliveries.size());
        for (const auto& d : deliveries) {
            auto stmt = conn.prepare(insert_sql);
            if (!stmt) return fail(std::move(stmt.error()));
            const auto created = d.created_ms != 0 ? d.created_ms : now_ms;
            STORE_TRY(stmt->bind(d.candidate_id, d.kind, d.recipient, d.recipient_name,
                                 d.assignment, d.message_id, delivery_state_text(d.state),
                                 d.attempts, d.last_reply, created,
                                 d.updated_ms != 0 ? d.updated_ms : now_ms, d.next_attempt_ms,
                                 d.sent_ms, d.queued_ms != 0 ? d.queued_ms : created,
                                 d.last_code));
            auto rows = read_deliveries(*stmt);
            if (!rows) return fail(std::move(rows.error()));
            out.push_back(rows->empty() ? std::nullopt
                                        : std::optional<Delivery>(std::move(rows->front())));
        }
        return out;
    });
    return added;
}

Result<std::optional<Delivery>> SqliteStore::get_delivery(const std::string& candidate_id,
                                                          const std::string& kind) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(fmt::format(
        "SELECT {} FROM deliveries WHERE candidate_id = ?1 AND kind = ?2", kDeliveryColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(candidate_id, kind));
    auto found = read_deliveries(*stmt);
    if (!found) return fail(std::move(found.error()));
    if (found->empty()) return std::optional<Delivery>();
    return std::optional<Delivery>(std::move(found->front()));
}

Result<std::vector<Delivery>> SqliteStore::deliveries_for(
    const std::vector<std::string>& candidate_ids) {
    std::vector<Delivery> out;
    if (candidate_ids.empty()) return out;
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    // One snapshot for the whole batch; each lookup is a primary-key seek on one cached
    // statement, which beats a variable-length IN list that would need a statement per size.
    auto snapshot = ReadTransaction::begin(**reader);
    if (!snapshot) return fail(std::move(snapshot.error()));
    const std::string sql = fmt::format(
        "SELECT {} FROM deliveries WHERE candidate_id = ?1 ORDER BY kind", kDeliveryColumns);
    std::set<std::string_view> seen;
    for (const std::string& candidate_id : candidate_ids) {
        if (!seen.insert(candidate_id).second) continue;
        auto stmt = (*reader)->prepare(sql);
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(candidate_id));
        auto found = read_deliveries(*stmt);
        if (!found) return fail(std::move(found.error()));
        std::move(found->begin(), found->end(), std::back_inserter(out));
    }
    return out;
}

Result<std::vector<Delivery>> SqliteStore::claim_due_deliveries(std::int64_t now_ms, int limit) {
    if (limit < 1) return fail(Errc::invalid_argument, "limit must be at least 1", "limit");
    return impl_->write([&](Connection& conn) -> Result<std::vector<Delivery>> {
        std::vector<std::pair<std::string, std::string>> due;
        {
            auto select = conn.prepare(
                "SELECT candidate_id, kind FROM deliveries INDEXED BY deliveries_due_in_order "
                "WHERE state IN ('PENDING', 'RETRY') AND next_attempt_ms <= ?1 "
                "ORDER BY next_attempt_ms, created_ms LIMIT ?2");
            if (!select) return fail(std::move(select.error()));
            STORE_TRY(select->bind(now_ms, limit));
            for (;;) {
                auto row = select->step();
                if (!row) return fail(std::move(row.error()));
                if (!*row) break;
                due.emplace_back(select->text(0), select->text(1));
            }
        }
        const std::string claim_sql = fmt::format(
            "UPDATE deliveries SET state = 'SENDING', attempts = attempts + 1, "
            "updated_ms = ?3 WHERE candidate_id = ?1 AND kind = ?2 RETURNING {}",
            kDeliveryColumns);
        std::vector<Delivery> claimed;
        claimed.reserve(due.size());
        for (const auto& [candidate_id, kind] : due) {
            auto update = conn.prepare(claim_sql);
            if (!update) return fail(std::move(update.error()));
            STORE_TRY(update->bind(candidate_id, kind, now_ms));
            auto rows = read_deliveries(*update);
            if (!rows) return fail(std::move(rows.error()));
            std::move(rows->begin(), rows->end(), std::back_inserter(claimed));
        }
        return claimed;
    });
}

namespace {

// Appends one attempt to a delivery's timeline and drops the oldest beyond kMaxAttemptsKept,
// so a delivery retried for days keeps a bounded history.
Result<void> append_attempt(Connection& conn, const DeliveryAttempt& a) {
    auto insert = conn.prepare(
        "INSERT INTO delivery_attempts (delivery_id, started_ms, finished_ms, outcome, "
        "reply_code, reply) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!insert) return fail(std::move(insert.error()));
    STORE_TRY(insert->bind(a.delivery_id, a.started_ms, a.finished_ms, a.outcome, a.reply_code,
                           a.reply));
    STORE_TRY(insert->run());
    auto trim = conn.prepare(
        "DELETE FROM delivery_attempts WHERE delivery_id = ?1 AND id <= "
        "(SELECT id FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY id DESC "
        "LIMIT 1 OFFSET ?2)");
    if (!trim) return fail(std::move(trim.error()));
    STORE_TRY(trim->bind(a.delivery_id, kMaxAttemptsKept));
    return trim->run();
}

std::string lower_ascii(std::string text) {
    for (char& c : text) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return text;
}

Result<void> check_finish(const AttemptOutcome& outcome) {
    const DeliveryState state = outcome.state;
    if (state != DeliveryState::sent && state != DeliveryState::retry &&
        state != DeliveryState::failed && state != DeliveryState::suppressed) {
        return fail(Errc::invalid_argument, "an attempt ends as SENT, RETRY, FAILED or SUPPRESSED",
                    "state");
    }
    return {};
}

// The body of finish_delivery, run in the writer's transaction.
Result<void> finish_in(Connection& conn, const std::string& candidate_id, const std::string& kind,
                       const AttemptOutcome& outcome, std::int64_t now_ms) {
    const DeliveryState state = outcome.state;
    std::int64_t next = 0;
    std::int64_t sent = 0;
    std::int64_t id = 0;
    std::int64_t started = 0;
    std::string recipient;
    {
        auto current = conn.prepare(
            "SELECT state, next_attempt_ms, sent_ms, id, updated_ms, recipient "
            "FROM deliveries WHERE candidate_id = ?1 AND kind = ?2");
        if (!current) return fail(std::move(current.error()));
        STORE_TRY(current->bind(candidate_id, kind));
        auto row = current->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) {
            return fail(Errc::not_found,
                        fmt::format("no {} delivery for candidate {}", kind, candidate_id));
        }
        const std::string current_state = current->text(0);
        if (current_state != delivery_state_text(DeliveryState::sending)) {
            return fail(Errc::conflict,
                        fmt::format("the {} delivery for candidate {} is {}, not SENDING",
                                    kind, candidate_id, current_state));
        }
        next = state == DeliveryState::retry ? outcome.next_attempt_ms : current->int64(1);
        sent = state == DeliveryState::sent ? now_ms : current->int64(2);
        id = current->int64(3);
        started = current->int64(4);  // claim_due_deliveries stamped the attempt's start
        recipient = current->text(5);
    }
    auto update = conn.prepare(
        "UPDATE deliveries SET state = ?3, last_reply = ?4, updated_ms = ?5, "
        "next_attempt_ms = ?6, sent_ms = ?7, last_code = ?8 "
        "WHERE candidate_id = ?1 AND kind = ?2");
    if (!update) return fail(std::move(update.error()));
    STORE_TRY(update->bind(candidate_id, kind, delivery_state_text(state), outcome.reply,
                           now_ms, next, sent, outcome.reply_code));
    STORE_TRY(update->run());
    STORE_TRY(append_attempt(conn, DeliveryAttempt{id, started, now_ms,
                                                   std::string(delivery_state_text(state)),
                                                   outcome.reply_code, outcome.reply}));
    if (outcome.suppress_recipient && !recipient.empty()) {
        auto suppress = conn.prepare(
            "INSERT INTO suppressions (address, reason, delivery_id, created_ms) "
            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (address) DO NOTHING");
        if (!suppress) return fail(std::move(suppress.error()));
        STORE_TRY(suppress->bind(lower_ascii(recipient), outcome.reply, id, now_ms));
        STORE_TRY(suppress->run());
    }
    return {};
}

}  // namespace

Result<void> SqliteStore::finish_delivery(const std::string& candidate_id, const std::string& kind,
                                          const AttemptOutcome& outcome, std::int64_t now_ms) {
    STORE_TRY(check_finish(outcome));
    auto finished = impl_->write(
        [&](Connection& conn) { return finish_in(conn, candidate_id, kind, outcome, now_ms); });
    if (finished && outcome.state == DeliveryState::retry) impl_->delivery_signal.notify();
    return finished;
}

void SqliteStore::finish_delivery_async(const std::string& candidate_id, const std::string& kind,
                                        const AttemptOutcome& outcome, std::int64_t now_ms,
                                        std::function<void(Result<void>)> complete) {
    if (auto valid = check_finish(outcome); !valid) return complete(valid);
    impl_->write_async<Result<void>>(
        [candidate_id, kind, outcome, now_ms](Connection& conn) {
            return finish_in(conn, candidate_id, kind, outcome, now_ms);
        },
        [this, retry = outcome.state == DeliveryState::retry,
         complete = std::move(complete)](Result<void> finished) {
            if (finished && retry) impl_->delivery_signal.notify();
            complete(std::move(finished));
        });
}

Result<int> SqliteStore::unclaim_deliveries(const std::vector<std::int64_t>& ids,
                                            std::int64_t now_ms) {
    if (ids.empty()) return 0;
    auto released = impl_->write([&](Connection& conn) -> Result<int> {
        int count = 0;
        for (const auto id : ids) {
            auto stmt = conn.prepare(
                "UPDATE deliveries SET state = 'PENDING', attempts = MAX(attempts - 1, 0), "
                "updated_ms = ?2, next_attempt_ms = ?2 WHERE id = ?1 AND state = 'SENDING'");
            if (!stmt) return fail(std::move(stmt.error()));
            STORE_TRY(stmt->bind(id, now_ms));
            STORE_TRY(stmt->run());
            count += static_cast<int>(sqlite3_changes64(conn.db()));
        }
        return count;
    });
    if (released && *released > 0) impl_->delivery_signal.notify();
    return released;
}

Result<int> SqliteStore::requeue_interrupted_deliveries(std::int64_t now_ms) {
    static constexpr std::string_view kInterrupted =
        "interrupted: the service stopped during the attempt, so the message may already have "
        "been sent";
    auto requeued = impl_->write([&](Connection& conn) -> Result<int> {
        auto timeline = conn.prepare(
            "INSERT INTO delivery_attempts (delivery_id, started_ms, finished_ms, outcome, "
            "reply_code, reply) SELECT id, updated_ms, ?1, 'INTERRUPTED', 0, ?2 "
            "FROM deliveries WHERE state = 'SENDING'");
        if (!timeline) return fail(std::move(timeline.error()));
        STORE_TRY(timeline->bind(now_ms, kInterrupted));
        STORE_TRY(timeline->run());
        auto stmt = conn.prepare(
            "UPDATE deliveries SET state = 'RETRY', next_attempt_ms = ?1, updated_ms = ?1, "
            "last_reply = ?2, last_code = 0 WHERE state = 'SENDING'");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(now_ms, kInterrupted));
        STORE_TRY(stmt->run());
        return static_cast<int>(sqlite3_changes64(conn.db()));
    });
    if (requeued && *requeued > 0) impl_->delivery_signal.notify();
    return requeued;
}

Result<std::optional<Delivery>> SqliteStore::get_delivery_by_id(std::int64_t id) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        fmt::format("SELECT {} FROM deliveries WHERE id = ?1", kDeliveryColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(id));
    auto found = read_deliveries(*stmt);
    if (!found) return fail(std::move(found.error()));
    if (found->empty()) return std::optional<Delivery>();
    return std::optional<Delivery>(std::move(found->front()));
}

Result<std::vector<Delivery>> SqliteStore::list_deliveries(const DeliveryQuery& query) {
    if (query.limit < 1 || query.limit > kMaxListLimit) {
        return fail(Errc::invalid_argument,
                    fmt::format("limit must be between 1 and {}", kMaxListLimit), "limit");
    }
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    const std::int64_t before = query.before_id > 0 ? query.before_id : INT64_MAX;
    if (query.state) {
        auto stmt = (*reader)->prepare(fmt::format(
            "SELECT {} FROM deliveries WHERE state = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
            kDeliveryColumns));
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(delivery_state_text(*query.state), before, query.limit));
        return read_deliveries(*stmt);
    }
    auto stmt = (*reader)->prepare(fmt::format(
        "SELECT {} FROM deliveries WHERE id < ?1 ORDER BY id DESC LIMIT ?2", kDeliveryColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(before, query.limit));
    return read_deliveries(*stmt);
}

Result<Delivery> SqliteStore::retry_delivery(std::int64_t id, std::int64_t now_ms) {
    auto retried = impl_->write([&](Connection& conn) -> Result<Delivery> {
        auto update = conn.prepare(fmt::format(
            "UPDATE deliveries SET state = 'PENDING', attempts = 0, next_attempt_ms = ?2, "
            "updated_ms = ?2, queued_ms = ?2 "
            "WHERE id = ?1 AND state IN ('FAILED', 'SUPPRESSED', 'RETRY') RETURNING {}",
            kDeliveryColumns));
        if (!update) return fail(std::move(update.error()));
        STORE_TRY(update->bind(id, now_ms));
        auto rows = read_deliveries(*update);
        if (!rows) return fail(std::move(rows.error()));
        if (!rows->empty()) return std::move(rows->front());
        auto current = conn.prepare("SELECT state FROM deliveries WHERE id = ?1");
        if (!current) return fail(std::move(current.error()));
        STORE_TRY(current->bind(id));
        auto row = current->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) return fail(Errc::not_found, fmt::format("no email {}", id), "id");
        const std::string state = current->text(0);
        return fail(Errc::conflict,
                    state == "SENT"
                        ? fmt::format("email {} was sent already; it is never sent twice", id)
                        : fmt::format("email {} is {}: it is queued already", id, state),
                    "state");
    });
    if (retried) impl_->delivery_signal.notify();
    return retried;
}

Result<std::vector<DeliveryAttempt>> SqliteStore::delivery_attempts(std::int64_t delivery_id,
                                                                   int limit) {
    if (limit < 1 || limit > kMaxListLimit) {
        return fail(Errc::invalid_argument,
                    fmt::format("limit must be between 1 and {}", kMaxListLimit), "limit");
    }
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT delivery_id, started_ms, finished_ms, outcome, reply_code, reply FROM "
        "(SELECT * FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY id DESC LIMIT ?2) "
        "ORDER BY id");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(delivery_id, limit));
    std::vector<DeliveryAttempt> out;
    for (;;) {
        auto row = stmt->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) return out;
        out.push_back(DeliveryAttempt{stmt->int64(0), stmt->int64(1), stmt->int64(2),
                                      stmt->text(3), static_cast<int>(stmt->int64(4)),
                                      stmt->text(5)});
    }
}

Result<std::vector<std::pair<std::int64_t, std::int64_t>>> SqliteStore::sent_per_minute_since(
    std::int64_t since_ms) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT (sent_ms / 60000) * 60000 AS minute, COUNT(*) FROM deliveries "
        "WHERE state = 'SENT' AND sent_ms >= ?1 GROUP BY minute ORDER BY minute");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(since_ms));
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (;;) {
        auto row = stmt->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) return out;
        out.emplace_back(stmt->int64(0), stmt->int64(1));
    }
}

// ---- suppression list ---------------------------------------------------------------------------

Result<void> SqliteStore::add_suppression(const Suppression& suppression) {
    if (suppression.address.empty()) {
        return fail(Errc::invalid_argument, "address is empty", "address");
    }
    const std::int64_t now_ms = impl_->clock.now_ms();
    return impl_->write([&](Connection& conn) -> Result<void> {
        auto stmt = conn.prepare(
            "INSERT INTO suppressions (address, reason, delivery_id, created_ms) "
            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, "
            "delivery_id = excluded.delivery_id, created_ms = excluded.created_ms");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(lower_ascii(suppression.address), suppression.reason,
                             suppression.delivery_id,
                             suppression.created_ms != 0 ? suppression.created_ms : now_ms));
        return stmt->run();
    });
}

namespace {

Result<std::vector<Suppression>> read_suppressions(Statement& stmt) {
    std::vector<Suppression> out;
    for (;;) {
        auto row = stmt.step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) return out;
        out.push_back(Suppression{stmt.text(0), stmt.text(1), stmt.int64(2), stmt.int64(3)});
    }
}

}  // namespace

Result<std::optional<Suppression>> SqliteStore::find_suppression(const std::string& address) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT address, reason, delivery_id, created_ms FROM suppressions WHERE address = ?1");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(lower_ascii(address)));
    auto found = read_suppressions(*stmt);
    if (!found) return fail(std::move(found.error()));
    if (found->empty()) return std::optional<Suppression>();
    return std::optional<Suppression>(std::move(found->front()));
}

Result<void> SqliteStore::remove_suppression(const std::string& address) {
    return impl_->write([&](Connection& conn) -> Result<void> {
        auto stmt = conn.prepare("DELETE FROM suppressions WHERE address = ?1");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(lower_ascii(address)));
        STORE_TRY(stmt->run());
        if (sqlite3_changes64(conn.db()) == 0) {
            return fail(Errc::not_found, fmt::format("{} is not on the suppression list", address),
                        "address");
        }
        return {};
    });
}

Result<std::vector<Suppression>> SqliteStore::list_suppressions(const std::string& after,
                                                                int limit) {
    if (limit < 1 || limit > kMaxListLimit) {
        return fail(Errc::invalid_argument,
                    fmt::format("limit must be between 1 and {}", kMaxListLimit), "limit");
    }
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT address, reason, delivery_id, created_ms FROM suppressions WHERE address > ?1 "
        "ORDER BY address LIMIT ?2");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(lower_ascii(after), limit));
    return read_suppressions(*stmt);
}

Result<std::optional<std::int64_t>> SqliteStore::next_delivery_due_ms() {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT MIN(next_attempt_ms) FROM deliveries INDEXED BY deliveries_due_in_order "
        "WHERE state IN ('PENDING', 'RETRY')");
    if (!stmt) return fail(std::move(stmt.error()));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    if (!*row || stmt->is_null(0)) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(stmt->int64(0));
}

// ---- dead letters -------------------------------------------------------------------------------

namespace {

DeadLetter read_dead_letter(const Statement& stmt) {
    DeadLetter d;
    d.id = stmt.int64(0);
    d.destination = stmt.text(1);
    d.function = stmt.text(2);
    d.table = stmt.text(3);
    d.shard = static_cast<int>(stmt.int64(4));
    d.condition = stmt.text(5);
    d.invocation_record = stmt.text(6);
    d.records = stmt.text(7);
    d.first_sequence = static_cast<std::uint64_t>(stmt.int64(8));
    d.last_sequence = static_cast<std::uint64_t>(stmt.int64(9));
    d.record_count = static_cast<int>(stmt.int64(10));
    d.created_ms = stmt.int64(11);
    d.redriven_ms = stmt.int64(12);
    return d;
}

}  // namespace

Result<std::int64_t> SqliteStore::add_dead_letter(const DeadLetter& d) {
    if (d.function.empty()) return fail(Errc::invalid_argument, "function is empty", "function");
    return impl_->write([&](Connection& conn) -> Result<std::int64_t> {
        auto stmt = conn.prepare(
            "INSERT INTO dead_letters (destination, function, table_name, shard, condition, "
            "invocation_record, records, first_sequence, last_sequence, record_count, created_ms, "
            "redriven_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(d.destination, d.function, d.table, d.shard, d.condition,
                             d.invocation_record, d.records, clamp_to_int64(d.first_sequence),
                             clamp_to_int64(d.last_sequence), d.record_count,
                             d.created_ms != 0 ? d.created_ms : impl_->clock.now_ms()));
        STORE_TRY(stmt->run());
        return static_cast<std::int64_t>(sqlite3_last_insert_rowid(conn.db()));
    });
}

Result<std::vector<DeadLetter>> SqliteStore::list_dead_letters(const std::string& function,
                                                               std::int64_t before_id,
                                                               int limit) {
    if (limit < 1 || limit > kMaxListLimit) {
        return fail(Errc::invalid_argument, "limit must be between 1 and 1000", "limit");
    }
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(fmt::format(
        "SELECT {} FROM dead_letters WHERE function = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        kDeadLetterColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(function,
                         before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max(),
                         limit));
    std::vector<DeadLetter> out;
    while (true) {
        auto row = stmt->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) break;
        out.push_back(read_dead_letter(*stmt));
    }
    return out;
}

Result<std::optional<DeadLetter>> SqliteStore::get_dead_letter(std::int64_t id) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        fmt::format("SELECT {} FROM dead_letters WHERE id = ?1", kDeadLetterColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(id));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<DeadLetter>();
    return std::optional<DeadLetter>(read_dead_letter(*stmt));
}

Result<void> SqliteStore::mark_dead_letter_redriven(std::int64_t id, std::int64_t now_ms) {
    return impl_->write([&](Connection& conn) -> Result<void> {
        auto stmt = conn.prepare("UPDATE dead_letters SET redriven_ms = ?2 WHERE id = ?1");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(id, now_ms));
        STORE_TRY(stmt->run());
        if (sqlite3_changes64(conn.db()) != 1) {
            return fail(Errc::not_found, fmt::format("no dead letter {}", id), "id");
        }
        return {};
    });
}

Result<std::uint64_t> SqliteStore::count_pending_dead_letters(const std::string& function) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT COUNT(*) FROM dead_letters WHERE function = ?1 AND redriven_ms = 0");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(function));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    return static_cast<std::uint64_t>(*row ? stmt->int64(0) : 0);
}

// ---- uploaded assignments and downloads --------------------------------------------------------

Result<bool> SqliteStore::put_assignment(const AssignmentRecord& a) {
    if (a.name.empty()) return fail(Errc::invalid_argument, "name is empty", "name");
    const std::int64_t now_ms = impl_->clock.now_ms();
    return impl_->write([&](Connection& conn) -> Result<bool> {
        auto existed = conn.prepare("SELECT 1 FROM assignments WHERE name = ?1");
        if (!existed) return fail(std::move(existed.error()));
        STORE_TRY(existed->bind(a.name));
        auto row = existed->step();
        if (!row) return fail(std::move(row.error()));
        const bool created = !*row;
        auto stmt = conn.prepare(
            "INSERT INTO assignments (name, title, delivery, bytes, size, sha256, created_ms, "
            "updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT (name) DO UPDATE SET "
            "title = excluded.title, delivery = excluded.delivery, bytes = excluded.bytes, "
            "size = excluded.size, sha256 = excluded.sha256, updated_ms = excluded.updated_ms");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(a.name, a.title, delivery_mode_text(a.delivery), Blob{a.bytes},
                             static_cast<std::int64_t>(a.bytes.size()), sha256_hex(a.bytes),
                             now_ms));
        STORE_TRY(stmt->run());
        return created;
    });
}

namespace {

constexpr const char* kAssignmentColumns =
    "name, title, delivery, size, sha256, created_ms, updated_ms";

AssignmentRecord read_assignment(const Statement& stmt) {
    AssignmentRecord a;
    a.name = stmt.text(0);
    a.title = stmt.text(1);
    a.delivery = parse_delivery_mode(stmt.text(2)).value_or(DeliveryMode::both);
    a.size = stmt.int64(3);
    a.sha256 = stmt.text(4);
    a.created_ms = stmt.int64(5);
    a.updated_ms = stmt.int64(6);
    return a;
}

}  // namespace

Result<std::optional<AssignmentRecord>> SqliteStore::get_assignment(const std::string& name) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        fmt::format("SELECT {}, bytes FROM assignments WHERE name = ?1", kAssignmentColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(name));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<AssignmentRecord>();
    auto a = read_assignment(*stmt);
    a.bytes = stmt->blob(7);
    return std::optional<AssignmentRecord>(std::move(a));
}

Result<std::vector<AssignmentRecord>> SqliteStore::list_assignments() {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        fmt::format("SELECT {} FROM assignments ORDER BY name", kAssignmentColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    std::vector<AssignmentRecord> out;
    while (true) {
        auto row = stmt->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) break;
        out.push_back(read_assignment(*stmt));
    }
    return out;
}

Result<void> SqliteStore::delete_assignment(const std::string& name) {
    return impl_->write([&](Connection& conn) -> Result<void> {
        auto stmt = conn.prepare("DELETE FROM assignments WHERE name = ?1");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(name));
        STORE_TRY(stmt->run());
        if (sqlite3_changes64(conn.db()) != 1) {
            return fail(Errc::not_found, fmt::format("no assignment {}", name), "name");
        }
        return {};
    });
}

Result<std::int64_t> SqliteStore::add_download(const Download& d) {
    if (d.candidate_id.empty()) {
        return fail(Errc::invalid_argument, "candidate_id is empty", "candidate_id");
    }
    return impl_->write([&](Connection& conn) -> Result<std::int64_t> {
        auto stmt = conn.prepare(
            "INSERT INTO downloads (candidate_id, assignment, at_ms, client) "
            "VALUES (?1, ?2, ?3, ?4)");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(d.candidate_id, d.assignment,
                             d.at_ms != 0 ? d.at_ms : impl_->clock.now_ms(), d.client));
        STORE_TRY(stmt->run());
        return static_cast<std::int64_t>(sqlite3_last_insert_rowid(conn.db()));
    });
}

Result<std::vector<Download>> SqliteStore::downloads_for(const std::string& candidate_id,
                                                         int limit) {
    if (limit < 1 || limit > kMaxListLimit) {
        return fail(Errc::invalid_argument, "limit must be between 1 and 1000", "limit");
    }
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        "SELECT id, candidate_id, assignment, at_ms, client FROM downloads "
        "WHERE candidate_id = ?1 ORDER BY id LIMIT ?2");
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(candidate_id, limit));
    std::vector<Download> out;
    while (true) {
        auto row = stmt->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) break;
        out.push_back(Download{stmt->int64(0), stmt->text(1), stmt->text(2), stmt->int64(3),
                               stmt->text(4)});
    }
    return out;
}

// ---- API keys --------------------------------------------------------------------------------

namespace {

constexpr const char* kApiKeyColumns =
    "id, name, role, hash, created_ms, last_used_ms, revoked_ms";

ApiKey read_api_key(const Statement& stmt) {
    ApiKey k;
    k.id = stmt.text(0);
    k.name = stmt.text(1);
    k.role = parse_role(stmt.text(2)).value_or(Role::recruiter);
    k.hash = stmt.text(3);
    k.created_ms = stmt.int64(4);
    k.last_used_ms = stmt.int64(5);
    k.revoked_ms = stmt.int64(6);
    return k;
}

Result<void> insert_api_key(Connection& conn, const ApiKey& key, std::int64_t now_ms) {
    auto stmt = conn.prepare(fmt::format(
        "INSERT INTO api_keys ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", kApiKeyColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(key.id, key.name, std::string(role_text(key.role)), key.hash,
                         key.created_ms != 0 ? key.created_ms : now_ms, key.last_used_ms,
                         key.revoked_ms));
    auto ran = stmt->run();
    if (!ran && ran.error().code == Errc::conflict) {
        return fail(Errc::conflict, fmt::format("an API key with id {} or that secret exists",
                                                key.id),
                    "id");
    }
    return ran;
}

Result<void> check_api_key(const ApiKey& key) {
    if (key.id.empty()) return fail(Errc::invalid_argument, "id is empty", "id");
    if (key.hash.empty()) return fail(Errc::invalid_argument, "hash is empty", "hash");
    return {};
}

}  // namespace

Result<void> SqliteStore::add_api_key(const ApiKey& key) {
    STORE_TRY(check_api_key(key));
    const std::int64_t now_ms = impl_->clock.now_ms();
    return impl_->write(
        [&](Connection& conn) -> Result<void> { return insert_api_key(conn, key, now_ms); });
}

Result<bool> SqliteStore::add_first_api_key(const ApiKey& key) {
    STORE_TRY(check_api_key(key));
    const std::int64_t now_ms = impl_->clock.now_ms();
    return impl_->write([&](Connection& conn) -> Result<bool> {
        {
            auto any = conn.prepare("SELECT 1 FROM api_keys LIMIT 1");
            if (!any) return fail(std::move(any.error()));
            auto row = any->step();
            if (!row) return fail(std::move(row.error()));
            if (*row) return false;
        }
        STORE_TRY(insert_api_key(conn, key, now_ms));
        return true;
    });
}

Result<std::optional<ApiKey>> SqliteStore::find_api_key_by_hash(const std::string& hash) {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    // Every API request looks its key up: the query text is made once.
    static const std::string sql = fmt::format("SELECT {} FROM api_keys WHERE hash = ?1",
                                               kApiKeyColumns);
    auto stmt = (*reader)->prepare(sql);
    if (!stmt) return fail(std::move(stmt.error()));
    STORE_TRY(stmt->bind(hash));
    auto row = stmt->step();
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<ApiKey>();
    return std::optional<ApiKey>(read_api_key(*stmt));
}

Result<std::vector<ApiKey>> SqliteStore::list_api_keys() {
    auto reader = impl_->readers.acquire();
    if (!reader) return fail(std::move(reader.error()));
    auto stmt = (*reader)->prepare(
        fmt::format("SELECT {} FROM api_keys ORDER BY created_ms, id", kApiKeyColumns));
    if (!stmt) return fail(std::move(stmt.error()));
    std::vector<ApiKey> out;
    while (true) {
        auto row = stmt->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) break;
        out.push_back(read_api_key(*stmt));
    }
    return out;
}

Result<ApiKey> SqliteStore::revoke_api_key(const std::string& id, std::int64_t now_ms) {
    return impl_->write([&](Connection& conn) -> Result<ApiKey> {
        {
            auto stmt = conn.prepare(
                "UPDATE api_keys SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms = 0");
            if (!stmt) return fail(std::move(stmt.error()));
            STORE_TRY(stmt->bind(id, now_ms));
            STORE_TRY(stmt->run());
        }
        auto stmt = conn.prepare(
            fmt::format("SELECT {} FROM api_keys WHERE id = ?1", kApiKeyColumns));
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(id));
        auto row = stmt->step();
        if (!row) return fail(std::move(row.error()));
        if (!*row) return fail(Errc::not_found, fmt::format("no API key {}", id), "id");
        return read_api_key(*stmt);
    });
}

Result<void> SqliteStore::touch_api_key(const std::string& id, std::int64_t now_ms) {
    return impl_->write([&](Connection& conn) -> Result<void> {
        auto stmt = conn.prepare("UPDATE api_keys SET last_used_ms = ?2 WHERE id = ?1");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(id, now_ms));
        STORE_TRY(stmt->run());
        if (sqlite3_changes64(conn.db()) != 1) {
            return fail(Errc::not_found, fmt::format("no API key {}", id), "id");
        }
        return {};
    });
}

// ---- idempotency keys ------------------------------------------------------------------------

namespace {

std::string headers_text(const std::vector<std::pair<std::string, std::string>>& headers) {
    json::array out;
    for (const auto& [name, value] : headers) out.push_back(json::array{name, value});
    return json::serialize(out);
}

std::vector<std::pair<std::string, std::string>> parse_headers(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_array()) return out;
    for (const auto& h : v.as_array()) {
        if (!h.is_array() || h.as_array().size() != 2 || !h.as_array()[0].is_string() ||
            !h.as_array()[1].is_string()) {
            continue;
        }
        out.emplace_back(std::string(h.as_array()[0].as_string()),
                         std::string(h.as_array()[1].as_string()));
    }
    return out;
}

}  // namespace

Result<std::optional<IdempotentResponse>> SqliteStore::claim_idempotency_key(
    const IdempotentResponse& claim, std::int64_t expire_before_ms, std::int64_t stale_before_ms) {
    if (claim.key.empty()) return fail(Errc::invalid_argument, "key is empty", "key");
    return impl_->write([&](Connection& conn) -> Result<std::optional<IdempotentResponse>> {
        // Lazy trimming: the index on created_ms keeps this a short range delete.
        {
            auto trim = conn.prepare("DELETE FROM idempotency_keys WHERE created_ms < ?1");
            if (!trim) return fail(std::move(trim.error()));
            STORE_TRY(trim->bind(expire_before_ms));
            STORE_TRY(trim->run());
        }
        {
            auto found = conn.prepare(
                "SELECT request_hash, status, content_type, body, headers, created_ms "
                "FROM idempotency_keys WHERE scope = ?1 AND key = ?2");
            if (!found) return fail(std::move(found.error()));
            STORE_TRY(found->bind(claim.scope, claim.key));
            auto row = found->step();
            if (!row) return fail(std::move(row.error()));
            if (*row) {
                IdempotentResponse existing;
                existing.scope = claim.scope;
                existing.key = claim.key;
                existing.request_hash = found->text(0);
                existing.status = static_cast<int>(found->int64(1));
                existing.content_type = found->text(2);
                existing.body = found->blob(3);
                existing.headers = parse_headers(found->text(4));
                existing.created_ms = found->int64(5);
                if (existing.status != 0 || existing.created_ms >= stale_before_ms) {
                    return std::optional<IdempotentResponse>(std::move(existing));
                }
            }
        }
        auto stmt = conn.prepare(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, content_type, body, "
            "headers, created_ms) VALUES (?1, ?2, ?3, 0, '', ?4, '[]', ?5) "
            "ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, "
            "status = 0, content_type = '', body = excluded.body, headers = '[]', "
            "created_ms = excluded.created_ms");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(claim.scope, claim.key, claim.request_hash, Blob{std::string_view()},
                             claim.created_ms != 0 ? claim.created_ms : impl_->clock.now_ms()));
        STORE_TRY(stmt->run());
        return std::optional<IdempotentResponse>();
    });
}

Result<void> SqliteStore::complete_idempotency_key(const IdempotentResponse& r) {
    if (r.status <= 0) return fail(Errc::invalid_argument, "status must be set", "status");
    return impl_->write([&](Connection& conn) -> Result<void> {
        auto stmt = conn.prepare(
            "UPDATE idempotency_keys SET status = ?3, content_type = ?4, body = ?5, headers = ?6 "
            "WHERE scope = ?1 AND key = ?2");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(r.scope, r.key, r.status, r.content_type, Blob{r.body},
                             headers_text(r.headers)));
        STORE_TRY(stmt->run());
        if (sqlite3_changes64(conn.db()) != 1) {
            return fail(Errc::not_found, "no such idempotency key", "key");
        }
        return {};
    });
}

Result<void> SqliteStore::release_idempotency_key(const std::string& scope,
                                                  const std::string& key) {
    return impl_->write([&](Connection& conn) -> Result<void> {
        auto stmt =
            conn.prepare("DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND status = 0");
        if (!stmt) return fail(std::move(stmt.error()));
        STORE_TRY(stmt->bind(scope, key));
        return stmt->run();
    });
}

ChangeSignal& SqliteStore::stream_signal() { return impl_->stream_signal; }
ChangeSignal& SqliteStore::delivery_signal() { return impl_->delivery_signal; }

std::optional<Error> SqliteStore::write_problem() {
    std::lock_guard lock(impl_->problem_mutex);
    return impl_->write_problem;
}

Result<void> SqliteStore::checkpoint() {
    if (write_problem()) {
        // Setting the schema version it already has dirties page 1: a real commit and fsync.
        static const std::string probe = fmt::format("PRAGMA user_version = {}", kSchemaVersion);
        STORE_TRY(impl_->write([](Connection& conn) { return conn.exec(probe); }));
    }
    // PASSIVE copies what it can without waiting on readers. On its own connection it runs
    // beside the writer, so commits go on while a large WAL is copied (on the writer's, every
    // POST waited for the copy: seconds after a bulk load). But the WAL starts over from its
    // beginning only when a commit finds every frame copied, which commits arriving during the
    // copy prevent. So the copy is repeated until a round had little to do (little can have
    // arrived during it) and left little uncopied (a reader's snapshot pins what it reads), and
    // only then is the last tail copied with the writer held: short by construction. Otherwise
    // commits are not held, and the next pass (a second later) tries again, unless the WAL has
    // grown past kLongWal: under sustained writes the rounds may never get short, and the WAL
    // would grow without bound (1.4 GB in 20 s of ingest was seen), each frame then appended to
    // blocks the file system must allocate and zero. Then the tail is copied with the writer
    // held anyway: what arrived during the last round, a longer hold but a bounded file.
    constexpr int kShortTail = 256;  // frames (1 MiB of 4 KiB pages)
    constexpr int kLongWal = 16384;  // frames (64 MiB)
    constexpr int kMaxRounds = 8;
    std::lock_guard lock(impl_->checkpointer_mutex);
    struct Copied {
        int log = -1;     // frames in the WAL when the round began
        int copied = -1;  // of them, in the database file after it
    };
    auto passive = [](Connection& conn) -> Result<Copied> {
        Copied c;
        const int rc = sqlite3_wal_checkpoint_v2(conn.db(), "main", SQLITE_CHECKPOINT_PASSIVE,
                                                 &c.log, &c.copied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
            return fail(sqlite_error(conn.db(), rc, "PRAGMA wal_checkpoint(PASSIVE)"));
        }
        return c;  // after BUSY both are -1: none known
    };
    const auto started = std::chrono::steady_clock::now();
    bool short_tail = false;
    int copied_before = 0;
    int log = 0;
    for (int round = 0; round < kMaxRounds && !short_tail; ++round) {
        auto c = passive(*impl_->checkpointer);
        if (!c) return fail(std::move(c.error()));
        if (c->log < 0) return {};  // another checkpoint holds the lock: the next pass
        // This round's work: the frames beyond the last round's copy (all, if it started over).
        const int work = c->log >= copied_before ? c->log - copied_before : c->log;
        copied_before = c->copied;
        log = c->log;
        short_tail = work <= kShortTail && c->log - c->copied <= kShortTail;
    }
    if (short_tail || log >= kLongWal) {
        std::lock_guard writing(impl_->writer_mutex);
        const auto held = std::chrono::steady_clock::now();
        auto tail = passive(*impl_->writer);
        if (!tail) return fail(std::move(tail.error()));
        if (impl_->checkpoint_held_seconds) {
            impl_->checkpoint_held_seconds->observe(seconds_since(held));
        }
    }
    if (impl_->checkpoint_seconds) impl_->checkpoint_seconds->observe(seconds_since(started));
    return {};
}

}  // namespace hirestream::store

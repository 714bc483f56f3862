#pragma once
// SqliteStore: the embedded Store backend, one SQLite database file in WAL mode.
//
// Durability: synchronous=FULL, so an acknowledged write survives a power cut. One writer
// connection (writes are serialized by SQLite anyway) and a bounded pool of reader
// connections, so reads never wait for a commit's fsync. Automatic WAL checkpoints are off;
// checkpoint() runs a PASSIVE checkpoint on a connection of its own and is called by a
// background loop.
// Thread-safety: all methods are safe to call concurrently.

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "store/store.h"

namespace hirestream::store {

struct SqliteOptions {
    std::string path;           // database file; its folder must exist
    int reader_connections = 4;
    int busy_timeout_ms = 5000;
    std::string vfs{};  // SQLite VFS name; empty: the platform's default (tests inject faults)
    // Optional: group commits (writes per commit, time per commit) and checkpoints. Must
    // outlive the store.
    MetricsRegistry* metrics = nullptr;
};

class SqliteStore final : public Store {
public:
    // Opens (creating if needed) the database and its schema. Fails with unavailable when the
    // file cannot be opened or written, naming the path.
    static Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options,
                                                     const Clock& clock);
    ~SqliteStore() override;

    Result<TableInfo> ensure_table(const TableSpec& spec) override;
    Result<TableInfo> describe_table(const std::string& table) override;
    Result<WriteResult> put_item(const std::string& table, const Item& item,
                                 PutMode mode) override;
    void put_item_async(const std::string& table, Item item, PutMode mode,
                        std::function<void(Result<WriteResult>)> complete) override;
    void close_writes() override;
    Result<std::vector<Result<WriteResult>>> put_items(const std::string& table,
                                                       const std::vector<Item>& items,
                                                       PutMode mode) override;
    Result<WriteResult> update_item(const std::string& table, const std::string& key,
                                    const ItemUpdate& update) override;
    Result<WriteResult> delete_item(const std::string& table, const std::string& key) override;
    Result<std::optional<Item>> get_item(const std::string& table,
                                         const std::string& key) override;
    Result<ItemPage> list_items(const std::string& table,
                                const std::optional<std::string>& cursor, int limit) override;
    Result<ItemPage> find_items(const std::string& table, const ItemFilter& filter,
                                const std::optional<std::string>& cursor, int limit) override;
    Result<std::vector<ChangeRecord>> read_shard(const std::string& table, int shard,
                                                 std::uint64_t after_sequence,
                                                 int limit) override;
    Result<std::uint64_t> latest_sequence(const std::string& table, int shard) override;
    Result<std::uint64_t> count_records_after(const std::string& table, int shard,
                                              std::uint64_t after_sequence,
                                              std::uint64_t limit) override;
    Result<std::uint64_t> trim_stream(const std::string& table, std::int64_t before_ms,
                                      const std::vector<std::uint64_t>& trim_up_to) override;
    Result<std::vector<ChangeRecord>> read_stream(const std::string& table,
                                                  std::uint64_t after_sequence,
                                                  int limit) override;
    Result<std::optional<std::uint64_t>> load_checkpoint(const std::string& consumer, const std::string& table,
                                          int shard) override;
    Result<void> save_checkpoint(const std::string& consumer, const std::string& table, int shard,
                                 std::uint64_t sequence) override;
    void save_checkpoint_async(const std::string& consumer, const std::string& table, int shard,
                               std::uint64_t sequence,
                               std::function<void(Result<void>)> complete) override;
    Result<bool> add_delivery(const Delivery& delivery) override;
    Result<std::vector<std::optional<Delivery>>> add_deliveries(
        const std::vector<Delivery>& deliveries) override;
    Result<std::optional<Delivery>> get_delivery(const std::string& candidate_id,
                                                 const std::string& kind) override;
    Result<std::optional<Delivery>> get_delivery_by_id(std::int64_t id) override;
    Result<std::vector<Delivery>> deliveries_for(
        const std::vector<std::string>& candidate_ids) override;
    Result<std::vector<Delivery>> list_deliveries(const DeliveryQuery& query) override;
    Result<std::vector<Delivery>> claim_due_deliveries(std::int64_t now_ms, int limit) override;
    Result<void> finish_delivery(const std::string& candidate_id, const std::string& kind,
                                 const AttemptOutcome& outcome, std::int64_t now_ms) override;
    void finish_delivery_async(const std::string& candidate_id, const std::string& kind,
                               const AttemptOutcome& outcome, std::int64_t now_ms,
                               std::function<void(Result<void>)> complete) override;
    Result<int> requeue_interrupted_deliveries(std::int64_t now_ms) override;
    Result<int> unclaim_deliveries(const std::vector<std::int64_t>& ids,
                                   std::int64_t now_ms) override;
    Result<std::optional<std::int64_t>> next_delivery_due_ms() override;
    Result<Delivery> retry_delivery(std::int64_t id, std::int64_t now_ms) override;
    Result<std::vector<DeliveryAttempt>> delivery_attempts(std::int64_t delivery_id,
                                                           int limit) override;
    Result<std::vector<std::pair<std::int64_t, std::int64_t>>> sent_per_minute_since(
        std::int64_t since_ms) override;
    Result<void> add_suppression(const Suppression& suppression) override;
    Result<std::optional<Suppression>> find_suppression(const std::string& address) override;
    Result<void> remove_suppression(const std::string& address) override;
    Result<std::vector<Suppression>> list_suppressions(const std::string& after,
                                                       int limit) override;
    Result<std::int64_t> add_dead_letter(const DeadLetter& letter) override;
    Result<std::vector<DeadLetter>> list_dead_letters(const std::string& function,
                                                      std::int64_t before_id, int limit) override;
    Result<std::optional<DeadLetter>> get_dead_letter(std::int64_t id) override;
    Result<void> mark_dead_letter_redriven(std::int64_t id, std::int64_t now_ms) override;
    Result<std::uint64_t> count_pending_dead_letters(const std::string& function) override;
    Result<bool> put_assignment(const AssignmentRecord& assignment) override;
    Result<std::optional<AssignmentRecord>> get_assignment(const std::string& name) override;
    Result<std::vector<AssignmentRecord>> list_assignments() override;
    Result<void> delete_assignment(const std::string& name) override;
    Result<std::int64_t> add_download(const Download& download) override;
    Result<std::vector<Download>> downloads_for(const std::string& candidate_id,
                                                int limit) override;
    Result<void> add_api_key(const ApiKey& key) override;
    Result<bool> add_first_api_key(const ApiKey& key) override;
    Result<std::optional<ApiKey>> find_api_key_by_hash(const std::string& hash) override;
    Result<std::vector<ApiKey>> list_api_keys() override;
    Result<ApiKey> revoke_api_key(const std::string& id, std::int64_t now_ms) override;
    Result<void> touch_api_key(const std::string& id, std::int64_t now_ms) override;
    Result<std::optional<IdempotentResponse>> claim_idempotency_key(
        const IdempotentResponse& claim, std::int64_t expire_before_ms,
        std::int64_t stale_before_ms) override;
    Result<void> complete_idempotency_key(const IdempotentResponse& response) override;
    Result<void> release_idempotency_key(const std::string& scope,
                                         const std::string& key) override;
    ChangeSignal& stream_signal() override;
    ChangeSignal& delivery_signal() override;
    std::optional<Error> write_problem() override;

    // Runs a PASSIVE WAL checkpoint beside the writer; commits wait only while the last
    // megabyte or so is copied, so the WAL can start over. While write_problem() is set, first
    // commits one small write (the schema version again), so the problem clears by itself once
    // the disk takes writes again, even when nothing else writes. Fails with unavailable.
    Result<void> checkpoint();

private:
    struct Impl;
    explicit SqliteStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace hirestream::store

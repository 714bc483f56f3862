#pragma once
// Store: the table store and its change stream, behind one interface so that the backend
// (SQLite now, PostgreSQL next) can be swapped.
//
// Contract every backend keeps:
// - Each item write (put, update, delete) appends exactly one ChangeRecord in the same
//   transaction as the item, so the stream can neither miss nor invent a change. Unique
//   attributes are checked inside that transaction too.
// - Sequence numbers are strictly increasing in commit order.
// - After a write commits, stream_signal() is notified; after a delivery is added or made due,
//   delivery_signal() is notified.
// Ownership: the caller owns the Store; it must outlive every component that uses it.
// Thread-safety: every method may be called from any thread concurrently.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "common/change_signal.h"
#include "common/result.h"
#include "store/api_key.h"
#include "store/assignment_record.h"
#include "store/change_record.h"
#include "store/dead_letter.h"
#include "store/delivery.h"
#include "store/item.h"
#include "store/table_spec.h"

namespace hirestream::store {

enum class PutMode {
    create_only,  // conflict when an item with the key exists (attribute_not_exists(id))
    upsert,       // replace: INSERT when new, MODIFY when it existed
};

struct WriteResult {
    std::optional<Item> old_item;  // absent for an INSERT
    std::optional<Item> new_item;  // absent for a REMOVE
    std::uint64_t sequence = 0;    // of the change record appended
};

// Changes to apply to one item: attributes to set (already validated attribute values) and
// attributes to remove. The key attribute cannot be changed.
struct ItemUpdate {
    boost::json::object set;
    std::vector<std::string> remove;
};

struct ItemPage {
    std::vector<Item> items;        // newest first
    std::optional<std::string> next_cursor;  // opaque; absent on the last page
};

// Which items find_items returns: those meeting every condition that is set.
struct ItemFilter {
    // Matches items where any of `text_attributes` (S attributes) contains `text`, compared
    // case-insensitively (ASCII letters). Empty text: no text condition.
    std::string text;
    std::vector<std::string> text_attributes;
    // Matches items that have a delivery of `delivery_kind` (keyed by the item's key) with this
    // assignment and/or this state; an item without such a delivery matches neither.
    std::optional<std::string> assignment;
    std::optional<DeliveryState> delivery_state;
    std::string delivery_kind = "assignment";
};

struct TableInfo {
    TableSpec spec;
    std::string stream_label;  // ISO 8601 time the stream was enabled, e.g. 2026-11-25T10:00:00.000
    std::int64_t created_ms = 0;
};

class Store {
public:
    virtual ~Store() = default;

    // ---- tables ----
    // Creates the table and its stream if missing; an existing table keeps its stream label and
    // view type (fixed once enabled, as in DynamoDB). Fails with invalid_argument when the spec
    // differs from the stored one in view type, key or shard count.
    virtual Result<TableInfo> ensure_table(const TableSpec& spec) = 0;
    virtual Result<TableInfo> describe_table(const std::string& table) = 0;

    // ---- items ----
    // Fails with: invalid_argument (missing/non-S key), conflict (key exists under create_only,
    // or a unique attribute's value is taken: Error::field names the attribute), not_found (no
    // such table), unavailable (disk full, read-only database).
    virtual Result<WriteResult> put_item(const std::string& table, const Item& item,
                                         PutMode mode) = 0;
    // put_item without waiting: `complete` gets the same result once its commit is durable (or
    // failed), on a thread of the store's, so it must be quick: hand the result over (e.g. post
    // it to an I/O thread). Lets a server keep many writes in flight on few threads, all
    // sharing commits.
    virtual void put_item_async(const std::string& table, Item item, PutMode mode,
                                std::function<void(Result<WriteResult>)> complete) = 0;
    // Ends writing for a clean stop: the writes already queued commit and their completions
    // run (before the threads those completions hand over to go away), later ones fail with
    // unavailable. Reads go on. Call it once nothing else is writing.
    virtual void close_writes() = 0;
    // Many puts in one transaction (a bulk import): each item succeeds or fails on its own, as
    // put_item would, and the results come back in order. The outer error (unavailable) means
    // the transaction was lost and none of them was stored. At most 1000 items.
    virtual Result<std::vector<Result<WriteResult>>> put_items(const std::string& table,
                                                               const std::vector<Item>& items,
                                                               PutMode mode) = 0;
    // Fails with not_found when the item does not exist; conflict on a unique attribute.
    virtual Result<WriteResult> update_item(const std::string& table, const std::string& key,
                                            const ItemUpdate& update) = 0;
    // Fails with not_found when the item does not exist.
    virtual Result<WriteResult> delete_item(const std::string& table, const std::string& key) = 0;
    virtual Result<std::optional<Item>> get_item(const std::string& table,
                                                 const std::string& key) = 0;
    // Newest first. `limit` 1..1000. A cursor from a previous page continues it; a malformed
    // cursor fails with invalid_argument (field "cursor").
    virtual Result<ItemPage> list_items(const std::string& table,
                                        const std::optional<std::string>& cursor, int limit) = 0;
    // list_items restricted to the items matching `filter`, newest first, paged the same way
    // (a cursor is only meaningful with the same filter). The work is bounded by the items
    // scanned to fill a page: a text condition reads each candidate row once, a delivery
    // condition looks the delivery up by its key (or walks the deliveries of that state).
    // Fails as list_items does.
    virtual Result<ItemPage> find_items(const std::string& table, const ItemFilter& filter,
                                        const std::optional<std::string>& cursor, int limit) = 0;

    // ---- stream ----
    // Records of one shard with sequence > after_sequence, oldest first, at most `limit`.
    virtual Result<std::vector<ChangeRecord>> read_shard(const std::string& table, int shard,
                                                         std::uint64_t after_sequence,
                                                         int limit) = 0;
    // Highest sequence in the shard, or 0 when it has none (used for LATEST).
    virtual Result<std::uint64_t> latest_sequence(const std::string& table, int shard) = 0;
    // How many records of the shard have a sequence above `after_sequence` (a consumer's lag),
    // counting at most `limit` of them: the count walks the index, so a lag of millions is
    // reported as `limit` instead of taking seconds.
    virtual Result<std::uint64_t> count_records_after(const std::string& table, int shard,
                                                      std::uint64_t after_sequence,
                                                      std::uint64_t limit) = 0;
    // Deletes records created before `before_ms`; when `trim_up_to` is not empty, in shard i
    // only records with sequence <= trim_up_to[i] (what every consumer has handled), so retention
    // never removes a record a consumer still needs. Deletes in small transactions so writers
    // never wait long. Returns how many were deleted.
    virtual Result<std::uint64_t> trim_stream(const std::string& table, std::int64_t before_ms,
                                              const std::vector<std::uint64_t>& trim_up_to) = 0;
    // All shards' records with sequence > after_sequence, in sequence order, at most `limit`,
    // read in one snapshot (so a reader paging by sequence never skips a record).
    virtual Result<std::vector<ChangeRecord>> read_stream(const std::string& table,
                                                          std::uint64_t after_sequence,
                                                          int limit) = 0;

    // ---- checkpoints of stream consumers ----
    // The last sequence a consumer finished in a shard, or nullopt when it has no checkpoint
    // there yet (0 is a valid checkpoint: "before every record").
    virtual Result<std::optional<std::uint64_t>> load_checkpoint(const std::string& consumer,
                                                  const std::string& table, int shard) = 0;
    virtual Result<void> save_checkpoint(const std::string& consumer, const std::string& table,
                                         int shard, std::uint64_t sequence) = 0;
    // save_checkpoint without waiting: `complete` gets its result on the committer thread once
    // it committed (so it must be quick), in the commit of writes queued with it.
    virtual void save_checkpoint_async(const std::string& consumer, const std::string& table,
                                       int shard, std::uint64_t sequence,
                                       std::function<void(Result<void>)> complete) = 0;

    // ---- deliveries ----
    // Adds the delivery unless one exists for (candidate_id, kind). Returns true when added.
    virtual Result<bool> add_delivery(const Delivery& delivery) = 0;
    // add_delivery for many, in one transaction (one commit for a function's whole batch).
    // Per delivery, in order: the row as stored (with its id) when added, nullopt when one
    // existed. A delivery may be added already SENDING (attempts 1): claimed by its adder, who
    // hands it to a sender at once (DeliveryHandoff) instead of a sender claiming it later.
    // Unlike add_delivery it does not notify delivery_signal(): the caller does, after handing
    // over what it claimed, or the senders it reserved would wake and claim PENDING ones first.
    virtual Result<std::vector<std::optional<Delivery>>> add_deliveries(
        const std::vector<Delivery>& deliveries) = 0;
    virtual Result<std::optional<Delivery>> get_delivery(const std::string& candidate_id,
                                                         const std::string& kind) = 0;
    virtual Result<std::optional<Delivery>> get_delivery_by_id(std::int64_t id) = 0;
    // Deliveries of the given candidates (any kind).
    virtual Result<std::vector<Delivery>> deliveries_for(
        const std::vector<std::string>& candidate_ids) = 0;
    // Newest first. Fails with invalid_argument (field "limit") outside 1..1000.
    virtual Result<std::vector<Delivery>> list_deliveries(const DeliveryQuery& query) = 0;
    // Atomically moves up to `limit` PENDING or RETRY deliveries due at `now_ms` to SENDING,
    // counting an attempt, and returns them (oldest due first).
    virtual Result<std::vector<Delivery>> claim_due_deliveries(std::int64_t now_ms, int limit) = 0;
    // Records the outcome of an attempt on a SENDING delivery, and the attempt in its timeline,
    // in one transaction (with the suppression, when asked). Fails with invalid_argument for a
    // state other than sent, retry, failed or suppressed; not_found; conflict when the delivery
    // is not SENDING.
    virtual Result<void> finish_delivery(const std::string& candidate_id, const std::string& kind,
                                         const AttemptOutcome& outcome, std::int64_t now_ms) = 0;
    // finish_delivery without waiting: `complete` gets the same result once its commit is
    // durable (or failed), on a thread of the store's, so it must be quick. Writes commit in
    // the order they are asked for, so a write asked for afterwards on the same thread (the
    // next claim) commits in the same transaction or a later one, and its result comes after
    // `complete` has run.
    virtual void finish_delivery_async(const std::string& candidate_id, const std::string& kind,
                                       const AttemptOutcome& outcome, std::int64_t now_ms,
                                       std::function<void(Result<void>)> complete) = 0;
    // After a restart: SENDING deliveries (the process died mid-send) become RETRY due now, each
    // with an INTERRUPTED attempt in its timeline. Returns how many.
    virtual Result<int> requeue_interrupted_deliveries(std::int64_t now_ms) = 0;
    // Gives back claims that were never tried (handed to a sender that stopped first): those
    // SENDING deliveries become PENDING due now, their attempt not counted. Returns how many.
    virtual Result<int> unclaim_deliveries(const std::vector<std::int64_t>& ids,
                                           std::int64_t now_ms) = 0;
    // When the earliest PENDING or RETRY delivery is due, or nullopt when none waits.
    virtual Result<std::optional<std::int64_t>> next_delivery_due_ms() = 0;
    // A retry by hand: a FAILED, SUPPRESSED or RETRY delivery becomes PENDING due now, its
    // attempt count and give-up age start again (its timeline is kept). Returns it. Fails with
    // not_found, or conflict when it is PENDING, SENDING or SENT (a sent email is never sent
    // again).
    virtual Result<Delivery> retry_delivery(std::int64_t id, std::int64_t now_ms) = 0;
    // The delivery's attempts, oldest first, at most `limit` (the most recent ones).
    virtual Result<std::vector<DeliveryAttempt>> delivery_attempts(std::int64_t delivery_id,
                                                                   int limit) = 0;
    // SENT deliveries with sent_ms >= since_ms, counted per minute: (minute start ms, count),
    // oldest first. What a daily sending quota needs after a restart.
    virtual Result<std::vector<std::pair<std::int64_t, std::int64_t>>> sent_per_minute_since(
        std::int64_t since_ms) = 0;

    // ---- suppression list ----
    // Adds or replaces (the address is lower-cased). Fails with invalid_argument when empty.
    virtual Result<void> add_suppression(const Suppression& suppression) = 0;
    virtual Result<std::optional<Suppression>> find_suppression(const std::string& address) = 0;
    // Fails with not_found.
    virtual Result<void> remove_suppression(const std::string& address) = 0;
    // In address order, addresses > after (empty: from the first), at most limit (1..1000).
    virtual Result<std::vector<Suppression>> list_suppressions(const std::string& after,
                                                               int limit) = 0;

    // ---- dead letters (on-failure destinations) ----
    // Stores it and returns its id.
    virtual Result<std::int64_t> add_dead_letter(const DeadLetter& letter) = 0;
    // A function's dead letters, newest first, with id < before_id (0: from the newest).
    virtual Result<std::vector<DeadLetter>> list_dead_letters(const std::string& function,
                                                              std::int64_t before_id,
                                                              int limit) = 0;
    virtual Result<std::optional<DeadLetter>> get_dead_letter(std::int64_t id) = 0;
    // Marks a dead letter redriven. Fails with not_found.
    virtual Result<void> mark_dead_letter_redriven(std::int64_t id, std::int64_t now_ms) = 0;
    // How many of a function's dead letters are not redriven yet.
    virtual Result<std::uint64_t> count_pending_dead_letters(const std::string& function) = 0;

    // ---- uploaded assignments ----
    // Creates or replaces the assignment by name (created_ms is kept on a replace). Returns
    // true when it was created. Fails with invalid_argument when the name is empty.
    virtual Result<bool> put_assignment(const AssignmentRecord& assignment) = 0;
    // The assignment with its bytes, or nullopt.
    virtual Result<std::optional<AssignmentRecord>> get_assignment(const std::string& name) = 0;
    // Every uploaded assignment by name, without bytes (size and sha256 are set).
    virtual Result<std::vector<AssignmentRecord>> list_assignments() = 0;
    // Fails with not_found when there is none of that name.
    virtual Result<void> delete_assignment(const std::string& name) = 0;

    // ---- downloads through signed links ----
    // Records one download; returns its id. Fails with invalid_argument on an empty candidate.
    virtual Result<std::int64_t> add_download(const Download& download) = 0;
    // A candidate's downloads, oldest first, at most `limit` (1..1000).
    virtual Result<std::vector<Download>> downloads_for(const std::string& candidate_id,
                                                        int limit) = 0;

    // ---- API keys ----
    // Stores a new key. Fails with invalid_argument when the id or hash is empty, conflict when
    // a key with that id or hash exists.
    virtual Result<void> add_api_key(const ApiKey& key) = 0;
    // Stores the key only when the store holds no key at all (checked in the same transaction,
    // so two processes starting at once create one). Returns true when it was stored.
    virtual Result<bool> add_first_api_key(const ApiKey& key) = 0;
    // The key with that hash (revoked ones too), or nullopt.
    virtual Result<std::optional<ApiKey>> find_api_key_by_hash(const std::string& hash) = 0;
    // Every key, oldest first.
    virtual Result<std::vector<ApiKey>> list_api_keys() = 0;
    // Sets revoked_ms (kept when already revoked) and returns the key. Fails with not_found.
    virtual Result<ApiKey> revoke_api_key(const std::string& id, std::int64_t now_ms) = 0;
    // Records a use of the key. Fails with not_found.
    virtual Result<void> touch_api_key(const std::string& id, std::int64_t now_ms) = 0;

    // ---- idempotency keys ----
    // Claims (scope, key) for a first request: when no unexpired entry exists (created at or
    // after `expire_before_ms`) or the existing one is an unfinished claim created before
    // `stale_before_ms` (its process died), stores `claim` (status 0) and returns nullopt;
    // otherwise returns the existing entry, unchanged. Entries created before
    // `expire_before_ms` are deleted on the way.
    virtual Result<std::optional<IdempotentResponse>> claim_idempotency_key(
        const IdempotentResponse& claim, std::int64_t expire_before_ms,
        std::int64_t stale_before_ms) = 0;
    // Records the answer of a claimed entry (status > 0). Fails with not_found.
    virtual Result<void> complete_idempotency_key(const IdempotentResponse& response) = 0;
    // Drops a claim whose request could not be answered (a retry may run it again).
    virtual Result<void> release_idempotency_key(const std::string& scope,
                                                 const std::string& key) = 0;

    virtual ChangeSignal& stream_signal() = 0;
    virtual ChangeSignal& delivery_signal() = 0;

    // Why writes fail now: the error (always unavailable: disk full, read-only, I/O error,
    // lock timeout) that lost the latest write transaction, kept until a later one commits;
    // nullopt while writes commit. Reads may still work meanwhile.
    virtual std::optional<Error> write_problem() = 0;
};

}  // namespace hirestream::store

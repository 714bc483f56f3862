#pragma once
// EventSourceMapping: reads one table's change stream and invokes a function with batches, with
// AWS Lambda's event-source-mapping semantics for DynamoDB Streams:
// - batchSize and batchWindow (wait up to the window to fill a batch);
// - filterPatterns: records no pattern matches are skipped and the checkpoint moves past them;
// - per shard, batches run in order and the checkpoint (the last sequence handled) is saved
//   durably after each batch, so a restart resumes where it stopped;
// - parallelizationFactor: up to N lanes of one shard run concurrently, records of one item key
//   always in the same lane, so order is kept per item;
// - a failed batch is retried with exponential backoff and jitter (a webhook's Retry-After is
//   honoured) up to maximumRetryAttempts, and records older than maximumRecordAgeInSeconds (or
//   the stream's retention) are not retried;
// - bisectBatchOnFunctionError splits a failing batch in halves (splits are not retries), so one
//   poison record is isolated in a handful of invocations and the others are handled once;
// - ReportBatchItemFailures: processing resumes from the lowest failed sequence number;
// - what cannot be handled goes to the on-failure destination: a dead letter with AWS's
//   invocation record and, beyond AWS, the records, so they can be redriven later. Then the
//   shard flows on.
// Delivery to the function is at-least-once: a crash between an invocation and its checkpoint
// replays the batch.
//
// Lifecycle: start() launches one thread per shard (when enabled); stop() is idempotent and
// waits for them; set_enabled() stops or starts them at run time, keeping the checkpoint.
// Thread-safety: status(), set_enabled() and redrive() may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "config/config.h"
#include "store/store.h"
#include "stream/stream_record.h"
#include "triggers/filter_pattern.h"
#include "triggers/function.h"
#include "triggers/invocation_log.h"

namespace hirestream::triggers {

struct MappingStatus {
    std::string function;
    std::string table;
    bool enabled = true;
    std::uint64_t invocations = 0;
    std::uint64_t failed_invocations = 0;
    std::uint64_t records_processed = 0;  // handed to a successful invocation
    std::uint64_t records_filtered = 0;   // skipped by filterPatterns
    std::uint64_t dead_lettered = 0;      // records sent to the on-failure destination
    std::int64_t iterator_age_ms = 0;     // age of the last record of the last batch, when done
    std::string last_result = "No records processed";  // AWS's LastProcessingResult
    std::string last_error;               // the last function error, kept after later successes
    std::int64_t last_error_ms = 0;
};

struct MappingOptions {
    config::StreamEventConfig event;
    std::chrono::milliseconds initial_backoff{500};
    std::chrono::milliseconds max_backoff{30'000};
    // Records older than this are not retried when maximumRecordAgeInSeconds is -1 (AWS: until
    // the record expires from the stream).
    std::chrono::milliseconds retention{std::chrono::hours(24)};
    // How long a shard's thread sleeps when nothing signals; a safety net only.
    std::chrono::milliseconds idle_wait{1'000};
};

// What the mapping uses besides the store; the pointers may be null (tests).
struct MappingServices {
    InvocationLog* log = nullptr;
    MetricsRegistry* metrics = nullptr;
};

class EventSourceMapping {
public:
    // Fails (at start) when the filter patterns are invalid: build them with FilterCriteria
    // first. `filters` may be empty.
    EventSourceMapping(store::Store& store, const Clock& clock, stream::StreamIdentity stream,
                       int shard_count, Function& function, FilterCriteria filters,
                       MappingOptions options, MappingServices services = {});
    ~EventSourceMapping();

    void start();
    void stop();
    void set_enabled(bool enabled);

    // Handles at most one round per shard now, on the caller's thread (tests). Returns the
    // number of records handed to the function or skipped by filters.
    Result<std::size_t> poll_once();

    // Invokes the function once with a dead letter's records; on success marks it redriven.
    // Fails with not_found (no such dead letter of this function), unavailable (the function
    // failed again: the message says why) or the store's error.
    Result<void> redrive(std::int64_t dead_letter_id);

    MappingStatus status() const;
    // Records of the stream this mapping has not checkpointed yet, over all shards, counted up
    // to kRecordsBehindLimit (counting walks the stream's index: millions would take seconds).
    struct Backlog {
        std::uint64_t records = 0;  // at most kRecordsBehindLimit
        bool capped = false;        // more than kRecordsBehindLimit are behind
    };
    static constexpr std::uint64_t kRecordsBehindLimit = 100'000;
    Result<Backlog> records_behind();
    // The checkpoint consumer name: "<function>@<table>".
    std::string consumer() const;
    const Function& function() const { return function_; }
    const config::StreamEventConfig& event() const { return options_.event; }

private:
    struct Round;
    enum class Outcome { success, partial, failure };

    Result<std::uint64_t> position(int shard);
    Result<std::uint64_t> load_position(int shard);  // from the store's checkpoint
    std::optional<std::uint64_t> kept_position(int shard);  // positions_[shard], locked
    Result<std::size_t> process_shard(int shard, std::stop_token stop,
                                      std::optional<std::int64_t>& wait_ms);
    Result<void> run_lane(std::vector<store::ChangeRecord> records, int shard,
                          std::stop_token stop);
    InvokeResult invoke(const std::vector<store::ChangeRecord>& records, int shard);
    Outcome judge(const InvokeResult& result, const std::vector<store::ChangeRecord>& records,
                  std::size_t& first_failed, std::string& error) const;
    Result<void> dead_letter(const std::vector<store::ChangeRecord>& records, int shard,
                             const std::string& condition, int invoke_count,
                             const std::string& error);
    std::chrono::milliseconds retry_delay(int retries,
                                          std::optional<std::chrono::milliseconds> retry_after);
    void run(int shard, std::stop_token stop);
    void start_threads();
    void stop_threads();
    // Moves the shard's position past `sequence` and saves it without waiting.
    void advance(int shard, std::uint64_t sequence);
    void wait_for_saves();

    store::Store& store_;
    const Clock& clock_;
    stream::StreamIdentity stream_;
    int shard_count_;
    Function& function_;
    FilterCriteria filters_;
    MappingOptions options_;
    MappingServices services_;
    std::string function_arn_;

    Counter* invocations_ = nullptr;
    Counter* errors_ = nullptr;
    Counter* dead_letters_ = nullptr;
    Histogram* duration_ = nullptr;
    Gauge* iterator_age_ = nullptr;

    mutable std::mutex status_mutex_;
    MappingStatus status_;  // guarded by status_mutex_

    std::mutex threads_mutex_;
    std::vector<std::jthread> threads_;  // guarded by threads_mutex_

    // Each shard's position, the last sequence handled: kept here and saved as the checkpoint
    // without waiting (save_checkpoint_async), so the next batch starts at once and its writes
    // share the save's commit. nullopt: read the checkpoint from the store (at first, and after
    // a save failed: what the durable one does not cover then runs again, at least once).
    std::mutex positions_mutex_;
    std::condition_variable saves_done_;
    std::vector<std::optional<std::uint64_t>> positions_;  // guarded by positions_mutex_
    int saves_in_flight_ = 0;                              // guarded by positions_mutex_
};

}  // namespace hirestream::triggers

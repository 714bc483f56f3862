#pragma once
// EventSourceMapping: reads one table's change stream shard by shard and invokes a function with
// batches, as AWS Lambda's event-source mapping does for DynamoDB Streams. Per shard, batches run
// in order and the checkpoint (the last sequence handled) is saved durably in the store after
// each successful batch, so a restart resumes where it stopped. A failed batch is retried with
// exponential backoff and jitter until it succeeds (AWS's default MaximumRetryAttempts -1).
// The loop wakes when a write commits (the store's stream_signal), not on a polling delay.
//
// Lifecycle: start() launches one thread; stop() is idempotent and waits for it.
// Thread-safety: status() may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "config/config.h"
#include "store/store.h"
#include "stream/stream_record.h"
#include "triggers/function.h"

namespace hirestream::triggers {

struct MappingStatus {
    std::string function;
    bool enabled = true;
    std::uint64_t invocations = 0;
    std::uint64_t failed_invocations = 0;
    std::uint64_t records_processed = 0;
    std::int64_t iterator_age_ms = 0;  // age of the last record of the last batch, when handled
    std::string last_error;            // empty when the last batch succeeded
};

struct MappingOptions {
    config::StreamEventConfig event;
    std::chrono::milliseconds initial_backoff{500};
    std::chrono::milliseconds max_backoff{60'000};
    // How long the loop sleeps when nothing signals; a safety net only.
    std::chrono::milliseconds idle_wait{1'000};
};

class EventSourceMapping {
public:
    EventSourceMapping(store::Store& store, const Clock& clock, stream::StreamIdentity stream,
                       int shard_count, Function& function, MappingOptions options);
    ~EventSourceMapping();

    void start();
    void stop();

    // Handles at most one batch per shard now, on the caller's thread (tests, and the loop).
    // Returns the number of records handed to the function.
    Result<std::size_t> poll_once();

    MappingStatus status() const;
    // The checkpoint consumer name: "<function>@<table>".
    std::string consumer() const;

private:
    Result<std::size_t> poll_shard(int shard);
    void run(std::stop_token stop);

    store::Store& store_;
    const Clock& clock_;
    stream::StreamIdentity stream_;
    int shard_count_;
    Function& function_;
    MappingOptions options_;
    int consecutive_failures_ = 0;  // loop thread only

    mutable std::mutex status_mutex_;
    MappingStatus status_;  // guarded by status_mutex_
    std::jthread thread_;
};

}  // namespace hirestream::triggers

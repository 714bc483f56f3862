#pragma once
// Retention: a background loop that trims each table's stream of records older than its
// retention (24 h by default), and runs the store's WAL checkpoint. start()/stop(): stop() is
// idempotent and waits for the loop. Errors are logged and kept for last_error(); the loop goes on.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace hirestream::stream {

struct RetentionPolicy {
    std::string table;
    std::chrono::hours retention{24};
    // Per shard, the highest sequence every consumer of the table has handled; records above it
    // are kept whatever their age, so retention never takes a record a function still needs.
    // Empty: no bound.
    std::function<Result<std::vector<std::uint64_t>>()> handled_up_to;
};

class Retention {
public:
    // `maintenance` runs once per pass after trimming (e.g. the WAL checkpoint); may be empty.
    Retention(store::Store& store, const Clock& clock, std::vector<RetentionPolicy> policies,
              std::chrono::milliseconds interval, std::function<Result<void>()> maintenance);
    ~Retention();

    void start();
    void stop();

    // One pass now: trims every table. Returns the records deleted.
    Result<std::uint64_t> run_once();
    std::optional<Error> last_error() const;

private:
    store::Store& store_;
    const Clock& clock_;
    std::vector<RetentionPolicy> policies_;
    std::chrono::milliseconds interval_;
    std::function<Result<void>()> maintenance_;
    mutable std::mutex mutex_;
    std::optional<Error> last_error_;  // guarded by mutex_
    std::jthread thread_;
};

}  // namespace hirestream::stream

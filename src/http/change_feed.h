#pragma once
// ChangeFeed: lets many long-lived HTTP streams (Server-Sent Events) wait for the store's
// change stream to move without a thread each. One thread waits on the store's ChangeSignal and
// calls each waiter back once: when the signal moved past the version the waiter saw, when the
// waiter's timeout passed (for keep-alives), or when the feed stops.
//
// Bounds: at most `max_streams` streams hold a slot at once (acquire()); each has at most one
// pending wait. Lifecycle: start(), then stop() (idempotent), which calls every pending waiter
// back with Wake::stopped and refuses new waits. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/change_signal.h"

namespace hirestream::http {

class ChangeFeed {
public:
    enum class Wake { changed, timeout, stopped };
    using Callback = std::function<void(Wake)>;

    ChangeFeed(ChangeSignal& signal, std::size_t max_streams)
        : signal_(signal), max_streams_(max_streams) {}
    ~ChangeFeed() { stop(); }
    ChangeFeed(const ChangeFeed&) = delete;
    ChangeFeed& operator=(const ChangeFeed&) = delete;

    void start();
    void stop();

    // Takes a stream slot; false when all `max_streams` are taken or the feed is stopped.
    bool acquire();
    void release();
    std::size_t max_streams() const { return max_streams_; }
    std::uint64_t version() const { return signal_.version(); }

    // Calls `callback` once, on the feed's thread or (when the version already moved, or the
    // feed is stopped) on the caller's, with why it woke. Returns an id for cancel().
    std::uint64_t wait(std::uint64_t seen, std::chrono::milliseconds timeout, Callback callback);
    // Drops a pending wait without calling it back; no effect when it already fired.
    void cancel(std::uint64_t id);

private:
    struct Waiter {
        std::uint64_t seen = 0;
        std::chrono::steady_clock::time_point deadline;
        Callback callback;
    };
    void run(std::stop_token stop);

    ChangeSignal& signal_;
    const std::size_t max_streams_;
    std::mutex mutex_;
    std::map<std::uint64_t, Waiter> waiters_;  // guarded by mutex_
    std::uint64_t next_id_ = 1;                // guarded by mutex_
    std::size_t streams_ = 0;                  // guarded by mutex_
    bool stopped_ = false;                     // guarded by mutex_
    std::jthread thread_;
};

}  // namespace hirestream::http

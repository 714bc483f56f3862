#pragma once
// ChangeSignal: a version counter that writers bump after a commit and background loops wait on,
// so a loop wakes as soon as there is work instead of polling on a fixed delay.
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>

namespace hirestream {

class ChangeSignal {
public:
    // Bumps the version and wakes every waiter.
    void notify() {
        {
            std::lock_guard lock(mutex_);
            ++version_;
        }
        cv_.notify_all();
    }

    // Bumps the version and wakes one waiter: for work one waiter can take (the others see the
    // new version when they next wake, and find nothing).
    void notify_one() {
        {
            std::lock_guard lock(mutex_);
            ++version_;
        }
        cv_.notify_one();
    }

    std::uint64_t version() const {
        std::lock_guard lock(mutex_);
        return version_;
    }

    // Waits until the version differs from `seen`, `timeout` passes or a stop is requested.
    // Returns the current version.
    std::uint64_t wait_past(std::uint64_t seen, std::chrono::milliseconds timeout,
                            std::stop_token stop) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, stop, timeout, [&] { return version_ != seen; });
        return version_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable_any cv_;
    std::uint64_t version_ = 0;
};

}  // namespace hirestream

namespace hirestream {

// Sleeps for `duration` or until a stop is requested, whichever comes first. Returns false when
// stopped. The one way background loops wait without work to wake them.
inline bool sleep_unless_stopped(std::chrono::milliseconds duration, std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    return !cv.wait_for(lock, stop, duration, [] { return false; }) && !stop.stop_requested();
}

}  // namespace hirestream

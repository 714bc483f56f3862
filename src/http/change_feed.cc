#include "http/change_feed.h"

#include <algorithm>
#include <vector>

#include "common/thread_name.h"

namespace hirestream::http {

void ChangeFeed::start() {
    thread_ = std::jthread([this](std::stop_token stop) {
        name_this_thread("hs-change-feed");
        run(stop);
    });
}

void ChangeFeed::stop() {
    std::map<std::uint64_t, Waiter> pending;
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        stopped_ = true;
        pending.swap(waiters_);
    }
    if (thread_.joinable()) {
        thread_.request_stop();
        thread_.join();
    }
    for (auto& [id, w] : pending) w.callback(Wake::stopped);
}

bool ChangeFeed::acquire() {
    std::lock_guard lock(mutex_);
    if (stopped_ || streams_ >= max_streams_) return false;
    ++streams_;
    return true;
}

void ChangeFeed::release() {
    std::lock_guard lock(mutex_);
    if (streams_ > 0) --streams_;
}

std::uint64_t ChangeFeed::wait(std::uint64_t seen, std::chrono::milliseconds timeout,
                               Callback callback) {
    std::unique_lock lock(mutex_);
    if (stopped_) {
        lock.unlock();
        callback(Wake::stopped);
        return 0;
    }
    // A change committed between the caller's read and this call must not be slept through.
    if (signal_.version() != seen) {
        lock.unlock();
        callback(Wake::changed);
        return 0;
    }
    const auto id = next_id_++;
    waiters_.emplace(id, Waiter{seen, std::chrono::steady_clock::now() + timeout,
                                std::move(callback)});
    return id;
}

void ChangeFeed::cancel(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    waiters_.erase(id);
}

void ChangeFeed::run(std::stop_token stop) {
    // Deadlines are keep-alives: checked at least once a second, which is precise enough.
    constexpr std::chrono::milliseconds kTick{1000};
    auto version = signal_.version();
    while (!stop.stop_requested()) {
        version = signal_.wait_past(version, kTick, stop);
        const auto now = std::chrono::steady_clock::now();
        std::vector<std::pair<Callback, Wake>> due;
        {
            std::lock_guard lock(mutex_);
            for (auto it = waiters_.begin(); it != waiters_.end();) {
                if (it->second.seen != version || it->second.deadline <= now) {
                    due.emplace_back(std::move(it->second.callback),
                                     it->second.seen != version ? Wake::changed : Wake::timeout);
                    it = waiters_.erase(it);
                } else {
                    ++it;
                }
            }
        }
        for (auto& [callback, wake] : due) callback(wake);
    }
}

}  // namespace hirestream::http

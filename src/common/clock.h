#pragma once
// Clock: the one source of time for module code, so tests can drive time by hand.
// SystemClock is stateless and thread-safe; ManualClock is thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hirestream {

class Clock {
public:
    virtual ~Clock() = default;
    // Wall-clock time, used for timestamps that users see and for retention.
    virtual std::chrono::system_clock::time_point now() const = 0;

    std::int64_t now_ms() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch())
            .count();
    }
};

class SystemClock final : public Clock {
public:
    std::chrono::system_clock::time_point now() const override {
        return std::chrono::system_clock::now();
    }
};

// A clock that only moves when told to.
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t start_ms = 1'700'000'000'000) : ms_(start_ms) {}
    std::chrono::system_clock::time_point now() const override {
        return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms_.load()));
    }
    void advance(std::chrono::milliseconds by) { ms_ += by.count(); }
    void set_ms(std::int64_t ms) { ms_ = ms; }

private:
    std::atomic<std::int64_t> ms_;
};

}  // namespace hirestream

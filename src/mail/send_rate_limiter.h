#pragma once
// SendRateLimiter: sending limits like SES's. At most `per_second` messages are handed to the
// relay in any second (a token bucket holding one second's worth), and at most `per_day`
// messages are accepted by it in any rolling 24 hours (counted per minute, so memory is fixed;
// a minute's count is released a minute late rather than early). 0 means no limit.
//
// The delivery worker asks for a slot before it claims a delivery, and says afterwards whether
// the slot was used: throttled deliveries stay PENDING in the store, never dropped. An attempt
// in flight holds a slot of the daily quota, so concurrent senders cannot overshoot it.
//
// Thread-safety: every member may be called from any thread. The clock must outlive it.

#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace hirestream::mail {

struct SendRateLimits {
    int per_second = 0;
    std::int64_t per_day = 0;
};

class SendRateLimiter {
public:
    SendRateLimiter(const Clock& clock, SendRateLimits limits);

    // Counts messages sent before this process started: (minute start ms, count) pairs, as
    // Store::sent_per_minute_since() returns them for the last 24 hours.
    void seed_daily(const std::vector<std::pair<std::int64_t, std::int64_t>>& per_minute);

    // Takes a slot and returns 0, or takes nothing and returns how many milliseconds to wait
    // before one may be free (at least 1).
    std::int64_t try_acquire();

    // What try_acquire() would return, taking nothing.
    std::int64_t wait_ms();

    // Ends a slot taken by try_acquire(). `handed_to_relay`: the message went to the relay (a
    // slot that was not used, e.g. nothing was due, gives its per-second token back).
    // `accepted`: the relay accepted it (counts toward the daily quota).
    void finish(bool handed_to_relay, bool accepted);

    // Messages accepted in the rolling 24 hours, as counted here.
    std::int64_t sent_today();

    bool limited() const { return limits_.per_second > 0 || limits_.per_day > 0; }

private:
    std::int64_t wait_locked(std::int64_t now_ms);
    void refill_locked(std::int64_t now_ms);
    void expire_locked(std::int64_t now_ms);

    const Clock& clock_;
    const SendRateLimits limits_;
    std::mutex mu_;
    double tokens_ = 0;               // guarded by mu_
    std::int64_t refilled_ms_ = 0;    // guarded by mu_
    std::int64_t in_flight_ = 0;      // guarded by mu_
    std::int64_t day_total_ = 0;      // guarded by mu_
    std::deque<std::pair<std::int64_t, std::int64_t>> minutes_;  // guarded by mu_, oldest first
};

}  // namespace hirestream::mail

#include "mail/send_rate_limiter.h"

#include <algorithm>

namespace hirestream::mail {
namespace {

constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::int64_t kDayMs = 24 * 60 * kMinuteMs;

}  // namespace

SendRateLimiter::SendRateLimiter(const Clock& clock, SendRateLimits limits)
    : clock_(clock), limits_(limits), tokens_(limits.per_second), refilled_ms_(clock.now_ms()) {}

void SendRateLimiter::seed_daily(
    const std::vector<std::pair<std::int64_t, std::int64_t>>& per_minute) {
    std::lock_guard lock(mu_);
    for (const auto& [minute, count] : per_minute) {
        if (count <= 0) continue;
        if (!minutes_.empty() && minutes_.back().first == minute) {
            minutes_.back().second += count;
        } else {
            minutes_.emplace_back(minute, count);
        }
        day_total_ += count;
    }
    std::sort(minutes_.begin(), minutes_.end());
}

void SendRateLimiter::refill_locked(std::int64_t now_ms) {
    if (limits_.per_second <= 0) return;
    const auto elapsed = std::max<std::int64_t>(0, now_ms - refilled_ms_);
    tokens_ = std::min<double>(limits_.per_second,
                               tokens_ + static_cast<double>(elapsed) * limits_.per_second / 1000.0);
    refilled_ms_ = now_ms;
}

void SendRateLimiter::expire_locked(std::int64_t now_ms) {
    // A minute's messages count until 24 h after the minute ended: released late, never early.
    while (!minutes_.empty() && minutes_.front().first + kMinuteMs + kDayMs <= now_ms) {
        day_total_ -= minutes_.front().second;
        minutes_.pop_front();
    }
}

std::int64_t SendRateLimiter::wait_locked(std::int64_t now_ms) {
    refill_locked(now_ms);
    expire_locked(now_ms);
    std::int64_t wait = 0;
    if (limits_.per_day > 0 && day_total_ + in_flight_ >= limits_.per_day) {
        // Free when the oldest minute expires; with only attempts in flight, soon.
        wait = minutes_.empty() ? 100 : minutes_.front().first + kMinuteMs + kDayMs - now_ms;
    }
    if (limits_.per_second > 0 && tokens_ < 1.0) {
        const auto refill = static_cast<std::int64_t>((1.0 - tokens_) * 1000.0 /
                                                      limits_.per_second) + 1;
        wait = std::max(wait, refill);
    }
    return wait > 0 ? std::max<std::int64_t>(wait, 1) : 0;
}

std::int64_t SendRateLimiter::try_acquire() {
    if (!limited()) return 0;
    std::lock_guard lock(mu_);
    if (const auto wait = wait_locked(clock_.now_ms()); wait > 0) return wait;
    if (limits_.per_second > 0) tokens_ -= 1.0;
    ++in_flight_;
    return 0;
}

std::int64_t SendRateLimiter::wait_ms() {
    if (!limited()) return 0;
    std::lock_guard lock(mu_);
    return wait_locked(clock_.now_ms());
}

void SendRateLimiter::finish(bool handed_to_relay, bool accepted) {
    if (!limited()) return;
    std::lock_guard lock(mu_);
    in_flight_ = std::max<std::int64_t>(0, in_flight_ - 1);
    if (!handed_to_relay && limits_.per_second > 0) {
        tokens_ = std::min<double>(limits_.per_second, tokens_ + 1.0);
    }
    if (accepted) {
        const auto minute = clock_.now_ms() / kMinuteMs * kMinuteMs;
        if (!minutes_.empty() && minutes_.back().first >= minute) {
            ++minutes_.back().second;
        } else {
            minutes_.emplace_back(minute, 1);
        }
        ++day_total_;
    }
}

std::int64_t SendRateLimiter::sent_today() {
    std::lock_guard lock(mu_);
    expire_locked(clock_.now_ms());
    return day_total_;
}

}  // namespace hirestream::mail

#include "mail/send_rate_limiter.h"

#include <gtest/gtest.h>

namespace hirestream::mail {
namespace {

using namespace std::chrono_literals;

// Protects the per-second limit: a burst of one second's worth, then one slot per 1/rate.
TEST(SendRateLimiter, PerSecondLimitAllowsOneSecondsWorthThenPaces) {
    ManualClock clock;
    SendRateLimiter limiter(clock, {5, 0});
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(limiter.try_acquire(), 0) << i;
        limiter.finish(true, true);
    }
    const auto wait = limiter.try_acquire();
    EXPECT_GT(wait, 0);
    EXPECT_LE(wait, 201);
    clock.advance(199ms);
    EXPECT_GT(limiter.try_acquire(), 0);
    clock.advance(2ms);
    EXPECT_EQ(limiter.try_acquire(), 0);
    limiter.finish(true, true);
    clock.advance(10s);  // the bucket holds one second's worth, no more
    int granted = 0;
    while (limiter.try_acquire() == 0) {
        limiter.finish(true, false);
        ++granted;
    }
    EXPECT_EQ(granted, 5);
}

// Protects a slot that was not used (nothing due): its token comes back.
TEST(SendRateLimiter, UnusedSlotGivesItsTokenBack) {
    ManualClock clock;
    SendRateLimiter limiter(clock, {1, 0});
    ASSERT_EQ(limiter.try_acquire(), 0);
    limiter.finish(false, false);
    EXPECT_EQ(limiter.try_acquire(), 0);
    limiter.finish(true, true);
    EXPECT_GT(limiter.try_acquire(), 0);
}

// Protects the daily quota: accepted messages (and attempts in flight) count for 24 h after
// their minute; messages sent before a restart count too; throttled means "wait", with how long.
TEST(SendRateLimiter, DailyQuotaCountsARollingDayIncludingSendsBeforeARestart) {
    ManualClock clock(100 * 60'000);
    SendRateLimiter limiter(clock, {0, 3});
    limiter.seed_daily({{99 * 60'000, 1}});
    EXPECT_EQ(limiter.sent_today(), 1);
    ASSERT_EQ(limiter.try_acquire(), 0);
    ASSERT_EQ(limiter.try_acquire(), 0);  // two in flight
    EXPECT_GT(limiter.try_acquire(), 0);  // 1 sent + 2 in flight = 3
    limiter.finish(true, false);          // refused by the relay: frees its slot
    ASSERT_EQ(limiter.try_acquire(), 0);
    limiter.finish(true, true);
    limiter.finish(true, true);
    EXPECT_EQ(limiter.sent_today(), 3);
    const auto wait = limiter.try_acquire();
    // The seeded minute (99) is released at 99 min + 1 min + 24 h.
    EXPECT_EQ(wait, 99 * 60'000 + 60'000 + 24 * 3'600'000 - 100 * 60'000);
    clock.advance(std::chrono::milliseconds(wait));
    EXPECT_EQ(limiter.sent_today(), 2);
    EXPECT_EQ(limiter.try_acquire(), 0);
}

// Protects the default: no limits, never a wait.
TEST(SendRateLimiter, NoLimitsNeverWaits) {
    ManualClock clock;
    SendRateLimiter limiter(clock, {});
    for (int i = 0; i < 10'000; ++i) ASSERT_EQ(limiter.try_acquire(), 0);
    EXPECT_FALSE(limiter.limited());
}

}  // namespace
}  // namespace hirestream::mail

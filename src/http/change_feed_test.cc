#include "http/change_feed.h"

#include <condition_variable>
#include <mutex>
#include <optional>

#include <gtest/gtest.h>

namespace hirestream::http {
namespace {

// Collects one wake-up from the feed's thread.
struct Woken {
    std::mutex m;
    std::condition_variable cv;
    std::optional<ChangeFeed::Wake> wake;
    ChangeFeed::Callback callback() {
        return [this](ChangeFeed::Wake w) {
            std::lock_guard lock(m);
            wake = w;
            cv.notify_all();
        };
    }
    std::optional<ChangeFeed::Wake> wait(std::chrono::milliseconds deadline) {
        std::unique_lock lock(m);
        cv.wait_for(lock, deadline, [&] { return wake.has_value(); });
        return wake;
    }
};

// A commit wakes a waiting stream at once, without a thread of its own.
TEST(ChangeFeed, ACommitWakesTheWaiter) {
    ChangeSignal signal;
    ChangeFeed feed(signal, 4);
    feed.start();
    Woken woken;
    feed.wait(feed.version(), std::chrono::seconds(30), woken.callback());
    signal.notify();
    EXPECT_EQ(woken.wait(std::chrono::seconds(5)), ChangeFeed::Wake::changed);
}

// A change between the stream's read and its wait is not slept through.
TEST(ChangeFeed, AChangeBeforeTheWaitWakesAtOnce) {
    ChangeSignal signal;
    ChangeFeed feed(signal, 4);
    feed.start();
    const auto seen = feed.version();
    signal.notify();
    Woken woken;
    EXPECT_EQ(feed.wait(seen, std::chrono::seconds(30), woken.callback()), 0u);
    EXPECT_EQ(woken.wait(std::chrono::milliseconds(0)), ChangeFeed::Wake::changed);
}

// Without changes the waiter hears of its timeout (the keep-alive), and a cancelled one never.
TEST(ChangeFeed, TimeoutWakesAndCancelSilences) {
    ChangeSignal signal;
    ChangeFeed feed(signal, 4);
    feed.start();
    Woken timed, cancelled;
    feed.wait(feed.version(), std::chrono::milliseconds(10), timed.callback());
    const auto id = feed.wait(feed.version(), std::chrono::milliseconds(10), cancelled.callback());
    feed.cancel(id);
    EXPECT_EQ(timed.wait(std::chrono::seconds(5)), ChangeFeed::Wake::timeout);
    EXPECT_EQ(cancelled.wait(std::chrono::milliseconds(1500)), std::nullopt);
}

// stop() ends every pending wait, and refuses slots and waits afterwards.
TEST(ChangeFeed, StopWakesEveryWaiterAndRefusesNewOnes) {
    ChangeSignal signal;
    ChangeFeed feed(signal, 2);
    feed.start();
    ASSERT_TRUE(feed.acquire());
    ASSERT_TRUE(feed.acquire());
    EXPECT_FALSE(feed.acquire());  // the bound
    feed.release();
    EXPECT_TRUE(feed.acquire());
    Woken pending;
    feed.wait(feed.version(), std::chrono::seconds(30), pending.callback());
    feed.stop();
    EXPECT_EQ(pending.wait(std::chrono::seconds(5)), ChangeFeed::Wake::stopped);
    EXPECT_FALSE(feed.acquire());
    Woken late;
    feed.wait(feed.version(), std::chrono::seconds(30), late.callback());
    EXPECT_EQ(late.wait(std::chrono::milliseconds(0)), ChangeFeed::Wake::stopped);
}

}  // namespace
}  // namespace hirestream::http

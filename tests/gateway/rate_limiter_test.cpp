// Tests of the per-conversation token buckets.
#include "rate_limiter.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "teller/core/error.hpp"

namespace teller::channels::detail {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

TEST(RateLimiterTest, BurstPassesThenTheNextMessageWaits) {
    RateLimiter limiter(2.0, 3.0, 16);
    const Clock::time_point t0{};

    EXPECT_TRUE(limiter.admit("c", t0).allowed);
    EXPECT_TRUE(limiter.admit("c", t0).allowed);
    EXPECT_TRUE(limiter.admit("c", t0).allowed);
    const Admission refused = limiter.admit("c", t0);
    EXPECT_FALSE(refused.allowed);
    // One token at 2 per second: half a second.
    EXPECT_EQ(refused.retry_after, 500ms);
}

TEST(RateLimiterTest, TokensComeBackAtTheRate) {
    RateLimiter limiter(2.0, 1.0, 16);
    const Clock::time_point t0{};
    ASSERT_TRUE(limiter.admit("c", t0).allowed);
    ASSERT_FALSE(limiter.admit("c", t0 + 100ms).allowed);

    EXPECT_TRUE(limiter.admit("c", t0 + 500ms).allowed);
    EXPECT_FALSE(limiter.admit("c", t0 + 600ms).allowed);
}

TEST(RateLimiterTest, RefusedAttemptsDoNotSpendTokens) {
    RateLimiter limiter(1.0, 1.0, 16);
    const Clock::time_point t0{};
    ASSERT_TRUE(limiter.admit("c", t0).allowed);
    for (int i = 1; i < 10; ++i) {
        ASSERT_FALSE(limiter.admit("c", t0 + i * 50ms).allowed);
    }
    EXPECT_TRUE(limiter.admit("c", t0 + 1s).allowed);
}

TEST(RateLimiterTest, ConversationsHaveTheirOwnBuckets) {
    RateLimiter limiter(1.0, 1.0, 16);
    const Clock::time_point t0{};
    ASSERT_TRUE(limiter.admit("a", t0).allowed);
    EXPECT_FALSE(limiter.admit("a", t0).allowed);
    EXPECT_TRUE(limiter.admit("b", t0).allowed);
}

TEST(RateLimiterTest, BucketsNeverExceedTheBurst) {
    RateLimiter limiter(10.0, 2.0, 16);
    const Clock::time_point t0{};
    ASSERT_TRUE(limiter.admit("c", t0).allowed);

    // An hour idle refills to the burst, not to 36000 tokens.
    const Clock::time_point later = t0 + 1h;
    EXPECT_TRUE(limiter.admit("c", later).allowed);
    EXPECT_TRUE(limiter.admit("c", later).allowed);
    EXPECT_FALSE(limiter.admit("c", later).allowed);
}

TEST(RateLimiterTest, MemoryIsBoundedByEvictingTheLeastRecentlyUsed) {
    RateLimiter limiter(1.0, 1.0, 3);
    const Clock::time_point t0{};
    ASSERT_TRUE(limiter.admit("a", t0).allowed);
    ASSERT_TRUE(limiter.admit("b", t0).allowed);
    ASSERT_TRUE(limiter.admit("c", t0).allowed);
    ASSERT_FALSE(limiter.admit("a", t0).allowed);  // "a" is now the most recently used

    for (int i = 0; i < 1000; ++i) {
        limiter.admit("k" + std::to_string(i), t0);
        ASSERT_LE(limiter.size(), 3U);
    }

    // Evicted keys start again with a full bucket.
    EXPECT_TRUE(limiter.admit("b", t0).allowed);
}

TEST(RateLimiterTest, RecentlyUsedKeyOutlivesAnIdleOne) {
    RateLimiter limiter(1.0, 1.0, 2);
    const Clock::time_point t0{};
    ASSERT_TRUE(limiter.admit("busy", t0).allowed);
    ASSERT_TRUE(limiter.admit("idle", t0).allowed);
    ASSERT_FALSE(limiter.admit("busy", t0).allowed);

    ASSERT_TRUE(limiter.admit("new", t0).allowed);  // evicts "idle"
    EXPECT_FALSE(limiter.admit("busy", t0).allowed);
    EXPECT_TRUE(limiter.admit("idle", t0).allowed);
}

TEST(RateLimiterTest, UnusableSettingsThrow) {
    EXPECT_THROW(RateLimiter(0.0, 5.0, 10), core::Error);
    EXPECT_THROW(RateLimiter(-1.0, 5.0, 10), core::Error);
    EXPECT_THROW(RateLimiter(1.0, 0.5, 10), core::Error);
    EXPECT_THROW(RateLimiter(1.0, 5.0, 0), core::Error);
}

}  // namespace
}  // namespace teller::channels::detail

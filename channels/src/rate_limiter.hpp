// Token buckets per conversation, with a bounded number of buckets (private to the gateway).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace teller::channels::detail {

/// Whether one message may pass now, and if not, how long until it could.
struct Admission {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};  ///< 0 when allowed
};

/// A token bucket per key (a conversation id): each key holds at most `burst` tokens, refilled
/// at `rate` tokens per second; a message takes one token. At most `max_keys` buckets are kept:
/// past that the least recently used one is dropped, which at worst gives that key a fresh
/// (full) bucket; a bucket left alone long enough to refill is equivalent to a dropped one, so
/// the eviction only costs precision for keys that are busy and numerous at the same time.
///
/// Thread-safe (one mutex; every operation is O(1)).
class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    /// Throws core::Error when `rate` is not positive, `burst` is below 1 or `max_keys` is 0.
    RateLimiter(double rate, double burst, std::size_t max_keys);

    /// Takes one token from `key`'s bucket at time `now`, or says how long until one is there.
    Admission admit(std::string_view key, Clock::time_point now = Clock::now());

    /// Buckets currently kept (at most `max_keys`).
    std::size_t size() const;

private:
    struct Bucket {
        double tokens = 0;
        Clock::time_point updated;
        std::list<std::string>::iterator lru;  // position in lru_
    };

    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    double rate_;
    double burst_;
    std::size_t max_keys_;
    mutable std::mutex mutex_;
    std::list<std::string> lru_;  // most recently used first
    std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets_;
};

}  // namespace teller::channels::detail

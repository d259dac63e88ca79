// Token buckets per conversation, with a bounded number of buckets.
#include "rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "teller/core/error.hpp"

namespace teller::channels::detail {

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_keys)
    : rate_(rate), burst_(burst), max_keys_(max_keys) {
    if (!(rate > 0) || !std::isfinite(rate)) {
        throw core::Error("rate limiter: the rate must be a positive number of messages/second");
    }
    if (!(burst >= 1) || !std::isfinite(burst)) {
        throw core::Error("rate limiter: the burst must be at least 1");
    }
    if (max_keys == 0) {
        throw core::Error("rate limiter: at least one bucket must be allowed");
    }
}

Admission RateLimiter::admit(std::string_view key, Clock::time_point now) {
    std::lock_guard lock(mutex_);

    // Find or create the bucket, and mark it most recently used.
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_keys_) {
            buckets_.erase(lru_.back());
            lru_.pop_back();
        }
        lru_.emplace_front(key);
        it = buckets_.emplace(lru_.front(), Bucket{burst_, now, lru_.begin()}).first;
    } else {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
    }
    Bucket& bucket = it->second;

    // Refill for the time since the last call (a clock that went backwards refills nothing).
    if (now > bucket.updated) {
        const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
        bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
        bucket.updated = now;
    }

    if (bucket.tokens >= 1.0) {
        bucket.tokens -= 1.0;
        return {};
    }
    const double wait_s = (1.0 - bucket.tokens) / rate_;
    const auto wait =
        std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000)));
    return {false, std::max(wait, std::chrono::milliseconds(1))};
}

std::size_t RateLimiter::size() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace teller::channels::detail

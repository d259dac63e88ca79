// Counts the broker's acknowledgements of the records produced for one consumed batch (private).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "teller/core/bus.hpp"

namespace teller::core::detail {

/// One counter per consumed record of a batch: how many of the records produced for it are
/// still unacknowledged, and whether any failed. Shared by the engine and the notification
/// relay, which both commit a record only once everything produced for it is acknowledged.
/// Thread-safe: delivery handlers run on librdkafka's thread.
class AckTracker : public std::enable_shared_from_this<AckTracker> {
public:
    explicit AckTracker(std::size_t records) : pending_(records, 0), failed_(records, false) {}

    /// The delivery handler for one record produced for consumed record `record`. The handler
    /// keeps the tracker alive: it may run after the batch gave up waiting.
    DeliveryHandler expect(std::size_t record) {
        std::lock_guard lock(mutex_);
        ++pending_[record];
        ++outstanding_;
        return [self = shared_from_this(), record](const boost::system::error_code& ec) {
            std::lock_guard lock(self->mutex_);
            --self->pending_[record];
            --self->outstanding_;
            if (ec) {
                self->failed_[record] = true;
            }
            self->done_.notify_all();
        };
    }

    /// A record produced for `record` was never queued (its handler will not run).
    void not_queued(std::size_t record) {
        std::lock_guard lock(mutex_);
        failed_[record] = true;
    }

    /// Waits for every acknowledgement until `deadline`; true when none is outstanding.
    bool wait(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        return done_.wait_until(lock, deadline, [this] { return outstanding_ == 0; });
    }

    /// True when everything produced for consumed record `i` was acknowledged.
    bool acked(std::size_t i) {
        std::lock_guard lock(mutex_);
        return pending_[i] == 0 && !failed_[i];
    }

    bool idle() {
        std::lock_guard lock(mutex_);
        return outstanding_ == 0;
    }

private:
    std::mutex mutex_;
    std::condition_variable done_;
    std::vector<int> pending_;
    std::vector<bool> failed_;
    std::size_t outstanding_ = 0;
};

}  // namespace teller::core::detail

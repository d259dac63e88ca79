// In-memory Consumer, Producer and a fault-injecting SessionStore for the engine tests.
#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <vector>

#include "teller/core/bus.hpp"
#include "teller/core/error.hpp"
#include "teller/core/session_store.hpp"

namespace teller::testing {

/// Hands out queued records in order and remembers what was committed.
class FakeConsumer final : public core::Consumer {
public:
    void push(core::Record record) {
        record.topic = "teller.inbound";
        record.partition = 0;
        record.offset = static_cast<std::int64_t>(log_.size());
        log_.push_back(std::move(record));
    }

    std::vector<core::Record> poll(std::size_t max_records, std::chrono::milliseconds) override {
        std::vector<core::Record> out;
        while (position_ < log_.size() && out.size() < max_records) {
            out.push_back(log_[position_++]);
        }
        return out;
    }

    boost::system::error_code commit(const std::vector<core::Record>& records) override {
        for (const core::Record& r : records) {
            committed_offset = std::max(committed_offset, r.offset + 1);
        }
        ++commits;
        return {};
    }

    boost::system::error_code rewind(const std::vector<core::Record>& records) override {
        for (const core::Record& r : records) {
            position_ = std::min(position_, static_cast<std::size_t>(r.offset));
        }
        ++rewinds;
        return {};
    }

    std::int64_t committed_offset = 0;  ///< the next offset to consume, as committed
    int commits = 0;
    int rewinds = 0;

private:
    std::vector<core::Record> log_;  ///< the partition: index == offset
    std::size_t position_ = 0;
};

/// Records what was produced; acknowledges at once unless `hold_acks` is set.
class FakeProducer final : public core::Producer {
public:
    boost::system::error_code produce(const core::Record& record,
                                      core::DeliveryHandler on_delivery) override {
        std::lock_guard lock(mutex_);
        records.push_back(record);
        if (hold_acks) {
            held_.push_back(std::move(on_delivery));
        } else if (on_delivery) {
            on_delivery({});
        }
        return {};
    }

    boost::system::error_code flush(std::chrono::milliseconds) override {
        std::lock_guard lock(mutex_);
        return held_.empty() ? boost::system::error_code{}
                             : core::make_error_code(core::Errc::timeout);
    }

    std::size_t in_flight() const override {
        std::lock_guard lock(mutex_);
        return held_.size();
    }

    /// Acknowledges everything held so far.
    void release() {
        std::vector<core::DeliveryHandler> held;
        {
            std::lock_guard lock(mutex_);
            held.swap(held_);
        }
        for (auto& h : held) {
            if (h) {
                h({});
            }
        }
    }

    std::vector<core::Record> records;
    bool hold_acks = false;

private:
    mutable std::mutex mutex_;
    std::vector<core::DeliveryHandler> held_;
};

/// Wraps a store; can report conflicts or unavailability a given number of times.
class FlakyStore final : public core::SessionStore {
public:
    explicit FlakyStore(core::SessionStore& inner) : inner_(inner) {}

    core::Result<std::optional<core::StoredSession>> load(std::string_view c) override {
        if (unavailable > 0) {
            --unavailable;
            return core::Errc::store_unavailable;
        }
        return inner_.load(c);
    }

    core::Result<bool> compare_and_set(std::string_view c, std::int64_t expected,
                                       std::string_view data, std::chrono::seconds ttl) override {
        if (conflicts > 0) {
            // Another engine writes first, so this write conflicts.
            --conflicts;
            ++cas_conflicts_served;
            auto loaded = inner_.load(c);
            std::int64_t version = loaded && *loaded ? (*loaded)->version : 0;
            std::string other = loaded && *loaded ? (*loaded)->data : std::string("{}");
            (void)inner_.compare_and_set(c, version, other, ttl);
            (void)expected;
            return false;
        }
        return inner_.compare_and_set(c, expected, data, ttl);
    }

    core::Result<bool> mark_seen(std::string_view key, std::chrono::seconds ttl) override {
        return inner_.mark_seen(key, ttl);
    }
    core::Result<void> forget_seen(std::string_view key) override {
        return inner_.forget_seen(key);
    }
    core::Result<void> put_value(std::string_view key, std::string_view value,
                                 std::chrono::seconds ttl) override {
        return inner_.put_value(key, value, ttl);
    }
    core::Result<std::optional<std::string>> get_value(std::string_view key) override {
        return inner_.get_value(key);
    }
    core::Result<void> erase_value(std::string_view key) override {
        return inner_.erase_value(key);
    }
    std::string describe() const override { return "flaky " + inner_.describe(); }

    int conflicts = 0;
    int unavailable = 0;
    int cas_conflicts_served = 0;

private:
    core::SessionStore& inner_;
};

}  // namespace teller::testing

// The message bus seen by the gateway and the engine: records, a producer and a consumer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/system/errc.hpp>
#include <boost/system/error_code.hpp>

namespace teller::core {

struct Header {
    std::string name;
    std::string value;
};

/// One Kafka record. `partition`/`offset` are set on consumed records, -1 before production.
struct Record {
    std::string topic;
    std::string key;
    std::string value;
    std::vector<Header> headers;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::int64_t timestamp_ms = 0;

    /// The value of header `name`, or "" when absent.
    std::string header(std::string_view name) const {
        for (const Header& h : headers) {
            if (h.name == name) {
                return h.value;
            }
        }
        return {};
    }
};

/// Called once per produced record: success, or why the broker never acknowledged it.
using DeliveryHandler = std::function<void(const boost::system::error_code&)>;

/// Sends records. Implementations are thread-safe.
class Producer {
public:
    virtual ~Producer() = default;

    /// Queues `record`; `on_delivery` runs (on an internal thread) once the broker has
    /// acknowledged it or given up. Errors returned here mean it was not queued at all
    /// (queue full: Errc::broker_unavailable).
    virtual boost::system::error_code produce(const Record& record,
                                              DeliveryHandler on_delivery = {}) = 0;

    /// Waits until every queued record is acknowledged; Errc::timeout if some remain.
    virtual boost::system::error_code flush(std::chrono::milliseconds timeout) = 0;

    /// Records queued but not yet acknowledged.
    virtual std::size_t in_flight() const = 0;
};

/// Receives records as one member of a consumer group. Not thread-safe: one thread polls.
class Consumer {
public:
    virtual ~Consumer() = default;

    /// Returns up to `max_records`, waiting at most `timeout` for the first one.
    virtual std::vector<Record> poll(std::size_t max_records,
                                     std::chrono::milliseconds timeout) = 0;

    /// Commits, synchronously, the offsets after `records` (per partition, the highest + 1).
    virtual boost::system::error_code commit(const std::vector<Record>& records) = 0;

    /// Moves the read position of every partition in `records` back to the lowest offset
    /// given for it there, so that the next polls return those records again. Used after a
    /// failure that left them unprocessed, so they are retried instead of waiting for a
    /// restart. The default says `operation_not_supported`.
    virtual boost::system::error_code rewind(const std::vector<Record>& records) {
        (void)records;
        return make_error_code(boost::system::errc::operation_not_supported);
    }
};

}  // namespace teller::core

// Kafka through librdkafka: producer, group consumer, topic administration and the mock cluster.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "teller/core/bus.hpp"
#include "teller/core/error.hpp"

namespace teller::core {

/// Connection settings. `properties` are passed to librdkafka verbatim
/// (https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md).
struct KafkaConfig {
    std::string brokers;  ///< bootstrap.servers
    std::string client_id = "teller";
    std::map<std::string, std::string> properties;
    /// How long a closing producer waits for unacknowledged records before giving up on them.
    std::chrono::milliseconds close_timeout{5000};
};

/// One partition of one topic.
struct TopicPartition {
    std::string topic;
    std::int32_t partition = -1;

    friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
    friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

/// Idempotent producer (enable.idempotence=true, acks=all, linger.ms=5; `properties` override).
/// A background thread serves delivery reports, so every DeliveryHandler runs on that thread.
/// Thread-safe: any thread may produce, flush or read in_flight().
class KafkaProducer final : public Producer {
public:
    /// Throws core::Error when librdkafka rejects the configuration.
    explicit KafkaProducer(const KafkaConfig& config);
    /// Waits up to `close_timeout` for unacknowledged records; those still pending are purged
    /// (their handlers see Errc::delivery_failed) and their number is logged.
    ~KafkaProducer() override;
    KafkaProducer(const KafkaProducer&) = delete;
    KafkaProducer& operator=(const KafkaProducer&) = delete;

    /// Queues `record` (key, value, headers; an empty key is sent as no key; timestamp_ms 0
    /// means now; partition -1 means the key decides). Errors: broker_unavailable (local queue
    /// full, producer fatal or closing), payload_too_large. Never blocks.
    boost::system::error_code produce(const Record& record,
                                      DeliveryHandler on_delivery = {}) override;
    /// Waits until every delivery handler has run. Errors: timeout. Called from a delivery
    /// handler it cannot wait for itself and returns Errc::timeout at once.
    boost::system::error_code flush(std::chrono::milliseconds timeout) override;
    /// Records produced whose delivery handler has not run yet.
    std::size_t in_flight() const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Group member with manual commits (enable.auto.commit=false, enable.auto.offset.store=false)
/// and eager rebalancing (partition.assignment.strategy=range). Cooperative-sticky works too
/// (set it in `properties`), but with librdkafka 2.0.2's mock cluster a member joining while
/// another is mid-rebalance sometimes never got its partitions, leaving their records
/// unanswered (seen in the two-engine test), so it is not the default. Starts at
/// the earliest offset when the group has none; fetch.wait.max.ms defaults to 10 (the mock
/// cluster holds every fetch for the full wait). All of these can be overridden by `properties`.
/// Not thread-safe: one thread polls, commits and destroys it.
class KafkaConsumer final : public Consumer {
public:
    /// Subscribes to `topics` as a member of `group_id`. Throws core::Error on bad config.
    KafkaConsumer(const KafkaConfig& config, std::string group_id, std::vector<std::string> topics);
    /// Leaves the group cleanly (its partitions move to the other members at once).
    ~KafkaConsumer() override;
    KafkaConsumer(const KafkaConsumer&) = delete;
    KafkaConsumer& operator=(const KafkaConsumer&) = delete;

    /// Waits at most `timeout` for the first record, then adds what is already fetched, up to
    /// `max_records`. Rebalances happen inside poll; records of partitions revoked during the
    /// call are not returned (the new owner reads them from the committed offset). Consumer
    /// errors (partition EOF, unknown topic, ...) are logged, never returned as records.
    std::vector<Record> poll(std::size_t max_records, std::chrono::milliseconds timeout) override;
    /// Commits synchronously, per partition, the highest offset in `records` + 1. Errors:
    /// broker_unavailable (coordinator unreachable, rebalance in progress, fenced member),
    /// timeout.
    boost::system::error_code commit(const std::vector<Record>& records) override;
    /// Seeks (rd_kafka_seek_partitions) each partition back; prefetched records are dropped.
    boost::system::error_code rewind(const std::vector<Record>& records) override;

    /// The partitions currently assigned to this member (changes only inside poll()).
    std::vector<TopicPartition> assignment() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Creates the topics that do not exist yet, through the admin API (CreateTopics, replication
/// factor: the broker's default). Topics that exist already count as success, whatever their
/// partition count. When `config.brokers` is the bootstrap string of a live MockCluster in this
/// process, the topics are created on it directly: librdkafka 2.0.2's mock cluster answers no
/// CreateTopics request. Errors: broker_unavailable, timeout. Thread-safe.
boost::system::error_code create_topics(const KafkaConfig& config,
                                        const std::vector<std::string>& topics, int partitions,
                                        std::chrono::milliseconds timeout);

/// librdkafka's in-process mock cluster (rdkafka_mock.h), reachable over real loopback sockets
/// by any Kafka client. For the embedded default, `teller kafka-dev` and tests. Thread-safe.
/// Like the 2.0.2 mock itself, it keeps only roughly the newest 10k records of 400 bytes per
/// partition: a consumer that falls further behind skips to the oldest record still kept.
class MockCluster {
public:
    /// Starts `brokers` mock brokers on 127.0.0.1, each on an ephemeral port.
    explicit MockCluster(int brokers = 1);
    ~MockCluster();
    MockCluster(const MockCluster&) = delete;
    MockCluster& operator=(const MockCluster&) = delete;

    /// "127.0.0.1:port,..."
    std::string bootstrap_servers() const;

    /// Creates a topic with `partitions` partitions (replication 1). Throws core::Error when the
    /// mock refuses (bad partition count).
    void create_topic(const std::string& topic, int partitions);

    /// Takes broker `broker_id` (1-based) down or back up: down closes its connections and
    /// refuses new ones; leadership does not move. Throws core::Error for an unknown broker.
    void set_broker_down(int broker_id);
    void set_broker_up(int broker_id);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace teller::core

// Kafka through librdkafka: producer, group consumer, topic administration and the mock cluster.
#pragma once

#include <chrono>
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
};

/// Idempotent producer (enable.idempotence=true, acks=all).
class KafkaProducer final : public Producer {
public:
    /// Throws core::Error when librdkafka rejects the configuration.
    explicit KafkaProducer(const KafkaConfig& config);
    ~KafkaProducer() override;

    boost::system::error_code produce(const Record& record, DeliveryHandler on_delivery) override;
    boost::system::error_code flush(std::chrono::milliseconds timeout) override;
    std::size_t in_flight() const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Group member with manual commits (enable.auto.commit=false) and cooperative rebalancing.
class KafkaConsumer final : public Consumer {
public:
    /// Subscribes to `topics` as a member of `group_id`. Throws core::Error on bad config.
    KafkaConsumer(const KafkaConfig& config, std::string group_id,
                  std::vector<std::string> topics);
    ~KafkaConsumer() override;

    std::vector<Record> poll(std::size_t max_records, std::chrono::milliseconds timeout) override;
    boost::system::error_code commit(const std::vector<Record>& records) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Creates the topics that do not exist yet. Errors: broker_unavailable, timeout.
boost::system::error_code create_topics(const KafkaConfig& config,
                                        const std::vector<std::string>& topics, int partitions,
                                        std::chrono::milliseconds timeout);

/// librdkafka's in-process mock cluster (rdkafka_mock.h), reachable over real loopback sockets
/// by any Kafka client. For the embedded default, `teller kafka-dev` and tests.
class MockCluster {
public:
    /// Starts `brokers` mock brokers on 127.0.0.1, each on an ephemeral port.
    explicit MockCluster(int brokers = 1);
    ~MockCluster();
    MockCluster(const MockCluster&) = delete;
    MockCluster& operator=(const MockCluster&) = delete;

    /// "127.0.0.1:port,..."
    std::string bootstrap_servers() const;

    /// Creates a topic with `partitions` partitions (replication 1).
    void create_topic(const std::string& topic, int partitions);

    /// Takes broker `broker_id` (1-based) down or back up.
    void set_broker_down(int broker_id);
    void set_broker_up(int broker_id);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace teller::core

// Private librdkafka glue: handle ownership, configuration, error and log translation.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <boost/system/error_code.hpp>

#include "teller/core/kafka.hpp"
#include "teller/core/log.hpp"

namespace teller::core::detail {

struct KafkaConfDeleter {
    void operator()(rd_kafka_conf_t* conf) const noexcept { rd_kafka_conf_destroy(conf); }
};
using KafkaConfPtr = std::unique_ptr<rd_kafka_conf_t, KafkaConfDeleter>;

struct KafkaHandleDeleter {
    void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
using KafkaHandlePtr = std::unique_ptr<rd_kafka_t, KafkaHandleDeleter>;

struct PartitionListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* list) const noexcept {
        rd_kafka_topic_partition_list_destroy(list);
    }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

struct MessageDeleter {
    void operator()(rd_kafka_message_t* message) const noexcept {
        rd_kafka_message_destroy(message);
    }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

/// The "kafka" logger shared by every Kafka class.
const Logger& kafka_logger();

/// The one place librdkafka error codes become Teller error codes.
boost::system::error_code to_error_code(rd_kafka_resp_err_t err) noexcept;

using KafkaProperty = std::pair<std::string_view, std::string_view>;

/// A configuration with Teller's log and error callbacks installed. `defaults` are set first,
/// then `config`'s brokers and client id, then `config.properties` (which win). Throws
/// core::Error naming the rejected property (never its value, which may be a secret).
KafkaConfPtr make_conf(const KafkaConfig& config, std::initializer_list<KafkaProperty> defaults);

/// `timeout` as librdkafka's int milliseconds, clamped to [0, INT_MAX].
int to_timeout_ms(std::chrono::milliseconds timeout) noexcept;

/// Sets one property; throws core::Error when librdkafka rejects it.
void set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value);

/// A client of `type` that takes `conf` (consumed even on failure). Throws core::Error.
KafkaHandlePtr make_handle(rd_kafka_type_t type, KafkaConfPtr conf);

/// When `bootstrap` names a live in-process MockCluster, creates the topics there (the 2.0.2 mock
/// answers no CreateTopics request) and returns the outcome; otherwise returns nullopt.
std::optional<boost::system::error_code> create_mock_topics(const std::string& bootstrap,
                                                            const std::vector<std::string>& topics,
                                                            int partitions);

/// Installs the log and error callbacks that route librdkafka's output into kafka_logger().
void install_log_callbacks(rd_kafka_conf_t* conf);

/// A consumed message as a Record: key, value, headers, partition, offset and timestamp.
Record to_record(const rd_kafka_message_t& message);

}  // namespace teller::core::detail

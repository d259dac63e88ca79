// MockCluster: librdkafka's in-process mock brokers, listening on loopback ephemeral ports.
#include "kafka_detail.hpp"

#include <librdkafka/rdkafka_mock.h>  // after rdkafka.h (from kafka_detail.hpp), as it requires

#include <map>
#include <mutex>

namespace teller::core {
namespace {

// Live mock clusters by bootstrap string, so create_topics can reach them. The lock also keeps a
// cluster alive while a topic is created on it.
std::mutex g_registry_mutex;
std::map<std::string, rd_kafka_mock_cluster_t*> g_registry;

}  // namespace

struct MockCluster::Impl {
    // The mock needs a client handle for its bookkeeping; it never connects anywhere.
    detail::KafkaHandlePtr rk;
    rd_kafka_mock_cluster_t* cluster = nullptr;
    std::string bootstrap;
};

MockCluster::MockCluster(int brokers) : impl_(std::make_unique<Impl>()) {
    if (brokers < 1) {
        throw Error("kafka mock: at least one broker is needed");
    }
    detail::KafkaConfPtr conf(rd_kafka_conf_new());
    detail::install_log_callbacks(conf.get());
    detail::set_property(conf.get(), "client.id", "teller-mock-cluster");
    // Without bootstrap servers the handle would warn that it cannot connect; it need not.
    detail::set_property(conf.get(), "log_level", "3");
    impl_->rk = detail::make_handle(RD_KAFKA_PRODUCER, std::move(conf));

    impl_->cluster = rd_kafka_mock_cluster_new(impl_->rk.get(), brokers);
    if (impl_->cluster == nullptr) {
        throw Error("kafka mock: cannot start the mock cluster", true);
    }
    impl_->bootstrap = rd_kafka_mock_cluster_bootstraps(impl_->cluster);
    {
        std::lock_guard lock(g_registry_mutex);
        g_registry[impl_->bootstrap] = impl_->cluster;
    }
    detail::kafka_logger().info("mock cluster started",
                                {{"brokers", brokers}, {"bootstrap", impl_->bootstrap}});
}

MockCluster::~MockCluster() {
    {
        std::lock_guard lock(g_registry_mutex);
        g_registry.erase(impl_->bootstrap);
    }
    rd_kafka_mock_cluster_destroy(impl_->cluster);
}

std::string MockCluster::bootstrap_servers() const {
    return impl_->bootstrap;
}

void MockCluster::create_topic(const std::string& topic, int partitions) {
    if (rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 1)) {
        throw Error("kafka mock: cannot create topic " + topic + ": " + rd_kafka_err2str(err));
    }
}

void MockCluster::set_broker_down(int broker_id) {
    if (rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_down(impl_->cluster, broker_id)) {
        throw Error("kafka mock: cannot take broker " + std::to_string(broker_id) +
                    " down: " + rd_kafka_err2str(err));
    }
    detail::kafka_logger().info("mock broker down", {{"broker", broker_id}});
}

void MockCluster::set_broker_up(int broker_id) {
    if (rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_up(impl_->cluster, broker_id)) {
        throw Error("kafka mock: cannot bring broker " + std::to_string(broker_id) +
                    " up: " + rd_kafka_err2str(err));
    }
    detail::kafka_logger().info("mock broker up", {{"broker", broker_id}});
}

namespace detail {

std::optional<boost::system::error_code> create_mock_topics(const std::string& bootstrap,
                                                            const std::vector<std::string>& topics,
                                                            int partitions) {
    std::lock_guard lock(g_registry_mutex);
    auto it = g_registry.find(bootstrap);
    if (it == g_registry.end()) {
        return std::nullopt;
    }

    boost::system::error_code first_error;
    for (const std::string& topic : topics) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(it->second, topic.c_str(), partitions, 1);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            kafka_logger().info("topic created",
                                {{"topic", topic}, {"partitions", partitions}, {"mock", "true"}});
        } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            kafka_logger().debug("topic exists", {{"topic", topic}});
        } else {
            kafka_logger().warn("topic not created",
                                {{"topic", topic}, {"error", rd_kafka_err2name(err)}});
            if (!first_error) {
                first_error = to_error_code(err);
            }
        }
    }
    return first_error;
}

}  // namespace detail
}  // namespace teller::core

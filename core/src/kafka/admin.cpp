// create_topics: topic creation through librdkafka's admin API, tolerant of existing topics.
#include <array>

#include "kafka_detail.hpp"
#include "teller/core/kafka.hpp"

namespace teller::core {
namespace {

struct QueueDeleter {
    void operator()(rd_kafka_queue_t* queue) const noexcept { rd_kafka_queue_destroy(queue); }
};
struct OptionsDeleter {
    void operator()(rd_kafka_AdminOptions_t* options) const noexcept {
        rd_kafka_AdminOptions_destroy(options);
    }
};
struct EventDeleter {
    void operator()(rd_kafka_event_t* event) const noexcept { rd_kafka_event_destroy(event); }
};
struct NewTopicsDeleter {
    void operator()(std::vector<rd_kafka_NewTopic_t*>* topics) const noexcept {
        rd_kafka_NewTopic_destroy_array(topics->data(), topics->size());
    }
};

// Extra time the result may take beyond the request timeout before we stop waiting for it.
constexpr std::chrono::milliseconds kResultGrace{1000};

}  // namespace

boost::system::error_code create_topics(const KafkaConfig& config,
                                        const std::vector<std::string>& topics, int partitions,
                                        std::chrono::milliseconds timeout) {
    if (topics.empty()) {
        return {};
    }
    // librdkafka 2.0.2's mock cluster has no CreateTopics (and reports controller 0, which does
    // not exist), so topics on an in-process mock are created directly.
    if (auto outcome = detail::create_mock_topics(config.brokers, topics, partitions)) {
        return *outcome;
    }

    const Logger& log = detail::kafka_logger();
    detail::KafkaHandlePtr rk =
        detail::make_handle(RD_KAFKA_PRODUCER, detail::make_conf(config, {}));

    // Ask only for the topics the cluster lacks: a cluster whose topics exist (managed by its
    // operators, or a mock in another process, which cannot create topics) needs no admin call.
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_resp_err_t err =
            rd_kafka_metadata(rk.get(), 1, nullptr, &metadata, detail::to_timeout_ms(timeout))) {
        log.warn("cannot read cluster metadata",
                 {{"brokers", config.brokers}, {"error", rd_kafka_err2name(err)}});
        return detail::to_error_code(err);
    }
    std::vector<std::string> missing;
    for (const std::string& topic : topics) {
        bool exists = false;
        for (int i = 0; i < metadata->topic_cnt; ++i) {
            const rd_kafka_metadata_topic_t& t = metadata->topics[i];
            exists = exists || (topic == t.topic && t.err == RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        if (!exists) {
            missing.push_back(topic);
        }
    }
    rd_kafka_metadata_destroy(metadata);
    if (missing.empty()) {
        log.debug("topics exist", {{"topics", topics.size()}});
        return {};
    }

    // One request for all topics; replication -1 lets the broker choose its default.
    std::array<char, 512> reason{};
    std::vector<rd_kafka_NewTopic_t*> new_topics;
    std::unique_ptr<std::vector<rd_kafka_NewTopic_t*>, NewTopicsDeleter> new_topics_guard(
        &new_topics);
    for (const std::string& topic : missing) {
        rd_kafka_NewTopic_t* t =
            rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, reason.data(), reason.size());
        if (t == nullptr) {
            throw Error("kafka: cannot create topic " + topic + ": " + reason.data());
        }
        new_topics.push_back(t);
    }

    std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(
        rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
    rd_kafka_AdminOptions_set_request_timeout(options.get(), detail::to_timeout_ms(timeout),
                                              reason.data(), reason.size());
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), detail::to_timeout_ms(timeout),
                                                reason.data(), reason.size());
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk.get()));
    rd_kafka_CreateTopics(rk.get(), new_topics.data(), new_topics.size(), options.get(),
                          queue.get());

    std::unique_ptr<rd_kafka_event_t, EventDeleter> event(
        rd_kafka_queue_poll(queue.get(), detail::to_timeout_ms(timeout + kResultGrace)));
    if (!event) {
        log.warn("topic creation timed out", {{"timeout_ms", timeout.count()}});
        return make_error_code(Errc::timeout);
    }
    if (rd_kafka_resp_err_t err = rd_kafka_event_error(event.get())) {
        log.warn("topic creation failed", {{"error", rd_kafka_err2name(err)},
                                           {"reason", rd_kafka_event_error_string(event.get())}});
        return detail::to_error_code(err);
    }

    // Each topic has its own outcome; "already exists" is what we wanted anyway.
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
    std::size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
    boost::system::error_code first_error;
    for (std::size_t i = 0; i < count; ++i) {
        const char* name = rd_kafka_topic_result_name(results[i]);
        const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            log.info("topic created", {{"topic", name}, {"partitions", partitions}});
        } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            log.debug("topic exists", {{"topic", name}});
        } else {
            const char* why = rd_kafka_topic_result_error_string(results[i]);
            log.warn("topic not created", {{"topic", name},
                                           {"error", rd_kafka_err2name(err)},
                                           {"reason", why != nullptr ? why : ""}});
            if (!first_error) {
                first_error = detail::to_error_code(err);
            }
        }
    }
    return first_error;
}

}  // namespace teller::core

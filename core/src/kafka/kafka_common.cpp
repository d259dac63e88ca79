// librdkafka glue shared by producer, consumer, admin and mock cluster: errors, logs, config.
#include "kafka_detail.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string>

#include "teller/core/error.hpp"

namespace teller::core::detail {
namespace {

// librdkafka reports syslog levels (0 emergency .. 7 debug).
void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
    try {
        const Logger& log = kafka_logger();
        std::initializer_list<LogField> fields = {
            {"client", rk != nullptr ? rd_kafka_name(rk) : ""},
            {"facility", facility != nullptr ? facility : ""}};
        std::string_view text = message != nullptr ? message : "";
        if (level <= 3) {
            log.error(text, fields);
        } else if (level == 4) {
            log.warn(text, fields);
        } else if (level <= 6) {
            log.info(text, fields);
        } else {
            log.debug(text, fields);
        }
    } catch (...) {
        // Nothing may escape into librdkafka; a lost log line is the lesser harm.
    }
}

// Client-level errors: most are transient (librdkafka retries them); fatal ones end the client.
void on_error(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
    try {
        const Logger& log = kafka_logger();
        auto code = static_cast<rd_kafka_resp_err_t>(err);
        if (code == RD_KAFKA_RESP_ERR__FATAL) {
            std::array<char, 512> detail{};
            rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, detail.data(), detail.size());
            log.error("fatal client error, the client must be recreated",
                      {{"client", rd_kafka_name(rk)},
                       {"error", rd_kafka_err2name(fatal)},
                       {"reason", detail.data()}});
            return;
        }
        // Connection failures are already logged by librdkafka itself (facility FAIL).
        if (code == RD_KAFKA_RESP_ERR__TRANSPORT) {
            log.debug("connection failed",
                      {{"client", rd_kafka_name(rk)}, {"reason", reason != nullptr ? reason : ""}});
            return;
        }
        log.warn("client error", {{"client", rd_kafka_name(rk)},
                                  {"error", rd_kafka_err2name(code)},
                                  {"reason", reason != nullptr ? reason : ""}});
    } catch (...) {
        // Nothing may escape into librdkafka.
    }
}

}  // namespace

const Logger& kafka_logger() {
    static const Logger logger("kafka");
    return logger;
}

boost::system::error_code to_error_code(rd_kafka_resp_err_t err) noexcept {
    switch (err) {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            return {};

        // The operation ran out of time.
        case RD_KAFKA_RESP_ERR__TIMED_OUT:
        case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
        case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            return make_error_code(Errc::timeout);

        // A record was accepted locally but never acknowledged.
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
        case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
        case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        case RD_KAFKA_RESP_ERR_INVALID_MSG:
        case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
        case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
        case RD_KAFKA_RESP_ERR__INCONSISTENT:
            return make_error_code(Errc::delivery_failed);

        // The record can never fit.
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
            return make_error_code(Errc::payload_too_large);

        // Unreachable, overloaded (local queue full), closing, fenced, mid-rebalance or refusing:
        // everything else means Kafka did not do what was asked.
        default:
            return make_error_code(Errc::broker_unavailable);
    }
}

int to_timeout_ms(std::chrono::milliseconds timeout) noexcept {
    const auto ms = std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0,
                                                               std::numeric_limits<int>::max());
    return static_cast<int>(ms);
}

void set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value) {
    std::array<char, 512> reason{};
    std::string key(name);
    std::string text(value);
    if (rd_kafka_conf_set(conf, key.c_str(), text.c_str(), reason.data(), reason.size()) !=
        RD_KAFKA_CONF_OK) {
        throw Error("kafka: bad property " + key + ": " + reason.data());
    }
}

void install_log_callbacks(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_log_cb(conf, &on_log);
    rd_kafka_conf_set_error_cb(conf, &on_error);
}

KafkaConfPtr make_conf(const KafkaConfig& config, std::initializer_list<KafkaProperty> defaults) {
    if (config.brokers.empty()) {
        throw Error("kafka: no bootstrap servers configured");
    }
    KafkaConfPtr conf(rd_kafka_conf_new());
    install_log_callbacks(conf.get());

    for (const auto& [name, value] : defaults) {
        set_property(conf.get(), name, value);
    }
    set_property(conf.get(), "bootstrap.servers", config.brokers);
    set_property(conf.get(), "client.id", config.client_id);
    for (const auto& [name, value] : config.properties) {
        set_property(conf.get(), name, value);
    }
    return conf;
}

KafkaHandlePtr make_handle(rd_kafka_type_t type, KafkaConfPtr conf) {
    std::array<char, 512> reason{};
    // On success rd_kafka_new owns the configuration; on failure it is still ours.
    rd_kafka_t* rk = rd_kafka_new(type, conf.get(), reason.data(), reason.size());
    if (rk == nullptr) {
        throw Error(std::string("kafka: cannot create client: ") + reason.data());
    }
    conf.release();
    return KafkaHandlePtr(rk);
}

Record to_record(const rd_kafka_message_t& message) {
    Record record;
    record.topic = rd_kafka_topic_name(message.rkt);
    if (message.key != nullptr) {
        record.key.assign(static_cast<const char*>(message.key), message.key_len);
    }
    if (message.payload != nullptr) {
        record.value.assign(static_cast<const char*>(message.payload), message.len);
    }
    record.partition = message.partition;
    record.offset = message.offset;
    rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    const std::int64_t timestamp = rd_kafka_message_timestamp(&message, &type);
    record.timestamp_ms = type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? 0 : timestamp;

    // Headers are parsed lazily by librdkafka; a record without them has none.
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        headers != nullptr) {
        const char* name = nullptr;
        const void* value = nullptr;
        std::size_t size = 0;
        for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                                RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
            Header& h = record.headers.emplace_back();
            h.name = name;
            if (value != nullptr) {
                h.value.assign(static_cast<const char*>(value), size);
            }
        }
    }
    return record;
}

}  // namespace teller::core::detail

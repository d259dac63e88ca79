// KafkaConsumer: a librdkafka group member with manual commits; eager or cooperative rebalancing.
#include <algorithm>
#include <cstring>
#include <map>

#include "kafka_detail.hpp"
#include "teller/core/kafka.hpp"

namespace teller::core {
namespace {

using detail::MessagePtr;
using detail::PartitionListPtr;

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const std::string& p : parts) {
        out += out.empty() ? "" : ",";
        out += p;
    }
    return out;
}

}  // namespace

struct KafkaConsumer::Impl {
    detail::KafkaHandlePtr rk;
    std::string group_id;
    // The batch poll() is building, so that a revocation can take its records back out.
    std::vector<Record>* batch = nullptr;

    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* partitions, void* opaque);
    void assign(rd_kafka_topic_partition_list_t* partitions, bool cooperative);
    void revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative);

    // Adds `message` to `out` when it is a record; logs it when it is an error.
    void accept(rd_kafka_message_t* raw, std::vector<Record>& out) const;
};

void KafkaConsumer::Impl::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                       rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const char* protocol = rd_kafka_rebalance_protocol(rk);
    const bool cooperative = protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
    try {
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            self->assign(partitions, cooperative);
        } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            self->revoke(partitions, cooperative);
        } else {
            detail::kafka_logger().error(
                "rebalance failed, dropping the assignment",
                {{"group", self->group_id}, {"error", rd_kafka_err2name(err)}});
            rd_kafka_assign(rk, nullptr);
        }
    } catch (...) {
        // Nothing may escape into librdkafka; the logger is the only thing that can throw here.
    }
}

void KafkaConsumer::Impl::assign(rd_kafka_topic_partition_list_t* partitions, bool cooperative) {
    // Logging must not stop the assignment itself.
    try {
        for (int i = 0; i < partitions->cnt; ++i) {
            detail::kafka_logger().info("partition assigned",
                                        {{"group", group_id},
                                         {"topic", partitions->elems[i].topic},
                                         {"partition", partitions->elems[i].partition}});
        }
    } catch (...) {
        // A lost log line; the assignment change below must still happen.
    }

    rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (cooperative) {
        if (rd_kafka_error_t* error = rd_kafka_incremental_assign(rk.get(), partitions)) {
            code = rd_kafka_error_code(error);
            rd_kafka_error_destroy(error);
        }
    } else {
        code = rd_kafka_assign(rk.get(), partitions);
    }
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        detail::kafka_logger().error("assignment refused",
                                     {{"group", group_id}, {"error", rd_kafka_err2name(code)}});
    }
}

void KafkaConsumer::Impl::revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative) {
    const bool lost = rd_kafka_assignment_lost(rk.get()) != 0;

    // Logging and withholding must not stop the unassignment itself.
    try {
        for (int i = 0; i < partitions->cnt; ++i) {
            const char* topic = partitions->elems[i].topic;
            const std::int32_t partition = partitions->elems[i].partition;
            if (lost) {
                detail::kafka_logger().warn(
                    "partition lost",
                    {{"group", group_id}, {"topic", topic}, {"partition", partition}});
            } else {
                detail::kafka_logger().info(
                    "partition revoked",
                    {{"group", group_id}, {"topic", topic}, {"partition", partition}});
            }
        }

        // Records of revoked partitions not yet handed out belong to the next owner.
        if (batch != nullptr) {
            std::size_t before = batch->size();
            std::erase_if(*batch, [partitions](const Record& r) {
                return rd_kafka_topic_partition_list_find(partitions, r.topic.c_str(),
                                                          r.partition) != nullptr;
            });
            if (batch->size() != before) {
                detail::kafka_logger().debug(
                    "records of revoked partitions withheld",
                    {{"group", group_id}, {"count", before - batch->size()}});
            }
        }
    } catch (...) {
        // A lost log line; the assignment change below must still happen.
    }

    rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (cooperative) {
        if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk.get(), partitions)) {
            code = rd_kafka_error_code(error);
            rd_kafka_error_destroy(error);
        }
    } else {
        code = rd_kafka_assign(rk.get(), nullptr);
    }
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        detail::kafka_logger().error("unassignment refused",
                                     {{"group", group_id}, {"error", rd_kafka_err2name(code)}});
    }
}

void KafkaConsumer::Impl::accept(rd_kafka_message_t* raw, std::vector<Record>& out) const {
    MessagePtr message(raw);
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.push_back(detail::to_record(*message));
        return;
    }

    const char* topic = message->rkt != nullptr ? rd_kafka_topic_name(message->rkt) : "";
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        detail::kafka_logger().debug("end of partition", {{"group", group_id},
                                                          {"topic", topic},
                                                          {"partition", message->partition},
                                                          {"offset", message->offset}});
        return;
    }
    detail::kafka_logger().warn("consumer error", {{"group", group_id},
                                                   {"topic", topic},
                                                   {"partition", message->partition},
                                                   {"error", rd_kafka_err2name(message->err)},
                                                   {"reason", rd_kafka_message_errstr(raw)}});
}

KafkaConsumer::KafkaConsumer(const KafkaConfig& config, std::string group_id,
                             std::vector<std::string> topics)
    : impl_(std::make_unique<Impl>()) {
    impl_->group_id = std::move(group_id);

    // session.timeout.ms: the partitions of an engine that crashed (no LeaveGroup) wait this
    // long for another member; librdkafka's 45 s default leaves those conversations unanswered
    // for most of a minute (seen in tests/faults/sigkill_soak_test), so use Kafka's former
    // default of 10 s (heartbeats every 3 s).
    detail::KafkaConfPtr conf =
        detail::make_conf(config, {{"enable.auto.commit", "false"},
                                   {"enable.auto.offset.store", "false"},
                                   {"auto.offset.reset", "earliest"},
                                   {"fetch.wait.max.ms", "10"},
                                   {"session.timeout.ms", "10000"},
                                   {"heartbeat.interval.ms", "3000"},
                                   {"partition.assignment.strategy", "range"}});
    detail::set_property(conf.get(), "group.id", impl_->group_id);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &Impl::on_rebalance);
    rd_kafka_conf_set_opaque(conf.get(), impl_.get());
    impl_->rk = detail::make_handle(RD_KAFKA_CONSUMER, std::move(conf));

    // Serve client errors from the consumer queue too, i.e. inside poll().
    rd_kafka_poll_set_consumer(impl_->rk.get());

    PartitionListPtr subscription(
        rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const std::string& topic : topics) {
        rd_kafka_topic_partition_list_add(subscription.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    if (rd_kafka_resp_err_t err = rd_kafka_subscribe(impl_->rk.get(), subscription.get())) {
        throw Error("kafka: cannot subscribe to " + join(topics) + ": " + rd_kafka_err2str(err));
    }
    detail::kafka_logger().info("consumer subscribed", {{"client", rd_kafka_name(impl_->rk.get())},
                                                        {"group", impl_->group_id},
                                                        {"topics", join(topics)}});
}

KafkaConsumer::~KafkaConsumer() {
    // Leaving the group runs the final revocation and hands the partitions over at once.
    impl_->batch = nullptr;
    if (rd_kafka_resp_err_t err = rd_kafka_consumer_close(impl_->rk.get())) {
        detail::kafka_logger().warn(
            "leaving the group failed",
            {{"group", impl_->group_id}, {"error", rd_kafka_err2name(err)}});
    } else {
        detail::kafka_logger().info("consumer left", {{"group", impl_->group_id}});
    }
}

std::vector<Record> KafkaConsumer::poll(std::size_t max_records,
                                        std::chrono::milliseconds timeout) {
    std::vector<Record> out;
    if (max_records == 0) {
        return out;
    }
    impl_->batch = &out;
    rd_kafka_t* rk = impl_->rk.get();
    const auto deadline = std::chrono::steady_clock::now() + timeout;

    // Wait for the first record; errors and rebalances use up time but are not records.
    while (out.empty()) {
        const int left =
            detail::to_timeout_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
        if (rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, left)) {
            impl_->accept(message, out);
        } else if (left == 0 || std::chrono::steady_clock::now() >= deadline) {
            break;
        }
    }

    // Then take only what is already fetched.
    while (!out.empty() && out.size() < max_records) {
        rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 0);
        if (message == nullptr) {
            break;
        }
        impl_->accept(message, out);
    }

    impl_->batch = nullptr;
    return out;
}

boost::system::error_code KafkaConsumer::commit(const std::vector<Record>& records) {
    // Per partition, the offset of the next record to read.
    std::map<TopicPartition, std::int64_t> next;
    for (const Record& r : records) {
        if (r.partition < 0 || r.offset < 0) {
            continue;
        }
        std::int64_t& offset = next[TopicPartition{r.topic, r.partition}];
        offset = std::max(offset, r.offset + 1);
    }
    if (next.empty()) {
        return {};
    }

    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
    for (const auto& [tp, offset] : next) {
        rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
            offset;
    }
    rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk.get(), list.get(), 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        detail::kafka_logger().warn("commit failed", {{"group", impl_->group_id},
                                                      {"partitions", next.size()},
                                                      {"error", rd_kafka_err2name(err)}});
        return detail::to_error_code(err);
    }

    // A partition can fail on its own while the request as a whole succeeds.
    for (int i = 0; i < list->cnt; ++i) {
        const rd_kafka_topic_partition_t& p = list->elems[i];
        if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            detail::kafka_logger().warn("commit failed", {{"group", impl_->group_id},
                                                          {"topic", p.topic},
                                                          {"partition", p.partition},
                                                          {"error", rd_kafka_err2name(p.err)}});
            return detail::to_error_code(p.err);
        }
    }
    if (detail::kafka_logger().enabled(LogLevel::debug)) {
        for (const auto& [tp, offset] : next) {
            detail::kafka_logger().debug("committed", {{"group", impl_->group_id},
                                                       {"topic", tp.topic},
                                                       {"partition", tp.partition},
                                                       {"offset", offset}});
        }
    }
    return {};
}

boost::system::error_code KafkaConsumer::rewind(const std::vector<Record>& records) {
    // Per partition, the lowest offset to read again.
    std::map<TopicPartition, std::int64_t> first;
    for (const Record& r : records) {
        if (r.partition < 0 || r.offset < 0) {
            continue;
        }
        auto [it, inserted] = first.try_emplace(TopicPartition{r.topic, r.partition}, r.offset);
        if (!inserted) {
            it->second = std::min(it->second, r.offset);
        }
    }
    if (first.empty()) {
        return {};
    }

    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(first.size())));
    for (const auto& [tp, offset] : first) {
        rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
            offset;
    }
    if (rd_kafka_error_t* error = rd_kafka_seek_partitions(impl_->rk.get(), list.get(), 5000)) {
        rd_kafka_resp_err_t err = rd_kafka_error_code(error);
        detail::kafka_logger().warn(
            "rewind failed", {{"group", impl_->group_id}, {"error", rd_kafka_error_string(error)}});
        rd_kafka_error_destroy(error);
        return detail::to_error_code(err);
    }
    for (int i = 0; i < list->cnt; ++i) {
        const rd_kafka_topic_partition_t& p = list->elems[i];
        if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            detail::kafka_logger().warn("rewind failed", {{"group", impl_->group_id},
                                                          {"topic", p.topic},
                                                          {"partition", p.partition},
                                                          {"error", rd_kafka_err2name(p.err)}});
            return detail::to_error_code(p.err);
        }
        detail::kafka_logger().info("rewound", {{"group", impl_->group_id},
                                                {"topic", p.topic},
                                                {"partition", p.partition},
                                                {"offset", p.offset}});
    }
    return {};
}

std::vector<TopicPartition> KafkaConsumer::assignment() const {
    std::vector<TopicPartition> out;
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(impl_->rk.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        raw == nullptr) {
        return out;
    }
    PartitionListPtr list(raw);
    for (int i = 0; i < list->cnt; ++i) {
        out.push_back(TopicPartition{list->elems[i].topic, list->elems[i].partition});
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace teller::core

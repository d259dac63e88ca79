// TopicReader: reads whole topics by assignment, without a group and without commits.
#include <algorithm>
#include <map>

#include "kafka_detail.hpp"
#include "teller/core/replay.hpp"

namespace teller::core {
namespace {

using detail::MessagePtr;
using detail::PartitionListPtr;

}  // namespace

struct TopicReader::Impl {
    detail::KafkaHandlePtr rk;
    std::vector<PartitionProgress> partitions;
    std::map<TopicPartition, std::size_t> index;
    // Per partition, records before this time are skipped until the first that is not: set
    // where the cluster could not give the offset for the start time.
    std::map<TopicPartition, std::int64_t> skip_before;
};

TopicReader::TopicReader(const KafkaConfig& config, const std::vector<std::string>& topics,
                         const ReadStart& start, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    // A consumer handle that never subscribes, so it joins no group and commits nothing.
    detail::KafkaConfPtr conf = detail::make_conf(config, {{"enable.auto.commit", "false"},
                                                           {"enable.auto.offset.store", "false"},
                                                           {"enable.partition.eof", "false"},
                                                           {"fetch.wait.max.ms", "10"}});
    impl_->rk = detail::make_handle(RD_KAFKA_CONSUMER, std::move(conf));
    rd_kafka_t* rk = impl_->rk.get();
    rd_kafka_poll_set_consumer(rk);
    const int timeout_ms = detail::to_timeout_ms(timeout);

    // Partitions of every topic, from the cluster's metadata.
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &metadata, timeout_ms)) {
        throw Error(std::string("kafka: cannot read metadata from ") + config.brokers + ": " +
                        rd_kafka_err2str(err),
                    true);
    }
    for (const std::string& topic : topics) {
        const rd_kafka_metadata_topic_t* found = nullptr;
        for (int i = 0; i < metadata->topic_cnt; ++i) {
            if (topic == metadata->topics[i].topic) {
                found = &metadata->topics[i];
            }
        }
        if (found == nullptr || found->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
            found->partition_cnt == 0) {
            rd_kafka_metadata_destroy(metadata);
            throw Error("kafka: topic " + topic + " does not exist on " + config.brokers);
        }
        for (int p = 0; p < found->partition_cnt; ++p) {
            PartitionProgress progress;
            progress.partition = TopicPartition{topic, found->partitions[p].id};
            impl_->partitions.push_back(progress);
        }
    }
    rd_kafka_metadata_destroy(metadata);
    std::sort(impl_->partitions.begin(), impl_->partitions.end(),
              [](const auto& a, const auto& b) { return a.partition < b.partition; });

    // Watermarks: where each partition begins and where it ends now.
    for (PartitionProgress& p : impl_->partitions) {
        std::int64_t low = 0;
        std::int64_t high = 0;
        if (rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
                rk, p.partition.topic.c_str(), p.partition.partition, &low, &high, timeout_ms)) {
            throw Error("kafka: cannot read the offsets of " + p.partition.topic + "/" +
                            std::to_string(p.partition.partition) + ": " + rd_kafka_err2str(err),
                        true);
        }
        p.start = std::clamp(start.offset.value_or(low), low, high);
        p.end = high;
    }

    // A start time becomes per-partition offsets when the cluster can say which.
    if (start.timestamp_ms) {
        PartitionListPtr query(
            rd_kafka_topic_partition_list_new(static_cast<int>(impl_->partitions.size())));
        for (const PartitionProgress& p : impl_->partitions) {
            rd_kafka_topic_partition_list_add(query.get(), p.partition.topic.c_str(),
                                              p.partition.partition)
                ->offset = *start.timestamp_ms;
        }
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, query.get(), timeout_ms);
        bool answered = err == RD_KAFKA_RESP_ERR_NO_ERROR;
        for (int i = 0; answered && i < query->cnt; ++i) {
            answered = query->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        // -1 means "no record that late" from a real cluster, but librdkafka 2.0.2's mock
        // answers -1 for every time: such partitions are read from their earliest offset and
        // the records before the time skipped here, which gives the same records either way.
        for (PartitionProgress& p : impl_->partitions) {
            std::int64_t offset = -1;
            for (int i = 0; answered && i < query->cnt; ++i) {
                if (p.partition.topic == query->elems[i].topic &&
                    p.partition.partition == query->elems[i].partition) {
                    offset = query->elems[i].offset;
                }
            }
            detail::kafka_logger().debug("offset for the start time",
                                         {{"topic", p.partition.topic},
                                          {"partition", p.partition.partition},
                                          {"offset", offset}});
            if (offset >= 0) {
                p.start = std::min(offset, p.end);
                continue;
            }
            std::int64_t low = 0;
            std::int64_t high = 0;
            rd_kafka_query_watermark_offsets(rk, p.partition.topic.c_str(), p.partition.partition,
                                             &low, &high, timeout_ms);
            p.start = low;
            impl_->skip_before[p.partition] = *start.timestamp_ms;
        }
        if (!answered) {
            detail::kafka_logger().warn(
                "the cluster cannot look up offsets by time; reading from the earliest offset "
                "and skipping older records",
                {{"error", rd_kafka_err2name(err)}});
        }
    }

    // Assign every partition at its start offset.
    PartitionListPtr assignment(
        rd_kafka_topic_partition_list_new(static_cast<int>(impl_->partitions.size())));
    for (std::size_t i = 0; i < impl_->partitions.size(); ++i) {
        PartitionProgress& p = impl_->partitions[i];
        p.next = p.start;
        impl_->index[p.partition] = i;
        rd_kafka_topic_partition_list_add(assignment.get(), p.partition.topic.c_str(),
                                          p.partition.partition)
            ->offset = p.start;
    }
    if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, assignment.get())) {
        throw Error(std::string("kafka: cannot assign the partitions to read: ") +
                    rd_kafka_err2str(err));
    }
}

TopicReader::~TopicReader() {
    rd_kafka_assign(impl_->rk.get(), nullptr);
    rd_kafka_consumer_close(impl_->rk.get());
}

std::vector<Record> TopicReader::poll(std::size_t max_records, std::chrono::milliseconds timeout) {
    std::vector<Record> out;
    rd_kafka_t* rk = impl_->rk.get();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < max_records) {
        const int left =
            out.empty()
                ? detail::to_timeout_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()))
                : 0;
        MessagePtr message(rd_kafka_consumer_poll(rk, left));
        if (!message) {
            if (!out.empty() || left == 0) {
                break;
            }
            continue;
        }
        if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            detail::kafka_logger().warn("reader error",
                                        {{"error", rd_kafka_err2name(message->err)},
                                         {"reason", rd_kafka_message_errstr(message.get())}});
            continue;
        }
        Record record = detail::to_record(*message);
        auto it = impl_->index.find(TopicPartition{record.topic, record.partition});
        if (it != impl_->index.end()) {
            PartitionProgress& p = impl_->partitions[it->second];
            p.next = std::max(p.next, record.offset + 1);
        }
        TopicPartition where{record.topic, record.partition};
        if (auto skip = impl_->skip_before.find(where); skip != impl_->skip_before.end()) {
            if (record.timestamp_ms < skip->second) {
                continue;
            }
            impl_->skip_before.erase(skip);
        }
        out.push_back(std::move(record));
    }
    return out;
}

const std::vector<PartitionProgress>& TopicReader::partitions() const noexcept {
    return impl_->partitions;
}

}  // namespace teller::core
